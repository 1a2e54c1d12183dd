"""nox -s compat for Node.js: each refused pattern names the file, the line and the fix.

The sources are read by acorn (tools/node, installed by scripts/bootstrap) run with the
machine's node; no network.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from etl_platform.artifacts import compat, node_compat
from etl_platform.artifacts.node_compat import REMOVED_APIS, check_node_tree, v3_package
from etl_platform.artifacts.nodejs import NodeToolError
from etl_platform.artifacts.problems import Problem

LAYER = frozenset({"dayjs"})


def tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "fn"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


def check(root: Path, runtime: str = "nodejs24.x", **kwargs: object) -> list[Problem]:
    return check_node_tree(root, runtime, layer_packages=LAYER, **kwargs)  # type: ignore[arg-type]


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


ASYNC_OK = "exports.handler = async (event) => ({ ok: true });\n"


def test_a_clean_async_function_passes(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "index.js": """
                const { S3 } = require('@aws-sdk/client-s3');
                const fs = require('node:fs/promises');
                const path = require('path');
                const dayjs = require('dayjs');
                const utc = require('dayjs/plugin/utc');
                const helper = require('./lib/helper');
                exports.handler = async (event, context) => helper(event);
            """,
            "lib/helper.js": "module.exports = (x) => x;\n",
            "package.json": '{"engines": {"node": ">=22"}}\n',
        },
    )
    assert check(root, handler="index.handler", function_tree=True) == []


@pytest.mark.parametrize(
    ("files", "line", "package"),
    [
        (
            {"index.js": "const AWS = require('aws-sdk');\nconst s3 = new AWS.S3();\n" + ASYNC_OK},
            1,
            "@aws-sdk/client-s3",
        ),
        (
            {
                "index.mjs": "import AWS from 'aws-sdk';\n"
                "const db = new AWS.DynamoDB.DocumentClient();\n"
                "export const handler = async () => db;\n"
            },
            1,
            "@aws-sdk/lib-dynamodb",
        ),
        (
            {
                "index.js": "const SQS = require('aws-sdk/clients/sqs');\nconst q = new SQS();\n"
                + ASYNC_OK
            },
            1,
            "@aws-sdk/client-sqs",
        ),
        (
            {
                "index.mjs": "import { SecretsManager } from 'aws-sdk';\n"
                "const sm = new SecretsManager();\n"
                "export const handler = async () => sm;\n"
            },
            1,
            "@aws-sdk/client-secrets-manager",
        ),
    ],
)
def test_aws_sdk_v2_is_refused_with_the_matching_v3_client(
    tmp_path: Path, files: dict[str, str], line: int, package: str
) -> None:
    problem = only(check(tree(tmp_path, files)))
    assert problem.line == line and "aws-sdk v2" in problem.message
    assert package in problem.fix and "provided by the Lambda Node.js runtime" in problem.fix


def test_aws_sdk_in_package_json_is_refused(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "index.js": ASYNC_OK,
            "package.json": '{\n  "devDependencies": {\n    "aws-sdk": "^2.1.0"\n  }\n}\n',
        },
    )
    problem = only(check(root))
    assert (problem.path.name, problem.line, problem.module) == ("package.json", 3, "aws-sdk")
    assert "@aws-sdk/client-*" in problem.fix


def test_v3_package_names_follow_the_client_class() -> None:
    assert v3_package("S3") == "@aws-sdk/client-s3"
    assert v3_package("Lambda") == "@aws-sdk/client-lambda"
    assert v3_package("StepFunctions") == "@aws-sdk/client-sfn"


@pytest.mark.parametrize(
    "source",
    [
        "exports.handler = (event, context, callback) => callback(null, 1);\n",
        "module.exports.handler = function (event, context, done) { done(); };\n",
        "function handler(e, c, cb) { cb(); }\nmodule.exports = { handler };\n",
        "export const handler = async (event, context, callback) => callback(null);\n",
    ],
)
def test_a_callback_handler_is_refused_on_nodejs24_only(tmp_path: Path, source: str) -> None:
    name = "index.mjs" if source.startswith("export") else "index.js"
    root = tree(tmp_path, {name: source})
    problem = only(check(root, "nodejs24.x", handler="index.handler"))
    assert problem.module == "handler" and "callback" in problem.message
    assert "async (event, context)" in problem.fix
    # nodejs22.x still runs callback handlers
    assert check(root, "nodejs22.x", handler="index.handler") == []


def test_callback_waits_for_empty_event_loop_is_refused_on_nodejs24(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "index.js": "exports.handler = async (event, context) => {\n"
            "  context.callbackWaitsForEmptyEventLoop = false;\n};\n"
        },
    )
    problem = only(check(root))
    assert (problem.line, problem.module) == (2, "context.callbackWaitsForEmptyEventLoop")
    assert check(root, "nodejs22.x") == []


@pytest.mark.parametrize(
    ("source", "words"),
    [
        (
            "const _ = require('lodash');\n",
            ("lodash", "not in the Node layer", "layers/etl-node/package.json"),
        ),
        ("const x = require('./missing');\n", ("does not exist",)),
        ("const x = require('../shared/util');\n", ("outside the function's folder",)),
        ("import('left-pad').then(() => 1);\n", ("left-pad",)),
    ],
)
def test_an_unresolvable_import_is_refused(
    tmp_path: Path, source: str, words: tuple[str, ...]
) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "util.js").write_text("")
    problem = only(check(tree(tmp_path, {"index.js": source + ASYNC_OK})))
    assert problem.line == 1
    for word in words:
        assert word in str(problem)


@pytest.mark.parametrize(
    ("range_", "refused"), [("14.x", True), ("<=20", True), (">=18", False), ("^24.1.0", False)]
)
def test_engines_node_excluding_the_target_is_refused(
    tmp_path: Path, range_: str, refused: bool
) -> None:
    root = tree(
        tmp_path,
        {"index.js": ASYNC_OK, "package.json": json.dumps({"engines": {"node": range_}}, indent=2)},
    )
    problems = check(root)
    if refused:
        problem = only(problems)
        assert problem.module == "engines.node" and "excludes Node.js 24" in problem.message
        assert problem.line == 3
    else:
        assert problems == []


def test_a_syntax_error_is_refused_with_its_line(tmp_path: Path) -> None:
    problem = only(
        check(tree(tmp_path, {"index.js": "exports.handler = async () => {\n  return {;\n};\n"}))
    )
    assert problem.line == 2 and "does not parse as JavaScript" in problem.message


@pytest.mark.parametrize("api", REMOVED_APIS, ids=lambda api: api.module)
def test_a_removed_node_api_is_refused_from_the_release_that_removed_it(
    tmp_path: Path, api: node_compat.RemovedApi
) -> None:
    name = sorted(api.names)[0]
    source = f"const {{ {name} }} = require('node:{api.module}');\n{name}();\n" + ASYNC_OK
    root = tree(tmp_path, {"index.js": source})
    problem = only(
        check(root, f"nodejs{api.removed_in if api.removed_in % 2 == 0 else api.removed_in + 1}.x")
    )
    assert problem.line == 2 and f"removed in Node.js {api.removed_in}" in problem.message
    assert "https://github.com/nodejs/node/pull/" in problem.message and api.fix == problem.fix
    if api.removed_in > 22:
        assert check(root, "nodejs22.x") == []


def test_a_removed_api_through_the_module_object_is_found(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "index.js": "const crypto = require('crypto');\n"
            "crypto.createCipher('aes-256-cbc', 'k');\n" + ASYNC_OK
        },
    )
    problem = only(check(root, "nodejs22.x"))
    assert problem.module == "crypto.createCipher" and "DEP0106" in problem.message


def test_a_function_package_json_with_dependencies_is_refused(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "index.js": ASYNC_OK,
            "package.json": '{\n  "dependencies": {\n    "dayjs": "1.11.13"\n  }\n}\n',
        },
    )
    problem = only(check(root, function_tree=True))
    assert problem.module == "dayjs" and "layers/etl-node/package.json" in problem.fix


def test_the_repository_passes() -> None:
    # GIVEN the real catalog's Node functions and the Node layer  THEN nothing is refused
    assert compat.node_problems() == []


def test_compat_fails_on_a_catalog_with_a_bad_node_function(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "legacy"
    folder.mkdir()
    (folder / "function.toml").write_text(
        'name = "legacy"\nruntime = "nodejs24.x"\nhandler = "index.handler"\n'
        'description = "x"\nkind = "batch"\nsize = "small"\n'
    )
    (folder / "index.js").write_text("exports.handler = (e, c, cb) => cb(null);\n")
    problems = compat.node_problems(tmp_path)
    assert [p.module for p in problems] == ["handler"]


def test_without_node_the_check_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(NodeToolError, match=r"node is not installed.*scripts/bootstrap"):
        check(tree(tmp_path, {"index.js": ASYNC_OK}))
