"""The function catalog: one ``lambdas/<name>/function.toml`` per function.

Adding a function means adding a folder with its handler and this file; none of the
three Pulumi programs changes. Every key is validated at load time; a mistake fails
with the file, the key and what is allowed. Profiles (timeout, memory, reserved
concurrency) are mapped to numbers here and only here.

Example entry::

    name = "transform"              # kebab-case, unique in the catalog
    handler = "handler.handler"     # <module>.<function>, module file in the folder
    description = "..."
    kind = "batch"                  # api (30 s) | batch (300 s)
    size = "large"                  # small (512 MB) | large (1024 MB)
    critical = true                 # reserved concurrency 5
    database = false                # true: MAX_CONNECTIONS=10, DB secret, VPC settings
    snap_start = false              # api only: Lambda SnapStart on published versions

    [trigger]                       # type = url | s3 (+ prefix) | schedule (+ expression) | none
    type = "s3"
    prefix = "raw/"

    [needs]                         # exactly what it may touch in the data bucket
    s3_read = ["raw/"]
    s3_write = ["staged/", "rejected/", "manifests/"]
    s3_create = []                  # written only with If-None-Match: '*' (create-only)
    s3_missing_ok = []              # read prefixes where "no such key" is an answer (404)
    s3_list = []                    # prefixes whose key names it lists

    [environment]                   # optional extra environment variables
    SUPPORTED_CURRENCIES = "USD,EUR"

A Node.js function adds a top-level ``runtime = "nodejs24.x"`` (or another supported
``nodejs*.x``) and names its handler ``<file>.<export>`` as AWS does:
``handler = "index.handler"`` for ``index.mjs``, ``index.js`` or ``index.cjs``. Without
``runtime`` a function runs on the stack's ``etl:runtime`` (a Python runtime). Its
third-party packages go in the Node layer (``layers/etl-node/package.json``), never in
the function's folder.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from etl_platform.errors import CatalogError
from etl_platform.model.runtimes import (
    DEFAULT_NODE_RUNTIME,
    NODE_SOURCE_SUFFIXES,
    NODEJS,
    PYTHON,
    check_runtime,
    language_of,
    supported_runtimes,
)
from etl_platform.paths import LAMBDAS_DIR

__all__ = [
    "CATALOG_DIR_ENV",
    "CRITICAL_RESERVED_CONCURRENCY",
    "MAX_CONNECTIONS",
    "MEMORY_MB",
    "NODE_HANDLER_EXTENSIONS",
    "RESERVED_ENV_VARS",
    "SLO_ENV_VARS",
    "TIMEOUT_SECONDS",
    "TRIGGER_TYPES",
    "Catalog",
    "FunctionSpec",
    "Trigger",
    "TriggerType",
    "load_catalog",
]

# The profiles: the only place these numbers live.
TIMEOUT_SECONDS = {"api": 30, "batch": 300}
MEMORY_MB = {"small": 512, "large": 1024}
CRITICAL_RESERVED_CONCURRENCY = 5
MAX_CONNECTIONS = 10

CATALOG_DIR_ENV = "ETL_CATALOG_DIR"
ENTRY_FILE = "function.toml"
# What the platform tells every function for SLOs and tracing (the values:
# etl_platform.model.slo.slo_environment).
SLO_ENV_VARS = ("ETL_TRACING", "METRICS_NAMESPACE", "STAGE_SLA_MINUTES", "SCHEDULE_RATE_SECONDS")
# Set by the platform (or by AWS); a catalog entry may not set them itself.
RESERVED_ENV_VARS = frozenset(
    {"DATA_BUCKET", "LOG_LEVEL", "MAX_CONNECTIONS", "DB_SECRET_ARN", "ETL_ENVIRONMENT"}
    | set(SLO_ENV_VARS)
)

_TOP_KEYS = {
    "name",
    "handler",
    "runtime",
    "description",
    "kind",
    "size",
    "critical",
    "database",
    "trigger",
    "needs",
    "environment",
    "snap_start",
}
_REQUIRED_KEYS = ("name", "handler", "description", "kind", "size")
_NEEDS_KEYS = ("s3_read", "s3_write", "s3_create", "s3_missing_ok", "s3_list")
_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_HANDLER = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
# AWS's Node.js handler: <file path without extension>.<exported name>.
_NODE_HANDLER = re.compile(r"^(?P<file>[\w$-]+(/[\w$.-]+)*)\.(?P<export>[A-Za-z_$][\w$]*)$")
#: The files a Node.js handler's ``<file>`` may be (from :mod:`etl_platform.model.runtimes`).
NODE_HANDLER_EXTENSIONS = NODE_SOURCE_SUFFIXES
_PREFIX = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*/$")
_ENV_KEY = re.compile(r"^[A-Z][A-Z0-9_]*$")
_SCHEDULE = re.compile(r"^(rate|cron)\(.+\)$")
MAX_NAME_LENGTH = 32


@dataclass(frozen=True)
class Trigger:
    type: str  # a key of TRIGGER_TYPES
    prefix: str | None = None
    expression: str | None = None

    @property
    def asynchronous(self) -> bool:
        """Lambda invokes the function asynchronously: retries, the DLQ and event age apply."""
        return TRIGGER_TYPES[self.type].asynchronous


def _check_prefix(path: Path, raw: dict[str, Any]) -> None:
    if not (isinstance(raw["prefix"], str) and _PREFIX.match(raw["prefix"])):
        raise CatalogError(
            path, "trigger.prefix", f"{raw['prefix']!r} must be a key prefix like 'raw/'"
        )


def _check_schedule(path: Path, raw: dict[str, Any]) -> None:
    if not (isinstance(raw["expression"], str) and _SCHEDULE.match(raw["expression"])):
        raise CatalogError(
            path, "trigger.expression", f"{raw['expression']!r} must be rate(...) or cron(...)"
        )


@dataclass(frozen=True)
class TriggerType:
    """One ``[trigger] type``: its keys, how they are checked, what it may start.

    ``kinds``: the catalog kinds it may trigger (a URL serves an API; S3 events start
    batch work), with the reason given when another is set. ``asynchronous``: Lambda
    invokes the function asynchronously (the DLQ, retries and the event-age alarm
    apply). The infrastructure of each type is its row of
    ``etl_platform.infra.components.functions.TRIGGER_BUILDERS``.
    """

    keys: frozenset[str]  # besides "type"
    asynchronous: bool
    kinds: tuple[str, ...] = ("api", "batch")
    kind_reason: str = ""
    check: Callable[[Path, dict[str, Any]], None] | None = None


#: Every trigger type, one row each (a new one is a row here and a builder in infra).
TRIGGER_TYPES: dict[str, TriggerType] = {
    "url": TriggerType(
        frozenset(),
        asynchronous=False,
        kinds=("api",),
        kind_reason='a function URL serves an API: set kind = "api"',
    ),
    "s3": TriggerType(
        frozenset({"prefix"}),
        asynchronous=True,
        kinds=("batch",),
        kind_reason='S3 events start batch work: set kind = "batch"',
        check=_check_prefix,
    ),
    "schedule": TriggerType(frozenset({"expression"}), asynchronous=True, check=_check_schedule),
    "none": TriggerType(frozenset(), asynchronous=True),
}


@dataclass(frozen=True)
class FunctionSpec:
    """One catalog entry, validated, with its profile already turned into numbers."""

    name: str
    handler: str
    description: str
    kind: str
    size: str
    critical: bool
    database: bool
    trigger: Trigger
    s3_read: tuple[str, ...]
    s3_write: tuple[str, ...]
    environment: dict[str, str] = field(default_factory=dict)
    source: Path = field(default=Path(), compare=False)
    #: The entry's own ``runtime``; None means the stack's ``etl:runtime`` (Python).
    runtime: str | None = None
    #: Prefixes it only creates: every write carries ``If-None-Match: *`` (never overwrites).
    s3_create: tuple[str, ...] = ()
    #: Read prefixes where a missing key is an answer the code must see as 404 (NoSuchKey),
    #: not 403: these functions get ``s3:ListBucket``.
    s3_missing_ok: tuple[str, ...] = ()
    #: Prefixes whose key names it lists (``s3:ListBucket`` too; key names only).
    s3_list: tuple[str, ...] = ()
    #: Lambda SnapStart on published versions (url functions); the URL serves an alias.
    snap_start: bool = False

    @property
    def lists_bucket(self) -> bool:
        """Whether it gets ``s3:ListBucket``: it lists keys or must see a 404."""
        return bool(self.s3_missing_ok or self.s3_list)

    @property
    def code_dir(self) -> Path:
        return self.source.parent

    @property
    def language(self) -> str:
        """``python`` (the stack's runtime) or ``nodejs``."""
        return language_of(self.runtime) if self.runtime else PYTHON

    @property
    def is_node(self) -> bool:
        return self.language == NODEJS

    def runtime_on(self, stack_runtime: str) -> str:
        """The Lambda runtime this function runs on, given the stack's ``etl:runtime``."""
        return self.runtime or stack_runtime

    @property
    def timeout(self) -> int:
        return TIMEOUT_SECONDS[self.kind]

    @property
    def memory_size(self) -> int:
        return MEMORY_MB[self.size]

    @property
    def reserved_concurrency(self) -> int | None:
        """5 for critical functions, None (unreserved) otherwise."""
        return CRITICAL_RESERVED_CONCURRENCY if self.critical else None

    @property
    def max_connections(self) -> int | None:
        return MAX_CONNECTIONS if self.database else None


@dataclass(frozen=True)
class Catalog:
    functions: tuple[FunctionSpec, ...]

    def __iter__(self) -> Iterator[FunctionSpec]:
        return iter(self.functions)

    def __len__(self) -> int:
        return len(self.functions)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.functions]

    @property
    def node_functions(self) -> tuple[FunctionSpec, ...]:
        """The Node.js functions: the Node layer is built only when there is one."""
        return tuple(f for f in self.functions if f.is_node)

    def get(self, name: str) -> FunctionSpec:
        for spec in self.functions:
            if spec.name == name:
                return spec
        raise KeyError(f"no function {name!r} in the catalog; known: {self.names}")


