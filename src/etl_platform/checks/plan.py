"""``etl-ops plan [stack]`` (``nox -s plan``): the three programs, offline, in deploy order.

Runs ``projects/shared``, ``projects/observability`` and ``projects/etl-functions``
under Pulumi's mock runtime with the stack's real config files, feeding each
StackReference from the previous program's exports, exactly as a deploy would.
Prints every resource (type, name, key settings) and the exports of each stack,
and writes the whole plan as JSON to ``build/plan-<stack>.json``. No cloud, no CLI,
no credentials: what a newcomer runs first.

It also prints AWS's dates and the days left for every runtime the resources use
(:func:`etl_platform.model.runtime_calendar.calendar_report`), and warns on stderr when that
calendar was last checked more than 180 days ago (a warning only: the exit code does
not change).

Then it applies the guardrails (:mod:`etl_platform.checks.rules`, the same rules the policy
pack enforces) to the three stacks' resources together, prints each rule with PASS or
FAIL and every violation, and exits 1 when any rule fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from etl_platform.checks.offline import run_program
from etl_platform.checks.planned import PlannedResource, ProgramRun
from etl_platform.checks.rules import Context, check, stack_context
from etl_platform.checks.rules.model import lookup
from etl_platform.model.contract import DEPLOY_ORDER, stack_reference_name
from etl_platform.model.naming import display_name
from etl_platform.model.runtime_calendar import calendar_report
from etl_platform.model.settings import DEFAULT_STACK_ORG
from etl_platform.model.stack_config import read_stack_config
from etl_platform.paths import BUILD_DIR, PROJECTS_DIR, display_path

__all__ = [
    "KEY_SETTINGS",
    "add_arguments",
    "command",
    "plan_json",
    "plan_stack",
    "rules_report",
    "write_plan",
]

# What to show for each resource type in the table (property paths into the inputs).
KEY_SETTINGS: dict[str, tuple[str, ...]] = {
    "aws:lambda/function:Function": (
        "publish",
        "runtime",
        "architectures",
        "layers",
        "memorySize",
        "timeout",
        "reservedConcurrentExecutions",
        "tracingConfig.mode",
        "loggingConfig.logFormat",
    ),
    "aws:lambda/layerVersion:LayerVersion": ("compatibleRuntimes", "compatibleArchitectures"),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": (
        "qualifier",
        "maximumRetryAttempts",
        "maximumEventAgeInSeconds",
    ),
    "aws:lambda/functionUrl:FunctionUrl": ("qualifier", "authorizationType"),
    "aws:lambda/alias:Alias": ("functionVersion",),
    "aws:lambda/permission:Permission": ("principal", "qualifier"),
    "aws:cloudwatch/eventTarget:EventTarget": ("arn",),
    "aws:s3/bucketNotification:BucketNotification": ("lambdaFunctions",),
    "aws:codedeploy/application:Application": ("computePlatform",),
    "aws:codedeploy/deploymentGroup:DeploymentGroup": (
        "deploymentConfigName",
        "alarmConfiguration.alarms",
        "autoRollbackConfiguration.events",
    ),
    "aws:sqs/queue:Queue": ("messageRetentionSeconds", "sqsManagedSseEnabled"),
    "aws:cloudwatch/logGroup:LogGroup": ("retentionInDays",),
    "aws:cloudwatch/metricAlarm:MetricAlarm": (
        "metricName",
        "statistic",
        "extendedStatistic",
        "comparisonOperator",
        "threshold",
        "period",
        "evaluationPeriods",
        "alarmActions",
    ),
    "aws:cloudwatch/eventRule:EventRule": ("scheduleExpression",),
    "aws:lambda/functionRecursionConfig:FunctionRecursionConfig": ("recursiveLoop",),
    "aws:iam/role:Role": ("permissionsBoundary",),
    "aws:s3/bucket:Bucket": ("forceDestroy",),
}


def _arn_tail(value: str) -> str:
    """``arn:aws:sns:us-east-1:123:alarms-dev`` -> ``alarms-dev`` (other strings unchanged).

    A function's ARN keeps its qualifier: ``lambda-transform-dev:live``.
    """
    if not value.startswith("arn:"):
        return value
    if ":function:" in value:
        return value.split(":function:", 1)[1]
    return value.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


def _settings_text(resource: PlannedResource) -> str:
    shown = []
    for path in KEY_SETTINGS.get(resource.type, ()):
        value = lookup(resource.inputs, path)
        if value is not None:
            if isinstance(value, str) and value.startswith("arn:"):
                value = _arn_tail(value)
            elif isinstance(value, list) and path == "layers":
                # arn:aws:lambda:<region>:<account>:layer:<name>:<version> -> <name>
                value = (
                    "["
                    + ",".join(
                        str(v).split(":")[6] if str(v).count(":") >= 7 else str(v) for v in value
                    )
                    + "]"
                )
            elif isinstance(value, list) and path == "lambdaFunctions":
                value = (
                    "["
                    + ",".join(
                        f"{v.get('filterPrefix')}->{_arn_tail(str(v.get('lambdaFunctionArn')))}"
                        for v in value
                        if isinstance(v, dict)
                    )
                    + "]"
                )
            elif isinstance(value, list) and all(isinstance(v, str) for v in value):
                value = "[" + ",".join(_arn_tail(v) for v in value) + "]"
            elif isinstance(value, float) and value.is_integer():
                value = int(value)  # the engine's numbers are floats: show 512, not 512.0
            shown.append(f"{path.split('.')[-1]}={value}")
    return " ".join(shown)


def format_run(run: ProgramRun) -> str:
    """A readable table of one program's resources and exports."""
    rows = [
        (
            r.type.split(":")[1].split("/")[0] + ":" + r.type.rsplit(":", 1)[-1],
            display_name(r.type, r.props, r.name),
            _settings_text(r),
        )
        for r in run.custom_resources
    ]
    rows.sort()
    width_type = max((len(t) for t, _, _ in rows), default=4)
    width_name = max((len(n) for _, n, _ in rows), default=4)
    lines = [f"== {run.project} ({run.stack}): {len(rows)} resources", ""]
    lines.append(f"{'TYPE'.ljust(width_type)}  {'NAME'.ljust(width_name)}  KEY SETTINGS")
    for type_, name, settings in rows:
        lines.append(f"{type_.ljust(width_type)}  {name.ljust(width_name)}  {settings}".rstrip())
    lines += ["", "exports:"]
    for key, value in sorted(run.exports.items()):
        if isinstance(value, dict):
            lines.append(f"  {key}:")
            lines += [f"    {k}: {v}" for k, v in sorted(value.items())]
        else:
            lines.append(f"  {key}: {value}")
    return "\n".join(lines)


