"""The etl-shared program (projects/shared) under Pulumi's mock runtime, dev and prod config.

What a user relies on: one encrypted, TLS-only, 14-day dead-letter queue per catalog
function; a layer declared for the configured runtime and architecture (that its zip is
the deterministic one, and follows an architecture override, is shown against real pip
builds in tests/functional/test_layer_build.py); a permissions boundary that denies IAM
and allows nothing outside this environment; cost tags and suffixed names everywhere; the
contract's exports.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from etl_platform.checks.iam_lint import open_findings
from etl_platform.checks.offline import ACCOUNT_ID, ProgramRun, run_program
from etl_platform.errors import SettingsError
from etl_platform.infra.iam import ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS, ENI_ACTIONS
from etl_platform.model.catalog import load_catalog
from etl_platform.model.contract import SharedExports
from etl_platform.model.naming import bucket_name, log_group_name, physical_name, resource_name
from etl_platform.model.tags import REQUIRED_TAG_KEYS, is_taggable
from etl_platform.paths import LAMBDAS_DIR, PROJECTS_DIR

RunProject = Callable[..., ProgramRun]  # the conftest fixture's type
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
LAYER = "aws:lambda/layerVersion:LayerVersion"
POLICY = "aws:iam/policy:Policy"
STACKS = ("dev", "prod")
FOURTEEN_DAYS = 14 * 24 * 60 * 60
# Everything the boundary may ever allow; a new action must be a deliberate change here.
BOUNDARY_ACTIONS = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "sqs:SendMessage",
    "s3:GetObject",
    "s3:PutObject",
    "s3:AbortMultipartUpload",  # a failed streaming write leaves no part behind
    "s3:ListBucket",
    "secretsmanager:GetSecretValue",
    "kms:Decrypt",
    *ENI_ACTIONS,
    *ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS,
}
CREATE_ONLY = {"Null": {"s3:if-none-match": "false"}}
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:etl-db-AbCdEf"
SECRET_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
DATABASE_AND_VPC = {
    "etl:databaseSecretArn": SECRET_ARN,
    "etl:databaseSecretKmsKeyArn": SECRET_KEY_ARN,
    "etl:vpcSubnetIds": '["subnet-0123456789abcdef0"]',
    "etl:vpcSecurityGroupIds": '["sg-0123456789abcdef0"]',
}


# ------------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def runs() -> dict[str, ProgramRun]:
    """The real program, once per stack file (the shared stack reads no upstream stack)."""
    return {stack: run_program(PROJECTS_DIR / "shared", stack) for stack in STACKS}


def statements(document: str) -> list[dict[str, Any]]:
    parsed = json.loads(document)
    assert parsed["Version"] == "2012-10-17"
    return list(parsed["Statement"])


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def boundary_document(run: ProgramRun) -> str:
    return str(run.one(POLICY, "boundary-policy").inputs["policy"])


def add_function(catalog_dir: Path, name: str) -> None:
    """A new catalog folder, as an engineer would add it: handler + function.toml."""
    folder = catalog_dir / name
    folder.mkdir()
    (folder / "handler.py").write_text("def handler(event, context):\n    return event\n")
    (folder / "function.toml").write_text(
        f'name = "{name}"\n'
        'handler = "handler.handler"\n'
        'description = "Exports loaded batches."\n'
        'kind = "batch"\nsize = "small"\ncritical = false\ndatabase = false\n\n'
        '[trigger]\ntype = "none"\n\n'
        '[needs]\ns3_read = ["exports/"]\n'
    )


# ------------------------------------------------------------------------ dead-letter queues


@pytest.mark.parametrize("stack", STACKS)
def test_one_encrypted_fourteen_day_queue_per_catalog_function(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    # GIVEN the catalog and the stack's config
    functions = load_catalog().names
    # WHEN the program runs
    queues = runs[stack].of_type(QUEUE)
    # THEN each function has exactly one queue, named for this environment, encrypted,
    # keeping failed events for the 14-day maximum
    assert sorted(q.inputs["name"] for q in queues) == sorted(
        resource_name("dlq", fn, stack) for fn in functions
    )
    for queue in queues:
        assert queue.inputs["sqsManagedSseEnabled"] is True, queue.name
        assert queue.inputs["messageRetentionSeconds"] == FOURTEEN_DAYS, queue.name


@pytest.mark.parametrize("stack", STACKS)
def test_every_queue_denies_requests_without_tls(runs: dict[str, ProgramRun], stack: str) -> None:
    # GIVEN the program's queues and queue policies
    run = runs[stack]
    policies = {p.inputs["queueUrl"]: p for p in run.of_type(QUEUE_POLICY)}
    for queue in run.of_type(QUEUE):
        # WHEN the policy attached to the queue's URL is parsed
        policy = policies.pop(queue.outputs["url"])
        document = policy.inputs["policy"]
        # THEN it denies every SQS action on this queue to anyone, unless TLS is used
        (only,) = statements(document)
        assert only["Effect"] == "Deny"
        assert only["Principal"] == "*"
        assert only["Action"] == "sqs:*"
        assert only["Resource"] == queue.outputs["arn"]
        assert only["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        # AND parliament finds nothing wrong with it
        assert open_findings([policy]) == []
    # AND no policy is attached to anything but these queues
    assert policies == {}


# --------------------------------------------------------------------------------- the layer


@pytest.mark.parametrize("stack", STACKS)
def test_layer_is_built_for_the_configured_runtime_and_architecture(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    # GIVEN stack files that keep the defaults (python3.13 on arm64)
    # WHEN the program runs
    layer = runs[stack].one(LAYER, "layer-version")
    # THEN the layer version is named for the environment and declares that target
    assert layer.inputs["layerName"] == resource_name("layer", "etl-common", stack)
    assert layer.inputs["compatibleRuntimes"] == ["python3.13"]
    assert layer.inputs["compatibleArchitectures"] == ["arm64"]
    # AND its code is the zip built for that target, not for this machine
    assert Path(layer.inputs["code"].path).name == "etl-common-python3.13-arm64.zip"


# ----------------------------------------------------------------------- permissions boundary


@pytest.mark.parametrize("stack", STACKS)
def test_boundary_denies_everything_about_iam_and_organizations(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    # GIVEN the boundary policy, named for this environment
    policy = runs[stack].one(POLICY, "boundary-policy")
    assert policy.inputs["name"] == resource_name("boundary", "etl", stack)
    # WHEN its document is parsed
    parsed = statements(policy.inputs["policy"])
    # THEN an explicit Deny covers every IAM and Organizations action (the boundary itself too)
    denies = [s for s in parsed if s["Effect"] == "Deny"]
    assert any(
        {"iam:*", "organizations:*"} <= set(as_list(s["Action"])) and s["Resource"] == "*"
        for s in denies
    )
    # AND no Allow statement grants anything in those services, or any wildcard action
    for allow in (s for s in parsed if s["Effect"] == "Allow"):
        for action in as_list(allow["Action"]):
            assert not action.startswith(("iam:", "organizations:")), allow["Sid"]
            assert "*" not in action, allow["Sid"]


@pytest.mark.parametrize("stack", STACKS)
def test_boundary_allows_nothing_outside_this_environment(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    # GIVEN this environment's resources: its functions' log groups, its queues, its bucket
    run, catalog = runs[stack], load_catalog()
    log_groups = {
        f"arn:aws:logs:us-east-1:{ACCOUNT_ID}:log-group:"
        f"{log_group_name(resource_name('lambda', fn, stack))}:*"
        for fn in catalog.names
    }
    queues = set(run.exports[SharedExports.DLQ_ARNS].values())
    bucket = f"arn:aws:s3:::{bucket_name(stack, ACCOUNT_ID)}"
    reads = {f"{bucket}/{p}*" for spec in catalog for p in spec.s3_read}
    writes = {f"{bucket}/{p}*" for spec in catalog for p in spec.s3_write}
    # (a prefix only ever created stays create-only in the fence too)
    creates = {f"{bucket}/{p}*" for spec in catalog for p in spec.s3_create} - writes
    # WHEN every Allow statement of the boundary is checked
    allows = [s for s in statements(boundary_document(run)) if s["Effect"] == "Allow"]
    granted: dict[str, set[str]] = {}
    for allow in allows:
        actions, resources = set(as_list(allow["Action"])), set(as_list(allow["Resource"]))
        # THEN it names only known actions, and "*" only for actions AWS cannot scope
        assert actions <= BOUNDARY_ACTIONS, allow["Sid"]
        if "*" in resources:
            assert resources == {"*"}, allow["Sid"]
            assert actions <= ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS, allow["Sid"]
        else:
            known = log_groups | queues | {bucket} | reads | writes | creates
            assert resources <= known, allow["Sid"]
        if "s3:PutObject" in actions and resources & creates:
            # AND a prefix that functions only create is granted with If-None-Match only
            assert actions == {"s3:PutObject"} and resources == creates, allow["Sid"]
            assert allow["Condition"] == CREATE_ONLY, allow["Sid"]
        for action in actions:
            granted.setdefault(action, set()).update(resources)
    # AND each grant is exactly what the catalog's functions need, no more
    assert granted["logs:CreateLogStream"] == granted["logs:PutLogEvents"] == log_groups
    assert granted["sqs:SendMessage"] == queues
    assert granted["s3:GetObject"] == reads
    assert granted["s3:PutObject"] == writes | creates
    # AND listing (a missing key answers 404, not 403) only when some function needs it
    if any(spec.s3_missing_ok or spec.s3_list for spec in catalog):
        assert granted["s3:ListBucket"] == {bucket}
    else:
        assert "s3:ListBucket" not in granted
    # AND without a database secret or VPC configured, neither is granted
    assert "secretsmanager:GetSecretValue" not in granted
    assert not any(a.startswith("ec2:") for a in granted)
    # AND parliament finds nothing wrong with it
    assert open_findings([run.one(POLICY, "boundary-policy")]) == []


def test_boundary_grants_the_database_secret_its_key_and_scoped_vpc_actions_when_configured(
    run_project: RunProject,
) -> None:
    # GIVEN the dev stack with a database secret, its customer managed key and VPC settings
    # WHEN the program runs
    run = run_project("shared", "dev", config=DATABASE_AND_VPC)
    document = boundary_document(run)
    allows = {s["Sid"]: s for s in statements(document) if s["Effect"] == "Allow"}
    # THEN exactly that secret can be read
    secret = [s for s in allows.values() if "secretsmanager:GetSecretValue" in as_list(s["Action"])]
    assert [s["Resource"] for s in secret] == [SECRET_ARN]
    # AND its key decrypts only through Secrets Manager in us-east-1
    [key] = [s for s in allows.values() if "kms:Decrypt" in as_list(s["Action"])]
    assert (key["Action"], key["Resource"]) == ("kms:Decrypt", SECRET_KEY_ARN)
    assert key["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
    }
    # AND the network-interface actions are scoped: creating one only in the configured
    # subnet and security group, managing only this account's interfaces in us-east-1,
    # and only the two describe actions (no resource-level permissions) on "*"
    ec2 = f"arn:aws:ec2:us-east-1:{ACCOUNT_ID}"
    vpc = {
        action: set(as_list(s["Resource"]))
        for s in allows.values()
        for action in as_list(s["Action"])
        if action.startswith("ec2:")
    }
    assert vpc.pop("ec2:CreateNetworkInterface") == {
        f"{ec2}:network-interface/*",
        f"{ec2}:subnet/subnet-0123456789abcdef0",
        f"{ec2}:security-group/sg-0123456789abcdef0",
    }
    for action in set(ENI_ACTIONS) - {"ec2:CreateNetworkInterface"}:
        assert vpc.pop(action) == {f"{ec2}:network-interface/*"}, action
    assert vpc == {a: {"*"} for a in ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS if "ec2:" in a}
    # AND parliament reports nothing on it
    assert open_findings([run.one(POLICY, "boundary-policy")]) == []


# ------------------------------------------------------------------ tags, names, protection


@pytest.mark.parametrize("stack", STACKS)
def test_every_taggable_resource_carries_the_cost_tags(
    runs: dict[str, ProgramRun], stack: str
) -> None:
    # GIVEN every AWS resource the program registers that AWS lets us tag
    taggable = [r for r in runs[stack].custom_resources if is_taggable(r.type)]
    assert {r.type for r in taggable} >= {QUEUE, POLICY}
    # WHEN their tags are read
    for resource in taggable:
        tags = resource.inputs.get("tags") or {}
        # THEN each carries every cost tag, with this environment's values
        assert set(REQUIRED_TAG_KEYS) <= set(tags), resource.name
        assert tags["Environment"] == stack
        assert tags["EnvironmentSuffix"] == stack


def test_every_name_carries_the_configured_suffix(run_project: RunProject) -> None:
    # GIVEN the dev stack deployed as a preview environment with its own suffix
    # WHEN the program runs
    run = run_project("shared", "dev", config={"etl:environmentSuffix": "pr-42"})
    # THEN every physical name ends with that suffix, so two environments never collide
    named = [r for r in run.custom_resources if physical_name(r.type, r.inputs)]
    assert {r.type for r in named} == {QUEUE, LAYER, POLICY}
    for resource in named:
        assert resource.physical_name.endswith("-pr-42"), resource.name
    # AND the exported queue names are those suffixed names
    assert all(n.endswith("-pr-42") for n in run.exports[SharedExports.DLQ_NAMES].values())


@pytest.mark.parametrize("stack", STACKS)
def test_nothing_is_protected_or_retained(runs: dict[str, ProgramRun], stack: str) -> None:
    # GIVEN every resource of the program
    for resource in runs[stack].resources:
        # THEN `pulumi destroy` removes it: not protected, not retained, no skipped destroy
        assert not resource.protect, resource.name
        assert not resource.retain_on_delete, resource.name
        assert not resource.inputs.get("skipDestroy"), resource.name


# ----------------------------------------------------------------------------- the contract


@pytest.mark.parametrize("stack", STACKS)
def test_exports_follow_the_contract(runs: dict[str, ProgramRun], stack: str) -> None:
    # GIVEN the program's exports and resources
    run, functions = runs[stack], set(load_catalog().names)
    exports = run.exports
    # THEN exactly the contract's keys are exported (the Node layer's only with a Node function)
    node = [SharedExports.NODE_LAYER_ARN] if load_catalog().node_functions else []
    assert set(exports) == {
        SharedExports.LAYER_ARN,
        SharedExports.DLQ_ARNS,
        SharedExports.DLQ_URLS,
        SharedExports.DLQ_NAMES,
        SharedExports.BOUNDARY_ARN,
        *node,
    }
    # AND the per-function maps have an entry for every catalog function, from its queue
    queues = {q.inputs["name"]: q for q in run.of_type(QUEUE)}
    for fn in functions:
        queue = queues[exports[SharedExports.DLQ_NAMES][fn]]
        assert exports[SharedExports.DLQ_ARNS][fn] == queue.outputs["arn"]
        assert exports[SharedExports.DLQ_URLS][fn] == queue.outputs["url"]
    for key in (SharedExports.DLQ_ARNS, SharedExports.DLQ_URLS, SharedExports.DLQ_NAMES):
        assert set(exports[key]) == functions, key
    # AND the layer and boundary ARNs are those of the resources created
    assert exports[SharedExports.LAYER_ARN] == run.one(LAYER, "layer-version").outputs["arn"]
    assert exports[SharedExports.BOUNDARY_ARN] == run.one(POLICY, "boundary-policy").outputs["arn"]


def test_adding_a_function_folder_adds_its_queue_with_no_code_change(
    run_project: RunProject, tmp_path: Path
) -> None:
    # GIVEN a copy of the catalog with one more function folder
    catalog_dir = tmp_path / "lambdas"
    shutil.copytree(LAMBDAS_DIR, catalog_dir, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    add_function(catalog_dir, "export")
    # WHEN the unchanged program runs against it
    run = run_project("shared", "dev", catalog_dir=catalog_dir)
    # THEN the new function has its TLS-only queue and is in every per-function export
    queue = run.one(QUEUE, "dlq-export")
    assert queue.inputs["name"] == "dlq-export-dev"
    assert any(p.inputs["queueUrl"] == queue.outputs["url"] for p in run.of_type(QUEUE_POLICY))
    for key in (SharedExports.DLQ_ARNS, SharedExports.DLQ_URLS, SharedExports.DLQ_NAMES):
        assert "export" in run.exports[key], key
    # AND the boundary lets it log, dead-letter and read its new prefix
    document = boundary_document(run)
    assert queue.outputs["arn"] in document
    assert log_group_name(resource_name("lambda", "export", "dev")) in document
    assert f"arn:aws:s3:::{bucket_name('dev', ACCOUNT_ID)}/exports/*" in document


# ------------------------------------------------------------------------------ bad config


def test_an_empty_suffix_fails_with_the_settings_error(run_project: RunProject) -> None:
    # GIVEN a stack whose environment suffix is empty
    # WHEN the program runs
    with pytest.raises(SettingsError) as failure:
        run_project("shared", "dev", config={"etl:environmentSuffix": ""})
    # THEN it stops before creating anything, naming the key and how to fix it
    assert failure.value.key == "etl:environmentSuffix"
    assert "etl:environmentSuffix" in str(failure.value)
    assert "pulumi config set" in str(failure.value)
