"""The Azure Machine Learning registry models are promoted through: private only, with its endpoints.

A registry is a top-level resource holding models, environments and components that workspaces in
any region use. Microsoft recommends promoting a model between environments through one registry
("Machine learning registries for MLOps": dev/test/prod workspaces share one registry, so the asset
that passed the gates is the one prod deploys:
https://learn.microsoft.com/azure/machine-learning/concept-machine-learning-registries-mlops).

Azure creates the registry's storage account and container registry itself, in a managed resource
group `azureml-rg-<registry>_<guid>` ("Using existing Azure resource instances ... is not
supported": https://learn.microsoft.com/cli/azure/ml/registry#az-ml-registry-create). Network
isolation ("Network isolation with Azure Machine Learning registries",
https://learn.microsoft.com/azure/machine-learning/how-to-registry-network-isolation): to use a
registry's assets from a workspace in a VNet, create a private endpoint to the registry *and* to its
storage and ACR from the workspace's VNet; Microsoft recommends all three for a user-created
registry. So this component creates three endpoints, the last two to the managed accounts whose ids
the registry reports in `regionDetails` once it exists.
"""

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
from pulumi_azure_native import authorization, machinelearningservices as ml

from isolated_mlops.components.standalone import as_args, type_token
from isolated_mlops.components.common_args import deployment_subscription
from isolated_mlops.components.interface import CommonArgs, EndpointGroup, apply_common, identity_type
from isolated_mlops.components.roles import AZUREML_REGISTRY_USER, role_definition_id
from isolated_mlops.components.zones import AML_REGISTRY_GROUP_ID

__all__ = ["ModelRegistry", "ModelRegistryArgs"]


@dataclass
class ModelRegistryArgs(CommonArgs):
    """What the model registry needs: its name, where it lives, who may use it.

    `private_endpoint` creates three endpoints: the registry's (`amlregistry`) and its managed storage's
    (`blob`) and registry's (`registry`), so give zones for all three group ids. The registry always has
    its system-assigned identity (`identity=` may add user-assigned ones).
    """

    registry_name: pulumi.Input[str]
    """The registry's Azure name (components/naming.py, `ml_registry`)."""
    resource_group_name: pulumi.Input[str]
    """The resource group the registry is created in (Azure adds a managed one for its storage and ACR)."""
    location: pulumi.Input[str]
    """The registry's home region."""
    user_principal_ids: Sequence[str] = ()
    """Object ids granted AzureML Registry User on the registry (the ML delivery's service principals)."""


def _managed_id(regions: Optional[Sequence[ml.outputs.RegistryRegionArmDetailsResponse]], kind: str) -> str:
    """The ARM id of the storage account (`kind`="storage") or ACR (`kind`="acr") the registry
    manages in its home region: `regionDetails[0].<kind>Details[0].systemCreated*.armResourceId`.
    Known once the registry exists; without it the endpoint would have no target, so say so."""
    resource_id: Optional[str] = None
    if regions:
        if kind == "storage":
            accounts = regions[0].storage_account_details or []
            storage = accounts[0].system_created_storage_account if accounts else None
            arm = storage.arm_resource_id if storage is not None else None
        else:
            acrs = regions[0].acr_details or []
            acr = acrs[0].system_created_acr_account if acrs else None
            arm = acr.arm_resource_id if acr is not None else None
        resource_id = arm.resource_id if arm is not None else None
    if not resource_id:
        raise ValueError(f"the model registry reports no {kind} account in regionDetails[0]: its private "
                         "endpoint has no target (Azure creates one per registry region)")
    return resource_id


