"""``etl-ops cutover`` and ``etl-ops retire``: move a legacy function's triggers, reversibly.

    etl-ops cutover <catalog-name> --stack <stack> --from <legacy-function> [--dry-run | --rollback]
    etl-ops retire <legacy-function> --stack <stack> [--soak-days 14]

**cutover** moves every trigger of the legacy function to the deployed catalog function
(``lambda-<name>-<suffix>``, the suffix from ``projects/etl-functions/Pulumi.<stack>.yaml``),
one kind at a time in the order of :data:`etl_platform.ops.wiring.WIRING` (S3
notifications, event source mappings, SNS subscriptions, EventBridge targets, other
invoke permissions). Before moving anything it checks that the new function is deployed
(``Active``), that its alarms exist and none is in ALARM, and, when the function folder
has a ``test-event.json``, that invoking it with that event succeeds. ``--dry-run``
prints what would change and changes nothing.

Every change is written, as it is made, to the **cutover record**
``build/cutover/<stack>/<name>.json`` (schema :data:`SCHEMA`: ``legacy``, ``target``,
``status`` ``cut-over`` / ``rolled-back`` / ``failed``, ``changes``: each with the kind,
the source, what it was ``before`` and what was done ``after``). A failure half-way
undoes what was done, newest first, and leaves ``status = "failed"``. ``--rollback``
undoes a ``cut-over`` record the same way and marks it ``rolled-back``; cutting over
again is then allowed. Keep the record until the legacy function is retired (commit it
or keep ``build/`` where the next operator finds it).

The legacy function is never deleted by cutover. **retire** deletes it, after the
soak period the operator chooses, refusing while anything still triggers it (an S3
notification, an enabled event source mapping, an SNS subscription, an EventBridge
target) or while CloudWatch shows invocations in the last ``--soak-days`` days. Retire
cannot be undone: redeploy the legacy code from ``examples/legacy-*/`` if needed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from etl_platform.errors import CommandFailedError
from etl_platform.model.deployment import LIVE_ALIAS
from etl_platform.model.naming import resource_name
from etl_platform.model.stack_config import read_stack_config
from etl_platform.ops.account import error_code, pages
from etl_platform.ops.wiring import WIRING, Change, Wire, find_wiring
from etl_platform.paths import BUILD_DIR, LAMBDAS_DIR, PROJECTS_DIR

__all__ = [
    "DEFAULT_SOAK_DAYS",
    "SCHEMA",
    "STATE_DIR",
    "TEST_EVENT",
    "CutoverError",
    "CutoverResult",
    "active_wiring",
    "cutover",
    "deployed_name",
    "read_record",
    "readiness",
    "record_path",
    "retire",
    "rollback",
]

SCHEMA = "etl-ops-cutover/1"
STATE_DIR = BUILD_DIR / "cutover"
TEST_EVENT = "test-event.json"
DEFAULT_SOAK_DAYS = 14
FUNCTIONS_PROJECT = PROJECTS_DIR / "etl-functions"


class CutoverError(CommandFailedError):
    """Cutover, rollback or retire refused or failed (the message says why and what to do)."""


def deployed_name(stack: str, name: str, project_dir: Path = FUNCTIONS_PROJECT) -> str:
    """``lambda-<name>-<suffix>``: the catalog function's name in ``stack``."""
    try:
        config = read_stack_config(project_dir, stack)
    except FileNotFoundError as exc:
        raise CutoverError(str(exc)) from None
    suffix = config.get("etl:environmentSuffix")
    if not suffix:
        raise CutoverError(
            f"{project_dir / f'Pulumi.{stack}.yaml'}: no etl:environmentSuffix; set it "
            f"(pulumi config set etl:environmentSuffix {stack})"
        )
    return resource_name("lambda", name, suffix)


def record_path(state_dir: Path, stack: str, name: str) -> Path:
    return state_dir / stack / f"{name}.json"


def read_record(state_dir: Path, stack: str, name: str) -> dict[str, Any] | None:
    path = record_path(state_dir, stack, name)
    if not path.is_file():
        return None
    record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if record.get("schema") != SCHEMA:
        raise CutoverError(f"{path}: not a cutover record ({SCHEMA}); move it away")
    return record


def _write(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".json.tmp")
    scratch.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    scratch.replace(path)


