"""etl_common building blocks: logging, metrics, tracing, HTTP, keys, config, S3 events."""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from etl_common import batches, config, http, logger, metrics, runtime, s3, tracing
from etl_common.db import DatabaseSettings
from etl_common.errors import (
    ApiError,
    ConfigurationError,
    ObjectUnreadableError,
    TransientError,
)

LAYER_DIR = Path(__file__).resolve().parents[3] / "layers" / "etl-common"


# ------------------------------------------------------------------ logging


def test_local_logs_are_one_json_object_per_line_with_the_context(capsys):
    # GIVEN a pipeline logger in an invocation with a bound batch id
    log = logger.get_logger("etl.unit.local")
    context = type("Ctx", (), {"aws_request_id": "req-42"})()

    # WHEN it logs inside an invocation
    with runtime.invocation("transform", context):
        logger.bind(batch_id="b-1")
        log.info("hello %s", "world", extra={"rows": 3})
    log.warning("after")

    # THEN each line is JSON with level, message, function, request id, batch id, cold start
    first, second = (json.loads(x) for x in capsys.readouterr().out.splitlines())
    assert first["level"] == "INFO"
    assert first["message"] == "hello world"
    assert first["function"] == "transform"
    assert first["request_id"] == "req-42"
    assert first["batch_id"] == "b-1"
    assert isinstance(first["cold_start"], bool)
    assert first["rows"] == 3
    # AND the batch id does not leak past the invocation
    assert "batch_id" not in second


def test_exceptions_are_logged_with_their_type_and_stack(capsys):
    # GIVEN a logger / WHEN an exception is logged
    log = logger.get_logger("etl.unit.exc")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")

    # THEN the line carries the error type and the stack as a list of lines
    line = json.loads(capsys.readouterr().out)
    assert line["errorType"] == "ValueError"
    assert any("boom" in frame for frame in line["stackTrace"])


def test_in_lambda_json_mode_the_runtime_handler_gets_the_context_fields(monkeypatch):
    # GIVEN Lambda's JSON log format (the runtime's handler sits on the root logger)
    monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", "JSON")
    records: list[logging.LogRecord] = []

    class RuntimeHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    root = logging.getLogger()
    handler = RuntimeHandler()
    root.addHandler(handler)
    try:
        log = logger.get_logger("etl.unit.lambda-json")
        logger.bind(function="load", request_id="r-9", batch_id="b-9", cold_start=True)

        # WHEN it logs
        log.warning("via the runtime")
    finally:
        root.removeHandler(handler)
        logger.clear()

    # THEN no second handler prints it, and the record carries the fields as extra keys
    assert log.handlers == []
    assert log.propagate is True
    (record,) = records
    assert (record.function, record.request_id, record.batch_id, record.cold_start) == (
        "load",
        "r-9",
        "b-9",
        True,
    )
    # AND our formatter renders that record in the same shape as locally
    rendered = json.loads(logger.JsonFormatter().format(record))
    assert {"level", "message", "function", "request_id", "batch_id", "cold_start"} <= set(rendered)


def test_log_level_comes_from_log_level(monkeypatch, capsys):
    # GIVEN LOG_LEVEL=WARNING / WHEN info and warning are logged / THEN only warning prints
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    log = logger.get_logger("etl.unit.level")
    log.info("quiet")
    log.warning("loud")
    assert [json.loads(x)["message"] for x in capsys.readouterr().out.splitlines()] == ["loud"]


# ------------------------------------------------------------------ metrics


def test_metrics_are_embedded_metric_format_lines(capsys):
    # GIVEN / WHEN counts are recorded for a stage
    metrics.record_counts("transform", "transform", {"staged": 5, "rejected": 1}, batch_id="b-1")

    # THEN one EMF document declares the metrics, their unit and dimensions
    doc = json.loads(capsys.readouterr().out)
    (directive,) = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "EtlPipeline"
    assert directive["Dimensions"] == [["Function", "Stage"]]
    assert directive["Metrics"] == [
        {"Name": "RecordsStaged", "Unit": "Count"},
        {"Name": "RecordsRejected", "Unit": "Count"},
    ]
    assert (doc["RecordsStaged"], doc["RecordsRejected"]) == (5, 1)
    assert (doc["Function"], doc["Stage"], doc["batch_id"]) == ("transform", "transform", "b-1")
    assert isinstance(doc["_aws"]["Timestamp"], int)


