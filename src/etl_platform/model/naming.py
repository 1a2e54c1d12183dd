"""Resource names: ``{resource-type}-{name}-{environment-suffix}``, checked against AWS limits.

Every physical name in the three projects comes from here, so a suffix that is too
long fails once, at program start, with the name that would break and its limit,
instead of half-way through a deploy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from etl_platform.model.deployment import APPLICATION, DEPLOYER

__all__ = [
    "ACCOUNT_ID_LENGTH",
    "LIMITS",
    "NAME_PROPERTIES",
    "SCOPED_NAMES",
    "SUFFIX_PATTERN",
    "access_log_group_name",
    "bucket_name",
    "check_suffix_fits",
    "display_name",
    "log_group_name",
    "name_property",
    "physical_name",
    "resource_name",
]

# Resource type prefix -> the AWS limit on the whole name (characters).
LIMITS: dict[str, int] = {
    "lambda": 64,  # Lambda function name
    "role": 64,  # IAM role name
    "policy": 128,  # IAM (inline or managed) policy name
    "boundary": 128,  # IAM managed policy name
    "dlq": 80,  # SQS queue name
    "layer": 140,  # Lambda layer name
    "alarms": 256,  # SNS topic name
    "alarm": 255,  # CloudWatch alarm name
    "etl": 255,  # CloudWatch dashboard name
    "data": 63,  # S3 bucket name (see bucket_name)
    "schedule": 64,  # EventBridge rule name (functions with a schedule trigger)
    "rule": 64,  # EventBridge rule name (functions with an eventbridge trigger)
    "api": 128,  # API Gateway HTTP API name (functions with an http-api trigger)
    "deploy": 100,  # CodeDeploy application and deployment group names
}
# Where a resource type keeps its physical (AWS) name, when not in ``name``.
NAME_PROPERTIES: dict[str, str] = {
    "aws:lambda/layerVersion:LayerVersion": "layerName",
    "aws:cloudwatch/dashboard:Dashboard": "dashboardName",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:s3/bucketV2:BucketV2": "bucket",
    "aws:codedeploy/deploymentGroup:DeploymentGroup": "deploymentGroupName",
}
LOG_GROUP_LIMIT = 512
ACCOUNT_ID_LENGTH = 12
SUFFIX_PATTERN = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$|^[a-z]$")
_BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def resource_name(resource_type: str, name: str, suffix: str) -> str:
    """``lambda-transform-dev``; raises ValueError when AWS would reject the length.

    An empty ``name`` is for one-per-stack resources: ``alarms-dev``, ``etl-dev``.
    """
    if resource_type not in LIMITS:
        raise ValueError(f"unknown resource type {resource_type!r}; known: {sorted(LIMITS)}")
    full = f"{resource_type}-{name}-{suffix}" if name else f"{resource_type}-{suffix}"
    limit = LIMITS[resource_type]
    if len(full) > limit:
        raise ValueError(
            f"name {full!r} is {len(full)} characters; AWS allows {limit} for {resource_type}"
        )
    return full


def log_group_name(function_name: str) -> str:
    """The log group Lambda writes to by default, so nothing else ever gets created."""
    full = f"/aws/lambda/{function_name}"
    if len(full) > LOG_GROUP_LIMIT:
        raise ValueError(f"log group name {full!r} exceeds {LOG_GROUP_LIMIT} characters")
    return full


def access_log_group_name(api_name: str) -> str:
    """The log group an HTTP API's stage writes its access logs to (pre-created)."""
    full = f"/aws/apigateway/{api_name}"
    if len(full) > LOG_GROUP_LIMIT:
        raise ValueError(f"log group name {full!r} exceeds {LOG_GROUP_LIMIT} characters")
    return full


def bucket_name(suffix: str, account_id: str) -> str:
    """``etl-data-<suffix>-<account-id>``: the account id keeps it globally unique."""
    full = f"etl-data-{suffix}-{account_id}"
    if not _BUCKET_PATTERN.match(full) or "--" in full:
        raise ValueError(
            f"bucket name {full!r} is not a valid S3 bucket name "
            "(3-63 lowercase letters, digits and single hyphens)"
        )
    return full


def check_suffix_fits(suffix: str, function_names: Iterable[str]) -> list[str]:
    """Every name the platform will derive from ``suffix``, checked; returns the problems."""
    problems: list[str] = []
    names = list(function_names)
    candidates: list[tuple[str, str]] = [
        ("layer", "etl-common"),
        ("boundary", "etl"),
        ("alarms", ""),
        ("etl", ""),
        ("role", DEPLOYER),  # the CodeDeploy service role (and its policy, a longer limit)
        ("deploy", APPLICATION),  # the CodeDeploy application
    ]
    for fn in names:
        candidates += [("lambda", fn), ("role", fn), ("policy", fn), ("dlq", fn), ("schedule", fn)]
        candidates += [("rule", fn), ("api", fn)]
        candidates.append(("deploy", fn))  # its CodeDeploy deployment group
        candidates.append(("alarm", f"{fn}-async-events-dropped"))
    for resource_type, base in candidates:
        try:
            resource_name(resource_type, base, suffix)
        except ValueError as exc:
            problems.append(str(exc))
    try:
        bucket_name(suffix, "0" * ACCOUNT_ID_LENGTH)
    except ValueError as exc:
        problems.append(str(exc))
    return problems


def name_property(type_token: str) -> str:
    """The property that holds the physical name of a resource of ``type_token``."""
    return NAME_PROPERTIES.get(type_token, "name")


def physical_name(type_token: str, props: Mapping[str, Any]) -> str | None:
    """The AWS name a resource was given (``lambda-transform-dev``), or None when unnamed."""
    value = props.get(name_property(type_token))
    return value if isinstance(value, str) and value else None


# A resource without a name of its own (a bucket policy, a recursion config, a role
# policy attachment) is shown by the name of the resource it is attached to.
ATTACHED_TO_PROPERTIES = ("functionName", "bucket", "role")


# Resources whose name is unique only within another resource (an alias within its
# function, an HTTP API's stage, ``$default``, within its API): the plan shows
# ``<owner>:<name>``, and their names need not carry the suffix.
SCOPED_NAMES: dict[str, str] = {
    "aws:lambda/alias:Alias": "functionName",
    "aws:apigatewayv2/stage:Stage": "apiId",
}


def display_name(type_token: str, props: Mapping[str, Any], logical: str) -> str:
    """How a plan lists a resource: its AWS name, else its parent's, else its logical name."""
    own = physical_name(type_token, props)
    owner = props.get(SCOPED_NAMES.get(type_token, ""))
    if own and isinstance(owner, str) and owner:
        return f"{owner}:{own}"
    if own:
        return own
    for key in ATTACHED_TO_PROPERTIES:
        value = props.get(key)
        if isinstance(value, str) and value and not value.startswith("arn:"):
            return value
    return logical
