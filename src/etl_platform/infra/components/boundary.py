"""The permissions boundary every function role carries: ``boundary-etl-<suffix>``.

It is the outer fence. A role's own policy (etl-functions project) can only narrow
what the boundary allows, so a role that tries to grant itself more cannot exceed it.
It allows only what an ETL function of *this* environment may ever need, on
resources of this environment only, derived from the catalog:

- ``logs:CreateLogStream``/``logs:PutLogEvents`` on this suffix's functions' log groups;
- ``sqs:SendMessage`` on this suffix's dead-letter queues (the queues' ARN outputs);
- ``s3:GetObject`` on the data bucket's prefixes some function reads, ``s3:PutObject``
  on the prefixes some function writes, ``s3:DeleteObject`` on the prefixes some function
  deletes under, create-only ``s3:PutObject`` (``If-None-Match`` present) on the prefixes
  that functions only create, and ``s3:ListBucket`` on the bucket when some function has
  ``needs.s3_missing_ok`` (a missing key must answer ``NoSuchKey``, not ``AccessDenied``)
  or ``needs.s3_list``;
- for each need on resources the platform does not own (``dynamodb_read``, ``sqs_send``,
  ...), its exact actions on the exact ARNs that some function's need names, from the
  stack's ``etl:resources``: the same ``Need<Key>`` statements as the roles', over every
  function's grants (:func:`etl_platform.infra.function_policy.grant_statements`);
- the database secret (and ``kms:Decrypt`` through Secrets Manager on its customer key)
  when one is configured and a catalog function uses the database;
- X-Ray trace upload, and the network-interface actions of VPC functions when a VPC is
  configured: the same statements as the roles', from
  :mod:`etl_platform.infra.function_policy`;

and it explicitly denies everything about IAM and Organizations, which covers any
change to the boundary itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws
from pulumi import Output, ResourceOptions

from etl_platform.infra.function_policy import (
    DATA_OBJECT_STATEMENTS,
    create_objects_statement,
    database_secret_statements,
    grant_statements,
    list_bucket_statement,
    tracing_statement,
    vpc_statements,
)
from etl_platform.infra.iam import LOG_ACTIONS, Statement, policy_document, statement
from etl_platform.model.catalog import resolve_needs
from etl_platform.model.naming import bucket_name, log_group_name, resource_name
from etl_platform.model.needs import need
from etl_platform.model.tags import cost_tags

if TYPE_CHECKING:
    from etl_platform.model.catalog import Catalog
    from etl_platform.model.settings import Settings

__all__ = [
    "DENIED_SERVICES",
    "PermissionsBoundary",
    "PermissionsBoundaryArgs",
    "boundary_statements",
]

#: Service-wide denies: no function may touch IAM (its own role, its boundary) or the org.
DENIED_SERVICES = ("iam:*", "organizations:*")


@dataclass(frozen=True)
class PermissionsBoundaryArgs:
    """What the fence is drawn around: the catalog, the settings, this stack's queues."""

    catalog: Catalog
    settings: Settings
    #: ``{function: queue ARN}``: the outputs of ``DeadLetterQueues.arns``.
    dlq_arns: Mapping[str, pulumi.Input[str]]
    #: The deploying account; default: ``aws.get_caller_identity_output()``.
    account_id: pulumi.Input[str] | None = None


def _log_group_arns(args: PermissionsBoundaryArgs, account_id: Output[str]) -> list[Output[str]]:
    # The log groups are created later, by the observability stack (deployed after this
    # one), so there is no output to take their ARNs from: they are assembled from the
    # account id and the names etl_platform.model.naming gives them. ":*" covers their streams.
    settings = args.settings
    return [
        Output.concat(
            f"arn:aws:logs:{settings.region}:",
            account_id,
            f":log-group:{log_group_name(resource_name('lambda', fn, settings.suffix))}:*",
        )
        for fn in args.catalog.names
    ]


