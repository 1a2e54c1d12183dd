"""The functions: one role, one function and its async config and trigger per catalog entry.

Everything is derived from the catalog entry, the stack's settings and the upstream
stacks' exports; nothing here names a particular function.

- :class:`EtlFunction` (``etl:functions:EtlFunction``): the role
  ``role-<fn>-<suffix>`` (trusted by Lambda only, under the shared permissions
  boundary) with its one inline policy ``policy-<fn>-<suffix>``
  (:mod:`etl_platform.infra.function_policy`), the function ``lambda-<fn>-<suffix>``, its
  asynchronous invoke config (retries, event age), and the trigger that belongs to
  the function alone, built by its row of :data:`TRIGGER_BUILDERS`: a function URL
  (``AWS_IAM``); a schedule (EventBridge rule, target and invoke permission); an event
  source mapping for an ``sqs``, ``dynamodb-stream`` or ``kinesis`` source (partial
  batch responses; streams bisect, bound retries and send what fails to the DLQ); an
  SNS subscription; an ``eventbridge`` rule whose target retries, then dead-letters;
  an ``http-api`` (routes, IAM or JWT auth, a throttled stage logging to its
  pre-created group, its 5xx and latency alarms); or, for ``invoke``, only the
  permission. Every trigger targets :attr:`EtlFunction.target_arn`: the alias ``live``
  (:data:`etl_platform.model.deployment.LIVE_ALIAS`), which serves a published version
  and which CodeDeploy moves (:mod:`etl_platform.infra.components.deployment`); each is
  let in by :meth:`EtlFunction.allow_invoke`.
- :class:`BucketTriggers` (``etl:functions:BucketTriggers``): for every function
  triggered by S3, an invoke permission limited to the bucket and the account, and
  the bucket's one notification configuration listing all of them.
- :func:`read_upstreams`: the shared and observability exports this project needs,
  checked through :class:`etl_platform.infra.upstream.Upstream` (a missing function entry
  fails naming the function and ``nox -s deploy-all``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi import ResourceOptions

from etl_platform.artifacts.packaging import build_function_zip
from etl_platform.infra.components.alarms import metric_alarm, trigger_rules_for
from etl_platform.infra.function_policy import assume_role_document, role_policy_document
from etl_platform.infra.upstream import Upstream
from etl_platform.model.catalog import FunctionSpec
from etl_platform.model.contract import (
    OBSERVABILITY,
    SHARED,
    ObservabilityExports,
    SharedExports,
)
from etl_platform.model.deployment import LIVE_ALIAS
from etl_platform.model.naming import resource_name
from etl_platform.model.resources import Resource
from etl_platform.model.settings import Settings
from etl_platform.model.slo import slo_environment
from etl_platform.model.tags import cost_tags
from etl_platform.model.trigger_sources import (
    DEFAULT_BUS,
    event_bus_name,
    invoke_source_arn,
    rule_name,
    trigger_source,
)
from etl_platform.paths import BUILD_DIR

__all__ = [
    "ACCESS_LOG_FORMAT",
    "BATCH_RESPONSE_TYPES",
    "FUNCTION_BUILD_DIR",
    "HTTP_API_AUTHORIZATION",
    "HTTP_API_PAYLOAD_VERSION",
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
# Every event source mapping: the handler answers {"batchItemFailures": [...]}, so only
# the records that failed are retried (etl_common.batch builds that answer).
BATCH_RESPONSE_TYPES = ("ReportBatchItemFailures",)
# The HTTP API's Lambda proxy payload (the event shape the handler receives).
HTTP_API_PAYLOAD_VERSION = "2.0"
# Catalog `auth` -> the route's authorization type.
HTTP_API_AUTHORIZATION = {"iam": "AWS_IAM", "jwt": "JWT"}
# One JSON line per request in the access log group (API Gateway's $context variables).
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
    "authorizerError": "$context.authorizer.error",
}


# ------------------------------------------------------------------------------ upstreams


@dataclass(frozen=True)
class FunctionUpstream:
    """The upstream values one function is wired to."""

    layer_arn: pulumi.Input[str]
    boundary_arn: pulumi.Input[str]
    dlq_arn: pulumi.Input[str]
    log_group_name: pulumi.Input[str]
    log_group_arn: pulumi.Input[str]
    #: An http-api trigger's: the pre-created access log group, and the alarm topic.
    access_log_group_arn: pulumi.Input[str] | None = None
    alarm_topic_arn: pulumi.Input[str] | None = None


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
    #: Read only when the catalog has an http-api trigger: {function: access log group
    #: ARN} and the alarm topic its API alarms notify.
    access_log_group_arns: pulumi.Output[dict[str, str]] | None = None
    alarm_topic_arn: pulumi.Output[str] | None = None

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
            access_log_group_arn=(
                self.access_log_group_arns[function]
                if spec is not None
                and spec.trigger.type == "http-api"
                and self.access_log_group_arns is not None
                else None
            ),
            alarm_topic_arn=self.alarm_topic_arn,
        )


def read_upstreams(
    settings: Settings,
    functions: Sequence[str],
    *,
    node: bool = False,
    http_apis: Sequence[str] = (),
) -> Upstreams:
    """Read both upstream stacks (same stack name, ``settings.stack_org``).

    ``node``: the catalog has a Node.js function, so the Node layer's export is required.
    ``http_apis``: the functions with an http-api trigger (their access log groups and
    the alarm topic are required).
    """
    shared = Upstream(SHARED, settings.stack_org)
    observability = Upstream(OBSERVABILITY, settings.stack_org)
    return Upstreams(
        access_log_group_arns=(
            observability.per_function(ObservabilityExports.ACCESS_LOG_GROUP_ARNS, http_apis)
            if http_apis
            else None
        ),
        alarm_topic_arn=(
            observability.value(ObservabilityExports.ALARM_TOPIC_ARN) if http_apis else None
        ),
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
    rule: aws.cloudwatch.EventRule | None = None  # a schedule or eventbridge trigger's rule
    mapping: aws.lambda_.EventSourceMapping | None = None  # an sqs or stream trigger's
    api_endpoint: pulumi.Output[str] | None = None  # an http-api trigger's stage URL

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


def _source(fn: EtlFunction, args: EtlFunctionArgs) -> Resource:
    """The ``etl:resources`` entry the trigger consumes (checked for this stack)."""
    source = trigger_source(args.spec, args.settings, pulumi.get_stack())
    if source is None:
        raise ValueError(f"{args.spec.name}: a {args.spec.trigger.type} trigger names no source")
    return source


def _mapping_trigger(fn: EtlFunction, name: str, args: EtlFunctionArgs) -> None:
    """An event source mapping: Lambda polls the queue or stream with the function's role.

    Every mapping reports batch item failures (the handler returns the ids of the records
    that failed, :mod:`etl_common.batch`), so one bad record is retried alone. A stream's
    mapping also bisects a failing batch, bounds retries and record age, and sends what
    is left to the function's DLQ, so a poison record never blocks its shard.
    """
    spec, trigger = args.spec, args.spec.trigger
    mapping = trigger.mapping
    assert mapping is not None
    source = _source(fn, args)
    options: dict[str, Any] = {"batch_size": trigger.option("batch_size")}
    if mapping.stream:
        options.update(
            starting_position=trigger.option("starting_position"),
            maximum_retry_attempts=trigger.option("maximum_retry_attempts"),
            maximum_record_age_in_seconds=trigger.option("maximum_record_age_seconds"),
            bisect_batch_on_function_error=trigger.option("bisect_on_error"),
            destination_config=aws.lambda_.EventSourceMappingDestinationConfigArgs(
                on_failure=aws.lambda_.EventSourceMappingDestinationConfigOnFailureArgs(
                    destination_arn=args.upstream.dlq_arn
                )
            ),
        )
    else:
        concurrency = trigger.option("maximum_concurrency")
        options.update(
            maximum_batching_window_in_seconds=trigger.option("batching_window_seconds"),
            scaling_config=(
                aws.lambda_.EventSourceMappingScalingConfigArgs(maximum_concurrency=concurrency)
                if concurrency is not None
                else None
            ),
        )
    fn.mapping = aws.lambda_.EventSourceMapping(
        f"{name}-{trigger.type}",
        event_source_arn=source.arn,
        function_name=fn.target_arn,
        function_response_types=list(BATCH_RESPONSE_TYPES),
        tags=cost_tags(args.settings, Function=spec.name),
        # Lambda checks at creation that the role may read the source.
        opts=ResourceOptions(parent=fn, depends_on=[fn.policy]),
        **options,
    )


def _sns_trigger(fn: EtlFunction, name: str, args: EtlFunctionArgs) -> None:
    """A subscription to the topic, and a permission for that topic alone (asynchronous)."""
    topic = _source(fn, args)
    permission = fn.allow_invoke(
        f"{name}-sns-permission",
        principal="sns.amazonaws.com",
        source_arn=topic.arn,
        statement_id="AllowSnsTopic",
    )
    aws.sns.TopicSubscription(
        f"{name}-sns",
        topic=topic.arn,
        protocol="lambda",
        endpoint=fn.target_arn,
        filter_policy=args.spec.trigger.option("filter_policy"),
        opts=ResourceOptions(parent=fn, depends_on=[permission]),
    )


def _eventbridge_trigger(fn: EtlFunction, name: str, args: EtlFunctionArgs) -> None:
    """A rule on its bus; the target retries, then sends the event to the function's DLQ.

    The DLQ's queue policy (shared stack) lets this rule, by ARN, send to it
    (:func:`etl_platform.model.trigger_sources.rule_arn`).
    """
    spec, settings, trigger = args.spec, args.settings, args.spec.trigger
    bus = event_bus_name(spec, settings, pulumi.get_stack())
    on_bus = None if bus == DEFAULT_BUS else bus
    fn.rule = aws.cloudwatch.EventRule(
        f"{name}-rule",
        name=rule_name(spec, settings),
        description=f"Invokes {spec.name} ({'on ' + bus if on_bus else 'default bus'})",
        event_bus_name=on_bus,
        event_pattern=trigger.option("pattern"),
        schedule_expression=trigger.option("schedule"),
        tags=cost_tags(settings, Function=spec.name),
        opts=ResourceOptions(parent=fn),
    )
    permission = fn.allow_invoke(
        f"{name}-rule-permission",
        principal="events.amazonaws.com",
        source_arn=fn.rule.arn,
        statement_id="AllowEventBridgeRule",
    )
    aws.cloudwatch.EventTarget(
        f"{name}-rule-target",
        rule=fn.rule.name,
        event_bus_name=on_bus,
        arn=fn.target_arn,
        retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
            maximum_retry_attempts=settings.max_retry_attempts,
            maximum_event_age_in_seconds=settings.max_event_age_seconds,
        ),
        dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(
            arn=args.upstream.dlq_arn
        ),
        opts=ResourceOptions(parent=fn, depends_on=[permission]),
    )


def _route_source_arn(execution_arn: pulumi.Input[str], route_key: str) -> pulumi.Output[str]:
    """``<execution-arn>/*/<METHOD>/<path>``: one route (any stage); ANY and {params} as ``*``."""
    method, path = route_key.split(" ", 1)
    resource_path = re.sub(r"\{[^}]*\}", "*", path)
    return pulumi.Output.concat(
        execution_arn, "/*/", "*" if method == "ANY" else method, resource_path
    )


