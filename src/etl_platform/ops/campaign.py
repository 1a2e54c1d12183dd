"""``etl-ops audit --campaign [--stack dev] [--json]``: the migration campaign in one view.

One row per legacy function (every function in the region that the platform did not
build, i.e. without the tags ``ManagedBy = pulumi`` and ``Project = etl-platform``, and
every function imported into ``examples/legacy-*/`` even once it is gone): its owner
(the ``owner`` tag, any case), runtime and the runtime's next AWS date with days left,
its **state** and what blocks it. The state is derived from the account and the
repository, never from a file someone keeps:

| state | when |
|---|---|
| ``not started`` | no ``examples/legacy-*/<name>.account.json`` names the function |
| ``imported`` | imported, but no ``lambdas/<catalog-name>/function.toml`` |
| ``migrated`` | the catalog entry exists; ``lambda-<name>-<suffix>`` is not in the account |
| ``deployed`` | the catalog function exists; the legacy one still has triggers |
| ``cut over`` | the legacy function has no active triggers left |
| ``retired`` | imported, and the legacy function is no longer in the account |

Blockers: the Node.js compat problems of the migrated code (``lambdas/<name>/``), the
``etl:resources`` names the proposal needs that the stack does not define, and the
notes import left in the account record.

``--json`` prints schema :data:`SCHEMA`. Reads: ``lambda:ListFunctions``,
``lambda:ListTags`` and what :func:`etl_platform.ops.cutover.active_wiring` reads.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from etl_platform.artifacts.node_compat import check_node_tree
from etl_platform.errors import EtlPlatformError
from etl_platform.model.catalog import ENTRY_FILE
from etl_platform.model.runtime_calendar import CALENDAR, Calendar, days_phrase
from etl_platform.model.runtimes import DEFAULT_NODE_RUNTIME
from etl_platform.model.stack_config import read_stack_config
from etl_platform.ops.account import pages
from etl_platform.ops.cutover import (
    FUNCTIONS_PROJECT,
    CutoverError,
    active_wiring,
    deployed_name,
)
from etl_platform.ops.estate_import import ACCOUNT_SCHEMA, EXAMPLES_DIR
from etl_platform.paths import LAMBDAS_DIR

__all__ = ["SCHEMA", "STATES", "Campaign", "CampaignRow", "campaign", "render_campaign"]

SCHEMA = "etl-ops-campaign/1"
#: The states in campaign order; "done" is the last two.
STATES = ("not started", "imported", "migrated", "deployed", "cut over", "retired")
_DONE = frozenset({"cut over", "retired"})
_PLATFORM_TAGS = {"ManagedBy": "pulumi", "Project": "etl-platform"}


@dataclass
class CampaignRow:
    function: str
    owner: str
    runtime: str
    next_event: str | None
    next_date: dt.date | None
    days_left: int | None
    state: str
    catalog_name: str | None = None
    blockers: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "catalog_name": self.catalog_name,
            "owner": self.owner,
            "runtime": self.runtime,
            "next": (
                {
                    "event": self.next_event,
                    "date": self.next_date.isoformat(),
                    "days_left": self.days_left,
                }
                if self.next_date
                else None
            ),
            "state": self.state,
            "blockers": list(self.blockers),
        }


@dataclass
class Campaign:
    stack: str
    today: dt.date
    rows: list[CampaignRow]

    def summary_line(self) -> str:
        done = sum(1 for r in self.rows if r.state in _DONE)
        left = [r for r in self.rows if r.state not in _DONE and r.next_date]
        head = f"{done} of {len(self.rows)} cut over; {len(self.rows) - done} left"
        if not left:
            return head
        nearest = min(left, key=lambda r: r.next_date or dt.date.max)
        assert nearest.next_date is not None and nearest.days_left is not None
        return (
            f"{head}; the next deadline is {nearest.next_date.isoformat()}, "
            f"{days_phrase(nearest.days_left)}"
        )

    def to_json(self) -> dict[str, Any]:
        counts = Counter(r.state for r in self.rows)
        return {
            "schema": SCHEMA,
            "stack": self.stack,
            "today": self.today.isoformat(),
            "summary": {
                "functions": len(self.rows),
                "by_state": {s: counts.get(s, 0) for s in STATES},
                "done": sum(counts.get(s, 0) for s in _DONE),
                "line": self.summary_line(),
            },
            "functions": [r.to_json() for r in self.rows],
        }


def _imports(examples_dir: Path) -> dict[str, dict[str, Any]]:
    """Legacy function name -> its account record, for every import in the repository."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(examples_dir.glob("legacy-*/*.account.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("schema") == ACCOUNT_SCHEMA:
            found[record["function"]] = record
    return found


def _stack_resources(project_dir: Path, stack: str) -> set[str]:
    try:
        raw = read_stack_config(project_dir, stack).get("etl:resources")
    except FileNotFoundError as exc:
        raise CutoverError(str(exc)) from None
    return set(json.loads(raw)) if raw else set()


def _blockers(
    record: dict[str, Any], function_dir: Path, have: set[str], state: str, compat: bool
) -> list[str]:
    if state in _DONE:
        return []
    blockers = [
        f"etl:resources has no {n!r}" for n in sorted(set(record.get("resources", {})) - have)
    ]
    if state == "imported":
        blockers.append(
            f"not migrated: nox -s migrate (or re-run etl-ops import {record['function']})"
        )
    if compat and (function_dir / ENTRY_FILE).is_file():
        try:
            problems = check_node_tree(function_dir, DEFAULT_NODE_RUNTIME, function_tree=True)
        except EtlPlatformError as exc:
            problems = []
            blockers.append(f"compat check did not run: {exc}")
        blockers += [str(p) for p in problems]
    return blockers


def campaign(
    session: Any,
    *,
    stack: str,
    today: dt.date | None = None,
    examples_dir: Path = EXAMPLES_DIR,
    catalog_dir: Path = LAMBDAS_DIR,
    project_dir: Path = FUNCTIONS_PROJECT,
    calendar: Calendar = CALENDAR,
    compat: bool = True,
) -> Campaign:
    """Every legacy function's state; see the module docstring. ``compat=False`` skips
    the Node.js compat check of the migrated code (one node run per function)."""
    today = today or dt.date.today()
    lam = session.client("lambda")
    deployed = {c["FunctionName"]: c for c in pages(lam, "list_functions", "Functions")}
    imports = _imports(examples_dir)
    have = _stack_resources(project_dir, stack)
    rows = []
    names = sorted(set(deployed) | set(imports))
    for function in names:
        config = deployed.get(function)
        tags = lam.list_tags(Resource=config["FunctionArn"]).get("Tags", {}) if config else {}
        if config and all(tags.get(k) == v for k, v in _PLATFORM_TAGS.items()):
            continue  # the platform's own
        record = imports.get(function)
        if record and not tags:
            tags = record.get("tags", {})
        runtime = (config or {}).get("Runtime") or (record or {}).get("runtime", "")
        catalog_name = record.get("catalog_name") if record else None
        if record is None:
            state = "not started"
        elif config is None:
            state = "retired"
        elif not (catalog_dir / str(catalog_name) / ENTRY_FILE).is_file():
            state = "imported"
        elif deployed_name(stack, str(catalog_name), project_dir) not in deployed:
            state = "migrated"
        elif active_wiring(session, config["FunctionArn"]):
            state = "deployed"
        else:
            state = "cut over"
        dates = calendar.get(runtime) if runtime else None
        upcoming = dates.next_milestone(today) if dates else None
        owner = next((v for k, v in tags.items() if k.lower() == "owner"), "-")
        row = CampaignRow(
            function,
            owner,
            runtime or "-",
            upcoming.label if upcoming else None,
            upcoming.date if upcoming else None,
            upcoming.days_left if upcoming else None,
            state,
            catalog_name,
        )
        if record:
            row.blockers = _blockers(record, catalog_dir / str(catalog_name), have, state, compat)
        rows.append(row)
    order = {s: i for i, s in enumerate(STATES)}
    rows.sort(
        key=lambda r: (
            r.state in _DONE,
            r.days_left if r.days_left is not None else 1 << 30,
            order[r.state],
            r.function,
        )
    )
    return Campaign(stack, today, rows)


def render_campaign(result: Campaign) -> str:
    """The campaign as an aligned table (most urgent first), blockers under each row."""
    header = ("FUNCTION", "OWNER", "RUNTIME", "NEXT AWS DATE", "STATE")
    rows = [
        (
            r.function,
            r.owner,
            r.runtime,
            f"{r.next_event} {r.next_date.isoformat()} ({days_phrase(r.days_left)})"
            if r.next_date and r.days_left is not None
            else "-",
            r.state,
        )
        for r in result.rows
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [f"etl-ops audit --campaign: stack {result.stack}, {result.today.isoformat()}"]
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    for row, source in zip(rows, result.rows, strict=True):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        lines += [f"    blocked: {b}" for b in source.blockers]
    lines.append(result.summary_line())
    return "\n".join(lines)