class ModelRegistry(pulumi.ComponentResource):
    """`mlops:workspace:ModelRegistry`: the registry, its three private endpoints and its users' roles."""

    registry_id: pulumi.Output[str]
    """The registry's ARM id."""
    registry_name: pulumi.Output[str]
    """The registry's Azure name."""
    private_endpoint_ids: pulumi.Output[dict[str, str]]
    """The private endpoints' ARM ids by group id (amlregistry, blob, registry); empty without `private_endpoint`."""

    def __init__(self, name: str, args: ModelRegistryArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args = as_args(ModelRegistryArgs, args)  # a mapping when the component package serves it
        super().__init__(type_token("mlops:workspace:ModelRegistry"), name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        user_ids = list(args.identity.user_assigned_ids) if args.identity else []
        # Microsoft.MachineLearningServices/registries (ARM template reference:
        # https://learn.microsoft.com/azure/templates/microsoft.machinelearningservices/registries):
        # regionDetails names the home region and the storage/ACR Azure creates for it.
        self.registry: ml.Registry = ml.Registry(
            f"{name}-registry",
            registry_name=args.registry_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            # A registry has a managed identity; system-assigned is what `az ml registry create` gives
            # (the CLI's registry YAML has no identity setting).
            identity=ml.ManagedServiceIdentityArgs(type=identity_type(args.identity, system_assigned=True) or "SystemAssigned",
                                                   user_assigned_identities=user_ids or None),
            # Reachable only through its private endpoint: "Disable public access and use private
            # endpoints" (how-to-registry-network-isolation, "How to create a private endpoint").
            public_network_access="Disabled",
            region_details=[ml.RegistryRegionArmDetailsArgs(
                location=args.location,
                # Premium: the only ACR tier with private endpoints
                # (https://learn.microsoft.com/azure/container-registry/container-registry-private-link).
                acr_details=[ml.AcrDetailsArgs(
                    system_created_acr_account=ml.SystemCreatedAcrAccountArgs(acr_account_sku="Premium"))],
                storage_account_details=[ml.StorageAccountDetailsArgs(
                    system_created_storage_account=ml.SystemCreatedStorageAccountArgs(
                        storage_account_type="Standard_LRS",
                        storage_account_hns_enabled=False,
                        allow_blob_public_access=False,
                    ))],
            )],
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        endpoint_name = pulumi.Output.concat("pe-", self.registry.name)
        # The managed accounts' ids are known once the registry exists (unknown in a first preview).
        self.common = apply_common(
            self, name, args, resource_id=self.registry.id, resource_group_name=args.resource_group_name,
            location=args.location,
            endpoint_groups=[
                EndpointGroup(AML_REGISTRY_GROUP_ID, f"{name}-registry", endpoint_name),
                EndpointGroup("blob", f"{name}-storage-blob", pulumi.Output.concat(endpoint_name, "-blob"),
                              target_resource_id=self.registry.region_details.apply(lambda r: _managed_id(r, "storage"))),
                EndpointGroup("registry", f"{name}-acr", pulumi.Output.concat(endpoint_name, "-acr"),
                              target_resource_id=self.registry.region_details.apply(lambda r: _managed_id(r, "acr"))),
            ])
        self.private_endpoints = self.common.private_endpoints
        self.private_endpoint = self.private_endpoints.get(AML_REGISTRY_GROUP_ID)
        self.storage_endpoint = self.private_endpoints.get("blob")
        self.acr_endpoint = self.private_endpoints.get("registry")
        self.user_roles: list[authorization.RoleAssignment] = [
            authorization.RoleAssignment(
                f"{name}-user-{principal_id}",
                scope=self.registry.id,
                role_definition_id=role_definition_id(deployment_subscription(self), AZUREML_REGISTRY_USER),
                principal_id=principal_id,
                principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                description="The ML delivery registers models in the registry and promotes them from it.",
                opts=child,
            )
            for principal_id in args.user_principal_ids
        ]
        self.registry_id = self.registry.id
        self.registry_name = self.registry.name
        self.private_endpoint_ids = self.common.endpoint_ids()
        self.register_outputs({"registry_id": self.registry_id, "registry_name": self.registry_name,
                               "private_endpoint_ids": self.private_endpoint_ids})
