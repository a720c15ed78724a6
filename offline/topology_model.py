"""The topology as the diagram reads it from a run: what is drawn and where the rest shows
(`SERVICES`, `DRAWN_TYPES`, `SHOWN_ON_ANOTHER_NODE`), the looks, and the model of VNets, subnets, their
NSG rules and who may reach what (`Topology`, `subnet_paths`). offline/topology.py draws it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from isolated_mlops.components.catalogue import (
    AKS, BASTION, CATALOGUE, COMPUTE, IDENTITY, MONITOR_PUBLIC_ACCESS_INPUTS, NIC, NSG, PRIVATE_ENDPOINT, PUBLIC_IP,
    SECURITY_RULE, STORAGE, SUBNET, VM, VNET, is_internet_source,
)
from isolated_mlops.components.roles import ROLE_NAMES as ASSIGNED_ROLE_NAMES
from isolated_mlops.policy.rules import strings
from offline.engine import RegisteredResource, StackRun


# Each type's role in the diagram is a field of its catalogue record, so a new type is one entry there.
SERVICES: Mapping[str, str] = {t: e.service_node for t, e in CATALOGUE.items() if e.service_node}
"""Platform services outside the VNets, reached through private endpoints: type -> what to call it."""

SHAPES = frozenset({VNET, SUBNET, PRIVATE_ENDPOINT, BASTION, VM, COMPUTE, AKS})
"""The network's shapes, drawn by this module's own code (boxes, endpoints, hosts)."""

DRAWN_TYPES = frozenset({*SHAPES, *SERVICES})

SHOWN_ON_ANOTHER_NODE: Mapping[str, str] = {t: e.shown_on for t, e in CATALOGUE.items() if e.shown_on}
"""Registered types that are not a node of their own, and where the diagram shows them instead."""

# Built-in roles the platform assigns, by role definition id: shown by name on the holder's node.
# One table of them, in components/roles.py (with the Microsoft Learn page of each id).
ROLE_NAMES: Mapping[str, str] = ASSIGNED_ROLE_NAMES

INTERNET = "internet"
ZONES_NODE = "dnszones"
ELSEWHERE_NODE = "elsewhere"

# One look per meaning, each in the legend. Changes in GitHub's diff palette; "replaced" orange, as
# it is a delete and a create; "deleted" a grey dashed ghost whose label is struck through;
# "exposed" only a thick red border and red text, so it still shows on a node coloured by a change.
CLASS_STYLES: Mapping[str, str] = {
    "create": "fill:#dafbe1,stroke:#1a7f37,color:#0f5323",
    "update": "fill:#fff8c5,stroke:#9a6700,color:#4d2d00",
    "replace": "fill:#ffe2cc,stroke:#bc4c00,stroke-width:2px,color:#762c00",
    "delete": "fill:#f6f8fa,stroke:#8c959f,stroke-dasharray:5 4,color:#6e7781",
    "exposed": "stroke:#cf222e,stroke-width:4px,color:#a40e26",
}
LEGEND: Mapping[str, str] = {
    "create": "created",
    "update": "changed",
    "replace": "replaced",
    "delete": "<s>deleted</s>",
    "exposed": "reachable from the internet",
}
# Boxes stay unfilled: one whose own settings changed gets its change's colour as a thick border, so
# a changed VNet does not paint everything inside it (a box filled red held red boxes, and said nothing).
PLAIN_BOX = "fill:none,stroke:#8c959f"
BOX_STYLES: Mapping[str, str] = {
    "create": "fill:none,stroke:#1a7f37,stroke-width:3px",
    "update": "fill:none,stroke:#9a6700,stroke-width:3px",
    "replace": "fill:none,stroke:#bc4c00,stroke-width:3px,stroke-dasharray:8 3",
    "delete": "fill:none,stroke:#8c959f,stroke-width:2px,stroke-dasharray:5 4",
    "exposed": "fill:none,stroke:#cf222e,stroke-width:4px",
}
PLAIN_NODE = "fill:#f6f8fa,stroke:#57606a"
RANK = {"update": 1, "create": 2, "replace": 3}


def _norm(resource_id: Any) -> str:
    # ARM ids are case-insensitive; Azure itself returns them in more than one casing.
    return resource_id.rstrip("/").lower() if isinstance(resource_id, str) else ""


def _last(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def _label(*lines: Any) -> str:
    """A node label: lines joined by <br/>, quotes escaped for Mermaid."""
    return "<br/>".join(str(line).replace('"', "#quot;") for line in lines if line not in (None, ""))


def resource_key(urn: str) -> str:
    """A URN without its stack and project (`type$chain::name`): the same resource in two runs."""
    return urn.split("::", 2)[2] if urn.count("::") >= 2 else urn


@dataclass
class Subnet:
    id: str
    name: str
    prefixes: list[str]
    vnet: RegisteredResource
    nsg: Optional[RegisteredResource] = None
    nat: Optional[RegisteredResource] = None
    resource: Optional[RegisteredResource] = None
    """The subnet's own registration, when it is a resource and not inline in its VNet."""
    node: str = ""


