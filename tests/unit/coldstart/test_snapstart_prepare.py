"""Under Lambda SnapStart the API functions do their first invocation's setup at init.

``etl_common.runtime.prepare`` decides on ``AWS_LAMBDA_INITIALIZATION_TYPE`` (read at
import), so each case imports the handler in a fresh interpreter with that
environment, as Lambda's init does. No network: creating a boto3 client sends nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from etl_platform.model.catalog import FunctionSpec, load_catalog

REPO = Path(__file__).resolve().parents[3]
LAYER_DIR = REPO / "layers" / "etl-common"
SNAPSTART_FUNCTIONS = [s for s in load_catalog() if s.trigger.type == "url"]

PROBE = """
import json, sys
import handler
from etl_common import clients
print(json.dumps(sorted(clients._clients)))
"""


def clients_after_import(code_dir: Path, initialization_type: str | None) -> list[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PYTHONPATH": os.pathsep.join([str(code_dir), str(LAYER_DIR)]),
    }
    if initialization_type:
        env["AWS_LAMBDA_INITIALIZATION_TYPE"] = initialization_type
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("spec", SNAPSTART_FUNCTIONS, ids=lambda s: s.name)
def test_api_function_creates_its_client_during_a_snapstart_init(spec: FunctionSpec) -> None:
    # GIVEN an API function initialized by Lambda for a SnapStart snapshot
    # WHEN its handler module is imported (Lambda's init phase)
    created = clients_after_import(spec.code_dir, "snap-start")
    # THEN its S3 client already exists, so it is in the snapshot, not paid after restore
    assert "s3" in created


@pytest.mark.parametrize("spec", SNAPSTART_FUNCTIONS, ids=lambda s: s.name)
def test_api_function_stays_lazy_without_snapstart(spec: FunctionSpec) -> None:
    # GIVEN an on-demand init (Lambda sets "on-demand"), WHEN the handler is imported
    created = clients_after_import(spec.code_dir, "on-demand")
    # THEN nothing is created before the first request needs it
    assert created == []
