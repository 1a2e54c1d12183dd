"""Run a Pulumi program offline, under Pulumi's own mock runtime.

There is no Pulumi CLI, provider plugin or AWS account where we build, so the real
programs (the same ``__main__.py`` and ``Pulumi.<stack>.yaml`` files a deploy uses)
run here with :func:`pulumi.runtime.set_mocks`. The mocks answer like AWS would
where it matters: realistic ARNs and URLs, the account id, and IAM policy documents
rendered from ``get_policy_document`` statements exactly as the provider renders
them, so tests and guardrails can parse them.

Used by the unit tests, by the guardrails and by ``nox -s plan``.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import json
import os
import runpy
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from etl_platform.catalog import CATALOG_DIR_ENV

__all__ = [
    "ACCOUNT_ID",
    "PlanMocks",
    "PlannedResource",
    "ProgramRun",
    "read_stack_config",
    "render_policy_document",
    "run_program",
]

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
STACK_REFERENCE = "pulumi:pulumi:StackReference"
LEFTOVER_TIMEOUT_SECONDS = 10


@dataclass
class PlannedResource:
    """One resource the program registered, as the engine would have seen it."""

    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    custom: bool
    protect: bool = False
    retain_on_delete: bool = False
    parent: str = ""

    @property
    def props(self) -> dict[str, Any]:
        """Inputs and computed outputs together (inputs win): what a policy pack sees."""
        return {**self.outputs, **self.inputs}


@dataclass
class ProgramRun:
    """What one program did: its resources (components included) and its exports."""

    project: str
    stack: str
    resources: list[PlannedResource] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_token: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str) -> PlannedResource:
        found = [r for r in self.of_type(type_token) if r.name == name]
        if len(found) != 1:
            names = sorted(r.name for r in self.of_type(type_token))
            raise KeyError(f"no single {type_token} named {name!r}; have {names}")
        return found[0]

    @property
    def custom_resources(self) -> list[PlannedResource]:
        return [r for r in self.resources if r.custom]


# --------------------------------------------------------------------------------------------
# IAM policy documents, rendered as the provider's getPolicyDocument renders them
# --------------------------------------------------------------------------------------------


def _one_or_list(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values


def render_policy_document(args: Mapping[str, Any]) -> str:
    """Render ``getPolicyDocument`` arguments (camelCase, as the engine passes them) to JSON."""
    statements = []
    for raw in args.get("statements") or []:
        statement: dict[str, Any] = {}
        if raw.get("sid"):
            statement["Sid"] = raw["sid"]
        statement["Effect"] = raw.get("effect") or "Allow"
        for key, out in (
            ("actions", "Action"),
            ("notActions", "NotAction"),
            ("resources", "Resource"),
            ("notResources", "NotResource"),
        ):
            if raw.get(key):
                statement[out] = _one_or_list(sorted(raw[key], reverse=True))
        for key, out in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
            if raw.get(key):
                principal: dict[str, Any] = {}
                for p in raw[key]:
                    principal[p["type"]] = _one_or_list(sorted(p["identifiers"]))
                # Like the provider: a lone type "*" with identifier "*" renders as "*".
                statement[out] = "*" if principal == {"*": "*"} else principal
        if raw.get("conditions"):
            condition: dict[str, dict[str, Any]] = {}
            for c in raw["conditions"]:
                condition.setdefault(c["test"], {})[c["variable"]] = _one_or_list(c["values"])
            statement["Condition"] = condition
        statements.append(statement)
    return json.dumps(
        {"Version": args.get("version") or "2012-10-17", "Statement": statements}, indent=2
    )


# --------------------------------------------------------------------------------------------
# The mocks: realistic identifiers for what the programs read back
# --------------------------------------------------------------------------------------------


def _arn(service: str, resource: str, *, region: str = REGION) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{resource}"


def computed_outputs(type_token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict]:
    """The id and outputs AWS would return for a new resource (only what programs read)."""
    physical = inputs.get("name") or name
    out: dict[str, Any] = dict(inputs)
    resource_id = f"{physical}-id"
    if type_token == "aws:sqs/queue:Queue":
        out["arn"] = _arn("sqs", physical)
        out["url"] = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{physical}"
        resource_id = out["url"]
    elif type_token == "aws:iam/role:Role":
        out["arn"] = f"arn:aws:iam::{ACCOUNT_ID}:role/{physical}"
        out["uniqueId"] = f"AROA{abs(hash(physical)) % 10**16:016d}"
        resource_id = physical
    elif type_token == "aws:iam/policy:Policy":
        out["arn"] = f"arn:aws:iam::{ACCOUNT_ID}:policy/{physical}"
        resource_id = out["arn"]
    elif type_token == "aws:lambda/function:Function":
        out["arn"] = _arn("lambda", f"function:{physical}")
        out["qualifiedArn"] = out["arn"] + ":1"
        out["invokeArn"] = (
            f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{out['arn']}/invocations"
        )
        out["version"] = "$LATEST"
        resource_id = physical
    elif type_token == "aws:lambda/layerVersion:LayerVersion":
        layer = inputs.get("layerName") or name
        out["layerArn"] = _arn("lambda", f"layer:{layer}")
        out["arn"] = out["layerArn"] + ":1"
        out["version"] = "1"
        resource_id = out["arn"]
    elif type_token == "aws:lambda/functionUrl:FunctionUrl":
        out["functionUrl"] = (
            f"https://{name}-{abs(hash(name)) % 10**8:08d}.lambda-url.{REGION}.on.aws/"
        )
        out["urlId"] = f"{abs(hash(name)) % 10**8:08d}"
    elif type_token == "aws:cloudwatch/logGroup:LogGroup":
        out["arn"] = _arn("logs", f"log-group:{physical}")
        resource_id = physical
    elif type_token == "aws:sns/topic:Topic":
        out["arn"] = _arn("sns", physical)
        resource_id = out["arn"]
    elif type_token == "aws:cloudwatch/metricAlarm:MetricAlarm":
        out["arn"] = _arn("cloudwatch", f"alarm:{physical}")
        resource_id = physical
    elif type_token == "aws:cloudwatch/dashboard:Dashboard":
        dashboard = inputs.get("dashboardName") or name
        out["dashboardArn"] = f"arn:aws:cloudwatch::{ACCOUNT_ID}:dashboard/{dashboard}"
        resource_id = dashboard
    elif type_token == "aws:s3/bucket:Bucket":
        bucket = inputs.get("bucket") or name
        out["bucket"] = bucket
        out["arn"] = f"arn:aws:s3:::{bucket}"
        out["bucketDomainName"] = f"{bucket}.s3.amazonaws.com"
        resource_id = bucket
    elif type_token.startswith("aws:"):
        service = type_token.split(":")[1].split("/")[0]
        out.setdefault("arn", _arn(service, str(physical)))
    return resource_id, out


class PlanMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and provider calls; serves StackReference outputs."""

    def __init__(self, stack_outputs: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.stack_outputs = {k: dict(v) for k, v in (stack_outputs or {}).items()}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        if args.typ == STACK_REFERENCE:
            ref = args.inputs.get("name") or args.name
            return ref, {
                "name": ref,
                "outputs": self.stack_outputs.get(ref, {}),
                "secretOutputNames": [],
            }
        return computed_outputs(args.typ, args.name, dict(args.inputs))

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
        token = args.token
        if token == "aws:iam/getPolicyDocument:getPolicyDocument":
            document = render_policy_document(args.args)
            return {
                "json": document,
                "minifiedJson": json.dumps(json.loads(document)),
                "id": str(abs(hash(document))),
            }, []
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/plan",
                "userId": "AIDAPLAN",
                "id": ACCOUNT_ID,
            }, []
        if token == "aws:index/getRegion:getRegion":
            return {"name": REGION, "region": REGION, "id": REGION}, []
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        raise NotImplementedError(f"offline runs do not mock the provider call {token}")


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also keeping each resource's options (protect, retain)."""

    def __init__(self, mocks: PlanMocks) -> None:
        super().__init__(mocks)
        self.planned: list[PlannedResource] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        inputs = rpc.deserialize_properties(request.object)
        state = self.resources.get(response.urn)
        self.planned.append(
            PlannedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                inputs=_plain(inputs),
                outputs=_plain(state.state if state else {}),
                custom=bool(request.custom),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                parent=request.parent,
            )
        )
        return response