def _data_statements(args: PermissionsBoundaryArgs, account_id: Output[str]) -> list[Statement]:
    # The data bucket is created by the etl-functions stack (deployed after this one), so
    # its ARN is assembled from the name etl_platform.model.naming gives it.
    bucket_arn = account_id.apply(
        lambda acct: f"arn:aws:s3:::{bucket_name(args.settings.suffix, acct)}"
    )
    catalog = list(args.catalog)
    # A prefix some function overwrites is granted unconditionally; one that functions
    # only create keeps the create-only condition in the fence too.
    writes = {p for spec in catalog for p in spec.s3_write}
    creates = sorted({p for spec in catalog for p in spec.s3_create} - writes)
    statements: list[Statement] = []
    for key, verb in DATA_OBJECT_STATEMENTS:
        prefixes = sorted({p for spec in catalog for p in spec.need(key)})
        if prefixes:
            statements.append(
                statement(
                    f"{verb}CatalogPrefixes",
                    need(key).actions,
                    [Output.concat(bucket_arn, f"/{prefix}*") for prefix in prefixes],
                )
            )
        if key == "s3_read" and any(spec.lists_bucket for spec in catalog):
            # Without ListBucket, a GET of a missing key answers AccessDenied instead of
            # NoSuchKey; role policies grant it only to functions with needs.s3_missing_ok
            # or needs.s3_list.
            statements.append(list_bucket_statement(bucket_arn))
    if creates:
        statements.append(
            create_objects_statement("CreateCatalogPrefixes", bucket_arn, tuple(creates))
        )
    return statements


def boundary_statements(args: PermissionsBoundaryArgs, account_id: Output[str]) -> list[Statement]:
    """Every statement of the boundary, in a stable order."""
    settings = args.settings
    statements = [
        statement("WriteOwnLogs", LOG_ACTIONS, _log_group_arns(args, account_id)),
        statement(
            "SendToOwnDeadLetterQueues",
            ["sqs:SendMessage"],
            [args.dlq_arns[fn] for fn in args.catalog.names],
        ),
        *_data_statements(args, account_id),
    ]
    statements.extend(
        grant_statements(
            [
                grant
                for spec in args.catalog
                for grant in resolve_needs(spec, settings, pulumi.get_stack())
            ]
        )
    )
    statements.append(tracing_statement("UploadTraces"))
    if any(spec.database for spec in args.catalog):
        # Only database functions get the secret and are placed in the VPC.
        statements.extend(database_secret_statements(settings))
        statements.extend(vpc_statements(settings, account_id))
    statements.append(statement("DenyIamAndOrganizations", DENIED_SERVICES, ["*"], effect="Deny"))
    return statements


class PermissionsBoundary(pulumi.ComponentResource):
    """The managed policy ``boundary-etl-<suffix>``; the functions project attaches it."""

    document: Output[str]
    policy: aws.iam.Policy
    arn: Output[str]

    def __init__(
        self, name: str, args: PermissionsBoundaryArgs, opts: ResourceOptions | None = None
    ) -> None:
        super().__init__("etl:boundary:PermissionsBoundary", name, None, opts)
        account_id: Output[str] = (
            Output.from_input(args.account_id).apply(str)
            if args.account_id is not None
            else aws.get_caller_identity_output().account_id
        )
        self.document = policy_document(boundary_statements(args, account_id))
        self.policy = aws.iam.Policy(
            f"{name}-policy",
            name=resource_name("boundary", "etl", args.settings.suffix),
            description=(
                f"Permissions boundary of every ETL function role in {args.settings.suffix}: "
                "this environment's logs, queues, data and secret only; no IAM."
            ),
            policy=self.document,
            tags=cost_tags(args.settings),
            opts=ResourceOptions(parent=self),
        )
        self.arn = self.policy.arn
        self.register_outputs({"arn": self.arn, "document": self.document})
