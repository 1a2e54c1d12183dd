"""How a function's new version reaches its callers: the alias and the deployment preferences.

Every catalog function publishes a version on each code or configuration change and
is invoked only through its alias :data:`LIVE_ALIAS`; AWS CodeDeploy moves that alias
from the version it serves to the new one, all at once or gradually (weighted alias
routing), and moves it back when one of the function's alarms fires.

:data:`DEPLOYMENT_PREFERENCES` is the one table of preferences: the key a catalog entry
(``deployment = "canary-10-5"``) or the stack (``etl:deploymentPreference``) names, the
predefined CodeDeploy deployment configuration it stands for, and how long it takes
until the new version takes all the traffic. A function's preference is its catalog
key when it has one, else the stack's (:func:`preference_for`); the stack's default is
``all-at-once`` in dev and ``canary-10-5`` in prod (the settings table).

Pure data: no Pulumi, no AWS SDK. The resources are built by
``etl_platform.infra.components.deployment``; ``etl_platform.ops.release`` starts and
watches the deployments.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ALL_AT_ONCE",
    "APPLICATION",
    "DEFAULT_GRADUAL",
    "DEPLOYER",
    "DEPLOYMENT_PREFERENCES",
    "LIVE_ALIAS",
    "MAX_ROLLBACK_ALARMS",
    "DeploymentPreference",
    "preference",
    "preference_for",
]

#: The alias every trigger, permission, URL, mapping and subscription invokes.
LIVE_ALIAS = "live"
#: The name part of the stack's CodeDeploy service role and its policy
#: (``role-codedeploy-<suffix>``, ``policy-codedeploy-<suffix>``); no catalog function may
#: take it. Deployment groups are ``deploy-<function>-<suffix>``.
DEPLOYER = "codedeploy"
#: The name part of the stack's one CodeDeploy application: ``deploy-etl-<suffix>``.
APPLICATION = "etl"
#: CodeDeploy watches at most 10 CloudWatch alarms per deployment group (its quota).
MAX_ROLLBACK_ALARMS = 10


@dataclass(frozen=True)
class DeploymentPreference:
    """One way to shift traffic: CodeDeploy's predefined Lambda deployment configuration."""

    key: str  # what the catalog and the stack setting say
    config_name: str  # CodeDeploy's deployment configuration name
    minutes: int  # until the new version takes all the traffic
    description: str

    @property
    def gradual(self) -> bool:
        """Whether traffic moves in steps, so an alarm can stop a bad version early."""
        return self.minutes > 0


def _row(key: str, config: str, minutes: int, description: str) -> DeploymentPreference:
    return DeploymentPreference(key, f"CodeDeployDefault.Lambda{config}", minutes, description)


#: The one table: preference key -> CodeDeploy's predefined Lambda configuration
#: (AWS CodeDeploy User Guide, "Deployment configurations on an AWS Lambda compute platform").
DEPLOYMENT_PREFERENCES: dict[str, DeploymentPreference] = {
    row.key: row
    for row in (
        _row("all-at-once", "AllAtOnce", 0, "all traffic to the new version at once"),
        _row("canary-10-5", "Canary10Percent5Minutes", 5, "10 % for 5 minutes, then the rest"),
        _row("canary-10-10", "Canary10Percent10Minutes", 10, "10 % for 10 minutes, then the rest"),
        _row("canary-10-15", "Canary10Percent15Minutes", 15, "10 % for 15 minutes, then the rest"),
        _row("canary-10-30", "Canary10Percent30Minutes", 30, "10 % for 30 minutes, then the rest"),
        _row("linear-10-1", "Linear10PercentEvery1Minute", 10, "10 % more every minute"),
        _row("linear-10-2", "Linear10PercentEvery2Minutes", 20, "10 % more every 2 minutes"),
        _row("linear-10-3", "Linear10PercentEvery3Minutes", 30, "10 % more every 3 minutes"),
        _row("linear-10-10", "Linear10PercentEvery10Minutes", 100, "10 % more every 10 minutes"),
    )
}
ALL_AT_ONCE = "all-at-once"
#: The stack default of prod (and what a guardrail message proposes).
DEFAULT_GRADUAL = "canary-10-5"


def preference(key: str) -> DeploymentPreference:
    """The row of ``key``; KeyError lists the known keys."""
    try:
        return DEPLOYMENT_PREFERENCES[key]
    except KeyError:
        raise KeyError(
            f"no deployment preference {key!r}; known: {', '.join(DEPLOYMENT_PREFERENCES)}"
        ) from None


def preference_for(catalog_key: str | None, stack_key: str) -> DeploymentPreference:
    """A function's preference: its catalog ``deployment`` when set, else the stack's."""
    return preference(catalog_key or stack_key)
