"""``etl-ops import <function> [--name <catalog-name>]``: a deployed function -> the repository.

From the account (boto3; ``AWS_ENDPOINT_URL`` honoured), for one deployed function:

1. its code, downloaded from GetFunction's code location into
   ``examples/legacy-<runtime>/<name>/`` unchanged (``legacy-node14`` for nodejs14.x,
   ``legacy-python3.8`` for python3.8);
2. beside it, ``<name>.account.json`` (schema :data:`ACCOUNT_SCHEMA`): what the account
   says about it: runtime, handler, memory, timeout, environment (secret-looking values
   redacted), triggers (:mod:`etl_platform.ops.wiring`), its role's statements, DLQ and
   destinations, reserved concurrency, tags (``owner``);
3. beside it, ``<name>.proposal.toml``: the proposed catalog entry: ``kind``/``size``
   from timeout and memory (the catalog's profiles, saying where the legacy values
   differ), the trigger in the catalog's terms, the ``etl:resources`` entries it needs
   and ``[needs]`` derived from **the code's SDK calls intersected with what the legacy
   role allowed** (:func:`derive_needs`: never more than either), with the calls the old
   role denied and the grants the code never uses;
4. ``nox -s migrate`` on the result (``handler`` from the deployed configuration) into
   ``lambdas/<name>/``, unless that folder exists already; then the proposal's trigger
   and needs go into its ``function.toml`` when the catalog accepts them.

It prints what is left by hand. Re-running is idempotent (the same account gives the
same files; an existing ``lambdas/<name>/`` is left alone). A function whose runtime is
not Node.js or Python, or that is an image package, is refused with the reason.

Reads only: ``lambda:GetFunction``, ``GetFunctionConcurrency``,
``GetFunctionEventInvokeConfig``, ``GetPolicy``, ``ListEventSourceMappings``,
``s3:ListAllMyBuckets``, ``s3:GetBucketLocation``, ``s3:GetBucketNotification``,
``sns:ListSubscriptions``,
``sns:GetSubscriptionAttributes``, ``events:ListEventBuses``,
``events:ListRuleNamesByTarget``, ``events:DescribeRule``, ``events:ListTargetsByRule``,
``dynamodb:ListTables``, ``iam:ListRolePolicies``, ``iam:GetRolePolicy``,
``iam:ListAttachedRolePolicies``, ``iam:GetPolicy``, ``iam:GetPolicyVersion``.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from etl_platform.artifacts.problems import SdkCall
from etl_platform.artifacts.sdk_calls import SDK_CALLS
from etl_platform.errors import CommandFailedError, EtlPlatformError
from etl_platform.model.catalog import ENTRY_FILE, MEMORY_MB, TIMEOUT_SECONDS, load_catalog
from etl_platform.model.needs import NEEDS, Need, ResourceKind
from etl_platform.model.runtimes import (
    DEFAULT_NODE_RUNTIME,
    DEFAULT_RUNTIME,
    NODEJS,
    PYTHON,
    language_of,
    node_major_of,
)
from etl_platform.ops.account import (
    Fetcher,
    Statement,
    allows,
    download,
    error_code,
    pages,
    resource_kind,
    role_statements,
    unzip,
)
from etl_platform.ops.migrate import migrate
from etl_platform.ops.wiring import Wire, find_wiring
from etl_platform.paths import LAMBDAS_DIR, REPO_ROOT

__all__ = [
    "ACCOUNT_SCHEMA",
    "EXAMPLES_DIR",
    "DerivedNeeds",
    "EstateImportError",
    "Imported",
    "Resource",
    "code_sdk_calls",
    "derive_needs",
    "import_function",
    "legacy_folder",
    "record_paths",
    "unique_name",
]

ACCOUNT_SCHEMA = "etl-ops-import/1"
EXAMPLES_DIR = REPO_ROOT / "examples"
# Environment variable names whose values are never written down.
_SECRET_NAME = re.compile(r"SECRET|PASSW|TOKEN|KEY|CREDENTIAL|PRIVATE", re.IGNORECASE)
REDACTED = "<redacted>"


class EstateImportError(CommandFailedError):
    """The function cannot be imported (the message says why and what to do)."""


# ------------------------------------------------------------------ resources


@dataclass(frozen=True)
class Resource:
    """A resource the platform does not own: its logical name (``etl:resources``) and ARN."""

    name: str
    arn: str

    @property
    def kind(self) -> ResourceKind | None:
        return resource_kind(self.arn)


def logical_name(arn: str) -> str:
    """``orders`` for ``arn:aws:dynamodb:...:table/orders``: kebab-case, from the ARN's tail."""
    tail = re.split(r"[:/]", arn.split(":", 5)[-1])
    base = (
        tail[1] if len(tail) > 1 and tail[0] in ("table", "event-bus", "key", "role") else tail[-1]
    )
    if arn.split(":")[2:3] == ["secretsmanager"]:
        base = re.sub(r"-[A-Za-z0-9]{6}$", "", tail[-1])
    if arn.split(":")[2:3] == ["ssm"]:
        base = "/".join(tail[1:])
    return re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-") or "resource"


