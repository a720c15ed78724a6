"""The platform's topology, drawn from what the program registers: a Mermaid flowchart.

Nobody draws this picture by hand, so it cannot go stale: every box and arrow comes from a
registration's inputs, linked through the ARM ids Azure links them by (a NIC's subnet id, an
endpoint's target id, a zone group's zone ids, a DNS link's VNet id, a peering's remote VNet id,
an NSG rule's source prefix). A change that moves a VM to another subnet, drops a peering direction
or a zone link, or puts a public IP on a NIC shows in the diagram of the pull request that makes it.

What is drawn:
- each VNet as a box holding its subnets (name, prefix, NSG, NAT egress), its count of linked
  private DNS zones, and in each subnet what sits there: private endpoints (with the zones their
  zone groups write to), Bastion, VMs (through their NICs, with the roles their identities hold),
  AmlCompute clusters;
- peerings between VNets (both ways, or flagged one way only);
- private endpoints to their targets; the workspace to its dependencies, clusters to their
  workspace, the monitor scope to what it scopes;
- who may open connections where: the internet to a public IP, and a subnet to another where an
  NSG rule allows it (an arrow; words in the subnet's title when several subnets may reach it, or
  when its own hosts may reach each other).
What would only be a long line across the picture is text on the node it belongs to (a zone on its
endpoint, a role on the VM, cluster or workspace that holds it, NAT egress on its subnet, the
clients of the endpoints' subnet), so the full topology of prod stays readable at the width GitHub
shows it.

Two pictures come out of one model (`Picture`): the whole topology (`mermaid`), and the picture of
a change (`change_picture`): only what changed, its direct neighbours for context, and what was
deleted as grey ghosts, so a one-resource change is a dozen nodes, not the whole platform in red.

Every type the program registers is either drawn or named in `SHOWN_ON_ANOTHER_NODE` (a test
keeps it so), so a new kind of resource cannot silently go missing from the picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Optional, Sequence

from isolated_mlops.components.roles import ROLE_NAMES as ASSIGNED_ROLE_NAMES
from offline.engine import RegisteredResource, StackRun
from offline.preview import show
# Type tokens, and what counts as "the internet" in an NSG rule, are named once, in the rules module.
from isolated_mlops.policy.rules import (
    APP_INSIGHTS, AZURE_MANAGED_SUBNETS, BASTION, COMPUTE, INTERNET_SOURCES, KEY_VAULT, KEY_VAULT_SECRET, LOG_ANALYTICS, ML_REGISTRY, NAT_GATEWAY, NIC,
    NSG, PEERING, PRIVATE_ENDPOINT, PUBLIC_IP, REGISTRY, RESOURCE_GROUP, SCOPED_RESOURCE, SECURITY_RULE, STORAGE,
    SUBNET, VM, VNET, WORKSPACE, ZONE_GROUP, ZONE_LINK, strings,
)
from isolated_mlops.policy.rules import PRIVATE_LINK_SCOPE as MONITOR_SCOPE
from isolated_mlops.policy.rules import PRIVATE_ZONE as ZONE

IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
AKS = "azure-native:containerservice:ManagedCluster"

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
    "random:index/randomString:RandomString": "the names (the suffix)",
    "azure-native:authorization:ManagementLockAtResourceLevel": "the resource it locks",
    # Not a network path: Azure Monitor collects resource logs on its own backbone.
    "azure-native:monitor:DiagnosticSetting": "the resource whose logs it sends (its resourceUri)",
    "azure-native:operationalinsights:Table": "Log Analytics (the drift table is one of its tables)",
    "azure-native:monitor:DataCollectionEndpoint": "the Azure Monitor private link scope: one of its scoped resources, "
                                                   "reached through the scope's endpoint",
    "azure-native:monitor:DataCollectionRule": "not drawn: it tells the data collection endpoint which table a stream "
                                               "goes to, inside Azure Monitor",
    "azure-native:monitor:ActionGroup": "not drawn: Azure Monitor sends its emails and webhook calls from outside the VNets",
    "azure-native:monitor:MetricAlert": "not drawn: Azure Monitor evaluates it on the workspace's metrics, no network path",
    "azure-native:monitor:ScheduledQueryRule": "not drawn: Azure Monitor runs its query on Log Analytics, no network path",
    "azure-native:kubernetesconfiguration:Extension": "its AKS cluster (\"Azure ML extension\" and how its router listens)",
    "azure-native:containerservice:ManagedNamespace": "its AKS cluster (the namespace models run in)",
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
    ingestion, query = r.input("publicNetworkAccessForIngestion"), r.input("publicNetworkAccessForQuery")
    if r.type in (LOG_ANALYTICS, APP_INSIGHTS):
        # Azure's default for both is Enabled: an unset switch is an open one.
        return f"public ingestion {ingestion or 'Enabled'}, query {query or 'Enabled'}"
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
    return any(source.lower() in INTERNET_SOURCES for source in _sources(rule))


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


# ------------------------------------------------------------------------------------------------
# The model: boxes, nodes and arrows, each knowing which resources it shows
# ------------------------------------------------------------------------------------------------
@dataclass
class Box:
    id: str
    label: str
    key: str
    """Stable across runs (resource keys, not URNs): matches a box of the old run to the new one's."""
    parent: Optional[str] = None
    urns: list[str] = field(default_factory=list)
    collapsed: str = ""
    """The label to use when the box is drawn as a single node (empty, or context in a change)."""


