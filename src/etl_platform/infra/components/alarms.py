"""The alarms that make a failed execution, and a pipeline that stopped moving, impossible to miss.

Every threshold lives in :data:`ALARM_RULES`, one table; a new alarm is one row.
Each catalog function gets the ``function`` rows that apply to it (:func:`rules_for`)
and the ``dlq`` rows on its dead-letter queue; the ``pipeline`` rows watch the
metrics of the SLO watchdog (:mod:`etl_platform.model.slo`) once per stack. All notify the
alarm topic on ALARM and on OK.

Function rows treat missing data as not breaching (a function that is not invoked is
healthy). DeadLetterErrors and AsyncEventsDropped are the two blind spots that common
alarm kits leave open: an event that could not even reach the DLQ, and one that was
dropped after its retries or its maximum age. AsyncEventAge (p99, async-invoked
functions) catches a backlog before events are dropped; RecursiveInvocationsDropped
(S3-triggered functions) says Lambda stopped an S3 -> Lambda -> S3 loop. Url5xxCount
(functions with a URL trigger) pages on an API's 5xx answers: an API turns a failure
into a JSON 500/503, which Lambda's ``Errors`` metric never counts.

Trigger rows page when a trigger stalls: the age of the oldest message in an SQS
source queue, the IteratorAge of a stream mapping (a poison record blocking its
shard), and an HTTP API's 5xx answers and p99 latency. The HTTP API rows are built by
the functions stack with the API (:func:`trigger_rules_for`, :func:`metric_alarm`):
its ApiId exists only there.

Pipeline rows say batches stopped moving although nothing failed: batches stuck in a
stage past its SLA for two consecutive watchdog periods, and, when
``etl:freshnessHours`` is set, no batch received for that many hours. Missing data
breaches for the freshness row and for ``watchdog-silent`` (no watchdog report for
three periods: a disabled schedule would otherwise silence every pipeline alarm).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws
from pulumi import ComponentResource, Output, ResourceOptions

from etl_platform.model.catalog import Catalog, FunctionSpec
from etl_platform.model.naming import resource_name
from etl_platform.model.settings import Settings
from etl_platform.model.slo import PIPELINE_NAMESPACE, pipeline_period_seconds, watchdog_spec
from etl_platform.model.tags import cost_tags
from etl_platform.model.trigger_sources import trigger_source

__all__ = [
    "ALARM_RULES",
    "PERIOD_SECONDS",
    "AlarmRule",
    "FunctionAlarms",
    "FunctionAlarmsArgs",
    "PipelineAlarms",
    "PipelineAlarmsArgs",
    "alarm_threshold",
    "function_alarm_name",
    "metric_alarm",
    "pipeline_rules",
    "rollback_alarm_names",
    "rules_for",
    "trigger_rules_for",
]

# "source-queue": the SQS queue an sqs trigger reads (etl:resources); "http-api": the API
# Gateway HTTP API of an http-api trigger, alarmed in the functions stack (its ApiId is
# known only there).
Target = Literal["function", "dlq", "pipeline", "source-queue", "http-api"]
Unit = Literal["count", "percent-of-timeout", "seconds", "seconds-as-ms"]
# Which functions a row applies to: all, the asynchronously invoked, or by trigger
# ("stream": dynamodb-stream and kinesis, whose mappings read shards).
Applies = Literal["every", "async", "s3", "url", "sqs", "stream", "http-api"]
# "minute": PERIOD_SECONDS; "pipeline": the watchdog's interval; "hour": 3600 s.
Period = Literal["minute", "pipeline", "hour"]
NAMESPACES: dict[Target, str] = {
    "function": "AWS/Lambda",
    "dlq": "AWS/SQS",
    "pipeline": PIPELINE_NAMESPACE,
    "source-queue": "AWS/SQS",
    "http-api": "AWS/ApiGateway",
}
DIMENSIONS: dict[Target, str] = {
    "function": "FunctionName",
    "dlq": "QueueName",
    "source-queue": "QueueName",
    "http-api": "ApiId",
}
#: Targets whose alarms the functions stack builds with the trigger (see module docstring).
WITH_TRIGGER: frozenset[Target] = frozenset({"http-api"})
# The one period of the per-function alarms and of the dashboard's function graphs.
PERIOD_SECONDS = 60
HOUR_SECONDS = 3600
COMPARISON = "GreaterThanOrEqualToThreshold"
TREAT_MISSING_DATA = "notBreaching"


@dataclass(frozen=True)
class AlarmRule:
    """One alarm every function (or its DLQ) gets.

    The threshold is ``threshold`` in ``unit``, unless ``setting`` names the
    :class:`~etl_platform.model.settings.Settings` field that holds it (config-overridable,
    with per-environment defaults in the settings table).
    """

    what: str  # the name part: alarm-<function>-<what>-<suffix>
    target: Target
    metric_name: str
    statistic: str
    unit: Unit
    description: str
    threshold: int | None = None
    setting: str | None = None
    applies: Applies = "every"
    dimensions: tuple[tuple[str, str], ...] = ()  # fixed dimensions (pipeline rows)
    periods: int = 1  # consecutive breaching periods before ALARM
    periods_setting: str | None = None  # Settings field with ``periods``; None there: off
    period: Period = "minute"
    comparison: str = COMPARISON
    missing: str = TREAT_MISSING_DATA
    # The runbook entry (docs/runbook.md is generated from these by `nox -s docs`):
    # what the alarm means for the pipeline, and what the operator does about it.
    meaning: str = field(default="", kw_only=True)
    action: str = field(default="", kw_only=True)

    def __post_init__(self) -> None:
        missing = [name for name in ("meaning", "action") if not getattr(self, name).strip()]
        if missing:
            raise ValueError(
                f"alarm rule {self.what!r} has no {' and no '.join(missing)}: every row of "
                'ALARM_RULES carries its runbook entry. Add meaning="..." (what it says '
                'about the pipeline) and action="..." (what the operator does), then run '
                "`nox -s docs` to regenerate docs/runbook.md"
            )

    def applies_to(self, spec: FunctionSpec) -> bool:
        """Whether a function/DLQ row applies to ``spec`` (by its trigger type)."""
        if self.target == "pipeline":
            return False
        if self.applies == "async":
            return spec.trigger.asynchronous
        if self.applies == "stream":
            mapping = spec.trigger.mapping
            return mapping is not None and mapping.stream
        if self.applies != "every":
            return spec.trigger.type == self.applies
        return True


# The one table of alarms and thresholds.
ALARM_RULES: tuple[AlarmRule, ...] = (
    AlarmRule(
        "errors",
        "function",
        "Errors",
        "Sum",
        "count",
        "an invocation failed",
        threshold=1,
        meaning=(
            "An invocation raised an error or timed out in the last minute. An "
            "asynchronous invocation (S3, schedule, redrive) is retried twice, then its "
            "event goes to the function's DLQ; a function URL caller got a 5xx answer."
        ),
        action=(
            "Open the function's log group with the errors query below and read "
            "`errorType` and `errorMessage`. Decide bad data or broken dependency "
            "(below), fix the cause, and once `dlq-visible` fires for the same function, "
            "redrive its DLQ."
        ),
    ),
    AlarmRule(
        "throttles",
        "function",
        "Throttles",
        "Sum",
        "count",
        "an invocation was throttled",
        threshold=1,
        meaning=(
            "Lambda refused to run an invocation: the function used all its reserved "
            "concurrency (5 for a critical function) or the account's unreserved pool was "
            "exhausted. Lambda retries asynchronous events for up to "
            "`etl:maxEventAgeSeconds`; a function URL caller got 429."
        ),
        action=(
            "Look at the function's `ConcurrentExecutions` and the account's on the "
            "dashboard. A burst passes on its own; a steady overload needs a higher "
            "reservation, fewer critical functions, or a quota increase (see "
            "Troubleshooting: the concurrency quota)."
        ),
    ),
    AlarmRule(
        "duration",
        "function",
        "Duration",
        "Maximum",
        "percent-of-timeout",
        "an invocation came close to the function's timeout",
        setting="duration_alarm_percent",
        meaning=(
            "An invocation ran longer than `etl:durationAlarmPercent` (80 %) of the "
            "function's timeout (30 s api, 300 s batch): the next larger batch or slower "
            "dependency times out, which is an error and a retry."
        ),
        action=(
            "Find the slow invocation (the Logs Insights `REPORT` query below) and its "
            "X-Ray trace by `batch_id`: a slow database or S3 call is a dependency "
            "problem; a large batch needs the `large` size or smaller batches from the "
            "client."
        ),
    ),
    AlarmRule(
        "dead-letter-errors",
        "function",
        "DeadLetterErrors",
        "Sum",
        "count",
        "a failed event could not be delivered to the dead-letter queue",
        threshold=1,
        meaning=(
            "Lambda could not put a failed event into the function's DLQ (the queue is "
            "gone, or its policy or encryption refuses the function): that event is in no "
            "queue now."
        ),
        action=(
            "Check that `dlq-<fn>-<suffix>` exists and that the `shared` and "
            "`etl-functions` stacks are current (`nox -s preview-all -- <stack>` shows "
            "drift; `nox -s deploy-all -- <stack>` repairs it). Find the lost event in "
            "the function's logs (its S3 key or batch id) and re-trigger it at its "
            "source."
        ),
    ),
    AlarmRule(
        "async-events-dropped",
        "function",
        "AsyncEventsDropped",
        "Sum",
        "count",
        "an asynchronous event was dropped without being processed",
        threshold=1,
        meaning=(
            "Lambda discarded an asynchronous event without running it to success and "
            "without reaching the DLQ, usually because it grew older than "
            "`etl:maxEventAgeSeconds` while throttled."
        ),
        action=(
            "Look for `throttles` and `async-event-age` on the same function at the same "
            "time and fix that first. Then re-trigger the lost work at its source (for an "
            "S3 trigger, copy the object onto itself, see `stuck-transformed`)."
        ),
    ),
    AlarmRule(
        "url-5xx",
        "function",
        "Url5xxCount",
        "Sum",
        "count",
        "its function URL answered a request with a 5xx error (an unexpected exception, "
        "a misconfiguration or a dependency down; Lambda's Errors never counts an answered "
        "request): see its ERROR logs",
        threshold=1,
        applies="url",
        meaning=(
            "A function URL answered 5xx: a JSON 500 (`internal_error`, `misconfigured`) or "
            "503 (`unavailable`: a dependency such as S3 failed). Lambda's `Errors` does not "
            "count an answered request, so this is the API's only failure alarm. Nothing "
            "waits in a DLQ: the client got the answer and must retry."
        ),
        action=(
            "Each 5xx is an ERROR log line with `errorType` and `stackTrace` in the "
            "function's log group (the errors query below) and a `ServerErrors` EMF count "
            "with the error type. A 503 burst that stops by itself is a dependency blip "
            "(clients retry with the same idempotency key); a 500 is a bug or a "
            "misconfiguration to fix and deploy."
        ),
    ),
    AlarmRule(
        "async-event-age",
        "function",
        "AsyncEventAge",
        "p99",
        "seconds-as-ms",
        "asynchronous events wait too long before they run (backlog, throttling or retries)",
        setting="async_event_age_alarm_seconds",
        applies="async",
        meaning=(
            "The p99 age of asynchronous events when they start running passed "
            "`etl:asyncEventAgeAlarmSeconds`: events queue before the function runs "
            "(throttling, retries of failures, or a burst)."
        ),
        action=(
            "Check `throttles` (reserved concurrency) and `errors` (retries) of the "
            "function. Left alone, events older than `etl:maxEventAgeSeconds` are dropped "
            "(`async-events-dropped`)."
        ),
    ),
    AlarmRule(
        "recursion-dropped",
        "function",
        "RecursiveInvocationsDropped",
        "Sum",
        "count",
        "Lambda stopped an S3 -> Lambda -> S3 loop: a function writes where it is triggered",
        threshold=1,
        applies="s3",
        meaning=(
            "Lambda stopped a function that invoked itself through S3 (it writes under "
            "the prefix that triggers it). The catalog refuses that configuration, so "
            "something outside it changed: a hand-edited notification, or a handler "
            "writing where its entry does not say."
        ),
        action=(
            "Find the writer in CloudTrail or X-Ray and fix it; dropped events are not "
            "retried: re-trigger the affected batches as in `stuck-transformed`."
        ),
    ),
    AlarmRule(
        "source-queue-age",
        "source-queue",
        "ApproximateAgeOfOldestMessage",
        "Maximum",
        "seconds",
        "the oldest message of the queue that triggers it waits too long: it is not consumed",
        setting="async_event_age_alarm_seconds",
        applies="sqs",
        meaning=(
            "The oldest message in the SQS queue that triggers the function (its `queue` in "
            "`etl:resources`) has waited longer than `etl:asyncEventAgeAlarmSeconds`: the "
            "event source mapping is disabled, throttled (`maximum_concurrency`, reserved "
            "concurrency) or the function keeps failing the same messages, which come back "
            "after each visibility timeout until the queue's redrive policy moves them to its "
            "own dead-letter queue."
        ),
        action=(
            "Check the function's `errors` and `throttles` alarms and its logs (a record "
            "reported in `batchItemFailures` is logged with its `messageId`). Check that the "
            "mapping is enabled (`aws lambda list-event-source-mappings --function-name "
            "<function>`). After a fix, messages the queue's redrive policy moved away are "
            "replayed from that queue (`aws sqs start-message-move-task --source-arn <its DLQ>`)."
        ),
    ),
    AlarmRule(
        "iterator-age",
        "function",
        "IteratorAge",
        "Maximum",
        "seconds-as-ms",
        "its stream mapping falls behind: the newest records it reads are old",
        setting="async_event_age_alarm_seconds",
        applies="stream",
        meaning=(
            "The age of the last record the function's DynamoDB or Kinesis stream mapping "
            "read passed `etl:asyncEventAgeAlarmSeconds`: the shard is blocked by a failing "
            "batch (retried, then bisected, until `maximum_retry_attempts` or "
            "`maximum_record_age_seconds`), or the function is too slow or throttled. Records "
            "older than the stream's retention (24 h for DynamoDB) are lost."
        ),
        action=(
            "Look at `errors` and `duration` of the function. A poison record ends in the "
            "function's DLQ (the mapping's on-failure destination: the message carries the "
            "shard and sequence numbers, not the record) once its retries are spent, and "
            "`dlq-visible` fires; read the record from the stream by those numbers, fix, and "
            "reprocess it. A slow function needs a larger `batch_size` or the `large` size."
        ),
    ),
    AlarmRule(
        "api-5xx",
        "http-api",
        "5xx",
        "Sum",
        "count",
        "its HTTP API answered a request with a 5xx error (the function failed, timed out "
        "or returned a 5xx)",
        threshold=1,
        applies="http-api",
        meaning=(
            "The function's API Gateway HTTP API answered 5xx in the last minute: the "
            "function raised or timed out (API Gateway answers 500 or 503), or returned a 5xx "
            "itself. The client got the error and must retry; nothing waits in a DLQ."
        ),
        action=(
            "Read the API's access log group (`/aws/apigateway/api-<fn>-<suffix>`: each line "
            "has `status`, `integrationError` and the `requestId`) and the function's ERROR "
            "logs for the same time. An `integrationError` without a function log means "
            "the invoke permission or the integration is wrong (`nox -s preview-all -- "
            "<stack>` shows drift)."
        ),
    ),
    AlarmRule(
        "api-latency-p99",
        "http-api",
        "Latency",
        "p99",
        "percent-of-timeout",
        "its HTTP API's p99 latency came close to the function's timeout",
        setting="duration_alarm_percent",
        applies="http-api",
        periods=3,
        meaning=(
            "For three minutes in a row the p99 latency of the HTTP API passed "
            "`etl:durationAlarmPercent` of the function's 30 s timeout: the slowest "
            "requests are about to time out (API Gateway gives up at 30 s with a 503)."
        ),
        action=(
            "Compare with the function's `duration` alarm and the `integrationLatency` field "
            "of the access logs: when the function is slow, find the slow dependency in its "
            "X-Ray traces; when only the API is slow, check throttling (`throttle_rate`, "
            "`throttle_burst`) and API Gateway's health."
        ),
    ),
    AlarmRule(
        "dlq-visible",
        "dlq",
        "ApproximateNumberOfMessagesVisible",
        "Maximum",
        "count",
        "a failed event is waiting in the dead-letter queue: inspect and redrive it",
        threshold=1,
        meaning=(
            "At least one event failed all its retries and waits in `dlq-<fn>-<suffix>` "
            "with its original payload (kept 14 days)."
        ),
        action=(
            "Read what waits (`nox -s redrive -- <stack> <fn> --dry-run`), find the "
            "matching error in the logs, fix the cause, then `nox -s redrive -- <stack> "
            "<fn>`."
        ),
    ),
    AlarmRule(
        "dlq-age",
        "dlq",
        "ApproximateAgeOfOldestMessage",
        "Maximum",
        "seconds",
        "a failed event has waited in the dead-letter queue too long",
        setting="dlq_age_alarm_seconds",
        meaning=(
            "The oldest event in the function's DLQ has waited longer than "
            "`etl:dlqAgeAlarmSeconds` (900 s dev, 300 s prod): nobody has handled a "
            "failure yet, and after 14 days SQS deletes it."
        ),
        action=(
            "Handle it as `dlq-visible`: read, fix, redrive. An event that must not be "
            "replayed is deleted on purpose, with a note in the incident, never left to "
            "expire."
        ),
    ),
    AlarmRule(
        "stuck-received",
        "pipeline",
        "StuckBatches",
        "Maximum",
        "count",
        "batches wait in 'received' past etl:stageSlaMinutes: transform is not running",
        threshold=1,
        dimensions=(("Stage", "received"),),
        periods=2,
        period="pipeline",
        meaning=(
            "Batches wait in `received` past `etl:stageSlaMinutes` for two watchdog "
            "periods: transform did not run or did not finish."
        ),
        action=(
            "Check `alarm-transform-*` and `dlq-transform-<suffix>` first (a failing "
            "transform retries, then dead-letters: redrive after the fix). No error and "
            "an empty DLQ means the S3 notification did not fire: check the bucket's "
            "notification configuration (`nox -s preview-all -- <stack>` shows drift) and "
            "`alarm-transform-async-events-dropped`. The watchdog's log line `batches "
            "stuck` lists up to 20 batch ids; for one batch: `aws s3 cp "
            "s3://<bucket>/manifests/<batch_id>.json -` and its trace."
        ),
    ),
    AlarmRule(
        "stuck-transformed",
        "pipeline",
        "StuckBatches",
        "Maximum",
        "count",
        "batches wait in 'transformed' past etl:stageSlaMinutes: load is not running",
        threshold=1,
        dimensions=(("Stage", "transformed"),),
        periods=2,
        period="pipeline",
        meaning=(
            "Batches wait in `transformed` past `etl:stageSlaMinutes` for two watchdog "
            "periods: load did not run or did not commit."
        ),
        action=(
            "Same steps with `load`: its alarms and DLQ, then the database (a broken "
            "dependency shows as `TransientError` or connection errors in load's logs). "
            "Re-trigger one batch after a fix by copying its staged object onto itself "
            "(`aws s3 cp s3://<bucket>/staged/<id>.csv s3://<bucket>/staged/<id>.csv "
            "--metadata-directive REPLACE`); the load is idempotent."
        ),
    ),
    AlarmRule(
        "watchdog-silent",
        "pipeline",
        "WaitingBatches",
        "SampleCount",
        "count",
        "the watchdog reported nothing for 3 periods: the pipeline SLO alarms are blind",
        threshold=1,
        dimensions=(("Stage", "received"),),
        periods=3,
        period="pipeline",
        comparison="LessThanThreshold",
        missing="breaching",
        meaning=(
            "The watchdog reported nothing for three of its periods (15 minutes): the "
            "stuck-batch and freshness alarms are blind until it runs again."
        ),
        action=(
            "Check `alarm-watchdog-errors` and the watchdog's logs (a failing run, for "
            "example an unreadable `STAGE_SLA_MINUTES`, says what is wrong), then that its "
            "EventBridge rule `schedule-watchdog-<suffix>` is enabled and targets the "
            "function (`nox -s preview-all -- <stack>` shows drift)."
        ),
    ),
    AlarmRule(
        "bad-manifests",
        "pipeline",
        "BadManifests",
        "Maximum",
        "count",
        "a batch's manifest is not one the pipeline wrote: the watchdog counts it as received",
        threshold=1,
        period="pipeline",
        meaning=(
            "At least one recent batch's `manifests/<batch_id>.json` is not a manifest the "
            "pipeline wrote (not UTF-8, not JSON, empty, truncated, or JSON of another "
            "shape): someone or something edited it. The watchdog counts that batch as "
            "waiting in `received` and reports every other batch as usual; status-api "
            "answers it with a 500 `bad_manifest`."
        ),
        action=(
            "The watchdog's log line `bad manifest` names the key and what is wrong. Find "
            "the writer (CloudTrail data events on the bucket), then re-run the batch's "
            "transform by copying its raw object onto itself (`aws s3 cp "
            "s3://<bucket>/raw/YYYY/MM/DD/<id>.jsonl s3://<bucket>/raw/YYYY/MM/DD/<id>.jsonl "
            "--metadata-directive REPLACE`): transform and load replace a bad manifest "
            "with the one they write, and load is idempotent."
        ),
    ),
    AlarmRule(
        "freshness",
        "pipeline",
        "BatchesReceived",
        "Maximum",
        "count",
        "no batch was received for etl:freshnessHours hours: is the upstream sending?",
        threshold=1,
        periods_setting="freshness_hours",
        period="hour",
        comparison="LessThanThreshold",
        missing="breaching",
        meaning=(
            "No batch was received for `etl:freshnessHours` hours (only when that key is "
            "set); a watchdog that stopped reporting counts as breaching."
        ),
        action=(
            "Is the upstream sending? Look at ingest-api's `Invocations` and 4xx answers "
            "(refused requests add nothing). If ingest accepts batches, check that the "
            "watchdog runs (its `Invocations` and `alarm-watchdog-errors`)."
        ),
    ),
)


def rules_for(spec: FunctionSpec) -> tuple[AlarmRule, ...]:
    """The rows the observability stack builds for ``spec`` (function, DLQ, source queue)."""
    return tuple(r for r in ALARM_RULES if r.applies_to(spec) and r.target not in WITH_TRIGGER)


def trigger_rules_for(spec: FunctionSpec) -> tuple[AlarmRule, ...]:
    """The rows the functions stack builds with ``spec``'s trigger (its HTTP API)."""
    return tuple(r for r in ALARM_RULES if r.applies_to(spec) and r.target in WITH_TRIGGER)


