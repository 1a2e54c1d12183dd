"""etl-shared: the layers (Python; Node.js with a Node function), the DLQs, the boundary.

Deployed first and destroyed last; the observability and etl-functions stacks read
its exports (names in :class:`etl_platform.model.contract.SharedExports`).
"""

from __future__ import annotations

import pulumi

from etl_platform.infra.components.boundary import PermissionsBoundary, PermissionsBoundaryArgs
from etl_platform.infra.components.shared import (
    DeadLetterQueues,
    DeadLetterQueuesArgs,
    NodeLayer,
    NodeLayerArgs,
    SharedLayer,
    SharedLayerArgs,
)
from etl_platform.model.catalog import load_catalog
from etl_platform.model.contract import SharedExports
from etl_platform.model.settings import load_settings

catalog = load_catalog()
settings = load_settings(catalog.names)

layer = SharedLayer("layer", SharedLayerArgs(settings=settings))
# The Node layer exists only while the catalog has a Node.js function.
node_runtimes = sorted({spec.runtime_on(settings.runtime) for spec in catalog.node_functions})
node_layer = (
    NodeLayer(
        "node-layer",
        NodeLayerArgs(
            settings=settings,
            runtimes=node_runtimes,
            needed_by=[spec.source for spec in catalog.node_functions],
        ),
    )
    if node_runtimes
    else None
)
dlqs = DeadLetterQueues(
    "dlq", DeadLetterQueuesArgs(functions=catalog.names, settings=settings, catalog=catalog)
)
boundary = PermissionsBoundary(
    "boundary", PermissionsBoundaryArgs(catalog=catalog, settings=settings, dlq_arns=dlqs.arns)
)

pulumi.export(SharedExports.LAYER_ARN, layer.arn)
if node_layer is not None:
    pulumi.export(SharedExports.NODE_LAYER_ARN, node_layer.arn)
pulumi.export(SharedExports.DLQ_ARNS, dlqs.arns)
pulumi.export(SharedExports.DLQ_URLS, dlqs.urls)
pulumi.export(SharedExports.DLQ_NAMES, dlqs.names)
pulumi.export(SharedExports.BOUNDARY_ARN, boundary.arn)
