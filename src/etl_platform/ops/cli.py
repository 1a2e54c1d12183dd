"""``etl-ops``: the one command line of the platform, one sub-command per verb.

    etl-ops plan [stack] | docs [--check] | iam-lint [stack ...] | compat | build
    etl-ops audit [--json] [--strict] [--code] | preflight --stack <stack>
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
- 1: the command ran and found something wrong: findings with ``--strict``, a failed
  check, stale docs, a Pulumi command that failed (:class:`CommandFailedError`);
- 2: the command could not run: bad arguments (argparse), bad input, a missing tool or
  credentials (:class:`etl_platform.errors.EtlPlatformError`, ``ValueError``,
  ``OSError``); the message says what is wrong and the fix, on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType

from etl_platform.artifacts import build, compat
from etl_platform.checks import docgen, iam_lint, plan
from etl_platform.errors import CommandFailedError, EtlPlatformError
from etl_platform.ops import audit, migrate, preflight, pulumi_cli, redrive, runtime_refresh

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


def verb(name: str, help: str, module: ModuleType) -> Command:
    """The row of a module that exposes ``add_arguments(parser)`` and ``command(args)``."""
    return Command(name, help, module.add_arguments, module.command)


COMMANDS: tuple[Command, ...] = (
    verb("plan", "offline plan of a stack's three programs", plan),
    verb("docs", "regenerate the generated parts of docs/", docgen),
    verb("iam-lint", "parliament over the plans' IAM documents", iam_lint),
    verb("compat", "code and layers against their target runtime", compat),
    verb("build", "the function zips and the layers, under build/", build),
    verb("audit", "every Lambda function against the rules", audit),
    verb("preflight", "can this account take the stacks?", preflight),
    Command(
        "deploy-all",
        "etl-ops preflight, then pulumi up in every project, in deploy order",
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


if __name__ == "__main__":
    sys.exit(main())
