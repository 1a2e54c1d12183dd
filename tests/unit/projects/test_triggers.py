"""The newer trigger types under Pulumi's mocks: each plans its wiring, failure handling and alarm.

One temporary catalog (``trigger_estate.py``) has a function per trigger type (the
DynamoDB-stream one in Node.js); its stack declares the estate's queue, stream, topic,
bus and REST API in ``etl:resources``. The three real programs run once each for the
module, and every expectation is derived from the catalog entry and the stack config.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from trigger_estate import CONFIG, RESOURCES, write_estate

from etl_platform.checks.iam_lint import open_findings
from etl_platform.checks.offline import ProgramRun
from etl_platform.checks.rules import Context, evaluate
from etl_platform.errors import CatalogError
from etl_platform.infra.components.alarms import ALARM_RULES, rules_for, trigger_rules_for
from etl_platform.infra.components.functions import (
    BATCH_RESPONSE_TYPES,
    HTTP_API_AUTHORIZATION,
    HTTP_API_PAYLOAD_VERSION,
)
from etl_platform.model.catalog import TRIGGER_TYPES, Catalog, FunctionSpec, load_catalog
from etl_platform.model.contract import ObservabilityExports
from etl_platform.model.naming import access_log_group_name, resource_name
from etl_platform.model.needs import need
from etl_platform.model.settings import Settings, settings_from_mapping
from etl_platform.model.stack_config import read_stack_config
from etl_platform.paths import PROJECTS_DIR

STACK = "dev"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
PERMISSION = "aws:lambda/permission:Permission"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RunProject = Callable[..., ProgramRun]


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_estate(tmp_path_factory.mktemp("estate") / "lambdas")


@pytest.fixture(scope="module")
def catalog(estate: Path) -> Catalog:
    return load_catalog(estate)


@pytest.fixture(scope="module")
def runs(run_project: RunProject, estate: Path) -> dict[str, ProgramRun]:
    """The three programs of the dev stack with the estate's catalog and resources."""
    return {
        project: run_project(project, STACK, config=CONFIG, catalog_dir=estate)
        for project in ("shared", "observability", "etl-functions")
    }


@pytest.fixture(scope="module")
def settings(catalog: Catalog) -> Settings:
    """The dev stack's settings with the estate's resources."""
    config = read_stack_config(PROJECTS_DIR / "etl-functions", STACK) | CONFIG
    return settings_from_mapping(config, catalog.names)


@pytest.fixture(scope="module")
def functions(runs: dict[str, ProgramRun]) -> ProgramRun:
    return runs["etl-functions"]


def of_trigger(catalog: Catalog, *types: str) -> Iterator[FunctionSpec]:
    found = [spec for spec in catalog if spec.trigger.type in types]
    assert found, f"the estate has no {types} function"
    yield from found


def dlq_arn(spec: FunctionSpec) -> str:
    return f"arn:aws:sqs:us-east-1:123456789012:{resource_name('dlq', spec.name, STACK)}"


def function_arn(run: ProgramRun, spec: FunctionSpec) -> str:
    """What every trigger invokes: the function's alias (``EtlFunction.target_arn``)."""
    arn: str = run.one("aws:lambda/alias:Alias", f"{spec.name}-alias").outputs["arn"]
    return arn


def statements(document: str) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in json.loads(document)["Statement"]}


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def test_the_estate_covers_every_newer_trigger_type_and_node(catalog: Catalog) -> None:
    # GIVEN the estate  THEN every trigger type with a source or an HTTP API is exercised,
    # and at least one of them by a Node.js function
    newer = {t for t, row in TRIGGER_TYPES.items() if row.source_key or t == "http-api"}
    assert {spec.trigger.type for spec in catalog} == newer
    assert catalog.node_functions


