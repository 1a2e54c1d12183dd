"""The alarms that make a failed execution impossible to miss.

Every threshold lives in :data:`ALARM_RULES`, one table. Each catalog function gets
five alarms on its Lambda metrics and two on its dead-letter queue, and a function
with a URL trigger one more on its URL's 5xx answers (an API turns a failure into a
JSON 500/503, which Lambda's ``Errors`` metric never counts); all notify the
alarm topic on ALARM and on OK, and treat missing data as not breaching (a function
that is not invoked is healthy). DeadLetterErrors and AsyncEventsDropped are the two
blind spots that common alarm kits leave open: an event that could not even reach
the DLQ, and one that was dropped after its retries or its maximum age.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws
from pulumi import ComponentResource, Output, ResourceOptions

from etl_platform.catalog import FunctionSpec
from etl_platform.naming import resource_name
from etl_platform.settings import Settings
from etl_platform.tags import cost_tags

__all__ = [
    "ALARM_RULES",
    "AlarmRule",
    "FunctionAlarms",
    "FunctionAlarmsArgs",
    "alarm_threshold",
]

Target = Literal["function", "dlq"]
Unit = Literal["count", "percent-of-timeout", "seconds"]
NAMESPACES: dict[Target, str] = {"function": "AWS/Lambda", "dlq": "AWS/SQS"}
DIMENSIONS: dict[Target, str] = {"function": "FunctionName", "dlq": "QueueName"}
PERIOD_SECONDS = 60
COMPARISON = "GreaterThanOrEqualToThreshold"
TREAT_MISSING_DATA = "notBreaching"


@dataclass(frozen=True)
class AlarmRule:
    """One alarm every function (or its DLQ) gets.

    The threshold is ``threshold`` in ``unit``, unless ``setting`` names the
    :class:`~etl_platform.settings.Settings` field that holds it (config-overridable,
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
    #: Only functions whose catalog trigger has this type get the alarm (None: all).
    trigger: str | None = None

    def applies_to(self, spec: FunctionSpec) -> bool:
        return self.trigger is None or spec.trigger.type == self.trigger


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
    ),
    AlarmRule(
        "throttles",
        "function",
        "Throttles",
        "Sum",
        "count",
        "an invocation was throttled",
        threshold=1,
    ),
    AlarmRule(
        "duration",
        "function",
        "Duration",
        "Maximum",
        "percent-of-timeout",
        "an invocation came close to the function's timeout",
        setting="duration_alarm_percent",
    ),
    AlarmRule(
        "dead-letter-errors",
        "function",
        "DeadLetterErrors",
        "Sum",
        "count",
        "a failed event could not be delivered to the dead-letter queue",
        threshold=1,
    ),
    AlarmRule(
        "async-events-dropped",
        "function",
        "AsyncEventsDropped",
        "Sum",
        "count",
        "an asynchronous event was dropped without being processed",
        threshold=1,
    ),
    AlarmRule(
        "url-5xx",
        "function",
        "Url5xxCount",
        "Sum",
        "count",
        "its function URL answered a request with a 5xx error (an unexpected exception, "
        "a misconfiguration or a dependency down): see its ERROR logs",
        threshold=1,
        trigger="url",
    ),
    AlarmRule(
        "dlq-visible",
        "dlq",
        "ApproximateNumberOfMessagesVisible",
        "Maximum",
        "count",
        "a failed event is waiting in the dead-letter queue: inspect and redrive it",
        threshold=1,
    ),
    AlarmRule(
        "dlq-age",
        "dlq",
        "ApproximateAgeOfOldestMessage",
        "Maximum",
        "seconds",
        "a failed event has waited in the dead-letter queue too long",
        setting="dlq_age_alarm_seconds",
    ),
)


def alarm_threshold(rule: AlarmRule, spec: FunctionSpec, settings: Settings) -> float:
    """The rule's threshold for one function, in the metric's unit (ms for Duration)."""
    value = rule.threshold if rule.setting is None else getattr(settings, rule.setting)
    if not isinstance(value, int):
        raise TypeError(f"alarm rule {rule.what!r} has no threshold")
    if rule.unit == "percent-of-timeout":
        return spec.timeout * 1000 * value / 100
    return float(value)


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
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        for rule in (r for r in ALARM_RULES if r.applies_to(spec)):
            self.alarms[rule.what] = aws.cloudwatch.MetricAlarm(
                f"{name}-{rule.what}",
                name=resource_name("alarm", f"{spec.name}-{rule.what}", settings.suffix),
                alarm_description=f"{spec.name}: {rule.description}",
                namespace=NAMESPACES[rule.target],
                metric_name=rule.metric_name,
                dimensions={DIMENSIONS[rule.target]: subjects[rule.target]},
                statistic=rule.statistic,
                period=PERIOD_SECONDS,
                evaluation_periods=1,
                comparison_operator=COMPARISON,
                threshold=alarm_threshold(rule, spec, settings),
                treat_missing_data=TREAT_MISSING_DATA,
                alarm_actions=[args.topic_arn],
                ok_actions=[args.topic_arn],
                tags=cost_tags(settings, Function=spec.name),
                opts=ResourceOptions(parent=self),
            )
        self.arns = [alarm.arn for alarm in self.alarms.values()]
        self.register_outputs({"arns": self.arns})
