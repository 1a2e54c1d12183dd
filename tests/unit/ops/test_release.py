"""deploy-all's release step: CodeDeploy deployments started, waited for, reported, failed loudly.

Unit tier: no network, no AWS. moto's CodeDeploy keeps every deployment in ``Created``
forever (it never shifts traffic, so nothing could be waited for), so the AWS calls
are answered by botocore's ``Stubber``, which checks every request and every canned
answer against botocore's own API models of Lambda, CodeDeploy and CloudWatch. The
``pulumi`` the release reads its export from is the recording FAKE of fake_pulumi.py.
Function names come from the catalog.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from etl_platform.model.catalog import load_catalog
from etl_platform.model.deployment import APPLICATION, DEPLOYMENT_PREFERENCES, LIVE_ALIAS
from etl_platform.model.naming import resource_name
from etl_platform.ops import pulumi_cli
from etl_platform.ops.cli import main
from etl_platform.ops.release import (
    POLL_SECONDS,
    Release,
    ReleaseClients,
    ReleaseError,
    app_spec,
    check_outcomes,
    release_all,
    releases_from_export,
)

from .fake_pulumi import FakePulumi

SUFFIX = "dev"
CATALOG = load_catalog()
CANARY = DEPLOYMENT_PREFERENCES["canary-10-5"].config_name


def release_of(name: str, version: str, smoke_event: str | None = None) -> Release:
    return Release(
        smoke_event=smoke_event,
        name=name,
        application=resource_name("deploy", APPLICATION, SUFFIX),
        group=resource_name("deploy", name, SUFFIX),
        function=resource_name("lambda", name, SUFFIX),
        alias=LIVE_ALIAS,
        version=version,
    )


def export_of(releases: list[Release]) -> dict[str, dict[str, str]]:
    """The ``releases`` export as the etl-functions stack holds it."""
    return {
        r.name: {
            "application": r.application,
            "group": r.group,
            "function": r.function,
            "alias": r.alias,
            "version": r.version,
        }
        for r in releases
    }


class Stubs:
    """Stubbed Lambda, CodeDeploy and CloudWatch clients; every call must be expected."""

    def __init__(self) -> None:
        session = botocore.session.get_session()
        keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        self.clients = ReleaseClients(
            *(
                session.create_client(service, region_name="us-east-1", **keys)
                for service in ("lambda", "codedeploy", "cloudwatch")
            )
        )
        self.lambda_ = Stubber(self.clients.lambda_)
        self.codedeploy = Stubber(self.clients.codedeploy)
        self.cloudwatch = Stubber(self.clients.cloudwatch)

    def alias_serves(self, release: Release, version: str) -> None:
        self.lambda_.add_response(
            "get_alias",
            {"Name": release.alias, "FunctionVersion": version},
            {"FunctionName": release.function, "Name": release.alias},
        )

    def smoke_answers(self, release: Release, function_error: str | None, body: bytes) -> None:
        answer: dict[str, Any] = {
            "StatusCode": 200,
            "Payload": StreamingBody(io.BytesIO(body), len(body)),
        }
        if function_error:
            answer["FunctionError"] = function_error
        self.lambda_.add_response(
            "invoke",
            answer,
            {
                "FunctionName": release.function,
                "Qualifier": release.version,
                "InvocationType": "RequestResponse",
                "Payload": str(release.smoke_event).encode("utf-8"),
            },
        )

    def deployment_created(self, release: Release, current: str, deployment_id: str) -> None:
        self.codedeploy.add_response(
            "create_deployment",
            {"deploymentId": deployment_id},
            {
                "applicationName": release.application,
                "deploymentGroupName": release.group,
                "revision": {
                    "revisionType": "AppSpecContent",
                    "appSpecContent": {"content": app_spec(release, current)},
                },
                "description": f"{release.function}: live {current} -> {release.version}",
            },
        )

    def deployment_is(self, deployment_id: str, status: str, **extra: Any) -> None:
        self.codedeploy.add_response(
            "get_deployment",
            {
                "deploymentInfo": {
                    "deploymentId": deployment_id,
                    "status": status,
                    "deploymentConfigName": CANARY,
                    "computePlatform": "Lambda",
                    **extra,
                }
            },
            {"deploymentId": deployment_id},
        )

    def alarms_in_alarm(self, release: Release, watched: list[str], firing: list[str]) -> None:
        self.codedeploy.add_response(
            "get_deployment_group",
            {
                "deploymentGroupInfo": {
                    "applicationName": release.application,
                    "deploymentGroupName": release.group,
                    "alarmConfiguration": {
                        "enabled": True,
                        "alarms": [{"name": n} for n in watched],
                    },
                }
            },
            {"applicationName": release.application, "deploymentGroupName": release.group},
        )
        self.cloudwatch.add_response(
            "describe_alarms",
            {"MetricAlarms": [{"AlarmName": n, "StateValue": "ALARM"} for n in firing]},
            {"AlarmNames": watched, "StateValue": "ALARM"},
        )

    def __enter__(self) -> Stubs:
        for stub in (self.lambda_, self.codedeploy, self.cloudwatch):
            stub.activate()
        return self

    def __exit__(self, *exc: object) -> None:
        for stub in (self.lambda_, self.codedeploy, self.cloudwatch):
            stub.assert_no_pending_responses()
            stub.deactivate()


@pytest.fixture
def stubs() -> Iterator[Stubs]:
    with Stubs() as s:
        yield s


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def test_an_unchanged_function_starts_no_deployment(stubs: Stubs) -> None:
    # GIVEN every catalog function whose alias already serves the published version
    releases = [release_of(spec.name, "7") for spec in CATALOG]
    for release in releases:
        stubs.alias_serves(release, "7")
    # WHEN the release runs
    sleeps = Sleeps()
    outcomes = release_all(releases, stubs.clients, sleep=sleeps)
    # THEN nothing is deployed, nothing waited for, and every function reports unchanged
    assert [o.status for o in outcomes] == ["unchanged"] * len(CATALOG)
    assert sleeps.calls == []
    check_outcomes(SUFFIX, outcomes)  # no error


def test_a_changed_function_is_shifted_by_codedeploy_and_waited_for(stubs: Stubs) -> None:
    # GIVEN a function whose last deploy published version 4 while its alias serves 3
    release = release_of(CATALOG.functions[0].name, "4")
    stubs.alias_serves(release, "3")
    stubs.deployment_created(release, "3", "d-ABCDEFGH1")
    stubs.deployment_is("d-ABCDEFGH1", "InProgress")
    stubs.deployment_is("d-ABCDEFGH1", "Succeeded")
    # WHEN the release runs
    sleeps = Sleeps()
    (outcome,) = release_all([release], stubs.clients, sleep=sleeps)
    # THEN CodeDeploy got an AppSpec moving the alias 3 -> 4 (the Stubber checked the
    # request against the API model), the release polled until it succeeded
    assert outcome.status == "Succeeded"
    assert (outcome.current, outcome.deployment_id, outcome.config) == ("3", "d-ABCDEFGH1", CANARY)
    assert sleeps.calls == [POLL_SECONDS]
    check_outcomes(SUFFIX, [outcome])


def test_the_app_spec_names_the_function_alias_and_both_versions() -> None:
    # GIVEN a release from version 3 to 4  WHEN its AppSpec is rendered
    release = release_of(CATALOG.functions[0].name, "4")
    spec = json.loads(app_spec(release, "3"))
    # THEN it is CodeDeploy's Lambda AppSpec for exactly that alias
    (resource,) = spec["Resources"]
    assert resource[release.name] == {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Name": release.function,
            "Alias": LIVE_ALIAS,
            "CurrentVersion": "3",
            "TargetVersion": "4",
        },
    }


def test_a_rolled_back_deployment_fails_naming_the_function_and_the_alarm(stubs: Stubs) -> None:
    # GIVEN two changed functions: the first succeeds, the second's errors alarm fires
    good, bad = (release_of(spec.name, "2") for spec in CATALOG.functions[:2])
    alarm = resource_name("alarm", f"{bad.name}-errors", SUFFIX)
    watched = [alarm, resource_name("alarm", f"{bad.name}-throttles", SUFFIX)]
    for index, release in enumerate((good, bad)):
        stubs.alias_serves(release, "1")
        stubs.deployment_created(release, "1", f"d-{index}AAAAAAAA")
    stubs.deployment_is("d-0AAAAAAAA", "Succeeded")
    stubs.deployment_is(
        "d-1AAAAAAAA",
        "Stopped",
        errorInformation={"code": "ALARM_ACTIVE", "message": f"Alarm {alarm} is in ALARM"},
        rollbackInfo={"rollbackMessage": "Rolled back by d-2AAAAAAAA"},
    )
    stubs.alarms_in_alarm(bad, watched, [alarm])
    # WHEN the release runs and its outcomes are checked
    outcomes = release_all([good, bad], stubs.clients, sleep=Sleeps())
    with pytest.raises(ReleaseError) as failure:
        check_outcomes(SUFFIX, outcomes)
    # THEN the error names the failed function and the alarm, and not the good one
    message = str(failure.value)
    assert f"{bad.name} ({bad.function}) rolled back by alarm {alarm}" in message
    assert good.name + " " not in message
    assert "docs/runbook.md" in message
    assert outcomes[1].alarms == (alarm,)
    assert "ALARM_ACTIVE" in outcomes[1].reason


def test_a_deployment_that_cannot_start_is_reported_and_the_others_still_run(
    stubs: Stubs,
) -> None:
    # GIVEN a function whose deployment group is still busy with a previous deployment
    release = release_of(CATALOG.functions[0].name, "9")
    stubs.alias_serves(release, "8")
    stubs.codedeploy.add_client_error(
        "create_deployment",
        service_error_code="DeploymentLimitExceededException",
        service_message="The deployment group already has an active deployment",
    )
    # WHEN the release runs THEN it is "not started" with CodeDeploy's reason
    (outcome,) = release_all([release], stubs.clients, sleep=Sleeps())
    assert outcome.status == "not started"
    with pytest.raises(ReleaseError, match="already has an active deployment"):
        check_outcomes(SUFFIX, [outcome])


def test_a_deployment_still_running_after_its_preference_time_times_out(stubs: Stubs) -> None:
    # GIVEN a canary deployment that never finishes, and a clock that runs
    release = release_of(CATALOG.functions[0].name, "2")
    stubs.alias_serves(release, "1")
    stubs.deployment_created(release, "1", "d-SLOWSLOW1")
    stubs.deployment_is("d-SLOWSLOW1", "InProgress")
    stubs.deployment_is("d-SLOWSLOW1", "InProgress")
    ticks = iter([0.0, 0.0, 10 * 3600.0])
    # WHEN the release has waited longer than the canary's 5 minutes plus the margin
    (outcome,) = release_all([release], stubs.clients, sleep=Sleeps(), clock=lambda: next(ticks))
    # THEN it stops waiting and says so
    assert outcome.status == "timed out"
    assert "still InProgress" in outcome.reason


def test_a_failing_smoke_invocation_keeps_the_alias_and_starts_no_deployment(
    stubs: Stubs,
) -> None:
    # GIVEN a function with a smoke event whose new version raises on it
    release = release_of(CATALOG.functions[0].name, "6", smoke_event='{"ping": true}')
    stubs.alias_serves(release, "5")
    stubs.smoke_answers(release, "Unhandled", b'{"errorMessage": "boom"}')
    # WHEN the release runs (no create_deployment is stubbed: calling it would fail)
    (outcome,) = release_all([release], stubs.clients, sleep=Sleeps())
    # THEN the version never got traffic, and the reason carries the function's error
    assert outcome.status == "smoke failed"
    assert outcome.deployment_id is None
    assert f"{release.function}:6 failed (Unhandled)" in outcome.reason
    assert "boom" in outcome.reason
    with pytest.raises(ReleaseError, match="smoke failed"):
        check_outcomes(SUFFIX, [outcome])


def test_a_passing_smoke_invocation_lets_codedeploy_shift_the_traffic(stubs: Stubs) -> None:
    # GIVEN a function with a smoke event its new version answers
    release = release_of(CATALOG.functions[0].name, "6", smoke_event='{"ping": true}')
    stubs.alias_serves(release, "5")
    stubs.smoke_answers(release, None, b'{"ok": true}')
    stubs.deployment_created(release, "5", "d-SMOKEOK01")
    stubs.deployment_is("d-SMOKEOK01", "Succeeded")
    # WHEN the release runs THEN the deployment follows the smoke test and succeeds
    (outcome,) = release_all([release], stubs.clients, sleep=Sleeps())
    assert outcome.status == "Succeeded"


@pytest.mark.parametrize(
    "value",
    [None, [], {"x": {"application": "a"}}, {"x": "not a map"}],
)
def test_a_malformed_export_is_refused_with_the_fix(value: Any) -> None:
    # GIVEN an export an out-of-date stack could hold  THEN the error says to redeploy
    with pytest.raises(ReleaseError, match="nox -s deploy-all"):
        releases_from_export(value, "the export 'releases'")


def test_deploy_all_fails_after_pulumi_up_when_a_release_rolls_back(
    cli_env: FakePulumi,
    repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    stubs: Stubs,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN the etl-functions stack exports a new version of one catalog function,
    # and CodeDeploy stops its deployment on the function's errors alarm
    release = release_of(CATALOG.functions[-1].name, "5")
    alarm = resource_name("alarm", f"{release.name}-errors", SUFFIX)
    monkeypatch.setenv("FAKE_PULUMI_STACK_OUTPUT", json.dumps(export_of([release])))
    stubs.alias_serves(release, "4")
    stubs.deployment_created(release, "4", "d-ROLLBACK1")
    stubs.deployment_is("d-ROLLBACK1", "Stopped", errorInformation={"code": "ALARM_ACTIVE"})
    stubs.alarms_in_alarm(release, [alarm], [alarm])
    monkeypatch.setattr(pulumi_cli, "aws_clients", lambda: stubs.clients)
    monkeypatch.setattr(pulumi_cli.time, "sleep", Sleeps())
    # WHEN the user deploys
    code = main(["deploy-all", "--repo", str(repo), "dev"])
    # THEN every project was updated, the export was read, and the run fails (exit 1)
    # naming the function and its alarm, with the per-function report before it
    assert code == 1
    argvs = cli_env.argvs()
    assert sum(argv[0] == "up" for argv in argvs) == len(pulumi_cli.DEPLOY_ORDER)
    assert argvs[-1][:3] == ["stack", "output", "releases"]
    err = capsys.readouterr().err
    assert f"{release.name}: STOPPED, live stays on 4 (target 5, deployment d-ROLLBACK1)" in err
    assert f"error: release of stack 'dev' failed: {release.name}" in err
    assert f"rolled back by alarm {alarm}" in err
