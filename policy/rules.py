"""The platform's security rules, as plain functions over resources: one implementation, three users.

- the unit tests run them over the offline engine's registrations (and prove each can fail),
- the offline preview runs them (`python -m offline preview --policy`) so a pull request shows
  violations without cloud credentials,
- the CrossGuard pack (`policy/__main__.py`) runs them inside `pulumi preview/up --policy-pack policy`.

Rules see a `ResourceView`: type, URN, wire-name (camelCase) props, options, and the URNs each
property depends on. Property dependencies are how rules connect resources: during a real preview
most ids are still unknown, but "this zone group's `privateEndpointName` came from that endpoint"
is always known. Where a rule needs a value that can be unknown at preview time, it checks what it
can and never reports a violation it cannot prove.
"""

from __future__ import annotations

import base64
import ipaddress
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence

from components.zones import CLOUDS

# --------------------------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------------------------
WORKSPACE = "azure-native:machinelearningservices:Workspace"
COMPUTE = "azure-native:machinelearningservices:Compute"
STORAGE = "azure-native:storage:StorageAccount"
KEY_VAULT = "azure-native:keyvault:Vault"
KEY_VAULT_SECRET = "azure-native:keyvault:Secret"
REGISTRY = "azure-native:containerregistry:Registry"
LOG_ANALYTICS = "azure-native:operationalinsights:Workspace"
APP_INSIGHTS = "azure-native:applicationinsights:Component"
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
VNET = "azure-native:network:VirtualNetwork"
SUBNET = "azure-native:network:Subnet"
PEERING = "azure-native:network:VirtualNetworkPeering"
NSG = "azure-native:network:NetworkSecurityGroup"
SECURITY_RULE = "azure-native:network:SecurityRule"
PUBLIC_IP = "azure-native:network:PublicIPAddress"
NAT_GATEWAY = "azure-native:network:NatGateway"
BASTION = "azure-native:network:BastionHost"
NIC = "azure-native:network:NetworkInterface"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
PRIVATE_ZONE = "azure-native:privatedns:PrivateZone"
ZONE_LINK = "azure-native:privatedns:VirtualNetworkLink"
VM = "azure-native:compute:VirtualMachine"
VM_EXTENSION = "azure-native:compute:VirtualMachineExtension"

# What must survive a mistaken `pulumi destroy` or replacement in production.
STATEFUL_TYPES = (RESOURCE_GROUP, WORKSPACE, STORAGE, KEY_VAULT, REGISTRY, LOG_ANALYTICS)
BASTION_SUBNET_NAME = "AzureBastionSubnet"
BASTION_MAX_PREFIX = 26
ADMIN_PORTS = (22, 3389)
INTERNET_SOURCES = frozenset({"*", "internet", "any", "0.0.0.0/0", "::/0"})


@dataclass(frozen=True)
class ResourceView:
    """A resource as a rule sees it, built from an offline registration or a CrossGuard resource."""

    urn: str
    type: str
    name: str
    props: Mapping[str, Any]
    protect: bool = False
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    secret_paths: tuple[str, ...] = ()
    """Dotted paths of props whose value is a Pulumi secret (known offline; empty if unknown)."""
    id: str = ""

    def prop(self, path: str, default: Any = None) -> Any:
        value: Any = self.props
        for part in path.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return default
            value = value[part]
        return value

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


RULES: list[Rule] = []


def rule(name: str, description: str) -> Callable:
    def register(fn: Callable[[Sequence[ResourceView]], Iterable[tuple[str, str]]]):
        RULES.append(Rule(name, description, fn))
        return fn
    return register


