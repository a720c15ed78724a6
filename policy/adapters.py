"""Turn what the offline engine recorded, or what CrossGuard hands a policy, into what the rules read.

Both sources end as the same `ResourceView`: wire-name (camelCase) input props, with every value the
engine does not know yet replaced by `rules.UNKNOWN`, so a rule behaves the same offline and in the
pack. What differs, and why:

- Offline (`from_registered`): the engine records inputs, dependencies, property dependencies and
  which props are secrets, exactly as `pulumi preview` would send them to the engine.
- CrossGuard resource policies (`ResourceValidationArgs`): inputs and options, but no dependencies.
  The rules that run there (`Rule.per_resource`) need none.
- CrossGuard stack policies (`PolicyResource`): dependencies and property dependencies, but the
  props are the resource's *outputs*. During a preview, azure-native previews outputs as the inputs
  reshaped, with everything else unknown; path parameters (`virtualNetworkName`, `privateZoneName`,
  ...) are not outputs at all. So the pack passes in the inputs it saw for the same URN in the
  per-resource call the engine makes first (`policy.pack.InputsSeen`); outputs fill in only what
  was not seen.
- CrossGuard unwraps secrets before a policy sees them: `secrets_known` is False there, and the
  rules that need to know (`Rule.needs_secrets`) say they cannot run rather than pass or fail.
"""

from __future__ import annotations

import copy
from typing import Any, Iterator, Mapping, Optional, Protocol, Sequence, Union

