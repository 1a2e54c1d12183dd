"""The orders validation and normalization as they were before the single pass (issue 13).

Kept only here, to prove on generated data that the one-pass implementation in
``etl_common.datasets.orders`` gives the same rows and the same rejection reasons.
The one intended difference is issue 10's: timestamps take ASCII digits only.
Do not use outside the tests.
"""

# ruff: noqa
# mypy: ignore-errors
from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from etl_common.datasets import Normalized, RuleContext
from etl_common.datasets.orders import DEFAULT_SUPPORTED_CURRENCIES, MAX_AMOUNT, MAX_FUTURE
from etl_common.schema import Problem

Validator = Callable[[Any, str], list[Problem]]

Validator = Callable[[Any, str], list[Problem]]

_DECIMAL_STRING = re.compile(r"-?[0-9]{1,30}(?:\.[0-9]{1,30})?")
_RFC3339 = re.compile(  # the one intended change: [0-9], not \d (ASCII digits only)
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
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


def _legacy_as_decimal(value: Any) -> Decimal | None:
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
        number = _legacy_as_decimal(value)
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


def _legacy_parse_timestamp(value: Any) -> datetime | None:
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
        if _legacy_parse_timestamp(value) is None:
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


_LEGACY_ITEM = obj(
    {
        "sku": string(min_length=1, max_length=64),
        "quantity": integer(minimum=1, maximum=10_000),
        "unit_price": decimal(),
    }
)

_LEGACY_ORDER = obj(
    {
        "order_id": string(
            min_length=1,
            max_length=64,
            pattern=r"[A-Za-z0-9_-]+",
            hint="must contain only letters, digits, '_' and '-'",
        ),
        "customer_id": string(min_length=1, max_length=64),
        "amount": decimal(maximum=MAX_AMOUNT, places=2),
        "currency": string(
            min_length=3,
            max_length=3,
            pattern=r"[A-Z]{3}",
            hint="must be three uppercase letters (ISO 4217), like USD",
        ),
        "created_at": timestamp(),
    },
    optional={"items": array_of(_LEGACY_ITEM, max_items=500)},
)


def legacy_validate(record: Any) -> list[Problem]:
    """Structural validation of one record (any JSON value); never raises."""
    return _LEGACY_ORDER(record, "")


def legacy_normalize(record: Any, batch_id: str, context: RuleContext) -> Normalized:
    """Validate, apply the business rules and build the staged row; never raises."""
    problems = legacy_validate(record)
    if problems:
        return Normalized(None, tuple(problems))
    supported = tuple(context.settings.get("supported_currencies", DEFAULT_SUPPORTED_CURRENCIES))
    created_at = _legacy_parse_timestamp(record["created_at"])
    assert created_at is not None  # validated above
    if record["currency"] not in supported:
        problems.append(
            Problem(
                "currency",
                f"currency {record['currency']} is not supported; use one of "
                + ", ".join(supported),
            )
        )
    if created_at > context.now + MAX_FUTURE:
        problems.append(Problem("created_at", "must not be more than 5 minutes in the future"))
    if problems:
        return Normalized(None, tuple(problems))
    amount = _legacy_as_decimal(record["amount"])
    assert amount is not None
    iso = created_at.isoformat().replace("+00:00", "Z")
    row = {
        "order_id": record["order_id"],
        "customer_id": record["customer_id"],
        "amount_cents": int(amount * 100),
        "currency": record["currency"],
        "created_at": iso,
        "item_count": len(record.get("items") or []),
        "batch_id": batch_id,
    }
    return Normalized(row)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _legacy_parse_line(line: str) -> tuple[Any, Problem | None]:
    import json

    if not line.strip():
        return None, Problem(None, "empty line")
    try:
        return json.loads(line, parse_float=Decimal, parse_constant=_reject_constant), None
    except (ValueError, RecursionError) as exc:
        return None, Problem(None, f"not valid JSON: {exc}")


def legacy_transform_lines(lines, batch_id, *, now, supported_currencies):
    """transform_lines as it was, over the legacy orders normalization."""
    context = RuleContext(now=now, settings={"supported_currencies": supported_currencies})
    staged: dict[Any, dict[str, Any]] = {}
    rejected: list[dict[str, Any]] = []
    duplicates = 0
    for number, line in enumerate(lines, start=1):
        record, problem = _legacy_parse_line(line)
        if problem is not None:
            rejected.append({"line": number, "raw": line, "reasons": [problem.as_dict()]})
            continue
        result = legacy_normalize(record, batch_id, context)
        if result.row is None:
            rejected.append(
                {"line": number, "raw": line, "reasons": [p.as_dict() for p in result.problems]}
            )
            continue
        key = result.row["order_id"]
        if key in staged:
            duplicates += 1
            del staged[key]
        staged[key] = result.row
    return list(staged.values()), rejected, duplicates
