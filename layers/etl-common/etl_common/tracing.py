"""Tracing: the ONLY module that knows which tracing SDK the pipeline uses.

Two backends behind one interface, chosen per stack by ``etl:tracing`` (the
platform passes it as ``ETL_TRACING``):

- ``xray-sdk`` (default): the AWS X-Ray SDK (in maintenance since 2026-02-25, end of
  support 2027-02-25). Subsegments of the function's Lambda segment; botocore and
  psycopg are patched so AWS and database calls show as subsegments.
- ``otel``: the OpenTelemetry SDK with AWS's X-Ray id generator and X-Ray
  propagator, so trace ids are X-Ray trace ids and every span is a child of the
  invocation's Lambda segment (``_X_AMZN_TRACE_ID``); spans are exported as OTLP
  (HTTP, JSON encoding, standard library only) to the ADOT collector extension
  (``OTEL_EXPORTER_OTLP_ENDPOINT``, default ``http://localhost:4318``), which sends
  them to X-Ray. Annotations become span attributes listed in
  ``aws.xray.annotations``, which the collector's X-Ray exporter indexes as
  annotations, so the same filter expressions work with both backends. AWS SDK and
  database calls are not instrumented under ``otel`` (only the stage spans).

Handlers use a few calls, whatever the backend:

- :func:`setup` once per invocation (idempotent): in Lambda with tracing on, imports
  the SDK (and, for ``xray-sdk``, patches botocore).
- :func:`patch_database` before the first database connection (``xray-sdk``: psycopg).
- :func:`subsegment` around each stage, with annotations (batch id, counts). The
  batch id bound in the logging context (:func:`etl_common.logger.bind`) is added to
  every span that does not name one, so each hop's trace is found by
  ``annotation.batch_id = "<batch_id>"`` (X-Ray filter expression).
- :func:`trace_id` the invocation's X-Ray trace id (``1-5759e988-bd862e3fe1be46a994272793``)
  for the logs; :func:`flush` at the end of an invocation (``otel``: export now, before
  Lambda freezes the environment).
- Across S3 hops, :mod:`etl_common.s3` carries the batch's *first* trace in each object it
  writes (user metadata ``trace-root``: ``Root=<first trace id>;Parent=<span id>``, from
  :func:`link_metadata`) and hands the metadata of each object it reads to
  :func:`link_from`. Every span of the next hop is then annotated ``first_trace_id``
  (and, under ``otel``, carries a span link to the writer's span), so
  ``annotation.first_trace_id = "<ingest's trace id>"`` opens a batch's whole journey,
  as ``annotation.batch_id`` does.

Outside Lambda (tests, local runs) tracing is disabled: no SDK is imported, nothing is
sent, and :func:`subsegment` is a cheap no-op, unless a test installs an exporter
(:func:`use_otel_exporter`).

Environment variables (read on first use; :func:`reset` forgets them):

- ``ETL_TRACING``: ``xray-sdk`` (default) or ``otel``.
- ``AWS_LAMBDA_FUNCTION_NAME``: set by Lambda; tracing is only on in Lambda.
- ``AWS_XRAY_DAEMON_ADDRESS``: set by Lambda with active tracing (``xray-sdk`` needs it).
- ``AWS_XRAY_SDK_ENABLED`` / ``OTEL_SDK_DISABLED``: ``false`` / ``true`` turn tracing off.
- ``_X_AMZN_TRACE_ID``: set by Lambda per invocation: ``Root=1-...;Parent=...;Sampled=1``.
- ``OTEL_EXPORTER_OTLP_ENDPOINT``: the collector (default ``http://localhost:4318``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

__all__ = [
    "BACKENDS",
    "Span",
    "backend",
    "flush",
    "is_enabled",
    "link_from",
    "link_metadata",
    "patch_database",
    "reset",
    "setup",
    "start_invocation",
    "subsegment",
    "trace_id",
    "use_otel_exporter",
]

BACKENDS = ("xray-sdk", "otel")
ANNOTATIONS_ATTRIBUTE = "aws.xray.annotations"
LINK_METADATA_KEY = "trace-root"  # S3 user metadata: x-amz-meta-trace-root
_DEFAULT_ENDPOINT = "http://localhost:4318"

_state: dict[str, Any] = {
    "enabled": None,
    "backend": None,
    "patched": set(),
    "recorder": None,
    "tracer": None,
    "provider": None,
    "exporter": None,
    "first": None,  # the batch's first trace, as read from an object: (root, parent span)
}
_ANNOTATION_KEY = re.compile(r"[^A-Za-z0-9_]")
_ROOT = re.compile(r"(?:^|;)\s*Root=(1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24})")
_PARENT = re.compile(r"(?:^|;)\s*Parent=([0-9a-fA-F]{16})")


def backend() -> str:
    """The configured backend (``ETL_TRACING``; unknown values fall back to ``xray-sdk``)."""
    if _state["backend"] is None:
        chosen = os.environ.get("ETL_TRACING", "").strip().lower() or "xray-sdk"
        _state["backend"] = chosen if chosen in BACKENDS else "xray-sdk"
    return str(_state["backend"])


def is_enabled() -> bool:
    """True when running in Lambda with tracing on for the backend (decided once)."""
    if _state["enabled"] is None:
        in_lambda = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
        if backend() == "otel":
            _state["enabled"] = _state["exporter"] is not None or (
                in_lambda and os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() != "true"
            )
        else:
            _state["enabled"] = (
                in_lambda
                and bool(os.environ.get("AWS_XRAY_DAEMON_ADDRESS"))
                and os.environ.get("AWS_XRAY_SDK_ENABLED", "true").strip().lower() != "false"
            )
    return bool(_state["enabled"])


def reset() -> None:
    """Forget the decisions (tests only; X-Ray patches cannot be undone)."""
    flush()
    _state.update(enabled=None, backend=None, tracer=None, provider=None, exporter=None, first=None)


def use_otel_exporter(exporter: Any) -> None:
    """Select ``otel`` and export spans to ``exporter`` (tests: an in-memory exporter)."""
    reset()
    _state["backend"] = "otel"
    _state["exporter"] = exporter


def trace_id() -> str | None:
    """The current invocation's X-Ray trace id, whatever the backend; ``None`` outside Lambda."""
    match = _ROOT.search(os.environ.get("_X_AMZN_TRACE_ID", ""))
    return match.group(1).lower() if match else None


