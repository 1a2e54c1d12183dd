"""The least-privilege IAM documents of one function's role, derived from its catalog entry.

Nothing here is specific to one function: every statement comes from the catalog
entry (``needs``, ``database``) and the stack's settings, with resource ARNs taken
from upstream exports and resource outputs (never assembled by hand):

- ``WriteOwnLogs``: ``logs:CreateLogStream``/``logs:PutLogEvents`` on the function's own
  log group (``<group-arn>:*`` covers the group and its ``:log-stream:<name>`` ARNs);
  no ``logs:CreateLogGroup`` (the observability stack pre-creates the group).
- ``Tracing``: the two X-Ray upload actions, on ``*`` (no resource-level permissions).
- ``DeadLetterQueue``: ``sqs:SendMessage`` on the function's own DLQ.
- ``ReadObjects``/``WriteObjects``: ``s3:GetObject``/``s3:PutObject`` on
  ``<bucket-arn>/<prefix>*`` for each ``needs.s3_read``/``needs.s3_write`` prefix.
- ``ListDataBucket``: ``s3:ListBucket`` on this stack's data bucket, for functions that
  read. Without it S3 answers ``AccessDenied`` instead of ``NoSuchKey`` for a missing
  object, which the handlers must tell apart (status-api's unknown batch is a 404,
  ingest's first use of an idempotency key, load's manifest not yet written). It is not
  narrowed with an ``s3:prefix`` condition: S3 makes that 403-or-404 decision for a
  GetObject request, which carries no ``s3:prefix`` key, so a condition on it is not
  documented to apply there (unverified without AWS); the grant is scoped to this
  stack's bucket instead, and lists key names only.
- ``DatabaseSecret``: ``secretsmanager:GetSecretValue`` on ``etl:databaseSecretArn``, for
  database functions when it is configured.
- ``VpcNetworkInterfaces``: the ENI actions Lambda needs, on ``*``, for database
  functions when the stack places them in a VPC.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi

from etl_platform.iam import Statement, policy_document, statement

if TYPE_CHECKING:
    from etl_platform.catalog import FunctionSpec
    from etl_platform.settings import Settings

__all__ = [
    "LAMBDA_SERVICE",
    "LOG_ACTIONS",
    "VPC_ACTIONS",
    "XRAY_ACTIONS",
    "assume_role_document",
    "assume_role_statements",
    "role_policy_document",
    "role_policy_statements",
]

LAMBDA_SERVICE = "lambda.amazonaws.com"
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
XRAY_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")
# What AWSLambdaVPCAccessExecutionRole grants, without attaching a managed policy.
VPC_ACTIONS = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:UnassignPrivateIpAddresses",
)


def assume_role_statements(account_id: pulumi.Input[str]) -> list[Statement]:
    """Only Lambda may assume the role, and only on behalf of this account (confused deputy)."""
    return [
        statement(
            "LambdaAssumeRole",
            ["sts:AssumeRole"],
            [],
            principals=[("Service", [LAMBDA_SERVICE])],
            conditions=[("StringEquals", "aws:SourceAccount", [account_id])],
        )
    ]


def assume_role_document(account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """The role's trust policy as rendered JSON."""
    return policy_document(assume_role_statements(account_id))


def _objects(bucket_arn: pulumi.Input[str], prefixes: tuple[str, ...]) -> list[pulumi.Output[str]]:
    return [pulumi.Output.concat(bucket_arn, "/", prefix, "*") for prefix in prefixes]


def role_policy_statements(
    spec: FunctionSpec,
    settings: Settings,
    *,
    bucket_arn: pulumi.Input[str],
    log_group_arn: pulumi.Input[str],
    dlq_arn: pulumi.Input[str],
) -> list[Statement]:
    """Every permission ``spec`` needs, and nothing else (see the module docstring)."""
    statements = [
        statement("WriteOwnLogs", LOG_ACTIONS, [pulumi.Output.concat(log_group_arn, ":*")]),
        statement("Tracing", XRAY_ACTIONS, ["*"]),
        statement("DeadLetterQueue", ["sqs:SendMessage"], [dlq_arn]),
    ]
    if spec.s3_read:
        statements.append(
            statement("ReadObjects", ["s3:GetObject"], _objects(bucket_arn, spec.s3_read))
        )
        statements.append(statement("ListDataBucket", ["s3:ListBucket"], [bucket_arn]))
    if spec.s3_write:
        statements.append(
            statement("WriteObjects", ["s3:PutObject"], _objects(bucket_arn, spec.s3_write))
        )
    if spec.database and settings.database_secret_arn:
        statements.append(
            statement(
                "DatabaseSecret", ["secretsmanager:GetSecretValue"], [settings.database_secret_arn]
            )
        )
    if spec.database and settings.uses_vpc:
        statements.append(statement("VpcNetworkInterfaces", VPC_ACTIONS, ["*"]))
    return statements


def role_policy_document(
    spec: FunctionSpec,
    settings: Settings,
    *,
    bucket_arn: pulumi.Input[str],
    log_group_arn: pulumi.Input[str],
    dlq_arn: pulumi.Input[str],
) -> pulumi.Output[str]:
    """The role's inline policy as rendered JSON."""
    return policy_document(
        role_policy_statements(
            spec, settings, bucket_arn=bucket_arn, log_group_arn=log_group_arn, dlq_arn=dlq_arn
        )
    )
