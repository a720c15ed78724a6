"""The topology as the diagram reads it from a run: what is drawn and where the rest shows
(`SERVICES`, `DRAWN_TYPES`, `SHOWN_ON_ANOTHER_NODE`), the looks, and the model of VNets, subnets, their
NSG rules and who may reach what (`Topology`, `subnet_paths`). offline/topology.py draws it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from isolated_mlops.components.catalogue import (
    AKS, AKS_NAMESPACE, K8S_EXTENSION,
    ACTION_GROUP, APP_INSIGHTS, BASTION, CATALOGUE, COMPUTE, DATA_COLLECTION_ENDPOINT, DATA_COLLECTION_RULE,
    DIAGNOSTIC_SETTING, IDENTITY, KEY_VAULT, KEY_VAULT_SECRET, LOCK, LOG_ANALYTICS, LOG_TABLE, METRIC_ALERT,
    ML_REGISTRY, MONITOR_PUBLIC_ACCESS_INPUTS, NAT_GATEWAY, NIC, NSG, PEERING, PRIVATE_ENDPOINT, PUBLIC_IP,
    RANDOM_STRING, REGISTRY, RESOURCE_GROUP, ROLE_ASSIGNMENT, SCHEDULED_QUERY_RULE, SCOPED_RESOURCE, SECURITY_RULE,
    STORAGE, SUBNET, VM, VNET, WORKSPACE, ZONE_GROUP, ZONE_LINK, is_internet_source,
)
from isolated_mlops.components.catalogue import PRIVATE_LINK_SCOPE as MONITOR_SCOPE
from isolated_mlops.components.catalogue import PRIVATE_ZONE as ZONE
from isolated_mlops.components.roles import ROLE_NAMES as ASSIGNED_ROLE_NAMES
from isolated_mlops.policy.rules import strings
from offline.engine import RegisteredResource, StackRun


SERVICES: Mapping[str, str] = {
    # Platform services outside the VNets, reached through private endpoints: type -> what to call it.
    WORKSPACE: "AML workspace",
    STORAGE: "Storage account",
    KEY_VAULT: "Key Vault",
    REGISTRY: "Container registry",
    LOG_ANALYTICS: "Log Analytics",
    APP_INSIGHTS: "Application Insights",
    MONITOR_SCOPE: "Azure Monitor private link scope",
    ML_REGISTRY: "AML registry",
}

DRAWN_TYPES = frozenset({VNET, SUBNET, PRIVATE_ENDPOINT, BASTION, VM, COMPUTE, AKS, *SERVICES})

SHOWN_ON_ANOTHER_NODE: Mapping[str, str] = {
    # Registered types that are not a node of their own, and where the diagram shows them instead.
    NIC: "its VM, placed in the NIC's subnet",
    PUBLIC_IP: "the Bastion, VM or NAT gateway that holds it (an arrow from the internet to the first two)",
    NSG: "the subnet it guards (named in the subnet's title; its allow rules as arrows, or as words there)",
    SECURITY_RULE: "the subnet its NSG guards (an allow rule as an arrow, or as words in the subnet's title)",
    NAT_GATEWAY: "the subnets it serves (\"NAT egress\" in their title)",
    PEERING: "the titles of the two VNets (\"peered both ways with\", or ONE WAY ONLY)",
    ZONE: "the endpoints whose zone groups write to it (a line in their label)",
    ZONE_LINK: "the count of linked zones in each VNet's title",
    ZONE_GROUP: "its private endpoint (the zones it writes to, one line each)",
    IDENTITY: "the VMs or clusters that carry it (the roles it holds, one line each)",
    ROLE_ASSIGNMENT: "the node of the identity's holder (\"role R on S\"), or else its scope's",
    SCOPED_RESOURCE: "the private link scope (\"scopes X\" in its label)",
    KEY_VAULT_SECRET: "its Key Vault",
    RESOURCE_GROUP: "the whole diagram",
    RANDOM_STRING: "the names (the suffix)",
    LOCK: "the resource it locks",
    # Not a network path: Azure Monitor collects resource logs on its own backbone.
    DIAGNOSTIC_SETTING: "the resource whose logs it sends (its resourceUri)",
    LOG_TABLE: "Log Analytics (the drift table is one of its tables)",
    DATA_COLLECTION_ENDPOINT: "the Azure Monitor private link scope: one of its scoped resources, "
                                                   "reached through the scope's endpoint",
    DATA_COLLECTION_RULE: "not drawn: it tells the data collection endpoint which table a stream "
                                               "goes to, inside Azure Monitor",
    ACTION_GROUP: "not drawn: Azure Monitor sends its emails and webhook calls from outside the VNets",
    METRIC_ALERT: "not drawn: Azure Monitor evaluates it on the workspace's metrics, no network path",
    SCHEDULED_QUERY_RULE: "not drawn: Azure Monitor runs its query on Log Analytics, no network path",
    K8S_EXTENSION: "its AKS cluster (\"Azure ML extension\" and how its router listens)",
    AKS_NAMESPACE: "its AKS cluster (the namespace models run in)",
}

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
    """The run's resources, indexed by how Azure links them."""

    run: StackRun
    by_id: dict[str, RegisteredResource] = field(default_factory=dict)
    subnets: dict[str, Subnet] = field(default_factory=dict)
    placed: dict[str, list[RegisteredResource]] = field(default_factory=dict)
    """Subnet id -> the resources drawn inside that subnet."""

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
        own = _norm(r.id)
        best: Optional[RegisteredResource] = None
        for resource_id, candidate in self.by_id.items():
            if own.startswith(resource_id + "/") and (best is None or len(resource_id) > len(_norm(best.id))):
                best = candidate
        return best

    def references(self, r: RegisteredResource, type_: str) -> list[RegisteredResource]:
        """The resources of `type_` whose ids appear anywhere in r's inputs, in input order."""
        found: list[RegisteredResource] = []
        for text in strings(r.inputs):
            target = self.resolve(text)
            if target is not None and target.type == type_ and target is not r and target not in found:
                found.append(target)
        return found

    def subnets_of(self, r: RegisteredResource) -> list[Subnet]:
        found: list[Subnet] = []
        for text in strings(r.inputs):
            subnet = self.subnets.get(_norm(text))
            if subnet is not None and subnet not in found:
                found.append(subnet)
        return found

    def of_type(self, type_: str) -> list[RegisteredResource]:
        return sorted((r for r in self.run.resources if r.type == type_), key=lambda r: r.urn)

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