@dataclass
class Topology:
    """The run's resources, indexed by how Azure links them.

    What each resource's inputs name is read once per model (`targets`, `references`, `subnets_of`,
    `principals`, `of_type` keep what they found, by resource): drawing a picture asks the same
    questions of the same resources thousands of times, and walking every input's strings for each
    question was most of the cost of a picture. A model is built for one picture of one run and the
    run is not changed while it is drawn, so what was found stays true."""

    run: StackRun
    by_id: dict[str, RegisteredResource] = field(default_factory=dict)
    subnets: dict[str, Subnet] = field(default_factory=dict)
    placed: dict[str, list[RegisteredResource]] = field(default_factory=dict)
    """Subnet id -> the resources drawn inside that subnet."""
    # What was found, by id() of the resource asked about (RegisteredResource is not hashable); each
    # entry holds the resource too, so its id cannot be reused by another object while the model lives.
    _texts: dict[int, tuple[RegisteredResource, list[str]]] = field(default_factory=dict, repr=False, compare=False)
    _targets: dict[int, tuple[RegisteredResource, list[RegisteredResource]]] = field(
        default_factory=dict, repr=False, compare=False)
    _refs: dict[int, tuple[RegisteredResource, dict[str, list[RegisteredResource]]]] = field(
        default_factory=dict, repr=False, compare=False)
    _subnets_of: dict[int, tuple[RegisteredResource, list[Subnet]]] = field(
        default_factory=dict, repr=False, compare=False)
    _principals: dict[int, tuple[RegisteredResource, set[str]]] = field(default_factory=dict, repr=False, compare=False)
    _of_type: dict[str, list[RegisteredResource]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, run: StackRun) -> "Topology":
        topology = cls(run)
        for r in run.resources:
            if r.custom and r.id:
                topology.by_id[_norm(r.id)] = r
        topology._index_subnets()
        topology._place()
        return topology

    # -- lookups ---------------------------------------------------------------------------------
    def resolve(self, resource_id: Any) -> Optional[RegisteredResource]:
        return self.by_id.get(_norm(resource_id))

    def owner(self, r: RegisteredResource) -> Optional[RegisteredResource]:
        """The resource whose ARM id this one's id extends: a peering's VNet, a zone link's zone,
        a zone group's endpoint, a role assignment's scope."""
        # The longest registered id that r's id extends by "/...": tried from the longest prefix of
        # r's id that ends before a "/" down to the shortest, instead of trying every registered id.
        own = _norm(r.id)
        cut = own.rfind("/")
        while cut >= 0:
            found = self.by_id.get(own[:cut])
            if found is not None:
                return found
            cut = own.rfind("/", 0, cut)
        return None

    def _strings(self, r: RegisteredResource) -> list[str]:
        """Every string in r's inputs, normalised as an id (`_norm`), in input order, repeats kept."""
        held = self._texts.get(id(r))
        if held is None or held[0] is not r:
            # `_norm` of each, written out: it runs for every string of every input of every resource.
            held = self._texts[id(r)] = (r, [text.rstrip("/").lower() for text in _all_strings(r.inputs)])
        return held[1]

    def targets(self, r: RegisteredResource) -> list[RegisteredResource]:
        """The registered resources whose ids appear anywhere in r's inputs (r itself included), in
        input order, repeats kept: `resolve` of each string of r's inputs that names one."""
        held = self._targets.get(id(r))
        if held is None or held[0] is not r:
            by_id = self.by_id
            held = self._targets[id(r)] = (r, [by_id[text] for text in self._strings(r) if text in by_id])
        return list(held[1])

    def references(self, r: RegisteredResource, type_: str) -> list[RegisteredResource]:
        """The resources of `type_` whose ids appear anywhere in r's inputs, in input order."""
        held = self._refs.get(id(r))
        if held is None or held[0] is not r:
            by_type: dict[str, list[RegisteredResource]] = {}
            for target in self.targets(r):
                found = by_type.setdefault(target.type, [])
                if target is not r and target not in found:
                    found.append(target)
            held = self._refs[id(r)] = (r, by_type)
        return list(held[1].get(type_, ()))

    def subnets_of(self, r: RegisteredResource) -> list[Subnet]:
        held = self._subnets_of.get(id(r))
        if held is None or held[0] is not r:
            found: list[Subnet] = []
            for text in self._strings(r):
                subnet = self.subnets.get(text)
                if subnet is not None and subnet not in found:
                    found.append(subnet)
            held = self._subnets_of[id(r)] = (r, found)
        return list(held[1])

    def of_type(self, type_: str) -> list[RegisteredResource]:
        if type_ not in self._of_type:
            self._of_type[type_] = sorted((r for r in self.run.resources if r.type == type_), key=lambda r: r.urn)
        return list(self._of_type[type_])

    # -- building --------------------------------------------------------------------------------
    def _index_subnets(self) -> None:
        for vnet in self.of_type(VNET):
            for subnet in vnet.inputs.get("subnets") or []:
                if isinstance(subnet, dict) and subnet.get("name"):
                    self._add_subnet(f"{vnet.id}/subnets/{subnet['name']}", subnet, vnet)
        for standalone in self.of_type(SUBNET):
            holder = self.resolve(standalone.id.split("/subnets/")[0])
            if holder is not None:
                self._add_subnet(standalone.id, {**standalone.inputs, "name": _last(standalone.id)}, holder,
                                 standalone)

    def _add_subnet(self, subnet_id: str, props: Mapping[str, Any], vnet: RegisteredResource,
                    resource: Optional[RegisteredResource] = None) -> None:
        prefixes = [props["addressPrefix"]] if props.get("addressPrefix") else list(props.get("addressPrefixes") or [])
        self.subnets[_norm(subnet_id)] = Subnet(
            id=subnet_id, name=props["name"], prefixes=prefixes, vnet=vnet,
            nsg=self.resolve((props.get("networkSecurityGroup") or {}).get("id")),
            nat=self.resolve((props.get("natGateway") or {}).get("id")), resource=resource)

    def _place(self) -> None:
        """Put each endpoint, Bastion, cluster and VM in the subnet(s) its inputs name."""
        for r in sorted(self.run.resources, key=lambda r: r.urn):
            if r.type in (PRIVATE_ENDPOINT, BASTION, COMPUTE, AKS):
                # A Kubernetes compute names no subnet: it sits with the cluster it attaches.
                where = self.subnets_of(r) or [s for c in self.references(r, AKS) for s in self.subnets_of(c)]
            elif r.type == VM:
                where = [s for nic in self.references(r, NIC) for s in self.subnets_of(nic)]
            else:
                continue
            for subnet in where[:1]:
                self.placed.setdefault(_norm(subnet.id), []).append(r)

    # -- what a node says ------------------------------------------------------------------------
    def public_ips(self, r: RegisteredResource) -> list[RegisteredResource]:
        """Public IPs attached to r, directly or through its NICs."""
        ips = self.references(r, PUBLIC_IP)
        for nic in self.references(r, NIC):
            ips += [ip for ip in self.references(nic, PUBLIC_IP) if ip not in ips]
        return ips

    def security_rules(self, nsg: RegisteredResource) -> list[tuple[Mapping[str, Any], RegisteredResource]]:
        """An NSG's rules, each with the resource that declares it: inline, or a SecurityRule of its own."""
        rules = [(rule, nsg) for rule in nsg.inputs.get("securityRules") or [] if isinstance(rule, Mapping)]
        rules += [(r.inputs, r) for r in self.of_type(SECURITY_RULE) if self.owner(r) is nsg]
        return rules

    def principals(self, r: RegisteredResource) -> set[str]:
        """The principal ids of the managed identities r carries: its own (system-assigned) and the
        user-assigned identities its inputs name."""
        held = self._principals.get(id(r))
        if held is None or held[0] is not r:
            held = self._principals[id(r)] = (r, self._find_principals(r))
        return set(held[1])

    def _find_principals(self, r: RegisteredResource) -> set[str]:
        identity = r.outputs.get("identity")
        found: set[Any] = set()
        if isinstance(identity, Mapping):
            found.add(identity.get("principalId"))
            users = identity.get("userAssignedIdentities")
            if isinstance(users, Mapping):
                found |= {v.get("principalId") for v in users.values() if isinstance(v, Mapping)}
        found |= {i.outputs.get("principalId") for i in self.references(r, IDENTITY)}
        if r.type == AKS:  # the kubelet identity AKS creates, reported in identityProfile
            found.add(((r.outputs.get("identityProfile") or {}).get("kubeletidentity") or {}).get("objectId"))
        return {p for p in found if isinstance(p, str) and p}


