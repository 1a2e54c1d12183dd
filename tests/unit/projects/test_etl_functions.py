"""projects/etl-functions under Pulumi's mock runtime: roles, functions, triggers, the bucket.

Each test runs the real ``__main__.py`` with the stack's real ``Pulumi.<stack>.yaml``
(dev and prod) through the ``run_project`` fixture; both StackReferences (shared,
observability) are faked with realistic exports. Runs are cached per (stack, config)
for the module, so the suite stays fast.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from etl_platform.artifacts.layers import layer_export
from etl_platform.checks.iam_lint import open_findings
from etl_platform.checks.offline import ACCOUNT_ID, PlannedResource, ProgramRun
from etl_platform.errors import ContractError
from etl_platform.infra.iam import ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS
from etl_platform.model.catalog import FunctionSpec, load_catalog
from etl_platform.model.contract import (
    OBSERVABILITY,
    SHARED,
    URL_EXPORTS,
    FunctionsExports,
    ObservabilityExports,
    SharedExports,
    stack_reference_name,
)
from etl_platform.model.deployment import LIVE_ALIAS
from etl_platform.model.needs import need
from etl_platform.model.settings import DEFAULT_STACK_ORG, Settings, settings_from_mapping
from etl_platform.model.stack_config import read_stack_config
from etl_platform.model.tags import REQUIRED_TAG_KEYS, cost_tags, is_taggable
from etl_platform.paths import PROJECTS_DIR

PROJECT = "etl-functions"
STACKS = ("dev", "prod")
CATALOG = load_catalog()

FUNCTION = "aws:lambda/function:Function"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
PERMISSION = "aws:lambda/permission:Permission"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
BUCKET = "aws:s3/bucket:Bucket"
NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
ALIAS = "aws:lambda/alias:Alias"

SECRET_ARN = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT_ID}:secret:etl/database-AbCdEf"
SECRET_KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
SECURITY_GROUPS = ["sg-0123456789abcdef0"]
DATABASE_CONFIG = {
    "etl:databaseSecretArn": SECRET_ARN,
    "etl:databaseSecretKmsKeyArn": SECRET_KEY_ARN,
    "etl:vpcSubnetIds": json.dumps(SUBNETS),
    "etl:vpcSecurityGroupIds": json.dumps(SECURITY_GROUPS),
}

RunFunctions = Callable[..., ProgramRun]


@pytest.fixture
def run_functions(run_project: Callable[..., ProgramRun]) -> RunFunctions:
    """``run_functions("prod", **config)``: the program's run (kept for the session)."""

    def run(stack: str = "dev", config: dict[str, str] | None = None) -> ProgramRun:
        return run_project(PROJECT, stack, config=config)

    return run


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def run(run_functions: RunFunctions, stack: str) -> ProgramRun:
    return run_functions(stack)


@cache
def stack_settings(stack: str, config: tuple[tuple[str, str], ...] = ()) -> Settings:
    """The settings the program reads for ``stack`` (its stack file plus ``config``)."""
    values = read_stack_config(PROJECTS_DIR / PROJECT, stack)
    values.update(dict(config))
    return settings_from_mapping(values, CATALOG.names)


def function_of(run: ProgramRun, spec: FunctionSpec) -> dict[str, Any]:
    return run.one(FUNCTION, f"{spec.name}-function").inputs


def policy_of(run: ProgramRun, spec: FunctionSpec) -> dict[str, Any]:
    document = run.one(ROLE_POLICY, f"{spec.name}-policy").inputs["policy"]
    parsed: dict[str, Any] = json.loads(document)
    return parsed


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def statements_by_sid(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in document["Statement"]}


