"""Section 10: memory and throughput of transform and load against the raw object's size.

Raw objects of 4, 40, 400 MB and 1 GB (``--quick``: 4 and 40 MB) of generated orders
(:func:`benchmarks.data.write_raw`: 4% invalid, 2% repeated ids) are written to disk
block by block and served by the loopback S3 stub from the file, streamed, never held
(the stub also keeps multipart objects in files). For each size, in the target
interpreter on the built code, a fresh process per function:

- transform on the raw object, then load on the staged object it wrote (into a real
  PostgreSQL, the table truncated first), each after a warm-up invocation on a tiny
  batch (boto3 client, pool, tables: a warm execution environment);
- the figure is the peak RSS above that warm baseline (the kernel's ``VmHWM``, reset
  just before the run) and the total peak (baseline included, what Lambda's memory
  size must hold); the slope (MB of peak per GB of raw, least squares) is the headline;
- throughput: lines/s for transform, rows/s for load.

Baseline: the in-memory transform this streaming one replaced (the handler at commit
``BASELINE_COMMIT``, run on today's layer) on the 4 and 40 MB objects: its per-row
speed is the 0.8x goal's reference, and its memory shows the slope that was.

Goals (the issue's): peak <= 64 MB above the baseline at every size; throughput at
least 0.8x the in-memory transform's; 1 GB through transform and load within 1024 MB.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from typing import Any

from benchmarks.data import write_raw
from benchmarks.harness import BENCH_DIR, BUCKET, REPO, Context, Measurement, Section
from benchmarks.pipeline import database, s3_event

ORDER = 10
TITLE = "10. Memory vs raw object size: peak RSS above a warm baseline (MB), throughput"
SIZES_MB = (4, 40, 400, 1000)
QUICK_SIZES_MB = (4, 40)
BASELINE_SIZES_MB = (4, 40)
BUDGET_MB = 64.0  # above the warm baseline, at every size
LAMBDA_MB = 1024.0  # the `large` profile: the whole process, at 1 GB
SPEED_GOAL = ">= 0.80"
BASELINE_COMMIT = "90ab6e8"  # the last in-memory transform (read whole, rows in a dict)
RECEIVED_AT = "2026-12-02T12:00:00.000Z"
# Lambda gives CPU in proportion to memory, one vCPU at 1,769 MB: the `large` profile
# (1,024 MB) has about 0.58 of one. The raw size one invocation transforms within the
# `batch` timeout (300 s) at the measured CPU speed, keeping MARGIN of it spare:
LAMBDA_VCPU = 1024 / 1769
TIMEOUT_S = 300
MARGIN = 0.8
WARM = "bench-memory-warm"


def _slope(sizes_mb: list[float], peaks_mb: list[float]) -> float:
    """Least-squares MB of peak per GB of raw."""
    n = len(sizes_mb)
    mean_x, mean_y = sum(sizes_mb) / n, sum(peaks_mb) / n
    sxx = sum((x - mean_x) ** 2 for x in sizes_mb)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(sizes_mb, peaks_mb, strict=True))
    return 1000 * sxy / sxx if sxx else float("nan")


def _baseline_code() -> Any:
    """The in-memory transform handler of BASELINE_COMMIT, as a function folder."""
    folder = BENCH_DIR / "baseline" / f"transform-{BASELINE_COMMIT}"
    folder.mkdir(parents=True, exist_ok=True)
    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{BASELINE_COMMIT}:lambdas/transform/handler.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (folder / "handler.py").write_text(source, encoding="utf-8")
    return folder


def _raw(ctx: Context, mb: int, batch: str) -> tuple[str, int]:
    """A generated raw object of ``mb`` MB served from its file: (key, lines)."""
    path = BENCH_DIR / "data" / f"memory-{mb}MB.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = write_raw(path, mb * 1_000_000)
    key = f"raw/2026/12/02/{batch}.jsonl"
    ctx.aws().put_file(
        BUCKET, key, path, metadata={"received-at": RECEIVED_AT, "dataset": "orders"}
    )
    return key, lines


def _measure(
    ctx: Context, paths: list[str], env: dict[str, str], warm: Any, event: Any, **job: Any
) -> Any:
    """The worker's memory scenario: ``warm`` first, then ``event`` measured."""
    return ctx.run_worker(
        {"scenario": "memory", "warm_event": warm, "event": event, **job}, paths, env
    )


