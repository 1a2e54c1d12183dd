"""Rules on Lambda functions, their layer, invoke configs, URLs and permissions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from etl_platform.artifacts.layers import layer_export, layer_folder
from etl_platform.checks.rules.model import Context, Resource, Rule, is_sequence
from etl_platform.checks.rules.types import (
    EVENT_SOURCE_MAPPING,
    FUNCTION,
    FUNCTION_URL,
    HTTP_API_STAGE,
    INVOKE_CONFIG,
    LAYER_VERSION,
    LOG_GROUP,
    PERMISSION,
)
from etl_platform.model.naming import log_group_name, resource_name
from etl_platform.model.runtimes import DEFAULT_NODE_RUNTIME, DEFAULT_RUNTIME, NODEJS, check_runtime

__all__ = ["RULES"]

# Lambda's value for "no reserved concurrency".
UNRESERVED = -1

# Where each language's runtime is set: the stack's config, or the function's entry.
_RUNTIME_HOME = {
    NODEJS: f'runtime = "{DEFAULT_NODE_RUNTIME}" in lambdas/<function>/function.toml',
}
_PYTHON_RUNTIME_HOME = f"config etl:runtime (default {DEFAULT_RUNTIME})"


def check_runtime_supported(resource: Resource, context: Context) -> Iterator[str]:
    """Functions and layers use a supported runtime of their language, never a deprecated one."""
    language: str | None = None
    if resource.type == FUNCTION:
        runtimes = [resource.props.get("runtime")]
        spec = context.function_for(resource)
        language = spec.language if spec is not None else None
    else:
        runtimes = list(resource.props.get("compatibleRuntimes") or [None])
    home = _RUNTIME_HOME.get(language or "", _PYTHON_RUNTIME_HOME)
    for runtime in runtimes:
        if not isinstance(runtime, str) or not runtime:
            yield f"has no runtime set. Fix: set it from {home}"
            continue
        why = check_runtime(runtime, context.today, language=language)
        if why:
            yield f"{why}. Fix: {home}"


def check_platform_layer(resource: Resource, context: Context) -> Iterator[str]:
    """Each function carries its language's platform layer (third-party code lives there)."""
    spec = context.function_for(resource)
    if spec is None:
        return  # lambda-profile reports functions outside the catalog
    raw = resource.props.get("layers") or []
    layers = list(raw) if is_sequence(raw) else []
    if any(not isinstance(arn, str) for arn in layers):
        return  # not known yet
    wanted = ":layer:" + resource_name("layer", layer_folder(spec.language), "")
    if not any(wanted in arn for arn in layers):
        yield (
            f"does not carry the {spec.language} platform layer ({wanted.removeprefix(':layer:')}"
            f"<suffix>); layers: {layers or 'none'}. Fix: layers=[the shared stack's "
            f"{layer_export(spec.language)} export] (Upstreams.layer_for)"
        )


def check_max_connections(resource: Resource, context: Context) -> Iterator[str]:
    """Database functions get MAX_CONNECTIONS from the catalog (one value, any language)."""
    spec = context.function_for(resource)
    if spec is None or spec.max_connections is None:
        return
    value = resource.get("environment.variables.MAX_CONNECTIONS")
    if value is not None and not isinstance(value, str):
        return  # unknown at preview
    if value != str(spec.max_connections):
        yield (
            f"is a database function but MAX_CONNECTIONS is {value!r}, not "
            f"'{spec.max_connections}'. Fix: set it from FunctionSpec.max_connections "
            "(etl_platform.infra.components.functions.environment_variables)"
        )


