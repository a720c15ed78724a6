"""The platform's topology, drawn from what the program registers: a Mermaid flowchart.

Nobody draws this picture by hand, so it cannot go stale: every box and arrow comes from a
registration's inputs, linked through the ARM ids Azure links them by (a NIC's subnet id, an
endpoint's target id, a zone group's zone ids, a DNS link's VNet id, a peering's remote VNet id,
an NSG rule's source prefix). A change that moves a VM to another subnet, drops a peering direction
or a zone link, or puts a public IP on a NIC shows in the diagram of the pull request that makes it.

What is drawn:
- each VNet as a box holding its subnets (name, prefix, NSG), and in each subnet what sits there:
  private endpoints, Bastion, VMs (through their NICs), AmlCompute clusters;
- peerings between VNets (both ways, or flagged one way only);
- private endpoints to their targets and to the private DNS zones their zone groups write to;
  the zones' links to each VNet, counted;
- who may open connections where: the internet to a public IP, and a subnet to another where an
  NSG rule allows it; egress through NAT gateways;
- the workspace's links to its dependencies, clusters to their workspace, managed identities'
  role assignments.
Every type the program registers is either drawn or named in `SHOWN_ON_ANOTHER_NODE` (a test
keeps it so), so a new kind of resource cannot silently go missing from the picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Optional

from components.roles import ROLE_NAMES as ASSIGNED_ROLE_NAMES
from offline.engine import RegisteredResource, StackRun
from offline.preview import show
# Type tokens are named once, in the rules module.
from policy.rules import (
    APP_INSIGHTS, BASTION, COMPUTE, KEY_VAULT, KEY_VAULT_SECRET, LOG_ANALYTICS, ML_REGISTRY, NAT_GATEWAY, NIC, NSG, PEERING,
    PRIVATE_ENDPOINT, PUBLIC_IP, REGISTRY, RESOURCE_GROUP, SCOPED_RESOURCE, STORAGE, SUBNET, VM, VNET, WORKSPACE,
    ZONE_GROUP, ZONE_LINK, strings,
)
from policy.rules import PRIVATE_LINK_SCOPE as MONITOR_SCOPE
from policy.rules import PRIVATE_ZONE as ZONE

IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"

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

DRAWN_TYPES = frozenset({VNET, SUBNET, PRIVATE_ENDPOINT, BASTION, VM, COMPUTE, NAT_GATEWAY, ZONE, *SERVICES})

SHOWN_ON_ANOTHER_NODE: Mapping[str, str] = {
    # Registered types that are not a node of their own, and where the diagram shows them instead.
    NIC: "its VM, placed in the NIC's subnet",
    PUBLIC_IP: "the Bastion or NAT gateway that holds it, with an arrow from or to the internet",
    NSG: "the subnet it guards (its name in the subnet's label; its allow rules as arrows)",
    PEERING: "an arrow between the two VNets",
    ZONE_LINK: "the count of linked zones on the arrow from the zones to each VNet",
    ZONE_GROUP: "arrows from its private endpoint to each zone it writes to",
    IDENTITY: "arrows from the VMs and clusters that carry it to where its roles are assigned",
    ROLE_ASSIGNMENT: "the label of that arrow",
    SCOPED_RESOURCE: "an arrow from the private link scope to the resource it scopes",
    KEY_VAULT_SECRET: "its Key Vault",
    RESOURCE_GROUP: "the whole diagram",
    "random:index/randomString:RandomString": "the names (the suffix)",
    "azure-native:authorization:ManagementLockAtResourceLevel": "the resource it locks",
    # Not a network path: Azure Monitor collects resource logs on its own backbone.
    "azure-native:monitor:DiagnosticSetting": "not drawn: it routes a resource's logs to Log Analytics inside Azure Monitor",
}

# Built-in roles the platform assigns, by role definition id: shown by name on the arrows.
ROLE_NAMES: Mapping[str, str] = ASSIGNED_ROLE_NAMES

INTERNET = "internet"
INTERNET_SOURCES = ("*", "Internet", "0.0.0.0/0", "Any")
ZONES_BOX = "dnszones"

# Colours for what a pull request changes (GitHub's diff palette), and for what a reviewer must see.
CLASS_STYLES: Mapping[str, str] = {
    "create": "fill:#e6ffec,stroke:#1a7f37",
    "update": "fill:#fff8c5,stroke:#9a6700",
    "replace": "fill:#ffebe9,stroke:#cf222e",
    "exposed": "fill:#ffebe9,stroke:#cf222e,stroke-width:3px",
}


def _norm(resource_id: Any) -> str:
    # ARM ids are case-insensitive; Azure itself returns them in more than one casing.
    return resource_id.rstrip("/").lower() if isinstance(resource_id, str) else ""


def _last(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def _label(*lines: Any) -> str:
    """A node label: lines joined by <br/>, quotes escaped for Mermaid."""
    return "<br/>".join(str(line).replace('"', "#quot;") for line in lines if line not in (None, ""))


@dataclass
class Subnet:
    id: str
    name: str
    prefixes: list[str]
    vnet: RegisteredResource
    nsg: Optional[RegisteredResource] = None
    nat: Optional[RegisteredResource] = None
    node: str = ""


@dataclass
class Topology:
    """The run's resources, indexed by how Azure links them."""

    run: StackRun
    by_id: dict[str, RegisteredResource] = field(default_factory=dict)
    subnets: dict[str, Subnet] = field(default_factory=dict)
    placed: dict[str, list[RegisteredResource]] = field(default_factory=dict)
    """Subnet id -> the resources drawn inside that subnet."""
    nodes: dict[str, str] = field(default_factory=dict)
    """URN -> Mermaid node id, for every resource drawn as a node (or VNet box)."""

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
                self._add_subnet(standalone.id, {**standalone.inputs, "name": _last(standalone.id)}, holder)

    def _add_subnet(self, subnet_id: str, props: Mapping[str, Any], vnet: RegisteredResource) -> None:
        prefixes = [props["addressPrefix"]] if props.get("addressPrefix") else list(props.get("addressPrefixes") or [])
        self.subnets[_norm(subnet_id)] = Subnet(
            id=subnet_id, name=props["name"], prefixes=prefixes, vnet=vnet,
            nsg=self.resolve((props.get("networkSecurityGroup") or {}).get("id")),
            nat=self.resolve((props.get("natGateway") or {}).get("id")))

    def _place(self) -> None:
        """Put each endpoint, Bastion, cluster and VM in the subnet(s) its inputs name."""
        for r in sorted(self.run.resources, key=lambda r: r.urn):
            if r.type in (PRIVATE_ENDPOINT, BASTION, COMPUTE):
                where = self.subnets_of(r)
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
    modes = r.input("accessModeSettings") or {}
    if modes:
        return f"access mode: ingestion {modes.get('ingestionAccessMode')}, query {modes.get('queryAccessMode')}"
    return ""


