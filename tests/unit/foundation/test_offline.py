"""The offline runner: the real programs under Pulumi's mock runtime see what AWS would return."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from etl_platform.catalog import load_catalog
from etl_platform.errors import ContractError, SettingsError
from etl_platform.offline import ACCOUNT_ID, render_policy_document, run_program

PROGRAM = """
import pulumi
import pulumi_aws as aws

from etl_platform.catalog import load_catalog
from etl_platform.contract import Upstream
from etl_platform.iam import deny_insecure_transport, policy_document, statement
from etl_platform.settings import load_settings

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
    return {"organization/etl-upstream/dev": {"things": {fn: f"thing-{fn}" for fn in functions}}}


FUNCTIONS = load_catalog().names  # the real catalog, whatever it holds


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
    missing = FUNCTIONS[-1]
    outputs = things(FUNCTIONS[:-1])
    # WHEN the program runs THEN it fails naming the function, the export and the command
    with pytest.raises(ContractError) as caught:
        run_program(project, "dev", stack_outputs=outputs)
    message = str(caught.value)
    assert "organization/etl-upstream/dev" in message
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
