"""Every IAM policy document a resource carries, found by property name.

Used by the IAM rules and by :mod:`etl_platform.checks.iam_lint`: role inline policies
(``aws:iam/rolePolicy``, ``Role.inlinePolicies``), managed policies (the permissions
boundary), trust policies (``Role.assumeRolePolicy``) and resource policies (queue,
topic, bucket and KMS key policies: a ``policy`` property).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from etl_platform.checks.rules.model import Resource, parse_policy, plain
from etl_platform.checks.rules.types import KMS_KEY, MANAGED_POLICY, ROLE, ROLE_POLICY

__all__ = ["PolicyDocument", "policy_documents"]

Kind = Literal["identity", "trust", "resource", "key"]


@dataclass(frozen=True)
class PolicyDocument:
    """One rendered document: ``kind`` says how AWS reads it."""

    resource: Resource
    where: str  # the property path, e.g. "policy" or "inlinePolicies[0].policy"
    kind: Kind
    text: str
    document: dict[str, Any] | None  # None when the text is not valid JSON

    @property
    def label(self) -> str:
        return f"{self.resource.label} {self.where}"


def _kind_of(resource_type: str) -> Kind:
    if resource_type in (ROLE_POLICY, MANAGED_POLICY, ROLE):
        return "identity"
    if resource_type == KMS_KEY:
        return "key"
    return "resource"


def _document(resource: Resource, where: str, kind: Kind, value: Any) -> PolicyDocument | None:
    if isinstance(value, Mapping):
        value = json.dumps(plain(value))
    if not isinstance(value, str) or not value.strip():
        return None
    return PolicyDocument(resource, where, kind, value, parse_policy(value))


def policy_documents(resource: Resource) -> list[PolicyDocument]:
    """The documents of one resource (empty for resources that carry none)."""
    found: list[PolicyDocument | None] = []
    if resource.type == ROLE:
        found.append(
            _document(resource, "assumeRolePolicy", "trust", resource.props.get("assumeRolePolicy"))
        )
        for i, inline in enumerate(resource.props.get("inlinePolicies") or []):
            if isinstance(inline, Mapping):
                where = f"inlinePolicies[{i}].policy"
                found.append(_document(resource, where, "identity", inline.get("policy")))
    elif resource.type.startswith("aws:") and "policy" in resource.props:
        found.append(
            _document(resource, "policy", _kind_of(resource.type), resource.props.get("policy"))
        )
    return [d for d in found if d is not None]