def _italic(text: str) -> str:
    return f"<i>{text}</i>" if text else ""


def _node_text(t: Topology, r: RegisteredResource) -> str:
    if r.type == PRIVATE_ENDPOINT:
        groups = [g for c in r.inputs.get("privateLinkServiceConnections") or [] for g in c.get("groupIds") or []]
        return _label(f"PE {_name(r)}", _italic(", ".join(groups)))
    if r.type == BASTION:
        shown = [f"public IP {_name(ip)} {ip.input('sku.name', '')} {ip.input('publicIPAllocationMethod', '')}".rstrip()
                 for ip in t.public_ips(r)]
        return _label(f"Bastion {_name(r)}", _italic(r.input("sku.name", "")), *shown)
    if r.type == VM:
        ips = t.public_ips(r)
        return _label(f"VM {_name(r)}", _italic(r.input("hardwareProfile.vmSize", "")),
                      *(f"PUBLIC IP {_name(ip)}" for ip in ips) if ips else ("no public IP",))
    if r.type == COMPUTE:
        p = r.input("properties.properties") or {}
        scale = p.get("scaleSettings") or {}
        public = "node public IP" if p.get("enableNodePublicIp") is not False else "no node public IP"
        return _label(f"AmlCompute {_name(r)}",
                      _italic(f"{show(scale.get('minNodeCount'))}-{show(scale.get('maxNodeCount'))} x {p.get('vmSize')}"),
                      public)
    if r.type == NAT_GATEWAY:
        return _label(f"NAT gateway {_name(r)}", *(f"egress IP {_name(ip)}" for ip in t.public_ips(r)))
    if r.type == ZONE:
        return _label(_name(r))
    # The registry's SKU is part of its isolation: only Premium takes a private endpoint.
    sku = r.input("sku.name", "") if r.type == REGISTRY else ""
    return _label(f"{SERVICES[r.type]} {_name(r)}", _italic(_public_access(r)), sku)