def _function_arn(lam: Any, name: str, what: str, fix: str) -> dict[str, Any]:
    try:
        config: dict[str, Any] = lam.get_function(FunctionName=name)["Configuration"]
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise CutoverError(f"{what} {name} does not exist in this account: {fix}") from None
        raise
    return config


def _alias_arn(lam: Any, function: str) -> str:
    """The ARN of ``function``'s alias ``live``: what every trigger of a catalog function
    targets (CodeDeploy shifts the alias between versions), so cutover moves to it."""
    try:
        return str(lam.get_alias(FunctionName=function, Name=LIVE_ALIAS)["AliasArn"])
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise CutoverError(
                f"{function} has no alias {LIVE_ALIAS!r}, which every trigger of a catalog "
                "function targets: deploy it with `nox -s deploy-all` first"
            ) from None
        raise


def active_wiring(session: Any, function_arn: str) -> list[Wire]:
    """What still invokes the function: its wiring less disabled mappings and the
    invoke permissions (those go with the function)."""
    return [
        w
        for w in find_wiring(session, function_arn)
        if w.kind != "invoke-permission"
        and not (w.kind == "event-source-mapping" and w.detail.get("State") == "Disabled")
    ]


def readiness(session: Any, name: str, target: str, function_dir: Path) -> list[str]:
    """Why the new function is not ready; [] when it is."""
    problems = []
    config = session.client("lambda").get_function(FunctionName=target)["Configuration"]
    if config.get("State", "Active") != "Active":
        problems.append(f"{target} is {config.get('State')}, not Active")
    suffix = target.rsplit("-", 1)[-1]
    alarms = [
        a
        for a in pages(
            session.client("cloudwatch"),
            "describe_alarms",
            "MetricAlarms",
            AlarmNamePrefix=f"alarm-{name}-",
        )
        if a["AlarmName"].endswith(f"-{suffix}")
    ]
    if not alarms:
        problems.append(f"no alarm-{name}-*-{suffix} alarms: deploy the observability stack first")
    problems += [
        f"alarm {a['AlarmName']} is in ALARM" for a in alarms if a["StateValue"] == "ALARM"
    ]
    event = function_dir / TEST_EVENT
    if event.is_file():
        answer = session.client("lambda").invoke(
            FunctionName=target,
            Qualifier=LIVE_ALIAS,
            Payload=event.read_bytes(),
            InvocationType="RequestResponse",
        )
        if answer.get("FunctionError"):
            body = answer["Payload"].read().decode("utf-8", "replace")[:300]
            problems.append(f"test invoke with {event} failed ({answer['FunctionError']}): {body}")
    return problems


@dataclass
class CutoverResult:
    """What cutover, rollback or retire did (or, with --dry-run, would do)."""

    lines: list[str] = field(default_factory=list)
    by_hand: list[str] = field(default_factory=list)
    record: Path | None = None

    def report(self) -> str:
        text = list(self.lines)
        if self.record:
            text.append(f"record: {self.record}")
        if self.by_hand:
            text.append("left by hand:")
            text += [f"  - {line}" for line in self.by_hand]
        return "\n".join(text)


def _undo(session: Any, changes: list[Change], record: dict[str, Any], path: Path) -> list[str]:
    """Undo ``changes`` newest first, updating the record as each is undone."""
    lines = []
    while changes:
        change = changes.pop()
        WIRING[change.kind].undo(session, change)
        record["changes"] = [c.to_json() for c in changes]
        _write(path, record)
        lines.append(f"restored {change.kind} from {change.source}")
    return lines


