"""PostgreSQL access: the Secrets Manager credential cache and the connection pool.

A :class:`Database` is created once per execution environment (at handler
module load; it does not connect then) and reused across invocations. On first
use it fetches the secret (the JSON shape RDS uses: ``host``, ``port``,
``username``, ``password``, ``dbname``), caches it, and opens a
``psycopg_pool.ConnectionPool`` of at most ``max_connections`` connections.
Connection attempts time out after ``connect_timeout`` seconds.

Password rotation: when no connection can be had and PostgreSQL rejects the cached
credentials (SQLSTATE 28P01/28000), the secret is fetched again and the pool is
reopened with it, once per borrow, so a warm execution environment survives a
rotation instead of failing until Lambda recycles it. Any other failure (the
server is down, the pool is exhausted) raises :class:`DatabaseUnavailableError`
after discarding the pool, so the next invocation starts over.

psycopg and psycopg_pool are imported on first use only (cold start of the
functions that never touch the database).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from etl_common import clients, logger, tracing
from etl_common.errors import (
    ConfigurationError,
    DatabaseUnavailableError,
    SecretUnavailableError,
)

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

__all__ = ["Credentials", "Database", "DatabaseSettings", "SecretCache"]

_log = logger.get_logger("etl.db")
_SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


@dataclass(frozen=True)
class DatabaseSettings:
    """How to reach the database (normally read from the environment by the handler)."""

    secret_arn: str
    max_connections: int = 10
    sslmode: str = "require"
    connect_timeout: float = 5.0
    application_name: str = "etl"

    def check(self) -> None:
        """Raise :class:`ConfigurationError` for a missing secret or a bad setting."""
        if not self.secret_arn:
            raise ConfigurationError(
                "DB_SECRET_ARN is empty: this function needs the ARN of the database "
                "secret (set etl:databaseSecretArn in the stack config and redeploy)"
            )
        if self.sslmode not in _SSL_MODES:
            raise ConfigurationError(
                f"DB_SSLMODE={self.sslmode!r} is not one of {', '.join(_SSL_MODES)}"
            )


@dataclass(frozen=True)
class Credentials:
    """Connection parameters taken from the secret."""

    host: str
    port: int
    username: str
    password: str
    dbname: str


class SecretCache:
    """Fetches a Secrets Manager secret once and keeps it until invalidated."""

    def __init__(self, secret_arn: str) -> None:
        self.secret_arn = secret_arn
        self._value: Credentials | None = None

    def get(self) -> Credentials:
        """Return the cached credentials (fetching them on first use)."""
        if self._value is None:
            self._value = self._fetch()
        return self._value

    def invalidate(self) -> None:
        """Forget the cached value (for example after an authentication failure)."""
        self._value = None

    def _fetch(self) -> Credentials:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = clients.get("secretsmanager").get_secret_value(SecretId=self.secret_arn)
        except (ClientError, BotoCoreError) as exc:
            raise SecretUnavailableError(
                f"cannot read the database secret {self.secret_arn}: {exc}"
            ) from exc
        try:
            data = json.loads(response.get("SecretString") or "")
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            raise ConfigurationError(
                f"the database secret {self.secret_arn} is not a JSON object ({exc})"
            ) from None
        missing = [k for k in ("host", "username", "password") if not data.get(k)]
        if missing:
            raise ConfigurationError(
                f"the database secret {self.secret_arn} lacks {', '.join(missing)}; "
                "expected the RDS shape {host, port, username, password, dbname}"
            )
        try:
            port = int(data.get("port") or 5432)
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"the database secret {self.secret_arn} has a non-numeric port"
            ) from None
        logger.add_secret(str(data["password"]))  # never in a log line, at any level
        return Credentials(
            host=str(data["host"]),
            port=port,
            username=str(data["username"]),
            password=str(data["password"]),
            dbname=str(data.get("dbname") or "postgres"),
        )


#: PostgreSQL's SQLSTATEs for rejected credentials: invalid_password and
#: invalid_authorization_specification (for example no pg_hba.conf entry for the user).
AUTHENTICATION_FAILED = ("28P01", "28000")


class Database:
    """A lazily opened connection pool reused across invocations."""

    def __init__(self, settings: DatabaseSettings) -> None:
        self.settings = settings
        self.secret = SecretCache(settings.secret_arn)
        self._pool: ConnectionPool[Any] | None = None

    def _connect_kwargs(self, credentials: Credentials) -> dict[str, Any]:
        return {
            "host": credentials.host,
            "port": credentials.port,
            "user": credentials.username,
            "password": credentials.password,
            "dbname": credentials.dbname,
            "sslmode": self.settings.sslmode,
            "connect_timeout": max(1, round(self.settings.connect_timeout)),
            "application_name": self.settings.application_name,
        }

    def _open_pool(self) -> ConnectionPool[Any]:
        """A pool with the (cached) credentials; PoolTimeout if it cannot connect."""
        self.settings.check()
        credentials = self.secret.get()
        tracing.patch_database()
        from psycopg_pool import ConnectionPool

        timeout = self.settings.connect_timeout
        pool: ConnectionPool[Any] = ConnectionPool(
            kwargs=self._connect_kwargs(credentials),
            min_size=1,
            max_size=self.settings.max_connections,
            open=False,
            timeout=timeout,
            check=ConnectionPool.check_connection,
            name=self.settings.application_name,
        )
        try:
            pool.open(wait=True, timeout=timeout)
        except BaseException:
            pool.close(timeout=0)
            raise
        _log.info(
            "database pool opened",
            extra={"db_host": credentials.host, "max_connections": self.settings.max_connections},
        )
        return pool

    def _discard_pool(self) -> None:
        if self._pool is not None:
            self._pool.close(timeout=0)
            self._pool = None

    def credentials_rejected(self) -> bool:
        """True when PostgreSQL refuses the cached credentials (a rotated password)."""
        import psycopg

        try:
            psycopg.connect(**self._connect_kwargs(self.secret.get())).close()
        except psycopg.OperationalError as exc:
            return _is_authentication_failure(exc)
        return False

    def _borrow(self) -> psycopg.Connection[Any]:
        """A connection from the pool, re-reading the secret once if it was rotated."""
        from psycopg_pool import PoolTimeout

        timeout = self.settings.connect_timeout
        for attempt in (1, 2):
            try:
                if self._pool is None:
                    self._pool = self._open_pool()
                return self._pool.getconn(timeout=timeout)
            except PoolTimeout as exc:
                credentials = self.secret.get()  # cached: the pool was opened with them
                rejected = self.credentials_rejected()
                self._discard_pool()
                self.secret.invalidate()  # the next attempt (or invocation) reads it again
                if rejected and attempt == 1:
                    _log.warning(
                        "the database rejected the cached credentials (rotated password?): "
                        "reading the secret again and reopening the pool"
                    )
                    continue
                where = f"PostgreSQL at {credentials.host}:{credentials.port}"
                raise DatabaseUnavailableError(
                    f"{where} rejects the credentials of the secret {self.secret.secret_arn}, "
                    "even after reading it again: check its username and password"
                    if rejected
                    else f"cannot connect to {where} within {timeout:g} s"
                ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """Borrow a pooled connection; unreachable database -> DatabaseUnavailableError.

        As with ``ConnectionPool.connection()``, the block's transaction is committed
        when it ends normally and rolled back when it raises.
        """
        from psycopg import OperationalError

        conn = self._borrow()
        pool = self._pool
        try:
            with conn:
                yield conn
        except OperationalError as exc:
            raise DatabaseUnavailableError(f"database error: {exc}") from exc
        finally:
            if pool is not None:
                pool.putconn(conn)

    def close(self) -> None:
        """Close the pool (tests; Lambda just freezes the environment)."""
        if self._pool is not None:
            self._pool.close(timeout=1)
            self._pool = None


def _is_authentication_failure(exc: Exception) -> bool:
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate in AUTHENTICATION_FAILED:
        return True
    # libpq reports a failed login before a session exists; older servers and some
    # paths give no SQLSTATE, only the server's message.
    text = str(exc)
    return "password authentication failed" in text or "no pg_hba.conf entry" in text