def test_polled_triggers_get_a_mapping_with_partial_batch_responses(
    catalog: Catalog, functions: ProgramRun
) -> None:
    for spec in of_trigger(catalog, "sqs", "dynamodb-stream", "kinesis"):
        trigger = spec.trigger
        # WHEN the functions stack plans  THEN one mapping reads the declared source
        mapping = functions.one(MAPPING, f"{spec.name}-{trigger.type}").inputs
        assert mapping["eventSourceArn"] == RESOURCES[trigger.source], spec.name
        assert mapping["functionName"] == function_arn(functions, spec)
        assert mapping["batchSize"] == trigger.option("batch_size")
        # AND only the records that failed are retried
        assert mapping["functionResponseTypes"] == list(BATCH_RESPONSE_TYPES)
        if trigger.type == "sqs":
            assert mapping["maximumBatchingWindowInSeconds"] == trigger.option(
                "batching_window_seconds"
            )
            assert mapping["scalingConfig"] == {
                "maximumConcurrency": trigger.option("maximum_concurrency")
            }
        else:
            # AND a stream's poison record never blocks its shard: bisect, bounded
            # retries and age, then the function's own DLQ
            assert mapping["startingPosition"] == trigger.option("starting_position")
            assert mapping["bisectBatchOnFunctionError"] is trigger.option("bisect_on_error")
            assert mapping["maximumRetryAttempts"] == trigger.option("maximum_retry_attempts")
            assert mapping["maximumRecordAgeInSeconds"] == trigger.option(
                "maximum_record_age_seconds"
            )
            assert mapping["destinationConfig"]["onFailure"]["destinationArn"] == dlq_arn(spec)


def test_polled_triggers_read_their_source_only_in_role_and_boundary(
    catalog: Catalog, runs: dict[str, ProgramRun]
) -> None:
    boundary = statements(
        runs["shared"].one("aws:iam/policy:Policy", "boundary-policy").inputs["policy"]
    )
    for spec in of_trigger(catalog, "sqs", "dynamodb-stream", "kinesis"):
        mapping = TRIGGER_TYPES[spec.trigger.type].mapping
        assert mapping is not None
        implied = need(mapping.need)
        source = RESOURCES[spec.trigger.source]
        # THEN the role may use exactly the actions of the need the mapping implies, on
        # that one ARN
        policy = runs["etl-functions"].one(ROLE_POLICY, f"{spec.name}-policy").inputs["policy"]
        granted = statements(policy)[implied.sid]
        assert sorted(as_list(granted["Action"])) == sorted(implied.actions)
        assert as_list(granted["Resource"]) == [source]
        # AND the boundary allows the same, on the sources of that kind only
        fence = boundary[implied.sid]
        assert sorted(as_list(fence["Action"])) == sorted(implied.actions)
        assert source in as_list(fence["Resource"])
    # AND functions without a polled trigger get no such statement
    polled = {need(row.mapping.need).sid for row in TRIGGER_TYPES.values() if row.mapping}
    for spec in catalog:
        if spec.trigger.mapping is None:
            policy = runs["etl-functions"].one(ROLE_POLICY, f"{spec.name}-policy").inputs["policy"]
            assert not polled & set(statements(policy)), spec.name


def test_sns_subscribes_the_function_and_lets_only_that_topic_invoke_it(
    catalog: Catalog, functions: ProgramRun
) -> None:
    for spec in of_trigger(catalog, "sns"):
        topic = RESOURCES[spec.trigger.source]
        subscription = functions.one(
            "aws:sns/topicSubscription:TopicSubscription", f"{spec.name}-sns"
        ).inputs
        assert (subscription["topic"], subscription["protocol"]) == (topic, "lambda")
        assert subscription["endpoint"] == function_arn(functions, spec)
        assert json.loads(subscription["filterPolicy"]) == json.loads(
            spec.trigger.option("filter_policy")
        )
        permission = functions.one(PERMISSION, f"{spec.name}-sns-permission").inputs
        assert (permission["principal"], permission["sourceArn"]) == ("sns.amazonaws.com", topic)
        # AND delivery is asynchronous: the function's retries and DLQ apply
        assert spec.trigger.asynchronous
        assert functions.one(
            "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", f"{spec.name}-async"
        )


