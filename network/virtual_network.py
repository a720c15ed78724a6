"""A VNet whose subnets each come with an NSG and, where they need it, NAT-gateway egress."""

import dataclasses
from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
from pulumi_azure_native import network

from isolated_mlops.components.catalogue import BASTION_SUBNET_NAME  # the name Azure requires
from isolated_mlops.components.interface import CommonArgs, apply_common
from isolated_mlops.components.standalone import as_args, refuse_unsupported, subscription_of, type_token

# Every NSG here ends its inbound rules the same way, just above Azure's default rules (65000+):
# Azure's default AllowVnetInBound (priority 65000) admits the whole `VirtualNetwork` tag, which
# covers peered VNets too, so without an explicit deny the training subnet (arbitrary user code)
# could reach the jump host, the agents and every endpoint across the peering.
# Microsoft Learn: "Network security groups", default security rules
# (https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview#default-security-rules),
# and "Virtual network service tags": VirtualNetwork includes peered virtual networks and the host's
# virtual IP (https://learn.microsoft.com/azure/virtual-network/service-tags-overview#available-service-tags).
FIRST_ALLOW_PRIORITY = 100
# The host's virtual IP (168.63.129.16) is in the VirtualNetwork tag: Azure's health probes keep their
# way in explicitly, before the deny, as Azure's own default rule 65001 would have let them.
AZURE_LOAD_BALANCER_PRIORITY = 4000
DENY_VNET_PRIORITY = 4095
DENY_INTERNET_PRIORITY = 4096


@dataclass(frozen=True)
class InboundAllow:
    """Connections one other subnet may open into a subnet; nothing else in the VNets may."""

    name: str
    """The NSG rule's name, e.g. `AllowSshFromBastion`."""
    source_prefix: str
    """The source subnet's address prefix."""
    description: str
    """The NSG rule's description: why this connection is allowed."""
    protocol: str = "*"
    """Tcp, Udp, Icmp, Esp, Ah or `*` (any): the REST API's SecurityRuleProtocol."""
    port: str = "*"
    """The destination port or range (`22`, `8000-8010`), `*` for any."""


@dataclass(frozen=True)
class SubnetPlan:
    """One subnet of the VNet: its address range and what may reach it."""

    key: str
    """How the program refers to the subnet (`training`, `privateEndpoints`, ...)."""
    name: str
    """The subnet's Azure name (`AzureBastionSubnet` for Bastion's, which gets no NSG here)."""
    address_prefix: str
    """The subnet's CIDR, inside the VNet's address space."""
    nat_egress: bool = False
    """Route outbound traffic through the VNet's NAT gateway (no default outbound access exists)."""
    private_endpoints: bool = False
    """Holds private endpoints: their NSG rules apply (network policies for NSGs on)."""
    inbound: Sequence[InboundAllow] = ()
    """The only connections the subnet accepts from the VNets (peered ones included)."""
    within_subnet: bool = False
    """Its hosts talk to each other (a cluster's nodes in distributed training)."""
    endpoint_client: bool = False
    """Its hosts use the platform's private endpoints: the endpoints' subnet accepts its connections."""

    @property
    def is_bastion(self) -> bool:
        return self.name == BASTION_SUBNET_NAME


def _pascal(key: str) -> str:
    return key[:1].upper() + key[1:]


def ssh_from(source: SubnetPlan) -> InboundAllow:
    """SSH from `source` (Bastion's subnet) only. Microsoft Learn, "Working with NSG access and Azure
    Bastion": the target VM subnet allows RDP/SSH from the AzureBastionSubnet
    (https://learn.microsoft.com/azure/bastion/bastion-nsg)."""
    return InboundAllow(
        name=f"AllowSshFrom{_pascal(source.key)}", source_prefix=source.address_prefix,
        description=f"SSH only from the {source.name} subnet; Bastion is the way in.",
        protocol="Tcp", port="22")


def with_endpoint_clients(plans: Sequence[SubnetPlan], clients: Sequence[SubnetPlan]) -> list[SubnetPlan]:
    """`plans`, where every private-endpoint subnet accepts connections from each of `clients` that
    uses the endpoints (any port: storage needs 443 and 445, the other services 443), and nothing else."""
    allows = tuple(
        InboundAllow(name=f"AllowEndpointClientsFrom{_pascal(c.key)}", source_prefix=c.address_prefix,
                     description=f"{c.name} uses the private endpoints.")
        for c in clients if c.endpoint_client)
    return [dataclasses.replace(p, inbound=(*p.inbound, *allows)) if p.private_endpoints else p for p in plans]


@dataclass(kw_only=True)
class VirtualNetworkArgs(CommonArgs):
    """A VNet, its subnets (each with an NSG but Bastion's) and, optionally, NAT egress."""

    resource_group_name: pulumi.Input[str]
    """The resource group of the VNet, its NSGs and its NAT gateway."""
    location: pulumi.Input[str]
    """The Azure region."""
    vnet_name: str
    """The VNet's Azure name; NSGs and the NAT gateway are named after it."""
    address_space: str
    """The VNet's CIDR, e.g. `10.10.0.0/16`."""
    subnets: Sequence[SubnetPlan]
    """The subnets, each with the connections it accepts from the VNets."""
    nat_gateway: bool
    """Create a NAT gateway for the subnets that ask for egress (else a firewall must be brought)."""


