"""Settings: the ``etl:`` Pulumi config of a stack, parsed once and validated.

Every project calls :func:`load_settings` first. A bad value stops the program at
once with one message naming the key, the bad value and what is allowed.

Every key is one row of :data:`SETTING_KEYS` (the key, the :class:`Settings` field it
fills, its parser, and the default and meaning shown in the README's configuration
table; a unit test keeps the README and this table equal). Adding a key is one row
here, one field on :class:`Settings` and one line in the README. Per-environment
defaults come from :data:`ENVIRONMENT_DEFAULTS`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from etl_platform.errors import SettingsError
from etl_platform.model.deployment import ALL_AT_ONCE, DEFAULT_GRADUAL, DEPLOYMENT_PREFERENCES
from etl_platform.model.naming import SUFFIX_PATTERN, check_suffix_fits
from etl_platform.model.resources import (
    ArnError,
    Resource,
    is_placeholder,
    kms_key_problem,
    parse_resource,
)
from etl_platform.model.resources import secret_arn_problem as _arn_secret_problem
from etl_platform.model.runtimes import (
    ARCHITECTURES,
    DEFAULT_ARCHITECTURE,
    DEFAULT_RUNTIME,
    PYTHON,
    check_runtime,
    python_version_of,
    supported_runtimes,
)

__all__ = [
    "DEFAULT_STACK_ORG",
    "ENVIRONMENT_DEFAULTS",
    "KNOWN_KEYS",
    "REGION",
    "RESOURCES_KEY",
    "SETTING_KEYS",
    "EnvironmentDefaults",
    "ParseContext",
    "SettingKey",
    "Settings",
    "load_settings",
    "secret_arn_problem",
    "settings_from_mapping",
    "settings_table_markdown",
]

REGION = "us-east-1"
NAMESPACE = "etl"
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
# The StackReference organization of Pulumi's self-managed (file/S3) backends.
DEFAULT_STACK_ORG = "organization"


@dataclass(frozen=True)
class EnvironmentDefaults:
    log_retention_days: int
    log_level: str
    dlq_age_alarm_seconds: int
    deployment_preference: str  # a key of etl_platform.model.deployment.DEPLOYMENT_PREFERENCES


# One table of per-environment defaults. Log retention is platform policy (the
# guardrails enforce it): it changes here, for every stack, not per stack in config.
ENVIRONMENT_DEFAULTS: dict[str, EnvironmentDefaults] = {
    "dev": EnvironmentDefaults(
        log_retention_days=7,
        log_level="DEBUG",
        dlq_age_alarm_seconds=900,
        deployment_preference=ALL_AT_ONCE,
    ),
    "prod": EnvironmentDefaults(
        log_retention_days=30,
        log_level="INFO",
        dlq_age_alarm_seconds=300,
        deployment_preference=DEFAULT_GRADUAL,
    ),
}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SUBNET = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_SECURITY_GROUP = re.compile(r"^sg-[0-9a-f]{8,17}$")
_TAG_VALUE = re.compile(r"^[\w .:/=+@-]{1,256}$")
_LAYER_ARN = re.compile(r"^arn:aws:lambda:us-east-1:\d{12}:layer:[A-Za-z0-9_-]+:\d+$")
TRACING_BACKENDS = ("xray-sdk", "otel")
# Batches wait in these stages; each has an SLA in minutes (etl:stageSlaMinutes).
WAITING_STAGES = ("received", "transformed")
DEFAULT_STAGE_SLA_MINUTES = 15
# AWS's page listing the ADOT Lambda layer ARNs per region and architecture.
ADOT_LAYERS_PAGE = "https://aws-otel.github.io/docs/getting-started/lambda"


@dataclass(frozen=True)
class Settings:
    """A stack's validated settings; every project reads the same object."""

    suffix: str
    environment: str
    region: str
    cost_center: str
    owner: str
    stack_org: str
    runtime: str
    architecture: str
    reserved_concurrency: bool
    log_retention_days: int
    log_level: str
    max_retry_attempts: int
    max_event_age_seconds: int
    duration_alarm_percent: int
    dlq_age_alarm_seconds: int
    alarm_email: str | None
    database_secret_arn: str | None
    database_secret_kms_key_arn: str | None
    vpc_subnet_ids: tuple[str, ...]
    vpc_security_group_ids: tuple[str, ...]
    stage_sla_minutes: tuple[tuple[str, int], ...] = tuple(
        (stage, DEFAULT_STAGE_SLA_MINUTES) for stage in WAITING_STAGES
    )
    freshness_hours: int | None = None
    async_event_age_alarm_seconds: int = 600
    tracing: str = "xray-sdk"
    otel_collector_layer_arn: str | None = None
    # etl:resources: (logical name, ARN) pairs, sorted by name; each ARN parsed at load.
    resources: tuple[tuple[str, str], ...] = ()

    def resource(self, name: str) -> Resource:
        """The resource this stack declares as ``name`` in ``etl:resources``.

        Raises :class:`SettingsError` naming the declared names when ``name`` is not one.
        """
        arns = dict(self.resources)
        if name not in arns:
            declared = ", ".join(arns) or "none"
            raise SettingsError(
                RESOURCES_KEY,
                name,
                f"this stack declares no resource {name!r} (declared: {declared})",
                fix=f"pulumi config set --path '{RESOURCES_KEY}.{name}' <its ARN>",
            )
        return parse_resource(name, arns[name], self.region)

    #: How CodeDeploy shifts traffic for a function whose catalog entry has no ``deployment``.
    deployment_preference: str = ALL_AT_ONCE

    @property
    def python_version(self) -> str:
        """``python3.13`` -> ``3.13`` (what the layer is built for)."""
        return python_version_of(self.runtime)

    @property
    def uses_vpc(self) -> bool:
        return bool(self.vpc_subnet_ids)


