"""``etl-ops build`` (``nox -s build``): every catalog function's zip and the layers, under build/.

The function zips and the Python layer come from :mod:`etl_platform.artifacts.packaging`,
the Node layer (only when the catalog has a Node.js function) from
:mod:`etl_platform.artifacts.node_layer`; all are deterministic and cached by their inputs
(:mod:`etl_platform.artifacts.archive`). Prints each artifact's path, size and hashes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from etl_platform.artifacts.archive import BuiltArtifact
from etl_platform.artifacts.node_layer import build_node_layer_zip
from etl_platform.artifacts.packaging import build_function_zip, build_layer_zip
from etl_platform.model.catalog import load_catalog
from etl_platform.model.runtimes import (
    ARCHITECTURES,
    DEFAULT_ARCHITECTURE,
    DEFAULT_RUNTIME,
    python_version_of,
)
from etl_platform.paths import BUILD_DIR, LAYERS_DIR, display_path

__all__ = ["add_arguments", "build_all", "command"]


def build_all(runtime: str, architecture: str, out_dir: Path) -> list[BuiltArtifact]:
    """Every catalog function's zip, the Python layer and (with a Node function) the Node
    layer, for ``runtime``'s Python version and ``architecture``."""
    python_version = python_version_of(runtime)
    catalog = load_catalog()
    functions = [
        build_function_zip(spec.code_dir, out_dir / "functions", python_version=python_version)
        for spec in catalog
    ]
    layer = build_layer_zip(
        LAYERS_DIR / "etl-common",
        out_dir / "layers",
        python_version=python_version,
        architecture=architecture,
        bytecode=True,
    )
    node_layers = (
        [build_node_layer_zip(out_dir / "layers", architecture=architecture)]
        if catalog.node_functions
        else []
    )
    return [*functions, layer, *node_layers]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``etl-ops build [--runtime python3.13] [--architecture arm64] [--out-dir build]``."""
    parser.add_argument(
        "--runtime", default=DEFAULT_RUNTIME, help="Lambda runtime (default %(default)s)"
    )
    parser.add_argument(
        "--architecture", default=DEFAULT_ARCHITECTURE, choices=sorted(ARCHITECTURES)
    )
    parser.add_argument("--out-dir", type=Path, default=BUILD_DIR, help="default <repo>/build")


def command(args: argparse.Namespace) -> int:
    """Build everything; print path, size and hashes of each artifact."""
    for artifact in build_all(args.runtime, args.architecture, args.out_dir):
        size = artifact.path.stat().st_size
        print(
            f"{display_path(artifact.path):<46} {size:>11,} B  sha256={artifact.sha256}  "
            f"inputs={artifact.input_hash}  pyc={artifact.bytecode or 'none'}"
        )
    return 0
