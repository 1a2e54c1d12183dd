"""What the ops commands read from an account, in one leaf module they all import.

- :func:`pages`: every item of a paginated boto3 call;
- :func:`error_code`: the AWS error code of a botocore ``ClientError`` ("" otherwise);
- :func:`download` / :func:`unzip`: a function's package from its presigned URL;
- :func:`role_statements` and :func:`allows`: a role's IAM statements (inline and
  attached) and whether they allow an action on a resource. The evaluation is IAM's
  for identity policies without conditions: an explicit ``Deny`` wins, then any
  ``Allow``; ``*`` and ``?`` wildcards; ``NotAction``/``NotResource``. Conditions,
  permissions boundaries, SCPs and resource policies are not read, so the answer is an
  upper bound of what the role could do.
- :func:`resource_kind`: an ARN's (service, resource type), as
  :data:`etl_platform.model.needs.NEEDS` names targets.

Clients come from the boto3 session given, so ``AWS_ENDPOINT_URL`` (a local emulator)
works as for any boto3 program.
"""

from __future__ import annotations

import fnmatch
import io
import json
import os
import re
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl_platform.errors import EtlPlatformError
from etl_platform.model.needs import ResourceKind

__all__ = [
    "Fetcher",
    "PackageError",
    "Statement",
    "allows",
    "download",
    "error_code",
    "pages",
    "parse_statements",
    "resource_kind",
    "role_statements",
    "unzip",
]

#: Downloads a URL's bytes (a test gives one that reads moto's packages).
Fetcher = Callable[[str], bytes]


class PackageError(EtlPlatformError):
    """A function package could not be downloaded or unpacked safely."""


def pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    """Every item under ``key`` of every page of ``operation``."""
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def error_code(exc: Exception) -> str:
    """``ResourceNotFoundException`` for a botocore ClientError; "" for anything else."""
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def download(url: str) -> bytes:
    """GET a package from the presigned URL Lambda returns (it expires in 10 minutes).

    https only, except from the ``AWS_ENDPOINT_URL`` endpoint itself (a local emulator
    on ``http://localhost:4566`` serves its packages there).
    """
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    local = bool(endpoint) and url.startswith(endpoint.rstrip("/") + "/")
    if urllib.parse.urlsplit(url).scheme != "https" and not local:
        raise PackageError(f"refusing to download a package from a non-https URL: {url}")
    with urllib.request.urlopen(url, timeout=120) as response:
        data: bytes = response.read()
    return data


def unzip(data: bytes, into: Path) -> list[str]:
    """Unpack a zip into ``into`` (refusing members that escape it); the member names."""
    into.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = []
        for member in archive.infolist():
            target = (into / member.filename).resolve()
            if not target.is_relative_to(into.resolve()):
                raise PackageError(f"package member {member.filename!r} escapes the package")
            if not member.is_dir():
                names.append(member.filename)
        archive.extractall(into)
    return sorted(names)


def _listify(value: object) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Statement:
    """One IAM policy statement, as written (patterns kept), with where it came from."""

    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] | None = None
    source: str = ""

    def matches_action(self, action: str) -> bool:
        def hit(patterns: Sequence[str]) -> bool:
            return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)

        if self.not_actions is not None:
            return not hit(self.not_actions)
        return hit(self.actions)

    def matches_resource(self, arn: str) -> bool:
        def hit(patterns: Sequence[str]) -> bool:
            return any(fnmatch.fnmatchcase(arn, _glob(p)) for p in patterns)

        if self.not_resources is not None:
            return not hit(self.not_resources)
        return hit(self.resources)


def _glob(pattern: str) -> str:
    # IAM has only * and ?: a literal [ in an ARN must not start an fnmatch class.
    return re.sub(r"([\[\]])", r"[\1]", pattern)


def parse_statements(document: object, source: str = "") -> list[Statement]:
    """The statements of a policy document (a dict, or JSON, URL-encoded as IAM returns it)."""
    if isinstance(document, str):
        document = json.loads(urllib.parse.unquote(document))
    if not isinstance(document, Mapping):
        return []
    result = []
    for raw in _listify(document.get("Statement")):
        if not isinstance(raw, Mapping):
            continue
        result.append(
            Statement(
                effect=str(raw.get("Effect", "")),
                actions=tuple(map(str, _listify(raw.get("Action")))),
                not_actions=(
                    tuple(map(str, _listify(raw["NotAction"]))) if "NotAction" in raw else None
                ),
                resources=tuple(map(str, _listify(raw.get("Resource")))),
                not_resources=(
                    tuple(map(str, _listify(raw["NotResource"]))) if "NotResource" in raw else None
                ),
                source=source,
            )
        )
    return result


def allows(statements: Sequence[Statement], action: str, arn: str) -> bool:
    """Whether ``statements`` allow ``action`` on ``arn`` (explicit Deny wins; conditions
    are not evaluated)."""
    applicable = [s for s in statements if s.matches_action(action) and s.matches_resource(arn)]
    if any(s.effect == "Deny" for s in applicable):
        return False
    return any(s.effect == "Allow" for s in applicable)


def role_statements(session: Any, role_arn: str) -> list[Statement]:
    """Every statement of the role's inline and attached policies (default versions)."""
    iam = session.client("iam")
    name = role_arn.rsplit("/", 1)[-1]
    statements: list[Statement] = []
    for policy_name in pages(iam, "list_role_policies", "PolicyNames", RoleName=name):
        document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
        statements += parse_statements(document, f"inline policy {policy_name}")
    for attached in pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name):
        arn = attached["PolicyArn"]
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
        statements += parse_statements(
            document["Document"], f"attached policy {attached.get('PolicyName') or arn}"
        )
    return statements


# ARN resource part -> the resource type, per service (the services NEEDS targets).
_TYPED = re.compile(r"^(?P<type>[a-z-]+)[/:]")


def resource_kind(arn: str) -> ResourceKind | None:
    """``("dynamodb", "table")`` for a table ARN; None for what is not an ARN."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return None
    service, rest = parts[2], parts[5]
    if service == "s3":
        return ("s3", "bucket") if "/" not in rest else ("s3", "object")
    if service in ("sqs", "sns"):
        return (service, "queue" if service == "sqs" else "topic")
    match = _TYPED.match(rest)
    return (service, match.group("type")) if match else None
