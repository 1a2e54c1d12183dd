"""The functions: one role, one function and its async config and trigger per catalog entry.

Everything is derived from the catalog entry, the stack's settings and the upstream
stacks' exports; nothing here names a particular function.

- :class:`EtlFunction` (``etl:functions:EtlFunction``): the role
  ``role-<fn>-<suffix>`` (trusted by Lambda only, under the shared permissions
  boundary) with its one inline policy ``policy-<fn>-<suffix>``
  (:mod:`etl_platform.infra.function_policy`), the function ``lambda-<fn>-<suffix>``, its
  asynchronous invoke config (retries, event age), and the trigger that belongs to
  the function alone, built by its row of :data:`TRIGGER_BUILDERS`: a function URL
  (``AWS_IAM``) or a schedule (EventBridge rule, target and invoke permission). Every
  trigger targets :attr:`EtlFunction.target_arn`: the alias ``live``
  (:data:`etl_platform.model.deployment.LIVE_ALIAS`), which serves a published version
  and which CodeDeploy moves (:mod:`etl_platform.infra.components.deployment`).
- :class:`BucketTriggers` (``etl:functions:BucketTriggers``): for every function
  triggered by S3, an invoke permission limited to the bucket and the account, and
  the bucket's one notification configuration listing all of them.
- :func:`read_upstreams`: the shared and observability exports this project needs,
  checked through :class:`etl_platform.model.contract.Upstream` (a missing function entry
  fails naming the function and ``nox -s deploy-all``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws
from pulumi import ResourceOptions

from etl_platform.artifacts.packaging import build_function_zip
from etl_platform.infra.function_policy import assume_role_document, role_policy_document
from etl_platform.model.catalog import FunctionSpec
from etl_platform.model.contract import (
    OBSERVABILITY,
    SHARED,
    ObservabilityExports,
    SharedExports,
    Upstream,
)
from etl_platform.model.deployment import LIVE_ALIAS
from etl_platform.model.naming import resource_name
from etl_platform.model.settings import Settings
from etl_platform.model.slo import slo_environment
from etl_platform.model.tags import cost_tags
from etl_platform.paths import BUILD_DIR

__all__ = [
    "FUNCTION_BUILD_DIR",
    "S3_EVENTS",
    "TRIGGER_BUILDERS",
    "URL_AUTH_TYPE",
    "BucketTriggers",
    "BucketTriggersArgs",
    "EtlFunction",
    "EtlFunctionArgs",
    "FunctionUpstream",
    "Upstreams",
    "environment_variables",
    "read_upstreams",
]

FUNCTION_BUILD_DIR = BUILD_DIR / "functions"
URL_AUTH_TYPE = "AWS_IAM"  # never NONE: callers sign requests with SigV4
S3_EVENTS = ("s3:ObjectCreated:*",)
SYSTEM_LOG_LEVEL = "INFO"
# Lambda stops a recursive loop (S3 -> Lambda -> S3) after about 16 invocations when this
# is "Terminate"; the platform says so explicitly rather than rely on the account default
# (pulumi-aws: aws.lambda_.FunctionRecursionConfig, recursive_loop "Allow" | "Terminate").
RECURSIVE_LOOP = "Terminate"


# ------------------------------------------------------------------------------ upstreams


@dataclass(frozen=True)
class FunctionUpstream:
    """The upstream values one function is wired to."""

    layer_arn: pulumi.Input[str]
    boundary_arn: pulumi.Input[str]
    dlq_arn: pulumi.Input[str]
    log_group_name: pulumi.Input[str]
    log_group_arn: pulumi.Input[str]


@dataclass(frozen=True)
class Upstreams:
    """What the shared and observability stacks export, already checked against the catalog."""

    layer_arn: pulumi.Output[str]
    boundary_arn: pulumi.Output[str]
    dlq_arns: pulumi.Output[dict[str, str]]
    log_group_names: pulumi.Output[dict[str, str]]
    log_group_arns: pulumi.Output[dict[str, str]]
    #: The Node layer; read only when the catalog has a Node.js function.
    node_layer_arn: pulumi.Output[str] | None = None

    def layer_for(self, spec: FunctionSpec) -> pulumi.Output[str]:
        """The platform layer of the function's language."""
        if not spec.is_node:
            return self.layer_arn
        if self.node_layer_arn is None:
            raise ValueError(
                f"{spec.name} is a Node.js function but the Node layer was not read; pass "
                "node=True to read_upstreams"
            )
        return self.node_layer_arn

    def for_function(self, function: str, spec: FunctionSpec | None = None) -> FunctionUpstream:
        return FunctionUpstream(
            layer_arn=self.layer_arn if spec is None else self.layer_for(spec),
            boundary_arn=self.boundary_arn,
            dlq_arn=self.dlq_arns[function],
            log_group_name=self.log_group_names[function],
            log_group_arn=self.log_group_arns[function],
        )