def cutover(
    session: Any,
    name: str,
    *,
    stack: str,
    legacy: str,
    dry_run: bool = False,
    state_dir: Path = STATE_DIR,
    project_dir: Path = FUNCTIONS_PROJECT,
    catalog_dir: Path = LAMBDAS_DIR,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> CutoverResult:
    """Move ``legacy``'s triggers to the catalog function ``name`` in ``stack``."""
    lam = session.client("lambda")
    target = deployed_name(stack, name, project_dir)
    _function_arn(lam, target, "the catalog function", f"deploy {name} first (nox -s deploy-all)")
    target_arn = _alias_arn(lam, target)
    legacy_arn = _function_arn(lam, legacy, "the legacy function", "check --from")["FunctionArn"]
    path = record_path(state_dir, stack, name)
    previous = read_record(state_dir, stack, name)
    if previous and previous.get("status") == "cut-over":
        raise CutoverError(
            f"{path}: {name} is already cut over from {previous['legacy']}; run "
            f"`etl-ops cutover {name} --stack {stack} --from {legacy} --rollback` first"
        )
    wires = find_wiring(session, legacy_arn)
    if not [w for w in wires if w.detail.get("State") != "Disabled"]:
        raise CutoverError(f"{legacy} has no triggers to move: nothing to cut over")
    result = CutoverResult()
    result.by_hand = sorted({WIRING[w.kind].by_hand for w in wires if WIRING[w.kind].by_hand})
    problems = readiness(session, name, target, catalog_dir / name)
    if problems:
        raise CutoverError(f"{target} is not ready, nothing was changed: " + "; ".join(problems))
    if dry_run:
        result.lines = [f"would move to {target_arn}:"]
        result.lines += [f"  {w.describe()}" for w in wires]
        return result
    record: dict[str, Any] = {
        "schema": SCHEMA,
        "stack": stack,
        "name": name,
        "legacy": legacy_arn,
        "target": target_arn,
        "status": "in-progress",
        "started": now().isoformat(),
        "changes": [],
    }
    _write(path, record)
    changes: list[Change] = []
    for wire in wires:
        if wire.kind == "event-source-mapping" and wire.detail["State"] == "Disabled":
            continue  # nothing flows through it; it stays with the legacy function
        try:
            changes.append(WIRING[wire.kind].move(session, wire, legacy_arn, target_arn))
        except Exception as exc:
            undone = _undo(session, changes, record, path)
            record["status"] = "failed"
            record["error"] = f"{wire.describe()}: {exc}"
            _write(path, record)
            raise CutoverError(
                f"moving {wire.describe()} failed ({exc}); undid the {len(undone)} change(s) "
                f"made before it; the account is as it was. Record: {path}"
            ) from exc
        record["changes"] = [c.to_json() for c in changes]
        _write(path, record)
        result.lines.append(f"moved {wire.describe()} -> {target}")
    record["status"] = "cut-over"
    record["finished"] = now().isoformat()
    _write(path, record)
    result.record = path
    return result


def rollback(session: Any, name: str, *, stack: str, state_dir: Path = STATE_DIR) -> CutoverResult:
    """Undo the cutover recorded for ``name`` in ``stack``, newest change first."""
    path = record_path(state_dir, stack, name)
    record = read_record(state_dir, stack, name)
    if record is None or record.get("status") != "cut-over":
        state = record.get("status") if record else "no record"
        raise CutoverError(f"{path}: nothing to roll back ({state})")
    changes = [Change.from_json(c) for c in record["changes"]]
    result = CutoverResult(record=path)
    result.lines = _undo(session, changes, record, path)
    record["status"] = "rolled-back"
    record["changes"] = []
    _write(path, record)
    return result


def retire(
    session: Any,
    legacy: str,
    *,
    soak_days: int = DEFAULT_SOAK_DAYS,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> CutoverResult:
    """Delete ``legacy`` once nothing triggers it and it had no invocations for
    ``soak_days`` days."""
    lam = session.client("lambda")
    config = _function_arn(lam, legacy, "the legacy function", "nothing to retire")
    arn = config["FunctionArn"]
    active = active_wiring(session, arn)
    if active:
        raise CutoverError(
            f"{legacy} is still triggered by: "
            + "; ".join(w.describe() for w in active)
            + ": cut over first (etl-ops cutover)"
        )
    end = now()
    stats = session.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="Invocations",
        Dimensions=[{"Name": "FunctionName", "Value": legacy}],
        StartTime=end - dt.timedelta(days=soak_days),
        EndTime=end,
        Period=86400,
        Statistics=["Sum"],
    )
    invocations = sum(point.get("Sum", 0) for point in stats.get("Datapoints", []))
    if invocations:
        raise CutoverError(
            f"{legacy} was invoked {int(invocations)} time(s) in the last {soak_days} days: "
            "something still calls it (an invoke permission's caller?); find it before retiring"
        )
    result = CutoverResult()
    for wire in find_wiring(session, arn):
        if wire.kind == "event-source-mapping":
            lam.delete_event_source_mapping(UUID=wire.detail["UUID"])
            result.lines.append(f"deleted the disabled {wire.describe()}")
    lam.delete_function(FunctionName=legacy)
    result.lines.append(
        f"deleted {legacy}; its code and configuration stay in examples/legacy-*/ "
        "(the import), its log group is kept"
    )
    return result
