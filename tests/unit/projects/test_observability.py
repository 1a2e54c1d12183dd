"""projects/observability under Pulumi's mock runtime: log groups, alarm topic, alarms, dashboard.

Every test runs the real program (``projects/observability/__main__.py`` with its
``Pulumi.<stack>.yaml``), with the shared stack's exports supplied through the
StackReference mock. Runs are reused per module where the config is the same.
"""

from __future__ import annotations

import fnmatch
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from parliament import analyze_policy_string

from etl_platform.checks.iam_lint import lint_resources
from etl_platform.checks.offline import ACCOUNT_ID, PlannedResource, ProgramRun
from etl_platform.errors import ContractError, SettingsError
from etl_platform.infra.components.alarms import PERIOD_SECONDS, pipeline_rules, rules_for
from etl_platform.model.catalog import TIMEOUT_SECONDS, load_catalog
from etl_platform.model.contract import (
    SHARED,
    ObservabilityExports,
    SharedExports,
    stack_reference_name,
)
from etl_platform.model.naming import resource_name
from etl_platform.model.settings import DEFAULT_STACK_ORG
from etl_platform.model.tags import REQUIRED_TAG_KEYS, is_taggable
from etl_platform.paths import LAMBDAS_DIR

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
# Every AWS type the program creates, sorted by whether AWS lets it carry tags: a new
# type must be added to one of the two (and so gets a decision about its tags).

FUNCTION_METRICS = {"Errors", "Throttles", "Duration", "DeadLetterErrors", "AsyncEventsDropped"}
DLQ_METRICS = {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"}
CATALOG = load_catalog()
LAST = CATALOG.names[-1]  # the function a stale upstream stack lacks


def expected_function_metrics(spec: Any) -> set[str]:
    """The five every function gets, plus the rows that apply to its trigger (the table)."""
    return {r.metric_name for r in rules_for(spec) if r.target == "function"}


# --------------------------------------------------------------------------------------------
# Shared runs and helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dev(run_project: Any) -> ProgramRun:
    return run_project("observability", "dev")


@pytest.fixture(scope="module")
def prod(run_project: Any) -> ProgramRun:
    return run_project("observability", "prod")


@pytest.fixture(scope="module", params=["dev", "prod"])
def run(request: pytest.FixtureRequest) -> ProgramRun:
    """Each of the two real stacks in turn."""
    return request.getfixturevalue(request.param)


def alarms_on(run: ProgramRun, dimension: str, value: str) -> dict[str, PlannedResource]:
    """The alarms whose single dimension ``dimension`` is ``value``, by metric name."""
    found = [r for r in run.of_type(ALARM) if r.inputs.get("dimensions") == {dimension: value}]
    by_metric = {r.inputs["metricName"]: r for r in found}
    assert len(by_metric) == len(found), f"two alarms on one metric of {value}"
    return by_metric


def function_alarms(run: ProgramRun, fn: str) -> dict[str, PlannedResource]:
    return alarms_on(run, "FunctionName", resource_name("lambda", fn, run.stack))


def dlq_alarms(run: ProgramRun, fn: str) -> dict[str, PlannedResource]:
    return alarms_on(run, "QueueName", resource_name("dlq", fn, run.stack))


def settings_of(run: ProgramRun) -> Any:
    """Default settings for the run's stack (the stack files leave the optional rows off)."""
    from etl_platform.model.settings import settings_from_mapping

    return settings_from_mapping({"aws:region": "us-east-1", "etl:environmentSuffix": "x"})


def policy(run: ProgramRun, type_token: str) -> dict[str, Any]:
    (resource,) = run.of_type(type_token)
    parsed: dict[str, Any] = json.loads(resource.inputs["policy"])
    return parsed


def statements(document: dict[str, Any], effect: str) -> list[dict[str, Any]]:
    return [s for s in document["Statement"] if s["Effect"] == effect]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def shared_only(dlq_names: Any, stack: str = "dev") -> dict[str, dict[str, Any]]:
    """StackReference outputs where the shared stack exported ``dlqNames`` = ``dlq_names``."""
    exports = {} if dlq_names is None else {SharedExports.DLQ_NAMES: dlq_names}
    return {stack_reference_name(DEFAULT_STACK_ORG, SHARED, stack): exports}


# --------------------------------------------------------------------------------------------
# Log groups
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "days"), [("dev", 7), ("prod", 30)])
def test_every_function_gets_its_lambda_log_group_with_the_environments_retention(
    request: pytest.FixtureRequest, stack: str, days: int
) -> None:
    # GIVEN the real dev or prod stack
    run: ProgramRun = request.getfixturevalue(stack)
    # WHEN we look at the log groups it creates
    groups = {r.inputs["name"]: r for r in run.of_type(LOG_GROUP)}
    # THEN each catalog function has the group Lambda would write to, with the retention
    expected = {f"/aws/lambda/{resource_name('lambda', fn, stack)}" for fn in CATALOG.names}
    assert set(groups) == expected
    assert {g.inputs["retentionInDays"] for g in groups.values()} == {days}
    # AND none of them survives a destroy
    assert not any(g.inputs.get("skipDestroy") for g in groups.values())
    assert not any(g.inputs.get("deletionProtectionEnabled") for g in groups.values())


