"""load: loads a staged batch into PostgreSQL (S3 ``ObjectCreated`` on ``staged/``).

For each ``staged/<batch_id>.csv`` object named by the event (URL-decoded key):

- borrows a connection from a pool created once per execution environment
  (at most ``MAX_CONNECTIONS``), with credentials from the Secrets Manager secret
  ``DB_SECRET_ARN`` (fetched once, cached);
- creates the dataset table (``orders`` keyed by ``order_id``) and
  ``etl_batches`` (keyed by ``batch_id``) if they do not exist;
- in ONE transaction, streaming the staged bytes into COPY (no row is parsed in
  Python): first COPY straight into the dataset table, which succeeds for a
  batch whose keys are all new; if any key exists (a replay, an update, a
  concurrent load), that attempt is rolled back to a savepoint and the rows are
  copied into a temporary table and upserted: an existing row is replaced only
  by an equal or newer version (``batch_received_at``, then ``batch_id``), an
  unchanged row is not touched, and rows a newer batch already wrote are
  counted as ``stale`` and left alone. Then the batch row in ``etl_batches``.
  A stale replay succeeds (no DLQ traffic) and reports its stale count in its
  result, log, metrics and manifest. A deadlock between concurrent loads is
  retried in-process; a failure leaves nothing (no partial batch);
- then advances ``manifests/<batch_id>.json`` to ``loaded`` with the counts
  (``received = loaded + rejected + duplicates + stale``).

Database unreachable, a failed transaction, an unreadable object (including a
row count that differs from the one transform recorded) or an unexpected key
raise: Lambda retries twice, then the event goes to the DLQ.

Environment variables (read once at import; bad values are reported at invocation):

- ``DB_SECRET_ARN``: ARN of the database secret (RDS JSON shape). Empty means
  not configured: every invocation raises ``ConfigurationError``.
- ``MAX_CONNECTIONS``: pool size (default 10, set by the platform).
- ``DB_SSLMODE``: libpq sslmode (default ``require``; tests use ``disable``).
- ``DB_CONNECT_TIMEOUT``: seconds to wait for a connection (default 5).
- ``LOG_LEVEL``: log level (default ``INFO``).
- ``METRICS_NAMESPACE``: CloudWatch namespace for EMF metrics (default ``EtlPipeline``).
- ``DATA_BUCKET``: the data bucket; the bucket named by the event is used.

S3 access: reads ``staged/`` and ``manifests/``; writes ``manifests/``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from etl_common import batches, datasets, logger, metrics, runtime, s3, tracing
from etl_common.config import env_float, env_int, env_str
from etl_common.datasets import sql
from etl_common.db import Database, DatabaseSettings
from etl_common.errors import ConfigurationError, ObjectUnreadableError, UnexpectedObjectKeyError

if TYPE_CHECKING:
    import psycopg

__all__ = ["handler"]

FUNCTION = "load"
_log = logger.get_logger("etl.load")

_config_error: ConfigurationError | None = None
try:
    SETTINGS = DatabaseSettings(
        secret_arn=env_str("DB_SECRET_ARN"),
        max_connections=env_int("MAX_CONNECTIONS", 10, minimum=1, maximum=100),
        sslmode=env_str("DB_SSLMODE", "require"),
        connect_timeout=env_float("DB_CONNECT_TIMEOUT", 5.0, minimum=0.5, maximum=60.0),
        application_name=f"etl-{FUNCTION}",
    )
except ConfigurationError as exc:  # reported at invocation, not at import
    _config_error = exc
    SETTINGS = DatabaseSettings(secret_arn="")
DATABASE = Database(SETTINGS)

_ready_tables: set[str] = set()
_ATTEMPTS = 3  # a deadlock between concurrent loads is retried this many times in-process


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (``handler.handler``)."""
    with runtime.invocation(FUNCTION, context):
        if _config_error is not None:
            raise _config_error
        SETTINGS.check()
        return {"batches": [_load_object(obj) for obj in s3.created_objects(event, _log)]}


class _Loaded(NamedTuple):
    rows: int  # rows in the staged object
    stale: int  # rows a newer version already held (left unchanged)
    changed: int  # rows inserted or updated
    direct: bool  # copied straight into the table (no existing key)


def _counts(metadata: Any, manifest: batches.Manifest | None) -> dict[str, int | None]:
    """Transform's counts for the staged object: its metadata, else the manifest's."""
    counts: dict[str, int | None] = {}
    for name in batches.COUNTS[:4]:
        value = metadata.get(name)
        if value is not None and value.isascii() and value.isdigit():
            counts[name] = int(value)
        else:
            counts[name] = manifest.counts.get(name) if manifest else None
    return counts


def _check_header(obj: s3.S3Object, data: bytes, dataset: datasets.Dataset) -> None:
    expected = ",".join(dataset.staged_columns).encode("ascii")
    if data.split(b"\n", 1)[0] != expected:
        raise ObjectUnreadableError(
            obj.bucket,
            obj.key,
            f"not a staged CSV: the first line must be {expected.decode()} (written by transform)",
        )


