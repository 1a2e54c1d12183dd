"""One schema, one validator: what ingest accepts, transform stages (or rejects only for a
business rule), and what ingest refuses, transform refuses for the same reasons.

Ingest writes each record's exact JSON text to raw/, and both parse it the same way
(decimals as ``Decimal``), so a number such as ``1e400`` or one with 34 significant
digits means the same thing at both doors. Digits are ASCII only.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from etl_common.datasets.orders import DATASET
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pipeline_factories import api_event, body_of, lambda_context, list_keys, read_text

pytestmark = pytest.mark.functional

BUSINESS_RULES = {
    ("created_at", "must not be more than 5 minutes in the future"),
}
SUPPORTED = ("USD", "EUR")


def is_business_rule(reason: dict[str, Any]) -> bool:
    if reason["field"] == "currency" and reason["message"].startswith("currency "):
        return reason["message"].endswith("is not supported; use one of USD, EUR")
    return (reason["field"], reason["message"]) in BUSINESS_RULES


@pytest.fixture
def doors(aws: Any, load_handler: Any) -> Any:
    """post(record_text) -> (ingest's answer, transform's verdict on the same record)."""
    ingest = load_handler("ingest-api")
    transform = load_handler("transform")

    def post(record_text: str) -> tuple[int, Any, list[Any], list[Any]]:
        body = '{"records": [' + record_text + "]}"
        response = ingest.handler(api_event("POST", "/batches", body), lambda_context())
        answer = body_of(response)
        if response["statusCode"] == 202:
            (raw_key,) = [k for k in list_keys(aws, "raw/") if answer["batch_id"] in k]
            line = read_text(aws, raw_key)[:-1]  # the one line, without its \n
        else:
            line = record_text  # what a backfill could drop straight into raw/
        staged, rejected, _ = transform.transform_lines(
            [line], "b", DATASET, now=datetime.now(UTC), supported_currencies=SUPPORTED
        )
        return response["statusCode"], answer, staged, rejected

    return post


def record_text(**fragments: str) -> str:
    """A record's JSON text with the given fields' JSON texts substituted verbatim."""
    base = {
        "order_id": '"A-1"',
        "customer_id": '"c"',
        "amount": '"19.99"',
        "currency": '"USD"',
        "created_at": '"2026-01-15T10:30:00Z"',
    }
    base.update(fragments)
    return "{" + ", ".join(f'"{k}": {v}' for k, v in base.items() if v is not None) + "}"


def item(unit_price: str) -> str:
    return '[{"sku": "S", "quantity": 1, "unit_price": ' + unit_price + "}]"


@pytest.mark.parametrize(
    "fragments",
    [
        {"items": item("1e400")},  # a number beyond any float
        {"items": item("1.234567890123456789012345678901234")},  # 34 significant digits
        {"items": item("1234567890123456789012345678901.5")},  # over 30 digits
        {"items": item("1E-7")},
        {"amount": "12.3400000000000000000000000000000000"},
    ],
)
def test_numbers_ingest_accepts_are_staged_by_transform(doors, fragments):
    # GIVEN a record with a number that the old ingest re-wrote as a string
    # WHEN posted / THEN ingest accepts it and transform stages it
    status, answer, staged, rejected = doors(record_text(**fragments))
    assert status == 202, answer
    assert rejected == []
    assert len(staged) == 1


@pytest.mark.parametrize(
    "created_at",
    [
        "\u0662\u0660\u0662\u0666-01-15T10:30:00Z",  # Arabic-Indic digits in the year
        "2026-01-15T10:30:\u0660\u0660Z",
        "\uff12\uff10\uff12\uff16-01-15T10:30:00Z",  # fullwidth digits
        "2026-01-15T10:30:00+\u0660\u0661:00",
        "2026-01-15T10:30:00.\u0665Z",
    ],
)
def test_timestamps_with_non_ascii_digits_are_refused_at_both_doors(doors, created_at):
    # GIVEN a timestamp whose digits are not ASCII
    status, answer, staged, rejected = doors(record_text(created_at=json.dumps(created_at)))

    # THEN ingest answers 400 naming created_at, and transform rejects it for the same reason
    assert status == 400
    assert [(d["field"], d["message"][:30]) for d in answer["details"]] == [
        ("created_at", "must be an RFC 3339 timestamp ")
    ]
    assert staged == []
    assert [r["field"] for r in rejected[0]["reasons"]] == ["created_at"]


# ------------------------------------------------------------------ the property

NUMBERS = st.one_of(
    st.sampled_from(["1e400", "1.234567890123456789012345678901234", "12.50", "1E-7"]),
    st.from_regex(r"-?(0|[1-9][0-9]{0,35})(\.[0-9]{1,36})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
)
DIGITS = st.sampled_from(["0", "1", "2", "5", "9", "\u0661", "\uff11", "\u0967"])
TIMESTAMPS = st.one_of(
    st.sampled_from(
        [
            "2026-01-15T10:30:00Z",
            "2026-01-15T10:30:00.123+05:30",
            "2099-01-01T00:00:00Z",  # far future: a business rule
            "2026-02-30T10:30:00Z",
            "2026-01-15T10:30:00",
        ]
    ),
    st.builds(
        lambda y, s: f"20{y}-01-15T10:30:{s}Z",
        st.text(DIGITS, min_size=2, max_size=2),
        st.text(DIGITS, min_size=2, max_size=2),
    ),
)
TEXT = st.text(max_size=8)
AMOUNTS = st.one_of(
    NUMBERS,
    NUMBERS.map(json.dumps),
    TEXT.map(json.dumps),
    st.sampled_from(["true", "null", "[]", "{}"]),
)
FRAGMENTS = st.fixed_dictionaries(
    {},
    optional={
        "order_id": st.one_of(st.from_regex(r"[A-Za-z0-9_-]{1,70}", fullmatch=True), TEXT).map(
            json.dumps
        ),
        "customer_id": TEXT.map(json.dumps),
        "amount": AMOUNTS,
        "currency": st.sampled_from(["USD", "EUR", "GBP", "usd", "US"]).map(json.dumps),
        "created_at": TIMESTAMPS.map(json.dumps),
        "items": st.one_of(
            AMOUNTS.map(item),
            st.sampled_from(
                [
                    "[]",
                    "null",
                    '[{"sku": "S"}]',
                    '[{"sku": "S", "quantity": 1, "unit_price": 1, "x": 1}]',
                ]
            ),
        ),
        "extra": st.just('"x"'),
    },
)


@settings(  # budget: the hypothesis profile (tests/conftest.py)
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fragments=FRAGMENTS, drop=st.sets(st.sampled_from(["order_id", "amount", "created_at"])))
def test_ingest_accepts_exactly_what_transform_stages_or_rejects_for_a_business_rule(
    doors, fragments, drop
):
    # GIVEN any record, written as a client would (numbers as their literal text)
    text = record_text(**{**fragments, **dict.fromkeys(drop)})

    # WHEN it is posted, and transform sees the line ingest wrote (or, if refused, the
    # client's text, as a backfill could drop it)
    status, answer, staged, rejected = doors(text)

    # THEN ingest accepts it <=> transform stages it or rejects it only for business rules
    if status == 202:
        assert staged or all(is_business_rule(r) for r in rejected[0]["reasons"]), rejected
    else:
        assert status == 400, answer
        assert staged == []
        reasons = rejected[0]["reasons"]
        assert not all(is_business_rule(r) for r in reasons)
        # AND both doors give the same reasons
        if answer["error"] == "validation_failed":
            assert [{"field": d["field"], "message": d["message"]} for d in answer["details"]] == (
                reasons
            )
