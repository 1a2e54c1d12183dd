"""Rules every resource follows: names carry the suffix, cost tags, destroyable."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from etl_platform.checks.rules.model import Context, Resource, Rule
from etl_platform.checks.rules.types import BUCKET_TYPES
from etl_platform.model.naming import SCOPED_NAMES, name_property
from etl_platform.model.tags import REQUIRED_TAG_KEYS, is_taggable

__all__ = ["NAMED_TYPES", "RULES"]

# Types whose physical name the platform always sets (an unset one would be auto-named,
# without the suffix and unpredictable). Any other aws: resource with a name property
# is checked too.
NAMED_TYPES = frozenset(
    {
        "aws:lambda/function:Function",
        "aws:lambda/layerVersion:LayerVersion",
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/policy:Policy",
        "aws:sqs/queue:Queue",
        "aws:sns/topic:Topic",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:cloudwatch/dashboard:Dashboard",
        "aws:codedeploy/application:Application",
        "aws:codedeploy/deploymentGroup:DeploymentGroup",
        *BUCKET_TYPES,
    }
)


def _carries(name: str, suffix: str) -> bool:
    return re.search(rf"(^|[-/]){re.escape(suffix)}($|[-/])", name) is not None


def check_names(resources: Sequence[Resource], context: Context) -> Iterator[tuple[Resource, str]]:
    """Physical names are set and carry the environment suffix."""
    for resource in resources:
        if not resource.type.startswith("aws:"):
            continue
        key = name_property(resource.type)
        name = resource.props.get(key)
        if resource.type in NAMED_TYPES and not (isinstance(name, str) and name):
            yield (
                resource,
                f"has no explicit {key}: Pulumi would auto-name it without the environment "
                "suffix. Fix: name it with etl_platform.model.naming.resource_name(...)",
            )
            continue
        suffix = context.suffix_of(resource)
        if resource.type in SCOPED_NAMES:
            continue  # unique within its owner (a function, an API), which carries the suffix
        if isinstance(name, str) and name and suffix and not _carries(name, suffix):
            yield (
                resource,
                f"is named {name!r}, without the environment suffix {suffix!r}. Fix: "
                f"etl_platform.model.naming.resource_name(<type>, <name>, settings.suffix)",
            )


def check_cost_tags(resource: Resource, context: Context) -> Iterator[str]:
    """Taggable resources carry every cost tag, with this stack's values."""
    if not is_taggable(resource.type):
        return
    tags = resource.tags
    missing = [k for k in REQUIRED_TAG_KEYS if not tags.get(k)]
    if missing:
        yield (
            f"lacks the cost tags {missing}. Fix: tags=etl_platform.model.tags.cost_tags(settings)"
        )
    for key, expected in (
        ("Environment", context.environment),
        ("EnvironmentSuffix", context.suffix),
    ):
        value = tags.get(key)
        if expected and value and value != expected:
            yield (
                f"is tagged {key}={value!r} in stack {expected!r}. Fix: "
                "tags=etl_platform.model.tags.cost_tags(settings)"
            )


def check_destroyable(resource: Resource, context: Context) -> Iterator[str]:
    """``pulumi destroy`` removes everything: nothing protected, retained or kept."""
    if resource.protect:
        yield "is protected (protect=True): destroy would refuse. Fix: drop protect"
    if resource.retain_on_delete:
        yield (
            "is retained on delete (retain_on_delete=True): destroy would leave it in AWS. "
            "Fix: drop retain_on_delete"
        )
    if resource.props.get("skipDestroy") is True:
        yield "has skipDestroy=true: destroy would leave it in AWS. Fix: drop skip_destroy"
    if resource.type in BUCKET_TYPES and resource.props.get("forceDestroy") is not True:
        yield (
            "has forceDestroy unset: destroy fails while it holds objects. Fix: force_destroy=True"
        )


RULES: tuple[Rule, ...] = (
    Rule(
        "names-carry-suffix",
        "Every physical name is set explicitly and carries the environment suffix.",
        "stack",
        check_names,
    ),
    Rule(
        "cost-tags",
        "Every taggable resource carries the cost tags (etl_platform.model.tags.REQUIRED_TAG_KEYS) "
        "with this stack's Environment and EnvironmentSuffix.",
        "resource",
        check_cost_tags,
    ),
    Rule(
        "destroyable",
        "Nothing is protected, retained on delete or skip-destroyed; buckets force-destroy, "
        "so `destroy` removes everything.",
        "resource",
        check_destroyable,
    ),
)
