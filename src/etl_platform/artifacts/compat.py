"""Runtime compatibility, checked before any deploy: ``etl-ops compat`` (``nox -s compat``).

For the target Lambda runtime (``--runtime``, default the platform's ``python3.13``)
and architecture (``--architecture``, default ``arm64``):

1. every Python file of every catalog function (``lambdas/<name>/``) and of the
   layer's ``etl_common`` package parses with the target's grammar (``ast``);
2. no file imports a standard-library module the target no longer has (removed in
   3.12: distutils, imp, asynchat, asyncore, smtpd; in 3.13 the PEP 594 "dead
   batteries" and lib2to3);
3. every import resolves, on Lambda, to the standard library, the boto3 set the
   runtime provides, the function's own folder, ``etl_common``, or a top-level package
   the built layer carries (read from the layer zip's ``*.dist-info/top_level.txt`` or
   ``RECORD``): a handler importing what the layer does not carry fails here, not in
   production;
4. the built layer's compiled wheels match the target Python version and
   architecture (:func:`etl_platform.artifacts.packaging.inspect_layer`);
5. the AWS SDK calls each function's code makes are authorized by its ``[needs]``
   (:mod:`etl_platform.artifacts.sdk_calls`): a call no need grants is an error naming
   the need to add; a need the code never uses is a warning (shown, not failing).

Node.js functions (``runtime = "nodejs*.x"`` in their entry) are checked against their
own runtime by :mod:`etl_platform.artifacts.node_compat` (a real JavaScript parser: aws-sdk v2,
nodejs24.x handler and context breaks, v2 -> v3 leftovers, unresolvable imports,
``engines.node``, syntax, removed Node.js APIs), and the Node layer (``layers/etl-node``)
is checked and built. The output has two sections, the Python one headed with the
Python target and the Node.js one with the Node runtimes. :func:`function_problems` is
one function's share of this (what the plan guardrail ``function-code-compatible`` runs).

The layer is built with :func:`etl_platform.artifacts.packaging.build_layer_zip` (cached; a hit
needs no network), or given with ``--layer-zip``. Every problem names the file, the
line, the module and the fix; the exit code is 1 when there is any error.

Imports under ``if TYPE_CHECKING:`` never run and are not checked; relative imports
resolve inside their own package. The check runs on the build machine's Python, so
syntax newer than that interpreter cannot be parsed (it is reported as a syntax error).
"""

from __future__ import annotations

import argparse
import ast
import csv
import io
import sys
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from etl_platform.artifacts.node_compat import check_node_layer, check_node_tree
from etl_platform.artifacts.node_layer import NodeLayerError, build_node_layer_zip
from etl_platform.artifacts.problems import Problem
from etl_platform.artifacts.sdk_calls import catalog_needs_problems
from etl_platform.errors import EtlPlatformError
from etl_platform.model.catalog import FunctionSpec, load_catalog
from etl_platform.model.runtimes import (
    ARCHITECTURES,
    DEFAULT_ARCHITECTURE,
    DEFAULT_RUNTIME,
    NODEJS,
    PYTHON_RUNTIME_PROVIDED_IMPORTS,
    language_of,
    python_version_of,
)
from etl_platform.paths import BUILD_DIR, LAYERS_DIR

__all__ = [
    "REMOVED_MODULES",
    "RUNTIME_PROVIDED_IMPORTS",
    "SourceFile",
    "add_arguments",
    "check_layer_zip",
    "check_sources",
    "command",
    "function_problems",
    "layer_import_names",
    "node_problems",
    "python_problems",
    "run",
    "source_files",
]

# Top-level import names of the packages the Lambda Python runtime provides.
RUNTIME_PROVIDED_IMPORTS = PYTHON_RUNTIME_PROVIDED_IMPORTS

# Standard-library modules removed from Python, by the version that removed them
# (PEP 632 distutils, PEP 594 dead batteries; What's New in Python 3.12 and 3.13).
REMOVED_MODULES: dict[tuple[int, int], frozenset[str]] = {
    (3, 12): frozenset({"distutils", "imp", "asynchat", "asyncore", "smtpd"}),
    (3, 13): frozenset(
        {
            "aifc",
            "audioop",
            "cgi",
            "cgitb",
            "chunk",
            "crypt",
            "imghdr",
            "mailcap",
            "msilib",
            "nis",
            "nntplib",
            "ossaudiodev",
            "pipes",
            "sndhdr",
            "spwd",
            "sunau",
            "telnetlib",
            "uu",
            "xdrlib",
            "lib2to3",
        }
    ),
}

