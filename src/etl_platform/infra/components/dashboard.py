"""The CloudWatch dashboard ``etl-<suffix>``, built from the catalog.

Below the alarm status, the pipeline row (when the catalog has the SLO watchdog):
batches per interval, batches waiting per stage, lag (the oldest waiting batch) and
stuck batches. Then one row per function: invocations/errors/throttles, duration (p50, p95, max),
concurrent executions, and its dead-letter queue's visible messages; then one widget
per polled trigger (an SQS source queue's oldest message and backlog, a stream
mapping's iterator age); the status of every alarm is at the top. Nothing is written per
function by hand: a new catalog entry gets its row. The DLQ names come from the shared
stack (outputs), so the body is rendered with ``Output.json_dumps``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi import ComponentResource, Output, ResourceOptions

from etl_platform.infra.components.alarms import PERIOD_SECONDS
from etl_platform.model.catalog import Catalog, FunctionSpec
from etl_platform.model.naming import resource_name
from etl_platform.model.settings import WAITING_STAGES, Settings
from etl_platform.model.slo import PIPELINE_NAMESPACE, pipeline_period_seconds, watchdog_spec
from etl_platform.model.trigger_sources import trigger_source

__all__ = ["Dashboard", "DashboardArgs", "dashboard_body"]

GRID_WIDTH = 24  # CloudWatch dashboards are 24 units wide
WIDGET_WIDTH = 6
WIDGET_HEIGHT = 6
ALARMS_PER_WIDGET = 100  # CloudWatch's limit for one alarm-status widget

Widget = dict[str, Any]


def _metric_widget(
    title: str,
    metrics: list[list[Any]],
    region: str,
    x: int,
    y: int,
    stat: str = "Sum",
    period: int = PERIOD_SECONDS,
) -> Widget:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": WIDGET_WIDTH,
        "height": WIDGET_HEIGHT,
        "properties": {
            "title": title,
            "region": region,
            "view": "timeSeries",
            "stat": stat,
            "period": period,
            "metrics": metrics,
        },
    }


def _function_row(
    fn: str, function_name: str, dlq_name: pulumi.Input[str], region: str, y: int
) -> list[Widget]:
    """The four widgets of one function, side by side."""
    lam = ("AWS/Lambda", "FunctionName", function_name)

    def metric(name: str, **options: str) -> list[Any]:
        return [lam[0], name, lam[1], lam[2], *([options] if options else [])]

    return [
        _metric_widget(
            f"{fn}: invocations, errors, throttles",
            [metric("Invocations"), metric("Errors"), metric("Throttles")],
            region,
            x=0,
            y=y,
        ),
        _metric_widget(
            f"{fn}: duration (ms)",
            [
                metric("Duration", stat="p50", label="p50"),
                metric("Duration", stat="p95", label="p95"),
                metric("Duration", stat="Maximum", label="max"),
            ],
            region,
            x=WIDGET_WIDTH,
            y=y,
            stat="Maximum",
        ),
        _metric_widget(
            f"{fn}: concurrent executions",
            [metric("ConcurrentExecutions")],
            region,
            x=2 * WIDGET_WIDTH,
            y=y,
            stat="Maximum",
        ),
        _metric_widget(
            f"{fn}: dead-letter queue, visible messages",
            [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", dlq_name]],
            region,
            x=3 * WIDGET_WIDTH,
            y=y,
            stat="Maximum",
        ),
    ]


def _trigger_row(
    spec: FunctionSpec, settings: Settings, function_name: str, y: int
) -> list[Widget]:
    """A polled trigger's backlog: its SQS queue's oldest message, or the stream's lag."""
    region = settings.region
    mapping = spec.trigger.mapping
    if mapping is None:
        return []
    if mapping.stream:
        metrics = [["AWS/Lambda", "IteratorAge", "FunctionName", function_name]]
        title, stat = f"{spec.name}: {spec.trigger.type} iterator age (ms)", "Maximum"
    else:
        source = trigger_source(spec, settings, pulumi.get_stack())
        assert source is not None
        queue = ("AWS/SQS", "QueueName", source.resource_id)
        metrics = [
            [queue[0], "ApproximateAgeOfOldestMessage", queue[1], queue[2]],
            [queue[0], "ApproximateNumberOfMessagesVisible", queue[1], queue[2]],
        ]
        title, stat = f"{spec.name}: source queue, oldest message (s) and visible", "Maximum"
    return [_metric_widget(title, metrics, region, x=0, y=y, stat=stat)]


