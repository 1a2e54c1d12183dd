"""``nox -s compat``: the Lambda code and the layer fit the target runtime before deploy.

GIVEN handler code (a temporary catalog, or the repository's own), WHEN the check runs
for a target runtime, THEN an import the layer does not carry, a module removed from
the target's standard library, unparsable code or a layer built for another target
fails with the file, the line, the module and the fix; the real repository passes.
"""

from __future__ import annotations

import textwrap
import zipfile
from pathlib import Path

import pytest

from etl_platform.artifacts import compat
from etl_platform.artifacts.problems import Problem
from etl_platform.ops.cli import main as etl_ops

# What the real layer carries (a subset is enough for the source checks).
LAYER_NAMES = frozenset(
    {"aws_xray_sdk", "opentelemetry", "psycopg", "psycopg_pool", "typing_extensions", "wrapt"}
)


@pytest.fixture
def fake_layer(tmp_path: Path) -> Path:
    """A layer zip shaped like the real one, carrying :data:`LAYER_NAMES` and etl_common
    (the real build, which needs pip, is tested in tests/functional/test_compat_layer.py)."""
    path = tmp_path / "layer.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("python/etl_common/__init__.py", "")
        for name in sorted(LAYER_NAMES):
            archive.writestr(f"python/{name}-1.0.dist-info/top_level.txt", f"{name}\n")
    return path


def make_function(root: Path, name: str, handler: str, **extra_files: str) -> Path:
    """A catalog entry ``root/<name>/`` with ``handler.py`` and any other files."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "function.toml").write_text(
        textwrap.dedent(
            f"""\
            name = "{name}"
            handler = "handler.handler"
            description = "A test function."
            kind = "api"
            size = "small"
            """
        )
    )
    (folder / "handler.py").write_text(textwrap.dedent(handler))
    for filename, text in extra_files.items():
        (folder / filename).write_text(textwrap.dedent(text))
    return folder


BAD_HANDLER = """\
    from __future__ import annotations

    import json
    import requests
    import cgi
    from typing import TYPE_CHECKING

    import boto3
    from etl_common import logger
    import helpers

    if TYPE_CHECKING:
        from mypy_boto3_s3 import S3Client


    def handler(event, context):
        import psycopg
        return json.dumps({"ok": True})
