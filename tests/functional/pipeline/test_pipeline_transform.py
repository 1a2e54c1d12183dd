"""transform against moto S3: staged, rejected and manifest outputs, and its failures."""

from __future__ import annotations

import re
from typing import Any

import pytest
from etl_common.errors import ObjectUnreadableError, UnexpectedObjectKeyError
from pipeline_factories import (
    BUCKET,
    DROP,
    future_timestamp,
    lambda_context,
    list_keys,
    order,
    put_raw,
    read_json,
    read_jsonl,
    read_staged,
    read_text,
    s3_event,
)

pytestmark = pytest.mark.functional

BATCH = "20261129T084900Z-0123456789abcdef"


@pytest.fixture
def transform(aws: Any, load_handler: Any) -> Any:
    """Invoke transform with an S3 event for ``key``."""
    module = load_handler("transform", SUPPORTED_CURRENCIES="USD,EUR,GBP")

    def call(key: str) -> dict[str, Any]:
        return module.handler(s3_event(key), lambda_context("transform"))

    return call


def test_valid_batch_is_normalized_into_staged_with_a_manifest(transform, aws):
    # GIVEN a raw batch of two valid orders, one in another offset and one without items
    key = put_raw(
        aws,
        BATCH,
        [
            order(1, amount="19.99", created_at="2026-01-15T10:30:00+01:00"),
            order(2, amount=7, created_at="2026-01-15T23:59:59.5-05:00", items=DROP),
        ],
        metadata={"received-at": "2026-11-29T08:49:00.000Z", "dataset": "orders"},
    )

    # WHEN transform runs on its S3 event
    result = transform(key)

    # THEN staged rows are normalized: integer cents, UTC with Z, item count, batch id
    assert result == {
        "batches": [
            {"batch_id": BATCH, "received": 2, "staged": 2, "rejected": 0, "duplicates": None}
        ]
    }
    assert read_staged(aws, f"staged/{BATCH}.csv") == [
        {
            "order_id": "ORD-00001",
            "customer_id": "cust-1",
            "amount_cents": 1999,
            "currency": "USD",
            "created_at": "2026-01-15T09:30:00Z",
            "item_count": 1,
            "batch_id": BATCH,
            "batch_received_at": "2026-11-29T08:49:00.000Z",
            "raw_line": 1,
        },
        {
            "order_id": "ORD-00002",
            "customer_id": "cust-2",
            "amount_cents": 700,
            "currency": "USD",
            "created_at": "2026-01-16T04:59:59.500000Z",
            "item_count": 0,
            "batch_id": BATCH,
            "batch_received_at": "2026-11-29T08:49:00.000Z",
            "raw_line": 2,
        },
    ]
    # AND no rejected object, and a manifest in stage "transformed"
    assert list_keys(aws, "rejected/") == []
    manifest = read_json(aws, f"manifests/{BATCH}.json")
    assert manifest["stage"] == "transformed"
    assert manifest["counts"] == {
        "received": 2,
        "staged": 2,
        "rejected": 0,
        "duplicates": None,  # resolved (and counted) by the load
        "loaded": None,
        "stale": None,
    }
    assert manifest["times"]["received_at"] == "2026-11-29T08:49:00.000Z"
    assert manifest["times"]["transformed_at"]
    assert manifest["rejected_key"] is None
    assert manifest["staged_key"] == f"staged/{BATCH}.csv"


def test_bad_lines_are_rejected_with_reasons_and_nothing_is_lost(transform, aws):
    # GIVEN a raw batch mixing good lines, every kind of bad line, and a repeated order
    lines = [
        order(1),
        "{this is not json",
        order(2, currency="XYZ"),  # unsupported currency (business rule)
        order(3, created_at=future_timestamp(minutes=30)),  # too far in the future
        order(4, amount="-1"),  # schema violation (could arrive via a backfill)
        "",  # an empty line
        order(5, customer_id="first"),
        order(5, customer_id="last"),  # duplicate: the last occurrence wins
        [1, 2, 3],
    ]
    key = put_raw(aws, BATCH, lines)

    # WHEN transform runs
    (counts,) = transform(key)["batches"]

    # THEN received = staged + rejected (the load resolves the repeated order later)
    assert counts == {
        "batch_id": BATCH,
        "received": 9,
        "staged": 3,
        "rejected": 6,
        "duplicates": None,
    }
    assert counts["received"] == counts["staged"] + counts["rejected"]
    # AND every valid line is staged with its raw line number, for the load to keep the last
    staged = read_staged(aws, f"staged/{BATCH}.csv")
    assert [(r["order_id"], r["customer_id"], r["raw_line"]) for r in staged] == [
        ("ORD-00001", "cust-1", 1),
        ("ORD-00005", "first", 7),
        ("ORD-00005", "last", 8),
    ]
    # AND each rejected line is kept verbatim with its line number and reasons
    rejected = read_jsonl(aws, f"rejected/{BATCH}.jsonl")
    assert [r["line"] for r in rejected] == [2, 3, 4, 5, 6, 9]
    assert rejected[0]["raw"] == "{this is not json"
    assert rejected[0]["reasons"][0]["message"].startswith("not valid JSON")
    assert rejected[1]["reasons"] == [
        {"field": "currency", "message": "currency XYZ is not supported; use one of USD, EUR, GBP"}
    ]
    assert rejected[2]["reasons"] == [
        {"field": "created_at", "message": "must not be more than 5 minutes in the future"}
    ]
    assert rejected[3]["reasons"] == [{"field": "amount", "message": "must not be negative"}]
    assert rejected[4]["reasons"] == [{"field": None, "message": "empty line"}]
    assert rejected[5]["reasons"] == [
        {"field": None, "message": "must be a JSON object, not array"}
    ]
    # AND the manifest points at the rejected object with the same counts
    manifest = read_json(aws, f"manifests/{BATCH}.json")
    assert manifest["rejected_key"] == f"rejected/{BATCH}.jsonl"
    assert manifest["counts"]["rejected"] == 6
    assert manifest["counts"]["duplicates"] is None


