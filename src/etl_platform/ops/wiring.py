"""What invokes a Lambda function, one kind of wiring per row of :data:`WIRING`.

Each row finds the wiring that targets a function, moves one piece of it to another
function and undoes that move, so ``etl-ops import`` (what triggers a legacy function)
and ``etl-ops cutover`` (move them, roll them back) share one description:

- ``s3``: bucket notification entries that target the function (ListBuckets,
  GetBucketLocation, GetBucketNotificationConfiguration; buckets of this region).
  Moved by rewriting that bucket's configuration, only those entries (the others
  untouched), after AddPermission on the new function; undone by putting the entries
  back and RemovePermission.
- ``event-source-mapping`` (ListEventSourceMappings). SQS: disable the old mapping,
  then create (or enable) the new one, so no message goes to both; streams: create the
  new one at LATEST, then disable the old (an overlap of a few records, never a gap).
  Undone by deleting the mapping it created (or restoring its state) and restoring the
  old one's ``Enabled``.
- ``sns``: lambda subscriptions (ListSubscriptions). AddPermission, Subscribe the new
  function with the old subscription's attributes, then Unsubscribe the old; undone by
  subscribing the old endpoint with the recorded attributes (a new SubscriptionArn),
  Unsubscribe the new, RemovePermission.
- ``eventbridge``: rule targets (ListEventBuses, ListRuleNamesByTarget,
  ListTargetsByRule). AddPermission, PutTargets with the same target Id pointing at the
  new function; undone by PutTargets with the recorded target and RemovePermission.
- ``invoke-permission``: the resource policy's other principals (GetPolicy).
  AddPermission on the new function for the same principal and source; the caller
  itself must be re-pointed by hand. Undone by RemovePermission.

A moved piece is a :class:`Change`: JSON-serialisable, enough to undo it exactly.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from etl_platform.model.deployment import LIVE_ALIAS
from etl_platform.ops.account import error_code, pages

__all__ = [
    "WIRING",
    "Change",
    "Wire",
    "WiringKind",
    "find_wiring",
    "function_policy",
]

# Principals whose permissions the rows above re-create themselves.
_MOVED_PRINCIPALS = {"s3.amazonaws.com", "sns.amazonaws.com", "events.amazonaws.com"}
# Event source mapping settings carried from the old mapping to the new one.
_ESM_SETTINGS = (
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "FilterCriteria",
    "FunctionResponseTypes",
    "ScalingConfig",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
    "ParallelizationFactor",
    "DestinationConfig",
    "TumblingWindowInSeconds",
)
# SNS subscription attributes a new subscription takes over.
_SNS_ATTRIBUTES = ("FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy")


@dataclass(frozen=True)
class Wire:
    """One piece of wiring that invokes a function: its kind, source and settings."""

    kind: str
    source: str  # the bucket, queue/stream, topic, rule or principal ARN
    detail: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return WIRING[self.kind].describe(self)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "source": self.source, "detail": self.detail}


@dataclass
class Change:
    """One move of one wire: what it was, what was done, enough to undo it."""

    kind: str
    source: str
    before: dict[str, Any]
    after: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "before": self.before,
            "after": self.after,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Change:
        return cls(str(raw["kind"]), str(raw["source"]), dict(raw["before"]), dict(raw["after"]))


def function_policy(lam: Any, function: str) -> list[dict[str, Any]]:
    """The statements of a function's resource policy ([] when it has none)."""
    try:
        policy = lam.get_policy(FunctionName=function)["Policy"]
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return []
        raise
    statements = json.loads(policy).get("Statement", [])
    return list(statements) if isinstance(statements, list) else [statements]


def _principal(statement: Mapping[str, Any]) -> str:
    principal = statement.get("Principal", "")
    if isinstance(principal, Mapping):
        value = principal.get("Service") or principal.get("AWS") or ""
        return str(value[0] if isinstance(value, list) else value)
    return str(principal)