# What to use instead of a removed module.
REPLACEMENTS: dict[str, str] = {
    "distutils": "setuptools or packaging (e.g. packaging.version)",
    "imp": "importlib",
    "asynchat": "asyncio",
    "asyncore": "asyncio",
    "smtpd": "aiosmtpd (add it to the layer) or asyncio",
    "cgi": "email.message.EmailMessage / urllib.parse.parse_qs",
    "cgitb": "traceback",
    "crypt": "hashlib",
    "imghdr": "checking the file's magic bytes yourself",
    "mailcap": "mimetypes",
    "pipes": "shlex.quote",
    "telnetlib": "a maintained client such as telnetlib3 (in the layer)",
    "uu": "base64",
    "xdrlib": "struct",
    "lib2to3": "ast / libcst",
}

_LAYER_DIR = LAYERS_DIR / "etl-common"
_NOT_IN_LAYER = "not carried by the layer"  # the unresolvable-import message says this
_OWN_PACKAGE = "etl_common"


@dataclass(frozen=True)
class SourceFile:
    """A file to check and the top-level names its own folder provides."""

    path: Path
    own_names: frozenset[str]


def _version(runtime: str) -> tuple[int, int]:
    try:
        major, minor = python_version_of(runtime).split(".")
    except ValueError as error:
        raise EtlPlatformError(str(error)) from None
    return int(major), int(minor)


def removed_in(target: tuple[int, int]) -> dict[str, tuple[int, int]]:
    """Module -> the version that removed it, for every removal up to ``target``."""
    return {
        module: version
        for version, modules in REMOVED_MODULES.items()
        if version <= target
        for module in modules
    }


# ------------------------------------------------------------------------ source files


def _own_names(folder: Path) -> frozenset[str]:
    names = {p.stem for p in folder.glob("*.py")}
    names |= {p.name for p in folder.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    return frozenset(names)


def _function_files(spec: FunctionSpec) -> list[SourceFile]:
    own = _own_names(spec.code_dir)
    paths = sorted(spec.code_dir.rglob("*.py"))
    return [SourceFile(p, own) for p in paths if "__pycache__" not in p.parts]


def source_files(catalog_dir: Path | None = None, layer_dir: Path = _LAYER_DIR) -> list[SourceFile]:
    """Every function's Python files and the layer's own package files."""
    files: list[SourceFile] = []
    for spec in load_catalog(catalog_dir):
        files += _function_files(spec)
    package = layer_dir / _OWN_PACKAGE
    files += [
        SourceFile(p, frozenset({_OWN_PACKAGE}))
        for p in sorted(package.rglob("*.py"))
        if "__pycache__" not in p.parts
    ]
    return files


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, top-level module) of every absolute import that runs at run time."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)  # the body only runs under a type checker
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]
        stack.extend(ast.iter_child_nodes(node))


def check_sources(
    files: Iterable[SourceFile], target: tuple[int, int], layer_names: frozenset[str]
) -> list[Problem]:
    """Syntax, removed stdlib modules and unresolvable imports in ``files``."""
    removed = removed_in(target)
    stdlib = frozenset(sys.stdlib_module_names) - removed.keys()
    version = f"{target[0]}.{target[1]}"
    problems: list[Problem] = []
    for source in files:
        try:
            tree = ast.parse(
                source.path.read_text(encoding="utf-8"),
                filename=str(source.path),
                feature_version=target,
            )
        except SyntaxError as error:
            problems.append(
                Problem(
                    source.path,
                    error.lineno or 0,
                    "",
                    f"does not parse as Python {version}: {error.msg}",
                    f"use syntax Python {version} supports",
                )
            )
            continue
        for line, module in sorted(set(_imports(tree))):
            if module in removed:
                since = ".".join(map(str, removed[module]))
                problems.append(
                    Problem(
                        source.path,
                        line,
                        module,
                        f"imports {module}, removed from the standard library in Python "
                        f"{since} (the target is {version})",
                        f"use {REPLACEMENTS.get(module, 'a maintained package in the layer')}",
                    )
                )
            elif not (
                module in stdlib
                or module in RUNTIME_PROVIDED_IMPORTS
                or module in source.own_names
                or module == _OWN_PACKAGE
                or module in layer_names
            ):
                problems.append(
                    Problem(
                        source.path,
                        line,
                        module,
                        f"imports {module}, which is not in the Python {version} standard "
                        "library, not provided by the Lambda runtime (boto3, botocore, ...), "
                        f"not in the function's folder and {_NOT_IN_LAYER}; it would "
                        "fail with ImportError on Lambda",
                        f"add the distribution that provides {module!r} (pinned, with its "
                        "dependencies) to layers/etl-common/requirements.txt, or drop the import",
                    )
                )
    return problems