@dataclass
class Node:
    id: str
    label: str
    key: str
    box: Optional[str] = None
    urns: list[str] = field(default_factory=list)
    shape: str = "rect"


@dataclass
class Edge:
    a: str
    b: str
    arrow: str
    label: str = ""

    def line(self) -> str:
        return f'{self.a} {self.arrow}|"{self.label}"| {self.b}' if self.label else f"{self.a} {self.arrow} {self.b}"


@dataclass
class Picture:
    run: StackRun
    boxes: dict[str, Box] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    exposed: set[str] = field(default_factory=set)

    def items(self) -> list[tuple[str, Box | Node]]:
        return [*self.boxes.items(), *self.nodes.items()]

    def shows(self, urn: str) -> list[str]:
        """The ids of the nodes and boxes that show this resource."""
        return [i for i, item in self.items() if urn in item.urns]

    def by_key(self, key: str) -> Optional[str]:
        return next((i for i, item in self.items() if item.key == key), None)

    def container(self, item_id: str) -> Optional[str]:
        item = self.nodes.get(item_id)
        return item.box if item is not None else self.boxes[item_id].parent if item_id in self.boxes else None

    def ancestors(self, item_id: str) -> list[str]:
        chain, box = [], self.container(item_id)
        while box is not None:
            chain.append(box)
            box = self.boxes[box].parent
        return chain