def _source_arn(statement: Mapping[str, Any]) -> str:
    for test in ("ArnLike", "ArnEquals"):
        value = (statement.get("Condition") or {}).get(test, {}).get("AWS:SourceArn")
        if value:
            return str(value)
    return ""


def _qualified(function: str) -> dict[str, str]:
    """``FunctionName`` (and ``Qualifier``, for an alias's ARN ``...:function:<name>:<alias>``)
    of a permission call: a grant on an alias is a statement of the alias's own policy."""
    parts = function.split(":")
    if len(parts) == 8 and parts[5] == "function":
        return {"FunctionName": ":".join(parts[:7]), "Qualifier": parts[7]}
    return {"FunctionName": function}


def _grant(lam: Any, function: str, principal: str, source_arn: str, sid: str) -> dict[str, Any]:
    """Let ``principal`` (from ``source_arn``) invoke ``function``; the statement id."""
    kwargs: dict[str, Any] = {
        **_qualified(function),
        "StatementId": sid,
        "Action": "lambda:InvokeFunction",
        "Principal": principal,
    }
    if source_arn:
        kwargs["SourceArn"] = source_arn
    try:
        lam.add_permission(**kwargs)
    except Exception as exc:
        if error_code(exc) != "ResourceConflictException":  # already there: keep it
            raise
        return {"statement": sid, "added": False}
    return {"statement": sid, "added": True}


def _revoke(lam: Any, function: str, grant: Mapping[str, Any]) -> None:
    if grant.get("added"):
        try:
            lam.remove_permission(**_qualified(function), StatementId=grant["statement"])
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise


@contextmanager
def _revoked_on_failure(lam: Any, function: str, grant: Mapping[str, Any]) -> Iterator[None]:
    """A move that fails after granting takes its grant back before the error goes on."""
    try:
        yield
    except Exception:
        _revoke(lam, function, grant)
        raise


def _sid(kind: str, source: str) -> str:
    tail = "".join(c if c.isalnum() else "-" for c in source.rsplit(":", 1)[-1])[-60:]
    return f"etl-cutover-{kind}-{tail}"[:100]


def _targets(arn: str, function_arn: str) -> bool:
    """Whether ``arn`` (maybe qualified with a version or alias) is the function."""
    return arn == function_arn or arn.startswith(function_arn + ":")


# ------------------------------------------------------------------------------- s3


def _s3_find(session: Any, function_arn: str) -> list[Wire]:
    s3 = session.client("s3")
    region = s3.meta.region_name
    wires = []
    for bucket in s3.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        location = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
        if location != region:
            continue  # S3 notifies only functions in the bucket's own region
        config = s3.get_bucket_notification_configuration(Bucket=name)
        for entry in config.get("LambdaFunctionConfigurations", []):
            if _targets(entry["LambdaFunctionArn"], function_arn):
                detail = {k: v for k, v in entry.items() if k != "LambdaFunctionArn"}
                wires.append(Wire("s3", f"arn:aws:s3:::{name}", detail))
    return wires


def _s3_config(s3: Any, bucket: str) -> dict[str, Any]:
    config = s3.get_bucket_notification_configuration(Bucket=bucket)
    keep = (
        "TopicConfigurations",
        "QueueConfigurations",
        "LambdaFunctionConfigurations",
        "EventBridgeConfiguration",
    )
    return {k: config[k] for k in keep if k in config}


def _s3_point(session: Any, wire: Wire, old_arn: str, new_arn: str) -> None:
    s3 = session.client("s3")
    bucket = wire.source.rsplit(":", 1)[-1]
    config = _s3_config(s3, bucket)
    for entry in config.get("LambdaFunctionConfigurations", []):
        if entry.get("Id") == wire.detail.get("Id") and _targets(
            entry["LambdaFunctionArn"], old_arn
        ):
            entry["LambdaFunctionArn"] = new_arn
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)


