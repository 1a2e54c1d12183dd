"""Log groups with retention and the encrypted, TLS-only alarm topic.

- :class:`LogGroups`: one ``/aws/lambda/<function-name>`` group per catalog function,
  created before the function exists, so Lambda never auto-creates a group whose logs
  are kept forever, and the function never races the stack for the group's name; and
  ``/aws/apigateway/api-<function>-<suffix>`` for the access logs of each function's
  HTTP API (``http-api`` trigger), with the same retention.
- :class:`AlarmTopic`: the SNS topic ``alarms-<suffix>`` every alarm notifies, encrypted
  with a customer-managed KMS key (CloudWatch cannot publish to a topic encrypted with
  the AWS-managed ``alias/aws/sns`` key: that key's policy cannot grant
  ``cloudwatch.amazonaws.com``), a topic policy that lets only this account's alarms
  publish and refuses non-TLS requests, and an optional e-mail subscription.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from pulumi import ComponentResource, Output, ResourceOptions

from etl_platform.infra.iam import (
    KMS_KEY_USE_ACTIONS,
    deny_insecure_transport,
    policy_document,
    statement,
)
from etl_platform.model.catalog import Catalog
from etl_platform.model.naming import access_log_group_name, log_group_name, resource_name
from etl_platform.model.settings import Settings
from etl_platform.model.tags import cost_tags

__all__ = [
    "KEY_ADMIN_ACTIONS",
    "TOPIC_ACTIONS",
    "AlarmTopic",
    "AlarmTopicArgs",
    "LogGroups",
    "LogGroupsArgs",
    "alarm_source_arn_pattern",
    "split_by_function",
]

CLOUDWATCH_PRINCIPAL = "cloudwatch.amazonaws.com"
# What CloudWatch (and, through IAM, the account) needs on the key to publish to the
# encrypted topic is etl_platform.infra.iam.KMS_KEY_USE_ACTIONS: SNS encrypts each message
# under a data key it generates for the publisher (SNS developer guide, "Key
# management": publishers need kms:GenerateDataKey and kms:Decrypt). AWS's examples
# write "kms:GenerateDataKey*"; the exact action is enough and passes the guardrail
# iam-no-wildcard-actions.
# The account (through IAM policies) administers the key: named actions, no "kms:*".
# kms:PutKeyPolicy is among them, so the key can never be locked out.
KEY_ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
# The actions a topic policy may name (those of SNS's own default topic policy).
TOPIC_ACTIONS = (
    "sns:AddPermission",
    "sns:DeleteTopic",
    "sns:GetTopicAttributes",
    "sns:ListSubscriptionsByTopic",
    "sns:Publish",
    "sns:RemovePermission",
    "sns:SetTopicAttributes",
    "sns:Subscribe",
)
KEY_DELETION_WINDOW_DAYS = 7  # the minimum: `destroy` frees the key quickly


def alarm_source_arn_pattern(
    partition: pulumi.Input[str], region: str, account_id: pulumi.Input[str], suffix: str
) -> Output[str]:
    """``arn:aws:cloudwatch:us-east-1:<account>:alarm:alarm-*-<suffix>``: this stack's alarms.

    Derived from :func:`etl_platform.model.naming.resource_name`, the same function that names
    the alarms, so the pattern cannot drift away from them (a drift would silently stop
    every notification).
    """
    return Output.format(
        "arn:{0}:cloudwatch:{1}:{2}:alarm:{3}",
        partition,
        region,
        account_id,
        resource_name("alarm", "*", suffix),
    )


# --------------------------------------------------------------------------------------------
# Log groups
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogGroupsArgs:
    """The catalog (one group per function) and the settings (suffix, retention, tags)."""

    catalog: Catalog
    settings: Settings


class LogGroups(ComponentResource):
    """One log group per catalog function, named as Lambda names it, with retention."""

    names: dict[str, Output[str]]
    arns: dict[str, Output[str]]

    def __init__(self, name: str, args: LogGroupsArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("etl:observability:LogGroups", name, None, opts)
        settings = args.settings

        def group(resource: str, spec_name: str, group_name: str) -> aws.cloudwatch.LogGroup:
            """A pre-created log group with the stack's retention and the cost tags."""
            return aws.cloudwatch.LogGroup(
                resource,
                name=group_name,
                retention_in_days=settings.log_retention_days,
                tags=cost_tags(settings, Function=spec_name),
                opts=ResourceOptions(parent=self),
            )

        self.groups: dict[str, aws.cloudwatch.LogGroup] = {
            spec.name: group(
                f"{name}-{spec.name}",
                spec.name,
                log_group_name(resource_name("lambda", spec.name, settings.suffix)),
            )
            for spec in args.catalog
        }
        self.names = {fn: g.name for fn, g in self.groups.items()}
        self.arns = {fn: g.arn for fn, g in self.groups.items()}
        # An http-api trigger's access logs: pre-created too, with the same retention.
        self.access_groups: dict[str, aws.cloudwatch.LogGroup] = {
            spec.name: group(
                f"{name}-{spec.name}-access",
                spec.name,
                access_log_group_name(resource_name("api", spec.name, settings.suffix)),
            )
            for spec in args.catalog
            if spec.trigger.type == "http-api"
        }
        self.access_arns = {fn: g.arn for fn, g in self.access_groups.items()}
        self.register_outputs(
            {"names": self.names, "arns": self.arns, "accessArns": self.access_arns}
        )


