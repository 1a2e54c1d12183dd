"""``etl-ops audit``: every Lambda function of a region against the platform's rules.

Answers "which of our existing functions break the rules, and by when must each
move?" for an account the platform did not build. Read-only; needs
``lambda:ListFunctions``, ``lambda:GetFunctionEventInvokeConfig``,
``logs:DescribeLogGroups``, ``iam:ListRolePolicies``, ``iam:GetRolePolicy``,
``iam:ListAttachedRolePolicies``, ``iam:GetPolicy``, ``iam:GetPolicyVersion`` (and
``lambda:GetFunction``, ``lambda:GetLayerVersionByArn`` with ``--code``).

Per function, the checks of :data:`CHECKS` (one row each: id, severity, fix):

- runtime: deprecated, deprecated within ``--runtime-warn-days`` (180), in preview, or
  unknown to the runtime calendar; every runtime finding carries AWS's dates and the
  days left until the next one (:mod:`etl_platform.model.runtime_calendar`);
- tracing not ``Active``;
- no DLQ and no on-failure destination;
- log group missing, or without retention;
- a role shared with other functions, wildcard actions in its inline or attached
  policies, an AWS managed policy attached;
- a package over ``--max-package-mb`` (5 MiB; the platform's own zips are a few KB
  because third-party code lives in the layer).

Calls, so it stays cheap on accounts with hundreds of functions: ListFunctions and
DescribeLogGroups (prefix ``/aws/lambda/``) are paginated once for the region; each
distinct role's policies are read once and each attached policy document once, however
many functions share them; GetFunctionEventInvokeConfig only for functions without a
DLQ; nothing else per function. ``--code`` adds GetFunction per Python or Node.js
function and GetLayerVersionByArn once per distinct layer, downloads each package, and
runs the platform's compat checks for the language (:data:`CODE_CHECKERS`).

``etl-ops audit --campaign`` shows the migration campaign instead (one row per legacy
function and its state): :mod:`etl_platform.ops.campaign`.

Clients come from boto3, so credentials, ``AWS_PROFILE``, ``AWS_REGION`` and
``AWS_ENDPOINT_URL`` (a local emulator) work as for any boto3 program.

Output: a table sorted by urgency (severity, then days left, then name) and a summary
line of counts by problem; ``--json`` prints the document described in the README
(*etl-ops audit --json*; ``schema`` is ``etl-ops-audit/1``); ``--strict`` exits 1 when
there is any finding. Exit 2 when the audit cannot run (no credentials, access denied
on ListFunctions).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import tempfile
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from etl_platform.errors import EtlPlatformError
from etl_platform.model.naming import log_group_name
from etl_platform.model.runtime_calendar import CALENDAR, Calendar, days_phrase
from etl_platform.model.runtimes import (
    DEFAULT_NODE_RUNTIME,
    DEFAULT_RUNTIME,
    LANGUAGES,
    NODEJS,
    PYTHON,
    RUNTIMES,
    language_of,
    python_version_of,
)
from etl_platform.ops.account import Fetcher, download, error_code, pages, unzip

__all__ = [
    "CHECKS",
    "CODE_CHECKERS",
    "DEFAULT_MAX_PACKAGE_MB",
    "DEFAULT_RUNTIME_WARN_DAYS",
    "MIB",
    "SCHEMA",
    "AuditError",
    "AuditOptions",
    "AuditReport",
    "Check",
    "CodeProblem",
    "Finding",
    "FunctionReport",
    "audit",
    "check_python_package",
    "render_table",
]

SCHEMA = "etl-ops-audit/1"
DEFAULT_MAX_PACKAGE_MB = 5.0
DEFAULT_RUNTIME_WARN_DAYS = 180
LOG_GROUP_PREFIX = log_group_name("")  # "/aws/lambda/"
MIB = 1024 * 1024

# Urgency order of the severities (most urgent first).
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low")


class AuditError(EtlPlatformError):
    """The audit cannot run at all (credentials, permissions); exit code 2."""


@dataclass(frozen=True)
class Subject:
    """What a check's detection looks at: one function and the estate facts read once."""

    name: str
    config: Mapping[str, Any]  # the function's configuration (ListFunctions)
    report: FunctionReport
    log_group: str
    retention: Mapping[str, int | None] | None  # None: the log groups could not be read
    role_users: Mapping[str, Sequence[str]]  # role ARN -> the functions using it
    policy: _RolePolicies | None  # the role's policies, when they could be read
    options: AuditOptions
    has_failure_destination: Callable[[], bool]  # asked only when the function has no DLQ


