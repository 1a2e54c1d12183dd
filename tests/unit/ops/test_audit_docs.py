"""The README's audit section follows the code: every problem the audit can report has a
row saying what to do, and every preflight check is described."""

from __future__ import annotations

from etl_platform.ops.audit import CHECKS, SEVERITIES
from etl_platform.paths import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README.split("## Knowing the estate and the account", 1)[1].split("\n## ", 1)[0]


def test_every_audit_check_has_a_what_to_do_row_with_its_severity() -> None:
    for check in CHECKS.values():
        rows = [line for line in SECTION.split("\n") if f"(`{check.id}`" in line]
        assert len(rows) == 1, f"README lacks a row for {check.id}"
        assert f"| {check.severity} |" in rows[0], check.id
        assert check.severity in SEVERITIES


def test_every_preflight_check_is_described() -> None:
    for name in (
        "stack-config",
        "credentials",
        "region",
        "pulumi-cli",
        "pulumi-backend",
        "concurrency",
        "database-secret",
        "vpc",
    ):
        assert f"| `{name}` |" in SECTION, name
