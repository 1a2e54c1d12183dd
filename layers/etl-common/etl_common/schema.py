"""Small composable validators that turn any JSON value into field-level problems.

A validator is a callable ``(value, path) -> list[Problem]``; it never raises for
any JSON value (including ``float``/``Decimal`` numbers, ``NaN``, huge numbers,
lone surrogates). Dataset modules (``etl_common.datasets.*``) declare their
record shape with these builders.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "Problem",
    "Validator",
    "array_of",
    "as_decimal",
    "decimal",
    "integer",
    "obj",
    "parse_timestamp",
    "string",
    "timestamp",
]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a value: the field path (``None`` = the whole value)."""

    field: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON form used in API error details and rejected records."""
        return {"field": self.field, "message": self.message}


Validator = Callable[[Any, str], list[Problem]]

_DECIMAL_STRING = re.compile(r"-?[0-9]{1,30}(?:\.[0-9]{1,30})?")
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})"
)


def _field(path: str) -> str | None:
    return path or None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def string(
    *, min_length: int = 1, max_length: int = 64, pattern: str | None = None, hint: str = ""
) -> Validator:
    """A string of ``min_length``..``max_length`` characters, optionally matching ``pattern``."""
    compiled = re.compile(pattern) if pattern else None

    def check(value: Any, path: str) -> list[Problem]:
        if not isinstance(value, str):
            return [Problem(_field(path), f"must be a string, not {_type_name(value)}")]
        if not min_length <= len(value) <= max_length:
            return [
                Problem(
                    _field(path),
                    f"must be {min_length} to {max_length} characters long (got {len(value)})",
                )
            ]
        if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
            return [Problem(_field(path), "must not contain control characters")]
        if compiled is not None and not compiled.fullmatch(value):
            return [Problem(_field(path), hint or f"must match {pattern}")]
        return []

    return check


def as_decimal(value: Any) -> Decimal | None:
    """The exact decimal value of a JSON number or numeric string, or ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str) and _DECIMAL_STRING.fullmatch(value):
        return Decimal(value)
    return None


def decimal(*, maximum: Decimal | None = None, places: int | None = None) -> Validator:
    """A non-negative decimal (JSON number or string such as ``"12.50"``)."""

    def check(value: Any, path: str) -> list[Problem]:
        number = as_decimal(value)
        if number is None:
            return [
                Problem(
                    _field(path),
                    'must be a non-negative decimal number or numeric string like "12.50"',
                )
            ]
        if number < 0:
            return [Problem(_field(path), "must not be negative")]
        if maximum is not None and number > maximum:
            return [Problem(_field(path), f"must be at most {maximum}")]
        if places is not None:
            try:
                exact = number == number.quantize(Decimal(1).scaleb(-places))
            except InvalidOperation:
                exact = False
            if not exact:
                return [Problem(_field(path), f"must have at most {places} fractional digits")]
        return []

    return check


def integer(*, minimum: int, maximum: int) -> Validator:
    """A JSON integer in ``[minimum, maximum]``."""

    def check(value: Any, path: str) -> list[Problem]:
        if isinstance(value, bool) or not isinstance(value, int):
            return [Problem(_field(path), f"must be an integer, not {_type_name(value)}")]
        if not minimum <= value <= maximum:
            return [Problem(_field(path), f"must be between {minimum} and {maximum}")]
        return []

    return check


def parse_timestamp(value: Any) -> datetime | None:
    """Parse an RFC 3339 timestamp with an offset to an aware UTC datetime, or ``None``."""
    if not isinstance(value, str):
        return None
    match = _RFC3339.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        if offset in ("Z", "z"):
            tz = UTC
        else:
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            if hours > 23 or minutes > 59:
                return None
            delta = timedelta(hours=hours, minutes=minutes)
            tz = timezone(-delta if offset[0] == "-" else delta)
        micros = int((fraction[1:] + "000000")[:6]) if fraction else 0
        parsed = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tz
        )
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def timestamp() -> Validator:
    """An RFC 3339 timestamp with a UTC offset, e.g. ``2026-11-29T08:49:00+01:00``."""

    def check(value: Any, path: str) -> list[Problem]:
        if parse_timestamp(value) is None:
            return [
                Problem(
                    _field(path),
                    "must be an RFC 3339 timestamp with an offset, "
                    "like 2026-11-29T08:49:00Z or 2026-11-29T09:49:00+01:00",
                )
            ]
        return []

    return check


def array_of(item: Validator, *, max_items: int) -> Validator:
    """A JSON array of at most ``max_items`` values, each checked by ``item``."""

    def check(value: Any, path: str) -> list[Problem]:
        if not isinstance(value, list):
            return [Problem(_field(path), f"must be an array, not {_type_name(value)}")]
        if len(value) > max_items:
            return [Problem(_field(path), f"must have at most {max_items} entries")]
        problems: list[Problem] = []
        for index, entry in enumerate(value):
            problems.extend(item(entry, f"{path}[{index}]"))
        return problems

    return check


def obj(
    required: Mapping[str, Validator], optional: Mapping[str, Validator] | None = None
) -> Validator:
    """A JSON object with exactly these fields: unknown fields are problems too."""
    optional = dict(optional or {})
    known = set(required) | set(optional)

    def check(value: Any, path: str) -> list[Problem]:
        if not isinstance(value, Mapping):
            return [Problem(_field(path), f"must be a JSON object, not {_type_name(value)}")]
        problems: list[Problem] = []
        for name, validator in required.items():
            if name not in value:
                problems.append(Problem(_join(path, name), "is required"))
            else:
                problems.extend(validator(value[name], _join(path, name)))
        for name, validator in optional.items():
            if name in value:
                problems.extend(validator(value[name], _join(path, name)))
        unknown = sorted(str(name) for name in value if name not in known)
        problems.extend(
            Problem(_join(path, name), f"unknown field; allowed: {', '.join(sorted(known))}")
            for name in unknown
        )
        return problems

    return check
