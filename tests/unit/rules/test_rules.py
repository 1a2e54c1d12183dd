"""Every rule fires on a deliberately broken resource, with a message naming it and the fix.

GIVEN the compliant synthetic platform (conftest.py) with one thing broken,
WHEN the whole rule set is evaluated,
THEN exactly that rule fires, and its message names the resource (type and name),
what is wrong and how to fix it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from guardrail_platform import ACCOUNT, SUFFIX, TABLE_ARN, TAGS, Platform, table_read_statement

from etl_platform.checks.rules import RULES, Context, Resource, check, evaluate, rule
from etl_platform.checks.rules import types as t
from etl_platform.model.catalog import load_catalog
from etl_platform.paths import LAMBDAS_DIR

FN = "aws:lambda/function:Function"
TRANSFORM = f"lambda-transform-{SUFFIX}"
STATUS = f"lambda-status-api-{SUFFIX}"
TRANSFORM_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{TRANSFORM}"


def test_the_compliant_platform_passes_every_rule(platform: Platform) -> None:
    # GIVEN the compliant platform  WHEN every rule runs
    violations = platform.violations()
    # THEN nothing fires: the rules do not cry wolf on the shape the programs build
    assert [str(v) for v in violations] == []


def test_every_rule_has_an_id_and_a_one_line_description() -> None:
    # GIVEN the rule set  THEN each rule is identifiable and explained in one line
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    for r in RULES:
        assert r.id and r.id == r.id.lower() and " " not in r.id
        assert r.description.endswith(".") and "\n" not in r.description


# Each case: (what to break, rule that must fire, resource label, words the message must
# hold[, other rules that may fire too because the break has knock-on effects])
Case = tuple[Any, ...]


def _role_policy(statement: dict[str, Any]) -> Callable[[Platform], Any]:
    document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    return lambda p: p.set("transform-policy", policy=document)


def _code_fails_compat(p: Platform) -> None:
    """A copy of the catalog in which transform's handler imports distutils (gone in 3.12)."""
    scratch = tempfile.TemporaryDirectory(prefix="etl-code-rule-")
    p.keep = scratch  # removed with the platform
    shutil.copytree(LAMBDAS_DIR, Path(scratch.name) / "lambdas")
    catalog = load_catalog(Path(scratch.name) / "lambdas")
    spec = catalog.get("transform")
    handler = spec.code_dir / f"{spec.handler.rsplit('.', 1)[0]}.py"
    handler.write_text("import distutils\n" + handler.read_text())
    p.context = dataclasses.replace(p.context, catalog=catalog)


