"""The CrossGuard pack (policy/) wires the same rules, without the Pulumi CLI.

The pack module is loaded from ``policy/__main__.py`` under another name (so it does
not start its gRPC server), its policies are fed the argument objects pulumi-policy
itself builds (properties behind pulumi-policy's unknown-checking proxy, as the
engine hands them), and a captured ``PolicyPack`` shows what the CLI would serve.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from etl_platform.checks.offline import PlannedResource
from etl_platform.checks.rules import RULES, Context, evaluate, stack_context
from etl_platform.model.catalog import load_catalog
from etl_platform.paths import REPO_ROOT

POLICY_DIR = REPO_ROOT / "policy"
FUNCTION = "aws:lambda/function:Function"


@pytest.fixture(scope="module")
def pack() -> ModuleType:
    """The pack module, loaded from policy/__main__.py under another name: not served."""
    spec = importlib.util.spec_from_file_location("etl_guardrails_pack", POLICY_DIR / "__main__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def dev_context() -> Context:
    return Context(environment="dev", suffix="dev")


def _opts(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def resource_args(
    resource_type: str, name: str, props: dict[str, Any], protect: bool = False
) -> ResourceValidationArgs:
    return ResourceValidationArgs(
        resource_type,
        unknown_checking_proxy(props),
        f"urn:pulumi:dev::etl-functions::{resource_type}::{name}",
        name,
        _opts(protect),
        None,
    )


def stack_args(resources: list[tuple[str, str, dict[str, Any]]]) -> StackValidationArgs:
    return StackValidationArgs(
        [
            PolicyResource(
                t,
                unknown_checking_proxy(p),
                f"urn:pulumi:dev::etl-functions::{t}::{n}",
                n,
                _opts(),
                None,
                None,
                [],
                {},
            )
            for t, n, p in resources
        ]
    )


def _policy(pack: ModuleType, rule_id: str, context: Context) -> Any:
    return next(p for p in pack.policies(lambda: context) if p.name == rule_id)


def _reported(policy: Any, args: Any) -> list[tuple[str, str | None]]:
    reports: list[tuple[str, str | None]] = []
    policy.validate(args, lambda message, urn=None: reports.append((message, urn)))
    return reports


def good_function(**changes: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "name": "lambda-transform-dev",
        "runtime": "python3.13",
        "layers": ["arn:aws:lambda:us-east-1:123456789012:layer:layer-etl-common-dev:1"],
        "memorySize": 1024,
        "timeout": 300,
        "role": "arn:aws:iam::123456789012:role/role-transform-dev",
        "tracingConfig": {"mode": "Active"},
        "deadLetterConfig": {"targetArn": "arn:aws:sqs:us-east-1:123456789012:dlq-transform-dev"},
        "loggingConfig": {"logFormat": "JSON"},
    }
    props.update(changes)
    return props


# ----------------------------------------------------------------------------- the pack


def test_the_pack_serves_one_mandatory_policy_per_rule(
    pack: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN PolicyPack replaced by a recorder (the real one starts a gRPC server)
    served: dict[str, Any] = {}
    monkeypatch.setattr(pack, "PolicyPack", lambda **kwargs: served.update(kwargs))
    # WHEN the CLI would start the pack
    pack.main()
    # THEN it serves "etl-guardrails", MANDATORY, with a policy per single-stack rule
    assert served["name"] == "etl-guardrails"
    assert served["enforcement_level"] is EnforcementLevel.MANDATORY
    by_name = {p.name: p for p in served["policies"]}
    expected = {r.id: r for r in RULES if not r.whole_platform}
    assert set(by_name) == set(expected)
    for rule_id, rule in expected.items():
        kind = ResourceValidationPolicy if rule.scope == "resource" else StackValidationPolicy
        assert isinstance(by_name[rule_id], kind), rule_id
        assert by_name[rule_id].description == rule.description
        assert by_name[rule_id].enforcement_level is EnforcementLevel.MANDATORY


def test_the_pack_project_file_uses_the_repo_environment() -> None:
    # GIVEN PulumiPolicy.yaml  THEN it is a Python pack running in the repo's .venv,
    # which is where etl_platform (the rules) is installed
    project = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    venv = (POLICY_DIR / project["runtime"]["options"]["virtualenv"]).resolve()
    assert venv == (REPO_ROOT / ".venv").resolve()


# ------------------------------------------------------------------- resource policies


def test_a_function_switched_to_nodejs18_is_refused_with_the_rule_message(
    pack: ModuleType, dev_context: Context
) -> None:
    # GIVEN the runtime policy and a function on nodejs18.x
    policy = _policy(pack, "lambda-runtime-supported", dev_context)
    args = resource_args(FUNCTION, "transform", good_function(runtime="nodejs18.x"))
    # WHEN the engine validates it
    reports = _reported(policy, args)
    # THEN the violation is the rule's own message, naming the function and the fix
    assert len(reports) == 1
    message = reports[0][0]
    assert message.startswith(f"{FUNCTION} 'lambda-transform-dev': runtime nodejs18.x")
    assert "python3.13" in message


def test_a_compliant_function_passes_every_resource_policy(
    pack: ModuleType, dev_context: Context
) -> None:
    # GIVEN a function built the way the platform builds it (tags aside)
    props = good_function(
        tags={
            "Project": "etl-platform",
            "Environment": "dev",
            "EnvironmentSuffix": "dev",
            "ManagedBy": "pulumi",
            "CostCenter": "data-platform",
            "Owner": "data-platform-team",
        }
    )
    # WHEN every resource policy validates it  THEN none reports anything
    for policy in pack.policies(lambda: dev_context):
        if isinstance(policy, ResourceValidationPolicy):
            assert _reported(policy, resource_args(FUNCTION, "transform", props)) == [], policy.name


def test_tracing_off_is_refused(pack: ModuleType, dev_context: Context) -> None:
    policy = _policy(pack, "lambda-tracing-active", dev_context)
    args = resource_args(
        FUNCTION, "transform", good_function(tracingConfig={"mode": "PassThrough"})
    )
    (report,) = _reported(policy, args)
    assert "not Active" in report[0]


def test_protect_is_read_from_the_resource_options(pack: ModuleType, dev_context: Context) -> None:
    # GIVEN a queue registered with protect=True
    policy = _policy(pack, "destroyable", dev_context)
    args = resource_args("aws:sqs/queue:Queue", "dlq", {"name": "dlq-x-dev"}, protect=True)
    # THEN the destroyable policy refuses it
    (report,) = _reported(policy, args)
    assert "protected" in report[0]


def test_a_value_unknown_during_preview_is_not_a_false_violation(
    pack: ModuleType, dev_context: Context
) -> None:
    # GIVEN a DLQ ARN that is only known after the queue is created
    policy = _policy(pack, "lambda-dead-letter-queue", dev_context)
    props = good_function(deadLetterConfig={"targetArn": UNKNOWN_STRING_VALUE})
    # WHEN validated during preview
    # THEN pulumi-policy's UnknownValueError propagates (the engine reports "can't run
    # during preview" as advisory) instead of a false "no dead-letter queue"
    with pytest.raises(UnknownValueError):
        _reported(policy, resource_args(FUNCTION, "transform", props))


# ---------------------------------------------------------------------- stack policies


def test_a_shared_role_is_refused_by_the_stack_policy(
    pack: ModuleType, dev_context: Context
) -> None:
    # GIVEN two functions using the same role
    policy = _policy(pack, "iam-role-per-function", dev_context)
    args = stack_args(
        [
            (FUNCTION, "transform", good_function()),
            (FUNCTION, "load", good_function(name="lambda-load-dev")),
        ]
    )
    # WHEN the stack is validated
    reports = _reported(policy, args)
    # THEN the second function is reported, with its URN
    assert len(reports) == 1
    message, urn = reports[0]
    assert message.startswith(f"{FUNCTION} 'lambda-load-dev': shares execution role")
    assert urn is not None and urn.endswith("::load")


def test_the_context_comes_from_the_stack_the_cli_names(
    pack: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the CLI's environment for `pulumi preview` of etl-functions, stack prod
    monkeypatch.setenv("PULUMI_PROJECT", "etl-functions")
    monkeypatch.setenv("PULUMI_STACK", "prod")
    pack.pack_context.cache_clear()
    try:
        # WHEN the pack asks for its context
        context = pack.pack_context()
    finally:
        pack.pack_context.cache_clear()
    # THEN it is prod's, read from projects/etl-functions/Pulumi.prod.yaml
    assert (context.environment, context.suffix) == ("prod", "prod")


# ------------------------------------------------- the pack over the real programs' plan


def _as_policy_resources(resources: list[PlannedResource]) -> Iterator[tuple[str, str, dict]]:
    for r in resources:
        if r.custom:
            yield r.type, r.name, r.props


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_pack_agrees_with_the_rules_on_the_real_programs(
    pack: ModuleType, stack: str, planned: Any
) -> None:
    # GIVEN the three real programs' offline plan for the stack
    runs = planned(stack)
    for run in runs:
        context = stack_context(stack)
        # WHEN each stack goes through every policy of the pack, as the engine would
        reports: list[str] = []
        for policy in pack.policies(lambda context=context: context):
            if isinstance(policy, ResourceValidationPolicy):
                for t, n, p in _as_policy_resources(run.resources):
                    args = resource_args(t, n, p)
                    reports += [m for m, _ in _reported(policy, args)]
            else:
                whole = stack_args(list(_as_policy_resources(run.resources)))
                reports += [m for m, _ in _reported(policy, whole)]
        # THEN the pack reports exactly what the rules report for that stack
        expected = [v.message for v in evaluate(run.resources, context)]
        assert sorted(reports) == sorted(expected), run.project


# ------------------------------------------------------------------- Node.js functions

NODE_ENTRY = """
name = "nightly"
runtime = "nodejs24.x"
handler = "index.handler"
description = "A Node.js function."
kind = "batch"
size = "small"
"""


def _node_context(tmp_path: Path) -> Context:
    folder = tmp_path / "nightly"
    folder.mkdir()
    (folder / "function.toml").write_text(NODE_ENTRY)
    (folder / "index.js").write_text("exports.handler = async () => ({});\n")
    return Context(environment="dev", suffix="dev", catalog=load_catalog(tmp_path))


def node_function(**changes: Any) -> dict[str, Any]:
    props = good_function(
        name="lambda-nightly-dev",
        runtime="nodejs24.x",
        layers=["arn:aws:lambda:us-east-1:123456789012:layer:layer-etl-node-dev:1"],
        memorySize=512,
        tags={
            "Project": "etl-platform",
            "Environment": "dev",
            "EnvironmentSuffix": "dev",
            "ManagedBy": "pulumi",
            "CostCenter": "data-platform",
            "Owner": "data-platform-team",
        },
    )
    props.update(changes)
    return props


def test_a_compliant_node_function_passes_every_resource_policy(
    pack: ModuleType, tmp_path: Path
) -> None:
    # GIVEN a catalog with a Node.js function, built the way the platform builds it
    context = _node_context(tmp_path)
    # WHEN every resource policy validates it  THEN none reports anything
    for policy in pack.policies(lambda: context):
        if isinstance(policy, ResourceValidationPolicy):
            args = resource_args(FUNCTION, "nightly", node_function())
            assert _reported(policy, args) == [], policy.name


@pytest.mark.parametrize(
    ("changes", "policy_name", "words"),
    [
        (
            {"runtime": "python3.13"},
            "lambda-runtime-supported",
            ("not a nodejs runtime", "nodejs24.x"),
        ),
        (
            {"runtime": "nodejs20.x"},
            "lambda-runtime-supported",
            ("deprecated by AWS since", "2026-04-30"),
        ),
        (
            {"layers": ["arn:aws:lambda:us-east-1:123456789012:layer:layer-etl-common-dev:1"]},
            "lambda-platform-layer",
            ("nodejs platform layer", "nodeLayerArn"),
        ),
        ({"tracingConfig": {"mode": "PassThrough"}}, "lambda-tracing-active", ("not Active",)),
        ({"deadLetterConfig": None}, "lambda-dead-letter-queue", ("dead-letter queue",)),
    ],
)
def test_a_broken_node_function_is_refused_like_a_python_one(
    pack: ModuleType,
    tmp_path: Path,
    changes: dict[str, Any],
    policy_name: str,
    words: tuple[str, ...],
) -> None:
    # GIVEN a Node.js catalog function with one guarantee broken
    context = _node_context(tmp_path)
    props = {k: v for k, v in node_function(**changes).items() if v is not None}
    # WHEN the policy validates it  THEN it is refused, saying what and how to fix
    (report,) = _reported(
        _policy(pack, policy_name, context), resource_args(FUNCTION, "nightly", props)
    )
    assert report[0].startswith(f"{FUNCTION} 'lambda-nightly-dev': ")
    for word in words:
        assert word in report[0]


def test_the_pack_refuses_a_function_whose_code_fails_compat(
    pack: ModuleType, tmp_path: Path
) -> None:
    # GIVEN a Node.js catalog function whose handler calls context.done (gone in nodejs24.x)
    context = _node_context(tmp_path)
    policy = _policy(pack, "function-code-compatible", context)
    assert isinstance(policy, StackValidationPolicy)
    args = stack_args([(FUNCTION, "nightly", node_function())])
    assert _reported(policy, args) == []
    (tmp_path / "nightly" / "index.js").write_text(
        "exports.handler = (event, context) => { context.done(null, {}); };\n"
    )
    # WHEN the stack policy validates the stack  THEN the function is refused, as in the plan
    ((message, urn),) = _reported(policy, args)
    assert message.startswith(f"{FUNCTION} 'lambda-nightly-dev': runs catalog function 'nightly'")
    assert "index.js:1: [context.done]" in message and "nox -s compat" in message
    assert urn is not None and urn.endswith("::nightly")
