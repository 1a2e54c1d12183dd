"""Run a Pulumi program offline, under Pulumi's own mock runtime.

There is no Pulumi CLI, provider plugin or AWS account where we build, so the real
programs (the same ``__main__.py`` and ``Pulumi.<stack>.yaml`` files a deploy uses)
run here with :func:`pulumi.runtime.set_mocks`. The mocks answer like AWS would
where it matters: realistic ARNs and URLs, the account id, and IAM policy documents
rendered from ``get_policy_document`` statements exactly as the provider renders
them, so tests and guardrails can parse them.

Only Pulumi's public mock API is used (``set_mocks``, ``Mocks``, ``MockMonitor``,
``set_all_config``, ``pulumi.runtime.test``). Each program runs in a child process of
its own, so no SDK state (the root stack, pending outputs of a failed run) can leak
from one run into the next. Every identifier the mocks invent is derived from the
resource's name with SHA-256, so two runs give byte-identical plans.

Used by the unit tests, ``nox -s plan``, ``nox -s docs`` and ``etl_platform.checks.iam_lint``;
never by the policy pack (the rules read :mod:`etl_platform.checks.planned` only).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import json
import multiprocessing
import os
import pickle
import pkgutil
import re
import runpy
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

from etl_platform.checks.planned import PlannedResource, ProgramRun
from etl_platform.model.catalog import CATALOG_DIR_ENV
from etl_platform.model.naming import physical_name
from etl_platform.model.stack_config import project_name, read_stack_config

__all__ = [
    "ACCOUNT_ID",
    "COMPUTED_OUTPUTS",
    "PlanMocks",
    "PlannedResource",
    "ProgramRun",
    "computed_outputs",
    "read_stack_config",
    "render_policy_document",
    "run_program",
]

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
STACK_REFERENCE = "pulumi:pulumi:StackReference"
# Pulumi's property-value wire format marks a secret with this signature key
# (github.com/pulumi/pulumi sdk/go/common/resource/sig).
SPECIAL_SIG_KEY = "4dabf18193072939515e22adb298388d"


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


def stable_id(text: str, length: int, *, digits: bool = False) -> str:
    """An identifier derived from ``text`` alone (SHA-256), the same in every run."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if digits:
        return str(int(digest, 16) % 10**length).zfill(length)
    return digest[:length]


def _arn(service: str, resource: str, *, region: str = REGION) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{resource}"


# (physical name, inputs) -> (the resource id, or None for "<name>-id"; the outputs AWS adds)
Computed = Callable[[str, Mapping[str, Any]], tuple[str | None, dict[str, Any]]]


