"""The least-privilege IAM documents of one function's role, derived from its catalog entry.

Nothing here is specific to one function: every statement comes from the catalog
entry (``needs``, ``database``) and the stack's settings, with resource ARNs taken
from upstream exports and resource outputs (never assembled by hand, except the
network-interface ARNs, which name resources Lambda creates later):

- ``WriteOwnLogs``: ``logs:CreateLogStream``/``logs:PutLogEvents`` on the function's own
  log group (``<group-arn>:*`` covers the group and its ``:log-stream:<name>`` ARNs);
  no ``logs:CreateLogGroup`` (the observability stack pre-creates the group).
- ``Tracing``: the two X-Ray upload actions, on ``*`` (no resource-level permissions).
- ``DeadLetterQueue``: ``sqs:SendMessage`` on the function's own DLQ.
- ``ReadObjects``/``WriteObjects``: ``s3:GetObject``/``s3:PutObject`` on
  ``<bucket-arn>/<prefix>*`` for each ``needs.s3_read``/``needs.s3_write`` prefix.
- ``CreateObjects``: ``s3:PutObject`` on each ``needs.s3_create`` prefix, only for a
  request that carries ``If-None-Match`` (create-only: S3 answers 412 instead of
  replacing an existing object, so the function can never overwrite one).
- ``ListDataBucket``: ``s3:ListBucket`` on this stack's data bucket, only for functions
  with ``needs.s3_missing_ok`` (they must tell a missing object from a denied one:
  without ListBucket S3 answers ``AccessDenied`` instead of ``NoSuchKey``) or
  ``needs.s3_list`` (they list key names). It is not
  narrowed with an ``s3:prefix`` condition: S3 makes that 403-or-404 decision for a
  GetObject request, which carries no ``s3:prefix`` key, so a condition on it is not
  documented to apply there (unverified without AWS); the grant is scoped to this
  stack's bucket instead, and lists key names only.
- ``DatabaseSecret``: ``secretsmanager:GetSecretValue`` on ``etl:databaseSecretArn``, and
  ``DatabaseSecretKey``: ``kms:Decrypt`` on ``etl:databaseSecretKmsKeyArn`` through
  Secrets Manager only (``kms:ViaService``), for database functions when configured.
- ``VpcNetworkInterfaces``/``VpcDescribe``: what Lambda needs to place a database function
  in the configured subnets, scoped (see :func:`vpc_statements`).

The boundary (:mod:`etl_platform.infra.components.boundary`) builds its tracing, secret and
VPC statements with the same functions, so the two documents cannot drift apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi

from etl_platform.infra.iam import (
    ENI_CREATE_ACTION,
    ENI_DESCRIBE_ACTIONS,
    ENI_MANAGE_ACTIONS,
    KMS_DECRYPT_ACTIONS,
    LAMBDA_SERVICE,
    LOG_ACTIONS,
    XRAY_ACTIONS,
    Statement,
    policy_document,
    statement,
)
from etl_platform.infra.trigger_policy import trigger_statements

if TYPE_CHECKING:
    from etl_platform.model.catalog import FunctionSpec
    from etl_platform.model.settings import Settings

__all__ = [
    "CREATE_ONLY_CONDITION",
    "assume_role_document",
    "assume_role_statements",
    "create_objects_statement",
    "database_secret_statements",
    "role_policy_document",
    "role_policy_statements",
    "tracing_statement",
    "vpc_statements",
]

# Create-only writes. AWS documents the condition key s3:if-none-match for s3:PutObject
# (Service Authorization Reference, "Actions, resources, and condition keys for Amazon S3",
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html),
# and this exact form ("Null": {"s3:if-none-match": "false"}: the request carries the
# header) in "Enforce conditional writes on Amazon S3 buckets", Example 1,
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes-enforce.html
# PutObject accepts only "*" as If-None-Match, so the header present means "create only".
# Not verified against AWS here (no account); parliament's bundled copy of the reference
# lists the key for PutObject (tests/unit/test_iam.py).
CREATE_ONLY_CONDITION = ("Null", "s3:if-none-match", ["false"])


def assume_role_statements() -> list[Statement]:
    """Only Lambda may assume the role: the trust policy of AWS's Lambda execution-role docs.

    No ``aws:SourceAccount`` condition: AWS's documented execution-role trust policy has
    none, and such conditions have broken CreateFunction for functions in a VPC.
    """
    return [
        statement(
            "LambdaAssumeRole",
            ["sts:AssumeRole"],
            [],
            principals=[("Service", [LAMBDA_SERVICE])],
        )
    ]


def assume_role_document() -> pulumi.Output[str]:
    """The role's trust policy as rendered JSON."""
    return policy_document(assume_role_statements())


def _objects(bucket_arn: pulumi.Input[str], prefixes: tuple[str, ...]) -> list[pulumi.Output[str]]:
    return [pulumi.Output.concat(bucket_arn, "/", prefix, "*") for prefix in prefixes]