def upstream(stack: str) -> dict[str, dict[str, Any]]:
    """The upstream exports as deployed stacks would hold them (what ``run_project`` fakes),
    written out here so the expectations do not depend on the fixture's internals."""
    arn = f"arn:aws:{{}}:us-east-1:{ACCOUNT_ID}:{{}}"
    names = CATALOG.names
    group = {fn: f"/aws/lambda/lambda-{fn}-{stack}" for fn in names}
    shared = {
        SharedExports.LAYER_ARN: arn.format("lambda", f"layer:layer-etl-common-{stack}:3"),
        SharedExports.NODE_LAYER_ARN: arn.format("lambda", f"layer:layer-etl-node-{stack}:2"),
        SharedExports.DLQ_ARNS: {fn: arn.format("sqs", f"dlq-{fn}-{stack}") for fn in names},
        SharedExports.DLQ_URLS: {
            fn: f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT_ID}/dlq-{fn}-{stack}" for fn in names
        },
        SharedExports.DLQ_NAMES: {fn: f"dlq-{fn}-{stack}" for fn in names},
        SharedExports.BOUNDARY_ARN: f"arn:aws:iam::{ACCOUNT_ID}:policy/boundary-etl-{stack}",
    }
    observability = {
        ObservabilityExports.LOG_GROUP_NAMES: group,
        ObservabilityExports.LOG_GROUP_ARNS: {
            fn: arn.format("logs", f"log-group:{g}") for fn, g in group.items()
        },
        ObservabilityExports.ALARM_TOPIC_ARN: arn.format("sns", f"alarms-{stack}"),
        ObservabilityExports.DASHBOARD_NAME: f"etl-{stack}",
    }
    return {
        stack_reference_name(DEFAULT_STACK_ORG, SHARED, stack): shared,
        stack_reference_name(DEFAULT_STACK_ORG, OBSERVABILITY, stack): observability,
    }


def upstream_value(project: str, stack: str, key: str) -> Any:
    return upstream(stack)[stack_reference_name(DEFAULT_STACK_ORG, project, stack)][key]


def bucket_arn(stack: str) -> str:
    return f"arn:aws:s3:::etl-data-{stack}-{ACCOUNT_ID}"


# ------------------------------------------------------------------------------ functions


def test_every_function_gets_runtime_architecture_profile_layer_and_tracing(
    run: ProgramRun, stack: str
) -> None:
    # GIVEN the catalog and the stack's settings (python3.13 on arm64 by default)
    settings = stack_settings(stack)
    assert settings.runtime == "python3.13"
    layers = {
        language: upstream_value(SHARED, stack, layer_export(language))
        for language in {spec.language for spec in CATALOG}
    }
    # WHEN the program runs
    # THEN each function is named with the suffix and configured from its profile, on
    # its own runtime (Node.js functions) or the stack's, with its language's layer only
    for spec in CATALOG:
        fn = function_of(run, spec)
        assert fn["name"] == f"lambda-{spec.name}-{stack}"
        assert fn["runtime"] == (spec.runtime or settings.runtime)
        assert fn["architectures"] == [settings.architecture] == ["arm64"]
        assert fn["handler"] == spec.handler
        assert fn["memorySize"] == spec.memory_size
        assert fn["timeout"] == spec.timeout
        assert fn["layers"] == [layers[spec.language]]
        assert fn["tracingConfig"] == {"mode": "Active"}
        assert fn["sourceCodeHash"], "the code hash makes a code change a diff"
    # AND the profiles are the numbers the design promises
    for spec in CATALOG:
        fn = function_of(run, spec)
        assert fn["timeout"] == {"api": 30, "batch": 300}[spec.kind], spec.name
        assert fn["memorySize"] == {"small": 512, "large": 1024}[spec.size], spec.name


def test_environment_carries_bucket_log_level_and_catalog_extras(
    run: ProgramRun, stack: str
) -> None:
    # GIVEN dev logs at DEBUG and prod at INFO; no database secret configured
    level = {"dev": "DEBUG", "prod": "INFO"}[stack]
    # WHEN the program runs
    for spec in CATALOG:
        variables = function_of(run, spec)["environment"]["variables"]
        # THEN every function knows the bucket, its log level and its environment
        assert variables["DATA_BUCKET"] == run.exports[FunctionsExports.BUCKET_NAME]
        assert variables["LOG_LEVEL"] == level
        assert variables["ETL_ENVIRONMENT"] == stack
        # AND the catalog's own variables are passed through
        for key, value in spec.environment.items():
            assert variables[key] == value
        # AND only database functions get the pool size and the (empty) secret ARN
        if spec.database:
            assert variables["MAX_CONNECTIONS"] == "10"
            assert variables["DB_SECRET_ARN"] == ""
        else:
            assert "MAX_CONNECTIONS" not in variables
            assert "DB_SECRET_ARN" not in variables


def test_logs_go_as_json_to_the_precreated_group_with_both_levels_explicit(
    run: ProgramRun, stack: str
) -> None:
    # GIVEN the observability stack's log group per function
    groups = upstream_value(OBSERVABILITY, stack, ObservabilityExports.LOG_GROUP_NAMES)
    level = stack_settings(stack).log_level
    # WHEN the program runs / THEN every function logs JSON into its own group, both
    # levels set (unset levels make every later `pulumi up` show a diff)
    for spec in CATALOG:
        assert function_of(run, spec)["loggingConfig"] == {
            "logFormat": "JSON",
            "logGroup": groups[spec.name],
            "applicationLogLevel": level,
            "systemLogLevel": "INFO",
        }
        assert groups[spec.name] == f"/aws/lambda/lambda-{spec.name}-{stack}"


