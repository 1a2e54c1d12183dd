"""No secret in a log line: the library loggers' floor and the redacting filter (issue 18).

The functional test (``tests/functional/pipeline/test_pipeline_hostile_input.py``) runs
every handler under Lambda's runtime logging; these pin the two defences alone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from etl_common import logger

TOKEN = "IQoJb3JpZ2luX2VjEXAMPLEsessiontoken"
PASSWORD = "pw-unit-secret-9"

# What botocore and libpq-style code write at DEBUG, with a secret in each.
LINES = [
    # botocore.endpoint: the prepared request's headers (a dict repr of bytes)
    f"Sending http request: <AWSPreparedRequest headers={{'X-Amz-Security-Token': b'{TOKEN}', "
    "'Authorization': b'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/us-east-1/s3/"
    "aws4_request, SignedHeaders=host, Signature=0123abcd'}>",
    # botocore.auth: the canonical request, one header per line
    f"CanonicalRequest:\nPUT\n/raw/x.jsonl\n\nhost:s3.amazonaws.com\nx-amz-security-token:{TOKEN}\n",
    # botocore.parsers: the Secrets Manager response body (escaped JSON in a byte repr)
    'Response body:\nb\'{"ARN": "arn", "SecretString": "{\\\\"username\\\\": \\\\"etl\\\\", '
    f'\\\\"password\\\\": \\\\"{PASSWORD}\\\\"}}"}}\'',
    # a conninfo string
    f"connecting with host=db port=5432 user=etl password={PASSWORD} dbname=etl",
]


@pytest.mark.parametrize("line", LINES)
def test_a_secret_after_a_secret_bearing_key_is_redacted_even_when_unknown(line: str) -> None:
    # GIVEN a line whose secret was never registered / WHEN redacted
    clean = logger.redact(line)
    # THEN neither the token, the password nor the signature survives, and it says so
    assert TOKEN not in clean and PASSWORD not in clean and "0123abcd" not in clean
    assert logger.REDACTED in clean


def test_a_registered_secret_is_redacted_wherever_it_appears() -> None:
    # GIVEN a password read from Secrets Manager
    logger.add_secret('s3cr3t with spaces, quotes" and \\ backslashes')
    # WHEN it appears in any text at all / THEN it is gone
    clean = logger.redact('note: s3cr3t with spaces, quotes" and \\ backslashes!')
    assert clean == f"note: {logger.REDACTED}!"


@pytest.fixture
def fresh_library_loggers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Library loggers without a level (a new process), root at DEBUG as Lambda sets it."""
    root = logging.getLogger()
    saved = {name: logging.getLogger(name).level for name in logger.LIBRARY_LOGGERS}
    root_level = root.level
    for name in logger.LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
    root.setLevel(logging.DEBUG)
    monkeypatch.delenv("LIBRARY_LOG_LEVEL", raising=False)
    yield
    root.setLevel(root_level)
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("fresh_library_loggers")
@pytest.mark.parametrize(("switch", "expected"), [(None, "WARNING"), ("TRACE", "DEBUG")])
def test_library_loggers_stay_at_warning_unless_the_switch_asks(
    monkeypatch: pytest.MonkeyPatch, switch: str | None, expected: str
) -> None:
    # GIVEN the root logger at DEBUG and LIBRARY_LOG_LEVEL unset, or set to TRACE
    if switch:
        monkeypatch.setenv("LIBRARY_LOG_LEVEL", switch)
    # WHEN the pipeline configures logging
    logger.configure()
    # THEN botocore's request logger (and every library's) is at the expected level
    for name in ("botocore.endpoint", "urllib3.connectionpool", "psycopg.pool"):
        assert logging.getLevelName(logging.getLogger(name).getEffectiveLevel()) == expected


@pytest.mark.usefixtures("fresh_library_loggers")
def test_a_bad_switch_value_keeps_warning_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a typo in the switch / WHEN configured
    monkeypatch.setenv("LIBRARY_LOG_LEVEL", "LOUD")
    with caplog.at_level(logging.WARNING, logger="etl"):
        logger.configure()
    # THEN the libraries stay at WARNING and a line names the value and the choices
    assert logging.getLogger("botocore").getEffectiveLevel() == logging.WARNING
    assert any("LIBRARY_LOG_LEVEL='LOUD'" in r.getMessage() for r in caplog.records)


def test_the_filter_redacts_message_args_and_extras_before_any_formatter() -> None:
    # GIVEN a record with the token in its %-args and in an extra field
    record = logging.LogRecord("botocore.endpoint", logging.DEBUG, "x", 1, "headers %s", None, None)
    record.args = ({"X-Amz-Security-Token": TOKEN},)
    record.headers = {"x-amz-security-token": TOKEN}
    # WHEN the handler's filter sees it
    assert logger.RedactingFilter().filter(record) is True
    # THEN neither the message nor the extra holds the token
    assert TOKEN not in record.getMessage()
    assert TOKEN not in str(record.headers)