def _pipeline_row(period: int, region: str, y: int) -> list[Widget]:
    """The watchdog's metrics: batches per stage, lag, stuck (Maximum: reruns do not add)."""
    ns = PIPELINE_NAMESPACE

    def staged(name: str) -> list[list[Any]]:
        return [[ns, name, "Stage", stage, {"label": stage}] for stage in WAITING_STAGES]

    flow = ("BatchesReceived", "BatchesTransformed", "BatchesLoaded", "BatchesRejected")
    return [
        _metric_widget(
            "pipeline: batches per interval",
            [[ns, name, {"label": name.removeprefix("Batches").lower()}] for name in flow],
            region,
            x=0,
            y=y,
            stat="Maximum",
            period=period,
        ),
        _metric_widget(
            "pipeline: batches waiting per stage",
            staged("WaitingBatches"),
            region,
            x=WIDGET_WIDTH,
            y=y,
            stat="Maximum",
            period=period,
        ),
        _metric_widget(
            "pipeline: lag, oldest waiting batch (s)",
            staged("OldestWaitingSeconds"),
            region,
            x=2 * WIDGET_WIDTH,
            y=y,
            stat="Maximum",
            period=period,
        ),
        _metric_widget(
            "pipeline: stuck batches (past the stage SLA)",
            staged("StuckBatches"),
            region,
            x=3 * WIDGET_WIDTH,
            y=y,
            stat="Maximum",
            period=period,
        ),
    ]


def _alarm_widgets(alarm_arns: Sequence[pulumi.Input[str]], region: str) -> list[Widget]:
    """Alarm-status widgets across the top, at most 100 alarms each."""
    chunks = [
        list(alarm_arns[i : i + ALARMS_PER_WIDGET])
        for i in range(0, len(alarm_arns), ALARMS_PER_WIDGET)
    ]
    return [
        {
            "type": "alarm",
            "x": 0,
            "y": index * WIDGET_HEIGHT,
            "width": GRID_WIDTH,
            "height": WIDGET_HEIGHT,
            "properties": {
                "title": "Alarm status" if len(chunks) == 1 else f"Alarm status ({index + 1})",
                "region": region,
                "alarms": chunk,
            },
        }
        for index, chunk in enumerate(chunks)
    ]


def dashboard_body(
    catalog: Catalog,
    settings: Settings,
    dlq_names: Mapping[str, pulumi.Input[str]],
    alarm_arns: Sequence[pulumi.Input[str]],
) -> dict[str, Any]:
    """The dashboard as a dict (values may be Outputs): alarm status, then one row a function."""
    widgets = _alarm_widgets(alarm_arns, settings.region)
    top = len(widgets) * WIDGET_HEIGHT
    watchdog = watchdog_spec(catalog)
    if watchdog is not None:
        widgets += _pipeline_row(pipeline_period_seconds(watchdog), settings.region, y=top)
        top += WIDGET_HEIGHT
    for row, spec in enumerate(catalog):
        widgets += _function_row(
            spec.name,
            resource_name("lambda", spec.name, settings.suffix),
            dlq_names[spec.name],
            settings.region,
            y=top + row * WIDGET_HEIGHT,
        )
    top += len(catalog) * WIDGET_HEIGHT
    for spec in catalog:  # below the function rows: each polled trigger's backlog
        row_widgets = _trigger_row(
            spec, settings, resource_name("lambda", spec.name, settings.suffix), y=top
        )
        widgets += row_widgets
        top += WIDGET_HEIGHT if row_widgets else 0
    return {"widgets": widgets}


@dataclass(frozen=True)
class DashboardArgs:
    """The catalog, the settings, each function's DLQ name and every alarm's ARN."""

    catalog: Catalog
    settings: Settings
    dlq_names: Mapping[str, pulumi.Input[str]]
    alarm_arns: Sequence[pulumi.Input[str]]


class Dashboard(ComponentResource):
    """``etl-<suffix>``: the platform at a glance (dashboards carry no tags in AWS)."""

    dashboard_name: Output[str]

    def __init__(self, name: str, args: DashboardArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("etl:dashboard:Dashboard", name, None, opts)
        body = dashboard_body(args.catalog, args.settings, args.dlq_names, args.alarm_arns)
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=resource_name("etl", "", args.settings.suffix),
            dashboard_body=Output.json_dumps(body),
            opts=ResourceOptions(parent=self),
        )
        self.dashboard_name = self.dashboard.dashboard_name
        self.register_outputs({"dashboardName": self.dashboard_name})