def unique_name(names: dict[str, str], arn: str) -> str:
    """The logical name of ``arn`` in ``names`` (name -> ARN), adding it; a name another
    ARN already has gets the service appended (``orders-sqs``), then a number."""
    for name, known in names.items():
        if known == arn:
            return name
    base = logical_name(arn)
    candidates = [base, f"{base}-{arn.split(':')[2]}"]
    candidates += [f"{candidates[1]}-{n}" for n in range(2, 100)]
    name = next(c for c in candidates if c not in names)
    names[name] = arn
    return name


def _object_arn(resource: Resource, prefix: str = "") -> str:
    return f"{resource.arn}/{prefix}example-key"


# -------------------------------------------------------------- needs: derivation


@dataclass
class DerivedNeeds:
    """The ``[needs]`` import proposes, and why nothing else."""

    needs: dict[str, list[str]] = field(default_factory=dict)  # key -> resource names
    because: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # -> actions
    denied: list[str] = field(default_factory=list)  # code calls the old role did not allow
    unlocated: list[str] = field(default_factory=list)  # allowed, but on no known resource
    no_need: list[str] = field(default_factory=list)  # no [needs] key grants them
    unused_grants: list[str] = field(default_factory=list)  # role grants the code never uses
    extra_actions: dict[str, list[str]] = field(default_factory=dict)  # key -> uncalled actions

    def notes(self) -> list[str]:
        lines = [f"the old role did not allow {a}: the code calls it" for a in self.denied]
        lines += [
            f"{a}: the role allows it, but no resource it names is known (the role says '*' "
            "and no environment variable or trigger names one): add the resource to "
            "etl:resources and its name to [needs] by hand"
            for a in self.unlocated
        ]
        lines += [f"{a}: no [needs] key grants it; not proposed" for a in self.no_need]
        lines += [f"granted by the old role, never called: {g}" for g in self.unused_grants]
        lines += [
            f"needs.{key} also grants {', '.join(actions)}, which the code does not call"
            for key, actions in sorted(self.extra_actions.items())
        ]
        return lines


def _targets_of(need: Need, resource: Resource, statements: Sequence[Statement]) -> list[str]:
    """The names ``need`` would grant on ``resource``: the whole bucket, or the prefixes
    the role names (``exports/reports/``), or the resource itself."""
    if resource.kind != need.target:
        return []
    if need.target != ("s3", "bucket"):
        return [resource.name]
    prefixes = {""}
    head = f"{resource.arn}/"
    for statement in statements:
        for pattern in statement.resources:
            if pattern.startswith(head) and pattern.endswith("/*"):
                prefixes.add(pattern[len(head) : -1])
    return [resource.name + ("/" + p if p else "") for p in sorted(prefixes)]


def _allowed_on(
    action: str, need: Need, resource: Resource, target: str, statements: Sequence[Statement]
) -> bool:
    if need.target == ("s3", "bucket"):
        prefix = target.partition("/")[2]
        return allows(statements, action, _object_arn(resource, prefix))
    return allows(statements, action, resource.arn)