@dataclass
class ParseContext:
    """What a key's parser may look at besides its own value."""

    function_names: tuple[str, ...]
    today: dt.date | None
    parsed: dict[str, Any] = field(default_factory=dict)  # Settings fields parsed so far

    @property
    def environment(self) -> EnvironmentDefaults:
        """The per-environment defaults (``etl:environment`` is parsed before any user)."""
        return ENVIRONMENT_DEFAULTS[self.parsed["environment"]]


# raw is the config value as Pulumi keeps it (a string), or None when the key is unset.
Parser = Callable[[str, "str | None", ParseContext], Any]


@dataclass(frozen=True)
class SettingKey:
    """One config key: where it goes, how it is checked, and its README line."""

    key: str  # full config key, e.g. "etl:runtime"
    field: str  # the Settings field it fills
    parse: Parser  # (key, raw, context) -> value; raises SettingsError
    default: str  # the README's "default" column (Markdown)
    meaning: str  # the README's "allowed / meaning" column (Markdown)

    def readme_row(self) -> str:
        return f"| `{self.key}` | {self.default} | {self.meaning} |"


# --- parsers: each failure names the key, the value and what is allowed ---------------------


def _region(key: str, raw: str | None, ctx: ParseContext) -> str:
    if raw != REGION:
        raise SettingsError(key, raw, f"this platform runs in {REGION} only; set it to {REGION}")
    return raw


def _suffix(key: str, raw: str | None, ctx: ParseContext) -> str:
    if raw is None or raw == "":
        raise SettingsError(
            key,
            raw,
            "required: lowercase letters, digits and hyphens, starting with a letter "
            "(e.g. dev, pr-42)",
        )
    if not SUFFIX_PATTERN.match(raw) or "--" in raw:
        raise SettingsError(
            key,
            raw,
            "use lowercase letters, digits and single hyphens, starting with a letter and not "
            "ending with a hyphen (e.g. dev, pr-42)",
        )
    problems = check_suffix_fits(raw, ctx.function_names)
    if problems:
        raise SettingsError(key, raw, "too long for an AWS name limit: " + problems[0])
    return raw


