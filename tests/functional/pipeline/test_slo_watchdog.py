"""The SLO watchdog against moto S3: stuck batches are found, fresh ones are not flagged,
the metrics come out in CloudWatch's embedded metric format, and the cost is bounded.

The watchdog is found in the catalog by its role (:data:`etl_platform.model.slo.WATCHDOG`),
not by a name written here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from etl_common import batches
from pipeline_factories import BUCKET, lambda_context

from etl_platform.model.catalog import load_catalog
from etl_platform.model.settings import WAITING_STAGES
from etl_platform.model.slo import PIPELINE_METRICS, WATCHDOG, stage_sla_variable

pytestmark = pytest.mark.functional

SLA = {"received": 15, "transformed": 15}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _plant(
    s3: Any,
    batch_id: str,
    *,
    day: datetime,
    stage: str | None,
    times: dict[str, datetime] | None = None,
    rejected: int = 0,
) -> None:
    """A raw object under the day prefix and (unless ``stage`` is None) its manifest,
    built through the pipeline's one manifest type, stage by stage."""
    raw = f"raw/{day:%Y/%m/%d}/{batch_id}.jsonl"
    s3.put_object(Bucket=BUCKET, Key=raw, Body=b"{}\n")
    if stage is None:
        return
    at = {k: _iso(v) for k, v in (times or {}).items()}
    manifest = batches.Manifest.received(
        batch_id, dataset="orders", received=3, received_at=at["received_at"], raw_key=raw
    )
    counts = {"received": 3, "staged": 3 - rejected, "rejected": rejected, "duplicates": 0}
    if stage in ("transformed", "loaded"):
        manifest = manifest.transformed(
            counts=counts,
            at=at["transformed_at"],
            raw_key=raw,
            staged_key=batches.staged_key(batch_id),
            rejected_key=batches.rejected_key(batch_id) if rejected else None,
        )
    if stage == "loaded":
        manifest = manifest.loaded(
            counts=counts,
            loaded=3 - rejected,
            stale=0,
            at=at["loaded_at"],
            staged_key=batches.staged_key(batch_id),
        )
    body = json.dumps(manifest.to_json())
    s3.put_object(Bucket=BUCKET, Key=batches.manifest_key(batch_id), Body=body)


def _emf_lines(out: str) -> list[dict[str, Any]]:
    docs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [doc for doc in docs if "_aws" in doc]


@pytest.fixture
def watchdog(load_handler: Any) -> Any:
    spec = load_catalog().get(WATCHDOG)
    assert spec.trigger.type == "schedule"
    return load_handler(
        spec.name,
        STAGE_SLA_MINUTES=stage_sla_variable(SLA),
        SCHEDULE_RATE_SECONDS="300",
        LOOKBACK_HOURS="24",
    )


