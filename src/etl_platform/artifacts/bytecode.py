"""Deterministic ``.pyc`` files for the Lambda target, compiled by the target's own Python.

Lambda's ``/var/task`` and ``/opt`` are read-only, so a package without bytecode is
compiled again at every cold start (and the result thrown away). Shipping ``.pyc``
files removes that cost, but only if they were compiled by the runtime's Python
version (the magic number in each file must match, or Python silently ignores it)
and only if they are reproducible (an unchanged package must keep its hash).

So :func:`compile_sources`:

- finds an interpreter of the target version (this one, ``$PYENV_ROOT/versions/3.N.*``
  or ``python3.N`` on ``PATH``; ``ETL_PYTHON_3_N`` names one explicitly) and runs
  :func:`py_compile.compile` **in it**, so the magic number and bytecode are the
  target's, not this machine's;
- writes hash-based pycs (PEP 552: no source mtime inside), with ``PYTHONHASHSEED=0``
  (set and frozenset constants are marshalled in hash order) and a fixed display
  name per file (``/var/task/...``, ``/opt/python/...``), so the bytes depend only on
  the sources and the compiler version;
- returns nothing, with a message saying why and what to install, when no such
  interpreter exists here. The package then ships sources only, as before: correct,
  just slower to start.

``checked=True`` makes ``CHECKED_HASH`` pycs (Python hashes the source at import and
recompiles on a mismatch: right for a function zip, which the Lambda console can
edit in place); ``checked=False`` makes ``UNCHECKED_HASH`` ones (no source read at all:
right for a layer, whose versions are immutable).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath

from etl_platform.model.runtimes import validate_python_version

__all__ = [
    "BytecodeUnavailableWarning",
    "Compiled",
    "Compiler",
    "compile_sources",
    "find_compiler",
]

# Bound at import: tests replace subprocess.run with a fake pip, which must not see this.
_run = subprocess.run

# Runs inside the target interpreter: compile the listed files, report what happened.
_COMPILE_SCRIPT = r"""
import importlib.util, json, py_compile, sys
request = json.load(sys.stdin)
mode = py_compile.PycInvalidationMode[request["mode"]]
done, failed = {}, {}
for name in request["names"]:
    source = request["src"] + "/" + name
    cache = importlib.util.cache_from_source(name)
    try:
        py_compile.compile(source, cfile=request["out"] + "/" + cache,
                           dfile=request["display_root"] + name, doraise=True,
                           invalidation_mode=mode)
    except py_compile.PyCompileError as error:
        failed[name] = str(error.msg).strip().splitlines()[-1]
    else:
        done[name] = cache
