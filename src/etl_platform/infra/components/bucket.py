"""The data bucket ``etl-data-<suffix>-<account-id>``: private, encrypted, versioned, TLS only.

- public access blocked (all four settings);
- default encryption SSE-S3 (``AES256``: no KMS key to grant to every function);
- versioning on, so an overwritten object is never lost, and a lifecycle rule that
  expires noncurrent versions after :data:`NONCURRENT_VERSION_DAYS` days (and aborts
  stale multipart uploads) so versioning does not grow forever;
- a bucket policy denying every request that does not use TLS;
- ``force_destroy``: ``destroy`` removes the bucket with its objects, leaving nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from pulumi import ResourceOptions

from etl_platform.infra.iam import deny_insecure_transport, policy_document
from etl_platform.model.naming import bucket_name
from etl_platform.model.settings import Settings
from etl_platform.model.tags import cost_tags

__all__ = [
    "ABORT_MULTIPART_DAYS",
    "NONCURRENT_VERSION_DAYS",
    "SSE_ALGORITHM",
    "DataBucket",
    "DataBucketArgs",
]

SSE_ALGORITHM = "AES256"
NONCURRENT_VERSION_DAYS = 30
ABORT_MULTIPART_DAYS = 7


@dataclass(frozen=True)
class DataBucketArgs:
    """What the bucket needs: the stack's settings and the account id (for a unique name)."""

    settings: Settings
    account_id: pulumi.Input[str]


class DataBucket(pulumi.ComponentResource):
    """The pipeline's one bucket (raw/, staged/, rejected/, manifests/, idempotency/)."""

    bucket: aws.s3.Bucket
    name: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: DataBucketArgs, opts: ResourceOptions | None = None
    ) -> None:
        super().__init__("etl:bucket:DataBucket", name, None, opts)
        settings = args.settings
        child = ResourceOptions(parent=self)
        physical = pulumi.Output.from_input(args.account_id).apply(
            lambda account: bucket_name(settings.suffix, account)
        )

        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=physical,
            force_destroy=True,
            tags=cost_tags(settings),
            opts=child,
        )
        self.name = self.bucket.bucket
        self.arn = self.bucket.arn

        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm=SSE_ALGORITHM
                    ),
                )
            ],
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=NONCURRENT_VERSION_DAYS
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=ABORT_MULTIPART_DAYS
                    ),
                )
            ],
            # S3 rejects a noncurrent-version rule until versioning is configured.
            opts=ResourceOptions(parent=self, depends_on=[versioning]),
        )
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=policy_document(
                [
                    deny_insecure_transport(
                        ["s3:*"], [self.bucket.arn, pulumi.Output.concat(self.bucket.arn, "/*")]
                    )
                ]
            ),
            # Applying a policy while the public access block is being set up can fail.
            opts=ResourceOptions(parent=self, depends_on=[public_access]),
        )

        self.register_outputs({"name": self.name, "arn": self.arn})