def test_watchdog_flags_the_stuck_batches_and_not_the_fresh_ones(
    aws: Any, watchdog: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN, as of `now`: a batch waiting in transformed for 40 minutes (load's trigger
    # broke), one received 40 minutes ago and never transformed, a fresh one received 2
    # minutes ago, one loaded long ago, and a batch stuck 3 days ago (outside the lookback)
    now = datetime.now(UTC)
    _plant(
        aws,
        "stuck-transformed",
        day=now,
        stage="transformed",
        times={
            "received_at": now - timedelta(minutes=45),
            "transformed_at": now - timedelta(minutes=40),
        },
        rejected=1,
    )
    _plant(
        aws,
        "stuck-received",
        day=now,
        stage="received",
        times={"received_at": now - timedelta(minutes=40)},
    )
    _plant(
        aws, "fresh", day=now, stage="received", times={"received_at": now - timedelta(minutes=2)}
    )
    _plant(
        aws,
        "done",
        day=now,
        stage="loaded",
        times={
            "received_at": now - timedelta(minutes=30),
            "transformed_at": now - timedelta(minutes=29),
            "loaded_at": now - timedelta(minutes=28),
        },
    )
    old_day = now - timedelta(days=3)
    _plant(aws, "ancient", day=old_day, stage="received", times={"received_at": old_day})

    # WHEN the watchdog runs (as Lambda's schedule would invoke it)
    result = watchdog.handler({"source": "aws.events"}, lambda_context(WATCHDOG))

    # THEN exactly the two batches past their stage's SLA are stuck; the fresh one waits
    assert result["stuck"] == {"received": ["stuck-received"], "transformed": ["stuck-transformed"]}
    assert result["waiting"] == {"received": 2, "transformed": 1}
    # AND the batch outside the lookback window was never looked at (bounded cost)
    assert result["batches"] == 4

    # AND the metrics are EMF documents CloudWatch can extract
    docs = _emf_lines(capsys.readouterr().out)
    by_stage = {doc["Stage"]: doc for doc in docs if "Stage" in doc}
    for stage in ("received", "transformed"):
        doc = by_stage[stage]
        directive = doc["_aws"]["CloudWatchMetrics"][0]
        assert directive["Dimensions"] == [["Stage"]]
        names = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
        assert names == {
            "StuckBatches": "Count",
            "WaitingBatches": "Count",
            "OldestWaitingSeconds": "Seconds",
        }
        assert isinstance(doc["_aws"]["Timestamp"], int)
        for name in names:
            assert isinstance(doc[name], (int, float))
    assert by_stage["received"]["StuckBatches"] == 1
    assert by_stage["transformed"]["StuckBatches"] == 1
    assert 40 * 60 <= by_stage["received"]["OldestWaitingSeconds"] < 41 * 60
    (flow,) = [doc for doc in docs if "BatchesReceived" in doc]
    assert flow["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[]]
    # AND they are the metrics the platform's alarms and dashboard watch, stage by stage
    assert set(by_stage) == set(WAITING_STAGES) == set(watchdog.WAITING_STAGES)
    for doc in by_stage.values():
        emitted = [m["Name"] for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
        assert tuple(emitted) == PIPELINE_METRICS["stage"]
    emitted = [m["Name"] for m in flow["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    assert tuple(emitted) == PIPELINE_METRICS["flow"]
    # the flow document reports one aligned 5-minute interval, stamped with its start
    start = datetime.fromisoformat(flow["interval_start"].replace("Z", "+00:00"))
    assert flow["_aws"]["Timestamp"] == int(start.timestamp() * 1000)
    assert start.timestamp() % 300 == 0


def test_a_batch_without_a_manifest_waits_in_received_since_its_upload(
    aws: Any, watchdog: Any
) -> None:
    # GIVEN a raw object whose manifest was never written
    now = datetime.now(UTC)
    _plant(aws, "no-manifest", day=now, stage=None)

    # WHEN the watchdog looks now, and again 20 minutes later
    soon = watchdog.run(BUCKET, now + timedelta(minutes=1))
    later = watchdog.run(BUCKET, now + timedelta(minutes=20))

    # THEN it is waiting at first, and stuck once past the received SLA
    assert soon["waiting"]["received"] == 1 and soon["stuck"]["received"] == []
    assert later["stuck"]["received"] == ["no-manifest"]


def test_flow_counts_the_last_complete_interval_and_a_rerun_gives_the_same_numbers(
    aws: Any, watchdog: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a clock at 12:07 and batches that moved at 12:01, 12:03 and 11:58
    now = datetime.now(UTC).replace(hour=12, minute=7, second=0, microsecond=0)
    at = now.replace(minute=0)
    _plant(
        aws,
        "in-window",
        day=now,
        stage="loaded",
        times={
            "received_at": at + timedelta(minutes=1),
            "transformed_at": at + timedelta(minutes=2),
            "loaded_at": at + timedelta(minutes=3),
        },
        rejected=2,
    )
    _plant(
        aws, "before", day=now, stage="received", times={"received_at": at - timedelta(minutes=2)}
    )

    # WHEN the watchdog runs twice for the same moment (a retry)
    first = watchdog.run(BUCKET, now)
    second = watchdog.run(BUCKET, now)

    # THEN the interval 12:00-12:05 holds one batch received, transformed (with 2
    # rejected records) and loaded, and both runs report the same datapoint
    assert first["flow"] == {
        "BatchesReceived": 1,
        "BatchesTransformed": 1,
        "BatchesLoaded": 1,
        "BatchesRejected": 1,
        "RecordsRejected": 2,
    }
    assert second == first
    flows = [d for d in _emf_lines(capsys.readouterr().out) if "BatchesReceived" in d]
    assert len(flows) == 2
    assert flows[0]["_aws"]["Timestamp"] == flows[1]["_aws"]["Timestamp"]


def test_day_prefixes_cover_the_lookback_only(watchdog: Any) -> None:
    now = datetime(2026, 11, 29, 0, 30, tzinfo=UTC)
    assert watchdog.day_prefixes(now, 24) == ["raw/2026/11/28/", "raw/2026/11/29/"]
    assert watchdog.day_prefixes(now, 1) == ["raw/2026/11/28/", "raw/2026/11/29/"]
    assert watchdog.day_prefixes(now.replace(hour=5), 1) == ["raw/2026/11/29/"]


def test_a_bad_sla_variable_says_what_is_wrong(watchdog: Any) -> None:
    with pytest.raises(Exception, match="stage=minutes"):
        watchdog.parse_sla("loaded=5")
