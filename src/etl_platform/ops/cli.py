"""``etl-ops``: know the estate and the account.

    etl-ops audit [--region us-east-1] [--json] [--strict] [--code]
                  [--max-package-mb 5] [--runtime-warn-days 180]
    etl-ops preflight --stack <stack> [--account <id>]

Installed with the project (``[project.scripts]``); also ``nox -s audit -- ...`` and
``nox -s preflight -- --stack <stack>``. See :mod:`etl_platform.ops.audit` and
:mod:`etl_platform.ops.preflight` for what each checks.

Exit codes: 0 fine; 1 findings with ``--strict`` / a failed preflight check; 2 the
command could not run (no credentials, bad arguments).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from etl_platform.model.settings import REGION

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from etl_platform.ops.audit import DEFAULT_MAX_PACKAGE_MB, DEFAULT_RUNTIME_WARN_DAYS

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
    audit.add_argument("--today", type=dt.date.fromisoformat, default=None, help=argparse.SUPPRESS)
    pre = commands.add_parser("preflight", help="can this account take the stacks?")
    pre.add_argument("--stack", required=True, help="stack name, e.g. dev")
    pre.add_argument(
        "--account", default=None, help="expected account id (default: aws:allowedAccountIds)"
    )
    pre.add_argument("--repo", type=Path, default=None, help=argparse.SUPPRESS)
    return parser


def _audit(args: argparse.Namespace) -> int:
    import boto3

    from etl_platform.ops.audit import MIB, AuditError, AuditOptions, audit, render_table

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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "audit":
        return _audit(args)
    return _preflight(args)


if __name__ == "__main__":
    sys.exit(main())
