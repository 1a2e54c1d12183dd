"""``etl-ops preflight --stack <stack>``: can this account and this machine take the stacks?

Each check prints one PASS or FAIL line and, on FAIL, the fix. In order:

1. ``stack-config``: the stack's ``Pulumi.<stack>.yaml`` files exist and their ``etl:``
   settings validate (the same rules the programs apply);
2. ``credentials``: AWS credentials are present (``sts:GetCallerIdentity``) and belong
   to the expected account: the stack's ``aws:allowedAccountIds`` (the Pulumi AWS
   provider's own key, which also makes the provider refuse any other account) or
   ``--account``;
3. ``region``: both the credentials' region and the stack's ``aws:region`` are
   ``us-east-1``;
4. ``pulumi-cli``: ``pulumi`` is on PATH and at least :data:`MIN_PULUMI_CLI`;
5. ``pulumi-backend``: the passphrase is set, and the backend is reachable (the default
   file backend in the repository, or an ``s3://`` bucket that exists);
6. ``concurrency``: the account's Lambda concurrency (``GetAccountSettings``) keeps
   AWS's minimum of 100 unreserved after this stack's reservations (5 per critical
   catalog function; none with ``etl:reservedConcurrency false``);
7. ``database-secret`` (when ``etl:databaseSecretArn`` is set): it exists, these
   credentials can read it, and it has the RDS JSON shape the load function expects;
8. ``vpc`` (when ``etl:vpcSubnetIds`` is set): the subnets and security groups exist
   in the region, and every subnet reaches S3 and Secrets Manager through a VPC
   endpoint or a NAT route; it says which is missing where;
9. ``trigger-queues`` (when a function has an ``sqs`` trigger): each source queue has a
   redrive policy and a visibility timeout of at least 6x its function's timeout.

Clients come from boto3, so ``AWS_PROFILE``, ``AWS_REGION`` and ``AWS_ENDPOINT_URL``
(a local emulator) work as for any boto3 program. Exit code 0 when every check passes,
1 otherwise. ``nox -s deploy-all`` runs this first and stops on a failure
(``--skip-preflight`` skips it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl_platform.errors import EtlPlatformError
from etl_platform.model import contract
from etl_platform.model.catalog import FunctionSpec, load_catalog
from etl_platform.model.naming import resource_name
from etl_platform.model.resources import Resource
from etl_platform.model.settings import REGION, Settings, settings_from_mapping
from etl_platform.model.trigger_sources import trigger_source
from etl_platform.ops.account import error_code
from etl_platform.ops.pulumi_env import INSTALL_HINT, STATE_DIR_NAME, OpsError, require_passphrase
from etl_platform.paths import REPO_ROOT

__all__ = [
    "MIN_PULUMI_CLI",
    "MIN_UNRESERVED_CONCURRENCY",
    "RDS_SECRET_KEYS",
    "SQS_VISIBILITY_FACTOR",
    "CheckResult",
    "add_arguments",
    "command",
    "format_results",
    "preflight",
]

# The oldest Pulumi CLI we accept: the release line of the pinned Python SDK
# (pyproject: pulumi>=3.200); older CLIs lack engine features the SDK relies on.
MIN_PULUMI_CLI = (3, 200, 0)
# AWS keeps this many concurrent executions unreserved in every account.
MIN_UNRESERVED_CONCURRENCY = 100
# The Service Quotas code of "Concurrent executions" for Lambda.
CONCURRENCY_QUOTA_CODE = "L-B99A9384"
# The keys the load function needs in the database secret (etl_common.db reads
# host, username and password, and defaults port 5432 and dbname postgres).
RDS_SECRET_KEYS: tuple[str, ...] = ("host", "username", "password")
RDS_SECRET_SHAPE = "{host, port, username, password, dbname}"
# AWS's guidance for a queue that triggers a function: a visibility timeout of at least
# six times the function's timeout (Lambda developer guide, "Using Lambda with SQS").
SQS_VISIBILITY_FACTOR = 6

# The three projects' folders, in deploy order (the last one's config wins a merge).
PROJECT_FOLDERS: tuple[str, ...] = tuple(folder for _name, folder in contract.DEPLOY_ORDER)


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome: its name, PASS/FAIL, what was found and (on FAIL) the fix."""

    name: str
    passed: bool
    detail: str
    fix: str = ""

    def lines(self) -> list[str]:
        status = "PASS" if self.passed else "FAIL"
        out = [f"{status}  {self.name:<16} {self.detail}"]
        if not self.passed and self.fix:
            first, *rest = self.fix.split("\n")
            out += [f"      fix: {first}", *(f"           {line}" for line in rest)]
        return out


