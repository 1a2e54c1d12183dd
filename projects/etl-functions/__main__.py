"""etl-functions: one role per function, the functions, their triggers and the data bucket,
and the CodeDeploy deployment groups that move each function's ``live`` alias.

Deployed last: it reads the layer, DLQs and boundary from ``shared`` and the log
groups from ``observability``. Everything is derived from the catalog; the resources
live in :mod:`etl_platform.infra.components`.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from etl_platform.infra.components.bucket import DataBucket, DataBucketArgs
from etl_platform.infra.components.deployment import Deployments, DeploymentsArgs
from etl_platform.infra.components.functions import (
    BucketTriggers,
    BucketTriggersArgs,
    EtlFunction,
    EtlFunctionArgs,
    read_upstreams,
)
from etl_platform.model.catalog import load_catalog
from etl_platform.model.contract import URL_EXPORTS, FunctionsExports
from etl_platform.model.settings import load_settings

catalog = load_catalog()
settings = load_settings(catalog.names)
upstreams = read_upstreams(
    settings,
    catalog.names,
    node=bool(catalog.node_functions),
    http_apis=[spec.name for spec in catalog if spec.trigger.type == "http-api"],
)
account_id = aws.get_caller_identity_output().account_id

bucket = DataBucket("data", DataBucketArgs(settings=settings, account_id=account_id))
functions = {
    spec.name: EtlFunction(
        spec.name,
        EtlFunctionArgs(
            spec=spec,
            settings=settings,
            upstream=upstreams.for_function(spec.name, spec),
            account_id=account_id,
            bucket_name=bucket.name,
            bucket_arn=bucket.arn,
        ),
    )
    for spec in catalog
}
BucketTriggers(
    "data-triggers",
    BucketTriggersArgs(
        bucket_id=bucket.bucket.id,
        bucket_arn=bucket.arn,
        account_id=account_id,
        functions=functions,
    ),
)
deployments = Deployments(
    "deployments", DeploymentsArgs(settings=settings, account_id=account_id, functions=functions)
)

urls = {name: fn.url.function_url for name, fn in functions.items() if fn.url is not None}
pulumi.export(FunctionsExports.FUNCTION_NAMES, {n: fn.name for n, fn in functions.items()})
pulumi.export(FunctionsExports.FUNCTION_ARNS, {n: fn.arn for n, fn in functions.items()})
pulumi.export(FunctionsExports.FUNCTION_URLS, urls)
pulumi.export(
    FunctionsExports.API_ENDPOINTS,
    {n: fn.api_endpoint for n, fn in functions.items() if fn.api_endpoint is not None},
)
for export, function in URL_EXPORTS.items():
    if function in urls:
        pulumi.export(export, urls[function])
pulumi.export(FunctionsExports.BUCKET_NAME, bucket.name)
pulumi.export(FunctionsExports.RELEASES, deployments.release)