def _runtime(key: str, raw: str | None, ctx: ParseContext) -> str:
    runtime = raw or DEFAULT_RUNTIME
    why = check_runtime(runtime, ctx.today, language=PYTHON)
    if why:
        raise SettingsError(
            key,
            runtime,
            f"{why} (supported: {', '.join(supported_runtimes(ctx.today))}; a Node.js function "
            "sets its own runtime in its function.toml)",
        )
    return runtime


def _log_level(key: str, raw: str | None, ctx: ParseContext) -> str:
    level = (raw or ctx.environment.log_level).upper()
    if level not in LOG_LEVELS:
        raise SettingsError(key, raw, f"allowed: {', '.join(LOG_LEVELS)}")
    return level


def _one_of(choices: Iterable[str], default: str) -> Parser:
    allowed = tuple(choices)

    def parse(key: str, raw: str | None, ctx: ParseContext) -> str:
        value = raw or default
        if value not in allowed:
            raise SettingsError(key, value, f"allowed: {', '.join(allowed)}")
        return value

    return parse


def _whole_number(low: int, high: int, default: int | Callable[[ParseContext], int]) -> Parser:
    def parse(key: str, raw: str | None, ctx: ParseContext) -> int:
        if raw is None or raw == "":
            return default(ctx) if callable(default) else default
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(key, raw, f"a whole number from {low} to {high}") from None
        if not low <= value <= high:
            raise SettingsError(key, raw, f"a whole number from {low} to {high}")
        return value

    return parse


def _boolean(default: bool) -> Parser:
    def parse(key: str, raw: str | None, ctx: ParseContext) -> bool:
        if raw is None or raw == "":
            return default
        lowered = raw.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise SettingsError(key, raw, "true or false")

    return parse


def _tag_value(default: str) -> Parser:
    def parse(key: str, raw: str | None, ctx: ParseContext) -> str:
        if raw is None:
            return default
        if not _TAG_VALUE.match(raw):
            raise SettingsError(
                key, raw, "1-256 characters: letters, digits, spaces and _ . : / = + - @"
            )
        return raw

    return parse


def _optional_matching(pattern: re.Pattern[str], allowed: str) -> Parser:
    def parse(key: str, raw: str | None, ctx: ParseContext) -> str | None:
        value = raw or None
        if value is not None and not pattern.match(value):
            raise SettingsError(key, value, allowed)
        return value

    return parse


def secret_arn_problem(arn: str) -> str | None:
    """Why ``arn`` is not the full ARN of a Secrets Manager secret in us-east-1, or None."""
    return _arn_secret_problem(arn, REGION)


RESOURCES_KEY = "etl:resources"


def _resources(key: str, raw: str | None, ctx: ParseContext) -> tuple[tuple[str, str], ...]:
    """``{"todos": "arn:aws:dynamodb:..."}`` -> sorted (name, ARN) pairs, every ARN parsed."""
    if raw is None or raw == "":
        return ()
    example = "arn:aws:dynamodb:us-east-1:123456789012:table/todos-dev"
    try:
        parsed: Any = json.loads(raw)
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
        raise SettingsError(
            key,
            raw,
            'a JSON object of ARNs by logical name, like {"todos": "' + example + '"}',
            fix=f"pulumi config set --path '{key}.todos' {example}",
        )
    for name, arn in parsed.items():
        if is_placeholder(arn):
            raise SettingsError(
                f"{key}.{name}",
                arn,
                f"resource {name!r} is still the placeholder `nox -s new-env` wrote",
                fix=f"pulumi config set --path '{key}.{name}' <its ARN> in each project of "
                "this stack (shared, observability, etl-functions)",
            )
        try:
            parse_resource(name, arn, ctx.parsed["region"])
        except ArnError as error:
            raise SettingsError(
                f"{key}.{name}",
                arn,
                f"resource {name!r}: {error.problem}",
                fix=f"{error.fix}; then pulumi config set --path '{key}.{name}' <the ARN>",
            ) from None
    return tuple(sorted(parsed.items()))


