"""Bring a legacy Node.js Lambda function into the catalog: ``nox -s migrate``.

``nox -s migrate -- <legacy-dir> <name> [--kind api|batch] [--size small|large]
[--trigger url|none|s3:<prefix>|schedule:<expression>] [--read <prefix>]...
[--write <prefix>]... [--list <prefix>]... [--description ...] [--force]``

1. copies the function's own files (not node_modules, lockfiles, tests or dotfiles)
   into ``lambdas/<name>/``, through a scratch folder, so a failure leaves nothing
   half-written; the legacy folder is only read;
2. rewrites aws-sdk v2 calls to v3 with AWS's codemod (``aws-sdk-js-codemod -t
   v2-to-v3``, from tools/node);
3. moves its third-party ``dependencies`` into the Node layer's package.json
   (``layers/etl-node``, exact versions, lockfile refreshed with ``npm install
   --package-lock-only``); aws-sdk and @aws-sdk/* are dropped (the runtime provides v3);
4. writes ``function.toml`` (``runtime = "nodejs24.x"``, ``handler`` from package.json's
   ``main`` and the export it finds, the profile and trigger given);
5. runs the Node.js compat check on the result and prints what is left to do by hand
   (callback handlers usually are), plus what no tool can decide (``needs``, tests).

It refuses to overwrite an existing ``lambdas/<name>/`` unless given ``--force``, and is
safe to re-run: the same legacy folder gives the same function.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from etl_platform.artifacts.layers import layer_dir
from etl_platform.artifacts.node_compat import check_node_tree, extract
from etl_platform.artifacts.node_layer import MANIFEST, read_lockfile
from etl_platform.artifacts.nodejs import TOOLING_DIR, require_tooling, run_tool
from etl_platform.artifacts.problems import Problem
from etl_platform.errors import EtlPlatformError
from etl_platform.model.catalog import ENTRY_FILE, MEMORY_MB, TIMEOUT_SECONDS, load_catalog
from etl_platform.model.runtimes import (
    DEFAULT_NODE_RUNTIME,
    NODE_RUNTIME_PROVIDED_SCOPES,
    NODE_SDK_V2,
    NODE_SOURCE_SUFFIXES,
    NODEJS,
)
from etl_platform.paths import LAMBDAS_DIR

__all__ = ["Migration", "MigrationError", "add_arguments", "command", "migrate"]

_SKIPPED_DIRS = frozenset({"node_modules", "test", "tests", "__tests__", "coverage"})
_SKIPPED_FILES = frozenset(
    {"package.json", "package-lock.json", "yarn.lock", "npm-shrinkwrap.json"}
)
_TEST_SUFFIXES = (".test.js", ".spec.js", ".test.mjs", ".spec.mjs", ".test.cjs", ".spec.cjs")
_JS = NODE_SOURCE_SUFFIXES
_V2 = NODE_SDK_V2


class MigrationError(EtlPlatformError):
    """The legacy function cannot be migrated as asked (the message says why and what to do)."""


@dataclass
class Migration:
    """What :func:`migrate` did and what is left."""

    function_dir: Path
    handler: str
    copied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    moved_dependencies: dict[str, str] = field(default_factory=dict)
    kept_layer_versions: dict[str, str] = field(default_factory=dict)
    dropped_dependencies: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def report(self) -> str:
        lines = [f"migrated into {self.function_dir} (handler {self.handler})"]
        lines += [f"  copied: {', '.join(self.copied)}"]
        if self.skipped:
            lines += [f"  not copied: {', '.join(self.skipped)}"]
        for name, version in sorted(self.moved_dependencies.items()):
            lines.append(f"  dependency {name} -> Node layer ({version})")
        for name, version in sorted(self.kept_layer_versions.items()):
            lines.append(f"  dependency {name}: the Node layer already has {version}; kept")
        for name in self.dropped_dependencies:
            lines.append(f"  dependency {name}: dropped (the Lambda runtime provides AWS SDK v3)")
        if self.problems:
            lines.append(f"left to do by hand ({len(self.problems)} compat problem(s)):")
            lines += [f"  - {problem}" for problem in self.problems]
        else:
            lines.append("compat: the function passes the Node.js checks")
        lines.append("also check by hand:")
        lines += [f"  - {note}" for note in self.notes]
        return "\n".join(lines)


def _parse_trigger(value: str) -> dict[str, str]:
    kind, _, rest = value.partition(":")
    if kind in ("url", "none") and not rest:
        return {"type": kind}
    if kind == "s3" and rest:
        return {"type": "s3", "prefix": rest}
    if kind == "schedule" and rest:
        return {"type": "schedule", "expression": rest}
    raise MigrationError(
        f"--trigger {value!r}: use url, none, s3:<prefix> (e.g. s3:raw/) or "
        "schedule:<expression> (e.g. 'schedule:rate(1 day)')"
    )


def _read_manifest(legacy: Path) -> dict[str, object]:
    path = legacy / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise MigrationError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise MigrationError(f"{path} is not a package.json object")
    return data


def _own_files(legacy: Path) -> tuple[list[Path], list[str]]:
    files, skipped = [], []
    for path in sorted(legacy.rglob("*")):
        relative = path.relative_to(legacy)
        parts = relative.parts
        if not path.is_file():
            continue
        if (
            any(p.startswith(".") or p in _SKIPPED_DIRS for p in parts)
            or path.name in _SKIPPED_FILES
            or path.name.endswith(_TEST_SUFFIXES)
        ):
            if parts[0] != "node_modules" and not parts[0].startswith("."):
                skipped.append(relative.as_posix())
            continue
        files.append(path)
    return files, skipped


def _is_test(relative: str) -> bool:
    parts = relative.split("/")
    return relative.endswith(_TEST_SUFFIXES) or any(p in _SKIPPED_DIRS for p in parts)


def _handler(legacy: Path, manifest: dict[str, object], files: list[Path]) -> str:
    main = str(manifest.get("main") or "index.js")
    stem = main.removeprefix("./").rsplit(".", 1)[0] if main.endswith(_JS) else main
    candidates = [legacy / f"{stem}{ext}" for ext in _JS]
    entry = next((c for c in candidates if c in files), None)
    if entry is None:
        raise MigrationError(
            f"{legacy}: no {stem}.js/.mjs/.cjs (package.json 'main' is {main!r}); set 'main' "
            "to the handler's file"
        )
    exports = [h["name"] for h in extract([entry], 24)["files"][0].get("handlers", [])]
    export = "handler" if "handler" in exports or not exports else exports[0]
    return f"{stem}.{export}"


def _given_handler(legacy: Path, handler: str, files: list[Path]) -> str:
    """``app.handler``: file ``app`` (.js/.mjs/.cjs), export ``handler``, as deployed."""
    stem, _, export = handler.rpartition(".")
    if not stem or not any(legacy / f"{stem}{ext}" in files for ext in _JS):
        raise MigrationError(
            f"handler {handler!r}: no {stem or handler}.js/.mjs/.cjs in {legacy}; give "
            "<file>.<export> as in the function's configuration"
        )
    return f"{stem}.{export}"


def _codemod(folder: Path) -> None:
    require_tooling("aws-sdk-js-codemod", "nox -s migrate rewrites aws-sdk v2 calls with it")
    files = [str(p) for p in sorted(folder.rglob("*")) if p.suffix in _JS]
    if files:
        binary = TOOLING_DIR / "node_modules" / "aws-sdk-js-codemod" / "bin" / "aws-sdk-js-codemod"
        run_tool(
            ["node", str(binary), "-t", "v2-to-v3", *files],
            "rewriting aws-sdk v2 calls to v3 (aws-sdk-js-codemod)",
        )


def _move_dependencies(manifest: dict[str, object], layer: Path, result: Migration) -> None:
    wanted: dict[str, str] = {}
    for key in ("dependencies", "optionalDependencies"):
        section = manifest.get(key) or {}
        if isinstance(section, dict):
            wanted.update({str(k): str(v) for k, v in section.items()})
    layer_manifest_path = layer / MANIFEST
    layer_manifest = json.loads(layer_manifest_path.read_text(encoding="utf-8"))
    present: dict[str, str] = layer_manifest.setdefault("dependencies", {})
    to_install = []
    for name, spec in sorted(wanted.items()):
        if name == _V2 or name.startswith(NODE_RUNTIME_PROVIDED_SCOPES):
            result.dropped_dependencies.append(name)
        elif name in present:
            result.kept_layer_versions[name] = present[name]
            if not _satisfies(present[name], spec):
                result.notes.append(
                    f"{name}: the legacy function asked for {spec!r} but the Node layer pins "
                    f"{present[name]}; check the function works with it (one version serves "
                    "every Node function)"
                )
        else:
            to_install.append(f"{name}@{spec}")
    if to_install:
        run_tool(
            [
                "npm", "install", "--package-lock-only", "--save-exact", "--no-audit",
                "--no-fund", "--loglevel=error", "--prefix", str(layer), *to_install,
            ],
            f"adding {', '.join(to_install)} to the Node layer ({layer_manifest_path})",
        )  # fmt: skip
        updated = json.loads(layer_manifest_path.read_text(encoding="utf-8"))["dependencies"]
        for item in to_install:
            name = item.rsplit("@", 1)[0]
            result.moved_dependencies[name] = updated[name]
    read_lockfile(layer)  # still consistent


def _satisfies(version: str, spec: str) -> bool:
    semver = require_tooling("semver", "nox -s migrate compares dependency versions")
    script = (
        f"const s=require({json.dumps(str(semver))});"
        f"process.stdout.write(String(s.satisfies({json.dumps(version)},{json.dumps(spec)})))"
    )
    return run_tool(["node", "-e", script], "comparing versions").stdout.strip() == "true"


def _entry_text(
    name: str, handler: str, description: str, kind: str, size: str, trigger: dict[str, str],
    reads: Sequence[str], writes: Sequence[str], lists: Sequence[str], legacy: Path,
) -> str:  # fmt: skip
    def q(value: str) -> str:
        return json.dumps(value)  # a TOML basic string is a JSON string for these values

    lines = [
        "# Catalog entry: everything the platform needs to know to deploy this function.",
        '# Keys and allowed values: README.md, "The function catalog".',
        f"# Migrated by `nox -s migrate` from {legacy.name}/ (docs/migrating-node.md).",
        f"name = {q(name)}",
        f"runtime = {q(DEFAULT_NODE_RUNTIME)}",
        f"handler = {q(handler)}",
        f"description = {q(description)}",
        f"kind = {q(kind)}",
        f"size = {q(size)}",
        "critical = false",
        "database = false",
        "",
        "[trigger]",
        *(f"{key} = {q(value)}" for key, value in trigger.items()),
        "",
        "[needs]",
        f"s3_read = [{', '.join(q(r) for r in sorted(reads))}]",
        f"s3_write = [{', '.join(q(w) for w in sorted(writes))}]",
        f"s3_list = [{', '.join(q(x) for x in sorted(lists))}]",
    ]
    return "\n".join(lines) + "\n"


def migrate(
    legacy: Path,
    name: str,
    *,
    kind: str = "batch",
    size: str = "small",
    trigger: str = "none",
    reads: Sequence[str] = (),
    writes: Sequence[str] = (),
    lists: Sequence[str] = (),
    description: str | None = None,
    force: bool = False,
    catalog_dir: Path | None = None,
    layer: Path | None = None,
    handler: str | None = None,
) -> Migration:
    """Migrate ``legacy`` into ``<catalog_dir>/<name>``; see the module docstring."""
    legacy = Path(legacy).resolve()
    catalog_dir = Path(catalog_dir or LAMBDAS_DIR)
    layer = Path(layer or layer_dir(NODEJS))
    if not legacy.is_dir():
        raise MigrationError(f"{legacy} is not a folder: give the legacy function's folder")
    if kind not in TIMEOUT_SECONDS or size not in MEMORY_MB:
        raise MigrationError(
            f"--kind {kind!r} / --size {size!r}: use one of {sorted(TIMEOUT_SECONDS)} / "
            f"{sorted(MEMORY_MB)}"
        )
    trigger_table = _parse_trigger(trigger)
    reads = sorted({*reads, *([trigger_table["prefix"]] if "prefix" in trigger_table else [])})
    target = catalog_dir / name
    if target.exists() and not force:
        raise MigrationError(
            f"{target} already exists; nothing was changed. Re-run with --force to replace it "
            "(the legacy folder is never modified)"
        )
    manifest = _read_manifest(legacy)
    files, skipped = _own_files(legacy)
    if not any(p.suffix in _JS for p in files):
        raise MigrationError(f"{legacy} holds no .js/.mjs/.cjs file to migrate")
    handler = (
        _given_handler(legacy, handler, files) if handler else _handler(legacy, manifest, files)
    )
    result = Migration(function_dir=target, handler=handler, skipped=skipped)
    catalog_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".etl-migrate-", dir=catalog_dir) as scratch:
        staged = Path(scratch) / name
        for path in files:
            destination = staged / path.relative_to(legacy)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
            result.copied.append(path.relative_to(legacy).as_posix())
        if manifest.get("type") == "module":  # keeps .js files ES modules, as they were
            (staged / MANIFEST).write_text('{\n  "type": "module"\n}\n', encoding="utf-8")
        _codemod(staged)
        (staged / ENTRY_FILE).write_text(
            _entry_text(
                name, handler, description or f"Migrated from {legacy.name} (Node.js 14).",
                kind, size, trigger_table, reads, writes, lists, legacy,
            ),
            encoding="utf-8",
        )  # fmt: skip
        tomllib.loads((staged / ENTRY_FILE).read_text(encoding="utf-8"))
        previous = Path(scratch) / "previous"
        if target.exists():
            target.rename(previous)
        staged.rename(target)
        try:
            load_catalog(catalog_dir)  # the new entry and the catalog around it are valid
        except EtlPlatformError:
            shutil.rmtree(target)
            if previous.exists():
                previous.rename(target)
            raise
        _move_dependencies(manifest, layer, result)
    result.problems = check_node_tree(
        target,
        DEFAULT_NODE_RUNTIME,
        layer_packages=read_lockfile(layer).installed(),
        handler=handler,
        function_tree=True,
    )
    result.notes += [
        f"{target / ENTRY_FILE}: [needs] lists the S3 prefixes the function may read, "
        "write and list (ListObjects needs s3_list); nothing else is granted",
        "aws-sdk v3 returns GetObject's Body as a stream: `await Body.transformToString()` "
        "where v2 code called Body.toString()",
        "tests were not copied"
        + (f" ({', '.join(skipped)})" if skipped else "")
        + ": port them to node:test under tests/node/",
        "run nox -s compat, nox -s plan and nox -s tests",
    ]
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``etl-ops migrate <legacy-dir> <name> [--kind] [--size] [--trigger] [--read]...``."""
    parser.add_argument("legacy", type=Path, help="the legacy function's folder")
    parser.add_argument("name", help="the catalog name (kebab-case)")
    parser.add_argument("--kind", default="batch", choices=sorted(TIMEOUT_SECONDS))
    parser.add_argument("--size", default="small", choices=sorted(MEMORY_MB))
    parser.add_argument(
        "--trigger", default="none", help="url | none | s3:<prefix> | schedule:<expression>"
    )
    parser.add_argument("--read", action="append", default=[], help="an S3 prefix it reads")
    parser.add_argument("--write", action="append", default=[], help="an S3 prefix it writes")
    parser.add_argument(
        "--list", action="append", default=[], help="an S3 prefix whose keys it lists"
    )
    parser.add_argument("--description", default=None)
    parser.add_argument("--force", action="store_true", help="replace an existing function")
    parser.add_argument("--catalog-dir", type=Path, default=None, help="default lambdas/")
    parser.add_argument("--layer-dir", type=Path, default=None, help="default layers/etl-node")


def command(args: argparse.Namespace) -> int:
    """Migrate a legacy Node.js function into lambdas/<name>/ and report what is left."""
    result = migrate(
        args.legacy,
        args.name,
        kind=args.kind,
        size=args.size,
        trigger=args.trigger,
        reads=args.read,
        writes=args.write,
        lists=args.list,
        description=args.description,
        force=args.force,
        catalog_dir=args.catalog_dir,
        layer=args.layer_dir,
    )
    print(result.report())
    return 0
