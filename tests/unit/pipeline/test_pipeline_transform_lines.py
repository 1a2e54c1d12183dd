"""transform's core: raw lines -> staged rows, rejections and duplicates (no AWS)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from etl_common.datasets.orders import DATASET
from hypothesis import given, settings
from hypothesis import strategies as st

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def line(order_id: str, **fields: object) -> str:
    record = {
        "order_id": order_id,
        "customer_id": "c",
        "amount": "1.00",
        "currency": "USD",
        "created_at": "2026-01-01T00:00:00Z",
        **fields,
    }
    return json.dumps(record)


def test_repeated_order_id_keeps_the_last_occurrence(load_handler):
    # GIVEN three lines for order A and one for B
    transform = load_handler("transform")
    lines = [line("A", amount="1"), line("B"), line("A", amount="2"), line("A", amount="3")]

    # WHEN transformed
    staged, rejected, duplicates = transform.transform_lines(lines, "b", DATASET, now=NOW)

    # THEN A appears once with the last amount, and two duplicates are counted
    assert [(r["order_id"], r["amount_cents"]) for r in staged] == [("B", 100), ("A", 300)]
    assert (rejected, duplicates) == ([], 2)


def test_a_rejected_repeat_does_not_displace_the_valid_occurrence(load_handler):
    # GIVEN a valid order followed by an invalid line with the same id
    transform = load_handler("transform")
    lines = [line("A"), line("A", currency="XXX")]

    # WHEN transformed / THEN the valid one is staged and the bad one rejected (no duplicate)
    staged, rejected, duplicates = transform.transform_lines(
        lines, "b", DATASET, now=NOW, supported_currencies=("USD",)
    )
    assert [r["order_id"] for r in staged] == ["A"]
    assert [r["line"] for r in rejected] == [2]
    assert duplicates == 0


def test_supported_currencies_come_from_the_environment(load_handler):
    # GIVEN SUPPORTED_CURRENCIES with spaces and lowercase entries
    transform = load_handler("transform", SUPPORTED_CURRENCIES=" usd, chf ,,")

    # THEN they are normalized once at import
    assert transform.SUPPORTED_CURRENCIES == ("USD", "CHF")


LINES = st.lists(
    st.one_of(
        st.sampled_from(["A", "B", "C"]).map(line),  # valid, often repeated
        st.sampled_from(["A", "B"]).map(lambda i: line(i, currency="XXX")),  # business rule
        st.text(max_size=20),  # anything at all
        st.just(""),
        st.just("[]"),
    ),
    max_size=30,
)


@settings(deadline=None)  # budget: the hypothesis profile (tests/conftest.py)
@given(lines=LINES)
def test_nothing_is_lost_received_equals_staged_plus_rejected_plus_duplicates(
    transform_module, lines
):
    # GIVEN any list of raw lines
    # WHEN transformed
    staged, rejected, duplicates = transform_module.transform_lines(
        lines, "b", DATASET, now=NOW, supported_currencies=("USD",)
    )

    # THEN every line is accounted for exactly once, and staged keys are unique
    assert len(lines) == len(staged) + len(rejected) + duplicates
    assert len({r["order_id"] for r in staged}) == len(staged)
    assert all(entry["reasons"] for entry in rejected)