def _passed(name: str, detail: str) -> CheckResult:
    return CheckResult(name, True, detail)


def _failed(name: str, detail: str, fix: str) -> CheckResult:
    return CheckResult(name, False, detail, fix)


def _reason(exc: Exception) -> str:
    """What a FAIL line says went wrong: AWS's error code, else the exception's class."""
    return error_code(exc) or type(exc).__name__


def _client(session: Any, service: str) -> Any:
    """A client in us-east-1, where the stacks go (Pulumi takes the region from the
    stack's aws:region, not from the shell), whatever the shell's region is."""
    return session.client(service, region_name=REGION)


# ------------------------------------------------------------------ stack config


def _stack_config(repo: Path, stack: str) -> tuple[dict[str, str], list[str]]:
    """The merged config of the three projects (functions' wins) and the missing files."""
    from etl_platform.checks.offline import read_stack_config

    merged: dict[str, str] = {}
    missing: list[str] = []
    for folder in PROJECT_FOLDERS:
        try:
            merged.update(read_stack_config(repo / "projects" / folder, stack))
        except FileNotFoundError:
            missing.append(f"projects/{folder}/Pulumi.{stack}.yaml")
    return merged, missing


def check_stack_config(
    repo: Path, stack: str
) -> tuple[CheckResult, dict[str, str], Settings | None]:
    config, missing = _stack_config(repo, stack)
    if missing:
        return (
            _failed(
                "stack-config",
                f"no config for stack {stack!r}: {', '.join(missing)}",
                f"nox -s new-env -- <suffix> --stack {stack}",
            ),
            config,
            None,
        )
    try:
        settings = settings_from_mapping(config, load_catalog().names)
    except EtlPlatformError as exc:
        return (
            _failed(
                "stack-config",
                str(exc),
                f"pulumi config set <key> <value> --stack {stack} --cwd projects/<project>",
            ),
            config,
            None,
        )
    return (
        _passed(
            "stack-config",
            f"stack {stack!r}: suffix {settings.suffix!r}, environment {settings.environment}",
        ),
        config,
        settings,
    )


# ------------------------------------------------------------------ credentials


def _allowed_accounts(config: Mapping[str, str]) -> list[str]:
    raw = config.get("aws:allowedAccountIds")
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = [raw]
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def check_credentials(
    session: Any, config: Mapping[str, str], expected: str | None
) -> tuple[CheckResult, str | None]:
    try:
        identity = _client(session, "sts").get_caller_identity()
    except Exception as exc:
        return (
            _failed(
                "credentials",
                f"no usable AWS credentials ({exc})",
                "aws configure, or export AWS_PROFILE=<profile> (aws sso login "
                "--profile <profile> for SSO), then re-run",
            ),
            None,
        )
    account = str(identity.get("Account"))
    who = f"account {account} ({identity.get('Arn')})"
    allowed = [expected] if expected else _allowed_accounts(config)
    if not allowed:
        return (
            _passed(
                "credentials",
                f"{who}; no expected account configured (set aws:allowedAccountIds to pin it)",
            ),
            account,
        )
    if account not in allowed:
        return (
            _failed(
                "credentials",
                f"{who} is not the expected account {', '.join(allowed)}",
                "switch credentials (AWS_PROFILE=<the profile of account "
                f"{allowed[0]}>), or fix aws:allowedAccountIds in the stack config",
            ),
            account,
        )
    return _passed("credentials", f"{who}, the expected account"), account


def check_region(session: Any, config: Mapping[str, str]) -> CheckResult:
    region = session.region_name
    stack_region = config.get("aws:region")
    problems = []
    if region != REGION:
        problems.append(f"the credentials' region is {region or 'not set'}")
    if stack_region and stack_region != REGION:
        problems.append(f"the stack's aws:region is {stack_region}")
    if problems:
        return _failed(
            "region",
            "; ".join(problems) + f" (the stacks run in {REGION} only)",
            f"export AWS_DEFAULT_REGION={REGION} (or set region = {REGION} in the AWS "
            "profile); "
            f"pulumi config set aws:region {REGION} in each project",
        )
    return _passed("region", REGION)


