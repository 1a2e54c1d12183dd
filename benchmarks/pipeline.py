"""Puts a real batch through our own functions on the stubs, for the sections that need
data in the shape the previous stage writes (whatever that shape is today)."""

from __future__ import annotations

import sys
from typing import Any

from benchmarks.data import orders
from benchmarks.harness import BUCKET, REPO, SECRET_ARN, Context

# The tests' factories import the layer's etl_common, as the tests' conftest provides it.
sys.path.insert(0, str(REPO / "layers" / "etl-common"))
sys.path.insert(0, str(REPO / "tests" / "functional" / "pipeline"))
import pipeline_factories as factories

__all__ = ["api_event", "database", "s3_event", "staged_batch"]


def api_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return factories.api_event("POST", "/batches", {"records": records})


def s3_event(key: str) -> dict[str, Any]:
    return factories.s3_event(key, bucket=BUCKET)


def database(ctx: Context) -> tuple[dict[str, str], str]:
    """(the load function's extra environment, a libpq conninfo) for the bench server."""
    import json

    server = ctx.postgres()
    secret = {
        "host": server.host, "port": server.port, "username": server.user,
        "password": "unused-trust-auth", "dbname": "postgres",
    }  # fmt: skip
    ctx.aws()._server.secrets[SECRET_ARN] = json.dumps(secret)
    env = {"DB_SECRET_ARN": SECRET_ARN, "DB_SSLMODE": "disable"}
    return env, server.conninfo("postgres")


def _keys(ctx: Context, prefix: str, batch_id: str) -> list[str]:
    return sorted(
        key for bucket, key in ctx.aws()._server.objects
        if bucket == BUCKET and key.startswith(prefix) and batch_id in key
    )  # fmt: skip


def staged_batch(ctx: Context, count: int) -> tuple[str, str]:
    """ingest-api then transform on ``count`` valid orders: (batch id, staged key)."""
    accepted = ctx.run_worker(
        {"scenario": "invoke", "event": api_event(orders(count, invalid=False))},
        ctx.paths("ingest-api"),
        ctx.lambda_env("ingest-api"),
    )["result"]
    import json

    batch_id = json.loads(accepted["body"])["batch_id"]
    (raw,) = _keys(ctx, "raw/", batch_id)
    ctx.run_worker(
        {"scenario": "invoke", "event": s3_event(raw)},
        ctx.paths("transform"),
        ctx.lambda_env("transform"),
    )
    (staged,) = _keys(ctx, "staged/", batch_id)
    return batch_id, staged
