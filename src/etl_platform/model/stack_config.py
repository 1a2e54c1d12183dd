"""The one reader of a project's ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml`` files.

Used by the offline runner, the guardrails' stack context, ``nox -s plan``,
``nox -s redrive`` and ``nox -s new-env``. Only PyYAML: no Pulumi SDK, so the policy
pack (which reaches this through :mod:`etl_platform.checks.rules`) loads nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from etl_platform.errors import EtlPlatformError

__all__ = ["StackConfigError", "config_mapping", "project_name", "read_stack_config"]


class StackConfigError(EtlPlatformError):
    """A ``Pulumi.yaml`` / ``Pulumi.<stack>.yaml`` file cannot be read."""


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise StackConfigError(f"{path} is not valid YAML: {exc}") from exc


def project_name(project_dir: Path) -> str:
    """The ``name:`` of ``project_dir/Pulumi.yaml``."""
    path = project_dir / "Pulumi.yaml"
    data = _load_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise StackConfigError(f"{path} has no project name: add `name: <project>`")
    return data["name"]


def config_mapping(path: Path) -> dict[str, Any]:
    """The ``config:`` mapping of a ``Pulumi.<stack>.yaml`` file, as written (empty if none)."""
    data = _load_yaml(path) or {}
    config = data.get("config") if isinstance(data, dict) else None
    return config if isinstance(config, dict) else {}


def read_stack_config(project_dir: Path, stack: str) -> dict[str, str]:
    """A stack file's config as Pulumi hands it to a program.

    Values are strings, lists and maps JSON (as ``pulumi.Config.get`` returns them);
    encrypted ``secure:`` values are left out (offline runs cannot decrypt them).
    Raises FileNotFoundError, naming the command that creates the stack, when the file
    is missing.
    """
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist: create the stack with `nox -s new-env -- {stack}`"
        )
    return {
        str(key): value if isinstance(value, str) else json.dumps(value)
        for key, value in config_mapping(path).items()
        if not (isinstance(value, dict) and "secure" in value)
    }
