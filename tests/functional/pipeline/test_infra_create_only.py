"""ingest's writes fit its create-only grant: every PutObject it makes carries If-None-Match.

The role grants ``s3:PutObject`` on ``needs.s3_create`` prefixes only when the request
carries ``If-None-Match`` (``s3:if-none-match`` condition key). moto does not evaluate
IAM, so this test records the requests the handler really sends and checks each one
against the catalog entry: a write the grant would refuse in AWS fails here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from etl_common import clients
from pipeline_factories import api_event, lambda_context, list_keys, order

from etl_platform.model.catalog import load_catalog

pytestmark = pytest.mark.functional

FUNCTION = "ingest-api"


@pytest.fixture
def puts(aws: Any) -> list[dict[str, Any]]:
    """Every PutObject request the handlers send through etl_common's S3 client."""
    recorded: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        recorded.append({"Key": params["Key"], "IfNoneMatch": params.get("IfNoneMatch")})

    clients.get("s3").meta.events.register("provide-client-params.s3.PutObject", record)
    return recorded


def _post(handler: Any, records: list[Any], key: str | None = None) -> int:
    headers = {"idempotency-key": key} if key else None
    event = api_event("POST", "/batches", {"records": records}, headers=headers)
    return int(handler(event, lambda_context(FUNCTION))["statusCode"])


def test_every_write_of_ingest_is_allowed_by_its_catalog_needs(
    aws: Any, load_handler: Any, puts: list[dict[str, Any]]
) -> None:
    spec = load_catalog().get(FUNCTION)
    handler = load_handler(FUNCTION).handler
    # GIVEN a plain batch, a batch with an idempotency key, its replay, and the replay
    # of a request that died after claiming its key (the raw object and manifest gone)
    assert _post(handler, [order(1)]) == 202
    assert _post(handler, [order(2)], key="k-1") == 202
    assert _post(handler, [order(2)], key="k-1") == 202
    for key in list_keys(aws, "raw/") + list_keys(aws, "manifests/"):
        aws.delete_object(Bucket=aws.list_buckets()["Buckets"][0]["Name"], Key=key)
    assert _post(handler, [order(2)], key="k-1") == 202

    # WHEN every PutObject it sent is checked against its needs
    assert puts
    for put in puts:
        prefix = next(
            (p for p in (*spec.s3_write, *spec.s3_create) if put["Key"].startswith(p)), None
        )
        # THEN it writes only where its needs let it
        assert prefix is not None, put
        # AND under a create-only prefix, only with If-None-Match: * (never overwriting)
        if prefix in spec.s3_create:
            assert put["IfNoneMatch"] == "*", json.dumps(put)
    assert {p["Key"].split("/")[0] + "/" for p in puts} <= set(spec.s3_create) | set(spec.s3_write)
