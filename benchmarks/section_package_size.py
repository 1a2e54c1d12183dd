"""Section 2: package sizes, ours vs a naive single bundle.

Ours is what ``deploy-all`` uploads for the default target (``DEFAULT_RUNTIME``,
``arm64``): one small zip per function (its code and pycs) plus one layer version that
all functions share. The naive bundle is what the legacy estate shipped: every
handler, every third-party package and the AWS SDK (boto3, botocore, ...) in one zip,
uploaded once per function. Sizes are the zipped bytes Lambda stores (KB); the
ratios compare what one function deploys and what the whole catalog deploys.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from benchmarks.harness import BENCH_DIR, Context, Section

ORDER = 2
TITLE = "2. Package sizes: ours (function zip + shared layer) vs a naive single bundle (KB)"


def _naive_bundle(functions: list[Path], layer_zip: Path, runtime_dir: Path) -> tuple[int, int]:
    """(zipped, unzipped) bytes of one zip holding every handler, the layer and the SDK."""
    buffer = io.BytesIO()
    unzipped = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for folder in functions:
            for path in sorted(folder.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    data = path.read_bytes()
                    unzipped += len(data)
                    bundle.writestr(f"{folder.name}/{path.relative_to(folder)}", data)
        with zipfile.ZipFile(layer_zip) as layer:
            for info in layer.infolist():
                if info.is_dir() or "__pycache__" in info.filename:
                    continue
                data = layer.read(info)
                unzipped += len(data)
                bundle.writestr(info.filename.removeprefix("python/"), data)
        for path in sorted(runtime_dir.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.name != ".complete":
                data = path.read_bytes()
                unzipped += len(data)
                bundle.writestr(str(path.relative_to(runtime_dir)), data)
    return len(buffer.getvalue()), unzipped


def run(ctx: Context) -> Section:
    from etl_platform.artifacts.packaging import (
        build_function_zip,
        build_layer_zip,
        python_version_of,
    )
    from etl_platform.model.catalog import load_catalog
    from etl_platform.model.runtimes import DEFAULT_RUNTIME
    from etl_platform.paths import LAYERS_DIR

    section = Section("package_size", TITLE)
    version = python_version_of(DEFAULT_RUNTIME)
    out = BENCH_DIR / "zips-deployed"
    specs = [s for s in load_catalog() if s.handler.startswith("handler.")]
    zips = {
        s.name: build_function_zip(s.code_dir, out / "functions", python_version=version)
        for s in specs
    }
    layer = build_layer_zip(
        LAYERS_DIR / "etl-common", out / "layers", python_version=version,
        architecture="arm64", bytecode=True,
    )  # fmt: skip
    kb = 1024
    layer_kb = layer.path.stat().st_size / kb
    naive_bytes, naive_unzipped = _naive_bundle(
        [s.code_dir for s in specs], layer.path, ctx.runtime_dir()
    )
    naive = section.add("naive bundle (uploaded by each function)", "KB", [naive_bytes / kb])
    section.add("ours: shared layer (uploaded once)", "KB", [layer_kb])
    total = layer_kb
    for name, artifact in zips.items():
        size = artifact.path.stat().st_size / kb
        total += size
        ours = section.add(f"ours: {name} zip", "KB", [size])
        section.ratio(f"{name} zip / naive bundle", ours, naive)
    whole = section.add(f"ours: all {len(zips)} zips + layer", "KB", [total])
    naive_all = section.add(f"naive: {len(zips)} bundles", "KB", [len(zips) * naive_bytes / kb])
    section.ratio("everything deployed / naive", whole, naive_all)
    section.notes.append(
        f"naive bundle unzipped: {naive_unzipped / kb / kb:.1f} MB (Lambda's limit is 250 MB); "
        f"ours: {DEFAULT_RUNTIME} arm64, pycs {layer.bytecode or 'none'}"
    )
    return section