def test_log_retention_is_platform_policy_not_stack_config(run_project: Any) -> None:
    # GIVEN a prod stack whose config tries to keep logs for 90 days
    # WHEN the program runs THEN it refuses: retention is 7 (dev) / 30 (prod) for every stack
    with pytest.raises(SettingsError, match="etl:logRetentionDays"):
        run_project("observability", "prod", config={"etl:logRetentionDays": "90"})


def test_exports_are_the_contract_the_functions_stack_reads(dev: ProgramRun) -> None:
    # GIVEN the dev stack's exports
    exports = dev.exports
    # THEN the log groups are exported by function, names and ARNs matching the resources
    groups = {r.inputs["name"]: r.outputs["arn"] for r in dev.of_type(LOG_GROUP)}
    names = exports[ObservabilityExports.LOG_GROUP_NAMES]
    arns = exports[ObservabilityExports.LOG_GROUP_ARNS]
    assert set(names) == set(arns) == set(CATALOG.names)
    for fn in CATALOG.names:
        assert names[fn] == f"/aws/lambda/lambda-{fn}-dev"
        assert arns[fn] == groups[names[fn]]
    # AND the topic ARN and dashboard name are those of the resources
    (topic,) = dev.of_type(TOPIC)
    assert exports[ObservabilityExports.ALARM_TOPIC_ARN] == topic.outputs["arn"]
    assert exports[ObservabilityExports.DASHBOARD_NAME] == "etl-dev"


# --------------------------------------------------------------------------------------------
# Alarms
# --------------------------------------------------------------------------------------------


def test_every_function_has_its_five_alarms_and_its_dlq_two(run: ProgramRun) -> None:
    # GIVEN a real stack
    # WHEN we group its alarms by the function or queue they watch
    for spec in CATALOG:
        fn = spec.name
        on_function = function_alarms(run, fn)
        on_dlq = dlq_alarms(run, fn)
        # THEN the function's own metrics have the five alarms, in AWS/Lambda (plus the
        # async-age and recursion rows where its trigger makes them apply)
        assert set(on_function) >= FUNCTION_METRICS, fn
        assert set(on_function) == expected_function_metrics(spec), fn
        # AND a function behind a URL also pages on its URL's 5xx answers (which Lambda's
        # Errors never counts); no other function has that alarm
        assert ("Url5xxCount" in on_function) == (spec.trigger.type == "url"), fn
        assert {a.inputs["namespace"] for a in on_function.values()} == {"AWS/Lambda"}
        # AND its dead-letter queue (the name the shared stack exported) has its two
        assert set(on_dlq) == DLQ_METRICS, fn
        assert {a.inputs["namespace"] for a in on_dlq.values()} == {"AWS/SQS"}
    # AND there is no other alarm than the pipeline's
    per_function = sum(len(rules_for(spec)) for spec in CATALOG)
    assert len(run.of_type(ALARM)) == per_function + len(pipeline_rules(settings_of(run)))


