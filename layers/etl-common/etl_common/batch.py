"""Partial batch responses: process a batch record by record, report only the failures.

A function triggered by SQS, a DynamoDB stream or Kinesis gets a batch of records;
its event source mapping reports batch item failures (the platform sets
``ReportBatchItemFailures`` on every mapping), so the handler answers
``{"batchItemFailures": [{"itemIdentifier": ...}, ...]}`` and Lambda retries those
records alone instead of the whole batch. SNS and EventBridge deliver one record per
invocation, asynchronously: a failure there is raised, so Lambda's retries and the
function's DLQ apply. In the spirit of Powertools' batch processor: one table maps
each event source to how its records are recognised and identified::

    from etl_common.batch import process_batch

    def record_handler(record):
        ...  # raise to fail this record only

    def handler(event, context):
        return process_batch(event, record_handler)

For a stream, the first failure ends the batch: records are ordered per shard, so the
ones after a failure are reported too (Lambda resumes at the lowest reported sequence
number; checkpointing past them would skip them). Imports nothing beyond the
standard library and ``etl_common.logger`` (``tests/functional/test_batch.py``
measures it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from etl_common.logger import get_logger

__all__ = [
    "SOURCES",
    "BatchError",
    "EventSource",
    "event_source",
    "process_batch",
]

_LOG = get_logger("etl.batch")

Record = Mapping[str, Any]


class BatchError(ValueError):
    """The event is not a batch of a known source, or a one-record source failed."""


@dataclass(frozen=True)
class EventSource:
    """One event source: how its records look, and what identifies one to Lambda."""

    name: str
    #: The value of ``eventSource`` (SQS, streams) or ``EventSource`` (SNS) in a record.
    marker: str
    #: The record's identifier for ``batchItemFailures`` (None: the source has no partial
    #: responses, and a failure is raised so Lambda retries the event).
    identifier: Callable[[Record], str] | None
    #: Ordered per shard: stop at the first failure and report the rest too.
    ordered: bool = False


#: Every source, one row each (an EventBridge event has no Records: see event_source).
SOURCES: tuple[EventSource, ...] = (
    EventSource("sqs", "aws:sqs", lambda r: str(r["messageId"])),
    EventSource(
        "dynamodb-stream", "aws:dynamodb", lambda r: str(r["dynamodb"]["SequenceNumber"]), True
    ),
    EventSource("kinesis", "aws:kinesis", lambda r: str(r["kinesis"]["sequenceNumber"]), True),
    EventSource("sns", "aws:sns", None),
)
EVENTBRIDGE = EventSource("eventbridge", "aws.events", None)
_BY_MARKER = {source.marker: source for source in SOURCES}


def _marker(record: Record) -> str:
    return str(record.get("eventSource") or record.get("EventSource") or "")


def event_source(event: Mapping[str, Any]) -> tuple[EventSource, Sequence[Record]]:
    """The source of ``event`` and its records (an EventBridge event is its one record)."""
    records = event.get("Records")
    if records is None and "detail-type" in event:
        return EVENTBRIDGE, [event]
    if not isinstance(records, list) or not records:
        raise BatchError("not a batch: the event has no Records and is not an EventBridge event")
    markers = {_marker(r) for r in records}
    if len(markers) != 1 or next(iter(markers)) not in _BY_MARKER:
        raise BatchError(f"records of unknown or mixed sources: {sorted(markers)}")
    return _BY_MARKER[markers.pop()], records


def process_batch(
    event: Mapping[str, Any], record_handler: Callable[[Record], object]
) -> dict[str, list[dict[str, str]]]:
    """Run ``record_handler`` on every record; ``{"batchItemFailures": [...]}`` for Lambda.

    A record whose handler raises is logged (with its identifier and the error) and
    reported; the others count as processed. For SNS and EventBridge (one record, no
    partial responses) the error is raised instead, so the event is retried.
    """
    source, records = event_source(event)
    failures: list[dict[str, str]] = []
    for index, record in enumerate(records):
        try:
            record_handler(record)
        except Exception as exc:
            if source.identifier is None:
                raise
            item = source.identifier(record)
            _LOG.exception(
                "record failed",
                extra={
                    "source": source.name,
                    "itemIdentifier": item,
                    "errorType": type(exc).__name__,
                },
            )
            failures.append({"itemIdentifier": item})
            if source.ordered:
                failures += [{"itemIdentifier": source.identifier(r)} for r in records[index + 1 :]]
                break
    return {"batchItemFailures": failures}
