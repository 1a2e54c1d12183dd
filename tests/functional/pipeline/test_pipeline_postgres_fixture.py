"""The PostgreSQL fixture itself: found where Debian puts it, and a loud failure if absent."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pipeline_postgres
import pytest

pytestmark = pytest.mark.functional


def test_missing_server_binaries_fail_with_the_bootstrap_hint(monkeypatch, tmp_path):
    # GIVEN no PostgreSQL on PATH and none under the Debian layout
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(pipeline_postgres, "DEBIAN_PG_GLOB", str(tmp_path / "none" / "*" / "bin"))

    # WHEN the tests ask for the server / THEN they FAIL (not skip) saying what to run
    with pytest.raises(pytest.fail.Exception, match="run scripts/bootstrap"):
        pipeline_postgres.require_postgres_bin()


def test_debian_layout_is_found_when_path_has_no_server(monkeypatch, tmp_path):
    # GIVEN PATH without the server, and Debian's /usr/lib/postgresql/<version>/bin layout
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    for version in ("13", "15"):
        bin_dir = tmp_path / "postgresql" / version / "bin"
        bin_dir.mkdir(parents=True)
        for name in pipeline_postgres.PG_BINARIES:
            (bin_dir / name).write_text("#!/bin/sh\n")
            os.chmod(bin_dir / name, stat.S_IRWXU)
    monkeypatch.setattr(pipeline_postgres, "DEBIAN_PG_GLOB", str(tmp_path / "postgresql/*/bin"))

    # WHEN looked up / THEN the newest version is used
    assert pipeline_postgres.find_postgres_bin() == Path(tmp_path / "postgresql" / "15" / "bin")


def test_server_runs_as_an_unprivileged_user(postgres_server):
    # GIVEN the session's server / WHEN asked who runs it / THEN not root
    import psycopg

    with psycopg.connect(postgres_server.conninfo()) as conn:
        data_dir = conn.execute("SHOW data_directory").fetchone()[0]
    assert os.stat(data_dir).st_uid != 0
