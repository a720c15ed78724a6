"""A Key Vault: RBAC only, purge-protected; private (through its endpoint) unless asked otherwise.

The platform's vault is reachable only through its private endpoint. The state backend (bootstrap/)
uses the same component with public access on (Entra ID tokens only, optionally a list of addresses)
and no endpoint: it exists before any VNet does.
"""

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
from pulumi_azure_native import keyvault

from isolated_mlops.components.standalone import as_args, type_token
from isolated_mlops.components.interface import CommonArgs, EndpointGroup, apply_common

__all__ = ["KeyVault", "KeyVaultArgs"]

# The vault's private-link sub-resource ("Azure Private Endpoint private DNS zone values", Security:
# https://learn.microsoft.com/azure/private-link/private-endpoint-dns#security).
VAULT_GROUP_ID = "vault"


@dataclass
class KeyVaultArgs(CommonArgs):
    """A Key Vault with Azure RBAC authorization, soft delete and purge protection.

    A managed identity (`identity=`) does not apply: a vault has none.
    """

    vault_name: pulumi.Input[str]
    """The vault's Azure name (3-24 characters, globally unique)."""
    tenant_id: pulumi.Input[str]
    """The Entra tenant that authenticates the vault's callers."""
    resource_group_name: pulumi.Input[str]
    """The resource group the vault is created in."""
    location: pulumi.Input[str]
    """The vault's region."""
    public_network_access: bool = False
    """Reachable from public networks (still only with Entra ID tokens); False: only through private endpoints."""
    allowed_ip_ranges: Sequence[str] = ()
    """With public access: the only IPv4 addresses or ranges admitted; empty admits every address."""
    soft_delete_retention_days: int = 90
    """Days a deleted vault or secret stays recoverable (7-90; Azure fixes it at creation)."""


class KeyVault(pulumi.ComponentResource):
    """`mlops:workspace:KeyVault`: a vault, and optionally its private endpoint, lock, roles and diagnostics."""

    vault_id: pulumi.Output[str]
    """The vault's ARM id."""
    vault_name: pulumi.Output[str]
    """The vault's Azure name."""
    vault_uri: pulumi.Output[str]
    """The data-plane URI (`https://<name>.vault.azure.net/` in Azure's public cloud)."""
    private_endpoint_ids: pulumi.Output[dict[str, str]]
    """The private endpoints' ARM ids by group id; empty without `private_endpoint`."""

    def __init__(self, name: str, args: KeyVaultArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args = as_args(KeyVaultArgs, args)  # a mapping when the component package serves it
        super().__init__(type_token("mlops:workspace:KeyVault"), name, None, opts)
        if not 7 <= args.soft_delete_retention_days <= 90:
            # softDeleteRetentionInDays: 7-90 (https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview).
            raise ValueError(f"KeyVault {name}: soft_delete_retention_days={args.soft_delete_retention_days}; use 7-90")
        if args.allowed_ip_ranges and not args.public_network_access:
            raise ValueError(f"KeyVault {name}: allowed_ip_ranges needs public_network_access=True (they are public addresses)")
        # Deny by default unless the vault is public to every address; Azure services still pass.
        deny = not args.public_network_access or bool(args.allowed_ip_ranges)
        self.vault: keyvault.Vault = keyvault.Vault(
            f"{name}-vault",
            vault_name=args.vault_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=args.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
                # Access by Azure RBAC roles, never by vault access policies.
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=args.soft_delete_retention_days,
                # Required for customer-managed keys, and it makes a deleted vault recoverable
                # (a purged key makes whatever it encrypted unreadable, forever).
                enable_purge_protection=True,
                public_network_access=keyvault.PublicNetworkAccess.ENABLED if args.public_network_access
                else keyvault.PublicNetworkAccess.DISABLED,
                network_acls=keyvault.NetworkRuleSetArgs(
                    default_action=keyvault.NetworkRuleAction.DENY if deny else keyvault.NetworkRuleAction.ALLOW,
                    bypass=keyvault.NetworkRuleBypassOptions.AZURE_SERVICES,
                    ip_rules=[keyvault.IPRuleArgs(value=r) for r in args.allowed_ip_ranges] or None,
                ),
            ),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.common = apply_common(
            self, name, args, resource_id=self.vault.id, resource_group_name=args.resource_group_name,
            location=args.location,
            supports=frozenset({"lock", "private_endpoint", "diagnostics", "role_assignments"}),
            endpoint_groups=[EndpointGroup(VAULT_GROUP_ID, f"{name}-vault", pulumi.Output.concat("pe-", self.vault.name))])
        self.private_endpoints = self.common.private_endpoints
        self.private_endpoint = self.private_endpoints.get(VAULT_GROUP_ID)
        self.vault_id = self.vault.id
        self.vault_name = self.vault.name
        self.vault_uri = self.vault.properties.apply(lambda p: p.vault_uri or "")
        self.private_endpoint_ids = self.common.endpoint_ids()
        self.register_outputs({"vault_id": self.vault_id, "vault_name": self.vault_name, "vault_uri": self.vault_uri,
                               "private_endpoint_ids": self.private_endpoint_ids})