json.dump({"done": done, "failed": failed}, sys.stdout)
"""

_PROBE_SCRIPT = (
    "import importlib.util, json, sys; print(json.dumps([list(sys.version_info[:3]), "
    "sys.implementation.cache_tag, importlib.util.MAGIC_NUMBER.hex()]))"
)


class BytecodeUnavailableWarning(UserWarning):
    """No interpreter of the target Python version here: packages ship sources only."""


@dataclass(frozen=True)
class Compiler:
    """An interpreter of the target version that compiles the pycs."""

    executable: str
    version: str  # full version, e.g. "3.13.0"
    cache_tag: str  # e.g. "cpython-313": the pyc file name suffix
    magic: bytes  # importlib.util.MAGIC_NUMBER of that interpreter

    def describe(self, checked: bool) -> str:
        """``cpython-313 (Python 3.13.0, checked-hash)``: what is in the zip and who made it."""
        mode = "checked-hash" if checked else "unchecked-hash"
        return f"{self.cache_tag} (Python {self.version}, {mode})"


@dataclass(frozen=True)
class Compiled:
    """The pycs of one package, or why there are none."""

    files: dict[str, bytes] = field(default_factory=dict)  # {pyc arcname: bytes}
    compiler: str | None = None  # Compiler.describe(); None when no pyc was made
    message: str = ""  # why there is no pyc (empty when there are)
    failed: dict[str, str] = field(default_factory=dict)  # {source arcname: syntax error}


def _probe(executable: str) -> Compiler | None:
    try:
        result = _run(
            [executable, "-S", "-s", "-c", _PROBE_SCRIPT],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        (major, minor, micro), cache_tag, magic = json.loads(result.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    return Compiler(executable, f"{major}.{minor}.{micro}", cache_tag, bytes.fromhex(magic))


def _candidates(python_version: str) -> list[str]:
    explicit = os.environ.get(f"ETL_PYTHON_{python_version.replace('.', '_')}")
    if explicit:
        return [explicit]  # named explicitly: nothing else is tried
    found: list[str] = []
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == python_version:
        found.append(sys.executable)
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    installed = sorted(
        (pyenv_root / "versions").glob(f"{python_version}.*/bin/python{python_version}"),
        key=lambda p: [int(x) if x.isdigit() else -1 for x in p.parts[-3].split(".")],
        reverse=True,  # newest patch release first
    )
    found.extend(str(p) for p in installed)
    on_path = shutil.which(f"python{python_version}")
    if on_path:
        found.append(on_path)  # a pyenv shim may refuse to run: the probe tells
    return found


@cache
def find_compiler(python_version: str) -> Compiler | None:
    """An interpreter of ``python_version`` (``"3.13"``) that runs here, or None."""
    validate_python_version(python_version)
    for candidate in _candidates(python_version):
        compiler = _probe(candidate)
        if compiler is not None and compiler.version.rsplit(".", 1)[0] == python_version:
            return compiler
    return None


def unavailable_message(python_version: str) -> str:
    """Why a package has no pyc, and how to get them."""
    name = f"ETL_PYTHON_{python_version.replace('.', '_')}"
    return (
        f"no Python {python_version} interpreter found here (looked at this interpreter, "
        f"pyenv's versions/{python_version}.* and python{python_version} on PATH), so the "
        f"packages ship .py sources only and Lambda compiles them at every cold start. "
        f"Install it (e.g. `pyenv install {python_version}`) or set {name} to its path "
        "to ship deterministic .pyc files."
    )


_warned: set[str] = set()


def compile_sources(
    sources: dict[str, bytes], python_version: str, *, display_root: str, checked: bool
) -> Compiled:
    """Compile the ``.py`` entries of ``sources`` (``{arcname: bytes}``) for the target.

    Returns ``{<dir>/__pycache__/<name>.<cache_tag>.pyc: bytes}`` next to each source
    (where the import system looks), or an empty result with a message (and one
    :class:`BytecodeUnavailableWarning` per version) when no interpreter of
    ``python_version`` is available. A file the target cannot compile (say, an old
    syntax in a third-party test module) gets no pyc and is listed in ``failed``.
    ``display_root`` is where the files sit at run time (``/var/task/``, ``/opt/``):
    tracebacks name that path, never this machine's.
    """
    compiler = find_compiler(python_version)
    if compiler is None:
        message = unavailable_message(python_version)
        if python_version not in _warned:
            _warned.add(python_version)
            warnings.warn(message, BytecodeUnavailableWarning, stacklevel=3)
        return Compiled(message=message)
    names = sorted(n for n in sources if n.endswith(".py"))
    if not names:
        return Compiled(compiler=compiler.describe(checked))
    with tempfile.TemporaryDirectory(prefix="etl-pyc-") as scratch:
        src, out = Path(scratch) / "src", Path(scratch) / "out"
        for name in names:
            path = src / PurePosixPath(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(sources[name])
        request = {
            "names": names,
            "src": str(src),
            "out": str(out),
            "display_root": display_root,
            "mode": "CHECKED_HASH" if checked else "UNCHECKED_HASH",
        }
        # No -I/-E: PYTHONHASHSEED must reach it. -S -s: no site, nothing from this machine.
        env = {"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PATH": os.defpath}
        result = _run(
            [compiler.executable, "-S", "-s", "-c", _COMPILE_SCRIPT],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"compiling bytecode with {compiler.executable} failed "
                f"(exit {result.returncode}):\n{result.stderr.strip()[-2000:]}"
            )
        report = json.loads(result.stdout)
        files = {
            cache: (out / PurePosixPath(cache)).read_bytes()
            for cache in sorted(report["done"].values())
        }
    return Compiled(files=files, compiler=compiler.describe(checked), failed=report["failed"])
