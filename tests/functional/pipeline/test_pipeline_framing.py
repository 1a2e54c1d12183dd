"""Line framing: JSON lines are split on ``\\n`` alone, so any text survives the pipeline.

``str.splitlines()`` also splits on U+2028, U+2029, ``\\r``, ``\\x0b``, ``\\x0c``,
``\\x1c``-``\\x1e`` and ``\\x85``; a field holding one of them used to break the load
on every retry, leaving the batch in the DLQ for ever.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pipeline_factories import (
    api_event,
    body_of,
    lambda_context,
    list_keys,
    order,
    put_raw,
    query,
    read_jsonl,
    s3_event,
)

pytestmark = pytest.mark.functional

SEPARATORS = ["\u2028", "\u2029", "\u0085", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\n"]
# Text the schema accepts in a free-text field: anything but control characters and
# lone surrogates, with the line separators JSON leaves unescaped made likely.
FREE_TEXT = st.text(
    st.characters(blacklist_categories=("Cc", "Cs")) | st.sampled_from(["\u2028", "\u2029"]),
    min_size=1,
    max_size=64,
)
_ids = itertools.count()


@pytest.fixture
def pipeline(aws: Any, load_handler: Any, load_env: dict[str, str]) -> dict[str, Any]:
    return {
        "ingest": load_handler("ingest-api"),
        "transform": load_handler("transform", SUPPORTED_CURRENCIES="USD"),
        "load": load_handler("load", **load_env),
    }


def flow(pipeline: dict[str, Any], s3: Any, records: list[dict[str, Any]]) -> str:
    """Post ``records`` and play S3's part through transform and load; return the batch id."""
    response = pipeline["ingest"].handler(
        api_event("POST", "/batches", {"records": records}), lambda_context()
    )
    assert response["statusCode"] == 202, body_of(response)
    batch_id = body_of(response)["batch_id"]
    (raw_key,) = [k for k in list_keys(s3, "raw/") if batch_id in k]
    pipeline["transform"].handler(s3_event(raw_key), lambda_context())
    (staged_key,) = [k for k in list_keys(s3, "staged/") if batch_id in k]
    pipeline["load"].handler(s3_event(staged_key), lambda_context())
    return batch_id


def test_line_separators_inside_a_field_reach_the_database_unchanged(
    pipeline, aws, postgres_server, database
):
    # GIVEN customer ids and SKUs holding every line separator JSON does not escape
    customer = "a\u2028b\u2029c"
    records = [
        order(1, customer_id=customer, items=[{"sku": "s\u2028k", "quantity": 1, "unit_price": 1}])
    ]

    # WHEN the batch flows through ingest, transform and load
    batch_id = flow(pipeline, aws, records)

    # THEN the row holds the exact text, and the batch is loaded with nothing lost
    assert query(postgres_server, database, "SELECT customer_id FROM orders") == [(customer,)]
    manifest = json.loads(
        aws.get_object(Bucket="etl-data-test", Key=f"manifests/{batch_id}.json")["Body"].read()
    )
    assert manifest["stage"] == "loaded"
    assert manifest["counts"]["loaded"] == 1


def test_raw_lines_are_framed_on_newline_only(pipeline, aws):
    # GIVEN a backfill's raw object whose JSON strings hold every other separator literally
    # (JSON allows U+2028, U+2029 and U+0085 unescaped; the rest are control characters)
    batch_id = "backfill-framing"
    lines = [
        json.dumps(order(i, customer_id=f"x{sep}y"), ensure_ascii=False)
        for i, sep in enumerate(SEPARATORS[:3])
    ]
    key = put_raw(aws, batch_id, lines)

    # WHEN transform reads it
    (counts,) = pipeline["transform"].handler(s3_event(key), lambda_context())["batches"]

    # THEN it sees exactly three lines: two staged, and the C1 control character rejected
    # for what it is, not as broken JSON
    assert (counts["received"], counts["staged"], counts["rejected"]) == (3, 2, 1)
    (rejected,) = read_jsonl(aws, f"rejected/{batch_id}.jsonl")
    assert rejected["reasons"] == [
        {"field": "customer_id", "message": "must not contain control characters"}
    ]
    assert rejected["raw"] == lines[2]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(customer=FREE_TEXT, sku=FREE_TEXT)
def test_any_text_in_any_text_field_round_trips_from_ingest_to_the_database(
    pipeline, aws, postgres_server, database, customer, sku
):
    # GIVEN an order whose free-text fields hold arbitrary Unicode text
    order_id = f"ORD-{next(_ids)}"
    record = order(
        1,
        order_id=order_id,
        customer_id=customer,
        items=[{"sku": sku, "quantity": 1, "unit_price": "1.00"}],
    )

    # WHEN it flows through the whole pipeline
    batch_id = flow(pipeline, aws, [record])

    # THEN the database holds exactly the text that was posted, and the raw object the SKU
    assert query(
        postgres_server, database, f"SELECT customer_id FROM orders WHERE order_id = '{order_id}'"
    ) == [(customer,)]
    (raw_key,) = [k for k in list_keys(aws, "raw/") if batch_id in k]
    assert read_jsonl(aws, raw_key)[0]["items"][0]["sku"] == sku