def build(run: StackRun) -> Picture:
    """The whole topology of a run, as boxes, nodes and arrows."""
    t = Topology.of(run)
    p = Picture(run)
    counter = iter(range(10**6))
    ids: dict[str, str] = {}

    def add(r: RegisteredResource, label: str, box: Optional[str], prefix: str = "n", shape: str = "rect") -> str:
        ids[r.urn] = f"{prefix}{next(counter)}"
        p.nodes[ids[r.urn]] = Node(ids[r.urn], label, resource_key(r.urn), box, [r.urn], shape)
        return ids[r.urn]

    def also(item_id: Optional[str], r: RegisteredResource) -> None:
        if item_id is not None:
            item = p.nodes.get(item_id) or p.boxes[item_id]
            if r.urn not in item.urns:
                item.urns.append(r.urn)

    p.nodes[INTERNET] = Node(INTERNET, "Internet", INTERNET, shape="circle")
    zones = t.of_type(ZONE)

    # Roles, by the principal that holds them: shown on the node of whatever carries that identity.
    roles: dict[str, list[RegisteredResource]] = {}
    for assignment in t.of_type(ROLE_ASSIGNMENT):
        roles.setdefault(str(assignment.inputs.get("principalId")), []).append(assignment)

    def role_lines(r: RegisteredResource) -> list[str]:
        # One line per role, naming every scope it holds it on (the workspace reads four endpoints).
        scopes: dict[str, list[str]] = {}
        for principal in sorted(t.principals(r)):
            for assignment in roles.get(principal, []):
                scope = t.resolve(assignment.inputs.get("scope"))
                role = _last(str(assignment.inputs.get("roleDefinitionId", "")))
                named = _name(scope) if scope else str(assignment.inputs.get("scope"))
                if named not in scopes.setdefault(ROLE_NAMES.get(role, role), []):
                    scopes[ROLE_NAMES.get(role, role)].append(named)
        return [f"role {role} on {', '.join(names)}" for role, names in scopes.items()]

    # VNets, their subnets, and what sits in each subnet.
    for vnet in t.of_type(VNET):
        vid = f"vnet{next(counter)}"
        ids[vnet.urn] = vid
        space = ", ".join(vnet.input("addressSpace.addressPrefixes") or [])
        owners = [t.owner(link) for link in t.of_type(ZONE_LINK) if vnet in t.references(link, VNET)]
        linked = {owner.urn for owner in owners if owner is not None}
        # AKS links its API server's zone to its node pool's VNet itself (policy/serving_rules.py).
        linked |= {zone.urn for aks in t.of_type(AKS) if any(s.vnet is vnet for s in t.subnets_of(aks))
                   for zone in t.references(aks, ZONE)}
        count = sum(1 for zone in zones if zone.urn in linked)
        dns = "" if not zones else f" · {count} of {len(zones)} DNS zones linked" + (
            "" if count == len(zones) else ": SOME NAMES RESOLVE PUBLICLY")
        p.boxes[vid] = Box(vid, _label(f"VNet {_name(vnet)} {space}{dns}{_peering_text(t, vnet)}"),
                           resource_key(vnet.urn), urns=[vnet.urn])
        for link in t.of_type(ZONE_LINK):
            if vnet in t.references(link, VNET):
                also(vid, link)
        for peering in t.of_type(PEERING):
            if t.owner(peering) is vnet:
                also(vid, peering)
        for subnet in sorted((s for s in t.subnets.values() if s.vnet is vnet), key=lambda s: s.id):
            subnet.node = f"snet{next(counter)}"
            # Short facts in the title (the names are in the box drawn for an empty subnet, and in
            # the preview): a long title widens the whole VNet.
            # Azure-managed subnets (Bastion's) take no NSG of ours; any other subnet without one is news.
            paths = subnet_paths(t, subnet).lines()
            facts = ["NSG" if subnet.nsg else "no NSG" if subnet.name in AZURE_MANAGED_SUBNETS else "NO NSG"] + (
                ["NAT egress"] if subnet.nat is not None else []) + paths
            details = [f"NSG {_name(subnet.nsg)}" if subnet.nsg else "no NSG"]
            if subnet.nat is not None:
                ips = ", ".join(_name(ip) for ip in t.public_ips(subnet.nat))
                details.append(f"NAT egress {_name(subnet.nat)}" + (f" via {ips}" if ips else ""))
            details += paths
            title = f"{subnet.name} {', '.join(subnet.prefixes)}"
            # One line in a subgraph's title: Mermaid lays a taller title over the boxes inside it.
            box = Box(subnet.node, _label(f"{title} · {' · '.join(facts)}"),
                      f"{resource_key(vnet.urn)}/subnets/{subnet.name}", vid,
                      collapsed=_label(title, *(_italic(d) for d in details)))
            p.boxes[subnet.node] = box
            for holder in (subnet.resource, subnet.nsg, subnet.nat):
                if holder is not None:
                    also(subnet.node, holder)
            if subnet.nsg is not None:
                for _, declared in t.security_rules(subnet.nsg):
                    also(subnet.node, declared)
            if subnet.nat is not None:
                for ip in t.public_ips(subnet.nat):
                    also(subnet.node, ip)
            for r in t.placed.get(_norm(subnet.id), []):
                add(r, _node_text(t, r, role_lines(r)), subnet.node)
                if r.type == VM:
                    for nic in t.references(r, NIC):
                        also(ids[r.urn], nic)
                if r.type in (VM, BASTION):
                    for ip in t.public_ips(r):
                        also(ids[r.urn], ip)

    # Platform services, reached through private endpoints.
    services = [r for r in sorted(run.resources, key=lambda r: r.urn) if r.type in SERVICES]
    if services:
        p.boxes["services"] = Box("services", "Platform services", "services")
        for r in services:
            add(r, _node_text(t, r, role_lines(r)), "services")

    # What shows on the nodes above: zone groups and zones on endpoints, identities and roles on
    # their holders, anything else on the resource its id extends (a secret on its vault).
    for endpoint in t.of_type(PRIVATE_ENDPOINT):
        node_id = ids.get(endpoint.urn)
        for group in t.of_type(ZONE_GROUP):
            if node_id is not None and t.owner(group) is endpoint:
                also(node_id, group)
                for zone in t.references(group, ZONE):
                    also(node_id, zone)
    unused = [zone for zone in zones if not p.shows(zone.urn)]
    if unused:
        # A zone no endpoint writes to: still a resource, listed once.
        p.nodes[ZONES_NODE] = Node(ZONES_NODE, _label("Private DNS zones no endpoint writes to",
                                                      *(_name(z) for z in unused)), ZONES_NODE,
                                   urns=[z.urn for z in unused])
    holders = [r for r in run.resources if r.urn in ids]
    for assignment in t.of_type(ROLE_ASSIGNMENT):
        principal = assignment.inputs.get("principalId")
        carriers = [r for r in holders if principal in t.principals(r)]
        for carrier in carriers:
            also(ids[carrier.urn], assignment)
            for identity in t.references(carrier, IDENTITY):
                also(ids[carrier.urn], identity)
        scope = t.resolve(assignment.inputs.get("scope"))
        if not carriers and scope is not None and scope.urn in ids:
            also(ids[scope.urn], assignment)
    # A resource without a node of its own shows on the resource its id extends (a secret's vault),
    # else the first shown one its inputs name (a diagnostic setting's resourceUri, an alert's scope),
    # else the first shown one whose inputs name it (an action group, on its alert rule's node; a data
    # collection endpoint, on the private link scope that scopes it): a change to it colours that
    # node. Repeated until nothing moves, as one placed resource can place the next.
    unplaced = [r for r in run.resources if r.custom and not p.shows(r.urn) and r.type not in (RESOURCE_GROUP, IDENTITY)]
    referrers: dict[str, list[RegisteredResource]] = {}
    for other in run.resources:
        for text in strings(other.inputs):
            target = t.resolve(text)
            if target is not None and target.urn != other.urn:
                referrers.setdefault(target.urn, []).append(other)
    while unplaced:
        placed = []
        for r in unplaced:
            near = [t.owner(r) if r.id else None, *(t.resolve(text) for text in strings(r.inputs)),
                    *referrers.get(r.urn, [])]
            holder = next((n for n in near if n is not None and n.urn != r.urn and p.shows(n.urn)), None)
            if holder is not None:
                also(p.shows(holder.urn)[0], r)
                placed.append(r)
        if not placed:
            break
        unplaced = [r for r in unplaced if r not in placed]

    p.edges = list(_edges(t, ids))
    if not any(INTERNET in (e.a, e.b) for e in p.edges):
        del p.nodes[INTERNET]  # drawn only when something besides Bastion is reachable from it
    p.exposed = set(_exposed(t, ids))
    return p