def function_alarm_name(spec: FunctionSpec, rule: AlarmRule, suffix: str) -> str:
    """``alarm-<function>-<what>-<suffix>``: the name of one function's (or its DLQ's) alarm."""
    return resource_name("alarm", f"{spec.name}-{rule.what}", suffix)


def rollback_alarm_names(spec: FunctionSpec, settings: Settings) -> tuple[str, ...]:
    """The alarms that stop and roll back a deployment of ``spec``: its ``function`` rows.

    The function's own metrics (errors, throttles, duration, url-5xx, the trigger
    alarms), not its DLQ's: an old event still waiting in the DLQ says nothing about the
    new version. The names are deterministic, so the etl-functions stack derives them
    here instead of reading them from the observability stack.
    """
    return tuple(
        function_alarm_name(spec, rule, settings.suffix)
        for rule in rules_for(spec)
        if rule.target == "function"
    )


def pipeline_rules(settings: Settings) -> tuple[AlarmRule, ...]:
    """The pipeline rows this stack gets (an optional row whose setting is unset is off)."""
    return tuple(
        r
        for r in ALARM_RULES
        if r.target == "pipeline"
        and (r.periods_setting is None or getattr(settings, r.periods_setting) is not None)
    )


def alarm_threshold(rule: AlarmRule, spec: FunctionSpec, settings: Settings) -> float:
    """The rule's threshold for one function, in the metric's unit (ms for Duration)."""
    value = rule.threshold if rule.setting is None else getattr(settings, rule.setting)
    if not isinstance(value, int):
        raise TypeError(f"alarm rule {rule.what!r} has no threshold")
    if rule.unit == "percent-of-timeout":
        return spec.timeout * 1000 * value / 100
    if rule.unit == "seconds-as-ms":
        return float(value * 1000)
    return float(value)


