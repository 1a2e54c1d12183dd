"""load against moto (S3, Secrets Manager) and a real PostgreSQL server."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from etl_common.db import SecretCache
from etl_common.errors import (
    ConfigurationError,
    DatabaseUnavailableError,
    ObjectUnreadableError,
)
from pipeline_factories import (
    create_db_secret,
    free_port,
    lambda_context,
    put_staged,
    query,
    read_json,
    s3_event,
    staged_row,
)

pytestmark = pytest.mark.functional

BATCH = "20261129T084900Z-00000000000000aa"
ORDERS = (
    "SELECT order_id, customer_id, amount_cents, currency, created_at, item_count, batch_id,"
    " loaded_at FROM orders ORDER BY order_id"
)


@pytest.fixture
def load(load_handler: Any, load_env: dict[str, str]) -> Any:
    """The load module, configured for the test database."""
    return load_handler("load", **load_env)


def invoke(module: Any, key: str) -> dict[str, Any]:
    return module.handler(s3_event(key), lambda_context("load"))


def test_staged_batch_is_upserted_and_the_manifest_marked_loaded(
    load, aws, postgres_server, database
):
    # GIVEN a staged batch of three rows and its manifest
    rows = [staged_row(i, BATCH) for i in range(3)]
    key = put_staged(aws, BATCH, rows)

    # WHEN load runs on the staged/ event
    result = invoke(load, key)

    # THEN the rows are in orders, typed, and the batch row records the counts
    assert result == {
        "batches": [{"batch_id": BATCH, "loaded": 3, "stale": 0, "duplicates": 0, "changed": 3}]
    }
    orders = query(postgres_server, database, ORDERS)
    assert [r[:7] for r in orders] == [
        (
            f"ORD-{i:05d}",
            f"cust-{i % 7}",
            1000 + i,
            "USD",
            datetime(2026, 1, 15, 9, 30, tzinfo=UTC),
            1,
            BATCH,
        )
        for i in range(3)
    ]
    assert query(
        postgres_server,
        database,
        "SELECT batch_id, dataset, received, staged, rejected, duplicates, loaded, stale"
        " FROM etl_batches",
    ) == [(BATCH, "orders", 4, 3, 1, 0, 3, 0)]
    # AND the manifest is in stage "loaded" with the loaded count
    manifest = read_json(aws, f"manifests/{BATCH}.json")
    assert manifest["stage"] == "loaded"
    assert manifest["counts"] == {
        "received": 4,
        "staged": 3,
        "rejected": 1,
        "duplicates": 0,
        "loaded": 3,
        "stale": 0,
    }
    assert manifest["times"]["loaded_at"]


def test_loading_the_same_batch_twice_leaves_the_same_rows(load, aws, postgres_server, database):
    # GIVEN a batch loaded once
    key = put_staged(aws, BATCH, [staged_row(i, BATCH) for i in range(5)])
    invoke(load, key)
    first = query(postgres_server, database, ORDERS)

    # WHEN Lambda delivers the same event again
    result = invoke(load, key)

    # THEN the table holds exactly the same rows (untouched, same loaded_at) and one batch row
    assert result["batches"][0]["changed"] == 0
    assert query(postgres_server, database, ORDERS) == first
    assert query(postgres_server, database, "SELECT count(*) FROM etl_batches") == [(1,)]


def test_a_later_batch_updates_an_existing_order(load, aws, postgres_server, database):
    # GIVEN an order loaded by a first batch
    invoke(load, put_staged(aws, BATCH, [staged_row(1, BATCH)]))

    # WHEN a second batch carries a corrected amount for it
    other = "20261129T090000Z-00000000000000bb"
    invoke(load, put_staged(aws, other, [staged_row(1, other, amount_cents=4242)]))

    # THEN the order holds the corrected values and the batch that brought them
    assert query(
        postgres_server, database, "SELECT order_id, amount_cents, batch_id FROM orders"
    ) == [("ORD-00001", 4242, other)]


def test_failed_transaction_raises_and_leaves_no_partial_batch(
    load, aws, postgres_server, database
):
    # GIVEN a staged batch whose last row cannot be stored (not a timestamp)
    rows = [staged_row(i, BATCH) for i in range(3)]
    rows[-1]["created_at"] = "not a timestamp"
    key = put_staged(aws, BATCH, rows)

    # WHEN load runs / THEN it raises (Lambda retries, then the DLQ keeps the event)
    with pytest.raises(psycopg.Error):
        invoke(load, key)

    # AND no row of the batch was committed, and the manifest is not "loaded"
    assert query(postgres_server, database, "SELECT count(*) FROM orders") == [(0,)]
    assert query(postgres_server, database, "SELECT count(*) FROM etl_batches") == [(0,)]
    assert read_json(aws, f"manifests/{BATCH}.json")["stage"] == "transformed"


def test_database_down_raises_within_the_connect_timeout(aws, load_handler):
    # GIVEN a secret pointing at a port where no database listens
    arn = create_db_secret("127.0.0.1", free_port(), "etl", name="etl/down")
    module = load_handler("load", DB_SECRET_ARN=arn, DB_SSLMODE="disable", DB_CONNECT_TIMEOUT="1")
    key = put_staged(aws, BATCH, [staged_row(1, BATCH)])

    # WHEN load runs
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailableError, match="within 1 s"):
        invoke(module, key)

    # THEN it failed fast (seconds, not minutes) and the manifest was not advanced
    assert time.monotonic() - started < 10
    assert read_json(aws, f"manifests/{BATCH}.json")["stage"] == "transformed"


def test_pool_and_secret_are_reused_across_invocations(
    load, aws, postgres_server, database, monkeypatch
):
    # GIVEN a count of Secrets Manager reads
    fetches = []
    original = SecretCache._fetch

    def counting_fetch(self):
        fetches.append(self.secret_arn)
        return original(self)

    monkeypatch.setattr(SecretCache, "_fetch", counting_fetch)

    # WHEN two batches are loaded by the same execution environment
    invoke(load, put_staged(aws, BATCH, [staged_row(1, BATCH)]))
    pool = load.DATABASE._pool
    other = "20261129T090000Z-00000000000000bb"
    invoke(load, put_staged(aws, other, [staged_row(2, other)]))

    # THEN the secret was fetched once and the same pool (sized by MAX_CONNECTIONS) served both
    assert len(fetches) == 1
    assert load.DATABASE._pool is pool
    assert pool.max_size == 10
    assert query(postgres_server, database, "SELECT count(*) FROM orders") == [(2,)]


def test_empty_secret_arn_is_a_configuration_error_at_invocation(aws, load_handler):
    # GIVEN the database secret is not configured (the module still imports)
    module = load_handler("load", DB_SECRET_ARN="")
    key = put_staged(aws, BATCH, [staged_row(1, BATCH)])

    # WHEN load runs / THEN it raises a clear configuration error
    with pytest.raises(ConfigurationError, match="DB_SECRET_ARN is empty"):
        invoke(module, key)


def test_bad_max_connections_is_reported_at_invocation(aws, load_handler):
    # GIVEN a nonsensical pool size (the module still imports)
    module = load_handler("load", DB_SECRET_ARN="arn:x", MAX_CONNECTIONS="zero")

    # WHEN load runs / THEN the error names the variable and the value
    with pytest.raises(ConfigurationError, match="MAX_CONNECTIONS='zero' is not an integer"):
        invoke(module, "staged/x.csv")


def test_missing_staged_object_raises(load, aws):
    # GIVEN an event for a staged object that is gone
    # WHEN load runs / THEN it raises so the event is retried and dead-lettered
    with pytest.raises(ObjectUnreadableError, match="NoSuchKey"):
        invoke(load, f"staged/{BATCH}.csv")


def test_empty_staged_batch_still_marks_the_batch_loaded(load, aws, postgres_server, database):
    # GIVEN a batch where every record was rejected (empty staged object)
    key = put_staged(aws, BATCH, [])

    # WHEN load runs
    invoke(load, key)

    # THEN the batch is recorded with zero rows and reaches stage "loaded"
    assert query(postgres_server, database, "SELECT loaded FROM etl_batches") == [(0,)]
    assert read_json(aws, f"manifests/{BATCH}.json")["counts"]["loaded"] == 0


def test_tls_is_required_by_default(aws, load_handler, monkeypatch):
    # GIVEN the platform's environment without DB_SSLMODE
    monkeypatch.delenv("DB_SSLMODE", raising=False)
    module = load_handler("load", DB_SECRET_ARN="arn:aws:secretsmanager:us-east-1:1:secret:x")

    # THEN connections are made with sslmode=require and a short connect timeout
    assert module.SETTINGS.sslmode == "require"
    assert module.SETTINGS.connect_timeout == 5.0
    assert module.SETTINGS.max_connections == 10


def test_staged_object_without_the_expected_header_is_refused(load, aws):
    # GIVEN an object under staged/ that transform did not write (JSON lines, say)
    aws.put_object(Bucket="etl-data-test", Key=f"staged/{BATCH}.csv", Body=b'{"order_id": 1}\n')

    # WHEN load runs / THEN it raises naming the header it expects (retry, then the DLQ)
    with pytest.raises(ObjectUnreadableError, match="the first line must be order_id,"):
        invoke(load, f"staged/{BATCH}.csv")


def test_a_staged_object_with_fewer_rows_than_transform_wrote_loads_nothing(
    load, aws, postgres_server, database
):
    # GIVEN a staged object that lost a row on the way (metadata says transform staged 3)
    rows = [staged_row(i, BATCH) for i in range(2)]
    key = put_staged(
        aws, BATCH, rows, counts={"received": 3, "staged": 3, "rejected": 0, "duplicates": 0}
    )

    # WHEN load runs / THEN it raises and commits nothing
    with pytest.raises(ObjectUnreadableError, match="2 rows, but transform staged 3"):
        invoke(load, key)
    assert query(postgres_server, database, "SELECT count(*) FROM orders") == [(0,)]
    assert read_json(aws, f"manifests/{BATCH}.json")["stage"] == "transformed"
