"""Lambda function URL (payload format 2.0) requests and JSON responses."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from etl_common import logger
from etl_common.errors import ApiError, ConfigurationError, TransientError

__all__ = [
    "Request",
    "error_response",
    "handle",
    "json_response",
    "parse_request",
    "require_method",
]

_log = logger.get_logger("etl.http")


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
    """A function URL response with a JSON body."""
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **dict(headers or {})},
        "body": json.dumps(body, ensure_ascii=False, default=str),
        "isBase64Encoded": False,
    }


def error_response(error: ApiError) -> dict[str, Any]:
    """The JSON response for an :class:`ApiError`."""
    return json_response(error.status, error.body(), error.headers)


def handle(route: Callable[[Request], dict[str, Any]], event: Mapping[str, Any]) -> dict[str, Any]:
    """Run ``route`` on the parsed request and turn every failure into a JSON answer.

    - :class:`ApiError`: its status and body (client errors, logged at INFO);
    - :class:`TransientError`: 503 ``unavailable`` with ``retry-after`` (logged at ERROR);
    - :class:`ConfigurationError` and anything unexpected: 500 (logged with the traceback).
    """
    try:
        return route(parse_request(event))
    except ApiError as err:
        _log.info("request refused", extra={"status": err.status, "error": err.error})
        return error_response(err)
    except TransientError:
        _log.exception("dependency failure; the client may retry")
        return error_response(
            ApiError(
                503,
                "unavailable",
                "a storage dependency is temporarily unavailable; retry the same request "
                "(with the same idempotency-key) in a few seconds",
                headers={"retry-after": "2"},
            )
        )
    except ConfigurationError:
        _log.exception("function is misconfigured")
        return error_response(
            ApiError(500, "misconfigured", "the service is misconfigured; operators are alerted")
        )
    except Exception:
        _log.exception("unexpected error")
        return error_response(
            ApiError(500, "internal_error", "unexpected error; the operators are alerted")
        )
