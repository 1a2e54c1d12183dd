"""What "built for the Lambda target" means, and a check that a built layer is.

The layer is built on a developer machine or CI runner (any OS, any CPU) but runs
on Lambda: CPython ``<python_version>`` on Amazon Linux, ``arm64`` (aarch64) or
``x86_64``. This module owns that target description:

- :func:`target_platforms` gives the ``--platform`` values handed to pip;
- :func:`inspect_layer` reads a built layer zip and reports every distribution whose
  wheel tags, and every compiled extension whose file name or ELF header, does not
  fit the target. ``nox -s compat`` calls :func:`check_layer`, which raises.

Python versions here are ``"3.13"``-style strings; architectures use Lambda's names
(``arm64``, ``x86_64``).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path, PurePosixPath

from packaging.tags import Tag, compatible_tags, cpython_tags, parse_tag
from packaging.utils import canonicalize_name

from etl_platform.errors import EtlPlatformError
from etl_platform.model.runtimes import (
    ARCHITECTURES,
    DEFAULT_ARCHITECTURE,
    DEFAULT_RUNTIME,
    PYTHON_RUNTIME_PROVIDED,
    machine_of,
    max_glibc,
    python_version_of,
    validate_python_version,
)

__all__ = [
    "ARCHITECTURES",
    "RUNTIME_PROVIDED",
    "Distribution",
    "Extension",
    "LayerCompatibilityError",
    "LayerReport",
    "check_layer",
    "elf_machine",
    "inspect_layer",
    "machine_of",
    "max_glibc",
    "supported_tags",
    "target_platforms",
    "validate_python_version",
]

#: Distributions the Lambda Python runtime ships (from :mod:`etl_platform.model.runtimes`).
RUNTIME_PROVIDED: frozenset[str] = frozenset(PYTHON_RUNTIME_PROVIDED)
_DEFAULT_PYTHON = python_version_of(DEFAULT_RUNTIME)

# manylinux2014 == manylinux_2_17 (PEP 600): the oldest glibc we accept wheels for.
_OLDEST_GLIBC_MINOR = 17

# ELF e_machine values (System V ABI): which CPU a shared object was compiled for.
_ELF_MACHINES: dict[int, str] = {0x3E: "x86_64", 0xB7: "aarch64", 0x03: "i386", 0x28: "arm"}

_EXT_SUFFIX = re.compile(
    r"\.cpython-(?P<ver>\d+)(?P<flags>[a-z]*)-(?P<machine>\w+)-(?P<os>[\w-]+)\.so$"
)


class LayerCompatibilityError(EtlPlatformError):
    """The built layer holds wheels or extensions that cannot load on the target."""


def target_platforms(python_version: str, architecture: str) -> tuple[str, ...]:
    """The ``--platform`` values for pip, most preferred first.

    pip matches ``--platform`` literally (it does not expand ``manylinux_2_28`` to the
    older glibc versions a real Linux host would accept), and several wheels we need
    are not published as manylinux2014: psycopg-binary 3.3.9 ships cp313 aarch64 only
    as ``manylinux_2_27``/``manylinux_2_28``. So we list every ``manylinux_2_<n>`` from
    the target OS's glibc (2.34 on Amazon Linux 2023, 2.26 on Amazon Linux 2) down to
    2.17, plus the legacy alias ``manylinux2014`` for wheels tagged only by that name.
    Newest first, as pip on an Amazon Linux host would prefer them. A wheel needing a
    newer glibc than the target has is never chosen.
    """
    machine = machine_of(architecture)
    _, newest = max_glibc(python_version)
    perennial = [f"manylinux_2_{n}_{machine}" for n in range(newest, _OLDEST_GLIBC_MINOR - 1, -1)]
    return (*perennial, f"manylinux2014_{machine}")


def supported_tags(python_version: str, architecture: str) -> frozenset[Tag]:
    """Every wheel tag that loads on the target (the same set pip accepts for it)."""
    version = validate_python_version(python_version)
    platforms = list(target_platforms(python_version, architecture))
    interpreter = f"cp{version[0]}{version[1]}"
    tags = set(cpython_tags(python_version=version, abis=[interpreter], platforms=platforms))
    tags |= set(
        compatible_tags(python_version=version, interpreter=interpreter, platforms=platforms)
    )
    return frozenset(tags)


@dataclass(frozen=True)
class Distribution:
    """One installed distribution in the layer, from its ``*.dist-info/WHEEL``."""

    name: str
    version: str
    tags: tuple[str, ...]
    compatible: bool


@dataclass(frozen=True)
class Extension:
    """One compiled file (ELF shared object) in the layer."""

    path: str
    machine: str | None  # from the ELF header; None if not an ELF file
    problem: str | None


@dataclass(frozen=True)
class LayerReport:
    """What :func:`inspect_layer` found; ``problems`` is empty for a good layer."""

    zip_path: Path
    python_version: str
    architecture: str
    distributions: tuple[Distribution, ...]
    extensions: tuple[Extension, ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when every distribution and extension fits the target."""
        return not self.problems

    def raise_for_problems(self) -> None:
        """Raise LayerCompatibilityError listing every problem, if there are any."""
        if self.problems:
            lines = "\n".join(f"  - {problem}" for problem in self.problems)
            raise LayerCompatibilityError(
                f"layer {self.zip_path.name} does not fit the Lambda target "
                f"python{self.python_version} {self.architecture} "
                f"({machine_of(self.architecture)}):\n{lines}\n"
                "Rebuild it with etl_platform.artifacts.packaging.build_layer_zip for this target, "
                "or pin a version of the package that publishes a matching wheel."
            )