def check_profile(resource: Resource, context: Context) -> Iterator[str]:
    """Memory, timeout and reserved concurrency come from the function's catalog profile."""
    spec = context.function_for(resource)
    if spec is None:
        known = ", ".join(context.function_catalog().names)
        yield (
            "matches no catalog function (names are lambda-<function>-<suffix>; catalog: "
            f"{known}). Fix: add lambdas/<function>/function.toml and derive the function "
            "from the catalog"
        )
        return
    memory = resource.props.get("memorySize")
    if memory != spec.memory_size:
        yield (
            f"memorySize is {memory if memory is not None else 'unset (128 MB)'}, but catalog "
            f"entry '{spec.name}' has size = \"{spec.size}\" = {spec.memory_size} MB. Fix: set "
            "memory_size from FunctionSpec.memory_size"
        )
    timeout = resource.props.get("timeout")
    if timeout != spec.timeout:
        yield (
            f"timeout is {timeout if timeout is not None else 'unset (3 s)'}, but catalog entry "
            f"'{spec.name}' has kind = \"{spec.kind}\" = {spec.timeout} s. Fix: set timeout "
            "from FunctionSpec.timeout"
        )
    reserved = resource.props.get("reservedConcurrentExecutions")
    allowed = {None, UNRESERVED, spec.reserved_concurrency}
    if reserved not in allowed:
        want = (
            f"{spec.reserved_concurrency} (critical) or unset"
            if spec.critical
            else "unset (it is not critical)"
        )
        yield (
            f"reservedConcurrentExecutions is {reserved}; catalog entry '{spec.name}' allows "
            f"{want}, never more. Fix: set reserved_concurrent_executions from "
            "FunctionSpec.reserved_concurrency (None when etl:reservedConcurrency is false)"
        )


def check_tracing(resource: Resource, context: Context) -> Iterator[str]:
    """X-Ray active tracing on every function."""
    mode = resource.get("tracingConfig.mode")
    if mode != "Active":
        yield (
            f"tracing mode is {mode or 'unset (PassThrough)'}, not Active. Fix: "
            'tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active")'
        )


def check_dead_letter_queue(resource: Resource, context: Context) -> Iterator[str]:
    """Every function sends failed async events to its DLQ."""
    target = resource.get("deadLetterConfig.targetArn")
    if not isinstance(target, str) or not target:
        yield (
            "has no dead-letter queue (deadLetterConfig.targetArn unset): failed async events "
            "are lost. Fix: dead_letter_config with the function's DLQ ARN from the shared "
            "stack (export dlqArns)"
        )


def check_json_logging(resource: Resource, context: Context) -> Iterator[str]:
    """Logs are JSON and go to the function's pre-created log group."""
    fmt = resource.get("loggingConfig.logFormat")
    if fmt != "JSON":
        yield (
            f"log format is {fmt or 'unset (Text)'}, not JSON. Fix: "
            'logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", ...)'
        )
    group = resource.get("loggingConfig.logGroup")
    expected = log_group_name(resource.physical_name)
    if group is not None and group != expected:
        yield (
            f"logs to {group!r}, not its pre-created log group {expected!r} (which carries "
            "the retention). Fix: use the observability stack's logGroupNames export"
        )


def _function_keys(function: Resource) -> set[str]:
    keys = {function.physical_name}
    for key in ("arn", "id"):
        value = function.props.get(key)
        if isinstance(value, str) and value:
            keys.add(value)
    return keys


def check_async_retries(
    resources: Sequence[Resource], context: Context
) -> Iterator[tuple[Resource, str]]:
    """Every function has a FunctionEventInvokeConfig with retries set."""
    configs = [r for r in resources if r.type == INVOKE_CONFIG]
    for function in (r for r in resources if r.type == FUNCTION):
        keys = _function_keys(function)
        mine = [c for c in configs if c.props.get("functionName") in keys]
        if not mine:
            yield (
                function,
                "has no FunctionEventInvokeConfig: async retries and event age are left to "
                "AWS defaults. Fix: add aws.lambda_.FunctionEventInvokeConfig(function_name="
                "<function>.name, maximum_retry_attempts=settings.max_retry_attempts, "
                "maximum_event_age_in_seconds=settings.max_event_age_seconds)",
            )
        elif all(c.props.get("maximumRetryAttempts") is None for c in mine):
            yield (
                function,
                "has a FunctionEventInvokeConfig without maximumRetryAttempts. Fix: set "
                "maximum_retry_attempts=settings.max_retry_attempts",
            )


