"""Tracing backends compared: cold-start cost and layer size of ``xray-sdk`` vs ``otel``.

Usage::

    .venv/bin/python benchmarks/bench_tracing.py [--runs 15] [--no-size] [--json]

Importable too, so that ``nox -s bench`` can run it as one of its sections:
``measure(runs=..., size=...)`` returns every number, ``first_span_samples(backend,
runs)`` the raw samples and ``layer_size(backend)`` the bytes.

Two numbers per backend (``etl:tracing``), each measured, never assumed:

- **cold start**: the median wall time, over ``--runs`` fresh interpreters (``-I -S``,
  this environment's site-packages and the layer source on ``sys.path``), of what an
  invocation pays for tracing on its first run in Lambda: ``import etl_common.tracing``,
  :func:`setup` and one stage span, timed after ``import botocore.client`` (paid by
  every function anyway, and what the X-Ray SDK patches), with the Lambda environment
  variables set (``ETL_TRACING``, ``AWS_LAMBDA_FUNCTION_NAME``, ``_X_AMZN_TRACE_ID``...). Nothing is
  sent anywhere that answers (the X-Ray daemon address and the OTLP endpoint are
  unused loopback ports; spans are not flushed). The ``import botocore.client`` time
  is reported as the baseline, for scale.
- **layer size**: the bytes (installed, and deflated as in the layer zip) of the
  packages that backend adds to the layer, installed with ``pip --target`` for the
  Lambda target (``--platform manylinux2014_<arch> --only-binary=:all:``) at the
  versions pinned in ``constraints.txt``. Needs the package index (or pip's cache).

The decision rule (issue 15): ``otel`` becomes the default only if it is not worse on
both. The result of the last run is written to ``build/bench-tracing.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
LAYER_DIR = REPO / "layers" / "etl-common"
CONSTRAINTS = REPO / "constraints.txt"
OUTPUT = REPO / "build" / "bench-tracing.json"

# What each backend adds to the layer (typing_extensions is there for psycopg anyway).
PACKAGES = {
    "xray-sdk": ("aws-xray-sdk", "wrapt"),
    "otel": (
        "opentelemetry-api",
        "opentelemetry-sdk",
        "opentelemetry-semantic-conventions",
        "opentelemetry-sdk-extension-aws",
        "opentelemetry-propagator-aws-xray",
    ),
}
BACKENDS = tuple(PACKAGES)

# botocore is imported first, outside the timed part: every function imports it anyway
# (boto3 is provided by the runtime), and the X-Ray SDK's setup patches it.
FIRST_SPAN = """
import time
import botocore.client
t0 = time.perf_counter()
from etl_common import tracing
tracing.setup()
with tracing.subsegment("bench", batch_id="b"):
    pass
print((time.perf_counter() - t0) * 1000)
"""


def _site_packages() -> str:
    import botocore

    return str(Path(botocore.__file__).resolve().parents[1])


def _lambda_env(backend: str, task_root: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ETL_TRACING": backend,
        "AWS_LAMBDA_FUNCTION_NAME": "lambda-bench-dev",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:9",
        "LAMBDA_TASK_ROOT": task_root,
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;"
        "Sampled=1",
    }


def _run(code: str, env: dict[str, str]) -> tuple[float, str]:
    paths = [str(LAYER_DIR), _site_packages()]
    full = f"import sys; sys.path[:0] = {json.dumps(paths)}\n{code}"
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", full],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{done.stderr}")
    return wall, done.stdout.strip()


def first_span_samples(backend: str, runs: int) -> tuple[list[float], list[float]]:
    """Per run: (wall ms of interpreter + first span, in-process ms of the tracing part)."""
    with tempfile.TemporaryDirectory() as task_root:
        env = _lambda_env(backend, task_root)
        walls, inner = [], []
        for _ in range(runs):
            wall, out = _run(FIRST_SPAN, env)
            walls.append(wall)
            inner.append(float(out.splitlines()[-1]))
    return walls, inner


def cold_start(backend: str, runs: int) -> dict[str, float]:
    """Median wall time of interpreter + tracing's first span, and the in-process part."""
    walls, inner = first_span_samples(backend, runs)
    return {"wall_ms": statistics.median(walls), "tracing_ms": statistics.median(inner)}


def baseline(runs: int) -> float:
    """Median in-process time of ``import botocore`` (paid by every function anyway)."""
    code = "import time\nt0 = time.perf_counter()\nimport botocore.client\n"
    code += "print((time.perf_counter() - t0) * 1000)"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return statistics.median(float(_run(code, env)[1].splitlines()[-1]) for _ in range(runs))


def _pins() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        name, sep, version = line.strip().partition("==")
        if sep and not name.startswith("#"):
            pins[name.lower().replace("_", "-")] = version
    return pins


def layer_size(backend: str, python_version: str = "3.13", arch: str = "aarch64") -> dict[str, int]:
    """Installed and deflated bytes of the packages ``backend`` adds to the layer."""
    pins = _pins()
    missing = [p for p in PACKAGES[backend] if p not in pins]
    if missing:
        raise RuntimeError(f"pin {', '.join(missing)} in constraints.txt first (nox -s lock)")
    specs = [f"{p}=={pins[p]}" for p in PACKAGES[backend]]
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "python"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--platform",
                f"manylinux2014_{arch}",
                "--python-version",
                python_version,
                "--implementation",
                "cp",
                "--target",
                str(target),
                *specs,
            ],
            check=True,
        )
        files = [f for f in target.rglob("*") if f.is_file() and "__pycache__" not in f.parts]
        installed = sum(f.stat().st_size for f in files)
        archive = Path(tmp) / "layer.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(files):
                zf.write(f, f.relative_to(target.parent).as_posix())
        return {"installed_bytes": installed, "zipped_bytes": archive.stat().st_size}


def measure(runs: int = 15, size: bool = True) -> dict[str, Any]:
    """Every number of this benchmark, and the verdict of the decision rule."""
    result: dict[str, Any] = {"runs": runs, "baseline_import_botocore_ms": baseline(runs)}
    for backend in BACKENDS:
        entry: dict[str, Any] = cold_start(backend, runs)
        if size:
            entry.update(layer_size(backend))
        result[backend] = entry
    otel, xray = result["otel"], result["xray-sdk"]
    not_worse = otel["tracing_ms"] <= xray["tracing_ms"] and (
        not size or otel["zipped_bytes"] <= xray["zipped_bytes"]
    )
    result["otel_not_worse"] = not_worse
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-size", action="store_true", help="skip the layer-size part")
    parser.add_argument("--json", action="store_true", help="print the JSON result only")
    args = parser.parse_args(argv)
    result = measure(args.runs, size=not args.no_size)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(result, indent=2) + "\n")
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"baseline: import botocore {result['baseline_import_botocore_ms']:.1f} ms (median)")
    print(f"{'backend':10} {'first span ms':>14} {'wall ms':>9} {'installed KB':>13} {'zip KB':>8}")
    for backend in BACKENDS:
        e = result[backend]
        installed = f"{e['installed_bytes'] / 1024:.0f}" if "installed_bytes" in e else "-"
        zipped = f"{e['zipped_bytes'] / 1024:.0f}" if "zipped_bytes" in e else "-"
        print(
            f"{backend:10} {e['tracing_ms']:14.1f} {e['wall_ms']:9.1f} {installed:>13} {zipped:>8}"
        )
    verdict = "not worse: may become the default" if result["otel_not_worse"] else "worse"
    print(f"otel vs xray-sdk: {verdict} (written to {OUTPUT.relative_to(REPO)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
