"""The test tiers and budgets of tests/conftest.py hold: what a contributor can rely on."""

from __future__ import annotations

import re
import socket

import pytest
from hypothesis import settings

from etl_platform.paths import REPO_ROOT

TESTS = REPO_ROOT / "tests"


def test_a_unit_test_carries_the_unit_mark(request: pytest.FixtureRequest) -> None:
    # GIVEN this test, in tests/unit  THEN the root conftest marked it by its folder
    assert request.node.get_closest_marker("unit") is not None
    assert request.node.get_closest_marker("functional") is None


def test_a_unit_test_that_opens_a_network_socket_fails() -> None:
    # GIVEN a TCP socket  WHEN a unit test connects it (even to this machine)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # THEN the connect is refused before any packet leaves, naming the fix
        with pytest.raises(AssertionError, match="unit tests use mocks only"):
            sock.connect(("127.0.0.1", 9))
        with pytest.raises(AssertionError, match="move it to tests/functional"):
            sock.connect_ex(("127.0.0.1", 9))


def test_a_unix_socket_is_not_the_network() -> None:
    # GIVEN a socket pair (what event loops use)  THEN it works in a unit test
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"x")
        assert right.recv(1) == b"x"


def test_hypothesis_runs_a_registered_profile() -> None:
    # GIVEN the profile chosen by HYPOTHESIS_PROFILE (dev by default, ci in nox -s tests)
    # THEN both profiles exist, ci runs more examples than dev, and one of them is loaded
    dev, ci = settings.get_profile("dev"), settings.get_profile("ci")
    assert ci.max_examples > dev.max_examples
    assert settings.default is not None
    assert settings.default.max_examples in (dev.max_examples, ci.max_examples)


def test_no_test_sets_a_hypothesis_budget_above_the_ci_profile() -> None:
    # GIVEN every test file  THEN none fixes more examples than the ci profile allows:
    # the budget is the profile's, so `nox -s unit` stays quick and CI stays bounded
    ci = settings.get_profile("ci").max_examples
    over = [
        f"{path.relative_to(REPO_ROOT)}: max_examples={n}"
        for path in sorted(TESTS.rglob("*.py"))
        if path.name != "conftest.py"
        for n in map(int, re.findall(r"max_examples\s*=\s*(\d+)", path.read_text("utf-8")))
        if n > ci
    ]
    assert over == [], "\n".join(over)
