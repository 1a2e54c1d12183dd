"""``nox -s plan`` shows the watchdog and every SLO alarm with its topic action."""

from __future__ import annotations

from typing import Any

from etl_platform.checks.plan import format_run
from etl_platform.infra.components.alarms import ALARM_RULES
from etl_platform.model.catalog import load_catalog
from etl_platform.model.naming import resource_name
from etl_platform.model.slo import WATCHDOG


def test_the_plan_shows_the_watchdog_and_every_slo_alarm_with_its_topic(planned: Any) -> None:
    # GIVEN the dev plan of the three stacks, as `nox -s plan -- dev` prints it
    text = "\n".join(format_run(run) for run in planned("dev"))
    lines = text.splitlines()
    topic = resource_name("alarms", "", "dev")
    catalog = load_catalog()

    def line_of(name: str, type_: str = "cloudwatch:MetricAlarm") -> str:
        (found,) = [line for line in lines if line.startswith(f"{type_} ") and f" {name} " in line]
        return found

    # THEN the watchdog is there, with its schedule
    assert "runtime=" in line_of(resource_name("lambda", WATCHDOG, "dev"), "lambda:Function")
    schedule = catalog.get(WATCHDOG).trigger.expression
    rule_line = line_of(resource_name("schedule", WATCHDOG, "dev"), "cloudwatch:EventRule")
    assert f"scheduleExpression={schedule}" in rule_line
    # AND every alarm row, for every function it applies to, notifies the topic
    for rule in ALARM_RULES:
        if rule.target == "pipeline":
            subjects = [f"pipeline-{rule.what}"] if rule.periods_setting is None else []
        else:
            subjects = [f"{s.name}-{rule.what}" for s in catalog if rule.applies_to(s)]
        for subject in subjects:
            line = line_of(resource_name("alarm", subject, "dev"))
            assert f"metricName={rule.metric_name}" in line
            assert f"alarmActions=[{topic}]" in line
    # AND every function stops recursive loops
    for spec in catalog:
        name = resource_name("lambda", spec.name, "dev")
        assert "recursiveLoop=Terminate" in line_of(name, "lambda:FunctionRecursionConfig")
