"""A failed API request pages, and the configured log level is the one that logs.

- etl_common.http: an unexpected exception answers a JSON 500 AND is logged at ERROR
  with its stack trace AND is counted in an EMF metric (an answered request never
  reaches Lambda's Errors metric, so without these nobody would know).
- etl_common.logger: etl:logLevel=TRACE (a Lambda application log level) logs debug
  lines instead of silently falling back to INFO.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from etl_common import http, logger
from etl_common.errors import ApiError, ConfigurationError, TransientError


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _emf(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if "_aws" in line]


@pytest.fixture
def status_api_context():
    logger.bind(function="status-api", request_id="req-42", cold_start=False)
    yield
    logger.clear()


def test_an_unexpected_exception_is_a_500_logged_with_its_stack_and_counted(
    status_api_context, capsys
):
    # GIVEN a route that fails in a way nobody planned for
    def route(request: http.Request) -> dict[str, Any]:
        raise KeyError("no such thing as this key")

    # WHEN a request is handled
    response = http.handle(route, {"rawPath": "/batches/x", "requestContext": {"http": {}}})

    # THEN the client gets a JSON 500 that says nothing internal
    assert response["statusCode"] == 500
    assert json.loads(response["body"])["error"] == "internal_error"
    lines = _lines(capsys.readouterr().out)
    # AND the failure is logged at ERROR with its type and stack trace
    [error] = [line for line in lines if line.get("level") == "ERROR"]
    assert error["errorType"] == "KeyError"
    assert any("no such thing as this key" in frame for frame in error["stackTrace"])
    assert error["function"] == "status-api" and error["request_id"] == "req-42"
    # AND it is counted in an EMF metric, per function, that CloudWatch extracts
    [metric] = _emf(lines)
    [directive] = metric["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["Function"]]
    assert directive["Metrics"] == [{"Name": http.SERVER_ERRORS_METRIC, "Unit": "Count"}]
    assert metric[http.SERVER_ERRORS_METRIC] == 1
    assert metric["Function"] == "status-api"
    assert (metric["status"], metric["error_type"]) == (500, "KeyError")


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (ConfigurationError("DATA_BUCKET is not set"), 500),
        (TransientError("S3 is down"), 503),
        (ApiError(502, "upstream", "bad gateway"), 502),
    ],
)
def test_every_5xx_answer_is_logged_at_error_and_counted(
    status_api_context, capsys, exc: Exception, status: int
):
    # GIVEN a route failing on the server side / WHEN handled
    def route(request: http.Request) -> dict[str, Any]:
        raise exc

    response = http.handle(route, {"rawPath": "/"})

    # THEN the answer is that 5xx, logged at ERROR and counted once
    assert response["statusCode"] == status
    lines = _lines(capsys.readouterr().out)
    assert [line["level"] for line in lines if "level" in line] == ["ERROR"]
    assert [m[http.SERVER_ERRORS_METRIC] for m in _emf(lines)] == [1]


def test_a_client_error_is_neither_an_error_log_nor_a_server_error(status_api_context, capsys):
    # GIVEN a route refusing a bad request / WHEN handled
    def route(request: http.Request) -> dict[str, Any]:
        raise ApiError(400, "invalid_request", "no")

    response = http.handle(route, {"rawPath": "/"})

    # THEN it is a 4xx logged at INFO, and no server-error metric is written
    assert response["statusCode"] == 400
    lines = _lines(capsys.readouterr().out)
    assert [line["level"] for line in lines] == ["INFO"]
    assert _emf(lines) == []


@pytest.mark.parametrize(
    ("configured", "shown", "hidden"),
    [("TRACE", "DEBUG", None), ("DEBUG", "DEBUG", None), ("WARN", "WARNING", "INFO")],
)
def test_lambda_log_levels_are_honoured(monkeypatch, capsys, configured, shown, hidden):
    # GIVEN LOG_LEVEL set to one of Lambda's application log levels (etl:logLevel)
    monkeypatch.setenv("LOG_LEVEL", configured)
    log = logger.get_logger(f"etl.unit.infra-level-{configured.lower()}")

    # WHEN lines of every level are logged
    log.debug("debug line")
    log.info("info line")
    log.warning("warning line")

    # THEN the configured level's lines appear, and none below it
    levels = [line["level"] for line in _lines(capsys.readouterr().out)]
    assert shown in levels
    if hidden is not None:
        assert hidden not in levels
    if configured == "TRACE":
        assert levels == ["DEBUG", "INFO", "WARNING"]


def test_an_unknown_log_level_says_so_instead_of_silently_logging_at_info(monkeypatch, capsys):
    # GIVEN a LOG_LEVEL that is no level at all
    monkeypatch.setenv("LOG_LEVEL", "CHATTY")
    # WHEN a logger is configured
    logger.get_logger("etl.unit.infra-level-unknown")
    # THEN one WARNING line names the value and the allowed ones
    [line] = _lines(capsys.readouterr().out)
    assert line["level"] == "WARNING"
    assert "'CHATTY'" in line["message"] and "TRACE" in line["message"]