Detect = Callable[[Subject], list["Finding"]]


def _tracing(s: Subject) -> list[Finding]:
    mode = (s.config.get("TracingConfig") or {}).get("Mode", "PassThrough")
    return (
        []
        if mode == "Active"
        else [Finding(s.name, "tracing-not-active", f"tracing mode is {mode}")]
    )


def _failure_destination(s: Subject) -> list[Finding]:
    if (s.config.get("DeadLetterConfig") or {}).get("TargetArn") or s.has_failure_destination():
        return []
    message = "no dead-letter queue and no on-failure destination"
    return [Finding(s.name, "no-failure-destination", message)]


def _log_group_missing(s: Subject) -> list[Finding]:
    if s.retention is None or s.log_group in s.retention:
        return []
    return [Finding(s.name, "log-group-missing", f"{s.log_group} does not exist")]


def _log_retention(s: Subject) -> list[Finding]:
    if s.retention is None or s.log_group not in s.retention or s.retention[s.log_group]:
        return []
    return [Finding(s.name, "log-retention-unset", f"{s.log_group} never expires its logs")]


def _role_shared(s: Subject) -> list[Finding]:
    role = s.report.role
    if not role or len(s.role_users[role]) < 2:
        return []
    others = sorted(f for f in s.role_users[role] if f != s.name)
    shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
    message = f"role {_role_name(role)} is also used by {shown}"
    return [Finding(s.name, "role-shared", message, details=tuple(others))]


def _role_wildcards(s: Subject) -> list[Finding]:
    if not (s.policy and s.policy.wildcards):
        return []
    message = f"role {_role_name(s.report.role)}: " + "; ".join(s.policy.wildcards)
    return [Finding(s.name, "role-wildcard-action", message, details=tuple(s.policy.wildcards))]


def _role_aws_managed(s: Subject) -> list[Finding]:
    if not (s.policy and s.policy.aws_managed):
        return []
    managed = tuple(sorted(s.policy.aws_managed))
    message = f"role {_role_name(s.report.role)} has AWS managed " + ", ".join(managed)
    return [Finding(s.name, "role-aws-managed-policy", message, details=managed)]


def _package_size(s: Subject) -> list[Finding]:
    limit = s.options.max_package_bytes
    if s.report.package_type != "Zip" or s.report.code_size <= limit:
        return []
    message = f"package is {_size(s.report.code_size)} (threshold {_size(limit)})"
    return [Finding(s.name, "package-oversized", message)]


@dataclass(frozen=True)
class Check:
    """One kind of finding: its id, the problem in a few words, severity, the fix and,
    for the checks that need nothing more than the estate facts, its detection (the
    runtime and code checks ask the account per function: see :class:`_Auditor`)."""

    id: str
    problem: str
    severity: str
    fix: str
    detect: Detect | None = None


