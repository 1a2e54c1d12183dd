"""etl-ops preflight against moto: passes on a well-configured account, fails with its
message and fix on a low concurrency quota, a wrong region or account, a missing secret,
a missing Pulumi CLI, and a VPC that cannot reach Secrets Manager.

GetAccountSettings is answered by a patch (moto does not model it); the Pulumi CLI is a
tiny FAKE script that only prints a version.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from ops_estate import ACCOUNT, account_settings

from etl_platform.model.catalog import load_catalog
from etl_platform.ops.preflight import PROJECT_FOLDERS, CheckResult, format_results, preflight

FOLDERS = PROJECT_FOLDERS
CRITICAL = sum(spec.reserved_concurrency or 0 for spec in load_catalog())


def fake_pulumi(tmp_path: Path, version: str = "v3.210.0") -> str:
    """A FAKE `pulumi` that only answers `pulumi version`; returns a PATH holding it."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir(exist_ok=True)
    exe = bin_dir / "pulumi"
    exe.write_text(f"#!{sys.executable}\nprint({version!r})\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"


def write_stack(repo: Path, config: dict[str, Any], stack: str = "dev") -> Path:
    for folder in FOLDERS:
        project = repo / "projects" / folder
        project.mkdir(parents=True, exist_ok=True)
        (project / "Pulumi.yaml").write_text(f"name: etl-{folder}\nruntime: python\n")
        (project / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))
    return repo


def base_config(**extra: Any) -> dict[str, Any]:
    return {
        "aws:region": "us-east-1",
        "aws:allowedAccountIds": [ACCOUNT],
        "etl:environmentSuffix": "dev",
        "etl:environment": "dev",
        **extra,
    }


def rds_secret(session: boto3.Session, value: dict[str, Any] | str) -> str:
    body = value if isinstance(value, str) else json.dumps(value)
    return str(
        session.client("secretsmanager").create_secret(Name="etl/db", SecretString=body)["ARN"]
    )


def vpc(
    session: boto3.Session, *, s3: bool = True, secrets: bool = True, nat: bool = False
) -> tuple[list[str], list[str]]:
    """A VPC with two private subnets; S3 gateway / Secrets Manager interface endpoints
    and a NAT route as asked. Returns (subnet ids, security group ids)."""
    ec2 = session.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.0.{i}.0/24")["Subnet"]["SubnetId"]
        for i in (1, 2)
    ]
    table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    for subnet in subnets:
        ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    group = ec2.create_security_group(GroupName="db", Description="db", VpcId=vpc_id)["GroupId"]
    if s3:
        ec2.create_vpc_endpoint(
            VpcId=vpc_id,
            ServiceName="com.amazonaws.us-east-1.s3",
            VpcEndpointType="Gateway",
            RouteTableIds=[table],
        )
    if secrets:
        ec2.create_vpc_endpoint(
            VpcId=vpc_id,
            ServiceName="com.amazonaws.us-east-1.secretsmanager",
            VpcEndpointType="Interface",
            SubnetIds=subnets,
            SecurityGroupIds=[group],
            PrivateDnsEnabled=True,
        )
    if nat:
        public = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.9.0/24")["Subnet"]["SubnetId"]
        allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
        gateway = ec2.create_nat_gateway(SubnetId=public, AllocationId=allocation)
        ec2.create_route(
            RouteTableId=table,
            DestinationCidrBlock="0.0.0.0/0",
            NatGatewayId=gateway["NatGateway"]["NatGatewayId"],
        )
    return subnets, [group]


def run(
    session: boto3.Session, repo: Path, path: str, backend: str | None = None, **kwargs: Any
) -> dict[str, CheckResult]:
    env = {"PATH": path, "PULUMI_CONFIG_PASSPHRASE": "test-only"}
    if backend:
        env["PULUMI_BACKEND_URL"] = backend
    results = preflight("dev", session=session, env=env, repo=repo, **kwargs)
    return {r.name: r for r in results}


@pytest.fixture
def good_account(aws: boto3.Session, tmp_path: Path) -> tuple[boto3.Session, Path, str]:
    """An account with room for the stack, an RDS secret and a VPC that reaches both."""
    account_settings(aws, limit=1000, unreserved=1000)
    secret = rds_secret(
        aws,
        {"host": "db.internal", "port": 5432, "username": "etl", "password": "pw", "dbname": "etl"},
    )
    subnets, groups = vpc(aws)
    repo = write_stack(
        tmp_path / "repo",
        base_config(
            **{
                "etl:databaseSecretArn": secret,
                "etl:vpcSubnetIds": subnets,
                "etl:vpcSecurityGroupIds": groups,
            }
        ),
    )
    return aws, repo, fake_pulumi(tmp_path)