def read_upstreams(
    settings: Settings, functions: Sequence[str], *, node: bool = False
) -> Upstreams:
    """Read both upstream stacks (same stack name, ``settings.stack_org``).

    ``node``: the catalog has a Node.js function, so the Node layer's export is required.
    """
    shared = Upstream(SHARED, settings.stack_org)
    observability = Upstream(OBSERVABILITY, settings.stack_org)
    return Upstreams(
        node_layer_arn=shared.value(SharedExports.NODE_LAYER_ARN) if node else None,
        layer_arn=shared.value(SharedExports.LAYER_ARN),
        boundary_arn=shared.value(SharedExports.BOUNDARY_ARN),
        dlq_arns=shared.per_function(SharedExports.DLQ_ARNS, functions),
        log_group_names=observability.per_function(ObservabilityExports.LOG_GROUP_NAMES, functions),
        log_group_arns=observability.per_function(ObservabilityExports.LOG_GROUP_ARNS, functions),
    )


# ------------------------------------------------------------------------------- function


def environment_variables(
    spec: FunctionSpec, settings: Settings, bucket_name: pulumi.Input[str]
) -> dict[str, pulumi.Input[str]]:
    """The function's environment: the platform's variables plus the catalog's extras."""
    variables: dict[str, pulumi.Input[str]] = {
        **spec.environment,
        "DATA_BUCKET": bucket_name,
        "LOG_LEVEL": settings.log_level,
        "ETL_ENVIRONMENT": settings.environment,
        **slo_environment(spec, settings),
    }
    if spec.database:
        variables["MAX_CONNECTIONS"] = str(spec.max_connections)
        variables["DB_SECRET_ARN"] = settings.database_secret_arn or ""
    return variables


@dataclass(frozen=True)
class EtlFunctionArgs:
    """One catalog entry with everything it is wired to."""

    spec: FunctionSpec
    settings: Settings
    upstream: FunctionUpstream
    account_id: pulumi.Input[str]
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    build_dir: Path = field(default=FUNCTION_BUILD_DIR)


