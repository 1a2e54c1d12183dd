"""A loopback stand-in for the two AWS APIs the pipeline calls: S3 objects and one secret.

The benchmarks point boto3 at it with ``AWS_ENDPOINT_URL`` so that the handlers run
their real client code (signing, serialisation, retries, HTTP) but the network costs
next to nothing and the same for our code and its baselines. It answers just what
the handlers use:

- S3 ``PutObject`` (``If-None-Match: *`` -> 412 when the key exists, ``x-amz-meta-*``
  kept, ``aws-chunked`` bodies decoded), ``GetObject`` (404 ``NoSuchKey``),
  ``HeadObject``; multipart uploads (``CreateMultipartUpload``, ``UploadPart``,
  ``CompleteMultipartUpload``, ``AbortMultipartUpload``);
- Secrets Manager ``GetSecretValue`` for the secrets given to :class:`AwsStub`.

It is not moto: no validation, no other operation. Small objects live in memory; a
multipart object and one given with :meth:`AwsStub.put_file` live in a file and are
streamed in 1 MiB pieces, so objects of any size pass through without being held.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import tempfile
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["AwsStub"]

_PIECE = 1024 * 1024
_upload_ids = itertools.count(1)


def _etag(body: bytes | Path) -> str:
    if isinstance(body, bytes):
        return f'"{hashlib.md5(body).hexdigest()}"'
    return f'"{body.stat().st_size:x}-{body.stat().st_mtime_ns:x}"'  # cheap for big files


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as boto3's connection pool expects
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    # ------------------------------------------------------------------ plumbing

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        if "aws-chunked" in (self.headers.get("Content-Encoding") or "") or self.headers.get(
            "x-amz-decoded-content-length"
        ):
            data = _decode_chunked(data)
        return data

    def _s3_error(self, status: int, code: str) -> None:
        body = f"<Error><Code>{code}</Code><Message>{code}</Message></Error>".encode()
        self._reply(status, body, {"Content-Type": "application/xml"})

    def _object_key(self) -> tuple[str, str]:
        path = unquote(urlsplit(self.path).path).lstrip("/")
        bucket, _, key = path.partition("/")
        return bucket, key

    # -------------------------------------------------------------------- verbs

    def _query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.path).query, True).items()}

    def _metadata(self) -> dict[str, str]:
        return {
            name[len("x-amz-meta-") :]: value
            for name, value in self.headers.items()
            if name.lower().startswith("x-amz-meta-")
        }

    def do_PUT(self) -> None:
        bucket, key = self._object_key()
        query = self._query()
        body = self._body()
        if "uploadId" in query:  # UploadPart
            upload = self.server.uploads.get(query["uploadId"])
            if upload is None:
                self._s3_error(404, "NoSuchUpload")
                return
            part = upload["dir"] / f"{int(query['partNumber']):05d}"
            part.write_bytes(body)
            self._reply(200, headers={"ETag": f'"{hashlib.md5(body).hexdigest()}"'})
            return
        store = self.server.objects
        with self.server.lock:
            if self.headers.get("If-None-Match") == "*" and (bucket, key) in store:
                self._s3_error(412, "PreconditionFailed")
                return
            store[(bucket, key)] = (body, self._metadata(), formatdate(usegmt=True), _etag(body))
        self._reply(200, headers={"ETag": _etag(body)})

    def do_DELETE(self) -> None:
        upload_id = self._query().get("uploadId")
        upload = self.server.uploads.pop(upload_id or "", None)
        if upload is not None:  # AbortMultipartUpload
            shutil.rmtree(upload["dir"], ignore_errors=True)
        self._reply(204)

    def _xml(self, body: str) -> None:
        self._reply(200, body.encode(), {"Content-Type": "application/xml"})

    def _multipart(self, bucket: str, key: str, query: dict[str, str]) -> None:
        if "uploads" in query:  # CreateMultipartUpload
            upload_id = f"upload-{next(_upload_ids)}"
            directory = Path(tempfile.mkdtemp(dir=self.server.root))
            self.server.uploads[upload_id] = {"dir": directory, "metadata": self._metadata()}
            self._xml(
                f"<InitiateMultipartUploadResult><Bucket>{bucket}</Bucket><Key>{key}</Key>"
                f"<UploadId>{upload_id}</UploadId></InitiateMultipartUploadResult>"
            )
            return
        self._body()  # the part list: the parts on disk are the truth here
        upload = self.server.uploads.pop(query["uploadId"], None)
        if upload is None:
            self._s3_error(404, "NoSuchUpload")
            return
        target = Path(tempfile.mkstemp(dir=self.server.root)[1])
        with target.open("wb") as out:
            for part in sorted(upload["dir"].iterdir()):
                with part.open("rb") as source:
                    shutil.copyfileobj(source, out, _PIECE)
        shutil.rmtree(upload["dir"], ignore_errors=True)
        etag = f'"{hashlib.md5(key.encode()).hexdigest()}-multipart"'
        with self.server.lock:
            self.server.objects[(bucket, key)] = (
                target,
                upload["metadata"],
                formatdate(usegmt=True),
                etag,
            )
        self._xml(
            f"<CompleteMultipartUploadResult><Bucket>{bucket}</Bucket><Key>{key}</Key>"
            f"<ETag>{etag}</ETag></CompleteMultipartUploadResult>"
        )

    def _get(self) -> None:
        bucket, key = self._object_key()
        found = self.server.objects.get((bucket, key))
        if found is None:
            self._s3_error(404, "NoSuchKey")
            return
        body, metadata, modified, etag = found
        headers = {
            "ETag": etag,
            "Last-Modified": modified,
            "Content-Type": "application/octet-stream",
            **{f"x-amz-meta-{k.lower()}": v for k, v in metadata.items()},
        }
        if isinstance(body, bytes):
            self._reply(200, body, headers)
            return
        self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(body.stat().st_size))
        self.end_headers()
        if self.command == "HEAD":
            return
        with body.open("rb") as source:
            try:
                shutil.copyfileobj(source, self.wfile, _PIECE)
            except (BrokenPipeError, ConnectionResetError):
                return  # the reader stopped early (a refused or failed run)

    do_HEAD = _get

    def do_GET(self) -> None:
        self._get()

    def do_POST(self) -> None:
        query = self._query()
        if "uploads" in query or "uploadId" in query:
            self._multipart(*self._object_key(), query)
            return
        body = self._body()
        target = self.headers.get("X-Amz-Target", "")
        if target == "secretsmanager.GetSecretValue":
            secret_id = json.loads(body or b"{}").get("SecretId", "")
            value = self.server.secrets.get(secret_id)
            if value is None:
                payload = {"__type": "ResourceNotFoundException", "message": "no such secret"}
                self._reply(400, json.dumps(payload).encode(), {"Content-Type": "application/json"})
                return
            answer = {"ARN": secret_id, "Name": secret_id, "SecretString": value, "VersionId": "v1"}
            self._reply(200, json.dumps(answer).encode(), {"Content-Type": "application/json"})
            return
        self._reply(400, b'{"__type": "UnknownOperationException"}')


def _decode_chunked(data: bytes) -> bytes:
    """Decode ``aws-chunked``: ``<hex size>[;...]`` CRLF ``<bytes>`` CRLF ... ``0`` + trailers."""
    out = bytearray()
    position = 0
    while True:
        end = data.index(b"\r\n", position)
        size = int(data[position:end].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        start = end + 2
        out += data[start : start + size]
        position = start + size + 2


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    objects: dict[tuple[str, str], tuple[bytes | Path, dict[str, str], str, str]]
    uploads: dict[str, dict[str, Any]]
    secrets: dict[str, str]
    lock: threading.Lock
    root: Path


class AwsStub:
    """``with AwsStub(secrets={arn: json}) as stub:`` ``stub.endpoint`` is its URL."""

    def __init__(self, secrets: dict[str, str] | None = None) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.objects = {}
        self._server.uploads = {}
        self._server.root = Path(tempfile.mkdtemp(prefix="etl-aws-stub-"))
        self._server.secrets = dict(secrets or {})
        self._server.lock = threading.Lock()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def put(
        self, bucket: str, key: str, body: bytes, metadata: dict[str, str] | None = None
    ) -> None:
        """Store an object directly (test data)."""
        self._server.objects[(bucket, key)] = (
            body, dict(metadata or {}), formatdate(usegmt=True), _etag(body)
        )  # fmt: skip

    def put_file(
        self, bucket: str, key: str, path: Path, metadata: dict[str, str] | None = None
    ) -> None:
        """Serve the file at ``path`` as an object (streamed, never read whole)."""
        self._server.objects[(bucket, key)] = (
            path, dict(metadata or {}), formatdate(usegmt=True), _etag(path)
        )  # fmt: skip

    def get(self, bucket: str, key: str) -> bytes | None:
        """An object's bytes (read from its file if it has one), or None."""
        found = self._server.objects.get((bucket, key))
        if found is None:
            return None
        return found[0] if isinstance(found[0], bytes) else found[0].read_bytes()

    def size(self, bucket: str, key: str) -> int | None:
        """An object's size in bytes, or None."""
        found = self._server.objects.get((bucket, key))
        if found is None:
            return None
        return len(found[0]) if isinstance(found[0], bytes) else found[0].stat().st_size

    def delete(self, bucket: str, key: str) -> None:
        """Forget an object (its file too)."""
        found = self._server.objects.pop((bucket, key), None)
        if found is not None and isinstance(found[0], Path) and found[0].parent == self.root:
            found[0].unlink(missing_ok=True)

    @property
    def root(self) -> Path:
        """Where the stub keeps the files of multipart objects."""
        return self._server.root

    def __enter__(self) -> AwsStub:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        shutil.rmtree(self._server.root, ignore_errors=True)
