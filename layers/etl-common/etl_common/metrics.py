"""CloudWatch metrics as embedded-metric-format (EMF) log lines; no API calls.

Each call to :func:`emit` writes one JSON object to stdout; CloudWatch Logs
extracts the metrics from it. The object is written with ``print``-style output
(not through ``logging``) so that it stays a top-level JSON object in both of
Lambda's log formats.

Environment variables (read at import):

- ``METRICS_NAMESPACE``: CloudWatch namespace (default ``EtlPipeline``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

__all__ = ["NAMESPACE", "emit", "record_counts"]

NAMESPACE = os.environ.get("METRICS_NAMESPACE", "").strip() or "EtlPipeline"


def emit(
    values: Mapping[str, float],
    *,
    dimensions: Mapping[str, str],
    properties: Mapping[str, Any] | None = None,
    unit: str = "Count",
    units: Mapping[str, str] | None = None,
    namespace: str | None = None,
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """Write one EMF line with ``values`` under ``dimensions``; return the document.

    ``properties`` are searchable log fields that are not metric dimensions
    (for example the batch id, which would explode dimension cardinality).
    ``units`` overrides ``unit`` per metric name. ``timestamp`` (default: now) is
    the datapoint's time: a caller that reports a fixed interval stamps it with the
    interval's start, so that reporting it twice lands on the same datapoint.
    Empty ``dimensions`` give metrics without dimensions (``"Dimensions": [[]]``).
    """
    moment = timestamp.timestamp() if timestamp is not None else time.time()
    doc: dict[str, Any] = {
        "_aws": {
            "Timestamp": int(moment * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace or NAMESPACE,
                    "Dimensions": [list(dimensions)],
                    "Metrics": [
                        {"Name": name, "Unit": (units or {}).get(name, unit)} for name in values
                    ],
                }
            ],
        },
    }
    doc.update(properties or {})
    doc.update(dimensions)
    doc.update(values)
    sys.stdout.write(json.dumps(doc, default=str) + "\n")
    sys.stdout.flush()
    return doc


def record_counts(
    function: str, stage: str, counts: Mapping[str, int], *, batch_id: str | None = None
) -> dict[str, Any]:
    """Emit ``Records<Name>`` metrics (for example ``RecordsStaged``) for a stage."""
    values = {f"Records{name.capitalize()}": value for name, value in counts.items()}
    return emit(
        values,
        dimensions={"Function": function, "Stage": stage},
        properties={"batch_id": batch_id} if batch_id else None,
    )
