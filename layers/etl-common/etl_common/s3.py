"""S3 helpers: S3 event parsing, reading and writing JSON / JSON-lines objects.

JSON lines are framed on ``\n`` alone, by :func:`split_lines` and
:func:`put_jsonl` (never ``str.splitlines()``, which also splits on U+2028,
U+2029, ``\r``, ``\x0b``, ``\x0c``, ``\x1c``-``\x1e`` and ``\x85``, all of
which may appear literally inside a JSON string).

Failures to read or write are raised as :class:`~etl_common.errors.TransientError`
subclasses so that an asynchronously invoked function is retried and, failing
that, its event lands in the dead-letter queue. botocore is imported lazily.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from etl_common import clients, tracing
from etl_common.errors import ObjectUnreadableError, TransientError

if TYPE_CHECKING:
    import logging

__all__ = [
    "S3Object",
    "StoredObject",
    "created_objects",
    "dumps",
    "event_objects",
    "put_bytes",
    "put_json",
    "put_jsonl",
    "read_data",
    "read_json",
    "read_json_with_etag",
    "read_object",
    "split_lines",
]


@dataclass(frozen=True)
class S3Object:
    """One object named by an S3 event notification (key already URL-decoded)."""

    bucket: str
    key: str
    event_name: str
    size: int | None = None

    @property
    def created(self) -> bool:
        """True for ``ObjectCreated:*`` events."""
        return self.event_name.startswith("ObjectCreated")


@dataclass(frozen=True)
class StoredObject:
    """An object read from S3: its text, metadata, last-modified time and ETag."""

    text: str
    metadata: Mapping[str, str]
    last_modified: datetime | None
    etag: str | None = None


@dataclass(frozen=True)
class StoredData:
    """An object read from S3 as bytes, with its metadata."""

    data: bytes
    metadata: Mapping[str, str]
    last_modified: datetime | None
    etag: str | None = None


def split_lines(text: str) -> list[str]:
    """The lines of a JSON-lines text, framed on ``\n`` only (a final ``\n`` ends the
    last line; it does not start an empty one)."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def event_objects(event: Mapping[str, Any]) -> list[S3Object]:
    """Return the objects of an S3 event; keys are URL-decoded (``+`` is a space)."""
    objects = []
    for record in event.get("Records") or []:
        s3 = record.get("s3") or {}
        bucket = (s3.get("bucket") or {}).get("name")
        obj = s3.get("object") or {}
        key = obj.get("key")
        if not bucket or not key:
            continue
        objects.append(
            S3Object(
                bucket=bucket,
                key=unquote_plus(key),
                event_name=str(record.get("eventName", "")),
                size=obj.get("size"),
            )
        )
    return objects


def created_objects(event: Mapping[str, Any], log: logging.Logger) -> list[S3Object]:
    """The objects an S3 event created; an empty event or other event types are logged."""
    objects = event_objects(event)
    if not objects:
        log.warning("event names no S3 object; nothing to do")
    created = []
    for obj in objects:
        if obj.created:
            created.append(obj)
        else:
            log.info("ignoring non-create event", extra={"event_name": obj.event_name})
    return created


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Code", type(exc).__name__))


