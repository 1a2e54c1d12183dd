"""CrossGuard policy pack ``etl-guardrails``: the platform's rules, refused before AWS.

Every rule of :mod:`etl_platform.checks.rules` becomes one policy with the rule's id and
description, enforced as MANDATORY:

- a per-resource rule -> a ``ResourceValidationPolicy`` (sees each resource as the
  engine is about to create or update it);
- a set-wide rule (one role per function, a TLS policy per queue, ...) -> a
  ``StackValidationPolicy`` (sees all of the stack's resources).

Both call the same functions the tests and ``nox -s plan`` call, so there is one rule
set. The stack's environment and suffix come from the stack's own settings
(``PULUMI_PROJECT``/``PULUMI_STACK``, set by the CLI, and ``Pulumi.<stack>.yaml``),
falling back to the resources' cost tags.

``function-code-compatible`` is a stack policy: the code checks of ``nox -s compat`` run
once per stack, for the catalog functions the stack deploys (``etl_platform.checks.rules.code``).

Limits (the pack sees one stack at a time, and only what pulumi-policy exposes):
``lambda-log-group-precreated`` needs all three stacks and runs in ``nox -s plan``
only; ``retainOnDelete`` is not exposed to policies (``protect`` is), so retention is
checked by the plan and the tests; a value not known during preview (an ARN another
resource outputs) turns that policy into an advisory note for the preview, and the
stack policies run again with the real values.

Runs with the repository's ``.venv`` (PulumiPolicy.yaml); started by the Pulumi CLI,
which executes this file as ``__main__``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from etl_platform.checks.rules import RULES, Context, Resource, Rule, stack_context
from etl_platform.errors import EtlPlatformError
from etl_platform.model.contract import DEPLOY_ORDER
from etl_platform.paths import PROJECTS_DIR

PACK_NAME = "etl-guardrails"
ContextFactory = Callable[[], Context]


@cache
def pack_context() -> Context:
    """The stack's context from its settings when the CLI says which stack; else empty."""
    project, stack = os.environ.get("PULUMI_PROJECT"), os.environ.get("PULUMI_STACK")
    folders = dict(DEPLOY_ORDER)
    if project in folders and stack:
        try:
            return stack_context(stack, PROJECTS_DIR / folders[project])
        except (EtlPlatformError, FileNotFoundError):
            pass  # the program itself reports bad settings; fall back to the tags
    return Context()


def _protect(opts: object) -> bool | None:
    protect = getattr(opts, "protect", None)
    return protect if isinstance(protect, bool) else None


def resource_policy(rule: Rule, context: ContextFactory = pack_context) -> ResourceValidationPolicy:
    """A per-resource rule as a ResourceValidationPolicy."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not rule.applies_to(args.resource_type):
            return
        resource = Resource(
            type=args.resource_type,
            name=args.name,
            props=args.props,
            urn=args.urn,
            protect=_protect(args.opts),
        )
        for violation in rule.run([resource], context().completed_from([resource])):
            report_violation(violation.message, None)

    return ResourceValidationPolicy(
        name=rule.id,
        description=rule.description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )


def stack_policy(rule: Rule, context: ContextFactory = pack_context) -> StackValidationPolicy:
    """A set-wide rule as a StackValidationPolicy (violations point at the resource's URN)."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [
            Resource(
                type=r.resource_type,
                name=r.name,
                props=r.props,
                urn=r.urn,
                protect=_protect(r.opts),
            )
            for r in args.resources
        ]
        for violation in rule.run(resources, context().completed_from(resources)):
            report_violation(violation.message, violation.urn or None)

    return StackValidationPolicy(
        name=rule.id,
        description=rule.description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )


def policies(context: ContextFactory = pack_context) -> list[Policy]:
    """One policy per rule that can run on a single stack."""
    built: list[Policy] = []
    for rule in RULES:
        if rule.whole_platform:
            continue  # needs all three stacks at once: `nox -s plan` runs it
        if rule.scope == "resource":
            built.append(resource_policy(rule, context))
        else:
            built.append(stack_policy(rule, context))
    return built


def main() -> None:
    """Serve the pack to the Pulumi engine (blocks; the CLI stops it)."""
    PolicyPack(
        name=PACK_NAME,
        enforcement_level=EnforcementLevel.MANDATORY,
        policies=policies(),
        description="ETL platform guardrails: the rules of etl_platform.checks.rules",
    )


if __name__ == "__main__":
    main()