from pulumi_policy import PolicyResource, ResourceValidationArgs
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY, serialize_properties
from pulumi_policy.proxy import (
    _DictProxy,
    _ListProxy,
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

from isolated_mlops.policy.rules import UNKNOWN, ResourceView


# The engine's wire sentinels for "not known during preview" (the Python SDK sends the string one
# for every unknown; the policy SDK knows all of them).
UNKNOWN_SENTINELS = frozenset({
    UNKNOWN_STRING_VALUE, UNKNOWN_BOOLEAN_VALUE, UNKNOWN_NUMBER_VALUE, UNKNOWN_ARRAY_VALUE,
    UNKNOWN_OBJECT_VALUE, UNKNOWN_ASSET_VALUE, UNKNOWN_ARCHIVE_VALUE,
})


def plain(value: Any, path: str = "", secrets: Optional[list[str]] = None) -> Any:
    """Wire values as plain Python: unknown sentinels become UNKNOWN; secrets are unwrapped and,
    when `secrets` is given, their dotted paths recorded."""
    if isinstance(value, Mapping):
        if value.get(SPECIAL_SIG_KEY) == SPECIAL_SECRET_SIG:
            if secrets is not None:
                secrets.append(path or "<root>")
            return plain(value.get("value"), path, secrets)
        return {k: plain(v, f"{path}.{k}" if path else str(k), secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, f"{path}[{i}]", secrets) for i, v in enumerate(value)]
    if isinstance(value, str) and value in UNKNOWN_SENTINELS:
        return UNKNOWN
    return value


# --------------------------------------------------------------------------------------------
# Offline engine
# --------------------------------------------------------------------------------------------
# What the rules need of a registration and of a run: the offline engine's `RegisteredResource` and
# `StackRun` (offline/engine.py) have these. Described here, not imported: the guardrails are part
# of the library and never import the tools that use them.
class Registration(Protocol):
    @property
    def urn(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def custom(self) -> bool: ...
    @property
    def protect(self) -> bool: ...
    @property
    def inputs(self) -> Mapping[str, Any]: ...
    @property
    def dependencies(self) -> Sequence[str]: ...
    @property
    def property_dependencies(self) -> Mapping[str, Sequence[str]]: ...
    @property
    def secret_paths(self) -> Sequence[str]: ...
    @property
    def id(self) -> str: ...


class Registrations(Protocol):
    @property
    def resources(self) -> Sequence[Registration]: ...


def from_registered(r: Registration) -> ResourceView:
    return ResourceView(
        urn=r.urn,
        type=r.type,
        name=r.name,
        props=plain(r.inputs),
        protect=r.protect,
        dependencies=tuple(r.dependencies),
        property_dependencies={k: tuple(v) for k, v in r.property_dependencies.items()},
        secret_paths=tuple(r.secret_paths),
        id=r.id,
    )


def views(run: Registrations) -> list[ResourceView]:
    return [from_registered(r) for r in run.resources if r.custom]


# --------------------------------------------------------------------------------------------
# CrossGuard
# --------------------------------------------------------------------------------------------
# What CrossGuard hands a resource policy, and a stack policy per resource: both have resource_type,
# props, urn, name and opts; only PolicyResource has dependencies.
PolicyResourceLike = Union[ResourceValidationArgs, PolicyResource]


def policy_props(props: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """CrossGuard's props (an unknown-checking proxy) as plain values, plus any secret paths seen.

    Reading the proxy item by item raises on the first unknown; serializing it hands back the raw
    values with the engine's sentinels, which `plain` then maps to UNKNOWN. `_plain_props` does both
    in one pass (tests/test_policy_pack.py checks it against the two steps on every resource of both
    stacks).
    """
    secrets: list[str] = []
    return _plain_props(props, "", secrets), secrets


_PROXIES = (_DictProxy, _ListProxy)


def _plain_props(value: Any, path: str, secrets: list[str]) -> Any:
    """`plain(serialize_properties(value))` without building the serialized copy first.

    Every stack policy converts every resource, each time from fresh proxies (the SDK builds them per
    policy): the two steps were most of the pack's time. The proxies are unwrapped the way the SDK's
    own `serialize_properties` unwraps them (their `"__target"`); plain JSON values are taken as
    they are, and anything else (assets, archives, secret proxies) goes through the SDK's own path.
    """
    while isinstance(value, _PROXIES):
        value = value["__target"]
    if isinstance(value, dict):
        if value.get(SPECIAL_SIG_KEY) == SPECIAL_SECRET_SIG:
            return plain(serialize_properties(value), path, secrets)
        return {k: _plain_props(v, f"{path}.{k}" if path else str(k), secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_props(v, f"{path}[{i}]", secrets) for i, v in enumerate(value)]
    if isinstance(value, str):
        return UNKNOWN if value in UNKNOWN_SENTINELS else value
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return plain(serialize_properties(value), path, secrets)


class PolicyProps(Mapping[str, Any]):
    """A CrossGuard resource's props as plain values (`policy_props`), made plain on first read.

    The SDK hands every stack policy every resource, each time behind fresh proxies, and most rules
    read the props of a few types only (on prod, ~230 of the ~2,900 views an AnalyzeStack builds):
    converting all of them for each of the ~20 stack policies was a quarter of an AnalyzeStack's
    time. Read in any way, this is the same mapping the eager conversion gave: the outputs made
    plain, with the inputs seen (if any) on top (tests/test_policy_pack.py compares them).
    """

    __slots__ = ("_source", "_inputs", "_plain")

    def __init__(self, source: Mapping[str, Any], inputs: Optional[Mapping[str, Any]] = None) -> None:
        self._source = source
        self._inputs = inputs
        self._plain: Optional[dict[str, Any]] = None

    def _value(self) -> dict[str, Any]:
        if self._plain is None:
            props = policy_props(self._source)[0]
            self._plain = {**props, **self._inputs} if self._inputs is not None else props
        return self._plain

    def __getitem__(self, key: str) -> Any:
        return self._value()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._value().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._value()

    def __iter__(self) -> Iterator[str]:
        return iter(self._value())

    def __len__(self) -> int:
        return len(self._value())

    def keys(self) -> Any:
        return self._value().keys()

    def items(self) -> Any:
        return self._value().items()

    def values(self) -> Any:
        return self._value().values()

    def __eq__(self, other: object) -> bool:
        return self._value() == (other._value() if isinstance(other, PolicyProps) else other)

    __hash__ = None  # type: ignore[assignment]  # like the dict it stands for

    def __repr__(self) -> str:
        return repr(self._value())

    def __deepcopy__(self, memo: dict) -> dict[str, Any]:
        return copy.deepcopy(self._value(), memo)


def _id_of(source: Mapping[str, Any], inputs: Optional[Mapping[str, Any]]) -> str:
    """`props.get("id")` of the merged props, reading only that one value."""
    if inputs is not None and "id" in inputs:
        value = inputs["id"]
    else:
        raw: Any = source
        while isinstance(raw, _PROXIES):
            raw = raw["__target"]
        value = _plain_props(raw.get("id"), "id", []) if isinstance(raw, dict) else PolicyProps(source).get("id")
    return value if isinstance(value, str) else ""


def from_policy_resource(resource: PolicyResourceLike,
                         inputs: Optional[Mapping[str, Any]] = None) -> ResourceView:
    """A ResourceView of a CrossGuard resource (`ResourceValidationArgs` or `PolicyResource`).

    inputs: the resource's inputs as seen by a resource policy (already plain); used for a stack
    policy, whose `props` are outputs. Outputs fill in only what the inputs lack.

    No secret paths: the SDK unwraps every secret before a policy sees the props
    (`deserialize_properties` in Analyze and AnalyzeStack), so there are none to find
    (`secrets_known=False`; tests/test_policy_pack.py checks it on every resource of both stacks).
    """
    dependencies: Sequence[Any] = getattr(resource, "dependencies", None) or ()
    property_dependencies: Mapping[str, Sequence[Any]] = getattr(resource, "property_dependencies", None) or {}
    return ResourceView(
        urn=resource.urn,
        type=resource.resource_type,
        name=resource.name,
        props=PolicyProps(resource.props, inputs),
        protect=bool(getattr(resource.opts, "protect", False)),
        dependencies=tuple(d.urn for d in dependencies),
        property_dependencies={k: tuple(d.urn for d in v) for k, v in property_dependencies.items()},
        id=_id_of(resource.props, inputs),
        secrets_known=False,
    )
