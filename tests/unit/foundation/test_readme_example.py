"""The README's "add a function" example, applied to a copy of the catalog, passes the
project and guardrail tests: what the README tells a newcomer to do works as written."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from etl_platform.model.catalog import CATALOG_DIR_ENV, load_catalog
from etl_platform.paths import LAMBDAS_DIR, REPO_ROOT

README = REPO_ROOT / "README.md"
SECTION = "## The function catalog: adding a function"
# The tests that exercise the three programs and the guardrails over the whole catalog.
SUITES = ("tests/unit/projects", "tests/unit/rules")


def readme_example() -> str:
    """The first ```toml block of the README's add-a-function section."""
    section = README.read_text(encoding="utf-8").split(SECTION, 1)[1]
    match = re.search(r"```toml\n(.*?)```", section, re.S)
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


def test_the_readme_example_loads_as_a_new_catalog_function(tmp_path: Path) -> None:
    # GIVEN the README's example added to a copy of the catalog
    name = apply_example(tmp_path / "lambdas")
    # WHEN the catalog loads  THEN the new function is there beside the others
    catalog = load_catalog(tmp_path / "lambdas")
    assert name in catalog.names
    assert len(catalog) == len(load_catalog(LAMBDAS_DIR)) + 1


def test_the_project_and_rule_tests_pass_with_the_readme_example(tmp_path: Path) -> None:
    # GIVEN the README's example added to a copy of the catalog
    apply_example(tmp_path / "lambdas")
    # WHEN the project and guardrail tests run against that catalog
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *SUITES],
        cwd=REPO_ROOT,
        env={**os.environ, CATALOG_DIR_ENV: str(tmp_path / "lambdas")},
        capture_output=True,
        text=True,
        check=False,
    )
    # THEN they all pass: adding a function as the README says needs no other change
    assert result.returncode == 0, (
        "the README's add-a-function example breaks these tests:\n" + result.stdout[-6000:]
    )
