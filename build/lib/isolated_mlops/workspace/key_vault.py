"""The workspace's Key Vault: RBAC only, purge-protected, reachable only through its private endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
from pulumi_azure_native import keyvault

from isolated_mlops.components.private_endpoint import PrivateEndpoint, PrivateEndpointArgs, PrivateEndpointPlacement


@dataclass
class KeyVaultArgs:
    vault_name: pulumi.Input[str]
    tenant_id: pulumi.Input[str]
    placement: PrivateEndpointPlacement
    protect: bool


class KeyVault(pulumi.ComponentResource):
    """`mlops:workspace:KeyVault`."""

    vault: keyvault.Vault
    private_endpoint: PrivateEndpoint

    def __init__(self, name: str, args: KeyVaultArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlops:workspace:KeyVault", name, None, opts)
        placement = args.placement
        self.vault = keyvault.Vault(
            f"{name}-vault",
            vault_name=args.vault_name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=args.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
                # Access by Azure RBAC roles, never by vault access policies.
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=90,
                # Required for customer-managed keys, and it makes a deleted vault recoverable.
                enable_purge_protection=True,
                public_network_access=keyvault.PublicNetworkAccess.DISABLED,
                network_acls=keyvault.NetworkRuleSetArgs(
                    default_action=keyvault.NetworkRuleAction.DENY,
                    bypass=keyvault.NetworkRuleBypassOptions.AZURE_SERVICES,
                ),
            ),
            tags=dict(placement.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.private_endpoint = PrivateEndpoint(
            f"{name}-vault",
            PrivateEndpointArgs(
                placement=placement,
                target_resource_id=self.vault.id,
                group_id="vault",
                endpoint_name=pulumi.Output.concat("pe-", self.vault.name),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"vault_id": self.vault.id, "vault_name": self.vault.name})
