"""The one-pass orders validation does what the dataset documents, for any record.

These properties replaced an equivalence test against a copy of the old two-pass
validator (retired with issue 24): the documented behaviour of
``etl_common.datasets.orders`` (its module docstring) is the oracle. The one change the
single pass made on purpose, timestamps with ASCII digits only (issue 10), has its own
test below.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from etl_common.datasets import RuleContext
from etl_common.datasets.orders import DATASET, MAX_AMOUNT, MAX_FUTURE, normalize, validate
from etl_common.schema import Problem, parse_timestamp
from hypothesis import given, settings
from hypothesis import strategies as st

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
def test_both_doors_give_the_same_reasons_and_an_accepted_row_is_the_documented_one(record):
    # GIVEN any record / WHEN validated (ingest) and normalized (transform)
    problems = validate(record)
    result = normalize(record, "b1", RULES)
    # THEN every problem names its field and says what is wrong
    assert all(isinstance(p, Problem) and p.message for p in problems)
    if problems:
        # AND a record ingest refuses is refused by transform, for the same reasons
        assert not result.accepted
        assert list(result.problems) == problems
        return
    if not result.accepted:
        # AND a record ingest accepts is rejected only by a business rule
        assert {p.field for p in result.problems} <= {"currency", "created_at"}
        assert (
            record["currency"] not in RULES.settings["supported_currencies"]
            or parse_timestamp(record["created_at"]) > NOW + MAX_FUTURE
        )
        return
    # AND an accepted record's row is exactly the documented staged row
    row = result.row
    assert list(row) == list(DATASET.columns)
    assert row["order_id"] == record["order_id"] and row["customer_id"] == record["customer_id"]
    assert Decimal(row["amount_cents"]) == Decimal(str(record["amount"])) * 100
    assert 0 <= row["amount_cents"] <= MAX_AMOUNT * 100
    assert row["currency"] in RULES.settings["supported_currencies"]
    created = datetime.fromisoformat(row["created_at"])
    assert row["created_at"].endswith("Z") and created.utcoffset().total_seconds() == 0
    assert created == parse_timestamp(record["created_at"]) <= NOW + MAX_FUTURE
    assert row["item_count"] == len(record.get("items") or [])
    assert row["batch_id"] == "b1"


def _line(record):
    try:
        return json.dumps(record, default=str, allow_nan=True)
    except (TypeError, ValueError):
        return "{not json"


def _is_decimal(value):
    try:
        Decimal(str(value))
    except InvalidOperation:
        return False
    return True


@settings(deadline=None)  # budget: the hypothesis profile (tests/conftest.py)
@given(
    records=st.lists(RECORDS | st.sampled_from([{"order_id": "A"}]), max_size=12),
    noise=st.lists(
        st.sampled_from(["", "   ", "[]", "NaN", '{"a": Infinity}', "\u2028"]), max_size=3
    ),
)
def test_transform_core_stages_rejects_or_counts_every_line_once(transform_module, records, noise):
    # GIVEN raw lines from generated records, numbers as the client wrote them, plus noise
    lines = [_line(r) for r in records] + noise

    # WHEN the transform core runs over them
    staged, rejected, duplicates = transform_module.transform_lines(
        lines, "b1", DATASET, now=NOW, supported_currencies=("USD", "EUR")
    )

    # THEN every line is staged, rejected (with its number, its text and a reason) or a
    # replaced duplicate: none is lost, none counted twice
    assert len(staged) + len(rejected) + duplicates == len(lines)
    assert [r["line"] for r in rejected] == sorted(r["line"] for r in rejected)
    for entry in rejected:
        assert lines[entry["line"] - 1] == entry["raw"]
        assert entry["reasons"] and all(reason["message"] for reason in entry["reasons"])
    # AND the staged rows have distinct order ids, each the last line that carried it
    ids = [row["order_id"] for row in staged]
    assert len(ids) == len(set(ids))
    assert all(_is_decimal(row["amount_cents"]) and row["batch_id"] == "b1" for row in staged)
    # AND an empty or whitespace-only line is rejected as such, never parsed
    blank = [n for n, line in enumerate(lines, start=1) if not line.strip()]
    assert {r["line"] for r in rejected if r["reasons"][0]["message"] == "empty line"} == set(blank)


def test_the_one_intended_difference_is_ascii_digits():
    # GIVEN a timestamp with Arabic-Indic digits, which `\d` used to accept
    record = {
        "order_id": "A",
        "customer_id": "c",
        "amount": Decimal("1.00"),
        "currency": "USD",
        "created_at": "\u0662\u0660\u0662\u0666-01-15T10:30:00Z",
    }
    # THEN it is refused, for that field only, at both doors
    assert [p.field for p in validate(record)] == ["created_at"]
    assert not normalize(record, "b1", RULES).accepted
    # AND the same timestamp in ASCII digits is accepted
    assert validate({**record, "created_at": "2026-01-15T10:30:00Z"}) == []