# ------------------------------------------------------------------------------- layer


def layer_import_names(zip_path: Path) -> frozenset[str]:
    """Top-level import names the layer carries under ``python/``.

    From each ``*.dist-info/top_level.txt`` when present, else from the paths its
    ``RECORD`` lists; plus the project's own packages (``etl_common``).
    """
    names: set[str] = set()
    with zipfile.ZipFile(zip_path) as archive:
        members = archive.namelist()
        dist_infos = {
            PurePosixPath(n).parent for n in members if n.endswith(".dist-info/RECORD")
        } | {PurePosixPath(n).parent for n in members if n.endswith(".dist-info/top_level.txt")}
        for dist in sorted(dist_infos):
            top_level = f"{dist}/top_level.txt"
            if top_level in members:
                text = archive.read(top_level).decode("utf-8")
                names |= {line.strip() for line in text.splitlines() if line.strip()}
                continue
            record = archive.read(f"{dist}/RECORD").decode("utf-8")
            for row in csv.reader(io.StringIO(record)):
                if row and not row[0].startswith(("../", "/")):
                    first = PurePosixPath(row[0]).parts[0]
                    if first.endswith((".dist-info", ".data")) or first == "__pycache__":
                        continue
                    names.add(first.removesuffix(".py"))
        for name in members:
            parts = PurePosixPath(name).parts
            if len(parts) >= 3 and parts[0] == "python" and parts[2] == "__init__.py":
                names.add(parts[1])
    return frozenset(n for n in names if n.isidentifier())


def check_layer_zip(zip_path: Path, python_version: str, architecture: str) -> list[Problem]:
    """The layer's wheels and compiled extensions against the target."""
    from etl_platform.artifacts.packaging import inspect_layer

    report = inspect_layer(zip_path, python_version=python_version, architecture=architecture)
    return [
        Problem(
            zip_path,
            0,
            "",  # the problem text starts with the distribution or file it is about
            problem,
            "rebuild the layer for this target (nox -s build -- --runtime python"
            f"{python_version} --architecture {architecture}) or pin a version that "
            "publishes a matching wheel",
        )
        for problem in report.problems
    ]


def build_layer(python_version: str, architecture: str, layer_dir: Path = _LAYER_DIR) -> Path:
    """The layer zip for the target (from the build cache when nothing changed)."""
    from etl_platform.artifacts.packaging import build_layer_zip

    return build_layer_zip(
        layer_dir,
        BUILD_DIR / "layers",
        python_version=python_version,
        architecture=architecture,
        bytecode=True,  # the zip deploy-all publishes (same cache entry)
    ).path


# ------------------------------------------------------------------------------- entry


def function_problems(
    spec: FunctionSpec,
    runtime: str,
    architecture: str = DEFAULT_ARCHITECTURE,
    *,
    layer_zip: Path | None = None,
) -> list[Problem]:
    """The compat problems of one catalog function's own code on ``runtime``.

    What ``nox -s compat`` reports for that function's folder (not for the layers):
    Node.js through :func:`etl_platform.artifacts.node_compat.check_node_tree` with its
    handler; Python through :func:`check_sources`, against the layer zip ``layer_zip``
    or, only when an import is not otherwise resolvable, the built layer (cached).
    """
    if language_of(runtime) == NODEJS:
        return check_node_tree(spec.code_dir, runtime, handler=spec.handler, function_tree=True)
    target = _version(runtime)
    files = _function_files(spec)
    if layer_zip is None:
        problems = check_sources(files, target, frozenset())
        if not any(_NOT_IN_LAYER in p.message for p in problems):
            return problems
        layer_zip = build_layer(f"{target[0]}.{target[1]}", architecture)
    return check_sources(files, target, layer_import_names(layer_zip))


