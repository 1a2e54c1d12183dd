"""Every entry point of this repository: ``nox -l`` lists them, plain ``nox`` runs the tests.

All sessions run in the repository's one environment, ``.venv`` at the root, the same
one the Pulumi CLI uses (``venv_backend="none"``: nox creates no environments of its
own). Before a session runs its tools, the one install helper, :func:`_sync`, calls
``scripts/bootstrap``, which creates ``.venv`` if needed and reinstalls it only when
``pyproject.toml`` or ``constraints.txt`` changed (a stamp in ``.venv/.etl-stamp``), so
the check is instant on the happy path. Tools then run as ``.venv/bin/python -m <tool>``
so the right interpreter is used however nox itself was started.

Set ``ETL_SKIP_SYNC=1`` to use ``.venv`` as it is (offline machines, or when you manage
it yourself).

Sessions taking arguments read them after ``--``, e.g. ``nox -s deploy-all -- dev``.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import nox

REPO = Path(__file__).resolve().parent
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
BOOTSTRAP = REPO / "scripts" / "bootstrap"
CONSTRAINTS = REPO / "constraints.txt"
ETL_OPS = "etl_platform.ops.cli"  # the `etl-ops` console script: every verb below runs it

nox.options.sessions = ["tests"]
nox.options.default_venv_backend = "none"


def _sync(session: nox.Session, *, postgres: bool = False) -> str:
    """Bring ``.venv`` up to date (the stamp check of scripts/bootstrap); return its python.

    ``postgres=True`` also makes sure the PostgreSQL server binaries the functional
    tests start are installed (scripts/bootstrap explains how, or installs them as root).
    """
    if os.environ.get("ETL_SKIP_SYNC") == "1":
        if not VENV_PYTHON.exists():
            session.error(
                f"ETL_SKIP_SYNC=1 but {VENV_PYTHON} does not exist; run scripts/bootstrap"
            )
    else:
        args = [] if postgres else ["--skip-postgres"]
        session.run("bash", str(BOOTSTRAP), *args, external=True)
    return str(VENV_PYTHON)


def _etl_ops(session: nox.Session, verb: str, *args: str, postgres: bool = False) -> None:
    """Run ``etl-ops <verb> <args>`` (``python -m etl_platform.ops.cli``) in ``.venv``."""
    python = _sync(session, postgres=postgres)
    session.run(python, "-m", ETL_OPS, verb, *args, external=True)


def _pulumi_cli(session: nox.Session, command: str, usage: str) -> None:
    """Run one Pulumi verb of ``etl-ops`` with the session's arguments."""
    if not session.posargs:
        session.error(f"usage: nox -s {command} -- {usage}")
    _etl_ops(session, command, *session.posargs)


def _timed_pytest(session: nox.Session, python: str, *args: str) -> None:
    """Run pytest and print how long it took (wall and CPU of the child processes)."""
    wall, before = time.perf_counter(), os.times()
    try:
        session.run(python, "-m", "pytest", *args, external=True)
    finally:
        after = os.times()
        cpu = (after.children_user - before.children_user) + (
            after.children_system - before.children_system
        )
        session.log(f"{session.name}: {time.perf_counter() - wall:.1f} s wall, {cpu:.1f} s CPU")


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """Unit and functional tests (no cloud; functional ones start a real PostgreSQL).

    Hypothesis runs its ``ci`` profile here (``HYPOTHESIS_PROFILE``, tests/conftest.py).
    """
    python = _sync(session, postgres=True)
    session.env.setdefault("HYPOTHESIS_PROFILE", "ci")
    _timed_pytest(session, python, "tests/unit", "tests/functional", *session.posargs)


@nox.session(venv_backend="none")
def unit(session: nox.Session) -> None:
    """The unit tier alone, for the edit-test loop (no network, mocks only; prints its time)."""
    python = _sync(session)
    _timed_pytest(session, python, "tests/unit", "-q", *session.posargs)


