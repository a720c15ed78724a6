"""Each network/ component built alone, with the least it needs: no stack file, no config types, no __main__.

What another team gets from `pip install`: the component's own Args, its outputs, and the common
arguments (components/interface.py) arriving the same way in each (tests/standalone.py builds them).
"""

from __future__ import annotations

import pytest

from isolated_mlops.components.interface import DiagnosticsOptions, ManagedIdentity, RoleAssignmentSpec
from isolated_mlops.components.roles import READER
from isolated_mlops.network.bastion import Bastion, BastionArgs
from isolated_mlops.network.peering import BidirectionalPeering, BidirectionalPeeringArgs, PeeredVnet
from isolated_mlops.network.private_dns import PrivateDnsZones, PrivateDnsZonesArgs
from isolated_mlops.network.virtual_network import BASTION_SUBNET_NAME, SubnetPlan, VirtualNetwork, VirtualNetworkArgs, ssh_from
from tests.standalone import LOCATION, RG, SUBNET_ID, SUBSCRIPTION, build_alone

VNET_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.Network/virtualNetworks/vnet-a"
LANDING_ZONE_BLOB = ("/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-dns/providers/"
                     "Microsoft.Network/privateDnsZones/privatelink.blob.core.windows.net")


def _vnet(**common) -> VirtualNetwork:
    bastion = SubnetPlan("bastion", BASTION_SUBNET_NAME, "10.0.0.0/26")
    return VirtualNetwork("net", VirtualNetworkArgs(
        resource_group_name=RG, location=LOCATION, vnet_name="vnet-a", address_space="10.0.0.0/16",
        subnets=[bastion, SubnetPlan("vms", "snet-vms", "10.0.1.0/24", nat_egress=True, inbound=(ssh_from(bastion),))],
        nat_gateway=True, **common))


def test_a_virtual_network_alone_has_its_subnets_nsg_nat_and_outputs():
    built = build_alone(_vnet)
    assert built.types() == ["azure-native:network:NatGateway", "azure-native:network:NetworkSecurityGroup",
                             "azure-native:network:PublicIPAddress", "azure-native:network:VirtualNetwork"]
    vnet = built.one("azure-native:network:VirtualNetwork")
    subnets = {s["name"]: s for s in vnet.inputs["subnets"]}
    assert "networkSecurityGroup" not in subnets[BASTION_SUBNET_NAME]  # Bastion brings its own rules
    assert subnets["snet-vms"]["natGateway"]["id"] == built.one("azure-native:network:NatGateway").id
    rules = {r["name"]: r for r in built.one("azure-native:network:NetworkSecurityGroup").inputs["securityRules"]}
    assert rules["AllowSshFromBastion"]["protocol"] == "Tcp" and rules["AllowSshFromBastion"]["sourceAddressPrefix"] == "10.0.0.0/26"
    assert rules["DenyVnetInbound"]["access"] == "Deny"
    component = built.value
    assert built.resolve(component.vnet_id) == vnet.id
    assert built.resolve(component.subnet_ids) == {"bastion": f"{vnet.id}/subnets/{BASTION_SUBNET_NAME}",
                                                   "vms": f"{vnet.id}/subnets/snet-vms"}
    assert list(built.resolve(component.nsg_ids)) == ["vms"]
    # Nothing the caller did not ask for: no lock, no role, no diagnostic setting.
    assert not built.of_type("azure-native:authorization:ManagementLockByScope")


def test_common_arguments_reach_every_resource_and_the_vnet():
    built = build_alone(lambda: _vnet(
        tags={"team": "ml"}, protect=True, lock="CanNotDelete",
        role_assignments=[RoleAssignmentSpec(READER.name, "00000000-0000-0000-0000-0000000000dd")],
        diagnostics=DiagnosticsOptions(log_analytics_workspace_id="/subscriptions/s/law")))
    vnet = built.one("azure-native:network:VirtualNetwork")
    for resource in built.of_type("azure-native:network:NetworkSecurityGroup") + [vnet]:
        assert resource.inputs["tags"] == {"team": "ml"} and resource.protect, resource.name
    lock = built.one("azure-native:authorization:ManagementLockByScope")
    assert (lock.inputs["scope"], lock.inputs["level"]) == (vnet.id, "CanNotDelete")
    role = built.one("azure-native:authorization:RoleAssignment")
    assert role.inputs["scope"] == vnet.id
    assert role.inputs["roleDefinitionId"] == f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{READER.id}"
    assert built.one("azure-native:monitor:DiagnosticSetting").inputs["resourceUri"] == vnet.id


@pytest.mark.parametrize("common, message", [
    ({"identity": ManagedIdentity(system_assigned=True)}, "VirtualNetwork: identity is not supported here"),
    ({"lock": "Locked"}, "lock='Locked' is not a lock level"),
])
def test_a_virtual_network_refuses_what_a_vnet_cannot_take(common, message):
    with pytest.raises(ValueError, match=message):
        build_alone(lambda: _vnet(**common))


