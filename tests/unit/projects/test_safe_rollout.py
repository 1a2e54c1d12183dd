"""Safe rollout under Pulumi's mock runtime: versions, the alias, CodeDeploy, its role.

The real ``projects/etl-functions`` program runs with its real dev and prod stack files
(both upstream stacks faked, see conftest.py). Expectations come from the catalog, the
settings table and the deployment-preference table; new shapes use temporary catalogs.
Every new resource's inputs are also held to the AWS API that creates it, offline,
through botocore's API models (:mod:`etl_platform.checks.aws_api`).
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from etl_platform.checks.aws_api import operation_model, request_problems, shape_problems
from etl_platform.checks.offline import ACCOUNT_ID, PlannedResource, ProgramRun
from etl_platform.errors import CatalogError, SettingsError
from etl_platform.infra.components.alarms import rollback_alarm_names
from etl_platform.model.catalog import load_catalog
from etl_platform.model.contract import FunctionsExports
from etl_platform.model.deployment import (
    DEPLOYMENT_PREFERENCES,
    LIVE_ALIAS,
    preference_for,
)
from etl_platform.model.settings import ENVIRONMENT_DEFAULTS, Settings, settings_from_mapping
from etl_platform.model.stack_config import read_stack_config
from etl_platform.paths import PROJECTS_DIR

PROJECT = "etl-functions"
STACKS = ("dev", "prod")
CATALOG = load_catalog()
FUNCTION = "aws:lambda/function:Function"
ALIAS = "aws:lambda/alias:Alias"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
APPLICATION = "aws:codedeploy/application:Application"
GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
PERMISSION = "aws:lambda/permission:Permission"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"

_RUNS: dict[str, ProgramRun] = {}


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def run(run_project: Callable[..., ProgramRun], stack: str) -> ProgramRun:
    if stack not in _RUNS:
        _RUNS[stack] = run_project(PROJECT, stack)
    return _RUNS[stack]


def settings_of(stack: str) -> Settings:
    return settings_from_mapping(read_stack_config(PROJECTS_DIR / PROJECT, stack), CATALOG.names)


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


# ------------------------------------------------------------------------- versions + alias


def test_every_function_publishes_versions_behind_the_live_alias(run: ProgramRun) -> None:
    # GIVEN the catalog  WHEN the program runs
    for spec in CATALOG:
        function = run.one(FUNCTION, f"{spec.name}-function")
        alias = run.one(ALIAS, f"{spec.name}-alias")
        # THEN every code or configuration change publishes a version
        assert function.inputs["publish"] is True
        # AND the alias live starts on the version the first deploy published
        assert alias.inputs["name"] == LIVE_ALIAS
        assert alias.inputs["functionName"] == function.inputs["name"]
        assert alias.inputs["functionVersion"] == function.outputs["version"] == "1"
        assert alias.outputs["arn"] == f"{function.outputs['arn']}:{LIVE_ALIAS}"
        # AND Pulumi never moves it afterwards: CodeDeploy does (deploy-all's release)
        assert set(alias.ignore_changes) == {"functionVersion", "routingConfig"}


def test_every_trigger_permission_url_and_async_config_targets_the_alias(
    run: ProgramRun,
) -> None:
    # GIVEN every resource that names a function beside the function itself
    names = {r.inputs["name"] for r in run.of_type(FUNCTION)}
    arns = {r.outputs["arn"] for r in run.of_type(FUNCTION)}
    callers = [
        r for r in run.custom_resources if r.type in (INVOKE_CONFIG, PERMISSION, FUNCTION_URL)
    ]
    # THEN each async config, permission and URL is qualified with the alias
    assert len([r for r in callers if r.type == INVOKE_CONFIG]) == len(CATALOG)
    for caller in callers:
        function = caller.inputs.get("functionName") or caller.inputs.get("function")
        assert function in names, caller.name
        assert caller.inputs.get("qualifier") == LIVE_ALIAS, caller.name
    # AND no other resource holds a function's unqualified ARN (notification, targets)
    for resource in run.custom_resources:
        if resource.type in (FUNCTION, ALIAS):
            continue
        flat = json.dumps(resource.inputs)
        for arn in arns:
            assert f'"{arn}"' not in flat, (resource.type, resource.name)
        assert ":$LATEST" not in flat, resource.name


# ---------------------------------------------------------------------------- CodeDeploy


def test_each_function_has_a_deployment_group_with_its_preference_and_alarms(
    run: ProgramRun, stack: str
) -> None:
    # GIVEN the stack's settings (dev: all at once; prod: a canary)
    settings = settings_of(stack)
    assert settings.deployment_preference == ENVIRONMENT_DEFAULTS[stack].deployment_preference
    [application] = run.of_type(APPLICATION)
    assert application.inputs["name"] == f"deploy-etl-{stack}"
    assert application.inputs["computePlatform"] == "Lambda"
    role = run.one(ROLE, "deployments-role")
    groups = {g.inputs["deploymentGroupName"]: g for g in run.of_type(GROUP)}
    assert len(groups) == len(CATALOG)
    for spec in CATALOG:
        group = groups[f"deploy-{spec.name}-{stack}"].inputs
        # THEN the group is in the stack's application, run by the service role
        assert group["appName"] == application.inputs["name"]
        assert group["serviceRoleArn"] == role.outputs["arn"]
        # AND shifts traffic as the catalog entry, else the stack, prefers
        chosen = preference_for(spec.deployment, settings.deployment_preference)
        assert group["deploymentConfigName"] == chosen.config_name
        assert group["deploymentStyle"] == {
            "deploymentType": "BLUE_GREEN",
            "deploymentOption": "WITH_TRAFFIC_CONTROL",
        }
        # AND the function's own alarms stop it and roll it back
        assert group["alarmConfiguration"] == {
            "enabled": True,
            "alarms": list(rollback_alarm_names(spec, settings)),
        }
        assert group["autoRollbackConfiguration"] == {
            "enabled": True,
            "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
        }
        assert group["tags"]["Function"] == spec.name


def test_prod_shifts_gradually_and_dev_all_at_once_by_default(run: ProgramRun, stack: str) -> None:
    # GIVEN the catalog functions without a deployment key of their own
    defaults = [spec for spec in CATALOG if spec.deployment is None]
    configs = {
        g.inputs["deploymentGroupName"]: g.inputs["deploymentConfigName"]
        for g in run.of_type(GROUP)
    }
    # THEN dev deploys them at once and prod as a canary (the settings table's defaults)
    wanted = DEPLOYMENT_PREFERENCES[ENVIRONMENT_DEFAULTS[stack].deployment_preference]
    assert wanted.gradual is (stack == "prod")
    for spec in defaults:
        assert configs[f"deploy-{spec.name}-{stack}"] == wanted.config_name


def test_the_rollback_alarms_are_the_observability_stacks_function_alarms(
    run_project: Callable[..., ProgramRun], stack: str
) -> None:
    # GIVEN the observability program of the same stack
    observability = run_project("observability", stack)
    created = {
        a.inputs["name"] for a in observability.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    }
    # THEN every alarm a deployment group watches is one that stack creates
    settings = settings_of(stack)
    for spec in CATALOG:
        watched = set(rollback_alarm_names(spec, settings))
        assert watched and watched <= created, spec.name
        # AND none of them is the DLQ's: an old event there says nothing of the new version
        assert not any("-dlq-" in name for name in watched)


def test_the_codedeploy_role_is_least_privilege_and_trusted_by_codedeploy_only(
    run: ProgramRun, stack: str
) -> None:
    role = run.one(ROLE, "deployments-role")
    policy = run.one(ROLE_POLICY, "deployments-policy")
    # THEN only CodeDeploy may assume it, and no managed policy is attached
    assert role.inputs["name"] == f"role-codedeploy-{stack}"
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "codedeploy.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert not role.inputs.get("managedPolicyArns")
    # AND its one inline policy names each action and each resource: the catalog's
    # functions and aliases, and their rollback alarms (nothing on "*")
    assert policy.inputs["name"] == f"policy-codedeploy-{stack}"
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    functions = {r.outputs["arn"] for r in run.of_type(FUNCTION)}
    aliases = {r.outputs["arn"] for r in run.of_type(ALIAS)}
    settings = settings_of(stack)
    alarms = {
        f"arn:aws:cloudwatch:us-east-1:{ACCOUNT_ID}:alarm:{name}"
        for spec in CATALOG
        for name in rollback_alarm_names(spec, settings)
    }
    expected = {
        "MoveLiveAliases": ({"lambda:GetAlias", "lambda:UpdateAlias"}, functions | aliases),
        "ReadProvisionedConcurrency": ({"lambda:GetProvisionedConcurrencyConfig"}, aliases),
        "ReadRollbackAlarms": ({"cloudwatch:DescribeAlarms"}, alarms),
    }
    assert set(statements) == set(expected)
    for sid, (actions, resources) in expected.items():
        assert set(as_list(statements[sid]["Action"])) == actions, sid
        assert set(as_list(statements[sid]["Resource"])) == resources, sid
        assert statements[sid]["Effect"] == "Allow"


def test_the_releases_export_hands_deploy_all_every_function(run: ProgramRun, stack: str) -> None:
    # THEN deploy-all can find each function's group, alias and published version
    releases = run.exports[FunctionsExports.RELEASES]
    assert releases == {
        spec.name: {
            "application": f"deploy-etl-{stack}",
            "group": f"deploy-{spec.name}-{stack}",
            "function": f"lambda-{spec.name}-{stack}",
            "alias": LIVE_ALIAS,
            "version": "1",
            # AND the catalog's smoke event, when the entry has one
            **(
                {"smokeEvent": json.dumps(spec.smoke_event, sort_keys=True)}
                if spec.smoke_event is not None
                else {}
            ),
        }
        for spec in CATALOG
    }


def _write_entry(root: Path, name: str, extra: str) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    body = f"""
        name = "{name}"
        handler = "handler.handler"
        description = "A function for the safe-rollout tests."
        kind = "batch"
        size = "small"
        {extra}

        [needs]
        s3_read = ["inbox/"]
        """
    (folder / "function.toml").write_text(textwrap.dedent(body), encoding="utf-8")
    (folder / "handler.py").write_text(
        '"""Test handler."""\n\n\ndef handler(event, context):\n    return None\n',
        encoding="utf-8",
    )


def test_a_catalog_deployment_key_overrides_the_stack_preference(
    run_project: Callable[..., ProgramRun], tmp_path: Path
) -> None:
    # GIVEN a dev stack (all at once by default) and two functions, one of which asks
    # for a linear shift and a smoke test in its catalog entry
    _write_entry(
        tmp_path,
        "rollout-linear",
        'deployment = "linear-10-1"\n        smoke_event = { ping = true, source = "deploy" }',
    )
    _write_entry(tmp_path, "rollout-default", "")
    # WHEN the program runs with that catalog
    run = run_project(PROJECT, "dev", catalog_dir=tmp_path)
    configs = {
        g.inputs["deploymentGroupName"]: g.inputs["deploymentConfigName"]
        for g in run.of_type(GROUP)
    }
    # THEN the entry's preference wins for it; the other keeps the stack's
    assert configs == {
        "deploy-rollout-linear-dev": "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
        "deploy-rollout-default-dev": "CodeDeployDefault.LambdaAllAtOnce",
    }
    # AND deploy-all gets the smoke event (as JSON) of the one that has it, only
    releases = run.exports[FunctionsExports.RELEASES]
    assert json.loads(releases["rollout-linear"]["smokeEvent"]) == {
        "ping": True,
        "source": "deploy",
    }
    assert "smokeEvent" not in releases["rollout-default"]


# ------------------------------------------------------------------- catalog and settings


@pytest.mark.parametrize(
    ("extra", "name", "words"),
    [
        (
            'deployment = "canary"',
            "rollout-bad",
            ("'canary' is not a deployment preference", "canary-10-5"),
        ),
        ("", "codedeploy", ("reserved", "role-codedeploy-<suffix>")),
        (
            'smoke_event = "ping"',
            "rollout-smoke",
            ("must be a table", "smoke_event = { ping = true }"),
        ),
        ("smoke_event = { at = 1979-05-27 }", "rollout-date", ("must be JSON data",)),
    ],
)
def test_the_catalog_refuses_a_bad_preference_and_the_deployers_name(
    tmp_path: Path, extra: str, name: str, words: tuple[str, ...]
) -> None:
    # GIVEN an entry with an unknown preference, or named like the CodeDeploy role
    _write_entry(tmp_path, name, extra)
    # WHEN the catalog loads THEN it fails naming the file, the key and what is allowed
    with pytest.raises(CatalogError) as failure:
        load_catalog(tmp_path)
    assert str(tmp_path / name / "function.toml") in str(failure.value)
    for word in words:
        assert word in str(failure.value)


def test_the_stack_setting_accepts_the_table_and_refuses_anything_else() -> None:
    base = {"aws:region": "us-east-1", "etl:environmentSuffix": "dev"}
    # GIVEN each row of the preference table  THEN the setting takes it
    for key in DEPLOYMENT_PREFERENCES:
        settings = settings_from_mapping({**base, "etl:deploymentPreference": key})
        assert settings.deployment_preference == key
    # AND an unknown value fails naming the key and the allowed values
    with pytest.raises(SettingsError) as failure:
        settings_from_mapping({**base, "etl:deploymentPreference": "gradual"})
    assert failure.value.key == "etl:deploymentPreference"
    assert "canary-10-5" in str(failure.value)
    assert "catalog entry's `deployment` key overrides it" in str(failure.value)


# -------------------------------------------------- the AWS API would accept every input


def _tags(inputs: dict[str, Any], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in sorted((inputs.get("tags") or {}).items())]


# Each new resource type -> (service, operation, its Pulumi inputs as that API's request).
REQUESTS: dict[str, tuple[str, str, Callable[[PlannedResource], dict[str, Any]]]] = {
    ALIAS: (
        "lambda",
        "CreateAlias",
        lambda r: {
            "FunctionName": r.inputs["functionName"],
            "Name": r.inputs["name"],
            "FunctionVersion": r.inputs["functionVersion"],
            "Description": r.inputs["description"],
        },
    ),
    APPLICATION: (
        "codedeploy",
        "CreateApplication",
        lambda r: {
            "applicationName": r.inputs["name"],
            "computePlatform": r.inputs["computePlatform"],
            "tags": _tags(r.inputs),
        },
    ),
    GROUP: (
        "codedeploy",
        "CreateDeploymentGroup",
        lambda r: {
            "applicationName": r.inputs["appName"],
            "deploymentGroupName": r.inputs["deploymentGroupName"],
            "deploymentConfigName": r.inputs["deploymentConfigName"],
            "serviceRoleArn": r.inputs["serviceRoleArn"],
            "deploymentStyle": r.inputs["deploymentStyle"],
            "alarmConfiguration": {
                "enabled": r.inputs["alarmConfiguration"]["enabled"],
                "alarms": [{"name": n} for n in r.inputs["alarmConfiguration"]["alarms"]],
            },
            "autoRollbackConfiguration": r.inputs["autoRollbackConfiguration"],
            "tags": _tags(r.inputs),
        },
    ),
    INVOKE_CONFIG: (
        "lambda",
        "PutFunctionEventInvokeConfig",
        lambda r: {
            "FunctionName": r.inputs["functionName"],
            "Qualifier": r.inputs["qualifier"],
            "MaximumRetryAttempts": int(r.inputs["maximumRetryAttempts"]),
            "MaximumEventAgeInSeconds": int(r.inputs["maximumEventAgeInSeconds"]),
        },
    ),
    FUNCTION_URL: (
        "lambda",
        "CreateFunctionUrlConfig",
        lambda r: {
            "FunctionName": r.inputs["functionName"],
            "Qualifier": r.inputs["qualifier"],
            "AuthType": r.inputs["authorizationType"],
        },
    ),
    PERMISSION: (
        "lambda",
        "AddPermission",
        lambda r: {
            k: v
            for k, v in {
                "FunctionName": r.inputs["function"],
                "Qualifier": r.inputs["qualifier"],
                "StatementId": r.inputs["statementId"],
                "Action": r.inputs["action"],
                "Principal": r.inputs["principal"],
                "SourceArn": r.inputs.get("sourceArn"),
                "SourceAccount": r.inputs.get("sourceAccount"),
            }.items()
            if v is not None
        },
    ),
}


def test_every_new_resource_is_a_request_the_aws_api_accepts(run: ProgramRun) -> None:
    # GIVEN every alias, CodeDeploy resource and alias-qualified caller the program plans
    checked = 0
    for type_token, (service, operation, request) in REQUESTS.items():
        for resource in run.of_type(type_token):
            # WHEN its inputs are read as the request that creates it
            problems = request_problems(service, operation, request(resource))
            # THEN botocore's model of that API finds nothing to refuse
            assert problems == [], (resource.name, problems)
            checked += 1
    assert checked >= 3 * len(CATALOG) + 1


def test_the_api_check_catches_what_the_server_would_refuse() -> None:
    # GIVEN requests with a bad enum, an over-long name and a bad alias name
    bad_style = request_problems(
        "codedeploy",
        "CreateDeploymentGroup",
        {
            "applicationName": "a" * 101,
            "deploymentGroupName": "deploy-x-dev",
            "serviceRoleArn": "arn:aws:iam::123456789012:role/r",
            "deploymentStyle": {
                "deploymentType": "ROLLING",
                "deploymentOption": "WITH_TRAFFIC_CONTROL",
            },
        },
    )
    numeric_alias = request_problems(
        "lambda", "CreateAlias", {"FunctionName": "f", "Name": "42", "FunctionVersion": "1"}
    )
    # THEN each is reported, naming the member and what the API allows
    assert any("deploymentType is 'ROLLING'" in p and "BLUE_GREEN" in p for p in bad_style)
    assert any("applicationName is 101 characters" in p for p in bad_style)
    assert any("Name '42' does not match" in p for p in numeric_alias)


def test_every_preference_names_a_valid_codedeploy_lambda_configuration() -> None:
    # GIVEN the preference table  THEN each configuration name fits CodeDeploy's
    # DeploymentConfigName, is one of its predefined Lambda configurations, and says
    # what its key says (canary-10-5 -> Canary10Percent5Minutes)
    shape = operation_model("codedeploy", "CreateDeploymentGroup").input_shape.members[
        "deploymentConfigName"
    ]
    predefined = re.compile(
        r"CodeDeployDefault\.Lambda(AllAtOnce|Canary(\d+)Percent(\d+)Minutes"
        r"|Linear(\d+)PercentEvery(\d+)Minutes?)"
    )
    for key, row in DEPLOYMENT_PREFERENCES.items():
        assert list(shape_problems(shape, row.config_name, key)) == []
        match = predefined.fullmatch(row.config_name)
        assert match, row.config_name
        if key == "all-at-once":
            assert match.group(1) == "AllAtOnce" and not row.gradual
            continue
        kind, percent, minutes = key.split("-")
        numbers = [g for g in match.groups()[1:] if g is not None]
        assert numbers == [percent, minutes], key
        assert kind.capitalize() in row.config_name
        steps = 1 if kind == "canary" else 100 // int(percent)
        assert row.minutes == int(minutes) * steps and row.gradual
