"""The ``orders`` dataset: record schema, normalization and business rules.

An order is a JSON object with exactly these fields:

- ``order_id``: 1-64 characters from ``A-Z a-z 0-9 _ -``
- ``customer_id``: 1-64 characters (no control characters)
- ``amount``: non-negative decimal (JSON number or string), at most 2 fractional
  digits, at most 1,000,000
- ``currency``: three uppercase letters
- ``created_at``: RFC 3339 timestamp with an offset (ASCII digits)
- ``items`` (optional): at most 500 objects ``{sku, quantity, unit_price}``

Normalized (staged) row: ``order_id, customer_id, amount_cents (int), currency,
created_at (UTC, ISO 8601 with Z), item_count (number of item lines), batch_id``.

Business rules (checked at transform, not at the door): the currency is one of
``settings["supported_currencies"]`` and ``created_at`` is at most 5 minutes in
the future.

:func:`validate` (ingest) and :func:`normalize` (transform) are the same single
pass (:func:`_check`), which parses every value once: a record ingest accepts is
staged by transform unless a business rule rejects it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from etl_common.datasets import Dataset, Normalized, RuleContext
from etl_common.schema import CONTROL_CHARACTERS as _CONTROL
from etl_common.schema import (
    Problem,
    check_decimal,
    check_integer,
    check_string,
    check_timestamp,
    parse_timestamp,
    type_name,
    unknown_fields,
)

__all__ = [
    "DATASET",
    "DEFAULT_SUPPORTED_CURRENCIES",
    "MAX_AMOUNT",
    "MAX_FUTURE",
    "normalize",
    "validate",
]

MAX_AMOUNT = Decimal("1000000")
MAX_FUTURE = timedelta(minutes=5)
MAX_ITEMS = 500
DEFAULT_SUPPORTED_CURRENCIES = ("USD", "EUR", "GBP")

_ORDER_ID = re.compile(r"[A-Za-z0-9_-]+")
_ORDER_ID_FAST = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ORDER_ID_HINT = "must contain only letters, digits, '_' and '-'"
_CURRENCY = re.compile(r"[A-Z]{3}")
_CURRENCY_HINT = "must be three uppercase letters (ISO 4217), like USD"
_FIELDS = frozenset(("order_id", "customer_id", "amount", "currency", "created_at", "items"))
_ITEM_FIELDS = frozenset(("sku", "quantity", "unit_price"))
_MISSING: Any = object()


def _check_item(item: Any, path: str, problems: list[Problem]) -> None:
    if not isinstance(item, Mapping):
        problems.append(Problem(path, f"must be a JSON object, not {type_name(item)}"))
        return
    found = 0
    for name in ("sku", "quantity", "unit_price"):
        value = item.get(name, _MISSING)
        field = f"{path}.{name}"
        if value is _MISSING:
            problems.append(Problem(field, "is required"))
            continue
        found += 1
        if name == "sku":
            problem = check_string(value, field, min_length=1, max_length=64)
        elif name == "quantity":
            problem = check_integer(value, field, minimum=1, maximum=10_000)
        else:
            problem = check_decimal(value, field)[1]
        if problem is not None:
            problems.append(problem)
    if len(item) > found:
        problems.extend(unknown_fields(item, _ITEM_FIELDS, path))


_AMOUNT_FAST = re.compile(r"([0-9]{1,7})(?:\.([0-9]{1,2}))?")
_DECIMAL_FAST = re.compile(r"[0-9]{1,30}(?:\.[0-9]{1,30})?")
_MAX_CENTS = int(MAX_AMOUNT * 100)


def _fast_cents(amount: Any) -> int | None:
    """Cents of an amount in the common, plainly valid forms; ``None`` means: check in full."""
    kind = type(amount)
    if kind is str:
        match = _AMOUNT_FAST.fullmatch(amount)
        if match is None:
            return None
        whole, fraction = match.groups()
        cents = int(whole) * 100
        if fraction:
            cents += int(fraction) * (10 if len(fraction) == 1 else 1)
    elif kind is Decimal:
        # Compared before int(): 1E+999999999 is a valid JSON number.
        if not amount.is_finite() or not 0 <= amount <= MAX_AMOUNT:
            return None
        if amount.as_tuple().exponent < -2:
            return None
        cents = int(amount * 100)
    elif kind is int:
        cents = amount * 100
        if cents < 0:
            return None
    else:
        return None
    return cents if cents <= _MAX_CENTS else None


def _fast_items(items: Any) -> bool:
    """True when ``items`` is plainly valid (else it is checked in full)."""
    if type(items) is not list or len(items) > MAX_ITEMS:
        return False
    for item in items:
        if type(item) is not dict or len(item) != 3:
            return False
        sku = item.get("sku")
        quantity = item.get("quantity")
        price = item.get("unit_price", _MISSING)
        if not (
            type(sku) is str
            and 1 <= len(sku) <= 64
            and _CONTROL.search(sku) is None
            and type(quantity) is int
            and 1 <= quantity <= 10_000
        ):
            return False
        kind = type(price)
        if kind is str:
            if _DECIMAL_FAST.fullmatch(price) is None:
                return False
        elif kind is Decimal:
            if not price.is_finite() or price < 0:
                return False
        elif kind is not int or price < 0:
            return False
    return True


def _fast_check(record: Any) -> tuple[int, datetime] | None:
    """(cents, created_at) of a plainly valid record; ``None`` means: check in full."""
    if type(record) is not dict:
        return None
    size = len(record)
    if size == 6:
        if not _fast_items(record.get("items", _MISSING)):
            return None
        size = 5
    if size != 5:
        return None
    order_id = record.get("order_id")
    customer_id = record.get("customer_id")
    currency = record.get("currency")
    if not (
        type(order_id) is str
        and _ORDER_ID_FAST.fullmatch(order_id) is not None
        and type(customer_id) is str
        and 1 <= len(customer_id) <= 64
        and _CONTROL.search(customer_id) is None
        and type(currency) is str
        and _CURRENCY.fullmatch(currency) is not None
    ):
        return None
    cents = _fast_cents(record.get("amount"))
    if cents is None:
        return None
    created_at = parse_timestamp(record.get("created_at"))
    if created_at is None:
        return None
    return cents, created_at


def _check(record: Any) -> tuple[list[Problem], int | None, datetime | None]:
    """Validate a record in one pass: (problems, amount in cents, created_at in UTC)."""
    fast = _fast_check(record)
    if fast is not None:
        return [], fast[0], fast[1]
    if not isinstance(record, Mapping):
        return [Problem(None, f"must be a JSON object, not {type_name(record)}")], None, None
    problems: list[Problem] = []
    problem: Problem | None
    found = 0
    amount: Decimal | None = None
    created_at: datetime | None = None

    value = record.get("order_id", _MISSING)
    if value is _MISSING:
        problems.append(Problem("order_id", "is required"))
    else:
        found += 1
        if not (isinstance(value, str) and _ORDER_ID_FAST.fullmatch(value)):
            problem = check_string(
                value, "order_id", pattern=_ORDER_ID, hint=_ORDER_ID_HINT, max_length=64
            )
            if problem is not None:
                problems.append(problem)

    value = record.get("customer_id", _MISSING)
    if value is _MISSING:
        problems.append(Problem("customer_id", "is required"))
    else:
        found += 1
        problem = check_string(value, "customer_id", min_length=1, max_length=64)
        if problem is not None:
            problems.append(problem)

    value = record.get("amount", _MISSING)
    if value is _MISSING:
        problems.append(Problem("amount", "is required"))
    else:
        found += 1
        amount, problem = check_decimal(value, "amount", maximum=MAX_AMOUNT, places=2)
        if problem is not None:
            problems.append(problem)

    value = record.get("currency", _MISSING)
    if value is _MISSING:
        problems.append(Problem("currency", "is required"))
    else:
        found += 1
        if not (isinstance(value, str) and _CURRENCY.fullmatch(value)):
            problem = check_string(
                value,
                "currency",
                min_length=3,
                max_length=3,
                pattern=_CURRENCY,
                hint=_CURRENCY_HINT,
            )
            if problem is not None:
                problems.append(problem)

    value = record.get("created_at", _MISSING)
    if value is _MISSING:
        problems.append(Problem("created_at", "is required"))
    else:
        found += 1
        created_at, problem = check_timestamp(value, "created_at")
        if problem is not None:
            problems.append(problem)

    items = record.get("items", _MISSING)
    if items is not _MISSING:
        found += 1
        if not isinstance(items, list):
            problems.append(Problem("items", f"must be an array, not {type_name(items)}"))
        elif len(items) > MAX_ITEMS:
            problems.append(Problem("items", f"must have at most {MAX_ITEMS} entries"))
        else:
            for index, item in enumerate(items):
                _check_item(item, f"items[{index}]", problems)

    if len(record) > found:
        problems.extend(unknown_fields(record, _FIELDS, ""))
    return problems, None if amount is None else int(amount * 100), created_at


def validate(record: Any) -> list[Problem]:
    """Structural validation of one record (any JSON value); never raises."""
    return _check(record)[0]


def normalize(record: Any, batch_id: str, context: RuleContext) -> Normalized:
    """Validate, apply the business rules and build the staged row; never raises."""
    problems, cents, created_at = _check(record)
    if problems:
        return Normalized(None, tuple(problems))
    assert cents is not None and created_at is not None  # validated above
    currency = record["currency"]
    supported = context.settings.get("supported_currencies", DEFAULT_SUPPORTED_CURRENCIES)
    if currency not in supported:
        problems.append(
            Problem(
                "currency",
                f"currency {currency} is not supported; use one of " + ", ".join(supported),
            )
        )
    if created_at > context.now + MAX_FUTURE:
        problems.append(Problem("created_at", "must not be more than 5 minutes in the future"))
    if problems:
        return Normalized(None, tuple(problems))
    items = record.get("items")
    row = {
        "order_id": record["order_id"],
        "customer_id": record["customer_id"],
        "amount_cents": cents,
        "currency": currency,
        "created_at": created_at.isoformat().replace("+00:00", "Z"),
        "item_count": len(items) if items else 0,
        "batch_id": batch_id,
    }
    return Normalized(row)


DATASET = Dataset(
    name="orders",
    key="order_id",
    validate=validate,
    normalize=normalize,
    table="orders",
    columns=(
        "order_id",
        "customer_id",
        "amount_cents",
        "currency",
        "created_at",
        "item_count",
        "batch_id",
    ),
    column_types={
        "order_id": "text",
        "customer_id": "text",
        "amount_cents": "bigint",
        "currency": "char(3)",
        "created_at": "timestamptz",
        "item_count": "integer",
        "batch_id": "text",
    },
)