def load_catalog(root: Path | None = None) -> Catalog:
    """Load every ``<root>/*/function.toml`` (root: ``$ETL_CATALOG_DIR``, else ``lambdas/``)."""
    if root is None:
        root = Path(os.environ.get(CATALOG_DIR_ENV) or LAMBDAS_DIR)
    entries = sorted(root.glob(f"*/{ENTRY_FILE}"))
    if not entries:
        raise CatalogError(root, "(catalog)", f"no */{ENTRY_FILE} found: add a function folder")
    specs = [_load_entry(path) for path in entries]
    _check_catalog(specs)
    return Catalog(tuple(sorted(specs, key=lambda s: s.name)))


def _load_entry(path: Path) -> FunctionSpec:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(path, "(file)", f"not valid TOML: {exc}") from exc

    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise CatalogError(path, unknown[0], f"unknown key; allowed keys: {sorted(_TOP_KEYS)}")
    for key in _REQUIRED_KEYS:
        if key not in data:
            raise CatalogError(path, key, "missing; every entry needs " + ", ".join(_REQUIRED_KEYS))

    name = _string(path, data, "name")
    if not _NAME.match(name) or len(name) > MAX_NAME_LENGTH:
        raise CatalogError(
            path,
            "name",
            f"{name!r} must be kebab-case (a-z, 0-9, single hyphens), "
            f"at most {MAX_NAME_LENGTH} characters",
        )

    runtime = _runtime(path, data)
    handler = _string(path, data, "handler")
    if runtime is None:
        _check_python_handler(path, handler)
    else:
        _check_node_handler(path, handler, runtime)

    description = _string(path, data, "description")
    if not description or len(description) > 256:
        raise CatalogError(path, "description", "must be 1-256 characters (Lambda's limit)")

    kind = _choice(path, data, "kind", TIMEOUT_SECONDS)
    size = _choice(path, data, "size", MEMORY_MB)
    critical = _bool(path, data, "critical")
    database = _bool(path, data, "database")
    trigger = _trigger(path, data.get("trigger", {"type": "none"}))
    needs = _needs(path, data.get("needs", {}))
    s3_read, s3_write = needs["s3_read"], needs["s3_write"]
    environment = _environment(path, data.get("environment", {}))
    snap_start = _bool(path, data, "snap_start")
    if snap_start and trigger.type != "url":
        raise CatalogError(
            path,
            "snap_start",
            'SnapStart is offered for API functions (kind = "api" with a url trigger) only: '
            "it speeds up the first request of a new environment, which only a caller waits "
            "for; remove the key",
        )
    if snap_start and runtime is not None:
        raise CatalogError(
            path,
            "snap_start",
            f"Lambda SnapStart supports the Python (3.12+), Java and .NET managed runtimes, "
            f"not {runtime}; remove the key",
        )

    trigger_type = TRIGGER_TYPES[trigger.type]
    if kind not in trigger_type.kinds:
        raise CatalogError(path, "trigger.type", trigger_type.kind_reason)
    if trigger.type == "s3":
        assert trigger.prefix is not None
        if not any(trigger.prefix.startswith(p) for p in s3_read):
            raise CatalogError(
                path,
                "needs.s3_read",
                f"the function is triggered by {trigger.prefix!r} but cannot read it: "
                f"add {trigger.prefix!r} to needs.s3_read",
            )
        for key in ("s3_write", "s3_create"):
            if any(_overlaps(trigger.prefix, p) for p in needs[key]):
                raise CatalogError(
                    path,
                    f"needs.{key}",
                    f"the function writes under its own trigger prefix {trigger.prefix!r}: "
                    "each write would invoke it again (a recursive loop)",
                )

    return FunctionSpec(
        name=name,
        handler=handler,
        description=description,
        kind=kind,
        size=size,
        critical=critical,
        database=database,
        trigger=trigger,
        s3_read=s3_read,
        s3_write=s3_write,
        environment=environment,
        source=path,
        runtime=runtime,
        s3_create=needs["s3_create"],
        s3_missing_ok=needs["s3_missing_ok"],
        s3_list=needs["s3_list"],
        snap_start=snap_start,
    )


