"""Hostile input against the real handlers (moto S3 + Secrets Manager, a real PostgreSQL).

One class of defect per section, each as a user sees it (issue 18):

1. a lone surrogate in a field name: a rejected line, the rest of the batch loads, and
   every API error body is valid UTF-8 JSON with ``error`` and ``message``;
2. a number beyond ``Decimal``'s range: a rejected line in transform, a 400 naming the
   field at the door (never a 500);
3. a malformed manifest: the watchdog counts it (``BadManifests``), logs it once with its
   key and reports every other batch;
4. no secret in any log line: every handler under Lambda's runtime logging at DEBUG and
   TRACE, every captured line grepped for the database password and the session token.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from etl_common import batches, clients, logger
from pipeline_factories import (
    BUCKET,
    REGION,
    WATCHDOG_ENV,
    api_event,
    lambda_context,
    list_keys,
    order,
    put_raw,
    query,
    read_json,
    read_jsonl,
    read_staged,
    s3_event,
)

from etl_platform.model.catalog import load_catalog
from etl_platform.model.slo import PIPELINE_METRICS, WATCHDOG

pytestmark = pytest.mark.functional

HUGE = "1e99999999999999999999"  # beyond Decimal's exponent range
TINY = "1.5e-99999999999999999999"
SURROGATE_KEY = '"\\ud800"'  # JSON text of a field name that is a lone surrogate


def line(record: dict[str, Any], **raw_fields: str) -> str:
    """``record`` as one JSON line, with ``raw_fields`` spliced in as raw JSON text
    (``name`` -> the value's text), so numbers json.dumps could not write are possible."""
    text = json.dumps(record)
    extra = "".join(f", {json.dumps(name)}: {value}" for name, value in raw_fields.items())
    return text[:-1] + extra + "}"


def with_raw(record: dict[str, Any], field: str, value_text: str) -> str:
    """``record`` as JSON with the value of ``field`` replaced by raw JSON text."""
    marker = "__RAW__"
    return json.dumps({**record, field: marker}).replace(f'"{marker}"', value_text)


def utf8_json(response: dict[str, Any]) -> dict[str, Any]:
    """The body of an API answer, checked to be valid UTF-8 JSON with error and message
    when it is an error."""
    assert response["headers"]["content-type"] == "application/json"
    body = json.loads(response["body"].encode("utf-8"))  # strict: raises on a surrogate
    if response["statusCode"] >= 400:
        assert isinstance(body["error"], str) and isinstance(body["message"], str)
    return body


def run_pipeline_on_raw(
    aws: Any, transform: Any, load: Any, batch_id: str, lines: list[str]
) -> tuple[str, dict[str, Any]]:
    """Drop ``lines`` into raw/ as a backfill would, run transform then load on the events
    S3 would send; return the raw key and the manifest."""
    raw_key = put_raw(aws, batch_id, lines)
    transformed = transform.handler(s3_event(raw_key), lambda_context("transform"))
    assert transformed["batches"][0]["batch_id"] == batch_id
    load.handler(s3_event(batches.staged_key(batch_id)), lambda_context("load"))
    return raw_key, read_json(aws, batches.manifest_key(batch_id))


# ----------------------------------------------------------------- 1. lone surrogates


def test_a_lone_surrogate_in_a_field_name_rejects_its_line_and_the_batch_loads(
    aws: Any, load_handler: Any, load_env: dict[str, str], postgres_server: Any, database: str
) -> None:
    # GIVEN a backfill in raw/ whose second line has a field named "\ud800" (the issue's
    # example), next to two valid orders, and one more nested in an item
    transform = load_handler("transform")
    load = load_handler("load", **load_env)
    bad_item = order(4, items=[{"sku": "S", "quantity": 1, "unit_price": 1}])
    lines = [
        json.dumps(order(1)),
        line(order(2), **{"\ud800": "1"}),
        json.dumps(order(3)),
        json.dumps(bad_item).replace('"sku"', f"{SURROGATE_KEY}: 1, " + '"sku"'),
    ]
    assert "\\ud800" in lines[1] and "\\ud800" in lines[3]

    # WHEN transform and then load run on it
    _, manifest = run_pipeline_on_raw(aws, transform, load, "backfill-surrogate", lines)

    # THEN the surrogate lines are rejected lines with their reasons (valid UTF-8 JSON)
    rejected = read_jsonl(aws, "rejected/backfill-surrogate.jsonl")
    assert [(r["line"], [p["field"] for p in r["reasons"]]) for r in rejected] == [
        (2, ["\\ud800"]),
        (4, ["items[0].\\ud800"]),
    ]
    assert all("unknown field" in r["reasons"][0]["message"] for r in rejected)
    # AND the valid lines were staged, loaded into PostgreSQL, and the manifest moved on
    assert [row["order_id"] for row in read_staged(aws, "staged/backfill-surrogate.csv")] == [
        "ORD-00001",
        "ORD-00003",
    ]
    rows = query(postgres_server, database, "SELECT order_id FROM orders ORDER BY order_id")
    assert rows == [("ORD-00001",), ("ORD-00003",)]
    assert manifest["stage"] == "loaded"
    assert manifest["counts"]["received"] == 4 and manifest["counts"]["rejected"] == 2


def test_every_api_error_body_is_valid_utf8_json_whatever_it_quotes(
    aws: Any, load_handler: Any
) -> None:
    # GIVEN the two APIs
    ingest = load_handler("ingest-api")
    status = load_handler("status-api")
    body = '{"records": [' + line(order(1), **{"\ud800": "1"}) + "]}"

    # WHEN a client posts the surrogate record, and asks for paths holding a lone surrogate
    posted = ingest.handler(api_event("POST", "/batches", body), lambda_context("ingest-api"))
    answers = [
        ingest.handler(api_event("POST", "/\ud800"), lambda_context("ingest-api")),
        status.handler(api_event("GET", "/batches/x/\ud800"), lambda_context("status-api")),
        status.handler(api_event("GET", "/batches/\ud800"), lambda_context("status-api")),
    ]

    # THEN the record is a 400 naming the field, in valid UTF-8 JSON, and nothing is stored
    assert posted["statusCode"] == 400
    refused = utf8_json(posted)
    assert refused["error"] == "validation_failed"
    assert [d["field"] for d in refused["details"]] == ["\\ud800"]
    assert list_keys(aws) == []
    # AND every other answer is a 4xx whose body is valid UTF-8 JSON with error and message
    assert [a["statusCode"] for a in answers] == [404, 404, 400]
    for answer in answers:
        utf8_json(answer)


# ------------------------------------------------------------- 2. numbers out of range


@pytest.mark.parametrize(
    ("name", "make", "field"),
    [
        ("amount", lambda: with_raw(order(2), "amount", HUGE), "amount"),
        ("tiny-amount", lambda: with_raw(order(2), "amount", TINY), "amount"),
        (
            "unit-price",
            lambda: with_raw(
                order(2), "items", f'[{{"sku": "S", "quantity": 1, "unit_price": {HUGE}}}]'
            ),
            "items[0].unit_price",
        ),
        ("unknown-field", lambda: line(order(2), note=HUGE), "note"),
        (
            "quantity-digits",
            lambda: with_raw(
                order(2),
                "items",
                '[{"sku": "S", "quantity": 1' + "0" * 5000 + ', "unit_price": 1}]',
            ),
            "items[0].quantity",
        ),
    ],
)
def test_a_number_beyond_decimal_range_is_a_rejected_line_and_a_400_naming_it(
    aws: Any,
    load_handler: Any,
    load_env: dict[str, str],
    postgres_server: Any,
    database: str,
    name: str,
    make: Any,
    field: str,
) -> None:
    # GIVEN a record holding a number no Decimal (or int) can hold, between two valid ones
    transform = load_handler("transform")
    load = load_handler("load", **load_env)
    ingest = load_handler("ingest-api")
    hostile = make()
    batch_id = f"backfill-{name}"

    # WHEN it arrives in a raw/ backfill (transform, then load) ...
    _, manifest = run_pipeline_on_raw(
        aws, transform, load, batch_id, [json.dumps(order(1)), hostile, json.dumps(order(3))]
    )
    # ... and at the door
    answer = ingest.handler(
        api_event("POST", "/batches", '{"records": [' + hostile + "]}"),
        lambda_context("ingest-api"),
    )

    # THEN transform rejected that line naming the field, and the others were loaded
    (rejected,) = read_jsonl(aws, f"rejected/{batch_id}.jsonl")
    assert rejected["line"] == 2
    assert field in [p["field"] for p in rejected["reasons"]]
    rows = query(postgres_server, database, "SELECT order_id FROM orders ORDER BY order_id")
    assert rows == [("ORD-00001",), ("ORD-00003",)]
    assert manifest["stage"] == "loaded"
    # AND ingest answered 400 naming the field (not a 500, which pages)
    assert answer["statusCode"] == 400
    body = utf8_json(answer)
    assert body["error"] == "validation_failed"
    assert field in [d["field"] for d in body["details"]]


# ------------------------------------------------------------------ 3. bad manifests


def _valid_manifest(batch_id: str, received_at: datetime) -> bytes:
    manifest = batches.Manifest.received(
        batch_id,
        dataset="orders",
        received=1,
        received_at=received_at.isoformat().replace("+00:00", "Z"),
        raw_key=f"raw/{received_at:%Y/%m/%d}/{batch_id}.jsonl",
    )
    return json.dumps(manifest.to_json()).encode("utf-8")


def test_malformed_manifests_are_counted_and_logged_once_and_the_rest_is_reported(
    aws: Any, load_handler: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN batches received now, each with a manifest of a kind the pipeline never writes,
    # and a healthy batch stuck in received for 40 minutes
    spec = load_catalog().get(WATCHDOG)
    watchdog = load_handler(spec.name, **WATCHDOG_ENV)
    now = datetime.now(UTC)
    good = _valid_manifest("stuck-good", now - timedelta(minutes=40))
    bad = {
        "not-json": b"{broken",
        "empty": b"",
        "not-utf8": b'{"stage": "received", "batch_id": "\xff\xfe"}',
        "truncated": good[: len(good) // 2],
        "a-list": b"[]",
        "a-number": b"42",
        "counts-list": b'{"stage": "received", "batch_id": "counts-list", "counts": [1, 2]}',
        "times-string": b'{"stage": "received", "batch_id": "times-string", "times": "now"}',
        "huge-count": b'{"stage": "received", "batch_id": "huge-count", "counts": {"received": '
        + HUGE.encode()
        + b"}}",
    }
    for batch_id, body in {**bad, "stuck-good": good}.items():
        aws.put_object(Bucket=BUCKET, Key=f"raw/{now:%Y/%m/%d}/{batch_id}.jsonl", Body=b"{}\n")
        aws.put_object(Bucket=BUCKET, Key=batches.manifest_key(batch_id), Body=body)
    capsys.readouterr()

    # WHEN the watchdog runs (as its schedule would invoke it)
    result = watchdog.handler({"source": "aws.events"}, lambda_context(WATCHDOG))

    # THEN every batch was reported: the bad ones wait in received, the healthy one is stuck
    assert result["batches"] == len(bad) + 1
    assert result["bad_manifests"] == sorted(bad)
    assert result["stuck"]["received"] == ["stuck-good"]
    assert result["waiting"]["received"] == len(bad) + 1
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    # AND the BadManifests metric says how many (EMF, no dimension), stuck metrics are out
    (doc,) = [d for d in out if "_aws" in d and "BadManifests" in d]
    assert doc["BadManifests"] == len(bad)
    assert PIPELINE_METRICS["manifests"] == ("BadManifests",)
    assert [d["StuckBatches"] for d in out if d.get("Stage") == "received" and "_aws" in d] == [1]
    # AND each bad manifest was logged once, with its key and what is wrong
    logged = [d for d in out if d.get("message", "").startswith("bad manifest")]
    assert sorted(d["key"] for d in logged) == sorted(batches.manifest_key(b) for b in bad)
    assert all(d["reason"] for d in logged)


def test_transform_replaces_a_bad_manifest_instead_of_failing_every_retry(
    aws: Any, load_handler: Any
) -> None:
    # GIVEN a raw batch whose manifest was overwritten with something else
    transform = load_handler("transform")
    raw_key = put_raw(aws, "backfill-overwritten", [json.dumps(order(1))])
    aws.put_object(Bucket=BUCKET, Key=batches.manifest_key("backfill-overwritten"), Body=b"[]")
    # WHEN transform runs / THEN it succeeds and the manifest is a real one again
    transform.handler(s3_event(raw_key), lambda_context("transform"))
    manifest = read_json(aws, batches.manifest_key("backfill-overwritten"))
    assert manifest["stage"] == "transformed" and manifest["counts"]["staged"] == 1


# -------------------------------------------------------------- 4. no secret in logs

PASSWORD = "h18-Pa55w0rd/never:logged@x"
SESSION_TOKEN = "FQoGZXIvYXdzEH18sessiontokenNEVERLOGGED"


@pytest.fixture
def lambda_runtime_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Logging as Lambda's Python runtime sets it up before importing a handler, at a
    level ``setup(level)`` picks: the JSON log format, ``AWS_LAMBDA_LOG_LEVEL``, the
    application level applied to the ROOT logger (TRACE as DEBUG, as the runtime maps
    it), and one root handler writing every record (awslambdaric's bootstrap
    ``_setup_logging``). Every logger (the pipeline's, the libraries') is reset to a
    fresh process's state first, and restored after; ``setup`` returns the capture."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.JsonFormatter())
    saved_root_level = root.level
    every = [
        n for n, v in logging.Logger.manager.loggerDict.items() if isinstance(v, logging.Logger)
    ]
    names = [n for n in every if n == "etl" or n.startswith("etl.")]
    saved = {name: logging.getLogger(name).__dict__.copy() for name in every}

    def setup(level: str) -> io.StringIO:
        monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", "JSON")
        monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", level)
        monkeypatch.setenv("LOG_LEVEL", level)
        for name in names:  # as in a new execution environment: not configured yet
            log = logging.getLogger(name)
            log.handlers, log.propagate, log.level = [], True, logging.NOTSET
            log.__dict__.pop("_etl_configured", None)
        for name in every:  # no library logger has a level of its own in a new process
            logging.getLogger(name).setLevel(logging.NOTSET)
        root.setLevel({"TRACE": "DEBUG"}.get(level, level))
        root.addHandler(handler)
        return stream

    yield setup
    root.removeHandler(handler)
    root.setLevel(saved_root_level)
    monkeypatch.delenv("AWS_LAMBDA_LOG_FORMAT")
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    for name in list(logging.Logger.manager.loggerDict):
        if name in saved:
            log = logging.getLogger(name)
            state = saved[name]
            log.__dict__.clear()
            log.__dict__.update(state)
            log.setLevel(state["level"])  # also clears logging's level caches
        elif name == "etl" or name.startswith("etl."):
            log = logging.getLogger(name)  # made by this test: back to the tests' mode
            log.handlers, log.propagate, log.filters = [], True, []
            log.__dict__.pop("_etl_configured", None)
            logger.get_logger(name)


def _secret_env(postgres_server: Any, database: str) -> dict[str, str]:
    """The session token in force (a new default session reads it) and a database secret
    holding :data:`PASSWORD`; returns load's environment."""
    import boto3

    boto3.setup_default_session()  # the aws fixture's session cached the "testing" token
    clients.reset()

    secret = {
        "engine": "postgres",
        "host": postgres_server.host,
        "port": postgres_server.port,
        "username": "postgres",
        "password": PASSWORD,
        "dbname": database,
    }
    arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="etl/db-logging", SecretString=json.dumps(secret)
    )["ARN"]
    return {"DB_SECRET_ARN": arn, "DB_SSLMODE": "disable", "DB_CONNECT_TIMEOUT": "2"}


def _run_every_handler(load_handler: Any, env: dict[str, str]) -> dict[str, Any]:
    """ingest -> transform -> load -> status, then the watchdog, as S3 and the schedule
    would call them; returns the status answer's manifest."""
    ingest = load_handler("ingest-api")
    transform = load_handler("transform")
    load = load_handler("load", **env)
    status = load_handler("status-api")
    watchdog = load_handler(load_catalog().get(WATCHDOG).name, **WATCHDOG_ENV)
    posted = ingest.handler(
        api_event("POST", "/batches", {"records": [order(1), order(2)]}),
        lambda_context("ingest-api"),
    )
    batch_id = json.loads(posted["body"])["batch_id"]
    import boto3

    s3 = boto3.client("s3", region_name=REGION)
    (raw_key,) = list_keys(s3, "raw/")
    transform.handler(s3_event(raw_key), lambda_context("transform"))
    load.handler(s3_event(batches.staged_key(batch_id)), lambda_context("load"))
    answer = status.handler(api_event("GET", f"/batches/{batch_id}"), lambda_context("status-api"))
    watchdog.handler({"source": "aws.events"}, lambda_context(WATCHDOG))
    return dict(json.loads(answer["body"]))


@pytest.mark.parametrize("level", ["DEBUG", "TRACE"])
def test_no_log_line_holds_the_password_or_the_session_token_at_any_level(
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    load_handler: Any,
    lambda_runtime_logging: Any,
    postgres_server: Any,
    database: str,
    capfd: pytest.CaptureFixture[str],
    level: str,
) -> None:
    # GIVEN Lambda's runtime logging at DEBUG or TRACE, real-looking credentials, and a
    # database secret whose password the functions read from Secrets Manager
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.delenv("LIBRARY_LOG_LEVEL", raising=False)
    env = _secret_env(postgres_server, database)
    captured = lambda_runtime_logging(level)

    # WHEN every handler runs: a batch ingested, transformed, loaded, asked for, watched
    manifest = _run_every_handler(load_handler, env)

    # THEN it worked (the secret was read and used: the batch is loaded) ...
    assert manifest["stage"] == "loaded" and manifest["counts"]["loaded"] == 2
    lines = captured.getvalue().splitlines() + capfd.readouterr().out.splitlines()
    # ... every function's lines were captured (through the runtime's root handler) ...
    for message in ("batch accepted", "batch transformed", "database pool opened", "watchdog run"):
        assert any(f'"message": "{message}"' in x for x in captured.getvalue().splitlines())
    # ... and no line, whoever wrote it, holds the password or the session token
    assert [x for x in lines if PASSWORD in x] == []
    assert [x for x in lines if SESSION_TOKEN in x] == []
    # AND the SDK's DEBUG chatter (headers, bodies) stayed below the WARNING floor
    assert not any('"logger": "botocore' in x and '"level": "DEBUG"' in x for x in lines)


def test_the_library_switch_shows_sdk_debug_lines_with_the_secrets_redacted(
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    load_handler: Any,
    lambda_runtime_logging: Any,
    postgres_server: Any,
    database: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # GIVEN the documented switch LIBRARY_LOG_LEVEL=DEBUG on top of DEBUG logging
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("LIBRARY_LOG_LEVEL", "DEBUG")
    env = _secret_env(postgres_server, database)
    captured = lambda_runtime_logging("DEBUG")

    # WHEN every handler runs
    _run_every_handler(load_handler, env)

    # THEN botocore's request and response lines are there (the switch works) ...
    lines = captured.getvalue().splitlines() + capfd.readouterr().out.splitlines()
    sdk = [x for x in lines if '"logger": "botocore' in x]
    assert any("GetSecretValue" in x for x in sdk)
    assert any("X-Amz-Security-Token" in x for x in sdk)
    # ... with the password and the session token redacted by the formatter's filter
    assert [x for x in lines if PASSWORD in x or SESSION_TOKEN in x] == []
    assert any(logger.REDACTED in x for x in sdk)
