"""Password rotation: a warm load environment re-reads the secret once and carries on.

Against the real PostgreSQL server of the suite and moto's Secrets Manager: the
password of a login role is changed on the server (and in the secret, as Secrets
Manager's rotation does) between two invocations of the same loaded handler module,
i.e. the same execution environment, with its pool and cached secret.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import psycopg
import pytest
from etl_common.db import SecretCache
from etl_common.errors import DatabaseUnavailableError
from pipeline_factories import REGION, lambda_context, put_staged, query, s3_event, staged_row
from psycopg import sql

pytestmark = pytest.mark.functional

ROLE = "etl_rotating"
FIRST = "20261129T084900Z-0000000000000a01"
SECOND = "20261129T090000Z-0000000000000a02"


def _hba_lines(conn: psycopg.Connection[Any]) -> tuple[str, list[str]]:
    path = conn.execute("SHOW hba_file").fetchone()[0]
    text = conn.execute("SELECT pg_read_file(%s)", [path]).fetchone()[0]
    lines = [ln.replace("\t", " ").rstrip() for ln in text.splitlines()]
    return path, [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def _write_hba(conn: psycopg.Connection[Any], path: str, lines: list[str]) -> None:
    assert not any("\\" in ln for ln in lines)
    conn.execute(
        sql.SQL("COPY (SELECT unnest({}::text[])) TO {}").format(
            sql.Literal(lines), sql.Literal(path)
        )
    )
    conn.execute("SELECT pg_reload_conf()")


@pytest.fixture
def password_role(postgres_server: Any, database: str) -> Iterator[str]:
    """A login role that must give its password over TCP (scram), owning the test database.

    The suite's server trusts every other role; one pg_hba.conf line in front of the
    others makes this role authenticate, and is removed again afterwards.
    """
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        path, original = _hba_lines(conn)
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(ROLE), sql.Literal("before-rotation")
            )
        )
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(database), sql.Identifier(ROLE)
            )
        )
        _write_hba(conn, path, [f"host all {ROLE} 127.0.0.1/32 scram-sha-256", *original])
    try:
        yield ROLE
    finally:
        with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
            _write_hba(conn, path, original)
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [ROLE]
            )
            conn.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                    sql.Identifier(database), sql.Identifier(postgres_server.user)
                )
            )
        with psycopg.connect(postgres_server.conninfo(database), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(ROLE)))
        with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(ROLE)))


def _secret(server: Any, database: str, password: str) -> str:
    return json.dumps(
        {
            "engine": "postgres",
            "host": server.host,
            "port": server.port,
            "username": ROLE,
            "password": password,
            "dbname": database,
        }
    )


def _rotate(server: Any, arn: str, database: str, password: str) -> None:
    """What a rotation does, seen from a warm environment: a new password on the server
    and in the secret, and the environment's idle connections gone (the server or a NAT
    closed them while the environment was frozen)."""
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(ROLE), sql.Literal(password))
        )
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [ROLE]
        )
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=arn, SecretString=_secret(server, database, password)
    )


@pytest.fixture
def rotating_load(
    aws: Any, load_handler: Any, postgres_server: Any, database: str, password_role: str
) -> tuple[Any, str]:
    arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="etl/rotating", SecretString=_secret(postgres_server, database, "before-rotation")
    )["ARN"]
    module = load_handler("load", DB_SECRET_ARN=arn, DB_SSLMODE="disable", DB_CONNECT_TIMEOUT="2")
    return module, arn


def invoke(module: Any, key: str) -> dict[str, Any]:
    return module.handler(s3_event(key), lambda_context("load"))


def test_a_warm_environment_survives_a_password_rotation(
    rotating_load: tuple[Any, str], aws: Any, postgres_server: Any, database: str, monkeypatch
) -> None:
    module, arn = rotating_load
    fetches: list[str] = []
    original_fetch = SecretCache._fetch

    def counting_fetch(self: SecretCache) -> Any:
        fetches.append(self.secret_arn)
        return original_fetch(self)

    monkeypatch.setattr(SecretCache, "_fetch", counting_fetch)
    # GIVEN a warm environment that loaded a batch with the password before rotation
    invoke(module, put_staged(aws, FIRST, [staged_row(1, FIRST)]))
    assert len(fetches) == 1

    # WHEN the password is rotated on the server and in the secret
    _rotate(postgres_server, arn, database, "after-rotation")

    # AND the same environment loads the next batch
    result = invoke(module, put_staged(aws, SECOND, [staged_row(2, SECOND)]))

    # THEN it succeeds: the secret was read once more and the pool reopened with it
    assert result["batches"][0]["loaded"] == 1
    assert len(fetches) == 2
    assert query(postgres_server, database, "SELECT count(*) FROM orders") == [(2,)]


def test_credentials_still_refused_after_one_refetch_fail_clearly(
    rotating_load: tuple[Any, str], aws: Any, postgres_server: Any, database: str
) -> None:
    module, arn = rotating_load
    # GIVEN a warm environment
    invoke(module, put_staged(aws, FIRST, [staged_row(1, FIRST)]))
    # AND a password changed on the server, but a secret that still has the old one
    _rotate(postgres_server, arn, database, "after-rotation")
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=arn, SecretString=_secret(postgres_server, database, "before-rotation")
    )

    # WHEN the next batch is loaded  THEN it fails once, naming the secret to check
    with pytest.raises(DatabaseUnavailableError, match="rejects the credentials") as caught:
        invoke(module, put_staged(aws, SECOND, [staged_row(2, SECOND)]))
    assert arn in str(caught.value)
