"""The workspace's default storage account, reachable only through its private endpoints."""

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
from pulumi_azure_native import storage

from isolated_mlops.components.standalone import as_args, type_token
from isolated_mlops.components.interface import CommonArgs, EndpointGroup, apply_common, identity_type

__all__ = ["WorkspaceStorage", "WorkspaceStorageArgs"]


@dataclass
class WorkspaceStorageArgs(CommonArgs):
    """The default storage account of an Azure ML workspace, private but for that workspace and trusted services.

    `diagnostics=` logs the blob service (storage resource logs are per service, not per account).
    """

    account_name: pulumi.Input[str]
    """The account's Azure name (3-24 lowercase letters and digits, globally unique)."""
    resource_group_name: pulumi.Input[str]
    """The resource group the account is created in."""
    location: pulumi.Input[str]
    """The account's region."""
    trusted_workspace_id: pulumi.Input[str]
    """The AML workspace that uses this account: the one resource instance its firewall admits."""
    tenant_id: pulumi.Input[str]
    """The workspace's Entra tenant (for the firewall's resource instance rule)."""
    sku: str = "Standard_LRS"
    """The account's redundancy SKU (Standard_LRS, Standard_ZRS, Standard_GRS, ...)."""
    group_ids: Sequence[str] = ("blob", "file")
    """Private endpoints to create with `private_endpoint`: blob and file always; queue and table for batch endpoints."""
    trusted_registry_ids: Sequence[pulumi.Input[str]] = ()
    """Azure ML registries the firewall admits too: sharing a model from the workspace into a registry
    copies its files out of this account, which needs the registry as a resource instance."""


class WorkspaceStorage(pulumi.ComponentResource):
    """`mlops:workspace:Storage`: StorageV2, TLS 1.2, no public blobs, deny by default but for the workspace
    and trusted services, one endpoint per group id."""

    account_id: pulumi.Output[str]
    """The account's ARM id."""
    account_name: pulumi.Output[str]
    """The account's Azure name."""
    private_endpoint_ids: pulumi.Output[dict[str, str]]
    """The private endpoints' ARM ids by group id; empty without `private_endpoint`."""

    def __init__(self, name: str, args: WorkspaceStorageArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args = as_args(WorkspaceStorageArgs, args)  # a mapping when the component package serves it
        super().__init__(type_token("mlops:workspace:Storage"), name, None, opts)
        kind = identity_type(args.identity)
        self.account: storage.StorageAccount = storage.StorageAccount(
            f"{name}-account",
            account_name=args.account_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=args.sku),
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            enable_https_traffic_only=True,
            allow_blob_public_access=False,
            # The workspace's default datastore must be flat: AML does not support HNS there.
            is_hns_enabled=False,
            # "Selected networks" with no network in the list: clients come through the private
            # endpoints; the firewall admits only the workspace (a resource instance rule) and
            # Azure's trusted services. That is what Microsoft documents for AML's default storage
            # behind private endpoints ("Secure an Azure Machine Learning workspace with virtual
            # networks", Secure Azure storage accounts, private endpoint tab:
            # https://learn.microsoft.com/azure/machine-learning/how-to-secure-workspace-vnet#secure-azure-storage-accounts),
            # and what Microsoft's machine-learning-end-to-end-secure template deploys (Deny +
            # AzureServices). `Disabled` would turn both exceptions off: resource instance rules
            # apply only with public access enabled from selected networks
            # (https://learn.microsoft.com/azure/storage/common/storage-network-security-resource-instances),
            # and AML's service-side access (data preview and profiling with the workspace identity:
            # https://learn.microsoft.com/azure/machine-learning/how-to-identity-based-service-authentication#work-with-virtual-networks)
            # would be refused. No IP or VNet rule is ever added (policy rule storage-hardened).
            public_network_access=storage.PublicNetworkAccess.ENABLED,
            network_rule_set=storage.NetworkRuleSetArgs(
                default_action=storage.DefaultAction.DENY,
                bypass=storage.Bypass.AZURE_SERVICES,
                resource_access_rules=[storage.ResourceAccessRuleArgs(
                    tenant_id=args.tenant_id, resource_id=args.trusted_workspace_id,
                ), *(
                    # `az ml model share` (the delivery's promotion into the registry) needs the
                    # workspace's storage to admit the registry as a resource instance (Network
                    # isolation with registries, "Share assets from workspace to registry":
                    # https://learn.microsoft.com/azure/machine-learning/how-to-registry-network-isolation#share-assets-from-workspace-to-registry).
                    storage.ResourceAccessRuleArgs(tenant_id=args.tenant_id, resource_id=registry)
                    for registry in args.trusted_registry_ids
                )],
                ip_rules=[],
                virtual_network_rules=[],
            ),
            identity=storage.IdentityArgs(type=kind, user_assigned_identities=list(args.identity.user_assigned_ids) or None)
            if kind and args.identity else None,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.common = apply_common(
            self, name, args, resource_id=self.account.id, resource_group_name=args.resource_group_name,
            location=args.location,
            diagnostics_resource_id=pulumi.Output.concat(self.account.id, "/blobServices/default"),
            endpoint_groups=[EndpointGroup(group, f"{name}-{group}", pulumi.Output.concat("pe-", self.account.name, f"-{group}"))
                             for group in args.group_ids])
        self.private_endpoints = self.common.private_endpoints
        self.account_id = self.account.id
        self.account_name = self.account.name
        self.private_endpoint_ids = self.common.endpoint_ids()
        self.register_outputs({"account_id": self.account_id, "account_name": self.account_name,
                               "private_endpoint_ids": self.private_endpoint_ids})