# One row per problem the audit reports: the README's "what to do" table follows it.
CHECKS: dict[str, Check] = {
    c.id: c
    for c in (
        Check(
            "runtime-deprecated",
            "runtime deprecated",
            "critical",
            "move the function to a supported runtime (Python: "
            f"{DEFAULT_RUNTIME}, Node.js: {DEFAULT_NODE_RUNTIME}; run `etl-ops audit --code` "
            "for what blocks the move; `nox -s migrate` brings a Node.js function onto this "
            "platform), or rebuild it here (a folder under lambdas/)",
        ),
        Check(
            "runtime-deprecation-soon",
            "runtime deprecated soon",
            "high",
            "plan the move before the deprecation date shown; after it AWS stops patching, "
            "then blocks creating and updating the function",
        ),
        Check(
            "runtime-preview",
            "preview runtime",
            "medium",
            "preview runtimes are not for production: use a generally available runtime",
        ),
        Check(
            "runtime-unknown",
            "runtime not in the calendar",
            "low",
            "refresh the runtime calendar (nox -s refresh-runtimes -- <saved AWS page>); "
            "if still unknown, the runtime is not a Python or Node.js one this audit knows",
        ),
        Check(
            "no-failure-destination",
            "no DLQ or on-failure destination",
            "high",
            "give it a DLQ (--dead-letter-config TargetArn=<sqs arn>) or an on-failure "
            "destination (aws lambda put-function-event-invoke-config "
            "--destination-config OnFailure={Destination=<arn>}): failed async events are "
            "dropped today",
            detect=_failure_destination,
        ),
        Check(
            "role-wildcard-action",
            "wildcard action in role policy",
            "high",
            "replace each '*' action with the actions the code calls (CloudTrail or IAM "
            "Access Analyzer's policy generation lists them), on the resources it uses",
            detect=_role_wildcards,
        ),
        Check(
            "role-shared",
            "role shared with other functions",
            "high",
            "give each function its own role with only what it needs; a shared role "
            "carries the union of every function's permissions",
            detect=_role_shared,
        ),
        Check(
            "tracing-not-active",
            "tracing not Active",
            "medium",
            "aws lambda update-function-configuration --function-name <fn> "
            "--tracing-config Mode=Active (the role needs xray:PutTraceSegments and "
            "xray:PutTelemetryRecords)",
            detect=_tracing,
        ),
        Check(
            "log-group-missing",
            "log group missing",
            "medium",
            "create it with a retention (aws logs create-log-group --log-group-name <group>; "
            "aws logs put-retention-policy --log-group-name <group> --retention-in-days 30) "
            "before the function logs, or Lambda creates it keeping logs forever",
            detect=_log_group_missing,
        ),
        Check(
            "log-retention-unset",
            "logs kept forever",
            "medium",
            "aws logs put-retention-policy --log-group-name <group> --retention-in-days 30 "
            "(7 for dev)",
            detect=_log_retention,
        ),
        Check(
            "role-aws-managed-policy",
            "AWS managed policy attached",
            "medium",
            "replace it with a customer managed or inline policy scoped to this function: "
            "AWS managed policies grant broadly and change when AWS changes them",
            detect=_role_aws_managed,
        ),
        Check(
            "package-oversized",
            "package oversized",
            "low",
            "move third-party dependencies to a layer and leave the AWS SDK out (the "
            "runtime provides it): smaller packages deploy and cold-start faster",
            detect=_package_size,
        ),
        Check(
            "code-incompatible",
            "code incompatible with target runtime",
            "high",
            "fix each listed file before moving the function to the target runtime",
        ),
    )
}


@dataclass(frozen=True)
class Finding:
    """One problem of one function."""

    function: str
    check: str
    message: str
    due: dt.date | None = None
    days_left: int | None = None
    details: tuple[str, ...] = ()

    @property
    def severity(self) -> str:
        return CHECKS[self.check].severity

    @property
    def fix(self) -> str:
        return CHECKS[self.check].fix

    def urgency(self) -> tuple[int, int, str, str]:
        days = self.days_left if self.days_left is not None else 1 << 30
        return SEVERITIES.index(self.severity), days, self.function, self.check

    def to_json(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "check": self.check,
            "problem": CHECKS[self.check].problem,
            "severity": self.severity,
            "message": self.message,
            "due": self.due.isoformat() if self.due else None,
            "days_left": self.days_left,
            "fix": self.fix,
            "details": list(self.details),
        }


@dataclass
class FunctionReport:
    """What the audit saw of one function and what it found."""

    name: str
    arn: str
    runtime: str | None
    package_type: str
    code_size: int
    role: str
    findings: list[Finding] = field(default_factory=list)

    def runtime_json(self, calendar: Calendar, today: dt.date) -> dict[str, Any] | None:
        if not self.runtime:
            return None
        dates = calendar.get(self.runtime)
        if dates is None:
            return {"identifier": self.runtime, "known": False}
        upcoming = dates.next_milestone(today)
        return {
            "identifier": self.runtime,
            "known": True,
            "preview": dates.preview,
            "deprecated": dates.deprecated(today),
            **{k: v for k, v in dates.to_json().items() if k not in ("name", "preview")},
            "next": (
                {
                    "event": upcoming.event,
                    "date": upcoming.date.isoformat(),
                    "days_left": upcoming.days_left,
                }
                if upcoming
                else None
            ),
        }


