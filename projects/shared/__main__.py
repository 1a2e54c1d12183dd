"""etl-shared: the shared layer, one dead-letter queue per function, the permissions boundary.

Deployed first and destroyed last; the observability and etl-functions stacks read
its exports (names in :class:`etl_platform.contract.SharedExports`).
"""

from __future__ import annotations

import pulumi

from etl_platform.catalog import load_catalog
from etl_platform.components.boundary import PermissionsBoundary, PermissionsBoundaryArgs
from etl_platform.components.shared import (
    DeadLetterQueues,
    DeadLetterQueuesArgs,
    SharedLayer,
    SharedLayerArgs,
)
from etl_platform.contract import SharedExports
from etl_platform.settings import load_settings

catalog = load_catalog()
settings = load_settings(catalog.names)

layer = SharedLayer("layer", SharedLayerArgs(settings=settings))
dlqs = DeadLetterQueues("dlq", DeadLetterQueuesArgs(functions=catalog.names, settings=settings))
boundary = PermissionsBoundary(
    "boundary", PermissionsBoundaryArgs(catalog=catalog, settings=settings, dlq_arns=dlqs.arns)
)

pulumi.export(SharedExports.LAYER_ARN, layer.arn)
pulumi.export(SharedExports.DLQ_ARNS, dlqs.arns)
pulumi.export(SharedExports.DLQ_URLS, dlqs.urls)
pulumi.export(SharedExports.DLQ_NAMES, dlqs.names)
pulumi.export(SharedExports.BOUNDARY_ARN, boundary.arn)
