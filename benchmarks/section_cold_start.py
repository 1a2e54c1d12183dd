"""Section 1: cold start per function, ours vs the naive function vs the floor.

Every sample is a fresh target interpreter (``-B``: it reads the shipped pycs and
writes none, as on Lambda's read-only file system) with the function's BUILT zip,
the built layer and the runtime's boto3 on ``sys.path``, in Lambda's environment
with active tracing (so the X-Ray patch is really applied), talking to the loopback
AWS stub. The targets are measured interleaved, round after round:

- ``bare interpreter``: ``pass``;
- ``floor``: ``import boto3; boto3.client('s3')``, what any function touching S3 pays;
- ``ours``: ``import handler`` **plus the first invocation's setup**: the invocation
  wrapper (logging context, tracing patch), the S3 client, and for a database
  function the secret, psycopg and the pool (one connection to a real PostgreSQL);
- ``naive``: the same handler behind the classic eager prologue: ``boto3``,
  ``aws_xray_sdk.core.patch_all()``, one client, and for a database function the
  secret, psycopg and an open pool, all at import;
- ``naive, no pycs``: the naive function as a naive build ships it, without our
  pycs (Lambda compiles every module of the function and the layer at each start);
- ``import only`` (API functions): ``import handler`` alone, which with the setup
  gives the SnapStart estimate (what a restored snapshot still pays on its first
  request when the setup waits for it).

Both wall time and CPU time (user + system, from the kernel) are recorded; on a busy
machine the CPU time is the steadier of the two.

The heaviest imports under each of ours (``-X importtime``, self time) are listed as
the profile to read when a number grows.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess

from benchmarks.harness import SECRET_ARN, Context, Section
from benchmarks.pipeline import database

ORDER = 1
TITLE = "1. Cold start per function (fresh interpreter: start + import + first invocation's setup)"

API_GOAL_FLOOR = "<= 1.15"
API_GOAL_NAIVE = "<= 0.60"
DATABASE_GOAL_NAIVE = "<= 0.70"

FLOOR = "import boto3\nboto3.client('s3')\n"

SETUP = """\
import handler
from etl_common import clients, runtime

class _Context:
    aws_request_id = "cold-start"

with runtime.invocation({name!r}, _Context()):
    clients.get("s3")
    if {database!r}:
        with handler.DATABASE.connection() as connection:
            connection.execute("SELECT 1")
"""

NAIVE = """\
import json
import boto3
from aws_xray_sdk.core import patch_all, xray_recorder
xray_recorder.configure(context_missing="LOG_ERROR")
patch_all()
s3 = boto3.client("s3")
if {database!r}:
    import psycopg, psycopg_pool
    secret = json.loads(
        boto3.client("secretsmanager").get_secret_value(SecretId={secret!r})["SecretString"]
    )
    pool = psycopg_pool.ConnectionPool(
        f"host={{secret['host']}} port={{secret['port']}} user={{secret['username']}} "
        f"password={{secret['password']}} dbname={{secret['dbname']}} sslmode=disable",
        min_size=1, max_size=10, open=True,
    )
    with pool.connection() as connection:
        connection.execute("SELECT 1")