def _ensure_tables(conn: psycopg.Connection[Any], dataset: datasets.Dataset) -> None:
    if dataset.table in _ready_tables:
        return
    with conn.transaction():
        # Serialize concurrent first runs: CREATE TABLE IF NOT EXISTS can race.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('etl_common.schema'))")
        conn.execute(sql.table_ddl(dataset))
        conn.execute(sql.batches_ddl())
    _ready_tables.add(dataset.table)


def _copy(cur: psycopg.Cursor[Any], statement: str, data: bytes) -> int:
    with cur.copy(statement) as copy:
        copy.write(data)
    return max(cur.rowcount, 0)


def _load_rows(conn: psycopg.Connection[Any], dataset: datasets.Dataset, data: bytes) -> _Loaded:
    """Copy (or upsert) the staged rows; the caller's transaction makes it all-or-nothing."""
    from psycopg import errors

    with conn.cursor() as cur:
        try:
            with conn.transaction():  # a savepoint: undone alone if a key exists
                rows = _copy(cur, sql.copy_into(dataset.table, dataset.staged_columns), data)
            return _Loaded(rows=rows, stale=0, changed=rows, direct=True)
        except (errors.UniqueViolation, errors.DeadlockDetected):
            pass
        cur.execute(sql.create_stage(dataset))
        rows = _copy(cur, sql.copy_into(sql.stage_table(dataset), dataset.staged_columns), data)
        cur.execute(sql.upsert_from_stage(dataset))
        changed = max(cur.rowcount, 0)
        found = cur.execute(sql.count_stale(dataset)).fetchone()
        stale = int(found[0]) if found else 0
    return _Loaded(rows=rows, stale=stale, changed=changed, direct=False)


def _load_batch(
    obj: s3.S3Object,
    dataset: datasets.Dataset,
    batch_id: str,
    data: bytes,
    counts: dict[str, int | None],
) -> _Loaded:
    from psycopg import errors

    with DATABASE.connection() as conn:
        _ensure_tables(conn, dataset)
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                with conn.transaction():
                    loaded = _load_rows(conn, dataset, data)
                    expected = counts.get("staged")
                    if expected is not None and loaded.rows != expected:
                        raise ObjectUnreadableError(
                            obj.bucket,
                            obj.key,
                            f"{loaded.rows} rows, but transform staged {expected}",
                        )
                    with conn.cursor() as cur:  # a cursor, so that tracing records the SQL
                        cur.execute(
                            sql.record_batch(),
                            (
                                batch_id,
                                dataset.name,
                                counts.get("received"),
                                loaded.rows,
                                counts.get("rejected"),
                                counts.get("duplicates"),
                                loaded.rows - loaded.stale,
                                loaded.stale,
                            ),
                        )
                return loaded
            except (errors.DeadlockDetected, errors.SerializationFailure) as exc:
                if attempt == _ATTEMPTS:
                    raise
                _log.warning(
                    "concurrent load conflict; retrying the transaction",
                    extra={"attempt": attempt, "error": type(exc).__name__},
                )
    raise AssertionError("unreachable")  # pragma: no cover


def _load_object(obj: s3.S3Object) -> dict[str, Any]:
    batch_id = batches.parse_staged_key(obj.key)
    if batch_id is None:
        raise UnexpectedObjectKeyError(obj.key, "staged/<batch_id>.csv")
    logger.bind(batch_id=batch_id)
    with tracing.subsegment("load", batch_id=batch_id) as span:
        stored = s3.read_data(obj.bucket, obj.key)
        manifest = None
        if not all(stored.metadata.get(name) for name in ("dataset", *batches.COUNTS[:4])):
            # Not written by transform (a hand-made staged object): fall back on the manifest.
            document = s3.read_json(obj.bucket, batches.manifest_key(batch_id), missing_ok=True)
            manifest = None if document is None else batches.Manifest.from_json(document)
        dataset = datasets.get(
            stored.metadata.get("dataset")
            or (manifest.dataset if manifest else "")
            or datasets.DEFAULT_DATASET
        )
        counts = _counts(stored.metadata, manifest)
        _check_header(obj, stored.data, dataset)
        loaded = _load_batch(obj, dataset, batch_id, stored.data, counts)
        result = {"loaded": loaded.rows - loaded.stale, "stale": loaded.stale}
        span.annotate_many({**result, "changed": loaded.changed, "direct": loaded.direct})

        def transition(current: batches.Manifest | None) -> batches.Manifest:
            if current is None:  # a staged object dropped by hand: no manifest yet
                current = batches.Manifest.received(
                    batch_id,
                    dataset=dataset.name,
                    received=counts.get("received"),
                    received_at=batches.utc_now_iso(),
                    raw_key=None,
                )
            return current.loaded(
                counts=counts,
                loaded=result["loaded"],
                stale=result["stale"],
                at=batches.utc_now_iso(),
                staged_key=obj.key,
            )

        batches.advance_manifest(obj.bucket, batch_id, transition)
    metrics.record_counts(FUNCTION, "load", result, batch_id=batch_id)
    extra = {**result, "changed": loaded.changed, "direct": loaded.direct}
    if loaded.stale:
        _log.warning("stale rows left unchanged: a newer batch already loaded them", extra=extra)
    _log.info("batch loaded", extra=extra)
    return {"batch_id": batch_id, **result, "changed": loaded.changed}
