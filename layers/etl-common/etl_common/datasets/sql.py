"""The SQL of a dataset's table, composed from its ``columns`` and ``column_types``.

Pure strings (no database, no psycopg import), so the statements are testable
alone; the load function only executes them. Identifiers come from the dataset
definitions and are quoted all the same.

A row's version is ``(batch_received_at, batch_id)`` (compared with the ``C``
collation, so the tie-break does not depend on the database's locale). The
upsert replaces a row only with an equal or newer version, and an equal version
with different values (a re-transformed batch) too; a stale row is left as it is
and counted by :func:`count_stale`.

A staged object may repeat a key (transform streams every valid line): it is copied
into a raw stage table (:func:`create_raw_stage`), and :func:`create_stage` keeps,
for each key, the row of the highest raw line number (the last occurrence), so the
upsert sees each key once; the difference of the two tables' row counts is the
batch's ``duplicates``.
"""

from __future__ import annotations

from etl_common.datasets import LINE_COLUMN, VERSION_COLUMN, Dataset

__all__ = [
    "BATCHES_TABLE",
    "batches_ddl",
    "copy_into",
    "count_stale",
    "create_raw_stage",
    "create_stage",
    "quote_ident",
    "raw_stage_table",
    "record_batch",
    "stage_table",
    "table_ddl",
    "upsert_from_stage",
]

BATCHES_TABLE = "etl_batches"
# The count columns of etl_batches, in the order record_batch() takes them.
BATCH_COUNTS = ("received", "staged", "rejected", "duplicates", "loaded", "stale")


def quote_ident(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _list(names: tuple[str, ...] | list[str], prefix: str = "") -> str:
    return ", ".join(prefix + quote_ident(n) for n in names)


def _version(dataset: Dataset, alias: str) -> str:
    version, batch = (quote_ident(c) for c in dataset.version_columns)
    return f'ROW({alias}.{version}, {alias}.{batch} COLLATE "C")'


def _staged_types(dataset: Dataset) -> dict[str, str]:
    """The SQL type of every staged column: the dataset's own, plus the version's."""
    return {**dataset.column_types, VERSION_COLUMN: "timestamptz"}


def table_ddl(dataset: Dataset) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for the dataset's table (with its version column)."""
    types = _staged_types(dataset)
    columns = ", ".join(f"{quote_ident(c)} {types[c]} NOT NULL" for c in dataset.staged_columns)
    return (
        f"CREATE TABLE IF NOT EXISTS {quote_ident(dataset.table)} ({columns}, "
        "loaded_at timestamptz NOT NULL DEFAULT now(), "
        f"PRIMARY KEY ({quote_ident(dataset.key)}))"
    )


def batches_ddl() -> str:
    """``CREATE TABLE IF NOT EXISTS etl_batches``: one row per loaded batch, with its counts."""
    return (
        f"CREATE TABLE IF NOT EXISTS {BATCHES_TABLE} ("
        "batch_id text PRIMARY KEY, dataset text NOT NULL, received integer, "
        "staged integer NOT NULL, rejected integer, duplicates integer, "
        "loaded integer NOT NULL, stale integer NOT NULL DEFAULT 0, "
        "loaded_at timestamptz NOT NULL DEFAULT now())"
    )


def copy_into(table: str, columns: tuple[str, ...]) -> str:
    """``COPY table (columns) FROM STDIN`` for the staged format: CSV with a header line."""
    cols = _list(columns)
    return (
        f"COPY {quote_ident(table)} ({cols}) FROM STDIN "
        f"WITH (FORMAT csv, HEADER true, FORCE_NOT_NULL ({cols}))"
    )


def stage_table(dataset: Dataset) -> str:
    """The name of the temporary table holding one row per key (the upsert's input)."""
    return f"stage_{dataset.table}"


def raw_stage_table(dataset: Dataset) -> str:
    """The name of the temporary table the staged object is copied into, as it is."""
    return f"stage_raw_{dataset.table}"


def create_raw_stage(dataset: Dataset) -> str:
    """A temporary table shaped like the staged object (with its line numbers), dropped
    at commit."""
    types = {**_staged_types(dataset), LINE_COLUMN: "bigint"}
    defs = ", ".join(f"{quote_ident(c)} {types[c]}" for c in dataset.staged_file_columns)
    return f"CREATE TEMP TABLE {quote_ident(raw_stage_table(dataset))} ({defs}) ON COMMIT DROP"


def create_stage(dataset: Dataset) -> str:
    """A temporary table (dropped at commit) with the last occurrence of every key of the
    raw stage: the row of the highest line number. Its row count is the distinct keys."""
    key = quote_ident(dataset.key)
    return (
        f"CREATE TEMP TABLE {quote_ident(stage_table(dataset))} ON COMMIT DROP AS "
        f"SELECT DISTINCT ON ({key}) {_list(dataset.staged_columns)} "
        f"FROM {quote_ident(raw_stage_table(dataset))} "
        f"ORDER BY {key}, {quote_ident(LINE_COLUMN)} DESC"
    )


def upsert_from_stage(dataset: Dataset) -> str:
    """Insert the staged rows; replace an existing row only with an equal or newer version.

    Rows are taken in key order, so concurrent loads lock rows in the same order.
    A row whose values would not change is not touched (its ``loaded_at`` stays).
    """
    table = quote_ident(dataset.table)
    cols = _list(dataset.staged_columns)
    others = [c for c in dataset.staged_columns if c != dataset.key]
    updates = ", ".join(f"{quote_ident(c)} = EXCLUDED.{quote_ident(c)}" for c in others)
    return (
        f"INSERT INTO {table} AS t ({cols}) "
        f"SELECT {cols} FROM {quote_ident(stage_table(dataset))} "
        f"ORDER BY {quote_ident(dataset.key)} "
        f"ON CONFLICT ({quote_ident(dataset.key)}) DO UPDATE SET {updates}, loaded_at = now() "
        f"WHERE {_version(dataset, 't')} <= {_version(dataset, 'EXCLUDED')} "
        f"AND ({_list(others, 't.')}) IS DISTINCT FROM ({_list(others, 'EXCLUDED.')})"
    )


def count_stale(dataset: Dataset) -> str:
    """How many staged rows a newer version already holds (run after the upsert, which
    locked every conflicting row, so the count is exact under concurrent loads)."""
    key = quote_ident(dataset.key)
    return (
        f"SELECT count(*) FROM {quote_ident(stage_table(dataset))} AS s "
        f"JOIN {quote_ident(dataset.table)} AS t ON t.{key} = s.{key} "
        f"WHERE {_version(dataset, 't')} > {_version(dataset, 's')}"
    )


def record_batch() -> str:
    """Insert or replace the batch's row in etl_batches (parameters: batch id, dataset,
    then :data:`BATCH_COUNTS`)."""
    names = ("batch_id", "dataset", *BATCH_COUNTS)
    updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names[1:])
    return (
        f"INSERT INTO {BATCHES_TABLE} ({', '.join(names)}) "
        f"VALUES ({', '.join(['%s'] * len(names))}) "
        f"ON CONFLICT (batch_id) DO UPDATE SET {updates}, loaded_at = now()"
    )
