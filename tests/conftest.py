"""The test tiers, enforced, and what every tier shares once per session.

Tiers by folder (README *Testing*); each test gets its folder's mark, so ``-m unit`` /
``-m functional`` / ``-m "not slow"`` select them:

- ``tests/unit`` (mark ``unit``): mocks only. A unit test that opens a network socket
  (AF_INET/AF_INET6 ``connect``, in this process) fails, naming the address; a unit test
  marked ``functional`` or ``integration`` is refused at collection (move it).
- ``tests/functional`` (mark ``functional``): moto, the PostgreSQL the suite starts,
  node, the real layer builds.
- ``tests/integration`` (mark ``integration``): deployed stacks, opt-in.
- ``slow``: a test that takes seconds on its own (a real build, a subprocess plan, a nox
  run); ``nox -s unit -- -m "not slow"`` is the quickest loop.

Hypothesis profiles, chosen by ``HYPOTHESIS_PROFILE``: ``dev`` (the default, a quick
loop) and ``ci`` (``nox -s tests`` and CI: more examples, derandomized so a run is
reproducible). A test's own ``@settings`` may lower the budget, never raise it past the
profile's.

Session-wide results: :func:`planned` (one offline plan per stack and catalog) and
:func:`cli_plan` (``etl-ops plan dev`` run once for real, in a child process).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from etl_platform.checks.plan import plan_stack
from etl_platform.checks.planned import ProgramRun
from etl_platform.model.catalog import CATALOG_DIR_ENV

TESTS = Path(__file__).resolve().parent
TIERS = ("unit", "functional", "integration")

settings.register_profile(
    "dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")
settings.load_profile(HYPOTHESIS_PROFILE)


def tier_of(path: Path) -> str | None:
    """``unit`` / ``functional`` / ``integration`` from a test file's folder."""
    relative = Path(path).resolve().relative_to(TESTS)
    return relative.parts[0] if relative.parts and relative.parts[0] in TIERS else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its folder's tier; refuse a unit test marked for another tier."""
    misplaced = []
    for item in items:
        tier = tier_of(item.path)
        if tier is None:
            continue
        others = [m.name for m in item.iter_markers() if m.name in TIERS and m.name != tier]
        if tier == "unit" and others:
            misplaced.append(f"{item.nodeid}: marked {', '.join(others)} but in tests/unit")
        item.add_marker(getattr(pytest.mark, tier))
    if misplaced:
        raise pytest.UsageError(
            "tests in the wrong tier (move them to their tier's folder):\n  "
            + "\n  ".join(misplaced)
        )


class NetworkInUnitTestError(AssertionError):
    """A unit test tried to reach the network."""


@pytest.fixture(autouse=True)
def _no_network_in_unit_tests(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In tests/unit, a connect to an IP address fails the test (Unix sockets are fine)."""
    if tier_of(request.node.path) != "unit":
        return
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def refuse(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            raise NetworkInUnitTestError(
                f"{request.node.nodeid} opened a network socket to {address!r}: unit tests "
                "use mocks only; move it to tests/functional or fake the call"
            )

    def connect(sock: socket.socket, address: Any) -> None:
        refuse(sock, address)
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        refuse(sock, address)
        return real_connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


# --------------------------------------------------------------------------- plans

PlanOf = Callable[..., list[ProgramRun]]


@pytest.fixture(scope="session")
def planned() -> Iterator[PlanOf]:
    """``planned("dev")``: the offline plan of a stack's three programs, computed once per
    session for each (stack, catalog folder). Each call returns a new list of the shared
    runs: read them, never change them (copy with ``dataclasses.replace``)."""
    cache: dict[tuple[str, str], list[ProgramRun]] = {}

    def plan_of(stack: str = "dev") -> list[ProgramRun]:
        key = (stack, os.environ.get(CATALOG_DIR_ENV, ""))
        if key not in cache:
            cache[key] = plan_stack(stack)
        return list(cache[key])

    yield plan_of


@dataclass(frozen=True)
class CliPlan:
    """One real ``etl-ops plan dev`` in a child process (``PYTHONHASHSEED=1``)."""

    returncode: int
    stdout: str
    stderr: str
    plan: bytes  # the JSON it wrote (``--out``)


@pytest.fixture(scope="session")
def cli_plan(tmp_path_factory: pytest.TempPathFactory) -> CliPlan:
    """``python -m etl_platform.ops.cli plan dev`` as a user runs it, once per session."""
    out = tmp_path_factory.mktemp("cli-plan") / "plan-dev.json"
    done = subprocess.run(
        [sys.executable, "-m", "etl_platform.ops.cli", "plan", "dev", "--out", str(out)],
        cwd=TESTS.parent,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "PYTHONHASHSEED": "1"},
    )
    return CliPlan(
        done.returncode, done.stdout, done.stderr, out.read_bytes() if out.is_file() else b""
    )
