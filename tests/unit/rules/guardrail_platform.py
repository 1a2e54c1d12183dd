"""A small, compliant platform made of synthetic resources, and ways to break it.

Imported by the rule, policy-pack and plan tests (conftest.py exposes it as fixtures).

The resources look exactly like what the offline plan and a policy pack hand the
rules: a pulumi-aws type token and camelCase properties (policy documents as JSON
text). Each test breaks one thing and checks that the right rule fires with a
message naming the resource.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from etl_platform.checks.rules import Context, Resource, Violation, evaluate
from etl_platform.checks.rules import types as t
from etl_platform.model.needs import need

ACCOUNT = "123456789012"
SUFFIX = "dev"
TAGS = {
    "Project": "etl-platform",
    "Environment": "dev",
    "EnvironmentSuffix": SUFFIX,
    "ManagedBy": "pulumi",
    "CostCenter": "data-platform",
    "Owner": "data-platform-team",
}
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/boundary-etl-{SUFFIX}"
BUCKET = f"etl-data-{SUFFIX}-{ACCOUNT}"
#: A table the platform does not own, read by every function through needs.dynamodb_read.
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/todos-{SUFFIX}"
TABLE_READ = need("dynamodb_read")


def table_read_statement() -> dict[str, Any]:
    """What grant_statements builds for ``dynamodb_read = ["todos"]``."""
    return {
        "Sid": TABLE_READ.sid,
        "Effect": "Allow",
        "Action": list(TABLE_READ.actions),
        "Resource": list(TABLE_READ.arns(TABLE_ARN)),
    }


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


def tls_deny(resource_arn: str, action: str) -> dict[str, Any]:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": action,
        "Resource": resource_arn,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def function_resources(fn: str, memory: int, timeout: int, reserved: int | None) -> list[Resource]:
    name = f"lambda-{fn}-{SUFFIX}"
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"
    role = f"role-{fn}-{SUFFIX}"
    dlq = f"dlq-{fn}-{SUFFIX}"
    dlq_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{dlq}"
    dlq_url = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/{dlq}"
    trust = doc(
        {
            "Sid": "LambdaAssume",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"Service": "lambda.amazonaws.com"},
        }
    )
    function_props: dict[str, Any] = {
        "name": name,
        "arn": arn,
        "runtime": "python3.13",
        "layers": [f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:layer-etl-common-{SUFFIX}:1"],
        "memorySize": memory,
        "timeout": timeout,
        "role": f"arn:aws:iam::{ACCOUNT}:role/{role}",
        "tracingConfig": {"mode": "Active"},
        "deadLetterConfig": {"targetArn": dlq_arn},
        "loggingConfig": {"logFormat": "JSON", "logGroup": f"/aws/lambda/{name}"},
        "tags": TAGS,
    }
    if reserved is not None:
        function_props["reservedConcurrentExecutions"] = reserved
    return [
        Resource(t.FUNCTION, f"{fn}-function", function_props, urn=f"urn:{fn}:function"),
        Resource(
            t.ROLE,
            f"{fn}-role",
            {
                "name": role,
                "arn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
                "assumeRolePolicy": trust,
                "permissionsBoundary": BOUNDARY_ARN,
                "tags": TAGS,
            },
        ),
        Resource(
            t.ROLE_POLICY,
            f"{fn}-policy",
            {
                "name": f"policy-{fn}-{SUFFIX}",
                "role": role,
                "policy": doc(
                    {
                        "Sid": "ReadRaw",
                        "Effect": "Allow",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{BUCKET}/raw/*",
                    },
                    {
                        "Sid": "Tracing",
                        "Effect": "Allow",
                        "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                        "Resource": "*",
                    },
                    table_read_statement(),
                ),
            },
        ),
        Resource(
            t.INVOKE_CONFIG,
            f"{fn}-async",
            {
                "functionName": name,
                "qualifier": "live",
                "maximumRetryAttempts": 2,
                "maximumEventAgeInSeconds": 21600,
            },
        ),
        Resource(
            t.ALIAS,
            f"{fn}-alias",
            {"name": "live", "functionName": name, "functionVersion": "1", "arn": f"{arn}:live"},
        ),
        Resource(
            t.DEPLOYMENT_GROUP,
            f"deployments-{fn}",
            {
                "appName": f"deploy-etl-{SUFFIX}",
                "deploymentGroupName": f"deploy-{fn}-{SUFFIX}",
                "deploymentConfigName": "CodeDeployDefault.LambdaAllAtOnce",
                "deploymentStyle": {
                    "deploymentType": "BLUE_GREEN",
                    "deploymentOption": "WITH_TRAFFIC_CONTROL",
                },
                "alarmConfiguration": {
                    "enabled": True,
                    "alarms": [f"alarm-{fn}-errors-{SUFFIX}"],
                },
                "autoRollbackConfiguration": {
                    "enabled": True,
                    "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
                },
                "tags": TAGS,
            },
        ),
        Resource(
            t.QUEUE,
            f"{fn}-dlq",
            {
                "name": dlq,
                "arn": dlq_arn,
                "url": dlq_url,
                "sqsManagedSseEnabled": True,
                "tags": TAGS,
            },
        ),
        Resource(
            t.QUEUE_POLICY,
            f"{fn}-dlq-policy",
            {"queueUrl": dlq_url, "policy": doc(tls_deny(dlq_arn, "sqs:*"))},
        ),
        Resource(
            t.LOG_GROUP,
            f"{fn}-logs",
            {"name": f"/aws/lambda/{name}", "retentionInDays": 7, "tags": TAGS},
        ),
    ]


def compliant_platform() -> list[Resource]:
    """Two catalog functions (transform: critical batch; status-api: api) and their resources."""
    topic = f"alarms-{SUFFIX}"
    topic_arn = f"arn:aws:sns:us-east-1:{ACCOUNT}:{topic}"
    resources = [
        *function_resources("transform", 1024, 300, 5),
        *function_resources("status-api", 512, 30, None),
        Resource(
            t.MANAGED_POLICY,
            "boundary",
            {
                "name": f"boundary-etl-{SUFFIX}",
                "arn": BOUNDARY_ARN,
                "policy": doc(
                    {
                        "Sid": "Data",
                        "Effect": "Allow",
                        "Action": ["s3:GetObject", "s3:PutObject"],
                        "Resource": f"arn:aws:s3:::{BUCKET}/*",
                    },
                    table_read_statement(),
                ),
                "tags": TAGS,
            },
        ),
        Resource(
            t.LAYER_VERSION,
            "layer",
            {"layerName": f"layer-etl-common-{SUFFIX}", "compatibleRuntimes": ["python3.13"]},
        ),
        Resource(
            t.FUNCTION_URL,
            "status-url",
            {
                "functionName": f"lambda-status-api-{SUFFIX}",
                "qualifier": "live",
                "authorizationType": "AWS_IAM",
            },
        ),
        Resource(
            t.PERMISSION,
            "transform-s3",
            {
                "function": f"lambda-transform-{SUFFIX}",
                "qualifier": "live",
                "action": "lambda:InvokeFunction",
                "principal": "s3.amazonaws.com",
                "sourceArn": f"arn:aws:s3:::{BUCKET}",
                "sourceAccount": ACCOUNT,
            },
        ),
        # An estate trigger of transform (a Kinesis stream) and status-api's HTTP API stage.
        Resource(
            t.EVENT_SOURCE_MAPPING,
            "transform-stream",
            {
                "eventSourceArn": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/clicks-{SUFFIX}",
                "functionName": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:lambda-transform-"
                f"{SUFFIX}:live",
                "functionResponseTypes": ["ReportBatchItemFailures"],
                "bisectBatchOnFunctionError": True,
                "maximumRetryAttempts": 2,
                "maximumRecordAgeInSeconds": 3600,
                "destinationConfig": {
                    "onFailure": {
                        "destinationArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:dlq-transform-{SUFFIX}"
                    }
                },
                "tags": TAGS,
            },
        ),
        Resource(
            t.HTTP_API_STAGE,
            "status-stage",
            {
                "name": "$default",
                "apiId": "a1b2c3d4e5",
                "defaultRouteSettings": {"throttlingRateLimit": 50, "throttlingBurstLimit": 100},
                "accessLogSettings": {
                    "destinationArn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:"
                    f"/aws/apigateway/api-status-api-{SUFFIX}",
                    "format": "{}",
                },
                "tags": TAGS,
            },
        ),
        Resource(
            t.CODEDEPLOY_APPLICATION,
            "deployments-application",
            {"name": f"deploy-etl-{SUFFIX}", "computePlatform": "Lambda", "tags": TAGS},
        ),
        Resource(
            t.TOPIC,
            "alarms",
            {
                "name": topic,
                "arn": topic_arn,
                "kmsMasterKeyId": "arn:aws:kms:us-east-1:123456789012:key/abc",
                "tags": TAGS,
            },
        ),
        Resource(
            t.TOPIC_POLICY,
            "alarms-policy",
            {"arn": topic_arn, "policy": doc(tls_deny(topic_arn, "sns:Publish"))},
        ),
        Resource(
            "aws:s3/bucket:Bucket",
            "data",
            {
                "bucket": BUCKET,
                "arn": f"arn:aws:s3:::{BUCKET}",
                "forceDestroy": True,
                "tags": TAGS,
            },
        ),
        Resource(
            t.BUCKET_PUBLIC_ACCESS_BLOCK,
            "data-public-access",
            {
                "bucket": BUCKET,
                "blockPublicAcls": True,
                "blockPublicPolicy": True,
                "ignorePublicAcls": True,
                "restrictPublicBuckets": True,
            },
        ),
        Resource(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "data-sse",
            {
                "bucket": BUCKET,
                "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}],
            },
        ),
        Resource(
            t.BUCKET_POLICY,
            "data-policy",
            {
                "bucket": BUCKET,
                "policy": doc(tls_deny(f"arn:aws:s3:::{BUCKET}/*", "s3:*")),
            },
        ),
    ]
    return resources


class Platform:
    """The compliant platform, plus edits that break one resource at a time."""

    def __init__(self) -> None:
        self.resources = compliant_platform()
        self.context = Context(environment="dev", suffix=SUFFIX, whole_platform=True)

    def find(self, name: str) -> Resource:
        return next(r for r in self.resources if r.name == name)

    def set(self, name: str, /, **props: Any) -> Resource:
        """Set (or, with value None, remove) properties of the resource ``name``."""
        old = self.find(name)
        new_props = {k: v for k, v in {**old.props, **props}.items() if v is not None}
        new = replace(old, props=new_props)
        self.resources[self.resources.index(old)] = new
        return new

    def replace(self, name: str, /, **fields: Any) -> Resource:
        old = self.find(name)
        new = replace(old, **fields)
        self.resources[self.resources.index(old)] = new
        return new

    def remove(self, name: str) -> None:
        self.resources.remove(self.find(name))

    def add(self, resource: Resource) -> None:
        self.resources.append(resource)

    def violations(self, context: Context | None = None) -> list[Violation]:
        return evaluate(self.resources, context or self.context)

    def fired(
        self, rule_id: str, *, also: frozenset[str] = frozenset(), context: Context | None = None
    ) -> list[Violation]:
        """The violations of ``rule_id``; fails if a rule other than it (or ``also``) fired."""
        found = self.violations(context)
        others = [v for v in found if v.rule_id != rule_id and v.rule_id not in also]
        assert not others, f"unexpected violations: {[str(v) for v in others]}"
        return [v for v in found if v.rule_id == rule_id]
