"""Functional: build the real Node layer with the real npm (needs the npm registry).

Two builds from two copies of layers/etl-node at different paths, each with its own
cache (so npm really runs twice), must give byte-identical zips.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from etl_platform.artifacts.layers import layer_dir
from etl_platform.artifacts.node_layer import build_node_layer_zip, read_lockfile
from etl_platform.model.runtimes import NODEJS

pytestmark = pytest.mark.functional


def test_the_node_layer_is_byte_identical_across_checkouts_and_holds_only_node_modules(
    tmp_path: Path,
) -> None:
    builds = []
    for checkout in ("one", "two-with-a-longer-path"):
        folder = tmp_path / checkout / "etl-node"
        shutil.copytree(layer_dir(NODEJS), folder)
        builds.append(
            build_node_layer_zip(
                tmp_path / checkout / "out",
                architecture="arm64",
                folder=folder,
                cache_dir=tmp_path / checkout / "c",
            )
        )
    first, second = builds
    assert first.path.read_bytes() == second.path.read_bytes()
    with zipfile.ZipFile(first.path) as archive:
        names = archive.namelist()
        infos = archive.infolist()
    assert all(n.startswith("nodejs/node_modules/") or n in ("nodejs/",) for n in names)
    assert not [n for n in names if "/@aws-sdk/" in n or "/aws-sdk/" in n or "/.bin/" in n]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    # every locked runtime package is there
    for name in read_lockfile(layer_dir(NODEJS)).installed():
        assert f"nodejs/node_modules/{name}/package.json" in names
