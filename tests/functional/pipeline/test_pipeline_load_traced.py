"""load's database path with X-Ray tracing switched on, as in Lambda with active tracing.

Runs in a child interpreter (so the test process never patches psycopg or botocore)
with a capturing emitter instead of the UDP daemon.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pipeline_factories import query

pytestmark = pytest.mark.functional

REPO = Path(__file__).resolve().parents[3]

PROBE = r"""
import importlib.util, json, sys
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.lambda_launcher import LambdaContext

sent = []
class Emitter:
    def send_entity(self, entity):
        sent.append(entity.to_dict())
    def set_daemon_address(self, address):
        pass
xray_recorder.configure(emitter=Emitter(), context=LambdaContext())

spec = importlib.util.spec_from_file_location("load_handler", sys.argv[1])
handler = importlib.util.module_from_spec(spec)
spec.loader.exec_module(handler)
from etl_common import datasets, tracing
from etl_common.db import Credentials

server = json.loads(sys.argv[2])
handler.DATABASE.secret.get = lambda: Credentials(
    host=server["host"], port=server["port"], username="postgres", password="x",
    dbname=server["dbname"],
)
dataset = datasets.get("orders")
data = (",".join(dataset.staged_file_columns) + "\n" + "".join(
    f"T-{i},c,{i},USD,2026-01-01T00:00:00Z,0,traced,2026-01-01T00:00:00Z,{i + 1}\n"
    for i in range(3)
)).encode()
from etl_common.s3 import S3Object
with tracing.subsegment("load", batch_id="traced"):
    obj = S3Object(bucket="b", key="staged/traced.csv", event_name="ObjectCreated:Put")
    changed = handler._load_batch(obj, dataset, "traced", lambda: [data], {"staged": 3}).changed
handler.DATABASE.close()
print(json.dumps({
    "changed": changed,
    "patched": sorted(tracing._state["patched"]),
    "sent": sent,
}, default=str))
"""


def test_load_works_with_tracing_on_and_traces_sql(
    postgres_server: Any, database: str, tmp_path: Path
) -> None:
    # GIVEN a child interpreter that looks like Lambda with active tracing
    env = {
        "AWS_LAMBDA_FUNCTION_NAME": "lambda-load-dev",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "LAMBDA_TASK_ROOT": str(tmp_path),
        "_X_AMZN_TRACE_ID": (
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
        ),
        "PYTHONPATH": str(REPO / "layers" / "etl-common"),
        "PATH": "/usr/bin:/bin",
        "DB_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:etl-db",
        "DB_SSLMODE": "disable",
        "DB_CONNECT_TIMEOUT": "5",
    }
    server = {"host": postgres_server.host, "port": postgres_server.port, "dbname": database}

    # WHEN load's database path runs through the psycopg pool with X-Ray patching
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE,
            str(REPO / "lambdas" / "load" / "handler.py"),
            json.dumps(server),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )

    # THEN the batch is upserted, psycopg was patched, and the SQL appears in the trace
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["changed"] == 3
    assert report["patched"] == ["botocore", "psycopg"]
    sent = report["sent"]
    (load,) = [entity for entity in sent if entity["name"] == "load"]
    # (first_trace_id: no upstream object named an earlier trace, so it is this one)
    assert load["annotations"] == {
        "batch_id": "traced",
        "first_trace_id": "1-5759e988-bd862e3fe1be46a994272793",
    }
    sql = [entity for entity in sent if entity.get("sql")]
    sql += [sub for sub in load.get("subsegments", []) if sub.get("sql")]
    assert sql, sent
    assert all(entity["sql"]["database_type"] == "PostgreSQL" for entity in sql)
    # AND the SDK complained about nothing (no missing context, no daemon errors)
    assert "error" not in result.stderr.lower(), result.stderr
    assert query(postgres_server, database, "SELECT count(*) FROM orders") == [(3,)]
