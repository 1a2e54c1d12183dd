"""status-api against moto S3: the answers a client gets for a batch id."""

from __future__ import annotations

from typing import Any

import pytest
from pipeline_factories import BUCKET, api_event, body_of, lambda_context, put_staged, staged_row

pytestmark = pytest.mark.functional

BATCH = "20261129T084900Z-00000000000000cc"


@pytest.fixture
def status(aws: Any, load_handler: Any) -> Any:
    """Invoke status-api like its function URL does; returns (status, body, headers)."""
    module = load_handler("status-api")

    def call(method: str, path: str) -> tuple[int, Any, dict[str, str]]:
        response = module.handler(api_event(method, path), lambda_context("status-api"))
        return response["statusCode"], body_of(response), response["headers"]

    return call


def test_known_batch_returns_its_manifest(status, aws):
    # GIVEN a transformed batch
    put_staged(aws, BATCH, [staged_row(1, BATCH)])

    # WHEN its status is requested
    code, body, _ = status("GET", f"/batches/{BATCH}")

    # THEN 200 with stage, counts, times and the rejected object's key
    assert code == 200
    assert body["batch_id"] == BATCH
    assert body["stage"] == "transformed"
    assert body["counts"]["received"] == 2
    assert body["counts"]["rejected"] == 1
    assert body["times"]["transformed_at"] == "2026-11-29T08:49:01.000Z"
    assert body["rejected_key"] == f"rejected/{BATCH}.jsonl"


def test_percent_encoded_batch_id_is_decoded(status, aws):
    # GIVEN a backfill batch whose id has a ':' that the client percent-encoded
    batch_id = "backfill:2026-11-29"
    put_staged(aws, batch_id, [staged_row(1, batch_id)])

    # WHEN its status is requested / THEN it is found
    code, body, _ = status("GET", "/batches/backfill%3A2026-11-29")
    assert (code, body["batch_id"]) == (200, batch_id)


def test_unknown_batch_is_404_json(status):
    # GIVEN no such batch / WHEN asked / THEN 404 names the id
    code, body, _ = status("GET", f"/batches/{BATCH}")
    assert (code, body) == (
        404,
        {"error": "batch_not_found", "message": f"no batch {BATCH}; check the id"},
    )


@pytest.mark.parametrize("bad_id", ["..", "-starts-with-dash", "has%20space", "x" * 129, ""])
def test_malformed_batch_id_is_400(status, bad_id):
    # GIVEN an id that cannot be a batch id / WHEN asked
    code, body, _ = status("GET", f"/batches/{bad_id}")

    # THEN 400 explains what an id looks like
    assert code == 400
    assert body == {
        "error": "invalid_batch_id",
        "message": "a batch id is 1 to 128 characters from A-Z a-z 0-9 _ : - starting with a "
        "letter or digit, as returned by POST /batches",
    }


def test_other_method_is_405_and_other_path_is_404(status):
    # GIVEN / WHEN requests outside the API / THEN 405 with Allow, 404 otherwise
    code, body, headers = status("DELETE", f"/batches/{BATCH}")
    assert (code, body["error"], headers["allow"]) == (405, "method_not_allowed", "GET")
    code, body, _ = status("GET", "/status")
    assert (code, body["error"]) == (404, "not_found")
    code, body, _ = status("GET", f"/batches/{BATCH}/rows")
    assert (code, body["error"]) == (404, "not_found")


def test_unreadable_manifest_is_a_500_that_pages_not_a_crash(status, aws):
    # GIVEN a manifest object that is not JSON (retrying cannot make it readable)
    aws.put_object(Bucket=BUCKET, Key=f"manifests/{BATCH}.json", Body=b"{broken")

    # WHEN asked / THEN a JSON 500 names the batch (a 5xx: ServerErrors and url-5xx page)
    code, body, _ = status("GET", f"/batches/{BATCH}")
    assert (code, body["error"]) == (500, "bad_manifest")
    assert BATCH in body["message"]
