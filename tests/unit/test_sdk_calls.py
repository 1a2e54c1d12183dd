"""Declared needs checked against the code: the SDK calls a Python function makes.

GIVEN handler code (fixture folders, and the repository's own functions), WHEN its AWS
SDK calls are extracted, THEN each call carries the IAM action botocore's model says it
needs; and a call no declared need authorizes is an error naming the need to add,
while a need the code never uses is a warning.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import parliament
import pytest

from etl_platform.artifacts.problems import SdkCall
from etl_platform.artifacts.sdk_actions import ACTIONS_OF_OPERATION, iam_actions, method_operations
from etl_platform.artifacts.sdk_calls import (
    SDK_CALLS,
    catalog_needs_problems,
    layer_helper_calls,
    needs_problems,
    python_sdk_calls,
)
from etl_platform.model.catalog import load_catalog
from etl_platform.model.needs import NEEDS
from etl_platform.model.runtimes import PYTHON

ESTATE_CODE = """\
    import os

    import boto3
    from boto3 import client as make_client
    from etl_common import s3

    TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE"])
    queue = boto3.client("sqs")
    name = os.environ["SERVICE"]
    dynamic = boto3.client(name)


    def _topic_client():
        return make_client("sns")


    class Notifier:
        def __init__(self):
            self._events = boto3.client("events")

        def send(self, detail):
            self._events.put_events(Entries=[detail])


    def handler(event, context):
        TABLE.put_item(Item=event)
        TABLE.query(KeyConditionExpression="pk = :pk")
        with TABLE.batch_writer() as batch:
            batch.put_item(Item=event)
        queue.send_message_batch(QueueUrl=event["queue"], Entries=[])
        _topic_client().publish(TopicArn=event["topic"], Message="x")
        pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket="b")
        boto3.resource("s3").Bucket("b").Object("k").put(Body=b"x")
        dynamic.do_something()
        return s3.read_json(event["bucket"], event["key"])
