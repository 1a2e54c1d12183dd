"""Per-invocation bookkeeping shared by every handler.

:func:`invocation` binds the logging context (function name, request id, X-Ray
trace id, cold-start flag), re-applies :func:`etl_common.logger.configure` (library
loggers held at ``WARNING``, secrets redacted on every handler, including any the
runtime added), sets up tracing lazily, and afterwards flushes the
tracing backend and clears the batch id.
The cold-start flag is true for the first invocation in an execution environment.

:func:`prepare` is for module level: under Lambda SnapStart it does the first
invocation's setup (tracing patch, boto3 clients) during init, so that it is part
of the snapshot instead of being paid after every restore; otherwise it does
nothing and the setup stays lazy (a cold start pays for it once either way, and a
function that never reaches a client never pays for it).

Environment variables: ``AWS_LAMBDA_INITIALIZATION_TYPE`` (set by Lambda;
``snap-start`` while a SnapStart snapshot is being prepared), read at import.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from etl_common import clients, logger, tracing

__all__ = ["SNAPSTART_INIT", "invocation", "is_cold_start", "prepare"]

_cold = {"value": True}
#: True while Lambda initializes a SnapStart version (the state is then snapshotted).
SNAPSTART_INIT = os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start"


def prepare(*services: str) -> None:
    """At module level: under SnapStart, patch tracing and create ``services``' clients now.

    Clients created during init are safe to snapshot: boto3 opens no connection until
    a request, and re-reads credentials when they expire.
    """
    if not SNAPSTART_INIT:
        return
    tracing.setup()
    for service in services:
        clients.get(service)


def is_cold_start() -> bool:
    """True until the first invocation in this execution environment has started."""
    return _cold["value"]


@contextmanager
def invocation(function: str, context: Any) -> Iterator[None]:
    """Wrap one invocation: logging context in, tracing ready, batch id cleared after."""
    cold = _cold["value"]
    _cold["value"] = False
    logger.configure()  # library loggers held at WARNING, secrets redacted (every handler)
    tracing.start_invocation()
    logger.bind(
        function=function,
        request_id=getattr(context, "aws_request_id", None),
        cold_start=cold,
        batch_id=None,
        trace_id=tracing.trace_id(),
    )
    tracing.setup()
    try:
        yield
    finally:
        tracing.flush()
        logger.clear("batch_id")