def _read_distribution(
    archive: zipfile.ZipFile, wheel_file: str, supported: frozenset[Tag]
) -> Distribution:
    headers = HeaderParser().parsestr(archive.read(wheel_file).decode("utf-8"))
    tag_strings = tuple(headers.get_all("Tag") or ())
    expanded = {tag for text in tag_strings for tag in parse_tag(text)}
    dist_dir = PurePosixPath(wheel_file).parent.name.removesuffix(".dist-info")
    name, _, version = dist_dir.partition("-")
    return Distribution(name, version, tag_strings, bool(expanded & supported))


def _distribution_problem(dist: Distribution, python_version: str, target: str) -> str | None:
    if canonicalize_name(dist.name) in RUNTIME_PROVIDED:
        return (
            f"{dist.name} {dist.version}: provided by the Lambda runtime; "
            "remove it from the layer's requirements.txt"
        )
    if dist.compatible:
        return None
    glibc = ".".join(map(str, max_glibc(python_version)))
    return (
        f"{dist.name} {dist.version}: wheel tags {', '.join(dist.tags) or '(none)'} do not fit "
        f"CPython {python_version} on manylinux {target} (glibc <= {glibc})"
    )


def elf_machine(head: bytes) -> str | None:
    """The CPU an ELF file targets, from e_machine (offset 18, endianness at byte 5)."""
    if len(head) < 20 or not head.startswith(b"\x7fELF"):
        return None
    code = int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")
    return _ELF_MACHINES.get(code, f"e_machine={code:#x}")


def _extension_problem(
    path: str, machine: str | None, python_version: str, target: str
) -> str | None:
    _, minor = validate_python_version(python_version)
    name = PurePosixPath(path).name
    if name.endswith((".pyd", ".dylib", ".dll")):
        return f"{path}: a Windows/macOS binary; Lambda loads only Linux ELF shared objects"
    if machine is None:
        return f"{path}: named like a shared object but is not an ELF file"
    if machine != target:
        return f"{path}: compiled for {machine}, the target is {target}"
    suffix = _EXT_SUFFIX.search(name)
    if suffix is None:
        return None  # abi3 extension or a bundled library (libpq-*.so.5): ELF check suffices
    if suffix["ver"] != f"3{minor}" or suffix["flags"]:
        return (
            f"{path}: built for CPython {suffix['ver']}{suffix['flags']}, the target is "
            f"CPython 3{minor} (extension suffix .cpython-3{minor}-{target}-linux-gnu.so)"
        )
    if suffix["machine"] != target or suffix["os"] != "linux-gnu":
        built_for = f"{suffix['machine']}-{suffix['os']}"
        return f"{path}: built for {built_for}, the target is {target}-linux-gnu"
    return None


def _is_binary_candidate(name: str) -> bool:
    base = PurePosixPath(name).name
    return base.endswith((".so", ".pyd", ".dylib", ".dll")) or ".so." in base


def inspect_layer(
    zip_path: Path,
    *,
    python_version: str = _DEFAULT_PYTHON,
    architecture: str = DEFAULT_ARCHITECTURE,
) -> LayerReport:
    """Read a layer zip's wheel tags and compiled files; report what misses the target.

    Checks, each producing one line in ``problems``:
    - every ``*.dist-info/WHEEL`` has at least one ``Tag:`` the target accepts
      (cp3XY/abi3/py3 and manylinux <= the target glibc for the target machine, or any);
    - every shared object (``*.so``, ``*.so.N``) is an ELF file for the target machine,
      and a ``.cpython-3XY-<machine>-linux-gnu.so`` suffix names the target version;
    - no package that the Lambda runtime provides (boto3, botocore, ...) is bundled.
    """
    target = machine_of(architecture)
    supported = supported_tags(python_version, architecture)
    distributions: list[Distribution] = []
    extensions: list[Extension] = []
    with zipfile.ZipFile(zip_path) as archive:
        for name in sorted(archive.namelist()):
            if name.endswith(".dist-info/WHEEL"):
                distributions.append(_read_distribution(archive, name, supported))
            elif _is_binary_candidate(name):
                with archive.open(name) as handle:
                    machine = elf_machine(handle.read(20))
                problem = _extension_problem(name, machine, python_version, target)
                extensions.append(Extension(name, machine, problem))
    problems = [p for d in distributions if (p := _distribution_problem(d, python_version, target))]
    problems += [e.problem for e in extensions if e.problem]
    return LayerReport(
        Path(zip_path),
        python_version,
        architecture,
        tuple(distributions),
        tuple(extensions),
        tuple(problems),
    )


def check_layer(
    zip_path: Path,
    *,
    python_version: str = _DEFAULT_PYTHON,
    architecture: str = DEFAULT_ARCHITECTURE,
) -> LayerReport:
    """Like :func:`inspect_layer`, but raise LayerCompatibilityError on any problem."""
    report = inspect_layer(zip_path, python_version=python_version, architecture=architecture)
    report.raise_for_problems()
    return report
