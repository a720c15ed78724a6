"""Private DNS zone names per private-endpoint group id, per Azure cloud: the one table that decides them.

A private endpoint only works when its DNS zone group writes the endpoint's A records into the zone
(or zones) that the service's public name CNAMEs into. The AML workspace needs *two* zones: the API
zone and the notebooks zone; with only the first, the studio loads but notebooks fail.
Source: "Azure Private Endpoint private DNS zone values" (Microsoft Learn), per cloud.

Azure Monitor (`azuremonitor`, an endpoint to an Azure Monitor Private Link Scope) needs five zones,
one of which is the storage `blob` zone: a zone name can serve several group ids, and
`network.private_dns` creates each name once per stack. US Government adds an Azure Data Explorer
zone (`privatelink.adx.monitor.azure.us`), as Microsoft's table lists it. Microsoft's table has no
Azure Monitor row for Azure China; its names below follow the China public endpoints
(`monitor.azure.cn`, `{oms,ods}.opinsights.azure.cn`, `agentsvc.azure-automation.cn`) the way the
other clouds' names follow theirs: confirm them before deploying there.

An Azure Machine Learning registry (`amlregistry`) registers in the workspace's API zone
(`privatelink.api.azureml.ms`, Microsoft's table, "AI + Machine Learning"): the one zone serves both
group ids and is still created once. Microsoft's US Government and China tables have no registry row;
their entries below reuse each cloud's workspace API zone by the same reasoning: unconfirmed, confirm
them (and that registries exist in that cloud) before deploying there.

The plan (components/plan.py) lists the platform's private endpoints, one per group id: the program
builds the DNS zones from it, and the configuration check counts the private-endpoint subnet's
addresses from it (tests/test_plan.py proves the program declares exactly those), with the addresses
each endpoint takes from `PRIVATE_ENDPOINT_ADDRESSES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

# The group id of an endpoint to an Azure Monitor Private Link Scope (Log Analytics, App Insights).
AZURE_MONITOR_GROUP_ID = "azuremonitor"
# The group id of an endpoint to an Azure Machine Learning registry (Microsoft Learn, "Azure Private
# Endpoint private DNS zone values": https://learn.microsoft.com/azure/private-link/private-endpoint-dns).
AML_REGISTRY_GROUP_ID = "amlregistry"


@dataclass(frozen=True)
class CloudEndpoints:
    """What differs between Azure clouds for this platform."""

    zones_by_group_id: Mapping[str, tuple[str, ...]]
    key_vault_dns_suffix: str
    """Data-plane host suffix of Key Vault (`<vault>.<suffix>`), read by the agents at boot."""
    key_vault_resource: str
    """The audience a managed identity asks a Key Vault token for."""
    resource_manager: str = "https://management.azure.com"
    """Azure Resource Manager's endpoint, read by `python -m live` (preflight and verify)."""
    authority_host: str = "login.microsoftonline.com"
    """Microsoft Entra ID's sign-in host for this cloud (azure-identity's `authority`)."""


def _storage_zones(suffix: str) -> dict[str, tuple[str, ...]]:
    return {group: (f"privatelink.{group}.{suffix}",) for group in ("blob", "file", "queue", "table", "dfs")}


def _monitor_zones(*zones: str, storage_suffix: str) -> tuple[str, ...]:
    """Azure Monitor's zones: its own, plus the storage blob zone (agents' solution packs)."""
    return (*zones, _storage_zones(storage_suffix)["blob"][0])


