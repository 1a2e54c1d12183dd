"""What every benchmark section shares: results, the target environment, the table.

A section is a module ``benchmarks/section_<id>.py`` with ``ORDER`` (its place in the
table), ``TITLE`` and ``run(ctx: Context) -> Section``. The runner
(``python -m benchmarks``) imports every such module, so adding a measurement is
adding one file. A section builds :class:`Measurement` rows (raw samples, so the
table shows min/median/max) and :class:`Ratio` rows (ours vs a baseline measured in
the same run, with the issue's goal); it never asserts: a missed goal is reported.

:class:`Context` gives a section what it needs, prepared once and lazily:

- ``target_python``: an interpreter of the Lambda runtime's Python version (the
  default runtime, :data:`etl_platform.model.runtimes.DEFAULT_RUNTIME`), or this one when
  it is missing (said in the results);
- ``artifacts()``: the BUILT function zips (with their pycs) and the layer built for
  this machine's architecture (so its compiled wheels load here), unpacked under
  ``build/bench/target``;
- ``runtime_dir()``: what the Lambda runtime provides (boto3, botocore, ...), copied
  from this environment and precompiled by the target interpreter;
- ``aws()``: the loopback AWS stub (:mod:`benchmarks.aws_stub`); ``postgres()``: a
  real PostgreSQL server started like the functional tests start theirs;
- ``run_worker()``: runs :mod:`benchmarks.worker` in the target interpreter on those
  paths and returns its samples.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO / "build" / "bench"
WORKER = Path(__file__).resolve().parent / "worker.py"
BUCKET = "etl-data-bench"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:etl/bench-db"
TRACE_ID = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


# ----------------------------------------------------------------------- results


@dataclass
class Measurement:
    """Repeated samples of one thing (times in ms, rates in records/s, sizes in KB)."""

    name: str
    unit: str
    samples: list[float]
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")

    def as_dict(self) -> dict[str, Any]:
        values = self.samples or [float("nan")]
        return {
            "name": self.name,
            "unit": self.unit,
            "n": len(self.samples),
            "min": min(values),
            "median": self.median,
            "max": max(values),
            "samples": self.samples,
            "note": self.note,
        }


@dataclass
class Ratio:
    """``ours`` / ``baseline`` (medians) against the issue's goal (``<= 1.15``...)."""

    name: str
    ours: str
    baseline: str
    value: float
    goal: str = ""  # "<= 1.15", ">= 0.40" or "" (informational)
    spread: tuple[float, float] = (float("nan"), float("nan"))  # min/max of paired ratios

    @property
    def met(self) -> bool | None:
        if not self.goal:
            return None
        op, _, bound = self.goal.partition(" ")
        return self.value <= float(bound) if op == "<=" else self.value >= float(bound)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "met": self.met}


@dataclass
class Section:
    """One block of the table and of results.json."""

    id: str
    title: str
    measurements: list[Measurement] = field(default_factory=list)
    ratios: list[Ratio] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str = ""

    def add(self, name: str, unit: str, samples: list[float], note: str = "") -> Measurement:
        measurement = Measurement(name, unit, [round(s, 4) for s in samples], note)
        self.measurements.append(measurement)
        return measurement

    def ratio(
        self,
        name: str,
        ours: Measurement,
        baseline: Measurement,
        goal: str = "",
        *,
        inverse: bool = False,
    ) -> Ratio:
        """Median ratio; ``inverse`` for rates (ours rate / baseline rate is a speed)."""
        value = ours.median / baseline.median
        paired = [a / b for a, b in zip(ours.samples, baseline.samples, strict=False) if b] or [
            value
        ]
        ratio = Ratio(name, ours.name, baseline.name, value, goal, (min(paired), max(paired)))
        self.ratios.append(ratio)
        return ratio

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "measurements": [m.as_dict() for m in self.measurements],
            "ratios": [r.as_dict() for r in self.ratios],
            "notes": self.notes,
            "error": self.error,
        }


# ------------------------------------------------------------------- the target


@dataclass(frozen=True)
class Target:
    """The unpacked built code a Lambda function would see."""

    functions: dict[str, Path]  # name -> unpacked function zip (/var/task)
    layer: Path  # unpacked layer's python/ (/opt/python)
    function_zips: dict[str, Path]
    layer_zip: Path
    bytecode: str  # what the zips carry, e.g. "cpython-313 (...)" or "none: ..."


