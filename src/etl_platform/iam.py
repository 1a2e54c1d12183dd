"""Small IAM building blocks shared by the three projects.

Policy documents are always built with ``aws.iam.get_policy_document_output`` (typed
arguments, rendered by the provider), never as hand-written JSON strings.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

__all__ = [
    "ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS",
    "deny_insecure_transport",
    "policy_document",
    "statement",
]

Statement = aws.iam.GetPolicyDocumentStatementArgs

# Actions that support no resource-level permissions: AWS only accepts "Resource": "*"
# for them (Service Authorization Reference: "Resource types" column is empty).
ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS = frozenset(
    {
        # X-Ray trace upload.
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        # The network-interface actions Lambda needs for functions in a VPC.
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    }
)


def statement(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[pulumi.Input[str]],
    *,
    effect: str = "Allow",
    principals: Sequence[tuple[str, Sequence[str]]] = (),
    conditions: Sequence[tuple[str, str, Sequence[str]]] = (),
) -> Statement:
    """One statement; principals as (type, identifiers), conditions as (test, key, values)."""
    return Statement(
        sid=sid,
        effect=effect,
        actions=sorted(actions),
        resources=list(resources),  # type: ignore[arg-type]  # Inputs are accepted at run time
        principals=[
            aws.iam.GetPolicyDocumentStatementPrincipalArgs(type=t, identifiers=list(ids))
            for t, ids in principals
        ]
        or None,
        conditions=[
            aws.iam.GetPolicyDocumentStatementConditionArgs(test=t, variable=k, values=list(v))
            for t, k, v in conditions
        ]
        or None,
    )


def deny_insecure_transport(
    actions: Sequence[str], resources: Sequence[pulumi.Input[str]]
) -> Statement:
    """Deny every request that does not use TLS (``aws:SecureTransport`` false)."""
    return statement(
        "DenyInsecureTransport",
        actions,
        resources,
        effect="Deny",
        principals=[("*", ["*"])],
        conditions=[("Bool", "aws:SecureTransport", ["false"])],
    )


def policy_document(statements: Sequence[Statement]) -> pulumi.Output[str]:
    """The rendered JSON of a policy document."""
    return aws.iam.get_policy_document_output(statements=list(statements)).json
