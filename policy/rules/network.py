"""Rules on the network: NSGs on every subnet, no lateral traffic, peering, address spaces, Bastion,
public IPs, admin ports."""

from __future__ import annotations

import ipaddress
from typing import Any, Iterator, Mapping, Optional, Sequence

from isolated_mlops.policy.rules.base import (
    AZURE_MANAGED_SUBNETS, BASTION, INTERNET_SOURCES, BASTION_MAX_PREFIX, BASTION_SUBNET_NAME, NAT_GATEWAY, NIC, NSG, PEERING,
    PUBLIC_IP, ResourceView, SECURITY_RULE, SUBNET, UNKNOWN, VM, VNET, lookup, resource_rule, rule,
)
from isolated_mlops.policy.rules.sources import (
    DOC_BASTION_NSG, DOC_BASTION_OVERVIEW, DOC_BASTION_SETTINGS, DOC_NAT_GATEWAY, DOC_NETWORK_BEST_PRACTICES,
    DOC_NSG_OVERVIEW, DOC_VNET_PEERING, DOC_VNET_PEERING_REQUIREMENTS, DOC_VNET_SUBNETS,
)
from isolated_mlops.policy.rules.helpers import (
    _differs, _eq, _has_unknown, _list, _mappings, _networks, _of_type, _port_ranges, _resolve, _same,
    _security_rules, _sources, _standalone_subnets, _subnet_id_users, _subnet_prefixes, _subnets, _unset,
    arm_segment, open_admin_ports, physical_name,
)


@resource_rule("subnets-have-nsg", "Every workload subnet has a network security group (Azure's reserved "
               "subnets, such as AzureBastionSubnet, excepted).", VNET, SUBNET,
               sources=(DOC_NSG_OVERVIEW, DOC_BASTION_NSG))
def _subnet_nsgs(r: ResourceView) -> Iterator[str]:
    subnets = _subnets(r) if r.type == VNET else [{**r.props, "name": physical_name(r)}]
    for subnet in subnets:
        name, nsg = subnet.get("name"), subnet.get("networkSecurityGroup")
        if not isinstance(name, str) or name in AZURE_MANAGED_SUBNETS or nsg is UNKNOWN:
            continue
        nsg_id = nsg.get("id") if isinstance(nsg, Mapping) else None
        if _unset(nsg_id):
            yield f"subnet {name!r} has no network security group: attach one that denies inbound internet traffic"


# Sources an allow rule may not name ahead of the VNet deny: they admit the whole VNet (or more): the
# `VirtualNetwork` tag, and every internet source but the `Internet` tag, which covers only addresses
# outside the VNet (https://learn.microsoft.com/azure/virtual-network/service-tags-overview#available-service-tags).
_WHOLE_VNET_SOURCES = (INTERNET_SOURCES - {"internet"}) | {"virtualnetwork"}


def _priority(rule_props: Mapping[str, Any]) -> Optional[int]:
    value = rule_props.get("priority")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


def _denies_vnet(rule_props: Mapping[str, Any]) -> bool:
    """An inbound Deny of every protocol and port from the VirtualNetwork tag (or anywhere)."""
    return (_eq(rule_props.get("direction"), "Inbound") and _eq(rule_props.get("access"), "Deny")
            and str(rule_props.get("protocol", "")).lower() in ("*", "any")
            and any(s in ("virtualnetwork", "*", "any") for s in _sources(rule_props))
            and (0, 65535) in _port_ranges(rule_props) and _priority(rule_props) is not None)


@rule("no-lateral-from-vnet", "Every NSG of a workload subnet denies inbound from VirtualNetwork on all ports "
      "before Azure's AllowVnetInBound (65000), which covers peered VNets; the allow rules ahead of that deny "
      "name their sources, each a subnet of this stack (Bastion's to the VMs, the endpoints' clients to the "
      "endpoints), never VirtualNetwork, '*' or a wider range.",
      sources=["https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview#default-security-rules",
               "https://learn.microsoft.com/azure/virtual-network/service-tags-overview#available-service-tags",
               "https://learn.microsoft.com/azure/bastion/bastion-nsg",
               "https://learn.microsoft.com/azure/machine-learning/how-to-access-azureml-behind-firewall"])