# ------------------------------------------------------------------ pulumi


def _version_tuple(text: str) -> tuple[int, int, int] | None:
    match = re.search(r"v?(\d+)\.(\d+)\.(\d+)", text)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


Runner = Callable[[Sequence[str], Mapping[str, str]], str]


def _run_version(command: Sequence[str], env: Mapping[str, str]) -> str:
    done = subprocess.run(
        list(command), env=dict(env), capture_output=True, text=True, timeout=60, check=False
    )
    return done.stdout.strip() or done.stderr.strip()


def check_pulumi_cli(env: Mapping[str, str], run: Runner = _run_version) -> CheckResult:
    wanted = ".".join(map(str, MIN_PULUMI_CLI))
    found = shutil.which("pulumi", path=env.get("PATH", ""))
    if found is None:
        return _failed(
            "pulumi-cli", "the Pulumi CLI ('pulumi') is not on PATH", INSTALL_HINT.split("\n", 1)[1]
        )
    output = run([found, "version"], env)
    version = _version_tuple(output)
    if version is None:
        return _failed(
            "pulumi-cli",
            f"`{found} version` printed {output!r}, not a version",
            "reinstall the CLI: curl -fsSL https://get.pulumi.com | sh",
        )
    shown = ".".join(map(str, version))
    if version < MIN_PULUMI_CLI:
        return _failed(
            "pulumi-cli",
            f"Pulumi CLI {shown} at {found} is older than {wanted}",
            "upgrade: curl -fsSL https://get.pulumi.com | sh (or brew upgrade pulumi)",
        )
    return _passed("pulumi-cli", f"Pulumi CLI {shown} ({found}), >= {wanted}")


def check_backend(session: Any, env: Mapping[str, str], repo: Path) -> CheckResult:
    try:
        require_passphrase(env)
    except OpsError as exc:
        return _failed("pulumi-backend", "no passphrase for the stacks' secrets", str(exc))
    backend = env.get("PULUMI_BACKEND_URL") or f"file://{repo / STATE_DIR_NAME}"
    if backend.startswith("s3://"):
        bucket = backend.removeprefix("s3://").split("/", 1)[0].split("?", 1)[0]
        try:
            _client(session, "s3").head_bucket(Bucket=bucket)
        except Exception as exc:
            return _failed(
                "pulumi-backend",
                f"backend {backend}: bucket {bucket} is not reachable ({_reason(exc)})",
                f"create it (aws s3 mb s3://{bucket} --region {REGION}) or fix PULUMI_BACKEND_URL",
            )
    return _passed("pulumi-backend", f"passphrase set; backend {backend}")


# ------------------------------------------------------------------ concurrency


def check_concurrency(session: Any, settings: Settings) -> CheckResult:
    lam = _client(session, "lambda")
    try:
        limits = lam.get_account_settings()["AccountLimit"]
    except Exception as exc:
        return _failed(
            "concurrency",
            f"cannot read the account's Lambda settings ({_reason(exc)})",
            "allow lambda:GetAccountSettings to these credentials",
        )
    limit = int(limits.get("ConcurrentExecutions", 0))
    unreserved = int(limits.get("UnreservedConcurrentExecutions", limit))
    critical = [spec for spec in load_catalog() if spec.reserved_concurrency]
    if not settings.reserved_concurrency or not critical:
        return _passed(
            "concurrency",
            f"account limit {limit}, unreserved {unreserved}; this stack reserves none "
            "(etl:reservedConcurrency false)"
            if critical
            else "this stack reserves none",
        )
    wanted = sum(spec.reserved_concurrency or 0 for spec in critical)
    # What this stack already reserves (a redeploy) is already out of `unreserved`.
    already = 0
    for spec in critical:
        name = resource_name("lambda", spec.name, settings.suffix)
        try:
            current = lam.get_function_concurrency(FunctionName=name)
            already += int(current.get("ReservedConcurrentExecutions") or 0)
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                return _failed(
                    "concurrency",
                    f"cannot read {name}'s reserved concurrency ({_reason(exc)})",
                    "allow lambda:GetFunctionConcurrency to these credentials",
                )
    left = unreserved - (wanted - already)
    per = ", ".join(f"{s.name} {s.reserved_concurrency}" for s in critical)
    detail = (
        f"account limit {limit}, unreserved {unreserved}; this stack reserves {wanted} "
        f"({per}), leaving {left} unreserved"
    )
    if left < MIN_UNRESERVED_CONCURRENCY:
        return _failed(
            "concurrency",
            f"{detail}: below AWS's minimum of {MIN_UNRESERVED_CONCURRENCY}, so the deploy "
            f"would fail (the stack needs an account limit of at least "
            f"{MIN_UNRESERVED_CONCURRENCY + wanted})",
            "turn the reservations off for this stack, in each project:\n"
            "    pulumi config set etl:reservedConcurrency false --stack <stack> "
            "--cwd projects/<project>\n"
            "or ask AWS for more: aws service-quotas request-service-quota-increase "
            f"--service-code lambda --quota-code {CONCURRENCY_QUOTA_CODE} --desired-value 1000",
        )
    return _passed("concurrency", detail)


