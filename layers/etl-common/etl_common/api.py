"""The one shape of a function URL API handler (ingest-api, status-api).

``handler = api.handler("status-api", route)`` gives the Lambda entry point:
the invocation context (logging, cold start, tracing), request parsing and the
JSON error answers of :func:`etl_common.http.handle` around ``route``;
:func:`require_setting` turns a missing setting into a 500 ``misconfigured``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from etl_common import http, runtime
from etl_common.errors import ConfigurationError

__all__ = ["handler", "require_setting"]

Route = Callable[[http.Request], dict[str, Any]]


def handler(
    function: str, route: Route, *, services: tuple[str, ...] = ("s3",)
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda entry point of the API function ``function`` serving ``route``.

    Called at module level, so under SnapStart the tracing patch and the clients of
    ``services`` are made during init, in the snapshot (:func:`runtime.prepare`).
    """
    runtime.prepare(*services)

    def entry(event: dict[str, Any], context: Any) -> dict[str, Any]:
        with runtime.invocation(function, context):
            return http.handle(route, event)

    entry.__doc__ = f"Lambda entry point of {function} (``handler.handler``)."
    return entry


def require_setting(name: str, value: str) -> str:
    """``value``, or a :class:`ConfigurationError` naming the unset variable ``name``."""
    if not value:
        raise ConfigurationError(f"{name} is not set")
    return value