# --------------------------------------------------------------------------------------------
# The alarm topic
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlarmTopicArgs:
    """The settings (suffix, tags, optional ``alarm_email``) and where the stack runs."""

    settings: Settings
    account_id: pulumi.Input[str]
    partition: pulumi.Input[str] = "aws"


class AlarmTopic(ComponentResource):
    """``alarms-<suffix>``: KMS-encrypted, TLS-only, published to by this stack's alarms only."""

    arn: Output[str]

    def __init__(
        self, name: str, args: AlarmTopicArgs, opts: ResourceOptions | None = None
    ) -> None:
        super().__init__("etl:observability:AlarmTopic", name, None, opts)
        settings = args.settings
        topic_name = resource_name("alarms", "", settings.suffix)
        source_arn = alarm_source_arn_pattern(
            args.partition, settings.region, args.account_id, settings.suffix
        )
        child = ResourceOptions(parent=self)

        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"Encrypts the SNS topic {topic_name} (CloudWatch alarm notifications)",
            enable_key_rotation=True,
            deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
            policy=_key_policy(args.partition, args.account_id, source_arn),
            tags=cost_tags(settings),
            opts=child,
        )
        self.alias = aws.kms.Alias(
            f"{name}-key-alias",
            name=f"alias/{topic_name}",
            target_key_id=self.key.key_id,
            opts=child,
        )
        self.topic = aws.sns.Topic(
            f"{name}-topic",
            name=topic_name,
            kms_master_key_id=self.key.arn,
            tags=cost_tags(settings),
            opts=child,
        )
        self.policy = aws.sns.TopicPolicy(
            f"{name}-policy",
            arn=self.topic.arn,
            policy=_topic_policy(self.topic.arn, args.account_id, source_arn),
            opts=child,
        )
        self.subscription: aws.sns.TopicSubscription | None = None
        if settings.alarm_email:
            self.subscription = aws.sns.TopicSubscription(
                f"{name}-email",
                topic=self.topic.arn,
                protocol="email",
                endpoint=settings.alarm_email,
                opts=child,
            )
        self.arn = self.topic.arn
        self.register_outputs({"arn": self.arn, "keyArn": self.key.arn})


def _key_policy(
    partition: pulumi.Input[str], account_id: pulumi.Input[str], source_arn: Output[str]
) -> Output[str]:
    """The account administers the key; CloudWatch may use it for this account's alarms."""
    root = Output.format("arn:{0}:iam::{1}:root", partition, account_id)
    return policy_document(
        [
            statement(
                "AccountAdministersKey",
                KEY_ADMIN_ACTIONS,
                ["*"],
                principals=[("AWS", [root])],
            ),
            statement(
                # So that IAM policies in the account can allow publishing (a test message).
                "AccountMayPublishThroughIam",
                KMS_KEY_USE_ACTIONS,
                ["*"],
                principals=[("AWS", [root])],
            ),
            statement(
                "CloudWatchAlarmsUseKey",
                KMS_KEY_USE_ACTIONS,
                ["*"],
                principals=[("Service", [CLOUDWATCH_PRINCIPAL])],
                conditions=_this_accounts_alarms(account_id, source_arn),
            ),
        ]
    )


def _topic_policy(
    topic_arn: Output[str], account_id: pulumi.Input[str], source_arn: Output[str]
) -> Output[str]:
    """Only this stack's alarms (CloudWatch, this account) publish; non-TLS is refused."""
    return policy_document(
        [
            statement(
                "CloudWatchAlarmsPublish",
                ["sns:Publish"],
                [topic_arn],
                principals=[("Service", [CLOUDWATCH_PRINCIPAL])],
                conditions=_this_accounts_alarms(account_id, source_arn),
            ),
            deny_insecure_transport(TOPIC_ACTIONS, [topic_arn]),
        ]
    )


def _this_accounts_alarms(
    account_id: pulumi.Input[str], source_arn: Output[str]
) -> list[tuple[str, str, list[pulumi.Input[str]]]]:
    """Confused-deputy guard: the request comes from one of this stack's alarms."""
    return [
        ("StringEquals", "aws:SourceAccount", [account_id]),
        ("ArnLike", "aws:SourceArn", [source_arn]),
    ]


def split_by_function(values: Output[dict[str, str]], names: list[str]) -> dict[str, Output[str]]:
    """``Output[{function: value}]`` -> ``{function: Output[value]}`` (e.g. the DLQ names)."""

    def entry(fn: str) -> Output[str]:
        return values.apply(lambda mapping: mapping[fn])

    return {fn: entry(fn) for fn in names}
