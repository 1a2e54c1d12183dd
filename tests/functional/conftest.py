"""What the functional tier shares once per session: the real builds of the Python layer.

Each build runs the platform's packaging with the real pip for the Lambda target (PyPI on
a fresh machine, pip's own download cache after that). They are looked up in
``build/cache`` as the programs and ``nox -s compat`` look them up, so a zip a plan has
built already in this checkout is a cache hit, and a zip built here serves the plans:

- ``shipped_layer``: python3.13 arm64 with bytecode, the zip the shared stack publishes
  and ``nox -s compat`` checks;
- ``x86_64_layer``: the same for x86_64, as a stack with ``etl:architecture: x86_64``
  builds it.

tests/functional/test_layer_build.py builds the layer once more from another checkout
with an empty cache, and compares.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_platform.artifacts.packaging import BuiltArtifact, build_layer_zip
from etl_platform.paths import LAYERS_DIR

LAYER_SOURCE = LAYERS_DIR / "etl-common"


def build_shipped(architecture: str, out: Path) -> BuiltArtifact:
    """The layer as projects/shared publishes it: python3.13 with bytecode, from build/cache."""
    return build_layer_zip(
        LAYER_SOURCE, out, python_version="3.13", architecture=architecture, bytecode=True
    )


@pytest.fixture(scope="session")
def shipped_layer(tmp_path_factory: pytest.TempPathFactory) -> BuiltArtifact:
    return build_shipped("arm64", tmp_path_factory.mktemp("layer-arm64"))


@pytest.fixture(scope="session")
def x86_64_layer(tmp_path_factory: pytest.TempPathFactory) -> BuiltArtifact:
    return build_shipped("x86_64", tmp_path_factory.mktemp("layer-x86_64"))