def start_invocation() -> None:
    """Forget the previous invocation's first trace (called by :mod:`etl_common.runtime`)."""
    _state["first"] = None


def first_trace_id() -> str | None:
    """The batch's first trace: the one read from an upstream object, else this one."""
    first = _state["first"]
    return first[0] if first else trace_id()


def _current_span_id() -> str | None:
    if not is_enabled():
        return None
    if backend() == "otel":
        from opentelemetry import trace

        context = trace.get_current_span().get_span_context()
        return f"{context.span_id:016x}" if context.is_valid else None
    entity = _recorder().get_trace_entity()
    return str(entity.id) if entity is not None and getattr(entity, "id", None) else None


def link_metadata() -> dict[str, str]:
    """S3 user metadata that carries the batch's first trace to the next hop."""
    first = _state["first"]
    if first is not None:
        root, parent = first
    else:
        root, parent = trace_id(), _current_span_id()
    if root is None:
        return {}
    return {LINK_METADATA_KEY: f"Root={root}" + (f";Parent={parent}" if parent else "")}


def link_from(metadata: Mapping[str, str]) -> None:
    """Record the first trace named by an object read from S3; annotate the current span."""
    value = metadata.get(LINK_METADATA_KEY) or ""
    root = _ROOT.search(value)
    if root is None or root.group(1).lower() == trace_id():
        return
    parent = _PARENT.search(value)
    _state["first"] = (root.group(1).lower(), parent.group(1).lower() if parent else None)
    if not is_enabled():
        return
    if backend() == "otel":
        from opentelemetry import trace

        current = trace.get_current_span()
        if current.is_recording():
            span = Span(current, otel=True)
            span.annotate("first_trace_id", _state["first"][0])
            _add_link(current, *_state["first"])
        return
    from aws_xray_sdk.core.models.subsegment import Subsegment

    entity = _recorder().get_trace_entity()
    if isinstance(entity, Subsegment):
        entity.put_annotation("first_trace_id", _state["first"][0])