@dataclass
class AuditReport:
    """Everything one audit produced."""

    region: str
    today: dt.date
    options: AuditOptions
    calendar: Calendar
    functions: list[FunctionReport]
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return sorted((f for fn in self.functions for f in fn.findings), key=Finding.urgency)

    def counts(self) -> Counter[str]:
        return Counter(f.check for f in self.findings)

    def summary_line(self) -> str:
        findings = self.findings
        affected = len({f.function for f in findings})
        head = (
            f"{len(findings)} finding{'s' if len(findings) != 1 else ''} in {affected} of "
            f"{len(self.functions)} function{'s' if len(self.functions) != 1 else ''}"
        )
        counts = self.counts()
        if not counts:
            return f"{head}: nothing to fix"
        ordered = sorted(counts, key=lambda c: (SEVERITIES.index(CHECKS[c].severity), c))
        return head + ": " + ", ".join(f"{CHECKS[c].problem} {counts[c]}" for c in ordered)

    def to_json(self) -> dict[str, Any]:
        counts = self.counts()
        return {
            "schema": SCHEMA,
            "region": self.region,
            "today": self.today.isoformat(),
            "options": {
                "max_package_bytes": self.options.max_package_bytes,
                "runtime_warn_days": self.options.runtime_warn_days,
                "code": self.options.code,
            },
            "calendar": {
                "source": self.calendar.source,
                "checked_on": self.calendar.checked_on.isoformat(),
                "stale": self.calendar.stale(self.today),
            },
            "summary": {
                "functions": len(self.functions),
                "functions_with_findings": len({f.function for f in self.findings}),
                "findings": sum(counts.values()),
                "by_check": dict(sorted(counts.items())),
                "by_severity": {
                    s: sum(1 for f in self.findings if f.severity == s) for s in SEVERITIES
                },
            },
            "findings": [f.to_json() for f in self.findings],
            "functions": [
                {
                    "name": fn.name,
                    "arn": fn.arn,
                    "runtime": fn.runtime_json(self.calendar, self.today),
                    "package_type": fn.package_type,
                    "code_size": fn.code_size,
                    "role": fn.role,
                    "checks_failed": sorted({f.check for f in fn.findings}),
                }
                for fn in sorted(self.functions, key=lambda f: f.name)
            ],
            "notes": list(self.notes),
            "errors": list(self.errors),
        }


@dataclass(frozen=True)
class AuditOptions:
    """Thresholds and switches of one audit."""

    max_package_bytes: int = int(DEFAULT_MAX_PACKAGE_MB * MIB)
    runtime_warn_days: int = DEFAULT_RUNTIME_WARN_DAYS
    code: bool = False


# ------------------------------------------------------------------------ code checks


@dataclass(frozen=True)
class CodeProblem:
    """One incompatibility in a downloaded package: the file (relative), line, text, fix."""

    path: str
    line: int
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}. Fix: {self.fix}"


# The compat check of a language, one entry point each:
# (package root, target runtime, layer roots, handler) -> problems.
CodeChecker = Callable[[Path, str, Sequence[Path], str | None], list[CodeProblem]]


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _dist_info_names(root: Path) -> set[str]:
    """Top-level names of distributions vendored at ``root`` (their *.dist-info)."""
    names: set[str] = set()
    for dist in root.glob("*.dist-info"):
        top_level = dist / "top_level.txt"
        if top_level.is_file():
            names |= {n.strip() for n in top_level.read_text().split("\n") if n.strip()}
            continue
        record = dist / "RECORD"
        if record.is_file():
            for row in record.read_text().split("\n"):
                first = PurePosixPath(row.split(",")[0]).parts[:1]
                if first and not first[0].endswith((".dist-info", ".data")):
                    names.add(first[0].removesuffix(".py"))
    return {n for n in names if n.isidentifier()}


def _top_level_names(root: Path) -> set[str]:
    if not root.is_dir():
        return set()
    names = {p.stem for p in root.glob("*.py")} | {p.name.split(".")[0] for p in root.glob("*.so")}
    names |= {p.name for p in root.iterdir() if p.is_dir() and p.name.isidentifier()}
    return names | _dist_info_names(root)


def _python_layer_roots(layer: Path, version: str) -> list[Path]:
    """Where Lambda puts a layer's Python code on sys.path."""
    return [layer / "python", layer / "python" / "lib" / f"python{version}" / "site-packages"]


