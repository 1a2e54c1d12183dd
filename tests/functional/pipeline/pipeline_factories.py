"""Event factories and small S3 helpers for the pipeline's functional tests.

Imported by the tests as ``pipeline_factories`` (pytest puts this folder on sys.path).
"""

from __future__ import annotations

import base64
import itertools
import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote_plus

BUCKET = "etl-data-test"
REGION = "us-east-1"
_ids = itertools.count()


def lambda_context(function: str = "test") -> SimpleNamespace:
    """The attributes of a Lambda context object that the handlers read."""
    return SimpleNamespace(
        aws_request_id=f"req-{next(_ids)}", function_name=function, memory_limit_in_mb=512
    )


def api_event(
    method: str,
    path: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """A function URL (payload format 2.0) event; ``body`` dicts/lists are JSON-encoded."""
    raw: str | None
    if body is None:
        raw = None
    elif isinstance(body, bytes):
        raw = body.decode("utf-8")
    elif isinstance(body, str):
        raw = body
    else:
        raw = json.dumps(body)
    if raw is not None and base64_body:
        raw = base64.b64encode(raw.encode("utf-8")).decode("ascii")
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", **(headers or {})},
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1"},
            "requestId": "r-1",
        },
        "body": raw,
        "isBase64Encoded": base64_body,
    }


def s3_event(key: str, bucket: str = BUCKET, event_name: str = "ObjectCreated:Put") -> dict:
    """An S3 notification as Lambda receives it: the key URL-encoded like S3 does."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventName": event_name,
                "s3": {
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": quote_plus(key, safe="/"), "size": 1},
                },
            }
        ]
    }


def order(index: int = 1, **overrides: Any) -> dict[str, Any]:
    """A valid order; override or drop (``field=DROP``) any field."""
    record: dict[str, Any] = {
        "order_id": f"ORD-{index:05d}",
        "customer_id": f"cust-{index % 7}",
        "amount": "19.99",
        "currency": "USD",
        "created_at": "2026-01-15T10:30:00+01:00",
        "items": [{"sku": "SKU-1", "quantity": 2, "unit_price": 9.995}],
    }
    for key, value in overrides.items():
        if value is DROP:
            record.pop(key, None)
        else:
            record[key] = value
    return record


DROP = object()


def future_timestamp(minutes: int = 30) -> str:
    """An RFC 3339 timestamp ``minutes`` in the future."""
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


def body_of(response: dict[str, Any]) -> Any:
    """The decoded JSON body of a function URL response."""
    assert response["headers"]["content-type"] == "application/json"
    return json.loads(response["body"])


def list_keys(s3: Any, prefix: str = "") -> list[str]:
    """Every key in the data bucket under ``prefix``, sorted."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def read_text(s3: Any, key: str) -> str:
    """An object's body as text."""
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode("utf-8")


def read_jsonl(s3: Any, key: str) -> list[Any]:
    """A JSON-lines object as a list of values."""
    return [json.loads(line) for line in read_text(s3, key).splitlines()]