"""


def _check(catalog: Path, runtime: str = "python3.13") -> list[Problem]:
    files = [f for f in compat.source_files(catalog) if catalog in f.path.parents]
    return compat.check_sources(files, compat._version(runtime), LAYER_NAMES)


def test_an_import_the_layer_does_not_carry_fails_with_file_line_and_fix(tmp_path: Path) -> None:
    # GIVEN a handler importing requests (not in the layer), beside a helpers.py
    make_function(tmp_path, "bad-fn", BAD_HANDLER, **{"helpers.py": "X = 1\n"})
    # WHEN the sources are checked for python3.13
    problems = {p.module: p for p in _check(tmp_path)}
    # THEN requests is refused at its line, with what to do about it
    requests = problems["requests"]
    assert requests.path.name == "handler.py" and requests.line == 4
    text = str(requests)
    assert "bad-fn/handler.py:4: [requests] imports requests" in text
    assert "ImportError on Lambda" in text
    assert "layers/etl-common/requirements.txt" in text
    # AND boto3 (runtime), etl_common, helpers (own folder), psycopg (layer) and the
    # TYPE_CHECKING-only import are all fine
    assert set(problems) == {"requests", "cgi"}


def test_a_module_removed_in_python_3_13_fails_with_the_replacement(tmp_path: Path) -> None:
    # GIVEN the same handler, which imports cgi (removed in 3.13 by PEP 594)
    make_function(tmp_path, "bad-fn", BAD_HANDLER, **{"helpers.py": "X = 1\n"})
    # WHEN checked for python3.13
    (cgi,) = [p for p in _check(tmp_path) if p.module == "cgi"]
    # THEN the message names the removal and the replacement
    assert cgi.line == 5
    assert "removed from the standard library in Python 3.13" in cgi.message
    assert "urllib.parse" in cgi.fix


def test_removals_follow_the_target_version(tmp_path: Path) -> None:
    # GIVEN a handler using imp (removed in 3.12) and cgi (removed in 3.13)
    make_function(tmp_path, "old-fn", "import imp\nimport cgi\n\n\ndef handler(e, c):\n    pass\n")
    # WHEN checked for python3.12
    modules = {p.module for p in _check(tmp_path, "python3.12")}
    # THEN imp is refused but cgi, still in 3.12, is not
    assert modules == {"imp"}


def test_code_that_does_not_parse_is_reported(tmp_path: Path) -> None:
    # GIVEN a handler with a syntax error
    make_function(tmp_path, "broken-fn", "def handler(event:\n    pass\n")
    # THEN the check reports the file and line instead of crashing
    (problem,) = _check(tmp_path)
    assert problem.line == 1 and "does not parse as Python 3.13" in problem.message


def test_the_cli_fails_on_the_bad_handler(
    tmp_path: Path, fake_layer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a temporary catalog with the bad handler and a layer without requests
    make_function(tmp_path, "bad-fn", BAD_HANDLER, **{"helpers.py": "X = 1\n"})
    # WHEN `nox -s compat` runs over it
    code = etl_ops(["compat", "--catalog-dir", str(tmp_path), "--layer-zip", str(fake_layer)])
    # THEN it exits 1 naming the file, the line, the module and the fix
    err = capsys.readouterr().err
    assert code == 1
    assert "bad-fn/handler.py:4: [requests] imports requests" in err
    assert "bad-fn/handler.py:5: [cgi] imports cgi" in err


def test_the_cli_fails_on_a_call_no_need_grants_and_shows_unused_needs(
    tmp_path: Path, fake_layer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a function that sends to a queue it has no need for, and declares a topic
    # it never publishes to
    folder = make_function(
        tmp_path,
        "estate-fn",
        """\
        import boto3

        def handler(event, context):
            boto3.client("sqs").send_message(QueueUrl=event["q"], MessageBody="x")
        """,
    )
    entry = folder / "function.toml"
    entry.write_text(entry.read_text() + '\n[needs]\nsns_publish = ["alerts"]\n')
    # WHEN `nox -s compat` runs over it
    code = etl_ops(["compat", "--catalog-dir", str(tmp_path), "--layer-zip", str(fake_layer)])
    # THEN it fails on the call, naming the need to add, and shows the unused need
    err = capsys.readouterr().err
    assert code == 1
    assert "estate-fn/handler.py:4: [sqs]" in err
    assert "no need grants sqs:SendMessage" in err and "add sqs_send = [...]" in err
    assert "warning: estate-fn: needs.sns_publish" in err


def test_an_unused_need_alone_is_a_warning_not_a_failure(
    tmp_path: Path, fake_layer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a function whose code is fine but which declares a need it never uses
    folder = make_function(tmp_path, "quiet-fn", "def handler(event, context):\n    return 1\n")
    entry = folder / "function.toml"
    entry.write_text(entry.read_text() + '\n[needs]\nsqs_send = ["orders"]\n')
    # WHEN compat runs  THEN it passes, and says which need looks unused
    code = etl_ops(["compat", "--catalog-dir", str(tmp_path), "--layer-zip", str(fake_layer)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "1 warning(s)" in captured.err and "needs.sqs_send" in captured.err


def test_node_problems_are_headed_with_the_node_runtime(
    tmp_path: Path, fake_layer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a catalog with a sound Python function and a Node.js one calling context.done
    make_function(tmp_path, "py-fn", "def handler(event, context):\n    return 1\n")
    node = tmp_path / "node-fn"
    node.mkdir()
    (node / "function.toml").write_text(
        'name = "node-fn"\nruntime = "nodejs24.x"\nhandler = "index.handler"\n'
        'description = "x"\nkind = "batch"\nsize = "small"\n'
    )
    (node / "index.js").write_text("exports.handler = (e, context) => context.done();\n")
    # WHEN `nox -s compat` runs over it
    code = etl_ops(["compat", "--catalog-dir", str(tmp_path), "--layer-zip", str(fake_layer)])
    # THEN the Node problem is listed under the Node runtime, not the Python target
    captured = capsys.readouterr()
    assert code == 1
    assert "Python layer for python3.13 arm64: no problem" in captured.out
    heading, problem = captured.err.splitlines()[:2]
    assert (
        heading
        == "compat: 1 problem(s) in the Node.js functions and the Node layer for nodejs24.x:"
    )
    assert "node-fn/index.js:1: [context.done]" in problem