def check_python_package(
    root: Path, runtime: str, layers: Sequence[Path], handler: str | None = None
) -> list[CodeProblem]:
    """The platform's Python compat checks (:mod:`etl_platform.artifacts.compat`) on a package.

    The function's own files are checked (vendored distributions, those with a
    ``*.dist-info``, are not: their imports are their own business); imports must
    resolve to the target's standard library, the runtime's boto3 set, the package, or
    one of its layers.
    """
    from etl_platform.artifacts.compat import SourceFile, check_sources

    version = python_version_of(runtime)
    major, minor = (int(part) for part in version.split("."))
    own = frozenset(_top_level_names(root))
    vendored = _dist_info_names(root)
    layer_names: set[str] = set()
    for layer in layers:
        for layer_root in _python_layer_roots(layer, version):
            layer_names |= _top_level_names(layer_root)
    files = [
        SourceFile(path, own)
        for path in sorted(root.rglob("*.py"))
        if path.relative_to(root).parts[0].removesuffix(".py") not in vendored
        and "__pycache__" not in path.parts
    ]
    return [
        CodeProblem(_relative(problem.path, root), problem.line, problem.message, problem.fix)
        for problem in check_sources(files, (major, minor), frozenset(layer_names))
    ]


def _node_layer_packages(layers: Sequence[Path]) -> set[str]:
    """Package names a Node.js function can require from its layers."""
    names: set[str] = set()
    for layer in layers:
        for modules in [
            layer / "nodejs" / "node_modules",
            *layer.glob("nodejs/node*/node_modules"),
        ]:
            if not modules.is_dir():
                continue
            for entry in modules.iterdir():
                if entry.name.startswith("@") and entry.is_dir():
                    names |= {f"{entry.name}/{scoped.name}" for scoped in entry.iterdir()}
                elif not entry.name.startswith("."):
                    names.add(entry.name)
    return names


def check_node_package(
    root: Path, runtime: str, layers: Sequence[Path], handler: str | None = None
) -> list[CodeProblem]:
    """The platform's Node.js compat checks
    (:func:`etl_platform.artifacts.node_compat.check_node_tree`:
    aws-sdk v2, callback handlers, unresolvable imports) on a downloaded package.

    Imports resolve to the package, Node's built-ins, what the runtime provides
    (``@aws-sdk/*`` v3) and the packages its layers carry under ``nodejs/node_modules``.
    Needs ``node`` (scripts/bootstrap installs the parser it uses).
    """
    from etl_platform.artifacts.node_compat import check_node_tree

    problems = check_node_tree(
        root, runtime, layer_packages=_node_layer_packages(layers), handler=handler
    )
    return [CodeProblem(_relative(p.path, root), p.line, p.message, p.fix) for p in problems]


# Language -> its single compat entry point (a language without one is reported as
# not checked, never skipped silently).
CODE_CHECKERS: dict[str, CodeChecker] = {
    PYTHON: check_python_package,
    NODEJS: check_node_package,
}
# The runtime the code must move to once its own is deprecated (or soon will be).
MIGRATION_TARGETS: dict[str, str] = {PYTHON: DEFAULT_RUNTIME, NODEJS: DEFAULT_NODE_RUNTIME}


def _language(runtime: str | None) -> str | None:
    try:
        return language_of(runtime) if runtime else None
    except ValueError:  # java21, provided.al2023, ...: no compat checks here
        return None


def _target_runtime(runtime: str, today: dt.date, warn_days: int) -> str:
    """The runtime the code must run on next: its own, or the platform's target for its
    language once its own is deprecated or will be within ``warn_days``."""
    known = RUNTIMES.get(runtime)
    language = _language(runtime)
    if known is None or language is None:
        return runtime
    if (known.deprecated_on - today).days <= warn_days:
        return MIGRATION_TARGETS[language]
    return runtime


def _extract(data: bytes, into: Path) -> Path:
    unzip(data, into)
    return into


# ------------------------------------------------------------------------------ audit


def _policy_document(raw: object) -> dict[str, Any]:
    if isinstance(raw, str):
        raw = json.loads(urllib.parse.unquote(raw))
    return raw if isinstance(raw, dict) else {}