def create_objects_statement(
    sid: str, bucket_arn: pulumi.Input[str], prefixes: tuple[str, ...]
) -> Statement:
    """``s3:PutObject`` on ``prefixes`` only with ``If-None-Match`` (never an overwrite)."""
    return statement(
        sid,
        ["s3:PutObject"],
        _objects(bucket_arn, prefixes),
        conditions=[CREATE_ONLY_CONDITION],
    )


def tracing_statement(sid: str = "Tracing") -> Statement:
    """X-Ray upload; AWS accepts only ``"*"`` for these actions."""
    return statement(sid, XRAY_ACTIONS, ["*"])


def database_secret_statements(settings: Settings) -> list[Statement]:
    """Read the database secret and, when it has a customer key, decrypt through it.

    The ``kms:Decrypt`` grant holds only for calls Secrets Manager makes for the function
    in this region (``kms:ViaService``): the role cannot use the key directly.
    """
    if not settings.database_secret_arn:
        return []
    statements = [
        statement(
            "DatabaseSecret", ["secretsmanager:GetSecretValue"], [settings.database_secret_arn]
        )
    ]
    if settings.database_secret_kms_key_arn:
        statements.append(
            statement(
                "DatabaseSecretKey",
                KMS_DECRYPT_ACTIONS,
                [settings.database_secret_kms_key_arn],
                conditions=[
                    (
                        "StringEquals",
                        "kms:ViaService",
                        [f"secretsmanager.{settings.region}.amazonaws.com"],
                    )
                ],
            )
        )
    return statements


def vpc_statements(settings: Settings, account_id: pulumi.Input[str]) -> list[Statement]:
    """The network-interface actions Lambda takes for a function in the stack's VPC.

    ``ec2:CreateNetworkInterface`` on the configured subnets and security groups and on
    new network interfaces of this account and region; delete and (un)assign private
    addresses on this account's network interfaces in the region (their ids are not
    known before Lambda creates them; the Lambda developer guide, "Giving Lambda functions
    access to resources in an Amazon VPC", says to name either a specific id or all of
    them, never to leave DeleteNetworkInterface out). The two describe actions have no
    resource-level permissions, so they alone are on ``"*"``. Not verified against AWS
    here: should Lambda refuse the scoped grant at CreateFunction, its message names the
    action.
    """
    if not settings.uses_vpc:
        return []

    def ec2(kind: str, resource_id: str) -> pulumi.Output[str]:
        return pulumi.Output.concat(
            f"arn:aws:ec2:{settings.region}:", account_id, f":{kind}/{resource_id}"
        )

    interfaces = ec2("network-interface", "*")
    create = [
        interfaces,
        *(ec2("subnet", s) for s in settings.vpc_subnet_ids),
        *(ec2("security-group", g) for g in settings.vpc_security_group_ids),
    ]
    return [
        statement("VpcCreateNetworkInterface", [ENI_CREATE_ACTION], create),
        statement("VpcNetworkInterfaces", ENI_MANAGE_ACTIONS, [interfaces]),
        statement("VpcDescribe", ENI_DESCRIBE_ACTIONS, ["*"]),
    ]


def role_policy_statements(
    spec: FunctionSpec,
    settings: Settings,
    *,
    bucket_arn: pulumi.Input[str],
    log_group_arn: pulumi.Input[str],
    dlq_arn: pulumi.Input[str],
    account_id: pulumi.Input[str],
) -> list[Statement]:
    """Every permission ``spec`` needs, and nothing else (see the module docstring)."""
    statements = [
        statement("WriteOwnLogs", LOG_ACTIONS, [pulumi.Output.concat(log_group_arn, ":*")]),
        tracing_statement(),
        statement("DeadLetterQueue", ["sqs:SendMessage"], [dlq_arn]),
    ]
    if spec.s3_read:
        statements.append(
            statement("ReadObjects", ["s3:GetObject"], _objects(bucket_arn, spec.s3_read))
        )
    if spec.lists_bucket:
        statements.append(statement("ListDataBucket", ["s3:ListBucket"], [bucket_arn]))
    if spec.s3_write:
        statements.append(
            statement("WriteObjects", ["s3:PutObject"], _objects(bucket_arn, spec.s3_write))
        )
    if spec.s3_create:
        statements.append(create_objects_statement("CreateObjects", bucket_arn, spec.s3_create))
    if spec.database:
        statements.extend(database_secret_statements(settings))
        statements.extend(vpc_statements(settings, account_id))
    statements.extend(trigger_statements(spec, settings))
    return statements


def role_policy_document(
    spec: FunctionSpec,
    settings: Settings,
    *,
    bucket_arn: pulumi.Input[str],
    log_group_arn: pulumi.Input[str],
    dlq_arn: pulumi.Input[str],
    account_id: pulumi.Input[str],
) -> pulumi.Output[str]:
    """The role's inline policy as rendered JSON."""
    return policy_document(
        role_policy_statements(
            spec,
            settings,
            bucket_arn=bucket_arn,
            log_group_arn=log_group_arn,
            dlq_arn=dlq_arn,
            account_id=account_id,
        )
    )
