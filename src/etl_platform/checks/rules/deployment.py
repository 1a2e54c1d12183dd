"""Rules on safe rollout: callers reach the alias only; CodeDeploy can roll every function back.

- ``lambda-trigger-targets-alias``: nothing invokes a function unqualified (``$LATEST``):
  every permission, URL, async config and mapping names the alias
  (:data:`etl_platform.model.deployment.LIVE_ALIAS`) as its qualifier, and no other
  resource holds a function's unqualified (or ``:$LATEST``) ARN. An unqualified caller
  would get every new version at once, outside CodeDeploy's traffic shifting.
- ``deploy-gradual-in-prod``: every function has its CodeDeploy deployment group with its
  alarms and automatic rollback on them; in prod the group's configuration is gradual
  (canary or linear, never all at once).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from etl_platform.checks.rules.model import Context, Resource, Rule
from etl_platform.checks.rules.types import ALIAS, DEPLOYMENT_GROUP, FUNCTION, RECURSION_CONFIG
from etl_platform.model.deployment import DEFAULT_GRADUAL, DEPLOYMENT_PREFERENCES, LIVE_ALIAS
from etl_platform.model.naming import resource_name

__all__ = ["RULES"]

# Resources that configure the function itself, not a caller of it.
FUNCTION_LEVEL = frozenset({FUNCTION, ALIAS, RECURSION_CONFIG})
# The properties through which a resource names the function it acts on.
FUNCTION_KEYS = ("functionName", "function")
LATEST = "$LATEST"
_BY_CONFIG = {p.config_name: p for p in DEPLOYMENT_PREFERENCES.values()}


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(property path, string) of every string in ``value``, however deep."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def check_targets_alias(
    resources: Sequence[Resource], context: Context
) -> Iterator[tuple[Resource, str]]:
    """Every caller of a function targets its alias ``live``, never the function itself."""
    functions = [r for r in resources if r.type == FUNCTION]
    unqualified: dict[str, str] = {}  # function name or ARN -> function name
    for function in functions:
        unqualified[function.physical_name] = function.physical_name
        arn = function.props.get("arn")
        if isinstance(arn, str) and arn:
            unqualified[arn] = function.physical_name
    fix = (
        f"Fix: aim it at the alias: EtlFunction.target_arn (<function ARN>:{LIVE_ALIAS}), or "
        "EtlFunction.qualifier with the function's name, and make permissions with "
        "EtlFunction.allow_invoke"
    )
    for resource in resources:
        if not resource.type.startswith("aws:") or resource.type in FUNCTION_LEVEL:
            continue
        named = next(
            (resource.props[k] for k in FUNCTION_KEYS if resource.props.get(k) in unqualified),
            None,
        )
        if named is not None:
            qualifier = resource.props.get("qualifier")
            if qualifier is not None and not isinstance(qualifier, str):
                continue  # not known yet (a preview)
            if qualifier != LIVE_ALIAS:
                yield (
                    resource,
                    f"targets {unqualified[named]} with qualifier {qualifier!r}, not the alias "
                    f"{LIVE_ALIAS!r}: its calls would reach $LATEST (every new version at once, "
                    f"outside CodeDeploy's traffic shifting). {fix}",
                )
            continue
        for path, value in _strings(resource.props):
            if value in unqualified and value.startswith("arn:"):
                yield (
                    resource,
                    f"{path} is the unqualified ARN of {unqualified[value]}: it invokes $LATEST. "
                    f"{fix}",
                )
            elif value.startswith("arn:aws:lambda:") and value.endswith(f":{LATEST}"):
                yield resource, f"{path} targets {value}. {fix}"


def _group_problems(group: Resource | None, gradual: bool, group_name: str) -> Iterator[str]:
    if group is None:
        yield (
            f"has no CodeDeploy deployment group {group_name!r}: a bad version cannot be "
            "shifted gradually or rolled back. Fix: etl_platform.infra.components.deployment."
            "Deployments over every catalog function"
        )
        return
    alarms = group.get("alarmConfiguration.alarms") or []
    if group.get("alarmConfiguration.enabled") is not True or not alarms:
        yield (
            f"has deployment group {group_name!r} without enabled alarms: nothing stops a bad "
            "version. Fix: alarm_configuration with the function's rollback alarms "
            "(etl_platform.infra.components.alarms.rollback_alarm_names), enabled=True"
        )
    events = group.get("autoRollbackConfiguration.events") or []
    if (
        group.get("autoRollbackConfiguration.enabled") is not True
        or "DEPLOYMENT_STOP_ON_ALARM" not in events
    ):
        yield (
            f"has deployment group {group_name!r} that does not roll back when an alarm stops "
            "it. Fix: auto_rollback_configuration enabled with events DEPLOYMENT_FAILURE and "
            "DEPLOYMENT_STOP_ON_ALARM"
        )
    config = group.props.get("deploymentConfigName")
    if gradual and isinstance(config, str):
        chosen = _BY_CONFIG.get(config)
        if chosen is None or not chosen.gradual:
            yield (
                f"is a prod function deployed with {config}: every caller gets a new version at "
                f"once, before any alarm can stop it. Fix: a gradual preference, e.g. "
                f'deployment = "{DEFAULT_GRADUAL}" in its function.toml or '
                f"etl:deploymentPreference={DEFAULT_GRADUAL} (the prod default)"
            )


def check_gradual_in_prod(
    resources: Sequence[Resource], context: Context
) -> Iterator[tuple[Resource, str]]:
    """Every function has a deployment group that rolls back on its alarms; gradual in prod."""
    groups = {
        g.props.get("deploymentGroupName"): g for g in resources if g.type == DEPLOYMENT_GROUP
    }
    for function in (r for r in resources if r.type == FUNCTION):
        spec, suffix = context.function_for(function), context.suffix_of(function)
        if spec is None or suffix is None:
            continue  # lambda-profile reports functions outside the catalog
        group_name = resource_name("deploy", spec.name, suffix)
        gradual = context.environment_of(function) == "prod"
        for problem in _group_problems(groups.get(group_name), gradual, group_name):
            yield function, problem


RULES: tuple[Rule, ...] = (
    Rule(
        "lambda-trigger-targets-alias",
        f"Every trigger, permission, URL, async config, mapping and subscription targets the "
        f"function's alias '{LIVE_ALIAS}' (qualifier or alias ARN), never the unqualified "
        "function or $LATEST.",
        "stack",
        check_targets_alias,
    ),
    Rule(
        "deploy-gradual-in-prod",
        "Every function has a CodeDeploy deployment group (deploy-<function>-<suffix>) with "
        "its alarms enabled and automatic rollback on them; in prod its configuration is "
        "gradual (canary or linear), never all at once.",
        "stack",
        check_gradual_in_prod,
    ),
)
