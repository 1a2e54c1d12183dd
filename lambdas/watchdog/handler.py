"""watchdog: the pipeline's SLO metrics, from the manifests of recent batches (scheduled).

Function alarms say a function failed; they stay silent when nothing fails but
nothing moves either (an upstream stops sending, an event is dropped, load's
trigger breaks and a batch waits in ``transformed``). Every run of this function
looks at the batches of the last ``LOOKBACK_HOURS`` and writes embedded-metric-format
lines (namespace ``METRICS_NAMESPACE``) that the pipeline alarms watch:

- per waiting stage (dimension ``Stage`` = ``received`` | ``transformed``):
  ``StuckBatches`` (batches in that stage for longer than its SLA),
  ``WaitingBatches`` and ``OldestWaitingSeconds`` (the age of the oldest batch
  waiting there; 0 when none waits);
- per interval (no dimension), for the last complete interval of
  ``SCHEDULE_RATE_SECONDS`` aligned to the clock: ``BatchesReceived``,
  ``BatchesTransformed``, ``BatchesLoaded``, ``BatchesRejected`` (batches
  transformed with at least one rejected line) and ``RecordsRejected``;
- ``BadManifests`` (no dimension): batches whose manifest is not one the pipeline
  wrote (not UTF-8, not JSON, empty, truncated, or JSON of another shape). Such a
  batch is logged once per run with its manifest key and the reason, counted as
  waiting in ``received`` since its raw object's time (so the stuck alarm sees it
  too), and every other batch is reported as usual: one bad object never blinds the run.

Cost does not grow with history: batches are found by listing only the day
prefixes ``raw/YYYY/MM/DD/`` (ingest's date layout, UTC) that overlap the
lookback window (two prefixes with the default 24 hours), then reading each of
those batches' ``manifests/<batch_id>.json`` through the pipeline's one manifest
type (:class:`etl_common.batches.Manifest`). A batch whose raw object exists but
whose manifest does not (yet) is waiting in ``received`` since the raw object's
last-modified time. A batch still waiting when it leaves the lookback window leaves
the watchdog's view: by then its stuck alarm has paged for hours.

Idempotent: a run writes nothing to S3 and computes the same numbers for the same
moment. The per-interval counts are stamped with their interval's start, so a
retried or repeated run for the same interval lands on the same datapoint: read
them with ``Maximum`` (the dashboard) or as "at least one" (the freshness alarm),
never as a ``Sum`` of runs.

Environment variables (read once at import):

- ``DATA_BUCKET``: the data bucket (set by the platform).
- ``STAGE_SLA_MINUTES``: ``received=15,transformed=15``, every waiting stage (set by
  the platform from ``etl:stageSlaMinutes``, whose defaults live in the platform's
  settings, not here; required).
- ``SCHEDULE_RATE_SECONDS``: the schedule's interval (set by the platform from the
  catalog entry's ``rate(...)``; required).
- ``LOOKBACK_HOURS``: how far back batches are examined (default 24, 1 to 168).
- ``METRICS_NAMESPACE``, ``LOG_LEVEL``: as for every function.

S3 access: lists ``raw/`` key names (bucket-level ``s3:ListBucket``); reads
``manifests/``. It never writes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from etl_common import batches, clients, logger, metrics, runtime
from etl_common.config import env_int, env_str
from etl_common.errors import ConfigurationError, TransientError

__all__ = [
    "BAD_MANIFESTS_METRIC",
    "WAITING_STAGES",
    "BatchState",
    "Report",
    "assess",
    "day_prefixes",
    "handler",
    "parse_sla",
    "run",
]

FUNCTION = "watchdog"
# The stages a batch waits in (every manifest stage but the last), and the manifest time
# that says when it entered each: both from the manifest's one type (etl_common.batches).
WAITING_STAGES = dict(zip(batches.STAGES[:-1], batches.TIMES[:-1], strict=True))
BAD_MANIFESTS_METRIC = "BadManifests"


def parse_sla(raw: str) -> dict[str, int]:
    """``"received=15,transformed=20"`` -> minutes per waiting stage (every one given)."""
    sla: dict[str, int] = {}
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        stage, _, minutes = item.partition("=")
        stage = stage.strip()
        if stage not in WAITING_STAGES or not minutes.strip().isdigit():
            raise ConfigurationError(
                f"STAGE_SLA_MINUTES={raw!r}: expected 'stage=minutes' items with stage in "
                f"{', '.join(WAITING_STAGES)} (set etl:stageSlaMinutes and redeploy)"
            )
        sla[stage] = int(minutes)
        if sla[stage] < 1:
            raise ConfigurationError(f"STAGE_SLA_MINUTES={raw!r}: minutes must be at least 1")
    missing = [stage for stage in WAITING_STAGES if stage not in sla]
    if missing:
        raise ConfigurationError(
            f"STAGE_SLA_MINUTES={raw!r}: no SLA for {', '.join(missing)}; the platform sets "
            "every stage's (etl:stageSlaMinutes and its defaults): redeploy the function"
        )
    return sla


DATA_BUCKET = env_str("DATA_BUCKET")
SLA_MINUTES = parse_sla(env_str("STAGE_SLA_MINUTES"))
INTERVAL_SECONDS = env_int("SCHEDULE_RATE_SECONDS", 0, minimum=60, maximum=86_400)
if not INTERVAL_SECONDS:
    raise ConfigurationError(
        "SCHEDULE_RATE_SECONDS is not set; the platform sets it from the catalog entry's "
        "rate(...) schedule: redeploy the function"
    )
LOOKBACK_HOURS = env_int("LOOKBACK_HOURS", 24, minimum=1, maximum=168)

_log = logger.get_logger("etl.watchdog")


@dataclass(frozen=True)
class BatchState:
    """What the watchdog needs of one batch: its stage, when it entered each, its rejects."""

    batch_id: str
    stage: str
    times: Mapping[str, datetime | None]
    rejected: int = 0
    bad_manifest: bool = False


@dataclass(frozen=True)
class Report:
    """The numbers of one run: per waiting stage, and for the last complete interval."""

    stuck: dict[str, list[str]]
    waiting: dict[str, int]
    oldest_seconds: dict[str, float]
    interval_start: datetime
    interval_end: datetime
    flow: dict[str, int]
    bad_manifests: list[str]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (``handler.handler``)."""
    with runtime.invocation(FUNCTION, context):
        if not DATA_BUCKET:
            raise ConfigurationError("DATA_BUCKET is not set (the platform sets it)")
        return run(DATA_BUCKET, datetime.now(UTC))


