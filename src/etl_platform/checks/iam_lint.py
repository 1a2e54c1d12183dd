"""IAM lint: every policy document the three programs render, through parliament.

``etl-ops iam-lint [stack ...]`` (``nox -s iam-lint``; default ``dev prod``) runs the
programs offline (:func:`etl_platform.checks.plan.plan_stack`), collects every document
their resources carry (role inline policies, trust policies, the permissions
boundary, queue, topic, bucket and KMS key policies: see
:mod:`etl_platform.checks.rules.documents`) and analyzes each with parliament's
``analyze_policy_string``. A finding fails the lint unless an entry of
:data:`SUPPRESSIONS` (in code, with its reason) covers it. Exit code 1 on any
unsuppressed finding.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import dataclass

from parliament import analyze_policy_string, enhance_finding

from etl_platform.checks.plan import plan_stack
from etl_platform.checks.planned import PlannedResource
from etl_platform.checks.rules import Resource, to_resources
from etl_platform.checks.rules.documents import PolicyDocument, policy_documents
from etl_platform.infra.iam import ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS

__all__ = [
    "SUPPRESSIONS",
    "Finding",
    "Suppression",
    "add_arguments",
    "command",
    "lint_documents",
    "lint_resources",
    "open_findings",
]


@dataclass(frozen=True)
class Suppression:
    """A parliament finding we accept, where, and why (the reason is required)."""

    issue: str  # parliament's issue code, e.g. "RESOURCE_STAR"
    kind: str  # the document kind it applies to: trust, identity, resource or key
    detail_contains: str  # a substring of the finding's detail ("" matches any)
    reason: str
    # When set, the finding's detail (a list of actions) must name only these actions.
    only_actions: frozenset[str] | None = None

    def covers(self, document: PolicyDocument, issue: str, detail: str) -> bool:
        if issue != self.issue or document.kind != self.kind or self.detail_contains not in detail:
            return False
        return self.only_actions is None or set(detail.split(", ")) <= self.only_actions


SUPPRESSIONS: tuple[Suppression, ...] = (
    Suppression(
        issue="MALFORMED",
        kind="trust",
        detail_contains="neither Resource nor NotResource",
        reason=(
            "A role's trust (assume-role) policy is a resource policy on the role itself: "
            "AWS rejects a Resource element in it. Parliament analyzes every document as an "
            "identity policy and expects one."
        ),
    ),
    Suppression(
        issue="RESOURCE_STAR",
        kind="key",
        detail_contains="",
        reason=(
            'In a KMS key policy, "Resource": "*" means the key the policy is attached to; '
            "AWS documents it that way and a key policy cannot name its own ARN before the "
            "key exists. Wildcard actions are still refused by rule iam-no-wildcard-actions."
        ),
    ),
    Suppression(
        issue="RESOURCE_STAR",
        kind="identity",
        detail_contains="",
        only_actions=ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS,
        reason=(
            "X-Ray upload (xray:PutTraceSegments, xray:PutTelemetryRecords) and the two "
            "describe actions of a function in a VPC (ec2:DescribeNetworkInterfaces, "
            "ec2:DescribeSubnets): the Service Authorization Reference gives them no "
            "resource type, so AWS accepts only '*'. The ENI actions that do have "
            "resource-level permissions are scoped (etl_platform.infra.function_policy)."
        ),
    ),
    Suppression(
        issue="RESOURCE_MISMATCH",
        kind="identity",
        detail_contains="'required_format': 'arn:*:dynamodb:*:*:table/*/stream/*'",
        reason=(
            "A DynamoDB stream's ARN ends with its label, a timestamp with colons "
            "(table/<table>/stream/2024-01-01T00:00:00.000); parliament splits ARNs on ':' and "
            "so cannot match it to table/*/stream/*. The ARN is the one "
            "etl:resources declares, parsed by etl_platform.model.resources as a stream."
        ),
    ),
)


@dataclass(frozen=True)
class Finding:
    """One parliament finding on one document, and the suppression covering it, if any."""

    document: PolicyDocument
    issue: str
    severity: str
    title: str
    detail: str
    suppressed_by: Suppression | None

    def __str__(self) -> str:
        text = f"{self.document.label}: {self.issue} ({self.severity}) {self.title}: {self.detail}"
        if self.suppressed_by is not None:
            text += f"  [suppressed: {self.suppressed_by.reason}]"
        return text


def _detail_text(detail: object) -> str:
    if isinstance(detail, list | tuple | set):
        return ", ".join(sorted(map(str, detail)))
    return str(detail)


def lint_documents(documents: Iterable[PolicyDocument]) -> list[Finding]:
    """Parliament's findings on ``documents``, each marked with its suppression."""
    findings = []
    for document in documents:
        policy = analyze_policy_string(document.text)
        for raw in policy.findings:
            enhance_finding(raw)
            detail = _detail_text(raw.detail)
            cover = next((s for s in SUPPRESSIONS if s.covers(document, raw.issue, detail)), None)
            findings.append(Finding(document, raw.issue, raw.severity, raw.title, detail, cover))
    return findings


def lint_resources(resources: Iterable[Resource | PlannedResource]) -> list[Finding]:
    """Every document of ``resources`` through parliament."""
    documents = [d for r in to_resources(resources) for d in policy_documents(r)]
    return lint_documents(documents)


def open_findings(resources: Iterable[Resource | PlannedResource]) -> list[Finding]:
    """The findings on ``resources``' documents that no suppression covers."""
    return [f for f in lint_resources(resources) if f.suppressed_by is None]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``etl-ops iam-lint [stack ...] [--show-suppressed]``."""
    parser.add_argument("stacks", nargs="*", default=["dev", "prod"])
    parser.add_argument("--show-suppressed", action="store_true")


def command(args: argparse.Namespace) -> int:
    """Lint the documents of the given stacks' offline plans; 1 on a finding."""
    failed = 0
    for stack in args.stacks:
        resources = [r for run in plan_stack(stack) for r in run.resources]
        documents = [d for r in to_resources(resources) for d in policy_documents(r)]
        findings = lint_documents(documents)
        open_findings = [f for f in findings if f.suppressed_by is None]
        print(
            f"== iam lint ({stack}): {len(documents)} documents, "
            f"{len(open_findings)} findings, {len(findings) - len(open_findings)} suppressed"
        )
        for finding in findings:
            if finding.suppressed_by is None or args.show_suppressed:
                print(f"  {finding}")
        failed += len(open_findings)
    return 1 if failed else 0
