"""Small IAM building blocks shared by the three projects, and the one home of the
IAM facts more than one module needs (service principals, the action lists of logs,
tracing, VPC networking and KMS key use).

Policy documents are always built with ``aws.iam.get_policy_document_output`` (typed
arguments, rendered by the provider), never as hand-written JSON strings.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from etl_platform.model.needs import KMS_DECRYPT_ACTIONS, KMS_KEY_USE_ACTIONS

__all__ = [
    "ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS",
    "ENI_ACTIONS",
    "ENI_CREATE_ACTION",
    "ENI_DESCRIBE_ACTIONS",
    "ENI_MANAGE_ACTIONS",
    "KMS_DECRYPT_ACTIONS",
    "KMS_KEY_USE_ACTIONS",
    "LAMBDA_SERVICE",
    "LOG_ACTIONS",
    "XRAY_ACTIONS",
    "deny_insecure_transport",
    "policy_document",
    "statement",
]

Statement = aws.iam.GetPolicyDocumentStatementArgs

#: The service principal that assumes every function's execution role.
LAMBDA_SERVICE = "lambda.amazonaws.com"
#: Writing to a pre-created log group (no logs:CreateLogGroup: the platform creates it).
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
#: X-Ray trace upload (active tracing).
XRAY_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")
#: The network-interface actions Lambda takes with the execution role of a function in a
#: VPC (what AWSLambdaVPCAccessExecutionRole grants, without attaching a managed policy).
#: These four have resource-level permissions (Service Authorization Reference, Amazon
#: EC2: ``network-interface*``; CreateNetworkInterface also ``subnet*`` and
#: ``security-group``), so they are scoped (etl_platform.infra.function_policy.vpc_statements).
ENI_CREATE_ACTION = "ec2:CreateNetworkInterface"
#: Managing the interfaces once they exist (their ids are known only then).
ENI_MANAGE_ACTIONS = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:DeleteNetworkInterface",
    "ec2:UnassignPrivateIpAddresses",
)
ENI_ACTIONS = (ENI_CREATE_ACTION, *ENI_MANAGE_ACTIONS)
#: The describe actions Lambda also needs; these have no resource-level permissions.
ENI_DESCRIBE_ACTIONS = ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")
# KMS_KEY_USE_ACTIONS and KMS_DECRYPT_ACTIONS live with the [needs] vocabulary
# (etl_platform.model.needs: kms_decrypt grants the same action) and are re-exported here.

# Actions that support no resource-level permissions: AWS only accepts "Resource": "*"
# for them (Service Authorization Reference: their "Resource types" column is empty).
# tests/unit/test_iam.py checks this claim against parliament's copy of that reference.
ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS = frozenset(XRAY_ACTIONS + ENI_DESCRIBE_ACTIONS)


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