def test_every_alarm_pages_the_topic_on_alarm_and_on_ok(run: ProgramRun) -> None:
    # GIVEN a real stack and its alarm topic
    (topic,) = run.of_type(TOPIC)
    for alarm in run.of_type(ALARM):
        # THEN each alarm notifies the topic when it fires and when it recovers
        assert alarm.inputs["alarmActions"] == [topic.outputs["arn"]], alarm.name
        assert alarm.inputs["okActions"] == [topic.outputs["arn"]], alarm.name
        if "-pipeline-" in alarm.inputs["name"]:
            continue  # the pipeline rows have their own periods (test_slo_alarms)
        # AND an idle function (no data) is healthy, and the threshold itself alarms
        assert alarm.inputs["treatMissingData"] == "notBreaching"
        assert alarm.inputs["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm.inputs["period"] == PERIOD_SECONDS == 60
        assert alarm.inputs["evaluationPeriods"] == 1
        assert alarm.inputs["name"].startswith("alarm-")
        assert alarm.inputs["name"].endswith(f"-{run.stack}")


def test_a_single_failure_of_any_kind_fires_an_alarm(dev: ProgramRun) -> None:
    for fn in CATALOG.names:
        # GIVEN a function's alarms
        on_function = function_alarms(dev, fn)
        on_dlq = dlq_alarms(dev, fn)
        # THEN one error, throttle, undeliverable or dropped event is enough, and for a
        # function behind a URL one 5xx answer (which Lambda's Errors never counts)
        metrics = ["Errors", "Throttles", "DeadLetterErrors", "AsyncEventsDropped"]
        metrics += ["Url5xxCount"] if "Url5xxCount" in on_function else []
        for metric in metrics:
            assert on_function[metric].inputs["statistic"] == "Sum"
            assert on_function[metric].inputs["threshold"] == 1, (fn, metric)
        # AND so is one message waiting in its dead-letter queue
        visible = on_dlq["ApproximateNumberOfMessagesVisible"].inputs
        assert (visible["statistic"], visible["threshold"]) == ("Maximum", 1)


def test_duration_alarm_follows_each_functions_own_timeout(dev: ProgramRun) -> None:
    # GIVEN the catalog's api (30 s) and batch (300 s) functions, default 80 %
    expected = {"api": 24_000, "batch": 240_000}
    assert TIMEOUT_SECONDS == {"api": 30, "batch": 300}
    for spec in CATALOG:
        # WHEN we read the duration alarm of each
        duration = function_alarms(dev, spec.name)["Duration"].inputs
        # THEN it watches the maximum at 80 % of that function's timeout, in ms
        assert duration["statistic"] == "Maximum"
        assert duration["threshold"] == expected[spec.kind], spec.name


def test_duration_alarm_percent_is_overridable(run_project: Any) -> None:
    # GIVEN a stack configured to alarm at half the timeout
    run = run_project("observability", "dev", config={"etl:durationAlarmPercent": "50"})
    # THEN api functions alarm at 15 s and batch functions at 150 s
    for spec in CATALOG:
        threshold = function_alarms(run, spec.name)["Duration"].inputs["threshold"]
        assert threshold == spec.timeout * 1000 * 0.5, spec.name


@pytest.mark.parametrize(
    ("stack", "config", "seconds"),
    [("dev", {}, 900), ("prod", {}, 300), ("prod", {"etl:dlqAgeAlarmSeconds": "120"}, 120)],
)
def test_dlq_age_alarm_uses_the_environment_threshold_or_the_override(
    run_project: Any, stack: str, config: dict[str, str], seconds: int
) -> None:
    # GIVEN a stack (with or without an override)
    run = run_project("observability", stack, config=config)
    # THEN every DLQ's oldest-message alarm fires at that age
    for fn in CATALOG.names:
        age = dlq_alarms(run, fn)["ApproximateAgeOfOldestMessage"].inputs
        assert (age["statistic"], age["threshold"]) == ("Maximum", seconds), fn


# --------------------------------------------------------------------------------------------
# The alarm topic
# --------------------------------------------------------------------------------------------


def test_topic_is_encrypted_with_its_own_rotating_customer_managed_key(dev: ProgramRun) -> None:
    # GIVEN the topic and the KMS key of the dev stack
    (topic,) = dev.of_type(TOPIC)
    (key,) = dev.of_type(KEY)
    (alias,) = dev.of_type(ALIAS)
    # THEN the topic is alarms-dev, encrypted with that key (not alias/aws/sns)
    assert topic.inputs["name"] == "alarms-dev"
    assert topic.inputs["kmsMasterKeyId"] == key.outputs["arn"]
    # AND the key rotates, is destroyed quickly, and has a findable alias
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 7
    assert alias.inputs["name"] == "alias/alarms-dev"


def test_only_this_accounts_alarms_may_publish_and_only_over_tls(dev: ProgramRun) -> None:
    # GIVEN the rendered topic policy
    document = policy(dev, TOPIC_POLICY)
    (topic,) = dev.of_type(TOPIC)
    (allow,) = statements(document, "Allow")
    (deny,) = statements(document, "Deny")
    # THEN only CloudWatch may publish, and only from this account's alarms of this stack
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert as_list(allow["Action"]) == ["sns:Publish"]
    assert allow["Resource"] == topic.outputs["arn"]
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT_ID}
    pattern = allow["Condition"]["ArnLike"]["aws:SourceArn"]
    assert pattern == f"arn:aws:cloudwatch:us-east-1:{ACCOUNT_ID}:alarm:alarm-*-dev"
    # AND every alarm of the stack matches that pattern (else its notifications vanish)
    for alarm in dev.of_type(ALARM):
        assert fnmatch.fnmatchcase(alarm.outputs["arn"], pattern), alarm.name
    # AND any request without TLS is refused, whoever makes it
    assert deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert {"sns:Publish", "sns:Subscribe"} <= set(as_list(deny["Action"]))
    assert deny["Resource"] == topic.outputs["arn"]
    # AND parliament finds nothing to report
    (resource,) = dev.of_type(TOPIC_POLICY)
    assert analyze_policy_string(resource.inputs["policy"]).findings == []


