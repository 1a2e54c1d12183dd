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

from etl_platform.model.resources import kind_label

__all__ = [
    "BUCKET",
    "DATA_PREFIX",
    "KMS_DECRYPT_ACTIONS",
    "KMS_KEY_USE_ACTIONS",
    "NEEDS",
    "Need",
    "ResourceKind",
    "need",
    "needs_for_kind",
    "needs_granting",
    "needs_table_markdown",
    "split_reference",
]

#: The target of the data-bucket needs: key prefixes of this stack's own bucket.
DATA_PREFIX = "data-prefix"

_KMS_DECRYPT = "kms:Decrypt"
_KMS_DATA_KEY = "kms:GenerateDataKey"
#: What a reader of a secret encrypted with a customer managed key needs on that key.
KMS_DECRYPT_ACTIONS = (_KMS_DECRYPT,)
#: What a publisher to (or reader of) data encrypted under a KMS key needs: SNS and
#: Secrets Manager encrypt under a data key generated for the caller.
KMS_KEY_USE_ACTIONS = (_KMS_DECRYPT, _KMS_DATA_KEY)

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
    #: Data-bucket needs granted on the bucket itself (ListBucket), not on its objects.
    whole_bucket: bool = False
    #: The actions whose calls show the code uses it (default: its own actions).
    used_by_calls: tuple[str, ...] = ()
    #: False: not a ``[needs]`` key but implied by a trigger (Lambda itself reads the
    #: source: an SQS queue, a stream), granted the same way on the trigger's resource.
    in_catalog: bool = True

    @property
    def used_by(self) -> tuple[str, ...]:
        """The SDK actions that use this need: a call of one of them confirms it."""
        return self.used_by_calls or self.actions

    @property
    def on_data_bucket(self) -> bool:
        return self.target == DATA_PREFIX

    @property
    def on_objects(self) -> bool:
        """Its ARNs are objects under a key prefix (``<bucket-arn>/<prefix>*``)."""
        return (self.on_data_bucket and not self.whole_bucket) or self.target == BUCKET

    @property
    def sid(self) -> str:
        """``dynamodb_read`` -> ``NeedDynamodbRead``: the policy statement that grants it."""
        return "Need" + "".join(part.capitalize() for part in self.key.split("_"))

    def arns(self, arn: str, prefix: str | None = None) -> tuple[str, ...]:
        """The ARNs this need grants on the resource ``arn`` (``prefix``: a bucket's keys).

        Objects under a key prefix (``arn/prefix*``, the whole bucket without one), or
        the resource and its ``sub_resources`` (a table and ``table/.../index/*``).
        """
        if self.on_objects:
            return (f"{arn}/{prefix or ''}*",)
        return (arn, *(f"{arn}{sub}" for sub in self.sub_resources))

    def readme_row(self) -> str:
        actions = ", ".join(f"`{a}`" for a in self.actions)
        return f"| `{self.key}` | {_entry_text(self)} | {actions} | {self.summary} |"


