"""At-least-once, out-of-order delivery: versioned rows, stale replays, concurrent loads.

Every row carries the version of the batch that wrote it (the batch's receive
time, then its id). A late or repeated delivery of an older batch changes no row,
succeeds, and says how many of its rows were stale; and every batch's records are
accounted for: received = loaded + rejected + duplicates + stale.
"""

from __future__ import annotations

import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pipeline_factories import (
    api_event,
    body_of,
    lambda_context,
    list_keys,
    order,
    put_staged,
    query,
    read_json,
    s3_event,
    staged_row,
)

pytestmark = pytest.mark.functional

OLD = "20261129T100000Z-00000000000000aa"
NEW = "20261129T100500Z-00000000000000bb"
OLD_AT = "2026-11-29T10:00:00.000Z"
NEW_AT = "2026-11-29T10:05:00.000Z"
AMOUNTS = "SELECT order_id, amount_cents, batch_id FROM orders ORDER BY order_id"


@pytest.fixture
def load(load_handler: Any, load_env: dict[str, str]) -> Any:
    """The load module, configured for the test database."""
    return load_handler("load", **load_env)


def invoke(module: Any, key: str) -> dict[str, Any]:
    (result,) = module.handler(s3_event(key), lambda_context("load"))["batches"]
    return result


def staged_key_of(s3: Any, batch_id: str) -> str:
    (key,) = [k for k in list_keys(s3, "staged/") if batch_id in k]
    return key


def counts_of(s3: Any, batch_id: str) -> dict[str, Any]:
    return read_json(s3, f"manifests/{batch_id}.json")["counts"]


def conserved(counts: dict[str, Any]) -> bool:
    return counts["received"] == (
        counts["loaded"] + counts["rejected"] + counts["duplicates"] + counts["stale"]
    )


def staged_counts(rows: int, rejected: int = 0) -> dict[str, int]:
    return {"received": rows + rejected, "staged": rows, "rejected": rejected, "duplicates": 0}


def test_a_late_replay_of_an_older_batch_changes_no_row_and_reports_it_stale(
    load, aws, postgres_server, database, capsys
):
    # GIVEN batch OLD loads orders 1 and 2, then batch NEW (received later) changes order 1
    old_key = put_staged(
        aws,
        OLD,
        [staged_row(1, OLD, received_at=OLD_AT), staged_row(2, OLD, received_at=OLD_AT)],
        counts=staged_counts(2),
    )
    invoke(load, old_key)
    new_key = put_staged(
        aws,
        NEW,
        [staged_row(1, NEW, received_at=NEW_AT, amount_cents=2000)],
        counts=staged_counts(1),
    )
    invoke(load, new_key)
    before = query(postgres_server, database, AMOUNTS)
    loaded_at = query(postgres_server, database, "SELECT loaded_at FROM orders ORDER BY 1")

    # WHEN S3 (or a redrive) delivers OLD's staged event again
    capsys.readouterr()
    result = invoke(load, old_key)

    # THEN no row changed: order 1 keeps NEW's amount, nothing was even touched
    assert before == [("ORD-00001", 2000, NEW), ("ORD-00002", 1002, OLD)]
    assert query(postgres_server, database, AMOUNTS) == before
    assert query(postgres_server, database, "SELECT loaded_at FROM orders ORDER BY 1") == loaded_at
    # AND the replay succeeded and says one row was stale, in its result, manifest, table and log
    assert result == {"batch_id": OLD, "loaded": 1, "stale": 1, "duplicates": 0, "changed": 0}
    counts = counts_of(aws, OLD)
    assert (counts["loaded"], counts["stale"]) == (1, 1)
    assert conserved(counts)
    assert query(
        postgres_server, database, f"SELECT loaded, stale FROM etl_batches WHERE batch_id = '{OLD}'"
    ) == [(1, 1)]
    logs = [json.loads(line) for line in capsys.readouterr().out.split("\n") if line]
    (loaded_log,) = [entry for entry in logs if entry.get("message") == "batch loaded"]
    assert (loaded_log["loaded"], loaded_log["stale"]) == (1, 1)
    assert any("RecordsStale" in entry and entry["RecordsStale"] == 1 for entry in logs)


def test_an_older_batch_arriving_after_a_newer_one_never_wins(load, aws, postgres_server, database):
    # GIVEN the newer batch is delivered first (out of order)
    invoke(
        load,
        put_staged(aws, NEW, [staged_row(1, NEW, received_at=NEW_AT, amount_cents=2000)]),
    )

    # WHEN the older batch arrives afterwards
    result = invoke(
        load, put_staged(aws, OLD, [staged_row(1, OLD, received_at=OLD_AT, amount_cents=1000)])
    )

    # THEN the newer version stays, and the older batch's row is counted stale
    assert query(postgres_server, database, AMOUNTS) == [("ORD-00001", 2000, NEW)]
    assert (result["loaded"], result["stale"]) == (0, 1)


