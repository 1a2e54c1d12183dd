"""The campaign's commands through ``etl-ops`` against moto.server, found through
``AWS_ENDPOINT_URL`` as any boto3 program finds a local emulator.

No ``mock_aws`` here: every call leaves the process for the server on 127.0.0.1.
moto's GetFunction answers with an AWS code-location URL that moto.server does not
serve, so import downloads the planted package through the estate's fetcher; every
other call is a real HTTP request to the server.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from campaign_estate import build_legacy_estate, deploy, write_stack
from moto.server import ThreadedMotoServer
from test_ops_campaign import assert_same, snapshot

from etl_platform.ops.cli import main
from etl_platform.ops.estate_import import import_function

STACK = "dev"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    """moto.server on a free port; AWS_ENDPOINT_URL points every client at it."""
    motoserver = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    motoserver.start()
    host, port = motoserver.get_host_and_port()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    reset = urllib.request.Request(f"http://{host}:{port}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset).close()  # the backends live in this process: start empty
    try:
        yield boto3.Session(region_name="us-east-1")
    finally:
        urllib.request.urlopen(reset).close()
        motoserver.stop()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_cutover_rollback_and_campaign_through_the_endpoint(
    server: boto3.Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the legacy estate on moto.server, reached only through AWS_ENDPOINT_URL
    assert server.client("lambda").meta.endpoint_url.startswith("http://127.0.0.1:")
    estate = build_legacy_estate(server)
    examples, catalog, project = tmp_path / "examples", tmp_path / "lambdas", tmp_path / "p"
    state = tmp_path / "state"
    dirs = ["--examples-dir", str(examples), "--catalog-dir", str(catalog)]
    # AND the nightly report imported, migrated and deployed
    imported = import_function(
        server, "legacy-nightly", examples_dir=examples, catalog_dir=catalog, fetch=estate.fetcher()
    )
    write_stack(project, STACK, imported.resources)
    deploy(server, catalog, "nightly", STACK)

    def states() -> dict[str, str]:
        out = run(
            capsys, "audit", "--campaign", "--json", "--stack", STACK, "--project-dir",
            str(project), *dirs,
        )  # fmt: skip
        document = json.loads(out)
        assert document["schema"] == "etl-ops-campaign/1"
        return {f["function"]: f["state"] for f in document["functions"]}

    assert states()["legacy-nightly"] == "deployed"
    assert {s for f, s in states().items() if f != "legacy-nightly"} == {"not started"}
    before = snapshot(server)
    cut = [
        "cutover", "nightly", "--stack", STACK, "--from", "legacy-nightly",
        "--project-dir", str(project), "--state-dir", str(state), "--catalog-dir", str(catalog),
    ]  # fmt: skip

    # WHEN a dry run is asked for THEN it names the schedule rule and changes nothing
    assert "EventBridge rule legacy-nightly-schedule" in run(capsys, *cut, "--dry-run")
    assert_same(before, snapshot(server))
    # WHEN cut over THEN the rule targets the new function's alias live, and the campaign
    # says so
    run(capsys, *cut)
    targets = server.client("events").list_targets_by_rule(Rule="legacy-nightly-schedule")
    arns = [t["Arn"] for t in targets["Targets"]]
    assert [arn.split(":")[-2:] for arn in arns] == [["lambda-nightly-dev", "live"]]
    assert states()["legacy-nightly"] == "cut over"
    # WHEN rolled back THEN the account's triggers are as before, field by field
    run(capsys, "cutover", "nightly", "--stack", STACK, "--from", "legacy-nightly",
        "--state-dir", str(state), "--rollback")  # fmt: skip
    assert_same(before, snapshot(server))
    assert states()["legacy-nightly"] == "deployed"
    # WHEN cut over again and retired THEN the campaign shows it retired
    run(capsys, *cut)
    run(capsys, "retire", "legacy-nightly", "--soak-days", "1")
    assert states()["legacy-nightly"] == "retired"


def test_a_refusal_is_exit_1_with_the_reason(
    server: boto3.Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a legacy function whose catalog function was never deployed
    build_legacy_estate(server)
    write_stack(tmp_path, STACK, {})
    # WHEN cutover is asked for THEN exit 1, saying what to do
    code = main(
        ["cutover", "nightly", "--stack", STACK, "--from", "legacy-nightly",
         "--project-dir", str(tmp_path), "--state-dir", str(tmp_path / "state")]
    )  # fmt: skip
    assert code == 1
    assert "lambda-nightly-dev does not exist" in capsys.readouterr().err
