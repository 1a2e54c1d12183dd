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
- ``ReadObjects``/``WriteObjects``/``DeleteObjects``: the actions of ``needs.s3_read``,
  ``needs.s3_write`` and ``needs.s3_delete`` (``s3:GetObject``, ``s3:PutObject``,
  ``s3:DeleteObject``) on ``<bucket-arn>/<prefix>*`` for each of their prefixes.
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
- ``Need<Key>`` (``NeedDynamodbRead``, ...): for each need on resources the platform does
  not own, exactly that need's actions (:data:`etl_platform.model.needs.NEEDS`) on the
  exact ARNs the stack's ``etl:resources`` gives the names it lists, plus the need's
  sub-resources (a table's ``/index/*``) and, for buckets, ``<arn>/<prefix>*``. Never
  ``*``: an undeclared name, or a resource of another kind, fails the plan
  (:func:`etl_platform.model.catalog.resolve_needs`).

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
from etl_platform.model.catalog import FunctionSpec, Grant, resolve_needs
from etl_platform.model.needs import NEEDS, need

if TYPE_CHECKING:
    from etl_platform.model.settings import Settings

__all__ = [
    "CREATE_ONLY_CONDITION",
    "DATA_OBJECT_STATEMENTS",
    "assume_role_document",
    "assume_role_statements",
    "create_objects_statement",
    "database_secret_statements",
    "grant_statements",
    "list_bucket_statement",
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
        need("s3_create").actions,
        _objects(bucket_arn, prefixes),
        conditions=[CREATE_ONLY_CONDITION],
    )


#: The data-bucket needs granted on objects without a condition, and the verb of their
#: statement ids: ``<Verb>Objects`` in a role, ``<Verb>CatalogPrefixes`` in the boundary.
DATA_OBJECT_STATEMENTS = (("s3_read", "Read"), ("s3_write", "Write"), ("s3_delete", "Delete"))


def list_bucket_statement(bucket_arn: pulumi.Input[str]) -> Statement:
    """``s3:ListBucket`` on the data bucket (``needs.s3_missing_ok`` / ``needs.s3_list``)."""
    actions = sorted({a for n in NEEDS if n.on_data_bucket and n.whole_bucket for a in n.actions})
    return statement("ListDataBucket", actions, [bucket_arn])


def grant_statements(grants: tuple[Grant, ...] | list[Grant]) -> list[Statement]:
    """One ``Need<Key>`` statement per need, on the exact ARNs of its resources.

    The role passes one function's grants; the boundary passes every function's, so the
    two documents are the same statements over different sets of resources.
    """
    arns: dict[str, set[str]] = {}
    for grant in grants:
        arns.setdefault(grant.need.key, set()).update(grant.arns)
    return [statement(n.sid, n.actions, sorted(arns[n.key])) for n in NEEDS if n.key in arns]


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
    # the same read a secrets_read need grants (etl_platform.model.needs)
    statements = [
        statement("DatabaseSecret", need("secrets_read").actions, [settings.database_secret_arn])
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
    for key, verb in DATA_OBJECT_STATEMENTS:
        if spec.need(key):
            statements.append(
                statement(f"{verb}Objects", need(key).actions, _objects(bucket_arn, spec.need(key)))
            )
        if key == "s3_read" and spec.lists_bucket:
            statements.append(list_bucket_statement(bucket_arn))
    if spec.s3_create:
        statements.append(create_objects_statement("CreateObjects", bucket_arn, spec.s3_create))
    if spec.database:
        statements.extend(database_secret_statements(settings))
        statements.extend(vpc_statements(settings, account_id))
    statements.extend(grant_statements(resolve_needs(spec, settings, pulumi.get_stack())))
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
