"""What an offline run of a Pulumi program produced: plain data, no Pulumi SDK.

:func:`etl_platform.checks.offline.run_program` returns a :class:`ProgramRun`; the
guardrails (:mod:`etl_platform.checks.rules`), ``nox -s plan`` and ``nox -s docs`` read it.
Kept apart from the runner so that importing the rules (as the policy pack does)
never loads the mock runtime.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from etl_platform.model.naming import physical_name

__all__ = ["PlannedResource", "ProgramRun"]


@dataclass
class PlannedResource:
    """One resource the program registered, as the engine would have seen it."""

    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    custom: bool
    protect: bool = False
    retain_on_delete: bool = False
    parent: str = ""
    #: Properties Pulumi leaves as they are in AWS after the create (``ignore_changes``).
    ignore_changes: tuple[str, ...] = ()

    @property
    def props(self) -> dict[str, Any]:
        """Inputs and computed outputs together (inputs win): what a policy pack sees."""
        return {**self.outputs, **self.inputs}

    @property
    def physical_name(self) -> str:
        """The AWS name (``lambda-transform-dev``) when the resource has one, else logical."""
        return physical_name(self.type, self.props) or self.name


@dataclass
class ProgramRun:
    """What one program did: its resources (components included) and its exports."""

    project: str
    stack: str
    resources: list[PlannedResource] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)
    stack_references: list[str] = field(default_factory=list)  # "<org>/<project>/<stack>" read

    def of_type(self, type_token: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str) -> PlannedResource:
        found = [r for r in self.of_type(type_token) if r.name == name]
        if len(found) != 1:
            names = sorted(r.name for r in self.of_type(type_token))
            raise KeyError(f"no single {type_token} named {name!r}; have {names}")
        return found[0]

    @property
    def custom_resources(self) -> list[PlannedResource]:
        return [r for r in self.resources if r.custom]
