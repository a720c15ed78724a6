"""Azure Bastion: the only way in, and the owner of the stack's only inbound-capable public IP."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import pulumi
from pulumi_azure_native import network


@dataclass
class BastionArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    bastion_name: str
    subnet_id: pulumi.Input[str]
    """The `AzureBastionSubnet` (/26 or larger)."""
    sku: str = "Standard"
    """Basic, Standard or Premium (components/config.py BASTION_SKUS)."""
    tags: Mapping[str, str] = field(default_factory=dict)


class Bastion(pulumi.ComponentResource):
    """`mlops:network:Bastion`: a dedicated Bastion (Standard by default, with native-client tunnelling) on a
    Standard static IP."""

    public_ip: network.PublicIPAddress
    host: network.BastionHost

    def __init__(self, name: str, args: BastionArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlops:network:Bastion", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Bastion refuses Basic or dynamic public IPs.
        self.public_ip = network.PublicIPAddress(
            f"{name}-ip",
            public_ip_address_name=f"pip-{args.bastion_name}",
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=network.PublicIPAddressSkuArgs(name=network.PublicIPAddressSkuName.STANDARD),
            public_ip_allocation_method=network.IPAllocationMethod.STATIC,
            tags=dict(args.tags),
            opts=child,
        )
        self.host = network.BastionHost(
            f"{name}-host",
            bastion_host_name=args.bastion_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=network.SkuArgs(name=network.BastionHostSkuName(args.sku)),
            # Standard's native-client tunnelling lets engineers `az network bastion ssh` to the jump host.
            # Basic has no native client ("Connect to VMs using Azure CLI": Standard and Premium only,
            # https://learn.microsoft.com/azure/bastion/configuration-settings), so it is not asked for.
            enable_tunneling=args.sku != "Basic",
            enable_shareable_link=False,
            ip_configurations=[network.BastionHostIPConfigurationArgs(
                name="bastion-ipconfig",
                subnet=network.SubResourceArgs(id=args.subnet_id),
                public_ip_address=network.SubResourceArgs(id=self.public_ip.id),
            )],
            tags=dict(args.tags),
            opts=child,
        )
        self.register_outputs({"bastion_name": self.host.name, "public_ip_id": self.public_ip.id})
