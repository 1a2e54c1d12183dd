"""The catalog's ``[needs]``: each key, the exact IAM actions it grants and on what.

The one home of the vocabulary: the role and the permissions boundary derive their
statements from it (``etl_platform.infra``), the code check compares it with the SDK
calls a function makes (``etl_platform.artifacts``), and ``etl-ops import`` proposes
needs from a legacy role through it (``etl_platform.ops``). A new need is one row.

Two families:

- **data-bucket prefixes** (``target = DATA_PREFIX``): a list of key prefixes of the
  stack's own data bucket (``"staged/"``);
- **resources the platform does not own** (``target`` is a resource kind such as
  ``("dynamodb", "table")``): a list of logical names that the stack's ``etl:resources``
  maps to ARNs. For buckets, a name may carry a key prefix: ``"exports"`` (the whole
  bucket) or ``"exports/reports/"`` (that prefix only); the first ``/`` separates them.

``actions`` are granted exactly (never a wildcard). ``sub_resources`` are the ARN
suffixes the grant also covers (a table's indexes: ``/index/*``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DATA_PREFIX",
    "NEEDS",
    "Need",
    "ResourceKind",
    "need",
    "needs_granting",
]

#: The target of the data-bucket needs: key prefixes of this stack's own bucket.
DATA_PREFIX = "data-prefix"

#: A resource kind: (service as in its ARN, resource type), e.g. ("sqs", "queue").
ResourceKind = tuple[str, str]


@dataclass(frozen=True)
class Need:
    """One ``[needs]`` key."""

    key: str
    actions: tuple[str, ...]
    target: str | ResourceKind
    summary: str
    sub_resources: tuple[str, ...] = ()

    @property
    def on_data_bucket(self) -> bool:
        return self.target == DATA_PREFIX


_TABLE: ResourceKind = ("dynamodb", "table")

#: Every need, in the order the docs list them.
NEEDS: tuple[Need, ...] = (
    Need("s3_read", ("s3:GetObject",), DATA_PREFIX, "read objects under these prefixes"),
    Need(
        "s3_write",
        ("s3:PutObject",),
        DATA_PREFIX,
        "write (and overwrite) objects under these prefixes",
    ),
    Need(
        "s3_create",
        ("s3:PutObject",),
        DATA_PREFIX,
        "create objects only (every write carries If-None-Match: '*'; never an overwrite)",
    ),
    Need(
        "s3_missing_ok",
        ("s3:ListBucket",),
        DATA_PREFIX,
        "read prefixes where a missing key is an answer (S3 says 404 NoSuchKey, not 403)",
    ),
    Need("s3_list", ("s3:ListBucket",), DATA_PREFIX, "list the key names under these prefixes"),
    Need("s3_delete", ("s3:DeleteObject",), DATA_PREFIX, "delete objects under these prefixes"),
    Need(
        "dynamodb_read",
        (
            "dynamodb:BatchGetItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:GetItem",
            "dynamodb:Query",
            "dynamodb:Scan",
        ),
        _TABLE,
        "read items of these tables and their indexes",
        sub_resources=("/index/*",),
    ),
    Need(
        "dynamodb_write",
        (
            "dynamodb:BatchWriteItem",
            "dynamodb:DeleteItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        ),
        _TABLE,
        "write, update and delete items of these tables",
    ),
    Need("sqs_send", ("sqs:SendMessage",), ("sqs", "queue"), "send messages to these queues"),
    Need("sns_publish", ("sns:Publish",), ("sns", "topic"), "publish to these topics"),
    Need("events_put", ("events:PutEvents",), ("events", "event-bus"), "put events on these buses"),
    Need("kms_decrypt", ("kms:Decrypt",), ("kms", "key"), "decrypt with these keys"),
    Need(
        "kms_encrypt",
        ("kms:Encrypt", "kms:GenerateDataKey"),
        ("kms", "key"),
        "encrypt (and make data keys) with these keys",
    ),
    Need(
        "secrets_read",
        ("secretsmanager:GetSecretValue",),
        ("secretsmanager", "secret"),
        "read these secrets' values",
    ),
    Need(
        "ssm_read",
        ("ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"),
        ("ssm", "parameter"),
        "read these parameters (a name, or a path and everything under it)",
    ),
    Need(
        "lambda_invoke",
        ("lambda:InvokeFunction",),
        ("lambda", "function"),
        "invoke these functions",
    ),
    Need("bucket_read", ("s3:GetObject",), ("s3", "bucket"), "read objects of these buckets"),
    Need(
        "bucket_write",
        ("s3:PutObject",),
        ("s3", "bucket"),
        "write objects to these buckets",
    ),
    Need("role_assume", ("sts:AssumeRole",), ("iam", "role"), "assume these roles"),
)

_BY_KEY = {n.key: n for n in NEEDS}


def need(key: str) -> Need:
    """The need called ``key`` (a ``[needs]`` key); KeyError names the known ones."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"no need {key!r}; known: {', '.join(_BY_KEY)}") from None


def needs_granting(action: str) -> tuple[Need, ...]:
    """The needs that grant ``action`` (``dynamodb:PutItem``), data-bucket ones first."""
    return tuple(n for n in NEEDS if action in n.actions)