def _peerings(t: Topology) -> set[tuple[str, str]]:
    """(local VNet URN, remote VNet URN) for each peering declared."""
    declared: set[tuple[str, str]] = set()
    for peering in t.of_type(PEERING):
        local = t.owner(peering)
        for remote in t.references(peering, VNET):
            if local is not None:
                declared.add((local.urn, remote.urn))
    return declared


def _peering_text(t: Topology, vnet: RegisteredResource) -> str:
    """Peering as words in the VNet's title, not an arrow: an arrow between two boxes puts one box a
    whole column to the right of the other, which doubled the picture's width."""
    declared, names = _peerings(t), {r.urn: _name(r) for r in t.of_type(VNET)}
    parts = []
    for local, remote in sorted(declared):
        if local == vnet.urn:
            both = (remote, local) in declared
            parts.append(f"peered both ways with {names.get(remote, remote)}" if both else
                         f"peered to {names.get(remote, remote)}: ONE WAY ONLY, none back")
        elif remote == vnet.urn and (vnet.urn, local) not in declared:
            parts.append(f"{names.get(local, local)} peers to it: ONE WAY ONLY, none back")
    return "".join(f" · {part}" for part in parts)


def _node_text(t: Topology, r: RegisteredResource, roles: Sequence[str]) -> str:
    if r.type == PRIVATE_ENDPOINT:
        groups = [g for c in r.inputs.get("privateLinkServiceConnections") or [] for g in c.get("groupIds") or []]
        zones = [_name(zone) for group in t.of_type(ZONE_GROUP) if t.owner(group) is r
                 for zone in t.references(group, ZONE)]
        # Each zone on its endpoint: twenty arrows to a zone column made a tangle nobody could follow.
        return _label(f"PE {_name(r)}", _italic(", ".join(groups)),
                      *zones if zones else ("NO DNS ZONE: resolves publicly",))
    if r.type == BASTION:
        shown = [f"public IP {_name(ip)} {ip.input('sku.name', '')} {ip.input('publicIPAllocationMethod', '')}".rstrip()
                 for ip in t.public_ips(r)]
        # Words, not an arrow from the internet: Bastion is the one way in by design, and an arrow
        # into the Bastion VNet ties its layout to the rest of the picture (a third wider).
        return _label(f"Bastion {_name(r)}", _italic(r.input("sku.name", "")), *shown,
                      "HTTPS 443 from the internet" if shown else "")
    if r.type == VM:
        ips = t.public_ips(r)
        return _label(f"VM {_name(r)}", _italic(r.input("hardwareProfile.vmSize", "")),
                      *(f"PUBLIC IP {_name(ip)}" for ip in ips) if ips else ("no public IP",), *roles)
    if r.type == AKS:
        return _aks_text(t, r, roles)
    if r.type == COMPUTE and r.input("properties.computeType") == "Kubernetes":
        return _label(f"Kubernetes compute {_name(r)}", _italic(f"namespace {r.input('properties.properties.namespace')}"),
                      *roles)
    if r.type == COMPUTE:
        p = r.input("properties.properties") or {}
        scale = p.get("scaleSettings") or {}
        public = "node public IP" if p.get("enableNodePublicIp") is not False else "no node public IP"
        return _label(f"AmlCompute {_name(r)}",
                      _italic(f"{show(scale.get('minNodeCount'))}-{show(scale.get('maxNodeCount'))} x {p.get('vmSize')}"),
                      public, *roles)
    # The registry's SKU is part of its isolation: only Premium takes a private endpoint.
    sku = r.input("sku.name", "") if r.type == REGISTRY else ""
    # Where App Insights sends its data, and what a scope holds, as words: an arrow inside the
    # services box adds a column to the picture.
    logs = t.resolve(r.inputs.get("workspaceResourceId")) if r.type == APP_INSIGHTS else None
    scoped = [t.resolve(s.inputs.get("linkedResourceId")) for s in t.of_type(SCOPED_RESOURCE) if t.owner(s) is r]
    holds = ", ".join(_name(x) for x in scoped if x is not None)
    return _label(f"{SERVICES[r.type]} {_name(r)}", _italic(_public_access(r) or _access_modes(r)), sku,
                  f"sends to {_name(logs)}" if logs is not None else "", f"scopes {holds}" if holds else "", *roles)