import handler
"""


def _again(ctx: Context, code: str, paths: list[str], env: dict[str, str]) -> str:
    prologue = f"import sys; sys.path[:0] = {json.dumps(paths)}\n"
    return subprocess.run(
        [ctx.target_python, "-B", "-S", "-s", "-X", "importtime", "-c",
         prologue + code + "\nimport os; os._exit(0)\n"],
        env=env, capture_output=True, text=True, check=False,
    ).stderr  # fmt: skip


def _importtime(
    ctx: Context, code: str, paths: list[str], env: dict[str, str], repeat: int = 3
) -> str:
    """``-X importtime`` self times by top-level package, median of runs: where imports go."""
    runs: list[dict[str, float]] = []
    for _ in range(repeat):
        by_package: dict[str, float] = {}
        for line in _again(ctx, code, paths, env).splitlines():
            match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
            if match:
                top = match.group(2).split(".")[0]
                by_package[top] = by_package.get(top, 0.0) + int(match.group(1)) / 1000
        runs.append(by_package)
    names = set().union(*runs)
    median = {n: statistics.median(r.get(n, 0.0) for r in runs) for n in names}
    top = sorted(median.items(), key=lambda kv: kv[1], reverse=True)[:8]
    listed = ", ".join(f"{name} {ms:.0f}" for name, ms in top)
    return f"imports {sum(median.values()):.0f} ms (self time by package): {listed}"


def run(ctx: Context) -> Section:
    section = Section("cold_start", TITLE)
    from etl_platform.model.catalog import load_catalog

    specs = [s for s in load_catalog() if s.handler.startswith("handler.")]
    target = ctx.artifacts()
    database_env = database(ctx)[0] if any(s.database for s in specs) else {}

    targets: dict[str, tuple[str, list[str], dict[str, str]]] = {}
    first = specs[0].name
    targets["bare interpreter (pass)"] = ("pass", [], ctx.lambda_env(first))
    targets["floor: import boto3; boto3.client('s3')"] = (
        FLOOR, [str(ctx.runtime_dir())], ctx.lambda_env(first),
    )  # fmt: skip
    for spec in specs:
        env = ctx.lambda_env(spec.name, **(database_env if spec.database else {}))
        paths = ctx.paths(spec.name)
        setup = SETUP.format(name=spec.name, database=spec.database)
        naive_code = NAIVE.format(database=spec.database, secret=SECRET_ARN)
        targets[f"{spec.name}: ours (import + setup)"] = (setup, paths, env)
        targets[f"{spec.name}: naive (eager, patch_all)"] = (naive_code, paths, env)
        no_pyc = ctx.paths(spec.name, pyc=False)
        targets[f"{spec.name}: naive, no pycs"] = (naive_code, no_pyc, env)
        if spec.kind == "api":
            targets[f"{spec.name}: ours import only"] = ("import handler", paths, env)

    for code, paths, env in targets.values():  # warm the OS file cache, check each runs
        ctx.python(code, paths, env)
    wall: dict[str, list[float]] = {name: [] for name in targets}
    cpu: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(ctx.runs):
        for name, (code, paths, env) in targets.items():
            elapsed, used = ctx.python(code, paths, env)
            wall[name].append(elapsed)
            cpu[name].append(used)

    measured = {name: section.add(name, "ms", values) for name, values in wall.items()}
    measured_cpu = {name: section.add(f"{name} [cpu]", "ms cpu", cpu[name]) for name in targets}
    for clock, table in (("", measured), (" [cpu]", measured_cpu)):
        floor = table["floor: import boto3; boto3.client('s3')"]
        for spec in specs:
            ours = table[f"{spec.name}: ours (import + setup)"]
            naive = table[f"{spec.name}: naive (eager, patch_all)"]
            goal_floor = API_GOAL_FLOOR if spec.kind == "api" else ""
            goal_naive = (
                API_GOAL_NAIVE if spec.kind == "api"
                else DATABASE_GOAL_NAIVE if spec.database else ""
            )  # fmt: skip
            naive_source = table[f"{spec.name}: naive, no pycs"]
            section.ratio(f"{spec.name} ours / floor{clock}", ours, floor, goal_floor)
            section.ratio(f"{spec.name} ours / naive{clock}", ours, naive, goal_naive)
            section.ratio(
                f"{spec.name} ours / naive no pycs{clock}", ours, naive_source, goal_naive
            )
    for spec in specs:
        code, paths, env = targets[f"{spec.name}: ours (import + setup)"]
        section.notes.append(f"{spec.name} profile: {_importtime(ctx, code, paths, env)}")
        code, paths, env = targets[f"{spec.name}: naive (eager, patch_all)"]
        section.notes.append(f"{spec.name} naive's: {_importtime(ctx, code, paths, env, 1)}")

    # SnapStart: a restored snapshot skips init (the import); what the first request
    # still pays is the setup done lazily. Doing it at init moves it into the snapshot.
    for spec in specs:
        if spec.kind != "api":
            continue
        whole = measured_cpu[f"{spec.name}: ours (import + setup)"].median
        imported = measured_cpu[f"{spec.name}: ours import only"].median
        section.notes.append(
            f"{spec.name} SnapStart estimate: setup left to the first request costs "
            f"{whole - imported:.0f} ms CPU after every restore; done at init "
            "(runtime.prepare) it is in the snapshot: 0 ms (restore is not measurable here)"
        )
    section.notes.append(
        f"code: built zips, bytecode {target.bytecode}; interpreter {ctx.target_python}"
    )
    return section
