"""The function catalog: mistakes fail at load time naming the file, the key and what is allowed."""

from __future__ import annotations

import shutil
import textwrap
import tomllib
from pathlib import Path

import pytest

from etl_platform.errors import CatalogError
from etl_platform.infra.components.functions import TRIGGER_BUILDERS
from etl_platform.model.catalog import (
    CRITICAL_RESERVED_CONCURRENCY,
    MAX_CONNECTIONS,
    TRIGGER_TYPES,
    load_catalog,
)

GOOD = """
name = "{name}"
handler = "handler.handler"
description = "A test function."
kind = "batch"
size = "small"
critical = false
database = false

[trigger]
type = "s3"
prefix = "{prefix}"

[needs]
s3_read = ["{prefix}"]
s3_write = ["out/"]
"""


def write_entry(root: Path, folder: str, text: str, handler: bool = True) -> Path:
    directory = root / folder
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "function.toml").write_text(textwrap.dedent(text))
    if handler:
        (directory / "handler.py").write_text("def handler(event, context):\n    return None\n")
    return directory / "function.toml"


def test_every_catalog_folder_maps_its_profile_to_the_design_numbers() -> None:
    # GIVEN the catalog (lambdas/, or $ETL_CATALOG_DIR) and its function.toml files as plain TOML
    catalog = load_catalog()
    root = catalog.functions[0].source.parent.parent
    entries = {
        path.parent.name: tomllib.loads(path.read_text(encoding="utf-8"))
        for path in sorted(root.glob("*/function.toml"))
    }
    # THEN every folder is one function, named after its entry
    assert sorted(catalog.names) == sorted(entry["name"] for entry in entries.values())
    # AND each profile becomes the numbers the design promises (api 30 s, batch 300 s,
    # small 512 MB, large 1024 MB, critical: 5 reserved, database: a pool of 10)
    for spec in catalog:
        raw = next(e for e in entries.values() if e["name"] == spec.name)
        assert spec.timeout == {"api": 30, "batch": 300}[raw["kind"]], spec.name
        assert spec.memory_size == {"small": 512, "large": 1024}[raw["size"]], spec.name
        assert spec.reserved_concurrency == (5 if raw.get("critical") else None), spec.name
        assert spec.max_connections == (10 if raw.get("database") else None), spec.name
        assert spec.trigger.type == raw["trigger"]["type"], spec.name
        # AND an S3-triggered function reads the prefix that triggers it
        if spec.trigger.type == "s3":
            assert spec.trigger.prefix in spec.s3_read, spec.name
    assert (CRITICAL_RESERVED_CONCURRENCY, MAX_CONNECTIONS) == (5, 10)


def test_a_new_folder_is_a_new_function(tmp_path: Path) -> None:
    # GIVEN the real catalog plus one new folder
    real = load_catalog()
    shutil.copytree(real.functions[0].source.parent.parent, tmp_path, dirs_exist_ok=True)
    write_entry(tmp_path, "new-probe", GOOD.format(name="new-probe", prefix="loaded/"))
    # WHEN loaded THEN it is there, with its profile, and nothing else changed
    catalog = load_catalog(tmp_path)
    assert "new-probe" in catalog.names and len(catalog) == len(real) + 1
    assert catalog.get("new-probe").memory_size == 512


@pytest.mark.parametrize(
    ("text", "key", "allowed"),
    [
        ('colour = "blue"\n' + GOOD.format(name="x", prefix="in/"), "colour", "allowed keys"),
        (
            GOOD.format(name="x", prefix="in/").replace('kind = "batch"', 'kind = "stream"'),
            "kind",
            "['api', 'batch']",
        ),
        (
            GOOD.format(name="x", prefix="in/").replace('size = "small"', 'size = "huge"'),
            "size",
            "['large', 'small']",
        ),
        (
            GOOD.format(name="x", prefix="in/").replace("critical = false", 'critical = "yes"'),
            "critical",
            "true or false",
        ),
        (GOOD.format(name="Bad_Name", prefix="in/"), "name", "kebab-case"),
        (
            GOOD.format(name="x", prefix="in/").replace('"handler.handler"', '"handler"'),
            "handler",
            "module.function",
        ),
        (
            GOOD.format(name="x", prefix="in/").replace('"handler.handler"', '"app.main"'),
            "handler",
            "app.py not found",
        ),
        (
            GOOD.format(name="x", prefix="in/").replace('description = "A test function."\n', ""),
            "description",
            "missing",
        ),
        (GOOD.format(name="x", prefix="in"), "trigger.prefix", "key prefix like 'raw/'"),
        (
            GOOD.format(name="x", prefix="in/").replace(
                's3_write = ["out/"]', 's3_write = ["out/*"]'
            ),
            "needs.s3_write",
            "no wildcards",
        ),
        (
            GOOD.format(name="x", prefix="in/").replace('type = "s3"', 'type = "ftp"'),
            "trigger.type",
            str(sorted(TRIGGER_TYPES)),
        ),
        (
            GOOD.format(name="x", prefix="in/").replace(
                'type = "s3"\nprefix = "in/"', 'type = "url"'
            ),
            "trigger.type",
            'kind = "api"',
        ),
        (
            GOOD.format(name="x", prefix="in/").replace('kind = "batch"', 'kind = "api"'),
            "trigger.type",
            'kind = "batch"',
        ),
        (
            GOOD.format(name="x", prefix="in/").replace('s3_read = ["in/"]', "s3_read = []"),
            "needs.s3_read",
            "cannot read it",
        ),
        (
            GOOD.format(name="x", prefix="in/").replace(
                's3_write = ["out/"]', 's3_write = ["in/"]'
            ),
            "needs.s3_write",
            "recursive loop",
        ),
        (
            GOOD.format(name="x", prefix="in/") + '[environment]\nMAX_CONNECTIONS = "50"\n',
            "environment.MAX_CONNECTIONS",
            "set by the platform",
        ),
        (
            GOOD.format(name="x", prefix="in/") + "[environment]\nRETRIES = 3\n",
            "environment.RETRIES",
            "must be a string",
        ),
        (GOOD.format(name="x", prefix="in/") + "[needs.extra]\n", "needs.extra", "allowed"),
        ("name = [", "(file)", "not valid TOML"),
    ],
)
def test_bad_entries_fail_naming_file_key_and_allowed_values(
    tmp_path: Path, text: str, key: str, allowed: str
) -> None:
    # GIVEN one bad entry
    path = write_entry(tmp_path, "x", text)
    # WHEN the catalog loads THEN the error names the file, the key and what is allowed
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path)
    message = str(caught.value)
    assert str(path) in message
    assert f"key '{key}'" in message
    assert allowed in message


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    write_entry(tmp_path, "one", GOOD.format(name="same", prefix="a/"))
    write_entry(tmp_path, "two", GOOD.format(name="same", prefix="b/"))
    with pytest.raises(CatalogError, match="'same' is also used by"):
        load_catalog(tmp_path)