def _all_strings(value: Any) -> list[str]:
    """`strings(value)` as a list (the same strings in the same order), with plain dicts, lists and
    strs, all that the engine's inputs hold, told apart by their exact type first: the generator's
    `isinstance(v, typing.Mapping)` per value was a third of a picture's cost."""
    found: list[str] = []

    def walk(v: Any) -> None:
        kind = type(v)
        if kind is str:
            found.append(v)
        elif kind is dict:
            for item in v.values():
                walk(item)
        elif kind is list:
            for item in v:
                walk(item)
        elif v is not None and kind not in (bool, int, float):
            found.extend(strings(v))  # anything else: exactly as the rules' helper reads it

    walk(value)
    return found


def _name(r: RegisteredResource) -> str:
    return str(r.outputs.get("name") or r.name)


def _public_access(r: RegisteredResource) -> str:
    """What a reviewer asks of a service first: can the internet reach it?"""
    if r.type == STORAGE and r.input("publicNetworkAccess") in (None, "Enabled"):
        # "Selected networks" with none selected: the public endpoint admits only the resource
        # instances listed (the workspace) and Azure's trusted services, not the internet.
        rules = r.input("networkRuleSet") or {}
        if rules.get("defaultAction") == "Deny" and not rules.get("ipRules") and not rules.get("virtualNetworkRules"):
            instances = len(rules.get("resourceAccessRules") or [])
            return f"firewall: no network, {instances} resource instance(s), trusted services"
    for path in ("publicNetworkAccess", "properties.publicNetworkAccess"):
        value = r.input(path)
        if value is not None:
            return f"public access {value}"
    known = CATALOGUE.get(r.type)
    if known and all(p in known.azure_defaults for p in MONITOR_PUBLIC_ACCESS_INPUTS):
        # Log Analytics, Application Insights: an unset switch is Azure's default (the catalogue's).
        ingestion, query = (r.input(p) or known.default_of(p) for p in MONITOR_PUBLIC_ACCESS_INPUTS)
        return f"public ingestion {ingestion}, query {query}"
    return ""