class Context:
    """Shared, lazily prepared resources for every section (see the module docstring)."""

    def __init__(self, *, quick: bool = False, runs: int | None = None) -> None:
        from etl_platform.artifacts.bytecode import find_compiler, unavailable_message
        from etl_platform.artifacts.packaging import python_version_of
        from etl_platform.model.runtimes import DEFAULT_RUNTIME

        self.quick = quick
        self.runs = runs or (4 if quick else 7)
        self.runtime = DEFAULT_RUNTIME
        self.python_version = python_version_of(DEFAULT_RUNTIME)
        compiler = find_compiler(self.python_version)
        self.target_python = compiler.executable if compiler else sys.executable
        self.target_version = compiler.version if compiler else platform.python_version()
        self.fallback = "" if compiler else unavailable_message(self.python_version)
        self._stack = contextlib.ExitStack()
        self._cache: dict[str, Any] = {}

    def close(self) -> None:
        self._stack.close()

    def _once(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    # -- code

    def artifacts(self) -> Target:
        return self._once("artifacts", self._build)

    def _build(self) -> Target:
        from etl_platform.artifacts.packaging import build_function_zip, build_layer_zip
        from etl_platform.model.catalog import load_catalog
        from etl_platform.paths import LAYERS_DIR

        out = BENCH_DIR / "zips"
        arch = "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
        version = self.target_version.rsplit(".", 1)[0]
        zips = {
            spec.name: build_function_zip(spec.code_dir, out / "functions", python_version=version)
            for spec in load_catalog()
            if spec.handler.startswith("handler.")  # Python functions
        }
        layer = build_layer_zip(
            LAYERS_DIR / "etl-common",
            out / "layers",
            python_version=version,
            architecture=arch,
            bytecode=True,
        )
        root = BENCH_DIR / "target"
        shutil.rmtree(root, ignore_errors=True)
        functions = {}
        for name, artifact in zips.items():
            with zipfile.ZipFile(artifact.path) as archive:
                archive.extractall(root / "functions" / name)
            functions[name] = root / "functions" / name
        with zipfile.ZipFile(layer.path) as archive:
            archive.extractall(root / "opt")
        # The same code as a naive build ships it: sources only, compiled at every start.
        for name in functions:
            shutil.copytree(
                functions[name], root / "nopyc" / "functions" / name,
                ignore=shutil.ignore_patterns("__pycache__"),
            )  # fmt: skip
        shutil.copytree(
            root / "opt", root / "nopyc" / "opt", ignore=shutil.ignore_patterns("__pycache__")
        )
        bytecode = layer.bytecode or f"none: {self.fallback}"
        return Target(
            functions, root / "opt" / "python", {n: a.path for n, a in zips.items()},
            layer.path, bytecode,
        )  # fmt: skip

    def runtime_dir(self) -> Path:
        """boto3 & co. as the Lambda runtime provides them, precompiled for the target."""
        return self._once("runtime", self._runtime)

    def _runtime(self) -> Path:
        import boto3

        site = Path(boto3.__file__).resolve().parents[1]
        tag = Path(self.target_python).name + "-" + self.target_version
        target = BENCH_DIR / "runtime" / tag
        stamp = target / ".complete"
        if stamp.exists():
            return target
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for name in _runtime_top_level(site):
            source = site / name
            if source.is_dir():
                shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
            elif source.exists():
                shutil.copy2(source, target / name)
        subprocess.run(
            [self.target_python, "-m", "compileall", "-q", "-j0", str(target)],
            check=True,
            capture_output=True,
        )
        stamp.write_text("ok\n")
        return target

    # -- services

    def aws(self) -> Any:
        def start() -> Any:
            from benchmarks.aws_stub import AwsStub

            return self._stack.enter_context(AwsStub(secrets={}))

        return self._once("aws", start)

    def postgres(self) -> Any:
        """A running PostgreSQL server (host, port, user) like the functional tests'."""

        def start() -> Any:
            sys.path.insert(0, str(REPO / "tests" / "functional" / "pipeline"))
            import pipeline_postgres  # the tests' own helper: one way to start it

            bin_dir = pipeline_postgres.find_postgres_bin()
            if bin_dir is None:
                raise RuntimeError(
                    "PostgreSQL server binaries not found: run scripts/bootstrap as root "
                    "(installs Debian's postgresql) or put initdb/postgres on PATH"
                )
            return self._stack.enter_context(pipeline_postgres.running_server(bin_dir))

        return self._once("postgres", start)

    def lambda_env(self, function: str, **extra: str) -> dict[str, str]:
        """The environment Lambda gives a function with active tracing, on the stubs."""
        stub = self.aws()
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": os.environ.get("HOME", "/tmp"),
            "AWS_ENDPOINT_URL": stub.endpoint,
            "AWS_ACCESS_KEY_ID": "AKIABENCHMARKBENCH00",
            "AWS_SECRET_ACCESS_KEY": "bench/secret/key/not/real/000000000000000",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_LAMBDA_FUNCTION_NAME": f"lambda-{function}-bench",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",  # UDP, nothing listens: as cheap
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "_X_AMZN_TRACE_ID": TRACE_ID,
            "LAMBDA_TASK_ROOT": str(self.artifacts().functions.get(function, "/var/task")),
            "PYTHONHASHSEED": "0",
        }
        env.update(self._platform_env(function))
        env.update(extra)
        return env

    def _platform_env(self, function: str) -> dict[str, str]:
        """What the platform sets for ``function`` in the prod stack (components.functions)."""

        def make() -> dict[str, dict[str, str]]:
            from etl_platform.infra.components.functions import environment_variables
            from etl_platform.model.catalog import load_catalog
            from etl_platform.model.settings import settings_from_mapping
            from etl_platform.model.stack_config import read_stack_config
            from etl_platform.paths import PROJECTS_DIR

            catalog = load_catalog()
            config = read_stack_config(PROJECTS_DIR / "etl-functions", "prod")
            settings = settings_from_mapping(config, catalog.names)
            return {
                spec.name: {
                    k: str(v)
                    for k, v in environment_variables(spec, settings, BUCKET).items()
                    if k != "DB_SECRET_ARN"  # the bench's secret, on the stub
                }
                for spec in catalog
            }

        return dict(self._once("platform_env", make).get(function, {}))

    def paths(self, function: str, *, pyc: bool = True) -> list[str]:
        """sys.path of a function: its code, the layer, the runtime's boto3.

        ``pyc=False``: the same code without our pycs (as a naive build ships it); the
        runtime's boto3 keeps its own.
        """
        target = self.artifacts()
        code, layer = target.functions[function], target.layer
        if not pyc:
            root = code.parents[1] / "nopyc"
            code, layer = root / "functions" / function, root / "opt" / "python"
        return [str(code), str(layer), str(self.runtime_dir())]

    def python(self, code: str, paths: list[str], env: dict[str, str]) -> tuple[float, float]:
        """(wall ms, CPU ms) of a fresh target interpreter running ``code``.

        ``-B``: pycs are read, never written (Lambda's code is read-only); ``-S -s``:
        no site, only ``paths``. CPU time (user + system, from the kernel) is the figure
        to trust on a busy machine, where wall time also counts waiting for a core.
        """
        prologue = f"import sys; sys.path[:0] = {json.dumps(paths)}\n"
        # os._exit: Lambda freezes the process after a request, it never finalizes it
        # (a pool's threads would otherwise add seconds of interpreter shutdown).
        epilogue = "\nimport os; sys.stdout.flush(); os._exit(0)\n"
        with tempfile.TemporaryFile() as err:
            started = time.perf_counter()
            process = subprocess.Popen(
                [self.target_python, "-B", "-S", "-s", "-c", prologue + code + epilogue],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
            _, status, usage = os.wait4(process.pid, 0)
            wall = (time.perf_counter() - started) * 1000
            process.returncode = os.waitstatus_to_exitcode(status)
            if process.returncode != 0:
                err.seek(0)
                stderr = err.read().decode(errors="replace")
                raise RuntimeError(f"target run failed:\n{code}\n{stderr[-3000:]}")
        return wall, (usage.ru_utime + usage.ru_stime) * 1000

    def run_worker(self, job: dict[str, Any], paths: list[str], env: dict[str, str]) -> Any:
        """Run a scenario of benchmarks/worker.py in the target interpreter; its JSON result."""
        with tempfile.TemporaryDirectory(prefix="etl-bench-") as tmp:
            out = Path(tmp) / "result.json"
            job = {**job, "paths": paths, "out": str(out)}
            result = subprocess.run(
                [self.target_python, "-B", "-S", "-s", str(WORKER)],
                input=json.dumps(job),
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0 or not out.exists():
                raise RuntimeError(f"worker {job['scenario']} failed:\n{result.stderr[-3000:]}")
            return json.loads(out.read_text())


def _runtime_top_level(site: Path) -> list[str]:
    """Top-level names of the distributions the Lambda runtime provides (RUNTIME_PROVIDED)."""
    from importlib.metadata import distribution

    from etl_platform.artifacts.wheels import RUNTIME_PROVIDED

    names: set[str] = set()
    for dist_name in RUNTIME_PROVIDED:
        try:
            dist = distribution(dist_name)
        except Exception:
            continue
        for file in dist.files or ():
            top = file.parts[0]
            if top.endswith((".dist-info", ".data")) or top == ".." or top == "bin":
                continue
            names.add(top)
    return sorted(n for n in names if (site / n).exists())


# ------------------------------------------------------------------------ report


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in load],
        "runner_python": platform.python_version(),
    }


