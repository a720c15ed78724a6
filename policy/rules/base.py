"""The rule engine: resource types, `ResourceView`, `Rule`, the registry `RULES`, `evaluate`.

Every rule module registers into `RULES` with `@rule` / `@resource_rule` when imported; the package
`isolated_mlops.policy.rules` imports them in a fixed order (that order is docs/policy.md's table).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence

# Resource types, the Bastion subnet, what "the internet" is in an NSG rule, which types hold state and
# which input carries a resource's Azure name: Azure facts, defined once in the package's catalogue.
# (Stack policies see outputs, where the name comes back as `name` instead: see `physical_name`.)
from isolated_mlops.components.catalogue import (  # noqa: F401
    ACTION_GROUP, APP_INSIGHTS, AZURE_MANAGED_SUBNETS, BASTION, BASTION_SUBNET_NAME, COMPUTE,
    DATA_COLLECTION_ENDPOINT, DIAGNOSTIC_SETTING, IDENTITY, INTERNET_SOURCES, KEY_VAULT, KEY_VAULT_SECRET,
    LOG_ANALYTICS, LOG_TABLE, METRIC_ALERT, ML_REGISTRY, NAME_INPUTS, NAT_GATEWAY, NIC, NSG, PEERING,
    PRIVATE_ENDPOINT, PRIVATE_LINK_SCOPE, PRIVATE_ZONE, PUBLIC_IP, REGISTRY, RESOURCE_GROUP, ROLE_ASSIGNMENT,
    SCHEDULED_QUERY_RULE, SCOPED_RESOURCE, SECURITY_RULE, STATEFUL_TYPES, STORAGE, SUBNET, VM, VM_EXTENSION, VNET,
    WORKSPACE, ZONE_GROUP, ZONE_LINK,
)
from isolated_mlops.components.catalogue import BASTION_SUBNET_MAX_PREFIX as BASTION_MAX_PREFIX  # noqa: F401

# The admin ports an NSG must not open to the internet (SSH, RDP):
# https://learn.microsoft.com/azure/security/fundamentals/network-best-practices
ADMIN_PORTS = (22, 3389)


class Unknown:
    """A value that is not known yet: during a preview, an input computed from an output."""

    _instance: Optional["Unknown"] = None

    def __new__(cls) -> "Unknown":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown>"

    # One instance only, also through copy.deepcopy (tests copy props to break them).
    def __copy__(self) -> "Unknown":
        return self

    def __deepcopy__(self, memo: dict) -> "Unknown":
        return self


UNKNOWN = Unknown()


def lookup(value: Any, path: str, default: Any = None) -> Any:
    """`lookup(props, "properties.networkAcls.defaultAction")`; UNKNOWN if an enclosing value is."""
    for part in path.split("."):
        if value is UNKNOWN:
            return UNKNOWN
        if not isinstance(value, Mapping) or part not in value:
            return default
        value = value[part]
    return value


@dataclass(frozen=True)
class ResourceView:
    """A resource as a rule sees it, built from an offline registration or a CrossGuard resource."""

    urn: str
    type: str
    name: str
    """The logical (Pulumi) name; the Azure name is `physical_name(view)`."""
    props: Mapping[str, Any]
    protect: bool = False
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    secret_paths: tuple[str, ...] = ()
    """Dotted paths of props whose value is a Pulumi secret (known offline; see `secrets_known`)."""
    id: str = ""
    secrets_known: bool = True
    """False where secrets arrive unwrapped (CrossGuard): `secret_paths` then proves nothing."""

    def prop(self, path: str, default: Any = None) -> Any:
        return lookup(self.props, path, default)

    def refs(self, prop: str) -> tuple[str, ...]:
        return tuple(self.property_dependencies.get(prop, ()))


@dataclass(frozen=True)
class Violation:
    rule: str
    urn: str
    message: str


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    check: Callable[[Sequence[ResourceView]], Iterable[tuple[str, str]]]
    """All resources in, (urn, message) out."""
    resource_types: tuple[str, ...] = ()
    """Set for a rule that judges one resource at a time: the pack runs it as a resource policy,
    before the resource is created. Empty for rules that need the resource's neighbours."""
    check_one: Optional[Callable[[ResourceView], Iterable[str]]] = None
    """For a per-resource rule: one resource in, messages out."""
    needs_secrets: bool = False
    """The rule reads which props are Pulumi secrets (known offline, hidden from CrossGuard)."""
    sources: tuple[str, ...] = ()
    """Where Microsoft (or the provider) documents the fact the rule enforces: Microsoft Learn pages,
    REST API specs. A rule without a source is a guess (docs/azure-requirements.md)."""

    @property
    def per_resource(self) -> bool:
        return bool(self.resource_types)


RULES: list[Rule] = []


def _register(new: Rule) -> None:
    if any(r.name == new.name for r in RULES):
        raise ValueError(f"duplicate rule name {new.name!r}")
    RULES.append(new)


def rule(name: str, description: str, *, needs_secrets: bool = False, sources: Sequence[str] = ()) -> Callable:
    """A rule that looks at the whole stack (it needs a resource's neighbours)."""

    def register(fn: Callable[[Sequence[ResourceView]], Iterable[tuple[str, str]]]):
        _register(Rule(name, description, fn, needs_secrets=needs_secrets, sources=tuple(sources)))
        return fn
    return register


def resource_rule(name: str, description: str, *types: str, needs_secrets: bool = False,
                  sources: Sequence[str] = ()) -> Callable:
    """A rule that looks at one resource of the given types at a time."""

    def register(fn: Callable[[ResourceView], Iterable[str]]):
        def over_stack(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
            for r in resources:
                if r.type in types:
                    for message in fn(r):
                        yield r.urn, message
        _register(Rule(name, description, over_stack, resource_types=tuple(types), check_one=fn,
                       needs_secrets=needs_secrets, sources=tuple(sources)))
        return fn
    return register


def evaluate(resources: Sequence[ResourceView], only: Optional[Iterable[str]] = None) -> list[Violation]:
    selected = set(only) if only is not None else None
    if selected is not None:
        unknown = selected - {r.name for r in RULES}
        if unknown:
            raise KeyError(f"no such rule(s): {', '.join(sorted(unknown))}")
    found: list[Violation] = []
    for r in RULES:
        if selected is not None and r.name not in selected:
            continue
        found.extend(Violation(r.name, urn, message) for urn, message in r.check(resources))
    return sorted(set(found), key=lambda v: (v.rule, v.urn, v.message))


def rule_named(name: str) -> Rule:
    for r in RULES:
        if r.name == name:
            return r
    raise KeyError(name)
