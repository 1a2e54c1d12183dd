"""The three real programs, run offline for dev and prod, pass every guardrail.

The plan (:func:`etl_platform.checks.plan.plan_stack`) runs ``projects/shared``,
``projects/observability`` and ``projects/etl-functions`` under Pulumi's mock runtime
with their real stack files, each fed its predecessors' exports. Every rule is applied
to every registered resource of the three stacks together; every policy document goes
through parliament; and ``nox -s plan`` (``etl-ops plan``,
:func:`etl_platform.checks.plan.command`) refuses a plan in which a function was
switched to nodejs18.x or had tracing turned off.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from etl_platform.checks import plan
from etl_platform.checks.iam_lint import lint_documents, lint_resources
from etl_platform.checks.offline import PlannedResource, ProgramRun
from etl_platform.checks.rules import evaluate, stack_context, to_resources
from etl_platform.checks.rules import types as t
from etl_platform.checks.rules.documents import PolicyDocument
from etl_platform.ops.cli import main as etl_ops

STACKS = ["dev", "prod"]

# What the platform must have built for the rules' zero-violation result to mean anything.
EXPECTED_TYPES = {
    t.FUNCTION,
    t.LAYER_VERSION,
    t.INVOKE_CONFIG,
    t.FUNCTION_URL,
    t.PERMISSION,
    t.LOG_GROUP,
    t.ROLE,
    t.ROLE_POLICY,
    t.MANAGED_POLICY,
    t.QUEUE,
    t.QUEUE_POLICY,
    t.TOPIC,
    t.TOPIC_POLICY,
    t.BUCKET_PUBLIC_ACCESS_BLOCK,
    t.BUCKET_POLICY,
    t.ALIAS,
    t.CODEDEPLOY_APPLICATION,
    t.DEPLOYMENT_GROUP,
}


@pytest.fixture(scope="module")
def plans(planned: Any) -> dict[str, list[ProgramRun]]:
    """The three programs' offline runs, per stack (each run takes about a second)."""
    return {stack: planned(stack) for stack in STACKS}


def _resources(runs: list[ProgramRun]) -> list[PlannedResource]:
    return [r for run in runs for r in run.resources]


@pytest.mark.parametrize("stack", STACKS)
def test_the_real_programs_pass_every_rule(plans: dict[str, list[ProgramRun]], stack: str) -> None:
    # GIVEN the three programs' resources for the stack, checked together
    resources = _resources(plans[stack])
    # WHEN every rule runs over every registered resource
    violations = evaluate(resources, stack_context(stack, whole_platform=True))
    # THEN there is nothing to fix
    assert [str(v) for v in violations] == []


@pytest.mark.parametrize("stack", STACKS)
def test_the_rules_saw_the_whole_platform(plans: dict[str, list[ProgramRun]], stack: str) -> None:
    # GIVEN the plan  THEN every resource type the rules guard is there to be checked,
    # with a function, role, DLQ, log group, alias and deployment group for every catalog
    # function (and one more role: CodeDeploy's service role)
    resources = to_resources(_resources(plans[stack]))
    types = {r.type for r in resources}
    assert types >= EXPECTED_TYPES, sorted(EXPECTED_TYPES - types)
    assert types & t.BUCKET_TYPES and types & t.BUCKET_SSE
    context = stack_context(stack)
    count = len(context.function_catalog())
    expected = {
        **dict.fromkeys(
            (t.FUNCTION, t.QUEUE, t.LOG_GROUP, t.INVOKE_CONFIG, t.ALIAS, t.DEPLOYMENT_GROUP), count
        ),
        t.ROLE: count + 1,
        t.CODEDEPLOY_APPLICATION: 1,
    }
    for type_token, wanted in expected.items():
        assert sum(r.type == type_token for r in resources) == wanted, type_token


@pytest.mark.parametrize("stack", STACKS)
def test_every_policy_document_passes_parliament(
    plans: dict[str, list[ProgramRun]], stack: str
) -> None:
    # GIVEN every policy document the programs render
    findings = lint_resources(_resources(plans[stack]))
    # WHEN parliament analyzes them  THEN every finding is covered by a written suppression
    unsuppressed = [str(f) for f in findings if f.suppressed_by is None]
    assert unsuppressed == []
    assert all(f.suppressed_by and len(f.suppressed_by.reason) > 40 for f in findings)


