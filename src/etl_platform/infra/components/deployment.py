"""Safe rollout: AWS CodeDeploy moves each function's ``live`` alias, and moves it back on an alarm.

:class:`Deployments` (``etl:deployment:Deployments``), one per stack, builds:

- the CodeDeploy application ``deploy-etl-<suffix>`` (compute platform ``Lambda``);
- one deployment group ``deploy-<function>-<suffix>`` per catalog function: its
  deployment configuration from the function's preference
  (:func:`etl_platform.model.deployment.preference_for`: the catalog's ``deployment``,
  else ``etl:deploymentPreference``), blue/green with traffic control (weighted alias
  routing), the function's own alarms
  (:func:`etl_platform.infra.components.alarms.rollback_alarm_names`) as its rollback
  alarms, and automatic rollback on a failed or alarm-stopped deployment;
- the service role ``role-codedeploy-<suffix>``, trusted by CodeDeploy only, with one
  inline policy ``policy-codedeploy-<suffix>`` written out action by action (what AWS's
  managed ``AWSCodeDeployRoleForLambda`` grants that a Lambda deployment without hooks
  uses, each on the exact ARNs): read and move the functions' aliases, read their
  provisioned concurrency, read their rollback alarms.

Pulumi creates the alias on the first version and then leaves it alone
(``ignore_changes`` in :class:`etl_platform.infra.components.functions.EtlFunction`);
``nox -s deploy-all`` (:mod:`etl_platform.ops.release`) creates a deployment for every
function whose published version differs from the one its alias serves, with an AppSpec
``{alias, currentVersion, targetVersion}``, and waits for it. The alarms live in the
observability stack; their names are deterministic, so they are derived here rather than
read through the stack contract (the deploy order puts observability first).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from pulumi import ComponentResource, Output, ResourceOptions

from etl_platform.infra.components.alarms import rollback_alarm_names
from etl_platform.infra.components.functions import EtlFunction
from etl_platform.infra.iam import policy_document, statement
from etl_platform.model.deployment import (
    APPLICATION,
    DEPLOYER,
    LIVE_ALIAS,
    MAX_ROLLBACK_ALARMS,
    preference_for,
)
from etl_platform.model.naming import resource_name
from etl_platform.model.settings import Settings
from etl_platform.model.tags import cost_tags

__all__ = [
    "ALARM_ACTIONS",
    "ALIAS_ACTIONS",
    "AUTO_ROLLBACK_EVENTS",
    "CODEDEPLOY_SERVICE",
    "COMPUTE_PLATFORM",
    "DEPLOYMENT_OPTION",
    "DEPLOYMENT_TYPE",
    "PROVISIONED_CONCURRENCY_ACTIONS",
    "Deployments",
    "DeploymentsArgs",
    "deployment_group_name",
]

CODEDEPLOY_SERVICE = "codedeploy.amazonaws.com"
COMPUTE_PLATFORM = "Lambda"
# A Lambda deployment group is blue/green with traffic control: CodeDeploy shifts the
# alias's weights from the current version to the target version.
DEPLOYMENT_TYPE = "BLUE_GREEN"
DEPLOYMENT_OPTION = "WITH_TRAFFIC_CONTROL"
AUTO_ROLLBACK_EVENTS = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM")
# The service role's actions (AWSCodeDeployRoleForLambda, less S3 AppSpecs, SNS triggers
# and hook invocations, which this platform does not use). Lambda authorizes alias actions
# on the function's ARN; both it and the alias ARN are named.
ALIAS_ACTIONS = ("lambda:GetAlias", "lambda:UpdateAlias")
PROVISIONED_CONCURRENCY_ACTIONS = ("lambda:GetProvisionedConcurrencyConfig",)
ALARM_ACTIONS = ("cloudwatch:DescribeAlarms",)


def deployment_group_name(function: str, suffix: str) -> str:
    """``deploy-<function>-<suffix>``: the function's deployment group."""
    return resource_name("deploy", function, suffix)


def _release_entry(
    application: aws.codedeploy.Application,
    group: aws.codedeploy.DeploymentGroup,
    function: EtlFunction,
) -> Output[dict[str, str]]:
    """What ``nox -s deploy-all`` needs to release one function (the ``releases`` export)."""
    fixed = {"alias": LIVE_ALIAS}
    if function.spec.smoke_event is not None:
        fixed["smokeEvent"] = json.dumps(function.spec.smoke_event, sort_keys=True)
    return Output.all(
        application=application.name,
        group=group.deployment_group_name,
        function=function.name,
        version=function.version,
    ).apply(lambda values: {**values, **fixed})


