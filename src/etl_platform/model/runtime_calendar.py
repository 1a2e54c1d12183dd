"""The Lambda runtime calendar: AWS's published dates per runtime, in one data file.

The dates live in ``src/etl_platform/model/data/lambda_runtimes.json``, transcribed from
AWS's page (cited in the file as ``source``), with the date it was last checked
(``checked_on``). Per runtime identifier:

- ``deprecation``: AWS stops patching the runtime; this platform refuses the runtime
  from this date on;
- ``block_create``: from this date AWS refuses to create functions on it;
- ``block_update``: from this date AWS refuses to update functions on it;
- ``preview``: AWS offers the runtime in preview only (no dates yet).

A date is ``null`` when AWS has published none (or the copy we read had none).

This module only reads the file. Refreshing it from a saved copy of AWS's page, and
printing it, are ``etl-ops runtimes refresh|show`` (:mod:`etl_platform.ops.runtime_refresh`,
``nox -s refresh-runtimes``).

Nothing here reads the clock except through a ``today`` argument that defaults to
the current date, so tests pin ``today`` and never fail because time passed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl_platform.errors import EtlPlatformError

__all__ = [
    "CALENDAR",
    "DATA_FILE",
    "EVENTS",
    "SOURCE_URL",
    "STALE_AFTER_DAYS",
    "Calendar",
    "CalendarError",
    "Milestone",
    "RuntimeDates",
    "calendar_from_mapping",
    "calendar_report",
    "days_phrase",
    "load_calendar",
    "parse_date",
    "read_date",
    "runtime_order",
]

DATA_FILE = Path(__file__).resolve().parent / "data" / "lambda_runtimes.json"
SOURCE_URL = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html"

# After this many days without a check, `nox -s plan` and the audit warn.
STALE_AFTER_DAYS = 180

# The three dates, in the order they come, with how a message names each.
EVENTS: tuple[tuple[str, str], ...] = (
    ("deprecation", "deprecation"),
    ("block_create", "create blocked"),
    ("block_update", "update blocked"),
)


class CalendarError(EtlPlatformError):
    """The calendar file or a page to refresh it from cannot be read."""


@dataclass(frozen=True)
class Milestone:
    """One dated event of a runtime and how far it is from ``today``."""

    event: str  # deprecation | block_create | block_update
    label: str  # e.g. "update blocked"
    date: dt.date
    days_left: int  # negative once it is past


@dataclass(frozen=True)
class RuntimeDates:
    """AWS's dates for one runtime identifier."""

    identifier: str
    name: str
    deprecation: dt.date | None
    block_create: dt.date | None
    block_update: dt.date | None
    preview: bool = False

    def milestones(self, today: dt.date) -> list[Milestone]:
        """Every dated event, in date order, with days left from ``today``."""
        found = [
            Milestone(event, label, date, (date - today).days)
            for event, label in EVENTS
            if (date := getattr(self, event)) is not None
        ]
        return sorted(found, key=lambda m: m.date)

    def next_milestone(self, today: dt.date) -> Milestone | None:
        """The first event still ahead of ``today`` (None when all are past or unknown)."""
        return next((m for m in self.milestones(today) if m.days_left > 0), None)

    def deprecated(self, today: dt.date) -> bool:
        return self.deprecation is not None and today >= self.deprecation

    def summary(self, today: dt.date) -> str:
        """One line: every known date with days left or ago, e.g. for plan and audit."""
        if self.preview:
            return f"{self.identifier}: in preview at AWS (no dates published)"
        parts = [
            f"{m.label} {m.date.isoformat()} ({days_phrase(m.days_left)})"
            for m in self.milestones(today)
        ]
        if not parts:
            return f"{self.identifier}: no dates published"
        return f"{self.identifier}: " + ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        def iso(date: dt.date | None) -> str | None:
            return date.isoformat() if date else None

        return {
            "name": self.name,
            "deprecation": iso(self.deprecation),
            "block_create": iso(self.block_create),
            "block_update": iso(self.block_update),
            "preview": self.preview,
        }


def days_phrase(days_left: int) -> str:
    """``in 12 days`` / ``today`` / ``29 days ago``."""
    if days_left > 0:
        return f"in {days_left} day{'s' if days_left != 1 else ''}"
    if days_left == 0:
        return "today"
    return f"{-days_left} day{'s' if days_left != -1 else ''} ago"


