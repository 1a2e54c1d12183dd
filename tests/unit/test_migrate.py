"""nox -s migrate: the automatic part, on the repository's legacy Node.js 14 example.

Runs the real codemod (aws-sdk-js-codemod from tools/node) with the machine's node into
a scratch catalog and a scratch copy of the Node layer; no network (the example's only
third-party package is already in the layer).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import textwrap
from pathlib import Path

import pytest

from etl_platform.artifacts.layers import layer_dir
from etl_platform.model.catalog import load_catalog
from etl_platform.model.runtimes import DEFAULT_NODE_RUNTIME, NODEJS
from etl_platform.ops import migrate as migrate_module
from etl_platform.ops.cli import main
from etl_platform.ops.migrate import MigrationError, migrate
from etl_platform.paths import REPO_ROOT

LEGACY_ROOT = REPO_ROOT / "examples" / "legacy-node14"
EXAMPLES = sorted(p for p in LEGACY_ROOT.iterdir() if p.is_dir())


def digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def places(tmp_path: Path) -> tuple[Path, Path]:
    catalog, layer = tmp_path / "lambdas", tmp_path / "etl-node"
    catalog.mkdir()
    shutil.copytree(layer_dir(NODEJS), layer, ignore=shutil.ignore_patterns("node_modules"))
    return catalog, layer


def run(legacy: Path, places: tuple[Path, Path], **kwargs: object):  # type: ignore[no-untyped-def]
    catalog, layer = places
    options: dict[str, object] = {
        "trigger": "schedule:rate(1 day)",
        "reads": ["manifests/"],
        "writes": ["reports/"],
        "lists": ["manifests/"],
        **kwargs,
    }
    return migrate(legacy, "migrated", catalog_dir=catalog, layer=layer, **options)  # type: ignore[arg-type]


def test_there_is_a_legacy_example() -> None:
    assert EXAMPLES, "examples/legacy-node14/<name>/ keeps the worked example of the guide"


@pytest.mark.parametrize("legacy", EXAMPLES, ids=lambda p: p.name)
def test_migrate_rewrites_the_sdk_moves_dependencies_and_writes_the_entry(
    legacy: Path, places: tuple[Path, Path]
) -> None:
    catalog, layer = places
    before = digest(legacy)
    legacy_manifest = json.loads((legacy / "package.json").read_text())
    # WHEN the legacy function is migrated
    result = run(legacy, places)
    target = catalog / "migrated"
    # THEN the original is untouched
    assert digest(legacy) == before
    # AND the new folder holds only the function's own code (no package.json deps, no tests)
    assert sorted(p.name for p in target.iterdir()) == ["function.toml", "index.js"]
    code = (target / "index.js").read_text()
    assert "require('aws-sdk')" not in code and "@aws-sdk/client-s3" in code
    assert ".promise()" not in code
    # AND its catalog entry is valid: a Node.js function on the default Node runtime
    spec = load_catalog(catalog).get("migrated")
    assert (spec.runtime, spec.handler) == (DEFAULT_NODE_RUNTIME, "index.handler")
    assert (spec.trigger.type, spec.s3_read, spec.s3_write) == (
        "schedule",
        ("manifests/",),
        ("reports/",),
    )
    # AND every third-party dependency is in the Node layer; the v2 SDK is dropped
    layer_deps = json.loads((layer / "package.json").read_text())["dependencies"]
    third_party = {n for n in legacy_manifest["dependencies"] if not n.startswith("aws-sdk")}
    assert third_party <= set(layer_deps)
    assert "aws-sdk" in result.dropped_dependencies
    # AND what is left by hand is exactly what no tool can decide: the callback handler
    # and the v2 Body.toString() that v3's stream Body no longer supports
    assert {p.module for p in result.problems} == {
        "handler",
        "context.callbackWaitsForEmptyEventLoop",
        "Body",
    }
    report = result.report()
    assert f"left to do by hand ({len(result.problems)} compat problem(s))" in report
    assert "[needs]" in report


def test_migrate_refuses_to_overwrite_and_is_safe_to_rerun_with_force(
    places: tuple[Path, Path],
) -> None:
    legacy = EXAMPLES[0]
    run(legacy, places)
    first = digest(places[0] / "migrated")
    # WHEN run again without --force THEN nothing changes and the error says how to replace
    with pytest.raises(MigrationError, match=r"already exists; nothing was changed.*--force"):
        run(legacy, places)
    # WHEN run again with --force THEN the result is the same, byte for byte
    run(legacy, places, force=True)
    assert digest(places[0] / "migrated") == first


def test_a_bad_request_changes_nothing(places: tuple[Path, Path], tmp_path: Path) -> None:
    catalog, _ = places
    with pytest.raises(MigrationError, match="schedule:<expression>"):
        run(EXAMPLES[0], places, trigger="cron")
    with pytest.raises(MigrationError, match="is not a folder"):
        run(tmp_path / "nope", places)
    assert list(catalog.iterdir()) == []


def test_a_conflicting_catalog_entry_leaves_no_half_migrated_function(
    places: tuple[Path, Path],
) -> None:
    catalog, layer = places
    layer_before = digest(layer)
    # GIVEN a name the catalog refuses (not kebab-case)
    with pytest.raises(Exception, match="kebab-case"):
        migrate(EXAMPLES[0], "Bad_Name", catalog_dir=catalog, layer=layer)
    # THEN neither the catalog nor the layer changed
    assert [p for p in catalog.iterdir() if not p.name.startswith(".")] == []
    assert digest(layer) == layer_before


def test_the_cli_prints_what_is_left(
    places: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    catalog, layer = places
    argv = ["migrate", str(EXAMPLES[0]), "cli", "--catalog-dir", str(catalog)]
    argv += ["--layer-dir", str(layer)]
    assert main(argv) == 0
    assert "left to do by hand" in capsys.readouterr().out
    assert main(argv) == 2  # refused (etl-ops: could not run), saying how to force it
    assert "--force" in capsys.readouterr().err


# ------------------------------------------------- legacy shapes (fixtures written here)


def legacy_folder(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "legacy"
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


APP_JS = "exports.handler = async (event) => ({ ok: true, n: (event.items || []).length });\n"


def test_the_handler_is_given_for_a_folder_without_package_json(
    places: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a legacy function with no package.json whose handler is app.handler (SAM-style)
    legacy = legacy_folder(tmp_path, {"app.js": APP_JS, "lib/util.js": "module.exports = 1;\n"})
    catalog, layer = places
    before = digest(legacy)
    # WHEN migrated as `nox -s migrate -- <dir> <name> --handler app.handler` runs it
    argv = [str(legacy), "sam-app", "--handler", "app.handler"]
    assert main(["migrate", *argv, "--catalog-dir", str(catalog), "--layer-dir", str(layer)]) == 0
    # THEN the entry names that handler, the function passes compat, the legacy is untouched
    out = capsys.readouterr().out
    assert "handler app.handler" in out and "passes the Node.js checks" in out
    assert load_catalog(catalog).get("sam-app").handler == "app.handler"
    assert digest(legacy) == before


def test_without_main_or_package_json_the_message_says_so_and_names_the_flag(
    places: tuple[Path, Path], tmp_path: Path
) -> None:
    legacy = legacy_folder(tmp_path, {"app.js": APP_JS})
    # WHEN migrated without --handler  THEN it says why index.js was looked for, and the fix
    with pytest.raises(MigrationError) as caught:
        run(legacy, places)
    message = str(caught.value)
    assert "there is no package.json" in message and "--handler <file>.<export>" in message
    assert "'main' is" not in message and "app.js" in message
    # AND with a package.json that has no main, it says that
    (legacy / "package.json").write_text('{"name": "x"}')
    with pytest.raises(MigrationError, match=r"package\.json has no 'main'"):
        run(legacy, places)


def test_a_file_exporting_several_handlers_is_refused_listing_them(
    places: tuple[Path, Path], tmp_path: Path
) -> None:
    legacy = legacy_folder(
        tmp_path,
        {
            "index.js": "exports.create = async () => 1;\nexports.list = async () => [];\n",
        },
    )
    with pytest.raises(MigrationError, match=r"several functions \(create, list\).*--handler"):
        run(legacy, places)
    # AND naming one migrates it; naming one that is not exported is refused
    assert run(legacy, places, handler="index.list").handler == "index.list"
    with pytest.raises(MigrationError, match=r"does not export 'remove'.*create, list"):
        run(legacy, places, handler="index.remove", force=True)


def test_tooling_dependencies_stay_out_of_the_layer(
    places: tuple[Path, Path], tmp_path: Path
) -> None:
    # GIVEN a legacy package.json listing deploy tooling, the v2 SDK and a layer package
    deps = {"serverless-offline": "13.3.0", "aws-sdk": "^2.1.0", "dayjs": "^1.11.0"}
    legacy = legacy_folder(
        tmp_path,
        {
            "index.js": "const dayjs = require('dayjs');\nexports.handler = async () => dayjs();\n",
            "package.json": json.dumps({"main": "index.js", "dependencies": deps}),
        },
    )
    _, layer = places
    before = digest(layer)
    # WHEN migrated (nothing new to install: no npm needed)
    result = run(legacy, places)
    # THEN the tooling is not moved, the SDK is dropped, the layer is unchanged
    assert result.tooling_left_out == ["serverless-offline"]
    assert result.dropped_dependencies == ["aws-sdk"] and result.moved_dependencies == {}
    assert digest(layer) == before and result.problems == []
    assert "serverless-offline: not moved to the Node layer" in result.report()
    # AND the report lists package.json as not copied, without calling it a test
    assert "not copied: package.json" in result.report()
    assert "tests were not copied" not in result.report()


def test_a_layer_that_fails_its_check_after_migrate_is_rolled_back(
    places: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a dependency that pulls @aws-sdk/client-s3 in (npm is replaced by a fake that
    # writes the lockfile npm would write)
    legacy = legacy_folder(
        tmp_path,
        {
            "index.js": "const w = require('s3-wrapper');\nexports.handler = async () => w();\n",
            "package.json": json.dumps({"dependencies": {"s3-wrapper": "^1.0.0"}}),
        },
    )
    catalog, layer = places
    before = digest(layer)
    real_run_tool = migrate_module.run_tool

    def fake_npm(args: list[str], why: str, **kwargs: object) -> object:
        if args[0] != "npm":
            return real_run_tool(args, why, **kwargs)  # type: ignore[arg-type]
        manifest = json.loads((layer / "package.json").read_text())
        manifest["dependencies"]["s3-wrapper"] = "1.0.0"
        (layer / "package.json").write_text(json.dumps(manifest, indent=2))
        lock = json.loads((layer / "package-lock.json").read_text())
        lock["packages"][""]["dependencies"] = manifest["dependencies"]
        lock["packages"]["node_modules/s3-wrapper"] = {
            "version": "1.0.0",
            "dependencies": {"@aws-sdk/client-s3": "^3.0.0"},
        }
        lock["packages"]["node_modules/@aws-sdk/client-s3"] = {"version": "3.901.0"}
        (layer / "package-lock.json").write_text(json.dumps(lock, indent=2))
        return None

    monkeypatch.setattr(migrate_module, "run_tool", fake_npm)
    argv = ["migrate", str(legacy), "wrapped", "--catalog-dir", str(catalog)]
    argv += ["--layer-dir", str(layer)]
    # WHEN migrated  THEN it fails naming the offender and the direct dependency
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "@aws-sdk/client-s3" in err and "brought in by s3-wrapper" in err
    assert "remove s3-wrapper from package.json's dependencies" in err
    assert "--leave-out" in err
    # AND the layer's package.json and lockfile are as they were, and no function was added
    assert digest(layer) == before
    assert [p for p in catalog.iterdir() if not p.name.startswith(".")] == []
    # AND leaving it out migrates the function (its import is then reported by compat)
    result = migrate(legacy, "wrapped", catalog_dir=catalog, layer=layer, leave_out=["s3-wrapper"])
    assert result.tooling_left_out == ["s3-wrapper"]
    assert [p.module for p in result.problems] == ["s3-wrapper"]


def test_codemod_leftovers_are_reported_after_migrate(
    places: tuple[Path, Path], tmp_path: Path
) -> None:
    # GIVEN v2 code using global config, KMS Plaintext as a string and a presigned URL
    legacy = legacy_folder(
        tmp_path,
        {
            "index.js": textwrap.dedent(
                """\
                'use strict';
                const AWS = require('aws-sdk');
                AWS.config.update({ region: 'us-east-1' });
                const kms = new AWS.KMS();
                const s3 = new AWS.S3();
                exports.handler = async (event) => {
                  const { Plaintext } = await kms.decrypt({ CiphertextBlob: event.blob }).promise();
                  const params = { Bucket: 'b', Key: event.key, Expires: 60 };
                  const url = await s3.getSignedUrlPromise('putObject', params);
                  return { secret: Plaintext.toString('ascii'), url };
                };
                """
            ),
        },
    )
    # WHEN migrated (the real codemod)
    result = run(legacy, places)
    code = (result.function_dir / "index.js").read_text()
    # THEN the codemod's stray ';' is gone
    assert "'use strict';;" not in code and code.startswith("'use strict';")
    # AND each leftover is a compat problem, with its line in the migrated file
    modules = {p.module for p in result.problems}
    assert {"aws-sdk-js-codemod", "AWS.config", "Plaintext", "aws-sdk"} <= modules, [
        str(p) for p in result.problems
    ]
    for problem in result.problems:
        assert problem.path.parent == result.function_dir and problem.line > 0


def test_the_summary_names_the_needs_the_code_calls_for(
    places: tuple[Path, Path], tmp_path: Path
) -> None:
    # GIVEN a legacy function that writes a DynamoDB table (v3), migrated with no need for it
    code = (
        "const { DynamoDBClient, PutItemCommand } = require('@aws-sdk/client-dynamodb');\n"
        "const db = new DynamoDBClient({});\n"
        "exports.handler = async (event) => {\n"
        "  await db.send(new PutItemCommand({ TableName: 'todos', Item: {} }));\n"
        "  return { ok: true };\n"
        "};\n"
    )
    legacy = legacy_folder(tmp_path, {"index.js": code})
    catalog, layer = places
    # WHEN migrated
    result = migrate(legacy, "todo-writer", catalog_dir=catalog, layer=layer)
    # THEN the summary names the call, the action and the need that would grant it
    report = result.report()
    assert "[needs] to add (1 SDK call(s) no need grants)" in report
    assert "no need grants dynamodb:PutItem" in report and "dynamodb_write" in report
    assert [p.line for p in result.needs if p.is_error] == [4]