def _listify(value: object) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def wildcard_actions(document: Mapping[str, Any]) -> list[str]:
    """Allowed actions with a ``*`` in them, and any Allow with ``NotAction``."""
    found: list[str] = []
    for statement in _listify(document.get("Statement")):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        found += [a for a in _listify(statement.get("Action")) if isinstance(a, str) and "*" in a]
        if "NotAction" in statement:
            found.append("NotAction: " + ", ".join(map(str, _listify(statement["NotAction"]))))
    return found


def _role_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _is_aws_managed(policy_arn: str) -> bool:
    return ":iam::aws:policy/" in policy_arn


@dataclass
class _RolePolicies:
    """What the audit learned of one role (read once, whoever shares it)."""

    wildcards: list[str] = field(default_factory=list)  # "<policy>: <action>"
    aws_managed: list[str] = field(default_factory=list)
    error: str | None = None


class _Auditor:
    def __init__(
        self,
        session: Any,
        options: AuditOptions,
        today: dt.date,
        fetch: Fetcher,
        calendar: Calendar,
    ) -> None:
        self.session = session
        self.options = options
        self.today = today
        self.fetch = fetch
        self.calendar = calendar
        self.lam = session.client("lambda")
        self.errors: list[str] = []
        self.notes: list[str] = []
        self._policy_docs: dict[str, dict[str, Any] | str] = {}
        self._layer_dirs: dict[str, Path | str] = {}

    # -- listing
    def list_functions(self) -> list[dict[str, Any]]:
        try:
            return list(pages(self.lam, "list_functions", "Functions"))
        except Exception as exc:  # botocore ClientError, NoCredentialsError, ...
            raise AuditError(
                f"cannot list the Lambda functions: {exc}. Check the credentials "
                "(aws sts get-caller-identity) and that they allow lambda:ListFunctions."
            ) from exc

    def log_groups(self, wanted: Iterable[str]) -> dict[str, int | None]:
        """Log group name -> retention days (None: never expire), for the wanted ones."""
        logs = self.session.client("logs")
        found: dict[str, int | None] = {}
        try:
            for group in pages(
                logs, "describe_log_groups", "logGroups", logGroupNamePrefix=LOG_GROUP_PREFIX
            ):
                found[group["logGroupName"]] = group.get("retentionInDays")
            for name in sorted(set(wanted) - set(found)):
                if name.startswith(LOG_GROUP_PREFIX):
                    continue  # listed above: it does not exist
                for group in pages(
                    logs, "describe_log_groups", "logGroups", logGroupNamePrefix=name
                ):
                    if group["logGroupName"] == name:
                        found[name] = group.get("retentionInDays")
        except Exception as exc:
            self.errors.append(f"logs: cannot describe log groups ({exc}); log checks skipped")
            raise
        return found

    # -- roles
    def _attached_document(self, iam: Any, arn: str) -> dict[str, Any] | str:
        if arn not in self._policy_docs:
            try:
                policy = iam.get_policy(PolicyArn=arn)["Policy"]
                version = iam.get_policy_version(
                    PolicyArn=arn, VersionId=policy["DefaultVersionId"]
                )["PolicyVersion"]
                self._policy_docs[arn] = _policy_document(version["Document"])
            except Exception as exc:
                self._policy_docs[arn] = f"cannot read {arn}: {exc}"
        return self._policy_docs[arn]

    def role_policies(self, role_arns: Iterable[str]) -> dict[str, _RolePolicies]:
        iam = self.session.client("iam")
        result: dict[str, _RolePolicies] = {}
        for arn in sorted(set(role_arns)):
            info = _RolePolicies()
            result[arn] = info
            name = _role_name(arn)
            try:
                for policy_name in pages(iam, "list_role_policies", "PolicyNames", RoleName=name):
                    doc = _policy_document(
                        iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
                    )
                    info.wildcards += [
                        f"inline policy {policy_name}: {a}" for a in wildcard_actions(doc)
                    ]
                for attached in pages(
                    iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name
                ):
                    policy_arn = attached["PolicyArn"]
                    if _is_aws_managed(policy_arn):
                        info.aws_managed.append(attached.get("PolicyName") or policy_arn)
                    doc_or_error = self._attached_document(iam, policy_arn)
                    if isinstance(doc_or_error, str):
                        self.errors.append(doc_or_error)
                        continue
                    label = attached.get("PolicyName") or policy_arn
                    info.wildcards += [
                        f"attached policy {label}: {a}" for a in wildcard_actions(doc_or_error)
                    ]
            except Exception as exc:
                info.error = f"cannot read role {name} ({error_code(exc) or exc})"
                self.errors.append(f"{info.error}; its role checks were skipped")
        return result

    # -- failure handling
    def has_failure_destination(self, name: str) -> bool:
        return self.on_failure_destination(name) is not None

    def on_failure_destination(self, name: str) -> str | None:
        try:
            config = self.lam.get_function_event_invoke_config(FunctionName=name)
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            self.errors.append(f"{name}: cannot read its event invoke config ({exc})")
            return "unknown"
        destination = config.get("DestinationConfig", {}).get("OnFailure", {})
        return destination.get("Destination") or None

    # -- code
    def _layer_dir(self, arn: str, workdir: Path) -> Path | str:
        if arn not in self._layer_dirs:
            try:
                content = self.lam.get_layer_version_by_arn(Arn=arn)["Content"]
                target = workdir / "layers" / str(len(self._layer_dirs))
                self._layer_dirs[arn] = _extract(self.fetch(content["Location"]), target)
            except Exception as exc:
                self._layer_dirs[arn] = f"cannot download layer {arn}: {exc}"
        return self._layer_dirs[arn]

    def code_findings(self, config: Mapping[str, Any], workdir: Path) -> list[Finding]:
        name = config["FunctionName"]
        runtime = config.get("Runtime")
        language = _language(runtime)
        if language is None or runtime is None or config.get("PackageType") == "Image":
            return []
        checker = CODE_CHECKERS.get(language)
        if checker is None:
            return []
        target = _target_runtime(runtime, self.today, self.options.runtime_warn_days)
        try:
            location = self.lam.get_function(FunctionName=name)["Code"]["Location"]
            root = _extract(self.fetch(location), workdir / "functions" / name)
        except Exception as exc:
            self.errors.append(f"{name}: cannot download its package ({exc}); code not checked")
            return []
        layers: list[Path] = []
        for layer in config.get("Layers", []):
            got = self._layer_dir(layer["Arn"], workdir)
            if isinstance(got, str):
                self.errors.append(f"{name}: {got}; imports from it may show as unresolvable")
            else:
                layers.append(got)
        try:
            problems = checker(root, target, layers, config.get("Handler"))
        except EtlPlatformError as exc:  # e.g. the Node checks need node on PATH
            self.errors.append(f"{name}: its {language} code could not be checked ({exc})")
            return []
        return [
            Finding(
                name,
                "code-incompatible",
                f"{problem} (target {target})",
                details=(problem.path,),
            )
            for problem in problems
        ]

    # -- per function
    def runtime_findings(self, name: str, runtime: str | None) -> list[Finding]:
        if not runtime:
            return []  # a container image: no managed runtime
        dates = self.calendar.get(runtime)
        if dates is None:
            return [Finding(name, "runtime-unknown", f"{runtime} is not in the runtime calendar")]
        if dates.preview:
            return [Finding(name, "runtime-preview", f"{runtime} is in preview at AWS")]
        summary = dates.summary(self.today).split(": ", 1)[-1]
        upcoming = dates.next_milestone(self.today)
        if dates.deprecated(self.today):
            assert dates.deprecation is not None
            return [
                Finding(
                    name,
                    "runtime-deprecated",
                    f"{runtime}: {summary}",
                    due=upcoming.date if upcoming else dates.deprecation,
                    days_left=(upcoming or dates.milestones(self.today)[0]).days_left,
                )
            ]
        if dates.deprecation is not None:
            left = (dates.deprecation - self.today).days
            if left <= self.options.runtime_warn_days:
                return [
                    Finding(
                        name,
                        "runtime-deprecation-soon",
                        f"{runtime}: {summary}",
                        due=dates.deprecation,
                        days_left=left,
                    )
                ]
        return []


