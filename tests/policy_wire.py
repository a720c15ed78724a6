"""The engine's side of a conversation with the CrossGuard pack (tests/test_policy_pack.py): the
pack's analyzer servicer configured as the CLI configures it, and an offline run's registrations sent
to it as the engine sends them (Analyze for each resource, then AnalyzeStack)."""

from __future__ import annotations

import copy
import re
from typing import Any, Callable, Iterable, Optional

from google.protobuf import struct_pb2
from pulumi.runtime import proto
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from offline.engine import RegisteredResource, StackRun
from isolated_mlops.policy import enforcement as E
from isolated_mlops.policy import rules as R
from isolated_mlops.policy.pack import pack_arguments
from isolated_mlops.policy.rules import RULES

NAMES = [r.name for r in RULES]


def servicer_for(stack: Optional[str], only: Optional[set[str]] = None) -> _PolicyAnalyzerServicer:
    """The pack for `stack`, configured as the CLI configures it; `only`: every other policy disabled,
    as a `--policy-pack-config` could (the SDK then skips them: no props deserialized for them)."""
    a = pack_arguments(stack)
    servicer = _PolicyAnalyzerServicer(a["name"], "1.0.0", a["policies"], a["enforcement_level"],
                                       a["initial_config"], a["description"])
    # The CLI reconciles the pack's initial config with any --policy-pack-config and sends the result.
    levels = E.resolve_levels(E.config_for_stack(stack, NAMES), NAMES)
    if only is not None:
        assert only <= set(NAMES), only
        levels = {name: level if name in only else "disabled" for name, level in levels.items()}
    servicer.Configure(proto.ConfigureAnalyzerRequest(policyConfig={
        name: proto.PolicyConfig(enforcementLevel=getattr(proto, level.upper())) for name, level in levels.items()}), None)
    return servicer


def _struct(values: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(values)
    return s


class Wire:
    """A run's registrations as the engine sends them to a pack, optionally as a first preview sees
    them: every id, and every value computed from an id or the random name suffix, unknown."""

    def __init__(self, run: StackRun, first_preview: bool):
        self.run = run
        self.hidden = {r.id for r in run.resources if r.id} if first_preview else set()
        self.hidden |= {r.outputs["result"] for r in run.resources if first_preview and r.type.startswith("random:")}
        # One search for all of them; a value hides one if it contains it.
        self._hides = re.compile("|".join(re.escape(h) for h in sorted(self.hidden))).search if self.hidden else None
        # What each registration looks like on the wire (and its messages), made once per Wire (callers
        # copy to change it).
        self._made: dict[tuple[str, int], tuple[RegisteredResource, Any]] = {}

    @classmethod
    def of(cls, run: StackRun, first_preview: bool) -> "Wire":
        """One Wire per run and kind of preview for the whole module: the runs are session fixtures."""
        key = (id(run), first_preview)
        if key not in _WIRES or _WIRES[key].run is not run:
            _WIRES[key] = cls(run, first_preview)
        return _WIRES[key]

    def once(self, kind: str, r: RegisteredResource, make: Callable[[RegisteredResource], Any]) -> Any:
        key = (kind, id(r))
        if key not in self._made or self._made[key][0] is not r:
            self._made[key] = (r, make(r))
        return self._made[key][1]

    def _blank(self, value: Any) -> Any:
        if isinstance(value, str) and self._hides is not None and self._hides(value):
            return UNKNOWN_STRING_VALUE
        if isinstance(value, dict):
            return {k: self._blank(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._blank(v) for v in value]
        return value

    def inputs(self, r: RegisteredResource) -> dict:
        """(Shared: copy before changing.)"""
        return self.once("inputs", r, self._inputs)

    def outputs(self, r: RegisteredResource) -> dict:
        return self.once("outputs", r, self._outputs)

    def _inputs(self, r: RegisteredResource) -> dict:
        values = self._blank(copy.deepcopy(r.inputs))
        for path in r.secret_paths:  # secrets travel wrapped, as the engine sends them
            *parents, leaf = path.split(".")
            holder = values
            for part in parents:
                holder = holder[part]
            holder[leaf] = {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": holder[leaf]}
        return values

    def _outputs(self, r: RegisteredResource) -> dict:
        """azure-native's preview outputs: inputs reshaped, path parameters gone, computed ones unknown."""
        values = self._blank(copy.deepcopy(r.inputs))
        for path_param in ("resourceGroupName", R.NAME_INPUTS.get(r.type, ""), "virtualNetworkName",
                           "privateEndpointName", "privateZoneName", "workspaceName", "vaultName"):
            values.pop(path_param, None)
        values["name"] = r.outputs.get("name", UNKNOWN_STRING_VALUE) if not self.hidden else UNKNOWN_STRING_VALUE
        return values

    def custom(self, drop: Callable[[RegisteredResource], bool] = lambda r: False) -> list[RegisteredResource]:
        return [r for r in self.run.resources if r.custom and not drop(r)]


_WIRES: dict[tuple[int, bool], Wire] = {}


def _options_pb(r: RegisteredResource) -> proto.AnalyzerResourceOptions:
    return proto.AnalyzerResourceOptions(protect=r.protect)


def _analyze_request(r: RegisteredResource, props: dict) -> proto.AnalyzeRequest:
    return proto.AnalyzeRequest(type=r.type, properties=_struct(props), urn=r.urn, name=r.name, options=_options_pb(r))


def _stack_resource(wire: Wire, r: RegisteredResource) -> proto.AnalyzerResource:
    return proto.AnalyzerResource(
        type=r.type, properties=_struct(wire.outputs(r)), urn=r.urn, name=r.name, options=_options_pb(r),
        parent=r.parent, dependencies=r.dependencies,
        propertyDependencies={k: proto.AnalyzerPropertyDependencies(urns=v) for k, v in r.property_dependencies.items()})


def analyze_each(servicer: _PolicyAnalyzerServicer, wire: Wire, resources: Iterable[RegisteredResource],
                 change: Optional[Callable[[RegisteredResource, dict], None]] = None) -> list[Any]:
    """Analyze (resource policies) for every resource; all diagnostics and not-applicable notes."""
    results: list[Any] = []
    for r in resources:
        if change is None:
            request = wire.once("analyze", r, lambda r: _analyze_request(r, wire.inputs(r)))
        else:
            props = copy.deepcopy(wire.inputs(r))
            change(r, props)
            request = _analyze_request(r, props)
        results.append(servicer.Analyze(request, None))
    return results


def analyze_stack(servicer: _PolicyAnalyzerServicer, wire: Wire, resources: Iterable[RegisteredResource]) -> Any:
    return servicer.AnalyzeStack(proto.AnalyzeStackRequest(resources=[
        wire.once("stack", r, lambda r: _stack_resource(wire, r)) for r in resources]), None)


def diagnostics(responses: Iterable[Any]) -> list[Any]:
    return [d for response in responses for d in response.diagnostics]


def not_applicable(responses: Iterable[Any]) -> set[str]:
    return {n.policy_name for response in responses for n in response.not_applicable}
