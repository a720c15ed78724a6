"""The Azure resource providers and subscription features the stacks need registered: one table.

A subscription must be registered for a resource provider before it can create that provider's
resources, and `pulumi up` fails with `MissingSubscriptionRegistration` otherwise (Microsoft Learn,
"Azure resource providers and types":
https://learn.microsoft.com/azure/azure-resource-manager/management/resource-providers-and-types).
The azure-native provider does not register them: registration is an ARM action (a POST), and
azure-native models only resources it can PUT (pulumi/pulumi-azure-native#1075). It does have
`features.SubscriptionFeatureRegistration`, but a feature takes effect only once its provider is
registered again (that POST again), so `bootstrap/register-providers.sh` does both with the Azure CLI.

The README's prerequisites, docs/azure-requirements.md and that script list what this table holds;
`tests/test_delivery_providers.py` ties the table to the resource types the program and the bootstrap
register, so a resource from a new namespace cannot ship without its provider here.
"""

from __future__ import annotations

from typing import Mapping, Optional

AZURE_NATIVE = "azure-native"

# Namespace -> what the stacks create there. Registered by `bootstrap/register-providers.sh`.
RESOURCE_PROVIDERS: Mapping[str, str] = {
    # "The resource provider for Azure Machine Learning is Microsoft.MachineLearningServices"
    # (https://learn.microsoft.com/azure/machine-learning/how-to-manage-workspace#limitations).
    "Microsoft.MachineLearningServices": "the workspace, its compute clusters and the model registry",
    # Private endpoints need it in the subscription of the endpoint and of the target
    # (https://learn.microsoft.com/azure/private-link/private-endpoint-overview#private-endpoint-properties).
    "Microsoft.Network": "VNets, NSGs, NAT gateways, public IPs, peering, Bastion, private endpoints, private DNS zones",
    "Microsoft.Compute": "the jump host and agent VMs (and their disks)",
    "Microsoft.ContainerRegistry": "the container registry",
    "Microsoft.KeyVault": "the Key Vault and its secret (and the state backend's vault and key)",
    "Microsoft.Storage": "the workspace's storage account (and the state backend's)",
    "Microsoft.Insights": "Application Insights, the Azure Monitor Private Link Scope, the drift table's data "
                          "collection endpoint and rule, action groups and alert rules",
    "Microsoft.OperationalInsights": "the Log Analytics workspace and the drift table",
    "Microsoft.ManagedIdentity": "the user-assigned identities of the CI/CD agents, the compute clusters and the "
                                 "serving cluster",
    # AKS clusters and their managed namespaces; cluster extensions (the Azure ML extension) need
    # Microsoft.KubernetesConfiguration as well ("Deploy and manage cluster extensions by using Azure
    # CLI", prerequisites: https://learn.microsoft.com/azure/aks/deploy-extensions-az-cli).
    "Microsoft.ContainerService": "the private serving cluster (AKS) and its managed namespace",
    "Microsoft.KubernetesConfiguration": "the Azure ML extension on the serving cluster",
}

# Registered in every subscription by default (Microsoft Learn, "Resource providers for Azure
# services", the footnote "Registered by default":
# https://learn.microsoft.com/azure/azure-resource-manager/management/azure-services-resource-providers).
REGISTERED_BY_DEFAULT: Mapping[str, str] = {
    "Microsoft.Resources": "the resource group",
    "Microsoft.Authorization": "role assignments and the state backend's delete lock",
}

# (namespace, feature) -> why. Encryption at host must be registered (and show "Registered") before a
# VM can ask for it (Microsoft Learn, "Use the Azure CLI to enable end-to-end encryption using
# encryption at host", Prerequisites:
# https://learn.microsoft.com/azure/virtual-machines/linux/disks-enable-host-based-encryption-cli#prerequisites);
# `az feature register` itself adds that registering the provider again propagates the change.
SUBSCRIPTION_FEATURES: Mapping[tuple[str, str], str] = {
    ("Microsoft.Compute", "EncryptionAtHost"): "encryption at host on the jump host and agent VMs",
}

# azure-native modules whose name is not their namespace's (the others are `Microsoft.<module>`,
# compared case-insensitively: `machinelearningservices` is Microsoft.MachineLearningServices).
MODULE_NAMESPACES: Mapping[str, str] = {
    "privatedns": "Microsoft.Network",  # Microsoft.Network/privateDnsZones
    "applicationinsights": "Microsoft.Insights",  # Microsoft.Insights/components
    # Microsoft.Insights/privateLinkScopes, diagnosticSettings, dataCollectionEndpoints, dataCollectionRules,
    # actionGroups, metricAlerts, scheduledQueryRules.
    "monitor": "Microsoft.Insights",
}


def namespace_of(type_token: str) -> Optional[str]:
    """The resource provider namespace of an azure-native type token (`azure-native:network:Subnet`
    -> `Microsoft.Network`); None for other packages' types. A module this table cannot place raises
    KeyError: its namespace must be added here (and registered) first."""
    package, _, rest = type_token.partition(":")
    if package != AZURE_NATIVE:
        return None
    module = rest.split(":", 1)[0]
    if module in MODULE_NAMESPACES:
        return MODULE_NAMESPACES[module]
    known = {name.split(".", 1)[1].lower(): name for name in (*RESOURCE_PROVIDERS, *REGISTERED_BY_DEFAULT)}
    if module.lower() in known:
        return known[module.lower()]
    raise KeyError(f"azure-native module {module!r} ({type_token}) maps to no namespace in components/providers.py: "
                   "add its resource provider to RESOURCE_PROVIDERS (or MODULE_NAMESPACES), the README's "
                   "prerequisites, docs/azure-requirements.md and bootstrap/register-providers.sh")