def audit(
    session: Any,
    *,
    options: AuditOptions | None = None,
    today: dt.date | None = None,
    fetch: Fetcher = download,
    calendar: Calendar = CALENDAR,
) -> AuditReport:
    """Audit every function the session's Lambda client lists; see the module docstring."""
    options = options or AuditOptions()
    today = today or dt.date.today()
    auditor = _Auditor(session, options, today, fetch, calendar)
    configs = auditor.list_functions()
    region = str(auditor.lam.meta.region_name)

    log_group_of = {
        c["FunctionName"]: (c.get("LoggingConfig") or {}).get("LogGroup")
        or f"{LOG_GROUP_PREFIX}{c['FunctionName']}"
        for c in configs
    }
    try:
        retention: dict[str, int | None] | None = auditor.log_groups(log_group_of.values())
    except (BotoCoreError, ClientError):  # said in auditor.errors; the log checks are skipped
        retention = None
    roles_by_function = {c["FunctionName"]: c.get("Role", "") for c in configs}
    users: dict[str, list[str]] = defaultdict(list)
    for function, role in roles_by_function.items():
        users[role].append(function)
    policies = auditor.role_policies(r for r in users if r)

    reports: list[FunctionReport] = []
    with tempfile.TemporaryDirectory(prefix="etl-ops-audit-") as tmp:
        for config in configs:
            name = config["FunctionName"]
            report = FunctionReport(
                name=name,
                arn=config.get("FunctionArn", ""),
                runtime=config.get("Runtime"),
                package_type=config.get("PackageType", "Zip"),
                code_size=int(config.get("CodeSize") or 0),
                role=config.get("Role", ""),
            )
            found = report.findings
            found += auditor.runtime_findings(name, report.runtime)
            subject = Subject(
                name=name,
                config=config,
                report=report,
                log_group=log_group_of[name],
                retention=retention,
                role_users=users,
                policy=policies.get(report.role),
                options=options,
                has_failure_destination=functools.partial(auditor.has_failure_destination, name),
            )
            for check in CHECKS.values():
                if check.detect is not None:
                    found += check.detect(subject)
            if options.code:
                found += auditor.code_findings(config, Path(tmp))
            reports.append(report)

    if options.code:
        languages = Counter(_language(r.runtime) for r in reports)
        for language in LANGUAGES:
            if languages.get(language) and language not in CODE_CHECKERS:
                auditor.notes.append(
                    f"--code: no {language} compat checks in this build; the code of "
                    f"{languages[language]} {language} function(s) was NOT checked"
                )
    if warning := calendar.staleness_warning(today):
        auditor.notes.append(warning)
    errors = list(dict.fromkeys(auditor.errors))  # a policy shared by roles: said once
    return AuditReport(region, today, options, calendar, reports, errors, auditor.notes)


