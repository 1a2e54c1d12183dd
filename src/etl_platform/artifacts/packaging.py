"""Deterministic, cached deployment packages: one zip per function, one for the layer.

An unchanged function or layer must never show a diff or force a new layer version,
so both zips are byte-identical for identical inputs, whatever the checkout path,
file mtimes, permissions or umask: entries sorted, timestamps fixed at 1980-01-01,
permissions fixed (0644 files, 0755 directories), no ``__pycache__``/``*.pyc``, no
absolute paths, fixed deflate level.

- :func:`build_function_zip`: the function's own code (``lambdas/<name>/``) only.
- :func:`build_layer_zip`: ``python/`` holding the third-party packages of
  ``layers/<layer>/requirements.txt`` installed by pip *for the Lambda target*
  (see :mod:`etl_platform.artifacts.wheels`), plus the project's ``etl_common`` package.
  Builds are cached by a hash of their inputs; a cache hit runs no pip and touches
  no network.

With ``bytecode=True`` (what the platform's builds use) both also carry deterministic
``.pyc`` files compiled by the target Python version (:mod:`etl_platform.artifacts.bytecode`):
checked-hash ones in a function zip, unchecked-hash ones in the layer. Without an
interpreter of that version here they are omitted, with a warning that says so, and
``BuiltArtifact.bytecode`` is None. A checkout's own ``__pycache__`` never gets in.

The zip format, atomic writes and input hashes are :mod:`etl_platform.artifacts.archive`'s
(shared with the Node layer). ``etl-ops build`` (``nox -s build``,
:mod:`etl_platform.artifacts.build`) builds every catalog function and the layers into
``build/``.

:func:`inspect_layer`/:func:`check_layer` (from :mod:`etl_platform.artifacts.wheels`, re-exported
here) verify a built layer's wheels and extensions against the target.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from email.parser import HeaderParser
from pathlib import Path, PurePosixPath

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from etl_platform.artifacts.archive import (
    FORMAT_VERSION,
    BuiltArtifact,
    PackagingError,
    assert_no_build_paths,
    built_artifact,
    default_cache_dir,
    input_hash,
    valid_zip,
    write_atomically,
    zip_bytes,
)
from etl_platform.artifacts.bytecode import compile_sources, find_compiler
from etl_platform.artifacts.wheels import (
    RUNTIME_PROVIDED,
    LayerCompatibilityError,
    LayerReport,
    check_layer,
    inspect_layer,
    target_platforms,
    validate_python_version,
)
from etl_platform.model.runtimes import (
    DEFAULT_ARCHITECTURE,
    DEFAULT_RUNTIME,
    NODE_SOURCE_SUFFIXES,
    machine_of,
    python_version_of,
)
from etl_platform.paths import REPO_ROOT

__all__ = [
    "FORMAT_VERSION",
    "BuiltArtifact",
    "LayerCompatibilityError",
    "LayerReport",
    "PackagingError",
    "RuntimeProvidedPackageError",
    "build_function_zip",
    "build_layer_zip",
    "check_layer",
    "default_cache_dir",
    "inspect_layer",
    "python_version_of",
    "read_requirements",
    "repo_root",
]

_DEFAULT_PYTHON = python_version_of(DEFAULT_RUNTIME)

# Never packaged: build litter, VCS/editor files, and what belongs to the catalog or tests.
_EXCLUDED_DIRS = frozenset({"__pycache__", "tests", "test", "node_modules"})
_EXCLUDED_FILES = frozenset({"function.toml", "conftest.py"})
_EXCLUDED_SUFFIXES = (".pyc", ".pyo")
# A function's own code: a Python module, or a Node.js file (Lambda's handler extensions).
_CODE_SUFFIXES = (".py", *NODE_SOURCE_SUFFIXES)


class RuntimeProvidedPackageError(PackagingError):
    """requirements.txt names a package the Lambda runtime already provides."""


# --------------------------------------------------------------------------- paths


def repo_root() -> Path:
    """The repository root (from :mod:`etl_platform.paths`)."""
    return REPO_ROOT


# ---------------------------------------------------------------- deterministic zip


def _is_excluded(relative: PurePosixPath) -> bool:
    if any(part.startswith(".") or part in _EXCLUDED_DIRS for part in relative.parts):
        return True
    name = relative.name
    return (
        name in _EXCLUDED_FILES
        or name.endswith(_EXCLUDED_SUFFIXES)
        or (name.startswith("test_") and name.endswith(".py"))
    )


def _source_files(root: Path, prefix: str = "") -> dict[str, Path]:
    """``{arcname: path}`` for every packageable file under ``root`` (sorted by arcname)."""
    files: dict[str, Path] = {}
    for path in root.rglob("*"):
        relative = PurePosixPath(path.relative_to(root).as_posix())
        if path.is_file() and not _is_excluded(relative):
            files[f"{prefix}{relative}"] = path
    return dict(sorted(files.items()))


def _with_bytecode(
    entries: dict[str, bytes], python_version: str, display_root: str, checked: bool
) -> tuple[dict[str, bytes], str | None]:
    """``entries`` plus their pycs for the target (none when its Python is missing)."""
    try:
        compiled = compile_sources(
            entries, python_version, display_root=display_root, checked=checked
        )
    except RuntimeError as error:
        raise PackagingError(str(error)) from None
    return {**entries, **compiled.files}, compiled.compiler if compiled.files else None


def _bytecode_param(python_version: str, checked: bool) -> tuple[str, str | None]:
    """The input-hash parameter naming the bytecode compiler (its full version), and
    its description (None, after the warning that says so, when there is none here)."""
    compiler = find_compiler(python_version)
    if compiler is None:
        compile_sources({}, python_version, display_root="", checked=checked)  # warns once
        return "bytecode=none", None
    return f"bytecode={compiler.describe(checked)}", compiler.describe(checked)


# ------------------------------------------------------------------------ functions


def build_function_zip(
    function_dir: Path,
    out_dir: Path,
    *,
    python_version: str | None = None,
    cache_dir: Path | None = None,
) -> BuiltArtifact:
    """Zip the function's own code: ``<out_dir>/<folder name>.zip``.

    Takes every file under ``function_dir`` (handler modules and package data) except
    ``function.toml``, tests, ``__pycache__``/``*.pyc`` and dotfiles. Cheap and local,
    so it is always rebuilt (no cache); the output is still byte-identical.
    ``python_version`` (``"3.13"``) adds checked-hash pycs compiled by that version;
    such a zip is cached in ``cache_dir`` (default ``build/cache/functions``) by its
    inputs' hash (compiler version included), so an unchanged function runs no compiler.
    """
    function_dir = Path(function_dir)
    if not function_dir.is_dir():
        raise PackagingError(f"function folder {function_dir} does not exist")
    files = _source_files(function_dir)
    if not any(name.endswith(_CODE_SUFFIXES) for name in files):
        raise PackagingError(
            f"function folder {function_dir} holds no code file ({', '.join(_CODE_SUFFIXES)}) "
            "to package"
        )
    entries = {name: path.read_bytes() for name, path in files.items()}
    target = Path(out_dir) / f"{function_dir.name}.zip"
    if python_version is None:
        data = zip_bytes(entries)
        write_atomically(target, data)
        return built_artifact(target, data, input_hash("function", [], files))
    # With bytecode the compiler runs in another process: cache by the inputs' hash.
    validate_python_version(python_version)
    param, bytecode = _bytecode_param(python_version, checked=True)
    key = input_hash("function", [param], files)
    cache = Path(cache_dir) if cache_dir else default_cache_dir() / "functions"
    cached = cache / f"{function_dir.name}-{key}.zip"
    if cached.is_file() and valid_zip(cached):
        data = cached.read_bytes()
    else:
        entries, bytecode = _with_bytecode(entries, python_version, "/var/task/", checked=True)
        data = zip_bytes(entries)
        write_atomically(cached, data)
    write_atomically(target, data)
    return built_artifact(target, data, key, bytecode)


# --------------------------------------------------------------------------- layers


def read_requirements(requirements: Path) -> tuple[str, ...]:
    """The requirement lines of ``requirements``, comments stripped, sorted.

    Raises RuntimeProvidedPackageError if one names a package that the Lambda runtime
    provides, and PackagingError for lines that are not exact ``name==version`` pins
    (the layer must be reproducible, and ``--no-deps`` needs every package listed).
    """
    lines: list[str] = []
    for number, raw in enumerate(requirements.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{requirements}:{number}"
        try:
            requirement = Requirement(line)
        except InvalidRequirement as error:
            raise PackagingError(f"{where}: {line!r} is not a requirement: {error}") from None
        if canonicalize_name(requirement.name) in RUNTIME_PROVIDED:
            provided = ", ".join(sorted(RUNTIME_PROVIDED))
            raise RuntimeProvidedPackageError(
                f"{where}: {requirement.name!r} is provided by the Lambda Python runtime and must "
                f"not be bundled in the layer (runtime-provided: {provided}); remove the line"
            )
        specifiers = list(requirement.specifier)
        if len(specifiers) != 1 or specifiers[0].operator != "==" or requirement.url:
            raise PackagingError(f"{where}: {line!r} must be pinned exactly as 'name==version'")
        lines.append(str(requirement))
    return tuple(sorted(lines, key=str.lower))


def _pip_install(
    requirements: Sequence[str], target: Path, python_version: str, architecture: str
) -> None:
    """Install the pinned wheels for the Lambda target (not this machine) into target."""
    requirements_file = target.parent / "requirements.txt"
    requirements_file.write_text("\n".join(requirements) + "\n", encoding="utf-8")
    platform_args = [
        arg
        for platform in target_platforms(python_version, architecture)
        for arg in ("--platform", platform)
    ]
    command = [
        sys.executable, "-m", "pip", "install",
        "--disable-pip-version-check", "--no-input", "--quiet",
        *platform_args,
        "--python-version", python_version,
        "--implementation", "cp",
        "--only-binary=:all:", "--no-deps", "--no-compile",
        "--target", str(target),
        "--requirement", str(requirements_file),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PackagingError(
            f"pip could not install the layer's requirements for python{python_version} "
            f"{architecture} (exit {result.returncode}):\n{result.stderr.strip()[-4000:]}"
        )


def _normalised_installed_files(target: Path) -> dict[str, bytes]:
    """pip's ``--target`` tree as ``{path: bytes}``, with machine-specific content removed.

    Dropped: ``bin/`` (console scripts carry this machine's interpreter path in their
    shebang and are useless in a layer), ``direct_url.json`` (an absolute file URL when
    installing from a path), ``__pycache__``/``*.pyc``. Each ``RECORD`` is rewritten
    without the rows for dropped files. ``INSTALLER`` (``pip``), ``REQUESTED`` (empty)
    and the wheel's own files are deterministic and kept.
    """
    dropped: set[str] = set()
    kept: dict[str, bytes] = {}
    for path in sorted(target.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(target).as_posix()
        parts = PurePosixPath(relative).parts
        if (
            parts[0] == "bin"
            or path.name == "direct_url.json"
            or "__pycache__" in parts
            or path.suffix in _EXCLUDED_SUFFIXES
        ):
            dropped.add(relative)
        else:
            kept[relative] = path.read_bytes()
    for name in [n for n in kept if n.endswith(".dist-info/RECORD")]:
        kept[name] = _rewrite_record(kept[name], dropped)
    return kept


def _rewrite_record(record: bytes, dropped: set[str]) -> bytes:
    rows = csv.reader(io.StringIO(record.decode("utf-8")))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        if not row:
            continue
        path = row[0]
        resolved = os.path.normpath(path).replace(os.sep, "/")
        if resolved in dropped or path.startswith(("/", "../")) or "__pycache__" in path:
            continue
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def _target_marker_environment(python_version: str, architecture: str) -> dict[str, str]:
    environment: dict[str, object] = dict(default_environment())
    environment.update(
        implementation_name="cpython", implementation_version=f"{python_version}.0",
        os_name="posix", platform_machine=machine_of(architecture),
        platform_python_implementation="CPython", platform_system="Linux",
        python_full_version=f"{python_version}.0", python_version=python_version,
        sys_platform="linux", extra="",
    )  # fmt: skip
    return {key: str(value) for key, value in environment.items()}


def _check_dependencies_closed(
    files: dict[str, bytes], python_version: str, architecture: str
) -> None:
    """--no-deps installs only what is listed; fail if a listed package needs more."""
    installed: dict[str, str] = {}
    metadata: dict[str, bytes] = {}
    for name, data in files.items():
        if name.endswith(".dist-info/METADATA"):
            headers = HeaderParser().parsestr(data.decode("utf-8"))
            installed[canonicalize_name(headers["Name"])] = headers["Version"]
            metadata[headers["Name"]] = data
    environment = _target_marker_environment(python_version, architecture)
    missing: list[str] = []
    for dist, data in sorted(metadata.items()):
        for line in HeaderParser().parsestr(data.decode("utf-8")).get_all("Requires-Dist") or ():
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate(environment):
                continue
            key = canonicalize_name(requirement.name)
            if key in RUNTIME_PROVIDED:
                continue
            have = installed.get(key)
            if have is None or not requirement.specifier.contains(Version(have), prereleases=True):
                missing.append(f"{dist} needs {requirement} (layer has {have or 'nothing'})")
    if missing:
        raise PackagingError(
            "the layer's requirements.txt is not closed under dependencies (pip runs with "
            "--no-deps, so every dependency must be pinned there):\n  - " + "\n  - ".join(missing)
        )


def _layer_entries(
    requirements: Sequence[str], own_files: dict[str, Path], python_version: str, architecture: str
) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory(prefix="etl-layer-") as scratch:
        target = Path(scratch) / "python"
        _pip_install(requirements, target, python_version, architecture)
        installed = _normalised_installed_files(target)
        clash = sorted({n.split("/")[0] for n in installed} & {n.split("/")[1] for n in own_files})
        if clash:
            raise PackagingError(f"the layer's own code clashes with installed packages: {clash}")
        _check_dependencies_closed(installed, python_version, architecture)
        entries = {f"python/{name}": data for name, data in installed.items()}
        entries.update({name: path.read_bytes() for name, path in own_files.items()})
        assert_no_build_paths(entries, Path(scratch), Path(scratch).resolve())
    return entries


def build_layer_zip(
    layer_dir: Path,
    out_dir: Path,
    *,
    python_version: str = _DEFAULT_PYTHON,
    architecture: str = DEFAULT_ARCHITECTURE,
    cache_dir: Path | None = None,
    bytecode: bool = False,
) -> BuiltArtifact:
    """Build ``<out_dir>/<layer>-python<ver>-<arch>.zip`` from ``layer_dir``.

    ``layer_dir`` holds ``requirements.txt`` (exact pins, nothing the runtime provides)
    and the project's own package (``etl_common``, every non-hidden package folder).
    The result is looked up in ``cache_dir`` (default ``<repo>/build/cache``) by the
    hash of requirements, own files, target and format version; on a hit no pip runs.
    ``bytecode=True`` adds unchecked-hash pycs compiled by ``python_version`` (a
    layer version is immutable); the compiler's full version is part of the hash.
    """
    layer_dir = Path(layer_dir)
    validate_python_version(python_version)
    machine_of(architecture)
    requirements = read_requirements(layer_dir / "requirements.txt")
    own_files = _layer_own_files(layer_dir)
    params = [
        *requirements,
        f"python={python_version}",
        f"architecture={architecture}",
        *target_platforms(python_version, architecture),
    ]
    compiled: str | None = None
    if bytecode:
        param, compiled = _bytecode_param(python_version, checked=False)
        params.append(param)
    key = input_hash("layer", params, own_files)
    stem = f"{layer_dir.name}-python{python_version}-{architecture}"
    cached = Path(cache_dir or default_cache_dir()) / f"{stem}-{key}.zip"
    if cached.is_file() and valid_zip(cached):
        data = cached.read_bytes()
    else:
        entries = _layer_entries(requirements, own_files, python_version, architecture)
        if compiled:
            entries, compiled = _with_bytecode(entries, python_version, "/opt/", checked=False)
        data = zip_bytes(entries)
        write_atomically(cached, data)
    target = Path(out_dir) / f"{stem}.zip"
    write_atomically(target, data)
    return built_artifact(target, data, key, compiled)


def _layer_own_files(layer_dir: Path) -> dict[str, Path]:
    """The project's own packages in the layer folder, placed under ``python/``."""
    packages = sorted(
        p for p in layer_dir.iterdir() if p.is_dir() and not _is_excluded(PurePosixPath(p.name))
    )
    if not packages:
        raise PackagingError(
            f"layer folder {layer_dir} holds no package folder (expected etl_common/)"
        )
    files: dict[str, Path] = {}
    for package in packages:
        files.update(_source_files(package, prefix=f"python/{package.name}/"))
    return dict(sorted(files.items()))
