"""Section 4: the load handler end to end vs bare COPY vs naive per-row INSERT + commit.

A batch of valid orders goes through our ingest-api and transform on the stubs, so the
staged object has whatever format transform writes today. Then, in the target
interpreter with a real PostgreSQL, interleaved round after round (tables truncated
before each):

- ours: the load handler on that object: S3 read, parse, COPY, upsert, batch row,
  manifest, one transaction (its pool is already open: the cold part is section 1);
- bare COPY: the same rows, already in memory as tuples, ``COPY`` into the same table
  on an open connection, one commit: the floor for getting them into PostgreSQL;
- naive: ``INSERT ... ON CONFLICT`` and a commit per row (on a prefix of the rows), on
  an open connection.

Rows per second; ratios are speeds (higher is better). A cProfile of one of our runs
says where the handler's time goes.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from benchmarks.harness import REPO, Context, Section
from benchmarks.pipeline import database, s3_event, staged_batch

ORDER = 4
TITLE = "4. Load end to end vs bare COPY vs naive per-row INSERT+commit (rows/s)"
GOAL_BARE = ">= 0.40"


def run(ctx: Context) -> Section:
    section = Section("load", TITLE)
    env, conninfo = database(ctx)
    count = 2_000 if ctx.quick else 10_000  # ingest-api accepts at most 10,000 per batch
    _, staged = staged_batch(ctx, count)
    sys.path.insert(0, str(REPO / "layers" / "etl-common"))
    datasets: Any = importlib.import_module("etl_common.datasets")  # the layer's, from source
    dataset = datasets.get(datasets.DEFAULT_DATASET)
    result = ctx.run_worker(
        {
            "scenario": "load",
            "event": s3_event(staged),
            "conninfo": conninfo,
            "table": dataset.table,
            "columns": list(dataset.columns),
            "key": dataset.key,
            "runs": max(3, ctx.runs // 2),
            "naive_rows": 500 if ctx.quick else 1_000,
        },
        ctx.paths("load"),
        ctx.lambda_env("load", **env),
    )
    rows, naive_rows = result["rows"], result["naive_rows"]
    samples = result["samples"]
    ours = section.add(
        f"load handler, {rows:,} rows (S3+COPY+upsert+manifest)", "rows/s",
        [rows / (ms / 1000) for ms in samples["ours"]],
    )  # fmt: skip
    bare = section.add(
        "bare COPY of the same rows", "rows/s", [rows / (ms / 1000) for ms in samples["bare"]]
    )
    naive = section.add(
        f"naive INSERT + commit per row ({naive_rows:,} rows)", "rows/s",
        [naive_rows / (ms / 1000) for ms in samples["naive"]],
    )  # fmt: skip
    section.ratio("load / bare COPY (speed)", ours, bare, GOAL_BARE)
    section.ratio("load / naive per-row (speed)", ours, naive)
    section.notes.extend(f"profile: {line}" for line in result["profile"][:10])
    return section