def derive_needs(
    calls: Sequence[str], statements: Sequence[Statement], resources: Sequence[Resource]
) -> DerivedNeeds:
    """``[needs]`` from the code's calls (IAM actions) and the legacy role's statements.

    A need key is proposed on a resource only for an action the code calls AND the role
    allows on that resource; so the proposal never exceeds either. For a bucket, the
    whole bucket when the role allows it, else each prefix the role names that it allows.
    """
    result = DerivedNeeds()
    called = sorted(set(calls))
    for action in called:
        candidates = [n for n in NEEDS if action in n.actions and not n.on_data_bucket]
        if not candidates:
            result.no_need.append(action)
            continue
        matched_any = False
        for need in candidates:
            for resource in resources:
                targets = [
                    t
                    for t in _targets_of(need, resource, statements)
                    if _allowed_on(action, need, resource, t, statements)
                ]
                if need.target == ("s3", "bucket") and resource.name in targets:
                    targets = [resource.name]  # the whole bucket covers its prefixes
                for target in targets:
                    matched_any = True
                    names = result.needs.setdefault(need.key, [])
                    if target not in names:
                        names.append(target)
                    result.because.setdefault((need.key, target), []).append(action)
        if not matched_any:
            allowed_any = allows(statements, action, "*") or any(
                allows(statements, action, r.arn) for r in resources
            )
            (result.unlocated if allowed_any else result.denied).append(action)
    for key, names in result.needs.items():
        names.sort()
        uncalled = [a for a in next(n for n in NEEDS if n.key == key).actions if a not in called]
        if uncalled:
            result.extra_actions[key] = uncalled
    for statement in statements:
        if statement.effect != "Allow":
            continue
        for pattern in statement.actions:
            probe = Statement("Allow", (pattern,), resources=("*",))
            if not any(probe.matches_action(a) for a in called):
                result.unused_grants.append(f"{pattern} ({statement.source})")
    result.unused_grants = sorted(set(result.unused_grants))
    return result


# ------------------------------------------------------------ the code's calls


def code_sdk_calls(folder: Path, handler: str, language: str) -> list[SdkCall]:
    """The AWS SDK calls the code in ``folder`` makes (the compat check's extractor of its
    language, ``etl_platform.artifacts.sdk_calls.SDK_CALLS``; none for another language)."""
    extract = SDK_CALLS.get(language)
    return extract(folder, handler) if extract else []


# ------------------------------------------------------------------ the import


def legacy_folder(examples_dir: Path, runtime: str, name: str) -> Path:
    """``examples/legacy-node14/<name>`` for nodejs14.x, ``legacy-python3.8`` for python3.8."""
    language = language_of(runtime)
    label = f"node{node_major_of(runtime)}" if language == NODEJS else runtime
    return examples_dir / f"legacy-{label}" / name


def record_paths(folder: Path) -> tuple[Path, Path]:
    """``(<name>.account.json, <name>.proposal.toml)`` beside the legacy folder."""
    return (
        folder.parent / f"{folder.name}.account.json",
        folder.parent / f"{folder.name}.proposal.toml",
    )


@dataclass
class Imported:
    """What one import wrote and what is left by hand."""

    function: str
    name: str
    folder: Path
    account_file: Path
    proposal_file: Path
    entry: dict[str, Any]
    resources: dict[str, str]
    derived: DerivedNeeds
    migrated: Path | None = None
    notes: list[str] = field(default_factory=list)

    def report(self) -> str:
        lines = [
            f"imported {self.function} as {self.name}",
            f"  code:     {self.folder}",
            f"  account:  {self.account_file}",
            f"  proposal: {self.proposal_file}",
        ]
        if self.migrated:
            lines.append(f"  migrated: {self.migrated}")
        if self.resources:
            lines.append("  etl:resources (each stack's projects/*/Pulumi.<stack>.yaml):")
            lines += [f"    {k}: {v}" for k, v in sorted(self.resources.items())]
        lines.append("left by hand:")
        lines += [f"  - {n}" for n in [*self.notes, *self.derived.notes()]]
        return "\n".join(lines)


def _redacted(environment: Mapping[str, str]) -> dict[str, str]:
    return {k: REDACTED if _SECRET_NAME.search(k) else v for k, v in sorted(environment.items())}


def _optional(call: Any, key: str | None = None, **kwargs: Any) -> Any:
    try:
        answer = call(**kwargs)
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    return answer.get(key) if key else answer


