"""Runs INSIDE the target interpreter: one scenario, ours and its baseline interleaved.

Started by :meth:`benchmarks.harness.Context.run_worker` as
``<target python> -B -S -s worker.py`` with a JSON job on stdin (``scenario``,
``paths``, ``out``, parameters); writes ``{"samples": {...}, ...}`` as JSON to
``out`` (stdout belongs to the handlers' logs). Standard library only, plus what
``paths`` put on ``sys.path``: the built function, the built layer, boto3.
"""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import sys
import time
from collections.abc import Callable
from typing import Any


class _Context:
    aws_request_id = "bench"
    function_name = "bench"
    memory_limit_in_mb = 1024


def _ms(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, result


def _profile(fn: Callable[[], Any], top: int = 12) -> list[str]:
    """The heaviest functions of one call (cumulative), as ``name ms`` lines."""
    profiler = cProfile.Profile()
    profiler.runcall(fn)
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    rows = []
    for (file, line, name), (_, _, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = file.rsplit("/", 2)
        rows.append((cumulative * 1000, f"{'/'.join(where[-2:])}:{line}({name})"))
    rows.sort(reverse=True)
    return [f"{label} {ms:.1f} ms" for ms, label in rows[:top]]


# ----------------------------------------------------------------------- transform


def transform_core(job: dict[str, Any]) -> dict[str, Any]:
    """Our transform core vs bare json.loads + json.dumps of the same lines."""
    import importlib
    from datetime import UTC, datetime

    import handler

    datasets: Any = importlib.import_module("etl_common.datasets")
    with open(job["lines_file"], encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    dataset = datasets.get(datasets.DEFAULT_DATASET)
    now = datetime.now(UTC)

    def ours() -> Any:
        return handler.transform_lines(lines, "bench-batch", dataset, now=now)

    def bare() -> Any:
        return [json.dumps(json.loads(line)) for line in lines]

    ours()
    bare()  # warm
    samples: dict[str, list[float]] = {"ours": [], "bare": []}
    for _ in range(job["runs"]):
        samples["ours"].append(_ms(ours)[0])
        samples["bare"].append(_ms(bare)[0])
    staged, rejected, duplicates = ours()
    return {
        "samples": samples,
        "records": len(lines),
        "counts": {"staged": len(staged), "rejected": len(rejected), "duplicates": duplicates},
        "profile": _profile(ours),
    }


def invoke(job: dict[str, Any]) -> dict[str, Any]:
    """Run the function's handler once on ``event`` (to produce data for the next step)."""
    import handler

    elapsed, result = _ms(lambda: handler.handler(job["event"], _Context()))
    return {"samples": {"handler": [elapsed]}, "result": result}


# ---------------------------------------------------------------------------- load


def load(job: dict[str, Any]) -> dict[str, Any]:
    """Our load handler end to end vs bare COPY vs naive per-row INSERT + commit."""
    import handler
    import psycopg

    conninfo = job["conninfo"]
    event = job["event"]
    table, columns, key = job["table"], job["columns"], job["key"]
    column_list = ", ".join(columns)

    def run_ours() -> Any:
        return handler.handler(event, _Context())

    with psycopg.connect(conninfo, autocommit=True) as admin:
        run_ours()  # first run: pool, tables (cold costs are section 1's)
        # Every column the handler writes (the table may have more than the dataset's).
        columns = [
            name
            for (name,) in admin.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = %s AND column_default IS NULL ORDER BY ordinal_position",
                (table,),
            ).fetchall()
        ]
        column_list = ", ".join(columns)
        rows = admin.execute(f"SELECT {column_list} FROM {table} ORDER BY {key}").fetchall()

        def truncate() -> None:
            admin.execute(f"TRUNCATE {table}, etl_batches")

        # The baselines keep one open connection each, as our pool does.
        bare_conn = psycopg.connect(conninfo)
        naive_conn = psycopg.connect(conninfo)

        def bare_copy() -> None:
            with (
                bare_conn.cursor() as cur,
                cur.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            bare_conn.commit()

        naive_rows = rows[: job["naive_rows"]]
        placeholders = ", ".join(["%s"] * len(columns))
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != key)
        insert = (
            f"INSERT INTO {table} ({column_list}) VALUES ({placeholders}) "
            f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
        )

        def naive() -> None:
            for row in naive_rows:
                naive_conn.execute(insert, row)
                naive_conn.commit()

        samples: dict[str, list[float]] = {"ours": [], "bare": [], "naive": []}
        for _ in range(job["runs"]):
            truncate()
            samples["ours"].append(_ms(run_ours)[0])
            truncate()
            samples["bare"].append(_ms(bare_copy)[0])
            truncate()
            samples["naive"].append(_ms(naive)[0])
        truncate()
        profile = _profile(run_ours)
    return {
        "samples": samples,
        "rows": len(rows),
        "naive_rows": len(naive_rows),
        "profile": profile,
    }


# -------------------------------------------------------------------------- memory


def _status_kb(field: str) -> int:
    """A ``/proc/self/status`` figure in KB (``VmRSS`` now, ``VmHWM`` the peak)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def memory(job: dict[str, Any]) -> dict[str, Any]:
    """One handler on one big object: peak RSS above the warm baseline, and its time.

    A first invocation on a tiny object warms the process as Lambda reuses one (boto3
    client, pool, tables); the baseline is the RSS after it. The peak is the kernel's
    high-water mark (``VmHWM``), reset to the current RSS just before the measured run
    (``/proc/self/clear_refs``), so the warm-up's own peak does not count.
    """
    import gc
    import resource

    import handler

    handler.handler(job["warm_event"], _Context())
    if job.get("truncate"):
        import psycopg

        with psycopg.connect(job["conninfo"], autocommit=True) as admin:
            admin.execute(job["truncate"])
    gc.collect()
    baseline = _status_kb("VmRSS")
    with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")  # reset VmHWM to the current RSS
    before = resource.getrusage(resource.RUSAGE_SELF)
    elapsed, result = _ms(lambda: handler.handler(job["event"], _Context()))
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
    return {
        "samples": {"ms": [elapsed], "cpu_ms": [cpu]},
        "baseline_kb": baseline,
        "peak_kb": _status_kb("VmHWM"),
        "result": result,
    }


# ------------------------------------------------------------------------- API warm


def api_warm(job: dict[str, Any]) -> dict[str, Any]:
    """ingest-api warm (after a first call) vs minimal parse + one put_object."""
    import boto3
    import handler
    from botocore.config import Config

    event = job["event"]
    body = event["body"].encode("utf-8")
    client = boto3.client("s3", config=Config(retries={"mode": "standard", "max_attempts": 3}))
    counter = iter(range(10**9))

    def ours() -> Any:
        response = handler.handler(event, _Context())
        if response["statusCode"] != 202:
            raise RuntimeError(f"ingest-api answered {response}")
        return response

    def minimal() -> Any:
        records = json.loads(body)["records"]
        data = "\n".join(json.dumps(r) for r in records).encode("utf-8")
        return client.put_object(Bucket=job["bucket"], Key=f"raw/min/{next(counter)}", Body=data)

    ours()
    minimal()  # warm: clients, connections
    samples: dict[str, list[float]] = {"ours": [], "minimal": []}
    for _ in range(job["runs"]):
        samples["ours"].append(_ms(ours)[0])
        samples["minimal"].append(_ms(minimal)[0])
    return {"samples": samples, "profile": _profile(ours)}


SCENARIOS = {
    "transform_core": transform_core,
    "invoke": invoke,
    "load": load,
    "api_warm": api_warm,
    "memory": memory,
}


def main() -> None:
    import os
    import traceback

    job = json.load(sys.stdin)
    sys.path[:0] = job["paths"]
    try:
        result = SCENARIOS[job["scenario"]](job)
        result["python"] = sys.version.split()[0]
        with open(job["out"], "w", encoding="utf-8") as handle:
            json.dump(result, handle)
    except BaseException:
        sys.stderr.write(traceback.format_exc()[-2500:])
        sys.stderr.flush()
        os._exit(1)
    sys.stdout.flush()
    os._exit(0)  # like Lambda: no interpreter shutdown (a pool's threads would wait 5 s each)


if __name__ == "__main__":
    main()