def check_log_group_exists(
    resources: Sequence[Resource], context: Context
) -> Iterator[tuple[Resource, str]]:
    """Across all three stacks, every function's log group is created by the platform."""
    groups = {r.physical_name for r in resources if r.type == LOG_GROUP}
    for function in (r for r in resources if r.type == FUNCTION):
        group = function.get("loggingConfig.logGroup") or log_group_name(function.physical_name)
        if group not in groups:
            yield (
                function,
                f"has no pre-created log group {group!r}: Lambda would create one that never "
                "expires. Fix: the observability stack creates one log group per catalog function",
            )


def check_url_auth(resource: Resource, context: Context) -> Iterator[str]:
    """Function URLs require SigV4 (AWS_IAM); NONE makes the function public."""
    auth = resource.props.get("authorizationType")
    if auth != "AWS_IAM":
        yield (
            f"authorizationType is {auth!r}: anyone on the internet can invoke it. Fix: "
            'authorization_type="AWS_IAM" (clients sign requests with SigV4)'
        )


def check_permission_source(resource: Resource, context: Context) -> Iterator[str]:
    """A Lambda permission for a service names its source (and S3 its account)."""
    principal = resource.props.get("principal")
    if principal == "*":
        yield (
            "grants invoke to principal '*' (everyone). Fix: name the service or account "
            "that invokes it"
        )
        return
    if not isinstance(principal, str) or not principal.endswith(".amazonaws.com"):
        return
    if not resource.props.get("sourceArn"):
        yield (
            f"lets {principal} invoke the function from any resource, in any account (no "
            "sourceArn): the confused-deputy problem. Fix: source_arn=<the bucket's/rule's .arn>"
        )
    if principal == "s3.amazonaws.com" and not resource.props.get("sourceAccount"):
        yield (
            "lets s3.amazonaws.com invoke the function without sourceAccount: bucket ARNs carry "
            "no account id, so another account's bucket of that name could invoke it. Fix: "
            "source_account=<the account id (aws.get_caller_identity_output().account_id)>"
        )


def _is_stream(source: object) -> bool:
    """A DynamoDB stream or Kinesis stream ARN (its records are read by shard, in order)."""
    return isinstance(source, str) and (
        ":kinesis:" in source or (":dynamodb:" in source and "/stream/" in source)
    )


def check_mapping_failure_handling(resource: Resource, context: Context) -> Iterator[str]:
    """Mappings report batch item failures; stream mappings also bisect, bound and divert."""
    types = resource.props.get("functionResponseTypes") or []
    if "ReportBatchItemFailures" not in (list(types) if is_sequence(types) else []):
        yield (
            "does not report batch item failures: one bad record fails (and retries) the "
            'whole batch. Fix: function_response_types=["ReportBatchItemFailures"] and a '
            "handler that returns {'batchItemFailures': [...]} (etl_common.batch)"
        )
    source = resource.props.get("eventSourceArn")
    if not _is_stream(source):
        return
    if resource.props.get("bisectBatchOnFunctionError") is not True:
        yield (
            "reads a stream without bisect_batch_on_function_error: a failing batch is "
            "retried whole. Fix: bisect_on_error = true in the trigger (the default)"
        )
    if not resource.get("destinationConfig.onFailure.destinationArn"):
        yield (
            "reads a stream without an on-failure destination: a poison record is dropped "
            "without trace when its retries end. Fix: destination_config.on_failure = the "
            "function's DLQ (the shared stack's dlqArns)"
        )
    for key, setting in (
        ("maximumRetryAttempts", "maximum_retry_attempts"),
        ("maximumRecordAgeInSeconds", "maximum_record_age_seconds"),
    ):
        value = resource.props.get(key)
        if value is None or value == -1:
            yield (
                f"reads a stream with {key} {'unset' if value is None else -1} (infinite): a "
                f"poison record blocks its shard until it expires. Fix: set {setting} in "
                "the trigger"
            )


