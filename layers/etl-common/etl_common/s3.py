"""S3 helpers: S3 event parsing, reading and writing JSON / JSON-lines objects.

JSON lines are framed on ``\n`` alone, by :func:`split_lines`, :func:`iter_lines`
and :func:`put_jsonl` (never ``str.splitlines()``, which also splits on U+2028,
U+2029, ``\r``, ``\x0b``, ``\x0c``, ``\x1c``-``\x1e`` and ``\x85``, all of
which may appear literally inside a JSON string).

Objects of any size go through in bounded memory: :func:`open_object` gives the
streaming body, :func:`iter_chunks` and :func:`iter_lines` read it piece by piece
(a line longer than ``max_line_bytes`` comes out as an :class:`OversizedLine`, its
bytes skipped, never held), and :class:`StreamingUpload` writes an object as it is
produced: one ``PutObject`` when it stays under a part, else an S3 multipart upload
whose parts are at least :data:`MIN_PART_BYTES`, completed only by
:meth:`StreamingUpload.complete` and aborted on any failure, so a partial object
never exists (nor triggers anything).

Failures to read or write are raised as :class:`~etl_common.errors.TransientError`
subclasses so that an asynchronously invoked function is retried and, failing
that, its event lands in the dead-letter queue. botocore is imported lazily.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from etl_common import clients, logger, tracing
from etl_common.errors import ObjectUnreadableError, TransientError

if TYPE_CHECKING:
    import logging

__all__ = [
    "CHUNK_BYTES",
    "MIN_PART_BYTES",
    "OpenedObject",
    "OversizedLine",
    "S3Object",
    "StoredObject",
    "StreamingUpload",
    "created_objects",
    "dumps",
    "event_objects",
    "iter_chunks",
    "iter_lines",
    "open_object",
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


CHUNK_BYTES = 1024 * 1024
"""How much of a streamed object is read at a time."""
MIN_PART_BYTES = 5 * 1024 * 1024
"""S3's smallest multipart part (every part but the last)."""
DEFAULT_PART_BYTES = 8 * 1024 * 1024
"""The part size :class:`StreamingUpload` uses unless told otherwise."""


@dataclass(frozen=True)
class OpenedObject:
    """An object opened for streaming: its body (read it once), metadata and size."""

    bucket: str
    key: str
    body: Any  # botocore's StreamingBody
    metadata: Mapping[str, str]
    last_modified: datetime | None
    size: int | None
    etag: str | None = None

    def close(self) -> None:
        """Release the connection (a body not read to its end is discarded)."""
        self.body.close()


@dataclass(frozen=True)
class OversizedLine:
    """A line longer than the reader's limit: its first bytes and its full length."""

    head: bytes
    length: int


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


def open_object(bucket: str, key: str) -> OpenedObject:
    """Open an object for streaming; raise :class:`ObjectUnreadableError` if impossible."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = clients.get("s3").get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        raise ObjectUnreadableError(bucket, key, _error_code(exc)) from exc
    except BotoCoreError as exc:
        raise ObjectUnreadableError(bucket, key, str(exc)) from exc
    tracing.link_from(response.get("Metadata") or {})  # the batch's first trace, if named
    return OpenedObject(
        bucket=bucket,
        key=key,
        body=response["Body"],
        metadata=dict(response.get("Metadata") or {}),
        last_modified=response.get("LastModified"),
        size=response.get("ContentLength"),
        etag=response.get("ETag"),
    )


def iter_chunks(opened: OpenedObject, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The object's bytes, at most ``chunk_bytes`` at a time; a broken stream raises
    :class:`ObjectUnreadableError` (the invocation is retried)."""
    from botocore.exceptions import BotoCoreError

    while True:
        try:
            chunk = opened.body.read(chunk_bytes)
        except (BotoCoreError, OSError) as exc:
            raise ObjectUnreadableError(opened.bucket, opened.key, f"read failed: {exc}") from exc
        if not chunk:
            return
        yield chunk