def python_problems(
    runtime: str = DEFAULT_RUNTIME,
    architecture: str = DEFAULT_ARCHITECTURE,
    *,
    catalog_dir: Path | None = None,
    layer_dir: Path = _LAYER_DIR,
    layer_zip: Path | None = None,
) -> list[Problem]:
    """The Python functions, ``etl_common`` and the Python layer against the target."""
    target = _version(runtime)
    python_version = f"{target[0]}.{target[1]}"
    zip_path = layer_zip or build_layer(python_version, architecture, layer_dir)
    problems = check_layer_zip(zip_path, python_version, architecture)
    files = source_files(catalog_dir, layer_dir)
    return problems + check_sources(files, target, layer_import_names(zip_path))


def run(
    runtime: str = DEFAULT_RUNTIME,
    architecture: str = DEFAULT_ARCHITECTURE,
    *,
    catalog_dir: Path | None = None,
    layer_dir: Path = _LAYER_DIR,
    layer_zip: Path | None = None,
) -> list[Problem]:
    """Every compatibility problem of the catalog's code and the layers for the target,
    and every mismatch between a function's SDK calls and its needs (warnings included)."""
    problems = python_problems(
        runtime, architecture, catalog_dir=catalog_dir, layer_dir=layer_dir, layer_zip=layer_zip
    )
    problems += node_problems(catalog_dir, architecture)
    return problems + catalog_needs_problems(load_catalog(catalog_dir))


def node_problems(
    catalog_dir: Path | None = None, architecture: str = DEFAULT_ARCHITECTURE
) -> list[Problem]:
    """Every Node.js function against its own runtime, and the Node layer (when there is one)."""
    node_functions = load_catalog(catalog_dir).node_functions
    if not node_functions:
        return []

    runtimes = sorted({spec.runtime for spec in node_functions if spec.runtime})
    problems = check_node_layer(runtimes)
    for spec in node_functions:
        assert spec.runtime is not None
        problems += check_node_tree(
            spec.code_dir, spec.runtime, handler=spec.handler, function_tree=True
        )
    if not problems:  # the layer builds only from a sound lockfile
        try:
            build_node_layer_zip(
                BUILD_DIR / "layers",
                architecture=architecture,
                needed_by=[spec.source for spec in node_functions],
            )
        except NodeLayerError as error:
            problems.append(Problem(LAYERS_DIR / "etl-node", 0, "", str(error), "see above"))
    return problems


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``etl-ops compat [--runtime R] [--architecture A] [--catalog-dir D] [--layer-zip Z]``."""
    parser.add_argument("--runtime", default=DEFAULT_RUNTIME, help="default %(default)s")
    parser.add_argument(
        "--architecture", default=DEFAULT_ARCHITECTURE, choices=sorted(ARCHITECTURES)
    )
    parser.add_argument("--catalog-dir", type=Path, default=None, help="default lambdas/")
    parser.add_argument("--layer-zip", type=Path, default=None, help="a built layer zip")


def command(args: argparse.Namespace) -> int:
    """Check the Lambda code and the layer against the target runtime; 1 on a problem."""
    python = python_problems(
        args.runtime,
        args.architecture,
        catalog_dir=args.catalog_dir,
        layer_zip=args.layer_zip,
    )
    node = node_problems(args.catalog_dir, args.architecture)
    needs = catalog_needs_problems(load_catalog(args.catalog_dir))
    target = f"{args.runtime} {args.architecture}"
    node_runtimes = ", ".join(
        sorted({s.runtime for s in load_catalog(args.catalog_dir).node_functions if s.runtime})
    )
    needs_errors = [p for p in needs if p.is_error]
    warnings = [p for p in needs if not p.is_error]
    sections = [
        (python, f"the Python functions, etl_common and the Python layer for {target}"),
        (
            node,
            f"the Node.js functions and the Node layer for {node_runtimes or 'no Node.js runtime'}",
        ),
        (needs_errors, "the SDK calls each function's code makes, against its needs"),
    ]
    for problems, what in sections:
        if problems:
            print(f"compat: {len(problems)} problem(s) in {what}:", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
        else:
            print(f"compat: {what}: no problem")
    if warnings:
        print(f"compat: {len(warnings)} warning(s):", file=sys.stderr)
        for problem in warnings:
            print(f"  {problem}", file=sys.stderr)
    return 1 if python or node or needs_errors else 0
