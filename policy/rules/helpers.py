"""Helpers the rules share: every comparison here is unknown-aware (an `UNKNOWN` proves nothing)."""

from __future__ import annotations

import ipaddress
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence

from isolated_mlops.components.catalogue import any_internet_source
from isolated_mlops.policy.rules.base import (
    ADMIN_PORTS, COMPUTE, NAME_INPUTS, NIC, PRIVATE_ENDPOINT, ResourceView, SECURITY_RULE,
    SUBNET, UNKNOWN, VNET, ZONE_GROUP, lookup,
)


def _of_type(resources: Sequence[ResourceView], *types: str) -> list[ResourceView]:
    return [r for r in resources if r.type in types]


def _by_urn(resources: Sequence[ResourceView]) -> dict[str, ResourceView]:
    return {r.urn: r for r in resources}


def _eq(value: Any, expected: str) -> bool:
    return isinstance(value, str) and value.lower() == expected.lower()


def _differs(value: Any, *allowed: str) -> bool:
    """Provably not one of `allowed` (case-insensitive): unset counts, UNKNOWN does not."""
    return value is not UNKNOWN and not any(_eq(value, a) for a in allowed)


def _not_exactly(value: Any, expected: bool) -> bool:
    """Provably not the boolean `expected`: unset counts, UNKNOWN does not."""
    return value is not UNKNOWN and value is not expected


def _is_true(value: Any) -> bool:
    return value is True or value == "true"


def _unset(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def _same(a: Any, b: Any) -> bool:
    """Two known names or ids are equal (Azure names are case-insensitive). UNKNOWN matches nothing."""
    return isinstance(a, str) and isinstance(b, str) and a.lower() == b.lower()


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _mappings(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in _list(value) if isinstance(v, Mapping)]


def _has_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_unknown(v) for v in value)
    return False


def strings(value: Any) -> Iterator[str]:
    """Every string inside a value (ids hide anywhere in inputs: a subnet id, an endpoint's target),
    in order. Collected in one pass without nested generators: rules and the topology ask this of
    every input of every resource, and a generator per level was most of a policy run's time."""
    found: list[str] = []
    _collect_strings(value, found)
    return iter(found)


def _collect_strings(value: Any, found: list[str]) -> None:
    kind = type(value)
    if kind is str:
        found.append(value)
    elif kind is dict or (kind is not list and isinstance(value, Mapping)):
        for v in value.values():
            _collect_strings(v, found)
    elif kind is list or isinstance(value, (list, tuple)):
        for v in value:
            _collect_strings(v, found)
    elif isinstance(value, str):
        found.append(value)


def physical_name(r: ResourceView) -> Any:
    """The resource's Azure name: its name input, else the `name` output (str, UNKNOWN or None)."""
    key = NAME_INPUTS.get(r.type)
    value = r.props.get(key) if key else None
    return r.props.get("name") if value is None else value


def arm_segment(resource_id: Any, collection: str) -> Optional[str]:
    """The name after `collection` in a known ARM id: `arm_segment(id, "subnets")` -> "snet-training"."""
    if not isinstance(resource_id, str):
        return None
    parts = [p for p in resource_id.split("/") if p]
    for i, part in enumerate(parts[:-1]):
        if part.lower() == collection.lower():
            return parts[i + 1]
    return None


def _resolve(resources: Sequence[ResourceView], source: ResourceView, prop: str, value: Any, type_: str) -> list[ResourceView]:
    """The resources of `type_` that `source.prop` refers to: by property dependency, else by known id."""
    by_urn = _by_urn(resources)
    found = [by_urn[u] for u in source.refs(prop) if u in by_urn and by_urn[u].type == type_]
    if found:
        return found
    ids = {s.lower() for s in strings(value)}
    return [r for r in resources if r.type == type_ and r.id and r.id.lower() in ids]


def _networks(prefixes: Iterable[Any]) -> list[ipaddress.IPv4Network]:
    nets = []
    for p in prefixes:
        if not isinstance(p, str):
            continue
        try:
            nets.append(ipaddress.IPv4Network(p, strict=False))
        except ValueError:
            continue
    return nets


def _subnets(vnet: ResourceView) -> list[Mapping[str, Any]]:
    return _mappings(vnet.prop("subnets"))


def _subnet_prefixes(subnet: Mapping[str, Any]) -> list[Any]:
    return ([subnet["addressPrefix"]] if subnet.get("addressPrefix") else []) + _list(subnet.get("addressPrefixes"))


def _standalone_subnets(resources: Sequence[ResourceView]) -> list[tuple[ResourceView, Mapping[str, Any]]]:
    """`network.Subnet` resources, shaped like an inline subnet (with its name under `name`)."""
    return [(s, {**s.props, "name": physical_name(s)}) for s in _of_type(resources, SUBNET)]


