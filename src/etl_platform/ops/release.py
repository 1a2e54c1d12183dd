"""Release: after ``pulumi up``, let CodeDeploy move each changed function's alias, and wait.

``pulumi up`` of etl-functions publishes a new version of every function whose code or
configuration changed, but leaves the alias ``live`` where it was (the alias ignores
changes to its version and routing). This module, run by ``nox -s deploy-all`` after the
last ``pulumi up`` (:func:`etl_platform.ops.pulumi_cli.run_release`), then, for every
function of the stack's ``releases`` export
(``{function: {application, group, function, alias, version}}``):

1. reads the version the alias serves (``lambda:GetAlias``); when it already is the
   published one, the function is ``unchanged`` (a first deploy creates the alias on it);
2. when the function's catalog entry has a ``smoke_event``, invokes the new version with it
   (``lambda:InvokeFunction`` on ``<function>:<version>``, synchronously) before any traffic
   moves; a failed invocation leaves the alias where it is and the function ``smoke failed``;
3. otherwise creates a CodeDeploy deployment in the function's deployment group with the
   AppSpec ``{Name, Alias, CurrentVersion, TargetVersion}`` (``codedeploy:CreateDeployment``);
4. waits for every deployment it started (``codedeploy:GetDeployment`` every
   ``poll_seconds``, up to the preference's shifting time plus :data:`WAIT_MARGIN_MINUTES`);
5. reports each function's outcome; a deployment that failed or was stopped (and rolled
   back) raises :class:`ReleaseError`, naming the function and the alarms in ALARM
   (``codedeploy:GetDeploymentGroup``, ``cloudwatch:DescribeAlarms``) or CodeDeploy's reason.

The caller's credentials need exactly those six actions besides what ``pulumi up`` needs.

The smoke invocation runs here rather than as a CodeDeploy ``BeforeAllowTraffic`` hook: a
hook is a Lambda function of its own outside the catalog, which the guardrails refuse
(every function comes from the catalog, with its role, DLQ, log group and alarms).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from etl_platform.errors import CommandFailedError
from etl_platform.model.deployment import DEPLOYMENT_PREFERENCES
from etl_platform.model.settings import REGION

__all__ = [
    "DONE",
    "FAILED",
    "POLL_SECONDS",
    "WAIT_MARGIN_MINUTES",
    "Outcome",
    "Release",
    "ReleaseClients",
    "ReleaseError",
    "app_spec",
    "aws_clients",
    "check_outcomes",
    "format_outcomes",
    "release_all",
    "releases_from_export",
]

POLL_SECONDS = 15
# Beyond the traffic-shifting time: CodeDeploy's own steps and the alarms' evaluation.
WAIT_MARGIN_MINUTES = 15
# CodeDeploy's terminal deployment states (botocore: codedeploy DeploymentStatus).
SUCCEEDED = "Succeeded"
FAILED = frozenset({"Failed", "Stopped"})
DONE = FAILED | {SUCCEEDED}
UNCHANGED = "unchanged"
SMOKE_FAILED = "smoke failed"
NOT_STARTED = "not started"
TIMED_OUT = "timed out"
_MINUTES = {p.config_name: p.minutes for p in DEPLOYMENT_PREFERENCES.values()}
_FIELDS = ("application", "group", "function", "alias", "version")


class ReleaseError(CommandFailedError):
    """A deployment failed, was rolled back, or could not start or finish; exit code 1."""


@dataclass(frozen=True)
class Release:
    """One function's entry of the ``releases`` export."""

    name: str  # the catalog name
    application: str
    group: str
    function: str  # the Lambda function's name
    alias: str
    version: str  # the version the last ``pulumi up`` published
    smoke_event: str | None = None  # JSON payload to invoke the new version with first


@dataclass
class Outcome:
    """What happened to one function."""

    release: Release
    status: str  # unchanged | Succeeded | Failed | Stopped | not started | timed out
    current: str | None = None  # the version the alias served before
    deployment_id: str | None = None
    alarms: tuple[str, ...] = ()  # the rollback alarms in ALARM
    reason: str = ""
    config: str = ""

    @property
    def ok(self) -> bool:
        return self.status in (UNCHANGED, SUCCEEDED)


