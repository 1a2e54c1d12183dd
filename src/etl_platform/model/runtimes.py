"""Lambda runtimes: every fact about the targets our code runs on, in one place.

- which runtimes exist and what replaces each (their AWS dates: the runtime calendar);
- each runtime's language and language version (:func:`language_of`,
  :func:`python_version_of`, :func:`node_major_of`);
- the architectures Lambda runs (:data:`ARCHITECTURES`, with the machine names that
  wheel tags, ELF headers and Node's ``process.arch`` use for them);
- what each language's runtime already provides, so it is never bundled
  (:data:`PYTHON_RUNTIME_PROVIDED`, :data:`NODE_RUNTIME_PROVIDED_SCOPES`).

The dates are AWS's, from the runtime calendar (:mod:`etl_platform.model.runtime_calendar`,
data file ``data/lambda_runtimes.json``, refreshed with ``nox -s refresh-runtimes``):
after the deprecation date AWS stops patching the runtime, and later blocks creating
and then updating functions on it. We refuse a runtime from its deprecation date on,
and every refusal says how many days ago that was.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from etl_platform.model.runtime_calendar import CALENDAR, RuntimeDates, days_phrase

__all__ = [
    "ARCHITECTURES",
    "DEFAULT_ARCHITECTURE",
    "DEFAULT_NODE_RUNTIME",
    "DEFAULT_RUNTIME",
    "LANGUAGES",
    "NODEJS",
    "NODE_ARCH",
    "NODE_RUNTIME_PROVIDED_SCOPES",
    "NODE_SDK_V2",
    "NODE_SOURCE_SUFFIXES",
    "PYTHON",
    "PYTHON_RUNTIME_PROVIDED",
    "PYTHON_RUNTIME_PROVIDED_IMPORTS",
    "RUNTIMES",
    "Runtime",
    "check_runtime",
    "language_of",
    "machine_of",
    "max_glibc",
    "node_major_of",
    "python_version_of",
    "runtime_dates",
    "supported_runtimes",
    "validate_python_version",
]

DEFAULT_RUNTIME = "python3.13"
#: What ``nox -s migrate`` writes, and what error messages suggest for Node.js functions.
DEFAULT_NODE_RUNTIME = "nodejs24.x"


@dataclass(frozen=True)
class Runtime:
    name: str
    replacement: str

    @property
    def language(self) -> str:
        """``python`` or ``nodejs``."""
        return language_of(self.name)

    @property
    def version(self) -> str:
        """The language version: ``"3.13"`` for python3.13, ``"24"`` for nodejs24.x."""
        return _parse(self.name)[1]

    @property
    def dates(self) -> RuntimeDates:
        """AWS's dates for this runtime, from the runtime calendar."""
        return runtime_dates(self.name)

    @property
    def deprecated_on(self) -> dt.date:
        """AWS's deprecation date (the calendar's; ``date.max`` while none is published)."""
        return self.dates.deprecation or dt.date.max


def runtime_dates(name: str) -> RuntimeDates:
    """The calendar's dates for ``name``; raises KeyError naming the refresh command."""
    dates = CALENDAR.get(name)
    if dates is None:
        raise KeyError(
            f"runtime {name} is not in the runtime calendar; refresh it: "
            "nox -s refresh-runtimes -- <saved AWS Lambda runtimes page>"
        )
    return dates


def _r(name: str, replacement: str) -> Runtime:
    return Runtime(name, replacement)


# The runtimes the platform knows and what replaces each (dates: the runtime calendar).
RUNTIMES: dict[str, Runtime] = {
    r.name: r
    for r in (
        _r("nodejs14.x", "nodejs22.x"),
        _r("nodejs16.x", "nodejs22.x"),
        _r("nodejs18.x", "nodejs22.x"),
        _r("nodejs20.x", "nodejs22.x"),
        _r("nodejs22.x", "nodejs24.x"),
        _r("nodejs24.x", "nodejs24.x"),
        _r("python3.8", DEFAULT_RUNTIME),
        _r("python3.9", DEFAULT_RUNTIME),
        _r("python3.10", DEFAULT_RUNTIME),
        _r("python3.11", DEFAULT_RUNTIME),
        _r("python3.12", DEFAULT_RUNTIME),
        _r("python3.13", "python3.14"),
        _r("python3.14", "python3.14"),
    )
}


