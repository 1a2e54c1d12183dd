"""The contract between the three stacks: project names, export names, and how to read them.

Producers export exactly these keys; consumers read them only through
:class:`etl_platform.infra.upstream.Upstream` (the StackReference, a Pulumi resource, lives
in ``infra/``: ``model/`` holds none), which checks that what they need was exported and
otherwise fails with a message naming the stack, the export and the command that fixes it.
"""

from __future__ import annotations

__all__ = [
    "DEPLOY_ORDER",
    "FUNCTIONS",
    "OBSERVABILITY",
    "SHARED",
    "URL_EXPORTS",
    "FunctionsExports",
    "ObservabilityExports",
    "SharedExports",
    "stack_reference_name",
]

# Pulumi project names (Pulumi.yaml `name:`), and their folders under projects/.
SHARED = "etl-shared"
OBSERVABILITY = "etl-observability"
FUNCTIONS = "etl-functions"
DEPLOY_ORDER: tuple[tuple[str, str], ...] = (
    (SHARED, "shared"),
    (OBSERVABILITY, "observability"),
    (FUNCTIONS, "etl-functions"),
)


class SharedExports:
    LAYER_ARN = "layerArn"
    NODE_LAYER_ARN = "nodeLayerArn"  # only when the catalog has a Node.js function
    DLQ_ARNS = "dlqArns"  # {function: arn}
    DLQ_URLS = "dlqUrls"  # {function: url}
    DLQ_NAMES = "dlqNames"  # {function: queue name}
    BOUNDARY_ARN = "boundaryArn"


class ObservabilityExports:
    LOG_GROUP_NAMES = "logGroupNames"  # {function: name}
    LOG_GROUP_ARNS = "logGroupArns"  # {function: arn}
    # {function: arn}, every function with an http-api trigger: its API's access logs
    ACCESS_LOG_GROUP_ARNS = "accessLogGroupArns"
    ALARM_TOPIC_ARN = "alarmTopicArn"
    DASHBOARD_NAME = "dashboardName"


class FunctionsExports:
    FUNCTION_NAMES = "functionNames"  # {function: name}
    FUNCTION_ARNS = "functionArns"  # {function: arn}
    FUNCTION_URLS = "functionUrls"  # {function: url}, functions with a URL trigger
    API_ENDPOINTS = "apiEndpoints"  # {function: url}, functions with an http-api trigger
    INGEST_URL = "ingestUrl"
    STATUS_URL = "statusUrl"
    BUCKET_NAME = "bucketName"
    # {function: {application, group, function, alias, version}}: what `nox -s deploy-all`
    # hands CodeDeploy (etl_platform.ops.release)
    RELEASES = "releases"


# The contract's single-URL exports, by the catalog function that serves them (exported
# only when that function is in the catalog).
URL_EXPORTS: dict[str, str] = {
    FunctionsExports.INGEST_URL: "ingest-api",
    FunctionsExports.STATUS_URL: "status-api",
}


def stack_reference_name(org: str, project: str, stack: str) -> str:
    """``<org>/<project>/<stack>``: how the file backend and Pulumi Cloud both name a stack."""
    return f"{org}/{project}/{stack}"