@nox.session(venv_backend="none")
def integration(session: nox.Session) -> None:
    """Opt-in tests against deployed stacks (see tests/integration for what they need)."""
    python = _sync(session)
    session.run(python, "-m", "pytest", "tests/integration", *session.posargs, external=True)


@nox.session(venv_backend="none")
def lint(session: nox.Session) -> None:
    """Ruff: lint rules, then formatting (check only; fix with `ruff format`)."""
    python = _sync(session)
    paths = session.posargs or ["."]
    session.run(python, "-m", "ruff", "check", *paths, external=True)
    session.run(python, "-m", "ruff", "format", "--check", *paths, external=True)


@nox.session(venv_backend="none")
def typecheck(session: nox.Session) -> None:
    """Mypy: the library and layer ([tool.mypy] in pyproject.toml), then each program alone.

    Every handler is a module named ``handler`` and every Pulumi program a ``__main__``,
    as Lambda and Pulumi want them, so each is checked in its own mypy run.
    """
    python = _sync(session)
    if session.posargs:
        session.run(python, "-m", "mypy", *session.posargs, external=True)
        return
    session.run(python, "-m", "mypy", external=True)
    singles = sorted(REPO.glob("lambdas/*/handler.py")) + sorted(
        REPO.glob("projects/*/__main__.py")
    )
    singles.append(REPO / "policy" / "__main__.py")
    env = {"MYPYPATH": str(REPO / "layers" / "etl-common")}
    for path in singles:
        session.run(python, "-m", "mypy", str(path.relative_to(REPO)), env=env, external=True)


@nox.session(venv_backend="none")
def lock(session: nox.Session) -> None:
    """Regenerate constraints.txt: pip freeze of a fresh venv installed from pyproject.toml."""
    _sync(session)
    lines = CONSTRAINTS.read_text(encoding="utf-8").splitlines() if CONSTRAINTS.exists() else []
    header = []
    for line in lines:
        if not line.startswith("#"):
            break
        header.append(line)
    with tempfile.TemporaryDirectory(prefix="etl-lock-") as tmp:
        fresh = Path(tmp) / "venv"
        fresh_python = str(fresh / "bin" / "python")
        session.run(str(VENV_PYTHON), "-m", "venv", str(fresh), external=True)
        pip = [fresh_python, "-m", "pip", "--disable-pip-version-check"]
        session.run(*pip, "install", "--quiet", f"{REPO}[dev]", external=True)
        frozen = session.run(
            *pip, "freeze", "--exclude", "etl-platform", external=True, silent=True
        )
    if not isinstance(frozen, str) or not frozen.strip():
        session.error("pip freeze returned nothing; constraints.txt left unchanged")
    pins = [line for line in frozen.splitlines() if line.strip()]  # pip's own order
    CONSTRAINTS.write_text("\n".join([*header, *pins]) + "\n", encoding="utf-8")
    session.log(f"wrote {len(pins)} pins to {CONSTRAINTS.name}; run scripts/bootstrap to apply")


@nox.session(venv_backend="none")
def plan(session: nox.Session) -> None:
    """Offline plan of all three stacks under Pulumi's mock runtime: `nox -s plan -- [stack]`."""
    _etl_ops(session, "plan", *(session.posargs or ["dev"]))


@nox.session(venv_backend="none")
def docs(session: nox.Session) -> None:
    """Regenerate the generated parts of docs/: `nox -s docs [-- --check]`."""
    _etl_ops(session, "docs", *session.posargs)


@nox.session(name="iam-lint", venv_backend="none")
def iam_lint(session: nox.Session) -> None:
    """Lint every IAM document of the offline plans: `nox -s iam-lint -- [stack ...]`."""
    _etl_ops(session, "iam-lint", *session.posargs)


@nox.session(venv_backend="none")
def compat(session: nox.Session) -> None:
    """Check the Lambda code and the layer against the target runtime before any deploy."""
    _etl_ops(session, "compat", *session.posargs)