def supported_runtimes(
    today: dt.date | None = None, *, language: str | None = "python"
) -> list[str]:
    """Runtimes not deprecated on ``today``, of ``language`` (``None``: every language)."""
    today = today or dt.date.today()
    return [
        name
        for name, r in RUNTIMES.items()
        if today < r.deprecated_on and (language is None or r.language == language)
    ]


def check_runtime(
    name: str, today: dt.date | None = None, *, language: str | None = None
) -> str | None:
    """Return why ``name`` is refused, or None when it is fine.

    ``language`` (``python``/``nodejs``) also refuses runtimes of the other language:
    the stack's ``etl:runtime`` must be Python, a Node.js function's must be Node.js.
    """
    today = today or dt.date.today()
    runtime = RUNTIMES.get(name)
    if runtime is None:
        known_dates = CALENDAR.get(name)
        if known_dates is not None and known_dates.preview:
            return (
                f"runtime {name} is in preview at AWS (not for production, no support "
                f"dates yet); use {DEFAULT_RUNTIME if language != NODEJS else DEFAULT_NODE_RUNTIME}"
            )
        known = ", ".join(supported_runtimes(today, language=language))
        return f"unknown Lambda runtime {name!r}; supported: {known}"
    if today >= runtime.deprecated_on:
        since = runtime.deprecated_on.isoformat()
        successor = runtime.replacement
        if language is not None and runtime.language != language:
            successor = DEFAULT_RUNTIME if language == PYTHON else DEFAULT_NODE_RUNTIME
        ago = days_phrase((runtime.deprecated_on - today).days)
        blocks = "".join(
            f", {m.label} {'since' if m.days_left <= 0 else 'from'} {m.date.isoformat()} "
            f"({days_phrase(m.days_left)})"
            for m in runtime.dates.milestones(today)
            if m.event != "deprecation"
        )
        return f"runtime {name} is deprecated by AWS since {since} ({ago}{blocks}); use {successor}"
    if language is not None and runtime.language != language:
        default = DEFAULT_RUNTIME if language == PYTHON else DEFAULT_NODE_RUNTIME
        return f"runtime {name} is not a {language} runtime; use {default}"
    return None


# ------------------------------------------------------------- languages and versions

PYTHON = "python"
NODEJS = "nodejs"
LANGUAGES = (PYTHON, NODEJS)

# A CPython version Lambda runs ("3.<minor>"), alone and inside a runtime name.
_PYTHON_VERSION = r"3\.\d{1,2}"
# AWS's runtime identifiers: python3.<minor>, nodejs<major>.x.
_RUNTIME_NAME: dict[str, re.Pattern[str]] = {
    PYTHON: re.compile(rf"python({_PYTHON_VERSION})"),
    NODEJS: re.compile(r"nodejs(\d{1,3})\.x"),
}


def _parse(runtime: str) -> tuple[str, str]:
    for language, pattern in _RUNTIME_NAME.items():
        match = pattern.fullmatch(runtime)
        if match:
            return language, match.group(1)
    raise ValueError(
        f"{runtime!r} is not a Lambda Python or Node.js runtime name "
        "(expected e.g. 'python3.13' or 'nodejs24.x')"
    )


def language_of(runtime: str) -> str:
    """``"python3.13"`` -> ``"python"``, ``"nodejs24.x"`` -> ``"nodejs"``; ValueError otherwise."""
    return _parse(runtime)[0]


def python_version_of(runtime: str) -> str:
    """``"python3.13"`` -> ``"3.13"``: the CPython version the runtime runs (and wheels target)."""
    match = _RUNTIME_NAME[PYTHON].fullmatch(runtime)
    if not match:
        raise ValueError(
            f"runtime {runtime!r} is not a Lambda Python runtime: expected 'python3.<minor>', "
            "e.g. 'python3.13'"
        )
    return match.group(1)


