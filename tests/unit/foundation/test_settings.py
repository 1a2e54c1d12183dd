"""Settings: every bad value stops the program with the key, the value and what is allowed."""

from __future__ import annotations

import datetime as dt

import pytest

from etl_platform.errors import SettingsError
from etl_platform.model.catalog import load_catalog
from etl_platform.model.settings import ENVIRONMENT_DEFAULTS, settings_from_mapping

FUNCTIONS = load_catalog().names
TODAY = dt.date(2026, 11, 29)


def settings(**overrides: str):
    values = {"aws:region": "us-east-1", "etl:environmentSuffix": "dev", **overrides}
    return settings_from_mapping(values, FUNCTIONS, today=TODAY)


def config(**etl: str) -> dict[str, str]:
    return {f"etl:{k}": v for k, v in etl.items()}


def test_defaults_come_from_the_environment_table() -> None:
    # GIVEN only the required keys  WHEN loaded for dev and for prod
    dev = settings()
    prod = settings(**config(environment="prod", environmentSuffix="prod"))
    # THEN retention follows the one table: 7 days in dev, 30 in prod
    assert dev.log_retention_days == ENVIRONMENT_DEFAULTS["dev"].log_retention_days == 7
    assert prod.log_retention_days == ENVIRONMENT_DEFAULTS["prod"].log_retention_days == 30
    # AND the platform defaults hold
    assert (dev.runtime, dev.architecture) == ("python3.13", "arm64")
    assert dev.reserved_concurrency is True
    assert (dev.max_retry_attempts, dev.max_event_age_seconds) == (2, 21600)
    assert dev.stack_org == "organization"


def test_config_overrides_defaults() -> None:
    s = settings(
        **config(
            reservedConcurrency="false",
            architecture="x86_64",
            runtime="python3.12",
            alarmEmail="ops@example.com",
            vpcSubnetIds='["subnet-0123456789abcdef0"]',
            vpcSecurityGroupIds='["sg-0123456789abcdef0"]',
        )
    )
    assert s.reserved_concurrency is False
    assert (s.architecture, s.runtime, s.python_version) == ("x86_64", "python3.12", "3.12")
    assert s.alarm_email == "ops@example.com"
    assert s.uses_vpc and s.vpc_subnet_ids == ("subnet-0123456789abcdef0",)


SECRET_PREFIX = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
FULL_SECRET = f"{SECRET_PREFIX}etl/database-AbCdEf"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"


