"""Node.js runtime compatibility: is this Node source tree fit for Lambda runtime X?

The one entry point is :func:`check_node_tree`::

    from etl_platform.artifacts.node_compat import check_node_tree
    problems = check_node_tree(Path("lambdas/daily-report"), "nodejs24.x")
    for problem in problems:   # etl_platform.artifacts.problems.Problem: file, line, what, fix
        print(problem)

JavaScript is read with a real parser (acorn, run by the machine's ``node`` through
``tools/node/extract.mjs``), never with regular expressions. Refused, each with the
file, the line and the fix:

- **aws-sdk v2**: ``require('aws-sdk')``, ``import ... from 'aws-sdk'``, ``aws-sdk/clients/*``
  or ``aws-sdk`` in a package.json. The fix names the ``@aws-sdk/client-*`` v3 package
  the runtime provides (from the clients the code constructs).
- **Callback handlers** (``(event, context, callback)``) and
  ``context.callbackWaitsForEmptyEventLoop`` on nodejs24.x, which no longer supports
  them (AWS Lambda developer guide, "Define Lambda function handler in Node.js").
- **Unresolvable imports**: anything not a Node built-in, ``@aws-sdk/*`` (runtime
  provided), a package of the Node layer, or a file of the tree itself.
- **engines.node** in a package.json that excludes the target's Node.js version.
- **Syntax errors.**
- **Removed Node.js APIs** (:data:`REMOVED_APIS`, each citing its Node.js deprecation
  entry and the pull request that removed it) once the target is at or past the
  removing release.
- **Dependencies in a function's own package.json** (``function_tree=True``): a
  function zip holds only its own files; third-party packages go to the Node layer.

:func:`check_node_layer` checks ``layers/etl-node`` (lockfile, bundled SDKs, every
installed package's ``engines``); ``nox -s compat`` runs both for every Node function.
The built-in module list is that of the node running the parser: Node.js 24 from
``tools/node`` (the ``node`` npm package) when installed, else the machine's node (a
module only a newer Node has would then be reported as unresolvable).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from etl_platform.artifacts.layers import layer_dir
from etl_platform.artifacts.node_layer import (
    NodeLayerError,
    read_lockfile,
    runtime_provided_problems,
)
from etl_platform.artifacts.nodejs import TOOLING_DIR, require_tooling, run_tool
from etl_platform.artifacts.problems import Problem
from etl_platform.model.runtimes import (
    NODE_RUNTIME_PROVIDED_SCOPES,
    NODE_SDK_V2,
    NODE_SOURCE_SUFFIXES,
    NODEJS,
    node_major_of,
)
from etl_platform.paths import REPO_ROOT

__all__ = [
    "CALLBACK_HANDLERS_REMOVED_IN",
    "REMOVED_APIS",
    "RemovedApi",
    "check_node_layer",
    "check_node_tree",
    "extract",
    "v3_package",
]

#: nodejs24.x dropped callback-style handlers and callbackWaitsForEmptyEventLoop.
CALLBACK_HANDLERS_REMOVED_IN = 24
_ASYNC_FIX = (
    "make the handler `async (event, context)` and return (or throw) instead of calling "
    "callback; drop context.callbackWaitsForEmptyEventLoop (an async handler's work ends "
    "when its promise settles)"
)
_JS_SUFFIXES = NODE_SOURCE_SUFFIXES
_RESOLVE_SUFFIXES = ("", *NODE_SOURCE_SUFFIXES, ".json", ".node")  # require() resolution
_V2 = NODE_SDK_V2
_LAYER_MANIFEST = (layer_dir(NODEJS) / "package.json").relative_to(REPO_ROOT).as_posix()


@dataclass(frozen=True)
class RemovedApi:
    """A Node.js API removed (End-of-Life) in ``removed_in``."""

    module: str
    names: frozenset[str]
    removed_in: int
    reference: str  # the deprecation code and the change that removed it
    fix: str


REMOVED_APIS: tuple[RemovedApi, ...] = (
    RemovedApi(
        "crypto",
        frozenset({"createCipher", "createDecipher"}),
        22,
        "DEP0106, End-of-Life in Node.js 22.0.0 (https://github.com/nodejs/node/pull/50973)",
        "derive a key with crypto.scrypt()/pbkdf2() and a random salt, then use "
        "crypto.createCipheriv()/createDecipheriv() with a random IV",
    ),
    RemovedApi(
        "util",
        frozenset(
            {
                "isBoolean",
                "isBuffer",
                "isDate",
                "isError",
                "isFunction",
                "isNull",
                "isNullOrUndefined",
                "isNumber",
                "isObject",
                "isPrimitive",
                "isRegExp",
                "isString",
                "isSymbol",
                "isUndefined",
            }
        ),
        23,
        "DEP0045-DEP0058, End-of-Life in Node.js 23.0.0 (https://github.com/nodejs/node/pull/52744)",
        "use typeof / instanceof checks, Buffer.isBuffer(), Array.isArray() or "
        "util.types.isDate()/isRegExp()",
    ),
    RemovedApi(
        "tls",
        frozenset({"createSecurePair"}),
        24,
        "DEP0064, End-of-Life in Node.js 24.0.0 (https://github.com/nodejs/node/pull/57361)",
        "use tls.TLSSocket",
    ),
)

# aws-sdk v2 client class -> the v3 package. Most follow a pattern (below); these do not.
_V3_PACKAGES = {
    "DynamoDB.DocumentClient": "@aws-sdk/lib-dynamodb",
    "StepFunctions": "@aws-sdk/client-sfn",
    "CloudWatchLogs": "@aws-sdk/client-cloudwatch-logs",
    "SecretsManager": "@aws-sdk/client-secrets-manager",
    "CloudWatchEvents": "@aws-sdk/client-cloudwatch-events",
    "EventBridge": "@aws-sdk/client-eventbridge",
    "RDSDataService": "@aws-sdk/client-rds-data",
    "S3": "@aws-sdk/client-s3",
}


def v3_package(client: str) -> str:
    """v2 client class -> v3 package: ``S3`` -> ``@aws-sdk/client-s3``."""
    if client in _V3_PACKAGES:
        return _V3_PACKAGES[client]
    return f"@aws-sdk/client-{client.split('.')[0].lower()}"


def _parser_node() -> str:
    """Node.js 24 from tools/node when installed (its built-in module list is the
    target's), else the machine's node."""
    target = TOOLING_DIR / "node_modules" / "node" / "bin" / "node"
    return str(target) if target.is_file() else "node"


def extract(paths: Sequence[Path], node_major: int) -> dict[str, Any]:
    """Run the acorn-based extractor on ``paths``; its JSON report (see tools/node/extract.mjs)."""
    why = "Node.js code is checked with a JavaScript parser (acorn)"
    require_tooling("acorn", why)
    if not paths:
        return {"builtins": [], "files": []}
    result = run_tool(
        [
            _parser_node(),
            str(TOOLING_DIR / "extract.mjs"),
            "--node-major",
            str(node_major),
            *map(str, paths),
        ],
        why,
    )
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _package_name(specifier: str) -> str:
    parts = specifier.split("/")
    return "/".join(parts[:2]) if specifier.startswith("@") else parts[0]


def _is_builtin(specifier: str, builtins: frozenset[str]) -> bool:
    bare = specifier.removeprefix("node:")
    return specifier.startswith("node:") or bare in builtins or _package_name(bare) in builtins


def _resolves(file: Path, specifier: str, root: Path) -> tuple[bool, bool]:
    """(exists, inside root) for a relative import of ``file``."""
    base = (file.parent / specifier).resolve()
    inside = base == root.resolve() or root.resolve() in base.parents
    candidates = [Path(f"{base}{suffix}") for suffix in _RESOLVE_SUFFIXES]
    candidates += [base / f"index{suffix}" for suffix in _JS_SUFFIXES]
    if (base / "package.json").is_file():
        return True, inside
    return any(c.is_file() for c in candidates), inside


def _tree_files(root: Path) -> tuple[list[Path], list[Path]]:
    code, manifests = [], []
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if "node_modules" in parts or any(p.startswith(".") for p in parts):
            continue
        if path.is_file() and path.suffix in _JS_SUFFIXES:
            code.append(path)
        elif path.is_file() and path.name == "package.json":
            manifests.append(path)
    return code, manifests


def _layer_packages() -> frozenset[str]:
    folder = layer_dir(NODEJS)
    try:
        return frozenset(read_lockfile(folder).installed())
    except NodeLayerError:
        return frozenset()  # check_node_layer reports it


def check_node_tree(
    root: Path,
    runtime: str,
    *,
    layer_packages: Collection[str] | None = None,
    handler: str | None = None,
    function_tree: bool = False,
) -> list[Problem]:
    """Every problem of the Node.js sources under ``root`` for Lambda ``runtime``.

    ``layer_packages``: package names importable from the Node layer (default: those of
    ``layers/etl-node/package-lock.json``). ``handler`` (``index.handler``): the export
    whose signature is checked (default: every export named ``handler``).
    ``function_tree``: ``root`` is a catalog function, whose package.json may not bring
    dependencies. Raises :class:`etl_platform.artifacts.nodejs.NodeToolError` without node/acorn.
    """
    root = Path(root)
    major = node_major_of(runtime)
    packages = frozenset(_layer_packages() if layer_packages is None else layer_packages)
    code, manifests = _tree_files(root)
    report = extract([*code, *manifests], major)
    builtins = frozenset(report["builtins"])
    problems: list[Problem] = []
    for facts in report["files"]:
        path = Path(facts["path"])
        if facts.get("syntaxError"):
            error = facts["syntaxError"]
            what = "is not valid JSON" if facts.get("manifest") else "does not parse as JavaScript"
            problems.append(
                Problem(path, error["line"], "", f"{what}: {error['message']}", "fix the syntax")
            )
        elif facts.get("manifest"):
            problems += _manifest_problems(path, facts, runtime, function_tree)
        else:
            problems += _code_problems(path, facts, root, runtime, builtins, packages, handler)
    return sorted(problems, key=lambda p: (str(p.path), p.line, p.message))


def _v2_fix(clients: Iterable[str]) -> str:
    wanted = sorted({v3_package(c) for c in clients if c})
    which = ", ".join(wanted) if wanted else "the @aws-sdk/client-<service> package of each client"
    return (
        f"use {which} (AWS SDK v3, provided by the Lambda Node.js runtime; never bundled); "
        "`nox -s migrate` rewrites v2 calls with aws-sdk-js-codemod"
    )


def _code_problems(
    path: Path,
    facts: dict[str, Any],
    root: Path,
    runtime: str,
    builtins: frozenset[str],
    packages: frozenset[str],
    handler: str | None,
) -> list[Problem]:
    major = node_major_of(runtime)
    problems: list[Problem] = []
    clients = [c["client"] for c in facts["awsClients"]]
    for entry in facts["imports"]:
        spec, line = entry["specifier"], entry["line"]
        if spec == _V2 or spec.startswith(f"{_V2}/"):
            if spec.startswith(f"{_V2}/clients/"):
                clients.append(PurePosixPath(spec).stem)
            problems.append(
                Problem(
                    path,
                    line,
                    spec,
                    "imports aws-sdk v2, which reached end of support and is not provided by "
                    f"{runtime}",
                    _v2_fix(clients),
                )
            )
        elif spec.startswith(("./", "../", "/")) or spec in (".", ".."):
            exists, inside = _resolves(path, spec, root)
            if not inside:
                problems.append(
                    Problem(
                        path,
                        line,
                        spec,
                        "imports a file outside the function's folder; the function zip holds "
                        "only that folder",
                        "move the shared code into the folder, or into a package of the Node "
                        f"layer ({_LAYER_MANIFEST})",
                    )
                )
            elif not exists:
                problems.append(
                    Problem(path, line, spec, "imports a file that does not exist", "fix the path")
                )
        elif _is_builtin(spec, builtins) or spec.startswith(NODE_RUNTIME_PROVIDED_SCOPES):
            continue
        elif _package_name(spec) not in packages:
            problems.append(
                Problem(
                    path,
                    line,
                    spec,
                    f"imports {_package_name(spec)}, which is not a Node.js built-in, not "
                    "@aws-sdk/* (provided by the runtime) and not in the Node layer; it would "
                    "fail with 'Cannot find module' on Lambda",
                    f"add it (exact version) to {_LAYER_MANIFEST} and run `npm install "
                    "--package-lock-only` there, or drop the import",
                )
            )
    for use in facts["memberUses"]:
        module = use["module"].removeprefix("node:")
        for api in REMOVED_APIS:
            if module == api.module and use["name"] in api.names and major >= api.removed_in:
                problems.append(
                    Problem(
                        path,
                        use["line"],
                        f"{module}.{use['name']}",
                        f"uses {module}.{use['name']}(), removed in Node.js {api.removed_in} "
                        f"(the target {runtime} runs Node.js {major}; {api.reference})",
                        api.fix,
                    )
                )
    if major >= CALLBACK_HANDLERS_REMOVED_IN:
        problems += _callback_problems(path, facts, root, runtime, handler)
    return problems


def _callback_problems(
    path: Path, facts: dict[str, Any], root: Path, runtime: str, handler: str | None
) -> list[Problem]:
    problems = []
    wanted_export = "handler"
    if handler is not None:
        stem, wanted_export = handler.rsplit(".", 1)
        relative = path.relative_to(root).as_posix()
        if relative.rsplit(".", 1)[0] != stem:
            wanted_export = ""  # not the handler's file
    for exported in facts["handlers"]:
        if exported["name"] == wanted_export and exported["params"] >= 3:
            problems.append(
                Problem(
                    path,
                    exported["line"],
                    exported["name"],
                    f"the handler takes a callback (event, context, callback); {runtime} no "
                    "longer supports callback-based handlers",
                    _ASYNC_FIX,
                )
            )
    for line in facts["callbackWaits"]:
        problems.append(
            Problem(
                path,
                line,
                "context.callbackWaitsForEmptyEventLoop",
                f"uses context.callbackWaitsForEmptyEventLoop, which {runtime} removed",
                _ASYNC_FIX,
            )
        )
    return problems


def _manifest_problems(
    path: Path, facts: dict[str, Any], runtime: str, function_tree: bool
) -> list[Problem]:
    problems = []
    major = node_major_of(runtime)
    for dep in facts["dependencies"]:
        name, line = dep["name"], dep["line"]
        if name == _V2:
            problems.append(
                Problem(
                    path,
                    line,
                    name,
                    f"lists aws-sdk (v2) in {dep['field']}; it reached end of support and "
                    f"{runtime} does not provide it",
                    "remove it and use the @aws-sdk/client-* v3 packages, which the runtime "
                    "provides (`nox -s migrate` rewrites the code)",
                )
            )
        elif function_tree and dep["field"] in ("dependencies", "optionalDependencies"):
            if name.startswith(NODE_RUNTIME_PROVIDED_SCOPES):
                fix = "remove it: the runtime provides @aws-sdk/* v3"
            else:
                fix = f"move it to {_LAYER_MANIFEST} (`nox -s migrate` does this)"
            problems.append(
                Problem(
                    path,
                    line,
                    name,
                    f"the function's own package.json lists {name} in {dep['field']}; a "
                    "function zip holds only the function's own files",
                    fix,
                )
            )
    engines = facts.get("engines")
    if engines and not engines["valid"]:
        problems.append(
            Problem(
                path,
                engines["line"],
                "engines.node",
                f"engines.node {engines['range']!r} is not a valid semver range",
                f'write a range such as ">={major}"',
            )
        )
    elif engines and engines["admits"] is False:
        problems.append(
            Problem(
                path,
                engines["line"],
                "engines.node",
                f"engines.node {engines['range']!r} excludes Node.js {major}, which {runtime} runs",
                f'widen it to include {major} (e.g. ">={major}") once the code passes this check',
            )
        )
    return problems


def check_node_layer(runtimes: Collection[str], folder: Path | None = None) -> list[Problem]:
    """The Node layer's lockfile, bundled SDKs and every package's engines, for ``runtimes``."""
    folder = Path(folder or layer_dir(NODEJS))
    try:
        lock = read_lockfile(folder)
    except NodeLayerError as error:
        return [Problem(folder / "package-lock.json", 0, "", str(error), "see the message")]
    problems = [
        Problem(lock.path, line, name, message, fix)
        for name, line, message, fix in runtime_provided_problems(lock)
    ]
    for runtime in sorted(runtimes):
        major = node_major_of(runtime)
        report = extract([folder / "package.json", lock.path], major)
        for facts in report["files"]:
            if facts.get("manifest"):
                problems += _manifest_problems(Path(facts["path"]), facts, runtime, False)
            lock_engines = facts.get("engines") if facts.get("lockfile") else None
            for engines in lock_engines or ():
                if engines["admits"] is False:
                    problems.append(
                        Problem(
                            lock.path,
                            engines["line"],
                            engines["name"],
                            f"{engines['name']} declares engines.node {engines['range']!r}, "
                            f"which excludes Node.js {major} ({runtime})",
                            f"pin a version of {engines['name']} that supports Node.js {major}",
                        )
                    )
    return sorted(set(problems), key=lambda p: (str(p.path), p.line, p.message))
