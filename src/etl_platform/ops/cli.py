"""``etl-ops``: the one command line of the platform, one sub-command per verb.

    etl-ops plan [stack] | docs [--check] | iam-lint [stack ...] | compat | build
    etl-ops audit [--json] [--strict] [--code] | audit --campaign [--stack dev]
    etl-ops preflight --stack <stack>
    etl-ops import <legacy-function> | cutover <name> --stack <s> --from <legacy>
    etl-ops retire <legacy-function> [--soak-days 14]
    etl-ops deploy-all|preview-all|destroy-all <stack> | new-env <suffix>
    etl-ops migrate <legacy-dir> <name> [...] | redrive <stack> <function> [--dry-run]
    etl-ops runtimes refresh <saved page> | runtimes show

Installed with the project (``[project.scripts]``); ``python -m etl_platform.ops.cli`` is
the same program, and every nox session of a verb calls it (``nox -s plan -- dev`` is
``etl-ops plan dev``). ``etl-ops <verb> --help`` says what each takes.

Adding a verb is one row of :data:`COMMANDS`: ``verb(name, help, module)`` for a module
with ``add_arguments(parser)`` and ``command(args) -> 0 | 1``, or a :class:`Command` naming
those two functions.

One policy maps outcomes to exit codes, for every verb (:func:`main`):

- 0: done, nothing wrong;
- 1: the command ran and found something wrong or refused a step: findings with
  ``--strict``, a failed check, stale docs, a Pulumi command that failed, an import,
  cutover or retire refused (:class:`etl_platform.errors.CommandFailedError`);
- 2: the command could not run: bad arguments (argparse), bad input, a missing tool or
  credentials, an AWS error (any other :class:`etl_platform.errors.EtlPlatformError`,
  ``ValueError``, ``OSError``, botocore's errors); the message says what is wrong and the
  fix, on stderr.

The AWS verbs (audit, campaign, import, cutover, retire) are described in
:mod:`etl_platform.ops.audit`, :mod:`etl_platform.ops.campaign`,
:mod:`etl_platform.ops.estate_import` and :mod:`etl_platform.ops.cutover` (docs/campaign.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from etl_platform.artifacts import build, compat
from etl_platform.checks import docgen, iam_lint, plan
from etl_platform.errors import CommandFailedError, EtlPlatformError
from etl_platform.model.settings import REGION
from etl_platform.ops import (
    audit,
    campaign,
    cutover,
    estate_import,
    migrate,
    preflight,
    pulumi_cli,
    redrive,
    runtime_refresh,
)

__all__ = [
    "COMMANDS",
    "EXIT_ERROR",
    "EXIT_FAILED",
    "EXIT_OK",
    "Command",
    "main",
    "parser",
    "verb",
]

EXIT_OK = 0
EXIT_FAILED = 1  # it ran and found something wrong
EXIT_ERROR = 2  # it could not run (argparse also exits 2 on bad arguments)


@dataclass(frozen=True)
class Command:
    """One ``etl-ops`` verb: how it is called, what it takes, what runs it."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# ------------------------------------------------------------- the AWS estate verbs


def _folder_options(parser: argparse.ArgumentParser) -> None:
    """Where the repository's folders are (the tests move them; hidden from --help)."""
    for option in ("--examples-dir", "--catalog-dir", "--project-dir", "--state-dir"):
        parser.add_argument(option, type=Path, default=None, help=argparse.SUPPRESS)


def _dirs(args: argparse.Namespace, *names: str) -> dict[str, Path]:
    """The folder options given (the rest keep their repository defaults)."""
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _session(args: argparse.Namespace) -> boto3.Session:
    return boto3.Session(region_name=args.region)


def _audit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", default=REGION, help="default %(default)s")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--strict", action="store_true", help="exit 1 on any finding")
    parser.add_argument(
        "--code", action="store_true", help="download each Python/Node.js package and check it"
    )
    parser.add_argument(
        "--max-package-mb",
        type=float,
        default=audit.DEFAULT_MAX_PACKAGE_MB,
        help="package size threshold in MiB (default %(default)s)",
    )
    parser.add_argument(
        "--runtime-warn-days",
        type=int,
        default=audit.DEFAULT_RUNTIME_WARN_DAYS,
        help="report runtimes deprecated within this many days (default %(default)s)",
    )
    parser.add_argument(
        "--campaign",
        action="store_true",
        help="the migration campaign: one row per legacy function",
    )
    parser.add_argument("--stack", default="dev", help="with --campaign: the stack (default dev)")
    parser.add_argument("--today", type=dt.date.fromisoformat, default=None, help=argparse.SUPPRESS)
    _folder_options(parser)


def _audit(args: argparse.Namespace) -> int:
    """The audit table or JSON (1 with ``--strict`` and a finding), or the campaign."""
    if args.campaign:
        result = campaign.campaign(
            _session(args),
            stack=args.stack,
            today=args.today,
            **_dirs(args, "examples_dir", "catalog_dir", "project_dir"),
        )
        print(
            json.dumps(result.to_json(), indent=2)
            if args.json
            else campaign.render_campaign(result)
        )
        return 0
    options = audit.AuditOptions(
        max_package_bytes=int(args.max_package_mb * audit.MIB),
        runtime_warn_days=args.runtime_warn_days,
        code=args.code,
    )
    report = audit.audit(_session(args), options=options, today=args.today)
    print(json.dumps(report.to_json(), indent=2) if args.json else audit.render_table(report))
    return 1 if args.strict and report.findings else 0