CLOUDS: Mapping[str, CloudEndpoints] = {
    "AzureCloud": CloudEndpoints(
        zones_by_group_id={
            AML_REGISTRY_GROUP_ID: ("privatelink.api.azureml.ms",),
            "amlworkspace": ("privatelink.api.azureml.ms", "privatelink.notebooks.azure.net"),
            **_storage_zones("core.windows.net"),
            "vault": ("privatelink.vaultcore.azure.net",),
            "registry": ("privatelink.azurecr.io",),
            AZURE_MONITOR_GROUP_ID: _monitor_zones(
                "privatelink.monitor.azure.com", "privatelink.oms.opinsights.azure.com",
                "privatelink.ods.opinsights.azure.com", "privatelink.agentsvc.azure-automation.net",
                storage_suffix="core.windows.net"),
        },
        key_vault_dns_suffix="vault.azure.net",
        key_vault_resource="https://vault.azure.net",
    ),
    "AzureUSGovernment": CloudEndpoints(
        zones_by_group_id={
            AML_REGISTRY_GROUP_ID: ("privatelink.api.ml.azure.us",),  # unconfirmed: see the module docstring
            "amlworkspace": ("privatelink.api.ml.azure.us", "privatelink.notebooks.usgovcloudapi.net"),
            **_storage_zones("core.usgovcloudapi.net"),
            "vault": ("privatelink.vaultcore.usgovcloudapi.net",),
            "registry": ("privatelink.azurecr.us",),
            AZURE_MONITOR_GROUP_ID: _monitor_zones(
                "privatelink.monitor.azure.us", "privatelink.adx.monitor.azure.us",
                "privatelink.oms.opinsights.azure.us", "privatelink.ods.opinsights.azure.us",
                "privatelink.agentsvc.azure-automation.us", storage_suffix="core.usgovcloudapi.net"),
        },
        key_vault_dns_suffix="vault.usgovcloudapi.net",
        key_vault_resource="https://vault.usgovcloudapi.net",
        # https://learn.microsoft.com/azure/azure-government/compare-azure-government-global-azure
        resource_manager="https://management.usgovcloudapi.net",
        authority_host="login.microsoftonline.us",
    ),
    "AzureChinaCloud": CloudEndpoints(
        zones_by_group_id={
            AML_REGISTRY_GROUP_ID: ("privatelink.api.ml.azure.cn",),  # unconfirmed: see the module docstring
            "amlworkspace": ("privatelink.api.ml.azure.cn", "privatelink.notebooks.chinacloudapi.cn"),
            **_storage_zones("core.chinacloudapi.cn"),
            "vault": ("privatelink.vaultcore.azure.cn",),
            "registry": ("privatelink.azurecr.cn",),
            AZURE_MONITOR_GROUP_ID: _monitor_zones(
                "privatelink.monitor.azure.cn", "privatelink.oms.opinsights.azure.cn",
                "privatelink.ods.opinsights.azure.cn", "privatelink.agentsvc.azure-automation.cn",
                storage_suffix="core.chinacloudapi.cn"),
        },
        key_vault_dns_suffix="vault.azure.cn",
        key_vault_resource="https://vault.azure.cn",
        # https://learn.microsoft.com/azure/china/resources-developer-guide
        resource_manager="https://management.chinacloudapi.cn",
        authority_host="login.chinacloudapi.cn",
    ),
}


def zones_for(cloud: str, group_id: str) -> tuple[str, ...]:
    """The private DNS zone names an endpoint of `group_id` must register in."""
    return CLOUDS[cloud].zones_by_group_id[group_id]


def storage_group_ids(batch_endpoints: bool) -> tuple[str, ...]:
    """AML needs blob and file; batch endpoints also use queues and tables."""
    return ("blob", "file", "queue", "table") if batch_endpoints else ("blob", "file")


# Private IP addresses one endpoint of a group id takes from its subnet: 1 unless listed here.
# - amlworkspace: 3, the workspace API (and its cert name), the notebooks name, and the managed
#   online endpoints' inference wildcard each get their own address. Microsoft Learn, "Use your
#   workspace with a custom DNS server" (the FQDN / IP address tables, all three clouds).
# - registry: 2, the registry and its home region's dedicated data endpoint (+1 per geo-replica, and
#   +1 per replica with regional endpoints: this platform has neither). Microsoft Learn, "Connect
#   privately to an Azure container registry by using Azure Private Link", "IP address consumption".
# - azuremonitor: 11, "The Azure Monitor private link setup requires at least 11 more IP addresses
#   even if you're connecting to a single workspace" (Microsoft Learn, "Design your Azure Private
#   Link setup", "Network subnet size", which therefore asks for a /27 at least). A floor: workspaces
#   or components in other regions add regional endpoints.
# - amlregistry: 2, an estimate on the safe side: Microsoft documents no count for a registry's
#   endpoint. A registry answers on its own FQDNs, which its discovery URL lists ("registryFqdns";
#   Microsoft Learn, "Network isolation with Azure Machine Learning registries", "How to find the
#   registry's fully qualified domain name"); count the NIC's IP configurations after the first
#   deployment (`az network private-endpoint show --query customDnsConfigs`) and correct this.
PRIVATE_ENDPOINT_ADDRESSES: Mapping[str, int] = {"amlworkspace": 3, "registry": 2, AZURE_MONITOR_GROUP_ID: 11,
                                                 AML_REGISTRY_GROUP_ID: 2}


def private_endpoint_addresses(group_id: str) -> int:
    """How many addresses of its subnet one private endpoint of `group_id` takes."""
    return PRIVATE_ENDPOINT_ADDRESSES.get(group_id, 1)


# A model registry's endpoints: the registry itself, and the storage account (blob) and container
# registry it manages. "For a user created Azure Machine Learning registry, we recommend using a
# private endpoint for the registry, managed storage account, and managed ACR" (Microsoft Learn,
# https://learn.microsoft.com/azure/machine-learning/how-to-registry-network-isolation
# #data-exfiltration-protection); a workspace "uses assets from registry" through all three.
MODEL_REGISTRY_GROUP_IDS = (AML_REGISTRY_GROUP_ID, "blob", "registry")
