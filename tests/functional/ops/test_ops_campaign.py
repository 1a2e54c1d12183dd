"""The migration campaign against moto: import, migrate, deploy, cut over, roll back,
cut over again, retire; ``etl-ops audit --campaign`` shows each state in turn.

The estate (campaign_estate.py) is five nodejs14.x functions with aws-sdk v2 callback
handlers and shared over-privileged roles, one per trigger kind (S3, SQS, SNS,
DynamoDB stream, EventBridge schedule). "Deployed" means created in moto the way the
plan describes the catalog function (campaign_estate.deploy). Node.js 24 from
tools/node parses the code (migrate's codemod and the compat check run on it).

moto runs no function code without Docker, so the test invoke before a cutover is
tested with botocore's Stubber against the real Lambda API model.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.stub import Stubber
from campaign_estate import LegacyEstate, build_legacy_estate, deploy, write_stack

from etl_platform.model.naming import resource_name
from etl_platform.model.runtime_calendar import CALENDAR, days_phrase
from etl_platform.ops.campaign import campaign, render_campaign
from etl_platform.ops.cutover import (
    CutoverError,
    active_wiring,
    cutover,
    read_record,
    readiness,
    retire,
    rollback,
)
from etl_platform.ops.estate_import import EstateImportError, import_function, record_paths
from etl_platform.ops.wiring import find_wiring

TODAY = dt.date(2026, 11, 29)
STACK = "dev"


@dataclass
class Workspace:
    """A repository's folders in tmp: the tests never write into the real one."""

    examples: Path
    catalog: Path
    state: Path
    project: Path

    def import_(self, session: Any, estate: LegacyEstate, function: str, **kw: Any) -> Any:
        return import_function(
            session,
            function,
            examples_dir=self.examples,
            catalog_dir=self.catalog,
            fetch=estate.fetcher(),
            **kw,
        )

    def cutover(self, session: Any, function: str, **kw: Any) -> Any:
        return cutover(
            session,
            catalog_name(function),
            stack=STACK,
            legacy=function,
            state_dir=self.state,
            project_dir=self.project,
            catalog_dir=self.catalog,
            **kw,
        )

    def states(self, session: Any) -> dict[str, str]:
        result = campaign(
            session,
            stack=STACK,
            today=TODAY,
            examples_dir=self.examples,
            catalog_dir=self.catalog,
            project_dir=self.project,
            compat=False,
        )
        return {row.function: row.state for row in result.rows}


def catalog_name(function: str) -> str:
    return function.removeprefix("legacy-")


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / "examples", tmp_path / "lambdas", tmp_path / "state", tmp_path / "p")
    write_stack(ws.project, STACK, {})
    return ws


@pytest.fixture
def estate(aws: boto3.Session) -> LegacyEstate:
    return build_legacy_estate(aws)


def snapshot(session: Any) -> dict[str, Any]:
    """The account's trigger configuration, every field that says what invokes what."""
    s3, lam = session.client("s3"), session.client("lambda")
    sns, events = session.client("sns"), session.client("events")
    state: dict[str, Any] = {}
    for bucket in s3.list_buckets()["Buckets"]:
        config = s3.get_bucket_notification_configuration(Bucket=bucket["Name"])
        config.pop("ResponseMetadata", None)
        state[f"s3 {bucket['Name']}"] = config
    for mapping in lam.list_event_source_mappings()["EventSourceMappings"]:
        kept = {k: v for k, v in mapping.items() if k not in ("LastModified", "UUID")}
        state[f"esm {mapping['EventSourceArn']} -> {mapping['FunctionArn']}"] = kept
    for sub in sns.list_subscriptions()["Subscriptions"]:
        attributes = sns.get_subscription_attributes(SubscriptionArn=sub["SubscriptionArn"])
        filter_policy = attributes["Attributes"].get("FilterPolicy")
        state[f"sns {sub['TopicArn']} -> {sub['Endpoint']}"] = {
            "Protocol": sub["Protocol"],
            "FilterPolicy": filter_policy,
        }
    for rule in events.list_rules()["Rules"]:
        state[f"rule {rule['Name']}"] = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    for function in lam.list_functions()["Functions"]:
        try:
            policy = json.loads(lam.get_policy(FunctionName=function["FunctionName"])["Policy"])
        except ClientError:
            policy = {"Statement": []}
        state[f"policy {function['FunctionName']}"] = sorted(
            json.dumps(s, sort_keys=True) for s in policy["Statement"]
        )
    return state


