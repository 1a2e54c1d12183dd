"""The classes of nodejs24.x and v2 -> v3 defects legacy Node.js code has, one fixture each.

Each ``tests/fixtures/legacy-node/<case>/`` holds a small function written for these
tests (``broken/``) and its fix (``fixed/``), with ``case.json`` saying which problems
compat must report (module, line, the export, a word of the fix). The broken version is
refused with exactly those; the fixed one passes. Their behaviour on Node.js 24 is
checked by tests/functional/test_node24_behaviour.py. Also here: the v2 names that are
not service clients (every suggested package exists), the codemod's leftovers, and
:func:`node_sdk_calls` (the IAM actions of the SDK calls the code makes).

acorn (tools/node) run by node; no network.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from etl_platform.artifacts import node_compat
from etl_platform.artifacts.node_compat import (
    SDK_PACKAGES,
    SDK_VERSION,
    check_node_tree,
    node_sdk_calls,
    v2_name_fix,
    v3_package,
)
from etl_platform.artifacts.nodejs import TOOLING_DIR
from etl_platform.artifacts.problems import Problem
from etl_platform.paths import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "legacy-node"
CASES = sorted(p for p in FIXTURES.iterdir() if (p / "case.json").is_file())


def case_of(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "case.json").read_text())
    return data


def check(root: Path, **kwargs: Any) -> list[Problem]:
    return check_node_tree(root, "nodejs24.x", layer_packages=frozenset(), **kwargs)


def tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "fn"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


def test_there_is_a_fixture_per_class() -> None:
    assert len(CASES) >= 4, "tests/fixtures/legacy-node/<case>/case.json"


@pytest.mark.parametrize("folder", CASES, ids=lambda p: p.name)
def test_the_broken_version_is_refused_with_file_line_export_and_fix(folder: Path) -> None:
    # GIVEN a legacy function of one defect class
    case = case_of(folder)
    # WHEN compat checks every export of it for nodejs24.x
    problems = check(folder / "broken")
    # THEN exactly the predicted problems, each with the file, the line, the export, the fix
    assert [(p.module, p.line) for p in problems] == [
        (e["module"], e["line"]) for e in case["problems"]
    ], [str(p) for p in problems]
    for problem, expected in zip(problems, case["problems"], strict=True):
        assert problem.path == folder / "broken" / "index.js"
        assert f"export '{expected['export']}'" in problem.message or (
            f"export {expected['export']!r}" in str(problem)
        )
        assert expected["fix"] in problem.fix


@pytest.mark.parametrize("folder", CASES, ids=lambda p: p.name)
def test_the_fixed_version_passes(folder: Path) -> None:
    # GIVEN the fix compat named  WHEN checked (every export, and the configured handler)
    # THEN nothing is left
    assert check(folder / "fixed") == []
    handler = case_of(folder)["handler"]
    if handler:
        assert check(folder / "fixed", handler=handler) == []


def test_a_configured_handler_checks_that_export_only() -> None:
    # GIVEN a file with two broken exports, and the catalog's handler naming one of them
    broken = FIXTURES / "context-methods" / "broken"
    # WHEN checked with handler=index.create  THEN only create's problems are reported
    assert {p.line for p in check(broken, handler="index.create")} == {5, 8}
    assert {p.line for p in check(broken, handler="index.remove")} == {12}


def test_an_async_handler_that_returns_a_value_is_not_flagged_for_its_work(
    tmp_path: Path,
) -> None:
    # GIVEN handlers that return their promise, or await inside an async function
    root = tree(
        tmp_path,
        {
            "index.js": """
                const fs = require('node:fs');
                exports.returns = (event) => new Promise((resolve) => setTimeout(resolve, 1));
                exports.awaits = async (event) => { await new Promise((r) => setTimeout(r, 1)); };
                exports.sync = (event) => ({ ok: [1, 2].map((x) => x * 2) });
                exports.leaves = (event) => { setTimeout(() => fs.writeFileSync('x', '1'), 1); };
            """,
        },
    )
    # WHEN checked  THEN only the one that returns nothing and leaves a timer is refused
    (problem,) = check(root)
    assert (problem.module, problem.line) == ("leaves", 5)
    assert "setTimeout() at line 5" in problem.message


def test_a_file_exporting_several_callback_handlers_reports_each(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "handlers.js": """
                function list(event, context, callback) { callback(null, []); }
                const get = (event, context, cb) => cb(null, {});
                module.exports = { list, get, create: (e, c, done) => done() };
            """,
        },
    )
    assert {p.module for p in check(root)} == {"list", "get", "create"}


# ---------------------------------------------------------------- 6. v2 names -> v3 homes

V2_NAMES = {
    "TemporaryCredentials": ("@aws-sdk/credential-providers", "fromTemporaryCredentials"),
    "ChainableTemporaryCredentials": ("@aws-sdk/credential-providers", "fromTemporaryCredentials"),
    "EnvironmentCredentials": ("@aws-sdk/credential-providers", "fromEnv"),
    "Credentials": ("@aws-sdk/credential-providers", ""),
    "DynamoDB.Converter": ("@aws-sdk/util-dynamodb", "unmarshall"),
    "S3.ManagedUpload": ("@aws-sdk/lib-storage", "Upload"),
}


def test_v2_names_that_are_not_clients_map_to_their_real_v3_home(tmp_path: Path) -> None:
    # GIVEN v2 code using credentials, the converter, the managed upload and global config
    root = tree(
        tmp_path,
        {
            "index.js": """
                const AWS = require('aws-sdk');
                AWS.config.update({ region: 'us-east-1' });
                const a = new AWS.TemporaryCredentials({ RoleArn: 'arn:aws:iam::1:role/r' });
                const b = new AWS.ChainableTemporaryCredentials({ params: {} });
                const c = new AWS.EnvironmentCredentials('AWS');
                const d = new AWS.Credentials('id', 'secret');
                const e = AWS.DynamoDB.Converter.unmarshall({});
                const f = new AWS.S3.ManagedUpload({ params: {} });
                const g = AWS.util.uuid.v4();
                exports.handler = async () => [a, b, c, d, e, f, g];
            """,
        },
    )
    # WHEN checked
    problems = {p.module: p for p in check(root)}
    # THEN each names the v3 package and API where it lives, never an invented client
    for name, (package, api) in V2_NAMES.items():
        problem = problems[f"AWS.{name}"]
        assert package in problem.fix and api in problem.fix, str(problem)
    assert "no global configuration in v3" in problems["AWS.config"].fix
    assert "no v3 mapping is known for AWS.util" in problems["AWS.util"].fix
    # AND the v2 import's fix names no package that does not exist
    assert "client-temporarycredentials" not in str(problems["aws-sdk"])


def test_the_v3_homes_the_fixes_name_pass_compat(tmp_path: Path) -> None:
    # GIVEN the same code rewritten the way the fixes say
    root = tree(
        tmp_path,
        {
            "index.js": """
                const providers = require('@aws-sdk/credential-providers');
                const { unmarshall } = require('@aws-sdk/util-dynamodb');
                const { Upload } = require('@aws-sdk/lib-storage');
                const { S3Client } = require('@aws-sdk/client-s3');
                const credentials = providers.fromTemporaryCredentials({ params: {} });
                const s3 = new S3Client({ region: process.env.AWS_REGION, credentials });
                exports.handler = async (event) => {
                  const params = { Bucket: 'b', Key: 'k', Body: 'x' };
                  await new Upload({ client: s3, params }).done();
                  return [unmarshall(event.item), providers.fromEnv];
                };
            """,
        },
    )
    # THEN nothing is left to fix
    assert check(root) == []


def test_every_package_a_fix_can_name_exists_at_the_pinned_sdk_version() -> None:
    # GIVEN the vendored list of @aws-sdk/* names (npm registry, at the tooling's SDK pin)
    pinned = json.loads((TOOLING_DIR / "package.json").read_text())["dependencies"]
    assert pinned["@aws-sdk/client-s3"] == SDK_VERSION
    # THEN every package the tables can suggest is in it
    data = json.loads(node_compat.SDK_DATA_FILE.read_text())
    suggested = {s["package"] for s in data["services"].values()}
    suggested |= {n["package"] for n in data["nonClients"].values() if n["package"]}
    assert suggested <= SDK_PACKAGES, sorted(suggested - SDK_PACKAGES)
    # AND a name with no package says so instead of inventing one
    assert v3_package("TemporaryCredentials") is None
    assert v3_package("NoSuchService") is None
    assert "no v3 mapping is known" in v2_name_fix("NoSuchService")
    assert v3_package("S3") == "@aws-sdk/client-s3"
    assert v3_package("Kafka") == "@aws-sdk/client-kafka"  # the pattern, when it exists


# ------------------------------------------------------- 7. what a v2 -> v3 rewrite leaves


def test_codemod_notes_placeholders_and_changed_output_types_are_problems() -> None:
    # GIVEN v3 code as aws-sdk-js-codemod leaves it (its note, its placeholder string,
    # a stray Expires) and v2-style reads of fields whose v3 type changed
    root = FIXTURES / "codemod-leftovers"
    # WHEN checked
    found = {(p.module, p.line): p for p in check(root)}
    # THEN each leftover is a problem with its line, the export and the fix
    assert set(found) == {
        ("aws-sdk-js-codemod", 5),
        ("Expires", 10),
        ("aws-sdk-js-codemod", 12),
        ("LastModified", 15),
        ("Plaintext", 16),
    }
    assert "Uint8Array" in found[("Plaintext", 16)].message
    assert "Buffer.from(x.Plaintext)" in found[("Plaintext", 16)].fix
    assert "expiresIn" in found[("Expires", 10)].fix
    assert "export 'handler'" in found[("Plaintext", 16)].message


# ---------------------------------------------------------------- SDK calls -> IAM actions


def test_node_sdk_calls_names_the_iam_action_of_each_call() -> None:
    # GIVEN v3 commands, lib-dynamodb, a v3 aggregated client and v2 clients
    root = FIXTURES / "sdk-calls"
    # WHEN the calls are listed for each handler
    by_export = {
        export: {c.action for c in node_sdk_calls(root, f"index.{export}")}
        for export in ("handler", "legacy")
    }
    # THEN each is its IAM action, reached from the export that makes it (a transaction
    # of writes needs the item actions it carries: sdk_actions maps it to PutItem)
    assert by_export["handler"] == {
        "dynamodb:PutItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:Query",
        "secretsmanager:GetSecretValue",
        "events:PutEvents",
        "logs:PutLogEvents",
        "sts:AssumeRole",
        "s3:PutObject",
    }
    assert by_export["legacy"] == {
        "dynamodb:PutItem",
        "s3:GetObject",
        "sqs:SendMessage",
        "sns:Publish",
        "kms:Decrypt",
    }
    # AND each call says where it is written and which export reaches it
    put = next(c for c in node_sdk_calls(root) if c.operation == "PutItemCommand")
    assert (put.line, put.export, put.client, put.service) == (
        16,
        "handler",
        "DynamoDBClient",
        "dynamodb",
    )


@pytest.mark.parametrize(
    ("command", "action"),
    [
        ("PutCommand", "dynamodb:PutItem"),
        ("GetCommand", "dynamodb:GetItem"),
        ("QueryCommand", "dynamodb:Query"),
        ("UpdateCommand", "dynamodb:UpdateItem"),
        ("DeleteCommand", "dynamodb:DeleteItem"),
        ("ScanCommand", "dynamodb:Scan"),
        ("BatchWriteCommand", "dynamodb:BatchWriteItem"),
        ("BatchGetCommand", "dynamodb:BatchGetItem"),
        ("TransactWriteCommand", "dynamodb:PutItem"),
    ],
)
def test_lib_dynamodb_commands_are_the_dynamodb_actions(
    tmp_path: Path, command: str, action: str
) -> None:
    root = tree(
        tmp_path,
        {
            "index.js": f"""
                const {{ DynamoDBDocumentClient, {command} }} = require('@aws-sdk/lib-dynamodb');
                const doc = DynamoDBDocumentClient.from(null);
                exports.handler = async () => doc.send(new {command}({{}}));
            """,
        },
    )
    assert [c.action for c in node_sdk_calls(root, "index.handler")] == [action]
