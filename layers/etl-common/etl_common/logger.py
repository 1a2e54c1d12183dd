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

Environment variables (read when a logger is first configured):

- ``LOG_LEVEL``: level of the pipeline's loggers (default ``INFO``): one of Lambda's
  application log levels (``etl:logLevel``): ``TRACE`` (logged as ``DEBUG``, the finest
  level Python's logging has), ``DEBUG``, ``INFO``, ``WARN``, ``ERROR``, ``FATAL``, or a
  Python level name. Anything else logs at ``INFO`` and says so in a WARNING line.
- ``AWS_LAMBDA_LOG_FORMAT``: set by Lambda; ``JSON`` selects the native mode.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

__all__ = ["CONTEXT_FIELDS", "JsonFormatter", "bind", "clear", "context", "get_logger"]

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


def get_logger(name: str = "etl") -> logging.Logger:
    """Return a configured pipeline logger (idempotent)."""
    logger = logging.getLogger(name)
    if getattr(logger, "_etl_configured", False):
        return logger
    raw = os.environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    level = LAMBDA_LEVELS.get(raw, raw)
    known = level in logging.getLevelNamesMapping()
    logger.setLevel(level if known else "INFO")
    logger.addFilter(_ContextFilter())
    if not _lambda_json_mode():
        handler = _StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False
    logger._etl_configured = True  # type: ignore[attr-defined]
    if not known:
        logger.warning(
            "LOG_LEVEL=%r is not a log level; logging at INFO (use TRACE, DEBUG, INFO, WARN, "
            "ERROR or FATAL: etl:logLevel)",
            raw,
        )
    return logger