def _aks_text(t: Topology, r: RegisteredResource, roles: Sequence[str]) -> str:
    """A private cluster: its API server, node pool and the Azure ML extension's router, as words."""
    access = r.inputs.get("apiServerAccessProfile") or {}
    api = "private API server" if access.get("enablePrivateCluster") is True else "PUBLIC API server"
    if access.get("enablePrivateClusterPublicFQDN") is not False:
        api += ", public FQDN"
    pools = [p for p in r.inputs.get("agentPoolProfiles") or [] if isinstance(p, Mapping)]
    sizes = [f"{show(p.get('minCount'))}-{show(p.get('maxCount'))} x {p.get('vmSize')}" for p in pools]
    router = ""
    for ext in t.run.resources:
        settings = ext.inputs.get("configurationSettings") if ext.type.endswith(":Extension") else None
        if isinstance(settings, Mapping) and r.urn in ext.property_dependencies.get("clusterName", []):
            internal = str(settings.get("internalLoadBalancerProvider", "")).lower() == "azure"
            https = str(settings.get("allowInsecureConnections", "")).lower() == "false"
            router = (f"Azure ML extension: {'internal' if internal else 'PUBLIC'} LB, "
                      f"{'HTTPS ' + str(settings.get('sslCname', '')) if https else 'PLAIN HTTP'}")
    return _label(f"AKS {_name(r)}", _italic(", ".join(sizes)), api, router, *roles)


def _edges(t: Topology, ids: Mapping[str, str]) -> Iterator[Edge]:
    # Inbound: the internet to public IPs, and subnet to subnet where an NSG rule allows it.
    for vm in t.of_type(VM):
        if t.public_ips(vm) and vm.urn in ids:
            yield Edge(INTERNET, ids[vm.urn], "==>", "public IP on a VM")
    for subnet in sorted(t.subnets.values(), key=lambda s: s.id):
        for rule in _allowed_inbound(t, subnet):
            if from_internet(rule):
                yield Edge(INTERNET, subnet.node, "==>", f"{_allowed_text(rule)} allowed")
        for origin, text in subnet_paths(t, subnet).arrows:
            yield Edge(origin.node, subnet.node, "-->", f"{text} allowed")

    # Private endpoints to their target.
    for endpoint in t.of_type(PRIVATE_ENDPOINT):
        for connection in endpoint.inputs.get("privateLinkServiceConnections") or []:
            target = t.resolve(connection.get("privateLinkServiceId"))
            if target is None:
                # A target Azure creates and manages (an AML registry's storage account and ACR): the
                # arrow goes to the resource whose outputs named it.
                owners = endpoint.property_dependencies.get("privateLinkServiceConnections", [])
                target = next((t.run.by_urn(u) for u in owners if u in ids), None)
            if endpoint.urn in ids and target is not None and target.urn in ids:
                yield Edge(ids[endpoint.urn], ids[target.urn], "-->")

    # The workspace's dependencies, and clusters to their workspace. No words on these arrows, nor on
    # the endpoints' (the legend in README says what each means): in Mermaid's layout an arrow's
    # label takes a column of its own, and these labels made the picture a third wider.
    for workspace in t.of_type(WORKSPACE):
        for key in ("storageAccount", "keyVault", "containerRegistry", "applicationInsights"):
            target = t.resolve(workspace.inputs.get(key))
            if target is not None and target.urn in ids and workspace.urn in ids:
                yield Edge(ids[workspace.urn], ids[target.urn], "-.->")
    for cluster in t.of_type(COMPUTE):
        for workspace in t.of_type(WORKSPACE):
            if cluster.inputs.get("workspaceName") == _name(workspace) and cluster.urn in ids and workspace.urn in ids:
                yield Edge(ids[cluster.urn], ids[workspace.urn], "-.->")


