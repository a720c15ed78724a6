"""The Azure Machine Learning workspace, linked to its four dependencies, behind a private endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import pulumi
from pulumi_azure_native import authorization
from pulumi_azure_native import machinelearningservices as ml

from isolated_mlops.components.private_endpoint import PrivateEndpoint, PrivateEndpointArgs, PrivateEndpointPlacement
from isolated_mlops.components.roles import READER, role_definition_id


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
    hbi_workspace: bool
    """High business impact (confidential data); Azure accepts it only when the workspace is created."""
    serverless_subnet_id: pulumi.Input[str]
    """The subnet serverless compute runs in (the training subnet), with no public IP."""
    storage_private_endpoints: Mapping[str, PrivateEndpoint]
    """The default storage's endpoints by group id: the workspace identity gets Reader on each."""
    dependency_endpoints: Sequence[pulumi.Resource]
    """The storage, Key Vault and registry private endpoints: the workspace is created after them."""
    subscription_id: pulumi.Input[str]
    placement: PrivateEndpointPlacement
    protect: bool


class MlWorkspace(pulumi.ComponentResource):
    """`mlops:workspace:MlWorkspace`."""

    workspace: ml.Workspace
    private_endpoint: PrivateEndpoint
    endpoint_readers: dict[str, authorization.RoleAssignment]

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
            # v1 legacy mode trades features for isolation: when true it *disables the v2 API* (the
            # Azure Resource Manager platform) for the workspace, so operations stay on the workspace's
            # private endpoint, but the CLI and SDK v2, managed endpoints and the delivery pipelines'
            # `az ml job create` stop working. Microsoft offers it only where policy forbids any
            # operation over public networks; with it false, v2 operations (jobs, models, environments)
            # go through public ARM over TLS 1.2 and carry metadata and parameters, never the data in
            # the VNet, which Microsoft calls acceptable for most. "If you want to use the v2 API with
            # your workspace, you must set the v1_legacy_mode parameter to false" ("Network isolation
            # change with our new API platform on Azure Resource Manager":
            # https://learn.microsoft.com/azure/machine-learning/how-to-configure-network-isolation-with-v2).
            v1_legacy_mode=False,
            # HBI: less diagnostic data to Microsoft and extra encryption in Microsoft-managed
            # environments; Azure takes it only at creation ("Data encryption with Azure Machine
            # Learning", HBI_workspace flag:
            # https://learn.microsoft.com/azure/machine-learning/concept-data-encryption). The clusters'
            # local scratch disks are encrypted only if no cluster was created in the subscription
            # before; otherwise it takes a support request
            # (https://learn.microsoft.com/azure/machine-learning/concept-customer-managed-keys).
            hbi_workspace=args.hbi_workspace,
            # Serverless compute would otherwise run outside our VNet (a workspace without a managed
            # network): put it in the training subnet with no public IP. ServerlessComputeSettings:
            # "the resource ID of an existing virtual network subnet in which serverless compute nodes
            # should be deployed", no public IP "for a workspace with private endpoint"
            # (https://learn.microsoft.com/rest/api/azureml/workspaces/create-or-update#serverlesscomputesettings;
            # https://learn.microsoft.com/azure/machine-learning/how-to-use-serverless-compute).
            serverless_compute_settings=ml.ServerlessComputeSettingsArgs(
                serverless_compute_custom_subnet=args.serverless_subnet_id,
                serverless_compute_no_public_ip=True,
            ),
            # The workspace lives in *our* VNet (customer-managed network), not an Azure-managed one.
            managed_network=ml.ManagedNetworkSettingsArgs(isolation_mode=ml.IsolationMode.DISABLED),
            tags=dict(placement.tags),
            # Microsoft's machine-learning-end-to-end-secure template creates the workspace after its
            # storage, Key Vault and registry modules, private endpoints and DNS included: everything
            # the workspace runs (clusters, jobs, image builds) reaches them only through those endpoints.
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect,
                                        depends_on=list(args.dependency_endpoints)),
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
        # Studio previews data in the default storage with the workspace's identity, which needs
        # Reader on each of the storage's private endpoints ("Use Azure Machine Learning studio in an
        # Azure virtual network", Datastore: Azure Storage Account, step 2:
        # https://learn.microsoft.com/azure/machine-learning/how-to-enable-studio-virtual-network#datastore-azure-storage-account).
        principal_id = self.workspace.identity.apply(_principal_id)
        self.endpoint_readers = {
            group: authorization.RoleAssignment(
                f"{name}-reader-{group}",
                scope=endpoint.endpoint.id,
                role_definition_id=role_definition_id(args.subscription_id, READER),
                principal_id=principal_id,
                # Said explicitly: the identity was created seconds ago, and Azure may not find a new
                # principal yet unless the type is given
                # (https://learn.microsoft.com/azure/role-based-access-control/role-assignments-template#new-service-principal).
                principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                description=f"Studio previews data through the storage {group} endpoint with the workspace identity.",
                opts=pulumi.ResourceOptions(parent=self),
            )
            for group, endpoint in sorted(args.storage_private_endpoints.items())
        }
        self.register_outputs({
            "workspace_id": self.workspace.id,
            "workspace_name": self.workspace.name,
            "private_endpoint_id": self.private_endpoint.endpoint.id,
        })


def _principal_id(identity: Optional[ml.outputs.ManagedServiceIdentityResponse]) -> str:
    """The workspace's system-assigned identity: Azure always returns it for SystemAssigned."""
    if identity is None:
        raise ValueError("the workspace has no managed identity: its role assignments need one")
    return identity.principal_id

