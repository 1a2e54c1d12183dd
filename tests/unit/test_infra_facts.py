"""Facts the platform states about AWS and about itself, checked where they can be.

- IAM: which actions accept only ``"Resource": "*"`` and which condition keys S3 has,
  against parliament's bundled copy of AWS's Service Authorization Reference; every
  IAM fact more than one module needs is written once (in ``etl_platform.infra.iam``).
- Catalog ``needs``: the create-only and missing-is-an-answer prefixes are validated.
- The plan shows a 5xx alarm for every function behind a URL, none for the others.
- Every ``etl:`` key named in a message or a document exists in the settings, and
  every error class the layer documents is raised somewhere.
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
from functools import cache
from pathlib import Path
from typing import Any

import parliament
import pytest

from etl_platform.checks.plan import format_run
from etl_platform.errors import CatalogError
from etl_platform.infra import iam
from etl_platform.infra.function_policy import CREATE_ONLY_CONDITION
from etl_platform.model.catalog import load_catalog
from etl_platform.model.settings import KNOWN_KEYS

REPO = Path(__file__).resolve().parents[2]


@cache
def reference() -> dict[str, dict[str, Any]]:
    """parliament's copy of the Service Authorization Reference, by ``service:Action``."""
    path = Path(parliament.__file__).parent / "iam_definition.json"
    actions: dict[str, dict[str, Any]] = {}
    for service in json.loads(path.read_text(encoding="utf-8")):
        for privilege in service["privileges"]:
            actions[f"{service['prefix']}:{privilege['privilege']}".lower()] = privilege
    return actions


def resource_types(action: str) -> set[str]:
    privilege = reference()[action.lower()]
    return {r["resource_type"] for r in privilege["resource_types"]} - {""}


def condition_keys(action: str) -> set[str]:
    privilege = reference()[action.lower()]
    return {key for r in privilege["resource_types"] for key in r["condition_keys"]}


# ------------------------------------------------------------------------------------ IAM


def test_star_is_claimed_only_for_actions_without_resource_level_permissions() -> None:
    # GIVEN the platform's list of actions that may use "Resource": "*"
    # THEN AWS's reference lists no resource type for any of them
    for action in sorted(iam.ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS):
        assert resource_types(action) == set(), action


def test_the_eni_actions_have_resource_level_permissions_and_are_scoped() -> None:
    # GIVEN the network-interface actions Lambda takes for a VPC function
    # THEN AWS's reference gives each a network-interface resource (so "*" is not needed)
    for action in iam.ENI_ACTIONS:
        assert "network-interface*" in resource_types(action), action
        assert action not in iam.ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS
    assert {"subnet*", "security-group"} <= resource_types("ec2:CreateNetworkInterface")


def test_s3_documents_the_if_none_match_condition_key_for_put_object() -> None:
    # GIVEN the create-only grant's condition / THEN the key exists for s3:PutObject
    test, key, values = CREATE_ONLY_CONDITION
    assert (test, key, values) == ("Null", "s3:if-none-match", ["false"])
    assert key in condition_keys("s3:PutObject")


ONE_HOME = {
    iam.LAMBDA_SERVICE,
    *iam.LOG_ACTIONS,
    *iam.XRAY_ACTIONS,
    *iam.ENI_ACTIONS,
    *iam.ENI_DESCRIBE_ACTIONS,
    *iam.KMS_KEY_USE_ACTIONS,
}