def assert_same(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Field by field, naming the first difference."""
    assert sorted(after) == sorted(before), "trigger configuration keys differ"
    for key in before:
        assert after[key] == before[key], key


def test_the_campaign_from_import_to_retired(
    aws: boto3.Session, estate: LegacyEstate, workspace: Workspace
) -> None:
    # GIVEN the legacy estate, nothing done yet
    functions = sorted(estate.functions)
    assert workspace.states(aws) == dict.fromkeys(functions, "not started")

    # WHEN each function is imported (code and account record only)
    for function in functions:
        workspace.import_(aws, estate, function, run_migrate=False)
    # THEN each is "imported", with its code unchanged and its secrets redacted
    assert workspace.states(aws) == dict.fromkeys(functions, "imported")
    for function in functions:
        folder = workspace.examples / "legacy-node14" / catalog_name(function)
        assert (folder / "index.js").read_bytes() == zipped_index(estate, function)
        account, _ = record_paths(folder)
        assert "s3cr3t" not in account.read_text()

    # WHEN imported again, now migrating: the same account gives the same records
    first = {
        f: record_paths(workspace.examples / "legacy-node14" / catalog_name(f)) for f in functions
    }
    texts = {f: (a.read_text(), p.read_text()) for f, (a, p) in first.items()}
    for function in functions:
        workspace.import_(aws, estate, function)
    assert {f: (a.read_text(), p.read_text()) for f, (a, p) in first.items()} == texts
    # THEN each is "migrated", its handler the deployed one
    assert workspace.states(aws) == dict.fromkeys(functions, "migrated")

    # WHEN the catalog functions are deployed, with the resources the proposals name
    resources: dict[str, str] = {}
    for function in functions:
        resources |= json.loads(first[function][0].read_text())["resources"]
    write_stack(workspace.project, STACK, resources)
    for function in functions:
        deploy(aws, workspace.catalog, catalog_name(function), STACK)
    # THEN each is "deployed" and nothing blocks it for a missing resource
    result = campaign(
        aws,
        stack=STACK,
        today=TODAY,
        examples_dir=workspace.examples,
        catalog_dir=workspace.catalog,
        project_dir=workspace.project,
    )
    assert {r.function: r.state for r in result.rows} == dict.fromkeys(functions, "deployed")
    assert not [b for r in result.rows for b in r.blockers if "etl:resources" in b]
    # AND what blocks each is the callback handler migrate left to do by hand
    for row in result.rows:
        assert any("callback" in b for b in row.blockers), row.function
    # AND each row has its owner tag, and the summary names the runtime's next AWS date
    assert {r.function: r.owner for r in result.rows} == estate.owners
    upcoming = CALENDAR.get("nodejs14.x").next_milestone(TODAY)  # type: ignore[union-attr]
    assert upcoming is not None
    assert result.summary_line() == (
        f"0 of {len(functions)} cut over; {len(functions)} left; the next deadline is "
        f"{upcoming.date.isoformat()}, {days_phrase(upcoming.days_left)}"
    )

    before = snapshot(aws)
    # WHEN a dry run is asked for: it names every trigger and changes nothing
    for function in functions:
        dry = workspace.cutover(aws, function, dry_run=True)
        legacy_arn = arn_of(aws, function)
        assert len(dry.lines) == 1 + len(find_wiring(aws, legacy_arn))
    assert_same(before, snapshot(aws))

    # WHEN every function is cut over
    for function in functions:
        workspace.cutover(aws, function)
    # THEN the legacy functions have no active triggers; the new ones have them all
    for function in functions:
        assert active_wiring(aws, arn_of(aws, function)) == []
        new = arn_of(aws, resource_name("lambda", catalog_name(function), STACK))
        assert {w.kind for w in active_wiring(aws, new)} == {estate.functions[function]}
    assert workspace.states(aws) == dict.fromkeys(functions, "cut over")
    # AND the other team's entry on the shared bucket was not touched
    uploads = aws.client("s3").get_bucket_notification_configuration(Bucket="legacy-uploads")
    assert uploads["QueueConfigurations"] == before["s3 legacy-uploads"]["QueueConfigurations"]

    # WHEN every cutover is rolled back
    for function in functions:
        rollback(aws, catalog_name(function), stack=STACK, state_dir=workspace.state)
    # THEN the trigger configuration is what it was, field by field
    assert_same(before, snapshot(aws))
    assert workspace.states(aws) == dict.fromkeys(functions, "deployed")
    for function in functions:
        record = read_record(workspace.state, STACK, catalog_name(function))
        assert record is not None and record["status"] == "rolled-back"

    # WHEN cut over again
    for function in functions:
        workspace.cutover(aws, function)
    assert workspace.states(aws) == dict.fromkeys(functions, "cut over")

    # WHEN one legacy function was still invoked during the soak period
    noisy = functions[0]
    aws.client("cloudwatch").put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [{"Name": "FunctionName", "Value": noisy}],
                "Value": 3,
                "Timestamp": dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
            }
        ],
    )
    # THEN retire refuses it, naming the invocations
    with pytest.raises(CutoverError, match="invoked 3 time"):
        retire(aws, noisy, soak_days=14)
    # AND after the soak period every legacy function is retired
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=15)
    for function in functions:
        retire(aws, function, soak_days=14, now=lambda: later)
    result = campaign(
        aws,
        stack=STACK,
        today=TODAY,
        examples_dir=workspace.examples,
        catalog_dir=workspace.catalog,
        project_dir=workspace.project,
        compat=False,
    )
    assert {r.function: r.state for r in result.rows} == dict.fromkeys(functions, "retired")
    n = len(functions)
    assert result.summary_line() == f"{n} of {n} cut over; 0 left"
    assert "retired" in render_campaign(result)


def zipped_index(estate: LegacyEstate, function: str) -> bytes:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(estate.packages[function])) as archive:
        return archive.read("index.js")


def arn_of(session: Any, function: str) -> str:
    config = session.client("lambda").get_function(FunctionName=function)["Configuration"]
    return str(config["FunctionArn"])


@pytest.fixture
def deployed(aws: boto3.Session, estate: LegacyEstate, workspace: Workspace) -> Iterator[str]:
    """legacy-orders-ingest imported, migrated and deployed; its name."""
    function = "legacy-orders-ingest"
    imported = workspace.import_(aws, estate, function)
    write_stack(workspace.project, STACK, imported.resources)
    deploy(aws, workspace.catalog, catalog_name(function), STACK)
    yield function


def test_cutover_refuses_while_an_alarm_fires(
    aws: boto3.Session, deployed: str, workspace: Workspace
) -> None:
    # GIVEN the new function's error alarm in ALARM
    alarm = resource_name("alarm", f"{catalog_name(deployed)}-errors", STACK)
    aws.client("cloudwatch").set_alarm_state(
        AlarmName=alarm, StateValue="ALARM", StateReason="test"
    )
    before = snapshot(aws)
    # WHEN cutover is asked for
    with pytest.raises(CutoverError, match=f"alarm {alarm} is in ALARM"):
        workspace.cutover(aws, deployed)
    # THEN nothing changed and no record says otherwise
    assert_same(before, snapshot(aws))
    assert read_record(workspace.state, STACK, catalog_name(deployed)) is None


def test_a_failure_half_way_undoes_what_was_done(
    aws: boto3.Session, estate: LegacyEstate, deployed: str, workspace: Workspace
) -> None:
    # GIVEN the legacy function triggered by S3 and by an SNS subscription
    aws.client("sns").subscribe(
        TopicArn=estate.resources["topic"], Protocol="lambda", Endpoint=arn_of(aws, deployed)
    )
    before = snapshot(aws)

    # AND SNS failing on the new subscription (after the S3 entry has moved)
    def fail(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "Subscribe")

    aws.events.register("before-call.sns.Subscribe", fail)
    # WHEN cut over
    with pytest.raises(CutoverError, match="undid the 1 change"):
        workspace.cutover(aws, deployed)
    aws.events.unregister("before-call.sns.Subscribe", fail)
    # THEN the account is as it was and the record says it failed
    assert_same(before, snapshot(aws))
    record = read_record(workspace.state, STACK, catalog_name(deployed))
    assert record is not None and record["status"] == "failed" and record["changes"] == []


def test_retire_refuses_while_triggers_remain(aws: boto3.Session, deployed: str) -> None:
    # GIVEN a legacy function not cut over
    # WHEN retire is asked for THEN it refuses, naming the trigger, and deletes nothing
    with pytest.raises(CutoverError, match="still triggered by: S3 notification orders-in"):
        retire(aws, deployed)
    assert arn_of(aws, deployed)


def test_import_refuses_what_it_cannot_take(aws: boto3.Session, workspace: Workspace) -> None:
    # GIVEN a Java function
    role = aws.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]
    aws.client("lambda").create_function(
        FunctionName="legacy-java",
        Runtime="java21",
        Role=role["Arn"],
        Handler="a.B::handle",
        Code={"ZipFile": b"PK\x05\x06" + bytes(18)},
    )
    # WHEN imported THEN refused with the reason, nothing written
    with pytest.raises(EstateImportError, match=r"Node\.js and Python functions only"):
        import_function(aws, "legacy-java", examples_dir=workspace.examples)
    assert not workspace.examples.exists()


def test_import_reports_denied_calls_and_unused_grants(
    aws: boto3.Session, estate: LegacyEstate, workspace: Workspace
) -> None:
    # GIVEN the worker: it publishes to SNS, which its shared role never allowed
    # WHEN imported
    imported = workspace.import_(aws, estate, "legacy-orders-worker", run_migrate=False)
    # THEN sns:Publish is reported as denied and not proposed
    assert "sns:Publish" in imported.derived.denied
    assert "sns_publish" not in imported.entry["needs"]
    # AND the role's grants the code never calls are listed
    assert any(g.startswith("kinesis:*") for g in imported.derived.unused_grants)
    # AND the SQS trigger is proposed in the catalog's terms
    assert imported.entry["trigger"]["type"] == "sqs"
    assert imported.entry["trigger"]["batch_size"] == 5
    assert imported.resources[imported.entry["trigger"]["queue"]] == estate.resources["queue"]


def test_readiness_runs_the_declared_test_invoke(tmp_path: Path) -> None:
    """moto cannot run function code without Docker: Stubber answers as Lambda would."""
    # GIVEN a function folder declaring a test event, and a Lambda that answers with an error
    (tmp_path / "test-event.json").write_text('{"ping": true}')
    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    lam = session.client("lambda")
    cloudwatch = session.client("cloudwatch")
    name, target = "orders", "lambda-orders-dev"
    with Stubber(lam) as lam_stub, Stubber(cloudwatch) as cw_stub:
        lam_stub.add_response(
            "get_function",
            {"Configuration": {"FunctionName": target, "State": "Active"}},
            {"FunctionName": target},
        )
        cw_stub.add_response(
            "describe_alarms",
            {"MetricAlarms": [{"AlarmName": f"alarm-{name}-errors-dev", "StateValue": "OK"}]},
            {"AlarmNamePrefix": f"alarm-{name}-"},
        )
        body = b'{"errorMessage": "boom"}'
        lam_stub.add_response(
            "invoke",
            {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": StreamingBody(io.BytesIO(body), len(body)),
            },
            {
                "FunctionName": target,
                "Qualifier": "live",
                "Payload": b'{"ping": true}',
                "InvocationType": "RequestResponse",
            },
        )

        class Stubbed:
            def client(self, service: str) -> Any:
                return {"lambda": lam, "cloudwatch": cloudwatch}[service]

        # WHEN readiness is checked
        problems = readiness(Stubbed(), name, target, tmp_path)
    # THEN the failed test invoke is the one problem, with Lambda's answer
    assert len(problems) == 1
    assert "test invoke" in problems[0] and "boom" in problems[0]