def test_eventbridge_rule_target_retries_then_dead_letters_allowed_by_the_dlq_policy(
    catalog: Catalog, runs: dict[str, ProgramRun], settings: Settings
) -> None:
    functions = runs["etl-functions"]
    for spec in of_trigger(catalog, "eventbridge"):
        rule = functions.one("aws:cloudwatch/eventRule:EventRule", f"{spec.name}-rule")
        bus = settings.resource(spec.trigger.source).resource_id
        assert rule.inputs["eventBusName"] == bus
        assert json.loads(rule.inputs["eventPattern"]) == json.loads(spec.trigger.option("pattern"))
        target = functions.one(
            "aws:cloudwatch/eventTarget:EventTarget", f"{spec.name}-rule-target"
        ).inputs
        assert target["arn"] == function_arn(functions, spec)
        # THEN the target has its own retry policy and dead-letter queue (the function's)
        assert target["retryPolicy"] == {
            "maximumRetryAttempts": settings.max_retry_attempts,
            "maximumEventAgeInSeconds": settings.max_event_age_seconds,
        }
        assert target["deadLetterConfig"] == {"arn": dlq_arn(spec)}
        permission = functions.one(PERMISSION, f"{spec.name}-rule-permission").inputs
        assert permission["sourceArn"] == rule.outputs["arn"]
        # AND the shared stack's queue policy lets exactly that rule send to the DLQ: the
        # ARN it derived before the rule existed is the one the rule gets
        queue_policy = runs["shared"].one(
            "aws:sqs/queuePolicy:QueuePolicy", f"dlq-{spec.name}-tls-only"
        )
        allowed = statements(queue_policy.inputs["policy"])["EventBridgeRuleDeadLetters"]
        assert allowed["Principal"] == {"Service": "events.amazonaws.com"}
        assert allowed["Condition"] == {"ArnEquals": {"aws:SourceArn": rule.outputs["arn"]}}


def test_http_api_routes_auth_throttling_access_logs_permissions_and_alarms(
    catalog: Catalog, runs: dict[str, ProgramRun], settings: Settings
) -> None:
    functions, observability = runs["etl-functions"], runs["observability"]
    for spec in of_trigger(catalog, "http-api"):
        trigger = spec.trigger
        api = functions.one("aws:apigatewayv2/api:Api", f"{spec.name}-api")
        assert api.inputs["protocolType"] == "HTTP"
        integration = functions.one(
            "aws:apigatewayv2/integration:Integration", f"{spec.name}-integration"
        ).inputs
        assert integration["integrationUri"] == function_arn(functions, spec)
        assert integration["payloadFormatVersion"] == HTTP_API_PAYLOAD_VERSION
        # THEN one route per catalog route, each with the catalog's authorization
        routes = [
            r.inputs
            for r in functions.of_type("aws:apigatewayv2/route:Route")
            if r.name.startswith(f"{spec.name}-route-")
        ]
        assert sorted(r["routeKey"] for r in routes) == sorted(trigger.option("routes"))
        wanted = HTTP_API_AUTHORIZATION[trigger.option("auth")]
        assert {r["authorizationType"] for r in routes} == {wanted}
        if trigger.option("auth") == "jwt":
            authorizer = functions.one(
                "aws:apigatewayv2/authorizer:Authorizer", f"{spec.name}-authorizer"
            ).inputs
            assert authorizer["jwtConfiguration"] == {
                "issuer": trigger.option("issuer"),
                "audiences": [trigger.option("audience")],
            }
        # AND a permission per route, limited to this API's route
        permissions = [
            p.inputs
            for p in functions.of_type(PERMISSION)
            if p.name.startswith(f"{spec.name}-route-")
        ]
        assert len(permissions) == len(trigger.option("routes"))
        execution_arn = api.outputs["executionArn"]
        assert all(p["sourceArn"].startswith(f"{execution_arn}/*/") for p in permissions)
        assert f"{execution_arn}/*/POST/orders" in {p["sourceArn"] for p in permissions}
        # AND the stage is throttled and logs into the group observability pre-created,
        # with the stack's retention
        stage = functions.one("aws:apigatewayv2/stage:Stage", f"{spec.name}-stage").inputs
        assert stage["defaultRouteSettings"]["throttlingRateLimit"] == trigger.option(
            "throttle_rate"
        )
        assert stage["defaultRouteSettings"]["throttlingBurstLimit"] == trigger.option(
            "throttle_burst"
        )
        group = observability.one("aws:cloudwatch/logGroup:LogGroup", f"logs-{spec.name}-access")
        assert group.inputs["name"] == access_log_group_name(resource_name("api", spec.name, STACK))
        assert group.inputs["retentionInDays"] == settings.log_retention_days
        exported = observability.exports[ObservabilityExports.ACCESS_LOG_GROUP_ARNS]
        assert exported == {spec.name: group.outputs["arn"]}
        assert stage["accessLogSettings"]["destinationArn"].endswith(group.inputs["name"])
        # AND its alarms (5xx, p99 latency) watch this API's id
        alarms = {
            r.inputs["metricName"]: r.inputs
            for r in functions.of_type(ALARM)
            if r.name.startswith(f"{spec.name}-api-")
        }
        assert set(alarms) == {rule.metric_name for rule in trigger_rules_for(spec)}
        api_id = api.outputs["executionArn"].rsplit(":", 1)[1]
        assert {a["dimensions"]["ApiId"] for a in alarms.values()} == {api_id}
        assert {a["namespace"] for a in alarms.values()} == {"AWS/ApiGateway"}


