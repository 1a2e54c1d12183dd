"""transform: validates and normalizes a raw batch (S3 ``ObjectCreated`` on ``raw/``).

For each ``raw/YYYY/MM/DD/<batch_id>.jsonl`` object named by the event (keys in
S3 events are URL-decoded first):

- every line is parsed, validated against the dataset schema and the business
  rules (currency in ``SUPPORTED_CURRENCIES``, ``created_at`` at most 5 minutes
  in the future) and normalized into a staged row;
- a repeated key (``order_id``) keeps the last occurrence; earlier valid
  occurrences are counted as duplicates;
- writes ``rejected/<batch_id>.jsonl`` (each rejected line, its line number, the
  raw text and its reasons) when there are any, then the manifest
  ``manifests/<batch_id>.json`` (stage ``transformed``), then
  ``staged/<batch_id>.jsonl`` last, because writing it triggers load.

Nothing is lost: received = staged + rejected + duplicates, always. A bad line
is a rejection, never a failure. An object that cannot be read at all
(missing, not UTF-8) or an unexpected key raises, so Lambda retries and then
dead-letters the event. Output keys are deterministic: a retry overwrites.

Environment variables (read once at import):

- ``SUPPORTED_CURRENCIES``: comma-separated ISO 4217 codes (default
  ``USD,EUR,GBP``).
- ``LOG_LEVEL``: log level (default ``INFO``).
- ``METRICS_NAMESPACE``: CloudWatch namespace for EMF metrics (default ``EtlPipeline``).
- ``DATA_BUCKET``: the data bucket; outputs go to the bucket named by the event,
  which the platform makes the same bucket.

S3 access: reads ``raw/``; writes ``staged/``, ``rejected/`` and ``manifests/``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from etl_common import batches, datasets, logger, metrics, runtime, s3, tracing
from etl_common.config import env_list
from etl_common.datasets.orders import DEFAULT_SUPPORTED_CURRENCIES
from etl_common.errors import UnexpectedObjectKeyError
from etl_common.schema import Problem

__all__ = ["handler", "transform_lines"]

FUNCTION = "transform"
SUPPORTED_CURRENCIES = tuple(
    code.upper() for code in env_list("SUPPORTED_CURRENCIES", DEFAULT_SUPPORTED_CURRENCIES)
)

_log = logger.get_logger("etl.transform")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (``handler.handler``)."""
    with runtime.invocation(FUNCTION, context):
        return {"batches": [_transform_object(obj) for obj in s3.created_objects(event, _log)]}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_line(line: str) -> tuple[Any, Problem | None]:
    if not line.strip():
        return None, Problem(None, "empty line")
    try:
        return json.loads(line, parse_float=Decimal, parse_constant=_reject_constant), None
    except (ValueError, RecursionError) as exc:
        return None, Problem(None, f"not valid JSON: {exc}")


def transform_lines(
    lines: list[str],
    batch_id: str,
    dataset: datasets.Dataset,
    *,
    now: datetime,
    supported_currencies: tuple[str, ...] = SUPPORTED_CURRENCIES,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """Turn raw lines into (staged rows, rejected entries, duplicate count); never raises."""
    context = datasets.RuleContext(now=now, settings={"supported_currencies": supported_currencies})
    staged: dict[Any, dict[str, Any]] = {}
    rejected: list[dict[str, Any]] = []
    duplicates = 0
    for number, line in enumerate(lines, start=1):
        record, problem = _parse_line(line)
        if problem is not None:
            rejected.append({"line": number, "raw": line, "reasons": [problem.as_dict()]})
            continue
        result = dataset.normalize(record, batch_id, context)
        if result.row is None:
            rejected.append(
                {"line": number, "raw": line, "reasons": [p.as_dict() for p in result.problems]}
            )
            continue
        key = result.row[dataset.key]
        if key in staged:
            duplicates += 1
            del staged[key]  # keep the last occurrence, in its position
        staged[key] = result.row
    return list(staged.values()), rejected, duplicates


def _split_lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _transform_object(obj: s3.S3Object) -> dict[str, Any]:
    batch_id = batches.parse_raw_key(obj.key)
    if batch_id is None:
        raise UnexpectedObjectKeyError(obj.key, "raw/YYYY/MM/DD/<batch_id>.jsonl")
    logger.bind(batch_id=batch_id)
    with tracing.subsegment("transform", batch_id=batch_id) as span:
        stored = s3.read_object(obj.bucket, obj.key)
        dataset = datasets.get(stored.metadata.get("dataset") or datasets.DEFAULT_DATASET)
        received_at = stored.metadata.get("received-at") or batches.utc_now_iso(
            stored.last_modified
        )
        now = datetime.now(UTC)
        lines = _split_lines(stored.text)
        staged, rejected, duplicates = transform_lines(lines, batch_id, dataset, now=now)
        counts = {
            "received": len(lines),
            "staged": len(staged),
            "rejected": len(rejected),
            "duplicates": duplicates,
        }
        span.annotate_many(counts)

        rejected_key = batches.rejected_key(batch_id) if rejected else None
        if rejected_key:
            s3.put_jsonl(obj.bucket, rejected_key, rejected)
        manifest = batches.new_manifest(
            batch_id,
            dataset=dataset.name,
            stage="transformed",
            received=len(lines),
            received_at=received_at,
            raw=obj.key,
        )
        manifest["counts"].update(counts)
        manifest["times"]["transformed_at"] = batches.utc_now_iso(now)
        manifest["staged_key"] = batches.staged_key(batch_id)
        manifest["rejected_key"] = rejected_key
        s3.put_json(obj.bucket, batches.manifest_key(batch_id), manifest)
        # Last: creating staged/ triggers load, which reads the manifest above.
        s3.put_jsonl(obj.bucket, batches.staged_key(batch_id), staged)
    metrics.record_counts(FUNCTION, "transform", counts, batch_id=batch_id)
    _log.info("batch transformed", extra={"counts": counts})
    return {"batch_id": batch_id, **counts}
