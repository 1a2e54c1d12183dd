"""Redrive: events waiting in a DLQ go back to their function, and none is lost on the way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from etl_platform.model.catalog import load_catalog
from etl_platform.model.naming import resource_name
from etl_platform.ops.cli import main as etl_ops
from etl_platform.ops.redrive import peek, redrive

CATALOG = load_catalog()
FUNCTION = CATALOG.names[0]  # any catalog function: redrive treats them all alike
DLQ = resource_name("dlq", FUNCTION, "dev")
LAMBDA = resource_name("lambda", FUNCTION, "dev")


class FakeLambda:
    """Stands in for the Lambda client (moto would need Docker to run a function)."""

    def __init__(self, fail_for: frozenset[str] = frozenset()) -> None:
        self.invoked: list[tuple[str, str, dict[str, Any]]] = []
        self.fail_for = fail_for

    def invoke(self, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        event = json.loads(Payload)
        if event["id"] in self.fail_for:
            raise RuntimeError("throttled")
        self.invoked.append((FunctionName, InvocationType, event))
        return {"StatusCode": 202}


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def dlq_with(sqs: Any, events: list[dict[str, Any]]) -> str:
    url = sqs.create_queue(QueueName=DLQ)["QueueUrl"]
    for event in events:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
    return url


def remaining(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def test_every_waiting_event_is_reinvoked_asynchronously_then_deleted(sqs: Any) -> None:
    # GIVEN 13 original events in the DLQ (more than one receive batch)
    events = [{"id": f"e{i}", "Records": []} for i in range(13)]
    url = dlq_with(sqs, events)
    fake = FakeLambda()
    # WHEN they are redriven
    result = redrive(sqs, fake, url, LAMBDA)
    # THEN each original event went back to the function as an async invocation
    assert result.sent == 13 and result.failed == []
    assert sorted(e["id"] for _, _, e in fake.invoked) == sorted(e["id"] for e in events)
    assert {(name, kind) for name, kind, _ in fake.invoked} == {(LAMBDA, "Event")}
    # AND the queue is empty
    assert remaining(sqs, url) == 0


def test_an_event_lambda_did_not_accept_stays_in_the_queue(sqs: Any) -> None:
    # GIVEN two events, one of which Lambda refuses
    url = dlq_with(sqs, [{"id": "ok"}, {"id": "refused"}])
    # WHEN redriven
    result = redrive(sqs, FakeLambda(fail_for=frozenset({"refused"})), url, LAMBDA)
    # THEN the refused one is reported and still in the queue (nothing lost)
    assert result.sent == 1 and len(result.failed) == 1
    assert remaining(sqs, url) == 1


def test_dry_run_changes_nothing(sqs: Any) -> None:
    url = dlq_with(sqs, [{"id": "a"}, {"id": "b"}])
    assert sorted(json.loads(m["Body"])["id"] for m in peek(sqs, url)) == ["a", "b"]
    assert remaining(sqs, url) == 2


def test_cli_refuses_an_unknown_function_with_the_known_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert etl_ops(["redrive", "dev", f"{FUNCTION}x"]) == 2
    assert f"known: {CATALOG.names}" in capsys.readouterr().err


def test_cli_dry_run_finds_the_stacks_queue_by_its_name(
    sqs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    dlq_with(sqs, [{"id": "waiting"}])
    assert etl_ops(["redrive", "dev", FUNCTION, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"{DLQ}: 1 event(s)" in out and "waiting" in out


def test_without_credentials_it_says_in_one_line_what_to_set(tmp_path: Any) -> None:
    # GIVEN a shell with no AWS credentials anywhere (no variables, files or metadata)
    import os
    import subprocess
    import sys

    from etl_platform.model.catalog import load_catalog

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    function = load_catalog().names[0]
    # WHEN an operator runs the redrive
    done = subprocess.run(
        [sys.executable, "-m", "etl_platform.ops.cli", "redrive", "dev", function, "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # THEN it stops with one line naming what to set, and no traceback
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: no AWS credentials found")
    assert "AWS_PROFILE" in line and "AWS_ACCESS_KEY_ID" in line


def test_a_body_that_can_never_be_an_event_is_reported_not_sent_and_kept(sqs: Any) -> None:
    # GIVEN a DLQ holding a real event and bodies no function could be invoked with
    # (sent by hand): not JSON, a JSON array, a JSON number. (SQS itself refuses a lone
    # surrogate; event_payload's property test covers that text.)
    url = dlq_with(sqs, [{"id": "ok"}])
    for body in ("not json", "[1, 2]", "42"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    fake = FakeLambda()
    # WHEN redriven
    result = redrive(sqs, fake, url, LAMBDA)
    # THEN the real event went back, the others were not sent, each with its reason
    assert result.sent == 1 and [e["id"] for _, _, e in fake.invoked] == ["ok"]
    assert result.failed == []
    reasons = sorted(result.undeliverable.values())
    assert len(reasons) == 3
    assert [("not JSON" in r, "not an event" in r) for r in reasons] == [
        (False, True),
        (False, True),
        (True, False),
    ]
    # AND they stay in the queue for the operator to read (nothing is lost)
    assert remaining(sqs, url) == 3