def test_overlapping_s3_trigger_prefixes_are_refused(tmp_path: Path) -> None:
    # S3 rejects two notification rules whose prefixes overlap: catch it before deploy.
    write_entry(tmp_path, "one", GOOD.format(name="one", prefix="raw/"))
    write_entry(tmp_path, "two", GOOD.format(name="two", prefix="raw/orders/"))
    with pytest.raises(CatalogError, match="overlaps one's 'raw/'"):
        load_catalog(tmp_path)


def test_an_empty_catalog_says_what_to_add(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"no \*/function.toml found"):
        load_catalog(tmp_path)


def test_the_catalog_dir_can_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_entry(tmp_path, "solo", GOOD.format(name="solo", prefix="in/"))
    monkeypatch.setenv("ETL_CATALOG_DIR", str(tmp_path))
    assert load_catalog().names == ["solo"]


def test_snap_start_is_refused_outside_api_functions(tmp_path: Path) -> None:
    # GIVEN a batch function (S3-triggered) asking for SnapStart
    text = GOOD.format(name="nightly", prefix="in/")
    text = text.replace("database = false\n", "database = false\nsnap_start = true\n")
    path = write_entry(tmp_path, "nightly", text)
    # WHEN the catalog is loaded, THEN it fails naming the file, the key and the rule
    with pytest.raises(CatalogError, match=r"snap_start.*API functions") as caught:
        load_catalog(tmp_path)
    assert str(path) in str(caught.value)


def test_snap_start_defaults_to_off_and_is_read_for_api_functions(tmp_path: Path) -> None:
    # GIVEN an API function with snap_start = true beside one without the key
    api = """
    name = "{name}"
    handler = "handler.handler"
    description = "An API."
    kind = "api"
    size = "small"
    {extra}
    [trigger]
    type = "url"
    """
    write_entry(tmp_path, "fast", api.format(name="fast", extra="snap_start = true"))
    write_entry(tmp_path, "plain", api.format(name="plain", extra=""))
    # WHEN loaded, THEN only the first has SnapStart
    specs = {spec.name: spec.snap_start for spec in load_catalog(tmp_path)}
    assert specs == {"fast": True, "plain": False}


def test_snap_start_is_refused_on_a_node_runtime(tmp_path: Path) -> None:
    # GIVEN a Node.js API function asking for SnapStart (Lambda offers it to Python,
    # Java and .NET managed runtimes only)
    from etl_platform.model.runtimes import DEFAULT_NODE_RUNTIME

    directory = tmp_path / "quote"
    directory.mkdir()
    (directory / "index.js").write_text("export const handler = async () => ({});\n")
    (directory / "function.toml").write_text(
        'name = "quote"\nhandler = "index.handler"\ndescription = "Quotes."\n'
        f'runtime = "{DEFAULT_NODE_RUNTIME}"\nkind = "api"\nsize = "small"\n'
        'snap_start = true\n\n[trigger]\ntype = "url"\n'
    )
    # WHEN the catalog is loaded, THEN it fails naming the key and the runtime
    with pytest.raises(CatalogError, match=rf"snap_start.*not {DEFAULT_NODE_RUNTIME}"):
        load_catalog(tmp_path)


def test_every_trigger_type_has_exactly_one_infrastructure_builder() -> None:
    # GIVEN the catalog's trigger types and the functions component's builders
    # THEN each type a catalog entry may name is built, and no builder is orphaned
    assert set(TRIGGER_BUILDERS) == set(TRIGGER_TYPES)