CASES: dict[str, Case] = {
    "code-fails-compat": (
        _code_fails_compat,
        "function-code-compatible",
        f"{FN} '{TRANSFORM}'",
        ("runs catalog function 'transform'", "[distutils]", "python3.13", "nox -s compat"),
    ),
    "nodejs18": (
        lambda p: p.set("transform-function", runtime="nodejs18.x"),
        "lambda-runtime-supported",
        f"{FN} '{TRANSFORM}'",
        ("nodejs18.x", "deprecated", "python3.13"),
    ),
    "node-runtime-on-a-python-function": (
        lambda p: p.set("transform-function", runtime="nodejs24.x"),
        "lambda-runtime-supported",
        f"{FN} '{TRANSFORM}'",
        ("nodejs24.x", "not a python runtime", "python3.13", "etl:runtime"),
    ),
    "no-layer": (
        lambda p: p.set("transform-function", layers=[]),
        "lambda-platform-layer",
        f"{FN} '{TRANSFORM}'",
        ("python platform layer", "layer-etl-common-", "layerArn"),
    ),
    "node-layer-on-a-python-function": (
        lambda p: p.set(
            "transform-function",
            layers=[f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:layer-etl-node-{SUFFIX}:1"],
        ),
        "lambda-platform-layer",
        f"{FN} '{TRANSFORM}'",
        ("layer-etl-node-", "layer-etl-common-"),
    ),
    "database-function-without-max-connections": (
        # load (a database function in the catalog) has transform's profile; its invoke
        # config, log group and deployment group keep transform's name, so those rules
        # fire too
        lambda p: p.set("transform-function", name=f"lambda-load-{SUFFIX}"),
        "lambda-max-connections",
        f"{FN} 'lambda-load-{SUFFIX}'",
        ("MAX_CONNECTIONS is None", "'10'", "FunctionSpec.max_connections"),
        frozenset({"lambda-async-retries", "lambda-json-logs", "deploy-gradual-in-prod"}),
    ),
    "python3.10": (
        lambda p: p.set("transform-function", runtime="python3.10"),
        "lambda-runtime-supported",
        f"{FN} '{TRANSFORM}'",
        ("python3.10", "deprecated by AWS since 2026-10-31", "days ago", "python3.13"),
    ),
    "layer-on-python3.8": (
        lambda p: p.set("layer", compatibleRuntimes=["python3.8"]),
        "lambda-runtime-supported",
        f"{t.LAYER_VERSION} 'layer-etl-common-{SUFFIX}'",
        ("python3.8", "deprecated", "python3.13"),
    ),
    "memory-off-profile": (
        lambda p: p.set("transform-function", memorySize=512),
        "lambda-profile",
        f"{FN} '{TRANSFORM}'",
        ("memorySize is 512", "1024 MB", 'size = "large"'),
    ),
    "timeout-off-profile": (
        lambda p: p.set("status-api-function", timeout=300),
        "lambda-profile",
        f"{FN} '{STATUS}'",
        ("timeout is 300", "30 s", 'kind = "api"'),
    ),
    "reserved-above-5": (
        lambda p: p.set("transform-function", reservedConcurrentExecutions=50),
        "lambda-profile",
        f"{FN} '{TRANSFORM}'",
        ("reservedConcurrentExecutions is 50", "never more"),
    ),
    "reserved-on-non-critical": (
        lambda p: p.set("status-api-function", reservedConcurrentExecutions=5),
        "lambda-profile",
        f"{FN} '{STATUS}'",
        ("not critical",),
    ),
    "function-not-in-catalog": (
        lambda p: p.set("transform-function", name=f"lambda-mystery-{SUFFIX}"),
        "lambda-profile",
        f"{FN} 'lambda-mystery-{SUFFIX}'",
        ("matches no catalog function", "function.toml"),
        # renaming the function also orphans its invoke config and log group
        frozenset({"lambda-async-retries", "lambda-json-logs"}),
    ),
    "tracing-off": (
        lambda p: p.set("transform-function", tracingConfig={"mode": "PassThrough"}),
        "lambda-tracing-active",
        f"{FN} '{TRANSFORM}'",
        ("PassThrough", "Active"),
    ),
    "no-dlq": (
        lambda p: p.set("transform-function", deadLetterConfig=None),
        "lambda-dead-letter-queue",
        f"{FN} '{TRANSFORM}'",
        ("dead-letter queue", "dlqArns"),
    ),
    "no-invoke-config": (
        lambda p: p.remove("transform-async"),
        "lambda-async-retries",
        f"{FN} '{TRANSFORM}'",
        ("no FunctionEventInvokeConfig", "maximum_retry_attempts"),
    ),
    "invoke-config-without-retries": (
        lambda p: p.set("transform-async", maximumRetryAttempts=None),
        "lambda-async-retries",
        f"{FN} '{TRANSFORM}'",
        ("without maximumRetryAttempts",),
    ),
    "text-logs": (
        lambda p: p.set("transform-function", loggingConfig={"logFormat": "Text"}),
        "lambda-json-logs",
        f"{FN} '{TRANSFORM}'",
        ("log format is Text", "JSON"),
    ),
    "logs-elsewhere": (
        lambda p: (
            p.set("transform-function", loggingConfig={"logFormat": "JSON", "logGroup": "/shared"}),
            p.set("transform-logs", name="/shared-dev"),
        ),
        "lambda-json-logs",
        f"{FN} '{TRANSFORM}'",
        ("'/shared'", f"/aws/lambda/{TRANSFORM}"),
        frozenset({"lambda-log-group-precreated"}),
    ),
    "log-group-missing": (
        lambda p: p.remove("transform-logs"),
        "lambda-log-group-precreated",
        f"{FN} '{TRANSFORM}'",
        ("no pre-created log group", "never"),
    ),
    "log-group-without-retention": (
        lambda p: p.set("transform-logs", retentionInDays=None),
        "log-retention",
        f"{t.LOG_GROUP} '/aws/lambda/{TRANSFORM}'",
        ("never expires", "7 days"),
    ),
    "dev-log-group-keeps-30-days": (
        lambda p: p.set("transform-logs", retentionInDays=30),
        "log-retention",
        f"{t.LOG_GROUP} '/aws/lambda/{TRANSFORM}'",
        ("30 days", "dev keeps them 7 days"),
    ),
    "shared-role": (
        lambda p: p.set(
            "status-api-function", role=f"arn:aws:iam::{ACCOUNT}:role/role-transform-{SUFFIX}"
        ),
        "iam-role-per-function",
        f"{FN} '{STATUS}'",
        ("shares execution role", "one role per function"),
    ),
    "no-boundary": (
        lambda p: p.set("transform-role", permissionsBoundary=None),
        "iam-permissions-boundary",
        f"{t.ROLE} 'role-transform-{SUFFIX}'",
        ("without a permissions boundary", "boundaryArn"),
    ),
    "aws-managed-policy-attached": (
        lambda p: p.add(
            Resource(
                t.ROLE_POLICY_ATTACHMENT,
                "transform-basic",
                {
                    "role": f"role-transform-{SUFFIX}",
                    "policyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                },
            )
        ),
        "iam-no-aws-managed-policies",
        f"{t.ROLE_POLICY_ATTACHMENT} 'transform-basic'",
        ("AWSLambdaBasicExecutionRole", "inline policy"),
    ),
    "managed-policy-arns-on-role": (
        lambda p: p.set(
            "transform-role", managedPolicyArns=["arn:aws:iam::aws:policy/AmazonS3FullAccess"]
        ),
        "iam-no-aws-managed-policies",
        f"{t.ROLE} 'role-transform-{SUFFIX}'",
        ("AmazonS3FullAccess",),
    ),
    "wildcard-action": (
        _role_policy(
            {"Sid": "All", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}
        ),
        "iam-no-wildcard-actions",
        f"{t.ROLE_POLICY} 'policy-transform-{SUFFIX}'",
        ("statement All allows wildcard actions ['s3:*']", "exact actions"),
    ),
    "star-resource-for-scoped-action": (
        _role_policy({"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}),
        "iam-star-resource-scoped",
        f"{t.ROLE_POLICY} 'policy-transform-{SUFFIX}'",
        ("allows ['s3:GetObject'] on Resource '*'", "ARNs"),
    ),
    "partial-secret-arn-in-policy": (
        _role_policy(
            {
                "Sid": "DatabaseSecret",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:etl/database",
            }
        ),
        "iam-secret-arn-complete",
        f"{t.ROLE_POLICY} 'policy-transform-{SUFFIX}'",
        (
            "statement DatabaseSecret",
            "partial ARN",
            "6 characters",
            "aws secretsmanager describe-secret --secret-id <name> --query ARN",
        ),
    ),
    "partial-secret-arn-in-function-environment": (
        lambda p: p.set(
            "transform-function",
            environment={
                "variables": {
                    "DB_SECRET_ARN": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:etl-db"
                }
            },
        ),
        "iam-secret-arn-complete",
        f"{FN} '{TRANSFORM}'",
        ("environment variable DB_SECRET_ARN", "partial ARN", "--query ARN"),
    ),
    "need-grant-on-a-kms-alias": (
        _role_policy(
            {
                "Sid": "NeedKmsDecrypt",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/webhook",
            }
        ),
        "iam-need-grants-exact",
        f"{t.ROLE_POLICY} 'policy-transform-{SUFFIX}'",
        ("statement NeedKmsDecrypt", "kms_decrypt", "KMS alias", "describe-key", "etl:resources"),
        # the boundary does not allow the alias either
        frozenset({"iam-needs-under-boundary"}),
    ),
    "need-grant-in-another-region": (
        _role_policy(
            {
                **table_read_statement(),
                "Resource": TABLE_ARN.replace("us-east-1", "eu-west-1"),
            }
        ),
        "iam-need-grants-exact",
        f"{t.ROLE_POLICY} 'policy-transform-{SUFFIX}'",
        ("statement NeedDynamodbRead", "'eu-west-1'", "us-east-1"),
        frozenset({"iam-needs-under-boundary"}),
    ),
    "need-grant-of-the-wrong-kind": (
        _role_policy(
            {
                **table_read_statement(),
                "Resource": f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders-{SUFFIX}",
            }
        ),
        "iam-need-grants-exact",
        f"{t.ROLE_POLICY} 'policy-transform-{SUFFIX}'",
        ("is an SQS queue", "dynamodb_read acts on a DynamoDB table"),
        frozenset({"iam-needs-under-boundary"}),
    ),
    "need-grant-with-more-actions": (
        _role_policy(
            {**table_read_statement(), "Action": ["dynamodb:GetItem", "dynamodb:PutItem"]}
        ),
        "iam-need-grants-exact",
        f"{t.ROLE_POLICY} 'policy-transform-{SUFFIX}'",
        ("allows ['dynamodb:GetItem', 'dynamodb:PutItem']", "grant_statements"),
    ),
    "need-grant-outside-the-boundary": (
        lambda p: p.set(
            "boundary",
            policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "Data",
                            "Effect": "Allow",
                            "Action": "s3:GetObject",
                            "Resource": "arn:aws:s3:::x/*",
                        }
                    ],
                }
            ),
        ),
        "iam-needs-under-boundary",
        f"{t.ROLE_POLICY} 'policy-transform-{SUFFIX}'",
        ("statement NeedDynamodbRead", TABLE_ARN, "boundary does not allow", "etl:resources"),
    ),
    "function-url-auth-none": (
        lambda p: p.set("status-url", authorizationType="NONE"),
        "lambda-url-auth",
        f"{t.FUNCTION_URL} 'status-url'",
        ("'NONE'", "AWS_IAM"),
    ),
    "permission-without-source-arn": (
        lambda p: p.set("transform-s3", sourceArn=None),
        "lambda-permission-source",
        f"{t.PERMISSION} 'transform-s3'",
        ("no sourceArn", "source_arn"),
    ),
    "s3-permission-without-source-account": (
        lambda p: p.set("transform-s3", sourceAccount=None),
        "lambda-permission-source",
        f"{t.PERMISSION} 'transform-s3'",
        ("without sourceAccount", "source_account"),
    ),
    "mapping-without-partial-batch-responses": (
        lambda p: p.set("transform-stream", functionResponseTypes=[]),
        "lambda-mapping-failure-handling",
        f"{t.EVENT_SOURCE_MAPPING} 'transform-stream'",
        ("batch item failures", "ReportBatchItemFailures"),
    ),
    "stream-mapping-without-on-failure-destination": (
        lambda p: p.set("transform-stream", destinationConfig=None),
        "lambda-mapping-failure-handling",
        f"{t.EVENT_SOURCE_MAPPING} 'transform-stream'",
        ("on-failure destination", "DLQ"),
    ),
    "stream-mapping-retrying-forever": (
        lambda p: p.set("transform-stream", maximumRetryAttempts=-1),
        "lambda-mapping-failure-handling",
        f"{t.EVENT_SOURCE_MAPPING} 'transform-stream'",
        ("blocks its shard", "maximum_retry_attempts"),
    ),
    "http-api-stage-unthrottled": (
        lambda p: p.set("status-stage", defaultRouteSettings={}),
        "http-api-stage-guarded",
        f"{t.HTTP_API_STAGE} '$default'",
        ("throttlingRateLimit", "throttle_rate"),
    ),
    "http-api-stage-without-access-logs": (
        lambda p: p.set("status-stage", accessLogSettings=None),
        "http-api-stage-guarded",
        f"{t.HTTP_API_STAGE} '$default'",
        ("no access logs", "accessLogGroupArns"),
    ),
    "queue-unencrypted": (
        lambda p: p.set("transform-dlq", sqsManagedSseEnabled=False),
        "sqs-encrypted",
        f"{t.QUEUE} 'dlq-transform-{SUFFIX}'",
        ("not encrypted", "sqs_managed_sse_enabled"),
    ),
    "queue-without-tls-policy": (
        lambda p: p.remove("transform-dlq-policy"),
        "sqs-tls-only",
        f"{t.QUEUE} 'dlq-transform-{SUFFIX}'",
        ("without TLS", "deny_insecure_transport"),
    ),
    "topic-unencrypted": (
        lambda p: p.set("alarms", kmsMasterKeyId=None),
        "sns-encrypted",
        f"{t.TOPIC} 'alarms-{SUFFIX}'",
        ("not encrypted", "kms_master_key_id"),
    ),
    "topic-without-tls-policy": (
        lambda p: p.remove("alarms-policy"),
        "sns-tls-only",
        f"{t.TOPIC} 'alarms-{SUFFIX}'",
        ("without TLS", "TopicPolicy"),
    ),
    "bucket-public-access-partly-open": (
        lambda p: p.set("data-public-access", restrictPublicBuckets=False),
        "s3-bucket-locked-down",
        f"aws:s3/bucket:Bucket 'etl-data-{SUFFIX}-{ACCOUNT}'",
        ("public access block", "BucketPublicAccessBlock"),
    ),
    "bucket-unencrypted": (
        lambda p: p.remove("data-sse"),
        "s3-bucket-locked-down",
        f"aws:s3/bucket:Bucket 'etl-data-{SUFFIX}-{ACCOUNT}'",
        ("no default encryption",),
    ),
    "bucket-without-tls-policy": (
        lambda p: p.remove("data-policy"),
        "s3-bucket-locked-down",
        f"aws:s3/bucket:Bucket 'etl-data-{SUFFIX}-{ACCOUNT}'",
        ("without TLS", "BucketPolicy"),
    ),
    "name-without-suffix": (
        lambda p: p.set("transform-dlq", name="dlq-transform"),
        "names-carry-suffix",
        f"{t.QUEUE} 'dlq-transform'",
        ("without the environment suffix 'dev'", "resource_name"),
    ),
    "auto-named-role": (
        lambda p: p.set("transform-role", name=None),
        "names-carry-suffix",
        f"{t.ROLE} 'transform-role'",
        ("no explicit name", "auto-name"),
    ),
    "missing-cost-tags": (
        lambda p: p.set("transform-dlq", tags={"Project": "etl-platform"}),
        "cost-tags",
        f"{t.QUEUE} 'dlq-transform-{SUFFIX}'",
        ("CostCenter", "Owner", "cost_tags"),
    ),
    "protected": (
        lambda p: p.replace("transform-dlq", protect=True),
        "destroyable",
        f"{t.QUEUE} 'dlq-transform-{SUFFIX}'",
        ("protected",),
    ),
    "retained": (
        lambda p: p.replace("transform-logs", retain_on_delete=True),
        "destroyable",
        f"{t.LOG_GROUP} '/aws/lambda/{TRANSFORM}'",
        ("retain_on_delete",),
    ),
    "layer-skip-destroy": (
        lambda p: p.set("layer", skipDestroy=True),
        "destroyable",
        f"{t.LAYER_VERSION} 'layer-etl-common-{SUFFIX}'",
        ("skipDestroy",),
    ),
    "url-on-latest": (
        lambda p: p.set("status-url", qualifier=None),
        "lambda-trigger-targets-alias",
        f"{t.FUNCTION_URL} 'status-url'",
        (STATUS, "qualifier None", "'live'", "$LATEST"),
    ),
    "permission-on-latest": (
        lambda p: p.set("transform-s3", qualifier=None),
        "lambda-trigger-targets-alias",
        f"{t.PERMISSION} 'transform-s3'",
        (TRANSFORM, "allow_invoke"),
    ),
    "invoke-config-on-another-alias": (
        lambda p: p.set("transform-async", qualifier="beta"),
        "lambda-trigger-targets-alias",
        f"{t.INVOKE_CONFIG} 'transform-async'",
        ("qualifier 'beta'",),
    ),
    "schedule-target-on-the-unqualified-arn": (
        lambda p: p.add(
            Resource(
                "aws:cloudwatch/eventTarget:EventTarget",
                "transform-schedule-target",
                {"rule": f"schedule-transform-{SUFFIX}", "arn": TRANSFORM_ARN},
            )
        ),
        "lambda-trigger-targets-alias",
        "aws:cloudwatch/eventTarget:EventTarget 'transform-schedule-target'",
        ("arn is the unqualified ARN of", "target_arn"),
    ),
    "mapping-on-latest": (
        lambda p: p.add(
            Resource(
                "aws:lambda/eventSourceMapping:EventSourceMapping",
                "transform-mapping",
                {
                    "eventSourceArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:q",
                    "functionName": TRANSFORM_ARN,
                    "functionResponseTypes": ["ReportBatchItemFailures"],
                    "tags": TAGS,
                },
            )
        ),
        "lambda-trigger-targets-alias",
        "aws:lambda/eventSourceMapping:EventSourceMapping 'transform-mapping'",
        ("qualifier None",),
    ),
    "notification-on-latest": (
        lambda p: p.add(
            Resource(
                "aws:s3/bucketNotification:BucketNotification",
                "data-notification",
                {
                    "bucket": f"etl-data-{SUFFIX}-{ACCOUNT}",
                    "lambdaFunctions": [{"lambdaFunctionArn": f"{TRANSFORM_ARN}:$LATEST"}],
                },
            )
        ),
        "lambda-trigger-targets-alias",
        "aws:s3/bucketNotification:BucketNotification 'data-notification'",
        ("lambdaFunctions[0].lambdaFunctionArn targets", ":$LATEST"),
    ),
    "no-deployment-group": (
        lambda p: p.remove("deployments-transform"),
        "deploy-gradual-in-prod",
        f"{FN} '{TRANSFORM}'",
        (f"no CodeDeploy deployment group 'deploy-transform-{SUFFIX}'", "Deployments"),
    ),
    "deployment-group-without-alarms": (
        lambda p: p.set("deployments-transform", alarmConfiguration={"enabled": False}),
        "deploy-gradual-in-prod",
        f"{FN} '{TRANSFORM}'",
        ("without enabled alarms", "rollback_alarm_names"),
    ),
    "deployment-group-without-rollback": (
        lambda p: p.set("deployments-transform", autoRollbackConfiguration=None),
        "deploy-gradual-in-prod",
        f"{FN} '{TRANSFORM}'",
        ("does not roll back", "DEPLOYMENT_STOP_ON_ALARM"),
    ),
    "bucket-not-force-destroy": (
        lambda p: p.set("data", forceDestroy=None),
        "destroyable",
        f"aws:s3/bucket:Bucket 'etl-data-{SUFFIX}-{ACCOUNT}'",
        ("force_destroy=True",),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_broken_resource_fires_its_rule(platform: Platform, case: str) -> None:
    break_it, rule_id, label, words, *also = CASES[case]
    # GIVEN the platform with one thing broken
    break_it(platform)
    # WHEN the rules run
    fired = platform.fired(rule_id, also=also[0] if also else frozenset())
    # THEN that rule fires on that resource, and the message says what and how to fix
    assert fired, f"{rule_id} did not fire"
    assert {v.rule_id for v in fired} == {rule_id}
    message = fired[0].message
    assert message.startswith(label + ": "), message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    assert "Fix:" in message


def test_every_rule_has_a_broken_case() -> None:
    # GIVEN the table of broken cases  THEN no rule goes untested
    assert {case[1] for case in CASES.values()} == {r.id for r in RULES}


def _wildcard_policy(platform: Platform, statement: dict[str, Any], policy_doc: Any) -> None:
    platform.set("transform-policy", policy=policy_doc(statement))


@pytest.mark.parametrize("action", ["*", "s3:Get*"])
def test_any_wildcard_in_an_allowed_action_fires(
    platform: Platform, policy_doc: Callable[..., str], action: str
) -> None:
    # GIVEN an allowed action with a wildcard  THEN it is refused
    _wildcard_policy(
        platform,
        {"Sid": "Wild", "Effect": "Allow", "Action": action, "Resource": "arn:aws:s3:::b/*"},
        policy_doc,
    )
    fired = [v for v in platform.violations() if v.rule_id == "iam-no-wildcard-actions"]
    assert fired and action in fired[0].message


def test_wildcard_in_a_deny_statement_is_fine(platform: Platform) -> None:
    # GIVEN the TLS-only deny (Action sqs:*, Effect Deny)  THEN no wildcard violation:
    # denying broadly only takes permissions away
    assert not [v for v in platform.violations() if v.rule_id == "iam-no-wildcard-actions"]


def test_a_full_secret_arn_passes_the_secret_rule(platform: Platform) -> None:
    # GIVEN a role policy granting a secret by its full ARN (with the 6-character suffix)
    arn = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:etl/database-AbCdEf"
    _role_policy(
        {"Sid": "S", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arn}
    )(platform)
    # WHEN the rules run  THEN the secret rule is satisfied
    assert platform.fired("iam-secret-arn-complete") == []


def test_star_resource_for_xray_is_allowed(platform: Platform) -> None:
    # GIVEN the compliant role policy (xray:PutTraceSegments on "*")  THEN nothing fires
    assert not [v for v in platform.violations() if v.rule_id == "iam-star-resource-scoped"]


def test_a_public_invoke_permission_fires(platform: Platform) -> None:
    # GIVEN a permission for principal "*"
    platform.set("transform-s3", principal="*")
    # THEN it is refused
    fired = platform.fired("lambda-permission-source")
    assert "principal '*'" in fired[0].message


def test_a_permission_for_an_account_needs_no_source_arn(platform: Platform) -> None:
    # GIVEN a permission for an account principal (not a service)
    platform.set("transform-s3", principal=ACCOUNT, sourceArn=None, sourceAccount=None)
    # THEN the service-principal rule does not apply
    assert platform.violations() == []


def test_runtime_rule_uses_the_deprecation_dates() -> None:
    # GIVEN python3.12 (deprecated 2028-10-31)
    fn = Resource(FN, "f", {"runtime": "python3.12"})
    only = [rule("lambda-runtime-supported")]
    # WHEN checked today and after its deprecation date
    before = evaluate([fn], Context(today=dt.date(2026, 1, 1)), only)
    after = evaluate([fn], Context(today=dt.date(2029, 1, 1)), only)
    # THEN it passes before and is refused after, naming the replacement
    assert before == []
    assert "use python3.13" in after[0].message


def test_prod_log_groups_keep_30_days(platform: Platform) -> None:
    # GIVEN a log group tagged prod that keeps 7 days
    platform.set("transform-logs", tags={"Environment": "prod"}, retentionInDays=7)
    # WHEN only the retention rule runs
    fired = evaluate(platform.resources, platform.context, [rule("log-retention")])
    # THEN the environment comes from its tag, and prod wants 30 days
    assert len(fired) == 1
    assert "keeps logs 7 days; prod keeps them 30 days" in fired[0].message


def test_a_prod_function_deployed_all_at_once_fires(platform: Platform) -> None:
    # GIVEN a function tagged prod whose deployment group shifts all traffic at once
    platform.set("transform-function", tags={"Environment": "prod"})
    gradual = rule("deploy-gradual-in-prod")
    # WHEN only the rollout rule runs
    fired = evaluate(platform.resources, platform.context, [gradual])
    # THEN it asks for a gradual preference, naming where to set it
    assert len(fired) == 1
    assert fired[0].resource_name == TRANSFORM
    assert "CodeDeployDefault.LambdaAllAtOnce" in fired[0].message
    assert 'deployment = "canary-10-5"' in fired[0].message
    # AND a canary configuration satisfies it (the same group in dev needs none)
    platform.set(
        "deployments-transform",
        deploymentConfigName="CodeDeployDefault.LambdaCanary10Percent5Minutes",
    )
    assert evaluate(platform.resources, platform.context, [gradual]) == []


def test_environment_and_suffix_come_from_tags_when_not_given(platform: Platform) -> None:
    # GIVEN no stack context (as in the policy pack), and a queue named for another suffix
    platform.set("transform-dlq", name="dlq-transform-prod")
    # WHEN the rules run with an empty context
    fired = [v for v in evaluate(platform.resources) if v.rule_id == "names-carry-suffix"]
    # THEN the suffix is read from the EnvironmentSuffix tags, and the queue is caught
    assert [v.resource_name for v in fired] == ["dlq-transform-prod"]


def test_tags_of_another_stack_fire(platform: Platform) -> None:
    # GIVEN a queue tagged for prod in the dev stack
    platform.set(
        "transform-dlq", tags={**platform.find("transform-dlq").tags, "Environment": "prod"}
    )
    # THEN the cost-tags rule names the wrong value
    fired = [v for v in platform.violations() if v.rule_id == "cost-tags"]
    assert "tagged Environment='prod' in stack 'dev'" in fired[0].message


def test_whole_platform_rules_are_skipped_for_a_single_stack(platform: Platform) -> None:
    # GIVEN a set without log groups, checked as one stack (as the policy pack does)
    for name in ("transform-logs", "status-api-logs"):
        platform.remove(name)
    results = check(platform.resources, Context(environment="dev", suffix=SUFFIX))
    # THEN the cross-stack log group rule is reported skipped, not failed
    by_id = {r.rule.id: r for r in results}
    assert by_id["lambda-log-group-precreated"].skipped
    assert all(r.passed for r in results)


def test_unparsable_policy_document_does_not_crash(platform: Platform) -> None:
    # GIVEN a policy that is not JSON (an unknown value rendered as text)
    platform.set("transform-policy", policy="not json")
    # THEN the rules skip it instead of crashing (the IAM lint reports it)
    assert platform.violations() == []


def test_violation_text_carries_the_rule_id(platform: Platform) -> None:
    platform.set("transform-function", tracingConfig=None)
    (violation,) = platform.violations()
    assert str(violation).startswith("[lambda-tracing-active] ")
    assert json.dumps(violation.message)  # plain text, printable anywhere
