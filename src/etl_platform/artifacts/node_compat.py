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
  the runtime provides (from the clients the code constructs); every package a fix
  names is in :data:`SDK_PACKAGES` (the vendored ``data/aws_sdk_v3.json``).
- **nodejs24.x handler breaks**, for the configured handler's export (``handler=``) or,
  without it, every exported function (each finding names its export): callback
  handlers (``(event, context, callback)``), ``context.done/succeed/fail`` (not in the
  nodejs24.x context) and ``context.callbackWaitsForEmptyEventLoop``; a handler that is
  not async, returns nothing and starts asynchronous work (timers, ``.then``/``.on``/
  ``.pipe``, a call given a callback), which the invocation's end leaves undone.
- **v2 names that are not clients** (``AWS.config``, ``AWS.TemporaryCredentials``,
  ``AWS.DynamoDB.Converter`` ...) with their real v3 home, or "no v3 mapping is known".
- **What a v2 -> v3 rewrite leaves** in v3 code: aws-sdk-js-codemod's notes and
  placeholder strings, ``Expires`` beside the presigner, and reads of output fields
  whose v3 type changed (``Uint8Array`` blobs, the ``Body`` stream, ``Date`` fields).
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
:func:`node_sdk_calls` lists the AWS SDK calls of a tree as IAM actions
(:class:`etl_platform.artifacts.problems.SdkCall`).
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
from etl_platform.artifacts.problems import Problem, SdkCall
from etl_platform.artifacts.sdk_actions import iam_actions_of
from etl_platform.model.runtimes import (
    DEFAULT_NODE_RUNTIME,
    NODE_RUNTIME_PROVIDED_SCOPES,
    NODE_SDK_V2,
    NODE_SOURCE_SUFFIXES,
    NODEJS,
    node_major_of,
)
from etl_platform.paths import REPO_ROOT

__all__ = [
    "CALLBACK_HANDLERS_REMOVED_IN",
    "CONTEXT_METHODS_REMOVED",
    "REMOVED_APIS",
    "SDK_DATA_FILE",
    "SDK_PACKAGES",
    "SDK_VERSION",
    "RemovedApi",
    "check_node_layer",
    "check_node_tree",
    "extract",
    "node_sdk_calls",
    "v2_name_fix",
    "v3_package",
]

#: nodejs24.x dropped callback-style handlers and callbackWaitsForEmptyEventLoop.
CALLBACK_HANDLERS_REMOVED_IN = 24
_ASYNC_FIX = (
    "make the handler `async (event, context)` and return (or throw) instead of calling "
    "callback; drop context.callbackWaitsForEmptyEventLoop (an async handler's work ends "
    "when its promise settles)"
)
_CONTEXT_FIX = {
    "done": "make the handler `async (event, context)`: `return result` where it called "
    "context.done(null, result), `throw error` where it called context.done(error)",
    "succeed": "make the handler `async (event, context)` and `return result` instead of "
    "context.succeed(result)",
    "fail": "make the handler `async (event, context)` and `throw error` instead of "
    "context.fail(error)",
}
#: The context methods nodejs24.x's runtime client no longer gives a handler.
CONTEXT_METHODS_REMOVED = frozenset(_CONTEXT_FIX)
_PRESIGNER = "@aws-sdk/s3-request-presigner"
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

