"""The README's configuration table and the settings table in code are one thing."""

from __future__ import annotations

import dataclasses

from etl_platform.model.settings import KNOWN_KEYS, SETTING_KEYS, Settings, settings_table_markdown
from etl_platform.paths import REPO_ROOT

README = REPO_ROOT / "README.md"


def _readme_settings_rows() -> list[str]:
    """The rows of the README table under '## Configuration reference'."""
    section = README.read_text(encoding="utf-8").split("## Configuration reference", 1)[1]
    rows: list[str] = []
    for line in section.splitlines():
        if line.startswith("|"):
            rows.append(line.rstrip())
        elif rows:
            break
    return rows


def test_readme_settings_table_equals_the_key_table_in_code() -> None:
    # GIVEN the README's configuration table  WHEN compared with SETTING_KEYS rendered
    expected = settings_table_markdown().splitlines()
    actual = _readme_settings_rows()
    # THEN they are the same lines, in the same order
    missing = [row for row in expected if row not in actual]
    extra = [row for row in actual if row not in expected]
    assert actual == expected, (
        "README.md's configuration table differs from etl_platform.model.settings.SETTING_KEYS.\n"
        "Lines the README lacks (add them):\n  "
        + "\n  ".join(missing or ["(none: only the order differs)"])
        + "\nREADME lines with no matching row in SETTING_KEYS (remove or update them):\n  "
        + "\n  ".join(extra or ["(none)"])
    )


def test_every_settings_field_is_filled_by_exactly_one_key() -> None:
    # GIVEN the table  THEN each key fills its own Settings field, and every field but the
    # derived one (retention follows the environment) has a key
    fields = [spec.field for spec in SETTING_KEYS]
    assert len(fields) == len(set(fields))
    settable = {f.name for f in dataclasses.fields(Settings)} - {"log_retention_days"}
    assert set(fields) == settable
    # AND the known etl: keys are exactly the table's etl: rows
    assert {f"etl:{k}" for k in KNOWN_KEYS} == {
        spec.key for spec in SETTING_KEYS if spec.key.startswith("etl:")
    }