def _fmt(value: float) -> str:
    if value != value:  # nan
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"


def format_table(sections: list[Section]) -> str:
    lines: list[str] = []
    header = f"{'':4}{'measurement':<52}{'n':>4}{'min':>10}{'median':>10}{'max':>10}  unit"
    for section in sections:
        lines.append("")
        lines.append(section.title)
        if section.error:
            lines.append(f"    NOT MEASURED: {section.error}")
            continue
        lines.append(header)
        for m in section.measurements:
            d = m.as_dict()
            lines.append(
                f"{'':4}{m.name[:52]:<52}{d['n']:>4}{_fmt(d['min']):>10}{_fmt(d['median']):>10}"
                f"{_fmt(d['max']):>10}  {m.unit}"
            )
        for r in section.ratios:
            verdict = {None: "", True: "  MET", False: "  NOT MET"}[r.met]
            goal = f"  goal {r.goal}" if r.goal else ""
            spread = f"({_fmt(r.spread[0])}-{_fmt(r.spread[1])})"
            lines.append(
                f"{'':4}ratio {r.name[:46]:<46}{_fmt(r.value):>8}x {spread:<13}{goal}{verdict}"
            )
        for note in section.notes:
            lines.append(f"{'':4}note: {note}")
    return "\n".join(lines)