#: Vendored facts about AWS SDK for JavaScript v3 (see its ``_about``): the package names
#: that exist, the v2 class -> v3 package -> IAM prefix table, the v2 names that are not
#: service clients, the DocumentClient operations, output fields whose type changed.
SDK_DATA_FILE = Path(__file__).resolve().parent / "data" / "aws_sdk_v3.json"
_SDK: dict[str, Any] = json.loads(SDK_DATA_FILE.read_text(encoding="utf-8"))
#: The pinned v3 SDK version the package list is taken at (tools/node/package.json).
SDK_VERSION: str = _SDK["sdkVersion"]
#: Every ``@aws-sdk/*`` package name a fix may name.
SDK_PACKAGES: frozenset[str] = frozenset(_SDK["packages"])
_SERVICES: dict[str, dict[str, str]] = _SDK["services"]
_NON_CLIENTS: dict[str, dict[str, str | None]] = _SDK["nonClients"]
_PREFIX_OF_PACKAGE = {s["package"]: s["iam"] for s in _SERVICES.values()}
_OUTPUT_FIELDS: dict[str, dict[str, Any]] = _SDK["outputFields"]
_DOCUMENT_METHODS: dict[str, str] = _SDK["documentClient"]
_DOCUMENT_COMMANDS: dict[str, str] = _SDK["documentCommands"]
_HELPER_ACTIONS: dict[str, str] = _SDK["helperActions"]
_LIB_DYNAMODB = _SERVICES["DynamoDB.DocumentClient"]["package"]
_CODEMOD_MARKERS: tuple[str, ...] = tuple(_SDK["codemodMarkers"])


def v3_package(client: str) -> str | None:
    """v2 client class -> its v3 package (``S3`` -> ``@aws-sdk/client-s3``); None when the
    name is not a service client (see :func:`v2_name_fix`) or no such package exists."""
    if client in _SERVICES:
        return _SERVICES[client]["package"]
    if _non_client(client) is not None:
        return None
    guess = f"@aws-sdk/client-{client.split('.')[0].lower()}"
    return guess if guess in SDK_PACKAGES else None


