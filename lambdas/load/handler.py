"""load: loads a staged batch into PostgreSQL (S3 ``ObjectCreated`` on ``staged/``).

For each ``staged/<batch_id>.csv`` object named by the event (URL-decoded key):

- borrows a connection from a pool created once per execution environment
  (at most ``MAX_CONNECTIONS``), with credentials from the Secrets Manager secret
  ``DB_SECRET_ARN`` (fetched once, cached);
- creates the dataset table (``orders`` keyed by ``order_id``) and
  ``etl_batches`` (keyed by ``batch_id``) if they do not exist;
- in ONE transaction, streaming the staged object from S3 into COPY in chunks
  (never holding it; no row is parsed in Python) into a temporary table, as it
  is; then keeping, for each key, the row of the highest raw line number (a
  repeated key keeps its last occurrence: transform streams every valid line,
  the earlier ones are counted here as ``duplicates``), and upserting those: an
  existing row is replaced only by an equal or newer version
  (``batch_received_at``, then ``batch_id``), an unchanged row is not touched,
  and rows a newer batch already wrote are counted as ``stale`` and left alone.
  Then the batch row in ``etl_batches``.
  A stale replay succeeds (no DLQ traffic) and reports its stale count in its
  result, log, metrics and manifest. A deadlock between concurrent loads is
  retried in-process; a failure leaves nothing (no partial batch);
- then advances ``manifests/<batch_id>.json`` to ``loaded`` with the counts
  (``received = staged + rejected + duplicates``, ``staged = loaded + stale``).

Transform's counts come from the manifest (written before the staged object). A
staged object dropped by hand without a manifest is loaded without the row check.
Database unreachable, a failed transaction, an unreadable object (including a
row count that differs from the valid rows transform recorded) or an unexpected
key raise: Lambda retries twice, then the event goes to the DLQ.

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

from collections.abc import Callable, Iterable, Iterator
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
    rows: int  # rows in the staged object (every valid line, repeated keys included)
    staged: int  # distinct keys: the last occurrence of each
    stale: int  # of those, rows a newer version already held (left unchanged)
    changed: int  # rows inserted or updated

    @property
    def duplicates(self) -> int:
        return self.rows - self.staged


def _transform_counts(manifest: batches.Manifest | None) -> dict[str, int | None]:
    """Transform's counts for the staged object, from its manifest (all None without one)."""
    return {name: manifest.counts.get(name) if manifest else None for name in batches.COUNTS[:4]}


def _expected_rows(counts: dict[str, int | None]) -> int | None:
    """The rows transform wrote: its valid rows (``staged`` before the load resolves the
    duplicates, ``staged + duplicates`` after: a replay)."""
    staged = counts.get("staged")
    return None if staged is None else staged + (counts.get("duplicates") or 0)


def _chunks(opened: s3.OpenedObject, dataset: datasets.Dataset) -> Iterator[bytes]:
    """The staged object's bytes, checked to start with the staged header."""
    chunks = s3.iter_chunks(opened)
    first = next(chunks, b"")
    expected = ",".join(dataset.staged_file_columns).encode("ascii")
    if first.split(b"\n", 1)[0] != expected:
        raise ObjectUnreadableError(
            opened.bucket,
            opened.key,
            f"not a staged CSV: the first line must be {expected.decode()} (written by transform)",
        )
    yield first
    yield from chunks


def _ensure_tables(conn: psycopg.Connection[Any], dataset: datasets.Dataset) -> None:
    if dataset.table in _ready_tables:
        return
    with conn.transaction():
        # Serialize concurrent first runs: CREATE TABLE IF NOT EXISTS can race.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('etl_common.schema'))")
        conn.execute(sql.table_ddl(dataset))
        conn.execute(sql.batches_ddl())
    _ready_tables.add(dataset.table)


def _load_rows(
    conn: psycopg.Connection[Any], dataset: datasets.Dataset, chunks: Iterable[bytes]
) -> _Loaded:
    """Copy, de-duplicate and upsert the staged rows; the caller's transaction makes it
    all-or-nothing."""
    with conn.cursor() as cur:
        cur.execute(sql.create_raw_stage(dataset))
        statement = sql.copy_into(sql.raw_stage_table(dataset), dataset.staged_file_columns)
        with cur.copy(statement) as copy:
            for chunk in chunks:  # psycopg waits for the server every MiB: bounded memory
                copy.write(chunk)
        rows = max(cur.rowcount, 0)
        cur.execute(sql.create_stage(dataset))
        staged = max(cur.rowcount, 0)
        cur.execute(sql.upsert_from_stage(dataset))
        changed = max(cur.rowcount, 0)
        found = cur.execute(sql.count_stale(dataset)).fetchone()
        stale = int(found[0]) if found else 0
    return _Loaded(rows=rows, staged=staged, stale=stale, changed=changed)


def _load_batch(
    obj: s3.S3Object,
    dataset: datasets.Dataset,
    batch_id: str,
    open_chunks: Callable[[], Iterable[bytes]],
    counts: dict[str, int | None],
) -> _Loaded:
    """Load the rows ``open_chunks()`` streams (called again for a retried transaction)."""
    from psycopg import errors

    expected = _expected_rows(counts)
    with DATABASE.connection() as conn:
        _ensure_tables(conn, dataset)
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                with conn.transaction():
                    loaded = _load_rows(conn, dataset, open_chunks())
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
                                loaded.staged,
                                counts.get("rejected"),
                                loaded.duplicates,
                                loaded.staged - loaded.stale,
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
        first = s3.open_object(obj.bucket, obj.key)
        manifest = batches.read_manifest(obj.bucket, batch_id)
        dataset = datasets.get(
            first.metadata.get("dataset")
            or (manifest.dataset if manifest else "")
            or datasets.DEFAULT_DATASET
        )
        counts = _transform_counts(manifest)
        opened = [first]

        def open_chunks() -> Iterator[bytes]:
            if not opened:  # a retried transaction reads the object again
                opened.append(s3.open_object(obj.bucket, obj.key))
            stream = opened.pop()
            try:
                yield from _chunks(stream, dataset)
            finally:
                stream.close()

        loaded = _load_batch(obj, dataset, batch_id, open_chunks, counts)
        final = {**counts, "staged": loaded.staged, "duplicates": loaded.duplicates}
        result = {"loaded": loaded.staged - loaded.stale, "stale": loaded.stale}
        span.annotate_many({**result, "duplicates": loaded.duplicates, "changed": loaded.changed})

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
                counts=final,
                loaded=result["loaded"],
                stale=result["stale"],
                at=batches.utc_now_iso(),
                staged_key=obj.key,
            )

        batches.advance_manifest(obj.bucket, batch_id, transition)
    metrics.record_counts(
        FUNCTION, "load", {**result, "duplicates": loaded.duplicates}, batch_id=batch_id
    )
    extra = {**result, "duplicates": loaded.duplicates, "changed": loaded.changed}
    if loaded.stale:
        _log.warning("stale rows left unchanged: a newer batch already loaded them", extra=extra)
    _log.info("batch loaded", extra=extra)
    return {
        "batch_id": batch_id,
        **result,
        "duplicates": loaded.duplicates,
        "changed": loaded.changed,
    }