@dataclass(frozen=True)
class ReleaseClients:
    """The three AWS clients a release uses (boto3, or botocore stubs in tests)."""

    lambda_: Any
    codedeploy: Any
    cloudwatch: Any


def aws_clients() -> ReleaseClients:
    """Clients from the caller's credentials, in the platform's region."""
    session = boto3.Session(region_name=REGION)
    return ReleaseClients(
        session.client("lambda"), session.client("codedeploy"), session.client("cloudwatch")
    )


def releases_from_export(value: Any, where: str) -> list[Release]:
    """The ``releases`` export, checked; ``where`` names it in the error."""
    if not isinstance(value, Mapping):
        raise ReleaseError(
            f"{where} is not a map by function (got {value!r}): deploy etl-functions again "
            "(nox -s deploy-all -- <stack>)"
        )
    releases = []
    for name, entry in sorted(value.items()):
        missing = [
            k
            for k in _FIELDS
            if not isinstance(entry, Mapping) or not isinstance(entry.get(k), str)
        ]
        if missing:
            raise ReleaseError(
                f"{where} entry {name!r} lacks {', '.join(missing)}: deploy etl-functions "
                "again (nox -s deploy-all -- <stack>)"
            )
        smoke = entry.get("smokeEvent")
        releases.append(
            Release(
                name=name,
                application=str(entry["application"]),
                group=str(entry["group"]),
                function=str(entry["function"]),
                alias=str(entry["alias"]),
                version=str(entry["version"]),
                smoke_event=str(smoke) if smoke else None,
            )
        )
    return releases


def app_spec(release: Release, current: str) -> str:
    """The AppSpec of a Lambda deployment: move ``alias`` from ``current`` to ``version``."""
    return json.dumps(
        {
            "version": 0.0,
            "Resources": [
                {
                    release.name: {
                        "Type": "AWS::Lambda::Function",
                        "Properties": {
                            "Name": release.function,
                            "Alias": release.alias,
                            "CurrentVersion": current,
                            "TargetVersion": release.version,
                        },
                    }
                }
            ],
        },
        sort_keys=True,
    )


def _start(release: Release, clients: ReleaseClients) -> Outcome:
    """Create the deployment, or say why there is none."""
    current = str(
        clients.lambda_.get_alias(FunctionName=release.function, Name=release.alias)[
            "FunctionVersion"
        ]
    )
    if current == release.version:
        return Outcome(release, UNCHANGED, current=current)
    if release.smoke_event is not None:
        failed = _smoke_test(release, clients)
        if failed:
            return Outcome(release, SMOKE_FAILED, current=current, reason=failed)
    try:
        started = clients.codedeploy.create_deployment(
            applicationName=release.application,
            deploymentGroupName=release.group,
            revision={
                "revisionType": "AppSpecContent",
                "appSpecContent": {"content": app_spec(release, current)},
            },
            description=f"{release.function}: {release.alias} {current} -> {release.version}",
        )
    except (BotoCoreError, ClientError) as exc:  # one outcome; the others still run
        return Outcome(release, NOT_STARTED, current=current, reason=str(exc))
    return Outcome(release, "Created", current=current, deployment_id=started["deploymentId"])


def _smoke_test(release: Release, clients: ReleaseClients) -> str:
    """Invoke the new version with the catalog's smoke event; why it failed, or ``""``."""
    where = f"the smoke invocation of {release.function}:{release.version}"
    try:
        answer = clients.lambda_.invoke(
            FunctionName=release.function,
            Qualifier=release.version,
            InvocationType="RequestResponse",
            Payload=str(release.smoke_event).encode("utf-8"),
        )
    except (BotoCoreError, ClientError) as exc:
        return f"{where} could not run: {exc}"
    if answer.get("FunctionError"):
        body = answer["Payload"].read(500).decode("utf-8", "replace")
        return f"{where} failed ({answer['FunctionError']}): {body}"
    return ""


def _alarms_in_alarm(outcome: Outcome, clients: ReleaseClients) -> tuple[str, ...]:
    """The deployment group's rollback alarms that are in ALARM now."""
    group = clients.codedeploy.get_deployment_group(
        applicationName=outcome.release.application,
        deploymentGroupName=outcome.release.group,
    )["deploymentGroupInfo"]
    names = [a["name"] for a in group.get("alarmConfiguration", {}).get("alarms", [])]
    if not names:
        return ()
    found = clients.cloudwatch.describe_alarms(AlarmNames=names, StateValue="ALARM")
    return tuple(sorted(a["AlarmName"] for a in found.get("MetricAlarms", [])))