def _secret_arn(key: str, raw: str | None, ctx: ParseContext) -> str | None:
    value = raw or None
    problem = secret_arn_problem(value) if value is not None else None
    if problem:
        raise SettingsError(
            key,
            value,
            problem,
            fix="aws secretsmanager describe-secret --secret-id <name> --query ARN --output text"
            f", then pulumi config set {key} <that ARN>",
        )
    return value


def _secret_kms_key(key: str, raw: str | None, ctx: ParseContext) -> str | None:
    value = raw or None
    if value is None:
        return None
    problem = kms_key_problem(value, REGION)
    if problem:
        raise SettingsError(
            key,
            value,
            f"{problem} (not an alias): the customer managed key that encrypts "
            "etl:databaseSecretArn",
            fix="aws secretsmanager describe-secret --secret-id <name> --query KmsKeyId",
        )
    if ctx.parsed["database_secret_arn"] is None:
        raise SettingsError(
            key,
            value,
            "is the key of the database secret, but etl:databaseSecretArn is not set: "
            "set both, or remove this one",
        )
    return value


def _id_list(pattern: re.Pattern[str], example: str, pair: tuple[str, str] | None = None) -> Parser:
    """A JSON list of ids; ``pair`` = (Settings field, config key) that must be set with it."""

    def parse(key: str, raw: str | None, ctx: ParseContext) -> tuple[str, ...]:
        ids: tuple[str, ...] = ()
        if raw is not None and raw != "":
            try:
                parsed: Any = json.loads(raw)
            except json.JSONDecodeError:
                parsed = None
            if not isinstance(parsed, list) or not all(
                isinstance(v, str) and pattern.match(v) for v in parsed
            ):
                raise SettingsError(
                    key,
                    raw,
                    f'a JSON list of ids like ["{example}"]',
                    fix=f"pulumi config set --path '{key}[0]' {example}",
                )
            ids = tuple(parsed)
        if pair is not None:
            other_field, other_key = pair
            if bool(ids) != bool(ctx.parsed[other_field]):
                missing = key if not ids else other_key
                raise SettingsError(missing, None, f"set both {other_key} and {key}, or neither")
        return ids

    return parse


def _stage_sla(key: str, raw: str | None, ctx: ParseContext) -> tuple[tuple[str, int], ...]:
    """``{"received": 15, "transformed": 30}`` -> pairs for every waiting stage."""
    sla = dict.fromkeys(WAITING_STAGES, DEFAULT_STAGE_SLA_MINUTES)
    if raw is None or raw == "":
        return tuple(sla.items())
    allowed = (
        f"a JSON object of minutes (1-1440) by stage, stages {', '.join(WAITING_STAGES)}: "
        '{"received": 15, "transformed": 30}'
    )
    try:
        parsed: Any = json.loads(raw)
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise SettingsError(
            key, raw, allowed, fix=f"pulumi config set --path '{key}.transformed' 30"
        )
    for stage, minutes in parsed.items():
        value = minutes if isinstance(minutes, int) and not isinstance(minutes, bool) else None
        if isinstance(minutes, str) and minutes.strip().isdigit():
            value = int(minutes)
        if stage not in sla or value is None or not 1 <= value <= 1440:
            raise SettingsError(key, raw, allowed)
        sla[stage] = value
    return tuple(sla.items())


def _deployment_preference(key: str, raw: str | None, ctx: ParseContext) -> str:
    value = raw or ctx.environment.deployment_preference
    if value not in DEPLOYMENT_PREFERENCES:
        raise SettingsError(
            key,
            value,
            f"allowed: {', '.join(DEPLOYMENT_PREFERENCES)} (a catalog entry's `deployment` "
            "key overrides it for that function)",
        )
    return value


def _optional_hours(key: str, raw: str | None, ctx: ParseContext) -> int | None:
    """Off (``None``) when unset or 0, else 1 to 24 hours."""
    hours: int = _whole_number(0, 24, 0)(key, raw, ctx)
    return hours or None


