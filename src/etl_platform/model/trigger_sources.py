"""What a function's trigger consumes in one stack: its ``etl:resources`` entry, checked.

The catalog checks a trigger's keys alone (:data:`etl_platform.model.catalog.TRIGGER_TYPES`);
which queue, stream, topic, bus or API a name stands for differs per stack, so it is
resolved here, against the stack's settings, when a program plans. A name the stack
does not declare, a resource of the wrong kind, a FIFO queue with a batching window,
and a function that writes what triggers it (a loop) fail naming the function's file,
the key, the name and the stack.

Also the one home of the names the shared stack needs before the functions stack
exists (an EventBridge trigger's rule ARN, for its DLQ's queue policy).
"""

from __future__ import annotations

from etl_platform.errors import CatalogError
from etl_platform.model.catalog import INVOKE_PRINCIPALS, TRIGGER_TYPES, FunctionSpec
from etl_platform.model.naming import resource_name
from etl_platform.model.needs import split_reference
from etl_platform.model.resources import Resource, kind_label
from etl_platform.model.settings import RESOURCES_KEY, Settings

__all__ = [
    "DEFAULT_BUS",
    "event_bus_name",
    "invoke_source_arn",
    "rule_arn",
    "rule_name",
    "trigger_source",
    "writes_of",
]

#: The bus an ``eventbridge`` trigger without ``bus`` listens on.
DEFAULT_BUS = "default"

#: Source kind -> the need whose writes reach a source of that kind (a table's writes
#: reach its stream). A function triggered by what it writes invokes itself with every
#: write.
_LOOPING_NEEDS: dict[tuple[str, str], str] = {
    ("sqs", "queue"): "sqs_send",
    ("sns", "topic"): "sns_publish",
    ("dynamodb", "stream"): "dynamodb_write",
}


def writes_of(spec: FunctionSpec, key: str) -> tuple[str, ...]:
    """The ``etl:resources`` names a function writes through the need ``key``."""
    return tuple(split_reference(value)[0] for value in spec.need(key))


def trigger_source(spec: FunctionSpec, settings: Settings, stack: str) -> Resource | None:
    """The resource ``spec``'s trigger consumes in stack ``stack``, or None (it names none).

    Raises :class:`CatalogError` (the entry's file, ``trigger.<key>``) when the stack
    does not declare the name, the resource is of another kind, or the function would
    trigger itself.
    """
    trigger = spec.trigger
    trigger_type = TRIGGER_TYPES[trigger.type]
    name = trigger.source
    if trigger_type.source_key is None or name is None:
        return None
    key = f"trigger.{trigger_type.source_key}"
    declared = dict(settings.resources)
    if name not in declared:
        raise CatalogError(
            spec.source,
            key,
            f"function {spec.name!r} is triggered by {name!r}, which stack {stack!r} does not "
            f"declare in {RESOURCES_KEY} (declared: {', '.join(declared) or 'none'}). Fix: "
            f"pulumi config set --path '{RESOURCES_KEY}.{name}' <its ARN> --stack {stack} (in "
            "every project)",
        )
    resource = settings.resource(name)
    kinds = trigger_type.source_kinds
    if trigger.type == "invoke":
        kinds = INVOKE_PRINCIPALS[trigger.option("principal")][0]
    if resource.resource_kind not in kinds:
        wanted = " or ".join(kind_label(k) for k in kinds)
        raise CatalogError(
            spec.source,
            key,
            f"function {spec.name!r}: {name!r} is the {resource.label} {resource.arn} in stack "
            f"{stack!r}, but a {trigger.type} trigger needs a {wanted}. Fix: name a {wanted} "
            f"declared in {RESOURCES_KEY}",
        )
    fifo = trigger.type == "sqs" and resource.resource_id.endswith(".fifo")
    if fifo and (trigger.option("batching_window_seconds") or trigger.option("batch_size") > 10):
        raise CatalogError(
            spec.source,
            "trigger.batching_window_seconds",
            f"function {spec.name!r}: {name!r} is a FIFO queue, which Lambda reads in batches "
            "of at most 10 and without a batching window. Fix: batch_size <= 10 and no "
            "batching_window_seconds",
        )
    need = _LOOPING_NEEDS.get(resource.resource_kind)
    if need is not None:
        for written in writes_of(spec, need):
            if _same_resource(settings, written, resource):
                raise CatalogError(
                    spec.source,
                    f"needs.{need}",
                    f"function {spec.name!r} writes {written!r} ({need}) and is triggered by "
                    f"{name!r}: each write would invoke it again (a recursive loop). Fix: "
                    "write somewhere else, or trigger it from another source",
                )
    return resource


def _same_resource(settings: Settings, written: str, source: Resource) -> bool:
    """Whether writing ``written`` reaches ``source`` (a table reaches its own stream)."""
    if written not in dict(settings.resources):
        return False  # reported by the needs' own check (resolve_needs)
    target = settings.resource(written)
    if source.resource_kind == ("dynamodb", "stream"):
        return source.arn.startswith(target.arn + "/stream/")
    return target.arn == source.arn


def event_bus_name(spec: FunctionSpec, settings: Settings, stack: str) -> str:
    """The bus an ``eventbridge`` trigger's rule is on: its ``bus``, else the default bus."""
    source = trigger_source(spec, settings, stack)
    return source.resource_id if source is not None else DEFAULT_BUS


def rule_name(spec: FunctionSpec, settings: Settings) -> str:
    """``rule-<function>-<suffix>``: an ``eventbridge`` trigger's rule."""
    return resource_name("rule", spec.name, settings.suffix)


def rule_arn(spec: FunctionSpec, settings: Settings, stack: str, account_id: str) -> str:
    """The ARN the rule of an ``eventbridge`` trigger will have (on its bus).

    The shared stack's DLQ policy needs it before the functions stack creates the rule;
    the rule is named by :func:`rule_name`, so the two cannot drift apart.
    """
    bus = event_bus_name(spec, settings, stack)
    path = rule_name(spec, settings) if bus == DEFAULT_BUS else f"{bus}/{rule_name(spec, settings)}"
    return f"arn:aws:events:{settings.region}:{account_id}:rule/{path}"


def invoke_source_arn(resource: Resource) -> str:
    """The ``SourceArn`` of an ``invoke`` permission for ``resource``.

    An API Gateway API named by its id alone stands for every stage, method and path
    (``<arn>/*``); a log group's ARN covers its streams (``:*``, as CloudWatch Logs sends it).
    """
    api_id_only = "/" not in resource.arn.rsplit(":", 1)[1]
    if resource.resource_kind == ("execute-api", "api") and api_id_only:
        return f"{resource.arn}/*"
    if resource.resource_kind == ("logs", "log-group") and not resource.arn.endswith(":*"):
        return f"{resource.arn}:*"
    return resource.arn
