"""Build a Lambda estate in moto: compliant functions and planted legacy problems.

Also the patches for what moto does not model: a function's DeadLetterConfig (moto
drops it), ListFunctions paging (moto returns every function in one page) and
GetAccountSettings (moto has no such call).
"""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

ACCOUNT = "123456789012"  # moto's default account
ASSUME_LAMBDA = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


@contextlib.contextmanager
def moto_account(monkeypatch: pytest.MonkeyPatch, *, managed_policies: bool) -> Iterator[None]:
    """moto's AWS in us-east-1 with fake credentials and no endpoint override.

    moto knows AWS managed policies (AmazonS3FullAccess, ...) only when asked to, and
    loading them all costs about a second: only an estate that attaches one asks.
    """
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true" if managed_policies else "false")
    # No test here looks at AMIs; loading moto's default ones costs seconds.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    with mock_aws():
        yield


COMPLIANT_HANDLER = b"""import json

import boto3


def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"ok": True})}
"""

# Legacy Node.js 14 code using the v2 SDK with a callback handler (what --code is for).
LEGACY_NODE_HANDLER = b"""const AWS = require('aws-sdk');
const s3 = new AWS.S3();
exports.handler = function (event, context, callback) {
  s3.getObject({Bucket: 'b', Key: 'k'}, function (err, data) { callback(err, data); });
};
"""

# Legacy Python 3.8 code: a module removed in 3.12 and a package nothing provides.
LEGACY_PYTHON_HANDLER = b"""import imp
import json

import requests


def handler(event, context):
    return requests.get("https://example.com").status_code
"""


def zip_of(files: Mapping[str, bytes], padding: int = 0) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        if padding:
            archive.writestr("vendor/blob.bin", bytes(padding))
    return buffer.getvalue()


@dataclass
class Estate:
    """What was planted, so the tests can state what they expect."""

    compliant: list[str] = field(default_factory=list)
    legacy: dict[str, set[str]] = field(default_factory=dict)  # function -> expected checks
    packages: dict[str, bytes] = field(default_factory=dict)
    dead_letter: dict[str, str] = field(default_factory=dict)  # function -> DLQ ARN

    def patch(self, session: boto3.Session) -> boto3.Session:
        """Put each function's DeadLetterConfig back into ListFunctions (moto drops it)."""

        def add(parsed: dict[str, Any], **_: Any) -> None:
            for config in parsed.get("Functions", []):
                arn = self.dead_letter.get(config["FunctionName"])
                if arn:
                    config["DeadLetterConfig"] = {"TargetArn": arn}

        session.events.register("after-call.lambda.ListFunctions", add)
        return session

    def fetcher(self) -> Callable[[str], bytes]:
        """Downloads a package by the function name in moto's Location URL."""

        def fetch(url: str) -> bytes:
            key = url.rsplit("/", 1)[-1]
            for name in sorted(self.packages, key=len, reverse=True):
                if key.startswith(f"{name}-"):
                    return self.packages[name]
            raise LookupError(f"no package for {url}")

        return fetch


def _role(
    iam: Any, name: str, inline: dict[str, Any] | None = None, managed: tuple[str, ...] = ()
) -> str:
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=ASSUME_LAMBDA)["Role"]["Arn"]
    if inline:
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(inline))
    for policy_arn in managed:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    return str(arn)


def _function(
    lam: Any,
    estate: Estate,
    name: str,
    role: str,
    runtime: str,
    handler: str,
    files: Mapping[str, bytes],
    **extra: Any,
) -> None:
    package = zip_of(files, padding=extra.pop("padding", 0))
    estate.packages[name] = package
    if "DeadLetterConfig" in extra:
        estate.dead_letter[name] = extra["DeadLetterConfig"]["TargetArn"]
    lam.create_function(
        FunctionName=name,
        Runtime=runtime,
        Role=role,
        Handler=handler,
        Code={"ZipFile": package},
        **extra,
    )


