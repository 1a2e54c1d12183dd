"""etl:resources: every ARN kind a need or trigger names parses; a bad one is refused."""

from __future__ import annotations

import json

import pytest

from etl_platform.errors import SettingsError
from etl_platform.model.catalog import load_catalog
from etl_platform.model.needs import NEEDS
from etl_platform.model.resources import ARN_SHAPES, parse_resource
from etl_platform.model.settings import RESOURCES_KEY, Settings, settings_from_mapping

ACCOUNT = "123456789012"
REGION = "us-east-1"

# One valid ARN per kind: (arn, service, kind, resource id).
VALID = [
    (f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/todos-dev", "dynamodb", "table", "todos-dev"),
    (
        f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/todos-dev/stream/2024-01-01T00:00:00.000",
        "dynamodb",
        "stream",
        "todos-dev/stream/2024-01-01T00:00:00.000",
    ),
    (f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/clicks-dev", "kinesis", "stream", "clicks-dev"),
    (f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders-dev", "sqs", "queue", "orders-dev"),
    (f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders-dev.fifo", "sqs", "queue", "orders-dev.fifo"),
    (f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts-dev", "sns", "topic", "alerts-dev"),
    (
        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "kms",
        "key",
        "1234abcd-12ab-34cd-56ef-1234567890ab",
    ),
    (
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:etl/webhook-AbCdEf",
        "secretsmanager",
        "secret",
        "etl/webhook-AbCdEf",
    ),
    (
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/etl/dev/webhook-url",
        "ssm",
        "parameter",
        "etl/dev/webhook-url",
    ),
    (
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:legacy-mailer",
        "lambda",
        "function",
        "legacy-mailer",
    ),
    (f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/orders", "events", "event-bus", "orders"),
    ("arn:aws:s3:::exports-dev", "s3", "bucket", "exports-dev"),
    (f"arn:aws:iam::{ACCOUNT}:role/legacy-reader", "iam", "role", "legacy-reader"),
    # the sources an `invoke` trigger names
    (
        f"arn:aws:execute-api:{REGION}:{ACCOUNT}:a1b2c3d4e5/*/POST/orders",
        "execute-api",
        "api",
        "a1b2c3d4e5",
    ),
    (
        f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/us-east-1_AbCdEf123",
        "cognito-idp",
        "userpool",
        "us-east-1_AbCdEf123",
    ),
    (f"arn:aws:iot:{REGION}:{ACCOUNT}:rule/orders_in", "iot", "rule", "orders_in"),
    (
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/legacy/orders:*",
        "logs",
        "log-group",
        "/legacy/orders",
    ),
]


def settings(resources: object) -> Settings:
    raw = resources if isinstance(resources, str) else json.dumps(resources)
    values = {"aws:region": REGION, "etl:environmentSuffix": "dev", RESOURCES_KEY: raw}
    return settings_from_mapping(values, load_catalog().names)


@pytest.mark.parametrize(("arn", "service", "kind", "resource_id"), VALID)
def test_every_arn_kind_parses_into_service_kind_and_id(
    arn: str, service: str, kind: str, resource_id: str
) -> None:
    # GIVEN a stack declaring one resource of this kind  WHEN its settings load
    loaded = settings({"the-thing": arn})
    # THEN the resource carries the service, the kind and the id its ARN says
    resource = loaded.resource("the-thing")
    assert (resource.arn, resource.service, resource.kind, resource.resource_id) == (
        arn,
        service,
        kind,
        resource_id,
    )


def test_the_table_covers_every_kind_a_need_targets() -> None:
    # GIVEN the needs vocabulary  THEN every resource kind a need names has an ARN row,
    # and the test list above has a valid ARN for each row
    kinds = {(s.service, s.kind) for s in ARN_SHAPES}
    targeted = {n.target for n in NEEDS if not n.on_data_bucket}
    assert targeted <= kinds
    assert {(service, kind) for _, service, kind, _ in VALID} == kinds


def test_resources_are_kept_as_sorted_pairs() -> None:
    # GIVEN names declared in any order  WHEN loaded  THEN they are sorted (name, ARN) pairs
    loaded = settings({"zeta": VALID[3][0], "alpha": VALID[0][0]})
    assert loaded.resources == (("alpha", VALID[0][0]), ("zeta", VALID[3][0]))
    # AND an empty or absent key declares none
    assert settings({}).resources == ()


@pytest.mark.parametrize(
    ("name", "arn", "words"),
    [
        # the secret without the 6 characters Secrets Manager appends
        (
            "webhook",
            f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:etl/webhook",
            ("partial ARN", "describe-secret"),
        ),
        # a KMS alias where a key is needed
        (
            "webhook-key",
            f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/webhook",
            ("KMS alias", "describe-key"),
        ),
        # another region than the stack's
        ("todos", f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/todos", ("eu-west-1", REGION)),
        # a service no need or trigger uses
        ("cluster", f"arn:aws:rds:{REGION}:{ACCOUNT}:db:orders", ("'rds'", "known:")),
        # not an ARN at all
        ("orders", "orders-dev", ("not an ARN",)),
        # a bucket ARN with an object key: the prefix belongs in the catalog entry
        ("exports", "arn:aws:s3:::exports-dev/reports/", ("not an S3 bucket", "name/prefix/")),
        # a bucket ARN with a region
        ("exports", f"arn:aws:s3:{REGION}::exports-dev", ("has no region",)),
        # an account that is not 12 digits
        ("orders", f"arn:aws:sqs:{REGION}:1234:orders-dev", ("12-digit",)),
        # another partition
        ("orders", f"arn:aws-cn:sqs:{REGION}:{ACCOUNT}:orders-dev", ("partition",)),
        # a table ARN whose resource part is not a table or stream
        ("todos", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:global-table/todos", ("DynamoDB table",)),
        # a logical name that is not kebab-case
        ("Todos_Table", VALID[0][0], ("kebab-case", "'todos-table'")),
    ],
)
def test_a_bad_resource_is_refused_with_the_key_the_name_and_the_fix(
    name: str, arn: str, words: tuple[str, ...]
) -> None:
    # GIVEN a stack declaring a malformed or partial ARN  WHEN its settings load
    with pytest.raises(SettingsError) as caught:
        settings({name: arn})
    # THEN the message names the key with the logical name, says why, and gives the fix
    message = str(caught.value)
    assert caught.value.key == f"{RESOURCES_KEY}.{name}"
    assert f"resource {name!r}" in message and "Fix it with" in message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("raw", ["[1, 2]", "not json", '{"todos": 3}'])
def test_a_value_that_is_not_an_object_of_arns_is_refused(raw: str) -> None:
    # GIVEN etl:resources that is not {name: ARN}  THEN it is refused with an example
    with pytest.raises(SettingsError, match="JSON object of ARNs by logical name"):
        settings(raw)


def test_an_undeclared_name_names_the_declared_ones_and_the_fix() -> None:
    # GIVEN a stack with one resource  WHEN asked for another
    loaded = settings({"todos": VALID[0][0]})
    with pytest.raises(SettingsError) as caught:
        loaded.resource("orders")
    # THEN the message says which names exist and how to declare the missing one
    assert "declared: todos" in str(caught.value)
    assert "--path 'etl:resources.orders'" in str(caught.value)


def test_parse_resource_is_usable_without_settings() -> None:
    # GIVEN an ARN  WHEN parsed directly (the rules and import do)  THEN the label reads well
    resource = parse_resource("orders", VALID[3][0], REGION)
    assert resource.label == "SQS queue"
    assert resource.resource_kind == ("sqs", "queue")
