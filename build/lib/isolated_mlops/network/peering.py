"""VNet peering, always declared in both directions (one direction alone carries no traffic)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
from pulumi_azure_native import network


@dataclass
class PeeredVnet:
    key: str
    """Short label used in logical and peering names (`aml`, `bastion`)."""
    name: pulumi.Input[str]
    id: pulumi.Input[str]


@dataclass
class BidirectionalPeeringArgs:
    resource_group_name: pulumi.Input[str]
    first: PeeredVnet
    second: PeeredVnet


class BidirectionalPeering(pulumi.ComponentResource):
    """`mlops:network:BidirectionalPeering`: first -> second and second -> first."""

    peerings: list[network.VirtualNetworkPeering]

    def __init__(self, name: str, args: BidirectionalPeeringArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlops:network:BidirectionalPeering", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
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
        self.register_outputs({"peering_ids": [p.id for p in self.peerings]})
