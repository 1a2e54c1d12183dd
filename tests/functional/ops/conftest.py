"""Fixtures for the etl-ops tests: moto's AWS with harmless credentials, nothing real.

Functional tier: moto (``mock_aws``) stands in for AWS; no network, no account.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from ops_estate import moto_account


@pytest.fixture
def aws(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    """A boto3 session on moto in us-east-1, with fake credentials and no endpoint override.

    Only tests marked ``aws_managed_policies`` (an estate that attaches one) get AWS's
    managed policies: loading them all costs about a second per test.
    """
    managed = request.node.get_closest_marker("aws_managed_policies") is not None
    with moto_account(monkeypatch, managed_policies=managed):
        yield boto3.Session(region_name="us-east-1")
