"""Fixtures for the pipeline's functional tests: moto (S3, Secrets Manager), a real
PostgreSQL server, the four handlers loaded by path, and event factories.

Rules of this tier: no network and no cloud. AWS is moto (in-process); PostgreSQL
is a real server started once per test session as an unprivileged user (the
server refuses to run as root) on a free port of 127.0.0.1, and every test that
needs it gets its own fresh database.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
LAYER_DIR = REPO / "layers" / "etl-common"
LAMBDAS_DIR = REPO / "lambdas"
if str(LAYER_DIR) not in sys.path:
    sys.path.insert(0, str(LAYER_DIR))

from etl_common import clients, logger, tracing  # noqa: E402
from pipeline_factories import BUCKET, REGION, create_db_secret  # noqa: E402
from pipeline_postgres import PostgresServer, require_postgres_bin, running_server  # noqa: E402

_module_ids = itertools.count()


# --------------------------------------------------------------------- handlers


def load_handler_module(name: str) -> ModuleType:
    """Import ``lambdas/<name>/handler.py`` under a unique module name (all are ``handler``)."""
    path = LAMBDAS_DIR / name / "handler.py"
    module_name = f"pipeline_handler_{name.replace('-', '_')}_{next(_module_ids)}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def load_handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., ModuleType]]:
    """``load_handler("transform", SUPPORTED_CURRENCIES="USD")``: env set, then a fresh import
    (handlers read their environment once, at import, as in Lambda)."""
    loaded: list[ModuleType] = []

    def load(name: str, **env: str) -> ModuleType:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        module = load_handler_module(name)
        loaded.append(module)
        return module

    yield load
    for module in loaded:
        database = getattr(module, "DATABASE", None)
        if database is not None:
            database.close()
        sys.modules.pop(module.__name__, None)


# --------------------------------------------------------------------- AWS (moto)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto S3 + Secrets Manager with the data bucket created; yields an S3 client."""
    from moto import mock_aws

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "DATA_BUCKET": BUCKET,
        "LOG_LEVEL": "INFO",
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_LAMBDA_FUNCTION_NAME", "AWS_XRAY_DAEMON_ADDRESS", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    tracing.reset()
    clients.reset()
    with mock_aws():
        import boto3

        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        yield s3
    clients.reset()
    logger.clear()


# --------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """PostgreSQL, started once for the session as an unprivileged user, stopped after.

    Missing server binaries FAIL the tests that need it (with the bootstrap hint).
    """
    with running_server(require_postgres_bin()) as server:
        yield server


@pytest.fixture
def database(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database for one test; yields its name."""
    import psycopg

    name = f"etl_test_{os.getpid()}_{next(_module_ids)}"
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def load_env(aws: Any, postgres_server: PostgresServer, database: str) -> dict[str, str]:
    """The environment the platform gives the load function, pointing at the test database."""
    arn = create_db_secret(postgres_server.host, postgres_server.port, database)
    return {
        "DB_SECRET_ARN": arn,
        "MAX_CONNECTIONS": "10",
        "DB_SSLMODE": "disable",
        "DB_CONNECT_TIMEOUT": "2",
    }