def _no_lateral(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    subnets = [s for v in _of_type(resources, VNET) for s in _subnets(v)] + [s for _, s in _standalone_subnets(resources)]
    prefixes = _networks(p for s in subnets for p in _subnet_prefixes(s))
    # NSGs that guard only Azure's reserved subnets follow those services' own rule sets.
    guarded: dict[str, set[str]] = {}
    for subnet in subnets:
        nsg_id = lookup(subnet, "networkSecurityGroup.id")
        if isinstance(nsg_id, str) and isinstance(subnet.get("name"), str):
            guarded.setdefault(nsg_id.lower(), set()).add(subnet["name"])
    for nsg in _of_type(resources, NSG):
        names = guarded.get(nsg.id.lower(), set()) if nsg.id else set()
        if names and names <= AZURE_MANAGED_SUBNETS:
            continue
        if nsg.prop("securityRules") is UNKNOWN:
            continue
        rules = _security_rules(resources, nsg)
        denies = [p for p in (_priority(r) for r in rules if _denies_vnet(r)) if p is not None]
        if not denies:
            if any(_has_unknown(r) for r in rules):
                continue  # a rule not known yet may be the deny
            yield nsg.urn, ("denies no inbound traffic from VirtualNetwork: Azure's AllowVnetInBound (65000) lets "
                            "every subnet of this VNet and of the peered one in; add an inbound Deny from "
                            "VirtualNetwork, all protocols and ports, after the named allows (e.g. priority 4095)")
            continue
        deny_at = min(denies)
        for r in rules:
            priority = _priority(r)
            if not (_eq(r.get("direction"), "Inbound") and _eq(r.get("access"), "Allow")) \
                    or priority is None or priority >= deny_at:
                continue
            for source in _sources(r):
                if source in _WHOLE_VNET_SOURCES:
                    yield nsg.urn, (f"rule {r.get('name')!r} allows inbound from {source!r} ahead of the VirtualNetwork "
                                    "deny: name the subnets that must connect instead")
                    continue
                nets = _networks([source])
                if nets and prefixes and not any(nets[0].subnet_of(p) for p in prefixes):
                    yield nsg.urn, (f"rule {r.get('name')!r} allows inbound from {source} ahead of the VirtualNetwork "
                                    "deny, which is not a subnet of this stack: name the subnets that must connect")


@rule("peering-both-directions", "Every VNet peering is declared in both directions.",
      sources=(DOC_VNET_PEERING,))
def _peerings(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    pairs = []
    for p in _of_type(resources, PEERING):
        local = [v.urn for v in _of_type(resources, VNET) if v.urn in p.refs("virtualNetworkName")
                 or _same(physical_name(v), p.prop("virtualNetworkName"))]
        remote = [v.urn for v in _resolve(resources, p, "remoteVirtualNetwork", p.prop("remoteVirtualNetwork"), VNET)]
        if local and remote:
            pairs.append((p, local[0], remote[0]))
    declared = {(a, b) for _, a, b in pairs}
    for p, a, b in pairs:
        if (b, a) not in declared:
            yield p.urn, "has no peering in the opposite direction: one-way peering carries no traffic"


@rule("address-spaces", "Subnets lie inside their VNet and do not overlap; VNets in one stack do not overlap.",
      sources=(DOC_VNET_PEERING_REQUIREMENTS, DOC_VNET_SUBNETS))
def _address_spaces(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    vnets = _of_type(resources, VNET)
    spaces = {v.urn: _networks(_list(v.prop("addressSpace.addressPrefixes"))) for v in vnets}
    for vnet in vnets:
        seen: list[tuple[str, ipaddress.IPv4Network]] = []
        for subnet in _subnets(vnet):
            for net in _networks(_subnet_prefixes(subnet)):
                if spaces[vnet.urn] and not any(net.subnet_of(space) for space in spaces[vnet.urn]):
                    yield vnet.urn, f"subnet {subnet.get('name')} {net} is outside the VNet's address space"
                for other_name, other in seen:
                    if net.overlaps(other):
                        yield vnet.urn, f"subnet {subnet.get('name')} {net} overlaps {other_name} {other}"
                seen.append((str(subnet.get("name")), net))
    for i, a in enumerate(vnets):
        for b in vnets[i + 1:]:
            if any(x.overlaps(y) for x in spaces[a.urn] for y in spaces[b.urn]):
                a_name = physical_name(a)
                yield b.urn, f"address space overlaps VNet {a_name if isinstance(a_name, str) else a.name}: they cannot be peered"


@rule("bastion-subnet", "Bastion is Standard (or Premium) and sits in AzureBastionSubnet, which is /26 or "
      "larger and holds nothing else.",
      sources=(DOC_BASTION_SETTINGS,))
def _bastion(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    bastion_subnets = [(v, s) for v in _of_type(resources, VNET) for s in _subnets(v)]
    bastion_subnets += _standalone_subnets(resources)
    for owner, subnet in bastion_subnets:
        if subnet.get("name") == BASTION_SUBNET_NAME:
            for net in _networks(_subnet_prefixes(subnet)):
                if net.prefixlen > BASTION_MAX_PREFIX:
                    yield owner.urn, f"AzureBastionSubnet {net} is smaller than /{BASTION_MAX_PREFIX}; Azure rejects it"
    for host in _of_type(resources, BASTION):
        if _differs(host.prop("sku.name"), "Standard", "Premium"):
            yield host.urn, f"Bastion SKU is {host.prop('sku.name')!r}; use 'Standard' (native-client tunnelling, scale)"
        for config in _mappings(host.prop("ipConfigurations")):
            subnet_name = arm_segment(lookup(config, "subnet.id"), "subnets")
            if subnet_name is not None and subnet_name != BASTION_SUBNET_NAME:
                yield host.urn, f"Bastion is in subnet {subnet_name!r}; Azure requires {BASTION_SUBNET_NAME}"
    for user, subnet_id in _subnet_id_users(resources):
        if arm_segment(subnet_id, "subnets") == BASTION_SUBNET_NAME:
            yield user.urn, f"is placed in {BASTION_SUBNET_NAME}; that subnet holds Bastion and nothing else"


@resource_rule("public-ip-standard-static", "Public IPs are Standard SKU with static allocation (Bastion and "
               "NAT gateways accept nothing else).", PUBLIC_IP,
               sources=(DOC_BASTION_SETTINGS, DOC_NAT_GATEWAY))
def _public_ip(r: ResourceView) -> Iterator[str]:
    if _differs(r.prop("sku.name"), "Standard"):
        yield f"sku.name is {r.prop('sku.name')!r}; use 'Standard'"
    if _differs(r.prop("publicIPAllocationMethod"), "Static"):
        yield f"publicIPAllocationMethod is {r.prop('publicIPAllocationMethod')!r}; use 'Static'"


@rule("only-bastion-inbound-public-ip", "No public IP but Bastion's accepts inbound traffic: any other public IP "
      "belongs to a NAT gateway (egress only); no NIC or VM has a public IP.",
      sources=(DOC_NAT_GATEWAY, DOC_BASTION_OVERVIEW))
def _public_ips(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    allowed: set[str] = set()
    for owner_type, prop in ((BASTION, "ipConfigurations"), (NAT_GATEWAY, "publicIpAddresses")):
        for owner in _of_type(resources, owner_type):
            allowed.update(owner.refs(prop))
            allowed.update(r.urn for r in _resolve(resources, owner, prop, owner.prop(prop), PUBLIC_IP))
    for ip in _of_type(resources, PUBLIC_IP):
        if ip.urn not in allowed:
            yield ip.urn, "public IP is attached to neither Bastion nor a NAT gateway: remove it; Bastion is the way in"
    for nic in _of_type(resources, NIC):
        for config in _mappings(nic.prop("ipConfigurations")):
            nic_ip = config.get("publicIPAddress")
            if nic_ip and nic_ip is not UNKNOWN:
                yield nic.urn, "network interface has a public IP: remove it; Bastion is the way in"
    for vm in _of_type(resources, VM):
        for nic_config in _mappings(vm.prop("networkProfile.networkInterfaceConfigurations")):
            for ip_config in _mappings(nic_config.get("ipConfigurations")):
                vm_ip = ip_config.get("publicIPAddressConfiguration")
                if vm_ip and vm_ip is not UNKNOWN:
                    yield vm.urn, "VM network interface has a public IP: remove it; Bastion is the way in"


@resource_rule("no-internet-admin-ports", "No NSG rule allows inbound 22 or 3389 from the internet.",
               NSG, SECURITY_RULE,
               sources=(DOC_NETWORK_BEST_PRACTICES,))
def _admin_ports(r: ResourceView) -> Iterator[str]:
    rules = _mappings(r.prop("securityRules")) if r.type == NSG else [r.props]
    for rule_props in rules:
        for port in open_admin_ports(rule_props):
            yield f"rule {rule_props.get('name')!r} allows port {port} from the internet: use Bastion"
