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
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pipeline_factories import free_port

PG_BINARIES = ("initdb", "postgres")
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
    """The directory holding initdb and postgres: PATH first, then Debian's layout."""
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
            "PostgreSQL server binaries (initdb, postgres) were not found on PATH "
            "or under /usr/lib/postgresql/*/bin: run scripts/bootstrap to install them"
        )
    return bin_dir


def unprivileged_user() -> pwd.struct_passwd | None:
    """Who runs the server: ``None`` when not root, else ``postgres`` or ``nobody``."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    pytest.fail("running as root and neither the 'postgres' nor the 'nobody' user exists")


def as_user(
    user: pwd.struct_passwd | None, argv: list[str], *, parent_death_signal: str | None = None
) -> list[str]:
    """``argv`` run as ``user``; with ``parent_death_signal``, that signal is sent to the
    process when the test process dies (even by SIGKILL), so no server is orphaned."""
    if shutil.which("setpriv"):
        prefix = ["setpriv"]
        if parent_death_signal:
            prefix += ["--pdeathsig", parent_death_signal]
        if user is not None:
            prefix += [f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]
        return [*prefix, "--", *argv] if len(prefix) > 1 else argv
    if user is None:
        return argv
    if shutil.which("runuser"):
        return ["runuser", "-u", user.pw_name, "--", *argv]
    pytest.fail("running as root but neither setpriv nor runuser is available")


@contextlib.contextmanager
def running_server(bin_dir: Path) -> Iterator[PostgresServer]:
    """initdb + postgres in a temporary directory on a free port of 127.0.0.1; stop + delete.

    The server is the direct child of the test process (no ``pg_ctl`` daemonizing)
    and, where ``setpriv`` exists, gets SIGQUIT (immediate shutdown) if the test
    process is killed.
    """
    user = unprivileged_user()
    root = Path(tempfile.mkdtemp(prefix="etl-pg-"))
    data, sockets, log = root / "data", root / "sock", root / "server.log"
    sockets.mkdir()
    if user is not None:
        for path in (root, sockets):
            os.chown(path, user.pw_uid, user.pw_gid)
    process: subprocess.Popen[bytes] | None = None
    try:
        initdb = subprocess.run(
            as_user(
                user,
                [
                    str(bin_dir / "initdb"),
                    f"--pgdata={data}",
                    "--username=postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-locale",
                    "--no-sync",
                ],
            ),
            capture_output=True,
            text=True,
            timeout=120,
            cwd=root,
        )
        if initdb.returncode != 0:
            pytest.fail(f"initdb failed:\n{initdb.stdout}\n{initdb.stderr}")
        port = free_port()
        argv = [
            str(bin_dir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-k",
            str(sockets),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ]
        with log.open("wb") as log_file:
            process = subprocess.Popen(
                as_user(user, argv, parent_death_signal="QUIT"),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=root,
            )
        server = PostgresServer(host="127.0.0.1", port=port, user="postgres")
        _wait_until_ready(server, process, log)
        yield server
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def _wait_until_ready(
    server: PostgresServer, process: subprocess.Popen[bytes], log: Path, timeout: float = 60
) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            pytest.fail(f"postgres exited with {process.returncode}:\n{log.read_text()}")
        try:
            with psycopg.connect(server.conninfo(), connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                pytest.fail(
                    f"postgres did not accept connections in {timeout} s:\n{log.read_text()}"
                )
            time.sleep(0.05)
