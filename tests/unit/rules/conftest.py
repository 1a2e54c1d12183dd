"""Fixtures for the guardrail tests: the compliant synthetic platform (guardrail_platform)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from guardrail_platform import Platform, doc


@pytest.fixture
def platform() -> Platform:
    return Platform()


@pytest.fixture
def policy_doc() -> Callable[..., str]:
    """Render statements as the provider renders a policy document (JSON text)."""
    return doc
