"""Functional: migrate moves a dependency the Node layer lacks into it (npm registry).

npm pins the exact version in the layer's package.json and refreshes its lockfile, so
the layer stays installable with ``npm ci``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from etl_platform.artifacts.layers import layer_dir
from etl_platform.artifacts.node_layer import read_lockfile
from etl_platform.model.runtimes import NODEJS
from etl_platform.ops.cli import main
from etl_platform.ops.migrate import migrate

pytestmark = pytest.mark.functional


def test_a_new_dependency_moves_into_the_node_layer_pinned_exactly(tmp_path: Path) -> None:
    # GIVEN a legacy function depending on a package the layer lacks
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "index.js").write_text(
        "const ms = require('ms');\nexports.handler = async () => ms('1d');\n"
    )
    (legacy / "package.json").write_text(json.dumps({"dependencies": {"ms": "^2.1.0"}}))
    layer = tmp_path / "etl-node"
    shutil.copytree(layer_dir(NODEJS), layer, ignore=shutil.ignore_patterns("node_modules"))
    catalog = tmp_path / "lambdas"
    # WHEN migrated
    result = migrate(legacy, "uses-ms", catalog_dir=catalog, layer=layer)
    # THEN the layer pins it exactly, its lockfile is in sync, and the function passes compat
    pinned = json.loads((layer / "package.json").read_text())["dependencies"]["ms"]
    assert pinned[0].isdigit() and result.moved_dependencies == {"ms": pinned}
    assert "ms" in read_lockfile(layer).installed()
    assert result.problems == []


def test_a_dependency_that_brings_the_sdk_into_the_layer_is_rolled_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a legacy function depending on the X-Ray SDK, which depends on @aws-sdk/types
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "index.js").write_text(
        "const xray = require('aws-xray-sdk-core');\nexports.handler = async () => !!xray;\n"
    )
    (legacy / "package.json").write_text(
        json.dumps({"dependencies": {"aws-xray-sdk-core": "3.10.3", "serverless": "^3.38.0"}})
    )
    layer = tmp_path / "etl-node"
    shutil.copytree(layer_dir(NODEJS), layer, ignore=shutil.ignore_patterns("node_modules"))
    before = {p.name: p.read_bytes() for p in layer.iterdir()}
    catalog = tmp_path / "lambdas"
    argv = ["migrate", str(legacy), "traced", "--catalog-dir", str(catalog)]
    argv += ["--layer-dir", str(layer)]
    # WHEN migrated (npm resolves the real dependency tree)
    code = main(argv)
    # THEN it fails, naming the offender and the direct dependency that brought it in
    err = capsys.readouterr().err
    assert code == 1
    assert "@aws-sdk/types" in err and "brought in by aws-xray-sdk-core" in err
    # AND the layer's package.json and lockfile are as before; no function was added
    assert {p.name: p.read_bytes() for p in layer.iterdir()} == before
    assert not (catalog / "traced").exists()
