"""Each handler imports in a fresh interpreter with only what Lambda would give it:
the standard library, the runtime's boto3 stack, the function folder and the BUILT layer.

This catches a handler importing something the layer does not ship, and a handler
importing heavy modules (psycopg, the X-Ray SDK) at module load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from etl_platform.artifacts.packaging import BuiltArtifact

pytestmark = pytest.mark.functional

REPO = Path(__file__).resolve().parents[3]
FUNCTIONS = ("ingest-api", "transform", "load", "status-api")
# What the Lambda Python runtime provides besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
# Imported lazily, never at module load.
LAZY_MODULES = ("psycopg", "psycopg_pool", "aws_xray_sdk", "boto3", "botocore")

PROBE = """
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
import handler
print(json.dumps({
    "handler": callable(getattr(handler, "handler", None)),
    "file": handler.__file__,
    "etl_common": sys.modules["etl_common"].__file__,
    "loaded": sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules),
}))
"""


@pytest.fixture(scope="module")
def built_layer(shipped_layer: BuiltArtifact, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's real etl-common layer (tests/functional/conftest.py), extracted;
    returns python/."""
    extracted = tmp_path_factory.mktemp("layer") / "opt"
    with zipfile.ZipFile(shipped_layer.path) as archive:
        archive.extractall(extracted)
    return extracted / "python"


@pytest.fixture(scope="module")
def runtime_packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding only symlinks to the runtime-provided packages from this venv."""
    import boto3

    site = Path(boto3.__file__).resolve().parents[1]
    folder = tmp_path_factory.mktemp("runtime")
    for name in RUNTIME_PACKAGES:
        target = site / name if (site / name).is_dir() else site / f"{name}.py"
        assert target.exists(), f"{name} is not installed in {site}"
        (folder / target.name).symlink_to(target)
    return folder


@pytest.mark.parametrize("function", FUNCTIONS)
def test_handler_imports_with_only_stdlib_runtime_and_built_layer(
    function: str, built_layer: Path, runtime_packages: Path
) -> None:
    # GIVEN the function folder, the built layer and the runtime's packages, nothing else
    path = [str(REPO / "lambdas" / function), str(built_layer), str(runtime_packages)]
    env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"}

    # WHEN a fresh interpreter without site-packages imports the handler module
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", PROBE, json.dumps(path), json.dumps(LAZY_MODULES)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )

    # THEN it imports, from the layer, and has not imported psycopg, X-Ray or boto3 yet
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["handler"] is True
    assert report["file"] == str(REPO / "lambdas" / function / "handler.py")
    assert report["etl_common"].startswith(str(built_layer))
    assert report["loaded"] == []
