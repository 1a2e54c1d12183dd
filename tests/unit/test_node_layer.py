"""The Node layer's inputs are refused before npm runs, each naming the file and the fix.

No network: every case fails before ``npm ci``. The real build (npm, byte-identical
zips) is in tests/functional/test_node_layer_build.py.
"""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
from pathlib import Path

import pytest

from etl_platform.artifacts.node_compat import check_node_layer
from etl_platform.artifacts.node_layer import (
    NodeLayerError,
    build_node_layer_zip,
    native_addon_problems,
    read_lockfile,
)
from etl_platform.artifacts.nodejs import NodeToolError
from etl_platform.artifacts.packaging import build_function_zip


def layer(
    tmp_path: Path, dependencies: dict[str, str], packages: dict[str, dict] | None = None
) -> Path:
    folder = tmp_path / "etl-node"
    folder.mkdir()
    (folder / "package.json").write_text(json.dumps({"name": "l", "dependencies": dependencies}))
    lock = {
        "name": "l",
        "lockfileVersion": 3,
        "packages": {
            "": {"name": "l", "dependencies": dependencies},
            **(packages or {f"node_modules/{n}": {"version": v} for n, v in dependencies.items()}),
        },
    }
    (folder / "package-lock.json").write_text(json.dumps(lock, indent=2))
    return folder


def build(folder: Path, tmp_path: Path) -> None:
    build_node_layer_zip(
        tmp_path / "out", architecture="arm64", folder=folder, cache_dir=tmp_path / "c"
    )


def test_a_missing_lockfile_is_refused_with_the_command_that_makes_one(tmp_path: Path) -> None:
    folder = layer(tmp_path, {"dayjs": "1.11.13"})
    (folder / "package-lock.json").unlink()
    with pytest.raises(
        NodeLayerError, match=r"package-lock.json is missing.*npm install --package-lock-only"
    ):
        build(folder, tmp_path)


def test_an_invalid_lockfile_is_refused(tmp_path: Path) -> None:
    folder = layer(tmp_path, {"dayjs": "1.11.13"})
    (folder / "package-lock.json").write_text("{ not json")
    with pytest.raises(NodeLayerError, match=r"package-lock.json is not valid JSON"):
        build(folder, tmp_path)
    (folder / "package-lock.json").write_text('{"lockfileVersion": 1, "dependencies": {}}')
    with pytest.raises(NodeLayerError, match=r"not an npm 7\+ lockfile"):
        build(folder, tmp_path)


def test_a_lockfile_out_of_sync_with_package_json_is_refused(tmp_path: Path) -> None:
    folder = layer(tmp_path, {"dayjs": "1.11.13"})
    (folder / "package.json").write_text(
        json.dumps({"dependencies": {"dayjs": "1.11.13", "ms": "2.1.3"}})
    )
    with pytest.raises(NodeLayerError, match=r"out of sync.*npm ci.*would refuse"):
        build(folder, tmp_path)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("aws-sdk", "aws-sdk (v2) is in the layer"),
        ("@aws-sdk/client-s3", "provided by the Lambda Node.js runtime"),
    ],
)
def test_aws_sdks_are_never_bundled(tmp_path: Path, name: str, words: str) -> None:
    folder = layer(tmp_path, {name: "3.0.0"})
    with pytest.raises(NodeLayerError) as caught:
        build(folder, tmp_path)
    assert words in str(caught.value) and "package-lock.json:" in str(caught.value)
    assert {p.module for p in check_node_layer(["nodejs24.x"], folder)} == {name}


def elf(machine: int) -> bytes:
    """The first 20 bytes of a little-endian ELF shared object for ``machine``."""
    return b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8) + struct.pack("<HH", 3, machine)


AARCH64, X86_64 = 0xB7, 0x3E


