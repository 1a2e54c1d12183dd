"""The Node.js layer: ``layer-etl-node-<suffix>``, built only when the catalog has a Node function.

Its content is ``nodejs/node_modules`` (where Lambda's Node.js runtimes look for a
layer's packages), installed by ``npm ci --omit=dev --ignore-scripts`` from the
committed ``layers/etl-node/package.json`` and ``package-lock.json``. Like the Python
layer the zip is deterministic (:mod:`etl_platform.artifacts.archive`: (sorted entries, fixed
times and modes; here also no symlinks, ``.bin``, or npm's own ``.package-lock.json``) and cached
by a hash of its inputs: a hit runs no npm and needs no network.

Refused, each with the file and the fix:

- a missing, unparsable or out-of-sync ``package-lock.json`` (``npm ci`` needs it);
- ``aws-sdk`` (v2: end of support) and ``@aws-sdk/*`` (v3: the runtime provides it);
- a package with a native addon (``binding.gyp`` or ``*.node``) that ships no prebuilt
  binary for Linux on the target architecture: nothing compiles it for Lambda.

``etl-ops build`` (``nox -s build``) builds it with the rest when a Node function exists.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from etl_platform.artifacts.archive import (
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
from etl_platform.artifacts.layers import layer_dir
from etl_platform.artifacts.nodejs import run_tool
from etl_platform.artifacts.wheels import elf_machine
from etl_platform.model.runtimes import (
    NODE_ARCH,
    NODE_RUNTIME_PROVIDED_SCOPES,
    NODE_SDK_V2,
    NODEJS,
    machine_of,
)

__all__ = [
    "LOCKFILE",
    "MANIFEST",
    "NodeLayerError",
    "NodeLockfile",
    "build_node_layer_zip",
    "native_addon_problems",
    "read_lockfile",
    "runtime_provided_problems",
]

MANIFEST = "package.json"
LOCKFILE = "package-lock.json"
_LOCK_FIX = "run `npm install --package-lock-only` in {dir} and commit package-lock.json"
_V2_SDK = NODE_SDK_V2


class NodeLayerError(PackagingError):
    """The Node layer's package.json/package-lock.json is unusable, or its packages are."""


@dataclass(frozen=True)
class NodeLockfile:
    """The parts of ``package-lock.json`` the platform checks."""

    path: Path
    dependencies: dict[str, str]  # package.json's runtime dependencies
    packages: dict[str, dict[str, Any]]  # "node_modules/<name>" -> lock entry

    def installed(self, *, include_dev: bool = False) -> dict[str, dict[str, Any]]:
        """Package name -> entry, for what ``npm ci --omit=dev`` installs."""
        result: dict[str, dict[str, Any]] = {}
        for key, entry in self.packages.items():
            if not key or (entry.get("dev") and not include_dev):
                continue
            name = key.rsplit("node_modules/", 1)[-1]
            result.setdefault(name, entry)
        return result

    def brought_in_by(self, name: str) -> list[str]:
        """The direct dependencies (package.json's) whose installed tree contains ``name``.

        ``[name]`` when it is itself a direct dependency. Follows each lock entry's
        ``dependencies`` by package name (npm's nesting is not needed to know who pulls
        a package in).
        """
        installed = self.installed()
        found = []
        for direct in sorted(self.dependencies):
            seen, todo = {direct}, [direct]
            while todo:
                entry = installed.get(todo.pop(), {})
                for child in entry.get("dependencies") or {}:
                    if child not in seen:
                        seen.add(child)
                        todo.append(child)
            if name in seen:
                found.append(direct)
        return found

    def line_of(self, needle: str) -> int:
        """The first line of the lockfile mentioning ``needle`` (for messages), else 0."""
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            if needle in line:
                return number
        return 0


