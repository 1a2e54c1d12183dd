"""Unit tests of the pipeline code: no network, no AWS, no database.

The layer package is imported from its source folder (as Lambda mounts it at
/opt/python); handlers are loaded by path because every function's module is
called ``handler``.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[3]
LAYER_DIR = REPO / "layers" / "etl-common"
if str(LAYER_DIR) not in sys.path:
    sys.path.insert(0, str(LAYER_DIR))

_ids = itertools.count()


def import_handler(name: str) -> ModuleType:
    """Import ``lambdas/<name>/handler.py`` under a unique module name."""
    module_name = f"unit_handler_{name.replace('-', '_')}_{next(_ids)}"
    spec = importlib.util.spec_from_file_location(
        module_name, REPO / "lambdas" / name / "handler.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def load_handler(monkeypatch: pytest.MonkeyPatch):
    """``load_handler("transform", SUPPORTED_CURRENCIES="USD")``: env set, then a fresh import."""

    def load(name: str, **env: str) -> ModuleType:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return import_handler(name)

    return load


@pytest.fixture(scope="session")
def transform_module() -> ModuleType:
    """The transform handler module, imported once (for property tests)."""
    return import_handler("transform")


@pytest.fixture
def valid_order() -> dict:
    """A valid order record (a fresh copy per test)."""
    return {
        "order_id": "ORD-1",
        "customer_id": "cust-1",
        "amount": "19.99",
        "currency": "USD",
        "created_at": "2026-01-15T10:30:00+01:00",
        "items": [{"sku": "SKU-1", "quantity": 2, "unit_price": "9.995"}],
    }
