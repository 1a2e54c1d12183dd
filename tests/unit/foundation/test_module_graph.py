"""The module graph of ``src/etl_platform`` is a contract, read from the source (``ast``).

- Packages are layered (README *Architecture*, ``etl_platform/__init__.py``):
  ``paths``/``errors`` < ``model`` < ``artifacts`` < ``infra`` < ``checks`` < ``ops``;
  a module imports only from its own layer or the ones below.
- No two modules import each other, directly or through others: every import counts,
  at module level, inside a function or under ``if TYPE_CHECKING:``.
- No ``_private`` name is imported from another module.
- ``model/`` constructs no Pulumi resource (no ``pulumi_aws``, no ``pulumi.<Resource>(...)``
  call, no subclass of one): the StackReference reader is ``infra/upstream.py``.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pytest

from etl_platform.paths import REPO_ROOT

SRC = REPO_ROOT / "src"
PACKAGE = "etl_platform"
# Lowest first. The root modules (paths, errors, the package itself) serve every layer.
LAYERS = ("", "model", "artifacts", "infra", "checks", "ops")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (a submodule when the name is one)
    name: str | None  # the name taken from it (``from target import name``), if any
    line: int


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(module: str, path: Path) -> Iterator[Import]:
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    yield Import(module, alias.name, None, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                if submodule in MODULES:
                    yield Import(module, submodule, None, node.lineno)
                else:
                    yield Import(module, target, alias.name, node.lineno)


IMPORTS = [imp for module, path in MODULES.items() for imp in _imports(module, path)]


def _layer(module: str) -> int:
    parts = module.split(".")
    package = parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else ""
    return LAYERS.index(package)


def _where(imp: Import) -> str:
    return f"{MODULES[imp.source].relative_to(REPO_ROOT)}:{imp.line}"


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read_from_every_module() -> None:
    # GIVEN the source tree  THEN every layer has modules and the reader found imports
    assert {LAYERS[_layer(m)] for m in MODULES} == set(LAYERS)
    assert len(IMPORTS) > len(MODULES)


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    # GIVEN every import between etl_platform modules
    upward = [
        f"{_where(i)}: {i.source} ({LAYERS[_layer(i.source)] or 'root'}) imports {i.target} "
        f"({LAYERS[_layer(i.target)]})"
        for i in IMPORTS
        if _layer(i.target) > _layer(i.source)
    ]
    # THEN none points up the layers; the fix is to move the shared piece down
    assert upward == [], "\n".join(upward)


def test_no_two_modules_import_each_other_even_inside_functions() -> None:
    # GIVEN the module graph, counting every import wherever it is written
    edges: dict[str, set[str]] = {}
    for imp in IMPORTS:
        if imp.target != imp.source:
            edges.setdefault(imp.source, set()).add(imp.target)
    # THEN it has no cycle; the fix is a leaf module both import
    cycles = _cycles(edges)
    assert cycles == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_no_private_name_is_imported_from_another_module() -> None:
    private = [
        f"{_where(i)}: from {i.target} import {i.name}"
        for i in IMPORTS
        if i.name and i.name.startswith("_") and i.target != i.source
    ]
    # THEN a name another module needs is public (in its module's __all__) or lives elsewhere
    assert private == [], "\n".join(private)


def _pulumi_resources() -> set[str]:
    return {
        name
        for name, value in vars(pulumi).items()
        if inspect.isclass(value) and issubclass(value, pulumi.Resource)
    }


def test_model_constructs_no_pulumi_resource() -> None:
    # GIVEN every module of model/ and the resource classes of the pulumi SDK
    resources = _pulumi_resources()
    assert {"StackReference", "ComponentResource", "CustomResource"} <= resources
    found = []
    for module, path in MODULES.items():
        if not module.startswith(f"{PACKAGE}.model"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            where = f"{path.relative_to(REPO_ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                top = [n.split(".")[0] for n in names] + [
                    (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else ""
                ]
                if "pulumi_aws" in top:
                    found.append(f"{where}: imports pulumi_aws")
                if isinstance(node, ast.ImportFrom) and node.module == "pulumi":
                    found += [
                        f"{where}: imports pulumi.{a.name}"
                        for a in node.names
                        if a.name in resources
                    ]
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "pulumi"
                and node.attr in resources
            ):
                found.append(f"{where}: uses pulumi.{node.attr}")
    # THEN there is none; a resource (a StackReference too) belongs in infra/
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(
    ("source", "target", "upward"),
    [
        ("etl_platform.model.catalog", "etl_platform.ops.cli", True),
        ("etl_platform.ops.cli", "etl_platform.model.catalog", False),
        ("etl_platform.artifacts.compat", "etl_platform.infra.iam", True),
        ("etl_platform.paths", "etl_platform.model.catalog", True),
        ("etl_platform.model.catalog", "etl_platform.errors", False),
    ],
)
def test_the_layer_order_is_the_documented_one(source: str, target: str, upward: bool) -> None:
    # GIVEN two modules  THEN an import from source to target is upward exactly as documented
    assert (_layer(target) > _layer(source)) is upward


def test_the_cycle_finder_finds_a_cycle_through_three_modules() -> None:
    # GIVEN a -> b -> c -> a and c -> d  THEN the three form the one cycle
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a", "d"}}) == [["a", "b", "c"]]