def _statistic(rule: AlarmRule) -> tuple[str | None, str | None]:
    """(``statistic``, ``extended_statistic``): the latter for percentiles such as p99."""
    if rule.statistic.startswith("p"):
        return None, rule.statistic
    return rule.statistic, None


def metric_alarm(
    parent: pulumi.Resource,
    name: str,
    rule: AlarmRule,
    spec: FunctionSpec,
    settings: Settings,
    topic_arn: pulumi.Input[str],
    subject: pulumi.Input[str],
) -> aws.cloudwatch.MetricAlarm:
    """``alarm-<function>-<what>-<suffix>``: one function row on its ``subject``.

    ``subject``: the value of the row's dimension (the function's name, a queue's name,
    an HTTP API's id).
    """
    statistic, extended = _statistic(rule)
    return aws.cloudwatch.MetricAlarm(
        name,
        name=function_alarm_name(spec, rule, settings.suffix),
        alarm_description=f"{spec.name}: {rule.description}",
        namespace=NAMESPACES[rule.target],
        metric_name=rule.metric_name,
        dimensions={DIMENSIONS[rule.target]: subject},
        statistic=statistic,
        extended_statistic=extended,
        period=PERIOD_SECONDS,
        evaluation_periods=rule.periods,
        datapoints_to_alarm=rule.periods if rule.periods > 1 else None,
        comparison_operator=rule.comparison,
        threshold=alarm_threshold(rule, spec, settings),
        treat_missing_data=rule.missing,
        alarm_actions=[topic_arn],
        ok_actions=[topic_arn],
        tags=cost_tags(settings, Function=spec.name),
        opts=ResourceOptions(parent=parent),
    )