def test_same_time_versions_are_ordered_by_batch_id(load, aws, postgres_server, database):
    # GIVEN two batches received in the same millisecond; the higher batch id is newer
    first, second = "same-time-b", "same-time-a"
    invoke(load, put_staged(aws, first, [staged_row(1, first, amount_cents=1)]))

    # WHEN the lower id arrives later / THEN it is stale, whatever the database's collation
    assert (
        invoke(load, put_staged(aws, second, [staged_row(1, second, amount_cents=2)]))["stale"] == 1
    )
    assert query(postgres_server, database, AMOUNTS) == [("ORD-00001", 1, first)]


def test_redelivered_raw_event_after_a_newer_batch_keeps_the_newer_rows_end_to_end(
    aws, load_handler, load_env, postgres_server, database, monkeypatch
):
    # GIVEN the deployed functions, and order X posted at 10.00 in batch A, then at 20.00 in B
    ingest = load_handler("ingest-api")
    transform = load_handler("transform", SUPPORTED_CURRENCIES="USD")
    load = load_handler("load", **load_env)
    batch_ids = []
    for amount in ("10.00", "20.00"):
        response = ingest.handler(
            api_event("POST", "/batches", {"records": [order(1, amount=amount), order(2)]}),
            lambda_context("ingest-api"),
        )
        batch_ids.append(body_of(response)["batch_id"])
        time.sleep(0.01)  # versions have millisecond precision; then the batch id decides
    a, b = batch_ids
    raw = {batch: key for key in list_keys(aws, "raw/") for batch in batch_ids if batch in key}
    for batch in (a, b):
        transform.handler(s3_event(raw[batch]), lambda_context("transform"))
        invoke(load, staged_key_of(aws, batch))
    assert query(postgres_server, database, AMOUNTS)[0] == ("ORD-00001", 2000, b)

    # WHEN A's raw event is delivered again: transform rewrites staged/, which triggers load
    transform.handler(s3_event(raw[a]), lambda_context("transform"))
    result = invoke(load, staged_key_of(aws, a))

    # THEN X keeps B's amount; A's two rows are stale now (B holds both), and nothing is lost
    assert query(postgres_server, database, AMOUNTS) == [
        ("ORD-00001", 2000, b),
        ("ORD-00002", 1999, b),
    ]
    assert (result["loaded"], result["stale"]) == (0, 2)
    for batch in (a, b):
        counts = counts_of(aws, batch)
        assert read_json(aws, f"manifests/{batch}.json")["stage"] == "loaded"
        assert conserved(counts), counts


def test_concurrent_loads_and_replays_converge_on_the_newest_version(
    load, aws, postgres_server, database
):
    # GIVEN six batches received a minute apart, each writing the same 40 orders (amount =
    # the batch's number) plus 5 orders of its own
    start = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    batches = []
    for n in range(6):
        batch_id = f"20261129T10{n:02d}00Z-concurrent{n}"
        received_at = (start + timedelta(minutes=n)).isoformat().replace("+00:00", "Z")
        shared = [
            staged_row(i, batch_id, received_at=received_at, amount_cents=n) for i in range(40)
        ]
        own = [
            staged_row(100 + 10 * n + i, batch_id, received_at=received_at, amount_cents=n)
            for i in range(5)
        ]
        rows = shared + own
        random.Random(n).shuffle(rows)  # each batch in its own order: lock-order races
        batches.append((batch_id, put_staged(aws, batch_id, rows, counts=staged_counts(45, 2))))
    invoke(load, batches[0][1])  # the pool and the tables exist (as in a warm function)

    # WHEN every batch is loaded three times, all at once, in a shuffled order (10 threads)
    deliveries = [key for _, key in batches] * 3
    random.Random(42).shuffle(deliveries)
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda key: invoke(load, key), deliveries))

    # THEN every shared order holds the newest batch's version, every own order its batch's
    newest = batches[-1][0]
    rows = query(postgres_server, database, "SELECT order_id, amount_cents, batch_id FROM orders")
    shared_rows = [r for r in rows if int(r[0][4:]) < 40]
    assert len(shared_rows) == 40
    assert {(amount, batch) for _, amount, batch in shared_rows} == {(5, newest)}
    assert len(rows) == 40 + 6 * 5
    # AND every delivery succeeded and accounted for all of its rows
    assert all(r["loaded"] + r["stale"] == 45 for r in results)
    # AND the final counts of every batch conserve its records (received = 45 staged + 2
    # rejected = loaded + rejected + duplicates + stale); the newest batch has no stale row
    for batch_id, _ in batches:
        counts = counts_of(aws, batch_id)
        assert conserved(counts), (batch_id, counts)
        assert counts["received"] == 47
    assert counts_of(aws, newest)["stale"] == 0
    assert query(
        postgres_server,
        database,
        "SELECT count(*) FROM etl_batches WHERE received = loaded + rejected + duplicates + stale",
    ) == [(6,)]