def _add_link(span: Any, root: str, parent: str | None) -> None:
    if parent is None:
        return
    from opentelemetry.trace import SpanContext, TraceFlags

    context = SpanContext(
        trace_id=int(root[2:].replace("-", ""), 16),
        span_id=int(parent, 16),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    span.add_link(context, {"link.type": "batch-first-trace"})


# ------------------------------------------------------------------------------ xray-sdk


def _patch(*modules: str) -> None:
    todo = [m for m in modules if m not in _state["patched"]]
    if not todo or not is_enabled() or backend() != "xray-sdk":
        return
    from aws_xray_sdk.core import patch

    _recorder()
    patch(todo)
    _state["patched"].update(todo)


def _recorder() -> Any:
    if _state["recorder"] is None:
        from aws_xray_sdk.core import xray_recorder

        xray_recorder.configure(context_missing="LOG_ERROR")
        _state["recorder"] = xray_recorder
    return _state["recorder"]


# ------------------------------------------------------------------------------ otel


def _tracer() -> Any:
    if _state["tracer"] is None:
        from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

        resource = Resource.create(
            {
                "service.name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or "etl",
                "cloud.provider": "aws",
                "cloud.platform": "aws_lambda",
            }
        )
        provider = TracerProvider(resource=resource, id_generator=AwsXRayIdGenerator())
        if _state["exporter"] is not None:
            provider.add_span_processor(SimpleSpanProcessor(_state["exporter"]))
        else:
            provider.add_span_processor(BatchSpanProcessor(_otlp_exporter()))
        _state["provider"] = provider
        _state["tracer"] = provider.get_tracer("etl_common.tracing")
    return _state["tracer"]


def _lambda_parent() -> Any:
    """The invocation's Lambda segment as the parent context (X-Ray propagator)."""
    from opentelemetry import trace
    from opentelemetry.propagators.aws import AwsXRayPropagator

    if trace.get_current_span().get_span_context().is_valid:
        return None  # nested: the current span is the parent
    header = os.environ.get("_X_AMZN_TRACE_ID", "")
    if not header:
        return None
    return AwsXRayPropagator().extract({"X-Amzn-Trace-Id": header})


def _otlp_exporter() -> Any:
    """OTLP over HTTP with JSON encoding to the collector extension (standard library only)."""
    import urllib.request

    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip() or _DEFAULT_ENDPOINT
    url = base.rstrip("/") + "/v1/traces"

    class OtlpJsonExporter(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            request = urllib.request.Request(
                url,
                data=json.dumps(otlp_json(spans)).encode("utf-8"),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    response.read()
            except OSError:
                return SpanExportResult.FAILURE
            return SpanExportResult.SUCCESS

    return OtlpJsonExporter()


def _otlp_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [_otlp_value(v) for v in value]}}
    return {"stringValue": str(value)}


def _otlp_attributes(attributes: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return [{"key": k, "value": _otlp_value(v)} for k, v in (attributes or {}).items()]


def otlp_json(spans: Any) -> dict[str, Any]:
    """Finished SDK spans as an OTLP/JSON ``ExportTraceServiceRequest`` (ids in hex)."""
    by_resource: dict[int, tuple[Any, list[dict[str, Any]]]] = {}
    for span in spans:
        context = span.get_span_context()
        encoded = {
            "traceId": f"{context.trace_id:032x}",
            "spanId": f"{context.span_id:016x}",
            "name": span.name,
            "kind": int(span.kind.value) + 1,  # SDK INTERNAL=0 -> OTLP SPAN_KIND_INTERNAL=1
            "startTimeUnixNano": str(span.start_time),
            "endTimeUnixNano": str(span.end_time),
            "attributes": _otlp_attributes(span.attributes),
            "status": {"code": int(span.status.status_code.value)},
            "links": [
                {
                    "traceId": f"{link.context.trace_id:032x}",
                    "spanId": f"{link.context.span_id:016x}",
                    "attributes": _otlp_attributes(link.attributes),
                }
                for link in span.links
            ],
        }
        if span.parent is not None:
            encoded["parentSpanId"] = f"{span.parent.span_id:016x}"
        by_resource.setdefault(id(span.resource), (span.resource, []))[1].append(encoded)
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": _otlp_attributes(resource.attributes)},
                "scopeSpans": [{"scope": {"name": "etl_common.tracing"}, "spans": encoded}],
            }
            for resource, encoded in by_resource.values()
        ]
    }