def test_key_policy_lets_cloudwatch_use_the_key_for_this_accounts_alarms_only(
    dev: ProgramRun,
) -> None:
    # GIVEN the rendered key policy
    document = policy(dev, KEY)
    services = [s for s in statements(document, "Allow") if "Service" in s["Principal"]]
    accounts = [s for s in statements(document, "Allow") if "AWS" in s["Principal"]]
    # THEN CloudWatch is the only service, may only encrypt for publishing, and only
    # on behalf of this account's alarms
    (cloudwatch,) = services
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(as_list(cloudwatch["Action"])) == {"kms:Decrypt", "kms:GenerateDataKey"}
    assert cloudwatch["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT_ID}
    assert cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"].endswith(":alarm:alarm-*-dev")
    # AND the account root (IAM) administers it, without a "kms:*" wildcard, and can
    # always fix the policy (no lock-out)
    root = f"arn:aws:iam::{ACCOUNT_ID}:root"
    assert accounts and all(s["Principal"] == {"AWS": root} for s in accounts)
    actions = {a for s in accounts for a in as_list(s["Action"])}
    assert "kms:PutKeyPolicy" in actions
    # AND no statement names a wildcard action
    every = [a for s in document["Statement"] for a in as_list(s["Action"])]
    assert not any("*" in a for a in every), every


def test_key_policy_has_no_parliament_findings_but_the_documented_suppressions(
    dev: ProgramRun,
) -> None:
    # GIVEN the key policy, linted by parliament
    (key,) = dev.of_type(KEY)
    findings = lint_resources([key])
    # THEN every finding is covered by a suppression in etl_platform.checks.iam_lint,
    # with its reason
    assert all(f.suppressed_by is not None for f in findings), [str(f) for f in findings]
    assert all(len(f.suppressed_by.reason) > 20 for f in findings if f.suppressed_by)


def test_email_subscription_only_when_an_alarm_email_is_configured(
    dev: ProgramRun, run_project: Any
) -> None:
    # GIVEN the dev stack without etl:alarmEmail: no subscription
    assert dev.of_type(SUBSCRIPTION) == []
    # WHEN an e-mail is configured
    run = run_project("observability", "dev", config={"etl:alarmEmail": "ops@example.com"})
    # THEN exactly one e-mail subscription to the topic is created
    (subscription,) = run.of_type(SUBSCRIPTION)
    (topic,) = run.of_type(TOPIC)
    assert subscription.inputs["protocol"] == "email"
    assert subscription.inputs["endpoint"] == "ops@example.com"
    assert subscription.inputs["topic"] == topic.outputs["arn"]


# --------------------------------------------------------------------------------------------
# The dashboard
# --------------------------------------------------------------------------------------------


def test_dashboard_is_valid_json_with_a_row_for_every_function_and_queue(
    dev: ProgramRun,
) -> None:
    # GIVEN the dashboard of the dev stack
    (dashboard,) = dev.of_type(DASHBOARD)
    assert dashboard.inputs["dashboardName"] == "etl-dev"
    # WHEN we parse its body
    body = json.loads(dashboard.inputs["dashboardBody"])
    metrics = [w for w in body["widgets"] if w["type"] == "metric"]
    plotted = [m for w in metrics for m in w["properties"]["metrics"]]
    # THEN every function's metrics are plotted, including duration p50/p95/max
    for fn in CATALOG.names:
        name = resource_name("lambda", fn, "dev")
        on_fn = {m[1] for m in plotted if m[0] == "AWS/Lambda" and m[3] == name}
        assert {"Invocations", "Errors", "Throttles", "ConcurrentExecutions"} <= on_fn, fn
        stats = {
            m[4]["stat"] for m in plotted if m[1] == "Duration" and m[3] == name and len(m) > 4
        }
        assert stats == {"p50", "p95", "Maximum"}, fn
        # AND every DLQ's visible messages, by the name the shared stack exported
        queue = resource_name("dlq", fn, "dev")
        assert ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue] in plotted
    # AND every widget is in us-east-1 and fits the 24-unit grid
    assert {w["properties"]["region"] for w in body["widgets"]} == {"us-east-1"}
    assert all(w["x"] + w["width"] <= 24 for w in body["widgets"])


