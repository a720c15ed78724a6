"""A VNet whose subnets each come with an NSG and, where they need it, NAT-gateway egress."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
from pulumi_azure_native import network

# Azure requires exactly this name for the subnet that holds Bastion.
BASTION_SUBNET_NAME = "AzureBastionSubnet"


@dataclass(frozen=True)
class SubnetPlan:
    key: str
    """How the program refers to the subnet (`training`, `privateEndpoints`, ...)."""
    name: str
    """The subnet's Azure name."""
    address_prefix: str
    nat_egress: bool = False
    """Route outbound traffic through the VNet's NAT gateway (no default outbound access exists)."""
    ssh_from: Optional[str] = None
    """A CIDR (the Bastion subnet) allowed to reach port 22; nothing else may."""
    private_endpoints: bool = False
    """Holds private endpoints: network policies off so the endpoints' routes win."""

    @property
    def is_bastion(self) -> bool:
        return self.name == BASTION_SUBNET_NAME


@dataclass
class VirtualNetworkArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    vnet_name: str
    address_space: str
    subnets: Sequence[SubnetPlan]
    nat_gateway: bool
    """Create a NAT gateway for the subnets that ask for egress (else a firewall must be brought)."""
    tags: Mapping[str, str] = field(default_factory=dict)


class VirtualNetwork(pulumi.ComponentResource):
    """`mlops:network:VirtualNetwork`: the VNet, an NSG on every workload subnet, optional NAT egress."""

    vnet: network.VirtualNetwork
    subnet_ids: dict[str, pulumi.Output[str]]
    nsgs: dict[str, network.NetworkSecurityGroup]
    nat_gateway: Optional[network.NatGateway]

    def __init__(self, name: str, args: VirtualNetworkArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlops:network:VirtualNetwork", name, None, opts)
        self._child = pulumi.ResourceOptions(parent=self)
        self._args = args

        self.nsgs = {s.key: self._create_nsg(name, s) for s in args.subnets if not s.is_bastion}
        wants_egress = args.nat_gateway and any(s.nat_egress for s in args.subnets)
        self.nat_gateway = self._create_nat_gateway(name) if wants_egress else None

        # Subnets are declared inline: one PUT creates the VNet with every subnet, instead of N
        # subnet PUTs that Azure serialises anyway (and answers with AnotherOperationInProgress).
        self.vnet = network.VirtualNetwork(
            f"{name}-vnet",
            virtual_network_name=args.vnet_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            address_space=network.AddressSpaceArgs(address_prefixes=[args.address_space]),
            subnets=[self._subnet_args(s) for s in args.subnets],
            tags=dict(args.tags),
            opts=self._child,
        )
        # Subnet ids follow from the VNet id; deriving them keeps the dependency on the VNet.
        self.subnet_ids = {
            s.key: pulumi.Output.concat(self.vnet.id, "/subnets/", s.name) for s in args.subnets
        }
        self.register_outputs({
            "vnet_id": self.vnet.id,
            "vnet_name": self.vnet.name,
            "subnet_ids": self.subnet_ids,
        })

    def _subnet_args(self, plan: SubnetPlan) -> network.SubnetArgs:
        nsg = self.nsgs.get(plan.key)
        return network.SubnetArgs(
            name=plan.name,
            address_prefix=plan.address_prefix,
            network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id) if nsg else None,
            nat_gateway=network.SubResourceArgs(id=self.nat_gateway.id)
            if self.nat_gateway is not None and plan.nat_egress else None,
            private_endpoint_network_policies=network.VirtualNetworkPrivateEndpointNetworkPolicies.DISABLED
            if plan.private_endpoints else network.VirtualNetworkPrivateEndpointNetworkPolicies.ENABLED,
            # Said explicitly: nothing in this platform relies on Azure's retired implicit egress.
            default_outbound_access=False,
        )

    def _create_nsg(self, name: str, plan: SubnetPlan) -> network.NetworkSecurityGroup:
        rules = []
        if plan.ssh_from:
            rules.append(network.SecurityRuleArgs(
                name="AllowSshFromBastion",
                description="SSH only from the Bastion subnet; Bastion is the way in.",
                priority=100, direction=network.SecurityRuleDirection.INBOUND,
                access=network.SecurityRuleAccess.ALLOW, protocol=network.SecurityRuleProtocol.TCP,
                source_address_prefix=plan.ssh_from, source_port_range="*",
                destination_address_prefix=plan.address_prefix, destination_port_range="22",
            ))
        # Explicit, so a later "allow" at a lower priority number is a visible, reviewable change.
        rules.append(network.SecurityRuleArgs(
            name="DenyInternetInbound",
            description="Nothing in this platform accepts connections from the internet.",
            priority=4096, direction=network.SecurityRuleDirection.INBOUND,
            access=network.SecurityRuleAccess.DENY, protocol=network.SecurityRuleProtocol.ASTERISK,
            source_address_prefix="Internet", source_port_range="*",
            destination_address_prefix="*", destination_port_range="*",
        ))
        return network.NetworkSecurityGroup(
            f"{name}-nsg-{plan.key}",
            network_security_group_name=f"nsg-{self._args.vnet_name}-{plan.key}",
            resource_group_name=self._args.resource_group_name,
            location=self._args.location,
            security_rules=rules,
            tags=dict(self._args.tags),
            opts=self._child,
        )

    def _create_nat_gateway(self, name: str) -> network.NatGateway:
        # The NAT gateway's public IP only ever carries outbound flows: it accepts no inbound connection.
        egress_ip = network.PublicIPAddress(
            f"{name}-nat-ip",
            public_ip_address_name=f"pip-nat-{self._args.vnet_name}",
            resource_group_name=self._args.resource_group_name,
            location=self._args.location,
            sku=network.PublicIPAddressSkuArgs(name=network.PublicIPAddressSkuName.STANDARD),
            public_ip_allocation_method=network.IPAllocationMethod.STATIC,
            tags=dict(self._args.tags),
            opts=self._child,
        )
        return network.NatGateway(
            f"{name}-nat",
            nat_gateway_name=f"ng-{self._args.vnet_name}",
            resource_group_name=self._args.resource_group_name,
            location=self._args.location,
            sku=network.NatGatewaySkuArgs(name=network.NatGatewaySkuName.STANDARD),
            public_ip_addresses=[network.SubResourceArgs(id=egress_ip.id)],
            idle_timeout_in_minutes=10,
            tags=dict(self._args.tags),
            opts=self._child,
        )
