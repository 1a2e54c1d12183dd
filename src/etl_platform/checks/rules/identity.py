"""IAM rules: one role per function, boundaries, no wildcards, no AWS managed policies,
and every ``[needs]`` grant on a resource the platform does not own exact and fenced."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from etl_platform.checks.rules.documents import policy_documents
from etl_platform.checks.rules.model import Context, Resource, Rule, statements
from etl_platform.checks.rules.types import (
    FUNCTION,
    MANAGED_POLICY,
    POLICY_ATTACHMENT,
    ROLE,
    ROLE_POLICY,
    ROLE_POLICY_ATTACHMENT,
    ROLE_POLICY_ATTACHMENTS_EXCLUSIVE,
)
from etl_platform.infra.iam import ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS, LAMBDA_SERVICE
from etl_platform.model.needs import NEEDS, Need
from etl_platform.model.resources import ArnError, kind_label, parse_resource, with_article
from etl_platform.model.settings import REGION, RESOURCES_KEY, secret_arn_problem

__all__ = ["AWS_MANAGED_POLICY_PREFIX", "RULES"]

AWS_MANAGED_POLICY_PREFIX = "arn:aws:iam::aws:policy/"


def _role_key(role: Any) -> str | None:
    """A role ARN or name reduced to the name, so ARNs and names compare equal."""
    if not isinstance(role, str) or not role:
        return None
    return role.rsplit("/", 1)[-1]


def check_role_per_function(
    resources: Sequence[Resource], context: Context
) -> Iterator[tuple[Resource, str]]:
    """No two functions share an execution role."""
    by_role: dict[str, list[Resource]] = defaultdict(list)
    for function in (r for r in resources if r.type == FUNCTION):
        key = _role_key(function.props.get("role"))
        if key is None:
            yield function, "has no execution role. Fix: give it its own role-<function>-<suffix>"
            continue
        by_role[key].append(function)
    for role, functions in by_role.items():
        for function in functions[1:]:
            yield (
                function,
                f"shares execution role {role!r} with {functions[0].physical_name}: each would "
                "get the other's permissions. Fix: one role per function "
                "(role-<function>-<suffix>), with only that function's policy",
            )


def _trusts_lambda(role: Resource) -> bool:
    for document in policy_documents(role):
        if document.kind != "trust" or document.document is None:
            continue
        for statement in statements(document.document):
            principal = statement.get("Principal")
            services = principal.get("Service") if isinstance(principal, dict) else None
            listed = services if isinstance(services, list) else [services]
            if LAMBDA_SERVICE in listed:
                return True
    return False


def check_boundary(resource: Resource, context: Context) -> Iterator[str]:
    """Every role Lambda can assume has a permissions boundary."""
    if _trusts_lambda(resource) and not resource.props.get("permissionsBoundary"):
        yield (
            "is a function role without a permissions boundary. Fix: "
            "permissions_boundary=<the shared stack's boundaryArn export>"
        )


def _allow_statements(resource: Resource) -> Iterator[tuple[str, dict[str, Any]]]:
    for document in policy_documents(resource):
        if document.document is None:
            continue
        for statement in statements(document.document):
            if statement.get("Effect", "Allow") == "Allow":
                yield document.where, statement


def check_wildcard_actions(resource: Resource, context: Context) -> Iterator[str]:
    """Allow statements name every action; no '*', 'service:*' or 'service:Get*'."""
    for where, statement in _allow_statements(resource):
        sid = statement.get("Sid") or "(no Sid)"
        if "NotAction" in statement:
            yield (
                f"{where} statement {sid} allows NotAction {statement['NotAction']}: everything "
                "else is allowed. Fix: list the allowed actions instead"
            )
        wild = [a for a in statement.get("Action", []) if isinstance(a, str) and "*" in a]
        if wild:
            yield (
                f"{where} statement {sid} allows wildcard actions {sorted(wild)}. Fix: list the "
                "exact actions the principal needs (etl_platform.infra.iam.statement)"
            )


def check_star_resources(resource: Resource, context: Context) -> Iterator[str]:
    """``"Resource": "*"`` only for actions that support no resource-level permissions."""
    for document in policy_documents(resource):
        if document.document is None or document.kind in ("trust", "key"):
            continue
        for statement in statements(document.document):
            if statement.get("Effect", "Allow") != "Allow":
                continue
            sid = statement.get("Sid") or "(no Sid)"
            if "NotResource" in statement:
                yield (
                    f"{document.where} statement {sid} uses NotResource: it allows every "
                    "other resource. Fix: list the resources by ARN"
                )
            if "*" not in statement.get("Resource", []):
                continue
            scoped = sorted(
                a
                for a in statement.get("Action", [])
                if a not in ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS
            )
            if scoped:
                yield (
                    f"{document.where} statement {sid} allows {scoped} on Resource '*', but "
                    "these actions support resource-level permissions. Fix: use the ARNs of "
                    "the resources (the resource's .arn output)"
                )


def _secret_arns(resource: Resource) -> Iterator[tuple[str, str]]:
    """(where, ARN) of every Secrets Manager secret ARN the resource names."""
    if resource.type == FUNCTION:
        variables = resource.get("environment.variables") or {}
        for name, value in variables.items() if isinstance(variables, dict) else ():
            if isinstance(value, str) and ":secretsmanager:" in value:
                yield f"environment variable {name}", value
        return
    for where, statement in _allow_statements(resource):
        if not any(
            isinstance(a, str) and a.startswith("secretsmanager:")
            for a in statement.get("Action", [])
        ):
            continue
        for arn in statement.get("Resource", []):
            if isinstance(arn, str) and ":secretsmanager:" in arn and "*" not in arn:
                yield f"{where} statement {statement.get('Sid') or '(no Sid)'}", arn


def check_secret_arns(resource: Resource, context: Context) -> Iterator[str]:
    """Secrets are named by their full ARN, with the 6-character suffix."""
    for where, arn in _secret_arns(resource):
        problem = secret_arn_problem(arn)
        if problem:
            yield (
                f"{where} names the secret {arn!r}, which {problem}. Fix: set "
                f"etl:databaseSecretArn (or its {RESOURCES_KEY} entry) to the output of `aws "
                "secretsmanager describe-secret --secret-id <name> --query ARN --output text`"
            )


def _managed_arns(resource: Resource) -> list[str]:
    if resource.type == ROLE:
        values = resource.props.get("managedPolicyArns") or []
    elif resource.type == ROLE_POLICY_ATTACHMENTS_EXCLUSIVE:
        values = resource.props.get("policyArns") or []
    else:
        values = [resource.props.get("policyArn")]
    return [v for v in values if isinstance(v, str) and v.startswith(AWS_MANAGED_POLICY_PREFIX)]


def check_no_aws_managed_policies(resource: Resource, context: Context) -> Iterator[str]:
    """Roles get only the platform's own least-privilege policies."""
    for arn in _managed_arns(resource):
        yield (
            f"attaches the AWS managed policy {arn}: it grants more than the function needs "
            "and changes without notice. Fix: an inline policy built from the catalog's needs "
            "(etl_platform.infra.iam.statement)"
        )


