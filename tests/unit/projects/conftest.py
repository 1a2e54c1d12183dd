"""Fixtures for running the real Pulumi programs under Pulumi's mock runtime.

``run_project("observability", stack="prod")`` runs ``projects/observability/__main__.py``
with its ``Pulumi.prod.yaml`` and returns an :class:`etl_platform.checks.offline.ProgramRun`.
Upstream stacks are faked with realistic exports built from the catalog (the shape
the contract in ``etl_platform.model.contract`` promises), so each project is tested alone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from etl_platform.checks.offline import ACCOUNT_ID, ProgramRun, run_program
from etl_platform.model.catalog import CATALOG_DIR_ENV, load_catalog
from etl_platform.model.contract import (
    OBSERVABILITY,
    SHARED,
    ObservabilityExports,
    SharedExports,
    stack_reference_name,
)
from etl_platform.model.naming import access_log_group_name, log_group_name, resource_name
from etl_platform.model.settings import DEFAULT_STACK_ORG
from etl_platform.paths import PROJECTS_DIR

REGION = "us-east-1"


def fake_shared_exports(functions: Iterable[str], suffix: str) -> dict[str, Any]:
    names = {fn: resource_name("dlq", fn, suffix) for fn in functions}
    return {
        SharedExports.LAYER_ARN: f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:layer:"
        f"{resource_name('layer', 'etl-common', suffix)}:3",
        SharedExports.NODE_LAYER_ARN: f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:layer:"
        f"{resource_name('layer', 'etl-node', suffix)}:2",
        SharedExports.DLQ_ARNS: {
            fn: f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{n}" for fn, n in names.items()
        },
        SharedExports.DLQ_URLS: {
            fn: f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{n}" for fn, n in names.items()
        },
        SharedExports.DLQ_NAMES: names,
        SharedExports.BOUNDARY_ARN: f"arn:aws:iam::{ACCOUNT_ID}:policy/"
        f"{resource_name('boundary', 'etl', suffix)}",
    }


def fake_observability_exports(functions: Iterable[str], suffix: str) -> dict[str, Any]:
    functions = list(functions)
    groups = {fn: log_group_name(resource_name("lambda", fn, suffix)) for fn in functions}
    # Every function's, as if each had an http-api trigger (consumers read their own).
    access = {fn: access_log_group_name(resource_name("api", fn, suffix)) for fn in functions}
    return {
        ObservabilityExports.ACCESS_LOG_GROUP_ARNS: {
            fn: f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{g}" for fn, g in access.items()
        },
        ObservabilityExports.LOG_GROUP_NAMES: groups,
        ObservabilityExports.LOG_GROUP_ARNS: {
            fn: f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{g}" for fn, g in groups.items()
        },
        ObservabilityExports.ALARM_TOPIC_ARN: f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:"
        f"{resource_name('alarms', '', suffix)}",
        ObservabilityExports.DASHBOARD_NAME: resource_name("etl", "", suffix),
    }


def upstream_outputs(
    stack: str, suffix: str, functions: Iterable[str], org: str = DEFAULT_STACK_ORG
) -> dict[str, dict[str, Any]]:
    """StackReference outputs for the shared and observability stacks of ``stack``."""
    functions = list(functions)
    return {
        stack_reference_name(org, SHARED, stack): fake_shared_exports(functions, suffix),
        stack_reference_name(org, OBSERVABILITY, stack): fake_observability_exports(
            functions, suffix
        ),
    }


RunProject = Callable[..., ProgramRun]


@pytest.fixture(scope="session")
def run_project() -> RunProject:
    """Run one of the three programs; upstream exports default to realistic fakes.

    A run of the repository's own catalog is kept for the session by its arguments, so
    the tests of several modules that ask for the same run share it (read it, never
    change it). A run with ``catalog_dir`` (a test's own catalog, which it may edit and
    run again) or under ``ETL_CATALOG_DIR`` is never kept.
    """
    kept: dict[str, ProgramRun] = {}

    def run(
        project: str,
        stack: str = "dev",
        *,
        config: Mapping[str, str] | None = None,
        catalog_dir: Path | None = None,
        upstream: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> ProgramRun:
        if upstream is None:
            suffix = (config or {}).get("etl:environmentSuffix", stack)
            upstream = upstream_outputs(stack, suffix, load_catalog(catalog_dir).names)
        key = json.dumps([project, stack, config, upstream], sort_keys=True)
        keep = catalog_dir is None and not os.environ.get(CATALOG_DIR_ENV)
        if keep and key in kept:
            return kept[key]
        result = run_program(
            PROJECTS_DIR / project,
            stack,
            config=config,
            stack_outputs=upstream,
            catalog_dir=catalog_dir,
        )
        if keep:
            kept[key] = result
        return result

    return run