# ------------------------------------------------------------------------------------------------
# Mermaid
# ------------------------------------------------------------------------------------------------
def mermaid(run: StackRun, changes: Optional[Mapping[str, str]] = None) -> str:
    """The topology as a Mermaid flowchart.

    `changes`: URN -> create/update/replace; the node that shows that resource is filled in the
    change's colour (a NIC's change colours its VM, an NSG's its subnet, and so on).
    """
    t = Topology.of(run)
    lines = [f"%% {run.project}/{run.stack}: topology generated by `python -m offline diagram --stack {run.stack}`",
             "flowchart LR"]
    counter = iter(range(10**6))

    def node_id(r: RegisteredResource, prefix: str = "n") -> str:
        if r.urn not in t.nodes:
            t.nodes[r.urn] = f"{prefix}{next(counter)}"
        return t.nodes[r.urn]

    # Outside every VNet: the internet, on the left, where connections come from.
    lines.append(f'  {INTERNET}(("Internet"))')

    # VNets, their subnets, and what sits in each subnet.
    for vnet in t.of_type(VNET):
        vid = node_id(vnet, "vnet")
        space = ", ".join(vnet.input("addressSpace.addressPrefixes") or [])
        lines.append(f'  subgraph {vid}["{_label(f"VNet {_name(vnet)} {space}")}"]')
        for subnet in sorted((s for s in t.subnets.values() if s.vnet is vnet), key=lambda s: s.id):
            subnet.node = f"snet{next(counter)}"
            title = f"{subnet.name} {', '.join(subnet.prefixes)}"
            guard = f"NSG {_name(subnet.nsg)}" if subnet.nsg else "no NSG"
            if any(rule.get("sourceAddressPrefix") in subnet.prefixes for rule in _allowed_inbound(subnet)):
                guard += ", hosts reach each other"  # an allow from the subnet itself: drawn here, not as a loop
            members = t.placed.get(_norm(subnet.id), [])
            lines.append(f'    subgraph {subnet.node}["{_label(title, f"<i>{guard}</i>")}"]')
            if not members:
                # Mermaid draws an empty subgraph as nothing; a subnet with nothing in it is still there.
                lines.append(f'      {subnet.node}e[" "]:::empty')
            for r in members:
                lines.append(f'      {node_id(r)}["{_node_text(t, r)}"]')
            lines.append("    end")
        lines.append("  end")

    # Platform services, reached through private endpoints.
    services = [r for r in sorted(run.resources, key=lambda r: r.urn) if r.type in SERVICES]
    if services:
        lines.append('  subgraph services["Platform services"]')
        for r in services:
            lines.append(f'    {node_id(r)}["{_node_text(t, r)}"]')
        lines.append("  end")

    zones = t.of_type(ZONE)
    if zones:
        lines.append(f'  subgraph {ZONES_BOX}["Private DNS zones"]')
        for zone in zones:
            lines.append(f'    {node_id(zone)}[("{_node_text(t, zone)}")]')
        lines.append("  end")

    nats = t.of_type(NAT_GATEWAY)
    for nat in nats:
        lines.append(f'  {node_id(nat)}["{_node_text(t, nat)}"]')

    lines += ["", *("  " + edge for edge in _edges(t))]
    lines += _styles(t, changes or {})
    return "\n".join(lines) + "\n"