@pytest.mark.parametrize(
    ("overrides", "key", "allowed"),
    [
        (config(environmentSuffix=""), "etl:environmentSuffix", "lowercase letters"),
        (config(environmentSuffix="Dev"), "etl:environmentSuffix", "lowercase letters"),
        (config(environmentSuffix="dev_1"), "etl:environmentSuffix", "lowercase letters"),
        (config(environmentSuffix="1dev"), "etl:environmentSuffix", "starting with a letter"),
        (config(environmentSuffix="dev-"), "etl:environmentSuffix", "not ending with a hyphen"),
        (config(environmentSuffix="a" * 42), "etl:environmentSuffix", "AWS name limit"),
        (config(environment="staging"), "etl:environment", "dev, prod"),
        ({"aws:region": "eu-west-1"}, "aws:region", "us-east-1"),
        (config(logRetentionDays="90"), "etl:logRetentionDays", "unknown key"),
        (config(dlqAgeAlarmSeconds="-1"), "etl:dlqAgeAlarmSeconds", "from 60 to 1209600"),
        (config(dlqAgeAlarmSeconds="ten"), "etl:dlqAgeAlarmSeconds", "whole number"),
        (config(maxRetryAttempts="1.5"), "etl:maxRetryAttempts", "whole number from 0 to 2"),
        (config(maxRetryAttempts="3"), "etl:maxRetryAttempts", "whole number from 0 to 2"),
        (config(maxEventAgeSeconds="-60"), "etl:maxEventAgeSeconds", "from 60 to 21600"),
        (config(durationAlarmPercent="0"), "etl:durationAlarmPercent", "from 1 to 100"),
        (config(reservedConcurrency="yes"), "etl:reservedConcurrency", "true or false"),
        (config(architecture="arm"), "etl:architecture", "arm64, x86_64"),
        (config(runtime="nodejs14.x"), "etl:runtime", "python3.13"),
        (config(runtime="nodejs18.x"), "etl:runtime", "deprecated"),
        (config(runtime="python3.9"), "etl:runtime", "use python3.13"),
        (config(runtime="python3.10"), "etl:runtime", "deprecated"),
        (config(runtime="java99"), "etl:runtime", "unknown Lambda runtime"),
        (config(alarmEmail="ops"), "etl:alarmEmail", "e-mail address"),
        (config(databaseSecretArn="db-secret"), "etl:databaseSecretArn", "Secrets Manager secret"),
        (
            config(databaseSecretArn=f"{SECRET_PREFIX}etl/database"),
            "etl:databaseSecretArn",
            "aws secretsmanager describe-secret --secret-id <name> --query ARN",
        ),
        (
            config(databaseSecretArn=f"{SECRET_PREFIX}etl-db", databaseSecretKmsKeyArn="alias/x"),
            "etl:databaseSecretArn",
            "partial ARN",
        ),
        (
            config(databaseSecretArn=FULL_SECRET, databaseSecretKmsKeyArn="alias/etl-db"),
            "etl:databaseSecretKmsKeyArn",
            "not an alias",
        ),
        (
            config(databaseSecretKmsKeyArn=KEY_ARN),
            "etl:databaseSecretKmsKeyArn",
            "etl:databaseSecretArn is not set",
        ),
        (config(vpcSubnetIds="subnet-1"), "etl:vpcSubnetIds", "JSON list"),
        (
            config(vpcSubnetIds='["subnet-0123456789abcdef0"]'),
            "etl:vpcSecurityGroupIds",
            "both",
        ),
        (config(enviroment="prod"), "etl:enviroment", "unknown key"),
    ],
)
def test_bad_values_fail_naming_key_value_and_what_is_allowed(
    overrides: dict[str, str], key: str, allowed: str
) -> None:
    # GIVEN one bad value  WHEN the settings load
    with pytest.raises(SettingsError) as caught:
        settings(**overrides)
    # THEN the one message names the key, the bad value and what is allowed, and how to fix it
    message = str(caught.value)
    assert caught.value.key == key
    assert key in message
    assert allowed in message
    assert "Fix it with:" in message
    bad = overrides.get(key)
    if bad:
        assert repr(bad) in message


def test_a_suffix_that_breaks_a_name_limit_names_the_resource() -> None:
    # GIVEN a catalog with a long function name, so lambda-<name>-<suffix> passes 64 characters
    long_function = "a-very-long-function-name-thirty"
    # WHEN a suffix that fits every other name is used
    with pytest.raises(SettingsError) as caught:
        settings_from_mapping(
            {"aws:region": "us-east-1", "etl:environmentSuffix": "feature-branch-with-a-long-name"},
            [long_function],
            today=TODAY,
        )
    # THEN the message names the name that would break and AWS's limit
    assert "etl:environmentSuffix" in str(caught.value)
    assert f"lambda-{long_function}-feature-branch-with-a-long-name" in str(caught.value)
    assert "allows 64" in str(caught.value)


def test_a_partial_secret_arn_is_refused_saying_how_to_get_the_full_one() -> None:
    # GIVEN the ARN of a secret without the 6 characters Secrets Manager appends
    partial = f"{SECRET_PREFIX}etl/database"
    # WHEN the settings load
    with pytest.raises(SettingsError) as caught:
        settings(**config(databaseSecretArn=partial))
    # THEN the message says why (the grant would match no secret) and how to get the ARN
    message = str(caught.value)
    assert "partial ARN" in message and "6 characters" in message
    assert "aws secretsmanager describe-secret --secret-id <name> --query ARN" in message


def test_the_full_secret_arn_and_its_customer_key_are_accepted() -> None:
    # GIVEN the full ARN and the ARN of the KMS key that encrypts the secret
    loaded = settings(**config(databaseSecretArn=FULL_SECRET, databaseSecretKmsKeyArn=KEY_ARN))
    # THEN both are kept for the role and the boundary
    assert loaded.database_secret_arn == FULL_SECRET
    assert loaded.database_secret_kms_key_arn == KEY_ARN
