"""deploy-all / preview-all / destroy-all / new-env, driven against a recording fake pulumi.

Unit tier: no network, no Pulumi CLI, no AWS. Each test runs the real command-line
entry point (``etl-ops <verb>``, :func:`etl_platform.ops.cli.main`) which starts the
fake as a real subprocess; the fake's log is the ground truth of what a user's machine
would have run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from etl_platform.errors import SettingsError
from etl_platform.model.resources import placeholder
from etl_platform.model.settings import RESOURCES_KEY, settings_from_mapping
from etl_platform.ops.cli import main
from etl_platform.ops.pulumi_cli import DEPLOY_ORDER

from .conftest import PreflightStub
from .fake_pulumi import FakePulumi

SELECT = ["stack", "select", "--create"]
# deploy-all: select + up per project, then the release reads etl-functions' export
RELEASES_OUTPUT = ["stack", "output", "releases", "--json", "--stack", "dev", "--cwd"]
DEPLOY_CALLS = 2 * len(DEPLOY_ORDER) + 1


def _select(stack: str, folder: str) -> list[str]:
    return [*SELECT, stack, "--secrets-provider", "passphrase", "--cwd", f"projects/{folder}"]


def _run(repo: Path, *argv: str) -> int:
    verb, *rest = argv
    return main([verb, "--repo", str(repo), *rest])


def test_deploy_all_selects_then_ups_each_project_in_deploy_order(
    cli_env: FakePulumi, repo: Path
) -> None:
    # GIVEN a checkout with the dev stack configured and no policy pack
    # WHEN the user deploys everything
    code = _run(repo, "deploy-all", "dev")

    # THEN each project is selected (created if new) and updated, shared first
    assert code == 0
    assert list(DEPLOY_ORDER) == ["shared", "observability", "etl-functions"]
    expected: list[list[str]] = []
    for folder in DEPLOY_ORDER:
        expected.append(_select("dev", folder))
        expected.append(["up", "--yes", "--stack", "dev", "--cwd", f"projects/{folder}"])
    # AND then the release reads the functions' versions from the last project
    expected.append([*RELEASES_OUTPUT, "projects/etl-functions"])
    assert cli_env.argvs() == expected
    # AND the relative --cwd works because every command runs from the repo root
    assert {call["cwd"] for call in cli_env.calls()} == {str(repo.resolve())}


def test_preview_all_previews_in_deploy_order_without_yes(cli_env: FakePulumi, repo: Path) -> None:
    # GIVEN a configured dev stack
    # WHEN the user previews
    code = _run(repo, "preview-all", "dev")

    # THEN preview runs in deploy order and never auto-approves anything
    assert code == 0
    previews = [argv for argv in cli_env.argvs() if argv[0] == "preview"]
    assert previews == [
        ["preview", "--stack", "dev", "--cwd", f"projects/{folder}"] for folder in DEPLOY_ORDER
    ]


def test_destroy_all_runs_in_reverse_order(cli_env: FakePulumi, repo: Path) -> None:
    # GIVEN a deployed dev stack
    # WHEN the user destroys everything
    code = _run(repo, "destroy-all", "dev")

    # THEN consumers go first: etl-functions, observability, then shared
    assert code == 0
    expected: list[list[str]] = []
    for folder in reversed(DEPLOY_ORDER):
        expected.append(_select("dev", folder))
        expected.append(["destroy", "--yes", "--stack", "dev", "--cwd", f"projects/{folder}"])
    assert cli_env.argvs() == expected


def test_policy_pack_is_passed_to_up_and_preview_but_not_destroy(
    cli_env: FakePulumi, repo: Path
) -> None:
    # GIVEN the guardrails policy pack exists in the checkout
    (repo / "policy").mkdir()
    (repo / "policy" / "PulumiPolicy.yaml").write_text("runtime: python\n")
    pack = str(repo.resolve() / "policy")

    # WHEN the user previews, deploys and destroys
    assert _run(repo, "preview-all", "dev") == 0
    assert _run(repo, "deploy-all", "dev") == 0
    assert _run(repo, "destroy-all", "dev") == 0

    # THEN every preview and up is checked against the pack; destroy is not
    for argv in cli_env.argvs():
        if argv[0] in ("up", "preview"):
            assert argv[-2:] == ["--policy-pack", pack], argv
        else:
            assert "--policy-pack" not in argv, argv
    assert sum(argv[0] in ("up", "preview") for argv in cli_env.argvs()) == 6


@pytest.mark.parametrize(
    ("command", "pulumi_command", "failing", "ran", "not_run"),
    [
        ("deploy-all", "up", "observability", ["shared", "observability"], ["etl-functions"]),
        ("preview-all", "preview", "shared", ["shared"], ["observability", "etl-functions"]),
        ("destroy-all", "destroy", "etl-functions", ["etl-functions"], ["observability", "shared"]),
    ],
)
def test_stops_at_the_first_failing_project_and_names_it(
    cli_env: FakePulumi,
    repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    pulumi_command: str,
    failing: str,
    ran: list[str],
    not_run: list[str],
) -> None:
    # GIVEN pulumi fails in one project
    monkeypatch.setenv("FAKE_PULUMI_FAIL_PROJECT", failing)
    monkeypatch.setenv("FAKE_PULUMI_FAIL_COMMAND", pulumi_command)

    # WHEN the user runs the whole sequence
    code = _run(repo, command, "dev")

    # THEN it exits non-zero, naming the failing project and what was left undone
    assert code != 0
    err = capsys.readouterr().err
    assert f"project {failing} " in err
    assert f"pulumi {pulumi_command}" in err
    for folder in not_run:
        assert folder in err.split("Stopped here;")[1]
    # AND nothing ran in the projects after the failure
    touched = [argv[argv.index("--cwd") + 1] for argv in cli_env.argvs()]
    assert sorted(set(touched)) == sorted(f"projects/{f}" for f in ran)


def test_a_failing_stack_select_also_stops_the_run(
    cli_env: FakePulumi, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the stack cannot even be selected in shared (e.g. a wrong passphrase)
    monkeypatch.setenv("FAKE_PULUMI_FAIL_PROJECT", "shared")
    monkeypatch.setenv("FAKE_PULUMI_FAIL_COMMAND", "stack")

    # WHEN the user deploys
    code = _run(repo, "deploy-all", "dev")

    # THEN no `up` ran anywhere
    assert code != 0
    assert cli_env.argvs() == [_select("dev", "shared")]


def test_default_backend_is_a_file_backend_inside_the_repo(cli_env: FakePulumi, repo: Path) -> None:
    # GIVEN the user has not chosen a state backend (no Pulumi Cloud account needed)
    # WHEN they deploy
    assert _run(repo, "deploy-all", "dev") == 0

    # THEN every command used the git-ignored .pulumi-state directory, which now exists
    state = repo.resolve() / ".pulumi-state"
    assert {call["backend"] for call in cli_env.calls()} == {f"file://{state}"}
    assert state.is_dir()
    # AND the passphrase reached pulumi
    assert all(call["passphrase_set"] for call in cli_env.calls())


def test_pulumi_backend_url_set_by_the_user_wins(
    cli_env: FakePulumi, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the user keeps state in their own S3 bucket
    monkeypatch.setenv("PULUMI_BACKEND_URL", "s3://team-pulumi-state")

    # WHEN they deploy
    assert _run(repo, "deploy-all", "dev") == 0

    # THEN that backend is used and no local state directory appears
    assert {call["backend"] for call in cli_env.calls()} == {"s3://team-pulumi-state"}
    assert not (repo / ".pulumi-state").exists()


def test_missing_pulumi_cli_stops_at_once_with_the_install_command(
    fake_pulumi: FakePulumi,
    repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    path_without_pulumi: str,
) -> None:
    # GIVEN a machine without the Pulumi CLI (and without a passphrase either)
    monkeypatch.setenv("PATH", path_without_pulumi)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)

    # WHEN the user tries each command
    for argv in (
        ["deploy-all", "dev"],
        ["preview-all", "dev"],
        ["destroy-all", "dev"],
        ["new-env", "alice"],
    ):
        code = _run(repo, *argv)

        # THEN it exits non-zero saying exactly how to install pulumi, and nothing else
        assert code != 0
        err = capsys.readouterr().err
        assert "curl -fsSL https://get.pulumi.com | sh" in err
        assert "https://www.pulumi.com/docs/iac/download-install/" in err
        assert "PULUMI_CONFIG_PASSPHRASE" not in err
    assert not (repo / ".pulumi-state").exists()


def test_missing_passphrase_stops_at_once_saying_to_set_it(
    cli_env: FakePulumi,
    repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN the CLI is installed but no passphrase is set
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")

    # WHEN the user deploys
    code = _run(repo, "deploy-all", "dev")

    # THEN it exits non-zero telling them to set it, and pulumi never ran
    assert code != 0
    assert "export PULUMI_CONFIG_PASSPHRASE=" in capsys.readouterr().err
    assert cli_env.calls() == []


def test_passphrase_file_is_accepted_and_a_missing_one_is_reported(
    cli_env: FakePulumi,
    repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN the passphrase comes from a file that does not exist
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", str(tmp_path / "nope"))

    # WHEN the user deploys THEN the missing file is named and nothing runs
    assert _run(repo, "deploy-all", "dev") != 0
    assert str(tmp_path / "nope") in capsys.readouterr().err
    assert cli_env.calls() == []

    # GIVEN the file exists WHEN the user deploys THEN the deploy goes ahead
    (tmp_path / "nope").write_text("secret\n")
    assert _run(repo, "deploy-all", "dev") == 0
    assert len(cli_env.calls()) == DEPLOY_CALLS


@pytest.mark.parametrize("stack", ["org/etl-shared/dev", "my stack", "-dev", ".dev", "x" * 101])
def test_invalid_stack_names_are_refused_before_anything_runs(
    cli_env: FakePulumi, repo: Path, capsys: pytest.CaptureFixture[str], stack: str
) -> None:
    # GIVEN a stack name Pulumi would reject (or one that only fits one project)
    # WHEN the user deploys it
    code = main(["deploy-all", "--repo", str(repo), "--", stack])

    # THEN the name is refused with the rule, and pulumi never ran
    assert code != 0
    assert f"invalid stack name {stack!r}" in capsys.readouterr().err
    assert cli_env.calls() == []


def test_deploying_a_stack_without_config_points_to_new_env(
    cli_env: FakePulumi, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN no project has a Pulumi.staging.yaml
    # WHEN the user deploys the staging stack
    code = _run(repo, "deploy-all", "staging")

    # THEN they are told which files are missing and how to create them; nothing ran
    assert code != 0
    err = capsys.readouterr().err
    assert "projects/shared/Pulumi.staging.yaml" in err
    assert "nox -s new-env" in err
    assert cli_env.calls() == []


def test_new_env_creates_the_stack_in_all_projects_with_consistent_config(
    cli_env: FakePulumi, repo: Path
) -> None:
    # GIVEN a new environment for alice, in prod mode
    # WHEN the user creates it
    code = _run(repo, "new-env", "alice", "--environment", "prod")

    # THEN each project gets the stack and the same three config values, in deploy order
    assert code == 0
    expected: list[list[str]] = []
    for folder in DEPLOY_ORDER:
        where = ["--stack", "alice", "--cwd", f"projects/{folder}"]
        expected += [
            _select("alice", folder),
            ["config", "set", "aws:region", "us-east-1", *where],
            ["config", "set", "etl:environmentSuffix", "alice", *where],
            ["config", "set", "etl:environment", "prod", *where],
        ]
    assert cli_env.argvs() == expected


def test_new_env_stack_name_can_differ_from_the_suffix(cli_env: FakePulumi, repo: Path) -> None:
    # GIVEN a stack called pr-42 whose resources carry the suffix pr42
    # WHEN the user creates it
    assert _run(repo, "new-env", "pr42", "--stack", "pr-42") == 0

    # THEN the stack is pr-42 everywhere and the suffix config is pr42 (environment dev)
    argvs = cli_env.argvs()
    assert all(argv[argv.index("--stack") + 1] == "pr-42" for argv in argvs if "--stack" in argv)
    assert argvs[2][:4] == ["config", "set", "etl:environmentSuffix", "pr42"]
    assert argvs[3][:4] == ["config", "set", "etl:environment", "dev"]


def test_new_env_refuses_to_overwrite_existing_config_with_other_values(
    cli_env: FakePulumi, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the dev stack exists with environment dev
    # WHEN the user asks for a prod environment under the same stack name
    code = _run(repo, "new-env", "dev", "--environment", "prod")

    # THEN it refuses, naming each file, the key and both values; nothing was changed
    assert code != 0
    err = capsys.readouterr().err
    for folder in DEPLOY_ORDER:
        assert f"projects/{folder}/Pulumi.dev.yaml: etl:environment is 'dev'" in err
    assert "'prod'" in err
    assert cli_env.calls() == []
    assert "etl:environment: dev" in (repo / "projects/shared/Pulumi.dev.yaml").read_text()


def test_new_env_is_idempotent_when_the_config_already_matches(
    cli_env: FakePulumi, repo: Path
) -> None:
    # GIVEN the dev stack exists with exactly the values new-env would set
    # WHEN the user runs new-env for it again
    code = _run(repo, "new-env", "dev")

    # THEN it succeeds and (re)applies the same values
    assert code == 0
    assert ["config", "set", "etl:environment", "dev"] in [a[:4] for a in cli_env.argvs()]


@pytest.mark.parametrize("suffix", ["Alice", "1abc", "a--b", "alice-", "a_b", "x" * 60])
def test_new_env_refuses_a_bad_suffix_before_anything_runs(
    cli_env: FakePulumi, repo: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    # GIVEN a suffix that would make invalid or too-long AWS names
    # WHEN the user creates the environment
    code = _run(repo, "new-env", suffix)

    # THEN the suffix is refused with the rule it breaks, and pulumi never ran
    assert code != 0
    err = capsys.readouterr().err
    assert f"etl:environmentSuffix {suffix!r}" in err
    assert cli_env.calls() == []


def test_etl_ops_runs_as_a_script(cli_env: FakePulumi, repo: Path) -> None:
    # GIVEN the `etl-ops` program as a module (what the console script and nox run)
    # WHEN the user runs it directly (not through nox)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "etl_platform.ops.cli",
            "deploy-all",
            "--repo",
            str(repo),
            "dev",
            "--skip-preflight",  # a subprocess: the preflight stub does not reach it
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
        check=False,
    )

    # THEN it deploys the three projects and echoes each command it ran
    assert result.returncode == 0, result.stderr
    assert "$ pulumi up --yes --stack dev --cwd projects/etl-functions" in result.stderr
    assert len(cli_env.calls()) == DEPLOY_CALLS


def test_deploy_all_runs_preflight_first_and_stops_on_failure(
    cli_env: FakePulumi,
    repo: Path,
    preflight_stub: PreflightStub,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN an account that fails preflight
    preflight_stub.passes = False
    # WHEN the user deploys
    code = _run(repo, "deploy-all", "dev")
    # THEN preflight ran for the stack, nothing was deployed, and the error says why
    assert code == 2
    assert preflight_stub.stacks == ["dev"]
    assert cli_env.calls() == []
    err = capsys.readouterr().err
    assert "preflight failed for stack 'dev': nothing was deployed" in err
    assert "--skip-preflight" in err


def test_deploy_all_deploys_after_a_passing_preflight(
    cli_env: FakePulumi, repo: Path, preflight_stub: PreflightStub
) -> None:
    assert _run(repo, "deploy-all", "dev") == 0
    assert preflight_stub.stacks == ["dev"]
    assert len(cli_env.calls()) == DEPLOY_CALLS


def test_skip_preflight_deploys_without_it(
    cli_env: FakePulumi, repo: Path, preflight_stub: PreflightStub
) -> None:
    preflight_stub.passes = False
    assert _run(repo, "deploy-all", "dev", "--skip-preflight") == 0
    assert preflight_stub.stacks == []
    assert len(cli_env.calls()) == DEPLOY_CALLS


@pytest.mark.parametrize("command", ["preview-all", "destroy-all"])
def test_preview_and_destroy_do_not_run_preflight(
    cli_env: FakePulumi, repo: Path, preflight_stub: PreflightStub, command: str
) -> None:
    preflight_stub.passes = False
    assert _run(repo, command, "dev") == 0
    assert preflight_stub.stacks == []


def test_new_env_copies_the_resource_names_with_placeholders(
    cli_env: FakePulumi, repo: Path
) -> None:
    # GIVEN a dev stack that declares two resources the platform does not own
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/todos-dev"
    queue = "arn:aws:sqs:us-east-1:123456789012:orders-dev"
    for folder in DEPLOY_ORDER:
        path = repo / "projects" / folder / "Pulumi.dev.yaml"
        path.write_text(
            path.read_text() + f"  {RESOURCES_KEY}:\n    todos: {table}\n    orders: {queue}\n"
        )
    # WHEN the user creates a new environment
    assert _run(repo, "new-env", "alice") == 0
    # THEN every project gets each name, with a placeholder naming the kind, never dev's ARN
    sets = [a for a in cli_env.argvs() if a[:3] == ["config", "set", "--path"]]
    expected = {
        (f"{RESOURCES_KEY}.{name}", placeholder(label, "alice"), folder)
        for name, label in (("todos", "DynamoDB table"), ("orders", "SQS queue"))
        for folder in DEPLOY_ORDER
    }
    assert {(a[3], a[4], a[a.index("--cwd") + 1].removeprefix("projects/")) for a in sets} == (
        expected
    )
    # AND the programs refuse the placeholder until it is replaced, saying how
    with pytest.raises(SettingsError, match="still the placeholder") as caught:
        settings_from_mapping(
            {
                "aws:region": "us-east-1",
                "etl:environmentSuffix": "alice",
                RESOURCES_KEY: json.dumps({"todos": placeholder("DynamoDB table", "alice")}),
            }
        )
    assert "pulumi config set --path 'etl:resources.todos'" in str(caught.value)


def test_new_env_keeps_a_resource_the_stack_already_declares(
    cli_env: FakePulumi, repo: Path
) -> None:
    # GIVEN the dev stack already declares its table
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/todos-dev"
    for folder in DEPLOY_ORDER:
        path = repo / "projects" / folder / "Pulumi.dev.yaml"
        path.write_text(path.read_text() + f"  {RESOURCES_KEY}:\n    todos: {table}\n")
    # WHEN new-env runs for dev again  THEN its ARN is not replaced by a placeholder
    assert _run(repo, "new-env", "dev") == 0
    assert not [a for a in cli_env.argvs() if a[:3] == ["config", "set", "--path"]]