def test_passes_on_a_well_configured_account(
    good_account: tuple[boto3.Session, Path, str],
) -> None:
    session, repo, path = good_account
    results = run(session, repo, path)
    assert list(results) == [
        "stack-config",
        "credentials",
        "region",
        "pulumi-cli",
        "pulumi-backend",
        "concurrency",
        "database-secret",
        "vpc",
        "trigger-queues",
    ]
    assert all(r.passed for r in results.values()), [r for r in results.values() if not r.passed]
    assert "the expected account" in results["credentials"].detail
    assert f"reserves {CRITICAL}" in results["concurrency"].detail
    assert "RDS shape" in results["database-secret"].detail
    text, code = format_results("dev", list(results.values()))
    assert code == 0 and text.endswith(f"preflight: all {len(results)} checks passed")
    assert all(line.startswith(("PASS", "preflight")) for line in text.split("\n"))


def test_fails_on_a_low_concurrency_quota_and_suggests_turning_reservations_off(
    good_account: tuple[boto3.Session, Path, str],
) -> None:
    session, repo, path = good_account
    # GIVEN a new account: 10 concurrent executions (AWS's minimum unreserved is 100)
    account_settings(session, limit=10, unreserved=10)
    results = run(session, repo, path)
    concurrency = results["concurrency"]
    assert not concurrency.passed
    assert "account limit 10, unreserved 10" in concurrency.detail
    assert "below AWS's minimum of 100" in concurrency.detail
    assert f"at least {100 + CRITICAL}" in concurrency.detail
    assert "etl:reservedConcurrency false" in concurrency.fix
    text, code = format_results("dev", list(results.values()))
    assert code == 1 and "FAIL  concurrency" in text and "fix: " in text
    # AND with the reservations off the same account passes
    write_stack(repo, base_config(**{"etl:reservedConcurrency": "false"}))
    assert run(session, repo, path)["concurrency"].passed


def test_fails_on_a_wrong_region(aws: boto3.Session, tmp_path: Path) -> None:
    account_settings(aws, limit=1000, unreserved=1000)
    repo = write_stack(tmp_path / "repo", base_config())
    elsewhere = boto3.Session(region_name="eu-west-1")
    region = run(elsewhere, repo, fake_pulumi(tmp_path))["region"]
    assert not region.passed
    assert "the credentials' region is eu-west-1 (the stacks run in us-east-1" in region.detail
    assert "AWS_DEFAULT_REGION=us-east-1" in region.fix


def test_fails_on_a_missing_secret(aws: boto3.Session, tmp_path: Path) -> None:
    account_settings(aws, limit=1000, unreserved=1000)
    missing = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:etl/nope-AbCdEf"
    repo = write_stack(tmp_path / "repo", base_config(**{"etl:databaseSecretArn": missing}))
    secret = run(aws, repo, fake_pulumi(tmp_path))["database-secret"]
    assert not secret.passed
    assert secret.detail == f"{missing} does not exist in us-east-1"
    assert "create-secret" in secret.fix


def test_fails_on_a_secret_without_the_rds_shape(aws: boto3.Session, tmp_path: Path) -> None:
    account_settings(aws, limit=1000, unreserved=1000)
    arn = rds_secret(aws, {"host": "db", "username": "etl"})
    repo = write_stack(tmp_path / "repo", base_config(**{"etl:databaseSecretArn": arn}))
    secret = run(aws, repo, fake_pulumi(tmp_path))["database-secret"]
    assert not secret.passed and "lacks password" in secret.detail


def test_fails_on_a_missing_cli_with_the_install_command(
    aws: boto3.Session, tmp_path: Path
) -> None:
    account_settings(aws, limit=1000, unreserved=1000)
    repo = write_stack(tmp_path / "repo", base_config())
    cli = run(aws, repo, str(tmp_path / "empty-bin"))["pulumi-cli"]
    assert not cli.passed
    assert "not on PATH" in cli.detail
    assert "curl -fsSL https://get.pulumi.com | sh" in cli.fix


def test_fails_on_an_old_cli(aws: boto3.Session, tmp_path: Path) -> None:
    account_settings(aws, limit=1000, unreserved=1000)
    repo = write_stack(tmp_path / "repo", base_config())
    cli = run(aws, repo, fake_pulumi(tmp_path, "v3.100.1"))["pulumi-cli"]
    assert not cli.passed and "3.100.1" in cli.detail and "older than 3.200.0" in cli.detail