def node_major_of(runtime: str) -> int:
    """``"nodejs24.x"`` -> ``24``: the Node.js major version the runtime runs."""
    match = _RUNTIME_NAME[NODEJS].fullmatch(runtime)
    if not match:
        raise ValueError(
            f"runtime {runtime!r} is not a Lambda Node.js runtime: expected 'nodejs<major>.x', "
            "e.g. 'nodejs24.x'"
        )
    return int(match.group(1))


def validate_python_version(python_version: str) -> tuple[int, int]:
    """``"3.13"`` -> ``(3, 13)``; anything else raises ValueError saying what is allowed."""
    if not re.fullmatch(_PYTHON_VERSION, python_version):
        raise ValueError(
            f"python_version {python_version!r} is not valid: expected '3.<minor>', e.g. '3.13'"
        )
    return 3, int(python_version.split(".")[1])


# glibc of the OS under each Lambda Python runtime. python3.12 and later run on
# Amazon Linux 2023 (glibc 2.34); python3.9-3.11 on Amazon Linux 2 (glibc 2.26).
# Source: AWS Lambda developer guide, "Lambda runtimes" (OS column) and the
# Amazon Linux 2023 release notes (glibc 2.34).
_AL2023_GLIBC = (2, 34)
_AL2_GLIBC = (2, 26)
_FIRST_AL2023_MINOR = 12


def max_glibc(python_version: str) -> tuple[int, int]:
    """The glibc version of the Amazon Linux that Lambda runs ``python_version`` on."""
    _, minor = validate_python_version(python_version)
    return _AL2023_GLIBC if minor >= _FIRST_AL2023_MINOR else _AL2_GLIBC


# ----------------------------------------------------------------------- architectures

#: Lambda architecture name -> the machine name in wheel tags, extension suffixes and
#: ELF headers (``uname -m``).
ARCHITECTURES: dict[str, str] = {"arm64": "aarch64", "x86_64": "x86_64"}
DEFAULT_ARCHITECTURE = "arm64"  # Graviton: cheaper per GB-second
#: Lambda architecture name -> Node's ``process.arch`` (prebuilt addons: ``linux-<arch>``).
NODE_ARCH: dict[str, str] = {"arm64": "arm64", "x86_64": "x64"}


def machine_of(architecture: str) -> str:
    """Lambda architecture (``arm64``/``x86_64``) -> machine name (``aarch64``/``x86_64``)."""
    try:
        return ARCHITECTURES[architecture]
    except KeyError:
        allowed = ", ".join(sorted(ARCHITECTURES))
        raise ValueError(
            f"architecture {architecture!r} is not valid: expected one of {allowed}"
        ) from None


# ------------------------------------------------------ what each runtime already provides

#: Distributions the Lambda Python runtime ships (canonical names) -> their top-level
#: import names. Bundling them would shadow the runtime's copies, bloat the layer and
#: pin stale SDKs.
PYTHON_RUNTIME_PROVIDED: dict[str, frozenset[str]] = {
    "boto3": frozenset({"boto3"}),
    "botocore": frozenset({"botocore"}),
    "s3transfer": frozenset({"s3transfer"}),
    "jmespath": frozenset({"jmespath"}),
    "urllib3": frozenset({"urllib3"}),
    "python-dateutil": frozenset({"dateutil"}),
    "six": frozenset({"six"}),
}
PYTHON_RUNTIME_PROVIDED_IMPORTS: frozenset[str] = frozenset().union(
    *PYTHON_RUNTIME_PROVIDED.values()
)

#: npm scopes the Lambda Node.js runtimes (18 and later) ship: the AWS SDK for
#: JavaScript v3. Never bundled, the same rule as boto3.
NODE_RUNTIME_PROVIDED_SCOPES: tuple[str, ...] = ("@aws-sdk/",)
#: The AWS SDK for JavaScript v2: end of support, and not in the nodejs18.x+ runtimes.
NODE_SDK_V2 = "aws-sdk"
#: The files a Node.js handler ``<file>.<export>`` may be, in the order Lambda tries them.
NODE_SOURCE_SUFFIXES: tuple[str, ...] = (".js", ".mjs", ".cjs")