def test_failed_async_events_are_retried_then_land_in_the_functions_own_dlq(
    run: ProgramRun, stack: str
) -> None:
    # GIVEN one DLQ per function from the shared stack
    dlqs = upstream_value(SHARED, stack, SharedExports.DLQ_ARNS)
    configs = {c.inputs["functionName"]: c.inputs for c in run.of_type(INVOKE_CONFIG)}
    # WHEN the program runs
    for spec in CATALOG:
        # THEN the DLQ is the function's own queue
        assert function_of(run, spec)["deadLetterConfig"] == {"targetArn": dlqs[spec.name]}
        # AND async invocations retry twice within six hours
        config = configs[f"lambda-{spec.name}-{stack}"]
        assert config["maximumRetryAttempts"] == 2
        assert config["maximumEventAgeInSeconds"] == 6 * 3600
    assert len(configs) == len(CATALOG)


def test_critical_functions_reserve_five_unless_the_stack_turns_it_off(
    run_functions: RunFunctions, stack: str
) -> None:
    # GIVEN the default (reservation on) and a stack with etl:reservedConcurrency=false
    default = run_functions(stack)
    off = run_functions(stack, {"etl:reservedConcurrency": "false"})
    # WHEN / THEN critical functions reserve 5 by default, others reserve nothing
    for spec in CATALOG:
        reserved = function_of(default, spec).get("reservedConcurrentExecutions")
        assert reserved == (5 if spec.critical else None)
        # AND with the reservation off no function reserves any concurrency
        assert function_of(off, spec).get("reservedConcurrentExecutions") is None
    assert any(spec.critical for spec in CATALOG)


# ---------------------------------------------------------------------------------- roles


def test_each_function_has_its_own_role_under_the_boundary_trusted_by_lambda_only(
    run: ProgramRun, stack: str
) -> None:
    # GIVEN the shared permissions boundary
    boundary = upstream_value(SHARED, stack, SharedExports.BOUNDARY_ARN)
    roles = {r.name: r for r in run.of_type(ROLE)}
    # WHEN the program runs
    role_arns = []
    for spec in CATALOG:
        role = roles[f"{spec.name}-role"]
        # THEN the role is the function's own, named with the suffix, under the boundary
        assert role.inputs["name"] == f"role-{spec.name}-{stack}"
        assert role.inputs["permissionsBoundary"] == boundary
        assert function_of(run, spec)["role"] == role.outputs["arn"]
        role_arns.append(role.outputs["arn"])
        # AND only Lambda may assume it, in the form AWS's execution-role docs show: no
        # aws:SourceAccount condition (such conditions broke CreateFunction in a VPC)
        trust = json.loads(role.inputs["assumeRolePolicy"])
        [statement] = trust["Statement"]
        assert statement["Effect"] == "Allow"
        assert statement["Action"] == "sts:AssumeRole"
        assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
        assert "Condition" not in statement
    # AND no role is shared between functions (the one other role is CodeDeploy's,
    # tests/unit/projects/test_safe_rollout.py)
    assert len(set(role_arns)) == len(CATALOG) == len(roles) - 1


def test_each_role_has_one_inline_policy_and_no_managed_policies(
    run: ProgramRun, stack: str
) -> None:
    # WHEN the program runs
    policies = run.of_type(ROLE_POLICY)
    # THEN there is exactly one inline policy per role, named with the suffix
    assert sorted(p.inputs["name"] for p in policies) == sorted(
        [f"policy-{spec.name}-{stack}" for spec in CATALOG] + [f"policy-codedeploy-{stack}"]
    )
    for spec in CATALOG:
        policy = run.one(ROLE_POLICY, f"{spec.name}-policy")
        assert policy.inputs["role"] == run.one(ROLE, f"{spec.name}-role").outputs["name"]
    # AND no managed policy (AWS's grant more than needed) is attached anywhere
    assert not run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert not run.of_type("aws:iam/policyAttachment:PolicyAttachment")
    assert all(not r.inputs.get("managedPolicyArns") for r in run.of_type(ROLE))