def _find_subnet(resources: Sequence[ResourceView], vnet: ResourceView, name: str) -> Optional[Mapping[str, Any]]:
    """VNet `vnet`'s subnet `name`, declared inline or as a `network.Subnet` resource."""
    for subnet in _subnets(vnet):
        if _same(subnet.get("name"), name):
            return subnet
    for resource, subnet in _standalone_subnets(resources):
        parent = resource.props.get("virtualNetworkName")
        if (vnet.urn in resource.refs("virtualNetworkName") or _same(parent, physical_name(vnet))) \
                and _same(subnet.get("name"), name):
            return subnet
    return None


def _vnet_of_subnet_id(resources: Sequence[ResourceView], source: ResourceView, prop: str,
                       subnet_id: Any) -> Optional[ResourceView]:
    """The stack's VNet that a known subnet id points into: by its name in the id, else the one VNet
    `source.prop` depends on. None when the VNet is not this stack's (a hub, an existing VNet)."""
    vnet_name = arm_segment(subnet_id, "virtualNetworks")
    named = [v for v in _of_type(resources, VNET) if _same(physical_name(v), vnet_name)]
    if named:
        return named[0]
    referenced = [v for v in _of_type(resources, VNET) if v.urn in source.refs(prop)]
    return referenced[0] if len(referenced) == 1 else None


def _port_ranges(rule_props: Mapping[str, Any]) -> list[tuple[int, int]]:
    ranges = []
    for text in [rule_props.get("destinationPortRange"), *_list(rule_props.get("destinationPortRanges"))]:
        if not isinstance(text, (str, int, float)) or isinstance(text, bool) or text == "":
            continue
        text = str(text).strip()
        try:
            if text == "*":
                ranges.append((0, 65535))
            elif "-" in text:
                low, high = text.split("-", 1)
                ranges.append((int(low), int(high)))
            else:
                ranges.append((int(float(text)), int(float(text))))
        except ValueError:
            continue  # not a port we can read: nothing to prove
    return ranges


def _sources(rule_props: Mapping[str, Any]) -> list[str]:
    values = [rule_props.get("sourceAddressPrefix"), *_list(rule_props.get("sourceAddressPrefixes"))]
    return [v.lower() for v in values if isinstance(v, str)]


def open_admin_ports(rule_props: Mapping[str, Any]) -> list[int]:
    """The admin ports (22, 3389) that one NSG rule opens to the internet."""
    if not (_eq(rule_props.get("direction"), "Inbound") and _eq(rule_props.get("access"), "Allow")):
        return []
    if not any_internet_source(_sources(rule_props)):
        return []
    return [port for port in ADMIN_PORTS if any(low <= port <= high for low, high in _port_ranges(rule_props))]


def _security_rules(resources: Sequence[ResourceView], nsg: ResourceView) -> list[Mapping[str, Any]]:
    """An NSG's rules: inline, and `network.SecurityRule` resources that belong to it."""
    rules = _mappings(nsg.prop("securityRules"))
    for r in _of_type(resources, SECURITY_RULE):
        if nsg.urn in r.refs("networkSecurityGroupName") or _same(r.prop("networkSecurityGroupName"), physical_name(nsg)):
            rules.append(r.props)
    return rules


def _group_ids(endpoint: ResourceView) -> list[Any]:
    groups: list[Any] = []
    for prop in ("privateLinkServiceConnections", "manualPrivateLinkServiceConnections"):
        value = endpoint.prop(prop)
        if value is UNKNOWN:
            groups.append(UNKNOWN)
        for connection in _mappings(value):
            ids = connection.get("groupIds")
            groups.extend(_list(ids) if ids is not UNKNOWN else [UNKNOWN])
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
    return [g for g in _of_type(resources, ZONE_GROUP)
            if endpoint.urn in g.refs("privateEndpointName")
            or _same(g.prop("privateEndpointName"), physical_name(endpoint))]


def _zone_name(zone: ResourceView) -> Any:
    return physical_name(zone)


def _subnet_id_users(resources: Sequence[ResourceView]) -> Iterator[tuple[ResourceView, Any]]:
    """(resource, subnet id) for everything placed in a subnet: NICs, endpoints, clusters."""
    for nic in _of_type(resources, NIC):
        for config in _mappings(nic.prop("ipConfigurations")):
            yield nic, lookup(config, "subnet.id")
    for pe in _of_type(resources, PRIVATE_ENDPOINT):
        yield pe, pe.prop("subnet.id")
    for compute in _of_type(resources, COMPUTE):
        yield compute, compute.prop("properties.properties.subnet.id")
