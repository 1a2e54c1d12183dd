"""Encryption and TLS-only rules for queues, topics and buckets; log retention."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from etl_platform.checks.rules.model import (
    Context,
    Resource,
    Rule,
    is_sequence,
    parse_policy,
    statements,
)
from etl_platform.checks.rules.types import (
    BUCKET_POLICY,
    BUCKET_PUBLIC_ACCESS_BLOCK,
    BUCKET_SSE,
    BUCKET_TYPES,
    LOG_GROUP,
    QUEUE,
    QUEUE_POLICY,
    TOPIC,
    TOPIC_POLICY,
)
from etl_platform.model.settings import ENVIRONMENT_DEFAULTS

__all__ = ["RULES", "denies_insecure_transport"]

PUBLIC_ACCESS_FLAGS = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)


def _is_false(value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(v is False or (isinstance(v, str) and v.lower() == "false") for v in values)


def denies_insecure_transport(document: Any) -> bool:
    """True when a Deny statement matches ``aws:SecureTransport`` false."""
    parsed = parse_policy(document)
    if parsed is None:
        return False
    for statement in statements(parsed):
        if statement.get("Effect") != "Deny":
            continue
        condition = statement.get("Condition") or {}
        for test in ("Bool", "BoolIfExists"):
            block = condition.get(test) or {}
            if isinstance(block, dict) and _is_false(block.get("aws:SecureTransport")):
                return True
    return False


def _keys(resource: Resource, *props: str) -> set[str]:
    return {v for p in props if isinstance(v := resource.props.get(p), str) and v} | {
        resource.physical_name
    }


def _attached(
    resources: Iterable[Resource], types: Iterable[str], prop: str, keys: set[str]
) -> list[Resource]:
    wanted = set(types)
    return [r for r in resources if r.type in wanted and r.props.get(prop) in keys]


# --------------------------------------------------------------------------- queues, topics


def check_queue_encrypted(resource: Resource, context: Context) -> Iterator[str]:
    if not (resource.props.get("sqsManagedSseEnabled") or resource.props.get("kmsMasterKeyId")):
        yield ("is not encrypted at rest. Fix: sqs_managed_sse_enabled=True (or kms_master_key_id)")


def _queue_url_matches(policy: Resource, queue: Resource) -> bool:
    url = policy.props.get("queueUrl")
    if not isinstance(url, str):
        return False
    return url in _keys(queue, "url", "id") or url.endswith(f"/{queue.physical_name}")


def check_queue_tls(
    resources: Sequence[Resource], context: Context
) -> Iterator[tuple[Resource, str]]:
    policies = [r for r in resources if r.type == QUEUE_POLICY]
    for queue in (r for r in resources if r.type == QUEUE):
        documents = [p.props.get("policy") for p in policies if _queue_url_matches(p, queue)]
        documents.append(queue.props.get("policy"))
        if not any(denies_insecure_transport(d) for d in documents):
            yield (
                queue,
                "accepts requests without TLS: no queue policy denies aws:SecureTransport "
                "false. Fix: an aws.sqs.QueuePolicy with "
                "etl_platform.infra.iam.deny_insecure_transport",
            )


def check_topic_encrypted(resource: Resource, context: Context) -> Iterator[str]:
    if not resource.props.get("kmsMasterKeyId"):
        yield (
            "is not encrypted at rest (no kmsMasterKeyId). Fix: kms_master_key_id=<a KMS key "
            "whose policy lets cloudwatch.amazonaws.com use it, so alarms can still publish>"
        )


def check_topic_tls(
    resources: Sequence[Resource], context: Context
) -> Iterator[tuple[Resource, str]]:
    for topic in (r for r in resources if r.type == TOPIC):
        policies = _attached(resources, [TOPIC_POLICY], "arn", _keys(topic, "arn", "id"))
        documents = [p.props.get("policy") for p in policies] + [topic.props.get("policy")]
        if not any(denies_insecure_transport(d) for d in documents):
            yield (
                topic,
                "accepts requests without TLS: no topic policy denies aws:SecureTransport "
                "false. Fix: an aws.sns.TopicPolicy with "
                "etl_platform.infra.iam.deny_insecure_transport",
            )


# --------------------------------------------------------------------------------- buckets


def _sse_configured(configs: Iterable[Resource], bucket: Resource) -> bool:
    blocks = [c.props.get("rules") for c in configs]
    inline = bucket.props.get("serverSideEncryptionConfiguration")
    if isinstance(inline, Mapping):
        blocks.append(inline.get("rules") or inline.get("rule"))
    for rules in blocks:
        for rule in rules if is_sequence(rules) else [rules]:
            if isinstance(rule, Mapping) and (
                rule.get("applyServerSideEncryptionByDefault") or {}
            ).get("sseAlgorithm"):
                return True
    return False


def check_buckets(
    resources: Sequence[Resource], context: Context
) -> Iterator[tuple[Resource, str]]:
    for bucket in (r for r in resources if r.type in BUCKET_TYPES):
        keys = _keys(bucket, "bucket", "id")
        blocks = _attached(resources, [BUCKET_PUBLIC_ACCESS_BLOCK], "bucket", keys)
        if not any(all(b.props.get(f) is True for f in PUBLIC_ACCESS_FLAGS) for b in blocks):
            yield (
                bucket,
                "has no public access block with all four settings true ("
                + ", ".join(PUBLIC_ACCESS_FLAGS)
                + "). Fix: aws.s3.BucketPublicAccessBlock with all four set to True",
            )
        if not _sse_configured(_attached(resources, BUCKET_SSE, "bucket", keys), bucket):
            yield (
                bucket,
                "has no default encryption. Fix: aws.s3.BucketServerSideEncryptionConfiguration "
                'with apply_server_side_encryption_by_default sse_algorithm "aws:kms" or "AES256"',
            )
        policies = _attached(resources, [BUCKET_POLICY], "bucket", keys)
        documents = [p.props.get("policy") for p in policies] + [bucket.props.get("policy")]
        if not any(denies_insecure_transport(d) for d in documents):
            yield (
                bucket,
                "accepts requests without TLS: no bucket policy denies aws:SecureTransport "
                "false. Fix: an aws.s3.BucketPolicy with "
                "etl_platform.infra.iam.deny_insecure_transport",
            )


# ------------------------------------------------------------------------------------ logs


def check_log_retention(resource: Resource, context: Context) -> Iterator[str]:
    days = resource.props.get("retentionInDays")
    environment = context.environment_of(resource)
    defaults = ENVIRONMENT_DEFAULTS.get(environment or "")
    if not days:
        want = f"{defaults.log_retention_days} days ({environment})" if defaults else "a retention"
        yield f"never expires (no retentionInDays). Fix: retention_in_days={want}"
    elif defaults is not None and days != defaults.log_retention_days:
        yield (
            f"keeps logs {days} days; {environment} keeps them "
            f"{defaults.log_retention_days} days. Fix: retention_in_days="
            "settings.log_retention_days (the per-environment table in etl_platform.model.settings)"
        )


RULES: tuple[Rule, ...] = (
    Rule(
        "log-retention",
        "Every log group has a retention: 7 days in dev, 30 in prod (from the "
        "Environment tag or the stack's environment).",
        "resource",
        check_log_retention,
        frozenset({LOG_GROUP}),
    ),
    Rule(
        "sqs-encrypted",
        "SQS queues are encrypted at rest (SSE-SQS or KMS).",
        "resource",
        check_queue_encrypted,
        frozenset({QUEUE}),
    ),
    Rule(
        "sqs-tls-only",
        "Every SQS queue has a policy denying requests without TLS.",
        "stack",
        check_queue_tls,
    ),
    Rule(
        "sns-encrypted",
        "SNS topics are encrypted with a KMS key.",
        "resource",
        check_topic_encrypted,
        frozenset({TOPIC}),
    ),
    Rule(
        "sns-tls-only",
        "Every SNS topic has a policy denying requests without TLS.",
        "stack",
        check_topic_tls,
    ),
    Rule(
        "s3-bucket-locked-down",
        "Every bucket blocks public access (all four settings), has default encryption "
        "and a policy denying requests without TLS.",
        "stack",
        check_buckets,
    ),
)