def _access_modes(r: RegisteredResource) -> str:
    """A private link scope's access modes: they say what the linked networks may reach outside the
    scope (Open: also resources outside it), not who may reach in, so they are not an exposure.
    https://learn.microsoft.com/azure/azure-monitor/logs/private-link-security#private-link-access-modes-private-only-vs-open
    (the page Azure's built-in policy "Azure Monitor Private Link Scope should block access to non
    private link resources" cites)."""
    modes = r.input("accessModeSettings") or {}
    if not modes:
        return ""
    return f"access modes: ingestion {modes.get('ingestionAccessMode')}, query {modes.get('queryAccessMode')}"


def _italic(text: str) -> str:
    return f"<i>{text}</i>" if text else ""


def _allowed_inbound(t: Topology, subnet: Subnet) -> list[Mapping[str, Any]]:
    if subnet.nsg is None:
        return []
    return [rule for rule, _ in t.security_rules(subnet.nsg)
            if str(rule.get("access", "")).lower() == "allow" and str(rule.get("direction", "")).lower() == "inbound"]


def _sources(rule: Mapping[str, Any]) -> list[str]:
    values = [rule.get("sourceAddressPrefix"), *(rule.get("sourceAddressPrefixes") or [])]
    return [v for v in values if isinstance(v, str)]