def _collector_layer(key: str, raw: str | None, ctx: ParseContext) -> str | None:
    """Required with ``etl:tracing = otel``: the ADOT collector layer version ARN."""
    value = raw or None
    if value is not None and not _LAYER_ARN.match(value):
        raise SettingsError(
            key,
            value,
            "a Lambda layer version ARN in us-east-1: arn:aws:lambda:us-east-1:<account>:"
            f"layer:<name>:<version> (the ADOT collector layer for your architecture, from "
            f"{ADOT_LAYERS_PAGE})",
        )
    if ctx.parsed["tracing"] == "otel" and value is None:
        raise SettingsError(
            key,
            None,
            "required with etl:tracing=otel: the ADOT collector layer ARN for us-east-1 and "
            f"your architecture ({ADOT_LAYERS_PAGE})",
            fix=f"pulumi config set {key} arn:aws:lambda:us-east-1:...",
        )
    return value


# The one table of config keys, in the README's order. A parser may read fields of
# rows above it (through ParseContext.parsed); etl:environment comes before any
# per-environment default.
SETTING_KEYS: tuple[SettingKey, ...] = (
    SettingKey(
        "aws:region",
        "region",
        _region,
        "(required)",
        f"`{REGION}` only",
    ),
    SettingKey(
        "etl:environmentSuffix",
        "suffix",
        _suffix,
        "(required)",
        "lowercase letters, digits, single hyphens, starting with a letter; short enough "
        "that every derived name fits its AWS limit (the message names the name that "
        "would not)",
    ),
    SettingKey(
        "etl:environment",
        "environment",
        _one_of(ENVIRONMENT_DEFAULTS, "dev"),
        "`dev`",
        "`dev` or `prod`; picks the per-environment defaults below",
    ),
    SettingKey(
        "etl:logLevel",
        "log_level",
        _log_level,
        "`DEBUG` (dev), `INFO` (prod)",
        "`TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR`, `FATAL` (application log level; the "
        "system log level is `INFO`). Python's logging has no TRACE level: the functions "
        "log TRACE as `DEBUG`, their finest",
    ),
    SettingKey(
        "etl:dlqAgeAlarmSeconds",
        "dlq_age_alarm_seconds",
        _whole_number(60, 1_209_600, lambda ctx: ctx.environment.dlq_age_alarm_seconds),
        "900 (dev), 300 (prod)",
        "age of the oldest DLQ message that pages, 60 to 1209600",
    ),
    SettingKey(
        "etl:durationAlarmPercent",
        "duration_alarm_percent",
        _whole_number(1, 100, 80),
        "80",
        "duration alarm at this % of each function's own timeout, 1 to 100",
    ),
    SettingKey(
        "etl:runtime",
        "runtime",
        _runtime,
        f"`{DEFAULT_RUNTIME}`",
        "a Python runtime not past its AWS deprecation date in the runtime calendar "
        "(`etl-ops runtimes show`); preview runtimes are refused",
    ),
    SettingKey(
        "etl:architecture",
        "architecture",
        _one_of(ARCHITECTURES, DEFAULT_ARCHITECTURE),
        "`arm64`",
        "`arm64` (cheaper per GB-second) or `x86_64`; the layer is built for it",
    ),
    SettingKey(
        "etl:reservedConcurrency",
        "reserved_concurrency",
        _boolean(True),
        "`true`",
        "`false` for accounts whose concurrency quota is too small to reserve 5 per "
        "critical function",
    ),
    SettingKey(
        "etl:maxRetryAttempts",
        "max_retry_attempts",
        _whole_number(0, 2, 2),
        "2",
        "async retries before the DLQ, 0 to 2",
    ),
    SettingKey(
        "etl:maxEventAgeSeconds",
        "max_event_age_seconds",
        _whole_number(60, 21600, 21600),
        "21600 (6 h)",
        "60 to 21600",
    ),
    SettingKey(
        "etl:costCenter",
        "cost_center",
        _tag_value("data-platform"),
        "`data-platform`",
        "the `CostCenter` tag",
    ),
    SettingKey(
        "etl:owner",
        "owner",
        _tag_value("data-platform-team"),
        "`data-platform-team`",
        "the `Owner` tag",
    ),
    SettingKey(
        "etl:stackOrg",
        "stack_org",
        _tag_value(DEFAULT_STACK_ORG),
        f"`{DEFAULT_STACK_ORG}`",
        "the StackReference organization (your Pulumi Cloud org, if you use one)",
    ),
    SettingKey(
        "etl:alarmEmail",
        "alarm_email",
        _optional_matching(_EMAIL, "must be an e-mail address like ops@example.com"),
        "(none)",
        "an e-mail address subscribed to the alarm topic (confirm the subscription mail)",
    ),
    SettingKey(
        "etl:databaseSecretArn",
        "database_secret_arn",
        _secret_arn,
        "(none)",
        "the **full** ARN of a Secrets Manager secret in us-east-1, ending in the `-` and 6 "
        "characters Secrets Manager appends to the name (`aws secretsmanager "
        "describe-secret --secret-id <name> --query ARN --output text`; a partial ARN is "
        "refused, since a grant on it matches no secret), with RDS-shaped JSON (`host`, "
        "`port`, `username`, `password`, `dbname`); database functions get read access "
        "and `DB_SECRET_ARN`. Without it, `load` raises a configuration error at "
        "invocation and its events wait in the DLQ",
    ),
    SettingKey(
        "etl:databaseSecretKmsKeyArn",
        "database_secret_kms_key_arn",
        _secret_kms_key,
        "(none)",
        "the ARN of the customer managed KMS key that encrypts that secret (`key/<id>`, not "
        "an alias), if it is not AWS's own `aws/secretsmanager` key: database roles and "
        "the boundary get `kms:Decrypt` on it, only through Secrets Manager "
        "(`kms:ViaService`)",
    ),
    SettingKey(
        "etl:vpcSubnetIds",
        "vpc_subnet_ids",
        _id_list(_SUBNET, "subnet-0123456789abcdef0"),
        "(none)",
        "JSON list of subnet ids (`pulumi config set --path 'etl:vpcSubnetIds[0]' "
        "subnet-...`); database functions are placed in them",
    ),
    SettingKey(
        "etl:vpcSecurityGroupIds",
        "vpc_security_group_ids",
        _id_list(
            _SECURITY_GROUP,
            "sg-0123456789abcdef0",
            pair=("vpc_subnet_ids", "etl:vpcSubnetIds"),
        ),
        "(none)",
        "JSON list of security group ids; set with `etl:vpcSubnetIds` (both or neither)",
    ),
    SettingKey(
        "etl:stageSlaMinutes",
        "stage_sla_minutes",
        _stage_sla,
        "15 per stage",
        "JSON object: minutes a batch may wait in `received` / `transformed` before the "
        "watchdog counts it stuck, 1 to 1440 (`pulumi config set --path "
        "'etl:stageSlaMinutes.transformed' 30`)",
    ),
    SettingKey(
        "etl:freshnessHours",
        "freshness_hours",
        _optional_hours,
        "(off)",
        "page when no batch was received for this many hours, 1 to 24",
    ),
    SettingKey(
        "etl:asyncEventAgeAlarmSeconds",
        "async_event_age_alarm_seconds",
        _whole_number(60, 21600, 600),
        "600",
        "p99 age of asynchronous events (S3, schedule, SNS, EventBridge) that pages, 60 to "
        "21600; also the age of the oldest message of an `sqs` trigger's queue and the "
        "`IteratorAge` of a stream trigger that page",
    ),
    SettingKey(
        "etl:tracing",
        "tracing",
        _one_of(TRACING_BACKENDS, "xray-sdk"),
        "`xray-sdk`",
        "`xray-sdk` (AWS X-Ray SDK) or `otel` (OpenTelemetry SDK, X-Ray ids, exported "
        "through the ADOT collector layer)",
    ),
    SettingKey(
        "etl:otelCollectorLayerArn",
        "otel_collector_layer_arn",
        _collector_layer,
        "(none)",
        "the ADOT collector Lambda layer version ARN for us-east-1 and the architecture "
        "(AWS lists them at https://aws-otel.github.io/docs/getting-started/lambda); "
        "required with `otel`",
    ),
    SettingKey(
        RESOURCES_KEY,
        "resources",
        _resources,
        "(none)",
        "JSON object: the resources this stack uses but does not own, ARN by kebab-case "
        "logical name (`pulumi config set --path 'etl:resources.todos' arn:aws:dynamodb:...`)"
        "; catalog `[needs]` and triggers name them. The kind comes from the ARN: DynamoDB "
        "table or table stream, Kinesis stream, SQS queue, SNS topic, KMS key (not an alias), "
        "Secrets Manager secret (the full ARN with its 6-character suffix), SSM parameter, "
        "Lambda function, EventBridge event bus, S3 bucket, IAM role; us-east-1 only (S3 and "
        "IAM ARNs carry no region)",
    ),
    SettingKey(
        "etl:deploymentPreference",
        "deployment_preference",
        _deployment_preference,
        f"`{ALL_AT_ONCE}` (dev), `{DEFAULT_GRADUAL}` (prod)",
        "how CodeDeploy shifts the `live` alias to a function's new version, for functions "
        "whose catalog entry has no `deployment` key: "
        + ", ".join(f"`{k}`" for k in DEPLOYMENT_PREFERENCES)
        + " (see Releasing a change); a gradual one rolls back when an alarm of the "
        "function fires",
    ),
)