# ----------------------------------------------------------------------------- output


def _size(size: int) -> str:
    return f"{size / MIB:.1f} MiB" if size >= MIB else f"{size / 1024:.0f} KiB"


def _due_text(finding: Finding) -> str:
    if finding.days_left is None or finding.due is None:
        return "-"
    return f"{finding.due.isoformat()} ({days_phrase(finding.days_left)})"


def render_table(report: AuditReport) -> str:
    """The findings as an aligned text table, most urgent first, then the summary line."""
    header = ("SEVERITY", "FUNCTION", "PROBLEM", "DUE", "DETAIL")
    rows = [
        (f.severity, f.function, CHECKS[f.check].problem, _due_text(f), f.message)
        for f in report.findings
    ]
    lines = [
        f"etl-ops audit: {len(report.functions)} Lambda functions in {report.region}, "
        f"{report.today.isoformat()} (runtime calendar checked "
        f"{report.calendar.checked_on.isoformat()})"
    ]
    if rows:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
        for row in [header, *rows]:
            cells = [row[i].ljust(widths[i]) for i in range(4)]
            lines.append("  ".join([*cells, row[4]]).rstrip())
        lines.append("")
        lines.append("What to do (README, 'etl-ops audit'):")
        for check in sorted(
            {f.check for f in report.findings},
            key=lambda c: (SEVERITIES.index(CHECKS[c].severity), c),
        ):
            lines.append(f"  {CHECKS[check].problem}: {CHECKS[check].fix}")
    lines += [f"note: {n}" for n in report.notes]
    lines += [f"error: {e}" for e in report.errors]
    lines.append(report.summary_line())
    return "\n".join(lines)
