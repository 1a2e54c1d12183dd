"""Fixtures for the etl-ops tests: moto's AWS with harmless credentials, nothing real.

Functional tier: moto (``mock_aws``) stands in for AWS; no network, no account.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws


@pytest.fixture
def aws(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    """A boto3 session on moto in us-east-1, with fake credentials and no endpoint override.

    moto knows AWS managed policies (AmazonS3FullAccess, ...) only when asked to, and
    loading them all costs about a second per test: only tests marked
    ``aws_managed_policies`` (the audit's estate attaches one) get them.
    """
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    managed = request.node.get_closest_marker("aws_managed_policies") is not None
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true" if managed else "false")
    # No test here looks at AMIs; loading moto's default ones costs seconds per test.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")
