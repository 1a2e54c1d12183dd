"""Send the events waiting in a function's dead-letter queue back to the function.

A failed asynchronous invocation is retried twice by Lambda, then its original event
is put in ``dlq-<function>-<suffix>`` and kept for 14 days. Once the cause is fixed::

    nox -s redrive -- <stack> <function> --dry-run   # show what is waiting
    nox -s redrive -- <stack> <function>             # re-invoke, asynchronously
    etl-ops redrive <stack> <function> [--dry-run]   # the same, without nox

Each message body is the original event; it is invoked again with
``InvocationType=Event`` (so retries and the DLQ apply again) and deleted from the
queue only after Lambda accepted it (HTTP 202). A message whose invocation fails stays
in the queue, visible again after the visibility timeout. A message whose body can never
be an event (not JSON, not a JSON object, or text UTF-8 cannot encode, such as a lone
surrogate) is not sent: :func:`event_payload` says why, and it is left in the queue and
reported as undeliverable, for the operator to read and delete. Needs AWS credentials with
``sqs:ReceiveMessage``/``sqs:DeleteMessage`` on the queue and ``lambda:InvokeFunction``
on the function; without credentials it stops with one line saying what to set.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import Any

from etl_platform.errors import EtlPlatformError
from etl_platform.model.catalog import load_catalog
from etl_platform.model.naming import resource_name
from etl_platform.model.settings import REGION, settings_from_mapping
from etl_platform.model.stack_config import read_stack_config
from etl_platform.paths import PROJECTS_DIR

__all__ = [
    "RedriveError",
    "RedriveResult",
    "UndeliverableEventError",
    "add_arguments",
    "command",
    "event_payload",
    "peek",
    "redrive",
]

BATCH = 10  # SQS's maximum per ReceiveMessage
VISIBILITY_SECONDS = 120  # time to invoke a batch before SQS shows a message again


@dataclass
class RedriveResult:
    sent: int = 0
    failed: list[str] = field(default_factory=list)  # message ids left in the queue
    # message id -> why its body can never be an event (left in the queue, not sent)
    undeliverable: dict[str, str] = field(default_factory=dict)


class UndeliverableEventError(EtlPlatformError):
    """A DLQ message's body is not an event any function could be invoked with."""


def event_payload(body: Any) -> bytes:
    """The invocation payload of a DLQ message body (the original event: a JSON object),
    as UTF-8 JSON; :class:`UndeliverableEventError` saying why for any other body."""
    if not isinstance(body, str):
        raise UndeliverableEventError(f"the body is {type(body).__name__}, not text")
    try:
        payload = body.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UndeliverableEventError(
            f"the body holds {exc.object[exc.start : exc.end]!a} at {exc.start}, "
            "which UTF-8 cannot encode"
        ) from None
    try:
        event = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise UndeliverableEventError(f"the body is not JSON ({exc})") from None
    if not isinstance(event, dict):
        raise UndeliverableEventError(
            f"the body is a JSON {type(event).__name__}, not an event object"
        )
    return payload


def redrive(sqs: Any, lambda_client: Any, queue_url: str, function_name: str) -> RedriveResult:
    """Re-invoke every message of ``queue_url``; delete each only once Lambda accepted it."""
    result = RedriveResult()
    seen: set[str] = set()
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=BATCH,
            VisibilityTimeout=VISIBILITY_SECONDS,
            WaitTimeSeconds=1,
        ).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            return result
        for message in fresh:
            seen.add(message["MessageId"])
            try:
                payload = event_payload(message.get("Body"))
            except UndeliverableEventError as exc:
                print(f"  {message['MessageId']}: not sent: {exc}", file=sys.stderr)
                result.undeliverable[message["MessageId"]] = str(exc)
                continue
            try:
                status = lambda_client.invoke(
                    FunctionName=function_name,
                    InvocationType="Event",
                    Payload=payload,
                )["StatusCode"]
            except Exception as exc:
                print(f"  {message['MessageId']}: invoke failed: {exc}", file=sys.stderr)
                status = None
            if status == 202:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                result.sent += 1
            else:
                result.failed.append(message["MessageId"])


def peek(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Up to 10 waiting messages, left visible (nothing is changed)."""
    response = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=BATCH, VisibilityTimeout=0, WaitTimeSeconds=1
    )
    return list(response.get("Messages", []))


def _names(stack: str, function: str) -> tuple[str, str]:
    catalog = load_catalog()
    if function not in catalog.names:
        raise EtlPlatformError(f"no function {function!r} in the catalog; known: {catalog.names}")
    config = read_stack_config(PROJECTS_DIR / "shared", stack)
    settings = settings_from_mapping(config, catalog.names)
    return (
        resource_name("dlq", function, settings.suffix),
        resource_name("lambda", function, settings.suffix),
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``etl-ops redrive <stack> <function> [--dry-run]``."""
    parser.add_argument("stack")
    parser.add_argument("function", help="catalog name, e.g. transform")
    parser.add_argument("--dry-run", action="store_true", help="list waiting events only")


def command(args: argparse.Namespace) -> int:
    """Re-invoke (or list) the events in the function's DLQ; 1 when some are left."""
    queue_name, function_name = _names(args.stack, args.function)
    try:
        return _run(args.stack, queue_name, function_name, dry_run=args.dry_run)
    except Exception as exc:
        problem = _credentials_problem(exc)
        if problem is None:
            raise
        raise RedriveError(problem) from exc


class RedriveError(EtlPlatformError):
    """The redrive cannot run: no usable AWS credentials (the message says what to set)."""


def _credentials_problem(exc: Exception) -> str | None:
    """One line saying what to set, when ``exc`` means: no usable AWS credentials."""
    from botocore.exceptions import (
        ClientError,
        NoCredentialsError,
        PartialCredentialsError,
        ProfileNotFound,
        SSOError,
        TokenRetrievalError,
    )

    how = (
        "set AWS_PROFILE to a profile of the stack's account (`aws configure` or "
        "`aws sso login --profile <name>`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
        "(and AWS_SESSION_TOKEN), then run the command again"
    )
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return f"no AWS credentials found: {how}"
    if isinstance(exc, ProfileNotFound | SSOError | TokenRetrievalError):
        return f"the AWS credentials cannot be used ({exc}): {how}"
    if isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in (
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
    ):
        return f"AWS refused the credentials ({exc.response['Error']['Code']}): {how}"
    return None


def _run(stack: str, queue_name: str, function_name: str, *, dry_run: bool) -> int:
    import boto3

    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    if dry_run:
        messages = peek(sqs, queue_url)
        print(f"{queue_name}: {len(messages)} event(s) shown (at most {BATCH})")
        for message in messages:
            shown = str(message.get("Body"))[:200].encode("utf-8", "backslashreplace").decode()
            print(f"  {message['MessageId']}: {shown}")
        return 0
    result = redrive(sqs, boto3.client("lambda", region_name=REGION), queue_url, function_name)
    print(
        f"{queue_name} -> {function_name}: {result.sent} re-invoked, {len(result.failed)} left"
        + (
            f", {len(result.undeliverable)} undeliverable (not events: read and delete them)"
            if result.undeliverable
            else ""
        )
    )
    return 1 if result.failed or result.undeliverable else 0