def _http_api_trigger(fn: EtlFunction, name: str, args: EtlFunctionArgs) -> None:
    """An HTTP API: routes to the function, IAM or JWT auth, a throttled, logged stage.

    Its alarms (:func:`etl_platform.infra.components.alarms.trigger_rules_for`) are
    built here, where the API's id is known.
    """
    spec, settings, trigger, upstream = args.spec, args.settings, args.spec.trigger, args.upstream
    if upstream.access_log_group_arn is None or upstream.alarm_topic_arn is None:
        raise ValueError(
            f"{spec.name} has an http-api trigger but its access log group and the alarm "
            "topic were not read; pass http_apis=[...] to read_upstreams"
        )
    tags = cost_tags(settings, Function=spec.name)
    child = ResourceOptions(parent=fn)
    api = aws.apigatewayv2.Api(
        f"{name}-api",
        name=resource_name("api", spec.name, settings.suffix),
        description=f"HTTP API of {spec.name}: {', '.join(trigger.option('routes'))}",
        protocol_type="HTTP",
        tags=tags,
        opts=child,
    )
    integration = aws.apigatewayv2.Integration(
        f"{name}-integration",
        api_id=api.id,
        integration_type="AWS_PROXY",
        integration_uri=fn.target_arn,
        payload_format_version=HTTP_API_PAYLOAD_VERSION,
        timeout_milliseconds=spec.timeout * 1000,
        opts=child,
    )
    authorizer = None
    if trigger.option("auth") == "jwt":
        authorizer = aws.apigatewayv2.Authorizer(
            f"{name}-authorizer",
            api_id=api.id,
            name=resource_name("api", f"{spec.name}-jwt", settings.suffix),
            authorizer_type="JWT",
            identity_sources=["$request.header.Authorization"],
            jwt_configuration=aws.apigatewayv2.AuthorizerJwtConfigurationArgs(
                issuer=trigger.option("issuer"), audiences=[trigger.option("audience")]
            ),
            opts=child,
        )
    routes = [
        aws.apigatewayv2.Route(
            f"{name}-route-{index}",
            api_id=api.id,
            route_key=route_key,
            target=pulumi.Output.concat("integrations/", integration.id),
            authorization_type=HTTP_API_AUTHORIZATION[trigger.option("auth")],
            authorizer_id=authorizer.id if authorizer is not None else None,
            opts=child,
        )
        for index, route_key in enumerate(trigger.option("routes"))
    ]
    for index, route_key in enumerate(trigger.option("routes")):
        fn.allow_invoke(
            f"{name}-route-{index}-permission",
            principal="apigateway.amazonaws.com",
            source_arn=_route_source_arn(api.execution_arn, route_key),
            statement_id=f"AllowHttpApiRoute{index}",
        )
    stage = aws.apigatewayv2.Stage(
        f"{name}-stage",
        api_id=api.id,
        name="$default",
        auto_deploy=True,
        default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
            throttling_rate_limit=trigger.option("throttle_rate"),
            throttling_burst_limit=trigger.option("throttle_burst"),
        ),
        access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
            destination_arn=upstream.access_log_group_arn,
            format=json.dumps(ACCESS_LOG_FORMAT, separators=(",", ":")),
        ),
        tags=tags,
        opts=ResourceOptions(parent=fn, depends_on=routes),
    )
    fn.api_endpoint = stage.invoke_url
    for rule in trigger_rules_for(spec):
        metric_alarm(
            fn, f"{name}-{rule.what}", rule, spec, settings, upstream.alarm_topic_arn, api.id
        )


def _invoke_trigger(fn: EtlFunction, name: str, args: EtlFunctionArgs) -> None:
    """Only a permission: an existing service resource (a REST API...) invokes the function."""
    source = _source(fn, args)
    fn.allow_invoke(
        f"{name}-invoke-permission",
        principal=args.spec.trigger.option("principal"),
        source_arn=invoke_source_arn(source),
        statement_id="AllowExistingSource",
    )


def _nothing_of_its_own(fn: EtlFunction, name: str, args: EtlFunctionArgs) -> None:
    """``none``: invoked directly; ``s3``: wired by :class:`BucketTriggers` (one per bucket)."""


#: Trigger type -> what it adds beside the function (one row per ``TRIGGER_TYPES`` row).
TRIGGER_BUILDERS: dict[str, TriggerBuilder] = {
    "url": _url_trigger,
    "schedule": _schedule_trigger,
    "s3": _nothing_of_its_own,
    "none": _nothing_of_its_own,
    "sqs": _mapping_trigger,
    "dynamodb-stream": _mapping_trigger,
    "kinesis": _mapping_trigger,
    "sns": _sns_trigger,
    "eventbridge": _eventbridge_trigger,
    "http-api": _http_api_trigger,
    "invoke": _invoke_trigger,
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
