"""One real handler per newer trigger type, as an estate function migrated to the platform.

Each consumes its source's event shape (the SAM-shaped fixtures in ``events/``) with
:func:`etl_common.batch.process_batch` where the source has partial batch responses,
and fails exactly the record that is bad.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from etl_common.batch import process_batch

__all__ = [
    "PROCESSED",
    "dynamodb_stream_handler",
    "eventbridge_handler",
    "http_api_handler",
    "kinesis_handler",
    "rest_api_handler",
    "sns_handler",
    "sqs_handler",
]

#: What the handlers did, for the tests to read (a real function would write somewhere).
PROCESSED: list[Any] = []


def _order(payload: Mapping[str, Any]) -> dict[str, Any]:
    """An order needs an id and a decimal amount; anything else is a bad record."""
    if not isinstance(payload.get("order_id"), str):
        raise ValueError("an order needs an order_id")
    return {"order_id": payload["order_id"], "amount": Decimal(str(payload.get("amount", "0")))}


def sqs_handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    def record(message: Mapping[str, Any]) -> None:
        PROCESSED.append(_order(json.loads(message["body"])))

    return process_batch(event, record)


def dynamodb_stream_handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    def record(change: Mapping[str, Any]) -> None:
        if change["eventName"] == "REMOVE":
            PROCESSED.append(("deleted", change["dynamodb"]["Keys"]["Id"]["S"]))
            return
        image = change["dynamodb"]["NewImage"]
        PROCESSED.append((image["Id"]["S"], image["Title"]["S"]))  # KeyError: no title

    return process_batch(event, record)


def kinesis_handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    def record(item: Mapping[str, Any]) -> None:
        PROCESSED.append(json.loads(base64.b64decode(item["kinesis"]["data"])))

    return process_batch(event, record)


def sns_handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    def record(notification: Mapping[str, Any]) -> None:
        message = json.loads(notification["Sns"]["Message"])
        PROCESSED.append(message["alert"])

    return process_batch(event, record)


def eventbridge_handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    return process_batch(event, lambda e: PROCESSED.append(_order(e["detail"])))


def _answer(status: int, body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }


def _create(body: str | None) -> dict[str, Any]:
    try:
        order = _order(json.loads(body or ""))
    except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
        return _answer(400, {"error": "bad_request", "detail": str(exc)})
    PROCESSED.append(order)
    return _answer(201, {"order_id": order["order_id"]})


def http_api_handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    """API Gateway HTTP API, payload 2.0: ``routeKey`` and a JWT's claims."""
    if event["routeKey"] != "POST /orders":
        return _answer(404, {"error": "not_found"})
    return _create(event.get("body"))


def rest_api_handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    """An estate REST API (payload 1.0) that keeps running: the ``invoke`` trigger."""
    if (event["httpMethod"], event["resource"]) != ("POST", "/orders"):
        return _answer(404, {"error": "not_found"})
    return _create(event.get("body"))