def _exposed(t: Topology, ids: Mapping[str, str]) -> Iterator[str]:
    """What the internet can reach other than Bastion: a service with public access on, a VM with a
    public IP, a subnet an NSG rule opens to the internet."""
    for r in t.run.resources:
        if r.urn in ids and r.type in SERVICES and "Enabled" in _public_access(r):
            yield ids[r.urn]
    for vm in t.of_type(VM):
        if vm.urn in ids and t.public_ips(vm):
            yield ids[vm.urn]
    for subnet in t.subnets.values():
        if any(from_internet(rule) for rule in _allowed_inbound(t, subnet)):
            yield subnet.node


# ------------------------------------------------------------------------------------------------
# Mermaid
# ------------------------------------------------------------------------------------------------
HEADER = "%% {project}/{stack}: {what} generated by `{command}`"


def mermaid(run: StackRun) -> str:
    """The whole topology as a Mermaid flowchart."""
    p = build(run)
    head = HEADER.format(project=run.project, stack=run.stack, what="topology",
                         command=f"python -m offline diagram --stack {run.stack}")
    return _render(p, head, set(p.nodes), set(p.boxes), {}, [], [])[0]


@dataclass
class Ghost:
    """Something the change deletes, drawn grey and struck through where it used to be."""

    id: str
    label: str
    box: Optional[str]


