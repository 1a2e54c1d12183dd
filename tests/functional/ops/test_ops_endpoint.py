"""Both etl-ops commands honour AWS_ENDPOINT_URL, as boto3 does: pointed at a local
emulator, every AWS call goes there.

The "emulator" is a tiny HTTP server on 127.0.0.1 started by the test: it answers the
few calls an empty account needs and records every request. No moto, no network.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import boto3
import pytest
from test_ops_preflight import base_config, fake_pulumi, write_stack

from etl_platform.ops.cli import main
from etl_platform.ops.preflight import preflight

IDENTITY = (
    '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    "<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/emulator</Arn>"
    "<UserId>AIDEMULATOR</UserId><Account>123456789012</Account></GetCallerIdentityResult>"
    "<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
)


class Emulator(BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass

    def _reply(self, body: str, content_type: str = "application/json") -> None:
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.requests.append(f"GET {self.path.split('?')[0]}")
        if self.path.startswith("/2015-03-31/functions"):
            self._reply(json.dumps({"Functions": []}))
        elif self.path.startswith("/2016-08-19/account-settings"):
            self._reply(
                json.dumps(
                    {
                        "AccountLimit": {
                            "ConcurrentExecutions": 1000,
                            "UnreservedConcurrentExecutions": 1000,
                        }
                    }
                )
            )
        else:  # e.g. a function's reserved concurrency: none
            self._reply("{}")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        target = self.headers.get("X-Amz-Target") or body.split("&")[0]
        self.requests.append(f"POST {target}")
        if "GetCallerIdentity" in target:
            self._reply(IDENTITY, "text/xml")
        elif "DescribeLogGroups" in target:
            self._reply(json.dumps({"logGroups": []}), "application/x-amz-json-1.1")
        else:
            self._reply("{}", "application/x-amz-json-1.1")


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Emulator)
    Emulator.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    try:
        yield Emulator.requests
    finally:
        server.shutdown()
        server.server_close()


def test_audit_talks_to_the_endpoint(
    emulator: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "--strict"]) == 0
    assert "0 Lambda functions in us-east-1" in capsys.readouterr().out
    assert "GET /2015-03-31/functions" in emulator
    assert any("DescribeLogGroups" in r for r in emulator)


def test_preflight_talks_to_the_endpoint(emulator: list[str], tmp_path: Path) -> None:
    repo = write_stack(tmp_path / "repo", base_config())
    env = {"PATH": fake_pulumi(tmp_path), "PULUMI_CONFIG_PASSPHRASE": "test-only"}
    results = {r.name: r for r in preflight("dev", session=boto3.Session(), env=env, repo=repo)}
    assert results["credentials"].passed, results["credentials"]
    assert "arn:aws:iam::123456789012:user/emulator" in results["credentials"].detail
    assert results["concurrency"].passed, results["concurrency"]
    assert any("GetCallerIdentity" in r for r in emulator)
    assert any(r.startswith("GET /2016-08-19/account-settings") for r in emulator)