def iter_lines(chunks: Iterable[bytes], max_line_bytes: int) -> Iterator[bytes | OversizedLine]:
    """The lines of a stream of bytes, framed on ``\n`` only (as :func:`split_lines`: a
    final ``\n`` ends the last line). ``\n`` never occurs inside a UTF-8 multi-byte
    character, so splitting the bytes before decoding is exact. A line longer than
    ``max_line_bytes`` is yielded as an :class:`OversizedLine` (its first
    ``max_line_bytes`` bytes kept) and the rest of it is skipped as it streams by."""
    head = b""  # the start of the line the previous chunk left open (at most the limit)
    length = 0  # that line's full length so far
    for chunk in chunks:
        pieces = chunk.split(b"\n")  # in C: the middle pieces are whole lines
        first = pieces[0]
        if length + len(first) <= max_line_bytes:
            head += first
        elif len(head) < max_line_bytes:
            head = (head + first)[:max_line_bytes]
        length += len(first)
        if len(pieces) == 1:
            continue
        yield head if length <= max_line_bytes else OversizedLine(head, length)
        for line in pieces[1:-1]:
            yield (
                line
                if len(line) <= max_line_bytes
                else OversizedLine(line[:max_line_bytes], len(line))
            )
        last = pieces[-1]
        head, length = last[:max_line_bytes], len(last)
    if length:
        yield head if length <= max_line_bytes else OversizedLine(head, length)


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


class StreamingUpload:
    """Write one object as it is produced, in bounded memory (``part_bytes`` at most).

    Parts are at least ``part_bytes`` (a part ends with the write that fills it, so it
    may run over by one write's size). Use as a context manager: :meth:`write` bytes,
    then :meth:`complete`; leaving the
    block without completing (an exception) aborts, so the key never holds a partial
    object. Under one part the object is written by a single ``PutObject`` at
    :meth:`complete`; beyond, an S3 multipart upload is started with the first full
    part and completed (made visible at once, whole) by :meth:`complete`.
    """

    def __init__(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
        part_bytes: int = DEFAULT_PART_BYTES,
    ) -> None:
        if part_bytes < MIN_PART_BYTES:
            raise ValueError(
                f"part_bytes={part_bytes}: S3 needs parts of at least {MIN_PART_BYTES} bytes"
            )
        self.bucket, self.key = bucket, key
        self.part_bytes = part_bytes
        self.size = 0
        self._content_type = content_type
        self._metadata = {**tracing.link_metadata(), **(metadata or {})}
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._done = False

    def __enter__(self) -> StreamingUpload:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if not self._done:
            self.abort()

    @property
    def multipart(self) -> bool:
        """True once the object is being written as a multipart upload."""
        return self._upload_id is not None

    def write(self, data: bytes) -> None:
        """Append ``data``; a full part is uploaded as soon as there is one."""
        self._buffer += data
        self.size += len(data)
        if len(self._buffer) >= self.part_bytes:  # a part may run over by one write
            part, self._buffer = self._buffer, bytearray()
            self._upload_part(bytes(part))

    def complete(self) -> None:
        """Make the object exist, whole (the one moment it becomes visible)."""
        if self._upload_id is None:
            put_bytes(
                self.bucket,
                self.key,
                bytes(self._buffer),
                content_type=self._content_type,
                metadata=self._metadata,
            )
        else:
            if self._buffer or not self._parts:
                self._upload_part(bytes(self._buffer))
            with self._errors():
                clients.get("s3").complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=self.key,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                )
        self._buffer = bytearray()
        self._done = True

    def abort(self) -> None:
        """Discard what was written; a failure to abort is logged (the bucket's lifecycle
        rule removes incomplete uploads), never raised over the original error."""
        self._done = True
        self._buffer = bytearray()
        if self._upload_id is None:
            return
        try:
            with self._errors():
                clients.get("s3").abort_multipart_upload(
                    Bucket=self.bucket, Key=self.key, UploadId=self._upload_id
                )
        except TransientError as exc:
            logger.get_logger("etl.s3").warning(
                "cannot abort a multipart upload", extra={"key": self.key, "error": str(exc)}
            )

    def _upload_part(self, part: bytes) -> None:
        client = clients.get("s3")
        with self._errors():
            if self._upload_id is None:
                created = client.create_multipart_upload(
                    Bucket=self.bucket,
                    Key=self.key,
                    ContentType=self._content_type,
                    Metadata=self._metadata,
                )
                self._upload_id = str(created["UploadId"])
            number = len(self._parts) + 1
            answer = client.upload_part(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=part,
            )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """S3's failures as :class:`TransientError` naming the object (retried)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except (ClientError, BotoCoreError) as exc:
            reason = _error_code(exc) if isinstance(exc, ClientError) else str(exc)
            raise TransientError(f"cannot write s3://{self.bucket}/{self.key}: {reason}") from exc
