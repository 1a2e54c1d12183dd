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

Refreshing is one command that reads a saved copy of the page (``.html`` as the
browser saves it, or the ``.md`` version AWS also publishes) or a JSON file, and
rewrites the data file with today's date as ``checked_on``::

    nox -s refresh-runtimes -- ~/Downloads/lambda-runtimes.html
    python -m etl_platform.model.runtime_calendar refresh lambda-runtimes.html [--checked-on DATE]
    python -m etl_platform.model.runtime_calendar show        # the calendar with days left

A JSON input is either this file's own shape (``{"runtimes": {id: {...}}}``) or a list
of objects with ``Identifier`` / ``DeprecationDate`` / ``FunctionCreateBlockDate`` /
``FunctionUpdateBlockDate`` / ``ReleaseState`` (``PREVIEW``, ``GA``, ``DEPRECATED``),
the shape of Lambda's ``RuntimeReleaseLifecycle``.

Nothing here reads the clock except through a ``today`` argument that defaults to
the current date, so tests pin ``today`` and never fail because time passed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html.parser
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl_platform.errors import EtlPlatformError

__all__ = [
    "CALENDAR",
    "DATA_FILE",
    "STALE_AFTER_DAYS",
    "Calendar",
    "CalendarError",
    "Milestone",
    "RuntimeDates",
    "calendar_report",
    "days_phrase",
    "load_calendar",
    "main",
    "parse_runtimes_page",
    "refresh",
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
                name: self.runtimes[name].to_json() for name in sorted(self.runtimes, key=_order)
            },
        }


def _order(identifier: str) -> tuple[str, tuple[int, ...], str]:
    """Sort by language, then version numerically (python3.9 before python3.10)."""
    match = re.match(r"([a-z.]+?)(\d[\d.]*)", identifier)
    if not match:
        return identifier, (), identifier
    numbers = tuple(int(n) for n in match.group(2).strip(".").split(".") if n)
    return match.group(1), numbers, identifier


# --------------------------------------------------------------------------- loading


