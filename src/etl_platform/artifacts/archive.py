"""Deterministic archives: the zip bytes, their identities, atomic writes, input hashes.

The one home of what every package this repository builds shares (the function zips and
the Python layer of :mod:`etl_platform.artifacts.packaging`, the Node layer of
:mod:`etl_platform.artifacts.node_layer`): a zip that depends on nothing but its entries'
names and contents (sorted, timestamps fixed at 1980-01-01, 0644 files and 0755
directories, a fixed deflate level), written through a temporary file and a rename, named
in a cache by a hash of its inputs, and refused when a build path leaked into it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from etl_platform.errors import EtlPlatformError
from etl_platform.paths import BUILD_DIR

__all__ = [
    "FORMAT_VERSION",
    "BuiltArtifact",
    "PackagingError",
    "assert_no_build_paths",
    "built_artifact",
    "default_cache_dir",
    "input_hash",
    "valid_zip",
    "write_atomically",
    "zip_bytes",
]

#: Bump when the zip layout or normalisation changes: it invalidates every cache entry.
FORMAT_VERSION = "1"

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest timestamp a zip can hold
_FILE_MODE = 0o100644  # regular file, rw-r--r--
_DIR_MODE = 0o040755  # directory, rwxr-xr-x
_MSDOS_DIRECTORY = 0x10
_UNIX = 3  # ZipInfo.create_system: makes unzip and Lambda honour the Unix mode bits
# Deflate at a fixed level; zlib's output is stable for a given zlib version, which
# CPython 3.11-3.13 builds on Linux/macOS share in practice.
_COMPRESS_LEVEL = 9
_SHORT_HASH = 16  # hex chars of input_hash: 64 bits, ample for a cache key, fits a description


class PackagingError(EtlPlatformError):
    """A package could not be built (bad input, pip failure, non-deterministic output)."""


@dataclass(frozen=True)
class BuiltArtifact:
    """A built zip and its identities."""

    path: Path  # the zip file
    sha256: str  # hex digest of the zip bytes
    base64_sha256: str  # base64 of the raw sha256: Lambda's CodeSha256 / Pulumi source_code_hash
    input_hash: str  # hash of the inputs (cache key); short enough for a description
    bytecode: str | None = None  # which pycs it carries ("cpython-313 (...)"), None: none


def default_cache_dir() -> Path:
    """``<repo>/build/cache``: git-ignored, shared by every build on this checkout."""
    return BUILD_DIR / "cache"


def _directories(arcnames: Iterable[str]) -> set[str]:
    dirs: set[str] = set()
    for name in arcnames:
        for parent in PurePosixPath(name).parents:
            if str(parent) != ".":
                dirs.add(f"{parent}/")
    return dirs


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    """A zip of ``entries`` that depends on nothing but their names and contents."""
    buffer = io.BytesIO()
    names = sorted({*entries, *_directories(entries)})
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.create_system = _UNIX
            if name.endswith("/"):
                info.external_attr = (_DIR_MODE << 16) | _MSDOS_DIRECTORY
                archive.writestr(info, b"", compress_type=zipfile.ZIP_STORED)
            else:
                info.external_attr = _FILE_MODE << 16
                archive.writestr(
                    info,
                    entries[name],
                    compress_type=zipfile.ZIP_DEFLATED,
                    compresslevel=_COMPRESS_LEVEL,
                )
    return buffer.getvalue()


def write_atomically(target: Path, data: bytes) -> None:
    """Write via a temp file in the same directory + rename: never a half-written zip."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def built_artifact(
    path: Path, data: bytes, input_hash: str, bytecode: str | None = None
) -> BuiltArtifact:
    """The :class:`BuiltArtifact` of ``data`` written at ``path``."""
    digest = hashlib.sha256(data)
    return BuiltArtifact(
        path, digest.hexdigest(), base64.b64encode(digest.digest()).decode(), input_hash, bytecode
    )


def input_hash(kind: str, params: Sequence[str], files: dict[str, Path]) -> str:
    """Hash of everything that determines a zip: format, kind, parameters, files."""
    digest = hashlib.sha256(f"etl-platform-packaging/{FORMAT_VERSION}\0{kind}\0".encode())
    for param in params:
        digest.update(f"param\0{param}\n".encode())
    for arcname, path in files.items():
        digest.update(
            f"file\0{arcname}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode()
        )
    return digest.hexdigest()[:_SHORT_HASH]


def valid_zip(path: Path) -> bool:
    """Whether ``path`` is a readable zip whose every entry passes its CRC (a cache check)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (OSError, zipfile.BadZipFile):
        return False


def assert_no_build_paths(entries: dict[str, bytes], *paths: Path) -> None:
    """Refuse entries that contain one of ``paths``: the package would differ by machine."""
    needles = [str(p).encode() for p in paths]
    for name, data in entries.items():
        for needle in needles:
            if needle in data:
                raise PackagingError(
                    f"{name} contains the build path {needle.decode()}; the package would "
                    "differ between machines. Add a normalisation for it where the entries "
                    "are made (etl_platform.artifacts.packaging or .node_layer)."
                )
