"""Bring a legacy Node.js Lambda function into the catalog: ``nox -s migrate``.

``nox -s migrate -- <legacy-dir> <name> [--handler <file>.<export>] [--kind api|batch]
[--size small|large] [--trigger url|none|s3:<prefix>|schedule:<expression>]
[--read <prefix>]... [--write <prefix>]... [--list <prefix>]... [--move-tooling <package>]...
[--description ...] [--force]``

1. copies the function's own files (not node_modules, lockfiles, tests or dotfiles)
   into ``lambdas/<name>/``, through a scratch folder, so a failure leaves nothing
   half-written; the legacy folder is only read;
2. rewrites aws-sdk v2 calls to v3 with AWS's codemod (``aws-sdk-js-codemod -t
   v2-to-v3``, from tools/node);
   and removes the stray empty statements it leaves (``'use strict';;``);
3. moves its third-party ``dependencies`` into the Node layer's package.json
   (``layers/etl-node``, exact versions, lockfile refreshed with ``npm install
   --package-lock-only``); aws-sdk and @aws-sdk/* are dropped (the runtime provides v3),
   and deploy-time tooling (:data:`TOOLING`: Serverless and its plugins, CDK, bundlers,
   compilers, linters, test runners) stays out unless named with ``--move-tooling``.
   Then the layer is checked again (:func:`etl_platform.artifacts.node_compat.check_node_layer`);
   when it fails, the layer's package.json and lockfile are restored, the new function
   is removed, and the run fails naming the direct dependency that brought each problem;
4. writes ``function.toml`` (``runtime = "nodejs24.x"``; ``handler`` from ``--handler``
   (the ``file.export`` of serverless.yml / template.yaml), else package.json's ``main``
   or ``index.js``, and its export ``handler`` or its only export), the profile and
   trigger given;
5. runs the Node.js compat check on the result and prints what is left to do by hand
   (callback handlers, removed context methods, codemod notes and placeholders, v3
   output types), plus what no tool can decide (``needs``, tests).

It refuses to overwrite an existing ``lambdas/<name>/`` unless given ``--force``, and is
safe to re-run: the same legacy folder gives the same function. A folder without
package.json works (nothing to move). The legacy folder is never changed.
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
from etl_platform.artifacts.node_compat import check_node_layer, check_node_tree, extract
from etl_platform.artifacts.node_layer import LOCKFILE, MANIFEST, read_lockfile
from etl_platform.artifacts.nodejs import TOOLING_DIR, require_tooling, run_tool
from etl_platform.artifacts.problems import Problem
from etl_platform.artifacts.sdk_calls import SDK_CALLS, needs_problems
from etl_platform.errors import CommandFailedError, EtlPlatformError
from etl_platform.model.catalog import ENTRY_FILE, MEMORY_MB, TIMEOUT_SECONDS, load_catalog
from etl_platform.model.runtimes import (
    DEFAULT_NODE_RUNTIME,
    NODE_RUNTIME_PROVIDED_SCOPES,
    NODE_SDK_V2,
    NODE_SOURCE_SUFFIXES,
    NODEJS,
    node_major_of,
)
from etl_platform.paths import LAMBDAS_DIR

__all__ = [
    "TOOLING",
    "LayerCheckError",
    "Migration",
    "MigrationError",
    "add_arguments",
    "command",
    "is_tooling",
    "migrate",
]

_TEST_DIRS = frozenset({"test", "tests", "__tests__"})
_SKIPPED_DIRS = frozenset({"coverage"})
_SKIPPED_FILES = frozenset(
    {"package.json", "package-lock.json", "yarn.lock", "npm-shrinkwrap.json"}
)
_TEST_SUFFIXES = (".test.js", ".spec.js", ".test.mjs", ".spec.mjs", ".test.cjs", ".spec.cjs")
_JS = NODE_SOURCE_SUFFIXES
_V2 = NODE_SDK_V2

#: Deploy-time and build-time packages that legacy functions often list in
#: ``dependencies`` but that never run in the function: exact names, and prefixes ending
#: in ``-`` or ``/``. ``nox -s migrate`` keeps them out of the Node layer unless asked.
TOOLING: frozenset[str] = frozenset(
    {
        # deploy frameworks and their plugins
        "serverless", "serverless-", "@serverless/", "aws-cdk", "aws-cdk-lib", "@aws-cdk/",
        "constructs", "cdk-", "claudia", "node-lambda", "lambda-local", "aws-sam-",
        # bundlers and compilers
        "webpack", "webpack-", "esbuild", "esbuild-", "@vercel/ncc", "rollup", "@rollup/",
        "parcel", "typescript", "ts-node", "ts-loader", "@babel/", "babel-", "@types/",
        # linters, formatters, test runners and mocks
        "eslint", "eslint-", "@typescript-eslint/", "prettier", "jest", "jest-", "mocha",
        "chai", "sinon", "nyc", "aws-sdk-mock", "aws-sdk-client-mock",
    }
)  # fmt: skip


def is_tooling(name: str) -> bool:
    """Whether the npm package ``name`` is deploy/build/test tooling (:data:`TOOLING`)."""
    return name in TOOLING or any(
        name.startswith(prefix) for prefix in TOOLING if prefix.endswith(("-", "/"))
    )


class MigrationError(EtlPlatformError):
    """The legacy function cannot be migrated as asked (the message says why and what to do)."""


class LayerCheckError(MigrationError, CommandFailedError):
    """The migration ran, but the Node layer failed its check after the move and was
    restored (a failed step: ``etl-ops`` exits 1)."""


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
    tooling_left_out: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: The code's SDK calls against the entry's [needs] (errors: a call no need grants;
    #: warnings: a need no call uses), as `nox -s compat` reports them.
    needs: list[Problem] = field(default_factory=list)
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
        for name in self.tooling_left_out:
            lines.append(
                f"  dependency {name}: not moved to the Node layer (deploy/build tooling or "
                f"--leave-out; --move-tooling {name} moves it)"
            )
        if self.problems:
            lines.append(f"left to do by hand ({len(self.problems)} compat problem(s)):")
            lines += [f"  - {problem}" for problem in self.problems]
        else:
            lines.append("compat: the function passes the Node.js checks")
        missing = [p for p in self.needs if p.is_error]
        unused = [p for p in self.needs if not p.is_error]
        if missing:
            lines.append(f"[needs] to add ({len(missing)} SDK call(s) no need grants):")
            lines += [f"  - {problem}" for problem in missing]
        if unused:
            lines.append(f"[needs] the code never uses ({len(unused)}):")
            lines += [f"  - {problem}" for problem in unused]
        if not self.needs:
            lines.append("[needs]: every SDK call the check sees is granted, and every need used")
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


def _own_files(legacy: Path) -> tuple[list[Path], list[str], list[str]]:
    """(files to copy, tests left behind, other files left behind), relative names."""
    files, tests, others = [], [], []
    for path in sorted(legacy.rglob("*")):
        relative = path.relative_to(legacy)
        parts = relative.parts
        if not path.is_file():
            continue
        if parts[0] == "node_modules" or any(p.startswith(".") for p in parts):
            continue  # installed packages and dotfiles: never part of the function
        if any(p in _TEST_DIRS for p in parts) or path.name.endswith(_TEST_SUFFIXES):
            tests.append(relative.as_posix())
        elif path.name in _SKIPPED_FILES or any(p in _SKIPPED_DIRS for p in parts):
            others.append(relative.as_posix())
        else:
            files.append(path)
    return files, tests, others


def _exports(entry: Path) -> list[str]:
    facts = extract([entry], node_major_of(DEFAULT_NODE_RUNTIME))["files"][0]
    if facts.get("syntaxError"):
        error = facts["syntaxError"]
        raise MigrationError(
            f"{entry}:{error['line']}: does not parse as JavaScript ({error['message']}); "
            "migrate copies working code only"
        )
    return [h["name"] for h in facts.get("handlers", []) if h["name"] != "*"]


def _handler(
    legacy: Path, manifest: dict[str, object], files: list[Path], given: str | None
) -> str:
    """``file.export``: ``given`` (checked), else package.json's main (or index.js) and its
    export ``handler``, or its only export."""
    if given is not None:
        stem, dot, export = given.rpartition(".")
        if not dot or not stem or not export:
            raise MigrationError(
                f"--handler {given!r}: write <file>.<export> as in serverless.yml or "
                "template.yaml, e.g. app.handler or src/create.create"
            )
        origin = f"--handler {given}"
    else:
        main = manifest.get("main")
        if main:
            origin = f"package.json's 'main' ({main!r})"
            main = str(main).removeprefix("./")
            stem = main.rsplit(".", 1)[0] if main.endswith(_JS) else main
        else:
            why = "package.json has no 'main'" if manifest else "there is no package.json"
            origin = f"index.js ({why})"
            stem = "index"
        export = ""
    entry = next((c for c in (legacy / f"{stem}{ext}" for ext in _JS) if c in files), None)
    if entry is None:
        present = ", ".join(p.relative_to(legacy).as_posix() for p in files if p.suffix in _JS)
        raise MigrationError(
            f"no {stem}.js/.mjs/.cjs in {legacy} (the handler's file by {origin}); its "
            f"JavaScript files are: {present}. Fix: pass --handler <file>.<export> (the "
            "function's configured handler: serverless.yml, template.yaml or the deployed "
            "function's)"
        )
    exports = _exports(entry)
    if export:
        if exports and export not in exports:  # none seen: exported in a way not followed
            raise MigrationError(
                f"{entry} does not export {export!r} ({origin}); it exports "
                f"{', '.join(exports) or 'no function'}. Fix: pass --handler "
                f"{stem}.<one of those>"
            )
    elif "handler" in exports or not exports:
        export = "handler"
    elif len(exports) == 1:
        export = exports[0]
    else:
        raise MigrationError(
            f"{entry} ({origin}) exports several functions ({', '.join(exports)}) and none "
            "is called 'handler'; each may be a separate Lambda function. Fix: pass "
            f"--handler {stem}.<export> (one migrate per function)"
        )
    return f"{stem}.{export}"


def _codemod(folder: Path) -> None:
    require_tooling("aws-sdk-js-codemod", "nox -s migrate rewrites aws-sdk v2 calls with it")
    files = [p for p in sorted(folder.rglob("*")) if p.suffix in _JS]
    if not files:
        return
    binary = TOOLING_DIR / "node_modules" / "aws-sdk-js-codemod" / "bin" / "aws-sdk-js-codemod"
    run_tool(
        ["node", str(binary), "-t", "v2-to-v3", *map(str, files)],
        "rewriting aws-sdk v2 calls to v3 (aws-sdk-js-codemod)",
    )
    for facts in extract(files, node_major_of(DEFAULT_NODE_RUNTIME))["files"]:
        if facts.get("strayEmpty"):
            _drop_ranges(Path(facts["path"]), [(e["start"], e["end"]) for e in facts["strayEmpty"]])


def _drop_ranges(path: Path, ranges: Sequence[tuple[int, int]]) -> None:
    """Delete acorn's [start, end) ranges (UTF-16 code units, as JavaScript counts)."""
    units = path.read_text(encoding="utf-8").encode("utf-16-le")
    for start, end in sorted(ranges, reverse=True):
        units = units[: 2 * start] + units[2 * end :]
    path.write_text(units.decode("utf-16-le"), encoding="utf-8")


