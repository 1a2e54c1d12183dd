"""Lambda runtimes: which ones functions may use.

Dates are AWS's published deprecation dates ("Runtime deprecation date" column of
https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html). After that date
AWS stops patching the runtime; a few weeks later it blocks creating and updating
functions on it. We refuse a runtime from its deprecation date on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = [
    "DEFAULT_RUNTIME",
    "RUNTIMES",
    "Runtime",
    "check_runtime",
    "supported_runtimes",
]

DEFAULT_RUNTIME = "python3.13"


@dataclass(frozen=True)
class Runtime:
    name: str
    deprecated_on: dt.date
    replacement: str


def _r(name: str, date: str, replacement: str) -> Runtime:
    return Runtime(name, dt.date.fromisoformat(date), replacement)


RUNTIMES: dict[str, Runtime] = {
    r.name: r
    for r in (
        _r("nodejs14.x", "2023-12-04", "nodejs22.x"),
        _r("nodejs16.x", "2024-06-12", "nodejs22.x"),
        _r("nodejs18.x", "2025-09-01", "nodejs22.x"),
        _r("nodejs20.x", "2026-04-30", "nodejs22.x"),
        _r("nodejs22.x", "2027-04-30", "nodejs24.x"),
        _r("nodejs24.x", "2028-04-30", "nodejs24.x"),
        _r("python3.8", "2024-10-14", DEFAULT_RUNTIME),
        _r("python3.9", "2025-12-15", DEFAULT_RUNTIME),
        _r("python3.10", "2026-06-30", DEFAULT_RUNTIME),
        _r("python3.11", "2026-06-30", DEFAULT_RUNTIME),
        _r("python3.12", "2028-10-31", DEFAULT_RUNTIME),
        _r("python3.13", "2029-06-30", "python3.14"),
        _r("python3.14", "2029-06-30", "python3.14"),
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
        return f"unknown Lambda runtime {name!r}; supported: {', '.join(supported_runtimes(today))}"
    if today >= runtime.deprecated_on:
        advice = f"use {runtime.replacement}"
        if not name.startswith("python"):
            advice = (
                f"its successor is {runtime.replacement}, but this platform's handlers are "
                f"Python: use {DEFAULT_RUNTIME}"
            )
        since = runtime.deprecated_on.isoformat()
        return f"runtime {name} is deprecated by AWS since {since}; {advice}"
    if not name.startswith("python"):
        return f"runtime {name} cannot run this platform's Python handlers; use {DEFAULT_RUNTIME}"
    return None
