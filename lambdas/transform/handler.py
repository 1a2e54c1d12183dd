"""transform: validates and normalizes a raw batch (S3 ``ObjectCreated`` on ``raw/``).

For each ``raw/YYYY/MM/DD/<batch_id>.jsonl`` object named by the event (keys in
S3 events are URL-decoded first), in one streaming pass and bounded memory (the
object is never held: under 64 MB above a warm baseline at any size, 49 MB
measured at 1 GB, see README "Performance"):

- the object is read as a stream and split into lines on ``\n`` only; every line
  is parsed, validated against the dataset schema and the business rules
  (currency in ``SUPPORTED_CURRENCIES``, ``created_at`` at most 5 minutes in the
  future) and normalized into a staged row (the validator is the one ingest
  uses, so a record ingest accepted is rejected here only by a business rule);
  a line longer than ``MAX_LINE_BYTES`` is rejected without being held;
- every valid row is written to ``staged/`` as it is produced, with its raw line
  number (``raw_line``); a repeated key (``order_id``) keeps the last occurrence:
  the load resolves it exactly, in PostgreSQL, from the line numbers (holding a
  large batch's keys here would not be bounded), and counts the earlier valid
  occurrences as ``duplicates``. Until then the manifest says ``staged`` = valid
  rows written and ``duplicates`` = null; once loaded, ``staged`` = distinct keys;
- every staged row carries its version: the batch's receive time
  (``batch_received_at``, from the raw object's ``received-at`` metadata, else
  its last-modified time) and the batch id;
- ``staged/`` and ``rejected/`` are written as they are produced (S3 multipart
  uploads, parts of ``PART_BYTES``; one ``PutObject`` under one part) and made
  visible only at the end, in this order: ``rejected/<batch_id>.jsonl`` (each
  rejected line, its line number, the raw text and its reasons) when there are
  any, then the manifest ``manifests/<batch_id>.json`` advanced to ``transformed``
  (never back from ``loaded``), then ``staged/<batch_id>.csv`` last (COPY-ready
  CSV with a header line; its metadata names the dataset), because completing it
  triggers load, which thus always finds the manifest of the data it loads. Any
  failure aborts the uploads not yet completed: no partial staged object exists.

Nothing is lost: received = staged + rejected + duplicates, always (duplicates
counted by the load). A bad line is a rejection, never a failure: whatever its
content (a lone surrogate in a field name, a number beyond ``Decimal``'s range), it
is a rejected line with its reasons, and should the validator itself fail on a
line, that line is rejected (and logged at ERROR) rather than the batch retried
into the DLQ. An object that cannot be read at all (missing, a line not UTF-8) or
an unexpected key raises, so Lambda retries and then dead-letters the event. An
object larger than ``MAX_RAW_BYTES`` (what one invocation transforms well within
its timeout at the measured rate) is refused at once, before reading it: a
``rejected/`` note says why and what to do, and the invocation raises
:class:`RawObjectTooLargeError` (its event reaches the DLQ and its alarm); the
manifest stays ``received``. Output keys are deterministic: a retry overwrites.

Environment variables (read once at import):

- ``SUPPORTED_CURRENCIES``: comma-separated ISO 4217 codes (default
  ``USD,EUR,GBP``).
- ``MAX_RAW_BYTES``: the largest raw object transformed (default
  :data:`DEFAULT_MAX_RAW_BYTES`).
- ``LOG_LEVEL``: log level (default ``INFO``).
- ``METRICS_NAMESPACE``: CloudWatch namespace for EMF metrics (default ``EtlPipeline``).
- ``DATA_BUCKET``: the data bucket; outputs go to the bucket named by the event,
  which the platform makes the same bucket.

S3 access: reads ``raw/``; writes ``staged/``, ``rejected/`` and ``manifests/``
(multipart uploads; reads ``manifests/`` back only for the conditional update; no
ListBucket).
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from etl_common import batches, datasets, logger, metrics, runtime, s3, tracing
from etl_common.config import env_int, env_list
from etl_common.datasets.orders import DEFAULT_SUPPORTED_CURRENCIES
from etl_common.errors import ObjectUnreadableError, UnexpectedObjectKeyError
from etl_common.schema import decode_record, parse_timestamp

__all__ = [
    "DEFAULT_MAX_RAW_BYTES",
    "MAX_LINE_BYTES",
    "RawObjectTooLargeError",
    "classify_lines",
    "handler",
    "staged_csv",
    "transform_lines",
]

FUNCTION = "transform"
SUPPORTED_CURRENCIES = tuple(
    code.upper() for code in env_list("SUPPORTED_CURRENCIES", DEFAULT_SUPPORTED_CURRENCIES)
)
DEFAULT_MAX_RAW_BYTES = 1024 * 1024 * 1024
"""1 GiB: the memory bench measures about 1,100 MB as what one invocation transforms in
its 300 s timeout at 0.58 vCPU (the `large` profile) with 20% spare (README
"Performance"); larger is refused at once."""
MAX_RAW_BYTES = env_int("MAX_RAW_BYTES", DEFAULT_MAX_RAW_BYTES, minimum=1, maximum=1 << 40)
MAX_LINE_BYTES = 5 * 1024 * 1024
"""The longest line read (ingest's whole request body is at most 5 MiB); a longer one
is rejected, only its first bytes kept."""
REJECTED_RAW_BYTES = 1024
"""How much of an oversized line its rejected entry keeps."""
PART_BYTES = s3.DEFAULT_PART_BYTES
FLUSH_BYTES = 256 * 1024  # staged CSV text handed to the upload at a time

_log = logger.get_logger("etl.transform")

Classified = tuple[int, dict[str, Any] | None, dict[str, Any] | None]
"""(line number, staged row or None, rejected entry or None): exactly one is set."""


class RawObjectTooLargeError(ObjectUnreadableError):
    """The raw object is larger than one invocation transforms (``MAX_RAW_BYTES``)."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (``handler.handler``)."""
    with runtime.invocation(FUNCTION, context):
        return {"batches": [_transform_object(obj) for obj in s3.created_objects(event, _log)]}


def _rejection(number: int, raw: str, reasons: list[dict[str, Any]]) -> Classified:
    return number, None, {"line": number, "raw": raw, "reasons": reasons}


def classify_lines(
    lines: Iterable[str | s3.OversizedLine],
    batch_id: str,
    dataset: datasets.Dataset,
    *,
    now: datetime,
    supported_currencies: tuple[str, ...] = SUPPORTED_CURRENCIES,
) -> Iterator[Classified]:
    """The streaming core: each raw line, in order, as a staged row or a rejected entry
    (duplicates are not resolved here); never raises, holds nothing."""
    context = datasets.RuleContext(now=now, settings={"supported_currencies": supported_currencies})
    normalize = dataset.normalize
    for number, line in enumerate(lines, start=1):
        if isinstance(line, s3.OversizedLine):
            message = f"line is {line.length} bytes; the limit is {MAX_LINE_BYTES} bytes"
            head = line.head[:REJECTED_RAW_BYTES].decode("utf-8", errors="replace")
            yield _rejection(number, head, [{"field": None, "message": message}])
            continue
        try:
            record = decode_record(line)
        except (ValueError, RecursionError) as exc:
            message = "empty line" if not line.strip() else f"not valid JSON: {exc}"
            yield _rejection(number, line, [{"field": None, "message": message}])
            continue
        try:
            result = normalize(record, batch_id, context)
        except Exception as exc:  # a validator bug must not poison the batch: reject the line
            _log.exception("validator failed on a line; rejected", extra={"line": number})
            message = f"could not be validated ({type(exc).__name__}); the operators are alerted"
            yield _rejection(number, line, [{"field": None, "message": message}])
            continue
        if result.row is None:
            yield _rejection(number, line, [p.as_dict() for p in result.problems])
            continue
        yield number, result.row, None


def transform_lines(
    lines: list[str],
    batch_id: str,
    dataset: datasets.Dataset,
    *,
    now: datetime,
    supported_currencies: tuple[str, ...] = SUPPORTED_CURRENCIES,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """In memory, for a few lines: (staged rows, rejected entries, duplicate count) as the
    pipeline ends up with them once loaded (a repeated key keeps its last occurrence, in
    its position: what the load's SQL does from the line numbers); never raises."""
    staged: dict[Any, dict[str, Any]] = {}
    rejected: list[dict[str, Any]] = []
    duplicates = 0
    key = dataset.key
    for _, row, rejection in classify_lines(
        lines, batch_id, dataset, now=now, supported_currencies=supported_currencies
    ):
        if row is None:
            rejected.append(rejection)  # type: ignore[arg-type]
            continue
        if row[key] in staged:
            duplicates += 1
            del staged[row[key]]
        staged[row[key]] = row
    return list(staged.values()), rejected, duplicates


def staged_csv(
    rows: Iterable[tuple[int, dict[str, Any]]],
    dataset: datasets.Dataset,
    received_at: str,
    *,
    flush_bytes: int = FLUSH_BYTES,
) -> Iterator[bytes]:
    """The staged object, in pieces of about ``flush_bytes``: a header line, then one CSV
    line per (line number, row) (PostgreSQL's CSV format, ``\\n`` line ends), with the
    version column and the raw line number last."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(dataset.staged_file_columns)
    columns = dataset.columns
    for number, row in rows:
        writer.writerow([*(row[c] for c in columns), received_at, number])
        if buffer.tell() >= flush_bytes:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _received_at(opened: s3.OpenedObject) -> str:
    """The batch's version time: ingest's ``received-at``, else the raw object's time."""
    declared = opened.metadata.get("received-at")
    parsed = parse_timestamp(declared) if declared else None
    if parsed is not None:
        return batches.utc_now_iso(parsed)  # one canonical form (UTC, milliseconds, Z)
    if declared:
        _log.warning("ignoring unparseable received-at metadata", extra={"value": declared})
    return batches.utc_now_iso(opened.last_modified)


def _decoded(opened: s3.OpenedObject) -> Iterator[str | s3.OversizedLine]:
    """The raw object's lines as text; a line that is not UTF-8 makes it unreadable."""
    lines = s3.iter_lines(s3.iter_chunks(opened), MAX_LINE_BYTES)
    for number, line in enumerate(lines, start=1):
        if isinstance(line, s3.OversizedLine):
            yield line
            continue
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as exc:
            reason = f"not UTF-8 (line {number}: {exc.reason})"
            raise ObjectUnreadableError(opened.bucket, opened.key, reason) from exc


def _refuse(opened: s3.OpenedObject, batch_id: str) -> None:
    """Write the rejected/ note of an object too large to transform, then raise."""
    opened.close()
    message = (
        f"the raw object is {opened.size} bytes; one transform takes at most "
        f"{MAX_RAW_BYTES} bytes (MAX_RAW_BYTES): split it into several raw/ objects "
        "(whole lines) of at most that size, then upload them (each is its own batch)"
    )
    note = {"line": None, "raw": None, "reasons": [{"field": None, "message": message}]}
    s3.put_jsonl(opened.bucket, batches.rejected_key(batch_id), [note])
    _log.error("raw object refused: too large", extra={"size": opened.size})
    raise RawObjectTooLargeError(opened.bucket, opened.key, message)


def _transform_object(obj: s3.S3Object) -> dict[str, Any]:
    batch_id = batches.parse_raw_key(obj.key)
    if batch_id is None:
        raise UnexpectedObjectKeyError(obj.key, "raw/YYYY/MM/DD/<batch_id>.jsonl")
    logger.bind(batch_id=batch_id)
    with tracing.subsegment("transform", batch_id=batch_id) as span:
        opened = s3.open_object(obj.bucket, obj.key)
        if opened.size is not None and opened.size > MAX_RAW_BYTES:
            _refuse(opened, batch_id)
        dataset = datasets.get(opened.metadata.get("dataset") or datasets.DEFAULT_DATASET)
        received_at = _received_at(opened)
        now = datetime.now(UTC)
        counts = _stream(obj, opened, batch_id, dataset, received_at, now)
        span.annotate_many({k: v for k, v in counts.items() if v is not None})
    metrics.record_counts(
        FUNCTION, "transform", {k: v for k, v in counts.items() if v is not None}, batch_id=batch_id
    )
    _log.info("batch transformed", extra={"counts": counts})
    return {"batch_id": batch_id, **counts}


def _stream(
    obj: s3.S3Object,
    opened: s3.OpenedObject,
    batch_id: str,
    dataset: datasets.Dataset,
    received_at: str,
    now: datetime,
) -> dict[str, Any]:
    """Read, classify and write in one pass; complete rejected/, manifest, staged/ last."""
    staged_key = batches.staged_key(batch_id)
    tally = {"received": 0, "staged": 0, "rejected": 0}
    with contextlib.ExitStack() as stack:
        stack.callback(opened.close)
        staged_out = stack.enter_context(
            s3.StreamingUpload(
                obj.bucket,
                staged_key,
                content_type="text/csv; charset=utf-8; header=present",
                metadata={"dataset": dataset.name},
                part_bytes=PART_BYTES,
            )
        )
        rejected_out: s3.StreamingUpload | None = None

        def rows() -> Iterator[tuple[int, dict[str, Any]]]:
            nonlocal rejected_out
            for number, row, rejection in classify_lines(
                _decoded(opened), batch_id, dataset, now=now
            ):
                tally["received"] = number
                if row is not None:
                    tally["staged"] += 1
                    yield number, row
                    continue
                if rejected_out is None:
                    rejected_out = stack.enter_context(
                        s3.StreamingUpload(
                            obj.bucket,
                            batches.rejected_key(batch_id),
                            content_type="application/x-ndjson",
                            part_bytes=PART_BYTES,
                        )
                    )
                tally["rejected"] += 1
                rejected_out.write((s3.dumps(rejection) + "\n").encode("utf-8"))

        for piece in staged_csv(rows(), dataset, received_at):
            staged_out.write(piece)
        counts: dict[str, Any] = {**tally, "duplicates": None}  # resolved by the load
        rejected_key = None
        if rejected_out is not None:
            rejected_out.complete()
            rejected_key = rejected_out.key

        def transition(manifest: batches.Manifest | None) -> batches.Manifest:
            if manifest is None:  # ingest's manifest write has not happened (yet)
                manifest = batches.Manifest.received(
                    batch_id,
                    dataset=dataset.name,
                    received=tally["received"],
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
        # Last: completing staged/ triggers load, which reads the manifest above.
        staged_out.complete()
    return counts