def test_dashboard_shows_the_status_of_every_alarm(dev: ProgramRun) -> None:
    # GIVEN the dashboard body and the stack's alarms
    (dashboard,) = dev.of_type(DASHBOARD)
    body = json.loads(dashboard.inputs["dashboardBody"])
    # WHEN we collect the alarm-status widgets
    listed = [a for w in body["widgets"] if w["type"] == "alarm" for a in w["properties"]["alarms"]]
    # THEN they list exactly the alarms the stack creates
    assert sorted(listed) == sorted(a.outputs["arn"] for a in dev.of_type(ALARM))


# --------------------------------------------------------------------------------------------
# The catalog drives everything
# --------------------------------------------------------------------------------------------


def test_a_new_catalog_function_gets_log_group_alarms_and_widgets_without_code_change(
    run_project: Any, tmp_path: Path
) -> None:
    # GIVEN a copy of the catalog with one more (batch) function folder
    catalog_dir = tmp_path / "lambdas"
    shutil.copytree(LAMBDAS_DIR, catalog_dir)
    new = catalog_dir / "enrich"
    new.mkdir()
    (new / "handler.py").write_text("def handler(event, context):\n    return event\n")
    (new / "function.toml").write_text(
        'name = "enrich"\nhandler = "handler.handler"\ndescription = "Adds reference data."\n'
        'kind = "batch"\nsize = "small"\n'
    )
    # WHEN the unchanged program runs against that catalog
    run = run_project("observability", "dev", catalog_dir=catalog_dir)
    # THEN the new function has its log group, with the dev retention, and it is exported
    (group,) = [g for g in run.of_type(LOG_GROUP) if g.inputs["name"].endswith("-enrich-dev")]
    assert group.inputs["name"] == "/aws/lambda/lambda-enrich-dev"
    assert group.inputs["retentionInDays"] == 7
    assert "enrich" in run.exports[ObservabilityExports.LOG_GROUP_NAMES]
    # AND its five alarms (duration at 80 % of 300 s; async-age too: no trigger means
    # invoked asynchronously, by redrive) and its DLQ's two
    on_function = function_alarms(run, "enrich")
    assert set(on_function) == FUNCTION_METRICS | {"AsyncEventAge"}
    assert on_function["Duration"].inputs["threshold"] == 240_000
    assert set(dlq_alarms(run, "enrich")) == DLQ_METRICS
    # AND its dashboard row
    (dashboard,) = run.of_type(DASHBOARD)
    body = dashboard.inputs["dashboardBody"]
    assert '"lambda-enrich-dev"' in body
    assert '"dlq-enrich-dev"' in body
    assert "alarm-enrich-errors-dev" in body