def from_internet(rule: Mapping[str, Any]) -> bool:
    """The rule's source is the internet, as the policy rules read it (any case, IPv4 or IPv6)."""
    return any(is_internet_source(source) for source in _sources(rule))


def _allowed_text(rule: Mapping[str, Any]) -> str:
    """What an allow rule lets through: "Tcp 22", or "all traffic"."""
    ports = rule.get("destinationPortRange") or ",".join(rule.get("destinationPortRanges") or []) or "*"
    return f'{rule.get("protocol", "*")} {ports}'.replace("* *", "all traffic")


# A subnet that several other subnets may reach (the private endpoints' subnet and its clients) says
# who, in words in its title, instead of an arrow from each: arrows converging on one box put each
# source a column to its left, and the four endpoint clients (two of them in the other VNet) made
# prod's picture 2620 px wide, where 1800 is the most GitHub's 900 px column shows legibly.
WORDS_FROM_SOURCES = 2


@dataclass
class SubnetPaths:
    """Who an NSG lets into a subnet, other subnets and the subnet's own hosts."""

    arrows: list[tuple[Subnet, str]] = field(default_factory=list)
    """(source subnet, what is allowed), each drawn as an arrow to the subnet."""
    words: dict[str, list[Subnet]] = field(default_factory=dict)
    """What is allowed -> the source subnets, said in the subnet's title."""
    within: bool = False
    """A rule admits the subnet's own prefix: its hosts reach each other (a cluster's nodes)."""

    def lines(self) -> list[str]:
        return [f"{text} from {', '.join(s.name for s in sources)}" for text, sources in self.words.items()] + (
            ["hosts reach each other"] if self.within else [])


def subnet_paths(t: Topology, subnet: Subnet) -> SubnetPaths:
    """The subnet-to-subnet paths into `subnet` that its NSG's inbound allow rules open (a source
    prefix equal to a subnet's prefix). The internet is not a subnet: `_edges` draws it as an arrow."""
    found: dict[str, list[Subnet]] = {}
    paths = SubnetPaths()
    others = sorted(t.subnets.values(), key=lambda s: s.id)
    for rule in _allowed_inbound(t, subnet):
        sources = set(_sources(rule))
        for origin in others:
            if sources & set(origin.prefixes):
                if origin is subnet:
                    paths.within = True
                elif origin not in found.setdefault(_allowed_text(rule), []):
                    found[_allowed_text(rule)].append(origin)
    origins = {o.id for sources in found.values() for o in sources}
    if len(origins) >= WORDS_FROM_SOURCES:
        paths.words = found
    else:
        paths.arrows = [(o, text) for text, sources in found.items() for o in sources]
    return paths
