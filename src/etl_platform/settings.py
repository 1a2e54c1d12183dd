"""Settings: the ``etl:`` Pulumi config of a stack, parsed once and validated.

Every project calls :func:`load_settings` first. A bad value stops the program at
once with one message naming the key, the bad value and what is allowed.

Keys (all in the ``etl:`` namespace unless noted; defaults per environment come from
:data:`ENVIRONMENT_DEFAULTS`):

==========================  ===========================================================
``aws:region``              required, must be ``us-east-1``
``environmentSuffix``       required; lowercase letters, digits, hyphens; starts with a
                            letter; short enough that every derived name fits AWS limits
``environment``             ``dev`` (default) or ``prod``
``costCenter``, ``owner``   cost tags (defaults ``data-platform``, ``data-platform-team``)
``stackOrg``                StackReference organization (default ``organization``,
                            the self-managed file backend's)
``runtime``                 Lambda runtime (default ``python3.13``; deprecated refused)
``architecture``            ``arm64`` (default, cheaper per GB-second) or ``x86_64``
``reservedConcurrency``     ``true`` (default): critical functions reserve 5; ``false``
                            for accounts whose concurrency quota is too small
``logLevel``                application log level; default DEBUG (dev) / INFO (prod)
``maxRetryAttempts``        async retries, 0-2 (default 2)
``maxEventAgeSeconds``      async event age, 60-21600 (default 21600 = 6 hours)
``durationAlarmPercent``    duration alarm at this % of the timeout, 1-100 (default 80)
``dlqAgeAlarmSeconds``      oldest DLQ message alarm, seconds (default 900 dev / 300 prod)
``alarmEmail``              optional e-mail subscribed to the alarm topic
``databaseSecretArn``       Secrets Manager ARN with the RDS-shaped DB credentials
``vpcSubnetIds``            JSON list of subnet ids for database functions (with
``vpcSecurityGroupIds``     JSON list of security group ids; both or neither)
==========================  ===========================================================
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from etl_platform.errors import SettingsError
from etl_platform.naming import SUFFIX_PATTERN, check_suffix_fits
from etl_platform.runtimes import (
    ARCHITECTURES,
    DEFAULT_ARCHITECTURE,
    DEFAULT_RUNTIME,
    PYTHON,
    check_runtime,
    python_version_of,
    supported_runtimes,
)

__all__ = [
    "ENVIRONMENT_DEFAULTS",
    "KNOWN_KEYS",
    "REGION",
    "EnvironmentDefaults",
    "Settings",
    "load_settings",
    "settings_from_mapping",
]

REGION = "us-east-1"
NAMESPACE = "etl"
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")


@dataclass(frozen=True)
class EnvironmentDefaults:
    log_retention_days: int
    log_level: str
    dlq_age_alarm_seconds: int


# One table of per-environment defaults. Log retention is platform policy (the
# guardrails enforce it): it changes here, for every stack, not per stack in config.
ENVIRONMENT_DEFAULTS: dict[str, EnvironmentDefaults] = {
    "dev": EnvironmentDefaults(log_retention_days=7, log_level="DEBUG", dlq_age_alarm_seconds=900),
    "prod": EnvironmentDefaults(log_retention_days=30, log_level="INFO", dlq_age_alarm_seconds=300),
}

KNOWN_KEYS = (
    "environmentSuffix",
    "environment",
    "costCenter",
    "owner",
    "stackOrg",
    "runtime",
    "architecture",
    "reservedConcurrency",
    "logLevel",
    "maxRetryAttempts",
    "maxEventAgeSeconds",
    "durationAlarmPercent",
    "dlqAgeAlarmSeconds",
    "alarmEmail",
    "databaseSecretArn",
    "vpcSubnetIds",
    "vpcSecurityGroupIds",
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SECRET_ARN = re.compile(r"^arn:aws:secretsmanager:us-east-1:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$")
_SUBNET = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_SECURITY_GROUP = re.compile(r"^sg-[0-9a-f]{8,17}$")
_TAG_VALUE = re.compile(r"^[\w .:/=+@-]{1,256}$")


@dataclass(frozen=True)
class Settings:
    """A stack's validated settings; every project reads the same object."""

    suffix: str
    environment: str
    region: str
    cost_center: str
    owner: str
    stack_org: str
    runtime: str
    architecture: str
    reserved_concurrency: bool
    log_retention_days: int
    log_level: str
    max_retry_attempts: int
    max_event_age_seconds: int
    duration_alarm_percent: int
    dlq_age_alarm_seconds: int
    alarm_email: str | None
    database_secret_arn: str | None
    vpc_subnet_ids: tuple[str, ...]
    vpc_security_group_ids: tuple[str, ...]

    @property
    def python_version(self) -> str:
        """``python3.13`` -> ``3.13`` (what the layer is built for)."""
        return python_version_of(self.runtime)

    @property
    def uses_vpc(self) -> bool:
        return bool(self.vpc_subnet_ids)


