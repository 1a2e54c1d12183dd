"""A temporary catalog with one function per newer trigger type, and the stack that backs it.

An estate function keeps its queue, stream, topic, bus or REST API: the stack declares
them in ``etl:resources`` (:data:`RESOURCES`), the entries name them. One function is
Node.js (the DynamoDB stream one), as a migrated estate function would be.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from etl_platform.checks.offline import ACCOUNT_ID

REGION = "us-east-1"

RESOURCES = {
    "orders": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:orders-dev",
    "todos": f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/todos-dev",
    "todos-stream": f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/todos-dev/stream/"
    "2024-01-01T00:00:00.000",
    "clicks": f"arn:aws:kinesis:{REGION}:{ACCOUNT_ID}:stream/clicks-dev",
    "alerts": f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:alerts-dev",
    "orders-bus": f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/orders-dev",
    "legacy-api": f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:a1b2c3d4e5",
}
CONFIG = {"etl:resources": json.dumps(RESOURCES)}

_PYTHON = "def handler(event, context):\n    return {'batchItemFailures': []}\n"
_NODE = "export const handler = async () => ({ batchItemFailures: [] });\n"

ENTRIES: dict[str, str] = {
    "orders-worker": """
        name = "orders-worker"
        handler = "handler.handler"
        description = "Works the orders queue."
        kind = "batch"
        size = "small"

        [trigger]
        type = "sqs"
        queue = "orders"
        batch_size = 20
        batching_window_seconds = 5
        maximum_concurrency = 5
        """,
    "todos-sync": """
        name = "todos-sync"
        handler = "index.handler"
        runtime = "nodejs22.x"
        description = "Mirrors todo changes."
        kind = "batch"
        size = "small"

        [trigger]
        type = "dynamodb-stream"
        stream = "todos-stream"
        starting_position = "TRIM_HORIZON"
        batch_size = 50
        """,
    "clicks-reader": """
        name = "clicks-reader"
        handler = "handler.handler"
        description = "Counts clicks."
        kind = "batch"
        size = "small"

        [trigger]
        type = "kinesis"
        stream = "clicks"
        maximum_retry_attempts = 3
        maximum_record_age_seconds = 900
        """,
    "alert-relay": """
        name = "alert-relay"
        handler = "handler.handler"
        description = "Relays alerts."
        kind = "batch"
        size = "small"

        [trigger]
        type = "sns"
        topic = "alerts"
        filter_policy = '{"severity": ["high"]}'
        """,
    "order-events": """
        name = "order-events"
        handler = "handler.handler"
        description = "Reacts to order events."
        kind = "batch"
        size = "small"

        [trigger]
        type = "eventbridge"
        bus = "orders-bus"
        pattern = '{"source": ["orders"], "detail-type": ["OrderPlaced"]}'
        """,
    "orders-api": """
        name = "orders-api"
        handler = "handler.handler"
        description = "The orders HTTP API."
        kind = "api"
        size = "small"

        [trigger]
        type = "http-api"
        routes = ["POST /orders", "GET /orders/{id}"]
        auth = "jwt"
        issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123"
        audience = "orders-client"
        throttle_rate = 20
        throttle_burst = 40
        """,
    "legacy-rest": """
        name = "legacy-rest"
        handler = "handler.handler"
        description = "Serves the legacy REST API."
        kind = "api"
        size = "small"

        [trigger]
        type = "invoke"
        principal = "apigateway.amazonaws.com"
        source = "legacy-api"
        """,
}


def write_estate(root: Path) -> Path:
    """Write the catalog under ``root`` (one folder per entry) and return it."""
    for name, text in ENTRIES.items():
        folder = root / name
        folder.mkdir(parents=True)
        (folder / "function.toml").write_text(textwrap.dedent(text), encoding="utf-8")
        if 'runtime = "nodejs' in text:
            (folder / "index.mjs").write_text(_NODE, encoding="utf-8")
        else:
            (folder / "handler.py").write_text(_PYTHON, encoding="utf-8")
    return root
