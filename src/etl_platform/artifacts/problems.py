"""Findings about code, shared by every checker (a leaf module: it imports no checker).

- :class:`Problem`: one incompatibility found by a compat check (Python or Node.js):
  where, which module, what is wrong and the fix.
- :class:`SdkCall`: one AWS SDK call a function's code makes, as the IAM action it
  needs (``dynamodb:PutItem``), with where it is written. The Python checker (boto3
  clients and methods) and the Node.js checker (``@aws-sdk/client-*`` commands, v2
  service classes) both report calls in this one shape, so the declared ``needs`` can be
  compared with the code in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from etl_platform.paths import display_path

__all__ = ["Problem", "SdkCall"]


@dataclass(frozen=True)
class Problem:
    """One finding: where, which module, what is wrong and the fix.

    ``severity`` is ``error`` (the check fails) or ``warning`` (shown, not failing).
    """

    path: Path
    line: int
    module: str
    message: str
    fix: str
    severity: str = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        where = display_path(self.path)
        location = f"{where}:{self.line}" if self.line else where
        module = f" [{self.module}]" if self.module else ""
        warning = " warning:" if not self.is_error else ""
        return f"{location}:{module}{warning} {self.message}. Fix: {self.fix}"


@dataclass(frozen=True)
class SdkCall:
    """One AWS SDK call in a function's code.

    ``action`` is the IAM action it needs (``service:Operation``, e.g. ``dynamodb:PutItem``);
    ``client`` and ``operation`` are as written (``DynamoDBDocumentClient``/``PutCommand``,
    ``s3``/``put_object``); ``path``/``line`` locate it; ``export`` is the handler export
    (Node.js) it is reached from, when known.
    """

    action: str
    client: str
    operation: str
    path: Path
    line: int
    export: str = ""

    @property
    def service(self) -> str:
        return self.action.split(":", 1)[0]

    def __str__(self) -> str:
        where = f"{display_path(self.path)}:{self.line}"
        return f"{where}: {self.client}.{self.operation} ({self.action})"