def _check_catalog(specs: list[FunctionSpec]) -> None:
    seen: dict[str, Path] = {}
    for spec in specs:
        if spec.name in seen:
            raise CatalogError(
                spec.source, "name", f"{spec.name!r} is also used by {seen[spec.name]}"
            )
        seen[spec.name] = spec.source
    s3 = [s for s in specs if s.trigger.type == "s3"]
    for i, a in enumerate(s3):
        for b in s3[i + 1 :]:
            assert a.trigger.prefix is not None and b.trigger.prefix is not None
            if _overlaps(a.trigger.prefix, b.trigger.prefix):
                raise CatalogError(
                    b.source,
                    "trigger.prefix",
                    f"{b.trigger.prefix!r} overlaps {a.name}'s {a.trigger.prefix!r}; "
                    "S3 rejects overlapping notification prefixes",
                )


def _runtime(path: Path, data: dict[str, Any]) -> str | None:
    """The entry's own runtime: absent (the stack's Python runtime) or a supported Node.js one."""
    if "runtime" not in data:
        return None
    runtime = _string(path, data, "runtime")
    node_runtimes = supported_runtimes(language=NODEJS)
    try:
        language = language_of(runtime)
    except ValueError:
        raise CatalogError(
            path,
            "runtime",
            f"unknown Lambda runtime {runtime!r}; use one of {', '.join(node_runtimes)} for a "
            "Node.js function, or remove the key to run on the stack's etl:runtime (Python)",
        ) from None
    if language == PYTHON:
        raise CatalogError(
            path,
            "runtime",
            f"{runtime!r}: Python functions run on the stack's etl:runtime, which the one "
            "Python layer is built for; remove the key (change etl:runtime for the whole stack)",
        )
    why = check_runtime(runtime)
    if why:
        raise CatalogError(path, "runtime", f"{why}; supported: {', '.join(node_runtimes)}")
    return runtime