def _mb(kb: float) -> float:
    return kb / 1024


def run(ctx: Context) -> Section:
    section = Section("memory", TITLE)
    stub = ctx.aws()
    load_env, conninfo = database(ctx)
    sys.path.insert(0, str(REPO / "layers" / "etl-common"))
    datasets: Any = importlib.import_module("etl_common.datasets")
    table = datasets.get(datasets.DEFAULT_DATASET).table
    warm_lines = "".join(f'{{"order_id": "W-{i}", "bad": true}}\n' for i in range(50))
    stub.put(
        BUCKET,
        f"raw/2026/12/02/{WARM}.jsonl",
        warm_lines.encode(),
        {"received-at": RECEIVED_AT, "dataset": "orders"},
    )
    warm_raw = s3_event(f"raw/2026/12/02/{WARM}.jsonl")
    warm_staged = s3_event(f"staged/{WARM}.csv")
    # The limit is lifted so that the 1 GB object is measured (the limit is what this
    # section derives, from the speed: see LAMBDA_VCPU below).
    t_env = ctx.lambda_env("transform", MAX_RAW_BYTES=str(1 << 40))
    t_paths = ctx.paths("transform")
    l_paths, l_env = ctx.paths("load"), ctx.lambda_env("load", **load_env)
    sizes = QUICK_SIZES_MB if ctx.quick else SIZES_MB

    # Today's reference: the in-memory transform, on the small sizes only; at 4 MB
    # interleaved with ours, round after round (speeds from CPU time: steadier here).
    old_speed: Measurement | None = None
    try:
        old_paths = [str(_baseline_code()), *t_paths[1:]]
    except (OSError, subprocess.CalledProcessError) as exc:
        section.notes.append(f"baseline not measured: git show {BASELINE_COMMIT} failed ({exc})")
        old_paths = []
    for mb in BASELINE_SIZES_MB if old_paths else ():
        batch = f"bench-memory-inmemory-{mb}mb"
        key, lines = _raw(ctx, mb, batch)
        rounds = max(2, ctx.runs // 2) if mb == BASELINE_SIZES_MB[0] else 1
        old_runs, new_runs = [], []
        for _ in range(rounds):
            old_runs.append(_measure(ctx, old_paths, t_env, warm_raw, s3_event(key)))
            if rounds > 1:
                new_runs.append(_measure(ctx, t_paths, t_env, warm_raw, s3_event(key)))
        section.add(
            f"in-memory transform ({BASELINE_COMMIT}) {mb} MB: peak above base",
            "MB",
            [_mb(run["peak_kb"] - run["baseline_kb"]) for run in old_runs],
        )
        speed = section.add(
            f"in-memory transform {mb} MB: speed (CPU)",
            "lines/s",
            [lines / (run["samples"]["cpu_ms"][0] / 1000) for run in old_runs],
        )
        if new_runs:
            old_speed = speed
            ours = section.add(
                f"transform {mb} MB, same rounds: speed (CPU)",
                "lines/s",
                [lines / (run["samples"]["cpu_ms"][0] / 1000) for run in new_runs],
            )
            section.ratio(f"transform {mb} MB / in-memory, interleaved", ours, speed, SPEED_GOAL)
        stub.delete(BUCKET, key)
        stub.delete(BUCKET, f"staged/{batch}.csv")
        stub.delete(BUCKET, f"rejected/{batch}.jsonl")

    peaks: dict[str, list[float]] = {"transform": [], "load": []}
    transform_speeds: list[tuple[int, int]] = []  # (raw bytes, lines)
    speed_rows: list[tuple[int, int, float]] = []  # (MB, lines, lines/s of CPU)
    totals: dict[str, float] = {}
    for mb in sizes:
        batch = f"bench-memory-{mb}mb"
        key, lines = _raw(ctx, mb, batch)
        t = _measure(ctx, t_paths, t_env, warm_raw, s3_event(key))
        staged_key = f"staged/{batch}.csv"
        staged_mb = (stub.size(BUCKET, staged_key) or 0) / 1_000_000
        truncate = f'TRUNCATE "{table}", etl_batches'
        ld = _measure(
            ctx, l_paths, l_env, warm_staged, s3_event(staged_key),
            conninfo=conninfo, truncate=truncate,
        )  # fmt: skip
        (t_result,) = t["result"]["batches"]
        (l_result,) = ld["result"]["batches"]
        rows = l_result["loaded"] + l_result["stale"] + l_result["duplicates"]
        for name, measured in (("transform", t), ("load", ld)):
            above = _mb(measured["peak_kb"] - measured["baseline_kb"])
            peaks[name].append(above)
            totals[name] = _mb(measured["peak_kb"])
            measurement = section.add(f"{name} {mb} MB: peak above warm baseline", "MB", [above])
            budget = Measurement(f"budget {BUDGET_MB:.0f} MB", "MB", [BUDGET_MB])
            section.ratio(
                f"{name} {mb} MB peak / {BUDGET_MB:.0f} MB", measurement, budget, "<= 1.0"
            )
        speed = section.add(
            f"transform {mb} MB ({lines:,} lines): speed (CPU)",
            "lines/s",
            [lines / (t["samples"]["cpu_ms"][0] / 1000)],
        )
        section.add(
            f"load {mb} MB ({staged_mb:.0f} MB staged): speed (wall)",
            "rows/s",
            [rows / (ld["samples"]["ms"][0] / 1000)],
        )
        if old_speed is not None:
            section.ratio(f"transform {mb} MB / in-memory (speed)", speed, old_speed, SPEED_GOAL)
        transform_speeds.append((stub.size(BUCKET, key) or 0, lines))
        speed_rows.append((mb, lines, speed.median))
        section.notes.append(
            f"{mb} MB: transform {t['samples']['ms'][0] / 1000:.1f} s wall "
            f"({t['samples']['cpu_ms'][0] / 1000:.1f} s CPU), {t_result}; "
            f"load {ld['samples']['ms'][0] / 1000:.1f} s, {l_result}; "
            f"total peaks {_mb(t['peak_kb']):.0f} / {_mb(ld['peak_kb']):.0f} MB"
        )
        for leftover in (key, staged_key, f"rejected/{batch}.jsonl"):
            stub.delete(BUCKET, leftover)
    if transform_speeds:
        bytes_per_line = sum(b for b, _ in transform_speeds) / sum(n for _, n in transform_speeds)
        at_largest = speed_rows[-1][2]  # the speed where the limit bites (fixed costs amortized)
        section.add(
            f"raw MB one {TIMEOUT_S} s transform takes at {LAMBDA_VCPU:.2f} vCPU, {MARGIN:.0%}",
            "MB",
            [at_largest * LAMBDA_VCPU * TIMEOUT_S * MARGIN * bytes_per_line / 1e6],
            note="CPU speed at the largest size; the basis of transform's MAX_RAW_BYTES",
        )
    sizes_f = [float(mb) for mb in sizes]
    for name, values in peaks.items():
        section.add(f"{name}: slope of the peak", "MB/GB", [_slope(sizes_f, values)])
    largest = sizes[-1]
    for name, total in totals.items():
        ours = section.add(f"{name} {largest} MB: total peak RSS", "MB", [total])
        limit = Measurement(f"Lambda {LAMBDA_MB:.0f} MB", "MB", [LAMBDA_MB])
        section.ratio(f"{name} {largest} MB total / {LAMBDA_MB:.0f} MB", ours, limit, "<= 1.0")
    section.notes.append(
        "peak = VmHWM reset before the run, minus VmRSS after a warm-up invocation; "
        "load's PostgreSQL server memory is not the function's and is not counted"
    )
    return section
