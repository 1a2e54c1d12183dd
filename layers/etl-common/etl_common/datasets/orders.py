"""The ``orders`` dataset: record schema, normalization and business rules.

An order is a JSON object with exactly these fields:

- ``order_id``: 1-64 characters from ``A-Z a-z 0-9 _ -``
- ``customer_id``: 1-64 characters (no control characters)
- ``amount``: non-negative decimal (JSON number or string), at most 2 fractional
  digits, at most 1,000,000
- ``currency``: three uppercase letters
- ``created_at``: RFC 3339 timestamp with an offset
- ``items`` (optional): at most 500 objects ``{sku, quantity, unit_price}``

Normalized (staged) row: ``order_id, customer_id, amount_cents (int), currency,
created_at (UTC, ISO 8601 with Z), item_count (number of item lines), batch_id``.

Business rules (checked at transform, not at the door): the currency is one of
``settings["supported_currencies"]`` and ``created_at`` is at most 5 minutes in
the future.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from etl_common import schema
from etl_common.datasets import Dataset, Normalized, RuleContext
from etl_common.schema import Problem

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
DEFAULT_SUPPORTED_CURRENCIES = ("USD", "EUR", "GBP")

_ITEM = schema.obj(
    {
        "sku": schema.string(min_length=1, max_length=64),
        "quantity": schema.integer(minimum=1, maximum=10_000),
        "unit_price": schema.decimal(),
    }
)

_ORDER = schema.obj(
    {
        "order_id": schema.string(
            min_length=1,
            max_length=64,
            pattern=r"[A-Za-z0-9_-]+",
            hint="must contain only letters, digits, '_' and '-'",
        ),
        "customer_id": schema.string(min_length=1, max_length=64),
        "amount": schema.decimal(maximum=MAX_AMOUNT, places=2),
        "currency": schema.string(
            min_length=3,
            max_length=3,
            pattern=r"[A-Z]{3}",
            hint="must be three uppercase letters (ISO 4217), like USD",
        ),
        "created_at": schema.timestamp(),
    },
    optional={"items": schema.array_of(_ITEM, max_items=500)},
)


def validate(record: Any) -> list[Problem]:
    """Structural validation of one record (any JSON value); never raises."""
    return _ORDER(record, "")


def normalize(record: Any, batch_id: str, context: RuleContext) -> Normalized:
    """Validate, apply the business rules and build the staged row; never raises."""
    problems = validate(record)
    if problems:
        return Normalized(None, tuple(problems))
    supported = tuple(context.settings.get("supported_currencies", DEFAULT_SUPPORTED_CURRENCIES))
    created_at = schema.parse_timestamp(record["created_at"])
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
    amount = schema.as_decimal(record["amount"])
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
