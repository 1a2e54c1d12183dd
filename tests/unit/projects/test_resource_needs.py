"""Needs on resources the platform does not own, planned for dev and prod under Pulumi's mocks.

A temporary catalog holds one function declaring every need of
:data:`etl_platform.model.needs.NEEDS`; each stack's config declares one resource per
kind in ``etl:resources``. What a user relies on: the role grants exactly each need's
actions on exactly the declared ARNs (no ``*``), the boundary allows the same, every
guardrail passes and parliament has nothing to say; and a name the stack does not
declare, or a resource of the wrong kind, stops the plan with the function, the name,
the stack and the fix.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from etl_platform.checks.iam_lint import open_findings
from etl_platform.checks.offline import ACCOUNT_ID, ProgramRun, run_program
from etl_platform.checks.plan import DEPLOY_ORDER
from etl_platform.checks.rules import Context, evaluate
from etl_platform.errors import CatalogError
from etl_platform.model.catalog import load_catalog
from etl_platform.model.contract import stack_reference_name
from etl_platform.model.needs import NEEDS, Need, split_reference
from etl_platform.model.resources import ARN_SHAPES
from etl_platform.model.settings import DEFAULT_STACK_ORG, RESOURCES_KEY
from etl_platform.paths import PROJECTS_DIR

RunProject = Callable[..., ProgramRun]  # the conftest fixture's type
STACKS = ("dev", "prod")
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
FUNCTION = "probe"
PREFIX = "reports/"  # the key prefix the bucket needs use on one of their two entries


def resource_name(service: str, kind: str) -> str:
    return f"{service}-{kind}".replace("secretsmanager", "secret")


def resources_of(stack: str) -> dict[str, str]:
    """One resource of every kind in ARN_SHAPES, named ``<service>-<kind>``, per stack."""
    return {
        resource_name(shape.service, shape.kind): shape.arn_example("us-east-1")
        .replace("123456789012", ACCOUNT_ID)
        .replace("-dev", f"-{stack}")
        for shape in ARN_SHAPES
    }


def entries_of(n: Need) -> list[str]:
    """What the probe lists for need ``n``: a data prefix, or resource names."""
    if n.on_data_bucket:
        # a write and a create-only prefix may not be the same; the rest read raw/
        return [{"s3_write": "out/", "s3_create": "new/"}.get(n.key, "raw/")]
    name = resource_name(*n.target)
    # a bucket need shows both forms: a prefix of one bucket, and (write) a whole bucket
    return [f"{name}/{PREFIX}"] if n.key == "bucket_read" else [name]


def write_catalog(root: Path, needs: dict[str, list[str]]) -> Path:
    folder = root / FUNCTION
    folder.mkdir(parents=True)
    (folder / "handler.py").write_text("def handler(event, context):\n    return None\n")
    lines = "\n".join(f"{key} = {json.dumps(values)}" for key, values in needs.items())
    (folder / "function.toml").write_text(
        f'name = "{FUNCTION}"\nhandler = "handler.handler"\ndescription = "Every need."\n'
        f'kind = "batch"\nsize = "small"\n\n[needs]\n{lines}\n'
    )
    return root


def plan(stack: str, catalog_dir: Path, resources: dict[str, str]) -> list[ProgramRun]:
    """The three programs in deploy order (as nox -s plan runs them), with etl:resources."""
    config = {RESOURCES_KEY: json.dumps(resources)}
    runs: list[ProgramRun] = []
    outputs: dict[str, dict[str, Any]] = {}
    for project, folder in DEPLOY_ORDER:
        run = run_program(
            PROJECTS_DIR / folder,
            stack,
            config=config,
            stack_outputs=outputs,
            catalog_dir=catalog_dir,
        )
        outputs[stack_reference_name(DEFAULT_STACK_ORG, project, stack)] = run.exports
        runs.append(run)
    return runs


@pytest.fixture(scope="module")
def catalog_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_catalog(
        tmp_path_factory.mktemp("catalog"), {n.key: entries_of(n) for n in NEEDS if n.in_catalog}
    )


@pytest.fixture(scope="module")
def plans(catalog_dir: Path) -> dict[str, list[ProgramRun]]:
    return {stack: plan(stack, catalog_dir, resources_of(stack)) for stack in STACKS}


def statements(document: str) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in json.loads(document)["Statement"]}


def as_set(value: Any) -> set[str]:
    return {value} if isinstance(value, str) else set(value)


def expected_arns(n: Need, stack: str) -> set[str]:
    declared = resources_of(stack)
    found: set[str] = set()
    for entry in entries_of(n):
        name, prefix = split_reference(entry)
        found |= set(n.arns(declared[name], prefix))
    return found


def one(runs: list[ProgramRun], type_token: str, name: str) -> str:
    run = next(r for r in runs if any(x.type == type_token and x.name == name for x in r.resources))
    return str(run.one(type_token, name).inputs["policy"])


@pytest.mark.parametrize("stack", STACKS)
def test_the_role_grants_each_need_exactly_on_the_declared_arns(
    plans: dict[str, list[ProgramRun]], stack: str
) -> None:
    # GIVEN the planned role policy of a function that declares every resource need
    role = statements(one(plans[stack], ROLE_POLICY, f"{FUNCTION}-policy"))
    for n in (n for n in NEEDS if n.in_catalog and not n.on_data_bucket):
        # THEN its statement allows exactly the need's actions
        granted = role[n.sid]
        assert as_set(granted["Action"]) == set(n.actions), n.key
        # AND exactly the ARNs the stack declares for the names it lists (a table's
        # indexes, a bucket's prefix), this stack's own, never '*'
        assert as_set(granted["Resource"]) == expected_arns(n, stack), n.key
        assert "*" not in as_set(granted["Resource"])
    # AND the data-bucket delete is on its prefix of this stack's bucket
    bucket = f"arn:aws:s3:::etl-data-{stack}-{ACCOUNT_ID}"
    assert role["DeleteObjects"]["Action"] == "s3:DeleteObject"
    assert as_set(role["DeleteObjects"]["Resource"]) == {f"{bucket}/raw/*"}


@pytest.mark.parametrize("stack", STACKS)
def test_the_boundary_allows_exactly_the_same(
    plans: dict[str, list[ProgramRun]], stack: str
) -> None:
    # GIVEN the shared stack's permissions boundary for the same catalog and resources
    fence = statements(one(plans[stack], POLICY, "boundary-policy"))
    for n in (n for n in NEEDS if n.in_catalog and not n.on_data_bucket):
        # THEN each need's statement is there with the same actions and ARNs: the role's
        # grants are inside the fence, and the fence is no wider
        assert as_set(fence[n.sid]["Action"]) == set(n.actions), n.key
        assert as_set(fence[n.sid]["Resource"]) == expected_arns(n, stack), n.key
    assert fence["DeleteCatalogPrefixes"]["Action"] == "s3:DeleteObject"


@pytest.mark.parametrize("stack", STACKS)
def test_every_guardrail_passes_and_parliament_is_silent(
    plans: dict[str, list[ProgramRun]], stack: str, catalog_dir: Path
) -> None:
    # GIVEN the three programs' resources together
    resources = [r for run in plans[stack] for r in run.resources]
    context = Context(
        environment=stack, suffix=stack, catalog=load_catalog(catalog_dir), whole_platform=True
    )
    # WHEN every rule (the need rules included) and the IAM linter run
    violations = evaluate(resources, context)
    # THEN nothing fires
    assert [str(v) for v in violations] == []
    assert [str(f) for f in open_findings(resources)] == []


def test_a_name_the_stack_does_not_declare_fails_the_plan(
    tmp_path: Path, run_project: RunProject
) -> None:
    # GIVEN an entry naming a queue, in a stack that declares every kind but that queue
    catalog = write_catalog(tmp_path, {"sqs_send": ["orders"]})
    # WHEN the functions program plans
    with pytest.raises(CatalogError) as caught:
        run_project(
            "etl-functions",
            "dev",
            config={RESOURCES_KEY: json.dumps(resources_of("dev"))},
            catalog_dir=catalog,
        )
    # THEN the message names the function, the name, the stack, the key and the fix
    message = str(caught.value)
    for words in (
        f"function '{FUNCTION}'",
        "'orders'",
        "stack 'dev'",
        "needs.sqs_send",
        "pulumi config set --path 'etl:resources.orders'",
    ):
        assert words in message, message


def test_a_resource_of_the_wrong_kind_fails_the_plan_with_the_fix(
    tmp_path: Path, run_project: RunProject
) -> None:
    # GIVEN an entry reading "a table" that the stack declares as a queue
    catalog = write_catalog(tmp_path, {"dynamodb_read": ["sqs-queue"]})
    # WHEN the shared program (the boundary) plans
    with pytest.raises(CatalogError) as caught:
        run_project(
            "shared",
            "dev",
            config={RESOURCES_KEY: json.dumps(resources_of("dev"))},
            catalog_dir=catalog,
        )
    # THEN it says what the resource is, what the need acts on, and where it fits
    message = str(caught.value)
    for words in ("is the SQS queue", "acts on a DynamoDB table", "use it in sqs_send"):
        assert words in message, message