def _s3_move(session: Any, wire: Wire, old_arn: str, new_arn: str) -> Change:
    lam = session.client("lambda")
    grant = _grant(lam, new_arn, "s3.amazonaws.com", wire.source, _sid("s3", wire.source))
    change = Change("s3", wire.source, {"entry": wire.detail, "function": old_arn})
    change.after = {"function": new_arn, "grant": grant}
    with _revoked_on_failure(lam, new_arn, grant):
        _s3_point(session, wire, old_arn, new_arn)
    return change


def _s3_undo(session: Any, change: Change) -> None:
    wire = Wire("s3", change.source, change.before["entry"])
    _s3_point(session, wire, change.after["function"], change.before["function"])
    _revoke(session.client("lambda"), change.after["function"], change.after["grant"])


def _s3_describe(wire: Wire) -> str:
    rules = wire.detail.get("Filter", {}).get("Key", {}).get("FilterRules", [])
    keys = " ".join(f"{r['Name'].lower()}={r['Value']}" for r in rules)
    events = ",".join(wire.detail.get("Events", []))
    return f"S3 notification {wire.detail.get('Id', '?')} on {wire.source} ({events} {keys})"


# ------------------------------------------------------------- event source mappings


def _esm_find(session: Any, function_arn: str) -> list[Wire]:
    lam = session.client("lambda")
    wires = []
    for mapping in pages(lam, "list_event_source_mappings", "EventSourceMappings"):
        if _targets(mapping.get("FunctionArn", ""), function_arn):
            detail = {k: mapping[k] for k in _ESM_SETTINGS if k in mapping}
            detail["UUID"] = mapping["UUID"]
            detail["State"] = mapping.get("State", "")
            if "StartingPosition" in mapping:
                detail["StartingPosition"] = mapping["StartingPosition"]
            wires.append(Wire("event-source-mapping", mapping["EventSourceArn"], detail))
    return wires


def _is_queue(arn: str) -> bool:
    return arn.split(":")[2:3] == ["sqs"]


def _enabled(state: str) -> bool:
    return state in ("Enabled", "Enabling", "Updating", "Creating")


def _esm_move(session: Any, wire: Wire, old_arn: str, new_arn: str) -> Change:
    lam = session.client("lambda")
    old_uuid = wire.detail["UUID"]
    change = Change("event-source-mapping", wire.source, {"uuid": old_uuid, **wire.detail})
    existing = [
        m
        for m in pages(lam, "list_event_source_mappings", "EventSourceMappings")
        if m["EventSourceArn"] == wire.source and _targets(m.get("FunctionArn", ""), new_arn)
    ]

    def start_new() -> None:
        if existing:  # the deploy made it: enable it, remember how it was
            mapping = existing[0]
            change.after = {"uuid": mapping["UUID"], "created": False, "state": mapping["State"]}
            lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=True)
            return
        settings = {k: wire.detail[k] for k in _ESM_SETTINGS if k in wire.detail}
        if not _is_queue(wire.source):
            settings["StartingPosition"] = "LATEST"
        created = lam.create_event_source_mapping(
            EventSourceArn=wire.source, FunctionName=new_arn, Enabled=True, **settings
        )
        change.after = {"uuid": created["UUID"], "created": True}

    if _is_queue(wire.source):  # a queue: stop the old poller first, never both at once
        lam.update_event_source_mapping(UUID=old_uuid, Enabled=False)
        try:
            start_new()
        except Exception:
            lam.update_event_source_mapping(UUID=old_uuid, Enabled=_enabled(wire.detail["State"]))
            raise
    else:  # a stream: start the new reader first, never a gap
        start_new()
        try:
            lam.update_event_source_mapping(UUID=old_uuid, Enabled=False)
        except Exception:
            _esm_undo(session, change)
            raise
    return change


def _esm_undo(session: Any, change: Change) -> None:
    lam = session.client("lambda")
    after = change.after
    if after.get("created"):
        lam.delete_event_source_mapping(UUID=after["uuid"])
    elif after:
        lam.update_event_source_mapping(UUID=after["uuid"], Enabled=_enabled(after["state"]))
    lam.update_event_source_mapping(
        UUID=change.before["uuid"], Enabled=_enabled(change.before["State"])
    )


