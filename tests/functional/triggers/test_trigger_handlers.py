"""A real handler per newer trigger type, fed its source's SAM-shaped event with a bad record.

Where the source has partial batch responses (SQS, DynamoDB streams, Kinesis) the
handler returns exactly the bad record in ``batchItemFailures`` (a stream: that record
and the ones after it in the shard); SNS and EventBridge events are one record, so a
bad one raises (Lambda retries it, then the function's DLQ); an API answers 400.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trigger_handlers as handlers

from etl_platform.model.catalog import TRIGGER_TYPES
from etl_platform.paths import LAYERS_DIR

Event = Callable[[str], dict[str, Any]]


@pytest.fixture(autouse=True)
def processed() -> Iterator[list[Any]]:
    handlers.PROCESSED.clear()
    yield handlers.PROCESSED


def test_every_polled_trigger_type_has_a_handler_here() -> None:
    # GIVEN the trigger types whose mapping reports batch item failures
    polled = {t for t, row in TRIGGER_TYPES.items() if row.mapping is not None}
    # THEN this module exercises each of them (a new one needs its handler and event)
    assert polled == {"sqs", "dynamodb-stream", "kinesis"}


def test_sqs_reports_only_the_bad_message(event: Event, processed: list[Any]) -> None:
    # GIVEN an SQS batch whose second message is not JSON
    batch = event("sqs-receive-message")
    # WHEN the handler runs
    answer = handlers.sqs_handler(batch, None)
    # THEN only that message is retried; the good one was processed
    assert answer == {"batchItemFailures": [{"itemIdentifier": batch["Records"][1]["messageId"]}]}
    assert [order["order_id"] for order in processed] == ["o-1"]


def test_dynamodb_stream_reports_the_bad_record_and_the_rest_of_the_shard(
    event: Event, processed: list[Any]
) -> None:
    # GIVEN a stream batch whose MODIFY has no Title, followed by a REMOVE
    batch = event("dynamodb-update")
    # WHEN the handler runs
    answer = handlers.dynamodb_stream_handler(batch, None)
    # THEN Lambda resumes at the bad record: it and the later one are reported, in order
    numbers = [r["dynamodb"]["SequenceNumber"] for r in batch["Records"]]
    assert answer == {"batchItemFailures": [{"itemIdentifier": n} for n in numbers[1:]]}
    assert processed == [("t-1", "buy milk")]


def test_kinesis_reports_the_undecodable_record_and_after(
    event: Event, processed: list[Any]
) -> None:
    # GIVEN a Kinesis batch whose second record is truncated JSON
    batch = event("kinesis-get-records")
    answer = handlers.kinesis_handler(batch, None)
    numbers = [r["kinesis"]["sequenceNumber"] for r in batch["Records"]]
    # THEN the shard resumes at the bad record
    assert answer == {"batchItemFailures": [{"itemIdentifier": n} for n in numbers[1:]]}
    assert processed == [{"page": "/home"}]


def test_sns_processes_a_good_notification_and_raises_on_a_bad_one(
    event: Event, processed: list[Any]
) -> None:
    # GIVEN a good notification  THEN nothing fails
    assert handlers.sns_handler(event("sns-notification"), None) == {"batchItemFailures": []}
    assert processed == ["disk full"]
    # AND a bad one raises: SNS invokes asynchronously, so Lambda retries, then the DLQ
    with pytest.raises(KeyError):
        handlers.sns_handler(event("sns-notification-bad"), None)


def test_eventbridge_processes_a_good_event_and_raises_on_a_bad_one(
    event: Event, processed: list[Any]
) -> None:
    assert handlers.eventbridge_handler(event("eventbridge-event"), None) == {
        "batchItemFailures": []
    }
    assert processed[0]["order_id"] == "o-1"
    # a bad event raises: the rule's target retries it, then it lands in the DLQ
    with pytest.raises(ValueError, match="order_id"):
        handlers.eventbridge_handler(event("eventbridge-event-bad"), None)


@pytest.mark.parametrize(
    ("handler", "name"),
    [
        (handlers.http_api_handler, "apigateway-http-api-proxy"),
        (handlers.rest_api_handler, "apigateway-aws-proxy"),
    ],
)
def test_apis_answer_201_for_an_order_and_400_for_a_bad_body(
    handler: Callable[[dict[str, Any], object], dict[str, Any]], name: str, event: Event
) -> None:
    # GIVEN the API's proxy event (HTTP API payload 2.0, or an estate REST API's 1.0)
    good = event(name)
    assert handler(good, None)["statusCode"] == 201
    # WHEN the body is not an order  THEN a 400 the client can act on (not a 5xx alarm)
    bad = dict(good, body="{")
    answer = handler(bad, None)
    assert answer["statusCode"] == 400
    assert json.loads(answer["body"])["error"] == "bad_request"


def test_mixed_or_unknown_sources_are_refused(event: Event) -> None:
    sqs, sns = event("sqs-receive-message"), event("sns-notification")
    mixed = {"Records": sqs["Records"][:1] + sns["Records"]}
    with pytest.raises(ValueError, match="unknown or mixed"):
        handlers.sqs_handler(mixed, None)


def test_the_batch_module_imports_only_the_standard_library_and_the_logger() -> None:
    # GIVEN a fresh interpreter (what a cold start sees) importing etl_common.batch
    probe = (
        "import sys, time; before = set(sys.modules); t = time.perf_counter(); "
        "import etl_common.batch; ms = (time.perf_counter() - t) * 1000; "
        "new = {m.split('.')[0] for m in set(sys.modules) - before}; "
        "mods = sorted(new - set(sys.stdlib_module_names)); "
        "print(ms); print(' '.join(mods))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=LAYERS_DIR / "etl-common",
        capture_output=True,
        text=True,
        check=True,
    )
    milliseconds, modules = done.stdout.splitlines()
    # THEN nothing heavy comes with it (no boto3, no tracing SDK): only etl_common itself
    assert modules.split() == ["etl_common"], modules
    print(f"import etl_common.batch: {float(milliseconds):.1f} ms")