def change_picture(old: StackRun, new: StackRun, changes: Mapping[str, str],
                   deleted: Sequence[RegisteredResource] = (), names: Optional[Mapping[str, str]] = None,
                   ) -> tuple[str, int]:
    """The picture of a change: what changed (`changes`: URN on the new side -> create, update or
    replace), its direct neighbours for context, and each deleted resource (old side) as a ghost.
    `names`: what to call each kind in the legend and the note, when not LEGEND's words (between two
    stacks nothing is created or deleted: "only in prod", "only in dev").
    Returns the Mermaid text and the number of resource nodes it draws."""
    called = {**LEGEND, **(names or {})}
    p, before = build(new), build(old)
    marks: dict[str, str] = {}
    elsewhere: list[str] = []

    def mark(item_id: str, kind: str) -> None:
        if RANK.get(kind, 0) > RANK.get(marks.get(item_id, ""), 0):
            marks[item_id] = kind

    custom = {r.urn for r in new.resources if r.custom}
    for urn, kind in sorted(changes.items()):
        if urn not in custom:
            continue  # a component: its children show its change
        shown = p.shows(urn)
        for item_id in shown:
            mark(item_id, kind)
        if not shown:
            r = new.by_urn(urn)
            elsewhere.append(f"{called.get(kind, kind)}: {r.type.split(':')[-1]} {r.name}")

    # Deleted resources: a ghost where the old picture drew them, or, when what showed them is
    # still there (a NIC deleted from a VM that stays), that thing marked changed and a ghost beside it.
    ghosts: dict[str, Ghost] = {}
    ghost_edges: list[Edge] = []
    for r in sorted((r for r in deleted if r.custom), key=lambda r: r.urn):
        shown = before.shows(r.urn) or [before.nodes[ZONES_NODE].id if ZONES_NODE in before.nodes else ""]
        for old_id in shown:
            item = before.nodes.get(old_id) or before.boxes.get(old_id)
            survivor = p.by_key(item.key) if item is not None else None
            if item is not None and survivor is None:
                if item.key not in ghosts:
                    old_box = before.container(old_id)
                    box = p.by_key(before.boxes[old_box].key) if old_box else None
                    text = item.collapsed if isinstance(item, Box) and item.collapsed else item.label
                    ghosts[item.key] = Ghost(f"ghost{len(ghosts)}", text, box)
                    for edge in before.edges:
                        if old_id in (edge.a, edge.b):
                            other = before.nodes.get(edge.b if edge.a == old_id else edge.a) or \
                                before.boxes.get(edge.b if edge.a == old_id else edge.a)
                            there = p.by_key(other.key) if other is not None else None
                            if there is not None:
                                a, b = (ghosts[item.key].id, there) if edge.a == old_id else (there, ghosts[item.key].id)
                                ghost_edges.append(Edge(a, b, "-.-", f"was: {edge.label}" if edge.label else "was"))
                if resource_key(r.urn) != item.key:
                    ghosts[item.key].label += "<br/>" + f"with {r.type.split(':')[-1]} {r.name}"
            elif survivor is not None:
                mark(survivor, "update")
                key = f"{item.key}#{r.urn}" if item is not None else r.urn
                box = survivor if survivor in p.boxes else p.container(survivor)
                ghosts[key] = Ghost(f"ghost{len(ghosts)}", f"{r.type.split(':')[-1]} {r.name}", box)
                if box != survivor:  # inside the box that showed it, it needs no arrow to it
                    ghost_edges.append(Edge(ghosts[key].id, survivor, "-.-", "was on"))
            else:
                elsewhere.append(f"{called['delete']}: {r.type.split(':')[-1]} {r.name}")

    # Context: what the changed things connect to, and what sits in a changed box.
    keep_nodes = {i for i in marks if i in p.nodes}
    keep_boxes = {i for i in marks if i in p.boxes}
    focus = set(marks) | {g.box for g in ghosts.values() if g.box is not None}
    for item_id in list(focus):
        near = {item_id, *([p.container(item_id)] if item_id in p.nodes and p.container(item_id) in p.boxes
                           and p.container(item_id) != "services" else [])}
        for edge in p.edges:
            if edge.a in near or edge.b in near:
                for end in (edge.a, edge.b):
                    (keep_nodes if end in p.nodes else keep_boxes).add(end)
        if item_id in marks and item_id in p.boxes:
            keep_nodes |= {n.id for n in p.nodes.values() if n.box == item_id}
            keep_boxes |= {b.id for b in p.boxes.values() if b.parent == item_id}
    for ghost in ghosts.values():
        if ghost.box is not None:
            keep_boxes.add(ghost.box)
    for edge in ghost_edges:
        for end in (edge.a, edge.b):
            if end in p.nodes:
                keep_nodes.add(end)
            elif end in p.boxes:
                keep_boxes.add(end)
    if elsewhere:
        p.nodes[ELSEWHERE_NODE] = Node(ELSEWHERE_NODE, _label("Not drawn as a node", *elsewhere[:6],
                                                             f"... {len(elsewhere) - 6} more" if len(elsewhere) > 6 else ""),
                                       ELSEWHERE_NODE)
        keep_nodes.add(ELSEWHERE_NODE)
    head = HEADER.format(project=new.project, stack=new.stack, what="the change's picture",
                         command=f"python -m offline diff --stack {new.stack} --format markdown")
    return _render(p, head, keep_nodes, keep_boxes, marks, list(ghosts.values()), ghost_edges, legend=called)


