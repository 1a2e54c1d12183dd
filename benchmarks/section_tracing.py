"""Section 9: the tracing backends, ``xray-sdk`` vs ``otel`` (``etl:tracing``).

The measurements live in :mod:`benchmarks.bench_tracing` (also runnable alone); this
module puts them in ``nox -s bench``'s table: the first traced span of a cold
invocation after ``import botocore.client`` (ms, per fresh interpreter) and what each
backend adds to the layer (KB zipped, for the Lambda target, needs the package index
or pip's cache). ``otel`` may become the default only if both ratios are <= 1.
"""

from __future__ import annotations

from typing import Any

ORDER = 9
TITLE = "9. Tracing backends: otel vs xray-sdk (first traced span, ms; layer packages, KB)"


def run(ctx: Any) -> Any:
    import importlib

    from benchmarks import bench_tracing

    # The runner's harness (benchmarks/harness.py, the bench owner's module).
    harness = importlib.import_module("benchmarks.harness")
    section = harness.Section("tracing", TITLE)
    first = {}
    for backend in bench_tracing.BACKENDS:
        _, inner = bench_tracing.first_span_samples(backend, ctx.runs)
        first[backend] = section.add(f"{backend}: first traced span", "ms", inner)
    section.ratio("otel / xray-sdk, first span", first["otel"], first["xray-sdk"], "<= 1.00")
    sizes = {}
    for backend in bench_tracing.BACKENDS:
        size = bench_tracing.layer_size(backend)
        sizes[backend] = section.add(
            f"{backend}: packages in the layer, zipped", "KB", [size["zipped_bytes"] / 1024]
        )
    section.ratio("otel / xray-sdk, layer packages", sizes["otel"], sizes["xray-sdk"], "<= 1.00")
    section.notes.append(
        "otel becomes the default only if it is not worse on both (README, Tracing backends)"
    )
    return section
