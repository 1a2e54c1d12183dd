"""The README's catalog tables are generated from the tables in code: keys and needs."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from etl_platform.model.catalog import ENTRY_KEYS, FunctionSpec, catalog_keys_markdown
from etl_platform.model.needs import NEEDS, needs_table_markdown
from etl_platform.paths import REPO_ROOT

README = REPO_ROOT / "README.md"


def _table_after(heading: str) -> list[str]:
    """The rows of the first table under ``heading`` in the README."""
    section = README.read_text(encoding="utf-8").split(heading + "\n", 1)[1]
    rows: list[str] = []
    for line in section.splitlines():
        if line.startswith("|"):
            rows.append(line.rstrip())
        elif rows:
            break
    return rows


@pytest.mark.parametrize(
    ("heading", "render", "home"),
    [
        ("### Catalog keys", catalog_keys_markdown, "etl_platform.model.catalog.ENTRY_KEYS"),
        (
            "### Needs: what a function may touch",
            needs_table_markdown,
            "etl_platform.model.needs.NEEDS",
        ),
    ],
)
def test_the_readme_table_equals_the_table_in_code(
    heading: str, render: Callable[[], str], home: str
) -> None:
    # GIVEN the README's table  WHEN compared with the table in code, rendered
    expected = render().splitlines()
    actual = _table_after(heading)
    # THEN they are the same lines, in the same order
    missing = [row for row in expected if row not in actual]
    assert actual == expected, (
        f"README.md's table under {heading!r} differs from {home}; lines it lacks:\n  "
        + "\n  ".join(missing or ["(none: only the order or extra lines differ)"])
    )


def test_every_entry_key_fills_its_own_field() -> None:
    # GIVEN the entry-key table  THEN each key fills the FunctionSpec field of its name,
    # and every field but the entry's own path comes from a key
    keys = [row.key for row in ENTRY_KEYS]
    assert len(keys) == len(set(keys))
    assert set(keys) == {f.name for f in dataclasses.fields(FunctionSpec)} - {"source"}


def test_every_need_is_documented_with_its_actions() -> None:
    # GIVEN the needs table  THEN each need's row names it and every action it grants
    table = needs_table_markdown()
    for n in NEEDS:
        row = next(line for line in table.splitlines() if line.startswith(f"| `{n.key}` |"))
        assert all(f"`{action}`" in row for action in n.actions), n.key
