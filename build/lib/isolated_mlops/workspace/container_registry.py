"""The workspace's container registry: Premium (the only SKU with private link), private only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
from pulumi_azure_native import containerregistry

from isolated_mlops.components.private_endpoint import PrivateEndpoint, PrivateEndpointArgs, PrivateEndpointPlacement


@dataclass
class ContainerRegistryArgs:
    registry_name: pulumi.Input[str]
    placement: PrivateEndpointPlacement
    protect: bool


class ContainerRegistry(pulumi.ComponentResource):
    """`mlops:workspace:ContainerRegistry`."""

    registry: containerregistry.Registry
    private_endpoint: PrivateEndpoint

    def __init__(self, name: str, args: ContainerRegistryArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlops:workspace:ContainerRegistry", name, None, opts)
        placement = args.placement
        self.registry = containerregistry.Registry(
            f"{name}-registry",
            registry_name=args.registry_name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            # Private endpoints exist only on Premium; a cheaper SKU here silently means public pulls.
            sku=containerregistry.SkuArgs(name=containerregistry.SkuName.PREMIUM),
            admin_user_enabled=False,
            public_network_access=containerregistry.PublicNetworkAccess.DISABLED,
            network_rule_bypass_options=containerregistry.NetworkRuleBypassOptions.AZURE_SERVICES,
            # Quarantine blocks images until a scanner releases them; batch endpoints would never start.
            policies=containerregistry.PoliciesArgs(
                quarantine_policy=containerregistry.QuarantinePolicyArgs(status=containerregistry.PolicyStatus.DISABLED),
            ),
            tags=dict(placement.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.private_endpoint = PrivateEndpoint(
            f"{name}-registry",
            PrivateEndpointArgs(
                placement=placement,
                target_resource_id=self.registry.id,
                group_id="registry",
                endpoint_name=pulumi.Output.concat("pe-", self.registry.name),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"registry_id": self.registry.id, "login_server": self.registry.login_server})
