"""Typed errors shared by the pipeline functions.

Bad data is not an exception here: a record that breaks the schema is a list of
problems (``etl_common.schema``), so transform writes it to ``rejected/`` and an API
answers 4xx with an :class:`ApiError`. Retrying could not help either way.

:class:`TransientError`: something we depend on failed (S3, Secrets Manager,
PostgreSQL). Raised out of the handler so Lambda retries twice and then sends the
event to the function's dead-letter queue with the original event.

:class:`ConfigurationError` is raised at invocation when the platform did not
configure the function correctly (for example an empty ``DB_SECRET_ARN``); it is
raised (so the event is kept in the DLQ) and is not a data problem.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ApiError",
    "ConfigurationError",
    "DatabaseUnavailableError",
    "EtlError",
    "ObjectUnreadableError",
    "SecretUnavailableError",
    "TransientError",
    "UnexpectedObjectKeyError",
]


class EtlError(Exception):
    """Base class of every error raised on purpose by the pipeline."""


class ConfigurationError(EtlError):
    """The function's environment is missing or has an invalid setting."""


class TransientError(EtlError):
    """A dependency failed; the invocation should be retried (raise)."""


class ObjectUnreadableError(TransientError):
    """An S3 object could not be read or decoded (missing, denied, not UTF-8)."""

    def __init__(self, bucket: str, key: str, reason: str) -> None:
        super().__init__(f"cannot read s3://{bucket}/{key}: {reason}")
        self.bucket = bucket
        self.key = key
        self.reason = reason


class UnexpectedObjectKeyError(EtlError):
    """An S3 event named an object outside the key layout this function handles.

    Raised (not ignored) so that the event ends up in the dead-letter queue where
    an operator can see it, instead of silently dropping a file someone uploaded.
    """

    def __init__(self, key: str, expected: str) -> None:
        super().__init__(f"unexpected object key {key!r}; expected {expected}")
        self.key = key


class SecretUnavailableError(TransientError):
    """The database secret could not be fetched from Secrets Manager."""


class DatabaseUnavailableError(TransientError):
    """PostgreSQL could not be reached (or a connection could not be obtained)."""


class ApiError(EtlError):
    """An HTTP error answer for a function URL: status, machine code, human message."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body of the error answer."""
        body: dict[str, Any] = {"error": self.error, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body
