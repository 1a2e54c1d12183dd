"""Resources the platform does not own: a stack's ``etl:resources``, parsed from their ARNs.

Legacy functions use tables, queues, topics, keys, secrets, parameters, buckets and
other functions that exist already and differ per environment. A stack names each
once, by a kebab-case logical name, in ``etl:resources`` (name -> ARN); catalog
entries refer to the names (``[needs]``, triggers). The service and the kind come
from the ARN, parsed here by :func:`parse_resource`, one row of :data:`ARN_SHAPES`
per kind. A malformed or partial ARN is refused with the fix (:class:`ArnError`):
a grant on a secret's ARN without its random suffix, or on a KMS alias, matches
nothing and fails at the first call with AccessDenied.

A leaf module: it imports nothing of the platform, so settings, the catalog, the
IAM builders and the rules can all use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ARN_SHAPES",
    "NAME_PATTERN",
    "ArnError",
    "ArnShape",
    "Resource",
    "is_placeholder",
    "kind_label",
    "kms_key_problem",
    "parse_resource",
    "placeholder",
    "secret_arn_problem",
    "with_article",
]

#: A logical name in etl:resources: kebab-case, like function names.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

_ARN = re.compile(
    r"^arn:(?P<partition>[^:]+):(?P<service>[^:]+):(?P<region>[^:]*):(?P<account>[^:]*):"
    r"(?P<resource>.+)$"
)
_ACCOUNT = re.compile(r"^\d{12}$")
_KMS_KEY_ID = re.compile(
    r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$"
)
# Secrets Manager appends "-" and 6 random characters to a secret's name in its ARN; an
# ARN without them names no secret, so a policy granting it never matches (AccessDenied).
_SECRET_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]+$")
_SECRET_FIX = "aws secretsmanager describe-secret --secret-id <name> --query ARN --output text"


class ArnError(ValueError):
    """An ARN that names no usable resource: ``problem`` says why, ``fix`` what to run."""

    def __init__(self, problem: str, fix: str) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}. Fix: {fix}")


@dataclass(frozen=True)
class Resource:
    """One resource a stack declares: its logical name and what its ARN says."""

    name: str  # the logical name in etl:resources ("todos")
    arn: str
    service: str  # as in the ARN: "dynamodb", "sqs", ...
    kind: str  # the resource type: "table", "stream", "queue", ...
    resource_id: str  # the table's, queue's, ... own name or id

    @property
    def resource_kind(self) -> tuple[str, str]:
        """``(service, kind)``, the target kind of a need (``etl_platform.model.needs``)."""
        return (self.service, self.kind)

    @property
    def label(self) -> str:
        """``"DynamoDB table"``: how messages name this kind."""
        return kind_label(self.resource_kind)


@dataclass(frozen=True)
class ArnShape:
    """One kind of resource: how its ARN's resource part looks."""

    service: str
    kind: str
    label: str  # "DynamoDB table"
    pattern: re.Pattern[str]  # over the resource part; group "id" is the resource id
    example: str  # the resource part of a valid ARN
    regional: bool = True  # False: the ARN has no region (s3, iam)
    has_account: bool = True  # False: the ARN has no account (s3)
    fix: str = ""  # the command that prints the right ARN

    def arn_example(self, region: str) -> str:
        where = region if self.regional else ""
        account = "123456789012" if self.has_account else ""
        return f"arn:aws:{self.service}:{where}:{account}:{self.example}"


