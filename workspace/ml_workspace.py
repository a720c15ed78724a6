"""The Azure Machine Learning workspace, linked to its four dependencies, behind a private endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from components.private_endpoint import PrivateEndpoint, PrivateEndpointArgs, PrivateEndpointPlacement


@dataclass
class MlWorkspaceArgs:
    workspace_name: str
    storage_account_id: pulumi.Input[str]
    key_vault_id: pulumi.Input[str]
    container_registry_id: pulumi.Input[str]
    app_insights_id: pulumi.Input[str]
    image_build_compute: str
    """A compute cluster this stack always creates: ACR is private, so images build inside the VNet."""
    public_access: bool
    """Lock-down switch: False keeps the workspace reachable only through its private endpoint."""
    placement: PrivateEndpointPlacement
    protect: bool


class MlWorkspace(pulumi.ComponentResource):
    """`mlops:workspace:MlWorkspace`."""

    workspace: ml.Workspace
    private_endpoint: PrivateEndpoint

    def __init__(self, name: str, args: MlWorkspaceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlops:workspace:MlWorkspace", name, None, opts)
        placement = args.placement
        self.workspace = ml.Workspace(
            f"{name}-workspace",
            workspace_name=args.workspace_name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            sku=ml.SkuArgs(name="Basic", tier=ml.SkuTier.BASIC),
            identity=ml.ManagedServiceIdentityArgs(type=ml.ManagedServiceIdentityType.SYSTEM_ASSIGNED),
            storage_account=args.storage_account_id,
            key_vault=args.key_vault_id,
            container_registry=args.container_registry_id,
            application_insights=args.app_insights_id,
            image_build_compute=args.image_build_compute,
            public_network_access=ml.PublicNetworkAccessType.ENABLED if args.public_access
            else ml.PublicNetworkAccessType.DISABLED,
            # v1 legacy mode would keep the v1 APIs that bypass the workspace's private endpoint.
            v1_legacy_mode=False,
            # The workspace lives in *our* VNet (customer-managed network), not an Azure-managed one.
            managed_network=ml.ManagedNetworkSettingsArgs(isolation_mode=ml.IsolationMode.DISABLED),
            tags=dict(placement.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.private_endpoint = PrivateEndpoint(
            f"{name}-workspace",
            PrivateEndpointArgs(
                placement=placement,
                target_resource_id=self.workspace.id,
                group_id="amlworkspace",
                endpoint_name=f"pe-{args.workspace_name}",
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({
            "workspace_id": self.workspace.id,
            "workspace_name": self.workspace.name,
            "private_endpoint_id": self.private_endpoint.endpoint.id,
        })