@dataclass(frozen=True)
class DeploymentsArgs:
    """The stack's settings, the account (for alarm ARNs) and every catalog function."""

    settings: Settings
    account_id: pulumi.Input[str]
    functions: Mapping[str, EtlFunction]


class Deployments(ComponentResource):
    """The CodeDeploy application, its service role and one deployment group per function."""

    groups: dict[str, aws.codedeploy.DeploymentGroup]

    def __init__(
        self, name: str, args: DeploymentsArgs, opts: ResourceOptions | None = None
    ) -> None:
        super().__init__("etl:deployment:Deployments", name, None, opts)
        settings = args.settings
        functions = dict(sorted(args.functions.items()))
        alarms = {fn: rollback_alarm_names(f.spec, settings) for fn, f in functions.items()}
        for fn, names in alarms.items():
            if not names or len(names) > MAX_ROLLBACK_ALARMS:
                raise ValueError(
                    f"function {fn} has {len(names)} rollback alarms ({', '.join(names)}); "
                    f"a CodeDeploy deployment group watches 1 to {MAX_ROLLBACK_ALARMS}. Fix: "
                    "make an alarm row of etl_platform.infra.components.alarms.ALARM_RULES "
                    "apply to fewer functions"
                )
        tags = cost_tags(settings)

        self.application = aws.codedeploy.Application(
            f"{name}-application",
            name=resource_name("deploy", APPLICATION, settings.suffix),
            compute_platform=COMPUTE_PLATFORM,
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=resource_name("role", DEPLOYER, settings.suffix),
            description="CodeDeploy: shifts the functions' live aliases, watches their alarms",
            assume_role_policy=policy_document(
                [
                    statement(
                        "CodeDeployAssumesRole",
                        ["sts:AssumeRole"],
                        [],
                        principals=[("Service", [CODEDEPLOY_SERVICE])],
                    )
                ]
            ),
            tags=tags,
            opts=ResourceOptions(parent=self),
        )
        alarm_arns = [
            Output.concat(
                "arn:aws:cloudwatch:", settings.region, ":", args.account_id, ":alarm:", alarm
            )
            for fn in functions
            for alarm in alarms[fn]
        ]
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy",
            name=resource_name("policy", DEPLOYER, settings.suffix),
            role=self.role.id,
            policy=policy_document(
                [
                    statement(
                        "MoveLiveAliases",
                        ALIAS_ACTIONS,
                        [arn for f in functions.values() for arn in (f.arn, f.target_arn)],
                    ),
                    statement(
                        "ReadProvisionedConcurrency",
                        PROVISIONED_CONCURRENCY_ACTIONS,
                        [f.target_arn for f in functions.values()],
                    ),
                    statement("ReadRollbackAlarms", ALARM_ACTIONS, alarm_arns),
                ]
            ),
            opts=ResourceOptions(parent=self),
        )
        self.groups = {}
        for fn, function in functions.items():
            chosen = preference_for(function.spec.deployment, settings.deployment_preference)
            self.groups[fn] = aws.codedeploy.DeploymentGroup(
                f"{name}-{fn}",
                app_name=self.application.name,
                deployment_group_name=deployment_group_name(fn, settings.suffix),
                service_role_arn=self.role.arn,
                deployment_config_name=chosen.config_name,
                deployment_style=aws.codedeploy.DeploymentGroupDeploymentStyleArgs(
                    deployment_type=DEPLOYMENT_TYPE, deployment_option=DEPLOYMENT_OPTION
                ),
                alarm_configuration=aws.codedeploy.DeploymentGroupAlarmConfigurationArgs(
                    alarms=list(alarms[fn]), enabled=True
                ),
                auto_rollback_configuration=(
                    aws.codedeploy.DeploymentGroupAutoRollbackConfigurationArgs(
                        enabled=True, events=list(AUTO_ROLLBACK_EVENTS)
                    )
                ),
                tags=cost_tags(settings, Function=fn),
                # CodeDeploy checks at creation that it may assume the role.
                opts=ResourceOptions(parent=self, depends_on=[self.policy]),
            )
        self.release = {
            fn: _release_entry(self.application, self.groups[fn], function)
            for fn, function in functions.items()
        }
        self.register_outputs({"application": self.application.name, "release": self.release})