def _non_client(name: str) -> str | None:
    """The longest key of the non-client table ``name`` starts with (``DynamoDB.Converter``)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        key = ".".join(parts[:end])
        if key in _NON_CLIENTS:
            return key
    return None


def v2_name_fix(name: str) -> str:
    """Where the v2 name ``AWS.<name>`` lives in v3, or that no mapping is known."""
    if name in _SERVICES or v3_package(name):
        return f"use {v3_package(name)}"
    key = _non_client(name)
    if key is None:
        return (
            f"no v3 mapping is known for AWS.{name}: read the v3 upgrading guide "
            "(https://github.com/aws/aws-sdk-js-v3/blob/main/UPGRADING.md) and rewrite it"
        )
    target = _NON_CLIENTS[key]
    if target["package"] is None:
        return str(target["api"])
    return f"use {target['api']} from {target['package']}"


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


def node_sdk_calls(folder: Path, handler: str | None = None) -> list[SdkCall]:
    """Every AWS SDK call the Node.js code under ``folder`` makes, as IAM actions.

    Found: v3 commands (``client.send(new PutItemCommand(...))``, also as presigned with
    ``getSignedUrl``), v3 aggregated clients (``new S3().getObject(...)``,
    ``DynamoDBDocument.from(...).put(...)``), v2 clients (``new AWS.SQS().sendMessage``,
    ``new AWS.DynamoDB.DocumentClient().put``, ``s3.getSignedUrl('putObject', ...)``).
    ``export`` is the exported function of the file that reaches the call through calls
    between the file's top-level functions ("" for module-level code and for calls no
    export is seen to reach). With ``handler`` (``index.handler``), calls in the handler's
    file that only other exports reach are left out; calls in other files are all kept
    (they may be required by the handler). Clients passed around as arguments or stored
    on objects, and dynamic operation names, are not seen.
    """
    root = Path(folder)
    code, _ = _tree_files(root)
    report = extract(code, node_major_of(DEFAULT_NODE_RUNTIME))
    stem, export = handler.rsplit(".", 1) if handler else ("", "")
    calls = []
    for facts in report["files"]:
        if facts.get("syntaxError"):
            continue
        path = Path(facts["path"])
        in_handler_file = path.relative_to(root).as_posix().rsplit(".", 1)[0] == stem
        for call in facts["sdkCalls"]:
            actions = _iam_actions(call)
            reached = call["exports"] or [""]
            if handler and in_handler_file:
                if call["exports"] and export not in call["exports"]:
                    continue
                reached = [export] if call["exports"] else [""]
            client = call["client"] or _default_client(call["module"])
            calls += [
                SdkCall(action, client, call["operation"], path, call["line"], name)
                for action in actions
                for name in reached
            ]
    return sorted(set(calls), key=lambda c: (str(c.path), c.line, c.action, c.export))


def _default_client(module: str) -> str:
    return module.removeprefix("@aws-sdk/")


def _iam_actions(call: dict[str, Any]) -> tuple[str, ...]:
    """The IAM actions of one extracted call; none when the service is not known."""
    operation = str(call["operation"])
    if call["sdk"] == "v2":
        service = _SERVICES.get(call["client"])
        if service is None:
            return ()
        prefix, document = service["iam"], service["package"] == _LIB_DYNAMODB
    else:
        prefix_or_none = _PREFIX_OF_PACKAGE.get(call["module"])
        if prefix_or_none is None:
            return ()
        prefix, document = prefix_or_none, call["module"] == _LIB_DYNAMODB
    if call["sdk"] == "v3" and operation.endswith("Command") and operation[:1].isupper():
        name = _DOCUMENT_COMMANDS.get(operation) if document else None
        name = name or operation.removesuffix("Command")
    elif document:
        name = _DOCUMENT_METHODS.get(operation) or operation[:1].upper() + operation[1:]
    else:
        name = operation[:1].upper() + operation[1:]
    action = f"{prefix}:{name}"
    return (_HELPER_ACTIONS[action],) if action in _HELPER_ACTIONS else iam_actions_of(action)


def _v2_fix(clients: Iterable[str]) -> str:
    wanted = sorted({p for p in (v3_package(c) for c in clients if c) if p})
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
    problems += _v2_name_problems(path, facts)
    if major >= CALLBACK_HANDLERS_REMOVED_IN:
        problems += _handler_problems(path, facts, root, runtime, handler)
    if any(e["specifier"].startswith(NODE_RUNTIME_PROVIDED_SCOPES) for e in facts["imports"]):
        problems += _v3_problems(path, facts)
    return problems


def _in_export(fact: dict[str, Any]) -> str:
    """`` (in export 'create')`` for a fact written inside exported code, else ""."""
    exports = fact.get("exports") or []
    if not exports:
        return ""
    return f" (in export{'s' if len(exports) > 1 else ''} {', '.join(map(repr, exports))})"


def _v2_name_problems(path: Path, facts: dict[str, Any]) -> list[Problem]:
    """``new AWS.TemporaryCredentials()``, ``AWS.config.update()``: names that are not clients."""
    problems = []
    named = [(c["client"], c["line"], _in_export(c)) for c in facts["awsClients"]]
    named += [(m["name"], m["line"], _in_export(m)) for m in facts["v2Members"]]
    for name, line, where in named:
        if not name or (_non_client(name) is None and v3_package(name) is not None):
            continue  # a service client: the import's problem names its package
        known = _non_client(name)
        key = known or name.split(".")[0]
        why = "is not a service client" if known else "has no v3 package of that name"
        problems.append(
            Problem(
                path,
                line,
                f"AWS.{key}",
                f"uses AWS.{key} (aws-sdk v2){where}, which {why}",
                v2_name_fix(name),
            )
        )
    return problems


def _checked_exports(
    path: Path, facts: dict[str, Any], root: Path, handler: str | None
) -> list[dict[str, Any]]:
    """The exported functions Lambda could run: the configured handler's export (in its
    file), else every named export of every file."""
    exported = [h for h in facts["handlers"] if h["name"] != "*"]
    if handler is None:
        return exported
    stem, export = handler.rsplit(".", 1)
    if path.relative_to(root).as_posix().rsplit(".", 1)[0] != stem:
        return []
    return [h for h in exported if h["name"] == export]


def _handler_problems(
    path: Path, facts: dict[str, Any], root: Path, runtime: str, handler: str | None
) -> list[Problem]:
    problems = []
    for exported in _checked_exports(path, facts, root, handler):
        name = exported["name"]
        if exported["params"] >= 3:
            problems.append(
                Problem(
                    path,
                    exported["line"],
                    name,
                    f"export {name!r} takes a callback (event, context, callback); {runtime} no "
                    "longer supports callback-based handlers (callback is undefined)",
                    _ASYNC_FIX,
                )
            )
        context = exported["contextName"] or "context"
        for call in exported["contextCalls"]:
            method = call["method"]
            if method not in CONTEXT_METHODS_REMOVED:
                continue
            problems.append(
                Problem(
                    path,
                    call["line"],
                    f"{context}.{method}",
                    f"export {name!r} calls {context}.{method}(), which the {runtime} context "
                    f"does not have (TypeError: {context}.{method} is not a function)",
                    _CONTEXT_FIX[method],
                )
            )
        work = exported["asyncWork"]
        if (
            work
            and exported["params"] < 3
            and not exported["async"]
            and not exported["returnsValue"]
        ):
            started = ", ".join(f"{w['kind']} at line {w['line']}" for w in work[:3])
            problems.append(
                Problem(
                    path,
                    exported["line"],
                    name,
                    f"export {name!r} is not async, returns nothing and starts asynchronous work "
                    f"({started}); on {runtime} the invocation ends when the handler returns, "
                    "so that work is frozen or never runs",
                    "make it `async (event, context)` and await the work (`await` the SDK v3 "
                    "call, `await new Promise(...)` around a timer or stream, "
                    "util.promisify() for a callback API); return the result",
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


def _v3_problems(path: Path, facts: dict[str, Any]) -> list[Problem]:
    """What a v2 -> v3 rewrite (the codemod's or a person's) leaves that changes meaning."""
    problems = []
    for comment in facts["comments"]:
        if any(marker in comment["text"] for marker in _CODEMOD_MARKERS):
            problems.append(
                Problem(
                    path,
                    comment["line"],
                    "aws-sdk-js-codemod",
                    f"the v2 -> v3 codemod left a note: {comment['text'][:160]!r}",
                    "do what it says by hand (AWS SDK v3 UPGRADING.md), then delete the comment",
                )
            )
    for literal in facts["stringsLikeComments"]:
        problems.append(
            Problem(
                path,
                literal["line"],
                "aws-sdk-js-codemod",
                f"a placeholder string the codemod left is passed as a value{_in_export(literal)}: "
                f"{literal['text']!r}",
                "put the real value there (getSignedUrl's { expiresIn } is a number of "
                "seconds, e.g. 900) or delete the key",
            )
        )
    if any(e["specifier"] == _PRESIGNER for e in facts["imports"]):
        for key in facts["expiresKeys"]:
            problems.append(
                Problem(
                    path,
                    key["line"],
                    "Expires",
                    f"an `Expires` key{_in_export(key)} next to @aws-sdk/s3-request-presigner: "
                    "in v3 a presigned "
                    "URL's lifetime is getSignedUrl(client, command, { expiresIn }), and a "
                    "command's Expires is the object's HTTP Expires header (a Date)",
                    "move the number of seconds to { expiresIn: <seconds> } and delete Expires "
                    "from the command input",
                )
            )
    for call in facts["fieldCalls"]:
        field = _OUTPUT_FIELDS.get(call["field"])
        if field is None or call["method"] not in field["breaks"]:
            continue
        method = call["method"]
        use = f"{method}({call['field']})" if "." in method else f"{call['field']}.{method}()"
        problems.append(
            Problem(
                path,
                call["line"],
                call["field"],
                f"{use}{_in_export(call)}: in AWS SDK v3 {call['field']} is {field['v3']}, so "
                "this no longer gives what it gave in v2",
                field["fix"],
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
