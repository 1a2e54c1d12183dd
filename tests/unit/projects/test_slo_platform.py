"""Pipeline SLOs in the real programs (mock runtime): the watchdog as a catalog function,
the SLO alarm rows with topic actions, the dashboard's pipeline row, the recursion
setting and the tracing backend setting.

Everything is derived from the catalog and the threshold table: the watchdog is found
through :data:`etl_platform.model.slo.WATCHDOG`, other functions by their trigger.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from etl_platform.checks.offline import ProgramRun
from etl_platform.errors import SettingsError
from etl_platform.infra.components.alarms import ALARM_RULES
from etl_platform.model.catalog import load_catalog
from etl_platform.model.naming import resource_name
from etl_platform.model.settings import settings_from_mapping
from etl_platform.model.slo import (
    PIPELINE_NAMESPACE,
    WATCHDOG,
    pipeline_period_seconds,
    rate_seconds,
)

CATALOG = load_catalog()
WATCHDOG_SPEC = CATALOG.get(WATCHDOG)
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
TOPIC = "aws:sns/topic:Topic"
FUNCTION = "aws:lambda/function:Function"
RECURSION = "aws:lambda/functionRecursionConfig:FunctionRecursionConfig"
RULE = "aws:cloudwatch/eventRule:EventRule"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
OTEL_LAYER = "arn:aws:lambda:us-east-1:901920570463:layer:aws-otel-collector-arm64-ver-0-117-0:1"


@pytest.fixture(scope="module")
def observability(run_project: Any) -> ProgramRun:
    return run_project("observability", "dev")


@pytest.fixture(scope="module")
def functions(run_project: Any) -> ProgramRun:
    return run_project("etl-functions", "dev")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def pipeline_alarms(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {
        a.inputs["name"]: a.inputs
        for a in run.of_type(ALARM)
        if a.inputs.get("namespace") == PIPELINE_NAMESPACE
    }


def function_alarm(run: ProgramRun, fn: str, metric: str) -> dict[str, Any] | None:
    name = resource_name("lambda", fn, run.stack)
    for alarm in run.of_type(ALARM):
        inputs = alarm.inputs
        if inputs.get("dimensions") == {"FunctionName": name} and inputs["metricName"] == metric:
            return inputs
    return None


# ------------------------------------------------------------------------------ the watchdog


def test_the_watchdog_is_a_small_scheduled_batch_function_that_only_reads_manifests(
    functions: ProgramRun,
) -> None:
    # GIVEN the catalog entry THEN it is what the SLO design says
    spec = WATCHDOG_SPEC
    assert (spec.kind, spec.size, spec.critical, spec.database) == ("batch", "small", False, False)
    assert spec.trigger.type == "schedule" and rate_seconds(spec.trigger.expression) == 300
    # AND the program schedules it on its own expression
    rules = [r.inputs for r in functions.of_type(RULE)]
    assert {"scheduleExpression": spec.trigger.expression} in [
        {"scheduleExpression": r["scheduleExpression"]} for r in rules
    ]
    # AND its role may read manifests/ and list the bucket, and write nothing
    policy = json.loads(functions.one(ROLE_POLICY, f"{spec.name}-policy").inputs["policy"])
    actions = {a for s in policy["Statement"] for a in as_list(s["Action"])}
    assert "s3:PutObject" not in actions
    (read,) = [s for s in policy["Statement"] if s["Sid"] == "ReadObjects"]
    assert [r.split("/", 1)[1] for r in as_list(read["Resource"])] == ["manifests/*"]


def test_the_watchdog_gets_its_slas_interval_and_namespace_from_the_platform(
    run_project: Any,
) -> None:
    # GIVEN a stack that gives transformed batches 30 minutes
    run = run_project("etl-functions", "dev", config={"etl:stageSlaMinutes": '{"transformed": 30}'})
    # THEN the watchdog's environment says so, with the interval of its schedule
    env = run.one(FUNCTION, f"{WATCHDOG}-function").inputs["environment"]["variables"]
    assert env["STAGE_SLA_MINUTES"] == "received=15,transformed=30"
    assert env["SCHEDULE_RATE_SECONDS"] == str(pipeline_period_seconds(WATCHDOG_SPEC))
    assert env["METRICS_NAMESPACE"] == PIPELINE_NAMESPACE


@pytest.mark.parametrize(
    "raw",
    ['{"loaded": 5}', '{"received": 0}', '{"received": "soon"}', "[15]", "15"],
)
def test_a_bad_stage_sla_is_refused_with_the_allowed_shape(raw: str) -> None:
    with pytest.raises(SettingsError, match="etl:stageSlaMinutes") as caught:
        settings_from_mapping(
            {"aws:region": "us-east-1", "etl:environmentSuffix": "dev", "etl:stageSlaMinutes": raw}
        )
    assert '"received": 15' in str(caught.value)


# ------------------------------------------------------------------------------ alarms


def test_stuck_batches_page_after_two_watchdog_periods_per_waiting_stage(
    observability: ProgramRun,
) -> None:
    # GIVEN the dev stack's pipeline alarms and its topic
    alarms = pipeline_alarms(observability)
    (topic,) = observability.of_type(TOPIC)
    stuck = {n: a for n, a in alarms.items() if a["metricName"] == "StuckBatches"}
    # THEN there is one per waiting stage, on the watchdog's metric and period
    assert {a["dimensions"]["Stage"] for a in stuck.values()} == {"received", "transformed"}
    for alarm in stuck.values():
        assert alarm["period"] == pipeline_period_seconds(WATCHDOG_SPEC)
        assert (alarm["evaluationPeriods"], alarm["datapointsToAlarm"]) == (2, 2)
        assert alarm["statistic"] == "Maximum"
        assert (alarm["comparisonOperator"], alarm["threshold"]) == (
            "GreaterThanOrEqualToThreshold",
            1,
        )
        # AND it pages the topic, and says so when it recovers
        assert alarm["alarmActions"] == [topic.outputs["arn"]]
        assert alarm["okActions"] == [topic.outputs["arn"]]
    # AND freshness is off by default
    assert not [a for a in alarms.values() if a["metricName"] == "BatchesReceived"]


def test_freshness_pages_when_nothing_was_received_for_n_hours(run_project: Any) -> None:
    # GIVEN a stack that expects a batch at least every 6 hours
    run = run_project("observability", "dev", config={"etl:freshnessHours": "6"})
    (topic,) = run.of_type(TOPIC)
    (fresh,) = [a for a in pipeline_alarms(run).values() if a["metricName"] == "BatchesReceived"]
    # THEN six hourly periods without a received batch page, and so does silence
    assert (fresh["period"], fresh["evaluationPeriods"], fresh["datapointsToAlarm"]) == (3600, 6, 6)
    assert (fresh["comparisonOperator"], fresh["threshold"]) == ("LessThanThreshold", 1)
    assert fresh["treatMissingData"] == "breaching"
    assert fresh["alarmActions"] == [topic.outputs["arn"]] == fresh["okActions"]
    assert fresh["name"] == resource_name("alarm", "pipeline-freshness", "dev")


def test_async_event_age_p99_pages_for_every_async_invoked_function(run_project: Any) -> None:
    # GIVEN a stack with the default threshold and one with 120 s
    for config, seconds in (({}, 600), ({"etl:asyncEventAgeAlarmSeconds": "120"}, 120)):
        run = run_project("observability", "dev", config=config)
        for spec in CATALOG:
            alarm = function_alarm(run, spec.name, "AsyncEventAge")
            # THEN exactly the asynchronously invoked functions have it, on p99, in ms
            if not spec.trigger.asynchronous:
                assert alarm is None, spec.name
                continue
            assert alarm is not None, spec.name
            assert alarm["extendedStatistic"] == "p99"
            assert "statistic" not in alarm
            assert alarm["threshold"] == seconds * 1000


def test_recursion_dropped_pages_for_every_s3_triggered_function(observability: ProgramRun) -> None:
    (topic,) = observability.of_type(TOPIC)
    for spec in CATALOG:
        alarm = function_alarm(observability, spec.name, "RecursiveInvocationsDropped")
        if spec.trigger.type != "s3":
            assert alarm is None, spec.name
            continue
        assert alarm is not None, spec.name
        assert (alarm["statistic"], alarm["threshold"]) == ("Sum", 1)
        assert alarm["alarmActions"] == [topic.outputs["arn"]]


def test_every_function_stops_recursive_loops_explicitly(functions: ProgramRun) -> None:
    configs = {r.inputs["functionName"]: r.inputs for r in functions.of_type(RECURSION)}
    assert sorted(configs) == sorted(resource_name("lambda", n, "dev") for n in CATALOG.names)
    assert {c["recursiveLoop"] for c in configs.values()} == {"Terminate"}


def test_every_alarm_row_has_a_description_and_a_threshold_source() -> None:
    for rule in ALARM_RULES:
        assert rule.description
        assert (rule.threshold is None) != (rule.setting is None), rule.what


# ------------------------------------------------------------------------------ dashboard


def test_the_dashboard_has_a_pipeline_row_of_batches_lag_and_stuck(
    observability: ProgramRun,
) -> None:
    (dashboard,) = observability.of_type(DASHBOARD)
    body = json.loads(dashboard.inputs["dashboardBody"])
    pipeline = [
        w
        for w in body["widgets"]
        if w["type"] == "metric" and w["properties"]["title"].startswith("pipeline:")
    ]
    metrics = {m[1] for w in pipeline for m in w["properties"]["metrics"]}
    assert {"StuckBatches", "OldestWaitingSeconds", "WaitingBatches", "BatchesReceived"} <= metrics
    assert {"BatchesLoaded", "BatchesRejected"} <= metrics
    assert {w["properties"]["period"] for w in pipeline} == {pipeline_period_seconds(WATCHDOG_SPEC)}
    # AND the alarm status widget lists the pipeline alarms too
    listed = json.dumps([w for w in body["widgets"] if w["type"] == "alarm"])
    for name in pipeline_alarms(observability):
        assert name in listed


# ------------------------------------------------------------------------------ tracing


def test_tracing_defaults_to_the_xray_sdk_and_otel_adds_the_collector_layer(
    functions: ProgramRun, run_project: Any
) -> None:
    for spec in CATALOG:
        inputs = functions.one(FUNCTION, f"{spec.name}-function").inputs
        assert inputs["environment"]["variables"]["ETL_TRACING"] == "xray-sdk"
        # (and every function's EMF metrics go to the namespace the alarms watch)
        assert inputs["environment"]["variables"]["METRICS_NAMESPACE"] == PIPELINE_NAMESPACE
        assert len(inputs["layers"]) == 1
    run = run_project(
        "etl-functions",
        "dev",
        config={"etl:tracing": "otel", "etl:otelCollectorLayerArn": OTEL_LAYER},
    )
    for spec in CATALOG:
        inputs = run.one(FUNCTION, f"{spec.name}-function").inputs
        assert inputs["environment"]["variables"]["ETL_TRACING"] == "otel"
        assert inputs["layers"][-1] == OTEL_LAYER
        assert inputs["tracingConfig"] == {"mode": "Active"}


def test_otel_without_a_collector_layer_says_where_to_find_one() -> None:
    with pytest.raises(SettingsError, match="etl:otelCollectorLayerArn") as caught:
        settings_from_mapping(
            {"aws:region": "us-east-1", "etl:environmentSuffix": "dev", "etl:tracing": "otel"}
        )
    assert "aws-otel.github.io" in str(caught.value)
    with pytest.raises(SettingsError, match="xray-sdk, otel"):
        settings_from_mapping(
            {"aws:region": "us-east-1", "etl:environmentSuffix": "dev", "etl:tracing": "jaeger"}
        )


def test_a_silent_watchdog_pages_instead_of_silencing_the_pipeline_alarms(
    observability: ProgramRun,
) -> None:
    # GIVEN the heartbeat alarm on the watchdog's own reports
    (silent,) = [
        a
        for a in pipeline_alarms(observability).values()
        if a["name"] == resource_name("alarm", "pipeline-watchdog-silent", "dev")
    ]
    # THEN three watchdog periods without a single report page, missing data included
    assert silent["statistic"] == "SampleCount"
    assert (silent["comparisonOperator"], silent["threshold"]) == ("LessThanThreshold", 1)
    assert silent["period"] == pipeline_period_seconds(WATCHDOG_SPEC)
    assert (silent["evaluationPeriods"], silent["treatMissingData"]) == (3, "breaching")
