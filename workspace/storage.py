"""The workspace's default storage account, reachable only through its private endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
from pulumi_azure_native import storage

from isolated_mlops.components.private_endpoint import PrivateEndpoint, PrivateEndpointArgs, PrivateEndpointPlacement


@dataclass
class WorkspaceStorageArgs:
    account_name: pulumi.Input[str]
    sku: str
    group_ids: Sequence[str]
    """Private endpoints to create: blob and file always; queue and table for batch endpoints."""
    trusted_workspace_id: pulumi.Input[str]
    """The AML workspace that uses this account: the one resource instance its firewall admits."""
    tenant_id: pulumi.Input[str]
    placement: PrivateEndpointPlacement
    protect: bool
    """Refuse deletion (production): a replaced account loses every dataset and model artifact."""
    trusted_registry_ids: Sequence[pulumi.Input[str]] = ()
    """Azure ML registries the firewall admits too: sharing a model from the workspace into a registry
    copies its files out of this account, which needs the registry as a resource instance."""


class WorkspaceStorage(pulumi.ComponentResource):
    """`mlops:workspace:Storage`: StorageV2, TLS 1.2, no public blobs, deny by default but for the workspace
    and trusted services, one endpoint per group id."""

    account: storage.StorageAccount
    private_endpoints: dict[str, PrivateEndpoint]

    def __init__(self, name: str, args: WorkspaceStorageArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlops:workspace:Storage", name, None, opts)
        placement = args.placement
        self.account = storage.StorageAccount(
            f"{name}-account",
            account_name=args.account_name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
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
            tags=dict(placement.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.private_endpoints = {
            group: PrivateEndpoint(
                f"{name}-{group}",
                PrivateEndpointArgs(
                    placement=placement,
                    target_resource_id=self.account.id,
                    group_id=group,
                    endpoint_name=pulumi.Output.concat("pe-", self.account.name, f"-{group}"),
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for group in args.group_ids
        }
        self.register_outputs({"account_id": self.account.id, "account_name": self.account.name})