# ------------------------------------------------------------------ database secret


def check_database_secret(session: Any, settings: Settings) -> CheckResult:
    arn = settings.database_secret_arn
    if not arn:
        return _passed("database-secret", "not configured (etl:databaseSecretArn not set)")
    secrets = _client(session, "secretsmanager")
    try:
        value = secrets.get_secret_value(SecretId=arn)
    except Exception as exc:
        code = error_code(exc)
        if code == "ResourceNotFoundException":
            return _failed(
                "database-secret",
                f"{arn} does not exist in {REGION}",
                "create it (aws secretsmanager create-secret --name <name> --secret-string "
                '\'{"host": ..., "port": 5432, "username": ..., "password": ..., '
                '"dbname": ...}\') or fix etl:databaseSecretArn',
            )
        if code in ("AccessDeniedException", "AccessDenied"):
            return _failed(
                "database-secret",
                f"{arn} exists but these credentials cannot read it ({code})",
                "allow secretsmanager:GetSecretValue (and kms:Decrypt on its key) to the "
                "deploying role",
            )
        return _failed(
            "database-secret", f"cannot read {arn} ({code}: {exc})", "check the secret and its key"
        )
    try:
        data = json.loads(value.get("SecretString") or "")
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        return _failed(
            "database-secret",
            f"{arn} is not a JSON object",
            f"store the RDS shape {RDS_SECRET_SHAPE} as the secret string",
        )
    missing = [key for key in RDS_SECRET_KEYS if not data.get(key)]
    port = data.get("port", 5432)
    if missing or not str(port).isdigit():
        what = f"lacks {', '.join(missing)}" if missing else f"has a non-numeric port {port!r}"
        return _failed(
            "database-secret",
            f"{arn} {what}",
            f"store the RDS shape {RDS_SECRET_SHAPE} (aws secretsmanager put-secret-value)",
        )
    return _passed("database-secret", f"{arn} readable, RDS shape")


# ------------------------------------------------------------------ vpc


def _service(name: str) -> str:
    return f"com.amazonaws.{REGION}.{name}"


def _route_table_of(subnet: Mapping[str, Any], tables: Sequence[Mapping[str, Any]]) -> Any:
    main = None
    for table in tables:
        for association in table.get("Associations", []):
            if association.get("SubnetId") == subnet["SubnetId"]:
                return table
            if association.get("Main"):
                main = table
    return main


def _nat_route(table: Mapping[str, Any] | None) -> str | None:
    for route in (table or {}).get("Routes", []):
        if route.get("DestinationCidrBlock") != "0.0.0.0/0" or route.get("State") == "blackhole":
            continue
        target = route.get("NatGatewayId") or route.get("InstanceId")
        if target:
            return str(target)
    return None