def build_estate(session: boto3.Session, compliant: int = 2) -> Estate:
    """``compliant`` functions that follow every rule, and four legacy ones, each with
    its planted problems recorded in ``Estate.legacy``; ``session`` gets the estate's
    patches (another session on the same moto account needs ``Estate.patch``)."""
    iam = session.client("iam")
    lam = session.client("lambda")
    logs = session.client("logs")
    sqs = session.client("sqs")
    estate = Estate()
    scoped = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/raw/*"}
        ],
    }
    dlq = sqs.get_queue_attributes(
        QueueUrl=sqs.create_queue(QueueName="dlq-good")["QueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    for index in range(compliant):
        name = f"lambda-good{index}-dev"
        role = _role(iam, f"role-good{index}-dev", inline=scoped)
        _function(
            lam,
            estate,
            name,
            role,
            "python3.13",
            "handler.handler",
            {"handler.py": COMPLIANT_HANDLER},
            TracingConfig={"Mode": "Active"},
            DeadLetterConfig={"TargetArn": dlq},
        )
        logs.create_log_group(logGroupName=f"/aws/lambda/{name}")
        logs.put_retention_policy(logGroupName=f"/aws/lambda/{name}", retentionInDays=7)
        estate.compliant.append(name)

    # One shared role with a wildcard inline policy and an AWS managed policy attached.
    shared = _role(
        iam,
        "legacy-shared-role",
        inline={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
        },
        managed=("arn:aws:iam::aws:policy/AmazonS3FullAccess",),
    )
    role_checks = {"role-shared", "role-wildcard-action", "role-aws-managed-policy"}
    # nodejs14.x, aws-sdk v2 code, tracing off, no DLQ, logs kept forever, oversized.
    _function(
        lam,
        estate,
        "legacy-orders-export",
        shared,
        "nodejs14.x",
        "index.handler",
        {"index.js": LEGACY_NODE_HANDLER},
        padding=200_000,
    )
    logs.create_log_group(logGroupName="/aws/lambda/legacy-orders-export")  # no retention
    estate.legacy["legacy-orders-export"] = role_checks | {
        "runtime-deprecated",
        "tracing-not-active",
        "no-failure-destination",
        "log-retention-unset",
        "package-oversized",
    }
    # nodejs14.x sharing the role, no log group at all.
    _function(
        lam,
        estate,
        "legacy-nightly-report",
        shared,
        "nodejs14.x",
        "index.handler",
        {"index.js": LEGACY_NODE_HANDLER},
    )
    estate.legacy["legacy-nightly-report"] = role_checks | {
        "runtime-deprecated",
        "tracing-not-active",
        "no-failure-destination",
        "log-group-missing",
    }
    # python3.8 with removed/unresolvable imports; an on-failure destination (no DLQ).
    own = _role(iam, "legacy-py-role", inline=scoped)
    _function(
        lam,
        estate,
        "legacy-py-cleanup",
        own,
        "python3.8",
        "app.handler",
        {"app.py": LEGACY_PYTHON_HANDLER},
    )
    lam.put_function_event_invoke_config(
        FunctionName="legacy-py-cleanup",
        DestinationConfig={"OnFailure": {"Destination": dlq}},
    )
    logs.create_log_group(logGroupName="/aws/lambda/legacy-py-cleanup")
    logs.put_retention_policy(logGroupName="/aws/lambda/legacy-py-cleanup", retentionInDays=30)
    estate.legacy["legacy-py-cleanup"] = {"runtime-deprecated", "tracing-not-active"}
    # nodejs22.x: supported, but deprecated within 180 days of the tests' today.
    own = _role(iam, "legacy-node22-role", inline=scoped)
    _function(
        lam,
        estate,
        "legacy-node22",
        own,
        "nodejs22.x",
        "index.handler",
        {"index.js": b"export const handler = async () => ({ ok: true });\n"},
        TracingConfig={"Mode": "Active"},
        DeadLetterConfig={"TargetArn": dlq},
    )
    logs.create_log_group(logGroupName="/aws/lambda/legacy-node22")
    logs.put_retention_policy(logGroupName="/aws/lambda/legacy-node22", retentionInDays=30)
    estate.legacy["legacy-node22"] = {"runtime-deprecation-soon"}
    estate.patch(session)
    return estate


def page_list_functions(session: boto3.Session, page_size: int = 50) -> list[str | None]:
    """Make moto's ListFunctions page like AWS (moto returns all at once).

    Returns the list of Markers the client sent, one per call, to assert on.
    """
    from moto.awslambda.models import lambda_backends

    markers: list[str | None] = []

    def page(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        marker = params.get("query_string", {}).get("Marker")
        markers.append(marker)
        backend = lambda_backends[ACCOUNT]["us-east-1"]
        every = [fn.get_configuration() for fn in backend.list_functions()]
        start = int(marker) if marker else 0
        result: dict[str, Any] = {"Functions": every[start : start + page_size]}
        if start + page_size < len(every):
            result["NextMarker"] = str(start + page_size)
        return AWSResponse("https://lambda.us-east-1.amazonaws.com", 200, {}, None), result

    session.events.register("before-call.lambda.ListFunctions", page)
    return markers


def account_settings(session: boto3.Session, limit: int, unreserved: int) -> None:
    """Answer GetAccountSettings (moto does not model it) with these numbers."""

    def answer(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("https://lambda.us-east-1.amazonaws.com", 200, {}, None), {
            "AccountLimit": {
                "ConcurrentExecutions": limit,
                "UnreservedConcurrentExecutions": unreserved,
            },
            "AccountUsage": {"FunctionCount": 0},
        }

    event = "before-call.lambda.GetAccountSettings"
    session.events.unregister(event, unique_id="etl-test-account-settings")
    session.events.register(event, answer, unique_id="etl-test-account-settings")