def resource_rule(name: str, description: str, *types: str) -> Callable:
    """A rule that looks at one resource of the given types at a time."""

    def register(fn: Callable[[ResourceView], Iterable[str]]):
        def over_stack(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
            for r in resources:
                if r.type in types:
                    for message in fn(r):
                        yield r.urn, message
        RULES.append(Rule(name, description, over_stack))
        over_stack.resource_types = types  # type: ignore[attr-defined]
        over_stack.check_one = fn  # type: ignore[attr-defined]
        return fn
    return register


def evaluate(resources: Sequence[ResourceView], only: Optional[Iterable[str]] = None) -> list[Violation]:
    selected = set(only) if only is not None else None
    found = []
    for r in RULES:
        if selected is not None and r.name not in selected:
            continue
        found.extend(Violation(r.name, urn, message) for urn, message in r.check(resources))
    return sorted(found, key=lambda v: (v.rule, v.urn, v.message))


def rule_named(name: str) -> Rule:
    for r in RULES:
        if r.name == name:
            return r
    raise KeyError(name)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
def _of_type(resources: Sequence[ResourceView], type_: str) -> list[ResourceView]:
    return [r for r in resources if r.type == type_]


def _by_urn(resources: Sequence[ResourceView]) -> dict[str, ResourceView]:
    return {r.urn: r for r in resources}


def _resolve(resources: Sequence[ResourceView], source: ResourceView, prop: str, value: Any, type_: str) -> list[ResourceView]:
    """The resources of `type_` that `source.prop` refers to: by property dependency, else by known id."""
    by_urn = _by_urn(resources)
    found = [by_urn[u] for u in source.refs(prop) if u in by_urn and by_urn[u].type == type_]
    if found:
        return found
    ids = set(_strings(value))
    return [r for r in resources if r.type == type_ and r.id and r.id in ids]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def _is_true(value: Any) -> bool:
    return value is True or value == "true"


def _eq(value: Any, expected: str) -> bool:
    return isinstance(value, str) and value.lower() == expected.lower()


def _networks(prefixes: Iterable[Any]) -> list[ipaddress.IPv4Network]:
    nets = []
    for p in prefixes:
        try:
            nets.append(ipaddress.IPv4Network(p, strict=False))
        except (ValueError, TypeError):
            continue
    return nets


def _subnets(vnet: ResourceView) -> list[Mapping[str, Any]]:
    return [s for s in (vnet.prop("subnets") or []) if isinstance(s, Mapping)]


def _subnet_prefixes(subnet: Mapping[str, Any]) -> list[Any]:
    return ([subnet["addressPrefix"]] if subnet.get("addressPrefix") else []) + list(subnet.get("addressPrefixes") or [])


def _port_ranges(rule_props: Mapping[str, Any]) -> list[tuple[int, int]]:
    ranges = []
    for text in [rule_props.get("destinationPortRange"), *(rule_props.get("destinationPortRanges") or [])]:
        if not text:
            continue
        text = str(text)
        if text == "*":
            ranges.append((0, 65535))
        elif "-" in text:
            low, high = text.split("-", 1)
            ranges.append((int(low), int(high)))
        elif text.isdigit():
            ranges.append((int(text), int(text)))
    return ranges


def _sources(rule_props: Mapping[str, Any]) -> list[str]:
    return [str(s).lower() for s in [rule_props.get("sourceAddressPrefix"), *(rule_props.get("sourceAddressPrefixes") or [])] if s]


def _group_ids(endpoint: ResourceView) -> list[str]:
    groups: list[str] = []
    for connection in (endpoint.prop("privateLinkServiceConnections") or []) + (endpoint.prop("manualPrivateLinkServiceConnections") or []):
        groups.extend((connection or {}).get("groupIds") or [])
    return groups


def endpoints_targeting(resources: Sequence[ResourceView], target: ResourceView) -> list[ResourceView]:
    """Private endpoints whose private-link connection points at `target`."""
    found = []
    for pe in _of_type(resources, PRIVATE_ENDPOINT):
        targets = _resolve(resources, pe, "privateLinkServiceConnections", pe.prop("privateLinkServiceConnections"), target.type)
        if any(t.urn == target.urn for t in targets):
            found.append(pe)
    return found


def zone_groups_of(resources: Sequence[ResourceView], endpoint: ResourceView) -> list[ResourceView]:
    found = []
    for group in _of_type(resources, ZONE_GROUP):
        if endpoint.urn in group.refs("privateEndpointName") or (
                endpoint.prop("privateEndpointName") and group.prop("privateEndpointName") == endpoint.prop("privateEndpointName")):
            found.append(group)
    return found


def _zone_name(zone: ResourceView) -> str:
    return zone.prop("privateZoneName") or zone.name


# --------------------------------------------------------------------------------------------
# Workspace and its dependencies
# --------------------------------------------------------------------------------------------
@resource_rule("aml-workspace-private", "AML workspace: public network access disabled, v1 legacy mode off, "
               "managed identity, imageBuildCompute set.", WORKSPACE)
def _workspace(r: ResourceView) -> Iterator[str]:
    if not _eq(r.prop("publicNetworkAccess"), "Disabled"):
        yield f"publicNetworkAccess is {r.prop('publicNetworkAccess')!r}; must be 'Disabled' for an isolated workspace"
    if r.prop("v1LegacyMode") is not False:
        yield "v1LegacyMode must be false (the v1 APIs bypass the workspace's private endpoint)"
    if (r.prop("identity.type") or "None") == "None":
        yield "the workspace needs a managed identity"
    if not r.prop("imageBuildCompute"):
        yield "imageBuildCompute must name a compute cluster: the registry is private, images build in the VNet"


@resource_rule("storage-hardened", "Storage: TLS 1.2+, no public blob access, public network access disabled, "
               "network default Deny with AzureServices bypass, HTTPS only, no HNS on the workspace store.", STORAGE)
def _storage(r: ResourceView) -> Iterator[str]:
    if r.prop("minimumTlsVersion") not in ("TLS1_2", "TLS1_3"):
        yield f"minimumTlsVersion is {r.prop('minimumTlsVersion')!r}; must be TLS1_2 or newer"
    if r.prop("allowBlobPublicAccess") is not False:
        yield "allowBlobPublicAccess must be false"
    if not _eq(r.prop("publicNetworkAccess"), "Disabled"):
        yield f"publicNetworkAccess is {r.prop('publicNetworkAccess')!r}; must be 'Disabled'"
    if not _eq(r.prop("networkRuleSet.defaultAction"), "Deny"):
        yield "networkRuleSet.defaultAction must be 'Deny'"
    if "AzureServices" not in str(r.prop("networkRuleSet.bypass") or ""):
        yield "networkRuleSet.bypass must include AzureServices (AML's trusted-service access)"
    if r.prop("enableHttpsTrafficOnly") is False:
        yield "enableHttpsTrafficOnly must not be false"
    if _is_true(r.prop("isHnsEnabled")):
        yield "isHnsEnabled must be false: AML's default datastore does not support a hierarchical namespace"


@resource_rule("key-vault-hardened", "Key Vault: RBAC authorization, purge protection, public network access "
               "disabled, network default Deny with AzureServices bypass.", KEY_VAULT)
def _key_vault(r: ResourceView) -> Iterator[str]:
    if r.prop("properties.enableRbacAuthorization") is not True:
        yield "properties.enableRbacAuthorization must be true (no access policies)"
    if r.prop("properties.enablePurgeProtection") is not True:
        yield "properties.enablePurgeProtection must be true"
    if not _eq(r.prop("properties.publicNetworkAccess"), "Disabled"):
        yield "properties.publicNetworkAccess must be 'Disabled'"
    if not _eq(r.prop("properties.networkAcls.defaultAction"), "Deny"):
        yield "properties.networkAcls.defaultAction must be 'Deny'"
    if not _eq(r.prop("properties.networkAcls.bypass"), "AzureServices"):
        yield "properties.networkAcls.bypass must be 'AzureServices'"


@resource_rule("container-registry-private", "Container registry: Premium (private link needs it), admin user off, "
               "public network access disabled, quarantine off (batch endpoints).", REGISTRY)
def _registry(r: ResourceView) -> Iterator[str]:
    if not _eq(r.prop("sku.name"), "Premium"):
        yield f"sku.name is {r.prop('sku.name')!r}; private endpoints require Premium"
    if r.prop("adminUserEnabled") is not False:
        yield "adminUserEnabled must be false"
    if not _eq(r.prop("publicNetworkAccess"), "Disabled"):
        yield "publicNetworkAccess must be 'Disabled'"
    if _eq(r.prop("policies.quarantinePolicy.status"), "enabled"):
        yield "quarantinePolicy must be disabled: quarantined images never reach batch endpoints"


@resource_rule("app-insights-workspace-based", "Application Insights is workspace-based (backed by Log Analytics).",
               APP_INSIGHTS)
def _app_insights(r: ResourceView) -> Iterator[str]:
    if not (r.prop("workspaceResourceId") or r.refs("workspaceResourceId")):
        yield "workspaceResourceId must point at a Log Analytics workspace"
    if not _eq(r.prop("ingestionMode"), "LogAnalytics"):
        yield "ingestionMode must be 'LogAnalytics'"


@rule("private-targets-have-endpoints", "The workspace, Key Vault and registry each have a private endpoint with "
      "the right group id; the storage account has blob and file endpoints.")
def _targets_have_endpoints(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    required = {WORKSPACE: ("amlworkspace",), KEY_VAULT: ("vault",), REGISTRY: ("registry",), STORAGE: ("blob", "file")}
    for target_type, groups in required.items():
        for target in _of_type(resources, target_type):
            present = {g for pe in endpoints_targeting(resources, target) for g in _group_ids(pe)}
            for group in groups:
                if group not in present:
                    yield target.urn, f"no private endpoint with group id {group!r} targets this resource"


@rule("private-endpoint-dns-complete", "Every private endpoint has one group id and a DNS zone group holding "
      "exactly the zones that group id needs (the workspace: api and notebooks zones).")
def _endpoint_dns(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    by_urn = _by_urn(resources)
    for pe in _of_type(resources, PRIVATE_ENDPOINT):
        groups = _group_ids(pe)
        if len(groups) != 1:
            yield pe.urn, f"must connect exactly one group id, has {groups}"
            continue
        zone_groups = zone_groups_of(resources, pe)
        if not zone_groups:
            yield pe.urn, f"has no private DNS zone group: its {groups[0]!r} name keeps resolving publicly"
            continue
        zones = {
            _zone_name(by_urn[u]) for g in zone_groups for u in g.refs("privateDnsZoneConfigs")
            if u in by_urn and by_urn[u].type == PRIVATE_ZONE
        }
        if not zones:  # ids known but not via dependencies (e.g. a zone outside this stack)
            continue
        expected = [set(c.zones_by_group_id.get(groups[0], ())) for c in CLOUDS.values()]
        if zones not in expected:
            wanted = sorted(CLOUDS["AzureCloud"].zones_by_group_id.get(groups[0], ()))
            yield pe.urn, f"zone group for {groups[0]!r} holds {sorted(zones)}; it must hold exactly {wanted} (or the sovereign-cloud equivalent)"


@rule("private-endpoint-subnet-policies", "Subnets that hold private endpoints have privateEndpointNetworkPolicies "
      "'Disabled' (checked where the endpoint's subnet id is known).")
def _endpoint_subnets(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    subnet_ids = {str(pe.prop("subnet.id")) for pe in _of_type(resources, PRIVATE_ENDPOINT) if pe.prop("subnet.id")}
    for vnet in _of_type(resources, VNET):
        for subnet in _subnets(vnet):
            sid = f"{vnet.id}/subnets/{subnet.get('name')}" if vnet.id else None
            if sid in subnet_ids and not _eq(subnet.get("privateEndpointNetworkPolicies"), "Disabled"):
                yield vnet.urn, f"subnet {subnet.get('name')!r} holds private endpoints; privateEndpointNetworkPolicies must be 'Disabled'"


@rule("zone-linked-to-every-vnet", "Every private DNS zone is linked to every VNet in the stack, without "
      "auto-registration, as a global resource.")
def _zone_links(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    vnets = _of_type(resources, VNET)
    links = _of_type(resources, ZONE_LINK)
    for zone in _of_type(resources, PRIVATE_ZONE):
        if not _eq(zone.prop("location"), "global"):
            yield zone.urn, "private DNS zones are global: location must be 'global'"
        zone_links = [l for l in links if zone.urn in l.refs("privateZoneName") or l.prop("privateZoneName") == _zone_name(zone)]
        linked = {v.urn for l in zone_links for v in _resolve(resources, l, "virtualNetwork", l.prop("virtualNetwork"), VNET)}
        for vnet in vnets:
            if vnet.urn not in linked:
                yield zone.urn, f"zone {_zone_name(zone)} is not linked to VNet {vnet.prop('virtualNetworkName') or vnet.name}: its clients resolve public addresses"
        for link in zone_links:
            if _is_true(link.prop("registrationEnabled")):
                yield link.urn, "registrationEnabled must be false: VM records do not belong in a privatelink zone"


# --------------------------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------------------------
@rule("peering-both-directions", "Every VNet peering is declared in both directions.")
def _peerings(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    pairs = []
    for p in _of_type(resources, PEERING):
        local = [v.urn for v in _of_type(resources, VNET) if v.urn in p.refs("virtualNetworkName")
                 or (p.prop("virtualNetworkName") and v.prop("virtualNetworkName") == p.prop("virtualNetworkName"))]
        remote = [v.urn for v in _resolve(resources, p, "remoteVirtualNetwork", p.prop("remoteVirtualNetwork"), VNET)]
        if local and remote:
            pairs.append((p, local[0], remote[0]))
    declared = {(a, b) for _, a, b in pairs}
    for p, a, b in pairs:
        if (b, a) not in declared:
            yield p.urn, "has no peering in the opposite direction: one-way peering carries no traffic"


@rule("address-spaces", "Subnets lie inside their VNet and do not overlap; VNets in one stack do not overlap.")
def _address_spaces(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    vnets = _of_type(resources, VNET)
    spaces = {v.urn: _networks(v.prop("addressSpace.addressPrefixes") or []) for v in vnets}
    for vnet in vnets:
        seen: list[tuple[str, ipaddress.IPv4Network]] = []
        for subnet in _subnets(vnet):
            for net in _networks(_subnet_prefixes(subnet)):
                if not any(net.subnet_of(space) for space in spaces[vnet.urn]):
                    yield vnet.urn, f"subnet {subnet.get('name')} {net} is outside the VNet's address space"
                for other_name, other in seen:
                    if net.overlaps(other):
                        yield vnet.urn, f"subnet {subnet.get('name')} {net} overlaps {other_name} {other}"
                seen.append((str(subnet.get("name")), net))
    for i, a in enumerate(vnets):
        for b in vnets[i + 1:]:
            if any(x.overlaps(y) for x in spaces[a.urn] for y in spaces[b.urn]):
                yield b.urn, f"address space overlaps VNet {a.prop('virtualNetworkName') or a.name}: they cannot be peered"


@rule("bastion-subnet", "AzureBastionSubnet is /26 or larger, and Bastion is Standard (or Premium).")
def _bastion(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    for vnet in _of_type(resources, VNET):
        for subnet in _subnets(vnet):
            if subnet.get("name") == BASTION_SUBNET_NAME:
                for net in _networks(_subnet_prefixes(subnet)):
                    if net.prefixlen > BASTION_MAX_PREFIX:
                        yield vnet.urn, f"AzureBastionSubnet {net} is smaller than /{BASTION_MAX_PREFIX}; Azure rejects it"
    for host in _of_type(resources, BASTION):
        if str(host.prop("sku.name")) not in ("Standard", "Premium"):
            yield host.urn, f"Bastion SKU is {host.prop('sku.name')!r}; Standard is required (tunnelling, scale)"


@resource_rule("public-ip-standard-static", "Public IPs are Standard SKU with static allocation.", PUBLIC_IP)
def _public_ip(r: ResourceView) -> Iterator[str]:
    if not _eq(r.prop("sku.name"), "Standard"):
        yield f"sku.name is {r.prop('sku.name')!r}; must be 'Standard'"
    if not _eq(r.prop("publicIPAllocationMethod"), "Static"):
        yield f"publicIPAllocationMethod is {r.prop('publicIPAllocationMethod')!r}; must be 'Static'"


@rule("only-bastion-inbound-public-ip", "No public IP but Bastion's accepts inbound traffic: any other public IP "
      "belongs to a NAT gateway (egress only); no NIC has a public IP.")
def _public_ips(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    bastion_ips = {u for b in _of_type(resources, BASTION) for u in b.refs("ipConfigurations")}
    bastion_ips |= {r.urn for b in _of_type(resources, BASTION) for r in _resolve(resources, b, "ipConfigurations", b.prop("ipConfigurations"), PUBLIC_IP)}
    nat_ips = {u for n in _of_type(resources, NAT_GATEWAY) for u in n.refs("publicIpAddresses")}
    nat_ips |= {r.urn for n in _of_type(resources, NAT_GATEWAY) for r in _resolve(resources, n, "publicIpAddresses", n.prop("publicIpAddresses"), PUBLIC_IP)}
    for ip in _of_type(resources, PUBLIC_IP):
        if ip.urn not in bastion_ips and ip.urn not in nat_ips:
            yield ip.urn, "public IP is attached to neither Bastion nor a NAT gateway"
    for nic in _of_type(resources, NIC):
        for config in nic.prop("ipConfigurations") or []:
            if (config or {}).get("publicIPAddress"):
                yield nic.urn, "network interface has a public IP: the way in is Bastion"


@rule("no-internet-admin-ports", "No NSG rule allows inbound 22 or 3389 from the internet.")
def _admin_ports(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    candidates: list[tuple[str, Mapping[str, Any]]] = []
    for nsg in _of_type(resources, NSG):
        candidates.extend((nsg.urn, r) for r in nsg.prop("securityRules") or [] if isinstance(r, Mapping))
    candidates.extend((r.urn, r.props) for r in _of_type(resources, SECURITY_RULE))
    for urn, rule_props in candidates:
        if not (_eq(rule_props.get("direction"), "Inbound") and _eq(rule_props.get("access"), "Allow")):
            continue
        if not INTERNET_SOURCES.intersection(_sources(rule_props)):
            continue
        for low, high in _port_ranges(rule_props):
            for port in ADMIN_PORTS:
                if low <= port <= high:
                    yield urn, f"rule {rule_props.get('name')!r} allows port {port} from the internet"


# --------------------------------------------------------------------------------------------
# Compute and access
# --------------------------------------------------------------------------------------------
@resource_rule("vm-ssh-keys-only", "Linux VMs only: password authentication off, no admin password, SSH keys.", VM)
def _vm(r: ResourceView) -> Iterator[str]:
    if r.prop("osProfile.windowsConfiguration"):
        yield "Windows VMs are not part of this platform (RDP and passwords)"
    if r.prop("osProfile.adminPassword"):
        yield "adminPassword is set: use SSH keys only"
    if r.prop("osProfile.linuxConfiguration.disablePasswordAuthentication") is not True:
        yield "osProfile.linuxConfiguration.disablePasswordAuthentication must be true"
    if not r.prop("osProfile.linuxConfiguration.ssh.publicKeys"):
        yield "no SSH public key is configured"


@rule("no-secret-in-vm-boot-data", "No secret flows into VM custom data, user data or public extension settings.")
def _vm_boot_data(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    for r in resources:
        if r.type == VM:
            paths = ("osProfile.customData", "userData")
        elif r.type == VM_EXTENSION:
            paths = ("settings",)
        else:
            continue
        for path in paths:
            if any(s == path or s.startswith(path + ".") or s.startswith(path + "[") for s in r.secret_paths):
                yield r.urn, f"{path} is derived from a secret: it is readable from ARM and the VM, and logged at boot"


@resource_rule("key-vault-secret-is-secret", "A Key Vault secret's value is a Pulumi secret (encrypted in state).",
               KEY_VAULT_SECRET)
def _kv_secret(r: ResourceView) -> Iterator[str]:
    if r.prop("properties.value") not in (None, "[secret]") and "properties.value" not in r.secret_paths:
        yield "properties.value is plain text in the program and the state: wrap it with pulumi.Output.secret"


@resource_rule("aml-compute-private", "AmlCompute: no node public IP, in a subnet, SSH port closed, scales to 0, "
               "managed identity.", COMPUTE)
def _compute(r: ResourceView) -> Iterator[str]:
    if r.prop("properties.computeType") != "AmlCompute":
        return
    props = r.prop("properties.properties") or {}
    if props.get("enableNodePublicIp") is not False:
        yield "enableNodePublicIp must be false"
    if not (props.get("subnet") or r.refs("properties")):
        yield "no subnet: no-public-IP compute must live in the training subnet"
    if not _eq(props.get("remoteLoginPortPublicAccess"), "Disabled"):
        yield "remoteLoginPortPublicAccess must be 'Disabled'"
    min_nodes = (props.get("scaleSettings") or {}).get("minNodeCount")
    if min_nodes not in (0, 0.0):
        yield f"scaleSettings.minNodeCount is {min_nodes!r}; must be 0 (idle clusters scale to zero)"
    if (r.prop("identity.type") or "None") == "None":
        yield "the cluster needs a managed identity"


@rule("compute-after-workspace-private-endpoint", "No-public-IP compute is created only after the workspace's "
      "private endpoint exists (Azure refuses it before).")
def _compute_order(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    workspace_endpoints = {pe.urn for pe in _of_type(resources, PRIVATE_ENDPOINT) if "amlworkspace" in _group_ids(pe)}
    for c in _of_type(resources, COMPUTE):
        if c.prop("properties.properties.enableNodePublicIp") is False and not workspace_endpoints.intersection(c.dependencies):
            yield c.urn, "does not depend on the workspace's private endpoint; Azure rejects no-public-IP compute created first"


@rule("image-build-compute-exists", "The workspace's imageBuildCompute names a cluster this stack creates.")
def _image_build(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    clusters = {c.prop("computeName") for c in _of_type(resources, COMPUTE)}
    for ws in _of_type(resources, WORKSPACE):
        name = ws.prop("imageBuildCompute")
        if name and name not in clusters:
            yield ws.urn, f"imageBuildCompute {name!r} is not a cluster of this stack ({', '.join(sorted(map(str, clusters))) or 'none'})"


@rule("stateful-resources-protected", "Production: the resource group, workspace, storage, Key Vault, registry "
      "and Log Analytics are protected against deletion.")
def _protected(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    for r in resources:
        if r.type in STATEFUL_TYPES and not r.protect:
            yield r.urn, "is not protected: `pulumi destroy` or a replacement would delete its data"


def decode_custom_data(view: ResourceView) -> str:
    """The VM's custom data as text (for tests and reviewers)."""
    data = view.prop("osProfile.customData")
    if not isinstance(data, str) or data == "[secret]":
        return ""
    return base64.b64decode(data).decode(errors="replace")
