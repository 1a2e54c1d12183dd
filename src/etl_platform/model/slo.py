"""The pipeline's SLOs: the watchdog's place in the catalog and what the platform tells it.

Function alarms say a function failed; the pipeline SLOs say batches stopped moving.
The watchdog (``lambdas/watchdog``, a scheduled catalog function like any other)
reads recent manifests and writes the metrics of :data:`PIPELINE_METRICS`; the
pipeline alarm rows of :mod:`etl_platform.infra.components.alarms` and the dashboard's
pipeline row watch them. This module is the one home of:

- :data:`WATCHDOG`: the catalog name of that function (like a project name, a
  constant the programs share; tests import it rather than spell it);
- the period of the pipeline metrics: the watchdog's own ``rate(...)`` schedule
  (:func:`pipeline_period_seconds`), so the alarms' period cannot drift from it;
- the environment the platform gives functions for SLOs and tracing
  (:func:`slo_environment`): the same for every function (the tracing backend, the
  metrics namespace, the stage SLAs from settings), plus its interval for a function on
  a ``rate(...)`` schedule. No function is special-cased by name; the watchdog reads
  what it needs from that environment, and its stages and SLA defaults live only in
  :mod:`etl_platform.model.settings`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from etl_platform.model.catalog import SLO_ENV_VARS, Catalog, FunctionSpec

if TYPE_CHECKING:
    from etl_platform.model.settings import Settings

__all__ = [
    "PIPELINE_METRICS",
    "PIPELINE_NAMESPACE",
    "SLO_ENV_VARS",
    "WATCHDOG",
    "pipeline_period_seconds",
    "rate_seconds",
    "slo_environment",
    "stage_sla_variable",
    "watchdog_spec",
]

WATCHDOG = "watchdog"
# The EMF namespace of the pipeline's own metrics: the platform sets METRICS_NAMESPACE to
# it for every function (etl_common.metrics falls back to the same name).
PIPELINE_NAMESPACE = "EtlPipeline"
# What the watchdog emits: per waiting stage (dimension Stage), per interval (none), and
# per run the batches whose manifest is not one the pipeline wrote (none).
PIPELINE_METRICS = {
    "stage": ("StuckBatches", "WaitingBatches", "OldestWaitingSeconds"),
    "flow": (
        "BatchesReceived",
        "BatchesTransformed",
        "BatchesLoaded",
        "BatchesRejected",
        "RecordsRejected",
    ),
    "manifests": ("BadManifests",),
}

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str | None) -> int | None:
    """``rate(5 minutes)`` -> 300; ``None`` for ``cron(...)`` or no expression."""
    match = _RATE.match(expression or "")
    if not match:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


def watchdog_spec(catalog: Catalog) -> FunctionSpec | None:
    """The watchdog's catalog entry, or ``None`` when the catalog has none."""
    return next((spec for spec in catalog if spec.name == WATCHDOG), None)


def pipeline_period_seconds(spec: FunctionSpec) -> int:
    """The watchdog's interval, from its schedule; refuses a schedule without a rate."""
    seconds = rate_seconds(spec.trigger.expression) if spec.trigger.type == "schedule" else None
    if seconds is None or seconds % 60:
        raise ValueError(
            f'{spec.source}: the watchdog needs [trigger] type = "schedule" with '
            f'expression = "rate(N minutes)" (its interval is the period of the pipeline '
            f"alarms); got {spec.trigger.type} {spec.trigger.expression!r}"
        )
    return seconds


def stage_sla_variable(sla: object) -> str:
    """``{"received": 15, ...}`` or its pairs -> ``received=15,transformed=15``."""
    pairs = sla.items() if isinstance(sla, dict) else sla
    return ",".join(f"{stage}={minutes}" for stage, minutes in pairs)  # type: ignore[attr-defined]


def slo_environment(spec: FunctionSpec, settings: Settings) -> dict[str, str]:
    """:data:`SLO_ENV_VARS` for ``spec``: the tracing backend, the metrics namespace and the
    stage SLAs for every function; ``SCHEDULE_RATE_SECONDS`` for one on a ``rate(...)``
    schedule (the watchdog's must be whole minutes: :func:`pipeline_period_seconds`)."""
    variables = {
        "ETL_TRACING": settings.tracing,
        "METRICS_NAMESPACE": PIPELINE_NAMESPACE,
        "STAGE_SLA_MINUTES": stage_sla_variable(settings.stage_sla_minutes),
    }
    interval = rate_seconds(spec.trigger.expression) if spec.trigger.type == "schedule" else None
    if interval is not None:
        variables["SCHEDULE_RATE_SECONDS"] = str(interval)
    return variables
