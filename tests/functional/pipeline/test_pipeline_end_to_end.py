"""The whole pipeline in-process: ingest -> transform -> load -> status.

moto S3 does not invoke Lambda functions, so the test plays S3's part and hands
each function the event S3 would send for the object the previous one wrote.
"""

from __future__ import annotations

from typing import Any

import pytest
from pipeline_factories import (
    api_event,
    body_of,
    future_timestamp,
    lambda_context,
    list_keys,
    order,
    query,
    read_jsonl,
    s3_event,
)

pytestmark = pytest.mark.functional


def test_mixed_batch_flows_through_and_every_record_is_accounted_for(
    aws: Any, load_handler: Any, load_env: dict[str, str], postgres_server: Any, database: str
) -> None:
    # GIVEN the four functions as deployed, and a batch of 8 records:
    # 4 good, 2 that break business rules, 2 repeats of an order id
    ingest = load_handler("ingest-api")
    transform = load_handler("transform", SUPPORTED_CURRENCIES="USD,EUR,GBP")
    load = load_handler("load", **load_env)
    status = load_handler("status-api")
    records = [
        order(1),
        order(2, currency="EUR"),
        order(3, currency="CHF"),  # not supported here -> rejected
        order(4, created_at=future_timestamp(minutes=60)),  # future -> rejected
        order(5, amount="10.00"),
        order(5, amount="11.00"),  # duplicate of 5
        order(6),
        order(5, amount="12.00"),  # duplicate of 5 again; this one wins
    ]

    # WHEN the client posts it ...
    response = ingest.handler(
        api_event("POST", "/batches", {"records": records}), lambda_context("ingest-api")
    )
    assert response["statusCode"] == 202
    batch_id = body_of(response)["batch_id"]
    # ... and S3 notifies transform of the raw object, then load of the staged object
    (raw_key,) = list_keys(aws, "raw/")
    transform.handler(s3_event(raw_key), lambda_context("transform"))
    (staged_key,) = list_keys(aws, "staged/")
    load.handler(s3_event(staged_key), lambda_context("load"))
    # ... and the client asks for the status
    answer = status.handler(api_event("GET", f"/batches/{batch_id}"), lambda_context("status"))

    # THEN received = loaded + rejected + duplicates (+ stale, none here)
    loaded_rows = query(
        postgres_server,
        database,
        f"SELECT order_id, amount_cents FROM orders WHERE batch_id = '{batch_id}' ORDER BY 1",
    )
    rejected = read_jsonl(aws, f"rejected/{batch_id}.jsonl")
    assert len(records) == len(loaded_rows) + len(rejected) + 2
    assert loaded_rows == [
        ("ORD-00001", 1999),
        ("ORD-00002", 1999),
        ("ORD-00005", 1200),
        ("ORD-00006", 1999),
    ]
    assert [r["line"] for r in rejected] == [3, 4]
    # AND the status API reports the same counts, at stage "loaded"
    assert answer["statusCode"] == 200
    manifest = body_of(answer)
    assert manifest["stage"] == "loaded"
    assert manifest["counts"] == {
        "received": 8,
        "staged": 4,
        "rejected": 2,
        "duplicates": 2,
        "loaded": 4,
        "stale": 0,
    }
    counts = manifest["counts"]
    assert counts["received"] == (
        counts["loaded"] + counts["rejected"] + counts["duplicates"] + counts["stale"]
    )
    assert manifest["rejected_key"] == f"rejected/{batch_id}.jsonl"
    assert all(manifest["times"][t] for t in ("received_at", "transformed_at", "loaded_at"))
    # AND the database agrees with the manifest
    assert query(
        postgres_server,
        database,
        f"SELECT received, rejected, duplicates, loaded FROM etl_batches "
        f"WHERE batch_id = '{batch_id}'",
    ) == [(8, 2, 2, 4)]
