"""The AWS SDK calls a function's code makes, checked against its declared ``[needs]``.

:func:`python_sdk_calls` reads a Python function's files with ``ast`` and reports
every AWS API call it can resolve as an :class:`~etl_platform.artifacts.problems.SdkCall`
carrying the IAM action it needs (:mod:`etl_platform.artifacts.sdk_actions`, from
botocore's service models):

- clients: ``boto3.client("dynamodb")`` (or any ``<session>.client("...")``, or
  ``from boto3 import client``), the layer's ``etl_common.clients.get("s3")``, and a
  resource's ``.meta.client``; their methods (``put_item``) and paginators
  (``get_paginator("list_objects_v2")``);
- resources: ``boto3.resource("dynamodb")`` and what its model derives from it
  (``.Table(name)``, ``.Bucket(name).Object(key)``, ...) with their actions
  (``table.put_item`` -> ``PutItem``, from boto3's resource model), and a table's
  ``batch_writer()`` (``BatchWriteItem``);
- values are followed through assignments (``table = ...``, ``self.table = ...``),
  ``with ... as``, and functions that return them (``_table().query(...)``);
- calls through the layer's helpers (``etl_common.s3.read_json``,
  ``etl_common.batches...``, ``etl_common.db.Database``): the layer's own source is read
  the same way once, and a function that uses a helper is reported with the calls that
  helper (transitively) makes, as ``client="etl_common.s3"``, ``operation="read_json"``.

What the check cannot see, and so neither reports nor counts: a client handed in as a
parameter or kept in a container, a service name that is not a string literal
(``boto3.client(name)``), waiters, ``getattr`` and other dynamic dispatch, and calls
in code outside the function's folder and the layer. A need such code uses shows up
as "never used" (a warning, never an error).

:func:`needs_problems` compares the calls with what the entry's needs (and the
platform itself, for ``database = true``: the database secret) authorize: an error for
each call nothing authorizes, naming the need that would; a warning for each need the
code never uses. :data:`SDK_CALLS` holds one extractor per language (a language without
one is not checked); ``nox -s compat`` runs :func:`catalog_needs_problems`.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore import UNSIGNED
from botocore.config import Config

from etl_platform.artifacts.node_compat import node_sdk_calls
from etl_platform.artifacts.problems import Problem, SdkCall
from etl_platform.artifacts.sdk_actions import (
    iam_actions,
    is_service,
    method_operations,
    service_label,
)
from etl_platform.model.catalog import Catalog, FunctionSpec
from etl_platform.model.needs import NEEDS, need, needs_granting
from etl_platform.model.resources import with_article
from etl_platform.model.runtimes import NODEJS, PYTHON
from etl_platform.model.settings import REGION
from etl_platform.paths import LAYERS_DIR

__all__ = [
    "LAYER_PACKAGE",
    "SDK_CALLS",
    "authorized_actions",
    "catalog_needs_problems",
    "layer_helper_calls",
    "needs_problems",
    "python_sdk_calls",
]

#: The layer's package: calls through its helpers count as the function's own.
LAYER_PACKAGE = "etl_common"
_LAYER_SOURCE = LAYERS_DIR / "etl-common" / LAYER_PACKAGE
#: The layer's client factory: ``etl_common.clients.get("s3")`` is a boto3 S3 client.
_CLIENT_FACTORY = f"{LAYER_PACKAGE}.clients.get"
# boto3's own methods (not in the resource model) and the operation they send.
_BATCH_WRITER = "batch_writer"
_BATCH_WRITER_METHODS = frozenset({"put_item", "delete_item"})


# ---------------------------------------------------------------------- value kinds


@dataclass(frozen=True)
class _Client:
    service: str


@dataclass(frozen=True)
class _Resource:
    service: str
    path: tuple[tuple[str, int], ...] = ()  # sub-resources from the service resource


@dataclass(frozen=True)
class _BatchWriter:
    pass


@dataclass(frozen=True)
class _Module:
    name: str  # "boto3", "etl_common.s3"


@dataclass(frozen=True)
class _Helper:
    qualified: str  # "etl_common.s3.read_json"


@dataclass(frozen=True)
class _Meta:
    service: str  # a resource's ``.meta``: its ``.client`` is a client of the service


_Value = _Client | _Resource | _BatchWriter | _Module | _Helper | _Meta


@functools.cache
def _resource_object(resource: _Resource) -> Any:
    """A boto3 resource built offline to read its model from: no call is made, and an
    unsigned client looks for no credentials (no instance-metadata probe)."""
    obj = boto3.session.Session(region_name=REGION).resource(
        resource.service, config=Config(signature_version=UNSIGNED)
    )
    for name, identifiers in resource.path:
        obj = getattr(obj, name)(*["x"] * identifiers)
    return obj


def _subresource(resource: _Resource, name: str) -> _Resource | None:
    model = _resource_object(resource).meta.resource_model
    for sub in model.subresources:
        if sub.name == name:
            inputs = sum(1 for i in sub.resource.identifiers if i.source == "input")
            return _Resource(resource.service, (*resource.path, (name, inputs)))
    return None


def _resource_operation(resource: _Resource, method: str) -> str | None:
    model = _resource_object(resource).meta.resource_model
    return next((a.request.operation for a in model.actions if a.name == method), None)


def _is_table(resource: _Resource) -> bool:
    return resource.service == "dynamodb" and [n for n, _ in resource.path] == ["Table"]


# ------------------------------------------------------------------------- one file


def _text(node: ast.expr) -> str | None:
    """``self.table`` for a Name/Attribute chain, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _text(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


def _literal(call: ast.Call) -> str | None:
    first = call.args[0] if call.args else None
    if first is None:
        first = next((k.value for k in call.keywords if k.arg == "service_name"), None)
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


@dataclass
class _File:
    """One module: what its names are bound to, and the calls found in it."""

    path: Path
    package: str  # the module's own package, for relative imports ("etl_common")
    env: dict[str, _Value]
    calls: list[tuple[int, str, str, str]]  # (line, client, operation, service)
    helpers: list[tuple[int, str]]  # (line, "etl_common.s3.read_json")

    # ---- evaluation

    def value(self, node: ast.expr) -> _Value | None:
        if isinstance(node, ast.Name | ast.Attribute):
            text = _text(node)
            if text is not None and text in self.env:
                return self.env[text]
        if isinstance(node, ast.Attribute):
            base = self.value(node.value)
            if isinstance(base, _Module):
                return self._module_member(base.name, node.attr)
            if isinstance(base, _Resource) and node.attr == "meta":
                return _Meta(base.service)
            if isinstance(base, _Meta) and node.attr == "client":
                return _Client(base.service)
            return None
        if isinstance(node, ast.Call):
            return self._call_value(node)
        return None

    def _module_member(self, module: str, attr: str) -> _Value:
        qualified = f"{module}.{attr}"
        if module == LAYER_PACKAGE or module.startswith(f"{LAYER_PACKAGE}."):
            # etl_common.s3 is a module; etl_common.s3.read_json a helper
            return _Module(qualified) if module == LAYER_PACKAGE else _Helper(qualified)
        return _Module(qualified)

    def _call_value(self, call: ast.Call) -> _Value | None:
        func = call.func
        callee = self.value(func)
        if isinstance(callee, _Helper) and callee.qualified == _CLIENT_FACTORY:
            service = _literal(call)
            return _Client(service) if service and is_service(service) else None
        if isinstance(func, ast.Attribute):
            base = self.value(func.value)
            if func.attr in ("client", "resource") and (base is None or isinstance(base, _Module)):
                service = _literal(call)
                if service and is_service(service):
                    if func.attr == "client":
                        return _Client(service)
                    if service in _resource_services():
                        return _Resource(service)
            if isinstance(base, _Resource):
                if func.attr == _BATCH_WRITER and _is_table(base):
                    return _BatchWriter()
                return _subresource(base, func.attr)
        if isinstance(callee, _Module) and callee.name in ("boto3.client", "boto3.resource"):
            service = _literal(call)
            if service and is_service(service):
                if callee.name == "boto3.client":
                    return _Client(service)
                if service in _resource_services():
                    return _Resource(service)
        text = _text(func)
        if text is not None and f"{text}()" in self.env:
            return self.env[f"{text}()"]
        return None

    # ---- binding

    def bind_imports(self, tree: ast.Module) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.env[alias.asname] = _Module(alias.name)
                    else:
                        top = alias.name.split(".")[0]
                        self.env[top] = _Module(top)
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level:
                    module = ".".join(p for p in (self.package, module) if p)
                for alias in node.names:
                    self.env[alias.asname or alias.name] = self._module_member(module, alias.name)

    def bind_values(self, tree: ast.Module) -> None:
        """Assignments, ``with`` targets and returned values, until nothing changes."""
        for _ in range(5):
            before = dict(self.env)
            for node in ast.walk(tree):
                pairs: list[tuple[ast.expr, ast.expr]] = []
                if isinstance(node, ast.Assign):
                    pairs = [(t, node.value) for t in node.targets]
                elif isinstance(node, ast.AnnAssign) and node.value is not None:
                    pairs = [(node.target, node.value)]
                elif isinstance(node, ast.With | ast.AsyncWith):
                    pairs = [
                        (i.optional_vars, i.context_expr) for i in node.items if i.optional_vars
                    ]
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    for inner in ast.walk(node):
                        if isinstance(inner, ast.Return) and inner.value is not None:
                            found = self.value(inner.value)
                            if isinstance(found, _Client | _Resource | _BatchWriter):
                                self.env[f"{node.name}()"] = found
                for target, source in pairs:
                    text = _text(target)
                    found = self.value(source)
                    if text is not None and isinstance(found, _Client | _Resource | _BatchWriter):
                        self.env[text] = found
            if self.env == before:
                return

    # ---- calls

    def find_calls(self, tree: ast.Module) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                self._operation(node, node.func)
            if isinstance(node, ast.Name | ast.Attribute) and isinstance(node.ctx, ast.Load):
                found = self.value(node)
                if isinstance(found, _Helper) and found.qualified != _CLIENT_FACTORY:
                    self.helpers.append((node.lineno, found.qualified))

    def _operation(self, call: ast.Call, func: ast.Attribute) -> None:
        base = self.value(func.value)
        method = func.attr
        if isinstance(base, _Client):
            operations = method_operations(base.service)
            if method == "get_paginator":
                method = _literal(call) or ""
            if method in operations:
                self.calls.append((call.lineno, base.service, operations[method], base.service))
        elif isinstance(base, _Resource):
            operation = _resource_operation(base, method)
            if operation:
                self.calls.append((call.lineno, _resource_label(base), operation, base.service))
        elif isinstance(base, _BatchWriter) and method in _BATCH_WRITER_METHODS:
            self.calls.append((call.lineno, "Table.batch_writer", "BatchWriteItem", "dynamodb"))


def _resource_label(resource: _Resource) -> str:
    return ".".join([resource.service, *(name for name, _ in resource.path)])


@functools.cache
def _resource_services() -> frozenset[str]:
    return frozenset(boto3.session.Session().get_available_resources())


def _analyse(path: Path, package: str) -> tuple[_File, ast.Module] | None:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError):
        return None  # the compat check reports files that do not parse
    found = _File(path, package, {}, [], [])
    found.bind_imports(tree)
    found.bind_values(tree)
    found.find_calls(tree)
    return found, tree