# ------------------------------------------------------------------ tracing


def test_tracing_is_a_silent_no_op_outside_lambda(monkeypatch, capsys):
    # GIVEN no Lambda environment
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    tracing.reset()

    # WHEN tracing is set up and a subsegment is used
    tracing.setup()
    tracing.patch_database()
    with tracing.subsegment("stage", batch_id="b") as span:
        span.annotate("rows", 3)

    # THEN nothing is printed (no daemon, no context errors)
    assert tracing.is_enabled() is False
    assert capsys.readouterr().out == ""


def test_tracing_in_lambda_records_subsegments_with_annotations(tmp_path):
    # GIVEN a fresh interpreter that looks like Lambda with active tracing, and an
    # emitter that captures segments instead of sending UDP to a daemon
    probe = """
import json, sys
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.lambda_launcher import LambdaContext
sent = []
class Emitter:
    def send_entity(self, entity):
        sent.append(entity.to_dict())
    def set_daemon_address(self, address):
        pass
xray_recorder.configure(emitter=Emitter(), context=LambdaContext())
from etl_common import tracing
tracing.setup()
with tracing.subsegment("transform", batch_id="b-1", staged=5) as span:
    span.annotate("rejected-lines", 2)
import botocore.client, sys
print(json.dumps({
    "enabled": tracing.is_enabled(),
    "patched": sorted(tracing._state["patched"]),
    "psycopg_imported": "psycopg" in sys.modules,
    "sent": sent,
}, default=str))
"""
    env = {
        "AWS_LAMBDA_FUNCTION_NAME": "lambda-transform-dev",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "LAMBDA_TASK_ROOT": str(tmp_path),
        "_X_AMZN_TRACE_ID": (
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
        ),
        "PYTHONPATH": str(LAYER_DIR),
        "PATH": "/usr/bin:/bin",
    }

    # WHEN tracing is set up and a subsegment is recorded
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    )

    # THEN botocore (only) is patched and the subsegment carries the annotations
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["enabled"] is True
    assert report["patched"] == ["botocore"]
    assert report["psycopg_imported"] is False
    (subsegment,) = report["sent"]
    assert subsegment["name"] == "transform"
    assert subsegment["annotations"] == {
        "batch_id": "b-1",
        "staged": 5,
        "rejected_lines": 2,
        "first_trace_id": "1-5759e988-bd862e3fe1be46a994272793",  # no upstream: this trace
    }


# ------------------------------------------------------------------ HTTP


def test_function_url_request_is_parsed_and_base64_decoded():
    # GIVEN a payload 2.0 event with a base64 body and mixed-case headers
    event = {
        "rawPath": "/batches",
        "headers": {"Idempotency-Key": "k"},
        "requestContext": {"http": {"method": "post"}},
        "body": base64.b64encode(b'{"records": []}').decode(),
        "isBase64Encoded": True,
    }

    # WHEN parsed / THEN method upper-cased, headers lower-cased, body decoded
    request = http.parse_request(event)
    assert (request.method, request.path) == ("POST", "/batches")
    assert request.headers == {"idempotency-key": "k"}
    assert request.body == b'{"records": []}'


def test_invalid_base64_body_is_a_400():
    # GIVEN a body flagged base64 that is not / WHEN handled / THEN a JSON 400
    event = {"rawPath": "/x", "body": "***", "isBase64Encoded": True}
    response = http.handle(lambda request: http.json_response(200, {}), event)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (TransientError("s3 down"), 503, "unavailable"),
        (ConfigurationError("no bucket"), 500, "misconfigured"),
        (RuntimeError("bug"), 500, "internal_error"),
    ],
)
def test_failures_become_json_answers_not_stack_traces(error, status, code):
    # GIVEN a route that fails / WHEN handled / THEN a JSON error body with the right status
    def route(request: http.Request) -> dict:
        raise error

    response = http.handle(route, {"rawPath": "/"})
    assert response["statusCode"] == status
    assert json.loads(response["body"])["error"] == code