def read_data(bucket: str, key: str) -> StoredData:
    """Read an object's bytes; raise :class:`ObjectUnreadableError` if impossible."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = clients.get("s3").get_object(Bucket=bucket, Key=key)
        body = response["Body"].read()
    except ClientError as exc:
        raise ObjectUnreadableError(bucket, key, _error_code(exc)) from exc
    except BotoCoreError as exc:
        raise ObjectUnreadableError(bucket, key, str(exc)) from exc
    tracing.link_from(response.get("Metadata") or {})  # the batch's first trace, if named
    return StoredData(
        data=body,
        metadata=dict(response.get("Metadata") or {}),
        last_modified=response.get("LastModified"),
        etag=response.get("ETag"),
    )


def read_object(bucket: str, key: str) -> StoredObject:
    """Read an object as UTF-8 text; raise :class:`ObjectUnreadableError` if impossible."""
    stored = read_data(bucket, key)
    try:
        text = stored.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ObjectUnreadableError(bucket, key, f"not UTF-8 ({exc.reason})") from exc
    return StoredObject(
        text=text, metadata=stored.metadata, last_modified=stored.last_modified, etag=stored.etag
    )


def read_json_with_etag(bucket: str, key: str) -> tuple[Any, str | None] | None:
    """A JSON object and its ETag; ``None`` if it does not exist."""
    try:
        stored = read_object(bucket, key)
    except ObjectUnreadableError as exc:
        if exc.reason in ("NoSuchKey", "404"):
            return None
        raise
    try:
        return json.loads(stored.text, parse_float=Decimal), stored.etag
    except ValueError as exc:
        raise ObjectUnreadableError(bucket, key, f"not JSON ({exc})") from exc


def read_json(bucket: str, key: str, *, missing_ok: bool = False) -> Any:
    """Read a JSON object; ``None`` if it does not exist and ``missing_ok``."""
    stored = read_json_with_etag(bucket, key)
    if stored is None:
        if missing_ok:
            return None
        raise ObjectUnreadableError(bucket, key, "NoSuchKey")
    return stored[0]


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Keep the exact value: an int when integral, a float when the float prints
        # back as the same number, otherwise the exact decimal string.
        if value.is_finite() and value == value.to_integral_value() and value.adjusted() < 30:
            return int(value)
        as_float = float(value)
        if value.is_finite() and Decimal(repr(as_float)) == value:
            return as_float
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    """Compact, deterministic JSON (sorted keys) understanding Decimal and datetime."""
    return json.dumps(
        value, default=_default, ensure_ascii=False, separators=(",", ":"), sort_keys=True
    )


def put_bytes(
    bucket: str,
    key: str,
    body: bytes,
    *,
    content_type: str,
    metadata: Mapping[str, str] | None = None,
    if_none_match: bool = False,
    if_match: str | None = None,
) -> bool:
    """Write an object; with ``if_none_match`` only if it does not exist yet, with
    ``if_match`` only if its ETag is still that one (a compare-and-swap).

    Returns ``False`` when a condition failed (HTTP 412, or 409 for a concurrent
    conditional write to the same key under ``if_match``), ``True`` when the
    object was written. Every other failure raises :class:`TransientError`.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    kwargs: dict[str, Any] = {
        "Bucket": bucket,
        "Key": key,
        "Body": body,
        "ContentType": content_type,
        # The batch's first trace travels with the object to the next hop (etl_common.tracing).
        "Metadata": {**tracing.link_metadata(), **(metadata or {})},
    }
    if if_none_match:
        kwargs["IfNoneMatch"] = "*"
    if if_match is not None:
        kwargs["IfMatch"] = if_match
    conditional = if_none_match or if_match is not None
    try:
        clients.get("s3").put_object(**kwargs)
    except ClientError as exc:
        code = _error_code(exc)
        if conditional and code == "PreconditionFailed":
            return False
        if if_match is not None and code in ("ConditionalRequestConflict", "NoSuchKey"):
            return False
        raise TransientError(f"cannot write s3://{bucket}/{key}: {_error_code(exc)}") from exc
    except BotoCoreError as exc:
        raise TransientError(f"cannot write s3://{bucket}/{key}: {exc}") from exc
    return True


def put_json(bucket: str, key: str, value: Any, **kwargs: Any) -> bool:
    """Write ``value`` as a JSON object (see :func:`put_bytes` for ``kwargs``)."""
    return put_bytes(
        bucket, key, dumps(value).encode("utf-8"), content_type="application/json", **kwargs
    )


def put_jsonl(bucket: str, key: str, rows: Iterable[Any], **kwargs: Any) -> bool:
    """Write ``rows`` as JSON lines, each terminated by ``\n`` (the only ``\n`` in a
    line: JSON escapes it inside strings)."""
    body = "".join(dumps(row) + "\n" for row in rows).encode("utf-8")
    return put_bytes(bucket, key, body, content_type="application/x-ndjson", **kwargs)
