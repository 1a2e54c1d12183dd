"""The platform's guardrails: one rule set, used by the tests, ``nox -s plan`` and the
CrossGuard policy pack (``policy/``).

Every rule is a plain function over a resource's type token and camelCase properties
(or, for set-wide rules, over all resources), with an id, a one-line description, and
on violation a message that names the resource, what is wrong and how to fix it::

    from etl_platform.checks.rules import Context, evaluate
    violations = evaluate(run.resources, Context(environment="dev", suffix="dev"))

``evaluate`` accepts :class:`etl_platform.checks.planned.PlannedResource` objects (what the
offline plan registers) or :class:`Resource` objects (what the policy pack builds).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from etl_platform.checks.planned import PlannedResource
from etl_platform.checks.rules import code, deployment, functions, hygiene, identity, storage
from etl_platform.checks.rules.model import Context, Resource, Rule, Violation
from etl_platform.model.catalog import load_catalog
from etl_platform.model.settings import settings_from_mapping
from etl_platform.model.stack_config import read_stack_config
from etl_platform.paths import PROJECTS_DIR

__all__ = [
    "RULES",
    "Context",
    "Resource",
    "Rule",
    "RuleResult",
    "Violation",
    "check",
    "evaluate",
    "rule",
    "stack_context",
    "to_resources",
]

RULES: tuple[Rule, ...] = (
    *functions.RULES,
    *deployment.RULES,
    *storage.RULES,
    *identity.RULES,
    *hygiene.RULES,
    *code.RULES,
)
_BY_ID = {r.id: r for r in RULES}
assert len(_BY_ID) == len(RULES), "rule ids must be unique"


@dataclass(frozen=True)
class RuleResult:
    """One rule's outcome over a set of resources."""

    rule: Rule
    violations: tuple[Violation, ...]
    skipped: bool = False  # a whole-platform rule over a single stack

    @property
    def passed(self) -> bool:
        return not self.violations


def rule(rule_id: str) -> Rule:
    """The rule with this id (KeyError lists the known ids)."""
    try:
        return _BY_ID[rule_id]
    except KeyError:
        raise KeyError(f"no rule {rule_id!r}; known: {sorted(_BY_ID)}") from None


def stack_context(
    stack: str,
    project_dir: Path = PROJECTS_DIR / "shared",
    *,
    whole_platform: bool = False,
) -> Context:
    """The context of ``stack`` from its validated settings (``Pulumi.<stack>.yaml``).

    All three projects share the ``etl:`` settings, so any project's stack file will
    do. Raises the settings' own error when the config is invalid.
    """
    catalog = load_catalog()
    settings = settings_from_mapping(read_stack_config(project_dir, stack), catalog.names)
    return Context(
        environment=settings.environment,
        suffix=settings.suffix,
        catalog=catalog,
        whole_platform=whole_platform,
    )


def to_resources(resources: Iterable[Resource | PlannedResource]) -> list[Resource]:
    """Plain :class:`Resource` objects; a plan's component resources are left out."""
    result = []
    for r in resources:
        if isinstance(r, PlannedResource):
            if r.custom:
                result.append(Resource.from_planned(r))
        else:
            result.append(r)
    return result


def check(
    resources: Iterable[Resource | PlannedResource],
    context: Context | None = None,
    rules: Sequence[Rule] = RULES,
) -> list[RuleResult]:
    """Run ``rules`` over ``resources``: one result per rule, in rule order."""
    plain = to_resources(resources)
    ctx = (context or Context()).completed_from(plain)
    return [
        RuleResult(r, tuple(r.run(plain, ctx)), skipped=r.whole_platform and not ctx.whole_platform)
        for r in rules
    ]


def evaluate(
    resources: Iterable[Resource | PlannedResource],
    context: Context | None = None,
    rules: Sequence[Rule] = RULES,
) -> list[Violation]:
    """Every violation of ``rules`` among ``resources`` (empty: all rules pass)."""
    return [v for result in check(resources, context, rules) for v in result.violations]
