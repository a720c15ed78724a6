"""The picture of a topology: boxes, nodes and arrows, each knowing which resources it shows
(`build`). offline/topology.py renders it as Mermaid, whole or as the picture of a change."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Mapping, Optional, Sequence

from isolated_mlops.components.catalogue import (
    AKS, K8S_EXTENSION, APP_INSIGHTS, AZURE_MANAGED_SUBNETS, BASTION, COMPUTE, IDENTITY, NIC, NSG, PEERING, PRIVATE_ENDPOINT, REGISTRY,
    RESOURCE_GROUP, ROLE_ASSIGNMENT, SCOPED_RESOURCE, VM, VNET, WORKSPACE, ZONE_GROUP, ZONE_LINK,
)
from isolated_mlops.components.catalogue import PRIVATE_ZONE as ZONE
from offline.engine import RegisteredResource, StackRun
from offline.preview import show
from offline.topology_model import (
    INTERNET, ROLE_NAMES, SERVICES, ZONES_NODE, Topology, _access_modes, _allowed_inbound, _allowed_text, _italic,
    _label, _last, _name, _norm, _public_access, from_internet, resource_key, subnet_paths,
)


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
        # AKS links its API server's zone to its node pool's VNet itself (policy/rules/serving.py).
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
    # `first_shown[urn]` is `p.shows(urn)[0]`, kept up to date as resources are placed below (a placed
    # resource was shown nowhere, so the item it is added to is then its first), instead of searching
    # every item's URNs for each resource at each step.
    first_shown: dict[str, str] = {}
    for item_id, item in p.items():
        for urn in item.urns:
            first_shown.setdefault(urn, item_id)
    unplaced = [r for r in run.resources if r.custom and r.urn not in first_shown
                and r.type not in (RESOURCE_GROUP, IDENTITY)]
    referrers: dict[str, list[RegisteredResource]] = {}
    for other in run.resources:
        for target in t.targets(other):
            if target.urn != other.urn:
                referrers.setdefault(target.urn, []).append(other)
    while unplaced:
        placed = []
        for r in unplaced:
            near = [t.owner(r) if r.id else None, *t.targets(r), *referrers.get(r.urn, [])]
            holder = next((n for n in near if n is not None and n.urn != r.urn and n.urn in first_shown), None)
            if holder is not None:
                also(first_shown[holder.urn], r)
                first_shown[r.urn] = first_shown[holder.urn]
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


def _aks_text(t: Topology, r: RegisteredResource, roles: Sequence[str]) -> str:
    """A private cluster: its API server, node pool and the Azure ML extension's router, as words."""
    access = r.inputs.get("apiServerAccessProfile") or {}
    api = "private API server" if access.get("enablePrivateCluster") is True else "PUBLIC API server"
    if access.get("enablePrivateClusterPublicFQDN") is not False:
        api += ", public FQDN"
    pools = [p for p in r.inputs.get("agentPoolProfiles") or [] if isinstance(p, Mapping)]
    sizes = [f"{show(p.get('minCount'))}-{show(p.get('maxCount'))} x {p.get('vmSize')}" for p in pools]
    router = ""
    for ext in t.of_type(K8S_EXTENSION):
        settings = ext.inputs.get("configurationSettings")
        if isinstance(settings, Mapping) and r.urn in ext.property_dependencies.get("clusterName", []):
            internal = str(settings.get("internalLoadBalancerProvider", "")).lower() == "azure"
            https = str(settings.get("allowInsecureConnections", "")).lower() == "false"
            router = (f"Azure ML extension: {'internal' if internal else 'PUBLIC'} LB, "
                      f"{'HTTPS ' + str(settings.get('sslCname', '')) if https else 'PLAIN HTTP'}")
    return _label(f"AKS {_name(r)}", _italic(", ".join(sizes)), api, router, *roles)


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
