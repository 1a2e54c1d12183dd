"""Functional tests: the real layer, built with the real pip for the Lambda target.

The zip the shared stack publishes (``shipped_layer``, tests/functional/conftest.py) is
built once more here from another checkout of the layer folder (another path, other
mtimes, stale local bytecode) with an empty cache, so pip and the compiler really run:
the two must be the same bytes, or every deploy would publish a new layer version.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from etl_platform.artifacts.bytecode import find_compiler
from etl_platform.artifacts.packaging import (
    BuiltArtifact,
    build_layer_zip,
    check_layer,
    inspect_layer,
)
from etl_platform.checks.offline import run_program
from etl_platform.model.runtimes import PYTHON_RUNTIME_PROVIDED_IMPORTS
from etl_platform.paths import LAYERS_DIR, PROJECTS_DIR, REPO_ROOT

LAYER = "aws:lambda/layerVersion:LayerVersion"
LAYER_SOURCE = LAYERS_DIR / "etl-common"
# A provided module may also sit at the top level as a single file (six.py).
RUNTIME_PROVIDED_TOP_LEVEL = PYTHON_RUNTIME_PROVIDED_IMPORTS | {
    f"{name}.py" for name in PYTHON_RUNTIME_PROVIDED_IMPORTS
}
TARGET_EXTENSION = re.compile(r"\.(cpython-313-aarch64-linux-gnu|abi3)\.so$")


@dataclass(frozen=True)
class Rebuild:
    artifact: BuiltArtifact
    checkout: Path  # the layer folder it was built from


def copy_checkout(source: Path, destination: Path, mtime: float) -> Path:
    """Copy the layer folder as another checkout would have it: other path, other mtimes,
    and some local litter (bytecode of another Python) that must not reach the zip."""
    layer_dir = destination / "layers" / "etl-common"
    shutil.copytree(source, layer_dir, ignore=shutil.ignore_patterns("__pycache__"))
    litter = layer_dir / "etl_common" / "__pycache__"
    litter.mkdir(parents=True, exist_ok=True)
    (litter / "stale.cpython-311.pyc").write_bytes(os.urandom(16))
    for path in layer_dir.rglob("*"):
        os.utime(path, (mtime, mtime))
    return layer_dir


@pytest.fixture(scope="module")
def rebuild(tmp_path_factory: pytest.TempPathFactory) -> Rebuild:
    root = tmp_path_factory.mktemp("layer-rebuild")
    checkout = copy_checkout(LAYER_SOURCE, root / "deeper" / "checkout", mtime=1_000_000_000)
    artifact = build_layer_zip(
        checkout,
        root / "build",
        python_version="3.13",
        architecture="arm64",
        cache_dir=root / "empty-cache",
        bytecode=True,
    )
    return Rebuild(artifact, checkout)


def read_zip(artifact: BuiltArtifact) -> dict[str, bytes]:
    with zipfile.ZipFile(artifact.path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_rebuild_from_another_checkout_is_byte_identical(
    shipped_layer: BuiltArtifact, rebuild: Rebuild
) -> None:
    # GIVEN the shipped layer and the same built again by pip elsewhere, with no cache
    # WHEN / THEN both are the same bytes (the pycs too), so no new layer version is forced
    assert rebuild.artifact.path != shipped_layer.path
    assert rebuild.artifact.path.read_bytes() == shipped_layer.path.read_bytes()
    assert rebuild.artifact.base64_sha256 == shipped_layer.base64_sha256
    assert rebuild.artifact.input_hash == shipped_layer.input_hash


def test_the_layer_mentions_no_build_or_checkout_path(rebuild: Rebuild) -> None:
    # GIVEN the rebuilt layer
    entries = read_zip(rebuild.artifact)
    # WHEN each entry is searched for the checkout's and the repository's path
    # THEN none contains either, and the checkout's stale bytecode is not in it
    for place in (rebuild.checkout, REPO_ROOT):
        needle = str(place).encode()
        assert not [name for name, data in entries.items() if needle in data], place
    assert not [n for n in entries if "stale" in n or ".cpython-311." in n]


def test_the_layer_carries_nothing_the_runtime_provides(shipped_layer: BuiltArtifact) -> None:
    # GIVEN the built layer's top-level entries under python/
    names = read_zip(shipped_layer)
    top_level = {name.split("/")[1] for name in names if name.count("/") >= 1}

    # WHEN compared with what the Lambda Python runtime already ships
    # THEN none of it is bundled, and what the layer exists for is there
    assert not top_level & RUNTIME_PROVIDED_TOP_LEVEL
    assert not [t for t in top_level if re.match(r"(boto3|botocore|s3transfer)-", t)]
    assert {"psycopg", "psycopg_binary", "psycopg_pool", "aws_xray_sdk", "wrapt"} <= top_level
    assert all(name.startswith("python/") for name in names)


def test_the_layer_wheels_and_extensions_fit_python313_arm64(
    shipped_layer: BuiltArtifact,
) -> None:
    # GIVEN the built layer
    # WHEN its wheel tags and compiled files are inspected for python3.13 arm64
    report = check_layer(shipped_layer.path, python_version="3.13", architecture="arm64")

    # THEN every wheel tag is cp313/abi3/py3 for aarch64 or any platform ...
    assert report.distributions
    for dist in report.distributions:
        for tag in dist.tags:
            interpreter, abi, platform = tag.split("-")
            assert interpreter in {"cp313", "py3", "py2"} or abi == "abi3", (dist.name, tag)
            assert platform == "any" or platform.endswith("_aarch64"), (dist.name, tag)

    # ... and every Python extension is a cp313 (or abi3) aarch64 ELF object
    modules = [e for e in report.extensions if e.path.endswith(".so")]
    assert modules, "expected compiled extensions (psycopg_binary, wrapt)"
    for extension in report.extensions:
        assert extension.machine == "aarch64", extension.path
    for module in modules:
        assert TARGET_EXTENSION.search(module.path), module.path


def test_the_layer_bytecode_is_for_the_target(shipped_layer: BuiltArtifact) -> None:
    entries = read_zip(shipped_layer)
    pycs = {n: data for n, data in entries.items() if n.endswith(".pyc")}
    compiler = find_compiler("3.13")
    if compiler is None:
        # GIVEN no Python 3.13 here: the layer is the sources-only one, and says so
        assert not pycs and shipped_layer.bytecode is None
        return
    # GIVEN Python 3.13 here: every module of etl_common and of the packages it imports
    # has a Python 3.13 pyc
    sources = [n for n in entries if n.endswith(".py")]
    for package in ("etl_common", "psycopg", "psycopg_pool", "aws_xray_sdk", "wrapt"):
        modules = [n for n in sources if n.startswith(f"python/{package}/")]
        assert modules, package
        for module in modules:
            folder, _, name = module.rpartition("/")
            pyc = f"{folder}/__pycache__/{name[:-3]}.{compiler.cache_tag}.pyc"
            assert pycs[pyc][:4] == compiler.magic, module


def test_the_x86_64_layer_fits_x86_64_and_is_flagged_against_arm64(
    x86_64_layer: BuiltArtifact,
) -> None:
    # GIVEN the layer built for x86_64
    # WHEN it is inspected for its own target, THEN it passes
    assert check_layer(x86_64_layer.path, architecture="x86_64").ok

    # WHEN it is inspected against arm64, THEN the compiled parts are reported, by name
    mismatched = inspect_layer(x86_64_layer.path, architecture="arm64")
    assert any(p.startswith("psycopg_binary 3.3.9: wheel tags") for p in mismatched.problems)
    assert any("compiled for x86_64, the target is aarch64" in p for p in mismatched.problems)


# ------------------------------------------------------------ the layer the shared stack plans


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_planned_layer_version_is_the_deterministic_zip(
    stack: str, shipped_layer: BuiltArtifact, rebuild: Rebuild
) -> None:
    # GIVEN the layer version the shared program declares for the stack
    layer = run_program(PROJECTS_DIR / "shared", stack).one(LAYER, "layer-version")
    # THEN its hash is that of the zip built from scratch, so an unchanged layer shows no
    # diff on `up`
    assert layer.inputs["sourceCodeHash"] == rebuild.artifact.base64_sha256
    # AND the hash is Lambda's CodeSha256 of the very file uploaded
    uploaded = Path(layer.inputs["code"].path).read_bytes()
    digest = hashlib.sha256(uploaded).digest()
    assert base64.b64encode(digest).decode() == layer.inputs["sourceCodeHash"]
    # AND the description carries the content hash, for whoever looks at it in the console
    assert shipped_layer.sha256 in layer.inputs["description"]


def test_the_planned_layer_follows_an_architecture_override(
    x86_64_layer: BuiltArtifact, shipped_layer: BuiltArtifact
) -> None:
    # GIVEN the dev stack configured for x86_64
    # WHEN the program runs
    run = run_program(PROJECTS_DIR / "shared", "dev", config={"etl:architecture": "x86_64"})
    layer = run.one(LAYER, "layer-version")
    # THEN the layer is built and declared for x86_64: a different zip, a new version
    assert layer.inputs["compatibleArchitectures"] == ["x86_64"]
    assert Path(layer.inputs["code"].path).name == "etl-common-python3.13-x86_64.zip"
    assert layer.inputs["sourceCodeHash"] == x86_64_layer.base64_sha256
    assert layer.inputs["sourceCodeHash"] != shipped_layer.base64_sha256
