"""ingest-api: accepts batches of orders on a Lambda function URL (payload 2.0).

``POST /batches`` with the body ``{"records": [...]}`` and an optional
``idempotency-key`` header:

- every record is validated against the dataset schema; if any fails the answer
  is 400 ``validation_failed`` with the first 100 problems and nothing is stored
  (a number beyond ``Decimal``'s range, in any field, or a lone surrogate in a field
  name is such a problem, naming the field: never a 500);
- a body that is not JSON, not an object, or without a ``records`` list is 400
  ``invalid_json`` / ``invalid_request``; more than 10,000 records or a body
  over 5 MiB is 413; base64 bodies (``isBase64Encoded``) are decoded;
- another method is 405, another path 404; every error body is JSON
  ``{"error": code, "message": what to fix}``;
- accepted: 202 ``{"batch_id": ..., "records": n}``. The batch is written once
  to ``raw/YYYY/MM/DD/<batch_id>.jsonl``, one record per line, each line the
  record's exact JSON text from the request (numbers keep their digits, so
  transform parses exactly what was validated here; ``\n``/``\r`` between
  tokens become spaces). Then its manifest ``manifests/<batch_id>.json``
  (stage ``received``, create-only: a transform that already ran keeps its
  stage). A failed raw write is a 503 with nothing claimed as received.

The validator is the dataset's (``etl_common.datasets``), the one transform
uses: a record accepted here is rejected there only by a business rule.

Idempotency: the record ``idempotency/<sha256(key)>.json`` is claimed with an S3
conditional write (``IfNoneMatch='*'``), so two requests with the same key can't
both create a batch. The same key with the same body answers the same
``batch_id`` and writes nothing new (header ``idempotent-replayed: true``); the
same key with a different body is 409. If a previous attempt died between the
claim and the raw write, the replay finishes it (same key, same bytes).

Every object ingest writes is created, never overwritten: each write carries
``IfNoneMatch='*'`` (an existing object is left as it is), which is what the
catalog's ``needs.s3_create`` grants (PutObject only with that header).

Environment variables (read once at import):

- ``DATA_BUCKET``: the data bucket (required; a missing value is a 500
  ``misconfigured`` at invocation).
- ``LOG_LEVEL``: log level (default ``INFO``).
- ``METRICS_NAMESPACE``: CloudWatch namespace for EMF metrics (default ``EtlPipeline``).

S3 access: creates ``raw/``, ``manifests/`` and ``idempotency/`` objects (create-only);
reads ``idempotency/`` (only an existing record, after a failed claim).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from etl_common import api, batches, datasets, http, logger, metrics, s3, tracing
from etl_common.config import env_str
from etl_common.errors import ApiError
from etl_common.schema import RECORD_DECODER

__all__ = ["handler"]

FUNCTION = "ingest-api"
DATA_BUCKET = env_str("DATA_BUCKET")
DATASET = datasets.get(datasets.DEFAULT_DATASET)
MAX_RECORDS = 10_000
MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_DETAILS = 100
MAX_IDEMPOTENCY_KEY_LENGTH = 255
_EXAMPLE = '{"records": [{"order_id": "A-1", ...}]}'

_log = logger.get_logger("etl.ingest")


def _route(request: http.Request) -> dict[str, Any]:
    if request.path.rstrip("/") != "/batches":
        raise ApiError(404, "not_found", f"no resource at {request.path}; use POST /batches")
    http.require_method(request, "POST", "/batches")
    api.require_setting("DATA_BUCKET", DATA_BUCKET)
    idempotency_key = _idempotency_key(request)
    records, lines = _parse_body(request.body)
    _validate(records)
    return _accept(records, lines, idempotency_key)


handler = api.handler(FUNCTION, _route)


def _idempotency_key(request: http.Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not (1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH and key.isascii() and key.isprintable()):
        raise ApiError(
            400,
            "invalid_request",
            "the idempotency-key header must be 1 to 255 printable ASCII characters "
            "(a UUID is a good choice)",
        )
    return key


_WHITESPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace


def _skip(text: str, index: int) -> int:
    """The index of the first non-whitespace character at or after ``index``."""
    match = _WHITESPACE.match(text, index)
    return match.end() if match else index


def _scan(text: str) -> tuple[list[Any], list[str]] | None:
    """``{"records": [...]}`` -> (records, each record's exact text); ``None`` for any other
    body, which :func:`_parse_body` then parses in full to say what is wrong."""
    decode = RECORD_DECODER.raw_decode
    try:
        i = _skip(text, 0)
        if text[i : i + 1] != "{":
            return None
        i = _skip(text, i + 1)
        if text[i : i + 1] != '"':
            return None
        key, i = decode(text, i)
        i = _skip(text, i)
        if key != "records" or text[i : i + 1] != ":":
            return None
        i = _skip(text, i + 1)
        if text[i : i + 1] != "[":
            return None
        i = _skip(text, i + 1)
        records: list[Any] = []
        lines: list[str] = []
        if text[i : i + 1] == "]":
            i += 1
        else:
            while True:
                record, end = decode(text, i)
                records.append(record)
                lines.append(text[i:end])
                i = _skip(text, end)
                if text[i : i + 1] == ",":
                    i = _skip(text, i + 1)
                elif text[i : i + 1] == "]":
                    i += 1
                    break
                else:
                    return None
        i = _skip(text, i)
        if text[i : i + 1] != "}" or _skip(text, i + 1) != len(text):
            return None
    except (ValueError, RecursionError):
        return None
    # Whitespace between tokens may hold line breaks; inside strings JSON escapes them.
    return records, [
        line.replace("\n", " ").replace("\r", " ") if "\n" in line or "\r" in line else line
        for line in lines
    ]


def _parse_body(body: bytes) -> tuple[list[Any], list[str]]:
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(
            413,
            "payload_too_large",
            f"the body is {len(body)} bytes; the limit is {MAX_BODY_BYTES} bytes (5 MiB): "
            "split the records into smaller batches",
        )
    if not body.strip():
        raise ApiError(400, "invalid_json", f"the body is empty; send {_EXAMPLE}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", "the body is not UTF-8 encoded JSON") from None
    scanned = _scan(text)
    if scanned is not None:
        return _records({"records": scanned[0]}), scanned[1]
    try:
        payload = RECORD_DECODER.decode(text)
    except (ValueError, RecursionError) as exc:
        raise ApiError(
            400, "invalid_json", f"the body is not valid JSON ({exc}); send {_EXAMPLE}"
        ) from None
    _records(payload)
    # Valid JSON with a good 'records' list that the scanner refused: a repeated key.
    raise ApiError(
        400, "invalid_request", f"'records' appears more than once; send it once, like {_EXAMPLE}"
    )


def _records(payload: Any) -> list[Any]:
    if not isinstance(payload, dict):
        raise ApiError(400, "invalid_request", f"the body must be a JSON object like {_EXAMPLE}")
    unknown = sorted(str(k) for k in payload if k != "records")
    if unknown:
        raise ApiError(
            400,
            "invalid_request",
            f"unknown top-level field(s) {', '.join(unknown)}; the body has only 'records'",
        )
    records = payload.get("records")
    if not isinstance(records, list):
        raise ApiError(
            400, "invalid_request", f"'records' must be a list of order objects, like {_EXAMPLE}"
        )
    if not records:
        raise ApiError(400, "invalid_request", "'records' is empty; send at least one record")
    if len(records) > MAX_RECORDS:
        raise ApiError(
            413,
            "too_many_records",
            f"the batch has {len(records)} records; the limit is {MAX_RECORDS}: "
            "split it into smaller batches",
        )
    return records


def _validate(records: list[Any]) -> None:
    details: list[dict[str, Any]] = []
    total = 0
    bad_records = 0
    with tracing.subsegment("validate", records=len(records)) as span:
        for index, record in enumerate(records):
            problems = DATASET.validate(record)
            if problems:
                bad_records += 1
                total += len(problems)
                room = MAX_DETAILS - len(details)
                details.extend(
                    {"index": index, "field": p.field, "message": p.message}
                    for p in problems[:room]
                )
        span.annotate("invalid_records", bad_records)
    if total:
        shown = "" if total <= MAX_DETAILS else f"; the first {MAX_DETAILS} are listed"
        raise ApiError(
            400,
            "validation_failed",
            f"{bad_records} of {len(records)} records are invalid "
            f"({total} problem{'s' if total != 1 else ''}{shown}). "
            "Nothing was stored: fix them and send the whole batch again.",
            details=details,
        )


def _fingerprint(records: list[Any]) -> str:
    return hashlib.sha256(s3.dumps({"records": records}).encode("utf-8")).hexdigest()


def _accept(records: list[Any], lines: list[str], idempotency_key: str | None) -> dict[str, Any]:
    received = datetime.now(UTC)
    batch_id = batches.new_batch_id(received)
    logger.bind(batch_id=batch_id)
    raw = batches.raw_key(batch_id, received)
    received_at = batches.utc_now_iso(received)
    if idempotency_key is None:
        _store(batch_id, raw, received_at, lines)
        return _accepted(batch_id, len(records))

    fingerprint = _fingerprint(records)
    record_key = batches.idempotency_key(
        hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()
    )
    claim = {
        "batch_id": batch_id,
        "raw_key": raw,
        "received_at": received_at,
        "request_sha256": fingerprint,
        "records": len(records),
    }
    if s3.put_json(DATA_BUCKET, record_key, claim, if_none_match=True):
        _store(batch_id, raw, received_at, lines)
        return _accepted(batch_id, len(records))

    existing = s3.read_json(DATA_BUCKET, record_key)
    if not isinstance(existing, dict) or existing.get("request_sha256") != fingerprint:
        raise ApiError(
            409,
            "idempotency_key_reused",
            "this idempotency-key was already used with a different body; "
            "use a new key for a new batch",
        )
    batch_id = str(existing["batch_id"])
    logger.bind(batch_id=batch_id)
    # A previous attempt may have died after the claim: finish it with the same keys and
    # bytes. Every write is create-only, so what it did write stays as it is.
    _store(batch_id, str(existing["raw_key"]), str(existing["received_at"]), lines)
    _log.info("idempotent replay", extra={"records": len(records)})
    return _accepted(batch_id, len(records), replayed=True)


def _store(batch_id: str, raw: str, received_at: str, lines: list[str]) -> None:
    with tracing.subsegment("store_raw", batch_id=batch_id, records=len(lines)):
        # The raw object first: a manifest only ever names a batch that exists.
        created = s3.put_bytes(
            DATA_BUCKET,
            raw,
            ("\n".join(lines) + "\n").encode("utf-8"),
            content_type="application/x-ndjson",
            metadata={
                "dataset": DATASET.name,
                "received-at": received_at,
                "record-count": str(len(lines)),
            },
            if_none_match=True,
        )
        # Create-only: transform may already have advanced it (it runs on raw/).
        created |= batches.create_manifest(
            DATA_BUCKET,
            batches.Manifest.received(
                batch_id,
                dataset=DATASET.name,
                received=len(lines),
                received_at=received_at,
                raw_key=raw,
            ),
        )
    if not created:
        return  # an idempotent replay of a batch that was already stored completely
    metrics.record_counts(FUNCTION, "ingest", {"received": len(lines)}, batch_id=batch_id)
    _log.info("batch accepted", extra={"records": len(lines), "raw_key": raw})


def _accepted(batch_id: str, count: int, *, replayed: bool = False) -> dict[str, Any]:
    headers = {"location": f"/batches/{batch_id}"}
    if replayed:
        headers["idempotent-replayed"] = "true"
    return http.json_response(202, {"batch_id": batch_id, "records": count}, headers)
