"""The Azure Machine Learning workspace, linked to its four dependencies, behind a private endpoint."""

from dataclasses import dataclass, field
from typing import Mapping, Optional

import pulumi
from pulumi_azure_native import authorization
from pulumi_azure_native import machinelearningservices as ml

from isolated_mlops.components.standalone import as_args, type_token
from isolated_mlops.components.common_args import deployment_subscription
from isolated_mlops.components.interface import CommonArgs, EndpointGroup, apply_common, identity_type
from isolated_mlops.components.roles import READER, role_definition_id

__all__ = ["MlWorkspace", "MlWorkspaceArgs"]

# The workspace's private-link sub-resource ("Azure Private Endpoint private DNS zone values", AI + Machine
# Learning: https://learn.microsoft.com/azure/private-link/private-endpoint-dns#ai--machine-learning).
WORKSPACE_GROUP_ID = "amlworkspace"


@dataclass
class MlWorkspaceArgs(CommonArgs):
    """An Azure Machine Learning workspace in a customer-managed VNet, linked to its four dependencies.

    To create the workspace after its dependencies' private endpoints (as Microsoft's secure template
    does), give the component `opts=ResourceOptions(depends_on=[...])`: the workspace itself waits for
    them. The workspace always has its system-assigned identity (`identity=` may add user-assigned ones).
    """

    workspace_name: str
    """The workspace's Azure name."""
    resource_group_name: pulumi.Input[str]
    """The resource group the workspace is created in."""
    location: pulumi.Input[str]
    """The workspace's region."""
    storage_account_id: pulumi.Input[str]
    """The default storage account (WorkspaceStorage's `account_id`)."""
    key_vault_id: pulumi.Input[str]
    """The workspace's Key Vault (KeyVault's `vault_id`)."""
    container_registry_id: pulumi.Input[str]
    """The workspace's container registry (ContainerRegistry's `registry_id`)."""
    app_insights_id: pulumi.Input[str]
    """Application Insights (Monitoring's `app_insights_id`)."""
    image_build_compute: str
    """A compute cluster the stack creates: the registry is private, so images build inside the VNet."""
    serverless_subnet_id: pulumi.Input[str]
    """The subnet serverless compute runs in (the training subnet), with no public IP."""
    public_access: bool = False
    """Lock-down switch: False keeps the workspace reachable only through its private endpoint."""
    hbi_workspace: bool = False
    """High business impact (confidential data); Azure accepts it only when the workspace is created."""
    storage_endpoint_ids: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """The default storage's private endpoint ids by group id: the workspace identity gets Reader on each."""


class MlWorkspace(pulumi.ComponentResource):
    """`mlops:workspace:MlWorkspace`."""

    workspace_id: pulumi.Output[str]
    """The workspace's ARM id."""
    workspace_name: pulumi.Output[str]
    """The workspace's Azure name."""
    principal_id: pulumi.Output[str]
    """The workspace's system-assigned identity's object id."""
    private_endpoint_ids: pulumi.Output[dict[str, str]]
    """The workspace's private endpoint's ARM id by group id; empty without `private_endpoint`."""

    def __init__(self, name: str, args: MlWorkspaceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args = as_args(MlWorkspaceArgs, args)  # a mapping when the component package serves it
        super().__init__(type_token("mlops:workspace:MlWorkspace"), name, None, opts)
        # The caller's depends_on is the workspace's own wait (children do not inherit a component's).
        wait_for = opts.depends_on if opts is not None else None
        user_ids = list(args.identity.user_assigned_ids) if args.identity else []
        self.workspace: ml.Workspace = ml.Workspace(
            f"{name}-workspace",
            workspace_name=args.workspace_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=ml.SkuArgs(name="Basic", tier=ml.SkuTier.BASIC),
            identity=ml.ManagedServiceIdentityArgs(type=identity_type(args.identity, system_assigned=True) or "SystemAssigned",
                                                   user_assigned_identities=user_ids or None),
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
            tags=dict(args.tags),
            # Microsoft's machine-learning-end-to-end-secure template creates the workspace after its
            # storage, Key Vault and registry modules, private endpoints and DNS included: everything
            # the workspace runs (clusters, jobs, image builds) reaches them only through those endpoints.
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, depends_on=wait_for),
        )
        self.common = apply_common(
            self, name, args, resource_id=self.workspace.id, resource_group_name=args.resource_group_name,
            location=args.location,
            endpoint_groups=[EndpointGroup(WORKSPACE_GROUP_ID, f"{name}-workspace", f"pe-{args.workspace_name}")])
        self.private_endpoints = self.common.private_endpoints
        self.private_endpoint = self.private_endpoints.get(WORKSPACE_GROUP_ID)
        # Studio previews data in the default storage with the workspace's identity, which needs
        # Reader on each of the storage's private endpoints ("Use Azure Machine Learning studio in an
        # Azure virtual network", Datastore: Azure Storage Account, step 2:
        # https://learn.microsoft.com/azure/machine-learning/how-to-enable-studio-virtual-network#datastore-azure-storage-account).
        principal_id = self.workspace.identity.apply(_principal_id)
        self.endpoint_readers: dict[str, authorization.RoleAssignment] = {
            group: authorization.RoleAssignment(
                f"{name}-reader-{group}",
                scope=endpoint_id,
                role_definition_id=role_definition_id(deployment_subscription(self), READER),
                principal_id=principal_id,
                # Said explicitly: the identity was created seconds ago, and Azure may not find a new
                # principal yet unless the type is given
                # (https://learn.microsoft.com/azure/role-based-access-control/role-assignments-template#new-service-principal).
                principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                description=f"Studio previews data through the storage {group} endpoint with the workspace identity.",
                opts=pulumi.ResourceOptions(parent=self),
            )
            for group, endpoint_id in sorted(args.storage_endpoint_ids.items())
        }
        self.workspace_id = self.workspace.id
        self.workspace_name = self.workspace.name
        self.principal_id = principal_id
        self.private_endpoint_ids = self.common.endpoint_ids()
        self.register_outputs({
            "workspace_id": self.workspace_id,
            "workspace_name": self.workspace_name,
            "principal_id": self.principal_id,
            "private_endpoint_ids": self.private_endpoint_ids,
        })


def _principal_id(identity: Optional[ml.outputs.ManagedServiceIdentityResponse]) -> str:
    """The workspace's system-assigned identity: Azure always returns it for SystemAssigned."""
    if identity is None:
        raise ValueError("the workspace has no managed identity: its role assignments need one")
    return identity.principal_id

