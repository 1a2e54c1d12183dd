"""``etl-ops runtimes refresh|show``: rewrite the runtime calendar from AWS's page, or print it.

The calendar itself (the data file and its reader) is :mod:`etl_platform.model.runtime_calendar`;
this module holds what only an operator runs: a scraper of a saved copy of AWS's page
(``.html`` as the browser saves it, or the ``.md`` version AWS also publishes) or of a
JSON file, and the writer that rewrites the data file with today's date as
``checked_on``::

    nox -s refresh-runtimes -- ~/Downloads/lambda-runtimes.html
    etl-ops runtimes refresh lambda-runtimes.html [--checked-on DATE] [--out FILE]
    etl-ops runtimes show [--today DATE]       # the calendar with days left

A JSON input is either the data file's own shape (``{"runtimes": {id: {...}}}``) or a
list of objects with ``Identifier`` / ``DeprecationDate`` / ``FunctionCreateBlockDate`` /
``FunctionUpdateBlockDate`` / ``ReleaseState`` (``PREVIEW``, ``GA``, ``DEPRECATED``), the
shape of Lambda's ``RuntimeReleaseLifecycle``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html.parser
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from etl_platform.model.runtime_calendar import (
    DATA_FILE,
    SOURCE_URL,
    Calendar,
    CalendarError,
    RuntimeDates,
    calendar_from_mapping,
    load_calendar,
    parse_date,
    read_date,
    runtime_order,
)
from etl_platform.model.runtimes import RUNTIMES

__all__ = ["add_arguments", "command", "parse_runtimes_page", "refresh"]


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
        return dict(calendar_from_mapping(data, origin).runtimes)
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
            deprecation=read_date(lifecycle.get("DeprecationDate"), f"{where}.DeprecationDate"),
            block_create=read_date(
                lifecycle.get("FunctionCreateBlockDate"), f"{where}.FunctionCreateBlockDate"
            ),
            block_update=read_date(
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
        for identifier in sorted(set(found) | set(previous.runtimes), key=runtime_order):
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


# ------------------------------------------------------------------------------ etl-ops


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``refresh <saved page>`` or ``show``."""
    commands = parser.add_subparsers(dest="runtimes_command", required=True)
    refresh_cmd = commands.add_parser("refresh", help="rewrite the data file from a saved page")
    refresh_cmd.add_argument("source", type=Path, help="saved .html/.md page or a .json file")
    refresh_cmd.add_argument("--checked-on", type=dt.date.fromisoformat, default=None)
    refresh_cmd.add_argument("--out", type=Path, default=DATA_FILE)
    show = commands.add_parser("show", help="every runtime with its dates and days left")
    show.add_argument("--today", type=dt.date.fromisoformat, default=None)


def command(args: argparse.Namespace) -> int:
    """AWS Lambda runtime dates: refresh them from a saved page, or show them (0 always;
    a bad page raises :class:`CalendarError`, which ``etl-ops`` turns into exit 2)."""
    if args.runtimes_command == "refresh":
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
    for identifier in sorted(calendar.runtimes, key=runtime_order):
        print(f"  {calendar.runtimes[identifier].summary(today)}")
    if warning := calendar.staleness_warning(today):
        print(f"warning: {warning}", file=sys.stderr)
    return 0