def settings_from_mapping(
    values: Mapping[str, str],
    function_names: Iterable[str] = (),
    today: dt.date | None = None,
) -> Settings:
    """Validate config given as ``{"etl:key": "value", "aws:region": "..."}``.

    Values are strings, as Pulumi keeps them; ``function_names`` lets the suffix be
    checked against every name that will be derived from it.
    """
    unknown = sorted(
        k for k in values if k.startswith(f"{NAMESPACE}:") and k.split(":", 1)[1] not in KNOWN_KEYS
    )
    if unknown:
        raise SettingsError(
            unknown[0],
            values[unknown[0]],
            "unknown key (a typo?); known etl: keys: " + ", ".join(KNOWN_KEYS),
            fix=f"pulumi config rm {unknown[0]}",
        )

    def get(key: str) -> str | None:
        value = values.get(f"{NAMESPACE}:{key}")
        return None if value is None else str(value)

    region = values.get("aws:region")
    if region != REGION:
        raise SettingsError(
            "aws:region", region, f"this platform runs in {REGION} only; set it to {REGION}"
        )

    suffix = get("environmentSuffix")
    if suffix is None or suffix == "":
        raise SettingsError(
            "etl:environmentSuffix",
            suffix,
            "required: lowercase letters, digits and hyphens, starting with a letter "
            "(e.g. dev, pr-42)",
        )
    if not SUFFIX_PATTERN.match(suffix) or "--" in suffix:
        raise SettingsError(
            "etl:environmentSuffix",
            suffix,
            "use lowercase letters, digits and single hyphens, starting with a letter and not "
            "ending with a hyphen (e.g. dev, pr-42)",
        )
    problems = check_suffix_fits(suffix, function_names)
    if problems:
        raise SettingsError(
            "etl:environmentSuffix", suffix, "too long for an AWS name limit: " + problems[0]
        )

    environment = get("environment") or "dev"
    if environment not in ENVIRONMENT_DEFAULTS:
        raise SettingsError(
            "etl:environment", environment, f"allowed: {', '.join(ENVIRONMENT_DEFAULTS)}"
        )
    defaults = ENVIRONMENT_DEFAULTS[environment]

    runtime = get("runtime") or DEFAULT_RUNTIME
    why = check_runtime(runtime, today, language=PYTHON)
    if why:
        raise SettingsError(
            "etl:runtime",
            runtime,
            f"{why} (supported: {', '.join(supported_runtimes(today))}; a Node.js function "
            "sets its own runtime in its function.toml)",
        )

    architecture = get("architecture") or DEFAULT_ARCHITECTURE
    if architecture not in ARCHITECTURES:
        raise SettingsError(
            "etl:architecture", architecture, f"allowed: {', '.join(ARCHITECTURES)}"
        )

    log_level = (get("logLevel") or defaults.log_level).upper()
    if log_level not in LOG_LEVELS:
        raise SettingsError("etl:logLevel", get("logLevel"), f"allowed: {', '.join(LOG_LEVELS)}")

    alarm_email = get("alarmEmail") or None
    if alarm_email is not None and not _EMAIL.match(alarm_email):
        raise SettingsError(
            "etl:alarmEmail", alarm_email, "must be an e-mail address like ops@example.com"
        )

    secret = get("databaseSecretArn") or None
    if secret is not None and not _SECRET_ARN.match(secret):
        raise SettingsError(
            "etl:databaseSecretArn",
            secret,
            "must be a Secrets Manager ARN in us-east-1: "
            "arn:aws:secretsmanager:us-east-1:<account>:secret:<name>",
        )

    subnets = _id_list(get, "vpcSubnetIds", _SUBNET, "subnet-0123456789abcdef0")
    groups = _id_list(get, "vpcSecurityGroupIds", _SECURITY_GROUP, "sg-0123456789abcdef0")
    if bool(subnets) != bool(groups):
        missing = "vpcSecurityGroupIds" if subnets else "vpcSubnetIds"
        raise SettingsError(
            f"etl:{missing}",
            None,
            "set both etl:vpcSubnetIds and etl:vpcSecurityGroupIds, or neither",
        )

    return Settings(
        suffix=suffix,
        environment=environment,
        region=region,
        cost_center=_tag(get, "costCenter", "data-platform"),
        owner=_tag(get, "owner", "data-platform-team"),
        stack_org=_tag(get, "stackOrg", "organization"),
        runtime=runtime,
        architecture=architecture,
        reserved_concurrency=_bool(get, "reservedConcurrency", True),
        log_retention_days=defaults.log_retention_days,
        log_level=log_level,
        max_retry_attempts=_int(get, "maxRetryAttempts", 2, 0, 2),
        max_event_age_seconds=_int(get, "maxEventAgeSeconds", 21600, 60, 21600),
        duration_alarm_percent=_int(get, "durationAlarmPercent", 80, 1, 100),
        dlq_age_alarm_seconds=_int(
            get, "dlqAgeAlarmSeconds", defaults.dlq_age_alarm_seconds, 60, 1_209_600
        ),
        alarm_email=alarm_email,
        database_secret_arn=secret,
        vpc_subnet_ids=subnets,
        vpc_security_group_ids=groups,
    )


