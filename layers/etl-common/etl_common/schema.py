"""Field checks shared by every dataset: each parses a JSON value once and says what is wrong.

A check takes any JSON value (including ``float``/``Decimal`` numbers, ``NaN``,
huge numbers, lone surrogates) and the field's path, never raises, and returns
a :class:`Problem` (or ``None``); the checks that parse (decimals, timestamps)
also return the parsed value, so a dataset validates and normalizes a record in
one pass (``etl_common.datasets.orders``). Digits are ASCII only everywhere:
``\\d`` and ``int()`` would also take Arabic-Indic or fullwidth digits.

Hostile input is bad input, never a crash: :data:`RECORD_DECODER` turns a number
beyond what ``Decimal``/``int`` can hold (``1e99999999999999999999``, 5,000 digits)
into a :class:`NumberOutOfRange`, which every check refuses naming its field, and
every problem's ``field`` is printable as UTF-8 (:func:`printable`: a field *name*
may hold a lone surrogate such as ``"\\ud800"``, which UTF-8 cannot encode).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "CONTROL_CHARACTERS",
    "NumberOutOfRange",
    "Problem",
    "as_decimal",
    "check_decimal",
    "check_integer",
    "check_string",
    "check_timestamp",
    "decode_record",
    "field_name",
    "join",
    "parse_timestamp",
    "printable",
    "type_name",
    "unknown_fields",
]

TIMESTAMP_HINT = (
    "must be an RFC 3339 timestamp with an offset, "
    "like 2026-11-29T08:49:00Z or 2026-11-29T09:49:00+01:00"
)
DECIMAL_HINT = 'must be a non-negative decimal number or numeric string like "12.50"'


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


@dataclass(frozen=True)
class NumberOutOfRange:
    """A JSON number too large or too precise to hold: its exponent is beyond
    ``Decimal``'s range (``1e99999999999999999999``) or it has more digits than
    ``int()`` converts. The decoder keeps it as this marker, so the check of the field
    holding it says what is wrong and where, instead of the decoder raising."""

    text: str

    def __str__(self) -> str:
        shown = self.text if len(self.text) <= 40 else f"{self.text[:20]}...{self.text[-12:]}"
        return shown


def _parse_float(text: str) -> Decimal | NumberOutOfRange:
    try:
        return Decimal(text)
    except InvalidOperation:  # the exponent is beyond Decimal's range
        return NumberOutOfRange(text)


def _parse_int(text: str) -> int | NumberOutOfRange:
    try:
        return int(text)
    except ValueError:  # more digits than sys.get_int_max_str_digits()
        return NumberOutOfRange(text)


_LONG_INTEGER_DECODER = json.JSONDecoder(
    parse_float=_parse_float, parse_int=_parse_int, parse_constant=_reject_constant
)


class _RecordDecoder(json.JSONDecoder):
    """Integers at C speed (``int``); only a text whose integer ``int()`` refuses (too
    many digits, a ``ValueError`` that is not a ``JSONDecodeError``) is decoded again,
    keeping such integers as :class:`NumberOutOfRange`."""

    def raw_decode(self, s: str, idx: int = 0) -> tuple[Any, int]:
        try:
            return super().raw_decode(s, idx)
        except json.JSONDecodeError:
            raise
        except ValueError:
            return _LONG_INTEGER_DECODER.raw_decode(s, idx)


RECORD_DECODER = _RecordDecoder(parse_float=_parse_float, parse_constant=_reject_constant)
"""How ingest and transform both read a record's JSON text: decimals as ``Decimal``
(exact, never a float), ``NaN``/``Infinity`` refused, numbers out of range as
:class:`NumberOutOfRange`. ``raw_decode`` finds where a record ends inside a request
body."""
decode_record = RECORD_DECODER.decode

OUT_OF_RANGE_HINT = (
    "is a number out of range (its exponent or its number of digits is beyond what "
    "can be stored); send a plain decimal like 12.50"
)


def printable(text: str) -> str:
    """``text`` with every lone surrogate written as its ``\\uXXXX`` escape, so that it
    encodes as UTF-8 (JSON allows ``"\\ud800"``; UTF-8 has no encoding for it)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a value: the field path (``None`` = the whole value)."""

    field: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON form used in API error details and rejected records."""
        return {"field": self.field, "message": self.message}