_TABLE: ResourceKind = ("dynamodb", "table")
#: Another bucket (not this stack's data bucket): its names may carry a key prefix.
BUCKET: ResourceKind = ("s3", "bucket")

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
        "read prefixes (also in `s3_read`) where a missing key is an answer (S3 says 404 "
        "NoSuchKey, not 403)",
        whole_bucket=True,
        # it makes a GetObject of a missing key answer 404: the code calls GetObject
        used_by_calls=("s3:GetObject",),
    ),
    Need(
        "s3_list",
        ("s3:ListBucket",),
        DATA_PREFIX,
        "list the key names under these prefixes",
        whole_bucket=True,
    ),
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
    Need("kms_decrypt", KMS_DECRYPT_ACTIONS, ("kms", "key"), "decrypt with these keys"),
    Need(
        "kms_encrypt",
        ("kms:Encrypt", _KMS_DATA_KEY),
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
        sub_resources=("/*",),
    ),
    Need(
        "lambda_invoke",
        ("lambda:InvokeFunction",),
        ("lambda", "function"),
        "invoke these functions",
    ),
    Need(
        "bucket_read",
        ("s3:GetObject",),
        BUCKET,
        'read objects of these buckets (`"exports"`: all of it; `"exports/reports/"`: that prefix)',
    ),
    Need(
        "bucket_write",
        ("s3:PutObject",),
        BUCKET,
        "write objects to these buckets (all of it, or a `name/prefix/`)",
    ),
    Need("role_assume", ("sts:AssumeRole",), ("iam", "role"), "assume these roles"),
    # Implied by a [trigger] (its TriggerType's ``needs``): what Lambda's event source
    # mapping does with the function's role (Lambda developer guide, "execution role
    # permissions" of each event source; dynamodb:ListStreams and kinesis:ListStreams
    # support no resource-level permission and are not granted).
    Need(
        "sqs_receive",
        ("sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"),
        ("sqs", "queue"),
        "(from an `sqs` trigger) receive and delete the messages of its queue",
        in_catalog=False,
    ),
    Need(
        "dynamodb_stream_read",
        ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"),
        ("dynamodb", "stream"),
        "(from a `dynamodb-stream` trigger) read the records of its table stream",
        in_catalog=False,
    ),
    Need(
        "kinesis_read",
        (
            "kinesis:DescribeStream",
            "kinesis:DescribeStreamSummary",
            "kinesis:GetRecords",
            "kinesis:GetShardIterator",
            "kinesis:ListShards",
        ),
        ("kinesis", "stream"),
        "(from a `kinesis` trigger) read the records of its stream",
        in_catalog=False,
    ),
)

_BY_KEY = {n.key: n for n in NEEDS}


def need(key: str) -> Need:
    """The need called ``key`` (a ``[needs]`` key); KeyError names the known ones."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"no need {key!r}; known: {', '.join(_BY_KEY)}") from None


def needs_granting(action: str) -> tuple[Need, ...]:
    """The ``[needs]`` keys that grant ``action`` (``dynamodb:PutItem``), data-bucket first."""
    return tuple(n for n in NEEDS if n.in_catalog and action in n.actions)


def needs_for_kind(kind: ResourceKind) -> tuple[Need, ...]:
    """The ``[needs]`` keys whose target is ``kind`` (what a resource of it can be used for)."""
    return tuple(n for n in NEEDS if n.in_catalog and n.target == kind)


def split_reference(value: str) -> tuple[str, str | None]:
    """``"exports/reports/"`` -> ``("exports", "reports/")``; ``"todos"`` -> ``("todos", None)``.

    The first ``/`` separates a resource's logical name from a key prefix (buckets only).
    """
    name, slash, prefix = value.partition("/")
    return name, (prefix if slash else None)


def _entry_text(n: Need) -> str:
    """What one list entry of ``n`` is, and what the grant is on (the README's column)."""
    if n.on_data_bucket:
        on = "the bucket (key names only)" if n.whole_bucket else "`<bucket>/<prefix>*`"
        return f'key prefixes of this stack\'s data bucket (`"staged/"`); on {on}'
    label = kind_label(n.target)
    if not n.in_catalog:
        return f"not a `[needs]` key: implied by the trigger, on its {label}'s ARN"
    text = f"`etl:resources` names of {label}{'es' if label.endswith('s') else 's'}"
    if n.target == BUCKET:
        return text + ' (`"name"` or `"name/prefix/"`); on `<ARN>/<prefix>*`'
    return text + "; on each ARN" + "".join(f" and `<ARN>{sub}`" for sub in n.sub_resources)


def needs_table_markdown() -> str:
    """The README's table of needs, rendered from :data:`NEEDS`."""
    header = "| need | a list of; the grant is on | grants | for |\n|---|---|---|---|\n"
    return header + "\n".join(n.readme_row() for n in NEEDS) + "\n"