def run(bucket: str, now: datetime) -> dict[str, Any]:
    """One watchdog pass over ``bucket`` as of ``now``: emit the metrics, log stuck batches."""
    states = list(_recent_batches(bucket, now))
    report = assess(states, now, sla_minutes=SLA_MINUTES, interval_seconds=INTERVAL_SECONDS)
    _emit(report, now)
    for stage, ids in report.stuck.items():
        if ids:
            _log.warning(
                "batches stuck",
                extra={
                    "stage": stage,
                    "sla_minutes": SLA_MINUTES[stage],
                    "stuck": len(ids),
                    "batch_ids": ids[:20],
                },
            )
    _log.info(
        "watchdog run",
        extra={
            "batches": len(states),
            "flow": report.flow,
            "bad_manifests": len(report.bad_manifests),
        },
    )
    return {
        "batches": len(states),
        "stuck": report.stuck,
        "waiting": report.waiting,
        "flow": report.flow,
        "bad_manifests": report.bad_manifests,
    }


def assess(
    states: list[BatchState],
    now: datetime,
    *,
    sla_minutes: Mapping[str, int],
    interval_seconds: int,
) -> Report:
    """Pure core: stuck, waiting and oldest per waiting stage; flow of the last interval."""
    stuck: dict[str, list[str]] = {stage: [] for stage in WAITING_STAGES}
    waiting = dict.fromkeys(WAITING_STAGES, 0)
    oldest = dict.fromkeys(WAITING_STAGES, 0.0)
    epoch = int(now.timestamp())
    end = datetime.fromtimestamp(epoch - epoch % interval_seconds, UTC)
    start = end - timedelta(seconds=interval_seconds)
    flow = dict.fromkeys(
        (
            "BatchesReceived",
            "BatchesTransformed",
            "BatchesLoaded",
            "BatchesRejected",
            "RecordsRejected",
        ),
        0,
    )

    def within(moment: datetime | None) -> bool:
        return moment is not None and start <= moment < end

    bad: list[str] = []
    for state in sorted(states, key=lambda s: s.batch_id):
        if state.bad_manifest:
            bad.append(state.batch_id)
        if state.stage in WAITING_STAGES:
            since = state.times.get(WAITING_STAGES[state.stage])
            age = max(0.0, (now - since).total_seconds()) if since else 0.0
            waiting[state.stage] += 1
            oldest[state.stage] = max(oldest[state.stage], age)
            if age > sla_minutes[state.stage] * 60:
                stuck[state.stage].append(state.batch_id)
        if within(state.times.get("received_at")):
            flow["BatchesReceived"] += 1
        if within(state.times.get("transformed_at")):
            flow["BatchesTransformed"] += 1
            if state.rejected:
                flow["BatchesRejected"] += 1
                flow["RecordsRejected"] += state.rejected
        if within(state.times.get("loaded_at")):
            flow["BatchesLoaded"] += 1
    return Report(stuck, waiting, oldest, start, end, flow, bad)