# One row per resource kind a need or a trigger can name. Order matters only where two
# rows share a service: the first whose pattern matches wins.
ARN_SHAPES: tuple[ArnShape, ...] = (
    ArnShape(
        "dynamodb",
        "stream",
        "DynamoDB table stream",
        re.compile(r"^table/(?P<id>[A-Za-z0-9_.-]{3,255}/stream/[0-9T:.-]+)$"),
        "table/todos-dev/stream/2024-01-01T00:00:00.000",
        fix="aws dynamodb describe-table --table-name <table> --query Table.LatestStreamArn",
    ),
    ArnShape(
        "dynamodb",
        "table",
        "DynamoDB table",
        re.compile(r"^table/(?P<id>[A-Za-z0-9_.-]{3,255})$"),
        "table/todos-dev",
        fix="aws dynamodb describe-table --table-name <table> --query Table.TableArn",
    ),
    ArnShape(
        "kinesis",
        "stream",
        "Kinesis stream",
        re.compile(r"^stream/(?P<id>[A-Za-z0-9_.-]{1,128})$"),
        "stream/clicks-dev",
        fix="aws kinesis describe-stream-summary --stream-name <stream> "
        "--query StreamDescriptionSummary.StreamARN",
    ),
    ArnShape(
        "sqs",
        "queue",
        "SQS queue",
        re.compile(r"^(?P<id>[A-Za-z0-9_-]{1,75}(\.fifo)?|[A-Za-z0-9_-]{1,80})$"),
        "orders-dev",
        fix="aws sqs get-queue-attributes --queue-url <url> --attribute-names QueueArn",
    ),
    ArnShape(
        "sns",
        "topic",
        "SNS topic",
        re.compile(r"^(?P<id>[A-Za-z0-9_-]{1,256}(\.fifo)?)$"),
        "alerts-dev",
        fix="aws sns list-topics",
    ),
    ArnShape(
        "kms",
        "key",
        "KMS key",
        re.compile(r"^key/(?P<id>.+)$"),
        "key/1234abcd-12ab-34cd-56ef-1234567890ab",
        fix="aws kms describe-key --key-id alias/<alias> --query KeyMetadata.Arn",
    ),
    ArnShape(
        "secretsmanager",
        "secret",
        "Secrets Manager secret",
        re.compile(r"^secret:(?P<id>.+)$"),
        "secret:etl/webhook-AbCdEf",
        fix=_SECRET_FIX,
    ),
    ArnShape(
        "ssm",
        "parameter",
        "SSM parameter",
        re.compile(r"^parameter/(?P<id>[A-Za-z0-9_.\-/]{1,2047})$"),
        "parameter/etl/dev/webhook-url",
        fix="aws ssm get-parameter --name <name> --query Parameter.ARN",
    ),
    ArnShape(
        "lambda",
        "function",
        "Lambda function",
        re.compile(r"^function:(?P<id>[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?)$"),
        "function:legacy-mailer-dev",
        fix="aws lambda get-function --function-name <name> --query Configuration.FunctionArn",
    ),
    ArnShape(
        "events",
        "event-bus",
        "EventBridge event bus",
        re.compile(r"^event-bus/(?P<id>[A-Za-z0-9._\-/]{1,256})$"),
        "event-bus/orders-dev",
        fix="aws events describe-event-bus --name <bus> --query Arn",
    ),
    ArnShape(
        "s3",
        "bucket",
        "S3 bucket",
        re.compile(r"^(?P<id>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$"),
        "exports-dev",
        regional=False,
        has_account=False,
        fix="arn:aws:s3:::<bucket> (a bucket's ARN has no region, account or key; put a key "
        'prefix in the catalog entry: "name/prefix/")',
    ),
    # The sources an `invoke` trigger may name (etl_platform.model.catalog.INVOKE_PRINCIPALS):
    # services that already invoke a function and keep doing so after it moves.
    ArnShape(
        "execute-api",
        "api",
        "API Gateway API",
        re.compile(r"^(?P<id>[a-z0-9]{10})(/[A-Za-z0-9_*{}.+/-]*)?$"),
        "a1b2c3d4e5/*/POST/orders",
        fix="aws apigateway get-rest-apis --query 'items[].[name,id]' (the ARN is "
        "arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>, * allowed)",
    ),
    ArnShape(
        "cognito-idp",
        "userpool",
        "Cognito user pool",
        re.compile(r"^userpool/(?P<id>[\w-]+_[0-9a-zA-Z]+)$"),
        "userpool/us-east-1_AbCdEf123",
        fix="aws cognito-idp describe-user-pool --user-pool-id <id> --query UserPool.Arn",
    ),
    ArnShape(
        "iot",
        "rule",
        "IoT rule",
        re.compile(r"^rule/(?P<id>[A-Za-z0-9_]{1,128})$"),
        "rule/orders_to_lambda",
        fix="aws iot get-topic-rule --rule-name <name> --query ruleArn",
    ),
    ArnShape(
        "logs",
        "log-group",
        "CloudWatch Logs log group",
        re.compile(r"^log-group:(?P<id>[A-Za-z0-9_#+=/.,@-]{1,512})(:\*)?$"),
        "log-group:/legacy/orders:*",
        fix="aws logs describe-log-groups --log-group-name-prefix <name> --query 'logGroups[].arn'",
    ),
    ArnShape(
        "iam",
        "role",
        "IAM role",
        re.compile(r"^role/(?P<id>[A-Za-z0-9+=,.@_\-/]{1,512})$"),
        "role/legacy-reader-dev",
        regional=False,
        fix="aws iam get-role --role-name <name> --query Role.Arn",
    ),
)

