"""The ``otel`` backend posts its spans to the collector at the end of the invocation.

Functional tier: the ADOT collector extension is stood in for by a real HTTP server on
loopback (a network socket, so not a unit test; moved here from
tests/unit/pipeline/test_slo_tracing_unit.py when the unit tier began refusing sockets).
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from etl_common import logger, runtime, tracing

pytestmark = pytest.mark.functional

ROOT = "1-5759e988-bd862e3fe1be46a994272793"


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in ("ETL_TRACING", "AWS_LAMBDA_FUNCTION_NAME", "AWS_XRAY_DAEMON_ADDRESS"):
        monkeypatch.delenv(key, raising=False)
    tracing.reset()
    yield
    tracing.reset()
    logger.clear()


def test_otel_in_lambda_exports_to_the_collector_endpoint_at_the_end_of_the_invocation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    received: list[tuple[str, str, dict[str, Any]]] = []

    class Collector(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers["Content-Type"], json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    # GIVEN a local stand-in for the ADOT collector extension (OTLP/HTTP on loopback)
    server = http.server.HTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        monkeypatch.setenv("ETL_TRACING", "otel")
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "lambda-transform-dev")
        monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1")
        tracing.reset()
        # WHEN an invocation traces one stage
        with runtime.invocation("transform", None), tracing.subsegment("transform", batch_id="b"):
            pass
    finally:
        server.shutdown()
    # THEN the span was posted as OTLP/JSON to /v1/traces before the invocation returned
    ((path, content_type, doc),) = received
    assert (path, content_type) == ("/v1/traces", "application/json")
    (span,) = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert span["name"] == "transform" and span["traceId"] == ROOT[2:].replace("-", "")
    resource = {a["key"]: a["value"] for a in doc["resourceSpans"][0]["resource"]["attributes"]}
    assert resource["service.name"] == {"stringValue": "lambda-transform-dev"}
