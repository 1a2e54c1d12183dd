"""The vocabulary every rule speaks: a resource, the context, a rule, a violation.

A rule sees what both the offline plan (:class:`etl_platform.checks.planned.PlannedResource`)
and a Pulumi policy pack (``ResourceValidationArgs`` / ``PolicyResource``) give: the
resource's type token and its camelCase properties, plus its logical name, URN and,
where known, the ``protect`` / ``retainOnDelete`` options. Rules are plain functions,
so the same code runs in tests, in ``nox -s plan`` and in the CrossGuard pack.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from etl_platform.model.naming import physical_name

if TYPE_CHECKING:
    from etl_platform.checks.planned import PlannedResource
    from etl_platform.model.catalog import Catalog, FunctionSpec

__all__ = [
    "Context",
    "Resource",
    "ResourceCheck",
    "Rule",
    "StackCheck",
    "Violation",
    "is_sequence",
    "lookup",
    "parse_policy",
    "plain",
    "statements",
]


@dataclass(frozen=True)
class Resource:
    """One resource as a rule sees it.

    ``protect`` / ``retain_on_delete`` are ``None`` when the caller cannot know them
    (a policy pack is not told about ``retainOnDelete``).
    """

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""
    protect: bool | None = None
    retain_on_delete: bool | None = None

    @classmethod
    def from_planned(cls, planned: PlannedResource) -> Resource:
        """From an offline plan: inputs and computed outputs, options as registered."""
        return cls(
            type=planned.type,
            name=planned.name,
            props=planned.props,
            urn=planned.urn,
            protect=planned.protect,
            retain_on_delete=planned.retain_on_delete,
        )

    @property
    def physical_name(self) -> str:
        """The AWS name (``lambda-transform-dev``) when the resource has one, else logical."""
        return physical_name(self.type, self.props) or self.name

    @property
    def label(self) -> str:
        """How messages name the resource: ``aws:lambda/function:Function 'lambda-x-dev'``."""
        return f"{self.type} '{self.physical_name}'"

    @property
    def tags(self) -> Mapping[str, Any]:
        tags = self.props.get("tags")
        return tags if isinstance(tags, Mapping) else {}

    def known_tag(self, key: str) -> str | None:
        """A tag's value, or None when absent or not known yet.

        A policy pack raises ``UnknownValueError`` for a value that is only known after
        deployment; deriving the context must not fail on that, so it is treated as absent.
        """
        try:
            value = self.tags.get(key)
        except Exception:  # pulumi_policy's UnknownValueError (not imported here)
            return None
        return value if isinstance(value, str) and value else None

    def get(self, path: str) -> Any:
        """A nested property by dotted path (``tracingConfig.mode``); None when absent."""
        return lookup(self.props, path)


@dataclass(frozen=True)
class Violation:
    """One broken rule on one resource; ``message`` names the resource, the problem, the fix."""

    rule_id: str
    resource_type: str
    resource_name: str
    message: str
    urn: str = ""

    def __str__(self) -> str:
        return f"[{self.rule_id}] {self.message}"


@dataclass(frozen=True)
class Context:
    """What a rule may need beyond the resources.

    ``environment`` (``dev``/``prod``) and ``suffix`` come from the stack's settings in
    the plan; in the policy pack they are read from the resources' cost tags
    (``Environment``/``EnvironmentSuffix``), see :meth:`completed_from`.
    ``whole_platform`` is True when the resources are all three stacks together (the
    plan), so cross-stack rules (a function's log group lives in another stack) apply.
    """

    environment: str | None = None
    suffix: str | None = None
    catalog: Catalog | None = None
    today: dt.date | None = None
    whole_platform: bool = False
    _loaded: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def function_catalog(self) -> Catalog:
        """The catalog given, else ``lambdas/*/function.toml`` (loaded once)."""
        if self.catalog is not None:
            return self.catalog
        if "catalog" not in self._loaded:
            from etl_platform.model.catalog import load_catalog

            self._loaded["catalog"] = load_catalog()
        catalog: Catalog = self._loaded["catalog"]
        return catalog

    def environment_of(self, resource: Resource) -> str | None:
        """The resource's ``Environment`` tag, else the context's environment."""
        return resource.known_tag("Environment") or self.environment

    def suffix_of(self, resource: Resource) -> str | None:
        """The context's suffix, else the resource's ``EnvironmentSuffix`` tag."""
        return self.suffix or resource.known_tag("EnvironmentSuffix")

    def completed_from(self, resources: Iterable[Resource]) -> Context:
        """Fill a missing environment/suffix with the most common tag values of ``resources``."""
        if self.environment and self.suffix:
            return self
        envs: Counter[str] = Counter()
        suffixes: Counter[str] = Counter()
        for resource in resources:
            env, suffix = resource.known_tag("Environment"), resource.known_tag("EnvironmentSuffix")
            if env:
                envs[env] += 1
            if suffix:
                suffixes[suffix] += 1
        return replace(
            self,
            environment=self.environment or (envs.most_common(1)[0][0] if envs else None),
            suffix=self.suffix or (suffixes.most_common(1)[0][0] if suffixes else None),
        )

    def function_for(self, resource: Resource) -> FunctionSpec | None:
        """The catalog entry of a Lambda function resource named ``lambda-<fn>-<suffix>``."""
        name = resource.physical_name
        suffix = self.suffix_of(resource)
        best: FunctionSpec | None = None
        for spec in self.function_catalog():
            if suffix is not None:
                if name == f"lambda-{spec.name}-{suffix}":
                    return spec
            elif name.startswith(f"lambda-{spec.name}-") and (
                best is None or len(spec.name) > len(best.name)
            ):
                best = spec
        return best


# A per-resource check returns problem texts ("what is wrong. Fix: how"); the framework
# prefixes each with the resource's label. A set-wide check returns (resource, text) pairs.
ResourceCheck = Callable[[Resource, Context], Iterable[str]]
StackCheck = Callable[[Sequence[Resource], Context], Iterable[tuple[Resource, str]]]


@dataclass(frozen=True)
class Rule:
    """One guardrail: an id, a one-line description, and its check.

    ``scope`` is ``resource`` (the check sees one resource of ``types``; every type when
    ``types`` is empty) or ``stack`` (the check sees the whole set). ``whole_platform``
    rules need all three stacks at once and are skipped otherwise.
    """

    id: str
    description: str
    scope: Literal["resource", "stack"]
    check: ResourceCheck | StackCheck
    types: frozenset[str] = frozenset()
    whole_platform: bool = False

    def applies_to(self, resource_type: str) -> bool:
        return not self.types or resource_type in self.types

    def run(self, resources: Sequence[Resource], context: Context) -> list[Violation]:
        """Every violation of this rule among ``resources``."""
        if self.whole_platform and not context.whole_platform:
            return []
        found: list[tuple[Resource, str]] = []
        if self.scope == "resource":
            check_one: ResourceCheck = self.check  # type: ignore[assignment]
            for resource in resources:
                if self.applies_to(resource.type):
                    found += [(resource, p) for p in check_one(resource, context)]
        else:
            check_all: StackCheck = self.check  # type: ignore[assignment]
            found = list(check_all(resources, context))
        return [
            Violation(self.id, r.type, r.physical_name, f"{r.label}: {problem}", r.urn)
            for r, problem in found
        ]


def lookup(props: Mapping[str, Any], path: str) -> Any:
    """``lookup({"a": {"b": 1}}, "a.b") == 1``; None when any step is missing."""
    value: Any = props
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def is_sequence(value: Any) -> bool:
    """A list-like property value (a list, or a policy pack's list proxy), not a string."""
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def plain(value: Any) -> Any:
    """Deep copy of Mapping/Sequence values into dicts and lists (policy-pack proxies too)."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if is_sequence(value):
        return [plain(v) for v in value]
    return value


def parse_policy(document: Any) -> dict[str, Any] | None:
    """A policy document (JSON text or already a mapping) as a dict; None when unparsable."""
    if isinstance(document, Mapping):
        parsed_mapping: dict[str, Any] = plain(document)
        return parsed_mapping
    if not isinstance(document, str) or not document.strip():
        return None
    try:
        parsed = json.loads(document)
    except json.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The statements of a parsed document, with Action/Resource/NotAction always lists."""
    result = []
    for raw in _as_list(document.get("Statement")):
        if not isinstance(raw, Mapping):
            continue
        statement = dict(raw)
        for key in ("Action", "NotAction", "Resource", "NotResource"):
            if key in statement:
                statement[key] = _as_list(statement[key])
        result.append(statement)
    return result