@dataclass(frozen=True)
class FunctionAlarmsArgs:
    """One function, its DLQ's name (from the shared stack), where to notify, the settings."""

    spec: FunctionSpec
    settings: Settings
    topic_arn: pulumi.Input[str]
    dlq_name: pulumi.Input[str]


class FunctionAlarms(ComponentResource):
    """Every rule of :data:`ALARM_RULES` for one function and its dead-letter queue."""

    arns: list[Output[str]]

    def __init__(
        self, name: str, args: FunctionAlarmsArgs, opts: ResourceOptions | None = None
    ) -> None:
        super().__init__("etl:alarms:FunctionAlarms", name, None, opts)
        spec, settings = args.spec, args.settings
        subjects: dict[Target, pulumi.Input[str]] = {
            "function": resource_name("lambda", spec.name, settings.suffix),
            "dlq": args.dlq_name,
        }
        source = trigger_source(spec, settings, pulumi.get_stack())
        if source is not None and source.resource_kind == ("sqs", "queue"):
            subjects["source-queue"] = source.resource_id
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        for rule in rules_for(spec):
            self.alarms[rule.what] = metric_alarm(
                self,
                f"{name}-{rule.what}",
                rule,
                spec,
                settings,
                args.topic_arn,
                subjects[rule.target],
            )
        self.arns = [alarm.arn for alarm in self.alarms.values()]
        self.register_outputs({"arns": self.arns})