def check_http_api_stage(resource: Resource, context: Context) -> Iterator[str]:
    """HTTP API stages are throttled and write access logs to a pre-created group."""
    settings = resource.props.get("defaultRouteSettings") or {}
    for key in ("throttlingRateLimit", "throttlingBurstLimit"):
        if not settings.get(key):
            yield (
                f"has no default {key}: one client can exhaust the account's API Gateway and "
                "Lambda concurrency. Fix: throttle_rate and throttle_burst in the trigger"
            )
    if not resource.get("accessLogSettings.destinationArn"):
        yield (
            "writes no access logs: a 5xx cannot be traced to its request. Fix: "
            "access_log_settings with the observability stack's accessLogGroupArns export"
        )


RULES: tuple[Rule, ...] = (
    Rule(
        "lambda-runtime-supported",
        "Functions and layers use a supported runtime of their catalog language (Python: "
        "the stack's etl:runtime; Node.js: the entry's runtime); one past its AWS "
        "deprecation date is refused with its replacement and the days since "
        "(dates: the runtime calendar, data/lambda_runtimes.json, from AWS's runtimes page).",
        "resource",
        check_runtime_supported,
        frozenset({FUNCTION, LAYER_VERSION}),
    ),
    Rule(
        "lambda-platform-layer",
        "Every function carries its language's platform layer (layer-etl-common or "
        "layer-etl-node), where its third-party packages live.",
        "resource",
        check_platform_layer,
        frozenset({FUNCTION}),
    ),
    Rule(
        "lambda-max-connections",
        "Database functions (Python or Node.js) get MAX_CONNECTIONS from the catalog.",
        "resource",
        check_max_connections,
        frozenset({FUNCTION}),
    ),
    Rule(
        "lambda-profile",
        "Memory and timeout match the function's catalog profile; reserved concurrency "
        "is 5 (critical) or unset, never above.",
        "resource",
        check_profile,
        frozenset({FUNCTION}),
    ),
    Rule(
        "lambda-tracing-active",
        "X-Ray tracing mode is Active on every function.",
        "resource",
        check_tracing,
        frozenset({FUNCTION}),
    ),
    Rule(
        "lambda-dead-letter-queue",
        "Every function has a dead-letter queue (deadLetterConfig.targetArn).",
        "resource",
        check_dead_letter_queue,
        frozenset({FUNCTION}),
    ),
    Rule(
        "lambda-async-retries",
        "Every function has a FunctionEventInvokeConfig that sets its async retries.",
        "stack",
        check_async_retries,
    ),
    Rule(
        "lambda-json-logs",
        "Functions log JSON into their own log group /aws/lambda/<function-name>.",
        "resource",
        check_json_logging,
        frozenset({FUNCTION}),
    ),
    Rule(
        "lambda-log-group-precreated",
        "Every function's log group is created (with retention) by the platform; checked "
        "over all three stacks together (the plan), not stack by stack.",
        "stack",
        check_log_group_exists,
        whole_platform=True,
    ),
    Rule(
        "lambda-url-auth",
        "Function URLs use authorization type AWS_IAM, never NONE.",
        "resource",
        check_url_auth,
        frozenset({FUNCTION_URL}),
    ),
    Rule(
        "lambda-permission-source",
        "Every Lambda permission for a service principal carries sourceArn (and "
        "sourceAccount for s3.amazonaws.com); none for principal '*'.",
        "resource",
        check_permission_source,
        frozenset({PERMISSION}),
    ),
    Rule(
        "lambda-mapping-failure-handling",
        "Every event source mapping reports batch item failures; a stream mapping also "
        "bisects a failing batch, bounds its retries and record age, and sends what fails "
        "to an on-failure destination (the function's DLQ).",
        "resource",
        check_mapping_failure_handling,
        frozenset({EVENT_SOURCE_MAPPING}),
    ),
    Rule(
        "http-api-stage-guarded",
        "Every HTTP API stage is throttled and writes access logs.",
        "resource",
        check_http_api_stage,
        frozenset({HTTP_API_STAGE}),
    ),
)