def _edges(t: Topology) -> Iterator[str]:
    nodes = t.nodes

    # Peering, as declared: both ways, or a warning that one direction is missing.
    declared: set[tuple[str, str]] = set()
    for peering in t.of_type(PEERING):
        local, remotes = t.owner(peering), t.references(peering, VNET)
        for remote in remotes:
            if local is not None and local.urn in nodes and remote.urn in nodes:
                declared.add((local.urn, remote.urn))
    for a, b in sorted(declared):
        if (b, a) in declared:
            if a < b:
                yield f'{nodes[a]} <-->|"peered both ways"| {nodes[b]}'
        else:
            yield f'{nodes[a]} -->|"peering ONE WAY ONLY: none back"| {nodes[b]}'

    # Inbound: the internet to public IPs, and subnet to subnet where an NSG rule allows it.
    for bastion in t.of_type(BASTION):
        if t.public_ips(bastion) and bastion.urn in nodes:
            yield f'{INTERNET} -->|"HTTPS 443"| {nodes[bastion.urn]}'
    for vm in t.of_type(VM):
        if t.public_ips(vm) and vm.urn in nodes:
            yield f'{INTERNET} ==>|"public IP on a VM"| {nodes[vm.urn]}'
    for subnet in sorted(t.subnets.values(), key=lambda s: s.id):
        for rule in _allowed_inbound(subnet):
            source = rule.get("sourceAddressPrefix")
            ports = rule.get("destinationPortRange") or ",".join(rule.get("destinationPortRanges") or []) or "*"
            text = f'"{rule.get("protocol", "*")} {ports} allowed"'.replace("* * allowed", "all traffic allowed")
            origins = [s.node for s in t.subnets.values() if source in s.prefixes and s is not subnet]
            if source in INTERNET_SOURCES:
                yield f"{INTERNET} ==>|{text}| {subnet.node}"
            for origin in sorted(origins):
                yield f"{origin} -->|{text}| {subnet.node}"

    # Egress through NAT gateways: outbound only.
    for subnet in sorted(t.subnets.values(), key=lambda s: s.id):
        if subnet.nat is not None and subnet.nat.urn in nodes:
            yield f'{subnet.node} -.->|"egress"| {nodes[subnet.nat.urn]}'
    for nat in t.of_type(NAT_GATEWAY):
        if t.public_ips(nat):
            yield f'{nodes[nat.urn]} -.->|"outbound only"| {INTERNET}'

    # Private endpoints: to their target, and to the zones their zone group writes to.
    for endpoint in t.of_type(PRIVATE_ENDPOINT):
        if endpoint.urn not in nodes:
            continue
        for connection in endpoint.inputs.get("privateLinkServiceConnections") or []:
            target = t.resolve(connection.get("privateLinkServiceId"))
            if target is not None and target.urn in nodes:
                yield f'{nodes[endpoint.urn]} -->|"private link"| {nodes[target.urn]}'
            elif target is None:
                # A target outside the stack that a drawn service reports (an AML registry's managed
                # storage and ACR, in the resource group Azure creates for it): drawn onto that service.
                for urn in endpoint.property_dependencies.get("privateLinkServiceConnections", []):
                    if urn in nodes and t.run.by_urn(urn).type in SERVICES:
                        yield f'{nodes[endpoint.urn]} -->|"private link, its managed account"| {nodes[urn]}'
        for group in t.of_type(ZONE_GROUP):
            if t.owner(group) is endpoint:
                for zone in t.references(group, ZONE):
                    yield f"{nodes[endpoint.urn]} -.-> {nodes[zone.urn]}"

    # Zone links, counted per VNet: a zone a VNet cannot see resolves to a public IP there.
    zones = t.of_type(ZONE)
    if zones:
        for vnet in t.of_type(VNET):
            linked = [t.owner(link) for link in t.of_type(ZONE_LINK) if vnet in t.references(link, VNET)]
            count = sum(1 for zone in zones if any(zone is owner for owner in linked))
            warning = "" if count == len(zones) else ": SOME NAMES RESOLVE PUBLICLY"
            yield f'{ZONES_BOX} -.-|"{count} of {len(zones)} zones linked{warning}"| {nodes[vnet.urn]}'

    # The workspace's dependencies, clusters to their workspace, App Insights to its logs.
    for workspace in t.of_type(WORKSPACE):
        for key in ("storageAccount", "keyVault", "containerRegistry", "applicationInsights"):
            target = t.resolve(workspace.inputs.get(key))
            if target is not None and target.urn in nodes:
                yield f'{nodes[workspace.urn]} -.->|"{key}"| {nodes[target.urn]}'
    for cluster in t.of_type(COMPUTE):
        for workspace in t.of_type(WORKSPACE):
            if cluster.inputs.get("workspaceName") == _name(workspace) and cluster.urn in nodes:
                yield f'{nodes[cluster.urn]} -.->|"cluster of"| {nodes[workspace.urn]}'
    for r in t.run.resources:
        if r.type == APP_INSIGHTS and r.urn in nodes:
            logs = t.resolve(r.inputs.get("workspaceResourceId"))
            if logs is not None and logs.urn in nodes:
                yield f'{nodes[r.urn]} -.->|"sends to"| {nodes[logs.urn]}'
    for scoped in t.of_type(SCOPED_RESOURCE):
        scope, target = t.owner(scoped), t.resolve(scoped.inputs.get("linkedResourceId"))
        if scope is not None and target is not None and scope.urn in nodes and target.urn in nodes:
            yield f'{nodes[scope.urn]} -.->|"scopes"| {nodes[target.urn]}'

    # Managed identities: which VMs and clusters carry one (or a resource's own system-assigned
    # identity), and the roles it holds where.
    for assignment in t.of_type(ROLE_ASSIGNMENT):
        scope = t.resolve(assignment.inputs.get("scope"))
        if scope is None or scope.urn not in nodes:
            continue
        role = ROLE_NAMES.get(_last(str(assignment.inputs.get("roleDefinitionId", ""))), "role")
        principal = assignment.inputs.get("principalId")
        if not principal:
            continue
        holders = [r for r in t.run.resources if r.urn in nodes
                   and (r.outputs.get("identity") or {}).get("principalId") == principal]
        for identity in [i for i in t.of_type(IDENTITY) if i.outputs.get("principalId") == principal]:
            holders += [r for r in (*t.of_type(VM), *t.of_type(COMPUTE))
                        if identity in t.references(r, IDENTITY) and r.urn in nodes]
        for holder in holders:
            yield f'{nodes[holder.urn]} -->|"{role}"| {nodes[scope.urn]}'