def check_vpc(session: Any, settings: Settings) -> CheckResult:
    subnet_ids = list(settings.vpc_subnet_ids)
    group_ids = list(settings.vpc_security_group_ids)
    if not subnet_ids:
        return _passed("vpc", "not configured (etl:vpcSubnetIds not set)")
    ec2 = _client(session, "ec2")
    missing: list[str] = []
    subnets: list[dict[str, Any]] = []
    for subnet_id in subnet_ids:  # one call each: a batch call fails on the first unknown id
        try:
            subnets += ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"]
        except Exception as exc:
            missing.append(f"subnet {subnet_id} ({_reason(exc)})")
    for group_id in group_ids:
        try:
            ec2.describe_security_groups(GroupIds=[group_id])
        except Exception as exc:
            missing.append(f"security group {group_id} ({_reason(exc)})")
    if missing:
        return _failed(
            "vpc",
            f"not found in {REGION}: {', '.join(missing)}",
            "fix etl:vpcSubnetIds / etl:vpcSecurityGroupIds (ids from the VPC console or "
            "aws ec2 describe-subnets), or create them",
        )
    problems: list[str] = []
    fixes: set[str] = set()
    for vpc_id in sorted({s["VpcId"] for s in subnets}):
        tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
            "RouteTables"
        ]
        endpoints = [
            e
            for e in ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
                "VpcEndpoints"
            ]
            if str(e.get("State", "available")).lower() in ("available", "pending")
        ]
        for subnet in (s for s in subnets if s["VpcId"] == vpc_id):
            table = _route_table_of(subnet, tables)
            table_id = (table or {}).get("RouteTableId", "no route table")
            nat = _nat_route(table)
            for service in ("s3", "secretsmanager"):
                name = _service(service)
                via = [
                    e
                    for e in endpoints
                    if e.get("ServiceName") == name
                    and (
                        e.get("VpcEndpointType") == "Interface"
                        or table_id in e.get("RouteTableIds", [])
                    )
                ]
                if via or nat:
                    continue
                label = "S3" if service == "s3" else "Secrets Manager"
                problems.append(
                    f"{subnet['SubnetId']} cannot reach {label}: no {name} endpoint"
                    f"{' on its route table ' + table_id if service == 's3' else ''} and no "
                    f"NAT route (0.0.0.0/0) in {table_id}"
                )
                if service == "s3":
                    fixes.add(
                        f"aws ec2 create-vpc-endpoint --vpc-id {vpc_id} --service-name {name} "
                        f"--vpc-endpoint-type Gateway --route-table-ids {table_id}"
                    )
                else:
                    fixes.add(
                        f"aws ec2 create-vpc-endpoint --vpc-id {vpc_id} --service-name {name} "
                        "--vpc-endpoint-type Interface --private-dns-enabled --subnet-ids "
                        f"{' '.join(s['SubnetId'] for s in subnets if s['VpcId'] == vpc_id)} "
                        f"--security-group-ids {' '.join(group_ids)}"
                    )
    if problems:
        return _failed(
            "vpc",
            "; ".join(problems),
            "add the missing VPC endpoint(s) (or a NAT gateway route):\n    "
            + "\n    ".join(sorted(fixes)),
        )
    return _passed(
        "vpc",
        f"{len(subnet_ids)} subnet(s) and {len(group_ids)} security group(s) found; every "
        "subnet reaches S3 and Secrets Manager",
    )


# ------------------------------------------------------------------ trigger queues


def _queue_problems(sqs: Any, spec: FunctionSpec, queue: Resource) -> list[str]:
    account = queue.arn.split(":")[4]
    url = sqs.get_queue_url(QueueName=queue.resource_id, QueueOwnerAWSAccountId=account)
    attributes = sqs.get_queue_attributes(
        QueueUrl=url["QueueUrl"], AttributeNames=["RedrivePolicy", "VisibilityTimeout"]
    )["Attributes"]
    problems = []
    if not attributes.get("RedrivePolicy"):
        problems.append(
            f"{queue.resource_id} ({spec.name}'s trigger) has no redrive policy: a message "
            "that always fails comes back forever"
        )
    visibility = int(attributes.get("VisibilityTimeout", 30))
    wanted = SQS_VISIBILITY_FACTOR * spec.timeout
    if visibility < wanted:
        problems.append(
            f"{queue.resource_id} has a visibility timeout of {visibility} s, below "
            f"{SQS_VISIBILITY_FACTOR}x {spec.name}'s timeout ({wanted} s): messages being "
            "processed or retried reappear and run twice"
        )
    return problems


