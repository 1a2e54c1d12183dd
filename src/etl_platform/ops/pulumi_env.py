"""The Pulumi environment every Pulumi-driving command shares: the CLI, the passphrase, the backend.

What :mod:`etl_platform.ops.pulumi_cli` (deploy-all, preview-all, destroy-all, new-env)
requires before it runs anything, and what ``etl-ops preflight``
(:mod:`etl_platform.ops.preflight`) checks and reports, from one place:

- the ``pulumi`` executable on ``PATH`` (:func:`require_pulumi`, :data:`INSTALL_HINT`);
- ``PULUMI_CONFIG_PASSPHRASE`` or ``PULUMI_CONFIG_PASSPHRASE_FILE``
  (:func:`require_passphrase`, :data:`PASSPHRASE_HINT`);
- the state backend: ``PULUMI_BACKEND_URL``, by default the git-ignored file backend
  ``file://<repo>/.pulumi-state`` (:func:`backend_env`, :data:`STATE_DIR_NAME`).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from etl_platform.errors import EtlPlatformError

__all__ = [
    "INSTALL_HINT",
    "PASSPHRASE_HINT",
    "STATE_DIR_NAME",
    "OpsError",
    "backend_env",
    "require_passphrase",
    "require_pulumi",
]

STATE_DIR_NAME = ".pulumi-state"

INSTALL_HINT = (
    "the Pulumi CLI ('pulumi') was not found on PATH.\n"
    "Install it with:\n"
    "    curl -fsSL https://get.pulumi.com | sh\n"
    "then add it to PATH (the installer puts it in ~/.pulumi/bin):\n"
    '    export PATH="$HOME/.pulumi/bin:$PATH"\n'
    "Other ways to install: https://www.pulumi.com/docs/iac/download-install/"
)
PASSPHRASE_HINT = (
    "PULUMI_CONFIG_PASSPHRASE is not set (nor PULUMI_CONFIG_PASSPHRASE_FILE).\n"
    "The stacks encrypt their secrets with a passphrase; set it before running, e.g.:\n"
    "    export PULUMI_CONFIG_PASSPHRASE='<a long secret you keep in your password manager>'\n"
    "or point PULUMI_CONFIG_PASSPHRASE_FILE at a file that holds it.\n"
    "Use the same passphrase every time for the same stack."
)


class OpsError(EtlPlatformError):
    """The run cannot start (missing CLI/passphrase, bad argument); exit code 2."""


def require_pulumi(env: Mapping[str, str]) -> str:
    """Return the path of the ``pulumi`` executable on ``env['PATH']``; raise with the hint."""
    found = shutil.which("pulumi", path=env.get("PATH", ""))
    if found is None:
        raise OpsError(INSTALL_HINT)
    return found


def require_passphrase(env: Mapping[str, str]) -> None:
    """Raise unless the passphrase secrets provider can get its passphrase from ``env``."""
    if "PULUMI_CONFIG_PASSPHRASE" in env:
        return
    passphrase_file = env.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    if passphrase_file:
        if not Path(passphrase_file).is_file():
            raise OpsError(
                f"PULUMI_CONFIG_PASSPHRASE_FILE={passphrase_file} does not exist or is not "
                "a file. Point it at the file holding the stack passphrase, or set "
                "PULUMI_CONFIG_PASSPHRASE instead."
            )
        return
    raise OpsError(PASSPHRASE_HINT)


def backend_env(repo: Path, env: Mapping[str, str]) -> dict[str, str]:
    """The child environment: ``env`` plus the default file backend unless one is set.

    Creates ``<repo>/.pulumi-state`` when it is the backend in use.
    """
    child = dict(env)
    if not child.get("PULUMI_BACKEND_URL"):
        state_dir = repo / STATE_DIR_NAME
        state_dir.mkdir(parents=True, exist_ok=True)
        child["PULUMI_BACKEND_URL"] = f"file://{state_dir}"
    return child
