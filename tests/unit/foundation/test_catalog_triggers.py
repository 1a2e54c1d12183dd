"""The newer trigger types: their keys are checked at load time, their sources per stack.

A mistake in a ``[trigger]`` table fails naming the file and ``trigger.<key>``; what
only the stack can tell (the name is not declared, the resource is of another kind, a
FIFO queue with a batching window, a function that writes what triggers it) fails
when the stack plans, naming the function, the name and the stack.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from etl_platform.errors import CatalogError
from etl_platform.model.catalog import TRIGGER_TYPES, FunctionSpec, load_catalog
from etl_platform.model.settings import Settings, settings_from_mapping
from etl_platform.model.trigger_sources import invoke_source_arn, rule_arn, trigger_source

ACCOUNT = "123456789012"
ARN = f"arn:aws:{{}}:us-east-1:{ACCOUNT}:{{}}"
RESOURCES = {
    "orders": ARN.format("sqs", "orders-dev"),
    "orders-fifo": ARN.format("sqs", "orders-dev.fifo"),
    "todos": ARN.format("dynamodb", "table/todos-dev"),
    "todos-stream": ARN.format("dynamodb", "table/todos-dev/stream/2024-01-01T00:00:00.000"),
    "alerts": ARN.format("sns", "alerts-dev"),
    "orders-bus": ARN.format("events", "event-bus/orders-dev"),
    "legacy-api": ARN.format("execute-api", "a1b2c3d4e5"),
    "legacy-logs": ARN.format("logs", "log-group:/legacy/orders"),
}
ENTRY = """
name = "worker"
handler = "handler.handler"
description = "A test function."
kind = "{kind}"
size = "small"