def plan_stack(stack: str, projects_dir: Path = PROJECTS_DIR) -> list[ProgramRun]:
    """Run the three programs in deploy order, each seeing its predecessors' exports."""
    runs: list[ProgramRun] = []
    outputs: dict[str, dict[str, Any]] = {}
    for project, folder in DEPLOY_ORDER:
        project_dir = projects_dir / folder
        org = read_stack_config(project_dir, stack).get("etl:stackOrg", DEFAULT_STACK_ORG)
        run = run_program(project_dir, stack, stack_outputs=outputs)
        outputs[stack_reference_name(org, project, stack)] = run.exports
        runs.append(run)
    return runs


def _json_value(value: object) -> object:
    """JSON for what ``json`` cannot encode: assets and archives by their (repo-relative) path.

    The same on every run and every checkout, so two plans of one commit are byte-identical.
    """
    for attribute, key in (("path", "path"), ("uri", "uri"), ("text", "text")):
        found = getattr(value, attribute, None)
        if isinstance(found, str):
            if key == "path":
                found = display_path(Path(found))
            return {type(value).__name__: {key: found}}
    raise TypeError(f"plan JSON cannot encode {type(value).__name__}: {value!r}")


def write_plan(runs: Sequence[ProgramRun], out: Path) -> None:
    """``build/plan-<stack>.json``: sorted keys, resources in URN order, stable values."""
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(plan_json(runs), indent=2, sort_keys=True, default=_json_value)
    out.write_text(text + "\n", encoding="utf-8")


def plan_json(runs: Sequence[ProgramRun]) -> dict[str, Any]:
    return {
        run.project: {
            "stack": run.stack,
            "resources": [
                {
                    "type": r.type,
                    "name": r.name,
                    "urn": r.urn,
                    "inputs": r.inputs,
                    "protect": r.protect,
                    "retainOnDelete": r.retain_on_delete,
                }
                for r in run.resources
            ],
            "exports": run.exports,
        }
        for run in runs
    }


def rules_report(
    runs: Sequence[ProgramRun],
    stack: str,
    *,
    context: Context | None = None,
    projects_dir: Path = PROJECTS_DIR,
) -> tuple[str, int]:
    """Every rule over all three programs' resources: the report text and the exit code.

    The resources of the three stacks are checked together (``whole_platform``), so
    cross-stack rules apply; the context (environment, suffix) comes from the stack's
    settings. The exit code is 1 when any rule fails, else 0.
    """
    if context is None:
        context = stack_context(stack, projects_dir / "shared", whole_platform=True)
    results = check([r for run in runs for r in run.resources], context)
    failed = [r for r in results if not r.passed]
    width = max(len(r.rule.id) for r in results)
    lines = [
        f"== guardrails ({stack}): {len(results)} rules, "
        f"{len(results) - len(failed)} passed, {len(failed)} failed",
        "",
    ]
    for result in results:
        status = "SKIP" if result.skipped else ("PASS" if result.passed else "FAIL")
        lines.append(f"{status}  {result.rule.id.ljust(width)}  {result.rule.description}")
        lines += [f"      - {v.message}" for v in result.violations]
    if failed:
        lines += ["", f"plan refused: {len(failed)} rule(s) failed; fix the resources above"]
    return "\n".join(lines), 1 if failed else 0


def print_runtime_calendar(runs: Sequence[ProgramRun], today: dt.date | None = None) -> None:
    """The days left of each runtime the plan uses; the stale-calendar warning on stderr."""
    used: set[str] = set()
    for resource in (r for run in runs for r in run.resources):
        for key in ("runtime", "compatibleRuntimes"):
            value = resource.props.get(key)
            used |= {
                v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)
            }
    lines, warning = calendar_report(used, today)
    print("\n".join(lines))
    print()
    if warning:
        print(f"warning: {warning}", file=sys.stderr)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``etl-ops plan [stack] [--out FILE]``."""
    parser.add_argument("stack", nargs="?", default="dev", help="stack name (default: dev)")
    parser.add_argument(
        "--out", type=Path, default=None, help="JSON file (build/plan-<stack>.json)"
    )


def command(args: argparse.Namespace) -> int:
    """Plan the stack, write its JSON, print the runtimes and the rules' report (1: findings)."""
    runs = plan_stack(args.stack)
    for run in runs:
        print(format_run(run))
        print()
    out = args.out or BUILD_DIR / f"plan-{args.stack}.json"
    write_plan(runs, out)
    print(f"plan written to {out}")
    print()
    print_runtime_calendar(runs)
    report, code = rules_report(runs, args.stack)
    print(report)
    return code
