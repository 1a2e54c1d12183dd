"""The shared project's resources: the Lambda layer and one dead-letter queue per function.

- :class:`SharedLayer` publishes ``layer-etl-common-<suffix>`` from the deterministic
  layer zip (:func:`etl_platform.artifacts.packaging.build_layer_zip`), built for the configured
  Lambda runtime and architecture (never for the deploying machine), and checked
  against that target before it is published. The zip is built once, when the
  component is constructed, never inside an ``apply``; an unchanged layer has the same
  ``source_code_hash`` and so shows no diff, a changed one replaces the version
  (exactly one new version).
- :class:`DeadLetterQueues` creates ``dlq-<function>-<suffix>`` for every catalog
  function: SSE-SQS encryption, 14-day retention (the maximum, so failures can be
  examined and redriven for two weeks), and a queue policy that denies any request
  made without TLS and, for a function with an ``eventbridge`` trigger, lets that
  rule alone (``aws:SourceArn``) send the events its target could not deliver.

The permissions boundary lives in :mod:`etl_platform.infra.components.boundary`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws
from pulumi import ResourceOptions

from etl_platform.artifacts.layers import layer_dir
from etl_platform.artifacts.node_layer import build_node_layer_zip
from etl_platform.artifacts.packaging import BuiltArtifact, build_layer_zip, check_layer
from etl_platform.infra.iam import Statement, deny_insecure_transport, policy_document, statement
from etl_platform.model.naming import resource_name
from etl_platform.model.runtimes import NODEJS
from etl_platform.model.tags import cost_tags
from etl_platform.model.trigger_sources import event_bus_name, rule_arn
from etl_platform.paths import BUILD_DIR, LAYERS_DIR

if TYPE_CHECKING:
    from etl_platform.model.catalog import Catalog, FunctionSpec
    from etl_platform.model.settings import Settings

__all__ = [
    "DLQ_MESSAGE_RETENTION_SECONDS",
    "DeadLetterQueues",
    "DeadLetterQueuesArgs",
    "NodeLayer",
    "NodeLayerArgs",
    "SharedLayer",
    "SharedLayerArgs",
]

#: The service principal of an eventbridge trigger's target (its dead-letter queue).
EVENTS_SERVICE = "events.amazonaws.com"
#: 14 days, the SQS maximum: a failed event can be examined and redriven for two weeks.
DLQ_MESSAGE_RETENTION_SECONDS = 1_209_600


# ------------------------------------------------------------------------------ the layer


@dataclass(frozen=True)
class SharedLayerArgs:
    """What the layer is built from and for."""

    settings: Settings
    #: ``requirements.txt`` + the ``etl_common`` package; its folder name names the layer.
    layer_dir: Path = LAYERS_DIR / "etl-common"
    #: Where the zip is written (a stable path per python version and architecture).
    out_dir: Path = BUILD_DIR / "layers"
    #: Build cache (default ``build/cache``); a hit runs no pip and needs no network.
    cache_dir: Path | None = None


def _layer_version(
    parent: pulumi.Resource,
    name: str,
    folder: Path,
    artifact: BuiltArtifact,
    settings: Settings,
    *,
    runtimes: list[str],
    description: str,
) -> aws.lambda_.LayerVersion:
    """``layer-<folder>-<suffix>`` from a built zip: the one shape of every platform layer."""
    return aws.lambda_.LayerVersion(
        f"{name}-version",
        layer_name=resource_name("layer", folder.name, settings.suffix),
        code=pulumi.FileArchive(str(artifact.path)),
        source_code_hash=artifact.base64_sha256,
        compatible_runtimes=runtimes,
        compatible_architectures=[settings.architecture],
        description=description,
        opts=ResourceOptions(parent=parent),
    )


def layer_description(settings: Settings, artifact: BuiltArtifact) -> str:
    """Human-readable, and carries the content hash so a console user can match the zip."""
    return (
        f"etl_common and its pinned dependencies for {settings.runtime} "
        f"{settings.architecture}; zip sha256 {artifact.sha256}"
    )


class SharedLayer(pulumi.ComponentResource):
    """``layer-etl-common-<suffix>``: one layer version per distinct layer zip."""

    artifact: BuiltArtifact
    layer: aws.lambda_.LayerVersion
    arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: SharedLayerArgs, opts: ResourceOptions | None = None
    ) -> None:
        super().__init__("etl:shared:SharedLayer", name, None, opts)
        settings = args.settings
        # Built here, at construction, so preview and up see the same code and hash.
        self.artifact = build_layer_zip(
            args.layer_dir,
            args.out_dir,
            python_version=settings.python_version,
            architecture=settings.architecture,
            cache_dir=args.cache_dir,
            bytecode=True,  # pycs compiled by the runtime's Python, when it is installed here
        )
        # Never publish a layer whose wheels or extensions miss the Lambda target.
        check_layer(
            self.artifact.path,
            python_version=settings.python_version,
            architecture=settings.architecture,
        )
        self.layer = _layer_version(
            self,
            name,
            args.layer_dir,
            self.artifact,
            settings,
            runtimes=[settings.runtime],
            description=layer_description(settings, self.artifact),
        )
        self.arn = self.layer.arn
        self.register_outputs({"arn": self.arn, "sha256": self.artifact.sha256})


@dataclass(frozen=True)
class NodeLayerArgs:
    """The Node layer: built only when the catalog has a Node.js function."""

    settings: Settings
    #: The Node.js runtimes of the catalog's Node functions (the layer's compatible runtimes).
    runtimes: Sequence[str]
    #: The Node functions' ``function.toml`` files (named if node/npm is missing).
    needed_by: Sequence[Path] = ()
    #: ``package.json`` + ``package-lock.json``; its folder name names the layer.
    layer_dir: Path = field(default_factory=lambda: layer_dir(NODEJS))
    out_dir: Path = BUILD_DIR / "layers"
    cache_dir: Path | None = None


class NodeLayer(pulumi.ComponentResource):
    """``layer-etl-node-<suffix>``: ``nodejs/node_modules`` from ``npm ci --omit=dev``."""

    artifact: BuiltArtifact
    layer: aws.lambda_.LayerVersion
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: NodeLayerArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("etl:shared:NodeLayer", name, None, opts)
        settings = args.settings
        # Built at construction (never in an apply); refuses bundled SDKs, a bad lockfile
        # and native addons without a prebuilt binary for the target architecture.
        self.artifact = build_node_layer_zip(
            args.out_dir,
            architecture=settings.architecture,
            folder=args.layer_dir,
            cache_dir=args.cache_dir,
            needed_by=args.needed_by,
        )
        self.layer = _layer_version(
            self,
            name,
            args.layer_dir,
            self.artifact,
            settings,
            runtimes=sorted(args.runtimes),
            description=(
                f"nodejs/node_modules from {args.layer_dir.name}/package-lock.json for "
                f"{settings.architecture}; zip sha256 {self.artifact.sha256}"
            ),
        )
        self.arn = self.layer.arn
        self.register_outputs({"arn": self.arn, "sha256": self.artifact.sha256})


# ---------------------------------------------------------------------- dead-letter queues


@dataclass(frozen=True)
class DeadLetterQueuesArgs:
    """One queue per function name (the catalog's names)."""

    functions: Sequence[str]
    settings: Settings
    #: The catalog: an ``eventbridge`` trigger's rule may send failed events to the DLQ.
    catalog: Catalog | None = None
    #: The deploying account; default: ``aws.get_caller_identity_output()``.
    account_id: pulumi.Input[str] | None = None


class DeadLetterQueues(pulumi.ComponentResource):
    """``dlq-<function>-<suffix>`` for every function, each TLS-only and encrypted."""

    queues: dict[str, aws.sqs.Queue]
    policies: dict[str, aws.sqs.QueuePolicy]
    arns: dict[str, pulumi.Output[str]]
    urls: dict[str, pulumi.Output[str]]
    names: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: DeadLetterQueuesArgs, opts: ResourceOptions | None = None
    ) -> None:
        super().__init__("etl:shared:DeadLetterQueues", name, None, opts)
        self.queues = {}
        self.policies = {}
        rules = _eventbridge_rules(args)
        for function in args.functions:
            queue, queue_policy = self._queue(name, function, args.settings, rules.get(function))
            self.queues[function] = queue
            self.policies[function] = queue_policy
        self.arns = {fn: q.arn for fn, q in self.queues.items()}
        self.urls = {fn: q.url for fn, q in self.queues.items()}
        self.names = {fn: q.name for fn, q in self.queues.items()}
        self.register_outputs({"arns": self.arns, "urls": self.urls, "names": self.names})

    def _queue(
        self,
        name: str,
        function: str,
        settings: Settings,
        rule_arn: pulumi.Output[str] | None = None,
    ) -> tuple[aws.sqs.Queue, aws.sqs.QueuePolicy]:
        queue = aws.sqs.Queue(
            f"{name}-{function}",
            name=resource_name("dlq", function, settings.suffix),
            sqs_managed_sse_enabled=True,
            message_retention_seconds=DLQ_MESSAGE_RETENTION_SECONDS,
            tags=cost_tags(settings, Function=function),
            opts=ResourceOptions(parent=self),
        )
        queue_policy = aws.sqs.QueuePolicy(
            f"{name}-{function}-tls-only",
            queue_url=queue.url,
            policy=policy_document(
                [
                    *(
                        [_rule_sends_failed_events(queue.arn, rule_arn)]
                        if rule_arn is not None
                        else []
                    ),
                    deny_insecure_transport(["sqs:*"], [queue.arn]),
                ]
            ),
            opts=ResourceOptions(parent=self),
        )
        return queue, queue_policy