def _move_dependencies(
    manifest: dict[str, object],
    layer: Path,
    result: Migration,
    move_tooling: Sequence[str],
    leave_out: Sequence[str],
) -> None:
    wanted: dict[str, str] = {}
    for key in ("dependencies", "optionalDependencies"):
        section = manifest.get(key) or {}
        if isinstance(section, dict):
            wanted.update({str(k): str(v) for k, v in section.items()})
    unknown = sorted({*move_tooling, *leave_out} - set(wanted))
    if unknown:
        raise MigrationError(
            f"--move-tooling/--leave-out {', '.join(unknown)}: not in the legacy "
            f"package.json's dependencies ({', '.join(sorted(wanted)) or 'none'})"
        )
    known = {(p.module, p.message) for p in check_node_layer([DEFAULT_NODE_RUNTIME], layer)}
    layer_manifest_path = layer / MANIFEST
    layer_manifest = json.loads(layer_manifest_path.read_text(encoding="utf-8"))
    present: dict[str, str] = layer_manifest.setdefault("dependencies", {})
    to_install = []
    for name, spec in sorted(wanted.items()):
        if name == _V2 or name.startswith(NODE_RUNTIME_PROVIDED_SCOPES):
            result.dropped_dependencies.append(name)
        elif name in leave_out or (is_tooling(name) and name not in move_tooling):
            result.tooling_left_out.append(name)
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
    problems = [
        p
        for p in check_node_layer([DEFAULT_NODE_RUNTIME], layer)
        if (p.module, p.message) not in known  # the layer's own, older problems are compat's
    ]
    if problems:
        raise LayerCheckError(
            f"the Node layer ({layer}) fails its check after adding "
            f"{', '.join(sorted(result.moved_dependencies))}:\n  - "
            + "\n  - ".join(map(str, problems))
            + f"\nThe layer's {MANIFEST} and {LOCKFILE} were restored and the function was "
            "not added. Fix: re-run with --leave-out <the direct dependency named above> "
            "when the function does not need it at run time (deploy tooling, or a wrapper "
            "of the AWS SDK the runtime provides), else replace it in the migrated code"
        )


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
    move_tooling: Sequence[str] = (),
    leave_out: Sequence[str] = (),
) -> Migration:
    """Migrate ``legacy`` into ``<catalog_dir>/<name>``; see the module docstring.

    ``handler``: ``<file>.<export>`` (as in serverless.yml / template.yaml); default
    package.json's ``main`` (else ``index.js``) and its export. ``move_tooling``: packages
    of :data:`TOOLING` to move anyway; ``leave_out``: dependencies not to move.
    """
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
    files, tests, others = _own_files(legacy)
    if not any(p.suffix in _JS for p in files):
        raise MigrationError(f"{legacy} holds no .js/.mjs/.cjs file to migrate")
    handler = _handler(legacy, manifest, files, handler)
    result = Migration(function_dir=target, handler=handler, skipped=[*others, *tests])
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
        saved_layer = Path(scratch) / "layer"
        saved_layer.mkdir()
        for file_name in (MANIFEST, LOCKFILE):
            shutil.copy2(layer / file_name, saved_layer / file_name)
        if target.exists():
            target.rename(previous)
        staged.rename(target)
        try:
            load_catalog(catalog_dir)  # the new entry and the catalog around it are valid
            _move_dependencies(manifest, layer, result, move_tooling, leave_out)
        except EtlPlatformError:
            shutil.rmtree(target)
            if previous.exists():
                previous.rename(target)
            for file_name in (MANIFEST, LOCKFILE):  # the layer as it was
                shutil.copy2(saved_layer / file_name, layer / file_name)
            raise
    result.problems = check_node_tree(
        target,
        DEFAULT_NODE_RUNTIME,
        layer_packages=read_lockfile(layer).installed(),
        handler=handler,
        function_tree=True,
    )
    spec = load_catalog(catalog_dir).get(name)
    result.needs = needs_problems(spec, SDK_CALLS[spec.language](target, spec.handler))
    result.notes.append(
        f"{target / ENTRY_FILE}: [needs] lists the S3 prefixes the function may read, "
        "write and list (ListObjects needs s3_list); nothing else is granted"
    )
    if tests:
        result.notes.append(
            f"its tests were not copied ({', '.join(tests)}): port them to node:test under "
            "tests/node/ (aws-sdk-client-mock answers only awaited v3 calls, so make "
            "callback-style code async first)"
        )
    else:
        result.notes.append(
            f"it has no tests: write tests/node/{name}.test.js (node:test), which "
            "`nox -s tests` requires"
        )
    result.notes.append("run nox -s compat, nox -s plan and nox -s tests")
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``etl-ops migrate <legacy-dir> <name> [--kind] [--size] [--trigger] [--read]...``."""
    parser.add_argument("legacy", type=Path, help="the legacy function's folder")
    parser.add_argument("name", help="the catalog name (kebab-case)")
    parser.add_argument(
        "--handler",
        default=None,
        help="<file>.<export>, as in serverless.yml/template.yaml (default: package.json's "
        "main, else index.js, and its export)",
    )
    parser.add_argument(
        "--move-tooling",
        action="append",
        default=[],
        metavar="PACKAGE",
        help="move this deploy/build tooling dependency to the Node layer anyway",
    )
    parser.add_argument(
        "--leave-out",
        action="append",
        default=[],
        metavar="PACKAGE",
        help="do not move this dependency to the Node layer",
    )
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
        handler=args.handler,
        move_tooling=args.move_tooling,
        leave_out=args.leave_out,
    )
    print(result.report())
    return 0
