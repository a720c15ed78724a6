"""Every Azure built-in role the program assigns: one table, its ids and why each is needed.

Role definition ids are the same in every Azure cloud and subscription; Microsoft publishes them in
"Azure built-in roles" (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
The deploying identity may assign only these roles: docs/delivery.md's role-assignment condition
lists exactly these ids, and tests/test_delivery_docs.py keeps the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

BUILT_IN_ROLES_URL = "https://learn.microsoft.com/azure/role-based-access-control/built-in-roles"


@dataclass(frozen=True)
class BuiltInRole:
    name: str
    """The role's name as Azure shows it."""
    id: str
    """The role definition id (a GUID, the same in every subscription)."""
    source: str
    """Where Microsoft documents the role and its id."""
    why: str
    """Who holds it in this platform, and what breaks without it."""


KEY_VAULT_SECRETS_USER = BuiltInRole(
    "Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6",
    f"{BUILT_IN_ROLES_URL}/security#key-vault-secrets-user",
    "the CI/CD agents' identity reads its registration token from the workspace's vault (compute/agents.py)",
)
ACR_PULL = BuiltInRole(
    "AcrPull", "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    f"{BUILT_IN_ROLES_URL}/containers#acrpull",
    "the compute clusters' identity pulls images from the private registry, whose admin user is off "
    "(https://learn.microsoft.com/azure/machine-learning/how-to-identity-based-service-authentication"
    "#scenario-azure-container-registry-without-admin-user; compute/clusters.py), and the serving cluster's "
    "kubelet identity pulls model images (https://learn.microsoft.com/azure/aks/cluster-container-registry-integration; "
    "compute/serving.py)",
)
READER = BuiltInRole(
    "Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    f"{BUILT_IN_ROLES_URL}/general#reader",
    "the workspace's identity reads the storage account's private endpoints, so studio can preview data "
    "behind them (https://learn.microsoft.com/azure/machine-learning/how-to-enable-studio-virtual-network"
    "#datastore-azure-storage-account; workspace/ml_workspace.py)",
)
MONITORING_METRICS_PUBLISHER = BuiltInRole(
    "Monitoring Metrics Publisher", "3913510d-42f4-4e42-8a64-420c390055eb",
    f"{BUILT_IN_ROLES_URL}/monitor#monitoring-metrics-publisher",
    "the ML delivery's identity posts the drift rows to the drift table's data collection rule with the Logs "
    "Ingestion API (https://learn.microsoft.com/azure/azure-monitor/logs/logs-ingestion-api-overview; "
    "workspace/alerts.py), when the stack file names that identity (alerts.mlIdentityPrincipalId)",
)

AZUREML_REGISTRY_USER = BuiltInRole(
    "AzureML Registry User", "1823dd4f-9b8c-4ab6-ab4e-7397a3684615",
    f"{BUILT_IN_ROLES_URL}/ai-machine-learning#azureml-registry-user",
    "the ML delivery's identities (modelRegistry.userPrincipalIds) read the model registry and create and "
    "use its assets: the identity that creates assets in a registry needs this role, Owner or Contributor "
    "(https://learn.microsoft.com/azure/machine-learning/how-to-registry-network-isolation"
    "#create-assets-in-registry-from-local-files; workspace/model_registry.py)",
)

NETWORK_CONTRIBUTOR = BuiltInRole(
    "Network Contributor", "4d97b98b-1d4f-4787-a291-c67834d212e7",
    f"{BUILT_IN_ROLES_URL}/networking#network-contributor",
    "the serving cluster's control-plane identity joins the scoring subnet, places its internal load balancer "
    "there and links its API server's private DNS zone to the VNet (https://learn.microsoft.com/azure/aks/"
    "private-clusters#configuration-options-for-private-dns, https://learn.microsoft.com/azure/aks/internal-lb; "
    "compute/serving.py), scoped to the AML VNet only",
)
PRIVATE_DNS_ZONE_CONTRIBUTOR = BuiltInRole(
    "Private DNS Zone Contributor", "b12aa53e-6015-4669-85d0-8515ebb3ae7f",
    f"{BUILT_IN_ROLES_URL}/networking#private-dns-zone-contributor",
    "the serving cluster's control-plane identity writes its API server's record into the custom private DNS "
    "zone privatelink.<region>.azmk8s.io (https://learn.microsoft.com/azure/aks/private-clusters"
    "#configuration-options-for-private-dns; compute/serving.py), scoped to that zone only",
)
MONITORING_READER = BuiltInRole(
    "Monitoring Reader", "43d0d8ad-25c7-4714-9337-8ba259a9fe05",
    f"{BUILT_IN_ROLES_URL}/monitor#monitoring-reader",
    "GitHub teams: the retraining trigger's reader identity (alerts.retrainReaderPrincipalId) reads the stack's fired "
    "alerts with the Alerts Management API, on the stack's resource group; the role reads monitoring data and changes "
    "nothing (https://learn.microsoft.com/azure/azure-monitor/roles-permissions-security; workspace/retrain_trigger.py, "
    ".github/workflows/ml-retrain.yml)",
)

ASSIGNED_ROLES: tuple[BuiltInRole, ...] = (KEY_VAULT_SECRETS_USER, ACR_PULL, READER, MONITORING_METRICS_PUBLISHER,
                                         AZUREML_REGISTRY_USER, MONITORING_READER, NETWORK_CONTRIBUTOR,
                                         PRIVATE_DNS_ZONE_CONTRIBUTOR)
ROLE_NAMES: dict[str, str] = {r.id: r.name for r in ASSIGNED_ROLES}


def role_definition_id(subscription_id: pulumi.Input[str], role: BuiltInRole) -> pulumi.Output[str]:
    """The ARM id of a built-in role's definition, as a role assignment takes it."""
    return pulumi.Output.concat(
        "/subscriptions/", subscription_id, "/providers/Microsoft.Authorization/roleDefinitions/", role.id,
    )