def _date(value: object, where: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise CalendarError(f"{where}: expected a date YYYY-MM-DD or null, got {value!r}")
    parsed = parse_date(value)
    if parsed is None and value.strip():
        raise CalendarError(f"{where}: {value!r} is not a date (use YYYY-MM-DD)")
    return parsed


def _from_mapping(data: Mapping[str, Any], origin: str) -> Calendar:
    runtimes_raw = data.get("runtimes")
    if not isinstance(runtimes_raw, Mapping) or not runtimes_raw:
        raise CalendarError(f"{origin}: no 'runtimes' mapping (identifier -> dates)")
    checked = _date(data.get("checked_on"), f"{origin}: checked_on")
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
            deprecation=_date(entry.get("deprecation"), f"{where}.deprecation"),
            block_create=_date(entry.get("block_create"), f"{where}.block_create"),
            block_update=_date(entry.get("block_update"), f"{where}.block_update"),
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
    return _from_mapping(data, str(path))


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


_IDENTIFIER = re.compile(r"^(?:nodejs|python|java|dotnet|ruby|provided|go)[a-z0-9.\-]*$")


class _Tables(html.parser.HTMLParser):
    """Every <table> of an HTML page as rows of cell texts (header rows included)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._depth = 0
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._depth += 1
            self.tables.append([])
        elif tag == "tr" and self._depth:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row:
                self.tables[-1].append(self._row)
            self._row = None
        elif tag == "table" and self._depth:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _markdown_tables(text: str) -> list[list[list[str]]]:
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if line.startswith("|"):
            cells = [c.strip().strip("`").strip() for c in line.strip("|").split("|")]
            if all(re.fullmatch(r":?-{3,}:?", c) for c in cells if c):
                continue  # the |---|---| separator
            current.append([re.sub(r"[`*]", "", c).strip() for c in cells])
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def _column(header: Sequence[str], *words: str) -> int | None:
    for index, cell in enumerate(header):
        lowered = cell.lower()
        if all(word in lowered for word in words):
            return index
    return None


def _rows_to_dates(tables: Iterable[list[list[str]]]) -> dict[str, RuntimeDates]:
    """Runtime rows of every table whose header has Identifier and Deprecation columns."""
    found: dict[str, RuntimeDates] = {}
    for table in tables:
        if not table:
            continue
        header = table[0]
        ident = _column(header, "identifier")
        deprecation = _column(header, "deprecation")
        if ident is None or deprecation is None:
            continue
        create = _column(header, "block", "create")
        update = _column(header, "block", "update")
        name_col = _column(header, "name")

        def cell(row: list[str], index: int | None) -> str:
            return row[index] if index is not None and index < len(row) else ""

        for row in table[1:]:
            identifiers = [w for w in cell(row, ident).replace(",", " ").split() if w]
            identifiers = [w for w in identifiers if _IDENTIFIER.match(w)]
            if not identifiers:
                continue
            preview = any("preview" in c.lower() for c in row)
            for identifier in identifiers:
                found[identifier] = RuntimeDates(
                    identifier=identifier,
                    name=cell(row, name_col).replace("(preview)", "").strip() or identifier,
                    deprecation=parse_date(cell(row, deprecation)),
                    block_create=parse_date(cell(row, create)),
                    block_update=parse_date(cell(row, update)),
                    preview=preview,
                )
    return found


def _from_json_input(data: Any, origin: str) -> dict[str, RuntimeDates]:
    if isinstance(data, Mapping) and isinstance(data.get("runtimes"), Mapping):
        data = {**data, "checked_on": data.get("checked_on") or "1970-01-01"}
        return dict(_from_mapping(data, origin).runtimes)
    items = data.get("runtimes") if isinstance(data, Mapping) else data
    if not isinstance(items, list):
        raise CalendarError(
            f"{origin}: expected {{'runtimes': {{id: {{...}}}}}} or a list of "
            "{Identifier, DeprecationDate, FunctionCreateBlockDate, FunctionUpdateBlockDate, "
            "ReleaseState}"
        )
    found: dict[str, RuntimeDates] = {}
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise CalendarError(f"{origin}: item {index} is not an object")
        lifecycle = item.get("RuntimeReleaseLifecycle") or item
        identifier = item.get("Identifier") or item.get("Runtime") or item.get("identifier")
        if not isinstance(identifier, str) or not identifier:
            raise CalendarError(f"{origin}: item {index} has no Identifier")
        where = f"{origin}: {identifier}"
        found[identifier] = RuntimeDates(
            identifier=identifier,
            name=str(item.get("Name") or identifier),
            deprecation=_date(lifecycle.get("DeprecationDate"), f"{where}.DeprecationDate"),
            block_create=_date(
                lifecycle.get("FunctionCreateBlockDate"), f"{where}.FunctionCreateBlockDate"
            ),
            block_update=_date(
                lifecycle.get("FunctionUpdateBlockDate"), f"{where}.FunctionUpdateBlockDate"
            ),
            preview=str(lifecycle.get("ReleaseState", "")).upper() == "PREVIEW",
        )
    return found


def parse_runtimes_page(text: str, suffix: str) -> dict[str, RuntimeDates]:
    """The runtime dates in a saved page (``.html``/``.htm``, ``.md``) or ``.json``."""
    suffix = suffix.lower()
    if suffix == ".json":
        try:
            return _from_json_input(json.loads(text), "JSON input")
        except json.JSONDecodeError as exc:
            raise CalendarError(f"the JSON input does not parse: {exc}") from exc
    if suffix in (".html", ".htm"):
        parser = _Tables()
        parser.feed(text)
        return _rows_to_dates(parser.tables)
    if suffix in (".md", ".markdown", ".txt"):
        return _rows_to_dates(_markdown_tables(text))
    raise CalendarError(f"unknown input type {suffix!r}: give a .html, .md or .json file")


def refresh(
    source: Path,
    *,
    out: Path = DATA_FILE,
    checked_on: dt.date | None = None,
    required: Iterable[str] = (),
) -> tuple[Calendar, list[str]]:
    """Rewrite ``out`` from a saved page; return the new calendar and what changed.

    Refuses (nothing written) when the page yields no runtime rows, or lacks one of
    ``required`` (the runtimes the platform knows), so a wrong page cannot empty it.
    """
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise CalendarError(f"cannot read {source}: {exc}") from exc
    found = parse_runtimes_page(text, source.suffix)
    if not found:
        raise CalendarError(
            f"{source}: no runtime table found (a table with Identifier and Deprecation "
            f"columns). Save {SOURCE_URL} itself (the whole page) and try again."
        )
    missing = sorted(set(required) - set(found))
    if missing:
        raise CalendarError(
            f"{source}: no row for {', '.join(missing)}; refusing to drop runtimes the "
            "platform knows. Is this the current Lambda runtimes page?"
        )
    previous = load_calendar(out) if out.exists() else None
    calendar = Calendar(
        source=SOURCE_URL,
        checked_on=checked_on or dt.date.today(),
        runtimes=found,
        source_title=previous.source_title if previous else "",
        provenance=f"Refreshed from a saved copy of the page ({source.name}).",
    )
    changes: list[str] = []
    if previous:
        for identifier in sorted(set(found) | set(previous.runtimes), key=_order):
            old = previous.runtimes.get(identifier)
            new = found.get(identifier)
            if old is None:
                changes.append(f"+ {identifier}: new")
            elif new is None:
                changes.append(f"- {identifier}: no longer on the page")
            elif old.to_json() | {"name": ""} != new.to_json() | {"name": ""}:
                for field in ("deprecation", "block_create", "block_update", "preview"):
                    before, after = old.to_json()[field], new.to_json()[field]
                    if before != after:
                        changes.append(f"~ {identifier}.{field}: {before} -> {after}")
    out.write_text(json.dumps(calendar.to_json(), indent=2) + "\n", encoding="utf-8")
    return calendar, changes


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
    for identifier in sorted(set(runtimes), key=_order):
        dates = calendar.get(identifier)
        lines.append(
            f"  {dates.summary(today)}" if dates else f"  {identifier}: not in the calendar"
        )
    return lines, calendar.staleness_warning(today)


# The calendar every caller uses (read once at import; parse_date must exist first).
CALENDAR: Calendar = load_calendar()


# ---------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    """``refresh <saved page>`` or ``show``; exit 1 with the reason on bad input."""
    parser = argparse.ArgumentParser(
        prog="python -m etl_platform.model.runtime_calendar",
        description="AWS Lambda runtime dates: show them, or refresh them from a saved page.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    refresh_cmd = commands.add_parser("refresh", help="rewrite the data file from a saved page")
    refresh_cmd.add_argument("source", type=Path, help="saved .html/.md page or a .json file")
    refresh_cmd.add_argument("--checked-on", type=dt.date.fromisoformat, default=None)
    refresh_cmd.add_argument("--out", type=Path, default=DATA_FILE)
    show = commands.add_parser("show", help="every runtime with its dates and days left")
    show.add_argument("--today", type=dt.date.fromisoformat, default=None)
    args = parser.parse_args(argv)
    try:
        if args.command == "refresh":
            from etl_platform.model.runtimes import RUNTIMES

            calendar, changes = refresh(
                args.source, out=args.out, checked_on=args.checked_on, required=RUNTIMES
            )
            print(
                f"runtime calendar: {len(calendar.runtimes)} runtimes from {args.source}, "
                f"checked on {calendar.checked_on.isoformat()} -> {args.out}"
            )
            for change in changes or ["no date changed"]:
                print(f"  {change}")
            return 0
        calendar = load_calendar()
        today = args.today or dt.date.today()
        print(f"source: {calendar.source} (checked on {calendar.checked_on.isoformat()})")
        for identifier in sorted(calendar.runtimes, key=_order):
            print(f"  {calendar.runtimes[identifier].summary(today)}")
        if warning := calendar.staleness_warning(today):
            print(f"warning: {warning}", file=sys.stderr)
        return 0
    except CalendarError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
