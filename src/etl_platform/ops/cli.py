"""``etl-ops``: know the estate and the account.

    etl-ops audit [--region us-east-1] [--json] [--strict] [--code]
                  [--max-package-mb 5] [--runtime-warn-days 180]
    etl-ops audit --campaign [--stack dev] [--json]
    etl-ops preflight --stack <stack> [--account <id>]
    etl-ops import <legacy-function> [--name <catalog-name>] [--region us-east-1]
    etl-ops cutover <catalog-name> --stack <stack> --from <legacy-function>
                    [--dry-run | --rollback]
    etl-ops retire <legacy-function> [--soak-days 14]

Installed with the project (``[project.scripts]``); also ``nox -s audit -- ...`` and
``nox -s preflight -- --stack <stack>``. See :mod:`etl_platform.ops.audit` and
:mod:`etl_platform.ops.preflight` for what each checks; :mod:`etl_platform.ops.campaign`,
:mod:`etl_platform.ops.estate_import` and :mod:`etl_platform.ops.cutover` for the
migration campaign (docs/campaign.md).

Exit codes: 0 fine; 1 findings with ``--strict`` / a failed preflight check / an
import, cutover or retire refused or failed (the message says why); 2 the command could
not run (no credentials, access denied, bad arguments).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from etl_platform.errors import EtlPlatformError
from etl_platform.model.settings import REGION

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from etl_platform.ops.audit import DEFAULT_MAX_PACKAGE_MB, DEFAULT_RUNTIME_WARN_DAYS
    from etl_platform.ops.cutover import DEFAULT_SOAK_DAYS

    parser = argparse.ArgumentParser(
        prog="etl-ops", description="Audit the Lambda estate; preflight an account."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    audit = commands.add_parser("audit", help="every Lambda function against the rules")
    audit.add_argument("--region", default=REGION, help="default %(default)s")
    audit.add_argument("--json", action="store_true", help="machine-readable output")
    audit.add_argument("--strict", action="store_true", help="exit 1 on any finding")
    audit.add_argument(
        "--code", action="store_true", help="download each Python/Node.js package and check it"
    )
    audit.add_argument(
        "--max-package-mb",
        type=float,
        default=DEFAULT_MAX_PACKAGE_MB,
        help="package size threshold in MiB (default %(default)s)",
    )
    audit.add_argument(
        "--runtime-warn-days",
        type=int,
        default=DEFAULT_RUNTIME_WARN_DAYS,
        help="report runtimes deprecated within this many days (default %(default)s)",
    )
    audit.add_argument(
        "--campaign",
        action="store_true",
        help="the migration campaign: one row per legacy function",
    )
    audit.add_argument("--stack", default="dev", help="with --campaign: the stack (default dev)")
    audit.add_argument("--today", type=dt.date.fromisoformat, default=None, help=argparse.SUPPRESS)
    pre = commands.add_parser("preflight", help="can this account take the stacks?")
    pre.add_argument("--stack", required=True, help="stack name, e.g. dev")
    pre.add_argument(
        "--account", default=None, help="expected account id (default: aws:allowedAccountIds)"
    )
    pre.add_argument("--repo", type=Path, default=None, help=argparse.SUPPRESS)
    imp = commands.add_parser("import", help="a deployed function -> examples/ + a catalog entry")
    imp.add_argument("function", help="the legacy function's name")
    imp.add_argument("--name", default=None, help="the catalog name (default: without legacy-)")
    imp.add_argument("--region", default=REGION, help="default %(default)s")
    imp.add_argument("--no-migrate", action="store_true", help="do not run nox -s migrate")
    cut = commands.add_parser("cutover", help="move a legacy function's triggers (reversible)")
    cut.add_argument("name", help="the catalog function's name")
    cut.add_argument("--stack", required=True, help="stack name, e.g. dev")
    cut.add_argument("--from", dest="legacy", required=True, help="the legacy function's name")
    cut.add_argument("--region", default=REGION, help="default %(default)s")
    mode = cut.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print what would change")
    mode.add_argument("--rollback", action="store_true", help="undo the recorded cutover")
    for sub in (audit, imp, cut):  # where the repository's folders are (the tests move them)
        sub.add_argument("--examples-dir", type=Path, default=None, help=argparse.SUPPRESS)
        sub.add_argument("--catalog-dir", type=Path, default=None, help=argparse.SUPPRESS)
        sub.add_argument("--project-dir", type=Path, default=None, help=argparse.SUPPRESS)
        sub.add_argument("--state-dir", type=Path, default=None, help=argparse.SUPPRESS)
    ret = commands.add_parser("retire", help="delete a legacy function nothing uses any more")
    ret.add_argument("function", help="the legacy function's name")
    ret.add_argument("--soak-days", type=int, default=DEFAULT_SOAK_DAYS, help="default %(default)s")
    ret.add_argument("--region", default=REGION, help="default %(default)s")
    return parser


def _audit(args: argparse.Namespace) -> int:
    import boto3

    from etl_platform.ops.audit import MIB, AuditError, AuditOptions, audit, render_table

    if args.campaign:
        return _campaign(args)
    options = AuditOptions(
        max_package_bytes=int(args.max_package_mb * MIB),
        runtime_warn_days=args.runtime_warn_days,
        code=args.code,
    )
    try:
        report = audit(boto3.Session(region_name=args.region), options=options, today=args.today)
    except AuditError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(render_table(report))
    return 1 if args.strict and report.findings else 0


def _preflight(args: argparse.Namespace) -> int:
    from etl_platform.ops.preflight import format_results, preflight

    results = preflight(args.stack, repo=args.repo, account=args.account)
    text, code = format_results(args.stack, results)
    print(text)
    return code


def _dirs(args: argparse.Namespace, *names: str) -> dict[str, Path]:
    """The folder options given (the rest keep their repository defaults)."""
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _campaign(args: argparse.Namespace) -> int:
    import boto3

    from etl_platform.ops.campaign import campaign, render_campaign

    result = campaign(
        boto3.Session(region_name=args.region),
        stack=args.stack,
        today=args.today,
        **_dirs(args, "examples_dir", "catalog_dir", "project_dir"),
    )
    print(json.dumps(result.to_json(), indent=2) if args.json else render_campaign(result))
    return 0


def _import(args: argparse.Namespace) -> int:
    import boto3

    from etl_platform.ops.estate_import import import_function

    result = import_function(
        boto3.Session(region_name=args.region),
        args.function,
        name=args.name,
        run_migrate=not args.no_migrate,
        **_dirs(args, "examples_dir", "catalog_dir"),
    )
    print(result.report())
    return 0


def _cutover(args: argparse.Namespace) -> int:
    import boto3

    from etl_platform.ops.cutover import cutover, rollback

    session = boto3.Session(region_name=args.region)
    if args.rollback:
        result = rollback(session, args.name, stack=args.stack, **_dirs(args, "state_dir"))
    else:
        result = cutover(
            session,
            args.name,
            stack=args.stack,
            legacy=args.legacy,
            dry_run=args.dry_run,
            **_dirs(args, "state_dir", "project_dir", "catalog_dir"),
        )
    print(result.report())
    return 0


def _retire(args: argparse.Namespace) -> int:
    import boto3

    from etl_platform.ops.cutover import retire

    result = retire(boto3.Session(region_name=args.region), args.function, soak_days=args.soak_days)
    print(result.report())
    return 0


_COMMANDS = {
    "audit": _audit,
    "preflight": _preflight,
    "import": _import,
    "cutover": _cutover,
    "retire": _retire,
}


def main(argv: Sequence[str] | None = None) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except EtlPlatformError as exc:  # refused or failed with a reason: say it, exit 1
        print(f"etl-ops {args.command}: {exc}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as exc:  # credentials, permissions, the endpoint
        print(
            f"etl-ops {args.command}: could not run: {exc} (check the credentials, "
            "AWS_REGION / AWS_ENDPOINT_URL and the permissions the command's docs list)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
