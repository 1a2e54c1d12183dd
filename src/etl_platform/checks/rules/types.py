"""The pulumi-aws v7 type tokens the rules look at (checked against the installed package)."""

from __future__ import annotations

__all__ = [
    "ALIAS",
    "BUCKET_POLICY",
    "BUCKET_PUBLIC_ACCESS_BLOCK",
    "BUCKET_SSE",
    "BUCKET_TYPES",
    "CODEDEPLOY_APPLICATION",
    "DEPLOYMENT_GROUP",
    "EVENT_SOURCE_MAPPING",
    "FUNCTION",
    "FUNCTION_URL",
    "HTTP_API_STAGE",
    "INVOKE_CONFIG",
    "KMS_KEY",
    "LAYER_VERSION",
    "LOG_GROUP",
    "MANAGED_POLICY",
    "PERMISSION",
    "POLICY_ATTACHMENT",
    "QUEUE",
    "QUEUE_POLICY",
    "RECURSION_CONFIG",
    "ROLE",
    "ROLE_POLICY",
    "ROLE_POLICY_ATTACHMENT",
    "ROLE_POLICY_ATTACHMENTS_EXCLUSIVE",
    "TOPIC",
    "TOPIC_POLICY",
]

FUNCTION = "aws:lambda/function:Function"
LAYER_VERSION = "aws:lambda/layerVersion:LayerVersion"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
PERMISSION = "aws:lambda/permission:Permission"
EVENT_SOURCE_MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
HTTP_API_STAGE = "aws:apigatewayv2/stage:Stage"
ALIAS = "aws:lambda/alias:Alias"
RECURSION_CONFIG = "aws:lambda/functionRecursionConfig:FunctionRecursionConfig"
CODEDEPLOY_APPLICATION = "aws:codedeploy/application:Application"
DEPLOYMENT_GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED_POLICY = "aws:iam/policy:Policy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ROLE_POLICY_ATTACHMENTS_EXCLUSIVE = (
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"
)
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
KMS_KEY = "aws:kms/key:Key"
# pulumi-aws v7: ``aws.s3.Bucket`` is the former BucketV2 (which stays as an alias type).
BUCKET_TYPES = frozenset({"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"})
BUCKET_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_SSE = frozenset(
    {
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    }
)
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
