"""etl_common.tracing without Lambda: the trace id for the logs, the backend choice, the
OTLP/JSON encoding the ``otel`` backend sends to the ADOT collector, and the no-op path."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from etl_common import logger, runtime, tracing

ROOT = "1-5759e988-bd862e3fe1be46a994272793"


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in ("ETL_TRACING", "AWS_LAMBDA_FUNCTION_NAME", "AWS_XRAY_DAEMON_ADDRESS"):
        monkeypatch.delenv(key, raising=False)
    tracing.reset()
    yield
    tracing.reset()
    logger.clear()


def test_trace_id_is_the_root_of_lambdas_trace_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1")
    assert tracing.trace_id() == ROOT
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "garbage")
    assert tracing.trace_id() is None


def test_every_log_line_of_an_invocation_carries_the_trace_id_and_the_batch_id(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an invocation as Lambda starts it (trace header set)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1")
    log = logger.get_logger("etl.test-tracing")
    with runtime.invocation("transform", None):
        log.info("before the batch is known")
        logger.bind(batch_id="b-1")
        log.info("with the batch")
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [line["trace_id"] for line in lines] == [ROOT, ROOT]
    assert "batch_id" not in lines[0] and lines[1]["batch_id"] == "b-1"


def test_backend_defaults_to_xray_sdk_and_unknown_values_do_not_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert tracing.backend() == "xray-sdk"
    monkeypatch.setenv("ETL_TRACING", "otel")
    tracing.reset()
    assert tracing.backend() == "otel"
    monkeypatch.setenv("ETL_TRACING", "nonsense")
    tracing.reset()
    assert tracing.backend() == "xray-sdk"


def test_outside_lambda_nothing_is_traced_with_either_backend(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for backend in tracing.BACKENDS:
        monkeypatch.setenv("ETL_TRACING", backend)
        tracing.reset()
        assert not tracing.is_enabled()
        with tracing.subsegment("stage", batch_id="b") as span:
            span.annotate("x", 1)  # a no-op, no SDK imported for it


def test_otel_spans_are_encoded_as_otlp_json_with_xray_ids_and_annotations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    # GIVEN the otel backend in a Lambda invocation, with an in-memory exporter
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1")
    exporter = InMemorySpanExporter()
    tracing.use_otel_exporter(exporter)
    logger.bind(batch_id="b-7")
    # WHEN a stage runs
    with tracing.subsegment("transform", records=3):
        pass
    (span,) = exporter.get_finished_spans()
    doc: dict[str, Any] = tracing.otlp_json([span])
    # THEN the OTLP document carries the X-Ray trace id, the Lambda segment as parent,
    # and the bound batch id as an attribute the collector turns into an annotation
    (encoded,) = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert encoded["traceId"] == ROOT[2:].replace("-", "")
    assert encoded["parentSpanId"] == "53995c3f42cd8ad8"
    attributes = {a["key"]: a["value"] for a in encoded["attributes"]}
    assert attributes["batch_id"] == {"stringValue": "b-7"}
    assert attributes["records"] == {"intValue": "3"}
    assert attributes["first_trace_id"] == {"stringValue": ROOT}  # this is the first hop
    listed = attributes[tracing.ANNOTATIONS_ATTRIBUTE]["arrayValue"]["values"]
    assert [v["stringValue"] for v in listed] == ["batch_id", "records", "first_trace_id"]
    assert encoded["kind"] == 1 and int(encoded["endTimeUnixNano"]) >= int(
        encoded["startTimeUnixNano"]
    )
    json.dumps(doc)  # serializable as sent


def test_the_first_trace_travels_in_s3_metadata_and_is_linked_by_the_next_hop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    # GIVEN the first hop, in its invocation, writing an object
    exporter = InMemorySpanExporter()
    tracing.use_otel_exporter(exporter)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1")
    with runtime.invocation("ingest", None), tracing.subsegment("store", batch_id="b"):
        metadata = tracing.link_metadata()
    (writer,) = exporter.get_finished_spans()
    assert metadata == {"trace-root": f"Root={ROOT};Parent={writer.context.span_id:016x}"}

    # WHEN the next hop, in another trace, reads that object inside its stage
    next_root = "1-5759e999-000000000000000000000001"
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={next_root};Parent=1111111111111111;Sampled=1")
    with runtime.invocation("transform", None):
        with tracing.subsegment("transform", batch_id="b"):
            tracing.link_from(metadata)
            passed_on = tracing.link_metadata()
        with tracing.subsegment("write", batch_id="b"):
            pass
    *_, reader, later = exporter.get_finished_spans()

    # THEN its spans name the first trace and link to the writer's span, and it passes
    # the first trace on (not its own) to the hop after it
    for span in (reader, later):
        assert span.attributes["first_trace_id"] == ROOT
        (link,) = span.links
        assert (link.context.trace_id, link.context.span_id) == (
            writer.context.trace_id,
            writer.context.span_id,
        )
    assert passed_on == metadata
    # AND the next invocation starts afresh
    with runtime.invocation("transform", None):
        assert tracing.first_trace_id() == next_root