_NEEDS_BY_SID = {n.sid: n for n in NEEDS}
_BOUNDARY_PREFIX = "boundary-"


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _need_arn_problem(n: Need, arn: str) -> tuple[str, str] | None:
    """(what is wrong, the fix) when ``arn`` is not a grant ``n`` makes, else None."""
    base = arn
    if n.on_objects:
        base, slash, keys = arn.partition("/")
        if not slash or not keys.endswith("*") or "*" in keys[:-1]:
            return (
                "is not <bucket-arn>/<prefix>* (objects under one key prefix)",
                f'name the bucket in {RESOURCES_KEY} and the prefix in the entry: "name/prefix/"',
            )
    else:
        base = next((arn[: -len(sub)] for sub in n.sub_resources if arn.endswith(sub)), arn)
    if "*" in base:
        return (
            "has a wildcard: the need grants exact ARNs only",
            f"declare each resource by its full ARN in {RESOURCES_KEY}",
        )
    try:
        resource = parse_resource("resource", base, REGION)
    except ArnError as error:
        return error.problem, f"{error.fix}, and put that ARN in {RESOURCES_KEY}"
    if resource.resource_kind != n.target:
        return (
            f"is {with_article(resource.label)}, but {n.key} acts on "
            f"{with_article(kind_label(n.target))}",
            f"name {with_article(kind_label(n.target))} in needs.{n.key}",
        )
    return None


def _need_statements(resource: Resource) -> Iterator[tuple[str, dict[str, Any], Need]]:
    for where, statement in _allow_statements(resource):
        n = _NEEDS_BY_SID.get(statement.get("Sid") or "")
        if n is not None:
            yield where, statement, n


