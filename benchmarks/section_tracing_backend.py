"""Section 7: tracing backends (``etl:tracing``): xray-sdk vs otel, from bench_tracing.py.

The measurement itself is the ``slo`` module's (:func:`benchmarks.bench_tracing.measure`:
first-span cost in fresh interpreters, and what each backend adds to the layer); this
section only puts its numbers in the common table and results.json. It reports medians
(n=1 rows) and runs on this environment's Python, as that module does.
"""

from __future__ import annotations

from benchmarks import bench_tracing
from benchmarks.harness import Context, Section

ORDER = 7
TITLE = "7. Tracing backends: first-span cost and layer size, xray-sdk vs otel"


def run(ctx: Context) -> Section:
    section = Section("tracing_backend", TITLE)
    result = bench_tracing.measure(runs=ctx.runs, size=not ctx.quick)
    base = section.add(
        "import botocore.client (scale)", "ms", [result["baseline_import_botocore_ms"]]
    )
    spans = {}
    for backend in bench_tracing.BACKENDS:
        entry = result[backend]
        spans[backend] = section.add(
            f"{backend}: tracing on first invocation", "ms", [entry["tracing_ms"]]
        )
        if "zipped_bytes" in entry:
            section.add(
                f"{backend}: added to the layer (zipped)", "KB", [entry["zipped_bytes"] / 1024]
            )
    section.ratio("otel / xray-sdk (first span)", spans["otel"], spans["xray-sdk"])
    section.ratio("xray-sdk first span / import botocore", spans["xray-sdk"], base)
    section.notes.append(f"otel not worse on every measured axis: {result['otel_not_worse']}")
    return section