@dataclass(frozen=True)
class PipelineAlarmsArgs:
    """The catalog (for the watchdog's interval), the settings, where to notify."""

    catalog: Catalog
    settings: Settings
    topic_arn: pulumi.Input[str]


class PipelineAlarms(ComponentResource):
    """The ``pipeline`` rows of :data:`ALARM_RULES`, on the watchdog's metrics.

    A catalog without the watchdog gets none (there would be no metric to watch).
    """

    arns: list[Output[str]]

    def __init__(
        self, name: str, args: PipelineAlarmsArgs, opts: ResourceOptions | None = None
    ) -> None:
        super().__init__("etl:alarms:PipelineAlarms", name, None, opts)
        settings = args.settings
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        watchdog = watchdog_spec(args.catalog)
        rules = pipeline_rules(settings) if watchdog is not None else ()
        for rule in rules:
            assert watchdog is not None
            periods = rule.periods
            if rule.periods_setting is not None:
                periods = int(getattr(settings, rule.periods_setting))
            period = {
                "minute": PERIOD_SECONDS,
                "hour": HOUR_SECONDS,
                "pipeline": pipeline_period_seconds(watchdog),
            }[rule.period]
            if rule.threshold is None:
                raise TypeError(f"pipeline alarm rule {rule.what!r} has no threshold")
            self.alarms[rule.what] = aws.cloudwatch.MetricAlarm(
                f"{name}-{rule.what}",
                name=resource_name("alarm", f"pipeline-{rule.what}", settings.suffix),
                alarm_description=f"pipeline: {rule.description}",
                namespace=NAMESPACES[rule.target],
                metric_name=rule.metric_name,
                dimensions=dict(rule.dimensions) or None,
                statistic=_statistic(rule)[0],
                extended_statistic=_statistic(rule)[1],
                period=period,
                evaluation_periods=periods,
                datapoints_to_alarm=periods,
                comparison_operator=rule.comparison,
                threshold=float(rule.threshold),
                treat_missing_data=rule.missing,
                alarm_actions=[args.topic_arn],
                ok_actions=[args.topic_arn],
                tags=cost_tags(settings, Function=watchdog.name),
                opts=ResourceOptions(parent=self),
            )
        self.arns = [alarm.arn for alarm in self.alarms.values()]
        self.register_outputs({"arns": self.arns})