def test_api_error_body_has_error_message_and_optional_details():
    # GIVEN / WHEN / THEN
    assert ApiError(400, "e", "m").body() == {"error": "e", "message": "m"}
    assert ApiError(400, "e", "m", details=[]).body() == {
        "error": "e",
        "message": "m",
        "details": [],
    }


# ------------------------------------------------------------------ keys, ids, config


def test_batch_keys_follow_the_layout_and_parse_back():
    # GIVEN a batch id generated at a known time
    now = datetime(2026, 11, 29, 8, 49, 0, tzinfo=UTC)
    batch_id = batches.new_batch_id(now)

    # THEN it is time-sortable and every key of the layout round-trips
    assert batch_id.startswith("20261129T084900Z-")
    assert batches.is_batch_id(batch_id)
    raw = batches.raw_key(batch_id, now)
    assert raw == f"raw/2026/11/29/{batch_id}.jsonl"
    assert batches.parse_raw_key(raw) == batch_id
    assert batches.parse_staged_key(batches.staged_key(batch_id)) == batch_id
    assert batches.rejected_key(batch_id) == f"rejected/{batch_id}.jsonl"
    assert batches.manifest_key(batch_id) == f"manifests/{batch_id}.json"
    assert batches.parse_raw_key("raw/2026/11/29/../x.jsonl") is None
    assert batches.parse_staged_key(f"staged/{batch_id}.json") is None


def test_s3_event_keys_are_url_decoded():
    # GIVEN an S3 event with an encoded key / WHEN parsed / THEN the key is decoded
    event = {
        "Records": [
            {
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": "b"}, "object": {"key": "raw/a+b%3Ac.jsonl"}},
            }
        ]
    }
    (obj,) = s3.event_objects(event)
    assert (obj.bucket, obj.key, obj.created) == ("b", "raw/a b:c.jsonl", True)


def test_json_dumps_keeps_decimal_values_exact():
    # GIVEN decimals parsed from client JSON / WHEN re-serialized / THEN values are unchanged
    values = [Decimal("19.99"), Decimal("1E+2"), Decimal("0.1234567890123456789"), Decimal("-0")]
    assert json.loads(s3.dumps(values), parse_float=Decimal) == [
        Decimal("19.99"),
        100,
        "0.1234567890123456789",
        0,
    ]


def test_config_errors_name_the_variable_and_value(monkeypatch):
    # GIVEN bad values / WHEN read / THEN ConfigurationError says which and why
    monkeypatch.setenv("X_INT", "ten")
    with pytest.raises(ConfigurationError, match="X_INT='ten' is not an integer"):
        config.env_int("X_INT", 1)
    monkeypatch.setenv("X_INT", "0")
    with pytest.raises(ConfigurationError, match="X_INT=0 must be between 1 and"):
        config.env_int("X_INT", 1)
    monkeypatch.setenv("X_LIST", " a, ,b ")
    assert config.env_list("X_LIST", ("z",)) == ("a", "b")
    assert config.env_list("X_UNSET_LIST", ("z",)) == ("z",)


def test_database_settings_refuse_an_empty_secret_and_an_unknown_sslmode():
    # GIVEN / WHEN / THEN
    with pytest.raises(ConfigurationError, match="DB_SECRET_ARN is empty"):
        DatabaseSettings(secret_arn="").check()
    with pytest.raises(ConfigurationError, match="DB_SSLMODE='tls'"):
        DatabaseSettings(secret_arn="arn", sslmode="tls").check()


def test_error_families_separate_bad_data_from_transient_faults():
    # GIVEN the typed errors / THEN retry semantics follow from the family
    assert issubclass(ObjectUnreadableError, TransientError)
    assert not issubclass(ApiError, TransientError)
    assert all(name.endswith("Error") for name in __import__("etl_common.errors").errors.__all__)