def test_fails_on_another_account(aws: boto3.Session, tmp_path: Path) -> None:
    account_settings(aws, limit=1000, unreserved=1000)
    repo = write_stack(
        tmp_path / "repo", base_config(**{"aws:allowedAccountIds": ["111111111111"]})
    )
    credentials = run(aws, repo, fake_pulumi(tmp_path))["credentials"]
    assert not credentials.passed
    assert f"account {ACCOUNT}" in credentials.detail and "111111111111" in credentials.detail


def test_says_which_endpoint_a_subnet_lacks(aws: boto3.Session, tmp_path: Path) -> None:
    account_settings(aws, limit=1000, unreserved=1000)
    subnets, groups = vpc(aws, secrets=False)
    repo = write_stack(
        tmp_path / "repo",
        base_config(**{"etl:vpcSubnetIds": subnets, "etl:vpcSecurityGroupIds": groups}),
    )
    result = run(aws, repo, fake_pulumi(tmp_path))["vpc"]
    assert not result.passed
    for subnet in subnets:
        assert f"{subnet} cannot reach Secrets Manager" in result.detail
    assert "cannot reach S3" not in result.detail
    assert "com.amazonaws.us-east-1.secretsmanager --vpc-endpoint-type Interface" in result.fix


def test_a_nat_route_is_enough(aws: boto3.Session, tmp_path: Path) -> None:
    account_settings(aws, limit=1000, unreserved=1000)
    subnets, groups = vpc(aws, s3=False, secrets=False, nat=True)
    repo = write_stack(
        tmp_path / "repo",
        base_config(**{"etl:vpcSubnetIds": subnets, "etl:vpcSecurityGroupIds": groups}),
    )
    assert run(aws, repo, fake_pulumi(tmp_path))["vpc"].passed


def test_missing_subnets_are_named(aws: boto3.Session, tmp_path: Path) -> None:
    account_settings(aws, limit=1000, unreserved=1000)
    repo = write_stack(
        tmp_path / "repo",
        base_config(
            **{
                "etl:vpcSubnetIds": ["subnet-0123456789abcdef0"],
                "etl:vpcSecurityGroupIds": ["sg-0123456789abcdef0"],
            }
        ),
    )
    result = run(aws, repo, fake_pulumi(tmp_path))["vpc"]
    assert not result.passed
    assert "subnet subnet-0123456789abcdef0" in result.detail
    assert "security group sg-0123456789abcdef0" in result.detail


def test_deploy_all_runs_the_real_preflight_and_deploys_nothing_on_a_low_quota(
    aws: boto3.Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from etl_platform.ops.cli import main as etl_ops_main

    # GIVEN a configured stack, a FAKE pulumi on PATH and an account with 10 executions
    account_settings(aws, limit=10, unreserved=10)
    monkeypatch.setattr(boto3, "Session", lambda **_: aws)  # keep the GetAccountSettings patch
    repo = write_stack(tmp_path / "repo", base_config())
    monkeypatch.setenv("PATH", fake_pulumi(tmp_path))
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "test-only")
    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{tmp_path / 'state'}")
    # WHEN the user deploys
    code = etl_ops_main(["deploy-all", "--repo", str(repo), "dev"])
    # THEN preflight's report explains the quota and nothing was deployed
    err = capsys.readouterr().err
    assert code == 2
    assert "FAIL  concurrency" in err and "etl:reservedConcurrency false" in err
    assert "nothing was deployed" in err
    assert "$ pulumi" not in err


def test_an_s3_backend_bucket_must_exist(aws: boto3.Session, tmp_path: Path) -> None:
    account_settings(aws, limit=1000, unreserved=1000)
    repo = write_stack(tmp_path / "repo", base_config())
    path = fake_pulumi(tmp_path)
    missing = run(aws, repo, path, backend="s3://etl-pulumi-state")["pulumi-backend"]
    assert not missing.passed and "bucket etl-pulumi-state is not reachable" in missing.detail
    assert "aws s3 mb s3://etl-pulumi-state" in missing.fix
    aws.client("s3").create_bucket(Bucket="etl-pulumi-state")
    found = run(aws, repo, path, backend="s3://etl-pulumi-state")["pulumi-backend"]
    assert found.passed and "s3://etl-pulumi-state" in found.detail
