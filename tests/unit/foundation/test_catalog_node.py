"""Node.js functions in the catalog: a runtime per function, handlers as AWS defines them,
and a clear error (the file, the key, the fix) for every mix-up."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from etl_platform.errors import CatalogError
from etl_platform.model.catalog import NODE_HANDLER_EXTENSIONS, load_catalog
from etl_platform.model.runtimes import RUNTIMES

ENTRY = """
name = "nightly"
{runtime}
handler = "{handler}"
description = "A scheduled function."
kind = "batch"
size = "small"

[trigger]
type = "schedule"
expression = "rate(1 day)"
"""


def write(root: Path, *, runtime: str | None, handler: str, files: dict[str, str]) -> Path:
    folder = root / "nightly"
    folder.mkdir(parents=True, exist_ok=True)
    line = f'runtime = "{runtime}"' if runtime else ""
    entry = folder / "function.toml"
    entry.write_text(textwrap.dedent(ENTRY.format(runtime=line, handler=handler)))
    for name, text in files.items():
        (folder / name).write_text(text)
    return entry


@pytest.mark.parametrize("extension", NODE_HANDLER_EXTENSIONS)
def test_a_node_function_names_its_runtime_and_file_export_handler(
    tmp_path: Path, extension: str
) -> None:
    # GIVEN index.<ext> and handler = "index.handler" on nodejs24.x
    write(tmp_path, runtime="nodejs24.x", handler="index.handler", files={f"index{extension}": ""})
    # WHEN loaded  THEN it is a Node.js function on its own runtime
    spec = load_catalog(tmp_path).get("nightly")
    assert (spec.runtime, spec.language, spec.is_node) == ("nodejs24.x", "nodejs", True)
    assert spec.runtime_on("python3.13") == "nodejs24.x"
    assert load_catalog(tmp_path).node_functions == (spec,)


def test_without_runtime_a_function_runs_on_the_stacks_python_runtime(tmp_path: Path) -> None:
    write(tmp_path, runtime=None, handler="handler.handler", files={"handler.py": ""})
    spec = load_catalog(tmp_path).get("nightly")
    assert (spec.runtime, spec.language, spec.runtime_on("python3.14")) == (
        None,
        "python",
        "python3.14",
    )
    assert load_catalog(tmp_path).node_functions == ()


@pytest.mark.parametrize(
    ("runtime", "handler", "files", "words"),
    [
        # a Node function whose handler names a Python module
        (
            "nodejs24.x",
            "handler.handler",
            {"handler.py": ""},
            ("handler.py", "a Python module", "index.handler"),
        ),
        # a Python function (no runtime) whose handler names a Node file
        (
            None,
            "index.handler",
            {"index.js": ""},
            ("index.js", "Node.js file", 'runtime = "nodejs24.x"'),
        ),
        # a Node handler that is not <file>.<export>
        ("nodejs24.x", "index:handler", {"index.js": ""}, ("<file>.<export>", "index.handler")),
        # the file is not there
        ("nodejs24.x", "main.handler", {"index.js": ""}, ("main.js", "main.mjs", "main.cjs")),
        # an unknown runtime
        ("nodejs99.x", "index.handler", {"index.js": ""}, ("unknown Lambda runtime", "nodejs24.x")),
        ("ruby3.3", "index.handler", {"index.js": ""}, ("unknown Lambda runtime", "nodejs24.x")),
        # a Python runtime per function: one Python layer, built for etl:runtime
        ("python3.14", "handler.handler", {"handler.py": ""}, ("etl:runtime", "remove the key")),
    ],
)
def test_mixed_up_runtime_and_handler_fail_naming_the_file_and_the_fix(
    tmp_path: Path, runtime: str | None, handler: str, files: dict[str, str], words: tuple[str, ...]
) -> None:
    entry = write(tmp_path, runtime=runtime, handler=handler, files=files)
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{entry}: key '")
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("runtime", ["nodejs14.x", "nodejs16.x", "nodejs18.x", "nodejs20.x"])
def test_a_deprecated_node_runtime_is_refused_with_its_date_and_replacement(
    tmp_path: Path, runtime: str
) -> None:
    # GIVEN a legacy runtime, after its AWS deprecation date (the table's dates)
    assert RUNTIMES[runtime].deprecated_on <= dt.date.today()
    entry = write(tmp_path, runtime=runtime, handler="index.handler", files={"index.js": ""})
    # WHEN loaded  THEN it is refused with the date, the replacement and what is supported
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{entry}: key 'runtime'")
    assert f"deprecated by AWS since {RUNTIMES[runtime].deprecated_on.isoformat()}" in message
    assert f"use {RUNTIMES[runtime].replacement}" in message
    assert "supported: nodejs" in message