@pytest.mark.parametrize("stack", STACKS)
def test_rendered_documents_are_json_with_statements(
    plans: dict[str, list[ProgramRun]], stack: str
) -> None:
    # GIVEN the role policies  THEN each parses and names the function's own resources
    for r in to_resources(_resources(plans[stack])):
        if r.type == t.ROLE_POLICY:
            document = json.loads(r.props["policy"])
            assert document["Statement"], r.name
            for statement in document["Statement"]:
                assert statement["Effect"] in ("Allow", "Deny")


def test_the_lint_does_not_hide_real_findings() -> None:
    # GIVEN an identity policy allowing s3:* on "*"
    from etl_platform.checks.rules import Resource

    role_policy = Resource(
        t.ROLE_POLICY,
        "bad",
        {
            "name": "policy-bad-dev",
            "policy": json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
                }
            ),
        },
    )
    # WHEN it is linted
    findings = lint_resources([role_policy])
    # THEN parliament's RESOURCE_STAR is reported and not suppressed (only key policies are)
    assert any(f.issue == "RESOURCE_STAR" and f.suppressed_by is None for f in findings)


def test_the_trust_suppression_applies_to_trust_policies_only() -> None:
    # GIVEN a statement without Resource in an identity policy (a real mistake)
    from etl_platform.checks.rules import Resource

    resource = Resource(t.ROLE_POLICY, "r", {"name": "policy-r-dev"})
    text = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]}
    )
    document = PolicyDocument(resource, "policy", "identity", text, json.loads(text))
    # THEN MALFORMED is reported, unsuppressed
    findings = lint_documents([document])
    assert [f.issue for f in findings if f.suppressed_by is None] == ["MALFORMED"]


# --------------------------------------------------------------------- nox -s plan


def _broken(runs: list[ProgramRun], function: str, **props: object) -> list[ProgramRun]:
    """A deep copy of ``runs`` with the inputs of one Function changed."""
    broken = copy.deepcopy(runs)
    for run in broken:
        for r in run.resources:
            if r.type == t.FUNCTION and r.inputs.get("name") == function:
                r.inputs.update(props)
                return broken
    raise AssertionError(f"no function {function}")


@pytest.mark.parametrize(
    ("change", "rule_id", "words"),
    [
        ({"runtime": "nodejs18.x"}, "lambda-runtime-supported", "runtime nodejs18.x is deprecated"),
        (
            {"tracingConfig": {"mode": "PassThrough"}},
            "lambda-tracing-active",
            "tracing mode is PassThrough, not Active",
        ),
    ],
)
def test_plan_refuses_a_broken_function(
    plans: dict[str, list[ProgramRun]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    change: dict[str, object],
    rule_id: str,
    words: str,
) -> None:
    # GIVEN the dev plan, but lambda-transform-dev on nodejs18.x (or without tracing)
    broken = _broken(plans["dev"], "lambda-transform-dev", **change)
    monkeypatch.setattr(plan, "plan_stack", lambda stack: broken)
    # WHEN `nox -s plan -- dev` runs
    code = etl_ops(["plan", "dev", "--out", str(tmp_path / "plan.json")])
    out = capsys.readouterr().out
    # THEN it exits non-zero, shows the rule as FAIL and prints the rule's message
    assert code == 1
    assert f"FAIL  {rule_id}" in out
    assert f"aws:lambda/function:Function 'lambda-transform-dev': {words}" in out
    assert "PASS  lambda-profile" in out
    assert "plan refused:" in out


def test_rules_report_lists_every_rule_as_pass_for_the_real_plan(
    plans: dict[str, list[ProgramRun]],
) -> None:
    # GIVEN the real dev plan  WHEN the report is built
    report, code = plan.rules_report(plans["dev"], "dev")
    # THEN every rule is listed with PASS, and the exit code is 0
    from etl_platform.checks.rules import RULES

    assert code == 0, report
    for r in RULES:
        assert f"PASS  {r.id}" in report


@pytest.mark.slow
def test_nox_plan_exits_zero_for_the_real_programs(cli_plan: Any) -> None:
    # GIVEN the repository as it is  WHEN `etl-ops plan dev` runs for real (once a session)
    result = cli_plan
    # THEN it prints the rules report and exits 0
    assert "== guardrails (dev)" in result.stdout, result.stderr
    assert result.returncode == 0, result.stdout[-3000:]
