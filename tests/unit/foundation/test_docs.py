"""docs/: the generated parts match the code, and every alarm has its runbook entry."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from etl_platform.checks.docgen import DOCS_DIR, generate, stale_files
from etl_platform.infra.components.alarms import ALARM_RULES
from etl_platform.model.catalog import load_catalog
from etl_platform.paths import REPO_ROOT


@pytest.fixture(scope="module")
def generated(planned: Any) -> dict:
    return generate(planned("dev"))


def test_the_committed_docs_are_what_nox_s_docs_generates(generated: dict) -> None:
    # GIVEN the catalog, the alarm table and the programs as they are now
    # WHEN the docs are generated from them
    stale = [
        str(path.relative_to(REPO_ROOT))
        for path, text in generated.items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]
    # THEN the committed files are the same
    assert stale == [], (
        f"stale generated docs: {stale}. Run `nox -s docs` and commit the result "
        "(the catalog, the alarm table or a program changed since they were generated)."
    )


def test_the_diagram_shows_every_function_with_its_trigger_dlq_logs_alarms_and_role(
    generated: dict,
) -> None:
    diagram = generated[DOCS_DIR / "architecture.md"]
    assert "```mermaid\nflowchart LR" in diagram
    for spec in load_catalog():
        for node in ("fn", "trigger", "dlq", "logs", "alarms", "role"):
            node_id = f"{node}_{re.sub(r'[^A-Za-z0-9]', '_', spec.name)}"
            assert re.search(rf"^\s+{node_id}\W", diagram, re.M), (spec.name, node)
    # AND the stacks are linked by what each exports to the next
    assert diagram.count(" ==> ") >= 2


def test_every_alarm_row_has_a_runbook_entry(generated: dict) -> None:
    runbook = generated[DOCS_DIR / "runbook.md"]
    for rule in ALARM_RULES:
        assert f"### {rule.what}\n" in runbook
        assert rule.meaning in runbook and rule.action in runbook


def test_an_alarm_row_without_runbook_text_is_refused_with_how_to_fix_it() -> None:
    # GIVEN a new alarm row whose author forgot the runbook text
    with pytest.raises(ValueError) as caught:
        replace(ALARM_RULES[0], what="new-alarm", meaning="", action=" ")
    # THEN the message names the row, both missing fields and the command to run after
    message = str(caught.value)
    assert "'new-alarm'" in message and "meaning" in message and "action" in message
    assert "nox -s docs" in message


def test_the_stale_check_notices_a_change(
    generated: dict, tmp_path: Any, monkeypatch: Any, planned: Any
) -> None:
    # GIVEN a docs folder whose runbook was edited inside the generated block
    import etl_platform.checks.docgen as docgen

    for path, text in generated.items():
        (tmp_path / path.name).write_text(text, encoding="utf-8")
    runbook = tmp_path / "runbook.md"
    runbook.write_text(runbook.read_text().replace("### errors\n", "### errorz\n"))
    monkeypatch.setattr(docgen, "DOCS_DIR", tmp_path)
    # WHEN checked  THEN exactly that file is stale
    runs = planned("dev")
    assert [p.name for p in stale_files(runs)] == ["runbook.md"]


def test_the_readme_links_every_docs_page() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for page in sorted(DOCS_DIR.glob("*.md")):
        assert f"docs/{page.name}" in readme, page.name