def test_url_encoded_key_of_a_backfill_batch_is_decoded(transform, aws):
    # GIVEN a backfill dropped a raw object whose name has a ':' (S3 events encode it as %3A)
    batch_id = "backfill:2026-11-29"
    key = put_raw(aws, batch_id, [order(1)])
    event_key = s3_event(key)["Records"][0]["s3"]["object"]["key"]
    assert "%3A" in event_key

    # WHEN transform runs on the encoded event
    (counts,) = transform(key)["batches"]

    # THEN it read the real object and wrote the outputs under the decoded batch id
    assert counts["batch_id"] == batch_id
    assert counts["staged"] == 1
    assert list_keys(aws, "staged/") == [f"staged/{batch_id}.csv"]
    assert read_json(aws, f"manifests/{batch_id}.json")["raw_key"] == key


def test_key_with_plus_encoded_space_is_decoded(aws, load_handler):
    # GIVEN an S3 event key where a space was encoded as '+' (S3's form encoding)
    module = load_handler("transform")
    event = s3_event("raw/2026/11/29/x.jsonl")
    event["Records"][0]["s3"]["object"]["key"] = "raw/2026/11/29/my+batch.jsonl"

    # WHEN transform runs / THEN it refuses the decoded key "my batch" as outside the layout
    with pytest.raises(
        UnexpectedObjectKeyError, match=re.escape("'raw/2026/11/29/my batch.jsonl'")
    ):
        module.handler(event, lambda_context())


def test_missing_object_raises_so_lambda_retries(transform, aws):
    # GIVEN an event for an object that does not exist (yet)
    # WHEN transform runs / THEN it raises (retry, then DLQ) and writes nothing
    with pytest.raises(ObjectUnreadableError, match="NoSuchKey"):
        transform(f"raw/2026/11/29/{BATCH}.jsonl")
    assert list_keys(aws) == []


def test_object_that_is_not_utf8_raises(transform, aws):
    # GIVEN a raw object that is not UTF-8 text
    key = f"raw/2026/11/29/{BATCH}.jsonl"
    aws.put_object(Bucket=BUCKET, Key=key, Body=b"\xff\xfe\x00garbage")

    # WHEN transform runs / THEN it raises and writes nothing
    with pytest.raises(ObjectUnreadableError, match="not UTF-8"):
        transform(key)
    assert list_keys(aws, "staged/") == []
    assert list_keys(aws, "manifests/") == []


def test_key_outside_the_layout_raises_so_the_event_reaches_the_dlq(transform, aws):
    # GIVEN an object under raw/ that does not follow raw/YYYY/MM/DD/<batch_id>.jsonl
    aws.put_object(Bucket=BUCKET, Key="raw/notes.txt", Body=b"hello")

    # WHEN transform runs / THEN it raises naming the key and the expected layout
    with pytest.raises(
        UnexpectedObjectKeyError, match=re.escape("raw/YYYY/MM/DD/<batch_id>.jsonl")
    ):
        transform("raw/notes.txt")


def test_retry_overwrites_the_same_outputs(transform, aws):
    # GIVEN a batch transformed once
    key = put_raw(aws, BATCH, [order(1), order(2, currency="XYZ")])
    transform(key)
    keys = list_keys(aws)
    staged = read_text(aws, f"staged/{BATCH}.csv")
    rejected = read_text(aws, f"rejected/{BATCH}.jsonl")

    # WHEN Lambda retries the same event
    transform(key)

    # THEN the same keys hold the same content: nothing duplicated
    assert list_keys(aws) == keys
    assert read_text(aws, f"staged/{BATCH}.csv") == staged
    assert read_text(aws, f"rejected/{BATCH}.jsonl") == rejected


def test_default_currencies_apply_when_the_setting_is_absent(aws, load_handler, monkeypatch):
    # GIVEN no SUPPORTED_CURRENCIES in the environment
    monkeypatch.delenv("SUPPORTED_CURRENCIES", raising=False)
    module = load_handler("transform")
    key = put_raw(aws, BATCH, [order(1, currency="EUR"), order(2, currency="JPY")])

    # WHEN transform runs
    (counts,) = module.handler(s3_event(key), lambda_context())["batches"]

    # THEN the default list (USD, EUR, GBP) is used
    assert module.SUPPORTED_CURRENCIES == ("USD", "EUR", "GBP")
    assert (counts["staged"], counts["rejected"]) == (1, 1)


def test_non_create_events_are_ignored(transform, aws, load_handler):
    # GIVEN a delete notification / WHEN transform receives it / THEN it does nothing
    module = load_handler("transform")
    event = s3_event(f"raw/2026/11/29/{BATCH}.jsonl", event_name="ObjectRemoved:Delete")
    assert module.handler(event, lambda_context()) == {"batches": []}
    assert list_keys(aws) == []