class EtlFunction(pulumi.ComponentResource):
    """A fully configured function: role, policy, function, async config, own trigger."""

    spec: FunctionSpec
    role: aws.iam.Role
    function: aws.lambda_.Function
    url: aws.lambda_.FunctionUrl | None
    rule: aws.cloudwatch.EventRule | None = None  # a schedule trigger's rule

    def __init__(
        self, name: str, args: EtlFunctionArgs, opts: ResourceOptions | None = None
    ) -> None:
        super().__init__("etl:functions:EtlFunction", name, None, opts)
        spec, settings, upstream = args.spec, args.settings, args.upstream
        self.spec = spec
        tags = cost_tags(settings, Function=spec.name)

        self.role = aws.iam.Role(
            f"{name}-role",
            name=resource_name("role", spec.name, settings.suffix),
            description=f"Execution role of {spec.name}: only what its catalog entry needs",
            assume_role_policy=assume_role_document(),
            permissions_boundary=upstream.boundary_arn,
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy",
            name=resource_name("policy", spec.name, settings.suffix),
            role=self.role.id,
            policy=role_policy_document(
                spec,
                settings,
                bucket_arn=args.bucket_arn,
                log_group_arn=upstream.log_group_arn,
                dlq_arn=upstream.dlq_arn,
                account_id=args.account_id,
            ),
            opts=ResourceOptions(parent=self),
        )

        artifact = build_function_zip(  # Python functions ship pycs for the stack's runtime
            spec.code_dir,
            args.build_dir,
            python_version=settings.python_version if spec.runtime is None else None,
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=resource_name("lambda", spec.name, settings.suffix),
            description=spec.description,
            role=self.role.arn,
            runtime=spec.runtime_on(settings.runtime),
            architectures=[settings.architecture],
            handler=spec.handler,
            code=pulumi.FileArchive(str(artifact.path)),
            source_code_hash=artifact.base64_sha256,
            memory_size=spec.memory_size,
            timeout=spec.timeout,
            layers=[
                upstream.layer_arn,
                *([settings.otel_collector_layer_arn] if settings.tracing == "otel" else []),
            ],
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables=environment_variables(spec, settings, args.bucket_name)
            ),
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON",
                log_group=upstream.log_group_name,
                application_log_level=settings.log_level,
                system_log_level=SYSTEM_LOG_LEVEL,
            ),
            dead_letter_config=aws.lambda_.FunctionDeadLetterConfigArgs(
                target_arn=upstream.dlq_arn
            ),
            reserved_concurrent_executions=(
                spec.reserved_concurrency if settings.reserved_concurrency else None
            ),
            vpc_config=(
                aws.lambda_.FunctionVpcConfigArgs(
                    subnet_ids=list(settings.vpc_subnet_ids),
                    security_group_ids=list(settings.vpc_security_group_ids),
                )
                if spec.database and settings.uses_vpc
                else None
            ),
            tags=tags,
            # Every change publishes a version: the alias serves versions only (and SnapStart,
            # catalog `snap_start`, snapshots published versions).
            publish=True,
            snap_start=(
                aws.lambda_.FunctionSnapStartArgs(apply_on="PublishedVersions")
                if spec.snap_start
                else None
            ),
            # Lambda checks at creation that the role may send to the DLQ and manage ENIs.
            opts=ResourceOptions(parent=self, depends_on=[self.policy]),
        )
        self.name = self.function.name
        self.arn = self.function.arn
        self.recursion = aws.lambda_.FunctionRecursionConfig(
            f"{name}-recursion",
            function_name=self.function.name,
            recursive_loop=RECURSIVE_LOOP,
            opts=ResourceOptions(parent=self),
        )

        self.url = None
        # What every caller invokes. Created on the first published version; after that
        # Pulumi never moves it (ignore_changes): CodeDeploy shifts it to each new version
        # (etl_platform.ops.release, started by `nox -s deploy-all`) and back on an alarm.
        self.alias = aws.lambda_.Alias(
            f"{name}-alias",
            name=LIVE_ALIAS,
            description=(
                "The version callers get; CodeDeploy moves it to each newly published one"
            ),
            function_name=self.function.name,
            function_version=self.function.version,
            opts=ResourceOptions(parent=self, ignore_changes=["functionVersion", "routingConfig"]),
        )
        self.version = self.function.version  # the version this deploy published
        self.invoke_config = aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-async",
            function_name=self.function.name,
            qualifier=self.qualifier,  # asynchronous events arrive through the alias
            maximum_retry_attempts=settings.max_retry_attempts,
            maximum_event_age_in_seconds=settings.max_event_age_seconds,
            opts=ResourceOptions(parent=self),
        )

        TRIGGER_BUILDERS[spec.trigger.type](self, name, args)

        self.register_outputs(
            {
                "name": self.name,
                "arn": self.arn,
                "aliasArn": self.alias.arn,
                "version": self.version,
                "roleArn": self.role.arn,
                "url": self.url.function_url if self.url else None,
            }
        )

    @property
    def qualifier(self) -> pulumi.Output[str]:
        """The alias every trigger, permission, URL and async config targets (never $LATEST)."""
        return self.alias.name

    @property
    def target_arn(self) -> pulumi.Output[str]:
        """What every trigger invokes: the alias's ARN (``<function ARN>:live``)."""
        return self.alias.arn

    def allow_invoke(
        self,
        name: str,
        *,
        principal: str,
        source_arn: pulumi.Input[str],
        statement_id: str,
        source_account: pulumi.Input[str] | None = None,
        parent: pulumi.Resource | None = None,
    ) -> aws.lambda_.Permission:
        """A resource-policy statement letting ``principal`` (from ``source_arn``) invoke it."""
        return aws.lambda_.Permission(
            name,
            action="lambda:InvokeFunction",
            function=self.function.name,
            qualifier=self.qualifier,
            principal=principal,
            source_arn=source_arn,
            source_account=source_account,
            statement_id=statement_id,
            opts=ResourceOptions(parent=parent or self),
        )


