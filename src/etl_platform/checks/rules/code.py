"""The code guardrail: a function whose code fails ``nox -s compat`` is refused.

``function-code-compatible`` runs, for every Lambda function resource that is a catalog
function, the same checks ``nox -s compat`` runs on that function's folder
(:func:`etl_platform.artifacts.compat.function_problems`: Python syntax, removed and
unresolvable imports; Node.js aws-sdk v2, nodejs24.x handler and context breaks,
unresolvable imports, codemod leftovers, v3 output types, ...), on the runtime the
resource is planned with. It is a set-wide rule, so the checks run once per plan (and
once per stack in the policy pack), not once per resource.

The Python import check needs the Python layer's import names: from the Python
LayerVersion among the resources when its archive is a readable zip (the plan), else
from the built layer (:func:`etl_platform.artifacts.compat.build_layer`, cached), and
only when some import is not otherwise resolvable. The layers themselves are checked by
``nox -s compat`` and by the shared program's build, not here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from etl_platform.artifacts.compat import function_problems
from etl_platform.checks.rules.model import Context, Resource, Rule, is_sequence
from etl_platform.checks.rules.types import FUNCTION, LAYER_VERSION
from etl_platform.model.runtimes import DEFAULT_ARCHITECTURE, PYTHON, language_of

__all__ = ["RULES", "check_code", "shown_problems"]

#: How many problems a violation quotes (``nox -s compat`` lists them all).
SHOWN_PROBLEMS = 3


def _archive_path(code: Any) -> Path | None:
    """The file of a FileArchive as the plan (an object) or a pack (a mapping) gives it."""
    path = code.get("path") if isinstance(code, Mapping) else getattr(code, "path", None)
    return Path(path) if isinstance(path, str) and Path(path).is_file() else None


def _python_layer_zips(resources: Sequence[Resource]) -> dict[tuple[str, str], Path]:
    """(runtime, architecture) -> the Python layer zip planned for it."""
    found: dict[tuple[str, str], Path] = {}
    for resource in resources:
        if resource.type != LAYER_VERSION:
            continue
        path = _archive_path(resource.props.get("code"))
        runtimes = resource.get("compatibleRuntimes")
        architectures = resource.get("compatibleArchitectures")
        if path is None or not is_sequence(runtimes) or not is_sequence(architectures):
            continue
        for runtime in runtimes:
            if isinstance(runtime, str) and runtime.startswith(PYTHON):
                for architecture in architectures:
                    found[(runtime, str(architecture))] = path
    return found


def shown_problems(problems: Sequence[object]) -> str:
    """The first problems, for a violation message."""
    shown = "; ".join(str(p) for p in problems[:SHOWN_PROBLEMS])
    more = len(problems) - SHOWN_PROBLEMS
    return shown + (f"; and {more} more" if more > 0 else "")


def check_code(resources: Sequence[Resource], context: Context) -> Iterator[tuple[Resource, str]]:
    """Every catalog function's code passes the compat checks for its planned runtime."""
    zips = _python_layer_zips(resources)
    for resource in resources:
        if resource.type != FUNCTION:
            continue
        spec = context.function_for(resource)
        runtime = resource.get("runtime")
        if spec is None or not isinstance(runtime, str):
            continue
        try:
            language_of(runtime)
        except ValueError:
            continue  # an unknown runtime is the runtime rule's finding
        architectures = resource.get("architectures")
        architecture = (
            str(architectures[0])
            if is_sequence(architectures) and architectures
            else DEFAULT_ARCHITECTURE
        )
        problems = function_problems(
            spec, runtime, architecture, layer_zip=zips.get((runtime, architecture))
        )
        if problems:
            yield (
                resource,
                f"runs catalog function {spec.name!r}, whose code fails the compat check for "
                f"{runtime} ({len(problems)} problem(s)): {shown_problems(problems)}. Fix: "
                "fix the code (`nox -s compat` lists every problem; docs/migrating-node.md "
                "for Node.js)",
            )


RULES: tuple[Rule, ...] = (
    Rule(
        "function-code-compatible",
        "A catalog function's code passes the checks of `nox -s compat` for the runtime it "
        "is planned with (Python and Node.js), run once per plan; the first problems are "
        "quoted.",
        "stack",
        check_code,
        frozenset({FUNCTION}),
    ),
)
