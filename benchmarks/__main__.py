"""The runner: ``python -m benchmarks [--quick] [--only ID,...] [--runs N] [--list]``.

``--markdown build/bench/results.json`` prints a finished run as the README's table.

Finds every ``benchmarks/section_*.py`` (``ORDER``, ``TITLE``, ``run(ctx)``), runs them
in order with one shared :class:`~benchmarks.harness.Context`, prints one table and
writes ``build/bench/results.json``. A section that cannot run (say, no PostgreSQL)
is reported as not measured; the others still run. Exit status is 0 unless the
runner itself breaks: benchmarks report, they never fail.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import benchmarks
from benchmarks.harness import (
    BENCH_DIR,
    Context,
    Section,
    format_markdown,
    format_table,
    machine,
)


def discover() -> list[ModuleType]:
    """Every section module, in ``ORDER``."""
    modules = [
        importlib.import_module(f"benchmarks.{info.name}")
        for info in pkgutil.iter_modules(benchmarks.__path__)
        if info.name.startswith("section_")
    ]
    return sorted(modules, key=lambda m: (getattr(m, "ORDER", 99), m.__name__))


def section_id(module: ModuleType) -> str:
    return module.__name__.rsplit(".", 1)[1].removeprefix("section_")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer runs, smaller data")
    parser.add_argument("--runs", type=int, help="samples per measurement (default 15, quick 5)")
    parser.add_argument("--only", help="comma-separated section ids (see --list)")
    parser.add_argument("--list", action="store_true", help="list the sections and exit")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results.json")
    parser.add_argument(
        "--markdown", type=Path, metavar="RESULTS", help="print a results.json as the README table"
    )
    args = parser.parse_args(argv)
    if args.markdown:
        print(format_markdown(json.loads(args.markdown.read_text(encoding="utf-8"))))
        return 0

    modules = discover()
    if args.list:
        for module in modules:
            print(f"{section_id(module):<20} {module.TITLE}")
        return 0
    if args.only:
        wanted = {w.strip() for w in args.only.split(",")}
        unknown = wanted - {section_id(m) for m in modules}
        if unknown:
            parser.error(f"unknown section(s) {sorted(unknown)}; see --list")
        modules = [m for m in modules if section_id(m) in wanted]

    ctx = Context(quick=args.quick, runs=args.runs)
    print(f"target Python {ctx.target_version} ({ctx.target_python}), {ctx.runs} runs per sample")
    if ctx.fallback:
        print(f"WARNING: measuring on this interpreter instead: {ctx.fallback}")
    started = time.perf_counter()
    sections: list[Section] = []
    try:
        for module in modules:
            t0 = time.perf_counter()
            print(f"... {module.TITLE}", flush=True)
            try:
                section = module.run(ctx)
            except Exception as error:
                traceback.print_exc()
                section = Section(section_id(module), module.TITLE, error=f"{error}".strip()[-700:])
            section.notes.append(f"section took {time.perf_counter() - t0:.0f} s")
            sections.append(section)
    finally:
        ctx.close()

    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "target_python": {"version": ctx.target_version, "executable": ctx.target_python},
        "fallback": ctx.fallback,
        "runs": ctx.runs,
        "quick": ctx.quick,
        "seconds": round(time.perf_counter() - started, 1),
        "sections": [s.as_dict() for s in sections],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    header = (
        f"{results['date']}  {results['machine']['cpu']}, {results['machine']['cores']} cores, "
        f"load {results['machine']['load_average']}  target Python {ctx.target_version}"
    )
    print("\n" + header)
    print(format_table(sections))
    print(f"\nwrote {args.out} ({results['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
