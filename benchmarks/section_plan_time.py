"""Section 6: offline plan time at 4, 40 and 200 generated functions.

Each size is a temporary catalog (``ETL_CATALOG_DIR``) of clones of today's Python
functions, renamed, with each S3 trigger moved to its own sub-prefix so the catalog
stays valid. ``python -m etl_platform.ops.cli plan dev`` runs on it in a fresh process (this
environment's Python: the plan runs on the developer's machine, not on Lambda):
three programs under Pulumi's mock runtime, every function zip built (with its pycs),
every rule checked. Clones of one function share its zip's cache entry, as unchanged
functions do between two plans; the first plan of a fresh clone also compiles them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import REPO, Context, Section

ORDER = 6
TITLE = "6. Offline plan time (nox -s plan) at 4, 40 and 200 generated functions (s)"
SIZES = (4, 40, 200)


def generate_catalog(root: Path, count: int) -> Path:
    """``count`` functions cloned round-robin from the real catalog, all valid together."""
    from etl_platform.model.catalog import CATALOG_DIR_ENV, load_catalog

    specs = [s for s in load_catalog() if s.handler.startswith("handler.")]
    catalog = root / f"catalog-{count}"
    for index in range(count):
        spec = specs[index % len(specs)]
        name = f"{spec.name}-g{index:03d}"
        folder = catalog / name
        shutil.copytree(spec.code_dir, folder, ignore=shutil.ignore_patterns("__pycache__", ".*"))
        toml = (folder / "function.toml").read_text(encoding="utf-8")
        toml = re.sub(r'(?m)^name = ".*"', f'name = "{name}"', toml)
        if spec.trigger.type == "s3":
            prefix = spec.trigger.prefix
            toml = toml.replace(f'prefix = "{prefix}"', f'prefix = "{prefix}g{index:03d}/"')
        (folder / "function.toml").write_text(toml, encoding="utf-8")
    os.environ.pop(CATALOG_DIR_ENV, None)
    load_catalog(catalog)  # fails here, with the catalog's own message, if a clone is invalid
    return catalog


def run(ctx: Context) -> Section:
    from etl_platform.model.catalog import CATALOG_DIR_ENV

    section = Section("plan_time", TITLE)
    runs = 1  # ~3 minutes a round on a 2-core machine: one round keeps the run under 10
    with tempfile.TemporaryDirectory(prefix="etl-bench-catalog-") as tmp:
        catalogs = {n: generate_catalog(Path(tmp), n) for n in SIZES}
        samples: dict[int, list[float]] = {n: [] for n in SIZES}
        for _ in range(runs):
            for count, catalog in catalogs.items():
                env = {**os.environ, CATALOG_DIR_ENV: str(catalog)}
                started = time.perf_counter()
                result = subprocess.run(
                    [sys.executable, "-m", "etl_platform.ops.cli", "plan", "dev"],
                    env=env, cwd=REPO, capture_output=True, text=True, check=False,
                )  # fmt: skip
                elapsed = time.perf_counter() - started
                if result.returncode != 0:
                    raise RuntimeError(
                        f"plan of {count} functions failed:\n{result.stderr[-2000:]}"
                    )
                samples[count].append(elapsed)
    measured = {n: section.add(f"plan, {n} functions", "s", v) for n, v in samples.items()}
    base = measured[SIZES[0]]
    for count in SIZES[1:]:
        section.ratio(f"{count} functions / {SIZES[0]}", measured[count], base)
    per_function = (measured[SIZES[-1]].median - base.median) / (SIZES[-1] - SIZES[0])
    section.notes.append(f"about {per_function * 1000:.0f} ms per added function")
    return section