def test_policies_have_explicit_actions_and_star_only_where_aws_allows_nothing_else(
    run: ProgramRun,
) -> None:
    # WHEN the program runs
    for spec in CATALOG:
        for statement in policy_of(run, spec)["Statement"]:
            actions = as_list(statement["Action"])
            # THEN every action is spelled out (no s3:*, no logs:Put*)
            assert all("*" not in action for action in actions), statement
            # AND "*" as a resource only for actions without resource-level permissions
            if "*" in as_list(statement["Resource"]):
                assert set(actions) <= ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS, statement
            assert statement["Effect"] == "Allow"
            assert "logs:CreateLogGroup" not in actions


def test_policies_grant_own_log_group_own_dlq_and_exactly_the_catalog_prefixes(
    run: ProgramRun, stack: str
) -> None:
    # GIVEN the upstream log groups and DLQs, and the catalog's needs
    log_groups = upstream_value(OBSERVABILITY, stack, ObservabilityExports.LOG_GROUP_ARNS)
    dlqs = upstream_value(SHARED, stack, SharedExports.DLQ_ARNS)
    bucket = bucket_arn(stack)
    for spec in CATALOG:
        # WHEN its policy is rendered
        statements = statements_by_sid(policy_of(run, spec))
        # THEN logs go to its own group only (streams are <group-arn>:log-stream:<name>)
        logs = statements["WriteOwnLogs"]
        assert sorted(as_list(logs["Action"])) == ["logs:CreateLogStream", "logs:PutLogEvents"]
        assert as_list(logs["Resource"]) == [f"{log_groups[spec.name]}:*"]
        # AND X-Ray upload, and sending to its own DLQ
        assert sorted(as_list(statements["Tracing"]["Action"])) == [
            "xray:PutTelemetryRecords",
            "xray:PutTraceSegments",
        ]
        assert statements["DeadLetterQueue"]["Action"] == "sqs:SendMessage"
        assert as_list(statements["DeadLetterQueue"]["Resource"]) == [dlqs[spec.name]]
        # AND S3 object access on exactly the prefixes it reads, writes and creates
        reads = statements.get("ReadObjects")
        writes = statements.get("WriteObjects")
        creates = statements.get("CreateObjects")
        assert sorted(as_list(reads["Resource"]) if reads else []) == sorted(
            f"{bucket}/{p}*" for p in spec.s3_read
        )
        assert sorted(as_list(writes["Resource"]) if writes else []) == sorted(
            f"{bucket}/{p}*" for p in spec.s3_write
        )
        assert sorted(as_list(creates["Resource"]) if creates else []) == sorted(
            f"{bucket}/{p}*" for p in spec.s3_create
        )
        if reads:
            assert reads["Action"] == "s3:GetObject"
        if spec.s3_missing_ok or spec.s3_list:
            # AND listing of this stack's bucket only (so a missing key is a 404, not a
            # 403), only for a function whose needs say a missing key is an answer or
            # that lists keys
            listing = statements["ListDataBucket"]
            assert listing["Action"] == "s3:ListBucket"
            assert listing["Resource"] == bucket
        else:
            assert "ListDataBucket" not in statements
        if writes:
            # (PutObject, and aborting a multipart upload it started: model.needs)
            assert sorted(as_list(writes["Action"])) == sorted(need("s3_write").actions)
            assert "Condition" not in writes
        if creates:
            # AND objects it only creates can never be overwritten: PutObject needs the
            # If-None-Match header (S3 answers 412 for an existing key)
            assert creates["Action"] == "s3:PutObject"
            assert creates["Condition"] == {"Null": {"s3:if-none-match": "false"}}
        # AND no database, key or VPC access without that config
        assert not {"DatabaseSecret", "DatabaseSecretKey"} & set(statements)
        assert not any(sid.startswith("Vpc") for sid in statements)


@pytest.mark.parametrize("with_database", [False, True], ids=["plain", "database-vpc"])
def test_parliament_reports_nothing_on_any_policy(
    run_functions: RunFunctions, stack: str, with_database: bool
) -> None:
    # GIVEN the stack, with and without the database secret and VPC settings
    run = run_functions(stack, DATABASE_CONFIG if with_database else None)
    # WHEN every identity and bucket policy is linted
    linted = run.of_type(ROLE_POLICY) + run.of_type("aws:s3/bucketPolicy:BucketPolicy")
    assert len(linted) == len(CATALOG) + 2  # the functions', CodeDeploy's, the bucket's
    # THEN parliament has no findings but the reviewed suppressions in etl_platform.checks.iam_lint
    # (the ENI actions on "*" for a function in a VPC)
    assert open_findings(linted) == []


