"""ingest-api against moto S3: what a client sees and what lands in the bucket."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pipeline_factories import (
    BUCKET,
    DROP,
    api_event,
    body_of,
    lambda_context,
    list_keys,
    order,
    read_jsonl,
)

pytestmark = pytest.mark.functional

EXAMPLE = '{"records": [{"order_id": "A-1", ...}]}'


@pytest.fixture
def ingest(aws: Any, load_handler: Any) -> Any:
    """Invoke ingest-api like its function URL does; returns (status, body, headers)."""
    module = load_handler("ingest-api")

    def call(event: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        response = module.handler(event, lambda_context("ingest-api"))
        return response["statusCode"], body_of(response), response["headers"]

    return call


def post(body: Any, **kwargs: Any) -> dict[str, Any]:
    return api_event("POST", "/batches", body, **kwargs)


def test_accepted_batch_is_written_once_to_raw_with_a_received_manifest(ingest, aws):
    # GIVEN three valid orders
    records = [order(i) for i in range(3)]

    # WHEN they are posted
    status, body, headers = ingest(post({"records": records}))

    # THEN the client gets 202 with the batch id and count
    assert status == 202
    assert body == {"batch_id": body["batch_id"], "records": 3}
    batch_id = body["batch_id"]
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{16}", batch_id)
    assert headers["location"] == f"/batches/{batch_id}"
    # AND exactly one raw object holds the records, under today's date
    today = datetime.now(UTC)
    raw_key = f"raw/{today:%Y/%m/%d}/{batch_id}.jsonl"
    assert list_keys(aws, "raw/") == [raw_key]
    assert read_jsonl(aws, raw_key) == json.loads(json.dumps(records))
    # AND the manifest says "received" with the count
    manifest = json.loads(
        aws.get_object(Bucket=BUCKET, Key=f"manifests/{batch_id}.json")["Body"].read()
    )
    assert manifest["stage"] == "received"
    assert manifest["counts"]["received"] == 3
    assert manifest["raw_key"] == raw_key


def test_base64_encoded_body_is_decoded(ingest, aws):
    # GIVEN a body the function URL delivered base64-encoded
    event = post({"records": [order(1)]}, base64_body=True)

    # WHEN it is posted
    status, body, _ = ingest(event)

    # THEN it is accepted like a plain body
    assert status == 202
    assert body["records"] == 1
    assert len(list_keys(aws, "raw/")) == 1


@pytest.mark.parametrize(
    ("record", "field", "message"),
    [
        (order(1, amount=-1), "amount", "must not be negative"),
        (order(1, amount="12.345"), "amount", "must have at most 2 fractional digits"),
        (order(1, amount=1000000.01), "amount", "must be at most 1000000"),
        (
            order(1, currency="usd"),
            "currency",
            "must be three uppercase letters (ISO 4217), like USD",
        ),
        (
            order(1, order_id="bad id!"),
            "order_id",
            "must contain only letters, digits, '_' and '-'",
        ),
        (order(1, order_id=DROP), "order_id", "is required"),
        (order(1, customer_id=""), "customer_id", "must be 1 to 64 characters long (got 0)"),
        (
            order(1, created_at="2026-01-15 10:30:00"),
            "created_at",
            "must be an RFC 3339 timestamp with an offset, like 2026-11-29T08:49:00Z or "
            "2026-11-29T09:49:00+01:00",
        ),
        (
            order(1, items=[{"sku": "S", "quantity": 0, "unit_price": 1}]),
            "items[0].quantity",
            "must be between 1 and 10000",
        ),
        (
            order(1, coupon="X"),
            "coupon",
            "unknown field; allowed: amount, created_at, currency, customer_id, items, order_id",
        ),
        ("not an object", None, "must be a JSON object, not string"),
    ],
)
def test_invalid_record_fails_the_whole_batch_with_its_index_field_and_reason(
    ingest, aws, record, field, message
):
    # GIVEN a batch whose second record breaks one rule
    records = [order(0), record]

    # WHEN it is posted
    status, body, _ = ingest(post({"records": records}))

    # THEN 400 validation_failed names the record, the field and what is wrong
    assert status == 400
    assert body == {
        "error": "validation_failed",
        "message": "1 of 2 records are invalid (1 problem). "
        "Nothing was stored: fix them and send the whole batch again.",
        "details": [{"index": 1, "field": field, "message": message}],
    }
    # AND nothing was written at all
    assert list_keys(aws) == []


def test_validation_details_are_capped_at_the_first_100_problems(ingest, aws):
    # GIVEN 150 records each with one problem
    records = [order(i, currency="dollars") for i in range(150)]

    # WHEN they are posted
    status, body, _ = ingest(post({"records": records}))

    # THEN the first 100 problems are listed, in record order, and the total is stated
    assert status == 400
    assert body["error"] == "validation_failed"
    assert [d["index"] for d in body["details"]] == list(range(100))
    assert body["message"] == (
        "150 of 150 records are invalid (150 problems; the first 100 are listed). "
        "Nothing was stored: fix them and send the whole batch again."
    )
    assert list_keys(aws) == []


@pytest.mark.parametrize(
    ("raw_body", "status", "expected"),
    [
        (
            "{not json",
            400,
            {
                "error": "invalid_json",
                "message": "the body is not valid JSON (Expecting property name enclosed in "
                f"double quotes: line 1 column 2 (char 1)); send {EXAMPLE}",
            },
        ),
        ("", 400, {"error": "invalid_json", "message": f"the body is empty; send {EXAMPLE}"}),
        (
            '{"records": [{"amount": NaN}]}',
            400,
            {
                "error": "invalid_json",
                "message": "the body is not valid JSON (NaN is not valid JSON); send " + EXAMPLE,
            },
        ),
        (
            "[1, 2]",
            400,
            {
                "error": "invalid_request",
                "message": f"the body must be a JSON object like {EXAMPLE}",
            },
        ),
        (
            '{"records": {"order_id": "A"}}',
            400,
            {
                "error": "invalid_request",
                "message": f"'records' must be a list of order objects, like {EXAMPLE}",
            },
        ),
        (
            "{}",
            400,
            {
                "error": "invalid_request",
                "message": f"'records' must be a list of order objects, like {EXAMPLE}",
            },
        ),
        (
            '{"records": []}',
            400,
            {"error": "invalid_request", "message": "'records' is empty; send at least one record"},
        ),
        (
            '{"records": [], "dataset": "orders"}',
            400,
            {
                "error": "invalid_request",
                "message": "unknown top-level field(s) dataset; the body has only 'records'",
            },
        ),
    ],
)
def test_malformed_body_is_400_with_what_to_fix(ingest, aws, raw_body, status, expected):
    # GIVEN a body that is not a usable request / WHEN it is posted
    got_status, body, _ = ingest(post(raw_body))

    # THEN the status and the JSON error body say what to fix, and nothing is written
    assert (got_status, body) == (status, expected)
    assert list_keys(aws) == []


def test_body_that_is_not_utf8_is_invalid_json(ingest, aws):
    # GIVEN a base64 body whose bytes are not UTF-8
    event = post(None)
    event["body"], event["isBase64Encoded"] = "/w==", True  # b"\xff"

    # WHEN it is posted
    status, body, _ = ingest(event)

    # THEN it is refused as invalid JSON
    assert (status, body) == (
        400,
        {"error": "invalid_json", "message": "the body is not UTF-8 encoded JSON"},
    )


def test_more_than_10000_records_is_413(ingest, aws):
    # GIVEN 10,001 (small) records
    records = [{"order_id": str(i)} for i in range(10_001)]

    # WHEN they are posted
    status, body, _ = ingest(post({"records": records}))

    # THEN 413 says how many and what the limit is
    assert (status, body) == (
        413,
        {
            "error": "too_many_records",
            "message": "the batch has 10001 records; the limit is 10000: "
            "split it into smaller batches",
        },
    )
    assert list_keys(aws) == []


def test_body_over_5_mib_is_413(ingest, aws):
    # GIVEN a body of 5 MiB + 1 byte
    raw = json.dumps({"records": [order(1, customer_id="x")]})
    raw = raw + " " * (5 * 1024 * 1024 + 1 - len(raw))

    # WHEN it is posted
    status, body, _ = ingest(post(raw))

    # THEN 413 names the size and the limit
    assert (status, body) == (
        413,
        {
            "error": "payload_too_large",
            "message": f"the body is {5 * 1024 * 1024 + 1} bytes; the limit is 5242880 bytes "
            "(5 MiB): split the records into smaller batches",
        },
    )
    assert list_keys(aws) == []


@pytest.mark.parametrize(
    ("method", "path", "status", "expected", "allow"),
    [
        (
            "GET",
            "/batches",
            405,
            {
                "error": "method_not_allowed",
                "message": "GET is not allowed on /batches; use POST",
            },
            "POST",
        ),
        (
            "PUT",
            "/batches",
            405,
            {
                "error": "method_not_allowed",
                "message": "PUT is not allowed on /batches; use POST",
            },
            "POST",
        ),
        (
            "POST",
            "/orders",
            404,
            {"error": "not_found", "message": "no resource at /orders; use POST /batches"},
            None,
        ),
    ],
)
def test_other_method_is_405_and_other_path_is_404(ingest, method, path, status, expected, allow):
    # GIVEN a request outside the API / WHEN it arrives
    got_status, body, headers = ingest(api_event(method, path, {"records": [order(1)]}))

    # THEN the status and JSON body say what the API accepts
    assert (got_status, body) == (status, expected)
    assert headers.get("allow") == allow


def test_same_idempotency_key_and_body_returns_the_same_batch_and_writes_nothing(ingest, aws):
    # GIVEN a batch accepted with an idempotency key
    request = post({"records": [order(1), order(2)]}, headers={"Idempotency-Key": "k-123"})
    first_status, first, _ = ingest(request)
    before = {k: aws.head_object(Bucket=BUCKET, Key=k)["ETag"] for k in list_keys(aws)}

    # WHEN the client retries the same request
    status, body, headers = ingest(request)

    # THEN it gets the same batch id and nothing new is written
    assert first_status == status == 202
    assert body == first
    assert headers["idempotent-replayed"] == "true"
    after = {k: aws.head_object(Bucket=BUCKET, Key=k)["ETag"] for k in list_keys(aws)}
    assert after == before
    assert len(list_keys(aws, "raw/")) == 1
    assert len(list_keys(aws, "idempotency/")) == 1


def test_same_idempotency_key_with_a_different_body_is_409(ingest, aws):
    # GIVEN a batch accepted with an idempotency key
    ingest(post({"records": [order(1)]}, headers={"idempotency-key": "k-1"}))

    # WHEN another body is sent with the same key
    status, body, _ = ingest(post({"records": [order(2)]}, headers={"idempotency-key": "k-1"}))

    # THEN 409 explains the key was used for something else, and nothing new is written
    assert (status, body) == (
        409,
        {
            "error": "idempotency_key_reused",
            "message": "this idempotency-key was already used with a different body; "
            "use a new key for a new batch",
        },
    )
    assert len(list_keys(aws, "raw/")) == 1


def test_replay_finishes_a_request_that_died_after_claiming_its_key(ingest, aws):
    # GIVEN a first attempt that claimed the key and then died before writing the batch
    request = post({"records": [order(1)]}, headers={"idempotency-key": "k-crash"})
    status, first, _ = ingest(request)
    batch_id = first["batch_id"]
    (record_key,) = list_keys(aws, "idempotency/")
    claim = json.loads(aws.get_object(Bucket=BUCKET, Key=record_key)["Body"].read())
    for key in list_keys(aws, "raw/") + list_keys(aws, "manifests/"):
        aws.delete_object(Bucket=BUCKET, Key=key)

    # WHEN the client retries
    status, body, _ = ingest(request)

    # THEN the batch is completed under the same id
    assert (status, body["batch_id"]) == (202, batch_id)
    assert list_keys(aws, "raw/") == [claim["raw_key"]]
    assert list_keys(aws, "manifests/") == [f"manifests/{batch_id}.json"]
    # AND the claim was only created, never rewritten (ingest's writes are create-only)
    assert json.loads(aws.get_object(Bucket=BUCKET, Key=record_key)["Body"].read()) == claim


def test_idempotency_record_is_keyed_by_the_sha256_of_the_key(ingest, aws):
    import hashlib

    # GIVEN / WHEN a batch is posted with a key
    ingest(post({"records": [order(1)]}, headers={"idempotency-key": "abc"}))

    # THEN the record's name does not leak the key itself
    assert list_keys(aws, "idempotency/") == [
        f"idempotency/{hashlib.sha256(b'abc').hexdigest()}.json"
    ]


def test_invalid_idempotency_key_is_400(ingest, aws):
    # GIVEN a key longer than 255 characters / WHEN posted
    status, body, _ = ingest(post({"records": [order(1)]}, headers={"idempotency-key": "k" * 256}))

    # THEN 400 says what a key must look like
    assert status == 400
    assert body["error"] == "invalid_request"
    assert "idempotency-key" in body["message"]
    assert list_keys(aws) == []


def test_missing_data_bucket_is_a_500_misconfigured_not_an_import_error(
    aws, load_handler, monkeypatch
):
    # GIVEN the platform forgot DATA_BUCKET (the module still imports)
    monkeypatch.delenv("DATA_BUCKET")
    module = load_handler("ingest-api")

    # WHEN a valid batch is posted
    response = module.handler(post({"records": [order(1)]}), lambda_context())

    # THEN the client gets a JSON 500, not a stack trace
    assert response["statusCode"] == 500
    assert body_of(response)["error"] == "misconfigured"


def test_logs_are_json_lines_with_function_request_and_batch(ingest, aws, capsys):
    # GIVEN / WHEN a batch is accepted
    _, body, _ = ingest(post({"records": [order(1)]}))

    # THEN every stdout line is JSON; the "accepted" log carries the context fields
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    accepted = next(line for line in lines if line.get("message") == "batch accepted")
    assert accepted["level"] == "INFO"
    assert accepted["function"] == "ingest-api"
    assert accepted["batch_id"] == body["batch_id"]
    assert accepted["request_id"].startswith("req-")
    assert isinstance(accepted["cold_start"], bool)
    # AND an EMF metric line counts the records received
    emf = next(line for line in lines if "_aws" in line)
    assert emf["RecordsReceived"] == 1
    assert emf["Function"] == "ingest-api"


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["records", "order_id", "x"]), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    body=st.one_of(
        st.text(max_size=50),
        JSONISH.map(json.dumps),
        st.lists(JSONISH, max_size=3).map(lambda records: json.dumps({"records": records})),
    )
)
def test_any_body_gets_a_json_answer_never_an_exception(ingest, body):
    # GIVEN any body at all / WHEN posted
    status, answer, _ = ingest(post(body))

    # THEN the answer is a documented status with a JSON body saying what happened
    assert status in (202, 400, 413)
    if status == 202:
        assert set(answer) == {"batch_id", "records"}
    else:
        assert answer["error"] in {"invalid_json", "invalid_request", "validation_failed"}
        assert answer["message"]


def test_raw_keeps_each_records_exact_json_one_per_line(ingest, aws):
    # GIVEN a pretty-printed body whose numbers carry more digits than a float
    body = (
        '{\n  "records": [\n    {"order_id": "A-1", "customer_id": "c",\r\n'
        '     "amount": 12.5, "currency": "USD", "created_at": "2026-01-15T10:30:00Z",\n'
        '     "items": [{"sku": "S", "quantity": 1,\n'
        '                "unit_price": 1.234567890123456789012345678901234}]}'
        ',\n    {"order_id": "A-2", "customer_id": "c\\n", "amount": "1", "currency": "USD",'
        ' "created_at": "2026-01-15T10:30:00Z"}\n  ]\n}\n'
    )

    # WHEN it is posted
    status, answer, _ = ingest(post(body))

    # THEN the second record's escaped newline makes it invalid ...
    assert status == 400
    assert answer["details"][0]["field"] == "customer_id"
    # ... and without it, raw/ holds one line per record with the numbers' exact text
    status, answer, _ = ingest(post(body.replace('"c\\n"', '"c"')))
    assert status == 202
    (key,) = list_keys(aws, "raw/")
    text = aws.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    lines = text.split("\n")
    assert lines[-1] == "" and len(lines) == 3
    assert '"unit_price": 1.234567890123456789012345678901234}' in lines[0]


def test_a_repeated_records_field_is_refused(ingest, aws):
    # GIVEN a body that says "records" twice (JSON parsers disagree on which one wins)
    body = '{"records": [' + json.dumps(order(1)) + '], "records": [' + json.dumps(order(2)) + "]}"

    # WHEN posted / THEN 400 saying so, and nothing is stored
    status, answer, _ = ingest(post(body))
    assert (status, answer["error"]) == (400, "invalid_request")
    assert "more than once" in answer["message"]
    assert list_keys(aws) == []
