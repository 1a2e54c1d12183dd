"""What every command that calls AWS shares: reading an error's code.

botocore's ``ClientError`` carries AWS's code in ``response["Error"]["Code"]``
(``ResourceNotFoundException``, ``AccessDenied``, ...); any other exception (no
credentials, a closed endpoint) is named by its class.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["error_code"]


def error_code(exc: Exception) -> str:
    """AWS's error code of ``exc`` (``ResourceNotFoundException``), else its class name."""
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        code = response.get("Error", {}).get("Code", "")
        if code:
            return str(code)
    return type(exc).__name__
