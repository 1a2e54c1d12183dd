"""Lazily created, cached boto3 clients.

boto3 is provided by the Lambda runtime (not bundled in the layer). It is
imported on the first :func:`get` so that importing a handler stays cheap, and a
client is created once per execution environment and reused. Tracing is set up
before the first client is created so that X-Ray patches it.

Environment variables: ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` (set by Lambda),
used by boto3 itself.
"""

from __future__ import annotations

from typing import Any

from etl_common import tracing

__all__ = ["get", "reset"]

_clients: dict[str, Any] = {}


def get(service: str) -> Any:
    """Return the cached boto3 client for ``service`` (created on first use)."""
    client = _clients.get(service)
    if client is None:
        tracing.setup()
        import boto3
        from botocore.config import Config

        config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5)
        client = boto3.client(service, config=config)
        _clients[service] = client
    return client


def reset() -> None:
    """Drop cached clients (tests create new ones inside each AWS mock)."""
    _clients.clear()
