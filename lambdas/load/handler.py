"""load: upserts a staged batch into PostgreSQL (S3 ``ObjectCreated`` on ``staged/``).

For each ``staged/<batch_id>.jsonl`` object named by the event (URL-decoded key):

- borrows a connection from a pool created once per execution environment
  (at most ``MAX_CONNECTIONS``), with credentials from the Secrets Manager secret
  ``DB_SECRET_ARN`` (fetched once, cached);
- creates the dataset table (``orders`` keyed by ``order_id``) and
  ``etl_batches`` (keyed by ``batch_id``) if they do not exist;
- in ONE transaction: bulk-copies the rows into a temporary staging table,
  upserts them into the dataset table (rows that did not change are not
  touched) and upserts the batch row into ``etl_batches``. Running a batch twice
  leaves the same rows; a failure leaves nothing (no partial batch);
- then updates ``manifests/<batch_id>.json`` to stage ``loaded`` with the counts.

Database unreachable, a failed transaction, an unreadable object or an
unexpected key raise: Lambda retries twice, then the event goes to the DLQ.

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

import json
from typing import TYPE_CHECKING, Any

from etl_common import batches, datasets, logger, metrics, runtime, s3, tracing
from etl_common.config import env_float, env_int, env_str
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

_BATCHES_DDL = """
CREATE TABLE IF NOT EXISTS etl_batches (
    batch_id    text PRIMARY KEY,
    dataset     text NOT NULL,
    received    integer,
    staged      integer NOT NULL,
    rejected    integer,
    duplicates  integer,
    loaded      integer NOT NULL,
    loaded_at   timestamptz NOT NULL DEFAULT now()
)
"""
_ready_tables: set[str] = set()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (``handler.handler``)."""
    with runtime.invocation(FUNCTION, context):
        if _config_error is not None:
            raise _config_error
        SETTINGS.check()
        return {"batches": [_load_object(obj) for obj in s3.created_objects(event, _log)]}


def _read_rows(obj: s3.S3Object, dataset: datasets.Dataset) -> list[dict[str, Any]]:
    text = s3.read_object(obj.bucket, obj.key).text
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ObjectUnreadableError(obj.bucket, obj.key, f"line {number}: {exc}") from exc
        if not isinstance(row, dict) or any(c not in row for c in dataset.columns):
            raise ObjectUnreadableError(
                obj.bucket, obj.key, f"line {number} lacks the columns {dataset.columns}"
            )
        rows.append(row)
    return rows


def _ensure_tables(conn: psycopg.Connection[Any], dataset: datasets.Dataset) -> None:
    if dataset.table in _ready_tables:
        return
    from psycopg import sql

    columns = sql.SQL(", ").join(
        sql.SQL("{} {} NOT NULL").format(sql.Identifier(c), sql.SQL(dataset.column_types[c]))
        for c in dataset.columns
    )
    ddl = sql.SQL(
        "CREATE TABLE IF NOT EXISTS {table} ({columns}, "
        "loaded_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY ({key}))"
    ).format(table=sql.Identifier(dataset.table), columns=columns, key=sql.Identifier(dataset.key))
    with conn.transaction():
        # Serialize concurrent first runs: CREATE TABLE IF NOT EXISTS can race.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('etl_common.schema'))")
        conn.execute(ddl)
        conn.execute(_BATCHES_DDL)
    _ready_tables.add(dataset.table)


