"""Unit tests for etl_platform.artifacts.packaging and etl_platform.artifacts.wheels (no network).

pip is never run here: a fake stands in for ``subprocess.run`` and writes what pip
would install, so the layer tests exercise the real normalisation, caching and
checks offline. tests/functional/test_layer_build.py runs the real pip.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import marshal
import os
import socket
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from etl_platform.artifacts import build, bytecode, packaging
from etl_platform.artifacts.packaging import (
    LayerCompatibilityError,
    PackagingError,
    RuntimeProvidedPackageError,
    build_function_zip,
    build_layer_zip,
    check_layer,
    inspect_layer,
    python_version_of,
)
from etl_platform.artifacts.wheels import target_platforms
from etl_platform.model.catalog import load_catalog
from etl_platform.ops import cli

EM_X86_64 = 0x3E
EM_AARCH64 = 0xB7


# ---------------------------------------------------------------- helpers/fixtures


def elf_header(machine: int) -> bytes:
    """The first bytes of a 64-bit little-endian ELF shared object for ``machine``."""
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    return ident + (3).to_bytes(2, "little") + machine.to_bytes(2, "little") + bytes(44)


def write_function(root: Path, *, mode: int, mtime: float, reverse: bool = False) -> Path:
    """A lambdas/<name>/ folder with code, package data and things that must stay out."""
    files = {
        "handler.py": "def handler(event, context):\n    return 1\n",
        "lib/__init__.py": "",
        "lib/schema.json": '{"type": "object"}\n',
        "function.toml": 'name = "transform"\n',
        ".env": "SECRET=1\n",
        ".idea/workspace.xml": "<x/>\n",
        "__pycache__/handler.cpython-313.pyc": "junk",
        "lib/helpers.pyc": "junk",
        "tests/test_handler.py": "def test_x(): pass\n",
    }
    function_dir = root / "lambdas" / "transform"
    for relative in sorted(files, reverse=reverse):
        path = function_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[relative])
        path.chmod(mode)
        os.utime(path, (mtime, mtime))
    return function_dir


def make_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def wheel_metadata(name: str, version: str, tags: Sequence[str]) -> dict[str, bytes]:
    dist = f"python/{name}-{version}.dist-info"
    wheel = "Wheel-Version: 1.0\nRoot-Is-Purelib: false\n" + "".join(f"Tag: {t}\n" for t in tags)
    return {f"{dist}/WHEEL": wheel.encode(), f"{dist}/METADATA": b"Name: x\n"}


def write_layer(root: Path, requirements: str = "fastjson==1.0\n") -> Path:
    layer_dir = root / "layers" / "etl-common"
    (layer_dir / "etl_common").mkdir(parents=True)
    (layer_dir / "etl_common" / "__init__.py").write_text('"""Shared helpers."""\n')
    (layer_dir / "etl_common" / "__pycache__").mkdir()
    (layer_dir / "etl_common" / "__pycache__" / "x.pyc").write_bytes(b"junk")
    (layer_dir / "requirements.txt").write_text(requirements)
    return layer_dir


class FakePip:
    """Stands in for ``subprocess.run(pip install ...)``: records the command and
    writes what pip would leave in ``--target``, including its machine-specific
    litter (a console script with this machine's interpreter in the shebang, a
    direct_url.json with an absolute path)."""

    def __init__(self, requires: Sequence[str] = ()) -> None:
        self.commands: list[list[str]] = []
        self.requires = list(requires)

    def __call__(self, command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        self.commands.append(command)
        target = Path(command[command.index("--target") + 1])
        dist = target / "fastjson-1.0.dist-info"
        (target / "fastjson").mkdir(parents=True)
        (target / "fastjson" / "__init__.py").write_text("VERSION = 1\n")
        (target / "fastjson" / "_speedups.cpython-313-aarch64-linux-gnu.so").write_bytes(
            elf_header(EM_AARCH64)
        )
        (target / "bin").mkdir()
        (target / "bin" / "fastjson").write_text(f"#!{target}/../venv/bin/python\n")
        dist.mkdir()
        requires = "".join(f"Requires-Dist: {r}\n" for r in self.requires)
        (dist / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: fastjson\nVersion: 1.0\n{requires}"
        )
        (dist / "WHEEL").write_text("Wheel-Version: 1.0\nTag: cp313-cp313-manylinux_2_28_aarch64\n")
        (dist / "INSTALLER").write_text("pip\n")
        (dist / "direct_url.json").write_text(f'{{"url": "file://{target}"}}')
        (dist / "RECORD").write_text(
            "fastjson/__init__.py,sha256=abc,12\n"
            "../../bin/fastjson,sha256=def,30\n"
            "bin/fastjson,sha256=def,30\n"
            "fastjson-1.0.dist-info/direct_url.json,,\n"
            "fastjson-1.0.dist-info/RECORD,,\n"
        )
        return subprocess.CompletedProcess(command, 0, "", "")


def forbid_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any subprocess (pip) or socket use fail loudly."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network/subprocess used on a cache hit: {args!r}")

    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def fake_pip(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakePip]:
    def install(requires: Sequence[str] = ()) -> FakePip:
        fake = FakePip(requires)
        monkeypatch.setattr(packaging.subprocess, "run", fake)
        return fake

    return install


# ----------------------------------------------------------------- function zips


def test_function_zip_is_byte_identical_across_checkouts_mtimes_and_permissions(
    tmp_path: Path,
) -> None:
    # GIVEN the same function checked out twice, at different paths, with different
    # file mtimes, permissions and creation order
    first = write_function(tmp_path / "checkout-a", mode=0o644, mtime=1_000_000_000)
    second = write_function(
        tmp_path / "elsewhere" / "b", mode=0o755, mtime=1_700_000_000, reverse=True
    )

    # WHEN each is packaged
    one = build_function_zip(first, tmp_path / "out-a")
    two = build_function_zip(second, tmp_path / "out-b")

    # THEN the zips are byte-identical, so an unchanged function never shows a diff
    assert one.path.read_bytes() == two.path.read_bytes()
    assert (one.sha256, one.base64_sha256, one.input_hash) == (
        two.sha256,
        two.base64_sha256,
        two.input_hash,
    )


def test_function_zip_holds_only_the_functions_own_code(tmp_path: Path) -> None:
    # GIVEN a function folder with its catalog entry, tests, bytecode and dotfiles
    function_dir = write_function(tmp_path, mode=0o644, mtime=1_000_000_000)

    # WHEN it is packaged
    artifact = build_function_zip(function_dir, tmp_path / "out")

    # THEN only code and package data are in the zip, named after the folder
    assert artifact.path == tmp_path / "out" / "transform.zip"
    with zipfile.ZipFile(artifact.path) as archive:
        files = [n for n in archive.namelist() if not n.endswith("/")]
    assert files == ["handler.py", "lib/__init__.py", "lib/schema.json"]


def test_function_zip_has_fixed_timestamps_permissions_and_relative_names(tmp_path: Path) -> None:
    # GIVEN a function whose files are executable and recently modified
    function_dir = write_function(tmp_path, mode=0o777, mtime=1_750_000_000)

    # WHEN it is packaged
    artifact = build_function_zip(function_dir, tmp_path / "out")

    # THEN every entry has the 1980-01-01 timestamp, 0644 (files) / 0755 (dirs), and a
    # relative name, so nothing about this machine or checkout leaks into the zip
    with zipfile.ZipFile(artifact.path) as archive:
        infos = archive.infolist()
    assert infos, "empty zip"
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0), info.filename
        expected = 0o40755 if info.is_dir() else 0o100644
        assert info.external_attr >> 16 == expected, info.filename
        assert not info.filename.startswith("/") and ".." not in info.filename
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)


def test_function_artifact_hashes_are_what_lambda_and_pulumi_compare(tmp_path: Path) -> None:
    # GIVEN a built function zip
    artifact = build_function_zip(write_function(tmp_path, mode=0o644, mtime=1), tmp_path / "o")

    # WHEN we hash its bytes ourselves
    digest = hashlib.sha256(artifact.path.read_bytes())

    # THEN sha256 is the hex digest and base64_sha256 is Lambda's CodeSha256 form
    assert artifact.sha256 == digest.hexdigest()
    assert artifact.base64_sha256 == base64.b64encode(digest.digest()).decode()


def test_function_input_hash_changes_with_code_but_not_with_excluded_files(tmp_path: Path) -> None:
    # GIVEN a built function
    function_dir = write_function(tmp_path, mode=0o644, mtime=1)
    before = build_function_zip(function_dir, tmp_path / "o").input_hash

    # WHEN only an excluded file changes, THEN the input hash is unchanged
    (function_dir / "function.toml").write_text('name = "renamed"\n')
    assert build_function_zip(function_dir, tmp_path / "o").input_hash == before

    # WHEN the handler changes, THEN the input hash changes
    (function_dir / "handler.py").write_text("def handler(e, c):\n    return 2\n")
    assert build_function_zip(function_dir, tmp_path / "o").input_hash != before


def test_function_without_python_code_is_refused(tmp_path: Path) -> None:
    # GIVEN a function folder with only its catalog entry
    function_dir = tmp_path / "lambdas" / "empty"
    function_dir.mkdir(parents=True)
    (function_dir / "function.toml").write_text("")

    # WHEN / THEN packaging it fails and names the folder
    with pytest.raises(PackagingError, match=r"holds no code file \(\.py, \.js"):
        build_function_zip(function_dir, tmp_path / "out")


# -------------------------------------------------------------------------- layer


def test_layer_is_installed_for_the_lambda_target_not_this_machine(
    tmp_path: Path, fake_pip: Callable[..., FakePip]
) -> None:
    # GIVEN a layer folder and a fake pip
    pip = fake_pip()

    # WHEN the layer is built for python3.13 arm64
    build_layer_zip(write_layer(tmp_path), tmp_path / "out", cache_dir=tmp_path / "cache")

    # THEN pip was asked for CPython 3.13 aarch64 manylinux wheels only, no deps, no pyc
    (command,) = pip.commands
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    assert platforms == list(target_platforms("3.13", "arm64"))
    assert "manylinux_2_28_aarch64" in platforms and "manylinux2014_aarch64" in platforms
    for flag in ("--only-binary=:all:", "--no-deps", "--no-compile"):
        assert flag in command
    assert command[command.index("--python-version") + 1] == "3.13"
    assert command[command.index("--implementation") + 1] == "cp"


def test_layer_zip_has_python_prefix_own_package_and_no_machine_specific_files(
    tmp_path: Path, fake_pip: Callable[..., FakePip]
) -> None:
    # GIVEN pip leaves a console script and a direct_url.json with absolute paths
    fake_pip()

    # WHEN the layer is built
    artifact = build_layer_zip(write_layer(tmp_path), tmp_path / "o", cache_dir=tmp_path / "c")

    # THEN everything sits under python/, etl_common is included without bytecode, the
    # absolute-path files are gone, RECORD no longer lists them, and no entry mentions
    # the build or checkout path
    with zipfile.ZipFile(artifact.path) as archive:
        names = archive.namelist()
        contents = {n: archive.read(n) for n in names}
    assert all(n.startswith("python/") for n in names)
    assert "python/etl_common/__init__.py" in names
    assert "python/fastjson/_speedups.cpython-313-aarch64-linux-gnu.so" in names
    assert not [n for n in names if "bin/" in n or "direct_url" in n or "pycache" in n]
    record = contents["python/fastjson-1.0.dist-info/RECORD"].decode()
    assert "bin/fastjson" not in record and "direct_url.json" not in record
    assert "fastjson/__init__.py" in record
    assert not [n for n, data in contents.items() if str(tmp_path).encode() in data]


def test_layer_cache_hit_runs_no_pip_and_touches_no_network(
    tmp_path: Path, fake_pip: Callable[..., FakePip], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a layer already built once into a cache
    layer_dir = write_layer(tmp_path)
    fake_pip()
    first = build_layer_zip(layer_dir, tmp_path / "out1", cache_dir=tmp_path / "cache")

    # WHEN it is built again with subprocesses and sockets forbidden
    forbid_network(monkeypatch)
    second = build_layer_zip(layer_dir, tmp_path / "out2", cache_dir=tmp_path / "cache")

    # THEN the cached zip is returned, byte-identical
    assert second.path.read_bytes() == first.path.read_bytes()
    assert second.input_hash == first.input_hash


def test_layer_cache_misses_when_an_input_changes(
    tmp_path: Path, fake_pip: Callable[..., FakePip]
) -> None:
    # GIVEN a cached layer build
    layer_dir = write_layer(tmp_path)
    pip = fake_pip()
    first = build_layer_zip(layer_dir, tmp_path / "o", cache_dir=tmp_path / "c")

    # WHEN the etl_common code changes (or the architecture)
    (layer_dir / "etl_common" / "__init__.py").write_text('"""Changed."""\n')
    second = build_layer_zip(layer_dir, tmp_path / "o", cache_dir=tmp_path / "c")

    # THEN the input hash differs and pip really ran again
    assert second.input_hash != first.input_hash
    assert len(pip.commands) == 2
    other_arch = build_layer_zip(
        layer_dir, tmp_path / "o", architecture="x86_64", cache_dir=tmp_path / "c"
    )
    assert other_arch.input_hash != second.input_hash
    assert "manylinux2014_x86_64" in pip.commands[-1]


def test_failed_layer_build_leaves_nothing_in_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN pip fails (say the index is unreachable)
    def failing_pip(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution")

    monkeypatch.setattr(packaging.subprocess, "run", failing_pip)

    # WHEN the layer is built, THEN the error carries pip's message
    with pytest.raises(PackagingError, match="No matching distribution"):
        build_layer_zip(write_layer(tmp_path), tmp_path / "out", cache_dir=tmp_path / "cache")

    # AND no zip, half-written or otherwise, is left to be mistaken for a cache hit
    cache = tmp_path / "cache"
    assert not cache.exists() or not list(cache.iterdir())
    assert not (tmp_path / "out").exists()


def test_corrupt_cache_entry_is_rebuilt_not_returned(
    tmp_path: Path, fake_pip: Callable[..., FakePip]
) -> None:
    # GIVEN a cache entry that was damaged after it was written
    layer_dir = write_layer(tmp_path)
    pip = fake_pip()
    first = build_layer_zip(layer_dir, tmp_path / "o", cache_dir=tmp_path / "c")
    (cached,) = (tmp_path / "c").glob("*.zip")
    cached.write_bytes(b"PK\x03\x04 truncated")

    # WHEN the layer is built again
    again = build_layer_zip(layer_dir, tmp_path / "o", cache_dir=tmp_path / "c")

    # THEN it was rebuilt and the good bytes come back
    assert len(pip.commands) == 2
    assert again.sha256 == first.sha256


@pytest.mark.parametrize(
    "line", ["boto3==1.35.0", "botocore==1.35.0", "python_dateutil==2.9.0", "Six==1.16.0"]
)
def test_requirements_naming_a_runtime_provided_package_fail_loudly(
    tmp_path: Path, line: str
) -> None:
    # GIVEN a requirements.txt that names a package the Lambda runtime provides
    layer_dir = write_layer(tmp_path, requirements=f"wrapt==2.5.2\n{line}  # oops\n")

    # WHEN / THEN the build stops before pip runs, naming the file, line and package
    with pytest.raises(RuntimeProvidedPackageError) as error:
        build_layer_zip(layer_dir, tmp_path / "out", cache_dir=tmp_path / "cache")
    message = str(error.value)
    assert "requirements.txt:2" in message
    assert line.split("==")[0] in message
    assert "provided by the Lambda Python runtime" in message


def test_unpinned_requirement_is_refused(tmp_path: Path) -> None:
    # GIVEN a requirement without an exact pin
    layer_dir = write_layer(tmp_path, requirements="wrapt>=2\n")

    # WHEN / THEN the build refuses it, since the layer must be reproducible
    with pytest.raises(PackagingError, match=r"must be pinned exactly as 'name==version'"):
        build_layer_zip(layer_dir, tmp_path / "out", cache_dir=tmp_path / "cache")


def test_missing_transitive_dependency_is_reported(
    tmp_path: Path, fake_pip: Callable[..., FakePip]
) -> None:
    # GIVEN an installed package that needs something requirements.txt does not pin
    # (runtime-provided botocore and a Windows-only dependency are fine)
    fake_pip(requires=["botocore>=1", 'tzdata; sys_platform == "win32"', "orjson>=3"])

    # WHEN / THEN the build fails naming the package and its missing dependency
    with pytest.raises(PackagingError, match=r"fastjson needs orjson>=3 \(layer has nothing\)"):
        build_layer_zip(write_layer(tmp_path), tmp_path / "out", cache_dir=tmp_path / "cache")


# ------------------------------------------------------------------ inspect_layer


def test_inspect_layer_accepts_a_layer_built_for_the_target(tmp_path: Path) -> None:
    # GIVEN a layer with a cp313 aarch64 wheel, a pure wheel, and matching binaries
    entries = {
        **wheel_metadata("fastjson", "1.0", ["cp313-cp313-manylinux_2_28_aarch64"]),
        **wheel_metadata("purelib", "2.0", ["py3-none-any"]),
        **wheel_metadata(
            "stable", "3.0", ["cp38-abi3-manylinux_2_17_aarch64.manylinux2014_aarch64"]
        ),
        "python/fastjson/_s.cpython-313-aarch64-linux-gnu.so": elf_header(EM_AARCH64),
        "python/stable/_s.abi3.so": elf_header(EM_AARCH64),
        "python/fastjson.libs/libpq-1234.so.5.18": elf_header(EM_AARCH64),
    }
    layer = make_zip(tmp_path / "layer.zip", entries)

    # WHEN it is inspected for python3.13 arm64
    report = check_layer(layer, python_version="3.13", architecture="arm64")

    # THEN there is nothing to report, and every distribution and binary was seen
    assert report.ok and report.problems == ()
    assert [d.name for d in report.distributions] == ["fastjson", "purelib", "stable"]
    assert {e.machine for e in report.extensions} == {"aarch64"}


def test_inspect_layer_flags_an_extension_for_the_wrong_architecture(tmp_path: Path) -> None:
    # GIVEN a layer whose extension and wheel were built for x86_64
    entries = {
        **wheel_metadata("fastjson", "1.0", ["cp313-cp313-manylinux_2_17_x86_64"]),
        "python/fastjson/_s.cpython-313-x86_64-linux-gnu.so": elf_header(EM_X86_64),
        "python/fastjson/_renamed.so": elf_header(EM_X86_64),
    }
    layer = make_zip(tmp_path / "layer.zip", entries)

    # WHEN it is checked against arm64
    with pytest.raises(LayerCompatibilityError) as error:
        check_layer(layer, python_version="3.13", architecture="arm64")

    # THEN the message names the wheel, each binary and the two architectures
    message = str(error.value)
    assert "fastjson 1.0: wheel tags cp313-cp313-manylinux_2_17_x86_64" in message
    assert (
        "_s.cpython-313-x86_64-linux-gnu.so: compiled for x86_64, the target is aarch64" in message
    )
    assert "_renamed.so: compiled for x86_64" in message
    assert "python3.13 arm64 (aarch64)" in message


def test_inspect_layer_flags_a_wheel_for_another_cpython_version(tmp_path: Path) -> None:
    # GIVEN a layer holding a cp312 wheel and its cp312 extension
    entries = {
        **wheel_metadata("fastjson", "1.0", ["cp312-cp312-manylinux_2_28_aarch64"]),
        "python/fastjson/_s.cpython-312-aarch64-linux-gnu.so": elf_header(EM_AARCH64),
    }
    layer = make_zip(tmp_path / "layer.zip", entries)

    # WHEN it is inspected for python3.13
    report = inspect_layer(layer, python_version="3.13", architecture="arm64")

    # THEN both are reported, naming the versions involved
    assert not report.ok
    assert len(report.problems) == 2
    assert (
        "fastjson 1.0: wheel tags cp312-cp312-manylinux_2_28_aarch64 do not fit CPython 3.13"
        in (report.problems[0])
    )
    assert "built for CPython 312, the target is CPython 313" in report.problems[1]


def test_inspect_layer_flags_glibc_too_new_and_runtime_provided_packages(tmp_path: Path) -> None:
    # GIVEN a wheel needing glibc 2.35 (Amazon Linux 2023 has 2.34) and a bundled boto3
    entries = {
        **wheel_metadata("newglibc", "1.0", ["cp313-cp313-manylinux_2_35_aarch64"]),
        **wheel_metadata("boto3", "1.35.0", ["py3-none-any"]),
    }
    layer = make_zip(tmp_path / "layer.zip", entries)

    # WHEN it is inspected
    report = inspect_layer(layer, python_version="3.13", architecture="arm64")

    # THEN both are named with the reason
    assert any("boto3 1.35.0: provided by the Lambda runtime" in p for p in report.problems)
    assert any("newglibc 1.0" in p and "glibc <= 2.34" in p for p in report.problems)


# ------------------------------------------------------------- runtime / targets


@pytest.mark.parametrize(("runtime", "version"), [("python3.13", "3.13"), ("python3.9", "3.9")])
def test_python_version_of_reads_the_lambda_runtime(runtime: str, version: str) -> None:
    # GIVEN a Lambda Python runtime name, WHEN parsed, THEN its version comes back
    assert python_version_of(runtime) == version


@pytest.mark.parametrize("runtime", ["nodejs18.x", "python3", "Python3.13", "python3.13 ", ""])
def test_python_version_of_refuses_other_runtimes(runtime: str) -> None:
    # GIVEN a runtime that is not 'python3.<minor>', WHEN / THEN the error says what is allowed
    with pytest.raises(ValueError, match=r"expected 'python3.<minor>', e.g. 'python3.13'"):
        python_version_of(runtime)


def test_layer_build_refuses_an_unknown_architecture(tmp_path: Path) -> None:
    # GIVEN an architecture Lambda does not offer, WHEN / THEN the error lists the valid ones
    with pytest.raises(ValueError, match="expected one of arm64, x86_64"):
        build_layer_zip(write_layer(tmp_path), tmp_path / "o", architecture="aarch64")


def test_target_platforms_follow_the_runtimes_amazon_linux_glibc() -> None:
    # GIVEN python3.13 (Amazon Linux 2023, glibc 2.34) and python3.11 (Amazon Linux 2, 2.26)
    # WHEN the pip platforms are computed
    al2023 = target_platforms("3.13", "arm64")
    al2 = target_platforms("3.11", "x86_64")

    # THEN newest glibc comes first, nothing newer than the OS is accepted, and the
    # manylinux2014 alias is always there
    assert al2023[0] == "manylinux_2_34_aarch64" and al2023[-1] == "manylinux2014_aarch64"
    assert "manylinux_2_17_aarch64" in al2023
    assert al2[0] == "manylinux_2_26_x86_64" and "manylinux_2_28_x86_64" not in al2


# ---------------------------------------------------------------------------- CLI


def test_cli_builds_every_catalog_function_and_prints_size_and_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the real catalog, and a stand-in for the (pip-backed) layer build
    def fake_layer(layer_dir: Path, out_dir: Path, **target: object) -> packaging.BuiltArtifact:
        # the layer the platform deploys: for the target, with its bytecode
        assert target == {"python_version": "3.12", "architecture": "x86_64", "bytecode": True}
        path = out_dir / "layer.zip"
        path.parent.mkdir(parents=True)
        path.write_bytes(b"layer")
        return packaging.BuiltArtifact(path, "0" * 64, "AAAA", "1" * 16)

    monkeypatch.setattr(build, "build_layer_zip", fake_layer)

    # WHEN `etl-ops build` runs for python3.12 x86_64
    code = cli.main(
        ["build", "--runtime", "python3.12", "--architecture", "x86_64", "--out-dir", str(tmp_path)]
    )

    # THEN every catalog function got a zip and each artifact is listed with size and hash
    assert code == 0
    out = capsys.readouterr().out
    for name in load_catalog().names:
        assert (tmp_path / "functions" / f"{name}.zip").is_file()
        assert f"{name}.zip" in out
    assert "layer.zip" in out and "5 B" in out and "sha256=" in out


def test_cli_reports_a_non_python_runtime_and_exits_non_zero(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a Node.js runtime, WHEN `etl-ops build` runs, THEN it could not run (2) and
    # says the allowed form
    assert cli.main(["build", "--runtime", "nodejs18.x"]) == 2
    assert "expected 'python3.<minor>'" in capsys.readouterr().err


# ------------------------------------------------------------- bytecode (.pyc)

THIS_VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"
HASH_BASED, CHECK_SOURCE = 0b01, 0b10  # PEP 552 flags, pyc header bytes 4-8


def pyc_entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {n: archive.read(n) for n in archive.namelist() if n.endswith(".pyc")}


@pytest.fixture
def no_target_python(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """No interpreter of the target version on this machine (named explicitly, missing)."""
    version = "3.13" if THIS_VERSION != "3.13" else "3.12"
    monkeypatch.setenv(f"ETL_PYTHON_{version.replace('.', '_')}", "/nonexistent/python")
    bytecode.find_compiler.cache_clear()
    monkeypatch.setattr(bytecode, "_warned", set())
    yield version
    bytecode.find_compiler.cache_clear()


def test_function_zip_ships_pyc_compiled_by_the_target_version(tmp_path: Path) -> None:
    # GIVEN a function with stale bytecode from this checkout in its folder
    function_dir = write_function(tmp_path, mode=0o644, mtime=1)

    # WHEN it is packaged for the Python version this interpreter has
    artifact = build_function_zip(
        function_dir, tmp_path / "out", python_version=THIS_VERSION, cache_dir=tmp_path / "c"
    )

    # THEN each .py has a pyc where the import system looks, tagged and stamped with the
    # target's magic number, hash-based and checked against the source (console edits)
    tag = sys.implementation.cache_tag
    pycs = pyc_entries(artifact.path)
    assert sorted(pycs) == [f"__pycache__/handler.{tag}.pyc", f"lib/__pycache__/__init__.{tag}.pyc"]
    source = (function_dir / "handler.py").read_bytes()
    header = pycs[f"__pycache__/handler.{tag}.pyc"][:16]
    assert header[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(header[4:8], "little") == HASH_BASED | CHECK_SOURCE
    assert header[8:16] == importlib.util.source_hash(source)
    # AND the checkout's own litter stayed out; the artifact says what it carries
    assert b"junk" not in pycs.values()
    assert artifact.bytecode is not None and artifact.bytecode.startswith(tag)


def test_function_zip_pyc_is_what_python_imports_and_names_the_lambda_path(
    tmp_path: Path,
) -> None:
    # GIVEN a packaged function, unpacked read-only as Lambda does
    function_dir = write_function(tmp_path, mode=0o644, mtime=1)
    artifact = build_function_zip(
        function_dir, tmp_path / "out", python_version=THIS_VERSION, cache_dir=tmp_path / "c"
    )
    task = tmp_path / "task"
    with zipfile.ZipFile(artifact.path) as archive:
        archive.extractall(task)
    pyc = next(p for p in task.rglob("handler.*.pyc"))

    # WHEN its code object is loaded
    code = marshal.loads(pyc.read_bytes()[16:])

    # THEN it is the handler's code, under its run-time path, never this machine's
    assert code.co_filename == "/var/task/handler.py"
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    assert namespace["handler"]({}, None) == 1


def test_function_zip_with_pyc_is_byte_identical_across_checkouts(tmp_path: Path) -> None:
    # GIVEN the same function in two checkouts (other paths, mtimes, permissions, order)
    first = write_function(tmp_path / "a", mode=0o644, mtime=1_000_000_000)
    second = write_function(tmp_path / "deep" / "b", mode=0o755, mtime=1_700_000_000, reverse=True)

    # WHEN each is packaged with bytecode (two separate compiler processes)
    one = build_function_zip(
        first, tmp_path / "o1", python_version=THIS_VERSION, cache_dir=tmp_path / "c1"
    )
    two = build_function_zip(
        second, tmp_path / "o2", python_version=THIS_VERSION, cache_dir=tmp_path / "c2"
    )

    # THEN the zips, pycs included, are byte-identical: no diff on an unchanged function
    assert pyc_entries(one.path)
    assert one.path.read_bytes() == two.path.read_bytes()
    assert one.input_hash == two.input_hash


def test_pyc_is_compiled_by_the_target_interpreter_not_this_one(tmp_path: Path) -> None:
    # GIVEN another Python version installed here (pyenv), if any
    others = [
        (version, compiler)
        for version in ("3.12", "3.13", "3.14", "3.11")
        if version != THIS_VERSION and (compiler := bytecode.find_compiler(version))
    ]
    if not others:
        pytest.skip(f"only Python {THIS_VERSION} is installed here: no second version to target")
    version, compiler = others[0]

    # WHEN a function is packaged for that version
    artifact = build_function_zip(
        write_function(tmp_path, mode=0o644, mtime=1),
        tmp_path / "o",
        python_version=version,
        cache_dir=tmp_path / "c",
    )

    # THEN the pycs carry that version's tag and magic number, not this interpreter's
    pycs = pyc_entries(artifact.path)
    assert pycs and all(name.endswith(f".{compiler.cache_tag}.pyc") for name in pycs)
    assert {data[:4] for data in pycs.values()} == {compiler.magic}
    assert compiler.magic != importlib.util.MAGIC_NUMBER


def test_missing_target_python_omits_pyc_and_says_so(tmp_path: Path, no_target_python: str) -> None:
    # GIVEN no interpreter of the target version on this machine
    function_dir = write_function(tmp_path, mode=0o644, mtime=1)

    # WHEN a function is packaged for it
    with pytest.warns(bytecode.BytecodeUnavailableWarning) as caught:
        artifact = build_function_zip(
            function_dir, tmp_path / "o", python_version=no_target_python, cache_dir=tmp_path / "c"
        )

    # THEN the zip ships sources only, and the warning says why and how to fix it
    assert not pyc_entries(artifact.path)
    assert artifact.bytecode is None
    message = str(caught[0].message)
    assert f"no Python {no_target_python} interpreter" in message
    assert f"pyenv install {no_target_python}" in message
    assert "sources only" in message


def test_layer_ships_unchecked_pyc_deterministically(
    tmp_path: Path, fake_pip: Callable[..., FakePip]
) -> None:
    # GIVEN a layer (with stale bytecode in its checkout) built twice, separate caches
    fake_pip()
    layer_dir = write_layer(tmp_path)
    plain = build_layer_zip(layer_dir, tmp_path / "o0", cache_dir=tmp_path / "c0")
    kwargs: dict[str, Any] = {"python_version": THIS_VERSION, "bytecode": True}
    one = build_layer_zip(layer_dir, tmp_path / "o1", cache_dir=tmp_path / "c1", **kwargs)
    fake_pip()
    two = build_layer_zip(layer_dir, tmp_path / "o2", cache_dir=tmp_path / "c2", **kwargs)

    # THEN both are byte-identical, and differ from the sources-only layer (other hash)
    assert one.path.read_bytes() == two.path.read_bytes()
    assert one.input_hash != plain.input_hash
    # AND every .py under python/ has an unchecked hash-based pyc (a layer version never
    # changes, so Python need not read the source), with the target's magic number
    tag = sys.implementation.cache_tag
    pycs = pyc_entries(one.path)
    assert sorted(pycs) == [
        f"python/etl_common/__pycache__/__init__.{tag}.pyc",
        f"python/fastjson/__pycache__/__init__.{tag}.pyc",
    ]
    for data in pycs.values():
        assert data[:4] == importlib.util.MAGIC_NUMBER
        assert int.from_bytes(data[4:8], "little") == HASH_BASED
    assert one.bytecode is not None and "unchecked-hash" in one.bytecode


def test_layer_without_target_python_is_the_sources_only_layer(
    tmp_path: Path, fake_pip: Callable[..., FakePip], no_target_python: str
) -> None:
    # GIVEN no interpreter of the target version here
    fake_pip()
    layer_dir = write_layer(tmp_path)

    # WHEN the layer is built with bytecode asked for
    with pytest.warns(bytecode.BytecodeUnavailableWarning, match="ship deterministic .pyc"):
        artifact = build_layer_zip(
            layer_dir,
            tmp_path / "o",
            cache_dir=tmp_path / "c",
            python_version=no_target_python,
            bytecode=True,
        )

    # THEN it holds no pyc and says so
    assert not pyc_entries(artifact.path)
    assert artifact.bytecode is None


def test_function_zip_with_pyc_is_cached_and_a_hit_runs_no_compiler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a function packaged once with bytecode
    function_dir = write_function(tmp_path, mode=0o644, mtime=1)
    kwargs: dict[str, Any] = {"python_version": THIS_VERSION, "cache_dir": tmp_path / "c"}
    first = build_function_zip(function_dir, tmp_path / "o1", **kwargs)

    # WHEN it is packaged again, unchanged, with the compiler made unusable
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the compiler ran on a cache hit")

    monkeypatch.setattr(bytecode, "_run", refuse)
    again = build_function_zip(function_dir, tmp_path / "o2", **kwargs)

    # THEN the same bytes come from the cache (a plan of many functions stays fast)
    assert again.path.read_bytes() == first.path.read_bytes()
    assert pyc_entries(again.path)

    # AND a changed handler is compiled again (the cache is keyed by the sources)
    (function_dir / "handler.py").write_text("def handler(e, c):\n    return 2\n")
    with pytest.raises(AssertionError, match="the compiler ran"):
        build_function_zip(function_dir, tmp_path / "o3", **kwargs)