def test_database_function_gets_secret_pool_and_vpc_when_configured(
    run_functions: RunFunctions, stack: str
) -> None:
    # GIVEN a stack with etl:databaseSecretArn and VPC subnets and security groups
    run = run_functions(stack, DATABASE_CONFIG)
    # WHEN the program runs
    for spec in CATALOG:
        fn = function_of(run, spec)
        statements = statements_by_sid(policy_of(run, spec))
        if spec.database:
            # THEN the database function gets the pool size and the secret ARN ...
            variables = fn["environment"]["variables"]
            assert variables["MAX_CONNECTIONS"] == "10"
            assert variables["DB_SECRET_ARN"] == SECRET_ARN
            # ... may read that one secret, decrypting it through Secrets Manager only ...
            secret = statements["DatabaseSecret"]
            assert secret["Action"] == "secretsmanager:GetSecretValue"
            assert as_list(secret["Resource"]) == [SECRET_ARN]
            key = statements["DatabaseSecretKey"]
            assert (key["Action"], key["Resource"]) == ("kms:Decrypt", SECRET_KEY_ARN)
            assert key["Condition"] == {
                "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
            }
            # ... runs in the VPC and may create network interfaces only in its subnets
            # and security groups, and manage only this account's interfaces
            assert fn["vpcConfig"] == {
                "subnetIds": SUBNETS,
                "securityGroupIds": SECURITY_GROUPS,
            }
            ec2 = f"arn:aws:ec2:us-east-1:{ACCOUNT_ID}"
            create = statements["VpcCreateNetworkInterface"]
            assert create["Action"] == "ec2:CreateNetworkInterface"
            assert sorted(as_list(create["Resource"])) == sorted(
                [f"{ec2}:network-interface/*"]
                + [f"{ec2}:subnet/{s}" for s in SUBNETS]
                + [f"{ec2}:security-group/{g}" for g in SECURITY_GROUPS]
            )
            manage = statements["VpcNetworkInterfaces"]
            assert as_list(manage["Resource"]) == [f"{ec2}:network-interface/*"]
            assert sorted(as_list(manage["Action"])) == [
                "ec2:AssignPrivateIpAddresses",
                "ec2:DeleteNetworkInterface",
                "ec2:UnassignPrivateIpAddresses",
            ]
            describe = statements["VpcDescribe"]
            assert describe["Resource"] == "*"
            assert set(as_list(describe["Action"])) <= ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS
        else:
            # AND the other functions get none of it
            assert "vpcConfig" not in fn or not fn["vpcConfig"]
            assert not {"DatabaseSecret", "DatabaseSecretKey"} & set(statements)
            assert not any(sid.startswith("Vpc") for sid in statements)
    assert any(spec.database for spec in CATALOG)


# --------------------------------------------------------------------------------- bucket


