"""One trace per batch, with either tracing backend: the pipeline test (ingest -> transform
-> load, moto + a real PostgreSQL) passes with ``xray-sdk`` and with ``otel``, every log
line of a batch carries the invocation's trace id and the batch id, and every hop's
trace is found by the annotation ``batch_id``.

Each backend runs in a child interpreter (``slo_tracing_probe.py``) with an in-memory
exporter: the X-Ray SDK's emitter captured, or OpenTelemetry's InMemorySpanExporter.
The hops come from the catalog: the URL function that writes the prefix an S3-triggered
function listens on, then each function triggered by what the previous one writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from etl_common import tracing
from pipeline_factories import query

from etl_platform.model.catalog import Catalog, load_catalog

pytestmark = pytest.mark.functional

PROBE = Path(__file__).resolve().parent / "slo_tracing_probe.py"


def s3_chain(catalog: Catalog) -> list[tuple[str, str | None]]:
    """``[(url function, None), (s3 function, its prefix), ...]`` following writes -> triggers."""
    triggered = {s.trigger.prefix: s for s in catalog if s.trigger.type == "s3"}

    def next_hop(spec: Any) -> Any:
        writes = (*spec.s3_write, *getattr(spec, "s3_create", ()))  # create-only writes too
        return next((triggered[p] for p in writes if p in triggered), None)

    starts = [s for s in catalog if s.trigger.type == "url" and next_hop(s)]
    assert len(starts) == 1, "expected one URL function that starts the S3 chain"
    chain: list[tuple[str, str | None]] = [(starts[0].name, None)]
    hop = next_hop(starts[0])
    while hop is not None and hop.name not in dict(chain):
        chain.append((hop.name, hop.trigger.prefix))
        hop = next_hop(hop)
    return chain


CHAIN = s3_chain(load_catalog())


def _walk(entity: dict[str, Any]) -> list[dict[str, Any]]:
    found = [entity]
    for sub in entity.get("subsegments") or []:
        found += _walk(sub)
    return found


@pytest.mark.parametrize("backend", tracing.BACKENDS)
def test_the_pipeline_traces_one_batch_across_its_hops(
    backend: str, postgres_server: Any, database: str
) -> None:
    # GIVEN a child interpreter that looks like Lambda with tracing on, for this backend
    server = {"host": postgres_server.host, "port": postgres_server.port, "dbname": database}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "_X_AMZN"))}

    # WHEN one batch goes through ingest, transform and load
    result = subprocess.run(
        [sys.executable, str(PROBE), backend, json.dumps(server), json.dumps(CHAIN)],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    batch_id, trace_ids = report["batch_id"], report["trace_ids"]
    first = CHAIN[0][0]

    # THEN the pipeline did its work, as without tracing
    assert report["manifest"]["stage"] == "loaded"
    assert report["manifest"]["counts"]["loaded"] == 2
    assert query(postgres_server, database, "SELECT count(*) FROM orders") == [(2,)]

    # AND every log line that knows the batch carries it and its invocation's trace id
    assert len(CHAIN) >= 3  # ingest -> transform -> load, as the catalog wires them
    batch_lines = [line for line in report["logs"] if line.get("batch_id") == batch_id]
    assert {line["function"] for line in batch_lines} == {name for name, _ in CHAIN}
    for line in batch_lines:
        assert line["trace_id"] == trace_ids[line["function"]], line
    assert all(line.get("trace_id") for line in report["logs"]), report["logs"]

    # AND each hop's trace (that invocation's trace id) has a span annotated with the
    # batch id, so `annotation.batch_id = "<id>"` finds the batch's whole journey
    if backend == "otel":
        for function, _ in CHAIN:
            xray_hex = trace_ids[function].replace("1-", "", 1).replace("-", "")
            annotated = [
                s
                for s in report["spans"]
                if s["trace_id"] == xray_hex and s["attributes"].get("batch_id") == batch_id
            ]
            assert annotated, function
            for span in annotated:
                assert "batch_id" in span["attributes"][tracing.ANNOTATIONS_ATTRIBUTE]
                assert span["parent"] == "53995c3f42cd8ad8"  # the Lambda segment
                # AND every hop names the batch's first trace (the first hop's own)
                assert span["attributes"]["first_trace_id"] == trace_ids[first]
        # AND the later hops link to the first hop's span that wrote the batch
        first_hex = trace_ids[first].replace("1-", "", 1).replace("-", "")
        first_spans = {s["span_id"] for s in report["spans"] if s["trace_id"] == first_hex}
        for function, _ in CHAIN[1:]:
            xray_hex = trace_ids[function].replace("1-", "", 1).replace("-", "")
            links = [
                link for s in report["spans"] if s["trace_id"] == xray_hex for link in s["links"]
            ]
            assert links and all(t == first_hex and sid in first_spans for t, sid in links)
        assert report["patched"] == []
    else:
        entities = [e for top in report["spans"] for e in _walk(top)]
        for function, _ in CHAIN:
            annotated = [
                e
                for e in entities
                if e.get("trace_id") == trace_ids[function]
                and (e.get("annotations") or {}).get("batch_id") == batch_id
            ]
            assert annotated, function
            # AND every hop names the batch's first trace (the first hop's own)
            assert any(
                e["annotations"].get("first_trace_id") == trace_ids[first] for e in annotated
            ), function
        assert "botocore" in report["patched"]