def _render(p: Picture, head: str, keep_nodes: set[str], keep_boxes: set[str], marks: Mapping[str, str],
            ghosts: Sequence[Ghost], ghost_edges: Sequence[Edge],
            legend: Optional[Mapping[str, str]] = None) -> tuple[str, int]:
    """Mermaid text for the kept part of a picture, and how many resource nodes it draws (boxes drawn
    as nodes and ghosts included; the legend, the internet and the note of what is not drawn not).
    A kept box with nothing kept inside it is drawn as a node: Mermaid draws an empty subgraph as
    nothing, and an empty subnet is still there."""
    drawn_boxes = set(keep_boxes)
    for item_id in keep_nodes | {g.box for g in ghosts if g.box}:
        drawn_boxes.update(p.ancestors(item_id) if item_id in p.nodes else [item_id, *p.ancestors(item_id)])
    holders = {p.nodes[n].box for n in keep_nodes if n in p.nodes} | {g.box for g in ghosts} | \
        {b.parent for b in p.boxes.values() if b.id in drawn_boxes}
    as_node = {b for b in drawn_boxes if b not in holders}
    lines = [head, "flowchart LR"]
    count = 0

    def emit(box: Optional[str], indent: str) -> None:
        nonlocal count
        for node in p.nodes.values():
            if node.box == box and node.id in keep_nodes:
                lines.append(f"{indent}{_node_line(node.id, node.label, node.shape)}")
                count += node.id not in (INTERNET, ELSEWHERE_NODE)
        for ghost in ghosts:
            if ghost.box == box:
                lines.append(f'{indent}{ghost.id}["<s>{ghost.label}</s>"]')
                count += 1
        for child in p.boxes.values():
            if child.parent == box and child.id in drawn_boxes:
                if child.id in as_node:
                    count += 1
                    text = child.collapsed or child.label
                    lines.append(f'{indent}{child.id}["{text}"]')
                else:
                    lines.append(f'{indent}subgraph {child.id}["{child.label}"]')
                    emit(child.id, indent + "  ")
                    lines.append(f"{indent}end")

    emit(None, "  ")
    edges = [e for e in p.edges if _kept(e.a, keep_nodes, drawn_boxes) and _kept(e.b, keep_nodes, drawn_boxes)]
    lines += ["", *(f"  {e.line()}" for e in [*edges, *ghost_edges])]

    used: dict[str, list[str]] = {}
    for item_id, kind in marks.items():
        used.setdefault(kind, []).append(item_id)
    used["delete"] = [g.id for g in ghosts]
    used["exposed"] = sorted(i for i in p.exposed if i in keep_nodes or i in drawn_boxes)
    if legend or any(used.values()):
        kinds = [k for k in CLASS_STYLES if legend or used.get(k)]
        lines += ['  subgraph legend["Legend"]', "    direction LR"]
        lines += [f'    legend_{k}["{(legend or LEGEND)[k]}"]' for k in kinds]
        lines.append("  end")
        if len(kinds) > 1:
            lines.append("  " + " ~~~ ".join(f"legend_{k}" for k in kinds))
        for k in kinds:
            used.setdefault(k, []).append(f"legend_{k}")
    plain_boxes = sorted(b for b in drawn_boxes - as_node if b not in marks and b not in used["exposed"])
    if ELSEWHERE_NODE in keep_nodes:
        lines += [f"  classDef plain {PLAIN_NODE}", f"  class {ELSEWHERE_NODE} plain"]
    # A box drawn as a node (an empty subnet; a subnet kept for context) looks like a box, not a resource.
    styled = {m for members in used.values() for m in members}
    plain_as_node = sorted(b for b in as_node if b not in styled)
    if plain_as_node:
        lines += [f"  classDef box {PLAIN_BOX}", f"  class {','.join(plain_as_node)} box"]
    for name, style in CLASS_STYLES.items():
        members = sorted(set(used.get(name, [])))
        nodes = [m for m in members if m not in drawn_boxes or m in as_node]
        if nodes:
            lines.append(f"  classDef {name} {style}")
            lines.append(f"  class {','.join(nodes)} {name}")
        # Boxes (VNets, subnets) take a style line of their own: `class` is for nodes.
        lines.extend(f"  style {m} {BOX_STYLES[name]}" for m in members if m in drawn_boxes and m not in as_node)
    lines.extend(f"  style {b} {PLAIN_BOX}" for b in plain_boxes)
    if legend or any(used.values()):
        lines.append(f"  style legend {PLAIN_BOX}")
    return "\n".join(lines) + "\n", count


def _kept(item_id: str, keep_nodes: set[str], drawn_boxes: set[str]) -> bool:
    return item_id in keep_nodes or item_id in drawn_boxes


def _node_line(node_id: str, label: str, shape: str) -> str:
    return f'{node_id}(("{label}"))' if shape == "circle" else f'{node_id}["{label}"]'


def unshown_types(run: StackRun) -> list[str]:
    """Types the run registers that the diagram neither draws nor shows on another node."""
    return sorted({r.type for r in run.resources if r.custom} - DRAWN_TYPES - set(SHOWN_ON_ANOTHER_NODE))


def document(run: StackRun) -> str:
    """docs/topology.md: the stack's diagram as a page, so a pull request that changes the topology
    changes this file too and the reviewer sees the picture change."""
    return "\n".join([
        f"# Topology of `{run.stack}`, as the program registers it",
        "",
        f"Generated by `python -m offline diagram --stack {run.stack}` (how to read it: "
        "[offline.md](offline.md#diagram-the-topology-drawn-from-the-registrations)). "
        "`make test` fails when it is out of date; regenerate with `UPDATE_SNAPSHOTS=1 make test`, "
        f"which also redraws [topology.png](topology.png) in Chromium.",
        "",
        "```mermaid",
        mermaid(run).rstrip(),
        "```",
        "",
        f"![The topology of {run.stack}, rendered by mermaid-cli](topology.png)",
        "",
    ])
