"""The IAM actions an AWS API operation needs, from botocore's service models.

A leaf module shared by the code checkers (Python: :mod:`etl_platform.artifacts.sdk_calls`;
Node.js: the ``@aws-sdk/client-*`` commands name the same operations). Nothing here
is a per-operation table of the SDK: the operations and their method names come from
botocore's model of each service (``operation_names``, ``botocore.xform_name``, which
is how a client builds ``meta.method_to_api_mapping``), and the IAM service prefix
is the model's signing name, checked against parliament's copy of AWS's Service
Authorization Reference (CloudWatch signs as ``monitoring`` but its actions are
``cloudwatch:*``).

The one hand-written table, :data:`ACTIONS_OF_OPERATION`, holds the operations whose
IAM action is *not* ``<prefix>:<Operation>`` (Service Authorization Reference: S3's
``ListObjectsV2`` is authorized by ``s3:ListBucket``, ``HeadObject`` by
``s3:GetObject``; batch forms by their single action), for the services a need
covers. A test checks every row against botocore's operations and parliament's actions.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import botocore
import botocore.session

__all__ = [
    "ACTIONS_OF_OPERATION",
    "iam_actions",
    "iam_actions_of",
    "iam_prefix",
    "is_service",
    "method_operations",
    "service_label",
]

#: (botocore service, operation) -> the IAM actions it needs, where they are not
#: ``<prefix>:<Operation>`` (AWS Service Authorization Reference).
ACTIONS_OF_OPERATION: dict[tuple[str, str], tuple[str, ...]] = {
    ("s3", "ListObjects"): ("s3:ListBucket",),
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("s3", "HeadBucket"): ("s3:ListBucket",),
    ("s3", "HeadObject"): ("s3:GetObject",),
    ("s3", "SelectObjectContent"): ("s3:GetObject",),
    ("s3", "DeleteObjects"): ("s3:DeleteObject",),
    ("s3", "CopyObject"): ("s3:GetObject", "s3:PutObject"),
    ("s3", "UploadPartCopy"): ("s3:GetObject", "s3:PutObject"),
    ("s3", "CreateMultipartUpload"): ("s3:PutObject",),
    ("s3", "UploadPart"): ("s3:PutObject",),
    ("s3", "CompleteMultipartUpload"): ("s3:PutObject",),
    ("s3", "ListObjectVersions"): ("s3:ListBucketVersions",),
    ("dynamodb", "TransactGetItems"): ("dynamodb:GetItem",),
    # the item actions it carries; writes are what a transaction is for
    ("dynamodb", "TransactWriteItems"): ("dynamodb:PutItem",),
    ("sqs", "SendMessageBatch"): ("sqs:SendMessage",),
    ("sqs", "DeleteMessageBatch"): ("sqs:DeleteMessage",),
    ("sqs", "ChangeMessageVisibilityBatch"): ("sqs:ChangeMessageVisibility",),
    ("sns", "PublishBatch"): ("sns:Publish",),
    ("lambda", "Invoke"): ("lambda:InvokeFunction",),
    ("apigatewaymanagementapi", "PostToConnection"): ("execute-api:ManageConnections",),
    ("apigatewaymanagementapi", "GetConnection"): ("execute-api:ManageConnections",),
    ("apigatewaymanagementapi", "DeleteConnection"): ("execute-api:ManageConnections",),
    ("lambda", "InvokeWithResponseStream"): ("lambda:InvokeFunction",),
    ("secretsmanager", "BatchGetSecretValue"): (
        "secretsmanager:BatchGetSecretValue",
        "secretsmanager:GetSecretValue",
    ),
}


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.cache
def _services() -> frozenset[str]:
    return frozenset(_session().get_available_services())


def is_service(name: str) -> bool:
    """Whether ``name`` is a botocore service name (``boto3.client(name)``)."""
    return name in _services()


@functools.cache
def _model(service: str) -> Any:
    return _session().get_service_model(service)


@functools.cache
def method_operations(service: str) -> dict[str, str]:
    """``{"put_item": "PutItem", ...}``: a client's method names and their operations."""
    return {botocore.xform_name(op): op for op in _model(service).operation_names}


@functools.cache
def _iam_prefixes() -> frozenset[str]:
    # its data file is the one source of AWS's IAM service prefixes; imported on first use:
    # importing parliament takes about 1.2 s (python -X importtime), which every importer
    # of compat would otherwise pay
    import parliament

    path = Path(parliament.__file__).parent / "iam_definition.json"
    return frozenset(s["prefix"] for s in json.loads(path.read_text(encoding="utf-8")))


@functools.cache
def iam_prefix(service: str) -> str:
    """The IAM prefix of a botocore service: its signing name, unless AWS's IAM says otherwise."""
    model = _model(service)
    candidates = (model.signing_name, model.endpoint_prefix, model.service_name, service)
    known = _iam_prefixes()
    return next((c for c in candidates if c in known), model.signing_name or service)


def iam_actions(service: str, operation: str) -> tuple[str, ...]:
    """The IAM actions ``operation`` of ``service`` needs (``("dynamodb:PutItem",)``)."""
    return ACTIONS_OF_OPERATION.get((service, operation), (f"{iam_prefix(service)}:{operation}",))


def iam_actions_of(action: str) -> tuple[str, ...]:
    """The IAM actions behind ``<prefix>:<Operation>`` as an SDK names it.

    ``s3:ListObjectsV2`` -> ``("s3:ListBucket",)``; the action itself where the names agree.
    For code that knows the IAM prefix but not botocore's service name (Node.js).
    """
    prefix, _, operation = action.partition(":")
    for (service, op), actions in ACTIONS_OF_OPERATION.items():
        if op == operation and iam_prefix(service) == prefix:
            return actions
    return (action,)


@functools.cache
def service_label(service: str) -> str:
    """``"DynamoDB"``, ``"S3"``, ``"Secrets Manager"``: how the service's model names it."""
    metadata = _model(service).metadata
    name = metadata.get("serviceAbbreviation") or metadata.get("serviceFullName") or service
    return str(name).removeprefix("Amazon ").removeprefix("AWS ")
