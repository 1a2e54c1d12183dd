"""Drive the real Pulumi CLI over the three projects: deploy, preview, destroy, new stacks.

These are the ``etl-ops`` verbs that ``nox -s deploy-all|preview-all|destroy-all|new-env``
run (:mod:`etl_platform.ops.cli`)::

    etl-ops deploy-all dev
    etl-ops preview-all dev
    etl-ops destroy-all dev
    etl-ops new-env alice --environment dev

What it does, in order:

1. Checks that the ``pulumi`` executable is on ``PATH`` (else stops at once with the
   install command) and that ``PULUMI_CONFIG_PASSPHRASE`` or
   ``PULUMI_CONFIG_PASSPHRASE_FILE`` is set (else stops at once saying to set it).
   Nothing runs before both checks pass.
2. Validates the stack name (and, for ``new-env``, the suffix and environment).
   ``deploy-all`` then runs ``etl-ops preflight`` (:mod:`etl_platform.ops.preflight`:
   credentials, region, CLI, backend, concurrency quota, database secret, VPC) and
   stops before any ``pulumi`` command when a check fails; ``--skip-preflight`` skips it.
3. Uses a local file state backend inside the repository,
   ``PULUMI_BACKEND_URL=file://<repo>/.pulumi-state`` (git-ignored; no Pulumi Cloud
   account needed), unless ``PULUMI_BACKEND_URL`` is already set.
4. For each project in deploy order ``shared -> observability -> etl-functions``
   (reverse order for destroy): ``pulumi stack select --create <stack>
   --secrets-provider passphrase --cwd projects/<p>``, then ``pulumi up --yes`` /
   ``pulumi preview`` / ``pulumi destroy --yes`` with ``--stack <stack> --cwd
   projects/<p>``. ``up`` and ``preview`` add ``--policy-pack <repo>/policy`` when
   ``policy/PulumiPolicy.yaml`` exists, so a violating change is refused before it
   reaches AWS.
5. Stops at the first failing command, naming the project, with a non-zero exit.
6. ``deploy-all`` then releases (:func:`run_release`, :mod:`etl_platform.ops.release`):
   it reads the etl-functions stack's ``releases`` export (``pulumi stack output releases
   --json``), starts a CodeDeploy deployment for every function whose published version
   differs from the one its alias ``live`` serves, waits for each, and prints each
   function's outcome. A failed or rolled-back deployment fails the run (exit 1), naming
   the function and the alarm.

Environment variables (read when a command runs, not at import):

- ``PULUMI_BACKEND_URL``: state backend; default ``file://<repo>/.pulumi-state``.
- ``PULUMI_CONFIG_PASSPHRASE`` / ``PULUMI_CONFIG_PASSPHRASE_FILE``: the passphrase that
  encrypts the stacks' secrets (one of them is required).
- ``PATH``: where ``pulumi`` is looked up.

Exit codes: 0 success; 1 a Pulumi command or a release failed; 2 the run could not start (missing
CLI or passphrase, bad stack name or suffix, missing project, conflicting config).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from etl_platform.errors import CommandFailedError, SettingsError
from etl_platform.model import contract
from etl_platform.model.catalog import Catalog, load_catalog
from etl_platform.model.resources import ArnError, kind_label, parse_resource, placeholder
from etl_platform.model.settings import (
    ENVIRONMENT_DEFAULTS,
    REGION,
    RESOURCES_KEY,
    settings_from_mapping,
)
from etl_platform.model.stack_config import StackConfigError, config_mapping
from etl_platform.ops.preflight import format_results, preflight
from etl_platform.ops.pulumi_env import (
    INSTALL_HINT,
    PASSPHRASE_HINT,
    STATE_DIR_NAME,
    OpsError,
    backend_env,
    require_passphrase,
    require_pulumi,
)
from etl_platform.ops.release import (
    Outcome,
    Release,
    ReleaseClients,
    ReleaseError,
    aws_clients,
    check_outcomes,
    format_outcomes,
    release_all,
    releases_from_export,
)
from etl_platform.paths import REPO_ROOT

__all__ = [
    "DEPLOY_ORDER",
    "ENVIRONMENTS",
    "INSTALL_HINT",
    "PASSPHRASE_HINT",
    "REGION",
    "STATE_DIR_NAME",
    "Action",
    "Capture",
    "OpsError",
    "Preflight",
    "PulumiCommandError",
    "Runner",
    "add_deploy_arguments",
    "add_new_env_arguments",
    "add_stack_arguments",
    "backend_env",
    "deploy_all",
    "destroy_all",
    "new_env",
    "new_env_command",
    "policy_pack_args",
    "preview_all",
    "read_releases",
    "require_passphrase",
    "require_pulumi",
    "resource_placeholders",
    "run_all",
    "run_preflight",
    "run_release",
    "validate_new_env",
    "validate_stack_name",
]

# The three projects' folders under projects/, in deploy order (destroy runs in
# reverse), from the contract between the stacks.
DEPLOY_ORDER: tuple[str, ...] = tuple(folder for _project, folder in contract.DEPLOY_ORDER)
_PULUMI_PROJECT: dict[str, str] = {folder: name for name, folder in contract.DEPLOY_ORDER}

ENVIRONMENTS: tuple[str, ...] = tuple(ENVIRONMENT_DEFAULTS)
POLICY_DIR_NAME = "policy"
SECRETS_PROVIDER = "passphrase"

# Pulumi's own rule for a stack name: letters, digits, '-', '_' and '.', at most 100
# characters. We also refuse a leading '-' or '.' (it would read as an option or a
# hidden file) and org-qualified names ('org/project/stack'): one name is applied to
# three projects.
_STACK_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
MAX_STACK_NAME_LENGTH = 100

Action = Literal["up", "preview", "destroy"]
Runner = Callable[[Sequence[str], Path, Mapping[str, str]], int]
# Like Runner, also returning the command's stdout (stderr passes through).
Capture = Callable[[Sequence[str], Path, Mapping[str, str]], tuple[int, str]]
# (stack, repo, env) -> True when the account may take the stack (prints its report).
Preflight = Callable[[str, Path, Mapping[str, str]], bool]


class PulumiCommandError(CommandFailedError):
    """A Pulumi command failed in one project; exit code 1."""

    def __init__(self, project: str, command: Sequence[str], returncode: int, rest: str) -> None:
        self.project = project
        self.command = list(command)
        self.returncode = returncode
        name = _PULUMI_PROJECT.get(project, project)
        super().__init__(
            f"project {project} ({name}, projects/{project}) failed: "
            f"`{shlex.join(command)}` exited with {returncode}. Stopped here; {rest}"
        )


@dataclass(frozen=True)
class _Context:
    """Everything a run needs, checked: the CLI path, the repo and the child env."""

    pulumi: str
    repo: Path
    env: dict[str, str]


# --------------------------------------------------------------------------- checks


def validate_stack_name(stack: str) -> str:
    """Return ``stack`` if Pulumi accepts it as a stack name for all three projects."""
    if not _STACK_NAME.match(stack):
        if "/" in stack:
            why = "give the bare stack name (e.g. 'dev'), not 'org/project/stack'"
        elif len(stack) > MAX_STACK_NAME_LENGTH:
            why = f"it is {len(stack)} characters; Pulumi allows {MAX_STACK_NAME_LENGTH}"
        else:
            why = "use letters, digits, '-', '_' and '.', starting with a letter, digit or '_'"
        raise OpsError(f"invalid stack name {stack!r}: {why} (for example: dev, prod, alice)")
    return stack


def validate_new_env(suffix: str, environment: str) -> dict[str, str]:
    """The config ``new-env`` will set, validated by the same rules the programs apply.

    Uses :func:`etl_platform.model.settings.settings_from_mapping` with every function in the
    catalog, so a suffix is refused here exactly when the Pulumi programs would refuse
    it: lowercase letters, digits and single hyphens, starting with a letter, and short
    enough that every name derived from it fits its AWS limit.
    """
    wanted = {
        "aws:region": REGION,
        "etl:environmentSuffix": suffix,
        "etl:environment": environment,
    }
    try:
        settings_from_mapping(wanted, [spec.name for spec in load_catalog()])
    except SettingsError as exc:
        raise OpsError(f"new-env: invalid {exc.key} {exc.value!r}: {exc.allowed}") from exc
    return wanted


# ---------------------------------------------------------------------- environment


def policy_pack_args(repo: Path) -> list[str]:
    """``['--policy-pack', '<repo>/policy']`` when the pack exists there, else ``[]``."""
    pack = repo / POLICY_DIR_NAME
    if (pack / "PulumiPolicy.yaml").is_file():
        return ["--policy-pack", str(pack)]
    return []


def _project_cwd(project: str) -> str:
    """The ``--cwd`` argument for a project, relative to the repo (commands run there)."""
    return f"projects/{project}"


def _check_projects(repo: Path) -> None:
    """Raise if a project folder or its Pulumi.yaml is missing (a wrong checkout or repo)."""
    for project in DEPLOY_ORDER:
        if not (repo / _project_cwd(project) / "Pulumi.yaml").is_file():
            raise OpsError(
                f"{repo / _project_cwd(project) / 'Pulumi.yaml'} not found: run this from "
                "the repository checkout (or pass --repo <checkout>)."
            )


def _subprocess_runner(command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> int:
    """Run one command with inherited stdout/stderr; return its exit code."""
    return subprocess.run(list(command), cwd=cwd, env=dict(env), check=False).returncode


def _capture_runner(command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> tuple[int, str]:
    """Run one command, passing stderr through; return its exit code and stdout."""
    done = subprocess.run(
        list(command), cwd=cwd, env=dict(env), check=False, stdout=subprocess.PIPE, text=True
    )
    return done.returncode, done.stdout


def _prepare(repo: Path | None, env: Mapping[str, str] | None) -> _Context:
    """The checks every run starts with, in order: CLI, passphrase, projects."""
    source_env = os.environ if env is None else env
    pulumi = require_pulumi(source_env)
    require_passphrase(source_env)
    root = (repo or REPO_ROOT).resolve()
    _check_projects(root)
    return _Context(pulumi=pulumi, repo=root, env=backend_env(root, source_env))


def _run(ctx: _Context, runner: Runner, project: str, args: Sequence[str], rest: str) -> None:
    """Echo and run ``pulumi <args>``; raise PulumiCommandError naming ``project`` on failure."""
    shown = ["pulumi", *args]
    print(f"$ {shlex.join(shown)}", file=sys.stderr, flush=True)
    returncode = runner([ctx.pulumi, *args], ctx.repo, ctx.env)
    if returncode != 0:
        raise PulumiCommandError(project, shown, returncode, rest)


def _select_args(stack: str, project: str) -> list[str]:
    """``stack select --create`` so a first deploy needs no separate ``stack init``."""
    return [
        "stack",
        "select",
        "--create",
        stack,
        "--secrets-provider",
        SECRETS_PROVIDER,
        "--cwd",
        _project_cwd(project),
    ]


def _action_args(action: Action, stack: str, project: str, repo: Path) -> list[str]:
    """The arguments of ``pulumi up|preview|destroy`` for one project."""
    where = ["--stack", stack, "--cwd", _project_cwd(project)]
    if action == "up":
        return ["up", "--yes", *where, *policy_pack_args(repo)]
    if action == "preview":
        return ["preview", *where, *policy_pack_args(repo)]
    return ["destroy", "--yes", *where]


def _missing_stack_config(repo: Path, stack: str) -> list[str]:
    """The projects that have no ``Pulumi.<stack>.yaml`` (their program would fail)."""
    return [
        _project_cwd(p)
        for p in DEPLOY_ORDER
        if not (repo / _project_cwd(p) / f"Pulumi.{stack}.yaml").is_file()
    ]


# -------------------------------------------------------------------------- actions


def run_all(
    action: Action,
    stack: str,
    *,
    repo: Path | None = None,
    env: Mapping[str, str] | None = None,
    runner: Runner = _subprocess_runner,
    preflight: Preflight | None = None,
) -> None:
    """Run ``pulumi <action>`` for ``stack`` in every project, in deploy (or reverse) order.

    Raises OpsError before running anything if the run cannot start (including a
    failed ``preflight``, when given), and PulumiCommandError (naming the project) at
    the first command that fails.
    """
    ctx = _prepare(repo, env)
    validate_stack_name(stack)
    if action != "destroy":
        missing = _missing_stack_config(ctx.repo, stack)
        if missing:
            raise OpsError(
                f"stack {stack!r} has no config file in: "
                + ", ".join(f"{m}/Pulumi.{stack}.yaml" for m in missing)
                + f". Create it with: nox -s new-env -- <suffix> --stack {stack}"
            )
    if preflight is not None and not preflight(stack, ctx.repo, ctx.env):
        raise OpsError(
            f"preflight failed for stack {stack!r}: nothing was deployed. Fix the FAIL "
            "lines above (etl-ops preflight --stack <stack> re-checks), or pass "
            "--skip-preflight if you know better."
        )
    order = list(reversed(DEPLOY_ORDER)) if action == "destroy" else list(DEPLOY_ORDER)
    verb = {"up": "deployed", "preview": "previewed", "destroy": "destroyed"}[action]
    print(
        f"{action}: stack {stack!r}, projects {' -> '.join(order)}, "
        f"backend {ctx.env['PULUMI_BACKEND_URL']}",
        file=sys.stderr,
        flush=True,
    )
    for index, project in enumerate(order):
        later = order[index + 1 :]
        rest = f"not {verb}: {', '.join(later)}." if later else "it was the last project."
        _run(ctx, runner, project, _select_args(stack, project), rest)
        _run(ctx, runner, project, _action_args(action, stack, project, ctx.repo), rest)
    print(f"{action}: all {len(order)} projects {verb} for stack {stack!r}.", file=sys.stderr)


def resource_placeholders(repo: Path, stack: str, catalog: Catalog) -> dict[str, str]:
    """``{name: placeholder}`` for the ``etl:resources`` a new ``stack`` must declare.

    The names are those the repository's other stacks declare (copied, with the kind
    their ARN says) and those the catalog's needs use; each value is a placeholder
    naming the kind, which the programs refuse until it is replaced by the ARN.
    """
    labels: dict[str, str] = {}
    for spec in catalog:
        for n, name, _ in spec.resource_needs:
            labels.setdefault(name, kind_label(n.target))
    for project in DEPLOY_ORDER:
        for path in sorted((repo / _project_cwd(project)).glob("Pulumi.*.yaml")):
            if path.name == f"Pulumi.{stack}.yaml":
                continue
            try:
                declared = config_mapping(path).get(RESOURCES_KEY)
            except StackConfigError as exc:
                raise OpsError(str(exc)) from exc
            for name, arn in declared.items() if isinstance(declared, dict) else ():
                try:
                    labels[str(name)] = parse_resource(str(name), arn, REGION).label
                except ArnError:
                    labels.setdefault(str(name), "resource")
    return {name: placeholder(labels[name], stack) for name in sorted(labels)}


def new_env(
    suffix: str,
    environment: str = "dev",
    *,
    stack: str | None = None,
    repo: Path | None = None,
    env: Mapping[str, str] | None = None,
    runner: Runner = _subprocess_runner,
) -> None:
    """Create ``stack`` (default: the suffix) in all three projects with consistent config.

    Sets ``aws:region``, ``etl:environmentSuffix`` and ``etl:environment`` in each
    project, and every ``etl:resources`` name of the other stacks and the catalog with
    a placeholder (:func:`resource_placeholders`; a name the stack file already declares
    is kept). Refuses, before changing anything, when an existing
    ``Pulumi.<stack>.yaml`` already holds a different value for one of those keys.
    """
    ctx = _prepare(repo, env)
    wanted = validate_new_env(suffix, environment)
    stack_name = validate_stack_name(stack or suffix)
    placeholders = resource_placeholders(ctx.repo, stack_name, load_catalog())

    conflicts: list[str] = []
    for project in DEPLOY_ORDER:
        path = ctx.repo / _project_cwd(project) / f"Pulumi.{stack_name}.yaml"
        if not path.is_file():
            continue
        try:
            existing = config_mapping(path)
        except StackConfigError as exc:
            raise OpsError(str(exc)) from exc
        for key, value in wanted.items():
            if key in existing and str(existing[key]) != value:
                conflicts.append(
                    f"{_project_cwd(project)}/{path.name}: {key} is {existing[key]!r}, "
                    f"new-env would set {value!r}"
                )
    if conflicts:
        raise OpsError(
            f"refusing to overwrite the existing config of stack {stack_name!r}:\n  "
            + "\n  ".join(conflicts)
            + "\nChoose another suffix/stack, or edit or remove those files yourself."
        )

    for index, project in enumerate(DEPLOY_ORDER):
        later = DEPLOY_ORDER[index + 1 :]
        rest = f"not configured: {', '.join(later)}." if later else "it was the last project."
        _run(ctx, runner, project, _select_args(stack_name, project), rest)
        for key, value in wanted.items():
            _run(
                ctx,
                runner,
                project,
                [
                    "config",
                    "set",
                    key,
                    value,
                    "--stack",
                    stack_name,
                    "--cwd",
                    _project_cwd(project),
                ],
                rest,
            )
        path = ctx.repo / _project_cwd(project) / f"Pulumi.{stack_name}.yaml"
        existing = config_mapping(path).get(RESOURCES_KEY) if path.is_file() else None
        for name, value in placeholders.items():
            if isinstance(existing, dict) and name in existing:
                continue
            where = ["--stack", stack_name, "--cwd", _project_cwd(project)]
            path_key = f"{RESOURCES_KEY}.{name}"
            _run(ctx, runner, project, ["config", "set", "--path", path_key, value, *where], rest)
    todo = (
        f" Then replace the placeholder ARN of each of {', '.join(placeholders)} in every "
        f"project: pulumi config set --path '{RESOURCES_KEY}.<name>' <ARN> --stack {stack_name}"
        if placeholders
        else ""
    )
    print(
        f"new-env: stack {stack_name!r} ready in {', '.join(DEPLOY_ORDER)} "
        f"(suffix {suffix!r}, environment {environment!r}).{todo} "
        f"Next: nox -s preview-all -- {stack_name}",
        file=sys.stderr,
    )


# -------------------------------------------------------------------------- release


def read_releases(
    stack: str,
    *,
    repo: Path | None = None,
    env: Mapping[str, str] | None = None,
    capture: Capture = _capture_runner,
) -> list[Release]:
    """The etl-functions stack's ``releases`` export (``pulumi stack output --json``)."""
    ctx = _prepare(repo, env)
    folder = DEPLOY_ORDER[-1]
    args = [
        "stack",
        "output",
        contract.FunctionsExports.RELEASES,
        "--json",
        "--stack",
        stack,
        "--cwd",
        _project_cwd(folder),
    ]
    print(f"$ {shlex.join(['pulumi', *args])}", file=sys.stderr, flush=True)
    returncode, out = capture([ctx.pulumi, *args], ctx.repo, ctx.env)
    where = f"export {contract.FunctionsExports.RELEASES!r} of projects/{folder} stack {stack!r}"
    if returncode != 0:
        raise ReleaseError(
            f"could not read the {where}: `pulumi {shlex.join(args)}` exited with "
            f"{returncode}. Deploy etl-functions again (nox -s deploy-all -- {stack})"
        )
    try:
        value = json.loads(out)
    except json.JSONDecodeError:
        raise ReleaseError(f"the {where} is not JSON: {out[:200]!r}") from None
    return releases_from_export(value, f"the {where}")