def check_trigger_queues(session: Any, settings: Settings, stack: str) -> CheckResult:
    """Every SQS queue that triggers a function has a redrive policy and a long enough
    visibility timeout (AWS's guidance: at least 6x the function's timeout)."""
    specs = [spec for spec in load_catalog() if spec.trigger.type == "sqs"]
    if not specs:
        return _passed("trigger-queues", "no function is triggered by an SQS queue")
    sqs = _client(session, "sqs")
    problems: list[str] = []
    fixes: list[str] = []
    for spec in specs:
        try:
            queue = trigger_source(spec, settings, stack)
        except EtlPlatformError as exc:
            problems.append(str(exc))
            continue
        assert queue is not None
        try:
            found = _queue_problems(sqs, spec, queue)
        except Exception as exc:
            problems.append(f"cannot read {queue.arn} ({error_code(exc)})")
            fixes.append(
                "allow sqs:GetQueueUrl and sqs:GetQueueAttributes to these credentials, or "
                f"fix {queue.name!r} in etl:resources"
            )
            continue
        if found:
            problems += found
            fixes.append(
                f"aws sqs set-queue-attributes --queue-url <{queue.resource_id} url> "
                '--attributes \'{"VisibilityTimeout": "'
                f'{SQS_VISIBILITY_FACTOR * spec.timeout}", "RedrivePolicy": '
                '"{\\"deadLetterTargetArn\\":\\"<its DLQ ARN>\\",'
                '\\"maxReceiveCount\\":\\"5\\"}"}\''
            )
    if problems:
        return _failed("trigger-queues", "; ".join(problems), "\n".join(fixes) or "see above")
    return _passed(
        "trigger-queues",
        f"{len(specs)} source queue(s) have a redrive policy and a visibility timeout of "
        f"at least {SQS_VISIBILITY_FACTOR}x their function's timeout",
    )


# ------------------------------------------------------------------ run


def preflight(
    stack: str,
    *,
    session: Any = None,
    env: Mapping[str, str] | None = None,
    repo: Path | None = None,
    account: str | None = None,
    run: Runner = _run_version,
) -> list[CheckResult]:
    """Every check for ``stack``, in order.

    When the stack config or the credentials fail, the account checks cannot run; that
    is reported as a failed ``concurrency`` line pointing at the cause, never skipped
    silently.
    """
    env = os.environ if env is None else env
    repo = (repo or REPO_ROOT).resolve()
    if session is None:
        import boto3

        session = boto3.Session()
    results: list[CheckResult] = []
    config_result, config, settings = check_stack_config(repo, stack)
    results.append(config_result)
    credentials, account_id = check_credentials(session, config, account)
    results.append(credentials)
    results.append(check_region(session, config))
    results.append(check_pulumi_cli(env, run))
    results.append(check_backend(session, env, repo))
    blocked = (
        "not checked (nor the database secret and VPC): the stack config is invalid "
        "(see stack-config)"
        if settings is None
        else "not checked (nor the database secret and VPC): no AWS credentials (see credentials)"
        if account_id is None
        else None
    )
    if blocked or settings is None:
        results.append(_failed("concurrency", blocked or "", "fix the checks above"))
        return results
    results.append(check_concurrency(session, settings))
    results.append(check_database_secret(session, settings))
    results.append(check_vpc(session, settings))
    results.append(check_trigger_queues(session, settings, stack))
    return results


def format_results(stack: str, results: Sequence[CheckResult]) -> tuple[str, int]:
    """The report text and the exit code (1 when any check failed)."""
    failed = [r for r in results if not r.passed]
    lines = [f"preflight for stack {stack!r}:"]
    for result in results:
        lines += result.lines()
    if failed:
        lines.append(
            f"preflight: {len(failed)} of {len(results)} checks failed "
            f"({', '.join(r.name for r in failed)}); fix them before deploying"
        )
    else:
        lines.append(f"preflight: all {len(results)} checks passed")
    return "\n".join(lines), 1 if failed else 0


# ------------------------------------------------------------------------------ etl-ops


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``etl-ops preflight --stack <stack> [--account <id>]``."""
    parser.add_argument("--stack", required=True, help="stack name, e.g. dev")
    parser.add_argument(
        "--account", default=None, help="expected account id (default: aws:allowedAccountIds)"
    )
    parser.add_argument("--repo", type=Path, default=None, help=argparse.SUPPRESS)


def command(args: argparse.Namespace) -> int:
    """Run every check; print the report; 1 when a check failed."""
    text, code = format_results(
        args.stack, preflight(args.stack, repo=args.repo, account=args.account)
    )
    print(text)
    return code
