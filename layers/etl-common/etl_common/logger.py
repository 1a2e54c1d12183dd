"""Structured logging: one JSON object per line.

Every line carries ``level``, ``message``, ``function``, ``request_id``,
``trace_id`` (the invocation's X-Ray trace id, whichever tracing backend),
``batch_id`` and ``cold_start`` (set per invocation by :mod:`etl_common.runtime`
and :func:`bind`), plus any ``extra={...}`` fields (keep them JSON-serializable:
Lambda's formatter has no fallback). As in Lambda's format, a field without a
value (``None``, for example ``batch_id`` before a batch is known) is omitted.

Two modes, same shape:

- In Lambda with the JSON log format (``AWS_LAMBDA_LOG_FORMAT=JSON``, set by the
  platform's ``logging_config``) the runtime's own root handler writes the JSON;
  our context fields are record attributes, which Lambda emits as extra keys
  (it adds ``timestamp``, ``level``, ``message``, ``logger`` and ``requestId``).
  Log levels are filtered by the runtime as configured by the platform.
- Anywhere else (tests, local runs, the text log format) our own handler writes
  the same fields as one JSON object per line on stdout.

No secret in any log line, at any level. Lambda applies the application log level
(``etl:logLevel``, ``DEBUG`` in dev) to the *root* logger, and at ``DEBUG`` botocore
logs the signed request headers (the session token) and the response bodies (the
database password from Secrets Manager). So :func:`configure` (run by
:func:`get_logger` and at every invocation by :mod:`etl_common.runtime`):

- keeps the loggers of :data:`LIBRARY_LOGGERS` (boto3, botocore, s3transfer, urllib3,
  psycopg, the tracing SDKs) at ``WARNING`` whatever the application level, unless
  ``LIBRARY_LOG_LEVEL`` asks for another level;
- as a second line of defence, adds :class:`RedactingFilter` to the root logger's
  handlers (Lambda's own among them) and to ours: every secret value registered with
  :func:`add_secret` (the database password, when the secret is read) or found in the
  environment (``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``), and whatever follows a
  ``password``, ``SecretString``, ``X-Amz-Security-Token`` or ``Authorization`` key
  (and the value of any extra field so named), is written as ``[REDACTED]`` in the
  message and in the extras (Lambda's JSON formatter reads the exception itself, so an
  exception's text is redacted only in our own formatter's output).

Environment variables (read by :func:`configure`):

- ``LOG_LEVEL``: level of the pipeline's loggers (default ``INFO``): one of Lambda's
  application log levels (``etl:logLevel``): ``TRACE`` (logged as ``DEBUG``, the finest
  level Python's logging has), ``DEBUG``, ``INFO``, ``WARN``, ``ERROR``, ``FATAL``, or a
  Python level name. Anything else logs at ``INFO`` and says so in a WARNING line.
- ``LIBRARY_LOG_LEVEL``: level of :data:`LIBRARY_LOGGERS` (default ``WARNING``; same
  names as ``LOG_LEVEL``). The switch for debugging an SDK: set it in the function's
  catalog entry (``[environment]`` of its ``function.toml``), never by raising
  ``etl:logLevel``; redaction stays on.
- ``AWS_LAMBDA_LOG_FORMAT``: set by Lambda; ``JSON`` selects the native mode.
- ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``: set by Lambda; redacted if logged.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "CONTEXT_FIELDS",
    "LIBRARY_LOGGERS",
    "REDACTED",
    "JsonFormatter",
    "RedactingFilter",
    "add_secret",
    "bind",
    "clear",
    "configure",
    "context",
    "get_logger",
    "redact",
]

CONTEXT_FIELDS = ("function", "request_id", "trace_id", "batch_id", "cold_start")

_context: dict[str, Any] = dict.fromkeys(CONTEXT_FIELDS)

# Lambda's application log levels that Python's logging spells differently or lacks.
LAMBDA_LEVELS = {"TRACE": "DEBUG", "WARN": "WARNING", "FATAL": "CRITICAL"}

# Attributes every LogRecord has; anything else on a record is an "extra" field.
_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()) | {
    "message",
    "asctime",
    "taskName",
}


def bind(**fields: Any) -> None:
    """Set context fields (for example ``batch_id``) for every following log line."""
    _context.update(fields)


def clear(*fields: str) -> None:
    """Reset the given context fields (all when none given) to ``None``."""
    for name in fields or CONTEXT_FIELDS:
        _context[name] = None


def context() -> dict[str, Any]:
    """A copy of the current logging context."""
    return dict(_context)


class _ContextFilter(logging.Filter):
    """Adds the current context to each record (without overriding explicit extras)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.items():
            if name not in record.__dict__:
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object (the local twin of Lambda's JSON format)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
        }
        for name in CONTEXT_FIELDS:
            out[name] = record.__dict__.get(name)
        for name, value in record.__dict__.items():
            if name not in _RESERVED and name not in out:
                out[name] = value
        if record.exc_info:
            out["errorType"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            out["errorMessage"] = str(record.exc_info[1])
            out["stackTrace"] = self.formatException(record.exc_info).splitlines()
        # Like Lambda's own JSON formatter: fields without a value are left out.
        return json.dumps(
            {k: v for k, v in out.items() if v is not None}, default=str, ensure_ascii=False
        )


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is at emit time (plays well with capture)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def _lambda_json_mode() -> bool:
    return os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"


# ----------------------------------------------------------------------------- secrets

LIBRARY_LOGGERS = (
    "boto3",
    "botocore",
    "s3transfer",
    "urllib3",
    "psycopg",
    "psycopg_pool",
    "aws_xray_sdk",
    "opentelemetry",
)
"""Third-party loggers held at ``LIBRARY_LOG_LEVEL`` (``WARNING``), whatever the root's
level: at ``DEBUG`` they log request headers and response bodies, secrets included."""
LIBRARY_DEFAULT_LEVEL = "WARNING"
REDACTED = "[REDACTED]"
_ENV_SECRETS = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
_MIN_SECRET_LENGTH = 4  # shorter values would redact ordinary words
_secrets: set[str] = set()
# A secret-bearing key, any quoting/escaping around it (JSON, escaped JSON in a byte
# repr, a dict repr, a header line, a conninfo), then its value up to a delimiter.
_SECRET_KEYS = re.compile(
    r"(?i)((?:password|passwd|secretstring|secret_access_key|secretaccesskey|session_?token"
    r"|x-amz-security-token|authorization)[\\'\"]*\s*[:=]\s*b?[\\'\"]*)"
    r"(?:AWS4-HMAC-SHA256 [^'\"\\]*|[^\s'\"\\,;}&]+)"
)


# A field or header name whose value is a secret, in structured extras.
_SECRET_NAME = re.compile(r"(?i)password|passwd|secret|token|authorization|credential")


def add_secret(value: str | None) -> None:
    """Never log ``value`` (for example a password just read from Secrets Manager)."""
    if value and len(value) >= _MIN_SECRET_LENGTH:
        _secrets.add(value)


def redact(text: str) -> str:
    """``text`` with every known secret and every value of a secret-bearing key
    (``password=...``, ``"X-Amz-Security-Token": ...``) replaced by :data:`REDACTED`."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    if _SECRET_KEYS.search(text) is None:
        return text
    return _SECRET_KEYS.sub(lambda m: m.group(1) + REDACTED, text)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes):
        return redact(repr(value))
    if isinstance(value, dict):
        return {
            k: REDACTED if _SECRET_NAME.search(str(k)) else _redact_value(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """A handler filter: secrets leave a record before any formatter sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # bad %-args: logging reports it when formatting; drop the args
            message = str(record.msg)
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        for name, value in list(record.__dict__.items()):
            if name not in _RESERVED and isinstance(value, str | bytes | dict | list | tuple):
                setattr(record, name, _redact_value(value))
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


_REDACTING_FILTER = RedactingFilter()
_warned: set[str] = set()


def _level(raw: str | None, default: str) -> tuple[str, bool]:
    """A Python level name for one of Lambda's (or Python's) names; (level, known)."""
    name = (raw or "").strip().upper() or default
    level = LAMBDA_LEVELS.get(name, name)
    known = level in logging.getLevelNamesMapping()
    return (level if known else default), known


def configure() -> None:
    """Hold :data:`LIBRARY_LOGGERS` at ``LIBRARY_LOG_LEVEL`` and put the redacting filter
    on every handler that may write a line (idempotent; cheap enough per invocation)."""
    raw = os.environ.get("LIBRARY_LOG_LEVEL")
    library, known = _level(raw, LIBRARY_DEFAULT_LEVEL)
    if raw and raw.strip() and not known and raw not in _warned:
        _warned.add(raw)
        logging.getLogger("etl").warning(
            "LIBRARY_LOG_LEVEL=%r is not a log level; the libraries log at WARNING (use "
            "TRACE, DEBUG, INFO, WARN, ERROR or FATAL in the function's [environment])",
            raw,
        )
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(library)
    for name in _ENV_SECRETS:
        add_secret(os.environ.get(name))
    handlers = list(logging.getLogger().handlers)
    for name in list(logging.Logger.manager.loggerDict):
        if name == "etl" or name.startswith("etl."):
            handlers.extend(logging.getLogger(name).handlers)
    for handler in handlers:
        if _REDACTING_FILTER not in handler.filters:
            handler.addFilter(_REDACTING_FILTER)


def get_logger(name: str = "etl") -> logging.Logger:
    """Return a configured pipeline logger (idempotent)."""
    logger = logging.getLogger(name)
    if getattr(logger, "_etl_configured", False):
        return logger
    raw = os.environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    level, known = _level(raw, "INFO")
    logger.setLevel(level)
    logger.addFilter(_ContextFilter())
    if not _lambda_json_mode():
        handler = _StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False
    logger._etl_configured = True  # type: ignore[attr-defined]
    configure()
    if not known:
        logger.warning(
            "LOG_LEVEL=%r is not a log level; logging at INFO (use TRACE, DEBUG, INFO, WARN, "
            "ERROR or FATAL: etl:logLevel)",
            raw,
        )
    return logger
