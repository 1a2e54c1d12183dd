"""Tracing: the ONLY module that knows which tracing SDK the pipeline uses.

Today that is the AWS X-Ray SDK (in maintenance mode); moving to OpenTelemetry
means rewriting this module only. Handlers use three calls:

- :func:`setup` once per invocation (idempotent): in Lambda with active tracing,
  imports the SDK and patches botocore (every boto3 client) and nothing else.
- :func:`patch_database` before the first database connection (psycopg and its
  pool); only the database function calls it, so the others never import psycopg.
- :func:`subsegment` around each stage, with annotations (batch id, counts).

Outside Lambda (tests, local runs) tracing is disabled: the SDK is never
imported, nothing is sent, nothing is logged, and :func:`subsegment` is a cheap
no-op.

Environment variables (read on first use):

- ``AWS_LAMBDA_FUNCTION_NAME`` and ``AWS_XRAY_DAEMON_ADDRESS``: both set by Lambda
  when active tracing is on; tracing is enabled only when both are present.
- ``AWS_XRAY_SDK_ENABLED``: ``false`` turns tracing off even in Lambda.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Span", "is_enabled", "patch_database", "reset", "setup", "subsegment"]

_state: dict[str, Any] = {"enabled": None, "patched": set(), "recorder": None}
_ANNOTATION_KEY = re.compile(r"[^A-Za-z0-9_]")


def is_enabled() -> bool:
    """True when running in Lambda with active tracing (decided once)."""
    if _state["enabled"] is None:
        _state["enabled"] = (
            bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
            and bool(os.environ.get("AWS_XRAY_DAEMON_ADDRESS"))
            and os.environ.get("AWS_XRAY_SDK_ENABLED", "true").strip().lower() != "false"
        )
    return bool(_state["enabled"])


def reset() -> None:
    """Forget the enabled decision (tests only; patches cannot be undone)."""
    _state["enabled"] = None


def _patch(*modules: str) -> None:
    todo = [m for m in modules if m not in _state["patched"]]
    if not todo or not is_enabled():
        return
    from aws_xray_sdk.core import patch, xray_recorder

    if _state["recorder"] is None:
        xray_recorder.configure(context_missing="LOG_ERROR")
        _state["recorder"] = xray_recorder
    patch(todo)
    _state["patched"].update(todo)


def setup() -> None:
    """Patch botocore (boto3 clients) when tracing is enabled; cheap when repeated."""
    _patch("botocore")


def patch_database() -> None:
    """Patch psycopg (connections, including pooled ones) when tracing is enabled."""
    _patch("psycopg")


class Span:
    """A handle on the current subsegment; a no-op when tracing is disabled."""

    def __init__(self, segment: Any = None) -> None:
        self._segment = segment

    def annotate(self, key: str, value: str | int | float | bool | None) -> None:
        """Add an indexed annotation (keys are sanitised to ``[A-Za-z0-9_]``)."""
        if self._segment is None or value is None:
            return
        self._segment.put_annotation(_ANNOTATION_KEY.sub("_", key), value)

    def annotate_many(self, values: dict[str, Any]) -> None:
        """Annotate every key of ``values``."""
        for key, value in values.items():
            self.annotate(key, value)


_NOOP = Span()


@contextmanager
def subsegment(name: str, **annotations: str | int | float | bool | None) -> Iterator[Span]:
    """Trace the ``with`` block as a subsegment named ``name`` with ``annotations``."""
    if not is_enabled():
        yield _NOOP
        return
    setup()
    recorder = _state["recorder"]
    with recorder.in_subsegment(name) as segment:
        span = Span(segment)
        span.annotate_many(annotations)
        yield span