def test_data_bucket_is_private_encrypted_versioned_tls_only_and_destroyable(
    run: ProgramRun, stack: str
) -> None:
    # WHEN the program runs
    bucket = run.one(BUCKET, "data-bucket")
    # THEN the bucket is named with the suffix and account, and destroy empties it
    assert bucket.inputs["bucket"] == f"etl-data-{stack}-{ACCOUNT_ID}"
    assert run.exports[FunctionsExports.BUCKET_NAME] == bucket.inputs["bucket"]
    assert bucket.inputs["forceDestroy"] is True
    # AND public access is blocked in all four ways
    block = run.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "data-public-access")
    for key in (
        "blockPublicAcls",
        "blockPublicPolicy",
        "ignorePublicAcls",
        "restrictPublicBuckets",
    ):
        assert block.inputs[key] is True, key
    # AND objects are encrypted by default
    sse = run.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "data-encryption",
    )
    [rule] = sse.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] in ("AES256", "aws:kms")
    # AND versioning keeps overwritten objects, and old versions expire
    versioning = run.one("aws:s3/bucketVersioning:BucketVersioning", "data-versioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    lifecycle = run.one(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "data-lifecycle"
    )
    [expire] = lifecycle.inputs["rules"]
    assert expire["status"] == "Enabled"
    assert expire["noncurrentVersionExpiration"]["noncurrentDays"] > 0
    # AND every request without TLS is denied, on the bucket and its objects
    policy = json.loads(run.one("aws:s3/bucketPolicy:BucketPolicy", "data-policy").inputs["policy"])
    [deny] = policy["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"  # everyone, as the provider renders type "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    arn = bucket_arn(stack)
    assert sorted(as_list(deny["Resource"])) == [arn, f"{arn}/*"]


def test_s3_triggers_are_limited_to_the_bucket_and_account_and_use_catalog_prefixes(
    run: ProgramRun, stack: str
) -> None:
    # GIVEN the functions the catalog triggers from S3, each on its own prefix
    triggered = {spec.name: spec for spec in CATALOG if spec.trigger.type == "s3"}
    assert triggered, "the catalog has S3-triggered functions"
    # WHEN the program runs
    permissions = {
        p.inputs["function"]: p.inputs
        for p in run.of_type(PERMISSION)
        if p.inputs["principal"] == "s3.amazonaws.com"
    }
    # THEN S3 may invoke exactly those, only from this bucket and this account
    assert sorted(permissions) == sorted(f"lambda-{n}-{stack}" for n in triggered)
    for permission in permissions.values():
        assert permission["action"] == "lambda:InvokeFunction"
        assert permission["principal"] == "s3.amazonaws.com"
        assert permission["sourceArn"] == bucket_arn(stack)
        assert permission["sourceAccount"] == ACCOUNT_ID
    # AND the bucket's single notification config sends each prefix to its function
    [notification] = run.of_type(NOTIFICATION)
    assert notification.inputs["bucket"] == f"etl-data-{stack}-{ACCOUNT_ID}"
    routes = {
        entry["lambdaFunctionArn"]: (entry["filterPrefix"], entry["events"])
        for entry in notification.inputs["lambdaFunctions"]
    }
    # (through the alias CodeDeploy moves, never $LATEST)
    arns = run.exports[FunctionsExports.FUNCTION_ARNS]
    assert routes == {
        f"{arns[name]}:{LIVE_ALIAS}": (spec.trigger.prefix, ["s3:ObjectCreated:*"])
        for name, spec in triggered.items()
    }


def test_function_urls_use_iam_auth_and_are_exported(run: ProgramRun, stack: str) -> None:
    # WHEN the program runs
    urls = run.of_type(FUNCTION_URL)
    # THEN the API functions (and only they) have a URL, signed with SigV4 (AWS_IAM)
    api = sorted(f"lambda-{s.name}-{stack}" for s in CATALOG if s.trigger.type == "url")
    assert sorted(u.inputs["functionName"] for u in urls) == api
    assert {u.inputs["authorizationType"] for u in urls} == {"AWS_IAM"}
    # AND the URLs are exported by function and as the ingest and status URLs
    by_function = {u.inputs["functionName"]: u.outputs["functionUrl"] for u in urls}
    exported = run.exports[FunctionsExports.FUNCTION_URLS]
    assert exported == {
        spec.name: by_function[f"lambda-{spec.name}-{stack}"]
        for spec in CATALOG
        if spec.trigger.type == "url"
    }
    for export, function in URL_EXPORTS.items():
        assert run.exports.get(export) == exported.get(function)
    assert all(url.startswith("https://") for url in exported.values())


def test_exports_name_every_function(run: ProgramRun, stack: str) -> None:
    # WHEN the program runs / THEN names and ARNs are exported for every catalog function
    names = run.exports[FunctionsExports.FUNCTION_NAMES]
    arns = run.exports[FunctionsExports.FUNCTION_ARNS]
    assert names == {spec.name: f"lambda-{spec.name}-{stack}" for spec in CATALOG}
    assert arns == {
        name: f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{physical}"
        for name, physical in names.items()
    }


# ------------------------------------------------------------------- names, tags, destroy


def test_every_name_carries_the_suffix(run_functions: RunFunctions) -> None:
    # GIVEN a stack with a distinctive suffix (a per-PR environment)
    run = run_functions("dev", {"etl:environmentSuffix": "pr-42"})
    # WHEN the program runs
    named = [r for r in run.custom_resources if "name" in r.inputs or r.type == BUCKET]
    # THEN every physical name ends with the suffix (the bucket: before the account id)
    for resource in named:
        if resource.type == BUCKET:
            assert resource.inputs["bucket"] == f"etl-data-pr-42-{ACCOUNT_ID}"
        elif resource.type == ALIAS:  # named within its function, which carries the suffix
            assert resource.inputs["name"] == LIVE_ALIAS
            assert resource.inputs["functionName"].endswith("-pr-42")
        else:
            assert resource.inputs["name"].endswith("-pr-42"), resource.inputs["name"]
    assert {r.type for r in named} >= {FUNCTION, ROLE, ROLE_POLICY, BUCKET}


def test_every_taggable_resource_carries_the_cost_tags(run: ProgramRun, stack: str) -> None:
    # GIVEN the cost tags of the stack
    expected = cost_tags(stack_settings(stack))
    # WHEN the program runs
    taggable = [r for r in run.custom_resources if is_taggable(r.type)]
    # THEN each taggable resource carries every required tag with the stack's values
    assert {r.type for r in taggable} >= {FUNCTION, ROLE, BUCKET}
    for resource in taggable:
        tags = resource.inputs.get("tags") or {}
        assert {k: tags.get(k) for k in REQUIRED_TAG_KEYS} == expected, resource.name


def test_nothing_is_protected_or_retained(run: ProgramRun) -> None:
    # WHEN the program runs / THEN `destroy` can remove every resource
    resources: list[PlannedResource] = run.resources
    assert resources
    assert [r.name for r in resources if r.protect or r.retain_on_delete] == []


# -------------------------------------------------------------------- catalog-driven only


def _write_entry(root: Path, name: str, body: str) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "function.toml").write_text(textwrap.dedent(body), encoding="utf-8")
    (folder / "handler.py").write_text(
        '"""Test handler."""\n\n\ndef handler(event, context):\n    return None\n',
        encoding="utf-8",
    )