def read_account(session: Any, function: str) -> tuple[dict[str, Any], str]:
    """What the account says about ``function`` (the account.json document) and its
    code location; refuses what import cannot take."""
    lam = session.client("lambda")
    try:
        got = lam.get_function(FunctionName=function)
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise EstateImportError(
                f"no function {function!r} in this account and region: check the name with "
                "`aws lambda list-functions` (and AWS_REGION)"
            ) from None
        raise
    config = got["Configuration"]
    runtime = config.get("Runtime") or ""
    if config.get("PackageType") == "Image":
        raise EstateImportError(
            f"{function} is an image package: import takes zip packages only (its code is a "
            "container image; rebuild it as a catalog function by hand)"
        )
    try:
        language = language_of(runtime)
    except ValueError:
        raise EstateImportError(
            f"{function} runs {runtime or 'no managed runtime'}: import takes Node.js and "
            "Python functions only"
        ) from None
    invoke_config = _optional(lam.get_function_event_invoke_config, FunctionName=function) or {}
    wires = find_wiring(session, config["FunctionArn"])
    statements = role_statements(session, config["Role"])
    record = {
        "schema": ACCOUNT_SCHEMA,
        "function": function,
        "arn": config["FunctionArn"],
        "runtime": runtime,
        "language": language,
        "handler": config.get("Handler", ""),
        "memory_mb": config.get("MemorySize"),
        "timeout_seconds": config.get("Timeout"),
        "environment": _redacted((config.get("Environment") or {}).get("Variables") or {}),
        "role": config["Role"],
        "role_statements": [
            {
                "source": s.source,
                "effect": s.effect,
                "actions": list(s.actions),
                "not_actions": list(s.not_actions) if s.not_actions is not None else None,
                "resources": list(s.resources),
                "not_resources": list(s.not_resources) if s.not_resources is not None else None,
            }
            for s in statements
        ],
        "triggers": [{**w.to_json(), "summary": w.describe()} for w in wires],
        "dead_letter": (config.get("DeadLetterConfig") or {}).get("TargetArn"),
        "destinations": invoke_config.get("DestinationConfig") or {},
        "reserved_concurrency": _optional(
            lam.get_function_concurrency, "ReservedConcurrentExecutions", FunctionName=function
        ),
        "tags": dict(sorted((got.get("Tags") or {}).items())),
    }
    return record, str(got["Code"]["Location"])


def _referenced(session: Any, record: Mapping[str, Any], wires: Sequence[Wire]) -> list[str]:
    """The ARNs of the resources the function is connected to: its role's concrete
    ARNs, its environment values that name one, and its trigger sources."""
    arns: set[str] = set()
    for statement in record["role_statements"]:
        for pattern in statement["resources"]:
            if pattern.startswith("arn:") and "*" not in pattern.split(":", 5)[-1].split("/")[0]:
                base = pattern.split("/*")[0] if pattern.startswith("arn:aws:s3:::") else pattern
                if "*" not in base and resource_kind(base):
                    arns.add(base.split("/")[0] if base.startswith("arn:aws:s3:::") else base)
    tables = set(pages(session.client("dynamodb"), "list_tables", "TableNames"))
    buckets = {b["Name"] for b in session.client("s3").list_buckets().get("Buckets", [])}
    region = session.region_name or "us-east-1"
    account = record["arn"].split(":")[4]
    for value in record["environment"].values():
        if value.startswith("arn:"):
            arns.add(value)
        elif value.startswith("https://sqs.") and "/" in value:
            arns.add(f"arn:aws:sqs:{region}:{account}:{value.rstrip('/').rsplit('/', 1)[-1]}")
        elif value in tables:
            arns.add(f"arn:aws:dynamodb:{region}:{account}:table/{value}")
        elif value in buckets:
            arns.add(f"arn:aws:s3:::{value}")
    for wire in wires:
        if wire.kind == "s3":
            arns.add(wire.source)
    return sorted(arns)


def _profile(record: Mapping[str, Any], trigger: Mapping[str, Any]) -> tuple[str, str, list[str]]:
    timeout = int(record.get("timeout_seconds") or 3)
    memory = int(record.get("memory_mb") or 128)
    kind = "api" if timeout <= TIMEOUT_SECONDS["api"] and trigger["type"] == "url" else "batch"
    size = "small" if memory <= MEMORY_MB["small"] else "large"
    notes = []
    if timeout != TIMEOUT_SECONDS[kind]:
        notes.append(
            f"timeout: legacy {timeout} s, the {kind} profile gives {TIMEOUT_SECONDS[kind]} s"
        )
    if memory != MEMORY_MB[size]:
        notes.append(f"memory: legacy {memory} MB, the {size} profile gives {MEMORY_MB[size]} MB")
    if memory > MEMORY_MB["large"]:
        notes.append(f"memory: legacy {memory} MB is more than the large profile's")
    return kind, size, notes


def _stream_table(arn: str) -> str:
    # arn:aws:dynamodb:r:a:table/orders/stream/2026-... -> the table's ARN
    return arn.split("/stream/")[0]