def _node_files(folder: Path, stem: str) -> list[Path]:
    return [
        folder / f"{stem}{ext}"
        for ext in NODE_HANDLER_EXTENSIONS
        if (folder / f"{stem}{ext}").is_file()
    ]


def _check_python_handler(path: Path, handler: str) -> None:
    if not _HANDLER.match(handler):
        raise CatalogError(path, "handler", f"{handler!r} must look like 'module.function'")
    module = handler.rsplit(".", 1)[0].replace(".", "/")
    module_file = path.parent / f"{module}.py"
    if module_file.is_file():
        return
    node = _node_files(path.parent, module)
    if node:
        raise CatalogError(
            path,
            "handler",
            f"{handler!r} points at {node[0].name}, a Node.js file, but without a 'runtime' key "
            f"the function runs on the stack's Python runtime. Fix: add "
            f'runtime = "{DEFAULT_NODE_RUNTIME}" for a Node.js function, or point the handler '
            "at a .py module",
        )
    raise CatalogError(path, "handler", f"module file {module_file.name} not found beside it")


def _check_node_handler(path: Path, handler: str, runtime: str) -> None:
    match = _NODE_HANDLER.match(handler)
    example = '"index.handler" (index.mjs or index.js exporting handler)'
    if not match:
        raise CatalogError(
            path,
            "handler",
            f"{handler!r} is not a Node.js handler: use <file>.<export>, e.g. {example}",
        )
    stem = match.group("file")
    if _node_files(path.parent, stem):
        return
    python_file = path.parent / (handler.rsplit(".", 1)[0].replace(".", "/") + ".py")
    if python_file.is_file():
        raise CatalogError(
            path,
            "handler",
            f"{handler!r} points at {python_file.name}, a Python module, but runtime is "
            f"{runtime}. Fix: name the Node.js file and its export, e.g. {example}, or "
            "remove 'runtime' for a Python function",
        )
    tried = ", ".join(f"{stem}{ext}" for ext in NODE_HANDLER_EXTENSIONS)
    raise CatalogError(path, "handler", f"no {tried} beside it for handler {handler!r} ({runtime})")


