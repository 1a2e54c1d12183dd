"""scripts/bootstrap: creates .venv once, reinstalls only when the pins change, quietly.

Unit tier: no network. The script runs for real (bash) in a scratch copy of the repo,
with PYTHON pointing at a RECORDING FAKE interpreter: ``-m venv`` makes a fake venv
whose ``bin/python`` is the same fake, ``-m pip`` only records its arguments (and fails
when FAKE_PIP_FAIL=1), anything else is handed to the real interpreter.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from etl_platform.paths import REPO_ROOT

FAKE_PYTHON_SOURCE = '''#!{python}
"""FAKE python written by tests/unit/ops/test_bootstrap.py: records venv and pip calls."""
import json
import os
import shutil
import sys

argv = sys.argv[1:]
if argv[:2] == ["-m", "venv"] or argv[:2] == ["-m", "pip"]:
    with open({log!r}, "a", encoding="utf-8") as log:
        log.write(json.dumps({{"python": sys.argv[0], "argv": argv}}) + "\\n")
    if argv[1] == "venv":
        os.makedirs(os.path.join(argv[2], "bin"))
        shutil.copy(__file__, os.path.join(argv[2], "bin", "python"))
    elif os.environ.get("FAKE_PIP_FAIL") == "1":
        print("fake pip: failing as the test asked", file=sys.stderr)
        sys.exit(1)
    sys.exit(0)
os.execv({python!r}, [{python!r}, *argv])
'''


@dataclass
class Checkout:
    """A scratch copy of the files bootstrap reads, and the fake interpreter's log."""

    root: Path
    fake_python: Path
    log: Path

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """Run scripts/bootstrap like a user would, with the fake as PYTHON."""
        return subprocess.run(
            ["bash", str(self.root / "scripts" / "bootstrap"), *args],
            env={**os.environ, "PYTHON": str(self.fake_python), **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def pip_calls(self) -> list[list[str]]:
        """The recorded ``-m pip ...`` argument lists."""
        if not self.log.exists():
            return []
        calls = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [c["argv"] for c in calls if c["argv"][:2] == ["-m", "pip"]]

    def venv_calls(self) -> int:
        """How many times a venv was created."""
        if not self.log.exists():
            return 0
        return sum('"venv"' in line for line in self.log.read_text().splitlines())

    def expected_stamp(self) -> str:
        """sha256 of pyproject.toml + constraints.txt, as the stamp must hold."""
        data = (self.root / "pyproject.toml").read_bytes()
        data += (self.root / "constraints.txt").read_bytes()
        return hashlib.sha256(data).hexdigest()


@pytest.fixture
def checkout(tmp_path: Path) -> Checkout:
    """scripts/bootstrap, pyproject.toml and constraints.txt copied into tmp; no .venv."""
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "scripts" / "bootstrap", root / "scripts" / "bootstrap")
    shutil.copy(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    shutil.copy(REPO_ROOT / "constraints.txt", root / "constraints.txt")
    log = tmp_path / "python-calls.jsonl"
    fake = tmp_path / "fake-python"
    fake.write_text(FAKE_PYTHON_SOURCE.format(python=sys.executable, log=str(log)))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return Checkout(root=root, fake_python=fake, log=log)


def test_fresh_checkout_gets_a_venv_with_the_pinned_dev_install(checkout: Checkout) -> None:
    # GIVEN a fresh clone without .venv
    # WHEN the user bootstraps
    result = checkout.run("--skip-postgres")

    # THEN .venv is created and the package is installed editable, pinned by constraints.txt
    assert result.returncode == 0, result.stderr
    assert checkout.venv_calls() == 1
    root = str(checkout.root)
    assert checkout.pip_calls() == [
        [
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-c",
            f"{root}/constraints.txt",
            "-e",
            f"{root}[dev]",
        ],
    ]
    # AND the stamp records what was installed
    stamp = (checkout.root / ".venv" / ".etl-stamp").read_text().strip()
    assert stamp == checkout.expected_stamp()


def test_second_run_does_nothing_and_prints_nothing(checkout: Checkout) -> None:
    # GIVEN a bootstrapped checkout
    assert checkout.run("--skip-postgres").returncode == 0

    # WHEN the user (or a nox session) bootstraps again
    result = checkout.run("--skip-postgres")

    # THEN nothing is reinstalled and the happy path is silent
    assert result.returncode == 0
    assert (result.stdout, result.stderr) == ("", "")
    assert len(checkout.pip_calls()) == 1
    assert checkout.venv_calls() == 1


def test_changed_pins_trigger_a_reinstall(checkout: Checkout) -> None:
    # GIVEN a bootstrapped checkout
    assert checkout.run("--skip-postgres").returncode == 0

    # WHEN constraints.txt changes (e.g. after `nox -s lock`) and bootstrap runs
    with (checkout.root / "constraints.txt").open("a") as pins:
        pins.write("example-new-pin==1.0\n")
    result = checkout.run("--skip-postgres")

    # THEN the environment is reinstalled once and the stamp follows
    assert result.returncode == 0, result.stderr
    assert len(checkout.pip_calls()) == 2
    stamp = (checkout.root / ".venv" / ".etl-stamp").read_text().strip()
    assert stamp == checkout.expected_stamp()


def test_failed_install_says_so_and_is_retried_next_time(checkout: Checkout) -> None:
    # GIVEN pip fails (say, no network)
    # WHEN the user bootstraps
    result = checkout.run("--skip-postgres", FAKE_PIP_FAIL="1")

    # THEN it exits non-zero with a clear message and records no stamp
    assert result.returncode != 0
    assert "pip install failed" in result.stderr
    assert not (checkout.root / ".venv" / ".etl-stamp").exists()
    # AND the next run tries the install again (and succeeds)
    assert checkout.run("--skip-postgres").returncode == 0
    assert len(checkout.pip_calls()) == 2


def test_check_mode_reports_staleness_without_changing_anything(checkout: Checkout) -> None:
    # GIVEN no .venv yet
    # WHEN the user asks whether the environment is up to date
    # THEN it says no (exit 1) and creates nothing
    assert checkout.run("--check").returncode == 1
    assert not (checkout.root / ".venv").exists()

    # GIVEN a bootstrapped checkout THEN --check says yes
    assert checkout.run("--skip-postgres").returncode == 0
    assert checkout.run("--check").returncode == 0


def test_unknown_argument_is_refused_with_a_hint(checkout: Checkout) -> None:
    # GIVEN a typo in the option
    # WHEN the user runs bootstrap with it
    result = checkout.run("--skip-postgress")

    # THEN nothing happens and the message points to --help
    assert result.returncode != 0
    assert "unknown argument '--skip-postgress'" in result.stderr
    assert checkout.venv_calls() == 0
