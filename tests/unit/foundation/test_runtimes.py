"""Runtimes: deprecated ones are refused with their replacement named and the days since.

Every test pins ``today``: the calendar's dates are fixed, so time passing never fails them.
"""

from __future__ import annotations

import datetime as dt

import pytest

from etl_platform.model.runtime_calendar import CALENDAR
from etl_platform.model.runtimes import (
    ARCHITECTURES,
    DEFAULT_ARCHITECTURE,
    DEFAULT_RUNTIME,
    LANGUAGES,
    NODE_ARCH,
    PYTHON_RUNTIME_PROVIDED,
    PYTHON_RUNTIME_PROVIDED_IMPORTS,
    RUNTIMES,
    check_runtime,
    language_of,
    machine_of,
    node_major_of,
    python_version_of,
    supported_runtimes,
)

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
    assert RUNTIMES[runtime].deprecated_on.isoformat() in why
    assert f"use {RUNTIMES[runtime].replacement}" in why


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


def test_current_runtimes_are_accepted() -> None:
    assert DEFAULT_RUNTIME == "python3.13"
    for runtime in (
        "python3.11",
        "python3.12",
        "python3.13",
        "python3.14",
        "nodejs22.x",
        "nodejs24.x",
    ):
        assert check_runtime(runtime, TODAY) is None
    assert supported_runtimes(TODAY) == ["python3.11", "python3.12", "python3.13", "python3.14"]
    assert supported_runtimes(TODAY, language="nodejs") == ["nodejs22.x", "nodejs24.x"]


def test_a_runtime_of_the_other_language_is_refused_when_a_language_is_required() -> None:
    # the stack's etl:runtime must be Python; a Node.js function's runtime must be Node.js
    why = check_runtime("nodejs22.x", TODAY, language="python")
    assert why is not None and "not a python runtime; use python3.13" in why
    why = check_runtime("python3.13", TODAY, language="nodejs")
    assert why is not None and "use nodejs24.x" in why
    why = check_runtime("nodejs18.x", TODAY, language="python")
    assert why is not None and "deprecated" in why and "use python3.13" in why


@pytest.mark.parametrize("runtime", ["python3.15", "nodejs26.x"])
def test_preview_runtimes_are_refused_as_preview(runtime: str) -> None:
    assert CALENDAR.runtimes[runtime].preview
    why = check_runtime(runtime, TODAY)
    assert why is not None and "preview" in why


def test_deprecation_is_a_date_not_a_list() -> None:
    # python3.12 is fine today and refused from its AWS deprecation date on
    assert check_runtime("python3.12", dt.date(2028, 10, 30)) is None
    assert check_runtime("python3.12", dt.date(2028, 10, 31)) is not None


# --------------------------------------------------------- the facts about each target


@pytest.mark.parametrize(
    ("runtime", "language", "version"),
    [
        ("python3.13", "python", "3.13"),
        ("python3.9", "python", "3.9"),
        ("nodejs24.x", "nodejs", "24"),
    ],
)
def test_every_runtime_knows_its_language_and_version(
    runtime: str, language: str, version: str
) -> None:
    assert RUNTIMES[runtime].language == language
    assert RUNTIMES[runtime].version == version


def test_every_runtime_in_the_table_is_python_or_node() -> None:
    for name, runtime in RUNTIMES.items():
        assert runtime.language in LANGUAGES, name


def test_language_versions_are_read_from_the_runtime_name() -> None:
    assert python_version_of("python3.14") == "3.14"
    assert node_major_of("nodejs22.x") == 22
    with pytest.raises(ValueError, match="not a Lambda Python runtime"):
        python_version_of("nodejs24.x")
    with pytest.raises(ValueError, match=r"not a Lambda Node\.js runtime"):
        node_major_of("python3.13")
    with pytest.raises(ValueError, match=r"expected e\.g\."):
        language_of("java21")


def test_architectures_have_one_home() -> None:
    assert machine_of("arm64") == "aarch64"
    assert DEFAULT_ARCHITECTURE in ARCHITECTURES
    assert set(NODE_ARCH) == set(ARCHITECTURES)
    with pytest.raises(ValueError, match="arm64, x86_64"):
        machine_of("arm")


def test_runtime_provided_import_names_cover_every_provided_distribution() -> None:
    assert "boto3" in PYTHON_RUNTIME_PROVIDED
    assert "dateutil" in PYTHON_RUNTIME_PROVIDED_IMPORTS  # python-dateutil's import name
    assert all(names for names in PYTHON_RUNTIME_PROVIDED.values())


def test_every_runtime_the_platform_knows_has_a_deprecation_date() -> None:
    for name in RUNTIMES:
        assert CALENDAR.runtimes[name].deprecation is not None, name
