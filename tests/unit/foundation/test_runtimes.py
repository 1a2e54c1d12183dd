"""Runtimes: deprecated ones are refused with their replacement named and the days since.

Every test pins ``today``: the calendar's dates are fixed, so time passing never fails them.
"""

from __future__ import annotations

import datetime as dt

import pytest

from etl_platform.runtime_calendar import CALENDAR
from etl_platform.runtimes import DEFAULT_RUNTIME, RUNTIMES, check_runtime, supported_runtimes

TODAY = dt.date(2026, 11, 29)


@pytest.mark.parametrize(
    "runtime",
    [
        "nodejs14.x",
        "nodejs16.x",
        "nodejs18.x",
        "nodejs20.x",
        "python3.8",
        "python3.9",
        "python3.10",
    ],
)
def test_legacy_runtimes_are_refused_with_a_replacement(runtime: str) -> None:
    why = check_runtime(runtime, TODAY)
    assert why is not None
    assert "deprecated by AWS since" in why
    assert "days ago" in why
    assert DEFAULT_RUNTIME in why


def test_the_dates_aws_moved_are_the_ones_used() -> None:
    # issue 12: AWS moved python3.10 to 2026-10-31, python3.11 to 2027-06-30, and
    # nodejs14.x's block-update to 2027-03-03.
    assert RUNTIMES["python3.10"].deprecated_on == dt.date(2026, 10, 31)
    assert RUNTIMES["python3.11"].deprecated_on == dt.date(2027, 6, 30)
    assert RUNTIMES["nodejs14.x"].dates.block_update == dt.date(2027, 3, 3)


def test_refused_from_the_deprecation_date_on() -> None:
    assert check_runtime("python3.10", dt.date(2026, 10, 30)) is None
    why = check_runtime("python3.10", dt.date(2026, 10, 31))
    assert why is not None and "since 2026-10-31 (today)" in why
    assert check_runtime("python3.11", TODAY) is None
    assert "(1 day ago" in (check_runtime("python3.11", dt.date(2027, 7, 1)) or "")


def test_a_refusal_names_the_block_dates_and_days_left() -> None:
    why = check_runtime("nodejs14.x", TODAY)
    assert why is not None
    assert "update blocked from 2027-03-03 (in 94 days)" in why


def test_current_python_runtimes_are_accepted() -> None:
    assert DEFAULT_RUNTIME == "python3.13"
    for runtime in ("python3.11", "python3.12", "python3.13", "python3.14"):
        assert check_runtime(runtime, TODAY) is None
    assert supported_runtimes(TODAY) == ["python3.11", "python3.12", "python3.13", "python3.14"]


def test_a_current_node_runtime_is_refused_because_the_handlers_are_python() -> None:
    why = check_runtime("nodejs22.x", TODAY)
    assert why is not None and "Python" in why


@pytest.mark.parametrize("runtime", ["python3.15", "nodejs26.x"])
def test_preview_runtimes_are_refused_as_preview(runtime: str) -> None:
    assert CALENDAR.runtimes[runtime].preview
    why = check_runtime(runtime, TODAY)
    assert why is not None and "preview" in why


def test_deprecation_is_a_date_not_a_list() -> None:
    # python3.12 is fine today and refused from its AWS deprecation date on
    assert check_runtime("python3.12", dt.date(2028, 10, 30)) is None
    assert check_runtime("python3.12", dt.date(2028, 10, 31)) is not None


def test_every_runtime_the_platform_knows_has_a_deprecation_date() -> None:
    for name in RUNTIMES:
        assert CALENDAR.runtimes[name].deprecation is not None, name
