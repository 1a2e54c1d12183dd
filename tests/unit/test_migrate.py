"""nox -s migrate: the automatic part, on the repository's legacy Node.js 14 example.

Runs the real codemod (aws-sdk-js-codemod from tools/node) with the machine's node into
a scratch catalog and a scratch copy of the Node layer; no network (the example's only
third-party package is already in the layer).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from etl_platform.artifacts.layers import layer_dir
from etl_platform.model.catalog import load_catalog
from etl_platform.model.runtimes import DEFAULT_NODE_RUNTIME, NODEJS
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
    assert {p.module for p in result.problems} == {
        "handler",
        "context.callbackWaitsForEmptyEventLoop",
    }
    report = result.report()
    assert "left to do by hand (2 compat problem(s))" in report and "[needs]" in report


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
