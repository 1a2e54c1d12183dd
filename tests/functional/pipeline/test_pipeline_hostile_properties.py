"""Every decoder that turns untrusted bytes into records, fed hostile input (issue 18).

Ingest's body, transform's lines, status-api's batch ids, the manifest reader (and the
watchdog through it) and redrive's message bodies get arbitrary Unicode (lone surrogates
included), arbitrary JSON numbers (beyond ``Decimal``'s range, 5,000 digits) and
arbitrary JSON shapes. Each answers with a 4xx, a rejected line, a counted bad manifest
or an undeliverable message, never an exception that Lambda would retry forever. The
pure decoders run in-process; the handlers run against moto S3.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from etl_common import batches, datasets, s3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pipeline_factories import BUCKET, WATCHDOG_ENV, api_event, lambda_context

from etl_platform.model.catalog import load_catalog
from etl_platform.model.slo import WATCHDOG
from etl_platform.ops.redrive import UndeliverableEventError, event_payload

pytestmark = pytest.mark.functional

DATASET = datasets.get()
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
MODERATE = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# The pure decoders take the profile's budget (tests/conftest.py: dev 25, ci 100).
PURE = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# ----------------------------------------------------------------------- strategies

HOSTILE_CHARACTERS = st.one_of(
    st.characters(exclude_categories=()),  # every code point, surrogates included
    st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff", "\x00", "\u2028", "\x85", "\ufeff"]),
    st.sampled_from(['"', "\\", "\n", "\r", "{", "}", "[", "]", ":", ","]),
)
TEXT = st.text(HOSTILE_CHARACTERS, max_size=16)
NUMBERS = st.one_of(
    st.from_regex(r"-?(0|[1-9][0-9]{0,24})(\.[0-9]{1,24})?([eE][+-]?[0-9]{1,24})?", fullmatch=True),
    st.sampled_from(
        [
            "1e99999999999999999999",
            "1.5e-99999999999999999999",
            "-1E+999999999999999999",
            "1" + "0" * 5000,
            "-0",
            "1e-999999999999999999",
        ]
    ),
)
# JSON text of a string: json.dumps escapes a lone surrogate as \udxxx, as a client may.
STRINGS = TEXT.map(json.dumps)
LEAVES = st.one_of(st.sampled_from(["null", "true", "false"]), NUMBERS, STRINGS)
FIELDS = (*DATASET.columns, "amount", "items", "sku", "quantity", "unit_price", "stage")
KEYS = st.one_of(st.sampled_from(FIELDS), TEXT)


def _obj(pairs: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in pairs) + "}"


JSON_TEXT = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]"),
        st.lists(st.tuples(KEYS, children), max_size=5).map(_obj),
    ),
    max_leaves=12,
)
VALID_ITEM = {"sku": '"S-1"', "quantity": "2", "unit_price": '"9.50"'}
VALID_ORDER = {
    "order_id": '"ORD-1"',
    "customer_id": '"c-1"',
    "amount": '"19.00"',
    "currency": '"USD"',
    "created_at": '"2026-11-29T08:49:00Z"',
}


@st.composite
def order_texts(draw: Any) -> str:
    """A valid order's JSON text with up to three fields (in it or in its item) replaced
    by hostile JSON or joined by a hostile key: the validator's deep paths get exercised."""
    item = dict(VALID_ITEM)
    for name in draw(st.sets(st.sampled_from([*VALID_ITEM, "\ud800", "x"]), max_size=2)):
        item[name] = draw(JSON_TEXT)
    record = {**VALID_ORDER, "items": "[" + _obj(list(item.items())) + "]"}
    for name in draw(st.sets(st.sampled_from([*VALID_ORDER, "\udfff", "note"]), max_size=2)):
        record[name] = draw(JSON_TEXT)
    return _obj(list(record.items()))


LINES = st.one_of(order_texts(), JSON_TEXT, TEXT)


def utf8_json(response: dict[str, Any]) -> Any:
    """An API answer's body: valid UTF-8 JSON, with string error and message if an error."""
    body = json.loads(response["body"].encode("utf-8"))
    if response["statusCode"] >= 400:
        assert isinstance(body["error"], str) and isinstance(body["message"], str)
    return body


# ----------------------------------------------------------------------- transform


@PURE
@given(lines=st.lists(LINES, min_size=1, max_size=6))
def test_transform_turns_any_line_into_a_staged_row_or_a_rejected_line(
    load_handler: Any, lines: list[str]
) -> None:
    # GIVEN any lines at all in a raw/ object / WHEN transform reads them
    transform = load_handler("transform")
    staged, rejected, duplicates = transform.transform_lines(lines, "b-1", DATASET, now=NOW)

    # THEN every line is accounted for (no exception, so no retry, no poison batch) ...
    assert len(staged) + len(rejected) + duplicates == len(lines)
    # ... and what transform writes is valid UTF-8 (rejected/ with reasons, staged/)
    for entry in rejected:
        assert entry["reasons"] and all(isinstance(r["message"], str) for r in entry["reasons"])
        json.loads(s3.dumps(entry).encode("utf-8"))
    rows = enumerate(staged, start=1)  # (raw line number, row), as transform streams them
    b"".join(transform.staged_csv(rows, DATASET, "2026-11-29T08:49:00.000Z")).decode("utf-8")


