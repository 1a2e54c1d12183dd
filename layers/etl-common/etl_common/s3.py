"""S3 helpers: S3 event parsing, reading and writing JSON / JSON-lines objects.

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

from etl_common import clients
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
    "read_json",
    "read_object",
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
    """An object read from S3: its text, metadata and last-modified time."""

    text: str
    metadata: Mapping[str, str]
    last_modified: datetime | None


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


def read_object(bucket: str, key: str) -> StoredObject:
    """Read an object as UTF-8 text; raise :class:`ObjectUnreadableError` if impossible."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = clients.get("s3").get_object(Bucket=bucket, Key=key)
        body = response["Body"].read()
    except ClientError as exc:
        raise ObjectUnreadableError(bucket, key, _error_code(exc)) from exc
    except BotoCoreError as exc:
        raise ObjectUnreadableError(bucket, key, str(exc)) from exc
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ObjectUnreadableError(bucket, key, f"not UTF-8 ({exc.reason})") from exc
    return StoredObject(
        text=text,
        metadata=dict(response.get("Metadata") or {}),
        last_modified=response.get("LastModified"),
    )


def read_json(bucket: str, key: str, *, missing_ok: bool = False) -> Any:
    """Read a JSON object; ``None`` if it does not exist and ``missing_ok``."""
    try:
        stored = read_object(bucket, key)
    except ObjectUnreadableError as exc:
        if missing_ok and exc.reason in ("NoSuchKey", "404"):
            return None
        raise
    try:
        return json.loads(stored.text, parse_float=Decimal)
    except ValueError as exc:
        raise ObjectUnreadableError(bucket, key, f"not JSON ({exc})") from exc


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
) -> bool:
    """Write an object; with ``if_none_match`` only if it does not exist yet.

    Returns ``False`` when ``if_none_match`` was set and the object already
    existed (HTTP 412), ``True`` when the object was written. A concurrent
    conditional write (HTTP 409) and every other failure raise
    :class:`TransientError`.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    kwargs: dict[str, Any] = {
        "Bucket": bucket,
        "Key": key,
        "Body": body,
        "ContentType": content_type,
        "Metadata": dict(metadata or {}),
    }
    if if_none_match:
        kwargs["IfNoneMatch"] = "*"
    try:
        clients.get("s3").put_object(**kwargs)
    except ClientError as exc:
        if if_none_match and _error_code(exc) == "PreconditionFailed":
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
    """Write ``rows`` as JSON lines, each terminated by a newline."""
    body = "".join(dumps(row) + "\n" for row in rows).encode("utf-8")
    return put_bytes(bucket, key, body, content_type="application/x-ndjson", **kwargs)
