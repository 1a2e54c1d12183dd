"""etl-observability: log groups, the alarm topic, alarms and the dashboard.

Deployed after ``shared`` (it reads the DLQ names from it) and before ``etl-functions``
(which reads the log groups from it). Everything is derived from the catalog; the
resources live in :mod:`etl_platform.infra.components`.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from etl_platform.infra.components.alarms import (
    FunctionAlarms,
    FunctionAlarmsArgs,
    PipelineAlarms,
    PipelineAlarmsArgs,
)
from etl_platform.infra.components.dashboard import Dashboard, DashboardArgs
from etl_platform.infra.components.observability import (
    AlarmTopic,
    AlarmTopicArgs,
    LogGroups,
    LogGroupsArgs,
    split_by_function,
)
from etl_platform.infra.upstream import Upstream
from etl_platform.model import contract
from etl_platform.model.catalog import load_catalog
from etl_platform.model.contract import ObservabilityExports, SharedExports
from etl_platform.model.settings import load_settings

catalog = load_catalog()
settings = load_settings(catalog.names)

shared = Upstream(contract.SHARED, settings.stack_org)
dlq_names = split_by_function(
    shared.per_function(SharedExports.DLQ_NAMES, catalog.names), catalog.names
)

logs = LogGroups("logs", LogGroupsArgs(catalog=catalog, settings=settings))
topic = AlarmTopic(
    "alarm-topic",
    AlarmTopicArgs(
        settings=settings,
        account_id=aws.get_caller_identity_output().account_id,
        partition=aws.get_partition_output().partition,
    ),
)
alarms = [
    FunctionAlarms(
        f"alarms-{spec.name}",
        FunctionAlarmsArgs(
            spec=spec, settings=settings, topic_arn=topic.arn, dlq_name=dlq_names[spec.name]
        ),
    )
    for spec in catalog
]
pipeline_alarms = PipelineAlarms(
    "alarms-pipeline", PipelineAlarmsArgs(catalog=catalog, settings=settings, topic_arn=topic.arn)
)
dashboard = Dashboard(
    "dashboard",
    DashboardArgs(
        catalog=catalog,
        settings=settings,
        dlq_names=dlq_names,
        alarm_arns=[arn for group in alarms for arn in group.arns] + pipeline_alarms.arns,
    ),
)

pulumi.export(ObservabilityExports.LOG_GROUP_NAMES, logs.names)
pulumi.export(ObservabilityExports.LOG_GROUP_ARNS, logs.arns)
pulumi.export(ObservabilityExports.ACCESS_LOG_GROUP_ARNS, logs.access_arns)
pulumi.export(ObservabilityExports.ALARM_TOPIC_ARN, topic.arn)
pulumi.export(ObservabilityExports.DASHBOARD_NAME, dashboard.dashboard_name)
