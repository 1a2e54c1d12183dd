"""Reading an upstream stack's exports: a checked StackReference.

The names (projects, exports, ``<org>/<project>/<stack>``) are the contract's,
:mod:`etl_platform.model.contract`; the StackReference is a Pulumi resource, so it lives
here, in ``infra/``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pulumi

from etl_platform.errors import ContractError
from etl_platform.model.contract import stack_reference_name

__all__ = ["Upstream"]


class Upstream:
    """A StackReference to a stack deployed before this one, read with checks."""

    def __init__(self, project: str, org: str, stack: str | None = None) -> None:
        self.project = project
        self.ref_name = stack_reference_name(org, project, stack or pulumi.get_stack())
        self.stack = stack or pulumi.get_stack()
        self.ref = pulumi.StackReference(self.ref_name)

    def _missing(self, what: str) -> ContractError:
        return ContractError(
            f"stack {self.ref_name} has no {what}. Deploy {self.project} first (or again, if "
            f"it is out of date): nox -s deploy-all -- {self.stack} deploys all three in order"
        )

    def value(self, key: str) -> pulumi.Output[str]:
        """A required string export (an ARN, a name, a URL)."""

        def check(value: Any) -> str:
            if not isinstance(value, str) or not value:
                raise self._missing(f"export '{key}' (got {value!r})")
            return value

        return self.ref.get_output(key).apply(check)

    def per_function(self, key: str, functions: Iterable[str]) -> pulumi.Output[dict[str, str]]:
        """A required ``{function: value}`` export with an entry for every catalog function."""
        wanted = list(functions)

        def check(value: Any) -> dict[str, str]:
            if not isinstance(value, dict):
                raise self._missing(f"export '{key}' (a map by function; got {value!r})")
            for fn in wanted:
                entry = value.get(fn)
                if not isinstance(entry, str) or not entry:
                    raise self._missing(f"entry for function '{fn}' in export '{key}'")
            return {fn: value[fn] for fn in wanted}

        return self.ref.get_output(key).apply(check)
