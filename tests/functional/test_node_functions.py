"""Functional tests: every Node.js catalog function's own node:test suite, run by node.

Each Node function ``<name>`` has ``tests/node/<name>.test.js`` (node's built-in test
runner). It runs the way Lambda loads the function: ``NODE_PATH`` holds the built Node
layer's ``nodejs/node_modules`` (so its imports resolve exactly as on Lambda) and
``tools/node/node_modules`` for what the runtime provides (the v3 SDK) and the mocks
(aws-sdk-client-mock). A failing node test fails this test, and so ``nox -s tests``.
Each suite runs twice: on the machine's node (Node 20 here, Debian's 18 on a fresh
machine) and on Node.js 24 from npm (the ``node`` package in tools/node), the Node of
the nodejs24.x runtime the functions target.
"""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from etl_platform.artifacts.node_layer import build_node_layer_zip
from etl_platform.artifacts.nodejs import (
    TOOLING_DIR,
    require_executable,
    require_target_node,
    require_tooling,
)
from etl_platform.model.catalog import FunctionSpec, load_catalog
from etl_platform.paths import REPO_ROOT

pytestmark = pytest.mark.functional

NODE_TESTS = REPO_ROOT / "tests" / "node"
NODE_FUNCTIONS = load_catalog().node_functions


@pytest.fixture(scope="module")
def node_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """NODE_PATH as on Lambda: the built Node layer (unzipped), then the runtime's SDK."""
    require_tooling("aws-sdk-client-mock", "the Node functions' tests mock S3 with it")
    opt = tmp_path_factory.mktemp("opt")
    layer = build_node_layer_zip(tmp_path_factory.mktemp("layer"), architecture="arm64")
    with zipfile.ZipFile(layer.path) as archive:
        archive.extractall(opt)
    return os.pathsep.join(
        [str(opt / "nodejs" / "node_modules"), str(TOOLING_DIR / "node_modules")]
    )


NODES = ("machine", "target")


def node_binary(which: str) -> str:
    if which == "target":
        return str(require_target_node())
    return require_executable("node", "the Node.js functions are tested with node --test")


def run_node_tests(
    files: list[Path], node_path: str, which: str = "machine"
) -> subprocess.CompletedProcess[str]:
    node = node_binary(which)
    return subprocess.run(
        [node, "--test", "--test-reporter=tap", *map(str, files)],
        env={**os.environ, "NODE_PATH": node_path},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.mark.parametrize("which", NODES)
@pytest.mark.parametrize("spec", NODE_FUNCTIONS, ids=lambda spec: spec.name)
def test_the_node_function_passes_its_own_node_test_suite(
    spec: FunctionSpec, node_path: str, which: str
) -> None:
    # GIVEN the function's node:test suite
    suite = sorted(NODE_TESTS.glob(f"{spec.name}.test.*js"))
    assert suite, (
        f"{spec.name} is a Node.js function without tests: add tests/node/{spec.name}.test.js"
    )
    # WHEN node runs it with the layer on NODE_PATH  THEN every test passes
    result = run_node_tests(suite, node_path, which)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout


def test_the_target_node_is_node_24() -> None:
    version = subprocess.run(
        [node_binary("target"), "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("v24.")


def test_a_failing_node_test_fails_the_run(tmp_path: Path, node_path: str) -> None:
    # GIVEN a node:test file with a failing assertion
    failing = tmp_path / "failing.test.js"
    failing.write_text(
        "const { test } = require('node:test');\n"
        "const assert = require('node:assert/strict');\n"
        "test('fails', () => assert.equal(1, 2));\n"
    )
    # WHEN it runs the way the suites above run  THEN the exit code says so
    result = run_node_tests([failing], node_path)
    assert result.returncode != 0
    assert "# fail 1" in result.stdout