def _upsert(
    conn: psycopg.Connection[Any],
    dataset: datasets.Dataset,
    batch_id: str,
    rows: list[dict[str, Any]],
    counts: dict[str, Any],
) -> int:
    from psycopg import sql

    cols = [sql.Identifier(c) for c in dataset.columns]
    col_list = sql.SQL(", ").join(cols)
    others = [sql.Identifier(c) for c in dataset.columns if c != dataset.key]
    stage = sql.Identifier(f"stage_{dataset.table}")
    table = sql.Identifier(dataset.table)
    key = sql.Identifier(dataset.key)
    with conn.transaction():
        conn.execute(
            sql.SQL("CREATE TEMP TABLE {stage} ({defs}) ON COMMIT DROP").format(
                stage=stage,
                defs=sql.SQL(", ").join(
                    sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(dataset.column_types[c]))
                    for c in dataset.columns
                ),
            )
        )
        with conn.cursor() as cur:
            copy_sql = sql.SQL("COPY {stage} ({cols}) FROM STDIN").format(
                stage=stage, cols=col_list
            )
            with cur.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row([row[c] for c in dataset.columns])
            cur.execute(
                sql.SQL(
                    "INSERT INTO {table} ({cols}) "
                    "SELECT DISTINCT ON ({key}) {cols} FROM {stage} ORDER BY {key} "
                    "ON CONFLICT ({key}) DO UPDATE SET {updates}, loaded_at = now() "
                    "WHERE ({current}) IS DISTINCT FROM ({incoming})"
                ).format(
                    table=table,
                    cols=col_list,
                    key=key,
                    stage=stage,
                    updates=sql.SQL(", ").join(
                        sql.SQL("{c} = EXCLUDED.{c}").format(c=c) for c in others
                    ),
                    current=sql.SQL(", ").join(
                        sql.SQL("{t}.{c}").format(t=table, c=c) for c in others
                    ),
                    incoming=sql.SQL(", ").join(
                        sql.SQL("EXCLUDED.{c}").format(c=c) for c in others
                    ),
                )
            )
            changed = max(cur.rowcount, 0)
            cur.execute(
                "INSERT INTO etl_batches "
                "(batch_id, dataset, received, staged, rejected, duplicates, loaded) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (batch_id) DO UPDATE SET dataset = EXCLUDED.dataset, "
                "received = EXCLUDED.received, staged = EXCLUDED.staged, "
                "rejected = EXCLUDED.rejected, duplicates = EXCLUDED.duplicates, "
                "loaded = EXCLUDED.loaded, loaded_at = now()",
                (
                    batch_id,
                    dataset.name,
                    counts.get("received"),
                    len(rows),
                    counts.get("rejected"),
                    counts.get("duplicates"),
                    len(rows),
                ),
            )
    return changed


def _load_object(obj: s3.S3Object) -> dict[str, Any]:
    batch_id = batches.parse_staged_key(obj.key)
    if batch_id is None:
        raise UnexpectedObjectKeyError(obj.key, "staged/<batch_id>.jsonl")
    logger.bind(batch_id=batch_id)
    manifest_key = batches.manifest_key(batch_id)
    with tracing.subsegment("load", batch_id=batch_id) as span:
        manifest = s3.read_json(obj.bucket, manifest_key, missing_ok=True)
        if not isinstance(manifest, dict):
            _log.warning("no manifest for this batch; creating one")
            manifest = batches.new_manifest(
                batch_id,
                dataset=datasets.DEFAULT_DATASET,
                stage="transformed",
                received=0,
                received_at=batches.utc_now_iso(),
                raw=None,
            )
            manifest["counts"]["received"] = None
        dataset = datasets.get(str(manifest.get("dataset") or datasets.DEFAULT_DATASET))
        rows = _read_rows(obj, dataset)
        counts = dict(manifest.get("counts") or {})
        with DATABASE.connection() as conn:
            _ensure_tables(conn, dataset)
            changed = _upsert(conn, dataset, batch_id, rows, counts)
        span.annotate_many({"loaded": len(rows), "changed": changed})

        counts.update({"staged": len(rows), "loaded": len(rows)})
        manifest["counts"] = counts
        manifest["stage"] = "loaded"
        manifest["staged_key"] = obj.key
        manifest.setdefault("times", {})["loaded_at"] = batches.utc_now_iso()
        s3.put_json(obj.bucket, manifest_key, manifest)
    metrics.record_counts(FUNCTION, "load", {"loaded": len(rows)}, batch_id=batch_id)
    _log.info("batch loaded", extra={"loaded": len(rows), "changed": changed})
    return {"batch_id": batch_id, "loaded": len(rows), "changed": changed}
