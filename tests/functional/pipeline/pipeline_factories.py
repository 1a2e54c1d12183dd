"""Event factories and small S3 helpers for the pipeline's functional tests.

Imported by the tests as ``pipeline_factories`` (pytest puts this folder on sys.path).
"""

from __future__ import annotations

import base64
import csv
import io
import itertools
import json
import socket
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote_plus

from etl_common.datasets.orders import DATASET

from etl_platform.model.settings import DEFAULT_STAGE_SLA_MINUTES, WAITING_STAGES
from etl_platform.model.slo import stage_sla_variable

BUCKET = "etl-data-test"
REGION = "us-east-1"
_ids = itertools.count()

#: The watchdog's environment as the platform sets it with the default settings (the
#: handler requires the stage SLAs: it has no defaults of its own).
WATCHDOG_ENV = {
    "STAGE_SLA_MINUTES": stage_sla_variable(
        dict.fromkeys(WAITING_STAGES, DEFAULT_STAGE_SLA_MINUTES)
    ),
    "SCHEDULE_RATE_SECONDS": "300",
    "LOOKBACK_HOURS": "24",
}


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
    """A JSON-lines object as a list of values (framed on \n only, like the pipeline)."""
    text = read_text(s3, key)
    assert text == "" or text.endswith("\n"), "every JSON line ends with \\n"
    return [json.loads(line) for line in text.split("\n")[:-1]]


STAGED_INTS = ("amount_cents", "item_count", "raw_line")


def read_staged(s3: Any, key: str) -> list[dict[str, Any]]:
    """A staged object (CSV with a header) as dicts; integer columns as ints."""
    rows = list(csv.DictReader(io.StringIO(read_text(s3, key), newline="")))
    for row in rows:
        for name in STAGED_INTS:
            row[name] = int(row[name])
    return rows


def put_raw(
    s3: Any,
    batch_id: str,
    lines: list[Any],
    *,
    day: str = "2026/11/29",
    metadata: dict[str, str] | None = None,
) -> str:
    """Write a raw batch object (values JSON-encoded, strings written as-is); return its key."""
    key = f"raw/{day}/{batch_id}.jsonl"
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    s3.put_object(Bucket=BUCKET, Key=key, Body=text.encode("utf-8"), Metadata=metadata or {})
    return key


def read_json(s3: Any, key: str) -> Any:
    """A JSON object's body."""
    return json.loads(read_text(s3, key))


STAGED_COLUMNS = DATASET.staged_file_columns
RECEIVED_AT = "2026-11-29T08:49:00.000Z"


def staged_row(
    index: int, batch_id: str, *, received_at: str = RECEIVED_AT, **overrides: Any
) -> dict[str, Any]:
    """A staged row as transform writes it (version: ``received_at``, then the batch id)."""
    row: dict[str, Any] = {
        "order_id": f"ORD-{index:05d}",
        "customer_id": f"cust-{index % 7}",
        "amount_cents": 1000 + index,
        "currency": "USD",
        "created_at": "2026-01-15T09:30:00Z",
        "item_count": 1,
        "batch_id": batch_id,
        "batch_received_at": received_at,
    }
    row.update(overrides)
    return row


def staged_text(rows: list[Any]) -> str:
    """The staged CSV of ``rows`` (dicts; strings are written as they are); a row without
    ``raw_line`` gets its position (1-based) as its raw line number."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(STAGED_COLUMNS)
    for number, row in enumerate(rows, start=1):
        if isinstance(row, str):
            out.write(row + "\n")
        else:
            writer.writerow([{"raw_line": number, **row}[c] for c in STAGED_COLUMNS])
    return out.getvalue()


def put_staged(
    s3: Any,
    batch_id: str,
    rows: list[Any],
    *,
    manifest: bool = True,
    counts: dict[str, int] | None = None,
) -> str:
    """Write a staged object (and, by default, its ``transformed`` manifest); return its key.

    ``counts`` (transform's received/staged/rejected/duplicates) replace the manifest's
    defaults (every row staged, one line rejected, duplicates not resolved yet)."""
    key = f"staged/{batch_id}.csv"
    text = staged_text(rows)
    if manifest:
        s3.put_object(
            Bucket=BUCKET,
            Key=f"manifests/{batch_id}.json",
            Body=json.dumps(
                {
                    "version": 2,
                    "batch_id": batch_id,
                    "dataset": "orders",
                    "stage": "transformed",
                    "counts": {
                        "received": len(rows) + 1,
                        "staged": len(rows),
                        "rejected": 1,
                        "duplicates": None,
                        **(counts or {}),
                        "loaded": None,
                        "stale": None,
                    },
                    "times": {
                        "received_at": "2026-11-29T08:49:00.000Z",
                        "transformed_at": "2026-11-29T08:49:01.000Z",
                        "loaded_at": None,
                    },
                    "raw_key": f"raw/2026/11/29/{batch_id}.jsonl",
                    "staged_key": key,
                    "rejected_key": f"rejected/{batch_id}.jsonl",
                }
            ),
        )
    s3.put_object(Bucket=BUCKET, Key=key, Body=text.encode("utf-8"), Metadata={"dataset": "orders"})
    return key


# --------------------------------------------------------------------- databases


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def create_db_secret(
    host: str, port: int, dbname: str, *, user: str = "postgres", name: str = "etl/db"
) -> str:
    """Store an RDS-shaped secret in (moto) Secrets Manager; return its ARN."""
    import boto3

    client = boto3.client("secretsmanager", region_name=REGION)
    secret = {
        "engine": "postgres",
        "host": host,
        "port": port,
        "username": user,
        "password": "not-checked-trust-auth",
        "dbname": dbname,
    }
    return str(client.create_secret(Name=name, SecretString=json.dumps(secret))["ARN"])


def query(server: Any, dbname: str, sql: str) -> list[tuple[Any, ...]]:
    """Run one query in a database and return all rows."""
    import psycopg

    with psycopg.connect(server.conninfo(dbname)) as conn:
        return list(conn.execute(sql).fetchall())
