"""The runtime calendar: AWS's dates in one data file, cited, dated, refreshed in one command.

The saved pages under fixtures/ are small hand-made samples shaped like AWS's page.
Every test pins ``today``, so none fails because time passed.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from etl_platform.model.runtime_calendar import (
    CALENDAR,
    DATA_FILE,
    STALE_AFTER_DAYS,
    CalendarError,
    load_calendar,
    parse_date,
)
from etl_platform.model.runtimes import RUNTIMES
from etl_platform.ops.cli import main
from etl_platform.ops.runtime_refresh import parse_runtimes_page, refresh

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE_HTML = FIXTURES / "lambda-runtimes-sample.html"


def test_the_data_file_cites_its_source_and_when_it_was_checked() -> None:
    data = json.loads(DATA_FILE.read_text())
    assert data["source"] == "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html"
    assert dt.date.fromisoformat(data["checked_on"]) == CALENDAR.checked_on
    assert "refresh-runtimes" in data["refresh"]
    for name in ("python3.15", "nodejs26.x"):
        assert CALENDAR.runtimes[name].preview


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jun 30, 2029", dt.date(2029, 6, 30)),
        ("June 30, 2029", dt.date(2029, 6, 30)),
        ("Sept 1, 2025", dt.date(2025, 9, 1)),
        ("6/30/2029", dt.date(2029, 6, 30)),
        ("2029-06-30", dt.date(2029, 6, 30)),
        ("Not scheduled", None),
        ("", None),
    ],
)
def test_dates_are_read_as_aws_writes_them(text: str, expected: dt.date | None) -> None:
    assert parse_date(text) == expected


def test_a_saved_html_page_yields_every_runtime_row_of_both_tables() -> None:
    found = parse_runtimes_page(SAMPLE_HTML.read_text(), ".html")
    assert found["python3.10"].deprecation == dt.date(2026, 10, 31)
    assert found["python3.10"].block_create == dt.date(2026, 11, 30)
    assert found["nodejs14.x"].block_update == dt.date(2027, 3, 3)
    assert found["python3.15"].preview and found["python3.15"].deprecation is None
    assert found["nodejs26.x"].preview and found["nodejs26.x"].name == "Node.js 26"
    assert not found["python3.13"].preview
    assert "java21" in found  # other languages are kept too (the audit may meet them)
    assert set(RUNTIMES) <= set(found)


def test_the_markdown_page_and_a_lifecycle_json_are_read_too() -> None:
    md = parse_runtimes_page((FIXTURES / "lambda-runtimes-sample.md").read_text(), ".md")
    assert md["python3.11"].block_update == dt.date(2027, 8, 31)
    assert md["nodejs26.x"].preview
    lifecycle = (FIXTURES / "lambda-runtimes-lifecycle.json").read_text()
    js = parse_runtimes_page(lifecycle, ".json")
    assert js["python3.13"].block_create == dt.date(2029, 7, 31)
    assert js["python3.15"].preview
    assert js["nodejs14.x"].block_update == dt.date(2027, 3, 3)
    assert js["nodejs14.x"].block_create is None


def test_refresh_rewrites_the_file_with_the_check_date_and_lists_changes(tmp_path: Path) -> None:
    out = tmp_path / "lambda_runtimes.json"
    out.write_text(DATA_FILE.read_text())
    calendar, changes = refresh(
        SAMPLE_HTML, out=out, checked_on=dt.date(2027, 1, 2), required=RUNTIMES
    )
    assert calendar.checked_on == dt.date(2027, 1, 2)
    reread = load_calendar(out)
    assert reread.checked_on == dt.date(2027, 1, 2)
    assert reread.source.startswith("https://docs.aws.amazon.com/lambda/")
    assert reread.runtimes["python3.10"].block_update == dt.date(2027, 1, 15)
    assert "~ python3.10.block_create: None -> 2026-11-30" in changes
    assert "+ java21: new" in changes


def test_refresh_is_one_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "lambda_runtimes.json"
    code = main(
        ["runtimes", "refresh", str(SAMPLE_HTML), "--out", str(out), "--checked-on", "2027-01-02"]
    )
    assert code == 0
    assert load_calendar(out).runtimes["nodejs22.x"].block_update == dt.date(2027, 7, 1)
    assert "checked on 2027-01-02" in capsys.readouterr().out


def test_refresh_refuses_a_page_without_the_table_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "saved.html"
    page.write_text("<html><body><table><tr><th>a</th></tr></table></body></html>")
    out = tmp_path / "lambda_runtimes.json"
    assert main(["runtimes", "refresh", str(page), "--out", str(out)]) == 2  # bad input
    assert "no runtime table found" in capsys.readouterr().err
    assert not out.exists()


def test_refresh_refuses_a_page_missing_a_runtime_the_platform_knows(tmp_path: Path) -> None:
    with pytest.raises(CalendarError, match=r"no row for python3\.12"):
        refresh(
            FIXTURES / "lambda-runtimes-sample.md",
            out=tmp_path / "out.json",
            required=["python3.12"],
        )


def test_staleness_is_a_warning_after_180_days_never_a_failure() -> None:
    fresh = CALENDAR.checked_on + dt.timedelta(days=STALE_AFTER_DAYS)
    assert CALENDAR.staleness_warning(fresh) is None
    late = CALENDAR.checked_on + dt.timedelta(days=STALE_AFTER_DAYS + 1)
    warning = CALENDAR.staleness_warning(late)
    assert warning is not None
    assert f"{STALE_AFTER_DAYS + 1} days ago" in warning
    assert "nox -s refresh-runtimes" in warning


def test_days_left_until_the_next_date() -> None:
    today = dt.date(2026, 11, 29)
    nodejs14 = CALENDAR.runtimes["nodejs14.x"]
    upcoming = nodejs14.next_milestone(today)
    assert upcoming is not None and upcoming.event == "block_update"
    assert upcoming.days_left == 94
    assert "update blocked 2027-03-03 (in 94 days)" in nodejs14.summary(today)


def test_plan_shows_days_left_and_warns_only_when_the_calendar_is_stale(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from types import SimpleNamespace

    from etl_platform.checks.plan import print_runtime_calendar

    function = SimpleNamespace(props={"runtime": "python3.13"})
    layer = SimpleNamespace(props={"compatibleRuntimes": ["python3.13"]})
    runs = [SimpleNamespace(resources=[function, layer])]
    print_runtime_calendar(runs, CALENDAR.checked_on)  # type: ignore[arg-type]
    out, err = capsys.readouterr()
    days = (dt.date(2029, 6, 30) - CALENDAR.checked_on).days
    assert f"python3.13: deprecation 2029-06-30 (in {days} days)" in out
    assert err == ""
    late = CALENDAR.checked_on + dt.timedelta(days=STALE_AFTER_DAYS + 1)
    print_runtime_calendar(runs, late)  # type: ignore[arg-type]
    assert "warning: the runtime calendar was last checked" in capsys.readouterr().err