# --------------------------------------------------------------------------------------------
# The contract with the shared stack
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dlq_names", "names_in_message"),
    [
        (None, ["'dlqNames'"]),  # shared never deployed, or too old to export it
        ([f"dlq-{LAST}-dev"], ["'dlqNames'", "a map by function"]),  # malformed
        (
            {fn: resource_name("dlq", fn, "dev") for fn in CATALOG.names if fn != LAST},
            [f"'{LAST}'", "'dlqNames'"],
        ),  # deployed with an older catalog
        ({**{fn: f"dlq-{fn}-dev" for fn in CATALOG.names}, LAST: ""}, [f"'{LAST}'"]),
    ],
    ids=["missing", "not-a-map", "function-missing", "empty-entry"],
)
def test_a_missing_or_malformed_shared_export_says_to_deploy_shared_first(
    run_project: Any, dlq_names: Any, names_in_message: list[str]
) -> None:
    # GIVEN a shared stack whose dlqNames export is missing or malformed
    upstream = shared_only(dlq_names)
    # WHEN the observability program runs
    with pytest.raises(ContractError) as caught:
        run_project("observability", "dev", upstream=upstream)
    # THEN the error names the export (and entry) and says to deploy shared first
    message = str(caught.value)
    for expected in names_in_message:
        assert expected in message
    assert f"Deploy {SHARED} first" in message
    assert "nox -s deploy-all -- dev" in message


# --------------------------------------------------------------------------------------------
# Tags, names, destroyability
# --------------------------------------------------------------------------------------------


def test_every_taggable_resource_carries_the_cost_tags(run: ProgramRun) -> None:
    # GIVEN every AWS resource of a real stack
    resources = [r for r in run.custom_resources if r.type.startswith("aws:")]
    # THEN the types that take tags include the ones that cost money
    assert {r.type for r in resources if is_taggable(r.type)} >= {LOG_GROUP, ALARM, TOPIC, KEY}
    for resource in resources:
        if is_taggable(resource.type):
            # AND each taggable one carries every cost tag, for its environment
            tags = resource.inputs.get("tags") or {}
            assert set(REQUIRED_TAG_KEYS) <= set(tags), resource.name
            assert tags["Environment"] == run.stack
            assert tags["EnvironmentSuffix"] == run.stack


def test_every_name_carries_the_environment_suffix(run_project: Any) -> None:
    # GIVEN a stack with the suffix pr-42
    run = run_project("observability", "dev", config={"etl:environmentSuffix": "pr-42"})
    # THEN every physical name ends with it
    names = [r.inputs["name"] for r in run.of_type(LOG_GROUP) + run.of_type(ALARM)]
    names += [r.inputs["name"] for r in run.of_type(TOPIC) + run.of_type(ALIAS)]
    names += [r.inputs["dashboardName"] for r in run.of_type(DASHBOARD)]
    per_function = sum(1 + len(rules_for(spec)) for spec in CATALOG)
    assert len(names) == per_function + len(pipeline_rules(settings_of(run))) + 3
    assert all(name.endswith("-pr-42") for name in names), names
    # AND the alarms reference the queues the shared stack of that suffix exported
    queues = {(r.inputs.get("dimensions") or {}).get("QueueName") for r in run.of_type(ALARM)} - {
        None
    }
    assert queues == {f"dlq-{fn}-pr-42" for fn in CATALOG.names}


def test_nothing_is_protected_or_retained(run: ProgramRun) -> None:
    # GIVEN every resource of a real stack
    # THEN `pulumi destroy` removes them all
    kept = [r.name for r in run.resources if r.protect or r.retain_on_delete]
    assert kept == []


def test_after_fixing_the_shared_stack_the_program_runs_again(run_project: Any) -> None:
    # GIVEN a run that failed on a malformed shared export
    with pytest.raises(ContractError):
        run_project("observability", "dev", upstream=shared_only(["dlq-load-dev"]))
    # WHEN the shared stack is fixed and the program runs again (same process)
    run = run_project("observability", "dev")
    # THEN it succeeds: the failed run left nothing behind that fails this one
    assert set(run.exports[ObservabilityExports.LOG_GROUP_NAMES]) == set(CATALOG.names)
