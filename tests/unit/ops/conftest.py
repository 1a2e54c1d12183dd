"""Fixtures for the ops tests: the recording fake ``pulumi``, a scratch repo, a user's env.

Unit tier: no network, no real Pulumi CLI, no AWS.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from etl_platform.ops import pulumi_cli
from etl_platform.ops.pulumi_cli import DEPLOY_ORDER

from .fake_pulumi import FakePulumi, write_fake_pulumi


@pytest.fixture
def fake_pulumi(tmp_path: Path) -> FakePulumi:
    """A recording FAKE ``pulumi`` in its own bin directory (not yet on PATH)."""
    return write_fake_pulumi(tmp_path)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A scratch checkout: the three project folders with a Pulumi.yaml and a dev stack."""
    root = tmp_path / "repo"
    for folder in DEPLOY_ORDER:
        project = root / "projects" / folder
        project.mkdir(parents=True)
        (project / "Pulumi.yaml").write_text(f"name: etl-{folder}\nruntime: python\n")
        (project / "Pulumi.dev.yaml").write_text(
            "config:\n  aws:region: us-east-1\n  etl:environmentSuffix: dev\n"
            "  etl:environment: dev\n"
        )
    return root


@pytest.fixture
def path_without_pulumi() -> str:
    """The current PATH minus every directory holding a ``pulumi`` executable."""
    return os.pathsep.join(
        d
        for d in os.environ.get("PATH", "").split(os.pathsep)
        if d and not os.access(os.path.join(d, "pulumi"), os.X_OK)
    )


@dataclass
class PreflightStub:
    """Stands in for `etl-ops preflight` in deploy-all (tested against moto elsewhere)."""

    passes: bool = True
    stacks: list[str] = field(default_factory=list)

    def __call__(self, stack: str, repo: Path, env: Mapping[str, str]) -> bool:
        self.stacks.append(stack)
        return self.passes


@pytest.fixture
def preflight_stub(monkeypatch: pytest.MonkeyPatch) -> PreflightStub:
    """deploy-all's preflight, replaced by a recording stub that passes unless told not to."""
    stub = PreflightStub()
    monkeypatch.setattr(pulumi_cli, "run_preflight", stub)
    return stub


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch,
    fake_pulumi: FakePulumi,
    path_without_pulumi: str,
    preflight_stub: PreflightStub,
) -> FakePulumi:
    """A user's shell ready to deploy: the fake first on PATH, a passphrase, no backend set."""
    monkeypatch.setenv("PATH", f"{fake_pulumi.bin_dir}{os.pathsep}{path_without_pulumi}")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "test-only-passphrase")
    for name in (
        "PULUMI_CONFIG_PASSPHRASE_FILE",
        "PULUMI_BACKEND_URL",
        "FAKE_PULUMI_FAIL_PROJECT",
        "FAKE_PULUMI_FAIL_COMMAND",
        "FAKE_PULUMI_STACK_OUTPUT",
    ):
        monkeypatch.delenv(name, raising=False)
    return fake_pulumi
