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
