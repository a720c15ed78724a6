"""Azure Bastion: the only way in, and the owner of the stack's only inbound-capable public IP."""

from dataclasses import dataclass
from typing import Optional

import pulumi
from pulumi_azure_native import network

from isolated_mlops.components.interface import CommonArgs, apply_common
from isolated_mlops.components.standalone import as_args, refuse_unsupported, subscription_of, type_token


@dataclass(kw_only=True)
class BastionArgs(CommonArgs):
    """A dedicated Azure Bastion host in an existing `AzureBastionSubnet`."""

    resource_group_name: pulumi.Input[str]
    """The resource group of the host and its public IP."""
    location: pulumi.Input[str]
    """The Azure region (the subnet's)."""
    bastion_name: str
    """The host's Azure name; its public IP is `pip-<name>`."""
    subnet_id: pulumi.Input[str]
    """The `AzureBastionSubnet` (/26 or larger)."""
    sku: str = "Standard"
    """Basic, Standard or Premium (components/config.py BASTION_SKUS)."""


class Bastion(pulumi.ComponentResource):
    """`mlops:network:Bastion`: a dedicated Bastion (Standard by default, with native-client tunnelling) on a
    Standard static IP. Common arguments: tags and protect on both resources; lock, role assignments and
    diagnostics on the host."""

    bastion_id: pulumi.Output[str]
    """The Bastion host's resource id."""
    bastion_name: pulumi.Output[str]
    """The Bastion host's name (`az network bastion ssh --name`)."""
    public_ip_id: pulumi.Output[str]
    """The id of the host's public IP, the stack's only inbound-capable one."""

    def __init__(self, name: str, args: BastionArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(type_token("mlops:network:Bastion"), name, None, opts)
        args = as_args(BastionArgs, args)
        refuse_unsupported("Bastion", args, {
            "private_endpoint": "Bastion is reached through its public IP", "identity": "Bastion has no managed identity"})
        child = pulumi.ResourceOptions(parent=self, protect=args.protect or None)
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
        self.common = apply_common(self, name, args, resource_id=self.host.id, subscription_id=subscription_of(self.host.id))
        self.bastion_id = self.host.id
        self.bastion_name = self.host.name
        self.public_ip_id = self.public_ip.id
        self.register_outputs({"bastion_id": self.bastion_id, "bastion_name": self.bastion_name,
                               "public_ip_id": self.public_ip_id})
