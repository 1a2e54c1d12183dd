"""Child-interpreter probe: the pipeline (ingest -> transform -> load) as in Lambda with
tracing on, for one backend, with an in-memory exporter. Prints one JSON report.

Run by ``test_slo_tracing.py`` (a child process, so the test process never patches
botocore or installs a global tracer). ``argv``: backend, PostgreSQL server JSON, and
the chain as JSON: ``[[function, trigger prefix or null], ...]`` from the catalog, the
first one invoked through its URL (``POST /batches``), each next one with the S3 event
of the object the previous hop wrote under its trigger prefix. moto plays S3 and
Secrets Manager; each invocation gets its own ``_X_AMZN_TRACE_ID``, as Lambda sets it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path[:0] = [str(REPO / "layers" / "etl-common"), str(HERE)]


def _trace_id(hop: int) -> str:
    return f"1-674a1b{hop:02x}-{hop:024x}"


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(
        f"probe_{name.replace('-', '_')}", REPO / "lambdas" / name / "handler.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    backend, server, chain = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
    trace_ids = {name: _trace_id(hop + 1) for hop, (name, _) in enumerate(chain)}
    os.environ.update(
        {
            "ETL_TRACING": backend,
            "AWS_LAMBDA_FUNCTION_NAME": "lambda-probe-dev",
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
            "LAMBDA_TASK_ROOT": str(REPO),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "SUPPORTED_CURRENCIES": "USD,EUR",
        }
    )
    from etl_common import tracing
    from moto import mock_aws
    from pipeline_factories import (
        BUCKET,
        api_event,
        create_db_secret,
        lambda_context,
        order,
        s3_event,
    )

    spans: list[dict[str, Any]] = []
    if backend == "otel":
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        exporter = InMemorySpanExporter()
        tracing.use_otel_exporter(exporter)
    else:
        from aws_xray_sdk.core import xray_recorder
        from aws_xray_sdk.core.lambda_launcher import LambdaContext

        class Emitter:
            def send_entity(self, entity: Any) -> None:
                spans.append(entity.to_dict())

            def set_daemon_address(self, address: Any) -> None:
                return None

        xray_recorder.configure(emitter=Emitter(), context=LambdaContext())

    out = io.StringIO()
    with mock_aws(), contextlib.redirect_stdout(out):
        import boto3

        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        os.environ["DATA_BUCKET"] = BUCKET
        os.environ.update(
            {
                "DB_SECRET_ARN": create_db_secret(server["host"], server["port"], server["dbname"]),
                "DB_SSLMODE": "disable",
                "DB_CONNECT_TIMEOUT": "5",
                "MAX_CONNECTIONS": "2",
            }
        )
        handlers = {name: _load(name) for name in trace_ids}

        def invoke(name: str, event: dict[str, Any]) -> Any:
            header = f"Root={trace_ids[name]};Parent=53995c3f42cd8ad8;Sampled=1"
            os.environ["_X_AMZN_TRACE_ID"] = header
            return handlers[name].handler(event, lambda_context(name))

        records = [order(1), order(2, currency="EUR"), order(3, currency="CHF")]
        first, _ = chain[0]
        answer = invoke(first, api_event("POST", "/batches", {"records": records}))
        batch_id = json.loads(answer["body"])["batch_id"]
        for name, prefix in chain[1:]:
            listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents") or []
            (key,) = [o["Key"] for o in listed if batch_id in o["Key"]]
            invoke(name, s3_event(key))
        manifest = json.loads(
            s3.get_object(Bucket=BUCKET, Key=f"manifests/{batch_id}.json")["Body"].read()
        )
        for module in handlers.values():
            database = getattr(module, "DATABASE", None)
            if database is not None:
                database.close()

    if backend == "otel":
        for span in exporter.get_finished_spans():
            spans.append(
                {
                    "name": span.name,
                    "trace_id": f"{span.context.trace_id:032x}",
                    "attributes": dict(span.attributes or {}),
                    "parent": f"{span.parent.span_id:016x}" if span.parent else None,
                    "span_id": f"{span.context.span_id:016x}",
                    "links": [
                        [f"{link.context.trace_id:032x}", f"{link.context.span_id:016x}"]
                        for link in span.links
                    ],
                }
            )
    logs = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    print(
        json.dumps(
            {
                "batch_id": batch_id,
                "manifest": manifest,
                "logs": [line for line in logs if "_aws" not in line],
                "spans": spans,
                "patched": sorted(tracing._state["patched"]),
                "trace_ids": trace_ids,
            },
            default=str,
        )
    )


if __name__ == "__main__":
    main()