def load_settings(function_names: Iterable[str] = ()) -> Settings:
    """Read and validate this stack's config (inside a Pulumi program)."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    known = {f"{NAMESPACE}:{k}" for k in KNOWN_KEYS} | {"aws:region"}
    present = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    values: dict[str, str] = {}
    for full_key in sorted(known | {k for k in present if k.startswith(f"{NAMESPACE}:")}):
        namespace, key = full_key.split(":", 1)
        value = pulumi.Config(namespace).get(key)
        if value is not None:
            values[full_key] = value
    return settings_from_mapping(values, function_names)


# --- value parsers: each failure names the key, the value and what is allowed ----------------

Getter = Callable[[str], "str | None"]


def _int(get: Getter, key: str, default: int, low: int, high: int) -> int:
    raw = get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"etl:{key}", raw, f"a whole number from {low} to {high}") from None
    if not low <= value <= high:
        raise SettingsError(f"etl:{key}", raw, f"a whole number from {low} to {high}")
    return value


def _bool(get: Getter, key: str, default: bool) -> bool:
    raw = get(key)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise SettingsError(f"etl:{key}", raw, "true or false")


def _tag(get: Getter, key: str, default: str) -> str:
    raw = get(key)
    if raw is None:
        return default
    if not _TAG_VALUE.match(raw):
        raise SettingsError(
            f"etl:{key}", raw, "1-256 characters: letters, digits, spaces and _ . : / = + - @"
        )
    return raw


def _id_list(get: Getter, key: str, pattern: re.Pattern[str], example: str) -> tuple[str, ...]:
    raw = get(key)
    if raw is None or raw == "":
        return ()
    try:
        parsed: Any = json.loads(raw)
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, list) or not all(
        isinstance(v, str) and pattern.match(v) for v in parsed
    ):
        raise SettingsError(
            f"etl:{key}",
            raw,
            f'a JSON list of ids like ["{example}"]',
            fix=f"pulumi config set --path 'etl:{key}[0]' {example}",
        )
    return tuple(parsed)