def _queue(name: str, inputs: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{name}"
    return url, {"arn": _arn("sqs", name), "url": url}


def _role(name: str, inputs: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    return name, {
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}",
        "uniqueId": f"AROA{stable_id(name, 16, digits=True)}",
    }


def _policy(name: str, inputs: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    arn = f"arn:aws:iam::{ACCOUNT_ID}:policy/{name}"
    return arn, {"arn": arn}


def _function(name: str, inputs: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    arn = _arn("lambda", f"function:{name}")
    # publish=True: the create published version 1; otherwise only $LATEST exists.
    version = "1" if inputs.get("publish") else "$LATEST"
    return name, {
        "arn": arn,
        "qualifiedArn": f"{arn}:{version}",
        "invokeArn": (
            f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"
        ),
        "version": version,
    }


def _alias(name: str, inputs: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """``<function ARN>:<alias>``; ``functionName`` may be the function's name or ARN."""
    function = str(inputs.get("functionName", ""))
    function_arn = (
        function if function.startswith("arn:") else _arn("lambda", f"function:{function}")
    )
    arn = f"{function_arn}:{name}"
    return arn, {
        "arn": arn,
        "invokeArn": (
            f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"
        ),
    }


def _codedeploy_application(
    name: str, inputs: Mapping[str, Any]
) -> tuple[str | None, dict[str, Any]]:
    return name, {
        "arn": _arn("codedeploy", f"application:{name}"),
        "applicationId": stable_id(name, 36),
    }


def _deployment_group(name: str, inputs: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    application = str(inputs.get("appName", ""))
    return f"{application}:{name}", {
        "arn": _arn("codedeploy", f"deploymentgroup:{application}/{name}"),
        "deploymentGroupId": stable_id(f"{application}/{name}", 36),
        "computePlatform": "Lambda",
    }


def _layer(name: str, inputs: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    layer_arn = _arn("lambda", f"layer:{name}")
    return f"{layer_arn}:1", {"layerArn": layer_arn, "arn": f"{layer_arn}:1", "version": "1"}


def _function_url(name: str, inputs: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    url_id = stable_id(name, 32)  # AWS's url ids are 32 lowercase letters and digits
    return None, {"functionUrl": f"https://{url_id}.lambda-url.{REGION}.on.aws/", "urlId": url_id}


def _log_group(name: str, inputs: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    return name, {"arn": _arn("logs", f"log-group:{name}")}


def _topic(name: str, inputs: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    arn = _arn("sns", name)
    return arn, {"arn": arn}


def _alarm(name: str, inputs: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    return name, {"arn": _arn("cloudwatch", f"alarm:{name}")}


def _dashboard(name: str, inputs: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    return name, {"dashboardArn": f"arn:aws:cloudwatch::{ACCOUNT_ID}:dashboard/{name}"}


def _bucket(name: str, inputs: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    return name, {
        "bucket": name,
        "arn": f"arn:aws:s3:::{name}",
        "bucketDomainName": f"{name}.s3.amazonaws.com",
    }


def _event_rule(name: str, inputs: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    bus = inputs.get("eventBusName") or "default"
    path = name if bus == "default" else f"{bus}/{name}"
    return f"{name}" if bus == "default" else f"{bus}|{name}", {
        "arn": _arn("events", f"rule/{path}")
    }


def _event_source_mapping(
    name: str, inputs: Mapping[str, Any]
) -> tuple[str | None, dict[str, Any]]:
    uuid = _uuid(name)
    return uuid, {
        "uuid": uuid,
        "arn": _arn("lambda", f"event-source-mapping:{uuid}"),
        "functionArn": inputs.get("functionName"),
        "state": "Enabled",
    }


def _subscription(name: str, inputs: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    arn = f"{inputs.get('topic')}:{_uuid(name)}"
    return arn, {"arn": arn}


def _uuid(text: str) -> str:
    digest = stable_id(text, 32)
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _http_api(name: str, inputs: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    api_id = stable_id(name, 10)  # API Gateway's ids are 10 lowercase letters and digits
    return api_id, {
        "arn": f"arn:aws:apigateway:{REGION}::/apis/{api_id}",
        "apiEndpoint": f"https://{api_id}.execute-api.{REGION}.amazonaws.com",
        "executionArn": _arn("execute-api", api_id),
    }


def _api_child(name: str, inputs: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """An integration, route or authorizer: a 7-character id of its own."""
    return stable_id(f"{inputs.get('apiId')}/{name}", 7), {}


def _stage(name: str, inputs: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    api_id = inputs.get("apiId")
    path = "" if name == "$default" else name
    return name, {
        "invokeUrl": f"https://{api_id}.execute-api.{REGION}.amazonaws.com/{path}",
        "executionArn": _arn("execute-api", f"{api_id}/{name}"),
        "arn": f"arn:aws:apigateway:{REGION}::/apis/{api_id}/stages/{name}",
    }


# One row per resource type whose computed outputs the programs read.
COMPUTED_OUTPUTS: dict[str, Computed] = {
    "aws:sqs/queue:Queue": _queue,
    "aws:iam/role:Role": _role,
    "aws:iam/policy:Policy": _policy,
    "aws:lambda/function:Function": _function,
    "aws:lambda/alias:Alias": _alias,
    "aws:codedeploy/application:Application": _codedeploy_application,
    "aws:codedeploy/deploymentGroup:DeploymentGroup": _deployment_group,
    "aws:lambda/layerVersion:LayerVersion": _layer,
    "aws:lambda/functionUrl:FunctionUrl": _function_url,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:sns/topic:Topic": _topic,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:cloudwatch/eventRule:EventRule": _event_rule,
    "aws:lambda/eventSourceMapping:EventSourceMapping": _event_source_mapping,
    "aws:sns/topicSubscription:TopicSubscription": _subscription,
    "aws:apigatewayv2/api:Api": _http_api,
    "aws:apigatewayv2/integration:Integration": _api_child,
    "aws:apigatewayv2/route:Route": _api_child,
    "aws:apigatewayv2/authorizer:Authorizer": _api_child,
    "aws:apigatewayv2/stage:Stage": _stage,
}


def computed_outputs(type_token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict]:
    """The id and outputs AWS would return for a new resource (only what programs read)."""
    physical = physical_name(type_token, inputs) or name
    out: dict[str, Any] = dict(inputs)
    resource_id: str | None = None
    compute = COMPUTED_OUTPUTS.get(type_token)
    if compute is not None:
        resource_id, added = compute(physical, inputs)
        out.update(added)
    elif type_token.startswith("aws:"):
        service = type_token.split(":")[1].split("/")[0]
        out.setdefault("arn", _arn(service, physical))
    return resource_id or f"{physical}-id", out


class PlanMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and provider calls; serves StackReference outputs."""

    def __init__(self, stack_outputs: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.stack_outputs = {k: dict(v) for k, v in (stack_outputs or {}).items()}
        self.references: set[str] = set()  # the stacks the program read

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        if args.typ == STACK_REFERENCE:
            ref = args.inputs.get("name") or args.name
            self.references.add(str(ref))
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
                "id": stable_id(document, 10, digits=True),
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


class _RecordingMonitor(MockMonitor):
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
                ignore_changes=tuple(request.ignoreChanges),
            )
        )
        return response


def _plain(value: Any) -> Any:
    """Strip Pulumi's secret wrappers so tests see plain values."""
    if isinstance(value, dict):
        if SPECIAL_SIG_KEY in value and "value" in value:
            return _plain(value["value"])
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------
# The run: one child process per program
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    """Everything the child needs; the child takes the parent's environment, not its own."""

    project_dir: str
    project: str
    stack: str
    config: dict[str, str]
    stack_outputs: dict[str, dict[str, Any]]
    environ: dict[str, str]
    sys_path: list[str]
    cwd: str


@dataclass(frozen=True)
class _Failure:
    """An exception raised in the child, in a form that survives the trip back."""

    module: str
    qualname: str
    args: tuple[Any, ...]
    state: dict[str, Any]
    message: str
    where: str

    @classmethod
    def of(cls, exc: BaseException) -> _Failure:
        kind = type(exc)
        args, state = exc.args, dict(getattr(exc, "__dict__", {}))
        try:
            pickle.dumps((args, state))
        except Exception:
            args, state = (str(exc),), {}
        return cls(
            kind.__module__,
            kind.__qualname__,
            args,
            state,
            str(exc),
            "".join(traceback.format_exception(exc)),
        )

    def rebuild(self, run: str) -> BaseException:
        """The same exception type, args and attributes; the child's traceback as a note."""
        kind: Any = importlib.import_module(self.module)
        for part in self.qualname.split("."):
            kind = getattr(kind, part, None)
        exc: BaseException
        if isinstance(kind, type) and issubclass(kind, BaseException):
            exc = kind.__new__(kind)
            exc.args = self.args
            exc.__dict__.update(self.state)
        else:
            exc = RuntimeError(f"{self.module}.{self.qualname}: {self.message}")
        exc.add_note(f"raised in the offline run of {run}:\n{self.where}")
        return exc


def _run_here(job: _Job) -> ProgramRun:
    """Run the program in this (fresh) process with the public mock API."""
    mocks = PlanMocks(job.stack_outputs)
    monitor = _RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(
        mocks, project=job.project, stack=job.stack, preview=False, monitor=monitor
    )
    pulumi.runtime.set_all_config(dict(job.config))
    exports: dict[str, Any] = {}

    def program() -> pulumi.Output[None]:
        runpy.run_path(str(Path(job.project_dir) / "__main__.py"), run_name="__main__")
        root = pulumi.runtime.get_root_resource()
        # The stack's exports, resolved once every resource has been registered.
        return pulumi.Output.from_input(getattr(root, "outputs", {})).apply(exports.update)

    pulumi.runtime.test(program)()
    # Registration order depends on when each input resolved; URN order does not.
    resources = sorted(monitor.planned, key=lambda r: r.urn)
    return ProgramRun(job.project, job.stack, resources, _plain(exports), sorted(mocks.references))


def _child(job: _Job, conn: Any) -> None:
    try:
        os.environ.clear()
        os.environ.update(job.environ)
        sys.path[:] = [job.project_dir, *job.sys_path]
        os.chdir(job.cwd)
        conn.send(("ok", _run_here(job)))
    except BaseException as exc:
        conn.send(("error", _Failure.of(exc)))
    finally:
        conn.close()


# ``aws.<module>.`` in the platform's infra code: the pulumi_aws modules a program touches.
_AWS_MODULE_USE = re.compile(r"\baws\.([a-z][a-z0-9_]*)\.")


@functools.cache
def program_modules() -> tuple[str, ...]:
    """What the programs import: the platform's infra modules and the pulumi_aws modules
    they name. :mod:`etl_platform.checks.warm` imports them in the forkserver."""
    infra = importlib.import_module("etl_platform.infra")
    modules = []
    names: set[str] = set()
    for module in pkgutil.walk_packages(infra.__path__, "etl_platform.infra."):
        modules.append(module.name)
        spec = importlib.util.find_spec(module.name)
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            names.update(_AWS_MODULE_USE.findall(Path(spec.origin).read_text(encoding="utf-8")))
    modules += [
        f"pulumi_aws.{name}"
        for name in sorted(names)
        if importlib.util.find_spec(f"pulumi_aws.{name}") is not None
    ]
    return tuple(modules)


def _context() -> Any:
    """Forkserver where there is one (fast: every run forks from a process that has
    imported what the programs use, :mod:`etl_platform.checks.warm`), else spawn."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["etl_platform.checks.warm"])
        return ctx
    return multiprocessing.get_context("spawn")


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
    Errors raised by the program (settings, contract, catalog) are raised here, with
    their type and attributes, and the program's traceback as a note.
    """
    project_dir = project_dir.resolve()
    values = read_stack_config(project_dir, stack) if use_stack_file else {}
    values.update(config or {})
    environ = dict(os.environ)
    if catalog_dir is not None:
        environ[CATALOG_DIR_ENV] = str(catalog_dir)
    job = _Job(
        project_dir=str(project_dir),
        project=project_name(project_dir),
        stack=stack,
        config=values,
        stack_outputs={k: dict(v) for k, v in (stack_outputs or {}).items()},
        environ=environ,
        sys_path=list(sys.path),
        cwd=os.getcwd(),
    )
    ctx = _context()
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(job, send), name=f"offline-{job.project}")
    child.start()
    send.close()
    try:
        status, payload = receive.recv()
    except EOFError:
        child.join()
        raise RuntimeError(
            f"the offline run of {job.project} ({stack}) died with exit code "
            f"{child.exitcode} before reporting; run it alone to see its output"
        ) from None
    finally:
        receive.close()
    child.join()
    if status == "error":
        raise payload.rebuild(f"{job.project} ({stack})")
    result: ProgramRun = payload
    return result
