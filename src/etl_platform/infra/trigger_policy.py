"""What a polled trigger's source needs from the function's role, and from the boundary.

Lambda's event source mappings read an SQS queue or a stream with the function's own
execution role, so the role (and the permissions boundary around every role) must
allow the source's read actions: exactly those of the trigger type's
:class:`~etl_platform.model.catalog.EventSourceMapping`, on that source's ARN only.
Pushing sources (SNS, EventBridge, API Gateway, ``invoke``) need nothing on the role:
they are let in by the function's resource policy (``EtlFunction.allow_invoke``).

A stream's on-failure destination is the function's own DLQ, which the role may
already send to (``DeadLetterQueue``).
"""

from __future__ import annotations

from collections.abc import Iterable

import pulumi

from etl_platform.infra.iam import Statement, statement
from etl_platform.model.catalog import FunctionSpec
from etl_platform.model.settings import Settings
from etl_platform.model.trigger_sources import trigger_source

__all__ = ["boundary_trigger_statements", "trigger_sid", "trigger_statements"]


def trigger_sid(trigger_type: str) -> str:
    """``dynamodb-stream`` -> ``TriggerDynamodbStream``: the statement that lets it poll."""
    return "Trigger" + "".join(part.capitalize() for part in trigger_type.split("-"))


def trigger_statements(spec: FunctionSpec, settings: Settings) -> list[Statement]:
    """The role's statement for its polled trigger's source (none for other triggers)."""
    mapping = spec.trigger.mapping
    if mapping is None:
        return []
    source = trigger_source(spec, settings, pulumi.get_stack())
    assert source is not None  # a polled trigger always names its source
    return [statement(trigger_sid(spec.trigger.type), mapping.actions, [source.arn])]


def boundary_trigger_statements(
    specs: Iterable[FunctionSpec], settings: Settings
) -> list[Statement]:
    """The boundary's statements: per polled trigger type, its actions on its sources."""
    sources: dict[str, set[str]] = {}
    actions: dict[str, tuple[str, ...]] = {}
    for spec in specs:
        mapping = spec.trigger.mapping
        if mapping is None:
            continue
        source = trigger_source(spec, settings, pulumi.get_stack())
        assert source is not None
        sources.setdefault(spec.trigger.type, set()).add(source.arn)
        actions[spec.trigger.type] = mapping.actions
    return [
        statement(trigger_sid(kind), actions[kind], sorted(arns))
        for kind, arns in sorted(sources.items())
    ]
