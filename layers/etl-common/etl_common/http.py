"""Lambda function URL (payload format 2.0) requests and JSON responses.

:func:`handle` answers every failure with JSON: :func:`error_response` (the one encoder of
error bodies) always gives valid UTF-8 JSON with string ``error`` and ``message``, even
when what the message quotes (a path, a field name) holds a lone surrogate that UTF-8
cannot encode (it is written as its ``\\uXXXX`` escape). A server-side failure (5xx) is also
made visible to operators, because an answered request never counts in Lambda's
``Errors`` metric: it is logged at ERROR with its stack trace and counted in the EMF
metric ``ServerErrors`` (namespace :data:`etl_common.metrics.NAMESPACE`, dimension
``Function``), and the function URL's ``Url5xxCount`` pages through the platform's
``url-5xx`` alarm.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from etl_common import logger, metrics
from etl_common.errors import ApiError, ConfigurationError, TransientError
from etl_common.schema import printable

__all__ = [
    "SERVER_ERRORS_METRIC",
    "Request",
    "error_response",
    "handle",
    "json_response",
    "parse_request",
    "require_method",
]

_log = logger.get_logger("etl.http")
SERVER_ERRORS_METRIC = "ServerErrors"


@dataclass(frozen=True)
class Request:
    """The parts of a function URL request the APIs use (headers lower-cased)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes


def require_method(request: Request, method: str, where: str) -> None:
    """405 with an ``allow`` header unless ``request`` uses ``method``."""
    if request.method != method:
        raise ApiError(
            405,
            "method_not_allowed",
            f"{request.method or 'this method'} is not allowed on {where}; use {method}",
            headers={"allow": method},
        )


def parse_request(event: Mapping[str, Any]) -> Request:
    """Extract method, path, headers and the (base64-decoded) body from an event."""
    http = ((event.get("requestContext") or {}).get("http")) or {}
    method = str(http.get("method") or event.get("httpMethod") or "").upper()
    path = str(event.get("rawPath") or http.get("path") or "/")
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    raw = event.get("body")
    if raw is None:
        body = b""
    elif event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(str(raw), validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(
                400, "invalid_request", "the body is marked base64-encoded but is not valid base64"
            ) from None
    else:
        body = str(raw).encode("utf-8", errors="surrogatepass")
    return Request(method=method, path=path, headers=headers, body=body)


def json_response(
    status: int, body: Any, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A function URL response with a JSON body that is valid UTF-8 whatever ``body``
    holds (a lone surrogate in a string is written as its ``\\uXXXX`` text)."""
    text = json.dumps(body, ensure_ascii=False, default=str)
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **dict(headers or {})},
        "body": _utf8(text, body),
        "isBase64Encoded": False,
    }


def _utf8(text: str, body: Any) -> str:
    """``text`` (the JSON of ``body``) if UTF-8 can encode it, else ``body`` re-encoded
    with every string made :func:`~etl_common.schema.printable`."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(_printable(body), ensure_ascii=False, default=lambda v: printable(str(v)))
    return text


def _printable(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, Mapping):
        return {printable(str(k)): _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    return value


def error_response(error: ApiError) -> dict[str, Any]:
    """The JSON response for an :class:`ApiError`: ``{"error", "message"[, "details"]}``,
    both strings, valid UTF-8 (:func:`json_response`)."""
    body = error.body()
    body["error"] = str(body.get("error") or "error")
    body["message"] = str(body.get("message") or "")
    return json_response(error.status, body, error.headers)


def _server_error(error: ApiError, exc: BaseException) -> dict[str, Any]:
    """Count a 5xx answer in the EMF metric, then build it (the caller logged it)."""
    metrics.emit(
        {SERVER_ERRORS_METRIC: 1},
        dimensions={"Function": str(logger.context().get("function") or "unknown")},
        properties={
            "status": error.status,
            "error": error.error,
            "error_type": type(exc).__name__,
            "request_id": logger.context().get("request_id"),
        },
    )
    return error_response(error)


def handle(route: Callable[[Request], dict[str, Any]], event: Mapping[str, Any]) -> dict[str, Any]:
    """Run ``route`` on the parsed request and turn every failure into a JSON answer.

    - :class:`ApiError`: its status and body (client errors, logged at INFO);
    - :class:`TransientError`: 503 ``unavailable`` with ``retry-after``;
    - :class:`ConfigurationError` and anything unexpected: 500.

    Every 5xx is logged at ERROR with the stack trace and counted in the EMF metric
    :data:`SERVER_ERRORS_METRIC` (see the module docstring).
    """
    try:
        return route(parse_request(event))
    except ApiError as err:
        if err.status >= 500:
            _log.error("request failed", exc_info=True, extra={"status": err.status})
            return _server_error(err, err)
        _log.info("request refused", extra={"status": err.status, "error": err.error})
        return error_response(err)
    except TransientError as exc:
        _log.exception("dependency failure; the client may retry")
        return _server_error(
            ApiError(
                503,
                "unavailable",
                "a storage dependency is temporarily unavailable; retry the same request "
                "(with the same idempotency-key) in a few seconds",
                headers={"retry-after": "2"},
            ),
            exc,
        )
    except ConfigurationError as exc:
        _log.exception("function is misconfigured")
        return _server_error(
            ApiError(500, "misconfigured", "the service is misconfigured; operators are alerted"),
            exc,
        )
    except Exception as exc:
        _log.exception("unexpected error")
        return _server_error(
            ApiError(500, "internal_error", "unexpected error; the operators are alerted"), exc
        )
