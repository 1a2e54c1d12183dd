"""Finding and running a PostgreSQL server for the pipeline's functional tests.

Imported as ``pipeline_postgres`` (pytest puts this folder on sys.path); the
session fixture in ``conftest.py`` uses it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_BINARIES = ("initdb", "pg_ctl", "postgres")
DEBIAN_PG_GLOB = "/usr/lib/postgresql/*/bin"


@dataclass(frozen=True)
class PostgresServer:
    """A running server: where it listens and who the superuser is (trust auth)."""

    host: str
    port: int
    user: str

    def conninfo(self, dbname: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname} sslmode=disable"


def find_postgres_bin() -> Path | None:
    """The directory holding initdb/pg_ctl/postgres: PATH first, then Debian's layout."""
    found = [shutil.which(name) for name in PG_BINARIES]
    if all(found):
        return Path(str(found[0])).parent
    candidates = sorted(
        glob.glob(DEBIAN_PG_GLOB),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    for candidate in candidates:
        if all((Path(candidate) / name).is_file() for name in PG_BINARIES):
            return Path(candidate)
    return None


def require_postgres_bin() -> Path:
    """:func:`find_postgres_bin` or FAIL (never skip) saying how to install the server."""
    bin_dir = find_postgres_bin()
    if bin_dir is None:
        pytest.fail(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found on PATH "
            "or under /usr/lib/postgresql/*/bin: run scripts/bootstrap to install them"
        )
    return bin_dir


def unprivileged_user() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    pytest.fail("running as root and neither the 'postgres' nor the 'nobody' user exists")


def as_user(user: pwd.struct_passwd | None, argv: list[str]) -> list[str]:
    if user is None:
        return argv
    if shutil.which("runuser"):
        return ["runuser", "-u", user.pw_name, "--", *argv]
    if shutil.which("setpriv"):
        return [
            "setpriv",
            f"--reuid={user.pw_uid}",
            f"--regid={user.pw_gid}",
            "--clear-groups",
            "--",
            *argv,
        ]
    pytest.fail("running as root but neither runuser nor setpriv is available")
