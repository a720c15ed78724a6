"""VNet peering, always declared in both directions (one direction alone carries no traffic)."""

from dataclasses import dataclass
from typing import Optional

import pulumi
from pulumi_azure_native import network

from isolated_mlops.components.interface import CommonArgs
from isolated_mlops.components.standalone import as_args, refuse_unsupported, type_token


@dataclass
class PeeredVnet:
    """One side of the peering."""

    key: str
    """Short label used in logical and peering names (`aml`, `bastion`)."""
    name: pulumi.Input[str]
    """The VNet's Azure name (the peering is its child resource)."""
    id: pulumi.Input[str]
    """The VNet's resource id."""


@dataclass(kw_only=True)
class BidirectionalPeeringArgs(CommonArgs):
    """Two VNets in one resource group, peered both ways."""

    resource_group_name: pulumi.Input[str]
    """The resource group of both VNets."""
    first: PeeredVnet
    """One VNet."""
    second: PeeredVnet
    """The other VNet."""


class BidirectionalPeering(pulumi.ComponentResource):
    """`mlops:network:BidirectionalPeering`: first -> second and second -> first, with no forwarded traffic
    and no gateway transit. Common arguments: protect. A peering has no tags, lock, roles, logs or identity
    of its own (REST: Microsoft.Network/virtualNetworks/virtualNetworkPeerings): set those on the VNets."""

    peering_ids: list[pulumi.Output[str]]
    """The ids of the two peerings, first -> second then second -> first."""

    def __init__(self, name: str, args: BidirectionalPeeringArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(type_token("mlops:network:BidirectionalPeering"), name, None, opts)
        args = as_args(BidirectionalPeeringArgs, args)
        refuse_unsupported("BidirectionalPeering", args, {
            name: "a peering is a child of its VNet; set it on the VNets"
            for name in ("tags", "lock", "private_endpoint", "diagnostics", "role_assignments", "identity")})
        child = pulumi.ResourceOptions(parent=self, protect=args.protect or None)
        self.peerings = [
            network.VirtualNetworkPeering(
                f"{name}-{local.key}-to-{remote.key}",
                virtual_network_peering_name=f"peer-{local.key}-to-{remote.key}",
                virtual_network_name=local.name,
                resource_group_name=args.resource_group_name,
                remote_virtual_network=network.SubResourceArgs(id=remote.id),
                allow_virtual_network_access=True,
                # Nothing routes through the other VNet: no NVA, no gateway transit.
                allow_forwarded_traffic=False,
                allow_gateway_transit=False,
                use_remote_gateways=False,
                opts=child,
            )
            for local, remote in ((args.first, args.second), (args.second, args.first))
        ]
        self.peering_ids = [p.id for p in self.peerings]
        self.register_outputs({"peering_ids": self.peering_ids})
