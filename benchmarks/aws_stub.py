"""A loopback stand-in for the two AWS APIs the pipeline calls: S3 objects and one secret.

The benchmarks point boto3 at it with ``AWS_ENDPOINT_URL`` so that the handlers run
their real client code (signing, serialisation, retries, HTTP) but the network costs
next to nothing and the same for our code and its baselines. It answers just what
the handlers use:

- S3 ``PutObject`` (``If-None-Match: *`` -> 412 when the key exists, ``x-amz-meta-*``
  kept, ``aws-chunked`` bodies decoded), ``GetObject`` (404 ``NoSuchKey``),
  ``HeadObject``;
- Secrets Manager ``GetSecretValue`` for the secrets given to :class:`AwsStub`.

It is not moto: no validation, no other operation. Objects live in memory.
"""

from __future__ import annotations

import hashlib
import json
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = ["AwsStub"]


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

    def do_PUT(self) -> None:
        bucket, key = self._object_key()
        body = self._body()
        store = self.server.objects
        with self.server.lock:
            if self.headers.get("If-None-Match") == "*" and (bucket, key) in store:
                self._s3_error(412, "PreconditionFailed")
                return
            metadata = {
                name[len("x-amz-meta-") :]: value
                for name, value in self.headers.items()
                if name.lower().startswith("x-amz-meta-")
            }
            store[(bucket, key)] = (body, metadata, formatdate(usegmt=True))
        self._reply(200, headers={"ETag": f'"{hashlib.md5(body).hexdigest()}"'})

    def _get(self) -> None:
        bucket, key = self._object_key()
        found = self.server.objects.get((bucket, key))
        if found is None:
            self._s3_error(404, "NoSuchKey")
            return
        body, metadata, modified = found
        headers = {
            "ETag": f'"{hashlib.md5(body).hexdigest()}"',
            "Last-Modified": modified,
            "Content-Type": "application/octet-stream",
            **{f"x-amz-meta-{k.lower()}": v for k, v in metadata.items()},
        }
        self._reply(200, body, headers)

    do_HEAD = _get

    def do_GET(self) -> None:
        self._get()

    def do_POST(self) -> None:
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
    objects: dict[tuple[str, str], tuple[bytes, dict[str, str], str]]
    secrets: dict[str, str]
    lock: threading.Lock


class AwsStub:
    """``with AwsStub(secrets={arn: json}) as stub:`` ``stub.endpoint`` is its URL."""

    def __init__(self, secrets: dict[str, str] | None = None) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.objects = {}
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
        self._server.objects[(bucket, key)] = (body, dict(metadata or {}), formatdate(usegmt=True))

    def get(self, bucket: str, key: str) -> bytes | None:
        """An object's bytes, or None."""
        found = self._server.objects.get((bucket, key))
        return None if found is None else found[0]

    def __enter__(self) -> AwsStub:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
