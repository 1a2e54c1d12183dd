"""transform: validates and normalizes a raw batch (S3 ``ObjectCreated`` on ``raw/``).

For each ``raw/YYYY/MM/DD/<batch_id>.jsonl`` object named by the event (keys in
S3 events are URL-decoded first):

- the object is split into lines on ``\\n`` only; every line is parsed,
  validated against the dataset schema and the business rules (currency in
  ``SUPPORTED_CURRENCIES``, ``created_at`` at most 5 minutes in the future) and
  normalized into a staged row, in one pass (the validator is the one ingest
  uses, so a record ingest accepted is rejected here only by a business rule);
- a repeated key (``order_id``) keeps the last occurrence; earlier valid
  occurrences are counted as duplicates;
- every staged row carries its version: the batch's receive time
  (``batch_received_at``, from the raw object's ``received-at`` metadata, else
  its last-modified time) and the batch id;
- writes ``rejected/<batch_id>.jsonl`` (each rejected line, its line number, the
  raw text and its reasons) when there are any, then advances the manifest
  ``manifests/<batch_id>.json`` to ``transformed`` (never back from ``loaded``),
  then ``staged/<batch_id>.csv`` last (COPY-ready CSV with a header line; its
  metadata carries the counts), because writing it triggers load, which thus
  always finds the manifest of the data it loads.

Nothing is lost: received = staged + rejected + duplicates, always. A bad line
is a rejection, never a failure: whatever its content (a lone surrogate in a field
name, a number beyond ``Decimal``'s range), it is a rejected line with its reasons,
and should the validator itself fail on a line, that line is rejected (and logged
at ERROR) rather than the batch retried into the DLQ. An object that cannot be read at all
(missing, not UTF-8) or an unexpected key raises, so Lambda retries and then
dead-letters the event. Output keys are deterministic: a retry overwrites.

Environment variables (read once at import):

- ``SUPPORTED_CURRENCIES``: comma-separated ISO 4217 codes (default
  ``USD,EUR,GBP``).
- ``LOG_LEVEL``: log level (default ``INFO``).
- ``METRICS_NAMESPACE``: CloudWatch namespace for EMF metrics (default ``EtlPipeline``).
- ``DATA_BUCKET``: the data bucket; outputs go to the bucket named by the event,
  which the platform makes the same bucket.

S3 access: reads ``raw/``; writes ``staged/``, ``rejected/`` and ``manifests/``
(reads ``manifests/`` back only for the conditional update; no ListBucket).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from etl_common import batches, datasets, logger, metrics, runtime, s3, tracing
from etl_common.config import env_list
from etl_common.datasets.orders import DEFAULT_SUPPORTED_CURRENCIES
from etl_common.errors import UnexpectedObjectKeyError
from etl_common.schema import decode_record, parse_timestamp

__all__ = ["handler", "staged_csv", "transform_lines"]

FUNCTION = "transform"
SUPPORTED_CURRENCIES = tuple(
    code.upper() for code in env_list("SUPPORTED_CURRENCIES", DEFAULT_SUPPORTED_CURRENCIES)
)

_log = logger.get_logger("etl.transform")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (``handler.handler``)."""
    with runtime.invocation(FUNCTION, context):
        return {"batches": [_transform_object(obj) for obj in s3.created_objects(event, _log)]}


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
    normalize = dataset.normalize
    key = dataset.key
    staged: dict[Any, dict[str, Any]] = {}
    rejected: list[dict[str, Any]] = []
    duplicates = 0
    for number, line in enumerate(lines, start=1):
        try:
            record = decode_record(line)
        except (ValueError, RecursionError) as exc:
            message = "empty line" if not line.strip() else f"not valid JSON: {exc}"
            rejected.append(
                {"line": number, "raw": line, "reasons": [{"field": None, "message": message}]}
            )
            continue
        try:
            result = normalize(record, batch_id, context)
        except Exception as exc:  # a validator bug must not poison the batch: reject the line
            _log.exception("validator failed on a line; rejected", extra={"line": number})
            message = f"could not be validated ({type(exc).__name__}); the operators are alerted"
            rejected.append(
                {"line": number, "raw": line, "reasons": [{"field": None, "message": message}]}
            )
            continue
        row = result.row
        if row is None:
            rejected.append(
                {"line": number, "raw": line, "reasons": [p.as_dict() for p in result.problems]}
            )
            continue
        value = row[key]
        if value in staged:
            duplicates += 1
            del staged[value]  # keep the last occurrence, in its position
        staged[value] = row
    return list(staged.values()), rejected, duplicates


def staged_csv(rows: list[dict[str, Any]], dataset: datasets.Dataset, received_at: str) -> bytes:
    """The staged object: a header line, then one CSV line per row (PostgreSQL's CSV
    format, ``\\n`` line ends), with the version column last."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(dataset.staged_columns)
    columns = dataset.columns
    writer.writerows([*(row[c] for c in columns), received_at] for row in rows)
    return buffer.getvalue().encode("utf-8")


def _received_at(stored: s3.StoredObject) -> str:
    """The batch's version time: ingest's ``received-at``, else the raw object's time."""
    declared = stored.metadata.get("received-at")
    parsed = parse_timestamp(declared) if declared else None
    if parsed is not None:
        return batches.utc_now_iso(parsed)  # one canonical form (UTC, milliseconds, Z)
    if declared:
        _log.warning("ignoring unparseable received-at metadata", extra={"value": declared})
    return batches.utc_now_iso(stored.last_modified)


def _transform_object(obj: s3.S3Object) -> dict[str, Any]:
    batch_id = batches.parse_raw_key(obj.key)
    if batch_id is None:
        raise UnexpectedObjectKeyError(obj.key, "raw/YYYY/MM/DD/<batch_id>.jsonl")
    logger.bind(batch_id=batch_id)
    with tracing.subsegment("transform", batch_id=batch_id) as span:
        stored = s3.read_object(obj.bucket, obj.key)
        dataset = datasets.get(stored.metadata.get("dataset") or datasets.DEFAULT_DATASET)
        received_at = _received_at(stored)
        now = datetime.now(UTC)
        lines = s3.split_lines(stored.text)
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
        staged_key = batches.staged_key(batch_id)

        def transition(manifest: batches.Manifest | None) -> batches.Manifest:
            if manifest is None:  # ingest's manifest write has not happened (yet)
                manifest = batches.Manifest.received(
                    batch_id,
                    dataset=dataset.name,
                    received=len(lines),
                    received_at=received_at,
                    raw_key=obj.key,
                )
            return manifest.transformed(
                counts=counts,
                at=batches.utc_now_iso(now),
                raw_key=obj.key,
                staged_key=staged_key,
                rejected_key=rejected_key,
            )

        batches.advance_manifest(obj.bucket, batch_id, transition)
        # Last: creating staged/ triggers load, which reads the manifest above.
        s3.put_bytes(
            obj.bucket,
            staged_key,
            staged_csv(staged, dataset, received_at),
            content_type="text/csv; charset=utf-8; header=present",
            metadata={"dataset": dataset.name, **{k: str(v) for k, v in counts.items()}},
        )
    metrics.record_counts(FUNCTION, "transform", counts, batch_id=batch_id)
    _log.info("batch transformed", extra={"counts": counts})
    return {"batch_id": batch_id, **counts}
