"""Cold-start benchmark: how long each handler module takes to import in a fresh interpreter.

Usage::

    .venv/bin/python benchmarks/bench_cold_start.py [--runs 15] [--top 5]

For each handler (``lambdas/<name>/handler.py``) a new interpreter is started
``--runs`` times with only the function folder, the layer source
(``layers/etl-common``) and this environment's site-packages on ``sys.path``
(``-I -S``: no user site, no .pth side effects), and ``import handler`` is
timed. Reported per handler:

- the median wall time of "start interpreter + import handler";
- its ratio to two baselines measured in the same run: a bare interpreter
  (``python -c pass``) and ``import boto3`` (what every function pays anyway when
  it first touches S3, boto3 being provided by the runtime);
- the module's own cumulative import time from ``python -X importtime`` and the
  heaviest imports under it, which is where to look when a number grows.

Nothing is asserted: timings depend on the machine. The test suite does not run
this file.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAYER_DIR = REPO / "layers" / "etl-common"
FUNCTIONS = ("ingest-api", "transform", "load", "status-api")


def site_packages() -> Path:
    """This environment's site-packages (where boto3 lives)."""
    import boto3

    return Path(boto3.__file__).resolve().parents[1]


@dataclass(frozen=True)
class Measurement:
    """Median wall time and, when measured, ``-X importtime`` details of one target."""

    label: str
    median_ms: float
    cumulative_ms: float | None
    heaviest: list[tuple[str, float]]


def _command(paths: list[str], statement: str, importtime: bool) -> list[str]:
    code = f"import sys; sys.path[:0] = {json.dumps(paths)}; {statement}"
    flags = ["-X", "importtime"] if importtime else []
    return [sys.executable, "-I", "-S", *flags, "-c", code]


def _importtime(stderr: str, module: str, top: int) -> tuple[float | None, list[tuple[str, float]]]:
    """Parse ``-X importtime`` output: the module's cumulative time and the heaviest imports."""
    cumulative = None
    rows: list[tuple[str, float, float]] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = (part.strip() for part in line[12:].split("|"))
        rows.append((name, int(self_us) / 1000, int(cumulative_us) / 1000))
        if name == module:
            cumulative = int(cumulative_us) / 1000
    heaviest = sorted(rows, key=lambda row: row[1], reverse=True)[:top]
    return cumulative, [(name.strip(), self_ms) for name, self_ms, _ in heaviest]


def measure(
    label: str, paths: list[str], statement: str, module: str | None, runs: int, top: int
) -> Measurement:
    """Run the statement ``runs`` times in fresh interpreters; take the median wall time."""
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(_command(paths, statement, False), check=True, capture_output=True)
        durations.append((time.perf_counter() - started) * 1000)
    cumulative: float | None = None
    heaviest: list[tuple[str, float]] = []
    if module:
        result = subprocess.run(
            _command(paths, statement, True), check=True, capture_output=True, text=True
        )
        cumulative, heaviest = _importtime(result.stderr, module, top)
    return Measurement(label, statistics.median(durations), cumulative, heaviest)


def main(argv: list[str] | None = None) -> int:
    """Measure the baselines and every handler; print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per target (median)")
    parser.add_argument("--top", type=int, default=5, help="heaviest imports to list")
    args = parser.parse_args(argv)

    site = str(site_packages())
    bare = measure("python -c pass", [], "pass", None, args.runs, args.top)
    boto3 = measure("import boto3", [site], "import boto3", "boto3", args.runs, args.top)
    handlers = [
        measure(
            f"{name}: import handler",
            [str(REPO / "lambdas" / name), str(LAYER_DIR), site],
            "import handler",
            "handler",
            args.runs,
            args.top,
        )
        for name in FUNCTIONS
    ]

    print(
        f"Python {sys.version.split()[0]} ({sys.executable}), "
        f"median of {args.runs} fresh interpreters per target\n"
    )
    header = f"{'target':<32}{'wall ms':>10}{'x pass':>9}{'x boto3':>9}{'import ms':>11}"
    print(header)
    print("-" * len(header))
    for m in (bare, boto3, *handlers):
        cumulative = f"{m.cumulative_ms:.1f}" if m.cumulative_ms is not None else "-"
        print(
            f"{m.label:<32}{m.median_ms:>10.1f}{m.median_ms / bare.median_ms:>9.2f}"
            f"{m.median_ms / boto3.median_ms:>9.2f}{cumulative:>11}"
        )
    print("\n'import ms' is the module's cumulative time from -X importtime.")
    print("Heaviest imports (self time, ms):")
    for m in (boto3, *handlers):
        listed = ", ".join(f"{name} {ms:.1f}" for name, ms in m.heaviest)
        print(f"  {m.label}: {listed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