# ----------------------------------------------------------------------- ingest


@MODERATE
@given(
    body=st.one_of(
        st.lists(LINES, min_size=1, max_size=3).map(
            lambda xs: '{"records": [' + ",".join(xs) + "]}"
        ),
        JSON_TEXT,
        TEXT,
    )
)
def test_ingest_answers_any_body_with_a_4xx_or_202_in_utf8_json(
    aws: Any, load_handler: Any, body: str
) -> None:
    # GIVEN ingest-api / WHEN any body is posted
    ingest = load_handler("ingest-api")
    answer = ingest.handler(api_event("POST", "/batches", body), lambda_context("ingest-api"))

    # THEN it is accepted or refused as the client's fault, never a 500 that pages
    assert answer["statusCode"] in (202, 400, 413), answer
    utf8_json(answer)


# ----------------------------------------------------------------------- status ids


@MODERATE
@given(
    batch_id=st.one_of(TEXT, st.from_regex(r"[A-Za-z0-9%][A-Za-z0-9_:%-]{0,20}", fullmatch=True))
)
def test_status_answers_any_batch_id_with_a_4xx_in_utf8_json(
    aws: Any, load_handler: Any, batch_id: str
) -> None:
    # GIVEN status-api and no batch at all / WHEN any id is asked for
    status = load_handler("status-api")
    answer = status.handler(api_event("GET", f"/batches/{batch_id}"), lambda_context("status"))

    # THEN the answer is a 4xx (unknown, malformed or not found) in valid UTF-8 JSON
    assert answer["statusCode"] in (400, 404), answer
    utf8_json(answer)


# ----------------------------------------------------------------------- manifests

MANIFEST_BYTES = st.one_of(
    st.binary(max_size=40),
    JSON_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.lists(
        st.tuples(
            st.sampled_from(["stage", "batch_id", "counts", "times", "dataset", "raw_key"]),
            JSON_TEXT,
        ),
        max_size=6,
    )
    .map(_obj)
    .map(lambda t: t.encode("utf-8")),
    st.builds(
        lambda counts, times: (
            json.dumps({"stage": "loaded", "batch_id": "b-1", "counts": "C", "times": "T"})
            .replace('"C"', counts)
            .replace('"T"', times)
            .encode("utf-8")
        ),
        JSON_TEXT,
        JSON_TEXT,
    ),
)


@PURE
@given(data=MANIFEST_BYTES)
def test_the_manifest_reader_reads_a_manifest_or_says_it_is_bad(data: bytes) -> None:
    # GIVEN any bytes stored as a manifest / WHEN read through the one manifest type
    try:
        manifest = batches.parse_manifest(data, "manifests/b-1.json")
    except batches.BadManifestError as exc:
        # THEN either it is refused, naming the key, in printable UTF-8 ...
        assert exc.key == "manifests/b-1.json"
        str(exc).encode("utf-8")
        return
    # ... or it is a manifest whose counts and times have the pipeline's types
    assert manifest.stage in batches.STAGES
    assert all(v is None or type(v) is int for v in manifest.counts.values())
    assert all(v is None or isinstance(v, str) for v in manifest.times.values())
    json.loads(s3.dumps(manifest.to_json()).encode("utf-8"))


@MODERATE
@given(data=MANIFEST_BYTES)
def test_the_watchdog_reports_through_any_manifest(
    aws: Any, load_handler: Any, data: bytes
) -> None:
    # GIVEN a healthy batch and one whose manifest holds any bytes at all
    watchdog = load_handler(load_catalog().get(WATCHDOG).name, **WATCHDOG_ENV)
    now = datetime.now(UTC)
    for batch_id in ("a-healthy", "b-1"):
        aws.put_object(Bucket=BUCKET, Key=f"raw/{now:%Y/%m/%d}/{batch_id}.jsonl", Body=b"{}\n")
    healthy = batches.Manifest.received(
        "a-healthy",
        dataset="orders",
        received=1,
        received_at=batches.utc_now_iso(now),
        raw_key=None,
    )
    aws.put_object(
        Bucket=BUCKET, Key="manifests/a-healthy.json", Body=json.dumps(healthy.to_json())
    )
    aws.put_object(Bucket=BUCKET, Key="manifests/b-1.json", Body=data)

    # WHEN the watchdog runs
    result = watchdog.run(BUCKET, now)

    # THEN both batches are reported; the other one is either read or counted as bad
    assert result["batches"] == 2
    assert result["bad_manifests"] in ([], ["b-1"])


# ----------------------------------------------------------------------- redrive

BODIES = st.one_of(
    TEXT,
    JSON_TEXT,
    st.lists(st.tuples(KEYS, JSON_TEXT), max_size=4).map(_obj),
    st.none(),
)


@PURE
@given(body=BODIES)
def test_redrive_sends_a_json_event_or_says_why_it_cannot(body: Any) -> None:
    # GIVEN any DLQ message body / WHEN redrive turns it into an invocation payload
    try:
        payload = event_payload(body)
    except UndeliverableEventError as exc:
        # THEN it is refused with a reason that prints (the message stays in the queue) ...
        str(exc).encode("utf-8")
        return
    # ... or it is the original event, a JSON object, as UTF-8 bytes
    assert isinstance(json.loads(payload.decode("utf-8")), dict)