def test_a_native_addon_without_a_prebuild_for_the_target_is_refused() -> None:
    entries = {
        "nodejs/node_modules/fast/package.json": b"{}",
        "nodejs/node_modules/fast/binding.gyp": b"{}",
        "nodejs/node_modules/@s/pre/prebuilds/linux-x64/pre.node": elf(X86_64),
        "nodejs/node_modules/@s/pre/prebuilds/linux-arm64/pre.node": elf(AARCH64),
        "nodejs/node_modules/x64only/build/Release/x.node": elf(X86_64),
        "nodejs/node_modules/pure/index.js": b"",
    }
    problems = native_addon_problems(entries, "arm64")
    assert [p.split(" ")[0] for p in problems] == ["fast", "x64only"]
    assert "linux-arm64" in problems[0] and "pure-JavaScript" in problems[0]
    assert [p.split(" ")[0] for p in native_addon_problems(entries, "x86_64")] == ["fast"]


def test_engines_of_layer_packages_are_checked_against_each_runtime(tmp_path: Path) -> None:
    folder = layer(
        tmp_path,
        {"old": "1.0.0"},
        {"node_modules/old": {"version": "1.0.0", "engines": {"node": ">=10 <23"}}},
    )
    assert read_lockfile(folder).installed() == {
        "old": {"version": "1.0.0", "engines": {"node": ">=10 <23"}}
    }
    assert check_node_layer(["nodejs22.x"], folder) == []
    (problem,) = check_node_layer(["nodejs24.x"], folder)
    assert problem.module == "old" and "excludes Node.js 24" in problem.message and problem.line > 0


def test_without_npm_the_build_names_the_node_functions_and_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a sound layer but no npm on this machine
    folder = layer(tmp_path, {"dayjs": "1.11.13"})
    monkeypatch.setattr(shutil, "which", lambda name: None)
    entry = tmp_path / "lambdas" / "nightly" / "function.toml"
    # WHEN the layer is built for a Node function  THEN the error names it and the fix
    with pytest.raises(NodeToolError) as caught:
        build_node_layer_zip(
            tmp_path / "out", architecture="arm64", folder=folder, cache_dir=tmp_path / "c",
            needed_by=[entry],
        )  # fmt: skip
    message = str(caught.value)
    assert "npm is not installed" in message and str(entry) in message
    assert "scripts/bootstrap" in message and "nodejs" in message


def test_a_node_function_zip_holds_only_the_functions_own_files(tmp_path: Path) -> None:
    # GIVEN a Node function folder with a stray node_modules and a lockfile beside its code
    folder = tmp_path / "nightly"
    (folder / "lib").mkdir(parents=True)
    (folder / "index.mjs").write_text("export const handler = async () => 1;\n")
    (folder / "lib" / "util.mjs").write_text("export const x = 1;\n")
    (folder / "function.toml").write_text("")
    (folder / "node_modules" / "dayjs").mkdir(parents=True)
    (folder / "node_modules" / "dayjs" / "index.js").write_text("")
    # WHEN zipped  THEN only its own code is in it (third-party code is the layer's)
    artifact = build_function_zip(folder, tmp_path / "out")
    with zipfile.ZipFile(artifact.path) as archive:
        files = [n for n in archive.namelist() if not n.endswith("/")]
    assert files == ["index.mjs", "lib/util.mjs"]


def test_a_transitive_sdk_names_the_direct_dependency_that_brought_it(tmp_path: Path) -> None:
    # GIVEN a layer whose one direct dependency pulls @aws-sdk/types in, two levels down
    folder = layer(
        tmp_path,
        {"tracer": "1.0.0"},
        {
            "node_modules/tracer": {"version": "1.0.0", "dependencies": {"middle": "^2"}},
            "node_modules/middle": {"version": "2.0.0", "dependencies": {"@aws-sdk/types": "^3"}},
            "node_modules/@aws-sdk/types": {"version": "3.901.0"},
        },
    )
    # WHEN the layer is checked
    (problem,) = check_node_layer(["nodejs24.x"], folder)
    # THEN the message says it is not in package.json but brought in by tracer, and the
    # fix names tracer (the package the user can act on), not @aws-sdk/types
    assert problem.module == "@aws-sdk/types"
    assert "brought in by tracer" in problem.message
    assert problem.fix.startswith("remove tracer from package.json's dependencies")
    assert read_lockfile(folder).brought_in_by("@aws-sdk/types") == ["tracer"]