def _allowed_inbound(subnet: Subnet) -> Iterable[Mapping[str, Any]]:
    if subnet.nsg is None:
        return []
    rules = subnet.nsg.inputs.get("securityRules") or []
    return [r for r in rules if r.get("access") == "Allow" and r.get("direction") == "Inbound"]


def _exposed(t: Topology) -> list[str]:
    """What the internet can reach other than Bastion: a service with public access on, a VM with a
    public IP, a subnet an NSG rule opens to the internet."""
    # A private link scope's access mode is about where the linked VNets may send telemetry, not about
    # who can reach the scope: its Open mode (which AML requires) exposes nothing to the internet.
    found = [t.nodes[r.urn] for r in t.run.resources if r.urn in t.nodes and r.type in SERVICES
             and r.type != MONITOR_SCOPE and "Enabled" in _public_access(r)]
    found += [t.nodes[vm.urn] for vm in t.of_type(VM) if vm.urn in t.nodes and t.public_ips(vm)]
    found += [s.node for s in t.subnets.values()
              if any(rule.get("sourceAddressPrefix") in INTERNET_SOURCES for rule in _allowed_inbound(s))]
    return sorted(set(found))


def _styles(t: Topology, changes: Mapping[str, str]) -> list[str]:
    members: dict[str, list[str]] = {"exposed": _exposed(t)}
    for urn, kind in sorted(changes.items()):
        node = _shown_on(t, urn)
        if node and node not in members.setdefault(kind, []):
            members[kind].append(node)
    boxes = {s.node for s in t.subnets.values()} | {t.nodes[v.urn] for v in t.of_type(VNET) if v.urn in t.nodes}
    lines = ["  classDef empty fill:none,stroke:none"]
    for name, style in CLASS_STYLES.items():
        nodes = [n for n in members.get(name, []) if n not in boxes]
        if nodes:
            lines.append(f"  classDef {name} {style}")
            lines.append(f"  class {','.join(nodes)} {name}")
        # Boxes (VNets, subnets) take a style line of their own: `class` is for nodes.
        lines.extend(f"  style {n} {style}" for n in members.get(name, []) if n in boxes)
    return lines


def _shown_on(t: Topology, urn: str) -> Optional[str]:
    """The node (or box) that shows the resource with this URN."""
    if urn in t.nodes:
        return t.nodes[urn]
    try:
        r = t.run.by_urn(urn)
    except KeyError:
        return None
    if r.type == NIC:
        for vm in t.of_type(VM):
            if r in t.references(vm, NIC):
                return t.nodes.get(vm.urn)
    if r.type == NSG:
        for subnet in t.subnets.values():
            if subnet.nsg is r:
                return subnet.node
    if r.type == PUBLIC_IP:
        for holder in [*t.of_type(BASTION), *t.of_type(NAT_GATEWAY), *t.of_type(VM)]:
            if r in t.public_ips(holder):
                return t.nodes.get(holder.urn)
    owner = t.owner(r) if r.id else None
    return t.nodes.get(owner.urn) if owner is not None else None


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
        "`make test` fails when it is out of date; regenerate with `UPDATE_SNAPSHOTS=1 make test`.",
        "",
        "```mermaid",
        mermaid(run).rstrip(),
        "```",
        "",
    ])
