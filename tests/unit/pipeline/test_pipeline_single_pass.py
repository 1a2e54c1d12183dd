"""The one-pass orders validation gives exactly the rows and reasons of the old two passes.

The old implementation lives only in ``legacy_orders`` (a test helper); the one
intended difference is that timestamps take ASCII digits only (issue 10).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from etl_common.datasets import RuleContext
from etl_common.datasets.orders import DATASET, normalize, validate
from hypothesis import given, settings
from hypothesis import strategies as st
from legacy_orders import legacy_normalize, legacy_transform_lines, legacy_validate

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
RULES = RuleContext(now=NOW, settings={"supported_currencies": ("USD", "EUR")})

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.decimals(allow_nan=True, allow_infinity=True)
    | st.text(max_size=70)
)
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=15,
)
LIKELY = (
    st.sampled_from(
        [
            "19.99",
            "0012.50",
            "1000000.01",
            "-0",
            "1e3",
            "USD",
            "EUR",
            "usd",
            "GBP",
            "A-1",
            "a b",
            "x" * 65,
            "2026-01-15T10:30:00Z",
            "2026-01-15t10:30:00.123456789z",
            "2026-01-15T10:30:00+24:00",
            "2099-01-01T00:00:00Z",
            "0001-01-01T00:00:00+01:00",
            "\u0662\u0660\u0662\u0666-01-15T10:30:00Z",
            "nul\x00",
            "\u2028",
        ]
    )
    | st.decimals(min_value=0, max_value=2_000_000, places=3)
    | st.integers(0, 20_000)
)
ITEMS = st.lists(
    st.dictionaries(
        st.sampled_from(["sku", "quantity", "unit_price", "x"]), VALUES | LIKELY, max_size=4
    )
    | VALUES,
    max_size=3,
)
RECORDS = (
    VALUES
    | st.dictionaries(
        st.sampled_from(["order_id", "customer_id", "amount", "currency", "created_at"])
        | st.text(max_size=6),
        VALUES | LIKELY,
        max_size=7,
    )
    | st.fixed_dictionaries(
        {
            "order_id": st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True) | LIKELY,
            "customer_id": st.text(min_size=1, max_size=66) | LIKELY,
            "amount": LIKELY,
            "currency": LIKELY,
            "created_at": LIKELY
            | st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
        },
        optional={"items": ITEMS, "coupon": VALUES},
    )
)


@settings(deadline=None)  # budget: the hypothesis profile (tests/conftest.py)
@given(record=RECORDS)
def test_one_pass_gives_the_same_rows_and_reasons_as_the_old_two_passes(record):
    # GIVEN any record / WHEN validated and normalized by both implementations
    # THEN the problems, the staged row and the rejection reasons are identical
    assert validate(record) == legacy_validate(record)
    assert normalize(record, "b1", RULES) == legacy_normalize(record, "b1", RULES)


def _line(record):
    try:
        return json.dumps(record, default=str, allow_nan=True)
    except (TypeError, ValueError):
        return "{not json"


@settings(deadline=None)  # budget: the hypothesis profile (tests/conftest.py)
@given(
    records=st.lists(RECORDS | st.sampled_from([{"order_id": "A"}]), max_size=12),
    noise=st.lists(
        st.sampled_from(["", "   ", "[]", "NaN", '{"a": Infinity}', "\u2028"]), max_size=3
    ),
)
def test_transform_core_gives_the_same_outputs_as_before(transform_module, records, noise):
    # GIVEN raw lines from generated records, numbers as the client wrote them, plus noise
    lines = [_line(r) for r in records] + noise

    # WHEN the new core and the old one transform them
    new = transform_module.transform_lines(
        lines, "b1", DATASET, now=NOW, supported_currencies=("USD", "EUR")
    )
    old = legacy_transform_lines(lines, "b1", now=NOW, supported_currencies=("USD", "EUR"))

    # THEN staged rows, rejected entries (with reasons) and duplicates are identical
    assert new == old


def test_the_one_intended_difference_is_ascii_digits():
    # GIVEN a timestamp with Arabic-Indic digits, which `\d` used to accept
    record = {
        "order_id": "A",
        "customer_id": "c",
        "amount": Decimal("1.00"),
        "currency": "USD",
        "created_at": "\u0662\u0660\u0662\u0666-01-15T10:30:00Z",
    }
    # THEN both implementations (the legacy one carries the fix) refuse it
    assert [p.field for p in validate(record)] == ["created_at"]
    assert validate(record) == legacy_validate(record)
