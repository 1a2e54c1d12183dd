"""``nox -s compat`` against the real built layer (pip, for the Lambda target).

Functional tier: the layer is the session's real build for python3.13 arm64 (pip, or the
build cache ``build/cache`` when nothing changed; on a fresh machine that needs the network).
The source checks with a stand-in layer are unit tests (tests/unit/test_compat.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_platform.artifacts import compat
from etl_platform.artifacts.packaging import BuiltArtifact
from etl_platform.ops.cli import main as etl_ops

pytestmark = pytest.mark.functional


@pytest.fixture
def built_layer(shipped_layer: BuiltArtifact) -> Path:
    """The real layer zip for python3.13 arm64 (tests/functional/conftest.py)."""
    return shipped_layer.path


def test_the_layer_must_match_the_architecture(built_layer: Path) -> None:
    # GIVEN the arm64 layer  WHEN checked for x86_64
    problems = compat.check_layer_zip(built_layer, "3.13", "x86_64")
    # THEN its compiled extensions are refused, naming the file and the target
    assert problems
    assert any("compiled for aarch64, the target is x86_64" in p.message for p in problems)


def test_the_layer_must_match_the_python_version(built_layer: Path) -> None:
    # GIVEN the python3.13 layer  WHEN checked for python3.12
    problems = compat.check_layer_zip(built_layer, "3.12", "arm64")
    # THEN its cp313 wheels are refused with the rebuild command
    assert any("CPython 3.12" in p.message for p in problems)
    assert all("--runtime python3.12" in p.fix for p in problems)


def test_the_layer_carries_its_packages(built_layer: Path) -> None:
    # GIVEN the built layer  THEN its top-level import names are read from the zip
    names = compat.layer_import_names(built_layer)
    assert {"etl_common", "psycopg", "psycopg_pool", "aws_xray_sdk"} <= names
    assert "boto3" not in names  # provided by the runtime, never bundled


def test_the_real_repository_passes(built_layer: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the repository's catalog, etl_common and the built layer
    # WHEN `nox -s compat` runs for the default target
    code = etl_ops(["compat", "--layer-zip", str(built_layer)])
    # THEN there is nothing to fix
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "etl_common and the Python layer for python3.13 arm64: no problem" in captured.out
