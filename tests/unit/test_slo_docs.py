"""The README (and the runbook, once ``docs/runbook.md`` exists) describe every SLO the
code defines: each SLO alarm row, each metric the watchdog emits, the trace query."""

from __future__ import annotations

from pathlib import Path

from etl_platform.infra.components.alarms import ALARM_RULES
from etl_platform.model.slo import PIPELINE_METRICS

REPO = Path(__file__).resolve().parents[2]
# The rows added for the pipeline SLOs (issue 15): the pipeline ones, and the async-age
# and recursion rows on functions.
SLO_METRICS = ("AsyncEventAge", "RecursiveInvocationsDropped")
SLO_RULES = [r for r in ALARM_RULES if r.target == "pipeline" or r.metric_name in SLO_METRICS]


def _docs() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    runbook = REPO / "docs" / "runbook.md"
    if runbook.exists():
        text += runbook.read_text(encoding="utf-8")
    return text


def test_every_slo_alarm_has_a_line_in_the_slo_table_and_a_runbook_entry() -> None:
    docs = _docs()
    assert SLO_RULES
    for rule in SLO_RULES:
        name = f"alarm-pipeline-{rule.what}-" if rule.target == "pipeline" else f"-{rule.what}-"
        assert name in docs, f"the SLO table does not name {name}"
        assert f"**{rule.what}**" in docs, f"no runbook entry for {rule.what}"
        assert rule.metric_name in docs


def test_every_watchdog_metric_and_the_trace_query_are_documented() -> None:
    docs = _docs()
    for names in PIPELINE_METRICS.values():
        for name in names:
            assert f"`{name}`" in docs, name
    assert 'annotation.batch_id = "' in docs
    assert "etl:tracing" in docs and "aws-otel.github.io" in docs
