"""The README's "add a function" example, applied to a copy of the catalog, works as written.

In one process, through the session's plans (:func:`tests.conftest.planned`): the
three programs plan the new function with every per-function resource the others get,
the guardrails pass on dev and prod, and the README's steps are the ones that make
``nox -s tests`` pass (the generated docs must be regenerated: ``nox -s docs``).
"""

from __future__ import annotations

import re
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from etl_platform.checks import docgen
from etl_platform.checks.plan import rules_report
from etl_platform.checks.planned import ProgramRun
from etl_platform.model.catalog import CATALOG_DIR_ENV, load_catalog
from etl_platform.paths import LAMBDAS_DIR, REPO_ROOT

README = REPO_ROOT / "README.md"
SECTION = "## The function catalog: adding a function"
STACKS = ("dev", "prod")


def readme_section() -> str:
    """The README's add-a-function section, up to the next heading of its level."""
    return README.read_text(encoding="utf-8").split(SECTION, 1)[1].split("\n## ", 1)[0]


def readme_example() -> str:
    """The first ```toml block of the README's add-a-function section."""
    match = re.search(r"```toml\n(.*?)```", readme_section(), re.S)
    assert match, f"README.md's {SECTION!r} section has no ```toml example"
    return match.group(1)


def apply_example(catalog_dir: Path) -> str:
    """Copy the catalog and add the example's folder (its entry and a handler)."""
    shutil.copytree(LAMBDAS_DIR, catalog_dir)
    entry = tomllib.loads(readme_example())
    folder = catalog_dir / entry["name"]
    folder.mkdir()
    (folder / "function.toml").write_text(readme_example(), encoding="utf-8")
    module, function = entry["handler"].rsplit(".", 1)
    (folder / f"{module}.py").write_text(
        f"def {function}(event, context):\n    return {{'ok': True}}\n", encoding="utf-8"
    )
    return str(entry["name"])


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The example's function name and the catalog copy holding it, as ETL_CATALOG_DIR."""
    catalog_dir = tmp_path_factory.mktemp("readme-example") / "lambdas"
    name = apply_example(catalog_dir)
    with pytest.MonkeyPatch.context() as env:
        env.setenv(CATALOG_DIR_ENV, str(catalog_dir))
        yield name, catalog_dir


@pytest.fixture(scope="module")
def example_plans(example: tuple[str, Path], planned: Any) -> dict[str, list[ProgramRun]]:
    return {stack: planned(stack) for stack in STACKS}


def _types_by_function(runs: list[ProgramRun], names: list[str]) -> dict[str, set[str]]:
    """For each function, the resource types whose logical name is ``<function>-...``."""
    found: dict[str, set[str]] = {name: set() for name in names}
    for run in runs:
        for resource in run.resources:
            for name in names:
                if resource.name.startswith(f"{name}-"):
                    found[name].add(resource.type)
    return found


def test_the_readme_example_loads_as_a_new_catalog_function(example: tuple[str, Path]) -> None:
    # GIVEN the README's example added to a copy of the catalog
    name, catalog_dir = example
    # WHEN the catalog loads  THEN the new function is there beside the others
    catalog = load_catalog(catalog_dir)
    assert name in catalog.names
    assert len(catalog) == len(load_catalog(LAMBDAS_DIR)) + 1


def test_the_example_gets_every_per_function_resource_the_others_get(
    example: tuple[str, Path], example_plans: dict[str, list[ProgramRun]]
) -> None:
    # GIVEN the three programs planned with the example in the catalog
    name, catalog_dir = example
    names = load_catalog(catalog_dir).names
    for stack, runs in example_plans.items():
        by_function = _types_by_function(runs, list(names))
        # THEN whatever every existing function gets (DLQ, log group, alarms, role,
        # policy, function, async config...), the new one gets too, with no program changed
        common = set.intersection(*(by_function[n] for n in names if n != name))
        assert common, f"{stack}: no resource type is common to every function"
        assert common <= by_function[name], (stack, sorted(common - by_function[name]))


@pytest.mark.parametrize("stack", STACKS)
def test_the_guardrails_pass_with_the_readme_example(
    example_plans: dict[str, list[ProgramRun]], stack: str
) -> None:
    # GIVEN the plan of the stack with the example  WHEN every guardrail rule runs
    report, code = rules_report(example_plans[stack], stack)
    # THEN they all pass: adding a function as the README says needs no other change
    assert code == 0, report


def test_the_readme_steps_regenerate_the_docs_before_the_tests(
    example_plans: dict[str, list[ProgramRun]],
) -> None:
    # GIVEN the example in the catalog  WHEN the docs' freshness is checked
    stale = [path.name for path in docgen.stale_files(example_plans["dev"])]
    # THEN the generated docs are stale until `nox -s docs` runs (test_docs would fail)...
    assert stale, "a new function should change the generated docs"
    # AND the README's steps run `nox -s docs` before `nox -s tests`, as does the how-to
    for text in (readme_section(), (REPO_ROOT / "docs" / "how-to.md").read_text("utf-8")):
        assert "nox -s docs" in text and "nox -s tests" in text
        assert text.index("nox -s docs") < text.index("nox -s tests")