@pytest.fixture(scope="module")
def new_functions_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalog with a scheduled function and another S3-triggered one (names unused
    by the real catalog, so their build zips never overwrite the real ones)."""
    root = tmp_path_factory.mktemp("catalog")
    _write_entry(
        root,
        "nightly-report",
        """
        name = "nightly-report"
        handler = "handler.handler"
        description = "Summarises yesterday's manifests."
        kind = "batch"
        size = "small"
        critical = false
        database = false

        [trigger]
        type = "schedule"
        expression = "cron(0 2 * * ? *)"

        [needs]
        s3_read = ["manifests/"]
        s3_write = ["reports/"]
        """,
    )
    _write_entry(
        root,
        "archive-export",
        """
        name = "archive-export"
        handler = "handler.handler"
        description = "Archives exported files."
        kind = "batch"
        size = "large"
        critical = true
        database = false

        [trigger]
        type = "s3"
        prefix = "exports/"

        [needs]
        s3_read = ["exports/"]
        s3_write = ["archive/"]
        """,
    )
    return root


def test_a_scheduled_function_gets_a_rule_target_and_scoped_permission(
    run_project: Callable[..., ProgramRun], new_functions_catalog: Path
) -> None:
    # GIVEN a catalog entry with trigger.type = "schedule" (no code change anywhere)
    # WHEN the program runs with that catalog
    run = run_project(PROJECT, "dev", catalog_dir=new_functions_catalog)
    # THEN an EventBridge rule named with the suffix carries the expression and tags
    rule = run.one("aws:cloudwatch/eventRule:EventRule", "nightly-report-schedule")
    assert rule.inputs["name"] == "schedule-nightly-report-dev"
    assert rule.inputs["scheduleExpression"] == "cron(0 2 * * ? *)"
    assert rule.inputs["tags"]["EnvironmentSuffix"] == "dev"
    # AND targets the function's alias
    function = run.one(FUNCTION, "nightly-report-function")
    target = run.one("aws:cloudwatch/eventTarget:EventTarget", "nightly-report-schedule-target")
    assert target.inputs["arn"] == run.one(ALIAS, "nightly-report-alias").outputs["arn"]
    assert target.inputs["rule"] == "schedule-nightly-report-dev"
    # AND only that rule may invoke it: its SourceArn alone, as AWS documents it for
    # EventBridge (the rule's ARN already names the account; no SourceAccount)
    permission = run.one(PERMISSION, "nightly-report-schedule-permission").inputs
    assert permission["principal"] == "events.amazonaws.com"
    assert permission["action"] == "lambda:InvokeFunction"
    assert permission["function"] == "lambda-nightly-report-dev"
    assert permission["qualifier"] == LIVE_ALIAS
    assert permission["sourceArn"] == rule.outputs["arn"]
    assert "sourceAccount" not in permission
    # AND it is wired like every other function (own role, DLQ, async config)
    assert function.inputs["role"] == run.one(ROLE, "nightly-report-role").outputs["arn"]
    assert function.inputs["deadLetterConfig"]["targetArn"].endswith(":dlq-nightly-report-dev")


def test_a_new_s3_function_is_wired_from_its_catalog_entry_alone(
    run_project: Callable[..., ProgramRun], new_functions_catalog: Path
) -> None:
    # GIVEN a new catalog entry triggered by exports/ (and no API functions at all)
    # WHEN the program runs with that catalog
    run = run_project(PROJECT, "dev", catalog_dir=new_functions_catalog)
    # THEN the bucket notification routes exports/ to it, with a scoped permission
    [notification] = run.of_type(NOTIFICATION)
    [route] = notification.inputs["lambdaFunctions"]
    assert route["filterPrefix"] == "exports/"
    assert route["lambdaFunctionArn"].endswith(f":function:lambda-archive-export-dev:{LIVE_ALIAS}")
    permission = run.one(PERMISSION, "data-triggers-archive-export-permission").inputs
    assert permission["sourceArn"] == bucket_arn("dev")
    # AND its policy covers exactly its prefixes
    statements = statements_by_sid(
        json.loads(run.one(ROLE_POLICY, "archive-export-policy").inputs["policy"])
    )
    assert statements["ReadObjects"]["Resource"] == f"{bucket_arn('dev')}/exports/*"
    assert statements["WriteObjects"]["Resource"] == f"{bucket_arn('dev')}/archive/*"
    # AND without API functions no URL is created or exported
    assert run.of_type(FUNCTION_URL) == []
    assert run.exports[FunctionsExports.FUNCTION_URLS] == {}
    assert FunctionsExports.INGEST_URL not in run.exports


# ------------------------------------------------------------------------------ contract


@pytest.mark.parametrize(
    ("project", "export"),
    [
        (SHARED, SharedExports.DLQ_ARNS),
        (OBSERVABILITY, ObservabilityExports.LOG_GROUP_NAMES),
        (OBSERVABILITY, ObservabilityExports.LOG_GROUP_ARNS),
    ],
)
def test_a_missing_upstream_entry_fails_naming_the_function_and_the_fix(
    run_project: Callable[..., ProgramRun], project: str, export: str
) -> None:
    # GIVEN an upstream stack that lacks one function's entry (deployed before it existed)
    missing = CATALOG.names[-1]
    broken = upstream("dev")
    del broken[stack_reference_name(DEFAULT_STACK_ORG, project, "dev")][export][missing]
    # WHEN the program runs / THEN it stops naming the function, the export and the fix
    with pytest.raises(ContractError) as failure:
        run_project(PROJECT, "dev", upstream=broken)
    message = str(failure.value)
    assert f"'{missing}'" in message
    assert export in message
    assert "nox -s deploy-all" in message


# ------------------------------------------------------------------------------ SnapStart


@pytest.fixture(scope="module")
def snap_start_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One API function with ``snap_start = true`` (a name the real catalog does not use)."""
    root = tmp_path_factory.mktemp("snapstart-catalog")
    _write_entry(
        root,
        "quote-api",
        """
        name = "quote-api"
        handler = "handler.handler"
        description = "Answers quotes."
        kind = "api"
        size = "small"
        snap_start = true

        [trigger]
        type = "url"

        [needs]
        s3_read = ["quotes/"]
        """,
    )
    return root