def _trigger(wires: Sequence[Wire], resources: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The catalog trigger of the first wire; the others are listed as left by hand."""
    notes = [
        f"also triggered by {w.describe()}: a catalog entry has one trigger" for w in wires[1:]
    ]
    if not wires:
        return {"type": "none"}, notes

    def named(arn: str) -> str:
        return unique_name(resources, arn)

    wire = wires[0]
    detail = wire.detail
    if wire.kind == "event-source-mapping" and wire.source.split(":")[2] == "sqs":
        trigger: dict[str, Any] = {"type": "sqs", "queue": named(wire.source)}
        trigger["batch_size"] = detail.get("BatchSize", 10)
        if detail.get("MaximumBatchingWindowInSeconds"):
            trigger["batching_window_seconds"] = detail["MaximumBatchingWindowInSeconds"]
        if (detail.get("ScalingConfig") or {}).get("MaximumConcurrency"):
            trigger["maximum_concurrency"] = detail["ScalingConfig"]["MaximumConcurrency"]
    elif wire.kind == "event-source-mapping":
        stream_kind = "kinesis" if wire.source.split(":")[2] == "kinesis" else "dynamodb-stream"
        source = wire.source if stream_kind == "kinesis" else _stream_table(wire.source)
        trigger = {"type": stream_kind, "stream": named(source)}
        trigger["starting_position"] = detail.get("StartingPosition", "LATEST")
        trigger["batch_size"] = detail.get("BatchSize", 100)
        for key, catalog_key in (
            ("MaximumRetryAttempts", "maximum_retry_attempts"),
            ("MaximumRecordAgeInSeconds", "maximum_record_age_seconds"),
            ("BisectBatchOnFunctionError", "bisect_on_error"),
        ):
            if key in detail:
                trigger[catalog_key] = detail[key]
    else:  # push sources stay where they are: the platform grants invoke, cutover re-points
        principal = {
            "s3": "s3.amazonaws.com",
            "sns": "sns.amazonaws.com",
            "eventbridge": "events.amazonaws.com",
        }.get(wire.kind, detail.get("Principal", ""))
        source = wire.source if wire.source.startswith("arn:") else ""
        trigger = {"type": "invoke", "principal": principal}
        if source:
            trigger["source"] = named(source)
    return trigger, notes


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def entry_text(entry: Mapping[str, Any], header: Sequence[str] = ()) -> str:
    """A catalog entry as function.toml text (top keys, then [trigger], then [needs])."""
    lines = [f"# {h}" for h in header]
    lines += [f"{k} = {_toml_value(v)}" for k, v in entry.items() if not isinstance(v, dict)]
    for table in ("trigger", "needs", "environment"):
        if entry.get(table):
            lines += ["", f"[{table}]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in entry[table].items()]
    return "\n".join(lines) + "\n"


def _proposal(
    session: Any, record: dict[str, Any], wires: Sequence[Wire], calls: Sequence[SdkCall], name: str
) -> tuple[dict[str, Any], dict[str, str], DerivedNeeds, list[str]]:
    resources: dict[str, str] = {}  # name -> ARN, what the entry refers to
    trigger, notes = _trigger(wires, resources)
    kind, size, profile_notes = _profile(record, trigger)
    statements = [
        Statement(
            effect=raw["effect"],
            actions=tuple(raw["actions"]),
            not_actions=tuple(raw["not_actions"]) if raw["not_actions"] is not None else None,
            resources=tuple(raw["resources"]),
            not_resources=(
                tuple(raw["not_resources"]) if raw["not_resources"] is not None else None
            ),
            source=raw["source"],
        )
        for raw in record["role_statements"]
    ]
    names = dict(resources)
    candidates = [Resource(unique_name(names, a), a) for a in _referenced(session, record, wires)]
    derived = derive_needs([c.action for c in calls], statements, candidates)
    for targets in derived.needs.values():
        for target in targets:
            base = target.split("/", 1)[0]
            resources[base] = names[base]
    handler = record["handler"]
    entry: dict[str, Any] = {
        "name": name,
        "runtime": DEFAULT_NODE_RUNTIME if record["language"] == NODEJS else DEFAULT_RUNTIME,
        "handler": handler,
        "description": f"Imported from {record['function']} ({record['runtime']}).",
        "kind": kind,
        "size": size,
        "critical": record.get("reserved_concurrency") is not None,
        "database": False,
        "trigger": trigger,
        "needs": {k: v for k, v in sorted(derived.needs.items())},
    }
    kept_env = {k: v for k, v in record["environment"].items() if v != REDACTED}
    redacted = sorted(k for k, v in record["environment"].items() if v == REDACTED)
    if kept_env:
        entry["environment"] = kept_env
    notes = profile_notes + notes
    if redacted:
        notes.append(
            f"environment {', '.join(redacted)}: secret-looking values were not copied; "
            "keep secrets in Secrets Manager (needs.secrets_read) instead"
        )
    if record["language"] == PYTHON:
        notes.append("Python code: its SDK calls are not read yet, so [needs] is empty")
    if not record.get("dead_letter") and not record.get("destinations"):
        notes.append("the legacy function had no DLQ: the platform gives the new one its own")
    return entry, resources, derived, notes


def _write_code(data: bytes, folder: Path) -> list[str]:
    """Replace ``folder`` with the package's files, through a scratch folder."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".etl-import-", dir=folder.parent) as scratch:
        staged = Path(scratch) / "code"
        files = unzip(data, staged)
        if folder.exists():
            shutil.rmtree(folder)
        staged.rename(folder)
    return files


def _apply_proposal(function_dir: Path, entry: Mapping[str, Any], catalog_dir: Path) -> str | None:
    """Write the proposal's trigger and needs into the migrated function.toml when the
    catalog accepts them; otherwise put the migrated text back and say why."""
    path = function_dir / ENTRY_FILE
    migrated_text = path.read_text(encoding="utf-8")
    migrated = tomllib.loads(migrated_text)
    merged = {**migrated, "trigger": entry["trigger"], "needs": entry["needs"]}
    for key in ("kind", "size", "critical", "environment"):
        if key in entry:
            merged[key] = entry[key]
    header = [line.removeprefix("# ") for line in migrated_text.split("\n") if line.startswith("#")]
    path.write_text(entry_text(merged, [*header, "Trigger and needs: etl-ops import."]))
    try:
        load_catalog(catalog_dir)
    except EtlPlatformError as exc:
        path.write_text(migrated_text, encoding="utf-8")
        return (
            f"{path}: kept migrate's trigger and needs; this build's catalog does not accept "
            f"the proposed ones ({exc}): copy them from the proposal when it does"
        )
    return None


def import_function(
    session: Any,
    function: str,
    *,
    name: str | None = None,
    examples_dir: Path = EXAMPLES_DIR,
    catalog_dir: Path | None = None,
    layer: Path | None = None,
    fetch: Fetcher = download,
    run_migrate: bool = True,
) -> Imported:
    """Import ``function`` from the account; see the module docstring."""
    record, location = read_account(session, function)
    name = name or re.sub(r"^legacy-", "", function).lower()
    folder = legacy_folder(Path(examples_dir), record["runtime"], name)
    record["files"] = _write_code(fetch(location), folder)
    wires = [Wire(t["kind"], t["source"], t["detail"]) for t in record["triggers"]]
    calls = code_sdk_calls(folder, record["handler"], record["language"])
    record["code_calls"] = sorted({c.action for c in calls})
    entry, resources, derived, notes = _proposal(session, record, wires, calls, name)
    record["catalog_name"] = name
    record["resources"] = dict(sorted(resources.items()))
    account_file, proposal_file = record_paths(folder)
    account_file.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    header = [
        f"Proposed by `etl-ops import {function}` (docs/campaign.md).",
        "etl:resources it needs (add to each stack's projects/*/Pulumi.<stack>.yaml):",
        *(f"  {k}: {v}" for k, v in sorted(resources.items())),
        *(f"needs.{k} on {t}: because the code calls {', '.join(a)}"
          for (k, t), a in sorted(derived.because.items())),
    ]  # fmt: skip
    proposal_file.write_text(entry_text(entry, header), encoding="utf-8")
    result = Imported(
        function, name, folder, account_file, proposal_file, entry, resources, derived, None, notes
    )
    if run_migrate and record["language"] == NODEJS:
        catalog_dir = Path(catalog_dir or LAMBDAS_DIR)
        target = catalog_dir / name
        if target.exists():
            result.notes.append(f"{target} exists: not migrated again (remove it to start over)")
        else:
            migration = migrate(
                folder,
                name,
                kind=entry["kind"],
                size=entry["size"],
                handler=record["handler"],
                description=entry["description"],
                catalog_dir=catalog_dir,
                layer=layer,
            )
            result.migrated = migration.function_dir
            kept = _apply_proposal(migration.function_dir, entry, catalog_dir)
            result.notes += [str(p) for p in migration.problems]
            result.notes += [kept] if kept else []
    elif record["language"] == PYTHON:
        result.notes.append(
            "Python function: nox -s migrate is for Node.js; copy the code into "
            f"lambdas/{name}/ and write function.toml from {proposal_file.name}"
        )
    return result
