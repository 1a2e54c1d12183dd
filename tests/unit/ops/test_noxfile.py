"""The nox entry points, run for real with .venv/bin/nox in a subprocess.

Unit tier: no network. ``ETL_SKIP_SYNC=1`` keeps these runs from ever reinstalling the
shared ``.venv`` (the sync itself is tested in test_bootstrap.py).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from etl_platform.paths import REPO_ROOT

pytestmark = pytest.mark.slow  # each test runs nox in a subprocess

NOX = REPO_ROOT / ".venv" / "bin" / "nox"


def _nox(*args: str, path: str, extra_env: dict[str, str] | None = None) -> tuple[int, str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env.update({"PATH": path, "ETL_SKIP_SYNC": "1", **(extra_env or {})})
    started = time.monotonic()
    result = subprocess.run(
        [str(NOX), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr, time.monotonic() - started


@pytest.fixture(autouse=True)
def _needs_nox() -> None:
    assert NOX.exists(), f"{NOX} missing: run scripts/bootstrap"


def test_deploy_all_without_pulumi_cli_fails_fast_with_the_install_hint(
    path_without_pulumi: str,
) -> None:
    # GIVEN a machine with no Pulumi CLI on PATH
    # WHEN the user runs the documented deploy command
    code, output, seconds = _nox("-s", "deploy-all", "--", "dev", path=path_without_pulumi)

    # THEN it exits non-zero at once, saying exactly how to install the CLI
    assert code != 0
    assert "curl -fsSL https://get.pulumi.com | sh" in output
    assert seconds < 60, f"took {seconds:.1f}s"
    # AND no pulumi command was attempted
    assert "$ pulumi" not in output


def test_deploy_all_without_a_stack_prints_the_usage(path_without_pulumi: str) -> None:
    # GIVEN the user forgot the stack name
    # WHEN they run deploy-all
    code, output, _ = _nox("-s", "deploy-all", path=path_without_pulumi)

    # THEN nox fails with the exact usage
    assert code != 0
    assert "usage: nox -s deploy-all -- <stack>" in output


def test_nox_lists_every_entry_point_and_runs_the_tests_by_default(
    path_without_pulumi: str,
) -> None:
    # GIVEN the noxfile
    # WHEN the user lists the sessions
    code, output, _ = _nox("--list", path=path_without_pulumi)

    # THEN every documented entry point is there with a description, tests being the default
    assert code == 0
    sessions = {
        line[2:].split(" -> ")[0]: line[0]
        for line in output.splitlines()
        if line[:2] in ("* ", "- ") and " -> " in line
    }
    assert sessions == {
        "tests": "*",
        **{
            name: "-"
            for name in (
                "unit",
                "integration",
                "lint",
                "typecheck",
                "lock",
                "plan",
                "docs",
                "iam-lint",
                "compat",
                "bench",
                "build",
                "deploy-all",
                "preview-all",
                "destroy-all",
                "new-env",
                "redrive",
                "migrate",
                "audit",
                "preflight",
                "refresh-runtimes",
            )
        },
    }


def test_deploy_all_through_nox_drives_the_cli_in_order(tmp_path: Path) -> None:
    # GIVEN the recording fake pulumi on PATH and a passphrase, state kept in tmp
    from .fake_pulumi import write_fake_pulumi

    fake = write_fake_pulumi(tmp_path)
    path = f"{fake.bin_dir}{os.pathsep}{os.environ['PATH']}"
    backend = f"file://{tmp_path / 'state'}"

    # WHEN the user previews the dev stack through nox
    code, output, _ = _nox(
        "-s",
        "preview-all",
        "--",
        "dev",
        path=path,
        extra_env={"PULUMI_CONFIG_PASSPHRASE": "test-only", "PULUMI_BACKEND_URL": backend},
    )

    # THEN the real checkout's three projects were previewed in deploy order
    assert code == 0, output
    previews = [a[a.index("--cwd") + 1] for a in fake.argvs() if a[0] == "preview"]
    assert previews == ["projects/shared", "projects/observability", "projects/etl-functions"]
    assert {call["backend"] for call in fake.calls()} == {backend}


@pytest.mark.parametrize(
    ("session", "usage"),
    [
        ("preflight", "usage: nox -s preflight -- --stack <stack>"),
        ("refresh-runtimes", "usage: nox -s refresh-runtimes -- <saved copy of"),
    ],
)
def test_ops_sessions_without_arguments_print_their_usage(
    path_without_pulumi: str, session: str, usage: str
) -> None:
    code, output, _ = _nox("-s", session, path=path_without_pulumi)
    assert code != 0
    assert usage in output


def test_the_etl_ops_console_script_is_installed_with_the_project() -> None:
    # GIVEN the project installed by scripts/bootstrap ([project.scripts] etl-ops)
    script = REPO_ROOT / ".venv" / "bin" / "etl-ops"
    # WHEN the user asks it for help
    result = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    # THEN both commands are there
    assert result.returncode == 0, result.stderr
    assert "audit" in result.stdout and "preflight" in result.stdout
