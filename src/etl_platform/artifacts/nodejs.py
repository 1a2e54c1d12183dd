"""The build machine's Node.js: where ``node``/``npm`` and our npm tooling are.

Only needed when the catalog has a Node.js function (to build the Node layer and to
run ``nox -s compat`` on Node code) or for ``nox -s migrate``. ``scripts/bootstrap``
installs both (Debian's ``nodejs`` and ``npm`` when run as root) and the tooling in
``tools/node`` (``npm ci``: acorn for the compat check, aws-sdk-js-codemod for migrate,
the v3 SDK mocks for the Node tests).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from etl_platform.errors import EtlPlatformError
from etl_platform.paths import REPO_ROOT

__all__ = [
    "TOOLING_DIR",
    "NodeToolError",
    "require_executable",
    "require_target_node",
    "require_tooling",
    "run_tool",
]

#: package.json + package-lock.json of the build-machine tooling (never deployed).
TOOLING_DIR = REPO_ROOT / "tools" / "node"

_INSTALL_HINT = (
    "run scripts/bootstrap (as root it installs Debian's nodejs and npm), or install "
    "Node.js >= 18 with npm from https://nodejs.org"
)


class NodeToolError(EtlPlatformError):
    """node, npm or the npm tooling is missing, or a Node tool failed."""


def require_executable(name: str, why: str) -> str:
    """The path of ``node``/``npm``/``npx``, or a NodeToolError saying why it is needed."""
    found = shutil.which(name)
    if found is None:
        raise NodeToolError(f"{name} is not installed, and {why}. Fix: {_INSTALL_HINT}")
    return found


def require_tooling(package: str, why: str) -> Path:
    """``tools/node/node_modules/<package>``, installed by scripts/bootstrap (``npm ci``)."""
    path = TOOLING_DIR / "node_modules" / package
    if not path.is_dir():
        raise NodeToolError(
            f"the npm package {package} is not installed in {TOOLING_DIR}, and {why}. "
            f"Fix: run scripts/bootstrap (or: npm ci --prefix {TOOLING_DIR})"
        )
    return path


def require_target_node() -> Path:
    """Node.js 24 from npm (the ``node`` package in tools/node), the nodejs24.x target's Node.

    The machine's node may be older (Debian's); the Node functions' tests run on both.
    """
    binary = require_tooling("node", "the Node functions' tests also run on Node.js 24")
    return binary / "bin" / "node"


def run_tool(
    args: Sequence[str], why: str, *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``args`` (``args[0]`` is node, npm or npx); raise NodeToolError on failure."""
    executable = require_executable(args[0], why)
    result = subprocess.run(
        [executable, *args[1:]], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise NodeToolError(
            f"{' '.join(args[:3])} failed (exit {result.returncode}) while {why}:\n"
            f"{(result.stderr or result.stdout).strip()[-4000:]}"
        )
    return result
