"""The planned triggers against moto: the APIs accept what the plan configures, and preflight
reads a source queue's attributes.

The estate catalog of ``tests/unit/projects/trigger_estate.py`` is planned once (the real
etl-functions program under Pulumi's mocks); each mapping, subscription, rule and
target it registers is then sent to moto as the provider would send it (botocore
checks every parameter against the service model), and read back.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest

from etl_platform.checks.offline import ProgramRun, run_program
from etl_platform.model.catalog import load_catalog
from etl_platform.model.deployment import LIVE_ALIAS
from etl_platform.model.settings import settings_from_mapping
from etl_platform.model.stack_config import read_stack_config
from etl_platform.ops.preflight import SQS_VISIBILITY_FACTOR, check_trigger_queues
from etl_platform.paths import PROJECTS_DIR, REPO_ROOT

STACK = "dev"
PROJECTS_TESTS = REPO_ROOT / "tests" / "unit" / "projects"


def _load(name: str) -> Any:
    """A helper module of the unit tests, by path (the tiers share the estate, not a package)."""
    spec = importlib.util.spec_from_file_location(
        f"_triggers_{name}", PROJECTS_TESTS / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


estate = _load("trigger_estate")
fakes = _load("conftest")


@pytest.fixture(scope="module")
def catalog_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root: Path = estate.write_estate(tmp_path_factory.mktemp("estate") / "lambdas")
    return root


@pytest.fixture(scope="module")
def plan(catalog_dir: Path) -> ProgramRun:
    names = load_catalog(catalog_dir).names
    return run_program(
        PROJECTS_DIR / "etl-functions",
        STACK,
        config=estate.CONFIG,
        stack_outputs=fakes.upstream_outputs(STACK, STACK, names),
        catalog_dir=catalog_dir,
    )


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


@pytest.fixture
def estate_in_moto(aws: boto3.Session, plan: ProgramRun) -> dict[str, str]:
    """The estate's resources and the planned functions in moto; {logical name: real ARN}."""
    arns = dict(estate.RESOURCES)
    sqs = aws.client("sqs")
    sqs.create_queue(QueueName="orders-dev")
    table = aws.client("dynamodb").create_table(
        TableName="todos-dev",
        KeySchema=[{"AttributeName": "Id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "Id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    arns["todos-stream"] = table["TableDescription"]["LatestStreamArn"]  # moto's own label
    aws.client("kinesis").create_stream(StreamName="clicks-dev", ShardCount=1)
    aws.client("sns").create_topic(Name="alerts-dev")
    aws.client("events").create_event_bus(Name="orders-dev")
    for function in plan.of_type("aws:sqs/queue:Queue"):
        sqs.create_queue(QueueName=function.inputs["name"])
    role = aws.client("iam").create_role(
        RoleName="role-moto", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
    )["Role"]["Arn"]
    lam = aws.client("lambda")
    for function in plan.of_type("aws:lambda/function:Function"):
        name = function.inputs["name"]
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="handler.handler",
            Code={"ZipFile": _zip()},
        )
        # every trigger aims at the function's alias, as the plan does
        version = lam.publish_version(FunctionName=name)["Version"]
        lam.create_alias(FunctionName=name, Name=LIVE_ALIAS, FunctionVersion=version)
    for name in {r.split(":")[-1] for r in _dlq_arns(plan)}:
        sqs.create_queue(QueueName=name)
    return arns


def _dlq_arns(plan: ProgramRun) -> set[str]:
    return {
        f["inputs"]["deadLetterConfig"]["targetArn"]
        for f in [{"inputs": r.inputs} for r in plan.of_type("aws:lambda/function:Function")]
    }


def _int(value: float) -> int:
    """Pulumi's wire format carries numbers as floats; the provider's schema says integer."""
    assert value == int(value)
    return int(value)


def _source(arn: str, arns: dict[str, str]) -> str:
    """The plan names the fixture's stream label; moto made its own."""
    fixture = estate.RESOURCES["todos-stream"]
    return arns["todos-stream"] if arn == fixture else arn


def test_moto_accepts_every_planned_mapping_with_its_failure_handling(
    aws: boto3.Session, plan: ProgramRun, estate_in_moto: dict[str, str]
) -> None:
    lam = aws.client("lambda")
    mappings = plan.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert mappings
    for mapping in mappings:
        planned = mapping.inputs
        # WHEN the planned mapping is created as the provider would create it
        params: dict[str, Any] = {
            "EventSourceArn": _source(planned["eventSourceArn"], estate_in_moto),
            "FunctionName": planned["functionName"],
            "BatchSize": _int(planned["batchSize"]),
            "FunctionResponseTypes": planned["functionResponseTypes"],
        }
        if "startingPosition" in planned:
            on_failure = planned["destinationConfig"]["onFailure"]["destinationArn"]
            params |= {
                "StartingPosition": planned["startingPosition"],
                "BisectBatchOnFunctionError": planned["bisectBatchOnFunctionError"],
                "MaximumRetryAttempts": _int(planned["maximumRetryAttempts"]),
                "MaximumRecordAgeInSeconds": _int(planned["maximumRecordAgeInSeconds"]),
                "DestinationConfig": {"OnFailure": {"Destination": on_failure}},
            }
        else:
            params |= {
                "MaximumBatchingWindowInSeconds": _int(planned["maximumBatchingWindowInSeconds"]),
                "ScalingConfig": {
                    "MaximumConcurrency": _int(planned["scalingConfig"]["maximumConcurrency"])
                },
            }
        created = lam.create_event_source_mapping(**params)
        # THEN it reads back on its source with partial batch responses
        read = lam.get_event_source_mapping(UUID=created["UUID"])
        assert read["EventSourceArn"] == params["EventSourceArn"]
        # (moto answers with the version the alias points at; AWS with the alias ARN)
        function = planned["functionName"].removesuffix(f":{LIVE_ALIAS}")
        assert read["FunctionArn"].startswith(f"{function}:")
        assert read["BatchSize"] == planned["batchSize"]


def test_moto_accepts_the_planned_subscription_and_its_filter_policy(
    aws: boto3.Session, plan: ProgramRun, estate_in_moto: dict[str, str]
) -> None:
    sns = aws.client("sns")
    for subscription in plan.of_type("aws:sns/topicSubscription:TopicSubscription"):
        planned = subscription.inputs
        arn = sns.subscribe(
            TopicArn=planned["topic"],
            Protocol=planned["protocol"],
            Endpoint=planned["endpoint"],
            Attributes={"FilterPolicy": planned["filterPolicy"]},
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
        assert attributes["Endpoint"] == planned["endpoint"]
        assert json.loads(attributes["FilterPolicy"]) == json.loads(planned["filterPolicy"])


def test_moto_accepts_the_planned_rule_and_target_with_retries_and_dlq(
    aws: boto3.Session, plan: ProgramRun, estate_in_moto: dict[str, str]
) -> None:
    events = aws.client("events")
    targets = {
        t.inputs["rule"]: t.inputs for t in plan.of_type("aws:cloudwatch/eventTarget:EventTarget")
    }
    for rule in plan.of_type("aws:cloudwatch/eventRule:EventRule"):
        planned = rule.inputs
        if "eventPattern" not in planned:
            continue  # a schedule rule of the base catalog (none here)
        bus = planned["eventBusName"]
        events.put_rule(
            Name=planned["name"], EventBusName=bus, EventPattern=planned["eventPattern"]
        )
        target = targets[planned["name"]]
        events.put_targets(
            Rule=planned["name"],
            EventBusName=bus,
            Targets=[
                {
                    "Id": "function",
                    "Arn": target["arn"],
                    "RetryPolicy": {
                        "MaximumRetryAttempts": _int(target["retryPolicy"]["maximumRetryAttempts"]),
                        "MaximumEventAgeInSeconds": _int(
                            target["retryPolicy"]["maximumEventAgeInSeconds"]
                        ),
                    },
                    "DeadLetterConfig": {"Arn": target["deadLetterConfig"]["arn"]},
                }
            ],
        )
        [read] = events.list_targets_by_rule(Rule=planned["name"], EventBusName=bus)["Targets"]
        assert read["DeadLetterConfig"] == {"Arn": target["deadLetterConfig"]["arn"]}
        assert (
            read["RetryPolicy"]["MaximumRetryAttempts"]
            == target["retryPolicy"]["maximumRetryAttempts"]
        )
        # AND the rule's ARN is the one the shared stack's DLQ policy allows
        described = events.describe_rule(Name=planned["name"], EventBusName=bus)
        assert described["Arn"] == rule.outputs["arn"]


def test_preflight_fails_a_source_queue_without_redrive_or_long_visibility_then_passes(
    aws: boto3.Session, catalog_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the estate's stack, and its orders queue as a legacy estate left it
    monkeypatch.setenv("ETL_CATALOG_DIR", str(catalog_dir))
    catalog = load_catalog(catalog_dir)
    config = read_stack_config(PROJECTS_DIR / "etl-functions", STACK) | estate.CONFIG
    settings = settings_from_mapping(config, catalog.names)
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="orders-dev", Attributes={"VisibilityTimeout": "30"})[
        "QueueUrl"
    ]
    # WHEN preflight checks it  THEN it fails on both, with the fix
    failed = check_trigger_queues(aws, settings, STACK)
    assert not failed.passed
    assert "no redrive policy" in failed.detail and "visibility timeout of 30 s" in failed.detail
    assert "set-queue-attributes" in failed.fix
    # WHEN the queue gets a redrive policy and 6x the function's timeout  THEN it passes
    worker = next(s for s in catalog if s.trigger.type == "sqs")
    dlq = sqs.create_queue(QueueName="orders-dev-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "VisibilityTimeout": str(SQS_VISIBILITY_FACTOR * worker.timeout),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
        },
    )
    assert check_trigger_queues(aws, settings, STACK).passed
