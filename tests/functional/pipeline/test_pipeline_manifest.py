"""The manifest moves forward only, and every stage writes in an order a reader can trust."""

from __future__ import annotations

from typing import Any

import pytest
from etl_common import batches, clients, s3
from etl_common.errors import TransientError
from pipeline_factories import (
    BUCKET,
    api_event,
    body_of,
    lambda_context,
    list_keys,
    order,
    put_raw,
    read_json,
    s3_event,
)

pytestmark = pytest.mark.functional

BATCH = "20261129T084900Z-0123456789abcdef"


@pytest.fixture
def functions(aws: Any, load_handler: Any, load_env: dict[str, str]) -> dict[str, Any]:
    return {
        "ingest": load_handler("ingest-api"),
        "transform": load_handler("transform", SUPPORTED_CURRENCIES="USD"),
        "load": load_handler("load", **load_env),
    }


def run(module: Any, key: str) -> dict[str, Any]:
    return module.handler(s3_event(key), lambda_context())


def test_redelivered_raw_event_after_load_keeps_the_batch_loaded_with_its_counts(functions, aws):
    # GIVEN a batch transformed and loaded
    key = put_raw(aws, BATCH, [order(1), order(2), order(3, currency="XYZ")])
    run(functions["transform"], key)
    run(functions["load"], list_keys(aws, "staged/")[0])
    loaded = read_json(aws, f"manifests/{BATCH}.json")
    assert loaded["stage"] == "loaded"

    # WHEN S3 delivers the raw event again (transform runs again)
    run(functions["transform"], key)

    # THEN the stage did not move back and the load's counts are still there
    again = read_json(aws, f"manifests/{BATCH}.json")
    assert again["stage"] == "loaded"
    assert again["counts"] == loaded["counts"]
    assert again["counts"]["loaded"] == 2
    assert again["times"]["loaded_at"] == loaded["times"]["loaded_at"]


def test_transform_writes_the_manifest_before_staged_so_load_sees_it(functions, aws, monkeypatch):
    # GIVEN a record of every object transform writes, in order, with the manifest's stage
    # at the moment staged/ is written
    s3 = clients.get("s3")
    writes: list[tuple[str, str | None]] = []
    original = s3.put_object

    def recording_put(**kwargs: Any) -> Any:
        stage = None
        if kwargs["Key"].startswith("staged/"):
            stage = read_json(aws, f"manifests/{BATCH}.json")["stage"]
        writes.append((kwargs["Key"].split("/")[0], stage))
        return original(**kwargs)

    monkeypatch.setattr(s3, "put_object", recording_put)

    # WHEN transform runs
    run(functions["transform"], put_raw(aws, BATCH, [order(1), order(2, currency="XYZ")]))

    # THEN rejected/, then the manifest, then staged/ last, which found it "transformed"
    assert writes == [("rejected", None), ("manifests", None), ("staged", "transformed")]


def test_ingest_claims_nothing_when_the_raw_write_fails(functions, aws, monkeypatch):
    # GIVEN S3 refuses writes under raw/
    s3 = clients.get("s3")
    original = s3.put_object

    def failing_put(**kwargs: Any) -> Any:
        if kwargs["Key"].startswith("raw/"):
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "InternalError"}}, "PutObject")
        return original(**kwargs)

    monkeypatch.setattr(s3, "put_object", failing_put)

    # WHEN a batch is posted
    response = functions["ingest"].handler(
        api_event("POST", "/batches", {"records": [order(1)]}), lambda_context()
    )

    # THEN the client is told to retry, and no manifest says "received" for a batch that
    # does not exist
    assert response["statusCode"] == 503
    assert list_keys(aws, "manifests/") == []
    assert list_keys(aws, "raw/") == []


def test_transform_running_before_ingest_writes_its_manifest_is_not_undone(functions, aws):
    # GIVEN ingest wrote raw/ and S3 ran transform before ingest's manifest write happened
    # (simulated: the manifest ingest creates is create-only, so it must not overwrite)
    response = functions["ingest"].handler(
        api_event("POST", "/batches", {"records": [order(1)]}), lambda_context()
    )
    batch_id = body_of(response)["batch_id"]
    (raw_key,) = list_keys(aws, "raw/")
    run(functions["transform"], raw_key)
    # WHEN ingest's "received" manifest is written again (a retry of that step)
    written = batches.create_manifest(
        BUCKET,
        batches.Manifest.received(
            batch_id, dataset="orders", received=1, received_at="x", raw_key=raw_key
        ),
    )

    # THEN it is refused and the batch stays "transformed"
    assert written is False
    assert read_json(aws, f"manifests/{batch_id}.json")["stage"] == "transformed"


def test_concurrent_manifest_changes_are_not_lost(aws):
    # GIVEN a manifest in stage "transformed"
    bucket = BUCKET
    received = batches.Manifest.received(
        BATCH, dataset="orders", received=3, received_at="t0", raw_key="raw/k"
    )
    assert batches.create_manifest(bucket, received)
    counts = {"received": 3, "staged": 3, "rejected": 0, "duplicates": 0}

    def to_transformed(at: str) -> Any:
        return lambda current: (current or received).transformed(
            counts=counts, at=at, raw_key="raw/k", staged_key="staged/k", rejected_key=None
        )

    batches.advance_manifest(bucket, BATCH, to_transformed("t1"))

    # WHEN a load's transition races with a late transform (the transform's write lands
    # between the load's read and its write)
    calls = {"n": 0}

    def racing_load(current: Any) -> Any:
        if current is None:  # the create-only attempt, refused: the manifest exists
            return received
        calls["n"] += 1
        if calls["n"] == 1:
            batches.advance_manifest(bucket, BATCH, to_transformed("t1-late"))
        return current.loaded(counts=counts, loaded=3, stale=0, at="t2", staged_key="staged/k")

    batches.advance_manifest(bucket, BATCH, racing_load)

    # THEN the load re-read and re-applied its transition: stage loaded, nothing lost
    manifest = read_json(aws, f"manifests/{BATCH}.json")
    assert calls["n"] == 2
    assert manifest["stage"] == "loaded"
    assert manifest["counts"]["loaded"] == 3
    assert manifest["times"]["transformed_at"] == "t1-late"


def test_a_manifest_that_keeps_changing_raises_a_retryable_error(aws, monkeypatch):
    # GIVEN every conditional write loses the race
    bucket = BUCKET
    received = batches.Manifest.received(
        BATCH, dataset="orders", received=1, received_at="t", raw_key="r"
    )
    assert batches.create_manifest(bucket, received)
    monkeypatch.setattr(s3, "put_json", lambda *args, **kwargs: False)

    # WHEN a transition is applied / THEN it gives up with an error Lambda retries
    with pytest.raises(TransientError, match="kept changing"):
        batches.advance_manifest(bucket, BATCH, lambda m: m or received, attempts=3)