def run_release(
    stack: str,
    repo: Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    capture: Capture = _capture_runner,
    clients: ReleaseClients | None = None,
    sleep: Callable[[float], None] | None = None,
) -> list[Outcome]:
    """Shift every changed function's alias with CodeDeploy, wait, report; raise on a rollback.

    ``clients`` default to boto3 with the caller's credentials (made only when a function
    has a release entry); ``sleep`` defaults to :func:`time.sleep`.
    """
    releases = read_releases(stack, repo=repo, env=env, capture=capture)
    if not releases:
        print(f"release: stack {stack!r} exports no function to release.", file=sys.stderr)
        return []
    outcomes = release_all(
        releases,
        clients or aws_clients(),
        progress=lambda line: print(f"release: {line}", file=sys.stderr, flush=True),
        sleep=sleep or time.sleep,
    )
    print(format_outcomes(stack, outcomes), file=sys.stderr, flush=True)
    check_outcomes(stack, outcomes)
    return outcomes


# --------------------------------------------------------------------------- etl-ops


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    """``<stack> [--repo <checkout>]``: what preview-all and destroy-all take."""
    parser.add_argument("stack", help="stack name, e.g. dev")
    _add_repo_argument(parser)


def add_deploy_arguments(parser: argparse.ArgumentParser) -> None:
    """``<stack> [--skip-preflight] [--repo <checkout>]``."""
    add_stack_arguments(parser)
    parser.add_argument(
        "--skip-preflight",
        action="store_true",
        help="deploy without the account checks (for those who know better)",
    )