@contextlib.contextmanager
def timer() -> Iterator[Callable[[], float]]:
    started = time.perf_counter()
    yield lambda: (time.perf_counter() - started) * 1000


def format_markdown(results: dict[str, Any]) -> str:
    """The README's table, from a results.json: medians, spreads, ratios and goals."""
    machine_info = results["machine"]
    lines = [
        f"Measured {results['date'][:10]} on {machine_info['cpu']} ({machine_info['cores']} cores, "
        f"load average {machine_info['load_average'][0]}), target Python "
        f"{results['target_python']['version']}, {results['runs']} runs"
        + (f" (FALLBACK: {results['fallback']})" if results.get("fallback") else "")
        + f", {results['seconds']:.0f} s in all.",
        "",
        "| section | ratio, ours vs baseline (median) | spread (min-max) | goal | |",
        "|---|---|---|---|---|",
    ]
    for section in results["sections"]:
        title = section["id"]
        if section["error"]:
            lines.append(f"| {title} | not measured: {section['error'][:80]} | | | |")
            continue
        for ratio in section["ratios"]:
            verdict = {None: "", True: "met", False: "**NOT met**"}[ratio["met"]]
            low, high = ratio["spread"]
            lines.append(
                f"| {title}: {ratio['name']} | {_fmt(ratio['value'])}x | "
                f"{_fmt(low)}-{_fmt(high)} | {ratio['goal'] or '-'} | {verdict} |"
            )
    return "\n".join(lines)