def _eventbridge_rules(args: DeadLetterQueuesArgs) -> dict[str, pulumi.Output[str]]:
    """``{function: rule ARN}`` for every function with an ``eventbridge`` trigger.

    The rules are created later, by the functions stack; their ARNs come from the names
    :mod:`etl_platform.model.trigger_sources` gives them (one home for both stacks).
    """
    if args.catalog is None:
        return {}
    specs = [spec for spec in args.catalog if spec.trigger.type == "eventbridge"]
    if not specs:
        return {}
    account: pulumi.Output[str] = (
        pulumi.Output.from_input(args.account_id).apply(str)
        if args.account_id is not None
        else aws.get_caller_identity_output().account_id
    )
    stack = pulumi.get_stack()
    for spec in specs:  # an undeclared or wrong-kind bus fails here, naming the entry
        event_bus_name(spec, args.settings, stack)

    def arn(spec: FunctionSpec) -> pulumi.Output[str]:
        return account.apply(lambda acct: rule_arn(spec, args.settings, stack, acct))

    return {spec.name: arn(spec) for spec in specs}


def _rule_sends_failed_events(
    queue_arn: pulumi.Input[str], rule_arn: pulumi.Input[str]
) -> Statement:
    """EventBridge may put an event its target could not deliver, from that rule only."""
    return statement(
        "EventBridgeRuleDeadLetters",
        ["sqs:SendMessage"],
        [queue_arn],
        principals=[("Service", [EVENTS_SERVICE])],
        conditions=[("ArnEquals", "aws:SourceArn", [rule_arn])],
    )
