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
    deployment = "canary-10-5"      # optional: how CodeDeploy shifts traffic to a new version
    smoke_event = { ping = true }   # optional: invoke each new version with it before traffic

    [trigger]                       # a row of TRIGGER_TYPES: url | s3 (+ prefix) | schedule
    type = "s3"                     # (+ expression) | none | sqs | dynamodb-stream | kinesis
    prefix = "raw/"                 # | sns | eventbridge | http-api | invoke (README: catalog)

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

import json
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etl_platform.errors import CatalogError
from etl_platform.model.deployment import DEPLOYER, DEPLOYMENT_PREFERENCES
from etl_platform.model.needs import (
    BUCKET,
    NEEDS,
    Need,
    need,
    needs_for_kind,
    split_reference,
)
from etl_platform.model.resources import (
    NAME_PATTERN,
    Resource,
    kind_label,
    parse_resource,
    with_article,
)
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

if TYPE_CHECKING:
    from etl_platform.model.settings import Settings

__all__ = [
    "CATALOG_DIR_ENV",
    "CRITICAL_RESERVED_CONCURRENCY",
    "ENTRY_CHECKS",
    "ENTRY_KEYS",
    "HTTP_API_AUTH",
    "INVOKE_PRINCIPALS",
    "MAX_CONNECTIONS",
    "MEMORY_MB",
    "NODE_HANDLER_EXTENSIONS",
    "OPTION_CHECKS",
    "RESERVED_ENV_VARS",
    "SLO_ENV_VARS",
    "STARTING_POSITIONS",
    "TIMEOUT_SECONDS",
    "TRIGGER_TYPES",
    "Catalog",
    "EntryKey",
    "EventSourceMapping",
    "FunctionSpec",
    "Grant",
    "Trigger",
    "TriggerType",
    "catalog_keys_markdown",
    "load_catalog",
    "resolve_needs",
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

_NAME = NAME_PATTERN  # function names and resource names: kebab-case
_HANDLER = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
# AWS's Node.js handler: <file path without extension>.<exported name>.
_NODE_HANDLER = re.compile(r"^(?P<file>[\w$-]+(/[\w$.-]+)*)\.(?P<export>[A-Za-z_$][\w$]*)$")
#: The files a Node.js handler's ``<file>`` may be (from :mod:`etl_platform.model.runtimes`).
NODE_HANDLER_EXTENSIONS = NODE_SOURCE_SUFFIXES
_PREFIX = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*/$")
_ENV_KEY = re.compile(r"^[A-Z][A-Z0-9_]*$")
_SCHEDULE = re.compile(r"^(rate|cron)\(.+\)$")
MAX_NAME_LENGTH = 32
# The largest synchronous invocation payload Lambda takes (the smoke event is one).
MAX_SMOKE_EVENT_BYTES = 6 * 1024 * 1024


#: The principals an ``invoke`` trigger may name: principal -> (the ``etl:resources`` kinds
#: its ``source`` may be, whether that service invokes asynchronously). S3, SNS, SQS,
#: streams and EventBridge have trigger types of their own, with their failure handling.
INVOKE_PRINCIPALS: dict[str, tuple[tuple[tuple[str, str], ...], bool]] = {
    "apigateway.amazonaws.com": ((("execute-api", "api"),), False),
    "cognito-idp.amazonaws.com": ((("cognito-idp", "userpool"),), False),
    "iot.amazonaws.com": ((("iot", "rule"),), True),
    "logs.amazonaws.com": ((("logs", "log-group"),), True),
}
STARTING_POSITIONS = ("LATEST", "TRIM_HORIZON")
HTTP_API_AUTH = ("iam", "jwt")
HTTP_METHODS = ("ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
_ROUTE = re.compile(r"^(?P<method>[A-Z]+) (?P<path>/[A-Za-z0-9._~{}+/-]*)$")


@dataclass(frozen=True)
class Trigger:
    type: str  # a key of TRIGGER_TYPES
    prefix: str | None = None
    expression: str | None = None
    #: The other keys of the ``[trigger]`` table, checked, with the type's defaults filled
    #: in (sorted (key, value) pairs; lists as tuples).
    options: tuple[tuple[str, Any], ...] = ()

    def option(self, key: str) -> Any:
        """A key of the trigger table (its default when the entry leaves it out), or None."""
        return dict(self.options).get(key)

    @property
    def source(self) -> str | None:
        """The ``etl:resources`` name the trigger consumes (queue, stream, topic, bus...)."""
        key = TRIGGER_TYPES[self.type].source_key
        return self.option(key) if key else None

    @property
    def asynchronous(self) -> bool:
        """Lambda invokes the function asynchronously: retries, the DLQ and event age apply."""
        if self.type == "invoke":
            return INVOKE_PRINCIPALS[self.option("principal")][1]
        return TRIGGER_TYPES[self.type].asynchronous

    @property
    def mapping(self) -> EventSourceMapping | None:
        """How Lambda polls the source (sqs, streams), or None when the source pushes."""
        return TRIGGER_TYPES[self.type].mapping


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


# --- the keys of the newer trigger types: one checker per key, returning the value kept


def _resource_name(path: Path, key: str, value: Any) -> str:
    if not (isinstance(value, str) and _NAME.match(value)):
        raise CatalogError(
            path,
            f"trigger.{key}",
            f"{value!r} must be a logical name the stack declares in etl:resources "
            '(kebab-case, e.g. "orders")',
        )
    return value


def _int_in(low: int, high: int) -> Callable[[Path, str, Any], int]:
    def check(path: Path, key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise CatalogError(
                path, f"trigger.{key}", f"{value!r} must be a whole number from {low} to {high}"
            )
        return value

    return check


def _one_of(allowed: tuple[str, ...]) -> Callable[[Path, str, Any], str]:
    def check(path: Path, key: str, value: Any) -> str:
        if value not in allowed:
            raise CatalogError(
                path, f"trigger.{key}", f"{value!r} is not allowed; use one of {list(allowed)}"
            )
        return str(value)

    return check


def _flag(path: Path, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise CatalogError(path, f"trigger.{key}", f"must be true or false, got {value!r}")
    return value


def _json_object(path: Path, key: str, value: Any) -> str:
    """JSON text of an object (an SNS filter policy, an EventBridge pattern), kept canonical."""
    try:
        parsed = json.loads(value) if isinstance(value, str) else None
    except json.JSONDecodeError as exc:
        raise CatalogError(path, f"trigger.{key}", f"is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict) or not parsed:
        raise CatalogError(
            path,
            f"trigger.{key}",
            'must be the JSON text of a non-empty object, e.g. \'{"source": ["orders"]}\'',
        )
    return json.dumps(parsed, sort_keys=True, separators=(",", ":"))


def _schedule_text(path: Path, key: str, value: Any) -> str:
    if not (isinstance(value, str) and _SCHEDULE.match(value)):
        raise CatalogError(path, f"trigger.{key}", f"{value!r} must be rate(...) or cron(...)")
    return value


def _text(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(path, f"trigger.{key}", f"must be a non-empty string, got {value!r}")
    return value


def _routes(path: Path, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise CatalogError(path, f"trigger.{key}", 'must be a list like ["POST /orders"]')
    for route in value:
        match = _ROUTE.match(route) if isinstance(route, str) else None
        if match is None or match["method"] not in HTTP_METHODS:
            raise CatalogError(
                path,
                f"trigger.{key}",
                f"{route!r} must be '<METHOD> /<path>' with METHOD one of {list(HTTP_METHODS)} "
                "(API Gateway's route keys, e.g. 'POST /orders', 'GET /orders/{id}')",
            )
    if len(set(value)) != len(value):
        raise CatalogError(path, f"trigger.{key}", "lists a route twice")
    return tuple(value)


def _principal(path: Path, key: str, value: Any) -> str:
    if value not in INVOKE_PRINCIPALS:
        raise CatalogError(
            path,
            f"trigger.{key}",
            f"{value!r} is not offered; use one of {sorted(INVOKE_PRINCIPALS)} (S3, SNS, SQS, "
            "streams and EventBridge have trigger types of their own, with failure handling)",
        )
    return str(value)


#: Every key of the newer trigger types -> how its value is checked (and normalised).
OPTION_CHECKS: dict[str, Callable[[Path, str, Any], Any]] = {
    "queue": _resource_name,
    "stream": _resource_name,
    "topic": _resource_name,
    "bus": _resource_name,
    "source": _resource_name,
    "batch_size": _int_in(1, 10_000),
    "batching_window_seconds": _int_in(0, 300),
    "maximum_concurrency": _int_in(2, 1000),
    "starting_position": _one_of(STARTING_POSITIONS),
    # Never -1 (infinite): a poison record would block its shard until it expires.
    "maximum_retry_attempts": _int_in(0, 10_000),
    "maximum_record_age_seconds": _int_in(60, 604_800),
    "bisect_on_error": _flag,
    "filter_policy": _json_object,
    "pattern": _json_object,
    "schedule": _schedule_text,
    "routes": _routes,
    "auth": _one_of(HTTP_API_AUTH),
    "issuer": _text,
    "audience": _text,
    "throttle_rate": _int_in(1, 10_000),
    "throttle_burst": _int_in(1, 5_000),
    "principal": _principal,
}


def _check_sqs(path: Path, raw: dict[str, Any]) -> None:
    # AWS: a batch of more than 10 messages needs a batching window of at least 1 s.
    if raw["batch_size"] > 10 and raw["batching_window_seconds"] < 1:
        raise CatalogError(
            path,
            "trigger.batching_window_seconds",
            f"batch_size {raw['batch_size']} is above 10, which SQS allows only with a "
            "batching window: set batching_window_seconds = 1 (or more), or batch_size <= 10",
        )


def _check_eventbridge(path: Path, raw: dict[str, Any]) -> None:
    if ("pattern" in raw) == ("schedule" in raw):
        raise CatalogError(
            path,
            "trigger.pattern",
            "an eventbridge trigger has either a pattern (JSON text of an event pattern) or "
            "a schedule (rate(...) or cron(...)), not both and not neither",
        )
    if "schedule" in raw and "bus" in raw:
        raise CatalogError(
            path,
            "trigger.bus",
            "EventBridge runs scheduled rules on the default bus only: remove bus, or use a "
            "pattern",
        )


def _check_http_api(path: Path, raw: dict[str, Any]) -> None:
    jwt = raw["auth"] == "jwt"
    for key in ("issuer", "audience"):
        if jwt and key not in raw:
            raise CatalogError(path, f"trigger.{key}", 'required with auth = "jwt"')
        if not jwt and key in raw:
            raise CatalogError(path, f"trigger.{key}", 'only for auth = "jwt"; remove it')
    if jwt and not str(raw["issuer"]).startswith("https://"):
        raise CatalogError(
            path, "trigger.issuer", f"{raw['issuer']!r} must be the issuer's https:// URL"
        )


@dataclass(frozen=True)
class EventSourceMapping:
    """How Lambda polls a trigger's source (an SQS queue or a stream)."""

    #: The need (a row of :data:`etl_platform.model.needs.NEEDS`, not a ``[needs]`` key)
    #: whose actions Lambda uses with the role on the source: granted on its ARN only.
    need: str
    #: Streams: a failed batch is bisected and, after its retries, its records' metadata is
    #: sent to the function's DLQ (the on-failure destination), so the shard moves on.
    stream: bool = False


@dataclass(frozen=True)
class TriggerType:
    """One ``[trigger] type``: its keys, how they are checked, what it may start.

    ``keys``: the required keys (besides ``type``); ``optional``: the other keys and
    their defaults (None: no default). ``kinds``: the catalog kinds it may trigger (a
    URL serves an API; S3 events start batch work), with the reason given when another
    is set. ``asynchronous``: Lambda invokes the function asynchronously (the DLQ,
    retries and the event-age alarm apply). ``source_key``: the key that names the
    ``etl:resources`` entry it consumes, whose kind must be one of ``source_kinds``.
    ``mapping``: Lambda polls the source through an event source mapping. The
    infrastructure of each type is its row of
    ``etl_platform.infra.components.functions.TRIGGER_BUILDERS``.
    """

    keys: frozenset[str]  # besides "type"
    asynchronous: bool
    kinds: tuple[str, ...] = ("api", "batch")
    kind_reason: str = ""
    check: Callable[[Path, dict[str, Any]], None] | None = None
    optional: Mapping[str, Any] = field(default_factory=dict)
    source_key: str | None = None
    source_kinds: tuple[tuple[str, str], ...] = ()
    mapping: EventSourceMapping | None = None
    summary: str = ""  # one line for the docs
    #: The needs the trigger implies, as ``(need key, etl:resources name)`` pairs (an
    #: ``sqs`` trigger: ``("sqs_receive", <its queue>)``): granted to the role and the
    #: boundary like declared ones, resolved and kind-checked against the stack the same way.
    needs: Callable[[Trigger], tuple[tuple[str, str], ...]] | None = None


def _polls(trigger: Trigger) -> tuple[tuple[str, str], ...]:
    """A polled trigger implies its mapping's need on its source (``TriggerType.needs``)."""
    mapping, source = trigger.mapping, trigger.source
    return ((mapping.need, source),) if mapping is not None and source is not None else ()


#: The defaults of a stream trigger: AWS's batch size, and a bounded retry budget so a
#: poison record never blocks its shard for more than an hour.
_STREAM_OPTIONS: Mapping[str, Any] = {
    "starting_position": "LATEST",
    "batch_size": 100,
    "maximum_retry_attempts": 2,
    "maximum_record_age_seconds": 3600,
    "bisect_on_error": True,
}

#: Every trigger type, one row each (a new one is a row here and a builder in infra).
TRIGGER_TYPES: dict[str, TriggerType] = {
    "url": TriggerType(
        frozenset(),
        asynchronous=False,
        kinds=("api",),
        kind_reason='a function URL serves an API: set kind = "api"',
        summary="a function URL (`AWS_IAM`: callers sign with SigV4)",
    ),
    "s3": TriggerType(
        frozenset({"prefix"}),
        asynchronous=True,
        kinds=("batch",),
        kind_reason='S3 events start batch work: set kind = "batch"',
        check=_check_prefix,
        summary="objects created under a prefix of the data bucket",
    ),
    "schedule": TriggerType(
        frozenset({"expression"}),
        asynchronous=True,
        check=_check_schedule,
        summary="an EventBridge schedule, `rate(...)` or `cron(...)`",
    ),
    "none": TriggerType(frozenset(), asynchronous=True, summary="invoked directly"),
    "sqs": TriggerType(
        frozenset({"queue"}),
        asynchronous=False,
        optional={"batch_size": 10, "batching_window_seconds": 0, "maximum_concurrency": None},
        check=_check_sqs,
        source_key="queue",
        source_kinds=(("sqs", "queue"),),
        mapping=EventSourceMapping("sqs_receive"),
        needs=_polls,
        summary="an SQS queue: event source mapping with partial batch responses",
    ),
    "dynamodb-stream": TriggerType(
        frozenset({"stream"}),
        asynchronous=False,
        optional=_STREAM_OPTIONS,
        source_key="stream",
        source_kinds=(("dynamodb", "stream"),),
        mapping=EventSourceMapping("dynamodb_stream_read", stream=True),
        needs=_polls,
        summary="a DynamoDB table's stream: bisect, bounded retries, on-failure DLQ",
    ),
    "kinesis": TriggerType(
        frozenset({"stream"}),
        asynchronous=False,
        optional=_STREAM_OPTIONS,
        source_key="stream",
        source_kinds=(("kinesis", "stream"),),
        mapping=EventSourceMapping("kinesis_read", stream=True),
        needs=_polls,
        summary="a Kinesis data stream: bisect, bounded retries, on-failure DLQ",
    ),
    "sns": TriggerType(
        frozenset({"topic"}),
        asynchronous=True,
        optional={"filter_policy": None},
        source_key="topic",
        source_kinds=(("sns", "topic"),),
        summary="a subscription to an SNS topic (asynchronous: retries and the DLQ apply)",
    ),
    "eventbridge": TriggerType(
        frozenset(),
        asynchronous=True,
        optional={"pattern": None, "schedule": None, "bus": None},
        check=_check_eventbridge,
        source_key="bus",
        source_kinds=(("events", "event-bus"),),
        summary="an EventBridge rule (pattern or schedule) whose target retries, then its DLQ",
    ),
    "http-api": TriggerType(
        frozenset({"routes", "auth"}),
        asynchronous=False,
        kinds=("api",),
        kind_reason='an HTTP API waits at most 30 s for its integration: set kind = "api"',
        optional={"issuer": None, "audience": None, "throttle_rate": 50, "throttle_burst": 100},
        check=_check_http_api,
        summary="an API Gateway HTTP API: routes, IAM or JWT auth, throttling, access logs",
    ),
    "invoke": TriggerType(
        frozenset({"principal", "source"}),
        asynchronous=False,  # per principal: INVOKE_PRINCIPALS
        source_key="source",
        summary="only a permission for an existing service resource (a REST API, ...)",
    ),
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
    #: ``[needs]``: the declared (non-empty) lists by need key, in the order of
    #: :data:`etl_platform.model.needs.NEEDS`; data-bucket prefixes or resource names.
    needs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    source: Path = field(default=Path(), compare=False)
    #: The entry's own ``runtime``; None means the stack's ``etl:runtime`` (Python).
    runtime: str | None = None
    #: Lambda SnapStart on published versions (url functions); the URL serves an alias.
    snap_start: bool = False
    #: The entry's ``deployment`` (a key of ``DEPLOYMENT_PREFERENCES``); None: the stack's
    #: ``etl:deploymentPreference``.
    deployment: str | None = None
    #: The entry's ``smoke_event``: the payload ``nox -s deploy-all`` invokes each newly
    #: published version with before CodeDeploy moves any traffic (None: no smoke test).
    smoke_event: dict[str, Any] | None = None

    def need(self, key: str) -> tuple[str, ...]:
        """The entries of ``needs.<key>`` (empty when not declared)."""
        return self.needs.get(key, ())

    @property
    def s3_read(self) -> tuple[str, ...]:
        """Data-bucket prefixes it reads."""
        return self.need("s3_read")

    @property
    def s3_write(self) -> tuple[str, ...]:
        """Data-bucket prefixes it writes (and may overwrite)."""
        return self.need("s3_write")

    @property
    def s3_create(self) -> tuple[str, ...]:
        """Prefixes it only creates: every write carries ``If-None-Match: *``."""
        return self.need("s3_create")

    @property
    def s3_missing_ok(self) -> tuple[str, ...]:
        """Read prefixes where a missing key is an answer (404, not 403): ``s3:ListBucket``."""
        return self.need("s3_missing_ok")

    @property
    def s3_list(self) -> tuple[str, ...]:
        """Prefixes whose key names it lists (``s3:ListBucket`` too; key names only)."""
        return self.need("s3_list")

    @property
    def s3_delete(self) -> tuple[str, ...]:
        """Data-bucket prefixes whose objects it deletes."""
        return self.need("s3_delete")

    @property
    def resource_needs(self) -> tuple[tuple[Need, str, str | None], ...]:
        """``(need, resource name, key prefix or None)`` for every resource it names:
        its ``[needs]``, then what its trigger implies (``TriggerType.needs``)."""
        declared = tuple(
            (n, *split_reference(value))
            for n in NEEDS
            if not n.on_data_bucket
            for value in self.need(n.key)
        )
        implied = TRIGGER_TYPES[self.trigger.type].needs
        from_trigger = tuple(
            (need(key), name, None) for key, name in (implied(self.trigger) if implied else ())
        )
        return declared + from_trigger

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
    """One entry: every row of :data:`ENTRY_KEYS` parsed in order, then :data:`ENTRY_CHECKS`."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(path, "(file)", f"not valid TOML: {exc}") from exc

    allowed = [row.key for row in ENTRY_KEYS]
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise CatalogError(path, unknown[0], f"unknown key; allowed keys: {sorted(allowed)}")
    required = [row.key for row in ENTRY_KEYS if row.required]
    for key in required:
        if key not in data:
            raise CatalogError(path, key, "missing; every entry needs " + ", ".join(required))
    parsed: dict[str, Any] = {}
    for row in ENTRY_KEYS:
        parsed[row.key] = row.parse(path, data, parsed)
    for check in ENTRY_CHECKS:
        check(path, parsed)
    return FunctionSpec(**parsed, source=path)


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


def _deployment(path: Path, data: dict[str, Any]) -> str | None:
    """The entry's deployment preference, or None for the stack's ``etl:deploymentPreference``."""
    if "deployment" not in data:
        return None
    value = data["deployment"]
    if value not in DEPLOYMENT_PREFERENCES:
        raise CatalogError(
            path,
            "deployment",
            f"{value!r} is not a deployment preference; use one of "
            f"{', '.join(DEPLOYMENT_PREFERENCES)}, or remove the key to use the stack's "
            "etl:deploymentPreference (all-at-once in dev, canary-10-5 in prod)",
        )
    return str(value)


def _smoke_event(path: Path, data: dict[str, Any]) -> dict[str, Any] | None:
    """The entry's smoke-test payload: a table, sent as JSON (Lambda takes up to 6 MB)."""
    if "smoke_event" not in data:
        return None
    value = data["smoke_event"]
    if not isinstance(value, dict):
        raise CatalogError(
            path,
            "smoke_event",
            f"must be a table (the JSON event each new version is invoked with before it "
            f"gets traffic), e.g. smoke_event = {{ ping = true }}; got {value!r}",
        )
    try:
        payload = json.dumps(value)
    except (TypeError, ValueError) as exc:  # TOML dates and times have no JSON form
        raise CatalogError(path, "smoke_event", f"must be JSON data: {exc}") from None
    if len(payload.encode("utf-8")) > MAX_SMOKE_EVENT_BYTES:
        raise CatalogError(
            path, "smoke_event", f"is larger than Lambda's {MAX_SMOKE_EVENT_BYTES} bytes"
        )
    return value


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
    allowed = trigger_type.keys | set(trigger_type.optional) | {"type"}
    extra = sorted(set(raw) - allowed)
    if extra:
        raise CatalogError(
            path, f"trigger.{extra[0]}", f"unknown for type {kind!r}; allowed: {sorted(allowed)}"
        )
    missing = sorted(trigger_type.keys - set(raw))
    if missing:
        raise CatalogError(path, f"trigger.{missing[0]}", f"required for type {kind!r}")
    values = {k: v for k, v in trigger_type.optional.items() if v is not None}
    for key, value in raw.items():
        check = OPTION_CHECKS.get(key)
        values[key] = check(path, key, value) if check else value
    if trigger_type.check is not None:
        trigger_type.check(path, values)
    own = ("type", "prefix", "expression")
    return Trigger(
        type=kind,
        prefix=raw.get("prefix"),
        expression=raw.get("expression"),
        options=tuple(sorted((k, v) for k, v in values.items() if k not in own)),
    )


def _needs(path: Path, raw: Any) -> dict[str, tuple[str, ...]]:
    """``[needs]``: for each key of :data:`NEEDS`, prefixes or resource names, no repeats."""
    if not isinstance(raw, dict):
        raise CatalogError(path, "needs", "must be a table")
    keys = [n.key for n in NEEDS if n.in_catalog]
    implied = {n.key for n in NEEDS if not n.in_catalog}
    extra = sorted(set(raw) - set(keys))
    if extra:
        why = (
            "is implied by the trigger that reads the resource, not declared"
            if extra[0] in implied
            else "unknown"
        )
        raise CatalogError(path, f"needs.{extra[0]}", f"{why}; allowed: {keys}")
    result: dict[str, tuple[str, ...]] = {}
    for n in (n for n in NEEDS if n.in_catalog):
        values = raw.get(n.key, [])
        what = "key prefixes" if n.on_data_bucket else "etl:resources names"
        if not isinstance(values, list):
            raise CatalogError(path, f"needs.{n.key}", f"must be a list of {what}")
        for value in values:
            problem = _need_entry_problem(n, value)
            if problem:
                raise CatalogError(path, f"needs.{n.key}", problem)
        if len(set(values)) != len(values):
            raise CatalogError(path, f"needs.{n.key}", "lists an entry twice")
        if values:
            result[n.key] = tuple(sorted(values))
    for check in _NEEDS_CHECKS:
        check(path, result)
    return result


def _need_entry_problem(n: Need, value: Any) -> str | None:
    """Why ``value`` cannot be an entry of ``needs.<n.key>``, or None."""
    if n.on_data_bucket:
        if isinstance(value, str) and _PREFIX.match(value):
            return None
        return f"{value!r} must be a key prefix like 'staged/' (no wildcards, ends with '/')"
    name, prefix = split_reference(value) if isinstance(value, str) else ("", None)
    if n.target == BUCKET:
        if _NAME.match(name) and (prefix is None or _PREFIX.match(prefix)):
            return None
        return (
            f"{value!r} must be the etl:resources name of a bucket, alone (the whole bucket) "
            "or with a key prefix: 'exports' or 'exports/reports/' (no wildcards, the "
            "prefix ends with '/')"
        )
    if isinstance(value, str) and _NAME.match(value):
        return None
    return (
        f"{value!r} must be the kebab-case name of {with_article(kind_label(n.target))} this stack "
        "declares in etl:resources (the ARN goes in the stack's config, not here)"
    )


def _write_or_create(path: Path, needs: dict[str, tuple[str, ...]]) -> None:
    both = sorted(set(needs.get("s3_write", ())) & set(needs.get("s3_create", ())))
    if both:
        raise CatalogError(
            path,
            "needs.s3_create",
            f"{both[0]!r} is also in needs.s3_write: a prefix is either overwritten "
            "(s3_write) or only created (s3_create), not both",
        )


def _missing_ok_is_read(path: Path, needs: dict[str, tuple[str, ...]]) -> None:
    unread = sorted(set(needs.get("s3_missing_ok", ())) - set(needs.get("s3_read", ())))
    if unread:
        raise CatalogError(
            path,
            "needs.s3_missing_ok",
            f"{unread[0]!r} is not in needs.s3_read: add it there too (s3_missing_ok only "
            "says that a missing key under a prefix it reads must answer 404)",
        )


#: Rules between ``[needs]`` keys, each naming the key to fix.
_NEEDS_CHECKS: tuple[Callable[[Path, dict[str, tuple[str, ...]]], None], ...] = (
    _write_or_create,
    _missing_ok_is_read,
)


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


Parsed = dict[str, Any]  # the FunctionSpec fields parsed so far, by entry key


@dataclass(frozen=True)
class EntryKey:
    """One top-level key of ``function.toml``: how it is read and checked, and its docs.

    ``parse(path, data, parsed)`` returns the :class:`FunctionSpec` field of the same
    name (it may read fields of rows above it in ``parsed``) or raises
    :class:`CatalogError` naming the file, the key and what is allowed.
    """

    key: str
    parse: Callable[[Path, dict[str, Any], Parsed], Any]
    default: str  # the README's "default" column ("(required)" for required keys)
    meaning: str  # the README's "allowed / meaning" column
    required: bool = False

    def readme_row(self) -> str:
        return f"| `{self.key}` | {self.default} | {self.meaning} |"


def _parse_name(path: Path, data: dict[str, Any], parsed: Parsed) -> str:
    name = _string(path, data, "name")
    if not _NAME.match(name) or len(name) > MAX_NAME_LENGTH:
        raise CatalogError(
            path,
            "name",
            f"{name!r} must be kebab-case (a-z, 0-9, single hyphens), "
            f"at most {MAX_NAME_LENGTH} characters",
        )
    if name == DEPLOYER:
        raise CatalogError(
            path,
            "name",
            f"{name!r} is reserved: the stack's CodeDeploy service role is "
            f"role-{DEPLOYER}-<suffix>; choose another name",
        )
    return name


def _parse_handler(path: Path, data: dict[str, Any], parsed: Parsed) -> str:
    handler = _string(path, data, "handler")
    if parsed["runtime"] is None:
        _check_python_handler(path, handler)
    else:
        _check_node_handler(path, handler, parsed["runtime"])
    return handler


def _parse_description(path: Path, data: dict[str, Any], parsed: Parsed) -> str:
    description = _string(path, data, "description")
    if not description or len(description) > 256:
        raise CatalogError(path, "description", "must be 1-256 characters (Lambda's limit)")
    return description


def _table(key: str, parse: Callable[[Path, Any], Any], default: Any) -> Callable[..., Any]:
    """A row parser for the sub-table ``[key]`` (``default`` when the entry has none)."""
    return lambda path, data, parsed: parse(path, data.get(key, default))


#: Every top-level key of an entry, in the order they are checked (a field each).
ENTRY_KEYS: tuple[EntryKey, ...] = (
    EntryKey(
        "name",
        _parse_name,
        "(required)",
        f"kebab-case, unique, at most {MAX_NAME_LENGTH} characters; the function is "
        "`lambda-<name>-<suffix>`",
        required=True,
    ),
    EntryKey(
        "runtime",
        lambda path, data, parsed: _runtime(path, data),
        "the stack's `etl:runtime`",
        "a supported `nodejs*.x` for a Node.js function; Python functions run on the "
        "stack's runtime",
    ),
    EntryKey(
        "handler",
        _parse_handler,
        "(required)",
        "Python: `<module>.<function>`, the module file in the folder; Node.js: "
        "`<file>.<export>`, the file `<file>` + one of "
        + ", ".join(f"`{ext}`" for ext in NODE_HANDLER_EXTENSIONS),
        required=True,
    ),
    EntryKey("description", _parse_description, "(required)", "1-256 characters", required=True),
    EntryKey(
        "kind",
        lambda path, data, parsed: _choice(path, data, "kind", TIMEOUT_SECONDS),
        "(required)",
        ", ".join(f"`{k}` ({v} s)" for k, v in TIMEOUT_SECONDS.items()),
        required=True,
    ),
    EntryKey(
        "size",
        lambda path, data, parsed: _choice(path, data, "size", MEMORY_MB),
        "(required)",
        ", ".join(f"`{k}` ({v} MB)" for k, v in MEMORY_MB.items()),
        required=True,
    ),
    EntryKey(
        "critical",
        lambda path, data, parsed: _bool(path, data, "critical"),
        "`false`",
        f"`true`: reserved concurrency {CRITICAL_RESERVED_CONCURRENCY}",
    ),
    EntryKey(
        "database",
        lambda path, data, parsed: _bool(path, data, "database"),
        "`false`",
        f"`true`: `MAX_CONNECTIONS={MAX_CONNECTIONS}`, the database secret, the VPC settings",
    ),
    EntryKey(
        "trigger",
        _table("trigger", _trigger, {"type": "none"}),
        "`none`",
        "a table with a `type`: " + ", ".join(f"`{t}`" for t in TRIGGER_TYPES),
    ),
    EntryKey(
        "needs",
        _table("needs", _needs, {}),
        "nothing",
        "a table of lists, one key per need (the table below); the role grants exactly these",
    ),
    EntryKey(
        "environment",
        _table("environment", _environment, {}),
        "none",
        '`NAME = "value"`, UPPER_SNAKE_CASE, not `AWS_*` nor a platform variable',
    ),
    EntryKey(
        "snap_start",
        lambda path, data, parsed: _bool(path, data, "snap_start"),
        "`false`",
        "`true` (url-triggered Python functions only): Lambda SnapStart",
    ),
    EntryKey(
        "deployment",
        lambda path, data, parsed: _deployment(path, data),
        "the stack's `etl:deploymentPreference`",
        "how CodeDeploy shifts traffic to a new version: "
        + ", ".join(f"`{k}`" for k in DEPLOYMENT_PREFERENCES),
    ),
    EntryKey(
        "smoke_event",
        lambda path, data, parsed: _smoke_event(path, data),
        "none",
        "a table: the JSON event `nox -s deploy-all` invokes each new version with before "
        "it gets traffic",
    ),
)


def _snap_start_is_for_url_functions(path: Path, parsed: Parsed) -> None:
    if parsed["snap_start"] and parsed["trigger"].type != "url":
        raise CatalogError(
            path,
            "snap_start",
            'SnapStart is offered for API functions (kind = "api" with a url trigger) only: '
            "it speeds up the first request of a new environment, which only a caller waits "
            "for; remove the key",
        )
    if parsed["snap_start"] and parsed["runtime"] is not None:
        raise CatalogError(
            path,
            "snap_start",
            f"Lambda SnapStart supports the Python (3.12+), Java and .NET managed runtimes, "
            f"not {parsed['runtime']}; remove the key",
        )


def _trigger_fits_kind(path: Path, parsed: Parsed) -> None:
    trigger_type = TRIGGER_TYPES[parsed["trigger"].type]
    if parsed["kind"] not in trigger_type.kinds:
        raise CatalogError(path, "trigger.type", trigger_type.kind_reason)


def _s3_trigger_is_read_and_not_written(path: Path, parsed: Parsed) -> None:
    trigger, needs = parsed["trigger"], parsed["needs"]
    if trigger.type != "s3":
        return
    assert trigger.prefix is not None
    if not any(trigger.prefix.startswith(p) for p in needs.get("s3_read", ())):
        raise CatalogError(
            path,
            "needs.s3_read",
            f"the function is triggered by {trigger.prefix!r} but cannot read it: "
            f"add {trigger.prefix!r} to needs.s3_read",
        )
    for key in ("s3_write", "s3_create"):
        if any(_overlaps(trigger.prefix, p) for p in needs.get(key, ())):
            raise CatalogError(
                path,
                f"needs.{key}",
                f"the function writes under its own trigger prefix {trigger.prefix!r}: "
                "each write would invoke it again (a recursive loop)",
            )


#: Rules between keys of one entry, after every key parsed; each names the key to fix.
ENTRY_CHECKS: tuple[Callable[[Path, Parsed], None], ...] = (
    _snap_start_is_for_url_functions,
    _trigger_fits_kind,
    _s3_trigger_is_read_and_not_written,
)


def catalog_keys_markdown() -> str:
    """The README's table of entry keys, rendered from :data:`ENTRY_KEYS`."""
    header = "| key | default | allowed / meaning |\n|---|---|---|\n"
    return header + "\n".join(row.readme_row() for row in ENTRY_KEYS) + "\n"


@dataclass(frozen=True)
class Grant:
    """One resource a function's need names, resolved against its stack's ``etl:resources``."""

    need: Need
    resource: Resource
    prefix: str | None = None  # a bucket's key prefix; None: the whole bucket

    @property
    def arns(self) -> tuple[str, ...]:
        """The exact ARNs the need's actions are granted on."""
        return self.need.arns(self.resource.arn, self.prefix)


def resolve_needs(spec: FunctionSpec, settings: Settings, stack: str) -> tuple[Grant, ...]:
    """Every resource ``spec``'s needs name, with its ARN from ``settings`` (stack ``stack``).

    Raises :class:`CatalogError` (the entry's file and ``needs.<key>``) naming the
    function, the resource and the stack when the stack does not declare the name, or
    declares a resource of another kind than the need acts on, with the fix.
    """
    declared = dict(settings.resources)
    grants: list[Grant] = []
    for n, name, prefix in spec.resource_needs:
        source_key = TRIGGER_TYPES[spec.trigger.type].source_key
        key = (
            f"needs.{n.key}"
            if n.in_catalog
            else f"trigger.{source_key}"
            if source_key
            else "trigger"
        )
        if name not in declared:
            raise CatalogError(
                spec.source,
                key,
                f"function {spec.name!r} names the resource {name!r}, which stack {stack!r} "
                f"does not declare in etl:resources (declared: {', '.join(declared) or 'none'})"
                f". Fix: pulumi config set --path 'etl:resources.{name}' <its ARN> --stack "
                f"{stack} (in every project), or remove {name!r} from {key}",
            )
        resource = parse_resource(name, declared[name], settings.region)
        if resource.resource_kind != n.target:
            fits = [other.key for other in needs_for_kind(resource.resource_kind)]
            instead = f"use it in {' or '.join(fits)}" if fits else "no need acts on it"
            raise CatalogError(
                spec.source,
                key,
                f"function {spec.name!r}: {name!r} is the {resource.label} {resource.arn} in "
                f"stack {stack!r}, but {n.key} acts on {with_article(kind_label(n.target))} "
                f"({', '.join(n.actions)}). Fix: name {with_article(kind_label(n.target))} "
                "here, or "
                f"{instead}",
            )
        grants.append(Grant(n, resource, prefix))
    return tuple(grants)