class VirtualNetwork(pulumi.ComponentResource):
    """`mlops:network:VirtualNetwork`: the VNet, an NSG on every workload subnet that denies the rest of the
    VNets, optional NAT egress. Common arguments: tags and protect on every resource; lock, role
    assignments and diagnostics on the VNet."""

    vnet_id: pulumi.Output[str]
    """The VNet's resource id."""
    vnet_name: pulumi.Output[str]
    """The VNet's name."""
    subnet_ids: dict[str, pulumi.Output[str]]
    """Subnet key -> subnet resource id."""
    nsg_ids: dict[str, pulumi.Output[str]]
    """Subnet key -> the id of the subnet's NSG (every subnet but Bastion's)."""
    nat_gateway_id: Optional[pulumi.Output[str]]
    """The NAT gateway's id, when one was created."""

    def __init__(self, name: str, args: VirtualNetworkArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(type_token("mlops:network:VirtualNetwork"), name, None, opts)
        args = as_args(VirtualNetworkArgs, args)
        refuse_unsupported("VirtualNetwork", args, {
            "private_endpoint": "a VNet has no private-link group id", "identity": "a VNet has no managed identity"})
        self._child = pulumi.ResourceOptions(parent=self, protect=args.protect or None)
        self._args = args

        # Python programs may reach the resources themselves; other languages get the outputs below.
        self.nsgs: dict[str, network.NetworkSecurityGroup] = {
            s.key: self._create_nsg(name, s) for s in args.subnets if not s.is_bastion}
        wants_egress = args.nat_gateway and any(s.nat_egress for s in args.subnets)
        self.nat_gateway: Optional[network.NatGateway] = self._create_nat_gateway(name) if wants_egress else None

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
        self.common = apply_common(self, name, args, resource_id=self.vnet.id,
                                   subscription_id=subscription_of(self.vnet.id))
        self.vnet_id = self.vnet.id
        self.vnet_name = self.vnet.name
        # Subnet ids follow from the VNet id; deriving them keeps the dependency on the VNet.
        self.subnet_ids = {
            s.key: pulumi.Output.concat(self.vnet.id, "/subnets/", s.name) for s in args.subnets
        }
        self.nsg_ids = {key: nsg.id for key, nsg in self.nsgs.items()}
        self.nat_gateway_id = self.nat_gateway.id if self.nat_gateway is not None else None
        self.register_outputs({
            "vnet_id": self.vnet_id,
            "vnet_name": self.vnet_name,
            "subnet_ids": self.subnet_ids,
            "nsg_ids": self.nsg_ids,
            "nat_gateway_id": self.nat_gateway_id,
        })

    def _subnet_args(self, plan: SubnetPlan) -> network.SubnetArgs:
        nsg = self.nsgs.get(plan.key)
        return network.SubnetArgs(
            name=plan.name,
            address_prefix=plan.address_prefix,
            network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id) if nsg else None,
            nat_gateway=network.SubResourceArgs(id=self.nat_gateway.id)
            if self.nat_gateway is not None and plan.nat_egress else None,
            # Private endpoints ignore their subnet's NSG unless network policies for NSGs are on;
            # route-table policies stay off (no user-defined routes here). Microsoft Learn, "Manage
            # network policies for private endpoints":
            # https://learn.microsoft.com/azure/private-link/disable-private-endpoint-network-policy
            private_endpoint_network_policies=network.VirtualNetworkPrivateEndpointNetworkPolicies.NETWORK_SECURITY_GROUP_ENABLED
            if plan.private_endpoints else network.VirtualNetworkPrivateEndpointNetworkPolicies.ENABLED,
            # Said explicitly: nothing in this platform relies on Azure's retired implicit egress.
            default_outbound_access=False,
        )

    def _create_nsg(self, name: str, plan: SubnetPlan) -> network.NetworkSecurityGroup:
        inbound = network.SecurityRuleDirection.INBOUND
        allow, deny = network.SecurityRuleAccess.ALLOW, network.SecurityRuleAccess.DENY

        def rule(rule_name: str, description: str, priority: int, access: network.SecurityRuleAccess,
                 source: str, protocol: str = "*", port: str = "*",
                 destination: str = "*") -> network.SecurityRuleArgs:
            return network.SecurityRuleArgs(
                name=rule_name, description=description, priority=priority, direction=inbound, access=access,
                protocol=protocol, source_address_prefix=source, source_port_range="*",
                destination_address_prefix=destination, destination_port_range=port)

        rules = [rule(a.name, a.description, FIRST_ALLOW_PRIORITY + 10 * i, allow, a.source_prefix,
                      a.protocol, a.port, plan.address_prefix)
                 for i, a in enumerate(plan.inbound)]
        if plan.within_subnet:
            # A compute cluster's nodes reach each other for distributed training (the processes
            # rendezvous on the first node: Microsoft Learn, "Distributed GPU training guide",
            # https://learn.microsoft.com/azure/machine-learning/how-to-train-distributed-gpu).
            rules.append(rule("AllowWithinSubnet", "The subnet's own hosts (a cluster's nodes) reach each other.",
                              FIRST_ALLOW_PRIORITY + 10 * len(plan.inbound), allow, plan.address_prefix,
                              destination=plan.address_prefix))
        rules += [
            rule("AllowAzureLoadBalancerInbound", "Azure's health probes (the host's virtual IP is in the "
                 "VirtualNetwork tag denied next).", AZURE_LOAD_BALANCER_PRIORITY, allow, "AzureLoadBalancer"),
            # Before Azure's AllowVnetInBound (65000): the peered VNet and the other subnets reach this
            # one only through the allows above. A later "allow" at a lower number is a visible change.
            rule("DenyVnetInbound", "Nothing else in the VNets (peered ones included) may connect: no lateral "
                 "movement.", DENY_VNET_PRIORITY, deny, "VirtualNetwork"),
            rule("DenyInternetInbound", "Nothing in this platform accepts connections from the internet.",
                 DENY_INTERNET_PRIORITY, deny, "Internet"),
        ]
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