_LABELS = {(shape.service, shape.kind): shape.label for shape in ARN_SHAPES}


def kind_label(kind: tuple[str, str]) -> str:
    """``("sqs", "queue")`` -> ``"SQS queue"``."""
    return _LABELS.get(kind, f"{kind[0]} {kind[1]}")


# Labels read with "an": the acronyms said letter by letter from a vowel sound, and vowels.
_AN = ("SQS", "SNS", "SSM", "S3", "IAM", "EventBridge", "EC2", "ECS", "EKS", "EMR", "Elastic")


def with_article(label: str) -> str:
    """``"SQS queue"`` -> ``"an SQS queue"``; ``"DynamoDB table"`` -> ``"a DynamoDB table"``."""
    return f"{'an' if label.startswith(_AN) else 'a'} {label}"


_PLACEHOLDER = "<set me: "


def placeholder(label: str, stack: str) -> str:
    """What ``nox -s new-env`` writes for a resource of a new stack until its ARN is set."""
    return f"{_PLACEHOLDER}the ARN of {with_article(label)} for stack {stack}>"


def is_placeholder(value: object) -> bool:
    return isinstance(value, str) and value.startswith(_PLACEHOLDER)


def secret_arn_problem(arn: str, region: str) -> str | None:
    """Why ``arn`` is not the full ARN of a Secrets Manager secret in ``region``, or None."""
    match = _ARN.match(arn)
    name = match["resource"].removeprefix("secret:") if match else ""
    if (
        match is None
        or match["partition"] != "aws"
        or match["service"] != "secretsmanager"
        or match["region"] != region
        or not _ACCOUNT.match(match["account"])
        or not match["resource"].startswith("secret:")
        or not _SECRET_NAME.match(name)
    ):
        return (
            f"must be the ARN of a Secrets Manager secret in {region}: "
            f"arn:aws:secretsmanager:{region}:<account>:secret:<name>-<6 characters>"
        )
    if not _SECRET_SUFFIX.search(name):
        return (
            "is a partial ARN: a secret's ARN ends with the '-' and 6 characters Secrets "
            "Manager appends to its name (for example ...:secret:etl/database-AbCdEf), and "
            "a policy that names the ARN without them matches no secret (AccessDenied at the "
            "first call). Use the full ARN"
        )
    return None


