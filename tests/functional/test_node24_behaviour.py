"""Functional: what compat predicts for each legacy class is what Node.js 24 does.

Each ``tests/fixtures/legacy-node/<case>/`` (small functions written for these tests)
has a ``broken/`` and a ``fixed/`` version. Both are invoked on Node.js 24 (the ``node``
npm package in tools/node, the Node of nodejs24.x) by ``invoke24.mjs``, which gives the
handler a context shaped like nodejs24.x's (no done/succeed/fail, no
callbackWaitsForEmptyEventLoop), passes no callback, and ends the invocation when the
returned promise settles (or at once for any other value), as Lambda freezes the
environment. The broken version fails as ``case.json`` says (the failure compat's
problem predicts); the fixed version returns the expected result.

This checks the runtime's *language* behaviour (Node.js 24 itself) with a context built
like the runtime's; it is not AWS's runtime client, which was not run here.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from etl_platform.artifacts.nodejs import TOOLING_DIR, require_target_node
from etl_platform.paths import REPO_ROOT

pytestmark = pytest.mark.functional

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "legacy-node"
CASES = sorted(p for p in FIXTURES.iterdir() if (p / "case.json").is_file())


def invoke(case: dict[str, Any], folder: Path) -> tuple[dict[str, Any], str]:
    """The outcome line of one invocation on Node.js 24, and what the process printed."""
    run = case.get("run") or case["handler"]
    stem, export = run.rsplit(".", 1)
    args = [
        str(require_target_node()),
        str(FIXTURES / "invoke24.mjs"),
        str(folder / f"{stem}.js"),
        export,
        json.dumps(case["event"]),
    ]
    if "s3Body" in case:
        args.append(case["s3Body"])
    env = {**os.environ, "NODE_PATH": str(TOOLING_DIR / "node_modules")}
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    outcome = next(line for line in lines if line.startswith("INVOCATION "))
    return json.loads(outcome.removeprefix("INVOCATION ")), result.stdout


@pytest.mark.parametrize("folder", CASES, ids=lambda p: p.name)
@pytest.mark.parametrize("version", ["broken", "fixed"])
def test_node24_does_what_the_check_predicts(folder: Path, version: str) -> None:
    # GIVEN a fixture and the outcome its case predicts on nodejs24.x
    case = json.loads((folder / "case.json").read_text())
    expected = case["node24"][version]
    # WHEN its handler is invoked on Node.js 24 with a nodejs24.x-shaped context
    outcome, printed = invoke(case, folder / version)
    # THEN it ran on Node 24 and ended the way predicted
    assert outcome["node"].split(".")[0] == "24"
    assert outcome["outcome"] == expected["outcome"], outcome
    if "error" in expected:
        assert outcome["error"].startswith(expected["error"]), outcome
    if "value" in expected:
        assert outcome["value"] == expected["value"]
    if "workDone" in expected:
        # the work the handler started ran before the invocation ended, or never
        assert ("WORK DONE" in printed) is expected["workDone"], printed
