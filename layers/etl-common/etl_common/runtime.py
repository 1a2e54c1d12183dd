"""Per-invocation bookkeeping shared by every handler.

:func:`invocation` binds the logging context (function name, request id, X-Ray
trace id, cold-start flag), sets up tracing lazily, and afterwards flushes the
tracing backend and clears the batch id.
The cold-start flag is true for the first invocation in an execution environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from etl_common import logger, tracing

__all__ = ["invocation", "is_cold_start"]

_cold = {"value": True}


def is_cold_start() -> bool:
    """True until the first invocation in this execution environment has started."""
    return _cold["value"]


@contextmanager
def invocation(function: str, context: Any) -> Iterator[None]:
    """Wrap one invocation: logging context in, tracing ready, batch id cleared after."""
    cold = _cold["value"]
    _cold["value"] = False
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
