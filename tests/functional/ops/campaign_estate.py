"""A legacy Node.js 14 estate in moto for the campaign tests, and the platform's "deploy".

Five nodejs14.x functions written as the estate's were: aws-sdk v2, callback handlers,
two shared over-privileged roles, one trigger kind each (S3 notification, SQS, SNS,
DynamoDB stream, EventBridge schedule). :class:`LegacyEstate` records what was planted
so the tests can state what they expect. :func:`deploy` creates a catalog function in
moto the way the plan describes it (name, role, runtime, profile, tags, log group,
alarms, the invoke permission of an ``invoke`` trigger).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from etl_platform.infra.components.alarms import ALARM_RULES
from etl_platform.model.catalog import load_catalog
from etl_platform.model.deployment import LIVE_ALIAS
from etl_platform.model.naming import log_group_name, resource_name

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
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

# Each function: (trigger kind, role, code). The code is what such a function looked
# like: require('aws-sdk'), clients at module load, a callback handler.
INGEST = b"""const AWS = require('aws-sdk');
const s3 = new AWS.S3();
const db = new AWS.DynamoDB.DocumentClient();
exports.handler = function (event, context, callback) {
  const record = event.Records[0].s3;
  s3.getObject({ Bucket: record.bucket.name, Key: record.object.key }, function (err, data) {
    if (err) return callback(err);
    const order = JSON.parse(data.Body.toString());
    db.put({ TableName: process.env.TABLE_NAME, Item: order }, callback);
  });
};
"""
WORKER = b"""const AWS = require('aws-sdk');
const db = new AWS.DynamoDB.DocumentClient();
const sns = new AWS.SNS();
exports.handler = function (event, context, callback) {
  context.callbackWaitsForEmptyEventLoop = false;
  const order = JSON.parse(event.Records[0].body);
  db.update({ TableName: process.env.TABLE_NAME, Key: { id: order.id },
              UpdateExpression: 'SET #s = :s', ExpressionAttributeNames: { '#s': 'status' },
              ExpressionAttributeValues: { ':s': 'paid' } }, function (err) {
    if (err) return callback(err);
    sns.publish({ TopicArn: process.env.TOPIC_ARN, Message: order.id }, callback);
  });
};
"""
NOTIFY = b"""const AWS = require('aws-sdk');
const sqs = new AWS.SQS();
exports.handler = function (event, context, callback) {
  const message = event.Records[0].Sns.Message;
  sqs.sendMessage({ QueueUrl: process.env.QUEUE_URL, MessageBody: message }, callback);
};
"""
STREAM = b"""const AWS = require('aws-sdk');
const s3 = new AWS.S3();
exports.handler = function (event, context, callback) {
  const body = JSON.stringify(event.Records.map(function (r) { return r.dynamodb.Keys; }));
  s3.putObject({ Bucket: process.env.AUDIT_BUCKET, Key: 'audit/' + Date.now() + '.json',
                 Body: body }, callback);
};
"""
NIGHTLY = b"""const AWS = require('aws-sdk');
const db = new AWS.DynamoDB.DocumentClient();
const s3 = new AWS.S3();
exports.handler = function (event, context, callback) {
  db.scan({ TableName: process.env.TABLE_NAME }, function (err, data) {
    if (err) return callback(err);
    s3.putObject({ Bucket: process.env.REPORT_BUCKET, Key: 'nightly.json',
                   Body: JSON.stringify(data.Items) }, callback);
  });
};
"""

# The estate's shared role: every function of the team used it.
SHARED_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:*", "dynamodb:*", "sqs:*"], "Resource": "*"},
        {"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "logs:*", "Resource": "*"},
    ],
}


@dataclass
class LegacyEstate:
    """What was planted: functions and their trigger kind, packages, resources."""

    functions: dict[str, str] = field(default_factory=dict)  # name -> wiring kind
    packages: dict[str, bytes] = field(default_factory=dict)
    calls: dict[str, set[str]] = field(default_factory=dict)  # name -> IAM actions called
    owners: dict[str, str] = field(default_factory=dict)
    resources: dict[str, str] = field(default_factory=dict)  # what -> ARN or URL
    roles: dict[str, str] = field(default_factory=dict)  # function -> role ARN

    def fetcher(self) -> Callable[[str], bytes]:
        """Downloads a package by the function name in moto's code Location URL (moto
        does not serve those URLs, in-process or as moto.server)."""

        def fetch(url: str) -> bytes:
            key = url.rsplit("/", 1)[-1]
            for name in sorted(self.packages, key=len, reverse=True):
                if key.startswith(f"{name}-"):
                    return self.packages[name]
            raise LookupError(f"no package for {url}")

        return fetch


def zip_of(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(files.items()):
            archive.writestr(name, data)
    return buffer.getvalue()


def _role(iam: Any, name: str, policy: Mapping[str, Any]) -> str:
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=ASSUME_LAMBDA)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="legacy", PolicyDocument=json.dumps(policy))
    return str(arn)


def build_legacy_estate(session: boto3.Session) -> LegacyEstate:
    """The five functions, their resources and their triggers, in moto."""
    estate = LegacyEstate()
    iam, lam, s3 = session.client("iam"), session.client("lambda"), session.client("s3")
    sqs, sns, ddb = session.client("sqs"), session.client("sns"), session.client("dynamodb")
    events = session.client("events")
    table = ddb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]
    for bucket in ("legacy-uploads", "legacy-audit", "legacy-reports"):
        s3.create_bucket(Bucket=bucket)
    queue_url = sqs.create_queue(QueueName="legacy-orders-queue")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    out_url = sqs.create_queue(QueueName="legacy-notifications")["QueueUrl"]
    out_arn = sqs.get_queue_attributes(QueueUrl=out_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    topic = sns.create_topic(Name="legacy-order-events")["TopicArn"]
    estate.resources = {
        "table": table["TableArn"],
        "stream": table["LatestStreamArn"],
        "queue": queue_arn,
        "queue_url": queue_url,
        "out_queue": out_arn,
        "out_queue_url": out_url,
        "topic": topic,
    }
    shared = _role(iam, "legacy-shared-role", SHARED_POLICY)
    # The notifier's own role: exactly one queue, and SNS it never uses.
    notifier = _role(
        iam,
        "legacy-notifier-role",
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": out_arn},
                {"Effect": "Allow", "Action": "sns:*", "Resource": "*"},
            ],
        },
    )

    def function(name: str, kind: str, code: bytes, role: str, env: dict[str, str]) -> str:
        package = zip_of({"index.js": code})
        estate.packages[name] = package
        estate.functions[name] = kind
        estate.roles[name] = role
        estate.owners[name] = f"team-{kind}"
        arn = lam.create_function(
            FunctionName=name,
            Runtime="nodejs14.x",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": package},
            Timeout=60,
            MemorySize=256,
            Environment={"Variables": env},
            Tags={"owner": f"team-{kind}"},
        )["FunctionArn"]
        return str(arn)

    ingest = function(
        "legacy-orders-ingest",
        "s3",
        INGEST,
        shared,
        {"TABLE_NAME": "orders", "UPLOAD_BUCKET": "legacy-uploads", "API_KEY": "s3cr3t"},
    )
    estate.calls["legacy-orders-ingest"] = {"s3:GetObject", "dynamodb:PutItem"}
    lam.add_permission(
        FunctionName=ingest,
        StatementId="s3-uploads",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::legacy-uploads",
    )
    s3.put_bucket_notification_configuration(
        Bucket="legacy-uploads",
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {
                    "Id": "orders-in",
                    "LambdaFunctionArn": ingest,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "incoming/"}]}},
                }
            ],
            # Another team's entry on the same bucket: cutover must not touch it.
            "QueueConfigurations": [
                {"Id": "archive", "QueueArn": out_arn, "Events": ["s3:ObjectRemoved:*"]}
            ],
        },
    )
    worker = function(
        "legacy-orders-worker",
        "event-source-mapping",
        WORKER,
        shared,
        {"TABLE_NAME": "orders", "TOPIC_ARN": topic},
    )
    estate.calls["legacy-orders-worker"] = {"dynamodb:UpdateItem", "sns:Publish"}
    lam.create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName=worker, BatchSize=5, Enabled=True
    )
    notify = function("legacy-notify", "sns", NOTIFY, notifier, {"QUEUE_URL": out_url})
    estate.calls["legacy-notify"] = {"sqs:SendMessage"}
    lam.add_permission(
        FunctionName=notify,
        StatementId="sns-events",
        Action="lambda:InvokeFunction",
        Principal="sns.amazonaws.com",
        SourceArn=topic,
    )
    sns.subscribe(
        TopicArn=topic,
        Protocol="lambda",
        Endpoint=notify,
        Attributes={"FilterPolicy": json.dumps({"type": ["paid"]})},
    )
    stream = function(
        "legacy-stream-audit",
        "event-source-mapping",
        STREAM,
        shared,
        {"AUDIT_BUCKET": "legacy-audit"},
    )
    estate.calls["legacy-stream-audit"] = {"s3:PutObject"}
    lam.create_event_source_mapping(
        EventSourceArn=table["LatestStreamArn"],
        FunctionName=stream,
        BatchSize=50,
        StartingPosition="TRIM_HORIZON",
        Enabled=True,
    )
    nightly = function(
        "legacy-nightly",
        "eventbridge",
        NIGHTLY,
        shared,
        {"TABLE_NAME": "orders", "REPORT_BUCKET": "legacy-reports"},
    )
    estate.calls["legacy-nightly"] = {"dynamodb:Scan", "s3:PutObject"}
    rule = events.put_rule(Name="legacy-nightly-schedule", ScheduleExpression="rate(1 day)")
    lam.add_permission(
        FunctionName=nightly,
        StatementId="events-nightly",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=rule["RuleArn"],
    )
    events.put_targets(
        Rule="legacy-nightly-schedule",
        Targets=[{"Id": "nightly", "Arn": nightly, "Input": json.dumps({"report": "daily"})}],
    )
    return estate


def write_stack(project_dir: Path, stack: str, resources: Mapping[str, str]) -> None:
    """A projects/etl-functions stack file with the suffix and ``etl:resources``."""
    project_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        "config:",
        "  aws:region: us-east-1",
        f"  etl:environmentSuffix: {stack}",
        f"  etl:environment: {stack}",
    ]
    if resources:
        lines.append("  etl:resources:")
        lines += [f"    {name}: {arn}" for name, arn in sorted(resources.items())]
    (project_dir / f"Pulumi.{stack}.yaml").write_text("\n".join(lines) + "\n")


def deploy(session: boto3.Session, catalog_dir: Path, name: str, suffix: str) -> str:
    """Create catalog function ``name`` in moto as the plan describes it; its ARN."""
    spec = load_catalog(catalog_dir).get(name)
    iam, lam = session.client("iam"), session.client("lambda")
    logs, cloudwatch = session.client("logs"), session.client("cloudwatch")
    function_name = resource_name("lambda", name, suffix)
    role = iam.create_role(
        RoleName=resource_name("role", name, suffix), AssumeRolePolicyDocument=ASSUME_LAMBDA
    )["Role"]["Arn"]
    files = {
        p.relative_to(spec.code_dir).as_posix(): p.read_bytes()
        for p in sorted(spec.code_dir.rglob("*"))
        if p.is_file()
    }
    arn = lam.create_function(
        FunctionName=function_name,
        Runtime=spec.runtime or "nodejs24.x",
        Role=role,
        Handler=spec.handler,
        Code={"ZipFile": zip_of(files)},
        Timeout=spec.timeout,
        MemorySize=spec.memory_size,
        TracingConfig={"Mode": "Active"},
        Tags={"ManagedBy": "pulumi", "Project": "etl-platform", "Owner": "platform"},
        Publish=True,
    )["FunctionArn"]
    # Every trigger of a catalog function targets its alias (issue 22): the deploy publishes
    # a version and points the alias at it, as the plan's aws.lambda_.Alias does.
    version = lam.list_versions_by_function(FunctionName=function_name)["Versions"][-1]["Version"]
    lam.create_alias(FunctionName=function_name, Name=LIVE_ALIAS, FunctionVersion=version)
    logs.create_log_group(logGroupName=log_group_name(function_name))
    logs.put_retention_policy(logGroupName=log_group_name(function_name), retentionInDays=7)
    for rule in ALARM_RULES:
        if rule.target != "function":
            continue
        alarm = resource_name("alarm", f"{name}-{rule.what}", suffix)
        cloudwatch.put_metric_alarm(
            AlarmName=alarm,
            Namespace="AWS/Lambda",
            MetricName=rule.metric_name,
            Dimensions=[{"Name": "FunctionName", "Value": function_name}],
            Statistic=rule.statistic,
            Period=60,
            EvaluationPeriods=1,
            Threshold=float(rule.threshold or 1),
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="deployed")
    return str(arn)
