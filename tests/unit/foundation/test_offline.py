"""The offline runner: the real programs under Pulumi's mock runtime see what AWS would return."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from etl_platform.checks.offline import (
    ACCOUNT_ID,
    computed_outputs,
    render_policy_document,
    run_program,
)
from etl_platform.checks.plan import write_plan
from etl_platform.errors import ContractError, SettingsError
from etl_platform.model.catalog import load_catalog
from etl_platform.model.contract import DEPLOY_ORDER, stack_reference_name
from etl_platform.model.settings import DEFAULT_STACK_ORG
from etl_platform.paths import REPO_ROOT

PROGRAM = """
import pulumi
import pulumi_aws as aws

from etl_platform.model.catalog import load_catalog
from etl_platform.model.contract import DEPLOY_ORDER, stack_reference_name
from etl_platform.infra.upstream import Upstream
from etl_platform.infra.iam import deny_insecure_transport, policy_document, statement
from etl_platform.model.settings import load_settings

catalog = load_catalog()
settings = load_settings(catalog.names)
queue = aws.sqs.Queue("queue", name=f"dlq-probe-{settings.suffix}",
                      opts=pulumi.ResourceOptions(protect=settings.environment == "prod"))
document = policy_document([
    statement("Send", ["sqs:SendMessage"], [queue.arn],
              principals=[("Service", ["lambda.amazonaws.com"])]),
    deny_insecure_transport(["sqs:*"], [queue.arn]),
])
upstream = Upstream("etl-upstream", settings.stack_org)
pulumi.export("queueArn", queue.arn)
pulumi.export("policy", document)
pulumi.export("byFunction", upstream.per_function("things", catalog.names))
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: probe\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text(
        textwrap.dedent(
            """\
            config:
              aws:region: us-east-1
              etl:environmentSuffix: dev
            """
        )
    )
    (tmp_path / "__main__.py").write_text(PROGRAM)
    return tmp_path


def things(functions: list[str]) -> dict[str, dict[str, object]]:
    return {UPSTREAM: {"things": {fn: f"thing-{fn}" for fn in functions}}}


FUNCTIONS = load_catalog().names
UPSTREAM = stack_reference_name(DEFAULT_STACK_ORG, "etl-upstream", "dev")