def _esm_describe(wire: Wire) -> str:
    batch = wire.detail.get("BatchSize")
    return f"event source mapping {wire.detail['UUID']} from {wire.source} (batch {batch})"


# ------------------------------------------------------------------------------ sns


def _sns_find(session: Any, function_arn: str) -> list[Wire]:
    sns = session.client("sns")
    wires = []
    for sub in pages(sns, "list_subscriptions", "Subscriptions"):
        if sub.get("Protocol") == "lambda" and _targets(sub.get("Endpoint", ""), function_arn):
            attributes = sns.get_subscription_attributes(SubscriptionArn=sub["SubscriptionArn"])
            kept = {
                k: v
                for k, v in attributes.get("Attributes", {}).items()
                if k in _SNS_ATTRIBUTES and v not in ("", None)
            }
            detail = {"SubscriptionArn": sub["SubscriptionArn"], "Attributes": kept}
            wires.append(Wire("sns", sub["TopicArn"], detail))
    return wires


def _subscribe(sns: Any, topic: str, endpoint: str, attributes: Mapping[str, str]) -> str:
    arn = sns.subscribe(
        TopicArn=topic,
        Protocol="lambda",
        Endpoint=endpoint,
        Attributes=dict(attributes),
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return str(arn)


def _sns_move(session: Any, wire: Wire, old_arn: str, new_arn: str) -> Change:
    sns = session.client("sns")
    lam = session.client("lambda")
    grant = _grant(lam, new_arn, "sns.amazonaws.com", wire.source, _sid("sns", wire.source))
    change = Change("sns", wire.source, {"function": old_arn, **wire.detail})
    with _revoked_on_failure(lam, new_arn, grant):
        new_sub = _subscribe(sns, wire.source, new_arn, wire.detail["Attributes"])
    change.after = {"function": new_arn, "SubscriptionArn": new_sub, "grant": grant}
    try:
        sns.unsubscribe(SubscriptionArn=wire.detail["SubscriptionArn"])
    except Exception:
        _sns_undo_new(session, change)
        raise
    return change


def _sns_undo_new(session: Any, change: Change) -> None:
    session.client("sns").unsubscribe(SubscriptionArn=change.after["SubscriptionArn"])
    _revoke(session.client("lambda"), change.after["function"], change.after["grant"])


def _sns_undo(session: Any, change: Change) -> None:
    sns = session.client("sns")
    _subscribe(sns, change.source, change.before["function"], change.before["Attributes"])
    _sns_undo_new(session, change)


def _sns_describe(wire: Wire) -> str:
    policy = wire.detail["Attributes"].get("FilterPolicy")
    return f"SNS subscription to {wire.source}" + (f" (filter {policy})" if policy else "")


# ---------------------------------------------------------------------- eventbridge


def _events_find(session: Any, function_arn: str) -> list[Wire]:
    events = session.client("events")
    wires = []
    buses = [b["Name"] for b in events.list_event_buses().get("EventBuses", [])] or ["default"]
    for bus in buses:
        # A target names the function or one of its aliases (a catalog function's is
        # `live`), and ListRuleNamesByTarget matches the ARN exactly: ask for both.
        names = {
            name
            for arn in (function_arn, f"{function_arn}:{LIVE_ALIAS}")
            for name in events.list_rule_names_by_target(TargetArn=arn, EventBusName=bus).get(
                "RuleNames", []
            )
        }
        for rule_name in sorted(names):
            rule = events.describe_rule(Name=rule_name, EventBusName=bus)
            for target in events.list_targets_by_rule(Rule=rule_name, EventBusName=bus)["Targets"]:
                if _targets(target["Arn"], function_arn):
                    detail = {
                        "Bus": bus,
                        "Rule": rule_name,
                        "Target": target,
                        "ScheduleExpression": rule.get("ScheduleExpression", ""),
                        "EventPattern": rule.get("EventPattern", ""),
                    }
                    wires.append(Wire("eventbridge", rule["Arn"], detail))
    return wires


def _put_target(session: Any, detail: Mapping[str, Any], target: Mapping[str, Any]) -> None:
    result = session.client("events").put_targets(
        Rule=detail["Rule"], EventBusName=detail["Bus"], Targets=[dict(target)]
    )
    if result.get("FailedEntryCount"):
        raise RuntimeError(f"PutTargets on rule {detail['Rule']}: {result['FailedEntries']}")


def _events_move(session: Any, wire: Wire, old_arn: str, new_arn: str) -> Change:
    lam = session.client("lambda")
    grant = _grant(lam, new_arn, "events.amazonaws.com", wire.source, _sid("events", wire.source))
    change = Change("eventbridge", wire.source, {"function": old_arn, **wire.detail})
    change.after = {"function": new_arn, "grant": grant}
    with _revoked_on_failure(lam, new_arn, grant):
        _put_target(session, wire.detail, {**wire.detail["Target"], "Arn": new_arn})
    return change


def _events_undo(session: Any, change: Change) -> None:
    _put_target(session, change.before, change.before["Target"])
    _revoke(session.client("lambda"), change.after["function"], change.after["grant"])


def _events_describe(wire: Wire) -> str:
    what = wire.detail.get("ScheduleExpression") or wire.detail.get("EventPattern") or "?"
    return f"EventBridge rule {wire.detail['Rule']} on bus {wire.detail['Bus']} ({what})"


# -------------------------------------------------------------- invoke permissions


def _invoke_find(session: Any, function_arn: str) -> list[Wire]:
    wires = []
    for statement in function_policy(session.client("lambda"), function_arn):
        principal = _principal(statement)
        if principal in _MOVED_PRINCIPALS:
            continue
        detail = {"Sid": statement.get("Sid", ""), "Principal": principal}
        wires.append(Wire("invoke-permission", _source_arn(statement) or principal, detail))
    return wires


def _invoke_move(session: Any, wire: Wire, old_arn: str, new_arn: str) -> Change:
    source = "" if wire.source == wire.detail["Principal"] else wire.source
    grant = _grant(
        session.client("lambda"),
        new_arn,
        wire.detail["Principal"],
        source,
        _sid("invoke", wire.source),
    )
    return Change(
        "invoke-permission",
        wire.source,
        {"function": old_arn, **wire.detail},
        {"function": new_arn, "grant": grant},
    )


def _invoke_undo(session: Any, change: Change) -> None:
    _revoke(session.client("lambda"), change.after["function"], change.after["grant"])


def _invoke_describe(wire: Wire) -> str:
    return f"invoke permission for {wire.detail['Principal']} (source {wire.source})"


# --------------------------------------------------------------------------- table


@dataclass(frozen=True)
class WiringKind:
    """One kind of wiring: how it is found, moved, undone and described; what it leaves
    to do by hand after a move."""

    find: Callable[[Any, str], list[Wire]]
    move: Callable[[Any, Wire, str, str], Change]
    undo: Callable[[Any, Change], None]
    describe: Callable[[Wire], str]
    by_hand: str = ""


WIRING: dict[str, WiringKind] = {
    "s3": WiringKind(_s3_find, _s3_move, _s3_undo, _s3_describe),
    "event-source-mapping": WiringKind(_esm_find, _esm_move, _esm_undo, _esm_describe),
    "sns": WiringKind(_sns_find, _sns_move, _sns_undo, _sns_describe),
    "eventbridge": WiringKind(_events_find, _events_move, _events_undo, _events_describe),
    "invoke-permission": WiringKind(
        _invoke_find,
        _invoke_move,
        _invoke_undo,
        _invoke_describe,
        by_hand="the caller still invokes the legacy function's ARN: point it at the new "
        "function (API Gateway integration, another account's code) and back on rollback",
    ),
}


def find_wiring(session: Any, function_arn: str) -> list[Wire]:
    """Everything that invokes ``function_arn``, kind by kind in :data:`WIRING` order."""
    return [wire for kind in WIRING.values() for wire in kind.find(session, function_arn)]