def test_a_peering_alone_goes_both_ways():
    built = build_alone(lambda: BidirectionalPeering("peer", BidirectionalPeeringArgs(
        resource_group_name=RG, first=PeeredVnet("a", "vnet-a", VNET_ID), second=PeeredVnet("b", "vnet-b", "/vnet-b-id"))))
    peerings = {p.inputs["virtualNetworkName"]: p.inputs for p in built.of_type("azure-native:network:VirtualNetworkPeering")}
    assert peerings["vnet-a"]["remoteVirtualNetwork"]["id"] == "/vnet-b-id"
    assert peerings["vnet-b"]["remoteVirtualNetwork"]["id"] == VNET_ID
    assert all(not p["allowForwardedTraffic"] and not p["allowGatewayTransit"] for p in peerings.values())
    assert len(built.resolve(built.value.peering_ids)) == 2


def test_a_peering_refuses_tags_it_cannot_carry():
    with pytest.raises(ValueError, match="BidirectionalPeering: tags is not supported here"):
        build_alone(lambda: BidirectionalPeering("peer", BidirectionalPeeringArgs(
            resource_group_name=RG, first=PeeredVnet("a", "vnet-a", VNET_ID), second=PeeredVnet("b", "b", "/b"),
            tags={"team": "ml"})))


def test_private_dns_alone_creates_the_zones_and_links_every_vnet():
    built = build_alone(lambda: PrivateDnsZones("dns", PrivateDnsZonesArgs(
        resource_group_name=RG, cloud="AzureCloud", group_ids=["vault", "blob"], vnet_ids={"a": VNET_ID, "b": "/b"})))
    zones = sorted(z.inputs["privateZoneName"] for z in built.of_type("azure-native:privatedns:PrivateZone"))
    assert zones == ["privatelink.blob.core.windows.net", "privatelink.vaultcore.azure.net"]
    links = built.of_type("azure-native:privatedns:VirtualNetworkLink")
    assert len(links) == 4 and all(link.inputs["registrationEnabled"] is False for link in links)
    by_group = built.resolve(built.value.zone_ids_by_group)
    assert set(by_group) == {"vault", "blob"} and by_group["vault"]["privatelink.vaultcore.azure.net"].endswith(
        "/privateDnsZones/privatelink.vaultcore.azure.net")


def test_private_dns_with_a_landing_zones_existing_zones_creates_only_the_missing_ones():
    built = build_alone(lambda: PrivateDnsZones("dns", PrivateDnsZonesArgs(
        resource_group_name=RG, cloud="AzureCloud", group_ids=["vault", "blob"], vnet_ids={"a": VNET_ID},
        existing_zone_ids={"privatelink.blob.core.windows.net": LANDING_ZONE_BLOB})))
    assert [z.inputs["privateZoneName"] for z in built.of_type("azure-native:privatedns:PrivateZone")] == [
        "privatelink.vaultcore.azure.net"]
    assert [link.inputs["privateZoneName"] for link in built.of_type("azure-native:privatedns:VirtualNetworkLink")] == [
        "privatelink.vaultcore.azure.net"]  # the landing zone links its own zones to its hub
    assert built.resolve(built.value.zone_ids_by_group)["blob"] == {"privatelink.blob.core.windows.net": LANDING_ZONE_BLOB}


def test_private_dns_with_every_zone_existing_creates_nothing():
    built = build_alone(lambda: PrivateDnsZones("dns", PrivateDnsZonesArgs(
        resource_group_name=RG, cloud="AzureCloud", group_ids=["blob"], vnet_ids={"a": VNET_ID},
        existing_zone_ids={"privatelink.blob.core.windows.net": LANDING_ZONE_BLOB})))
    assert built.types() == []
    assert built.resolve(built.value.zone_ids) == {"privatelink.blob.core.windows.net": LANDING_ZONE_BLOB}


@pytest.mark.parametrize("args, message", [
    ({"group_ids": ["vualt"]}, "group_ids vualt have no zone in components/zones.py"),
    ({"group_ids": ["blob"], "existing_zone_ids": {"privatelink.file.core.windows.net": "/z"}},
     "existing_zone_ids names privatelink.file.core.windows.net, which no group id"),
    ({"group_ids": ["blob"], "cloud": "AzurePublic"}, "cloud='AzurePublic'"),
])
def test_private_dns_refuses_names_it_does_not_know_in_one_line(args, message):
    with pytest.raises(ValueError, match=message):
        build_alone(lambda: PrivateDnsZones("dns", PrivateDnsZonesArgs(
            resource_group_name=RG, vnet_ids={}, **{"cloud": "AzureCloud", **args})))


def test_bastion_alone_is_a_host_on_a_standard_static_ip():
    built = build_alone(lambda: Bastion("bastion", BastionArgs(
        resource_group_name=RG, location=LOCATION, bastion_name="bas-a", subnet_id=SUBNET_ID)))
    ip, host = built.one("azure-native:network:PublicIPAddress"), built.one("azure-native:network:BastionHost")
    assert (ip.inputs["sku"]["name"], ip.inputs["publicIPAllocationMethod"]) == ("Standard", "Static")
    assert host.inputs["ipConfigurations"][0]["publicIPAddress"]["id"] == ip.id
    assert host.inputs["enableTunneling"] is True and host.inputs["sku"]["name"] == "Standard"
    assert built.resolve(built.value.bastion_name) == "bas-a"
    assert built.resolve(built.value.public_ip_id) == ip.id
