"""Catalogue records: networking (VNets, subnets, NSGs, NAT, public IPs, peering, Bastion, NICs,
private endpoints and private DNS)."""

from __future__ import annotations

from isolated_mlops.components.catalogue.model import ASYNC, SYNC, CreateTime, ResourceType, Setting, settings

VNET = "azure-native:network:VirtualNetwork"
SUBNET = "azure-native:network:Subnet"
NSG = "azure-native:network:NetworkSecurityGroup"
SECURITY_RULE = "azure-native:network:SecurityRule"
NAT_GATEWAY = "azure-native:network:NatGateway"
PUBLIC_IP = "azure-native:network:PublicIPAddress"
PEERING = "azure-native:network:VirtualNetworkPeering"
BASTION = "azure-native:network:BastionHost"
NIC = "azure-native:network:NetworkInterface"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
PRIVATE_ZONE = "azure-native:privatedns:PrivateZone"
ZONE_LINK = "azure-native:privatedns:VirtualNetworkLink"

_NET = "Microsoft.Network"

ENTRIES = (
    ResourceType(
        VNET, f"{_NET}/virtualNetworks", "virtualNetworkName",
        CreateTime(15, "estimate", f"{ASYNC}; subnets inline, so one operation"),
        key_settings=(Setting("addressSpace.addressPrefixes[]", "addressSpace"), Setting("subnets[]", "subnets"))),
    # The program declares subnets inline in their VNet; the type is here for the rules, which also
    # judge standalone `network.Subnet` resources (an existing VNet, another program).
    ResourceType(SUBNET, f"{_NET}/virtualNetworks/{{virtualNetworkName}}/subnets", "subnetName", by_stacks=False,
                 key_settings=(Setting("addressPrefix"), Setting("networkSecurityGroup.id", "nsg", True))),
    ResourceType(NSG, f"{_NET}/networkSecurityGroups", "networkSecurityGroupName",
                 CreateTime(10, "estimate", ASYNC), key_settings=(Setting("securityRules[]", "rules"),)),
    ResourceType(SECURITY_RULE, f"{_NET}/networkSecurityGroups/{{networkSecurityGroupName}}/securityRules",
                 "securityRuleName", by_stacks=False,
                 key_settings=settings("direction", "access", "sourceAddressPrefix", "destinationPortRange")),
    ResourceType(NAT_GATEWAY, f"{_NET}/natGateways", "natGatewayName", CreateTime(20, "estimate", ASYNC),
                 key_settings=(Setting("sku.name", "sku"), Setting("publicIpAddresses[].id", "publicIp", True))),
    ResourceType(PUBLIC_IP, f"{_NET}/publicIPAddresses", "publicIpAddressName", CreateTime(10, "estimate", ASYNC),
                 key_settings=(Setting("sku.name", "sku"), Setting("publicIPAllocationMethod"))),
    ResourceType(
        PEERING, f"{_NET}/virtualNetworks/{{virtualNetworkName}}/virtualNetworkPeerings", "virtualNetworkPeeringName",
        CreateTime(20, "estimate", f"{ASYNC}; syncs both VNets"),
        key_settings=(Setting("remoteVirtualNetwork.id", "remote", True),
                      *settings("allowVirtualNetworkAccess", "allowForwardedTraffic", "allowGatewayTransit",
                                "useRemoteGateways"))),
    ResourceType(
        BASTION, f"{_NET}/bastionHosts", "bastionHostName",
        CreateTime(600, "documented", "Microsoft Learn, Deploy Bastion (articles/bastion/create-host-cli.md): "
                                      "\"It takes about 10 minutes for the Bastion resource to create and deploy.\""),
        key_settings=(Setting("sku.name", "sku"), Setting("ipConfigurations[].subnet.id", "subnet", True),
                      *settings("enableTunneling", "enableShareableLink", "enableIpConnect"))),
    ResourceType(
        NIC, f"{_NET}/networkInterfaces", "networkInterfaceName", CreateTime(5, "estimate", SYNC),
        key_settings=(Setting("ipConfigurations[].subnet.id", "subnet", True),
                      Setting("ipConfigurations[].publicIPAddress.id", "publicIp", True))),
    ResourceType(
        PRIVATE_ENDPOINT, f"{_NET}/privateEndpoints", "privateEndpointName",
        CreateTime(75, "estimate", f"{ASYNC}; allocates a NIC and approves the connection"),
        key_settings=(Setting("privateLinkServiceConnections[].groupIds[]", "groupIds"),
                      Setting("privateLinkServiceConnections[].privateLinkServiceId", "target", True),
                      Setting("subnet.id", "subnet", True))),
    ResourceType(
        ZONE_GROUP, f"{_NET}/privateEndpoints/{{privateEndpointName}}/privateDnsZoneGroups", "privateDnsZoneGroupName",
        CreateTime(30, "estimate", f"{ASYNC}; writes the A records"),
        key_settings=(Setting("privateDnsZoneConfigs[].privateDnsZoneId", "zones", True),)),
    # A private DNS zone's name is the zone itself: nothing else to review.
    ResourceType(PRIVATE_ZONE, f"{_NET}/privateDnsZones", "privateZoneName",
                 CreateTime(45, "estimate", f"{ASYNC} (global resource)")),
    # resolutionPolicy unset is `Default` (no fallback to internet resolution):
    # https://learn.microsoft.com/azure/dns/private-dns-fallback
    ResourceType(
        ZONE_LINK, f"{_NET}/privateDnsZones/{{privateZoneName}}/virtualNetworkLinks", "virtualNetworkLinkName",
        CreateTime(45, "estimate", f"{ASYNC} (global resource)"),
        key_settings=(Setting("virtualNetwork.id", "vnet", True), Setting("registrationEnabled"),
                      Setting("resolutionPolicy", azure_default="Default")),
        sources=("https://learn.microsoft.com/azure/dns/private-dns-fallback",)),
)