[trigger]
{trigger}
{needs}
"""


def entry(tmp_path: Path, trigger: str, *, kind: str = "batch", needs: str = "") -> Path:
    folder = tmp_path / "worker"
    folder.mkdir(exist_ok=True)
    (folder / "handler.py").write_text("def handler(event, context):\n    return {}\n")
    text = ENTRY.format(kind=kind, trigger=textwrap.dedent(trigger).strip(), needs=needs)
    (folder / "function.toml").write_text(text)
    return folder / "function.toml"


def load_one(tmp_path: Path, trigger: str, **kw: str) -> FunctionSpec:
    entry(tmp_path, trigger, **kw)
    return load_catalog(tmp_path).get("worker")


def stack(resources: dict[str, str] = RESOURCES) -> Settings:
    values = {
        "aws:region": "us-east-1",
        "etl:environmentSuffix": "dev",
        "etl:resources": json.dumps(resources),
    }
    return settings_from_mapping(values, ["worker"])


def test_defaults_fill_what_an_entry_leaves_out(tmp_path: Path) -> None:
    # GIVEN stream and queue triggers naming only their source
    stream = load_one(tmp_path, 'type = "kinesis"\nstream = "clicks"').trigger
    # THEN the row's defaults apply: bounded retries and age, bisect on
    for key, default in TRIGGER_TYPES["kinesis"].optional.items():
        assert stream.option(key) == default, key
    assert stream.source == "clicks" and stream.mapping is not None and stream.mapping.stream
    queue = load_one(tmp_path, 'type = "sqs"\nqueue = "orders"').trigger
    assert (queue.option("batch_size"), queue.option("batching_window_seconds")) == (10, 0)
    assert queue.option("maximum_concurrency") is None
    # AND an SQS trigger is synchronous (no async alarms); an SNS one asynchronous
    assert not queue.asynchronous
    assert load_one(tmp_path, 'type = "sns"\ntopic = "alerts"').trigger.asynchronous


@pytest.mark.parametrize(
    ("trigger", "key", "says"),
    [
        ('type = "sqs"', "trigger.queue", "required"),
        ('type = "sqs"\nqueue = "Orders_Q"', "trigger.queue", "etl:resources"),
        ('type = "sqs"\nqueue = "orders"\nbatch_size = 0', "trigger.batch_size", "1 to 10000"),
        (
            'type = "sqs"\nqueue = "orders"\nbatch_size = 20',
            "trigger.batching_window_seconds",
            "window",
        ),
        (
            'type = "sqs"\nqueue = "orders"\nmaximum_concurrency = 1',
            "trigger.maximum_concurrency",
            "2 to 1000",
        ),
        (
            'type = "sqs"\nqueue = "orders"\nstream = "x"',
            "trigger.stream",
            "unknown for type 'sqs'",
        ),
        (
            'type = "kinesis"\nstream = "c"\nstarting_position = "AT_TIMESTAMP"',
            "trigger.starting_position",
            "LATEST",
        ),
        (
            'type = "kinesis"\nstream = "c"\nmaximum_retry_attempts = -1',
            "trigger.maximum_retry_attempts",
            "0 to 10000",
        ),
        (
            'type = "dynamodb-stream"\nstream = "s"\nbisect_on_error = "yes"',
            "trigger.bisect_on_error",
            "true or false",
        ),
        (
            'type = "sns"\ntopic = "alerts"\nfilter_policy = "{severity"',
            "trigger.filter_policy",
            "not valid JSON",
        ),
        (
            'type = "sns"\ntopic = "alerts"\nfilter_policy = "[]"',
            "trigger.filter_policy",
            "non-empty object",
        ),
        ('type = "eventbridge"', "trigger.pattern", "either a pattern"),
        (
            'type = "eventbridge"\npattern = \'{"source": ["x"]}\'\nschedule = "rate(1 hour)"',
            "trigger.pattern",
            "not both",
        ),
        (
            'type = "eventbridge"\nschedule = "rate(1 hour)"\nbus = "orders-bus"',
            "trigger.bus",
            "default bus",
        ),
        ('type = "eventbridge"\nschedule = "hourly"', "trigger.schedule", "rate(...)"),
        (
            'type = "http-api"\nroutes = ["POST /orders"]\nauth = "jwt"',
            "trigger.issuer",
            "required",
        ),
        (
            'type = "http-api"\nroutes = ["POST /orders"]\nauth = "iam"\naudience = "x"',
            "trigger.audience",
            "only for",
        ),
        (
            'type = "http-api"\nroutes = ["FETCH /orders"]\nauth = "iam"',
            "trigger.routes",
            "<METHOD> /<path>",
        ),
        ('type = "http-api"\nroutes = []\nauth = "iam"', "trigger.routes", "a list"),
        (
            'type = "invoke"\nprincipal = "s3.amazonaws.com"\nsource = "x"',
            "trigger.principal",
            "own",
        ),
    ],
)
def test_bad_trigger_keys_fail_naming_file_and_key(
    tmp_path: Path, trigger: str, key: str, says: str
) -> None:
    # GIVEN one bad trigger table  WHEN the catalog loads
    path = entry(tmp_path, trigger, kind="api" if "http-api" in trigger else "batch")
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path)
    # THEN the error names the file, the key and what is allowed
    message = str(caught.value)
    assert str(path) in message and f"key '{key}'" in message and says in message, message


def test_an_http_api_serves_an_api_function(tmp_path: Path) -> None:
    entry(tmp_path, 'type = "http-api"\nroutes = ["POST /orders"]\nauth = "iam"', kind="batch")
    with pytest.raises(CatalogError, match='set kind = "api"'):
        load_catalog(tmp_path)


def test_sources_resolve_against_the_stack_and_must_be_of_the_right_kind(tmp_path: Path) -> None:
    # GIVEN an SQS trigger on a declared queue  THEN it resolves to that queue
    spec = load_one(tmp_path, 'type = "sqs"\nqueue = "orders"')
    source = trigger_source(spec, stack(), "dev")
    assert source is not None and source.arn == RESOURCES["orders"]
    # WHEN the stack does not declare it  THEN the error names function, name and stack
    missing = {k: v for k, v in RESOURCES.items() if k != "orders"}
    with pytest.raises(CatalogError, match=r"'worker' is triggered by 'orders'.*stack 'dev'"):
        trigger_source(spec, stack(missing), "dev")
    # WHEN the name is a topic  THEN the kind is refused with what is needed
    spec = load_one(tmp_path, 'type = "sqs"\nqueue = "alerts"')
    with pytest.raises(CatalogError, match="needs a SQS queue"):
        trigger_source(spec, stack(), "dev")
    # AND an invoke source must be of its principal's kind
    spec = load_one(
        tmp_path, 'type = "invoke"\nprincipal = "apigateway.amazonaws.com"\nsource = "legacy-logs"'
    )
    with pytest.raises(CatalogError, match="needs a API Gateway API"):
        trigger_source(spec, stack(), "dev")


def test_a_fifo_queue_refuses_a_batching_window(tmp_path: Path) -> None:
    spec = load_one(tmp_path, 'type = "sqs"\nqueue = "orders-fifo"\nbatching_window_seconds = 5')
    with pytest.raises(CatalogError, match="FIFO queue"):
        trigger_source(spec, stack(), "dev")


@pytest.mark.parametrize(
    ("trigger", "needs"),
    [
        ('type = "sqs"\nqueue = "orders"', 'sqs_send = ["orders"]'),
        ('type = "sns"\ntopic = "alerts"', 'sns_publish = ["alerts"]'),
        ('type = "dynamodb-stream"\nstream = "todos-stream"', 'dynamodb_write = ["todos"]'),
    ],
)
def test_a_function_that_writes_what_triggers_it_is_refused(
    tmp_path: Path, trigger: str, needs: str
) -> None:
    # GIVEN a function that writes the queue, topic or table its trigger reads
    spec = load_one(tmp_path, trigger, needs=f"[needs]\n{needs}\n")
    # THEN the plan refuses it as a loop, naming the need
    with pytest.raises(CatalogError, match="recursive loop") as caught:
        trigger_source(spec, stack(), "dev")
    assert f"needs.{needs.split(' ')[0]}" in str(caught.value)


def test_writing_another_table_is_not_a_loop(tmp_path: Path) -> None:
    other = dict(RESOURCES, audit=ARN.format("dynamodb", "table/audit-dev"))
    spec = load_one(
        tmp_path,
        'type = "dynamodb-stream"\nstream = "todos-stream"',
        needs='[needs]\ndynamodb_write = ["audit"]\n',
    )
    assert trigger_source(spec, stack(other), "dev") is not None


def test_rule_and_invoke_source_arns(tmp_path: Path) -> None:
    # GIVEN an eventbridge trigger on a named bus  THEN its rule ARN names the bus
    spec = load_one(tmp_path, 'type = "eventbridge"\nbus = "orders-bus"\npattern = \'{"a": [1]}\'')
    assert rule_arn(spec, stack(), "dev", ACCOUNT) == (
        f"arn:aws:events:us-east-1:{ACCOUNT}:rule/orders-dev/rule-worker-dev"
    )
    # AND an API named by its id is let in from every stage, method and path
    spec = load_one(
        tmp_path, 'type = "invoke"\nprincipal = "apigateway.amazonaws.com"\nsource = "legacy-api"'
    )
    source = trigger_source(spec, stack(), "dev")
    assert source is not None and invoke_source_arn(source) == RESOURCES["legacy-api"] + "/*"