def add_new_env_arguments(parser: argparse.ArgumentParser) -> None:
    """``<suffix> [--environment dev|prod] [--stack <name>] [--repo <checkout>]``."""
    parser.add_argument("suffix", help="environment suffix carried by every resource name")
    parser.add_argument("--environment", choices=ENVIRONMENTS, default="dev")
    parser.add_argument("--stack", default=None, help="stack name (default: the suffix)")
    _add_repo_argument(parser)


def _add_repo_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repo",
        type=Path,
        default=None,
        help="the repository checkout (default: the one this package is installed from)",
    )


def run_preflight(stack: str, repo: Path, env: Mapping[str, str]) -> bool:
    """``etl-ops preflight`` for ``stack``: print its report; True when every check passed."""
    text, code = format_results(stack, preflight(stack, env=env, repo=repo))
    print(text, file=sys.stderr, flush=True)
    return code == 0


def deploy_all(args: argparse.Namespace) -> int:
    """Preflight (unless skipped), ``pulumi up`` in deploy order, then the CodeDeploy
    releases of the changed functions, waited for (a rollback fails naming the alarm)."""
    checks = None if args.skip_preflight else run_preflight
    run_all("up", args.stack, repo=args.repo, preflight=checks)
    run_release(args.stack, args.repo)
    return 0


def preview_all(args: argparse.Namespace) -> int:
    """``pulumi preview`` in deploy order."""
    run_all("preview", args.stack, repo=args.repo)
    return 0


def destroy_all(args: argparse.Namespace) -> int:
    """``pulumi destroy`` in reverse order."""
    run_all("destroy", args.stack, repo=args.repo)
    return 0


def new_env_command(args: argparse.Namespace) -> int:
    """Create the stack in all three projects."""
    new_env(args.suffix, args.environment, stack=args.stack, repo=args.repo)
    return 0