def kms_key_problem(arn: str, region: str) -> str | None:
    """Why ``arn`` is not the ARN of a KMS key (not an alias) in ``region``, or None."""
    match = _ARN.match(arn)
    if (
        match is not None
        and match["partition"] == "aws"
        and match["service"] == "kms"
        and match["region"] == region
        and _ACCOUNT.match(match["account"])
        and match["resource"].startswith("key/")
        and _KMS_KEY_ID.match(match["resource"].removeprefix("key/"))
    ):
        return None
    if match is not None and match["resource"].startswith("alias/"):
        return (
            "is a KMS alias: a key policy grant names the key's ARN (key/<key-id>), and a "
            "grant on an alias ARN does not authorize the key's Decrypt or Encrypt. Use the "
            "key's ARN"
        )
    return f"must be the ARN of a KMS key in {region}: arn:aws:kms:{region}:<account>:key/<key-id>"


def _shape_of(service: str, resource: str) -> tuple[ArnShape, re.Match[str]] | None:
    for shape in ARN_SHAPES:
        if shape.service == service:
            found = shape.pattern.match(resource)
            if found:
                return shape, found
    return None


def parse_resource(name: str, arn: str, region: str) -> Resource:
    """The resource ``arn`` names, for the logical name ``name`` in a stack in ``region``.

    Raises :class:`ArnError` for a name that is not kebab-case, an ARN of an unknown
    service or kind, another region or partition, a partial secret ARN or a KMS alias.
    """
    if not NAME_PATTERN.match(name):
        raise ArnError(
            f"the logical name {name!r} is not kebab-case (lowercase letters, digits and "
            "single hyphens, starting with a letter)",
            f"rename it, for example {re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')!r}, "
            "here and in the catalog entries that use it",
        )
    match = _ARN.match(arn) if isinstance(arn, str) else None
    if match is None:
        raise ArnError(
            f"{arn!r} is not an ARN (arn:aws:<service>:<region>:<account>:<resource>)",
            "copy the ARN from the AWS console or CLI",
        )
    services = sorted({shape.service for shape in ARN_SHAPES})
    service = match["service"]
    if service not in services:
        raise ArnError(
            f"service {service!r} is not one a need or trigger can use (known: "
            f"{', '.join(services)})",
            "remove it, or ask for the need that uses it to be added to etl_platform.model.needs",
        )
    if match["partition"] != "aws":
        raise ArnError(
            f"partition {match['partition']!r}: this platform runs in the aws partition only",
            "use the resource's arn:aws:... ARN",
        )
    rows = [shape for shape in ARN_SHAPES if shape.service == service]
    if service == "secretsmanager":
        problem = secret_arn_problem(arn, region)
        if problem:
            raise ArnError(problem, _SECRET_FIX)
    if service == "kms":
        problem = kms_key_problem(arn, region)
        if problem:
            raise ArnError(problem, rows[0].fix)
    regional = rows[0].regional
    if regional and match["region"] != region:
        raise ArnError(
            f"region {match['region'] or '(none)'!r}: this stack runs in {region}, and a "
            "function there reaches another region's resource only through that region's "
            "endpoint (no need grants it)",
            f"use the resource's {region} ARN, or a replica in {region}",
        )
    if not regional and match["region"]:
        raise ArnError(
            f"{with_article(rows[0].label)}'s ARN has no region, but this one has "
            f"{match['region']!r}",
            f"use {rows[0].arn_example(region)}",
        )
    wants_account = rows[0].has_account
    if wants_account and not _ACCOUNT.match(match["account"]):
        raise ArnError(
            f"account {match['account'] or '(none)'!r} is not a 12-digit AWS account id",
            f"use the full ARN, like {rows[0].arn_example(region)}",
        )
    if not wants_account and match["account"]:
        raise ArnError(
            f"{with_article(rows[0].label)}'s ARN has no account, but this one has "
            f"{match['account']!r}",
            f"use {rows[0].arn_example(region)}",
        )
    found = _shape_of(service, match["resource"])
    if found is None:
        kinds = " or ".join(f"{with_article(s.label)} ({s.arn_example(region)})" for s in rows)
        raise ArnError(f"the resource part {match['resource']!r} is not {kinds}", rows[0].fix)
    shape, parts = found
    return Resource(name, arn, shape.service, shape.kind, parts["id"])