def _plain(value: Any) -> Any:
    """Strip Pulumi's secret wrappers so tests see plain values."""
    if isinstance(value, dict):
        if rpc._special_sig_key in value and "value" in value:
            return _plain(value["value"])
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------
# Config and the run itself
# --------------------------------------------------------------------------------------------


def project_name(project_dir: Path) -> str:
    data = yaml.safe_load((project_dir / "Pulumi.yaml").read_text(encoding="utf-8"))
    return str(data["name"])


def read_stack_config(project_dir: Path, stack: str) -> dict[str, str]:
    """A stack file's config as Pulumi hands it to a program (strings; JSON for lists)."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist: create the stack with `nox -s new-env -- {stack}`"
        )
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    config = data.get("config") or {}
    return {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in config.items()
        if not (isinstance(value, dict) and "secure" in value)
    }


@contextmanager
def _environ(values: Mapping[str, str | None]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _discard_leftovers() -> None:
    """Forget what a failed run left behind, so the next run in this process starts clean.

    The SDK stops at the first failed output and leaves the rest pending on the event
    loop; failed outputs stay in ``SETTINGS.outputs``, which in a fresh context falls
    back to one process-wide default set. Without this, the next run re-raises the
    previous run's error (a contract test would break the test after it).
    """
    loop = _ensure_event_loop()
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if pending:
        # Let them finish (the mocks answer at once; they fail like the run did) rather
        # than cancel them inside the SDK's re-entrant _sync_await.
        loop.run_until_complete(asyncio.wait(pending, timeout=LEFTOVER_TIMEOUT_SECONDS))
    for task in pending:
        if not task.done():
            task.cancel()
    SETTINGS.outputs.clear()
    SETTINGS.rpc_manager.clear()
    # Mark every failed future's error as seen. Otherwise each one logs "exception was
    # never retrieved" when garbage-collected, at a random later point; on CPython 3.11
    # that logging formats a traceback with ast.parse, and if the collection happened
    # inside another ast.parse (pytest's assertion rewriting) that one fails with
    # "SystemError: AST constructor recursion depth mismatch".
    for obj in gc.get_objects():
        if isinstance(obj, asyncio.Future) and obj.done() and not obj.cancelled():
            obj.exception()


def run_program(
    project_dir: Path,
    stack: str,
    *,
    config: Mapping[str, str] | None = None,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
    catalog_dir: Path | None = None,
    use_stack_file: bool = True,
) -> ProgramRun:
    """Run ``project_dir/__main__.py`` under mocks and return what it registered and exported.

    ``config`` overrides (or, with ``use_stack_file=False``, replaces) the stack's
    config file; ``stack_outputs`` maps ``org/project/stack`` to the outputs a
    StackReference should see; ``catalog_dir`` points the program at another catalog.
    Errors raised by the program (settings, contract, catalog) propagate unchanged.
    """
    project_dir = project_dir.resolve()
    values = read_stack_config(project_dir, stack) if use_stack_file else {}
    values.update(config or {})
    project = project_name(project_dir)
    mocks = PlanMocks(stack_outputs)

    def _run() -> ProgramRun:
        monitor = _RecordingMonitor(mocks)
        pulumi.runtime.set_mocks(
            mocks, project=project, stack=stack, preview=False, monitor=monitor
        )
        pulumi.runtime.set_all_config(dict(values))
        root = pulumi.runtime.settings.get_root_resource()

        def program() -> None:
            runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")

        try:
            _sync_await(pulumi.runtime.stack.run_pulumi_func(program))
        except BaseException:
            _discard_leftovers()
            raise
        # set_mocks registers the root stack's outputs before the program runs, so read
        # the exports from the stack object itself, resolved.
        outputs = getattr(root, "outputs", {})
        exports = _sync_await(pulumi.Output.from_input(outputs).future()) or {}
        return ProgramRun(project, stack, monitor.planned, _plain(exports))

    env = {CATALOG_DIR_ENV: str(catalog_dir) if catalog_dir else os.environ.get(CATALOG_DIR_ENV)}
    sys.path.insert(0, str(project_dir))
    try:
        with _environ(env):
            # A fresh context: the SDK keeps its root stack and config in context variables,
            # so every run starts clean, and several programs can run in one process.
            return contextvars.Context().run(_run)
    finally:
        sys.path.remove(str(project_dir))