def read_lockfile(folder: Path) -> NodeLockfile:
    """Read and check ``folder/package.json`` + ``folder/package-lock.json``."""
    manifest_path, lock_path = folder / MANIFEST, folder / LOCKFILE
    fix = _LOCK_FIX.format(dir=folder)
    if not manifest_path.is_file():
        raise NodeLayerError(f"{manifest_path} is missing: the Node layer needs a package.json")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise NodeLayerError(f"{manifest_path} is not valid JSON: {error}") from None
    if not lock_path.is_file():
        raise NodeLayerError(
            f"{lock_path} is missing: the layer is installed with `npm ci`, which needs it. "
            f"Fix: {fix}"
        )
    try:
        lock = json.loads(lock_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise NodeLayerError(f"{lock_path} is not valid JSON ({error}). Fix: {fix}") from None
    if not isinstance(lock, dict) or lock.get("lockfileVersion") not in (2, 3):
        raise NodeLayerError(
            f"{lock_path} is not an npm 7+ lockfile (lockfileVersion 2 or 3). Fix: {fix}"
        )
    packages = lock.get("packages")
    if not isinstance(packages, dict) or not isinstance(packages.get(""), dict):
        raise NodeLayerError(f"{lock_path} has no 'packages' section. Fix: {fix}")
    dependencies = manifest.get("dependencies") or {}
    if not isinstance(dependencies, dict):
        raise NodeLayerError(f"{manifest_path}: 'dependencies' must be an object")
    locked = packages[""].get("dependencies") or {}
    if locked != dependencies:
        raise NodeLayerError(
            f"{lock_path} is out of sync with {manifest_path} (package.json wants "
            f"{dependencies}, the lockfile has {locked}); `npm ci` would refuse. Fix: {fix}"
        )
    return NodeLockfile(lock_path, dict(dependencies), packages)


def runtime_provided_problems(lock: NodeLockfile) -> list[tuple[str, int, str, str]]:
    """``(package, line, what is wrong, fix)`` for aws-sdk v2 and ``@aws-sdk/*`` in the layer."""
    problems = []
    for name in sorted(lock.installed()):
        line = lock.line_of(f'"node_modules/{name}"')
        if name == _V2_SDK:
            problems.append(
                (
                    name,
                    line,
                    "aws-sdk (v2) is in the layer; it reached end of support and the "
                    "nodejs18.x+ runtimes do not provide it" + _brought_in(lock, name),
                    "use the @aws-sdk/client-* v3 packages (provided by the runtime); "
                    + _bundled_fix(lock, name),
                )
            )
        elif name.startswith(NODE_RUNTIME_PROVIDED_SCOPES):
            problems.append(
                (
                    name,
                    line,
                    f"{name} is provided by the Lambda Node.js runtime and must not be bundled "
                    "(a second copy shadows the runtime's)" + _brought_in(lock, name),
                    _bundled_fix(lock, name),
                )
            )
    return problems


def _brought_in(lock: NodeLockfile, name: str) -> str:
    direct = [d for d in lock.brought_in_by(name) if d != name]
    if not direct or name in lock.dependencies:
        return ""
    return f"; it is not in {MANIFEST} itself but brought in by {', '.join(direct)}"


def _bundled_fix(lock: NodeLockfile, name: str) -> str:
    if name in lock.dependencies:
        return (
            f"remove {name} from {MANIFEST}'s dependencies (keep it in devDependencies for "
            "local tests)"
        )
    direct = lock.brought_in_by(name)
    return (
        f"remove {', '.join(direct) or 'the package that needs it'} from {MANIFEST}'s "
        f"dependencies, or pin a version of it that does not depend on {name} (the runtime "
        "provides the AWS SDK v3 to the function itself)"
    )


def _package_of(relative: str) -> str | None:
    """``node_modules/@s/p/lib/x.node`` -> ``@s/p`` (the innermost package), else None."""
    if "node_modules/" not in f"/{relative}":
        return None
    tail = relative.rsplit("node_modules/", 1)[-1]
    parts = PurePosixPath(tail).parts
    if not parts:
        return None
    return "/".join(parts[:2]) if parts[0].startswith("@") else parts[0]


def native_addon_problems(entries: dict[str, bytes], architecture: str) -> list[str]:
    """Packages with a native addon but no prebuilt ELF binary for linux on ``architecture``."""
    machine = machine_of(architecture)
    addons: dict[str, list[tuple[str, bytes]]] = {}
    for name, data in entries.items():
        package = _package_of(name)
        if package is None:
            continue
        root = name[: name.rindex(package) + len(package)]
        if name == f"{root}/binding.gyp" or name.endswith(".node"):
            addons.setdefault(root, []).append((name, data))
    problems = []
    for root, files in sorted(addons.items()):
        binaries = [elf_machine(data[:20]) for name, data in files if name.endswith(".node")]
        if machine in binaries:
            continue
        package = _package_of(root + "/x") or root
        found = ", ".join(sorted({str(b) for b in binaries if b})) or "none"
        problems.append(
            f"{package} has a native addon but no prebuilt binary for linux-"
            f"{NODE_ARCH[architecture]} ({machine}; prebuilt ELF binaries found: {found}); "
            "the layer is installed with --ignore-scripts and nothing compiles it for Lambda. "
            f"Fix: use a pure-JavaScript package, or a version that ships a linux-"
            f"{NODE_ARCH[architecture]} prebuild"
        )
    return problems


def _installed_entries(node_modules: Path) -> dict[str, bytes]:
    """``nodejs/node_modules/...`` -> bytes: regular files only, without npm's own litter."""
    entries: dict[str, bytes] = {}
    for path in sorted(node_modules.rglob("*")):
        relative = path.relative_to(node_modules.parent).as_posix()
        parts = PurePosixPath(relative).parts
        if path.is_symlink() or not path.is_file() or ".bin" in parts:
            continue
        if relative == "node_modules/.package-lock.json":
            continue  # npm's hidden lockfile: a cache, not part of any package
        entries[f"nodejs/{relative}"] = path.read_bytes()
    return entries


def _npm_ci(folder: Path, scratch: Path, needed_by: Sequence[Path]) -> Path:
    target = scratch / "nodejs"
    target.mkdir()
    for name in (MANIFEST, LOCKFILE):
        shutil.copyfile(folder / name, target / name)
    run_tool(
        [
            "npm", "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund",
            "--loglevel=error", "--prefix", str(target),
        ],
        f"the Node layer must be installed from {folder / LOCKFILE} for the Node.js "
        f"function(s) {', '.join(map(str, needed_by)) or '(none given)'}",
    )  # fmt: skip
    return target / "node_modules"


def build_node_layer_zip(
    out_dir: Path,
    *,
    architecture: str,
    folder: Path | None = None,
    cache_dir: Path | None = None,
    needed_by: Sequence[Path] = (),
) -> BuiltArtifact:
    """Build ``<out_dir>/etl-node-<arch>.zip`` (cached by its inputs).

    ``needed_by``: the ``function.toml`` files of the Node functions that need the
    layer, named when node/npm is missing.

    The content does not depend on the Node.js version (npm installs the locked
    packages as they are); each function's runtime is checked against the packages'
    ``engines`` by ``nox -s compat``.
    """
    folder = Path(folder or layer_dir(NODEJS))
    machine_of(architecture)
    lock = read_lockfile(folder)
    problems = [
        f"{lock.path}:{line}: {message}. Fix: {fix}"
        for _, line, message, fix in runtime_provided_problems(lock)
    ]
    if problems:
        raise NodeLayerError(
            "the Node layer bundles what it must not:\n  - " + "\n  - ".join(problems)
        )
    inputs = {name: folder / name for name in (MANIFEST, LOCKFILE)}
    key = input_hash("node-layer", [f"architecture={architecture}"], inputs)
    stem = f"{folder.name}-{architecture}"
    cached = Path(cache_dir or default_cache_dir()) / f"{stem}-{key}.zip"
    if cached.is_file() and valid_zip(cached):
        data = cached.read_bytes()
    else:
        with tempfile.TemporaryDirectory(prefix="etl-node-layer-") as scratch:
            node_modules = _npm_ci(folder, Path(scratch), needed_by)
            entries = _installed_entries(node_modules) if node_modules.is_dir() else {}
            assert_no_build_paths(entries, Path(scratch), Path(scratch).resolve())
        native = native_addon_problems(entries, architecture)
        if native:
            raise NodeLayerError(
                f"the Node layer ({folder / LOCKFILE}) cannot run on Lambda {architecture}:\n  - "
                + "\n  - ".join(native)
            )
        data = zip_bytes(entries)
        write_atomically(cached, data)
    target = Path(out_dir) / f"{stem}.zip"
    write_atomically(target, data)
    return built_artifact(target, data, key)