def test_snap_start_publishes_versions_and_the_url_serves_the_alias(
    run_project: Callable[..., ProgramRun], snap_start_catalog: Path
) -> None:
    # GIVEN an API function whose catalog entry says snap_start = true
    # WHEN the program runs with that catalog
    run = run_project(PROJECT, "dev", catalog_dir=snap_start_catalog)
    # THEN the function publishes a version on each deploy, with SnapStart on versions
    function = run.one(FUNCTION, "quote-api-function")
    assert function.inputs["publish"] is True
    assert function.inputs["snapStart"] == {"applyOn": "PublishedVersions"}
    # AND the URL serves the alias (SnapStart never applies to $LATEST, which an
    # unqualified URL would invoke)
    alias = run.one(ALIAS, "quote-api-alias")
    assert alias.inputs["functionName"] == "lambda-quote-api-dev"
    assert alias.inputs["name"] == "live"
    url = run.one(FUNCTION_URL, "quote-api-url")
    assert url.inputs["qualifier"] == "live"
    assert url.inputs["authorizationType"] == "AWS_IAM"


def test_only_functions_asking_for_it_get_snap_start_but_every_one_gets_the_alias(
    run_project: Callable[..., ProgramRun],
) -> None:
    # GIVEN the real catalog, WHEN the program runs
    run = run_project(PROJECT, "dev")
    # THEN SnapStart is on exactly where the entry asks for it, while every function
    # publishes versions behind the alias (safe rollout, test_safe_rollout.py)
    aliases = {a.inputs["functionName"] for a in run.of_type(ALIAS)}
    for spec in CATALOG:
        function = run.one(FUNCTION, f"{spec.name}-function")
        assert bool(function.inputs.get("snapStart")) is spec.snap_start
        assert function.inputs["publish"] is True
        assert f"lambda-{spec.name}-dev" in aliases
