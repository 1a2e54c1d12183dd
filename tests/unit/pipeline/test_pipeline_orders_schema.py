"""Validation and normalization of the orders dataset (examples and properties)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from etl_common import datasets
from etl_common.datasets import RuleContext
from etl_common.datasets.orders import DATASET, normalize, validate
from etl_common.schema import Problem
from hypothesis import given, settings
from hypothesis import strategies as st

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
RULES = RuleContext(now=NOW, settings={"supported_currencies": ("USD", "EUR")})


def problems_of(record: Any) -> list[tuple[str | None, str]]:
    return [(p.field, p.message) for p in validate(record)]


def test_valid_order_has_no_problems(valid_order):
    # GIVEN a valid order / WHEN validated / THEN no problems
    assert validate(valid_order) == []


def test_dataset_is_registered_by_name():
    # GIVEN the registry / WHEN orders is looked up / THEN it is the orders schema
    assert datasets.get("orders") is DATASET
    assert DATASET.key == "order_id"
    with pytest.raises(KeyError, match="unknown dataset 'nope'"):
        datasets.get("nope")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("order_id", "", "must be 1 to 64 characters long (got 0)"),
        ("order_id", "x" * 65, "must be 1 to 64 characters long (got 65)"),
        ("order_id", "a b", "must contain only letters, digits, '_' and '-'"),
        ("order_id", "abc\n", "must not contain control characters"),
        ("order_id", 12, "must be a string, not number"),
        ("customer_id", "c" * 65, "must be 1 to 64 characters long (got 65)"),
        ("customer_id", "nul\x00byte", "must not contain control characters"),
        ("customer_id", "\ud800", "must not contain control characters"),
        ("amount", -0.01, "must not be negative"),
        ("amount", "-5", "must not be negative"),
        ("amount", 1.005, "must have at most 2 fractional digits"),
        ("amount", "1000000.01", "must be at most 1000000"),
        ("amount", True, 'must be a non-negative decimal number or numeric string like "12.50"'),
        ("amount", "1e3", 'must be a non-negative decimal number or numeric string like "12.50"'),
        ("amount", " 1", 'must be a non-negative decimal number or numeric string like "12.50"'),
        (
            "amount",
            float("nan"),
            'must be a non-negative decimal number or numeric string like "12.50"',
        ),
        ("amount", None, 'must be a non-negative decimal number or numeric string like "12.50"'),
        ("currency", "US", "must be 3 to 3 characters long (got 2)"),
        ("currency", "usd", "must be three uppercase letters (ISO 4217), like USD"),
        ("created_at", "2026-01-15T10:30:00", None),  # no offset
        ("created_at", "2026-02-30T10:30:00Z", None),  # no such day
        ("created_at", "2026-01-15T10:30:60Z", None),  # leap second
        ("created_at", "2026-01-15T10:30:00+24:00", None),
        ("created_at", "0001-01-01T00:00:00+01:00", None),  # before year 1 in UTC
        ("created_at", 1700000000, None),
        ("items", None, "must be an array, not null"),
        ("items", [{}] * 501, "must have at most 500 entries"),
    ],
)
def test_each_rule_reports_the_field_and_what_is_wrong(valid_order, field, value, message):
    # GIVEN a valid order with one bad field
    valid_order[field] = value

    # WHEN validated
    problems = problems_of(valid_order)

    # THEN exactly that field is reported, with a message saying what is allowed
    assert len(problems) == 1
    assert problems[0][0] == field
    if message is None:
        assert problems[0][1].startswith("must be an RFC 3339 timestamp with an offset")
    else:
        assert problems[0][1] == message


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            {"sku": "", "quantity": 1, "unit_price": 1},
            [("items[0].sku", "must be 1 to 64 characters long (got 0)")],
        ),
        (
            {"sku": "S", "quantity": 10001, "unit_price": 1},
            [("items[0].quantity", "must be between 1 and 10000")],
        ),
        (
            {"sku": "S", "quantity": 2.0, "unit_price": 1},
            [("items[0].quantity", "must be an integer, not number")],
        ),
        (
            {"sku": "S", "quantity": 1, "unit_price": -1},
            [("items[0].unit_price", "must not be negative")],
        ),
        ({"sku": "S", "quantity": 1}, [("items[0].unit_price", "is required")]),
        (
            {"sku": "S", "quantity": 1, "unit_price": 1, "color": "red"},
            [("items[0].color", "unknown field; allowed: quantity, sku, unit_price")],
        ),
        ("SKU-1", [("items[0]", "must be a JSON object, not string")]),
    ],
)
def test_item_problems_name_the_item_and_field(valid_order, item, expected):
    # GIVEN an order with one bad item / WHEN validated / THEN the item's path is reported
    valid_order["items"] = [item]
    assert problems_of(valid_order) == expected


def test_unknown_and_missing_fields_are_all_reported(valid_order):
    # GIVEN schema drift: a field renamed
    valid_order["total"] = valid_order.pop("amount")

    # WHEN validated / THEN both the missing and the unknown field are named
    assert problems_of(valid_order) == [
        ("amount", "is required"),
        (
            "total",
            "unknown field; allowed: amount, created_at, currency, customer_id, items, order_id",
        ),
    ]


@pytest.mark.parametrize(
    ("amount", "cents"),
    [
        ("19.99", 1999),
        (19.99, 1999),
        (Decimal("19.9"), 1990),
        (7, 700),
        ("0", 0),
        (1000000, 100000000),
        ("0012.50", 1250),
    ],
)
def test_amount_is_normalized_to_exact_integer_cents(valid_order, amount, cents):
    # GIVEN an amount as a JSON number, a Decimal (as parsed) or a string
    valid_order["amount"] = amount

    # WHEN normalized / THEN amount_cents is exact
    result = normalize(valid_order, "b1", RULES)
    assert result.row is not None
    assert result.row["amount_cents"] == cents


@pytest.mark.parametrize(
    ("created_at", "utc"),
    [
        ("2026-01-15T10:30:00+01:00", "2026-01-15T09:30:00Z"),
        ("2026-01-15T23:30:00-05:30", "2026-01-16T05:00:00Z"),
        ("2026-01-15t10:30:00.123456789z", "2026-01-15T10:30:00.123456Z"),
        ("2026-01-15T10:30:00.5Z", "2026-01-15T10:30:00.500000Z"),
    ],
)
def test_created_at_is_normalized_to_utc_with_z(valid_order, created_at, utc):
    # GIVEN timestamps in various offsets / WHEN normalized / THEN UTC ISO 8601 with Z
    valid_order["created_at"] = created_at
    row = normalize(valid_order, "b1", RULES).row
    assert row is not None
    assert row["created_at"] == utc


def test_staged_row_has_exactly_the_staged_fields(valid_order):
    # GIVEN a valid order / WHEN normalized
    row = normalize(valid_order, "batch-7", RULES).row

    # THEN the staged row carries exactly the documented fields
    assert row == {
        "order_id": "ORD-1",
        "customer_id": "cust-1",
        "amount_cents": 1999,
        "currency": "USD",
        "created_at": "2026-01-15T09:30:00Z",
        "item_count": 1,
        "batch_id": "batch-7",
    }
    assert tuple(row) == DATASET.columns


def test_business_rules_reject_unsupported_currency_and_far_future(valid_order):
    # GIVEN a currency outside the supported list, created 6 minutes in the future
    valid_order["currency"] = "GBP"
    valid_order["created_at"] = (NOW + timedelta(minutes=6)).isoformat()

    # WHEN normalized / THEN both rules are reported, and no row is produced
    result = normalize(valid_order, "b1", RULES)
    assert result.row is None
    assert [p.as_dict() for p in result.problems] == [
        {"field": "currency", "message": "currency GBP is not supported; use one of USD, EUR"},
        {"field": "created_at", "message": "must not be more than 5 minutes in the future"},
    ]


def test_up_to_five_minutes_in_the_future_is_accepted(valid_order):
    # GIVEN an order stamped exactly 5 minutes ahead (clock skew) / THEN it is accepted
    valid_order["created_at"] = (NOW + timedelta(minutes=5)).isoformat()
    assert normalize(valid_order, "b1", RULES).accepted


# ------------------------------------------------------------------ properties

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.decimals(allow_nan=True, allow_infinity=True)
    | st.text()
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=6)
    ),
    max_leaves=20,
)
FIELD_NAMES = st.sampled_from(
    ["order_id", "customer_id", "amount", "currency", "created_at", "items"]
)
# Records that look like orders (known keys, arbitrary values) reach the deeper rules.
ORDER_LIKE = st.dictionaries(
    FIELD_NAMES | st.text(max_size=8),
    JSON_VALUES
    | st.sampled_from(["19.99", "USD", "2026-01-15T10:30:00Z", "A-1", "1e3", "-0", "00"])
    | st.lists(
        st.dictionaries(st.sampled_from(["sku", "quantity", "unit_price", "x"]), JSON_VALUES),
        max_size=3,
    ),
    max_size=8,
)


@settings(deadline=None)  # budget: the hypothesis profile (tests/conftest.py)
@given(record=JSON_VALUES | ORDER_LIKE)
def test_any_json_value_is_accepted_or_rejected_with_a_reason_never_an_exception(record):
    # GIVEN any JSON value as a record (including NaN, huge numbers, lone surrogates)
    # WHEN validated and normalized
    problems = validate(record)
    result = normalize(record, "b1", RULES)

    # THEN it is either accepted (a row, no problems) or rejected with reasons
    assert all(isinstance(p, Problem) and p.message for p in problems)
    if result.accepted:
        assert problems == []
        assert result.problems == ()
        json.dumps(result.row)  # a staged row is plain JSON
    else:
        assert result.problems
        assert all(p.message for p in result.problems)


VALID_ORDERS = st.fixed_dictionaries(
    {
        "order_id": st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
        "customer_id": st.text(
            st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=64
        ),
        "amount": st.decimals(min_value=0, max_value=1_000_000, places=2, allow_nan=False),
        "currency": st.sampled_from(["USD", "EUR"]),
        "created_at": st.datetimes(
            min_value=datetime(1971, 1, 1), max_value=datetime(2026, 11, 1), timezones=st.just(UTC)
        ).map(lambda d: d.isoformat()),
    }
)


@settings(deadline=None)  # budget: the hypothesis profile (tests/conftest.py)
@given(record=VALID_ORDERS)
def test_every_valid_order_is_accepted_with_exact_cents(record):
    # GIVEN any order within the schema / WHEN normalized
    result = normalize(record, "b1", RULES)

    # THEN it is accepted and amount_cents is exactly amount * 100
    assert result.accepted, result.problems
    assert result.row is not None
    assert Decimal(result.row["amount_cents"]) == record["amount"] * 100
    assert result.row["created_at"].endswith("Z")
