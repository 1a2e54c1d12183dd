"""Streaming transform and load on moto S3 and a real PostgreSQL: a batch big enough
for multipart staged objects, a repeated key across parts, abort on failure, the size
limit, and conservation (received = staged + rejected + duplicates) through replays.

moto S3 does not invoke Lambda functions, so the tests play S3's part.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest
from etl_common import datasets, s3
from etl_common.errors import ObjectUnreadableError
from pipeline_factories import (
    BUCKET,
    lambda_context,
    list_keys,
    order,
    put_raw,
    query,
    read_json,
    read_jsonl,
    s3_event,
)

pytestmark = pytest.mark.functional

BATCH = "20261202T120000Z-00000000000000ff"
DATASET = datasets.get("orders")
# More valid rows than one 5 MiB part of staged CSV holds (about 110 bytes a row).
BIG = 60_000


@pytest.fixture
def pipeline(aws: Any, load_handler: Any, load_env: dict[str, str]) -> Any:
    """(transform, load) handlers, each called with the key S3 would name."""
    transform = load_handler("transform", SUPPORTED_CURRENCIES="USD,EUR,GBP")
    transform.PART_BYTES = s3.MIN_PART_BYTES  # the smallest parts S3 takes: more of them
    load = load_handler("load", **load_env)

    def run(module: Any, key: str) -> dict[str, Any]:
        (result,) = module.handler(s3_event(key), lambda_context())["batches"]
        return result

    return (lambda key: run(transform, key)), (lambda key: run(load, key)), transform


def big_batch() -> list[Any]:
    """BIG valid orders, order 0 repeated at the very end (the last part) and order 3 early
    on, and a few bad lines spread through."""
    lines: list[Any] = [order(i, amount=f"{i % 500}.25") for i in range(BIG)]
    lines.insert(10, order(3, customer_id="second-of-3"))
    lines.insert(BIG // 2, "{not json")
    lines.insert(BIG // 3, order(7, currency="XYZ"))
    lines.append(order(0, customer_id="last-of-0"))
    return lines


def conserved(counts: dict[str, Any]) -> bool:
    return counts["received"] == counts["staged"] + counts["rejected"] + counts["duplicates"]


def test_a_multipart_batch_loads_each_key_once_with_its_last_occurrence(
    pipeline, aws, postgres_server, database
):
    # GIVEN a raw batch whose staged object spans several 5 MiB parts, with order 0
    # repeated in the last part and order 3 repeated early, and two bad lines
    transform, load, _ = pipeline
    key = put_raw(aws, BATCH, big_batch())

    # WHEN transform streams it and load loads the staged object
    transformed = transform(f"{key}")
    staged_key = f"staged/{BATCH}.csv"
    staged_etag = aws.head_object(Bucket=BUCKET, Key=staged_key)["ETag"]
    loaded = load(staged_key)

    # THEN the staged object was a completed multipart upload (its ETag counts the parts)
    assert int(staged_etag.strip('"').rpartition("-")[2]) >= 2
    # AND transform staged every valid line, the load counted the two repeats as duplicates
    assert transformed == {
        "batch_id": BATCH,
        "received": BIG + 4,
        "staged": BIG + 2,
        "rejected": 2,
        "duplicates": None,
    }
    assert (loaded["loaded"], loaded["duplicates"], loaded["stale"]) == (BIG, 2, 0)
    # AND each key is in the table once, the repeated ones with their last occurrence
    assert query(postgres_server, database, "SELECT count(*) FROM orders") == [(BIG,)]
    assert query(
        postgres_server,
        database,
        "SELECT order_id, customer_id FROM orders WHERE order_id IN ('ORD-00000', 'ORD-00003')"
        " ORDER BY 1",
    ) == [("ORD-00000", "last-of-0"), ("ORD-00003", "second-of-3")]
    # AND received = staged + rejected + duplicates in the manifest and in etl_batches
    manifest = read_json(aws, f"manifests/{BATCH}.json")
    assert manifest["stage"] == "loaded"
    assert manifest["counts"] == {
        "received": BIG + 4,
        "staged": BIG,
        "rejected": 2,
        "duplicates": 2,
        "loaded": BIG,
        "stale": 0,
    }
    assert query(
        postgres_server,
        database,
        "SELECT received, staged, rejected, duplicates, loaded, stale FROM etl_batches",
    ) == [(BIG + 4, BIG, 2, 2, BIG, 0)]
    assert [r["line"] for r in read_jsonl(aws, f"rejected/{BATCH}.jsonl")] == [
        BIG // 3 + 1,
        BIG // 2 + 2,  # pushed one down by the line inserted before it
    ]


def test_the_sql_keeps_the_same_rows_as_the_in_memory_rule(
    pipeline, aws, postgres_server, database
):
    # GIVEN a batch where some orders repeat up to four times, in a shuffled order
    transform, load, transform_module = pipeline
    rng = random.Random(7)
    lines = [order(rng.randrange(40), customer_id=f"v{n}") for n in range(200)]
    key = put_raw(aws, BATCH, lines)

    # WHEN it goes through transform and load
    transform(key)
    loaded = load(f"staged/{BATCH}.csv")

    # THEN the table holds exactly what the in-memory "last occurrence wins" rule keeps
    expected, _, duplicates = transform_module.transform_lines(
        [json.dumps(line) for line in lines], BATCH, DATASET, now=datetime.now(UTC)
    )
    rows = query(postgres_server, database, "SELECT order_id, customer_id FROM orders ORDER BY 1")
    assert rows == sorted((r["order_id"], r["customer_id"]) for r in expected)
    assert loaded["duplicates"] == duplicates == 200 - len(expected)


def test_replays_of_transform_and_load_keep_the_counts_conserved(
    pipeline, aws, postgres_server, database
):
    # GIVEN a batch with a repeated order, transformed and loaded
    transform, load, _ = pipeline
    key = put_raw(aws, BATCH, [order(1), order(2), order(1, customer_id="last"), "[]"])
    transform(key)
    load(f"staged/{BATCH}.csv")
    first = read_json(aws, f"manifests/{BATCH}.json")["counts"]

    # WHEN S3 redelivers transform's event (the manifest is already loaded) ...
    transform(key)
    after_transform = read_json(aws, f"manifests/{BATCH}.json")
    # ... and then load's event again
    again = load(f"staged/{BATCH}.csv")

    # THEN the late transform did not erase the load's resolution, and the replayed load
    # passes its row check (staged + duplicates rows) and records the same counts
    assert after_transform["stage"] == "loaded"
    assert after_transform["counts"] == first
    assert first == {
        "received": 4,
        "staged": 2,
        "rejected": 1,
        "duplicates": 1,
        "loaded": 2,
        "stale": 0,
    }
    assert conserved(first)
    assert (again["loaded"], again["duplicates"]) == (2, 1)
    assert read_json(aws, f"manifests/{BATCH}.json")["counts"] == first
    assert query(postgres_server, database, "SELECT customer_id FROM orders ORDER BY order_id") == [
        ("last",),
        ("cust-2",),
    ]


def test_a_failure_mid_stream_aborts_and_leaves_no_staged_or_rejected_object(pipeline, aws):
    # GIVEN a big batch (several parts already uploaded when it fails) with rejected lines,
    # whose last line is not UTF-8
    transform, _, _ = pipeline
    text = "".join(
        (line if isinstance(line, str) else json.dumps(line)) + "\n" for line in big_batch()
    )
    body = text.encode("utf-8") + b"\xff\xfe broken\n"
    raw_key = f"raw/2026/12/02/{BATCH}.jsonl"
    aws.put_object(Bucket=BUCKET, Key=raw_key, Body=body)

    # WHEN transform streams it / THEN it raises naming the line (retry, then the DLQ) ...
    with pytest.raises(ObjectUnreadableError, match=f"not UTF-8 \\(line {BIG + 5}:"):
        transform(raw_key)

    # ... and nothing was made visible: no staged or rejected object, no manifest change,
    # and no multipart upload left open
    assert list_keys(aws, "staged/") == []
    assert list_keys(aws, "rejected/") == []
    assert list_keys(aws, "manifests/") == []
    assert aws.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_an_object_over_the_limit_is_refused_at_once_with_a_rejected_note(
    aws, load_handler, capsys
):
    # GIVEN transform configured for at most 1,000 bytes, and a raw object of more
    transform = load_handler("transform", MAX_RAW_BYTES="1000")
    key = put_raw(aws, BATCH, [order(i) for i in range(20)])
    size = aws.head_object(Bucket=BUCKET, Key=key)["ContentLength"]

    # WHEN transform runs / THEN it raises (the event reaches the DLQ and its alarm)
    with pytest.raises(transform.RawObjectTooLargeError, match="split it into several raw/"):
        transform.handler(s3_event(key), lambda_context())

    # AND the rejected/ note says the size, the limit and what to do; nothing is staged
    (note,) = read_jsonl(aws, f"rejected/{BATCH}.jsonl")
    message = note["reasons"][0]["message"]
    assert f"the raw object is {size} bytes" in message
    assert "at most 1000 bytes (MAX_RAW_BYTES)" in message
    assert list_keys(aws, "staged/") == []
    assert any(
        json.loads(line).get("message") == "raw object refused: too large"
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{")
    )


def test_a_line_longer_than_the_limit_is_rejected_and_the_rest_is_staged(pipeline, aws):
    # GIVEN a transform whose line limit is 200 bytes, and a batch with one longer line
    transform, _, module = pipeline
    module.MAX_LINE_BYTES = 200
    long_line = order(2, customer_id="c" * 500)
    key = put_raw(aws, BATCH, [order(1), long_line, order(3)])

    # WHEN transform runs
    result = transform(key)

    # THEN the long line is rejected with its length and the limit, the others are staged
    assert (result["staged"], result["rejected"]) == (2, 1)
    (rejected,) = read_jsonl(aws, f"rejected/{BATCH}.jsonl")
    length = len(json.dumps(long_line).encode())
    assert rejected["line"] == 2
    assert rejected["reasons"] == [
        {"field": None, "message": f"line is {length} bytes; the limit is 200 bytes"}
    ]
    assert s3.split_lines(json.dumps(long_line))[0].startswith(rejected["raw"][:100])
