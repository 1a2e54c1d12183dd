"""The code guardrail (``function-code-compatible``): the plan refuses what compat refuses.

Temporary catalogs (``ETL_CATALOG_DIR``) hold functions written for these tests; the
Node.js code is read by acorn (tools/node), the Python code by ``ast``. The last test
runs ``nox -s plan``'s entry point on a copy of the real catalog with one function broken.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from etl_platform.checks.rules import Context, Resource, check, rule
from etl_platform.checks.rules import types as t
from etl_platform.model.catalog import CATALOG_DIR_ENV, load_catalog
from etl_platform.ops.cli import main as etl_ops
from etl_platform.paths import LAMBDAS_DIR

CODE_RULE = rule("function-code-compatible")

ENTRY = """
name = "{name}"
{runtime}
handler = "{handler}"
description = "Written for the code guardrail tests."
kind = "batch"
size = "small"
"""


def catalog(tmp_path: Path, functions: dict[str, tuple[str | None, str, str, str]]) -> Context:
    """name -> (runtime or None, handler, file name, code)."""
    for name, (runtime, handler, file_name, code) in functions.items():
        folder = tmp_path / name
        folder.mkdir()
        line = f'runtime = "{runtime}"' if runtime else ""
        (folder / "function.toml").write_text(
            ENTRY.format(name=name, runtime=line, handler=handler)
        )
        (folder / file_name).write_text(code)
    return Context(environment="dev", suffix="dev", catalog=load_catalog(tmp_path))


def function(name: str, runtime: str) -> Resource:
    return Resource(
        t.FUNCTION,
        name,
        {"name": f"lambda-{name}-dev", "runtime": runtime, "architectures": ["arm64"]},
    )


def test_functions_whose_code_fails_compat_are_refused_naming_the_problem(
    tmp_path: Path,
) -> None:
    # GIVEN a Node function calling context.succeed, a Python one importing distutils,
    # and a sound one of each
    context = catalog(
        tmp_path,
        {
            "node-bad": (
                "nodejs24.x",
                "index.handler",
                "index.js",
                "exports.handler = (e, context) => context.succeed(1);\n",
            ),
            "node-good": (
                "nodejs24.x",
                "index.handler",
                "index.js",
                "exports.handler = async () => 1;\n",
            ),
            "py-bad": (
                None,
                "handler.handler",
                "handler.py",
                "import distutils\ndef handler(e, c):\n    return 1\n",
            ),
            "py-good": (
                None,
                "handler.handler",
                "handler.py",
                "import json\ndef handler(e, c):\n    return json.dumps(e)\n",
            ),
        },
    )
    resources = [
        function("node-bad", "nodejs24.x"),
        function("node-good", "nodejs24.x"),
        function("py-bad", "python3.13"),
        function("py-good", "python3.13"),
    ]
    # WHEN the rule runs over the set (once, not once per resource)
    (result,) = check(resources, context, [CODE_RULE])
    # THEN exactly the two broken functions are refused, each naming its first problem
    assert [v.resource_name for v in result.violations] == [
        "lambda-node-bad-dev",
        "lambda-py-bad-dev",
    ]
    node, python = (v.message for v in result.violations)
    assert "index.js:1: [context.succeed]" in node and "for nodejs24.x" in node
    assert "handler.py:1: [distutils]" in python and "for python3.13" in python
    assert "nox -s compat" in node and "nox -s compat" in python


def test_a_resource_that_is_no_catalog_function_is_left_alone(tmp_path: Path) -> None:
    # GIVEN a catalog without that function  THEN the rule does not judge it
    context = catalog(
        tmp_path, {"other": ("nodejs24.x", "index.handler", "index.js", "exports.handler = 1;\n")}
    )
    assert check([function("elsewhere", "nodejs24.x")], context, [CODE_RULE])[0].passed


def test_nox_plan_exits_non_zero_for_a_function_that_fails_compat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a copy of the real catalog in which one Node function's handler calls
    # context.done (the first Node function the catalog has)
    shutil.copytree(LAMBDAS_DIR, tmp_path / "lambdas", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv(CATALOG_DIR_ENV, str(tmp_path / "lambdas"))
    spec = load_catalog(tmp_path / "lambdas").node_functions[0]
    stem, export = spec.handler.rsplit(".", 1)
    entry = spec.code_dir / f"{stem}.js"
    entry.write_text(
        entry.read_text() + f"\nexports.{export} = (event, context) => context.done(null, 1);\n"
    )
    # WHEN `nox -s plan` runs (its entry point, `etl-ops plan`)
    code = etl_ops(["plan", "dev", "--out", str(tmp_path / "plan.json")])
    # THEN it exits 1, naming the rule, the function and the problem
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL  function-code-compatible" in out
    assert f"'lambda-{spec.name}-dev': runs catalog function {spec.name!r}" in out
    assert "[context.done]" in out
