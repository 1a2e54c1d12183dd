"""A RECORDING FAKE ``pulumi`` executable for the ops tests. It is NOT the Pulumi CLI.

Written into a temporary directory that the tests put first on PATH, it stands in for
the CLI so the tests can assert exactly what ``etl_platform.ops.pulumi_cli`` runs.
"""

from __future__ import annotations

import json
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The FAKE pulumi. It is NOT the Pulumi CLI: it appends one JSON line per invocation
# (argv, working directory, the environment variables pulumi_cli is responsible for)
# to the log file named below, and exits 1 when told to fail:
#   FAKE_PULUMI_FAIL_PROJECT=<folder>  fail any call whose --cwd is projects/<folder>
#   FAKE_PULUMI_FAIL_COMMAND=<cmd>     ... but only for that sub-command (up, destroy...)
# `pulumi stack output ...` prints FAKE_PULUMI_STACK_OUTPUT (default "{{}}": no export values).
FAKE_PULUMI_SOURCE = '''#!{python}
"""FAKE `pulumi` written by tests/unit/ops/fake_pulumi.py: records its calls, deploys nothing."""
import json
import os
import sys

argv = sys.argv[1:]
cwd_arg = argv[argv.index("--cwd") + 1] if "--cwd" in argv else None
record = {{
    "argv": argv,
    "cwd": os.getcwd(),
    "backend": os.environ.get("PULUMI_BACKEND_URL"),
    "passphrase_set": "PULUMI_CONFIG_PASSPHRASE" in os.environ
    or "PULUMI_CONFIG_PASSPHRASE_FILE" in os.environ,
}}
with open({log!r}, "a", encoding="utf-8") as log:
    log.write(json.dumps(record) + "\\n")
project = os.environ.get("FAKE_PULUMI_FAIL_PROJECT")
command = os.environ.get("FAKE_PULUMI_FAIL_COMMAND")
if project and cwd_arg == "projects/" + project and (not command or argv[0] == command):
    print("fake pulumi: failing " + " ".join(argv) + " as the test asked", file=sys.stderr)
    sys.exit(1)
if argv[:2] == ["stack", "output"]:
    print(os.environ.get("FAKE_PULUMI_STACK_OUTPUT", "{{}}"))
'''


@dataclass
class FakePulumi:
    """Where the fake lives and what it recorded."""

    bin_dir: Path
    log: Path

    def calls(self) -> list[dict[str, Any]]:
        """Every recorded invocation, in order (empty if it never ran)."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def argvs(self) -> list[list[str]]:
        """Just the argument lists, in order."""
        return [call["argv"] for call in self.calls()]


def write_fake_pulumi(tmp_path: Path) -> FakePulumi:
    """Write the fake into ``tmp_path/fake-bin`` (not yet on PATH); its log goes next to it."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    log = tmp_path / "pulumi-calls.jsonl"
    exe = bin_dir / "pulumi"
    exe.write_text(FAKE_PULUMI_SOURCE.format(python=sys.executable, log=str(log)))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return FakePulumi(bin_dir=bin_dir, log=log)
