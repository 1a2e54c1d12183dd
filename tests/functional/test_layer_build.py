"""Functional tests: build the real layer with the real pip (needs PyPI via pip).

The layer is built twice from two copies of ``layers/etl-common`` at different paths
(two "checkouts"), each with its own cache, so both builds really run pip. pip's own
download cache is used, which keeps the suite fast after the first run.
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from etl_platform.artifacts.packaging import (
    BuiltArtifact,
    build_layer_zip,
    check_layer,
    inspect_layer,
    repo_root,
)
from etl_platform.model.runtimes import PYTHON_RUNTIME_PROVIDED_IMPORTS

pytestmark = pytest.mark.functional

LAYER_SOURCE = repo_root() / "layers" / "etl-common"
# A provided module may also sit at the top level as a single file (six.py).
RUNTIME_PROVIDED_TOP_LEVEL = PYTHON_RUNTIME_PROVIDED_IMPORTS | {
    f"{name}.py" for name in PYTHON_RUNTIME_PROVIDED_IMPORTS
}
TARGET_EXTENSION = re.compile(r"\.(cpython-313-aarch64-linux-gnu|abi3)\.so$")


@dataclass(frozen=True)
class TwoBuilds:
    first: BuiltArtifact
    second: BuiltArtifact
    checkouts: tuple[Path, Path]


def copy_checkout(source: Path, destination: Path, mtime: float) -> Path:
    """Copy the layer folder as another checkout would have it: other path, other mtimes,
    and some local litter (bytecode) that must not reach the zip."""
    layer_dir = destination / "layers" / "etl-common"
    shutil.copytree(source, layer_dir, ignore=shutil.ignore_patterns("__pycache__"))
    litter = layer_dir / "etl_common" / "__pycache__"
    litter.mkdir(parents=True, exist_ok=True)
    (litter / "stale.cpython-311.pyc").write_bytes(os.urandom(16))
    for path in layer_dir.rglob("*"):
        os.utime(path, (mtime, mtime))
    return layer_dir


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory: pytest.TempPathFactory) -> TwoBuilds:
    root = tmp_path_factory.mktemp("layer-build")
    # One snapshot of the source first: the working tree may change while we copy.
    snapshot = copy_checkout(LAYER_SOURCE, root / "snapshot", mtime=1)
    checkouts = (root / "checkout-a", root / "deeper" / "checkout-b")
    artifacts = [
        build_layer_zip(
            copy_checkout(snapshot, checkout, mtime=mtime),
            checkout / "build",
            python_version="3.13",
            architecture="arm64",
            cache_dir=checkout / "build" / "cache",
        )
        for checkout, mtime in zip(checkouts, (1_000_000_000, 1_700_000_000), strict=True)
    ]
    return TwoBuilds(artifacts[0], artifacts[1], checkouts)


def read_zip(artifact: BuiltArtifact) -> dict[str, bytes]:
    with zipfile.ZipFile(artifact.path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_real_layer_is_byte_identical_from_two_checkouts(two_builds: TwoBuilds) -> None:
    # GIVEN the layer built by pip from two checkouts at different paths, separate caches
    first, second = two_builds.first, two_builds.second

    # WHEN / THEN both builds produced the same bytes, so no new layer version is forced
    assert first.path != second.path
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.base64_sha256 == second.base64_sha256
    assert first.input_hash == second.input_hash


def test_real_layer_mentions_no_build_or_checkout_path(two_builds: TwoBuilds) -> None:
    # GIVEN the built layer
    entries = read_zip(two_builds.first)

    # WHEN each entry is searched for the checkout path, THEN none contains it
    needle = str(two_builds.checkouts[0]).encode()
    assert not [name for name, data in entries.items() if needle in data]
    assert not [n for n in entries if "__pycache__" in n or n.endswith(".pyc")]


def test_real_layer_carries_nothing_the_runtime_provides(two_builds: TwoBuilds) -> None:
    # GIVEN the built layer's top-level entries under python/
    names = read_zip(two_builds.first)
    top_level = {name.split("/")[1] for name in names if name.count("/") >= 1}

    # WHEN compared with what the Lambda Python runtime already ships
    # THEN none of it is bundled, and what the layer exists for is there
    assert not top_level & RUNTIME_PROVIDED_TOP_LEVEL
    assert not [t for t in top_level if re.match(r"(boto3|botocore|s3transfer)-", t)]
    assert {"psycopg", "psycopg_binary", "psycopg_pool", "aws_xray_sdk", "wrapt"} <= top_level
    assert all(name.startswith("python/") for name in names)


def test_real_layer_wheels_and_extensions_fit_python313_arm64(two_builds: TwoBuilds) -> None:
    # GIVEN the built layer
    # WHEN its wheel tags and compiled files are inspected for python3.13 arm64
    report = check_layer(two_builds.first.path, python_version="3.13", architecture="arm64")

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


def test_x86_64_layer_fits_x86_64_and_is_flagged_against_arm64(tmp_path: Path) -> None:
    # GIVEN the layer built for x86_64
    artifact = build_layer_zip(
        copy_checkout(LAYER_SOURCE, tmp_path / "x86", mtime=1_000_000_000),
        tmp_path / "build",
        architecture="x86_64",
        cache_dir=tmp_path / "cache",
    )

    # WHEN it is inspected for its own target, THEN it passes
    assert check_layer(artifact.path, architecture="x86_64").ok

    # WHEN it is inspected against arm64, THEN the compiled parts are reported, by name
    mismatched = inspect_layer(artifact.path, architecture="arm64")
    assert any(p.startswith("psycopg_binary 3.3.9: wheel tags") for p in mismatched.problems)
    assert any("compiled for x86_64, the target is aarch64" in p for p in mismatched.problems)


def test_real_layer_with_bytecode_is_byte_identical_and_for_the_target(tmp_path: Path) -> None:
    # GIVEN the real layer built with bytecode from two checkouts, separate caches
    from etl_platform.artifacts.bytecode import find_compiler

    builds = [
        build_layer_zip(
            copy_checkout(LAYER_SOURCE, tmp_path / name, mtime=mtime),
            tmp_path / name / "build",
            python_version="3.13",
            architecture="arm64",
            cache_dir=tmp_path / name / "cache",
            bytecode=True,
        )
        for name, mtime in (("a", 1_000_000_000), ("b", 1_700_000_000))
    ]

    # THEN both are the same bytes (the pycs too), so no new layer version is forced
    assert builds[0].path.read_bytes() == builds[1].path.read_bytes()
    entries = read_zip(builds[0])
    pycs = {n: data for n, data in entries.items() if n.endswith(".pyc")}
    compiler = find_compiler("3.13")
    if compiler is None:
        # AND without Python 3.13 here the layer is the sources-only one, and says so
        assert not pycs and builds[0].bytecode is None
        return
    # AND with it, every module of etl_common and of the packages it imports has a
    # Python 3.13 pyc, and the checkout's stale bytecode is not among them
    sources = [n for n in entries if n.endswith(".py")]
    for package in ("etl_common", "psycopg", "psycopg_pool", "aws_xray_sdk", "wrapt"):
        modules = [n for n in sources if n.startswith(f"python/{package}/")]
        assert modules, package
        for module in modules:
            folder, _, name = module.rpartition("/")
            pyc = f"{folder}/__pycache__/{name[:-3]}.{compiler.cache_tag}.pyc"
            assert pycs[pyc][:4] == compiler.magic, module
    assert not [n for n in pycs if "stale" in n or ".cpython-311." in n]
