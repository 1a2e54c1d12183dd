"""status-api: reports a batch's stage and counts (Lambda function URL, payload 2.0).

``GET /batches/<batch_id>``:

- 200 with the manifest (``etl_common.batches.Manifest``): ``stage``
  (``received``, ``transformed``, ``loaded``; never moves back), ``counts``
  (received, staged, rejected, duplicates, loaded, stale), ``times`` and the
  object keys (``raw_key``, ``staged_key``, ``rejected_key``);
- 404 JSON for an unknown batch, 500 ``bad_manifest`` (it pages) when the stored
  manifest is not one the pipeline wrote, 400 for a malformed id (percent-encoded ids
  such as ``backfill%3A1`` are decoded first), 405 for another method, 404 for
  another path.

Environment variables (read once at import):

- ``DATA_BUCKET``: the data bucket (required; missing is a 500 ``misconfigured``).
- ``LOG_LEVEL``: log level (default ``INFO``).

S3 access: reads ``manifests/`` only. An unknown batch is a 404 because S3
answers ``NoSuchKey``; that relies on the ``s3:ListBucket`` grant the platform
gives every function that reads (without it S3 answers ``AccessDenied``, which
this function reports as a 503 rather than guessing).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from etl_common import api, batches, http, logger
from etl_common.config import env_str
from etl_common.errors import ApiError

__all__ = ["handler"]

FUNCTION = "status-api"
DATA_BUCKET = env_str("DATA_BUCKET")
_PREFIX = "/batches/"

_log = logger.get_logger("etl.status")


def _route(request: http.Request) -> dict[str, Any]:
    if not request.path.startswith(_PREFIX) or "/" in request.path[len(_PREFIX) :]:
        raise ApiError(
            404, "not_found", f"no resource at {request.path}; use GET /batches/<batch_id>"
        )
    http.require_method(request, "GET", "/batches/<batch_id>")
    batch_id = unquote(request.path[len(_PREFIX) :])
    if not batches.is_batch_id(batch_id):
        raise ApiError(
            400,
            "invalid_batch_id",
            "a batch id is 1 to 128 characters from A-Z a-z 0-9 _ : - starting with a "
            "letter or digit, as returned by POST /batches",
        )
    api.require_setting("DATA_BUCKET", DATA_BUCKET)
    logger.bind(batch_id=batch_id)
    try:
        manifest = batches.read_manifest(DATA_BUCKET, batch_id)
    except batches.BadManifestError as exc:
        # Our own data is corrupt: a 5xx, so it pages (ServerErrors, url-5xx).
        raise ApiError(
            500,
            "bad_manifest",
            f"the manifest of batch {batch_id} is unreadable; the operators are alerted",
        ) from exc
    if manifest is None:
        raise ApiError(404, "batch_not_found", f"no batch {batch_id}; check the id")
    return http.json_response(200, manifest.to_json())


handler = api.handler(FUNCTION, _route)