"""

# (action, operation) each call of ESTATE_CODE above sends, and the text on its line
ESTATE_CALLS = {
    ("dynamodb:PutItem", "PutItem"): "TABLE.put_item",
    ("dynamodb:Query", "Query"): "TABLE.query",
    ("dynamodb:BatchWriteItem", "BatchWriteItem"): "batch.put_item",
    ("sqs:SendMessage", "SendMessageBatch"): "queue.send_message_batch",
    ("sns:Publish", "Publish"): "_topic_client().publish",
    ("events:PutEvents", "PutEvents"): "self._events.put_events",
    ("s3:ListBucket", "ListObjectsV2"): 'get_paginator("list_objects_v2")',
    ("s3:PutObject", "PutObject"): '.Object("k").put(',
    ("s3:GetObject", "read_json"): "s3.read_json",  # through the layer's helper
}


def make_function(root: Path, name: str, code: str, needs: dict[str, list[str]]) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "handler.py").write_text(textwrap.dedent(code))
    lines = "\n".join(f"{key} = {json.dumps(v)}" for key, v in needs.items())
    (folder / "function.toml").write_text(
        f'name = "{name}"\nhandler = "handler.handler"\ndescription = "Estate code."\n'
        f'kind = "batch"\nsize = "small"\n\n[needs]\n{lines}\n'
    )
    return root


def test_every_client_and_resource_call_becomes_its_iam_action(tmp_path: Path) -> None:
    # GIVEN estate code using clients, resources, paginators, a batch writer, a client
    # kept on self, one returned by a function, and a layer helper
    folder = make_function(tmp_path, "estate", ESTATE_CODE, {}) / "estate"
    # WHEN its SDK calls are extracted
    calls = python_sdk_calls(folder)
    # THEN each resolvable call is there with the IAM action it needs, and the call
    # through a dynamic service name is not guessed
    assert {(c.action, c.operation) for c in calls} == set(ESTATE_CALLS)
    # AND each is located at the line that makes it
    source = (folder / "handler.py").read_text().splitlines()
    for call in calls:
        assert ESTATE_CALLS[call.action, call.operation] in source[call.line - 1], call


def test_the_platform_functions_need_exactly_what_they_declare() -> None:
    # GIVEN the repository's catalog (its functions reach S3 through etl_common)
    catalog = load_catalog()
    # WHEN every function with an extractor for its language is checked
    problems = catalog_needs_problems(catalog)
    # THEN no call lacks a need and no need is unused
    assert [str(p) for p in problems] == []
    # AND the check saw calls for every such function (it is not vacuous)
    for spec in catalog:
        if spec.language in SDK_CALLS:
            assert SDK_CALLS[spec.language](spec.code_dir, spec.handler), spec.name


def test_a_call_no_need_authorizes_is_an_error_naming_the_need(tmp_path: Path) -> None:
    # GIVEN a function that writes a table while declaring only a read
    code = """\
        import boto3
        table = boto3.client("dynamodb")
        def handler(event, context):
            table.get_item(TableName="t", Key={})
            table.put_item(TableName="t", Item={})
    """
    catalog = load_catalog(make_function(tmp_path, "writer", code, {"dynamodb_read": ["todos"]}))
    # WHEN its needs are compared with its code
    (problem,) = catalog_needs_problems(catalog)
    # THEN the write is an error, located, saying what the code does and the need to add
    assert problem.is_error and problem.line == 5
    assert "constructs a DynamoDB client and sends PutItem" in problem.message
    assert "no need grants dynamodb:PutItem" in problem.message
    assert "add dynamodb_write = [...]" in problem.fix


def test_a_need_the_code_never_uses_is_a_warning(tmp_path: Path) -> None:
    # GIVEN a function declaring a queue it never sends to, and a table it reads
    code = """\
        import boto3
        def handler(event, context):
            boto3.resource("dynamodb").Table("t").get_item(Key={})
    """
    needs = {"dynamodb_read": ["todos"], "sqs_send": ["orders"]}
    catalog = load_catalog(make_function(tmp_path, "reader", code, needs))
    # WHEN compared  THEN only the queue need is questioned, as a warning naming it
    (problem,) = catalog_needs_problems(catalog)
    assert not problem.is_error
    assert "needs.sqs_send grants sqs:SendMessage" in problem.message
    assert "warning:" in str(problem) and "remove needs.sqs_send" in problem.fix


def test_calls_through_the_layer_count_and_database_functions_read_their_secret() -> None:
    # GIVEN the layer's helpers  THEN reads, writes and the database secret are resolved
    helpers = layer_helper_calls()
    assert helpers["etl_common.s3.read_json"] == ("s3:GetObject",)
    assert "s3:PutObject" in helpers["etl_common.s3.put_json"]
    assert helpers["etl_common.db.Database"] == ("secretsmanager:GetSecretValue",)
    # AND a database function's secret read is authorized by `database = true` alone
    load = next(spec for spec in load_catalog() if spec.database)
    calls = SDK_CALLS[load.language](load.code_dir)
    assert "secretsmanager:GetSecretValue" in {c.action for c in calls}
    assert not [p for p in needs_problems(load, calls) if p.is_error]


def test_needs_problems_take_calls_from_any_extractor(tmp_path: Path) -> None:
    # GIVEN calls in the one SdkCall shape (as the Node.js extractor reports them)
    catalog = load_catalog(make_function(tmp_path, "node-like", "", {"sns_publish": ["alerts"]}))
    spec = catalog.get("node-like")
    calls = [SdkCall("sns:Publish", "SNSClient", "PublishCommand", spec.code_dir / "index.js", 3)]
    # THEN the comparison is language-free: the declared topic need is confirmed
    assert needs_problems(spec, calls) == []
    assert PYTHON in SDK_CALLS
    # AND a v3 command no need grants reads as the example does
    put = SdkCall("dynamodb:PutItem", "DynamoDBDocumentClient", "PutCommand", calls[0].path, 7)
    (problem,) = needs_problems(spec, [*calls, put])
    assert "constructs a DynamoDB client and sends PutCommand" in problem.message
    assert "no need grants dynamodb:PutItem" in problem.message
    assert "add dynamodb_write = [...]" in problem.fix


@pytest.fixture(scope="module")
def privileges() -> frozenset[str]:
    """Every IAM action in parliament's copy of AWS's Service Authorization Reference."""
    path = Path(parliament.__file__).parent / "iam_definition.json"
    reference = json.loads(path.read_text(encoding="utf-8"))
    return frozenset(f"{s['prefix']}:{p['privilege']}" for s in reference for p in s["privileges"])


@pytest.mark.parametrize(("service", "operation"), sorted(ACTIONS_OF_OPERATION))
def test_every_action_exception_is_a_real_operation_and_real_actions(
    service: str, operation: str, privileges: frozenset[str]
) -> None:
    # GIVEN a row of the table of operations whose IAM action is not <prefix>:<Operation>
    # THEN botocore's model has the operation and AWS's reference (parliament) the actions
    assert operation in method_operations(service).values()
    assert set(iam_actions(service, operation)) <= privileges


def test_every_action_a_need_grants_is_one_the_check_can_report(
    privileges: frozenset[str],
) -> None:
    # GIVEN the needs vocabulary  THEN every action it grants exists in AWS's reference,
    # so a call the check reports can always be matched to the need that grants it
    assert {a for n in NEEDS for a in n.actions} <= privileges


def test_a_resources_meta_client_is_its_services_client(tmp_path: Path) -> None:
    # GIVEN code reaching the client under a resource (dynamodb.meta.client)
    code = """\
        import boto3
        dynamodb = boto3.resource("dynamodb")
        def handler(event, context):
            dynamodb.meta.client.transact_write_items(TransactItems=[])
    """
    folder = make_function(tmp_path, "meta", code, {}) / "meta"
    # THEN the call is the client's, with the IAM action AWS requires for it
    ((action, operation),) = {(c.action, c.operation) for c in python_sdk_calls(folder)}
    assert (action, operation) == ("dynamodb:PutItem", "TransactWriteItems")
