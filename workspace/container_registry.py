"""A container registry: Premium (the only SKU with private link), public access off, admin user off."""

from dataclasses import dataclass
from typing import Optional

import pulumi
from pulumi_azure_native import containerregistry

from isolated_mlops.components.standalone import as_args, type_token
from isolated_mlops.components.interface import CommonArgs, EndpointGroup, ManagedIdentity, apply_common

__all__ = ["ContainerRegistry", "ContainerRegistryArgs"]


def _registry_identity(identity: Optional[ManagedIdentity]) -> Optional[containerregistry.IdentityPropertiesArgs]:
    """The registry's identity block. ACR spells both kinds `SystemAssigned, UserAssigned`, with a space, and
    takes user-assigned identities as a map of id -> {} (REST: Microsoft.ContainerRegistry/registries,
    IdentityProperties: https://learn.microsoft.com/rest/api/containerregistry/registries/create#identityproperties)."""
    if identity is None or (not identity.system_assigned and not identity.user_assigned_ids):
        return None
    kinds = [k for k, on in (("SystemAssigned", identity.system_assigned),
                             ("UserAssigned", bool(identity.user_assigned_ids))) if on]
    # The ids may be outputs (an identity created in the same program): the map is built once they are known.
    users = pulumi.Output.all(*identity.user_assigned_ids).apply(
        lambda ids: {uid: containerregistry.UserIdentityPropertiesArgs() for uid in ids}) \
        if identity.user_assigned_ids else None
    return containerregistry.IdentityPropertiesArgs(
        type=containerregistry.ResourceIdentityType(", ".join(kinds)), user_assigned_identities=users)

# The registry's private-link sub-resource ("Azure Private Endpoint private DNS zone values", Containers:
# https://learn.microsoft.com/azure/private-link/private-endpoint-dns#containers).
REGISTRY_GROUP_ID = "registry"


@dataclass
class ContainerRegistryArgs(CommonArgs):
    """A private Premium registry; clients reach it through `private_endpoint` (or trusted Azure services).

    `identity=` gives the registry managed identities (what it uses to read a customer-managed key, or
    for its tasks to pull from other registries).
    """

    registry_name: pulumi.Input[str]
    """The registry's Azure name (5-50 letters and digits, globally unique)."""
    resource_group_name: pulumi.Input[str]
    """The resource group the registry is created in."""
    location: pulumi.Input[str]
    """The registry's region."""


class ContainerRegistry(pulumi.ComponentResource):
    """`mlops:workspace:ContainerRegistry`."""

    registry_id: pulumi.Output[str]
    """The registry's ARM id."""
    registry_name: pulumi.Output[str]
    """The registry's Azure name."""
    login_server: pulumi.Output[str]
    """`<name>.azurecr.io`: what `docker login` and image references use."""
    private_endpoint_ids: pulumi.Output[dict[str, str]]
    """The private endpoints' ARM ids by group id; empty without `private_endpoint`."""

    def __init__(self, name: str, args: ContainerRegistryArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args = as_args(ContainerRegistryArgs, args)  # a mapping when the component package serves it
        super().__init__(type_token("mlops:workspace:ContainerRegistry"), name, None, opts)
        self.registry: containerregistry.Registry = containerregistry.Registry(
            f"{name}-registry",
            registry_name=args.registry_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            # Private endpoints exist only on Premium
            # (https://learn.microsoft.com/azure/container-registry/container-registry-private-link);
            # a cheaper SKU here silently means public pulls.
            sku=containerregistry.SkuArgs(name=containerregistry.SkuName.PREMIUM),
            admin_user_enabled=False,
            identity=_registry_identity(args.identity),
            public_network_access=containerregistry.PublicNetworkAccess.DISABLED,
            network_rule_bypass_options=containerregistry.NetworkRuleBypassOptions.AZURE_SERVICES,
            # Quarantine blocks images until a scanner releases them; batch endpoints would never start.
            policies=containerregistry.PoliciesArgs(
                quarantine_policy=containerregistry.QuarantinePolicyArgs(status=containerregistry.PolicyStatus.DISABLED),
            ),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.common = apply_common(
            self, name, args, resource_id=self.registry.id, resource_group_name=args.resource_group_name,
            location=args.location,
            endpoint_groups=[EndpointGroup(REGISTRY_GROUP_ID, f"{name}-registry",
                                           pulumi.Output.concat("pe-", self.registry.name))])
        self.private_endpoints = self.common.private_endpoints
        self.private_endpoint = self.private_endpoints.get(REGISTRY_GROUP_ID)
        self.registry_id = self.registry.id
        self.registry_name = self.registry.name
        self.login_server = self.registry.login_server
        self.private_endpoint_ids = self.common.endpoint_ids()
        self.register_outputs({"registry_id": self.registry_id, "registry_name": self.registry_name,
                               "login_server": self.login_server, "private_endpoint_ids": self.private_endpoint_ids})
