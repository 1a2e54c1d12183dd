"""etl-ops audit against moto: every planted problem found, nothing on compliant functions.

The estate (ops_estate.py) mixes functions that follow every rule with legacy ones
(nodejs14.x with aws-sdk v2 code, tracing off, a shared role with a wildcard policy and
an AWS managed policy, logs kept forever or no log group, an oversized package, a
python3.8 function with removed imports). ``today`` is pinned: the calendar's dates
never make these tests fail as time passes.

The audit only reads, so the module builds one estate (in moto, with AWS's managed
policies: that is what costs, about three seconds, against a tenth for an audit) and
each test gets its own session on it. test_ops_audit_strict.py changes its estate.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from ops_estate import Estate, build_estate, moto_account, page_list_functions

from etl_platform.ops import audit as audit_module
from etl_platform.ops.audit import CHECKS, SCHEMA, AuditOptions, audit, render_table
from etl_platform.ops.cli import main
from etl_platform.paths import REPO_ROOT

TODAY = dt.date(2026, 11, 29)
OPTIONS = AuditOptions(max_package_bytes=100 * 1024)


@pytest.fixture(scope="module")
def estate() -> Iterator[Estate]:
    """Two compliant functions and the four legacy ones, once for the module."""
    # managed policies: the estate attaches AmazonS3FullAccess
    with pytest.MonkeyPatch.context() as mp, moto_account(mp, managed_policies=True):
        yield build_estate(boto3.Session(region_name="us-east-1"), compliant=2)


@pytest.fixture
def aws(estate: Estate) -> boto3.Session:
    """A new session on the module's estate: a test's event hooks stay its own."""
    return estate.patch(boto3.Session(region_name="us-east-1"))


def checks_by_function(report: Any) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {fn.name: set() for fn in report.functions}
    for finding in report.findings:
        found[finding.function].add(finding.check)
    return found


def test_finds_each_planted_problem_and_nothing_in_compliant_functions(
    aws: boto3.Session, estate: Estate
) -> None:
    # GIVEN a mixed estate
    # WHEN it is audited
    report = audit(aws, options=OPTIONS, today=TODAY)
    found = checks_by_function(report)
    # THEN every legacy function has exactly its planted problems
    for name, expected in estate.legacy.items():
        assert found[name] == expected, name
    # AND no compliant function has any
    for name in estate.compliant:
        assert found[name] == set(), name
    assert report.errors == []


def test_runtime_findings_carry_aws_dates_and_days_left(aws: boto3.Session) -> None:
    report = audit(aws, options=OPTIONS, today=TODAY)
    node = next(
        f
        for f in report.findings
        if f.function == "legacy-orders-export" and f.check == "runtime-deprecated"
    )
    # nodejs14.x: deprecated 2023-12-04; update blocked from 2027-03-03, 94 days ahead
    assert node.due == dt.date(2027, 3, 3)
    assert node.days_left == 94
    assert "deprecation 2023-12-04 (1091 days ago)" in node.message
    assert "update blocked 2027-03-03 (in 94 days)" in node.message
    soon = next(f for f in report.findings if f.check == "runtime-deprecation-soon")
    assert soon.function == "legacy-node22"
    assert soon.due == dt.date(2027, 4, 30) and soon.days_left == 152


def test_the_table_is_sorted_by_urgency_and_ends_with_counts_by_problem(
    aws: boto3.Session, estate: Estate
) -> None:
    report = audit(aws, options=OPTIONS, today=TODAY)
    text = render_table(report)
    rows = [
        line
        for line in text.split("\n")
        if line.split(" ")[0] in ("critical", "high", "medium", "low")
    ]
    severities = [row.split()[0] for row in rows]
    order = ["critical", "high", "medium", "low"]
    assert severities == sorted(severities, key=order.index)
    assert severities[0] == "critical"
    summary = text.split("\n")[-1]
    functions = len(estate.compliant) + len(estate.legacy)
    assert summary.startswith(f"{len(report.findings)} findings in 4 of {functions} functions: ")
    assert "runtime deprecated 3" in summary
    assert "role shared with other functions 2" in summary
    assert "tracing not Active 3" in summary
    # the fix of every problem shown is printed under the table
    for check in {f.check for f in report.findings}:
        assert CHECKS[check].fix in text


def test_more_than_one_page_of_functions(aws: boto3.Session, estate: Estate) -> None:
    # GIVEN more functions than one ListFunctions page holds (AWS pages by 50; the
    # stand-in pages by 4, so that the estate's six take two pages)
    markers = page_list_functions(aws, page_size=4)
    # WHEN audited
    report = audit(aws, options=OPTIONS, today=TODAY)
    # THEN every page was read and every function audited
    assert markers == [None, "4"]
    assert len(report.functions) == len(estate.compliant) + len(estate.legacy) == 6
    found = checks_by_function(report)
    assert all(found[name] == set() for name in estate.compliant)
    assert all(found[name] == expected for name, expected in estate.legacy.items())


def test_a_shared_role_is_read_once(aws: boto3.Session, estate: Estate) -> None:
    calls: list[str] = []
    aws.events.register("before-call.iam.*", lambda model, **_: calls.append(model.name))
    event_configs: list[str] = []
    aws.events.register(
        "before-call.lambda.GetFunctionEventInvokeConfig",
        lambda params, **_: event_configs.append(params["url_path"]),
    )
    audit(aws, options=OPTIONS, today=TODAY)
    # one role per compliant function, the shared one, two legacy own -> one listing pair each
    roles = len(estate.compliant) + 3
    assert calls.count("ListRolePolicies") == roles
    assert calls.count("ListAttachedRolePolicies") == roles
    # the one attached managed policy is fetched once, though two functions use it
    assert calls.count("GetPolicyVersion") == 1
    # invoke configs only for functions without a DLQ (the two nodejs + the python3.8)
    assert len(event_configs) == 3


def test_json_output_follows_the_documented_schema(
    aws: boto3.Session, estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["audit", "--json", "--max-package-mb", "0.1", "--today", TODAY.isoformat()])
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == SCHEMA == "etl-ops-audit/1"
    assert set(document) == {
        "schema",
        "region",
        "today",
        "options",
        "calendar",
        "summary",
        "findings",
        "functions",
        "notes",
        "errors",
    }
    assert document["region"] == "us-east-1"
    assert set(document["calendar"]) == {"source", "checked_on", "stale"}
    summary = document["summary"]
    assert summary["functions"] == len(estate.compliant) + len(estate.legacy)
    assert summary["findings"] == len(document["findings"]) == sum(summary["by_check"].values())
    for finding in document["findings"]:
        assert set(finding) == {
            "function",
            "check",
            "problem",
            "severity",
            "message",
            "due",
            "days_left",
            "fix",
            "details",
        }
        assert finding["check"] in CHECKS
        assert finding["severity"] in ("critical", "high", "medium", "low")
    fn = next(f for f in document["functions"] if f["name"] == "legacy-orders-export")
    assert fn["runtime"]["identifier"] == "nodejs14.x"
    assert fn["runtime"]["deprecated"] is True
    assert fn["runtime"]["next"] == {"event": "block_update", "date": "2027-03-03", "days_left": 94}
    assert set(fn) == {
        "name",
        "arn",
        "runtime",
        "package_type",
        "code_size",
        "role",
        "checks_failed",
    }
    # the README documents every key above
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for key in (
        "schema",
        "summary",
        "by_check",
        "findings",
        "days_left",
        "checks_failed",
        "next",
        "notes",
        "errors",
    ):
        assert f"`{key}`" in text, key


def test_code_runs_the_python_compat_checks_on_the_downloaded_package(
    aws: boto3.Session, estate: Estate
) -> None:
    options = AuditOptions(max_package_bytes=100 * 1024, code=True)
    report = audit(aws, options=options, today=TODAY, fetch=estate.fetcher())
    code = [f for f in report.findings if f.check == "code-incompatible"]
    by_function = {f.function for f in code}
    # python3.8 -> target python3.13: `imp` was removed in 3.12, `requests` is nowhere
    assert "legacy-py-cleanup" in by_function
    messages = " ".join(f.message for f in code if f.function == "legacy-py-cleanup")
    assert "app.py:1" in messages and "imports imp" in messages
    assert "imports requests" in messages and "target python3.13" in messages
    # compliant Python code has nothing to fix
    assert not {n for n in estate.compliant} & by_function
    assert report.errors == []


def test_code_runs_the_node_compat_checks_against_the_platforms_node_target(
    aws: boto3.Session, estate: Estate
) -> None:
    # GIVEN the legacy nodejs14.x functions (aws-sdk v2, a callback handler)
    options = AuditOptions(max_package_bytes=100 * 1024, code=True)
    # WHEN their code is audited
    report = audit(aws, options=options, today=TODAY, fetch=estate.fetcher())
    # THEN the migration map names both blockers, file and line, for nodejs24.x
    for name in ("legacy-orders-export", "legacy-nightly-report"):
        messages = [
            f.message
            for f in report.findings
            if f.function == name and f.check == "code-incompatible"
        ]
        assert any("index.js:1: imports aws-sdk v2" in m for m in messages), messages
        assert any("index.js:3: export 'handler' takes a callback" in m for m in messages), messages
        assert all("target nodejs24.x" in m for m in messages)
    # AND modern Node.js code (an async ESM handler) has nothing to fix
    assert not [
        f
        for f in report.findings
        if f.function == "legacy-node22" and f.check == "code-incompatible"
    ]
    assert report.errors == [] and report.notes == []


def test_code_says_plainly_when_a_language_has_no_compat_checks(
    aws: boto3.Session, estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        audit_module, "CODE_CHECKERS", {"python": audit_module.check_python_package}
    )
    report = audit(aws, options=AuditOptions(code=True), today=TODAY, fetch=estate.fetcher())
    assert any("no nodejs compat checks" in note and "NOT checked" in note for note in report.notes)