def _import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("function", help="the legacy function's name")
    parser.add_argument("--name", default=None, help="the catalog name (default: without legacy-)")
    parser.add_argument("--region", default=REGION, help="default %(default)s")
    parser.add_argument("--no-migrate", action="store_true", help="do not run nox -s migrate")
    _folder_options(parser)


def _import(args: argparse.Namespace) -> int:
    result = estate_import.import_function(
        _session(args),
        args.function,
        name=args.name,
        run_migrate=not args.no_migrate,
        **_dirs(args, "examples_dir", "catalog_dir"),
    )
    print(result.report())
    return 0


def _cutover_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the catalog function's name")
    parser.add_argument("--stack", required=True, help="stack name, e.g. dev")
    parser.add_argument("--from", dest="legacy", required=True, help="the legacy function's name")
    parser.add_argument("--region", default=REGION, help="default %(default)s")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print what would change")
    mode.add_argument("--rollback", action="store_true", help="undo the recorded cutover")
    _folder_options(parser)


def _cutover(args: argparse.Namespace) -> int:
    if args.rollback:
        result = cutover.rollback(
            _session(args), args.name, stack=args.stack, **_dirs(args, "state_dir")
        )
    else:
        result = cutover.cutover(
            _session(args),
            args.name,
            stack=args.stack,
            legacy=args.legacy,
            dry_run=args.dry_run,
            **_dirs(args, "state_dir", "project_dir", "catalog_dir"),
        )
    print(result.report())
    return 0


def _retire_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("function", help="the legacy function's name")
    parser.add_argument(
        "--soak-days", type=int, default=cutover.DEFAULT_SOAK_DAYS, help="default %(default)s"
    )
    parser.add_argument("--region", default=REGION, help="default %(default)s")


def _retire(args: argparse.Namespace) -> int:
    result = cutover.retire(_session(args), args.function, soak_days=args.soak_days)
    print(result.report())
    return 0


# ----------------------------------------------------------------------------- table


def verb(name: str, help: str, module: ModuleType) -> Command:
    """The row of a module that exposes ``add_arguments(parser)`` and ``command(args)``."""
    return Command(name, help, module.add_arguments, module.command)


COMMANDS: tuple[Command, ...] = (
    verb("plan", "offline plan of a stack's three programs", plan),
    verb("docs", "regenerate the generated parts of docs/", docgen),
    verb("iam-lint", "parliament over the plans' IAM documents", iam_lint),
    verb("compat", "code and layers against their target runtime", compat),
    verb("build", "the function zips and the layers, under build/", build),
    Command("audit", "every Lambda function against the rules", _audit_arguments, _audit),
    verb("preflight", "can this account take the stacks?", preflight),
    Command(
        "import", "a deployed function -> examples/ + a catalog entry", _import_arguments, _import
    ),
    Command(
        "cutover", "move a legacy function's triggers (reversible)", _cutover_arguments, _cutover
    ),
    Command("retire", "delete a legacy function nothing uses any more", _retire_arguments, _retire),
    Command(
        "deploy-all",
        "etl-ops preflight, pulumi up in every project in deploy order, then the CodeDeploy "
        "releases of the changed functions (waited for)",
        pulumi_cli.add_deploy_arguments,
        pulumi_cli.deploy_all,
    ),
    Command(
        "preview-all",
        "pulumi preview in every project, in deploy order",
        pulumi_cli.add_stack_arguments,
        pulumi_cli.preview_all,
    ),
    Command(
        "destroy-all",
        "pulumi destroy in every project, in reverse order",
        pulumi_cli.add_stack_arguments,
        pulumi_cli.destroy_all,
    ),
    Command(
        "new-env",
        "create a stack in all three projects",
        pulumi_cli.add_new_env_arguments,
        pulumi_cli.new_env_command,
    ),
    verb("migrate", "a legacy Node.js function into lambdas/", migrate),
    verb("redrive", "a DLQ's waiting events back to their function", redrive),
    verb(
        "runtimes",
        "AWS's runtime dates: refresh them from a saved page, or show them",
        runtime_refresh,
    ),
)


def parser() -> argparse.ArgumentParser:
    """``etl-ops`` and one sub-parser per row of :data:`COMMANDS`."""
    root = argparse.ArgumentParser(
        prog="etl-ops",
        description="The platform's command line: plan, check, build, deploy and operate.",
    )
    verbs = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        sub = verbs.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Run one verb; map its outcome to the exit code (module docstring)."""
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except CommandFailedError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except (EtlPlatformError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except (BotoCoreError, ClientError) as error:  # credentials, permissions, the endpoint
        print(
            f"error: etl-ops {args.command} could not run: {error} (check the credentials, "
            "AWS_REGION / AWS_ENDPOINT_URL and the permissions the command's docs list)",
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
