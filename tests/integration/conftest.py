"""Integration tests: against stacks deployed with ``nox -s deploy-all -- <stack>``.

Opt-in. They need AWS credentials for the account and the three stacks' outputs,
given as a directory of ``pulumi stack output --json`` files::

    mkdir -p build/outputs
    for p in shared observability etl-functions; do
      pulumi stack output --json --show-secrets --stack dev --cwd projects/$p \
        > build/outputs/$p.json
    done
    ETL_STACK_OUTPUTS=build/outputs nox -s integration

Without ``ETL_STACK_OUTPUTS`` every test here is skipped, with that reason.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

OUTPUTS_ENV = "ETL_STACK_OUTPUTS"
PROJECT_FILES = {
    "shared": "shared.json",
    "observability": "observability.json",
    "functions": "etl-functions.json",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(OUTPUTS_ENV):
        return
    skip = pytest.mark.skip(
        reason=f"no deployed stack: set {OUTPUTS_ENV} to a directory of `pulumi stack output "
        "--json` files (see tests/integration/conftest.py)"
    )
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def outputs() -> dict[str, dict[str, Any]]:
    """The three stacks' exports, by project ("shared", "observability", "functions")."""
    root = Path(os.environ[OUTPUTS_ENV])
    loaded = {}
    for project, filename in PROJECT_FILES.items():
        path = root / filename
        if not path.is_file():
            pytest.fail(f"{path} is missing: export it with pulumi stack output --json")
        loaded[project] = json.loads(path.read_text())
    return loaded


@pytest.fixture(scope="session")
def region() -> str:
    return "us-east-1"
