"""What a user of a deployed environment relies on, checked against AWS itself."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from etl_platform.model.catalog import load_catalog
from etl_platform.model.contract import FunctionsExports, ObservabilityExports, SharedExports
from etl_platform.model.runtimes import check_runtime

pytestmark = pytest.mark.integration
CATALOG = load_catalog()


def signed(method: str, url: str, region: str, body: bytes | None = None) -> tuple[int, Any]:
    """Call a function URL with SigV4 (auth type AWS_IAM), as a client would."""
    credentials = boto3.Session().get_credentials()
    request = AWSRequest(
        method=method, url=url, data=body, headers={"content-type": "application/json"}
    )
    SigV4Auth(credentials, "lambda", region).add_auth(request)
    prepared = urllib.request.Request(
        url, data=body, method=method, headers=dict(request.headers.items())
    )
    try:
        with urllib.request.urlopen(prepared, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.mark.parametrize("spec", list(CATALOG), ids=lambda s: s.name)
def test_every_function_is_configured_as_promised(
    spec: Any, outputs: dict[str, dict[str, Any]], region: str
) -> None:
    client = boto3.client("lambda", region_name=region)
    name = outputs["functions"][FunctionsExports.FUNCTION_NAMES][spec.name]
    config = client.get_function_configuration(FunctionName=name)
    assert check_runtime(config["Runtime"], language=spec.language) is None, config["Runtime"]
    assert config["TracingConfig"]["Mode"] == "Active"
    assert config["MemorySize"] == spec.memory_size
    assert config["Timeout"] == spec.timeout
    assert (
        config["DeadLetterConfig"]["TargetArn"]
        == outputs["shared"][SharedExports.DLQ_ARNS][spec.name]
    )
    assert config["LoggingConfig"]["LogFormat"] == "JSON"
    invoke = client.get_function_event_invoke_config(FunctionName=name)
    assert invoke["MaximumRetryAttempts"] == 2


def test_log_groups_have_retention(outputs: dict[str, dict[str, Any]], region: str) -> None:
    logs = boto3.client("logs", region_name=region)
    for group in outputs["observability"][ObservabilityExports.LOG_GROUP_NAMES].values():
        found = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        assert found and found[0].get("retentionInDays") in (7, 30)


def test_a_batch_goes_through_the_pipeline(outputs: dict[str, dict[str, Any]], region: str) -> None:
    # GIVEN the deployed ingest and status URLs and a batch with one bad record
    ingest = outputs["functions"][FunctionsExports.INGEST_URL].rstrip("/")
    status = outputs["functions"][FunctionsExports.STATUS_URL].rstrip("/")
    good = {
        "order_id": f"it-{uuid.uuid4().hex[:12]}",
        "customer_id": "c-1",
        "amount": "12.50",
        "currency": "USD",
        "created_at": "2026-01-01T00:00:00+00:00",
    }
    bad = {**good, "order_id": f"it-{uuid.uuid4().hex[:12]}", "currency": "XXX"}
    # WHEN it is posted
    code, body = signed(
        "POST", f"{ingest}/batches", region, json.dumps({"records": [good, bad]}).encode()
    )
    assert code == 202, body
    batch_id = body["batch_id"]
    # THEN the status API reports it transformed (and loaded, when a database is configured)
    deadline = time.monotonic() + 180
    manifest: Any = None
    while time.monotonic() < deadline:
        code, manifest = signed("GET", f"{status}/batches/{batch_id}", region)
        if code == 200 and manifest.get("stage") in ("transformed", "loaded"):
            break
        time.sleep(5)
    assert manifest and manifest.get("stage") in ("transformed", "loaded"), manifest