# ------------------------------------------------------------------------------ the triggers
#
# One builder per catalog trigger type (``etl_platform.model.catalog.TRIGGER_TYPES``): it
# adds what that trigger needs beside the function, always aimed at ``fn.target_arn`` /
# ``fn.qualifier``. A new trigger type is one catalog row and one builder here.

TriggerBuilder = Callable[[EtlFunction, str, EtlFunctionArgs], None]


def _url_trigger(fn: EtlFunction, name: str, args: EtlFunctionArgs) -> None:
    """A function URL that only SigV4-signed callers may use."""
    fn.url = aws.lambda_.FunctionUrl(
        f"{name}-url",
        function_name=fn.function.name,
        qualifier=fn.qualifier,
        authorization_type=URL_AUTH_TYPE,
        opts=ResourceOptions(parent=fn),
    )


def _schedule_trigger(fn: EtlFunction, name: str, args: EtlFunctionArgs) -> None:
    """An EventBridge rule invoking the function (asynchronously: retries and DLQ apply)."""
    spec, settings = args.spec, args.settings
    fn.rule = aws.cloudwatch.EventRule(
        f"{name}-schedule",
        name=resource_name("schedule", spec.name, settings.suffix),
        description=f"Invokes {spec.name} on {spec.trigger.expression}",
        schedule_expression=spec.trigger.expression,
        tags=cost_tags(settings, Function=spec.name),
        opts=ResourceOptions(parent=fn),
    )
    # The rule's ARN names this account and region already: no SourceAccount (the form
    # of AWS's EventBridge-to-Lambda documentation).
    permission = fn.allow_invoke(
        f"{name}-schedule-permission",
        principal="events.amazonaws.com",
        source_arn=fn.rule.arn,
        statement_id="AllowEventBridgeSchedule",
    )
    aws.cloudwatch.EventTarget(
        f"{name}-schedule-target",
        rule=fn.rule.name,
        arn=fn.target_arn,
        opts=ResourceOptions(parent=fn, depends_on=[permission]),
    )


def _nothing_of_its_own(fn: EtlFunction, name: str, args: EtlFunctionArgs) -> None:
    """``none``: invoked directly; ``s3``: wired by :class:`BucketTriggers` (one per bucket)."""


#: Trigger type -> what it adds beside the function (one row per ``TRIGGER_TYPES`` row).
TRIGGER_BUILDERS: dict[str, TriggerBuilder] = {
    "url": _url_trigger,
    "schedule": _schedule_trigger,
    "s3": _nothing_of_its_own,
    "none": _nothing_of_its_own,
}


# ------------------------------------------------------------------------------- triggers


@dataclass(frozen=True)
class BucketTriggersArgs:
    """The bucket and the functions; only those with an ``s3`` trigger are wired."""

    bucket_id: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]
    functions: Mapping[str, EtlFunction]


class BucketTriggers(pulumi.ComponentResource):
    """Invoke permissions (no confused deputy) and the bucket's one notification config."""

    notification: aws.s3.BucketNotification | None

    def __init__(
        self, name: str, args: BucketTriggersArgs, opts: ResourceOptions | None = None
    ) -> None:
        super().__init__("etl:functions:BucketTriggers", name, None, opts)
        triggered = [fn for _, fn in sorted(args.functions.items()) if fn.spec.trigger.type == "s3"]
        permissions = [
            fn.allow_invoke(
                f"{name}-{fn.spec.name}-permission",
                principal="s3.amazonaws.com",
                source_arn=args.bucket_arn,
                source_account=args.account_id,
                statement_id="AllowDataBucketNotification",
                parent=self,
            )
            for fn in triggered
        ]
        self.notification = None
        if triggered:
            # One per bucket: S3 keeps a single notification configuration, so a second
            # BucketNotification would silently replace the first.
            self.notification = aws.s3.BucketNotification(
                f"{name}-notification",
                bucket=args.bucket_id,
                lambda_functions=[
                    aws.s3.BucketNotificationLambdaFunctionArgs(
                        id=fn.spec.name,
                        lambda_function_arn=fn.target_arn,
                        events=list(S3_EVENTS),
                        filter_prefix=fn.spec.trigger.prefix,
                    )
                    for fn in triggered
                ],
                # S3 test-invokes each function when saving the config: permissions first.
                opts=ResourceOptions(parent=self, depends_on=permissions),
            )
        self.register_outputs(
            {"functions": [fn.spec.name for fn in triggered]},
        )