KNOWN_KEYS: tuple[str, ...] = tuple(
    spec.key.split(":", 1)[1] for spec in SETTING_KEYS if spec.key.startswith(f"{NAMESPACE}:")
)


def settings_table_markdown() -> str:
    """The README's configuration table, rendered from :data:`SETTING_KEYS`."""
    header = "| key | default | allowed / meaning |\n|---|---|---|\n"
    return header + "\n".join(spec.readme_row() for spec in SETTING_KEYS) + "\n"


def settings_from_mapping(
    values: Mapping[str, str],
    function_names: Iterable[str] = (),
    today: dt.date | None = None,
) -> Settings:
    """Validate config given as ``{"etl:<key>": "value", "aws:region": "..."}``.

    Values are strings, as Pulumi keeps them; ``function_names`` lets the suffix be
    checked against every name that will be derived from it.
    """
    unknown = sorted(
        k for k in values if k.startswith(f"{NAMESPACE}:") and k.split(":", 1)[1] not in KNOWN_KEYS
    )
    if unknown:
        raise SettingsError(
            unknown[0],
            values[unknown[0]],
            "unknown key (a typo?); known etl: keys: " + ", ".join(KNOWN_KEYS),
            fix=f"pulumi config rm {unknown[0]}",
        )
    ctx = ParseContext(function_names=tuple(function_names), today=today)
    for spec in SETTING_KEYS:
        raw = values.get(spec.key)
        ctx.parsed[spec.field] = spec.parse(spec.key, None if raw is None else str(raw), ctx)
    return Settings(**ctx.parsed, log_retention_days=ctx.environment.log_retention_days)


def load_settings(function_names: Iterable[str] = ()) -> Settings:
    """Read and validate this stack's config (inside a Pulumi program)."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    known = {spec.key for spec in SETTING_KEYS}
    present = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    values: dict[str, str] = {}
    for full_key in sorted(known | {k for k in present if k.startswith(f"{NAMESPACE}:")}):
        namespace, key = full_key.split(":", 1)
        value = pulumi.Config(namespace).get(key)
        if value is not None:
            values[full_key] = value
    return settings_from_mapping(values, function_names)