def _string_constants(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def test_every_shared_iam_fact_is_written_once() -> None:
    # GIVEN the service principal and the action lists more than one module needs
    # WHEN every Python module of the platform, the layer, the functions and the policy
    # pack is searched for them as string literals
    home = REPO / "src" / "etl_platform" / "infra" / "iam.py"
    # the KMS actions are also actions of [needs] (kms_decrypt), so their home is the
    # needs vocabulary in model/, which infra/iam.py re-exports (model cannot import infra)
    needs_home = REPO / "src" / "etl_platform" / "model" / "needs.py"
    copies = {
        str(path.relative_to(REPO)): sorted(_string_constants(path) & ONE_HOME)
        for folder in ("src", "layers", "lambdas", "policy", "projects")
        for path in sorted((REPO / folder).rglob("*.py"))
        if path not in (home, needs_home) and ".venv" not in path.parts
    }
    # THEN only those two modules spell them, each fact in one of them; everyone else
    # imports them
    assert {where: found for where, found in copies.items() if found} == {}
    in_home, in_needs = _string_constants(home) & ONE_HOME, _string_constants(needs_home) & ONE_HOME
    assert in_home | in_needs == ONE_HOME
    assert in_home & in_needs == set()


# ---------------------------------------------------------------------------- catalog needs


def _entry(tmp_path: Path, needs: str, trigger: str = 'type = "none"') -> Path:
    folder = tmp_path / "probe"
    folder.mkdir()
    (folder / "handler.py").write_text("def handler(event, context):\n    return None\n")
    (folder / "function.toml").write_text(
        textwrap.dedent(
            f"""
            name = "probe"
            handler = "handler.handler"
            description = "A probe."
            kind = "batch"
            size = "small"

            [trigger]
            {trigger}

            [needs]
            {needs}
            """
        )
    )
    return tmp_path


@pytest.mark.parametrize(
    ("needs", "trigger", "key", "words"),
    [
        (
            's3_write = ["out/"]\ns3_create = ["out/"]',
            'type = "none"',
            "needs.s3_create",
            ("also in needs.s3_write",),
        ),
        (
            's3_read = ["in/"]\ns3_missing_ok = ["other/"]',
            'type = "none"',
            "needs.s3_missing_ok",
            ("not in needs.s3_read",),
        ),
        (
            's3_read = ["in/"]\ns3_create = ["in/done/"]',
            'type = "s3"\nprefix = "in/"',
            "needs.s3_create",
            ("recursive loop",),
        ),
    ],
)
def test_contradictory_needs_fail_at_load_time(
    tmp_path: Path, needs: str, trigger: str, key: str, words: tuple[str, ...]
) -> None:
    # GIVEN an entry whose needs contradict each other / WHEN the catalog loads
    with pytest.raises(CatalogError) as caught:
        load_catalog(_entry(tmp_path, needs, trigger))
    # THEN the message names the key and the problem
    assert caught.value.key == key
    for word in words:
        assert word in str(caught.value)


def test_create_only_and_missing_ok_prefixes_are_loaded(tmp_path: Path) -> None:
    needs = 's3_read = ["in/"]\ns3_missing_ok = ["in/"]\ns3_create = ["out/"]'
    [spec] = load_catalog(_entry(tmp_path, needs))
    assert (spec.s3_read, spec.s3_missing_ok, spec.s3_create, spec.s3_write) == (
        ("in/",),
        ("in/",),
        ("out/",),
        (),
    )


# ------------------------------------------------------------------------------------ plan


def test_the_plan_shows_a_5xx_alarm_for_every_url_function_and_no_other(planned: Any) -> None:
    # GIVEN the catalog / WHEN the plan of the dev stack is printed (`nox -s plan`)
    text = "\n".join(format_run(run) for run in planned("dev"))
    alarms = set(re.findall(r"alarm-([a-z0-9-]+)-url-5xx-dev\s+metricName=Url5xxCount", text))
    # THEN each function behind a URL has one, paging on a single 5xx, and no other has one
    catalog = load_catalog()
    assert alarms == {spec.name for spec in catalog if spec.trigger.type == "url"}
    assert alarms, "the catalog has no URL function to check"
    assert len(re.findall(r"metricName=Url5xxCount statistic=Sum \S+ threshold=1\b", text)) == len(
        alarms
    )


# --------------------------------------------------------------------- messages and docs


# etl:<key>, but not a component type token such as etl:functions:EtlFunction.
_ETL_KEY = re.compile(r"\betl:([a-z][A-Za-z0-9]*)\b(?!:[A-Za-z])")
_DOC_FOLDERS = ("src", "layers", "lambdas", "projects", "policy", "docs", "scripts")


def _documents() -> list[Path]:
    paths = [REPO / "README.md", REPO / "noxfile.py"]
    for folder in _DOC_FOLDERS:
        root = REPO / folder
        if root.is_dir():
            paths += [
                p
                for p in sorted(root.rglob("*"))
                if p.is_file()
                and p.suffix in (".py", ".md", ".yaml", ".toml", "")
                and ".venv" not in p.parts
                and "__pycache__" not in p.parts
            ]
    return paths


def test_every_etl_key_named_in_a_message_or_a_document_exists() -> None:
    # GIVEN every message (the code) and document (README, docs/, policy/README, ...)
    named: dict[str, set[str]] = {}
    for path in _documents():
        text = path.read_text(encoding="utf-8", errors="replace")
        for key in _ETL_KEY.findall(text):
            named.setdefault(key, set()).add(str(path.relative_to(REPO)))
    # THEN every etl: key they name is one the settings read
    unknown = {key: sorted(where) for key, where in named.items() if key not in KNOWN_KEYS}
    assert unknown == {}
    assert "databaseSecretArn" in named  # the scan does see the keys


def test_every_documented_error_class_is_raised_somewhere() -> None:
    # GIVEN the layer's typed errors
    errors_py = REPO / "layers" / "etl-common" / "etl_common" / "errors.py"
    tree = ast.parse(errors_py.read_text(encoding="utf-8"))
    bases = {
        node.name: {b.id for b in node.bases if isinstance(b, ast.Name)}
        for node in tree.body
        if isinstance(node, ast.ClassDef)
    }
    # WHEN the layer and the functions are searched for `raise X(...)`
    raised: set[str] = set()
    for path in [*(REPO / "layers").rglob("*.py"), *(REPO / "lambdas").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                if isinstance(func, ast.Name):
                    raised.add(func.id)
    # THEN each class is raised, or is the base of one that is (no documented dead class)
    used = set(raised)
    for name in list(raised):
        stack = [name]
        while stack:
            for base in bases.get(stack.pop(), ()):
                if base not in used:
                    used.add(base)
                    stack.append(base)
    assert sorted(set(bases) - used) == []


def test_the_readme_alarm_table_lists_every_alarm_rule() -> None:
    # GIVEN the one table of alarms in code
    from etl_platform.infra.components.alarms import ALARM_RULES, NAMESPACES

    # WHEN the README's alarm table (Operations) is read
    text = (REPO / "README.md").read_text(encoding="utf-8")
    header = text.index("| what | on | metric (statistic) | pages when |")
    rows = {}
    for line in text[header:].splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4:
            break
        rows[cells[0].strip("`")] = cells
    # THEN it has one row per function and DLQ rule (the pipeline's rows have their own
    # section, Pipeline SLOs), naming its metric, statistic and the functions it is for
    per_function = [rule for rule in ALARM_RULES if rule.target != "pipeline"]
    assert set(rows) == {rule.what for rule in per_function}
    scope = {
        "every": "every function",
        "async": "asynchronously invoked functions (S3, schedule, SNS, EventBridge, none)",
        "s3": "S3-triggered functions",
        "url": "functions with a URL trigger",
        "sqs": "the queue of an `sqs` trigger",
        "stream": "functions with a `dynamodb-stream` or `kinesis` trigger",
        "http-api": "the HTTP API of an `http-api` trigger",
    }
    for rule in per_function:
        _, on, metric, _ = rows[rule.what]
        assert f"`{NAMESPACES[rule.target]}` `{rule.metric_name}` ({rule.statistic})" == metric
        assert on == ("its DLQ" if rule.target == "dlq" else scope[rule.applies]), rule.what


def test_a_function_that_reads_missing_keys_or_lists_has_the_need_that_grants_it() -> None:
    # GIVEN each catalog function's code
    for spec in load_catalog():
        code = "\n".join(p.read_text(encoding="utf-8") for p in sorted(spec.code_dir.glob("*.py")))
        # WHEN it treats a missing object as an answer (etl_common.s3's missing_ok=True)
        # THEN its needs say so: without s3:ListBucket, S3 answers 403 instead of 404
        if "missing_ok=True" in code:
            assert spec.s3_missing_ok, f"{spec.name}: add needs.s3_missing_ok = [<prefix>]"
        # AND one that lists keys says which (ListBucket is granted only for these needs)
        if "list_objects" in code:
            assert spec.s3_list, f"{spec.name}: add needs.s3_list = [<prefix>]"