def test_invoke_is_only_a_permission_for_the_declared_source(
    catalog: Catalog, functions: ProgramRun
) -> None:
    for spec in of_trigger(catalog, "invoke"):
        permission = functions.one(PERMISSION, f"{spec.name}-invoke-permission").inputs
        assert permission["principal"] == spec.trigger.option("principal")
        # an API named by its id stands for all its stages, methods and paths
        assert permission["sourceArn"] == RESOURCES[spec.trigger.source] + "/*"
        owned = [r for r in functions.custom_resources if r.name.startswith(f"{spec.name}-")]
        # AND nothing else of a trigger: no mapping, subscription, rule or API of its own
        trigger_types = ("eventSourceMapping", "topicSubscription", "eventRule", "apigatewayv2")
        assert not [r.type for r in owned if any(t in r.type for t in trigger_types)]
        assert len([r for r in owned if r.type == PERMISSION]) == 1


def test_stalled_triggers_page_from_observability(
    catalog: Catalog, runs: dict[str, ProgramRun], settings: Settings
) -> None:
    observability = runs["observability"]
    trigger_rows = [r for r in ALARM_RULES if r.applies in ("sqs", "stream")]
    assert trigger_rows
    for spec in catalog:
        for rule in trigger_rows:
            name = f"alarms-{spec.name}-{rule.what}"
            found = [a for a in observability.of_type(ALARM) if a.name == name]
            # THEN exactly the functions the row applies to get it
            assert bool(found) == (rule in rules_for(spec)), name
            if not found:
                continue
            dimensions = found[0].inputs["dimensions"]
            if rule.target == "source-queue":  # the queue it reads, by its name
                assert dimensions == {
                    "QueueName": settings.resource(spec.trigger.source).resource_id
                }
            else:
                assert dimensions == {"FunctionName": resource_name("lambda", spec.name, STACK)}


def test_every_guardrail_and_parliament_pass_on_the_estate(
    catalog: Catalog, runs: dict[str, ProgramRun]
) -> None:
    # GIVEN the three stacks' plans together
    resources = [r for run in runs.values() for r in run.resources]
    context = Context(environment="dev", suffix=STACK, catalog=catalog, whole_platform=True)
    # THEN no guardrail fires (the mapping and stage rules among them) and parliament
    # finds nothing on any role, boundary or queue policy
    assert evaluate(resources, context) == []
    assert open_findings(resources) == []


def test_a_source_the_stack_does_not_declare_fails_the_plan(
    run_project: RunProject, estate: Path, catalog: Catalog
) -> None:
    # GIVEN the stack declares every resource but the queue
    declared = {k: v for k, v in RESOURCES.items() if k != "orders"}
    # WHEN the functions stack plans  THEN it fails naming the function, the name, the stack
    with pytest.raises(CatalogError) as caught:
        run_project(
            "etl-functions",
            STACK,
            config={"etl:resources": json.dumps(declared)},
            catalog_dir=estate,
        )
    message = str(caught.value)
    worker = next(of_trigger(catalog, "sqs"))
    assert "trigger.queue" in message and str(worker.source) in message
    assert f"'{worker.name}'" in message and "'orders'" in message and f"stack '{STACK}'" in message


def test_the_dashboard_shows_each_polled_triggers_backlog(
    catalog: Catalog, runs: dict[str, ProgramRun], settings: Settings
) -> None:
    # GIVEN the observability plan's dashboard
    [dashboard] = runs["observability"].of_type("aws:cloudwatch/dashboard:Dashboard")
    widgets = json.loads(dashboard.inputs["dashboardBody"])["widgets"]
    plotted = [m for w in widgets if w["type"] == "metric" for m in w["properties"]["metrics"]]
    for spec in catalog:
        mapping = spec.trigger.mapping
        if mapping is None:
            continue
        # THEN a stream function's iterator age, or an SQS function's source queue, is drawn
        if mapping.stream:
            wanted = ["AWS/Lambda", "IteratorAge", "FunctionName"]
            subject = resource_name("lambda", spec.name, STACK)
        else:
            wanted = ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName"]
            subject = settings.resource(spec.trigger.source).resource_id
        assert [*wanted, subject] in plotted, spec.name
    assert all(w["x"] + w["width"] <= 24 for w in widgets)