def _finish(outcome: Outcome, info: Mapping[str, Any], clients: ReleaseClients) -> None:
    outcome.status = str(info["status"])
    if outcome.status in FAILED:
        error = info.get("errorInformation") or {}
        rollback = info.get("rollbackInfo") or {}
        outcome.reason = " ".join(
            part
            for part in (
                f"{error.get('code', '')}: {error.get('message', '')}".strip(": "),
                str(rollback.get("rollbackMessage", "")),
            )
            if part
        )
        outcome.alarms = _alarms_in_alarm(outcome, clients)


def release_all(
    releases: Sequence[Release],
    clients: ReleaseClients,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    poll_seconds: float = POLL_SECONDS,
    progress: Callable[[str], None] = lambda line: None,
) -> list[Outcome]:
    """Start a deployment for every changed function, wait for all of them, return outcomes."""
    outcomes = [_start(release, clients) for release in releases]
    started = clock()
    deadlines: dict[str, float] = {}
    pending = [o for o in outcomes if o.deployment_id is not None]
    for outcome in pending:
        progress(
            f"{outcome.release.name}: deployment {outcome.deployment_id} moves "
            f"{outcome.release.alias} {outcome.current} -> {outcome.release.version}"
        )
    while pending:
        for outcome in list(pending):
            info = clients.codedeploy.get_deployment(deploymentId=outcome.deployment_id)[
                "deploymentInfo"
            ]
            outcome.config = str(info.get("deploymentConfigName", ""))
            key = str(outcome.deployment_id)
            if key not in deadlines:  # the preference's shifting time, plus the margin
                minutes = _MINUTES.get(outcome.config, max(_MINUTES.values()))
                deadlines[key] = started + (minutes + WAIT_MARGIN_MINUTES) * 60
            if info["status"] in DONE:
                _finish(outcome, info, clients)
                pending.remove(outcome)
                progress(f"{outcome.release.name}: {outcome.status}")
            elif clock() > deadlines[key]:
                outcome.status = TIMED_OUT
                outcome.reason = f"still {info['status']} when the wait ended"
                pending.remove(outcome)
        if pending:
            sleep(poll_seconds)
    return outcomes


def format_outcomes(stack: str, outcomes: Sequence[Outcome]) -> str:
    """One line per function, then the verdict."""
    lines = [f"release: stack {stack!r}"]
    for o in outcomes:
        r = o.release
        if o.status == UNCHANGED:
            lines.append(f"  {r.name}: unchanged ({r.alias} serves version {r.version})")
        elif o.status == SUCCEEDED:
            lines.append(
                f"  {r.name}: Succeeded, {r.alias} {o.current} -> {r.version} "
                f"({o.config}, deployment {o.deployment_id})"
            )
        else:
            alarms = f" alarms in ALARM: {', '.join(o.alarms)}." if o.alarms else ""
            lines.append(
                f"  {r.name}: {o.status.upper()}, {r.alias} stays on {o.current} "
                f"(target {r.version}, deployment {o.deployment_id or 'none'}).{alarms} "
                f"{o.reason}".rstrip()
            )
    return "\n".join(lines)


def check_outcomes(stack: str, outcomes: Sequence[Outcome]) -> None:
    """Raise :class:`ReleaseError` naming every function that did not reach its new version."""
    parts = []
    for o in outcomes:
        if o.ok:
            continue
        why = (
            f"rolled back by alarm {', '.join(o.alarms)}"
            if o.alarms
            else f"{o.status}: {o.reason or 'no reason given'}"
        )
        parts.append(f"{o.release.name} ({o.release.function}) {why}")
    if parts:
        raise ReleaseError(
            f"release of stack {stack!r} failed: {'; '.join(parts)}. The alias still serves "
            "the previous version; read the alarm's runbook entry (docs/runbook.md), fix, and "
            "deploy again (`aws deploy get-deployment --deployment-id <id>` shows the details)"
        )
