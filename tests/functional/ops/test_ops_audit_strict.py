"""etl-ops audit as a CI gate: ``--strict`` exits 1 on findings only, and no credentials
is a one-line error (exit 2).

Functional tier (moto). The strict test deletes the legacy functions of its estate, so it
builds its own; test_ops_audit.py shares one estate between tests that only read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest
from ops_estate import build_estate

from etl_platform.ops.cli import main

TODAY = dt.date(2026, 11, 29)


@pytest.mark.aws_managed_policies  # the estate attaches AmazonS3FullAccess
def test_strict_exits_non_zero_on_findings_only(
    aws: boto3.Session, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    build_estate(aws, compliant=2)
    monkeypatch.setattr(boto3, "Session", lambda **_: aws)  # keep the estate's moto patches
    assert main(["audit", "--strict", "--today", TODAY.isoformat()]) == 1
    assert "runtime deprecated" in capsys.readouterr().out
    for name in (
        "legacy-orders-export",
        "legacy-nightly-report",
        "legacy-py-cleanup",
        "legacy-node22",
    ):
        aws.client("lambda").delete_function(FunctionName=name)
    assert main(["audit", "--strict", "--today", TODAY.isoformat()]) == 0
    assert "0 findings in 0 of 2 functions: nothing to fix" in capsys.readouterr().out


def test_no_credentials_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["audit"]) == 2
    err = capsys.readouterr().err
    assert "cannot list the Lambda functions" in err and "credentials" in err