def check_need_grants(resource: Resource, context: Context) -> Iterator[str]:
    """A ``Need<Key>`` statement grants exactly its need's actions on ARNs of its kind."""
    for where, statement, n in _need_statements(resource):
        sid = statement["Sid"]
        actions = sorted(a for a in _as_list(statement.get("Action")) if isinstance(a, str))
        if actions != sorted(n.actions):
            yield (
                f"{where} statement {sid} allows {actions}, but {n.key} grants exactly "
                f"{sorted(n.actions)}. Fix: build it from the catalog's needs "
                "(etl_platform.infra.function_policy.grant_statements), not by hand"
            )
        for arn in _as_list(statement.get("Resource")):
            if not isinstance(arn, str):
                continue
            problem = _need_arn_problem(n, arn)
            if problem:
                yield (
                    f"{where} statement {sid} grants {n.key} on {arn!r}, which {problem[0]}. "
                    f"Fix: {problem[1]}"
                )


def _granted(resource: Resource) -> dict[str, set[str]]:
    """``{Need sid: resource ARNs}`` that ``resource``'s documents allow."""
    arns: dict[str, set[str]] = defaultdict(set)
    for _, statement, n in _need_statements(resource):
        arns[n.sid].update(a for a in _as_list(statement.get("Resource")) if isinstance(a, str))
    return arns


def check_needs_under_boundary(
    resources: Sequence[Resource], context: Context
) -> Iterator[tuple[Resource, str]]:
    """Every ``Need<Key>`` grant of a role is also allowed by the permissions boundary."""
    boundaries = [
        r
        for r in resources
        if r.type == MANAGED_POLICY and r.physical_name.startswith(_BOUNDARY_PREFIX)
    ]
    fence: dict[str, set[str]] = defaultdict(set)
    for boundary in boundaries:
        for sid, arns in _granted(boundary).items():
            fence[sid] |= arns
    for policy in (r for r in resources if r.type in (ROLE_POLICY, ROLE)):
        for sid, arns in sorted(_granted(policy).items()):
            outside = sorted(arns - fence[sid])
            if outside:
                yield (
                    policy,
                    f"statement {sid} grants {outside}, which the permissions boundary does "
                    "not allow (the grant is void: AccessDenied at run time). Fix: set the "
                    f"same {RESOURCES_KEY} in the shared and etl-functions projects' "
                    "Pulumi.<stack>.yaml (the boundary is built from it) and deploy shared "
                    "first",
                )


RULES: tuple[Rule, ...] = (
    Rule(
        "iam-secret-arn-complete",
        "Every secret a policy grants or a function is given is named by its full ARN, "
        "with the 6-character suffix Secrets Manager appends (a partial ARN matches no "
        "secret: AccessDenied at run time).",
        "resource",
        check_secret_arns,
    ),
    Rule(
        "iam-role-per-function",
        "Every function has its own execution role; no role is shared.",
        "stack",
        check_role_per_function,
    ),
    Rule(
        "iam-permissions-boundary",
        "Every role that Lambda can assume has a permissions boundary.",
        "resource",
        check_boundary,
        frozenset({ROLE}),
    ),
    Rule(
        "iam-no-wildcard-actions",
        "No Allow statement in any policy uses a wildcard action ('*', 'service:*', "
        "'service:Get*') or NotAction.",
        "resource",
        check_wildcard_actions,
    ),
    Rule(
        "iam-star-resource-scoped",
        "'Resource: *' only for actions with no resource-level permissions "
        "(etl_platform.infra.iam.ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS: "
        "xray:PutTraceSegments, "
        "xray:PutTelemetryRecords, ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets; "
        "AWS accepts only '*' for them). In a KMS key policy '*' means the key itself.",
        "resource",
        check_star_resources,
    ),
    Rule(
        "iam-no-aws-managed-policies",
        "No AWS managed policy (arn:aws:iam::aws:policy/...) is attached to a role.",
        "resource",
        check_no_aws_managed_policies,
        frozenset(
            {ROLE, ROLE_POLICY_ATTACHMENT, POLICY_ATTACHMENT, ROLE_POLICY_ATTACHMENTS_EXCLUSIVE}
        ),
    ),
    Rule(
        "iam-need-grants-exact",
        "Every grant from a [needs] key on a resource the platform does not own "
        "(statement Need<Key>) allows exactly that need's actions "
        "(etl_platform.model.needs.NEEDS), on full ARNs of the kind it acts on, in "
        f"{REGION}: no '*', no alias, no partial secret ARN, no other region.",
        "resource",
        check_need_grants,
        frozenset({ROLE, ROLE_POLICY, MANAGED_POLICY}),
    ),
    Rule(
        "iam-needs-under-boundary",
        "Every Need<Key> grant of a function role is also allowed by the permissions "
        "boundary (both built from the catalog and etl:resources; a drift voids the grant).",
        "stack",
        check_needs_under_boundary,
        whole_platform=True,
    ),
)