# ------------------------------------------------------------------------------ interface


def setup() -> None:
    """Ready the backend when tracing is on (``xray-sdk``: patch botocore); cheap when repeated."""
    if not is_enabled():
        return
    if backend() == "otel":
        _tracer()
    else:
        _patch("botocore")


def patch_database() -> None:
    """Patch psycopg (connections, including pooled ones) when ``xray-sdk`` tracing is on."""
    _patch("psycopg")


def flush() -> None:
    """Export what is pending (``otel``); a no-op otherwise. Call at the end of an invocation."""
    provider = _state.get("provider")
    if provider is not None:
        provider.force_flush()


class Span:
    """A handle on the current subsegment/span; a no-op when tracing is disabled."""

    def __init__(self, segment: Any = None, otel: bool = False) -> None:
        self._segment = segment
        self._otel = otel

    def annotate(self, key: str, value: str | int | float | bool | None) -> None:
        """Add an indexed annotation (keys are sanitised to ``[A-Za-z0-9_]``)."""
        if self._segment is None or value is None:
            return
        key = _ANNOTATION_KEY.sub("_", key)
        if self._otel:
            self._segment.set_attribute(key, value)
            listed = list(
                (getattr(self._segment, "attributes", None) or {}).get(ANNOTATIONS_ATTRIBUTE) or ()
            )
            if key not in listed:
                self._segment.set_attribute(ANNOTATIONS_ATTRIBUTE, [*listed, key])
        else:
            self._segment.put_annotation(key, value)

    def annotate_many(self, values: Mapping[str, Any]) -> None:
        """Annotate every key of ``values``."""
        for key, value in values.items():
            self.annotate(key, value)


_NOOP = Span()


def _with_batch(annotations: dict[str, Any]) -> dict[str, Any]:
    """The bound batch id and the batch's first trace, unless the caller named them."""
    if annotations.get("batch_id") is None:
        from etl_common import logger

        batch_id = logger.context().get("batch_id")
        if batch_id is not None:
            annotations = {"batch_id": batch_id, **annotations}
    if annotations.get("first_trace_id") is None and annotations.get("batch_id") is not None:
        first = first_trace_id()
        if first is not None:
            annotations = {**annotations, "first_trace_id": first}
    return annotations


@contextmanager
def subsegment(name: str, **annotations: str | int | float | bool | None) -> Iterator[Span]:
    """Trace the ``with`` block as a subsegment/span named ``name`` with ``annotations``."""
    if not is_enabled():
        yield _NOOP
        return
    setup()
    values = _with_batch(dict(annotations))
    if backend() == "otel":
        tracer = _tracer()
        with tracer.start_as_current_span(name, context=_lambda_parent()) as otel_span:
            span = Span(otel_span, otel=True)
            span.annotate_many(values)
            if _state["first"] is not None:
                _add_link(otel_span, *_state["first"])
            yield span
        return
    with _recorder().in_subsegment(name) as segment:
        span = Span(segment)
        span.annotate_many(values)
        yield span