_DECIMAL_STRING = re.compile(r"-?[0-9]{1,30}(?:\.[0-9]{1,30})?")
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
"""Unicode categories Cc (C0, DEL, C1) and Cs (surrogates), exactly: refused in strings."""


def field_name(path: str) -> str | None:
    """The ``field`` of a problem at ``path`` (``None`` for the whole value)."""
    return path or None


def join(path: str, name: str) -> str:
    """The path of field ``name`` inside the value at ``path`` (:func:`printable`)."""
    name = printable(name)
    return f"{path}.{name}" if path else name


def type_name(value: Any) -> str:
    """The JSON type name of a value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal | NumberOutOfRange):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def check_string(
    value: Any,
    path: str,
    *,
    min_length: int = 1,
    max_length: int = 64,
    pattern: re.Pattern[str] | None = None,
    hint: str = "",
) -> Problem | None:
    """A string of ``min_length``..``max_length`` characters without control characters,
    optionally matching ``pattern`` in full."""
    if not isinstance(value, str):
        return Problem(field_name(path), f"must be a string, not {type_name(value)}")
    if not min_length <= len(value) <= max_length:
        return Problem(
            field_name(path),
            f"must be {min_length} to {max_length} characters long (got {len(value)})",
        )
    if CONTROL_CHARACTERS.search(value) is not None:
        return Problem(field_name(path), "must not contain control characters")
    if pattern is not None and pattern.fullmatch(value) is None:
        return Problem(field_name(path), hint or f"must match {pattern.pattern}")
    return None


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


def check_decimal(
    value: Any, path: str, *, maximum: Decimal | None = None, places: int | None = None
) -> tuple[Decimal | None, Problem | None]:
    """A non-negative decimal (JSON number or string such as ``"12.50"``): (value, problem)."""
    number = as_decimal(value)
    if number is None:
        if isinstance(value, NumberOutOfRange):
            return None, Problem(field_name(path), f"{value} {OUT_OF_RANGE_HINT}")
        return None, Problem(field_name(path), DECIMAL_HINT)
    if number < 0:
        return None, Problem(field_name(path), "must not be negative")
    if maximum is not None and number > maximum:
        return None, Problem(field_name(path), f"must be at most {maximum}")
    if places is not None:
        try:
            exact = number == number.quantize(Decimal(1).scaleb(-places))
        except InvalidOperation:
            exact = False
        if not exact:
            return None, Problem(field_name(path), f"must have at most {places} fractional digits")
    return number, None


def check_integer(value: Any, path: str, *, minimum: int, maximum: int) -> Problem | None:
    """A JSON integer in ``[minimum, maximum]``."""
    if isinstance(value, NumberOutOfRange):
        return Problem(field_name(path), f"{value} {OUT_OF_RANGE_HINT}")
    if isinstance(value, bool) or not isinstance(value, int):
        return Problem(field_name(path), f"must be an integer, not {type_name(value)}")
    if not minimum <= value <= maximum:
        return Problem(field_name(path), f"must be between {minimum} and {maximum}")
    return None


def parse_timestamp(value: Any) -> datetime | None:
    """Parse an RFC 3339 timestamp with an offset to an aware UTC datetime, or ``None``."""
    if not isinstance(value, str):
        return None
    match = _RFC3339.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        micros = int((fraction[1:] + "000000")[:6]) if fraction else 0
        if offset in ("Z", "z"):
            return datetime(
                int(year), int(month), int(day), int(hour), int(minute), int(second), micros, UTC
            )
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        if hours > 23 or minutes > 59:
            return None
        delta = timedelta(hours=hours, minutes=minutes)
        tz = timezone(-delta if offset[0] == "-" else delta)
        parsed = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tz
        )
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def check_timestamp(value: Any, path: str) -> tuple[datetime | None, Problem | None]:
    """An RFC 3339 timestamp with a UTC offset, e.g. ``2026-11-29T08:49:00+01:00``."""
    parsed = parse_timestamp(value)
    if parsed is None:
        return None, Problem(field_name(path), TIMESTAMP_HINT)
    return parsed, None


def unknown_fields(value: Mapping[Any, Any], known: frozenset[str], path: str) -> list[Problem]:
    """A problem for each field of ``value`` not in ``known`` (sorted by name; a name
    that UTF-8 cannot encode is shown :func:`printable`)."""
    allowed = ", ".join(sorted(known))
    return [
        Problem(join(path, name), f"unknown field; allowed: {allowed}")
        for name in sorted(str(name) for name in value if name not in known)
    ]