def _emit(report: Report, now: datetime) -> None:
    for stage in WAITING_STAGES:
        metrics.emit(
            {
                "StuckBatches": len(report.stuck[stage]),
                "WaitingBatches": report.waiting[stage],
                "OldestWaitingSeconds": round(report.oldest_seconds[stage], 3),
            },
            dimensions={"Stage": stage},
            units={"OldestWaitingSeconds": "Seconds"},
            timestamp=now,
        )
    metrics.emit(
        {BAD_MANIFESTS_METRIC: len(report.bad_manifests)},
        dimensions={},
        properties={"bad_manifest_batch_ids": report.bad_manifests[:20]},
        timestamp=now,
    )
    metrics.emit(
        dict(report.flow),
        dimensions={},
        properties={
            "interval_start": batches.utc_now_iso(report.interval_start),
            "interval_end": batches.utc_now_iso(report.interval_end),
        },
        timestamp=report.interval_start,
    )


# ----------------------------------------------------------------------------- S3 reads


def day_prefixes(now: datetime, lookback_hours: int) -> list[str]:
    """``raw/YYYY/MM/DD/`` for every UTC day overlapping ``[now - lookback, now]``."""
    first = (now - timedelta(hours=lookback_hours)).astimezone(UTC).date()
    last = now.astimezone(UTC).date()
    days = (last - first).days
    return [f"raw/{first + timedelta(days=n):%Y/%m/%d}/" for n in range(days + 1)]


def _recent_batches(bucket: str, now: datetime) -> Iterator[BatchState]:
    horizon = now - timedelta(hours=LOOKBACK_HOURS)
    for prefix in day_prefixes(now, LOOKBACK_HOURS):
        for key, modified in _list(bucket, prefix):
            batch_id = batches.parse_raw_key(key)
            if batch_id is None or modified < horizon:
                continue
            yield _state(bucket, batch_id, modified)


def _list(bucket: str, prefix: str) -> Iterator[tuple[str, datetime]]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        pages = (
            clients.get("s3")
            .get_paginator("list_objects_v2")
            .paginate(Bucket=bucket, Prefix=prefix)
        )
        for page in pages:
            for item in page.get("Contents") or []:
                yield str(item["Key"]), item["LastModified"]
    except (BotoCoreError, ClientError) as exc:
        raise TransientError(f"cannot list s3://{bucket}/{prefix}: {exc}") from exc


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _state(bucket: str, batch_id: str, raw_modified: datetime) -> BatchState:
    """A batch's stored manifest (read through the one manifest type) as a
    :class:`BatchState`; no manifest yet means ``received`` since the raw upload, and so
    does a bad one, which is also flagged (``BadManifests``) and logged with its key."""
    try:
        manifest = batches.read_manifest(bucket, batch_id)
    except batches.BadManifestError as exc:
        _log.warning(
            "bad manifest; counted as received and in BadManifests",
            extra={"batch_id": batch_id, "key": exc.key, "reason": exc.reason},
        )
        return BatchState(batch_id, "received", {"received_at": raw_modified}, bad_manifest=True)
    if manifest is None:
        return BatchState(batch_id, "received", {"received_at": raw_modified})
    times = {name: _time(value) for name, value in manifest.times.items()}
    if times.get("received_at") is None:
        times["received_at"] = raw_modified
    rejected = manifest.counts.get("rejected")
    return BatchState(batch_id, manifest.stage, times, rejected or 0)