@dataclass(frozen=True)
class Calendar:
    """The whole calendar: where it came from, when it was checked, the dates."""

    source: str
    checked_on: dt.date
    runtimes: Mapping[str, RuntimeDates]
    source_title: str = ""
    provenance: str = ""

    def get(self, identifier: str) -> RuntimeDates | None:
        return self.runtimes.get(identifier)

    def age_days(self, today: dt.date | None = None) -> int:
        return ((today or dt.date.today()) - self.checked_on).days

    def stale(self, today: dt.date | None = None) -> bool:
        return self.age_days(today) > STALE_AFTER_DAYS

    def staleness_warning(self, today: dt.date | None = None) -> str | None:
        """A warning when the calendar was last checked more than 180 days ago."""
        age = self.age_days(today)
        if age <= STALE_AFTER_DAYS:
            return None
        return (
            f"the runtime calendar was last checked on {self.checked_on.isoformat()} "
            f"({age} days ago, more than {STALE_AFTER_DAYS}): AWS may have moved dates. "
            f"Save {self.source} and run: nox -s refresh-runtimes -- <saved page>"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "source_title": self.source_title,
            "checked_on": self.checked_on.isoformat(),
            "refresh": "nox -s refresh-runtimes -- <saved copy of the page (.html or .md) "
            "or a JSON file>",
            "provenance": self.provenance,
            "runtimes": {
                name: self.runtimes[name].to_json()
                for name in sorted(self.runtimes, key=runtime_order)
            },
        }


def runtime_order(identifier: str) -> tuple[str, tuple[int, ...], str]:
    """Sort by language, then version numerically (python3.9 before python3.10)."""
    match = re.match(r"([a-z.]+?)(\d[\d.]*)", identifier)
    if not match:
        return identifier, (), identifier
    numbers = tuple(int(n) for n in match.group(2).strip(".").split(".") if n)
    return match.group(1), numbers, identifier


# --------------------------------------------------------------------------- loading


def read_date(value: object, where: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise CalendarError(f"{where}: expected a date YYYY-MM-DD or null, got {value!r}")
    parsed = parse_date(value)
    if parsed is None and value.strip():
        raise CalendarError(f"{where}: {value!r} is not a date (use YYYY-MM-DD)")
    return parsed


def calendar_from_mapping(data: Mapping[str, Any], origin: str) -> Calendar:
    runtimes_raw = data.get("runtimes")
    if not isinstance(runtimes_raw, Mapping) or not runtimes_raw:
        raise CalendarError(f"{origin}: no 'runtimes' mapping (identifier -> dates)")
    checked = read_date(data.get("checked_on"), f"{origin}: checked_on")
    if checked is None:
        raise CalendarError(f"{origin}: 'checked_on' (YYYY-MM-DD) is required")
    runtimes: dict[str, RuntimeDates] = {}
    for identifier, entry in runtimes_raw.items():
        if not isinstance(entry, Mapping):
            raise CalendarError(f"{origin}: runtimes.{identifier} must be an object")
        where = f"{origin}: runtimes.{identifier}"
        runtimes[identifier] = RuntimeDates(
            identifier=identifier,
            name=str(entry.get("name") or identifier),
            deprecation=read_date(entry.get("deprecation"), f"{where}.deprecation"),
            block_create=read_date(entry.get("block_create"), f"{where}.block_create"),
            block_update=read_date(entry.get("block_update"), f"{where}.block_update"),
            preview=bool(entry.get("preview", False)),
        )
    return Calendar(
        source=str(data.get("source") or SOURCE_URL),
        checked_on=checked,
        runtimes=runtimes,
        source_title=str(data.get("source_title") or ""),
        provenance=str(data.get("provenance") or ""),
    )


def load_calendar(path: Path = DATA_FILE) -> Calendar:
    """Read and validate the calendar data file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CalendarError(f"cannot read the runtime calendar {path}: {exc}") from exc
    if not isinstance(data, Mapping):
        raise CalendarError(f"{path}: expected a JSON object")
    return calendar_from_mapping(data, str(path))


# ------------------------------------------------------------------------- parsing

_MONTHS = {
    name: index
    for index, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}


def parse_date(text: str) -> dt.date | None:
    """A date as AWS writes it (``Jun 30, 2029``, ``June 30, 2029``, ``6/30/2029``,
    ``2029-06-30``); None for an empty cell, ``Not scheduled``, ``-`` and the like."""
    value = text.strip().replace("\u00a0", " ")
    if match := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value):
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    if match := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", value):
        return dt.date(int(match[3]), int(match[1]), int(match[2]))
    if match := re.fullmatch(r"([A-Za-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})", value):
        month = _MONTHS.get(match[1].lower())
        if month:
            return dt.date(int(match[3]), month, int(match[2]))
    return None


def calendar_report(
    runtimes: Iterable[str], today: dt.date | None = None, calendar: Calendar | None = None
) -> tuple[list[str], str | None]:
    """Lines with AWS's dates and days left for ``runtimes``, and the staleness warning.

    What ``nox -s plan`` prints about the runtimes its resources use.
    """
    calendar = calendar or CALENDAR
    today = today or dt.date.today()
    lines = [
        f"== runtime calendar (AWS's dates, checked {calendar.checked_on.isoformat()}, "
        f"{calendar.source})"
    ]
    for identifier in sorted(set(runtimes), key=runtime_order):
        dates = calendar.get(identifier)
        lines.append(
            f"  {dates.summary(today)}" if dates else f"  {identifier}: not in the calendar"
        )
    return lines, calendar.staleness_warning(today)


# The calendar every caller uses (read once at import; parse_date must exist first).
CALENDAR: Calendar = load_calendar()