def _overlaps(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


def _string(path: Path, data: dict[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise CatalogError(path, key, f"must be a string, got {value!r}")
    return value


def _choice(path: Path, data: dict[str, Any], key: str, allowed: dict[str, int]) -> str:
    value = data[key]
    if value not in allowed:
        raise CatalogError(path, key, f"{value!r} is not allowed; use one of {sorted(allowed)}")
    return str(value)


def _bool(path: Path, data: dict[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise CatalogError(path, key, f"must be true or false, got {value!r}")
    return value


def _trigger(path: Path, raw: Any) -> Trigger:
    if not isinstance(raw, dict):
        raise CatalogError(path, "trigger", "must be a table with a 'type'")
    kind = raw.get("type")
    if kind not in TRIGGER_TYPES:
        raise CatalogError(
            path, "trigger.type", f"{kind!r} is not allowed; use one of {sorted(TRIGGER_TYPES)}"
        )
    trigger_type = TRIGGER_TYPES[kind]
    allowed = trigger_type.keys | {"type"}
    extra = sorted(set(raw) - allowed)
    if extra:
        raise CatalogError(
            path, f"trigger.{extra[0]}", f"unknown for type {kind!r}; allowed: {sorted(allowed)}"
        )
    missing = sorted(allowed - set(raw))
    if missing:
        raise CatalogError(path, f"trigger.{missing[0]}", f"required for type {kind!r}")
    if trigger_type.check is not None:
        trigger_type.check(path, raw)
    return Trigger(type=kind, prefix=raw.get("prefix"), expression=raw.get("expression"))


def _needs(path: Path, raw: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise CatalogError(path, "needs", "must be a table")
    extra = sorted(set(raw) - set(_NEEDS_KEYS))
    if extra:
        raise CatalogError(path, f"needs.{extra[0]}", f"unknown; allowed: {list(_NEEDS_KEYS)}")
    result: dict[str, tuple[str, ...]] = {}
    for key in _NEEDS_KEYS:
        prefixes = raw.get(key, [])
        if not isinstance(prefixes, list):
            raise CatalogError(path, f"needs.{key}", "must be a list of key prefixes")
        for prefix in prefixes:
            if not isinstance(prefix, str) or not _PREFIX.match(prefix):
                raise CatalogError(
                    path,
                    f"needs.{key}",
                    f"{prefix!r} must be a key prefix like 'staged/' (no wildcards, ends with '/')",
                )
        if len(set(prefixes)) != len(prefixes):
            raise CatalogError(path, f"needs.{key}", "lists a prefix twice")
        result[key] = tuple(sorted(prefixes))
    both = sorted(set(result["s3_write"]) & set(result["s3_create"]))
    if both:
        raise CatalogError(
            path,
            "needs.s3_create",
            f"{both[0]!r} is also in needs.s3_write: a prefix is either overwritten "
            "(s3_write) or only created (s3_create), not both",
        )
    unread = sorted(set(result["s3_missing_ok"]) - set(result["s3_read"]))
    if unread:
        raise CatalogError(
            path,
            "needs.s3_missing_ok",
            f"{unread[0]!r} is not in needs.s3_read: add it there too (s3_missing_ok only "
            "says that a missing key under a prefix it reads must answer 404)",
        )
    return result


def _environment(path: Path, raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise CatalogError(path, "environment", 'must be a table of NAME = "value"')
    for key, value in raw.items():
        if not _ENV_KEY.match(key) or key.startswith("AWS_"):
            raise CatalogError(path, f"environment.{key}", "names are UPPER_SNAKE_CASE, not AWS_*")
        if key in RESERVED_ENV_VARS:
            raise CatalogError(path, f"environment.{key}", "is set by the platform; remove it")
        if not isinstance(value, str):
            raise CatalogError(path, f"environment.{key}", f"must be a string, got {value!r}")
    return dict(sorted(raw.items()))