@nox.session(venv_backend="none")
def migrate(session: nox.Session) -> None:
    """Bring a legacy Node.js function into lambdas/: `nox -s migrate -- <dir> <name> [...]`."""
    if len(session.posargs) < 2:
        session.error(
            "usage: nox -s migrate -- <legacy-dir> <name> [--handler <file>.<export>] "
            "[--kind api|batch] [--size small|large] "
            "[--trigger url|none|s3:<prefix>|schedule:<expr>] [--read <prefix>]... "
            "[--write <prefix>]... [--list <prefix>]... [--move-tooling <package>]... "
            "[--leave-out <package>]... [--force]"
        )
    _etl_ops(session, "migrate", *session.posargs)


@nox.session(venv_backend="none")
def bench(session: nox.Session) -> None:
    """All benchmarks: one table + build/bench/results.json (`-- --quick`, `-- --list`)."""
    python = _sync(session, postgres=True)
    session.run(python, "-m", "benchmarks", *session.posargs, external=True)


@nox.session(venv_backend="none")
def build(session: nox.Session) -> None:
    """Build the function zips and the layer zip under build/ (deterministic, cached)."""
    _etl_ops(session, "build", *session.posargs)


@nox.session(venv_backend="none")
def redrive(session: nox.Session) -> None:
    """Re-invoke the events in a function's DLQ: `nox -s redrive -- <stack> <fn> [--dry-run]`."""
    if len(session.posargs) < 2:
        session.error("usage: nox -s redrive -- <stack> <function> [--dry-run]")
    _etl_ops(session, "redrive", *session.posargs)


@nox.session(name="deploy-all", venv_backend="none")
def deploy_all(session: nox.Session) -> None:
    """Preflight, then pulumi up in shared -> observability -> etl-functions: `-- <stack>`."""
    _pulumi_cli(session, "deploy-all", "<stack> [--skip-preflight]   (e.g. dev)")


@nox.session(venv_backend="none")
def audit(session: nox.Session) -> None:
    """Audit every Lambda function: `nox -s audit -- [--json] [--strict] [--code]`."""
    _etl_ops(session, "audit", *session.posargs)


@nox.session(venv_backend="none")
def preflight(session: nox.Session) -> None:
    """Can this account take the stacks? `nox -s preflight -- --stack <stack>`."""
    if not session.posargs:
        session.error("usage: nox -s preflight -- --stack <stack>   (e.g. --stack dev)")
    _etl_ops(session, "preflight", *session.posargs)


@nox.session(name="refresh-runtimes", venv_backend="none")
def refresh_runtimes(session: nox.Session) -> None:
    """Rewrite the runtime calendar from a saved AWS runtimes page: `-- <page.html|.md|.json>`."""
    if not session.posargs:
        session.error(
            "usage: nox -s refresh-runtimes -- <saved copy of "
            "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html (.html/.md) "
            "or a .json file>"
        )
    _etl_ops(session, "runtimes", "refresh", *session.posargs)


@nox.session(name="preview-all", venv_backend="none")
def preview_all(session: nox.Session) -> None:
    """pulumi preview of the three projects, in deploy order: `nox -s preview-all -- <stack>`."""
    _pulumi_cli(session, "preview-all", "<stack>   (e.g. dev)")


@nox.session(name="destroy-all", venv_backend="none")
def destroy_all(session: nox.Session) -> None:
    """pulumi destroy in reverse order (everything goes): `nox -s destroy-all -- <stack>`."""
    _pulumi_cli(session, "destroy-all", "<stack>   (e.g. dev)")


@nox.session(name="new-env", venv_backend="none")
def new_env(session: nox.Session) -> None:
    """Create a stack in all three projects: `nox -s new-env -- <suffix> [--environment prod]`."""
    _pulumi_cli(session, "new-env", "<suffix> [--environment dev|prod] [--stack <name>]")
