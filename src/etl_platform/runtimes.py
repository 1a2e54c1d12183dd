"""Lambda runtimes: which ones functions may use.

The dates are AWS's, from the runtime calendar (:mod:`etl_platform.runtime_calendar`,
data file ``data/lambda_runtimes.json``, refreshed with ``nox -s refresh-runtimes``):
after the deprecation date AWS stops patching the runtime, and later blocks creating
and then updating functions on it. We refuse a runtime from its deprecation date on,
and every refusal says how many days ago that was.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from etl_platform.runtime_calendar import CALENDAR, RuntimeDates, days_phrase

__all__ = [
    "DEFAULT_RUNTIME",
    "RUNTIMES",
    "Runtime",
    "check_runtime",
    "runtime_dates",
    "supported_runtimes",
]

DEFAULT_RUNTIME = "python3.13"


@dataclass(frozen=True)
class Runtime:
    name: str
    replacement: str

    @property
    def dates(self) -> RuntimeDates:
        """AWS's dates for this runtime, from the runtime calendar."""
        return runtime_dates(self.name)

    @property
    def deprecated_on(self) -> dt.date:
        """AWS's deprecation date (the calendar's; ``date.max`` while none is published)."""
        return self.dates.deprecation or dt.date.max


def runtime_dates(name: str) -> RuntimeDates:
    """The calendar's dates for ``name``; raises KeyError naming the refresh command."""
    dates = CALENDAR.get(name)
    if dates is None:
        raise KeyError(
            f"runtime {name} is not in the runtime calendar; refresh it: "
            "nox -s refresh-runtimes -- <saved AWS Lambda runtimes page>"
        )
    return dates


def _r(name: str, replacement: str) -> Runtime:
    return Runtime(name, replacement)


# The runtimes the platform knows and what replaces each (dates: the runtime calendar).
RUNTIMES: dict[str, Runtime] = {
    r.name: r
    for r in (
        _r("nodejs14.x", "nodejs22.x"),
        _r("nodejs16.x", "nodejs22.x"),
        _r("nodejs18.x", "nodejs22.x"),
        _r("nodejs20.x", "nodejs22.x"),
        _r("nodejs22.x", "nodejs24.x"),
        _r("nodejs24.x", "nodejs24.x"),
        _r("python3.8", DEFAULT_RUNTIME),
        _r("python3.9", DEFAULT_RUNTIME),
        _r("python3.10", DEFAULT_RUNTIME),
        _r("python3.11", DEFAULT_RUNTIME),
        _r("python3.12", DEFAULT_RUNTIME),
        _r("python3.13", "python3.14"),
        _r("python3.14", "python3.14"),
    )
}


def supported_runtimes(today: dt.date | None = None, *, python_only: bool = True) -> list[str]:
    """Runtimes not deprecated on ``today`` (Python only by default: our code is Python)."""
    today = today or dt.date.today()
    return [
        name
        for name, r in RUNTIMES.items()
        if today < r.deprecated_on and (not python_only or name.startswith("python"))
    ]


def check_runtime(name: str, today: dt.date | None = None) -> str | None:
    """Return why ``name`` is refused, or None when it is fine."""
    today = today or dt.date.today()
    runtime = RUNTIMES.get(name)
    if runtime is None:
        known = CALENDAR.get(name)
        if known is not None and known.preview:
            return (
                f"runtime {name} is in preview at AWS (not for production, no support "
                f"dates yet); use {DEFAULT_RUNTIME}"
            )
        return f"unknown Lambda runtime {name!r}; supported: {', '.join(supported_runtimes(today))}"
    if today >= runtime.deprecated_on:
        advice = f"use {runtime.replacement}"
        if not name.startswith("python"):
            advice = (
                f"its successor is {runtime.replacement}, but this platform's handlers are "
                f"Python: use {DEFAULT_RUNTIME}"
            )
        since = runtime.deprecated_on.isoformat()
        ago = days_phrase((runtime.deprecated_on - today).days)
        blocks = "".join(
            f", {m.label} {'since' if m.days_left <= 0 else 'from'} {m.date.isoformat()} "
            f"({days_phrase(m.days_left)})"
            for m in runtime.dates.milestones(today)
            if m.event != "deprecation"
        )
        return f"runtime {name} is deprecated by AWS since {since} ({ago}{blocks}); {advice}"
    if not name.startswith("python"):
        return f"runtime {name} cannot run this platform's Python handlers; use {DEFAULT_RUNTIME}"
    return None
