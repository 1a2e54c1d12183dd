"""Runtimes: deprecated ones are refused with their replacement named."""

from __future__ import annotations

import datetime as dt

import pytest

from etl_platform.runtimes import DEFAULT_RUNTIME, check_runtime, supported_runtimes

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
        "python3.11",
    ],
)
def test_legacy_runtimes_are_refused_with_a_replacement(runtime: str) -> None:
    why = check_runtime(runtime, TODAY)
    assert why is not None
    assert "deprecated by AWS since" in why
    assert DEFAULT_RUNTIME in why


def test_current_python_runtimes_are_accepted() -> None:
    assert DEFAULT_RUNTIME == "python3.13"
    for runtime in ("python3.12", "python3.13", "python3.14"):
        assert check_runtime(runtime, TODAY) is None
    assert supported_runtimes(TODAY) == ["python3.12", "python3.13", "python3.14"]


def test_a_current_node_runtime_is_refused_because_the_handlers_are_python() -> None:
    why = check_runtime("nodejs22.x", TODAY)
    assert why is not None and "Python" in why


def test_deprecation_is_a_date_not_a_list() -> None:
    # python3.12 is fine today and refused from its AWS deprecation date on
    assert check_runtime("python3.12", dt.date(2028, 10, 30)) is None
    assert check_runtime("python3.12", dt.date(2028, 10, 31)) is not None