def _sdk_calls(found: _File) -> list[SdkCall]:
    return [
        SdkCall(action, client, operation, found.path, line)
        for line, client, operation, service in found.calls
        for action in iam_actions(service, operation)
    ]


# --------------------------------------------------------------------- the layer


@functools.cache
def layer_helper_calls(layer_source: Path = _LAYER_SOURCE) -> dict[str, tuple[str, ...]]:
    """``{"etl_common.s3.read_json": ("s3:GetObject",), ...}``: what each helper calls.

    Every top-level function and class of the layer's package (a class: all its
    methods), with the actions its body sends and, transitively, those of the layer
    helpers it uses.
    """
    direct: dict[str, set[str]] = {}
    uses: dict[str, set[str]] = {}
    for path in sorted(layer_source.rglob("*.py")):
        parts = path.relative_to(layer_source.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = module if parts[-1] == "__init__" else module.rsplit(".", 1)[0]
        analysed = _analyse(path, package)
        if analysed is None:
            continue
        found, tree = analysed
        for definition in tree.body:
            if not isinstance(definition, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            name = f"{module}.{definition.name}"
            first, last = definition.lineno, definition.end_lineno or definition.lineno
            direct[name] = {
                action
                for line, _, operation, service in found.calls
                if first <= line <= last
                for action in iam_actions(service, operation)
            }
            local = {f"{module}.{n.id}" for n in ast.walk(definition) if isinstance(n, ast.Name)}
            uses[name] = {h for line, h in found.helpers if first <= line <= last} | local
    closed = {name: set(actions) for name, actions in direct.items()}
    changed = True
    while changed:
        changed = False
        for name, used in uses.items():
            for other in used - {name}:
                extra = closed.get(other, set()) - closed[name]
                if extra:
                    closed[name] |= extra
                    changed = True
    return {name: tuple(sorted(actions)) for name, actions in closed.items() if actions}


# ------------------------------------------------------------------- a function


def python_sdk_calls(folder: Path, handler: str | None = None) -> list[SdkCall]:
    """Every AWS SDK call the ``.py`` files under ``folder`` make (see the module docstring;
    ``handler`` is accepted for the SDK_CALLS shape: every file is read)."""
    calls: list[SdkCall] = []
    helpers = layer_helper_calls()
    for path in sorted(folder.rglob("*.py")):
        analysed = _analyse(path, "")
        if analysed is None:
            continue
        found, _ = analysed
        calls += _sdk_calls(found)
        for line, qualified in found.helpers:
            module, _, name = qualified.rpartition(".")
            for action in helpers.get(qualified, ()):
                calls.append(SdkCall(action, module, name, path, line))
    return sorted(set(calls), key=lambda c: (str(c.path), c.line, c.action, c.operation))


#: One extractor per language: ``(function folder, handler) -> calls`` (the Python one
#: reads every file of the folder; the Node.js one keeps, in the handler's file, what the
#: configured export reaches). A language without a row is not checked.
SDK_CALLS: dict[str, Callable[[Path, str | None], list[SdkCall]]] = {
    PYTHON: python_sdk_calls,
    NODEJS: node_sdk_calls,
}


# ------------------------------------------------------------------ the comparison


def authorized_actions(spec: FunctionSpec) -> frozenset[str]:
    """Every action the entry's role grants that code can call: its needs' actions (its
    trigger's too), and the database secret's read for ``database = true``."""
    actions = {a for key in spec.needs for a in need(key).actions}
    actions |= {a for n, _, _ in spec.resource_needs for a in n.actions}  # trigger-implied too
    if spec.database:
        actions |= set(need("secrets_read").actions)
    return frozenset(actions)


def _suggestion(action: str) -> str:
    granting = needs_granting(action)
    if not granting:
        return (
            f"no need grants {action}: the platform does not offer it yet (ask for a row in "
            "etl_platform.model.needs), or change the code"
        )
    options = " or ".join(
        f"{n.key} = [...] ({'data-bucket prefixes' if n.on_data_bucket else 'etl:resources names'})"
        for n in granting
    )
    return f"add {options} to [needs]"


def _call_text(call: SdkCall) -> str:
    service, operation = call.action.split(":", 1)
    if call.client.startswith(LAYER_PACKAGE):
        return f"calls {call.client}.{call.operation}, which sends {operation}"
    label = service_label(service) if is_service(service) else service
    return f"constructs {with_article(label)} client and sends {call.operation}"


def needs_problems(spec: FunctionSpec, calls: Iterable[SdkCall]) -> list[Problem]:
    """Errors for calls no declared need authorizes; warnings for needs no call uses."""
    calls = list(calls)
    authorized = authorized_actions(spec)
    problems = [
        Problem(
            call.path,
            call.line,
            call.client,
            f"{spec.name}: {_call_text(call)}; no need grants {call.action}",
            f"{_suggestion(call.action)} in {spec.source.name}",
        )
        for call in calls
        if call.action not in authorized
    ]
    called = {call.action for call in calls}
    for n in NEEDS:
        if spec.need(n.key) and not called & set(n.used_by):
            problems.append(
                Problem(
                    spec.source,
                    0,
                    "",
                    f"{spec.name}: needs.{n.key} grants {', '.join(n.actions)}, but the code "
                    f"never calls {' or '.join(n.used_by)}",
                    f"remove needs.{n.key}, unless the call is one this check cannot see (a "
                    "client passed in, a dynamic service name; see "
                    "etl_platform.artifacts.sdk_calls)",
                    severity="warning",
                )
            )
    return problems


def catalog_needs_problems(catalog: Catalog) -> list[Problem]:
    """:func:`needs_problems` for every function whose language has an extractor."""
    problems: list[Problem] = []
    for spec in catalog:
        extract = SDK_CALLS.get(spec.language)
        if extract is not None:
            problems += needs_problems(spec, extract(spec.code_dir, spec.handler))
    return problems