def test_a_program_runs_with_its_stack_file_and_upstream_outputs(project: Path) -> None:
    # GIVEN a program, its Pulumi.dev.yaml and the upstream stack's outputs
    run = run_program(project, "dev", stack_outputs=things(FUNCTIONS))
    # THEN resources carry realistic identifiers and the exports are resolved values
    queue = run.one("aws:sqs/queue:Queue", "queue")
    assert queue.inputs["name"] == "dlq-probe-dev"
    assert run.exports["queueArn"] == f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:dlq-probe-dev"
    assert run.exports["byFunction"]["load"] == "thing-load"
    # AND the policy document is rendered as the provider renders it
    policy = json.loads(run.exports["policy"])
    assert policy["Version"] == "2012-10-17"
    send, deny = policy["Statement"]
    assert send["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert send["Resource"] == run.exports["queueArn"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_resource_options_are_recorded(project: Path) -> None:
    # GIVEN config that makes the program protect its queue
    run = run_program(
        project, "dev", config={"etl:environment": "prod"}, stack_outputs=things(FUNCTIONS)
    )
    # THEN the run shows it, so the guardrails can refuse it
    assert run.one("aws:sqs/queue:Queue", "queue").protect is True


def test_settings_errors_stop_the_program(project: Path) -> None:
    with pytest.raises(SettingsError, match="etl:environmentSuffix"):
        run_program(project, "dev", config={"etl:environmentSuffix": ""})


def test_a_missing_upstream_export_names_it_and_the_fix(project: Path) -> None:
    # GIVEN an upstream stack that lacks one function's entry
    *present, missing = FUNCTIONS
    outputs = things(present)
    # WHEN the program runs THEN it fails naming the function, the export and the command
    with pytest.raises(ContractError) as caught:
        run_program(project, "dev", stack_outputs=outputs)
    message = str(caught.value)
    assert UPSTREAM in message
    assert f"'{missing}'" in message and "'things'" in message
    assert "nox -s deploy-all -- dev" in message


def test_several_programs_run_in_one_process_without_leaking_state(project: Path) -> None:
    first = run_program(project, "dev", stack_outputs=things(FUNCTIONS))
    second = run_program(
        project, "dev", config={"etl:environmentSuffix": "pr-1"}, stack_outputs=things(FUNCTIONS)
    )
    assert len(first.resources) == len(second.resources)
    assert second.exports["queueArn"].endswith(":dlq-probe-pr-1")


def test_a_missing_stack_file_says_how_to_create_it(project: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nox -s new-env -- qa"):
        run_program(project, "qa")


def test_policy_rendering_matches_the_provider_shapes() -> None:
    document = json.loads(
        render_policy_document(
            {
                "statements": [
                    {
                        "sid": "Two",
                        "actions": ["s3:PutObject", "s3:GetObject"],
                        "resources": ["arn:aws:s3:::b/a/*", "arn:aws:s3:::b/b/*"],
                        "conditions": [
                            {
                                "test": "StringEquals",
                                "variable": "aws:SourceAccount",
                                "values": [ACCOUNT_ID],
                            }
                        ],
                    }
                ]
            }
        )
    )
    (only,) = document["Statement"]
    assert only["Sid"] == "Two" and only["Effect"] == "Allow"
    assert only["Action"] == ["s3:PutObject", "s3:GetObject"]
    assert only["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}


# --------------------------------------------------------------------------------------------
# Public Pulumi API only, and a reproducible plan
# --------------------------------------------------------------------------------------------

# Names of the SDK's internal state that an upgrade may change without notice.
INTERNAL_NAMES = {"SETTINGS", "rpc_manager", "sync_await", "get_objects"}
PYTHON_SOURCES = ("src", "projects", "policy", "lambdas", "layers", "tests", "benchmarks")


def _private_pulumi_uses(path: Path) -> list[str]:
    """Private names (leading underscore) or internal state this file takes from Pulumi."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bound: set[str] = set()  # local names bound to something from a pulumi package
    found: list[str] = []

    def private(name: str) -> bool:
        return (name.startswith("_") and not name.startswith("__")) or name in INTERNAL_NAMES

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0].startswith("pulumi"):
                    bound.add((alias.asname or alias.name).split(".")[0])
                    if any(private(part) for part in alias.name.split(".")):
                        found.append(f"line {node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pulumi"):
            module = node.module or ""
            if any(private(part) for part in module.split(".")):
                found.append(f"line {node.lineno}: from {module} import ...")
            for alias in node.names:
                bound.add(alias.asname or alias.name)
                if private(alias.name):
                    found.append(f"line {node.lineno}: from {module} import {alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr):
            root: ast.expr = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in bound:
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_no_module_uses_a_private_pulumi_name() -> None:
    # GIVEN every Python file of the repository
    files = [p for d in PYTHON_SOURCES for p in sorted((REPO_ROOT / d).rglob("*.py"))]
    files.append(REPO_ROOT / "noxfile.py")
    assert any(p.name == "offline.py" for p in files)
    # WHEN each is read for names it takes from pulumi, pulumi_aws or pulumi_policy
    offenders = {
        str(p.relative_to(REPO_ROOT)): uses for p in files if (uses := _private_pulumi_uses(p))
    }
    # THEN none reaches into private SDK state (a Pulumi upgrade could break it silently)
    assert offenders == {}, "use Pulumi's public API instead of: " + json.dumps(offenders, indent=1)


def test_the_private_name_check_catches_what_it_looks_for(tmp_path: Path) -> None:
    # GIVEN the runner's old imports  THEN the check above would have refused each of them
    old = tmp_path / "old.py"
    old.write_text(
        "from pulumi.runtime.sync_await import _sync_await\n"
        "from pulumi.runtime.settings import SETTINGS\n"
        "import pulumi\n"
        "from pulumi.runtime import rpc\n"
        "rpc._special_sig_key\n"
        "pulumi.runtime.settings.SETTINGS.rpc_manager.clear()\n"
    )
    flagged = {int(use.split(":")[0].removeprefix("line ")) for use in _private_pulumi_uses(old)}
    assert flagged == {1, 2, 5, 6}


def test_the_guardrails_never_load_the_offline_runner() -> None:
    # GIVEN a fresh interpreter  WHEN it imports what the policy pack imports
    probe = (
        "import sys, etl_platform.checks.rules, etl_platform.model.contract, etl_platform.errors;"
        "print('etl_platform.checks.offline' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    # THEN the mock runner is not among the modules loaded (an SDK change cannot break deploys)
    assert result.stdout.strip() == "False"


@pytest.mark.slow
def test_two_plans_of_a_stack_are_byte_identical(
    tmp_path: Path, planned: Any, cli_plan: Any
) -> None:
    # GIVEN two plans of dev, each in its own interpreter with its own hash seed: `etl-ops
    # plan` in a child (seed 1) and the session's plan in this one (another seed), both
    # written by the code `nox -s plan` runs
    seeds = {"1", os.environ.get("PYTHONHASHSEED", "random")}
    assert len(seeds) == 2, "this process must not run with PYTHONHASHSEED=1"
    assert cli_plan.returncode == 0, cli_plan.stderr
    here = tmp_path / "plan-here.json"
    write_plan(planned("dev"), here)
    outputs = [cli_plan.plan, here.read_bytes()]
    # THEN the two plan files are the same bytes
    assert outputs[0] == outputs[1]
    # AND they hold every stack, with no object addresses (an unencodable value's repr)
    assert b" object at 0x" not in outputs[0]
    assert set(json.loads(outputs[0])) == {project for project, _ in DEPLOY_ORDER}


def test_the_mocks_answer_like_lambda_and_codedeploy_for_versions_aliases_and_groups() -> None:
    # GIVEN a published function, its alias and a CodeDeploy application and group
    _, function = computed_outputs(
        "aws:lambda/function:Function", "fn", {"name": "lambda-x-dev", "publish": True}
    )
    _, unpublished = computed_outputs(
        "aws:lambda/function:Function", "fn", {"name": "lambda-y-dev"}
    )
    alias_id, alias = computed_outputs(
        "aws:lambda/alias:Alias", "alias", {"name": "live", "functionName": "lambda-x-dev"}
    )
    _, application = computed_outputs(
        "aws:codedeploy/application:Application", "app", {"name": "deploy-etl-dev"}
    )
    group_id, group = computed_outputs(
        "aws:codedeploy/deploymentGroup:DeploymentGroup",
        "group",
        {"appName": "deploy-etl-dev", "deploymentGroupName": "deploy-x-dev"},
    )
    # THEN a published function is at version 1 (else only $LATEST exists)
    assert (function["version"], unpublished["version"]) == ("1", "$LATEST")
    assert function["qualifiedArn"] == f"{function['arn']}:1"
    # AND the alias's ARN is the function's, qualified by the alias name
    assert alias["arn"] == alias_id == f"{function['arn']}:live"
    # AND the CodeDeploy ARNs have AWS's shape (deploymentgroup:<application>/<group>)
    assert (
        application["arn"]
        == f"arn:aws:codedeploy:us-east-1:{ACCOUNT_ID}:application:deploy-etl-dev"
    )
    assert group["arn"] == (
        f"arn:aws:codedeploy:us-east-1:{ACCOUNT_ID}:deploymentgroup:deploy-etl-dev/deploy-x-dev"
    )
    assert group_id == "deploy-etl-dev:deploy-x-dev"
