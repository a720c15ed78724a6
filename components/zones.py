"""Private DNS zone names per private-endpoint group id, per Azure cloud: the one table that decides them.

A private endpoint only works when its DNS zone group writes the endpoint's A records into the zone
(or zones) that the service's public name CNAMEs into. The AML workspace needs *two* zones: the API
zone and the notebooks zone; with only the first, the studio loads but notebooks fail.
Source: "Azure Private Endpoint private DNS zone values" (Microsoft Learn), per cloud.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class CloudEndpoints:
    """What differs between Azure clouds for this platform."""

    zones_by_group_id: Mapping[str, tuple[str, ...]]
    key_vault_dns_suffix: str
    """Data-plane host suffix of Key Vault (`<vault>.<suffix>`), read by the agents at boot."""
    key_vault_resource: str
    """The audience a managed identity asks a Key Vault token for."""


def _storage_zones(suffix: str) -> dict[str, tuple[str, ...]]:
    return {group: (f"privatelink.{group}.{suffix}",) for group in ("blob", "file", "queue", "table", "dfs")}


CLOUDS: Mapping[str, CloudEndpoints] = {
    "AzureCloud": CloudEndpoints(
        zones_by_group_id={
            "amlworkspace": ("privatelink.api.azureml.ms", "privatelink.notebooks.azure.net"),
            **_storage_zones("core.windows.net"),
            "vault": ("privatelink.vaultcore.azure.net",),
            "registry": ("privatelink.azurecr.io",),
        },
        key_vault_dns_suffix="vault.azure.net",
        key_vault_resource="https://vault.azure.net",
    ),
    "AzureUSGovernment": CloudEndpoints(
        zones_by_group_id={
            "amlworkspace": ("privatelink.api.ml.azure.us", "privatelink.notebooks.usgovcloudapi.net"),
            **_storage_zones("core.usgovcloudapi.net"),
            "vault": ("privatelink.vaultcore.usgovcloudapi.net",),
            "registry": ("privatelink.azurecr.us",),
        },
        key_vault_dns_suffix="vault.usgovcloudapi.net",
        key_vault_resource="https://vault.usgovcloudapi.net",
    ),
    "AzureChinaCloud": CloudEndpoints(
        zones_by_group_id={
            "amlworkspace": ("privatelink.api.ml.azure.cn", "privatelink.notebooks.chinacloudapi.cn"),
            **_storage_zones("core.chinacloudapi.cn"),
            "vault": ("privatelink.vaultcore.azure.cn",),
            "registry": ("privatelink.azurecr.cn",),
        },
        key_vault_dns_suffix="vault.azure.cn",
        key_vault_resource="https://vault.azure.cn",
    ),
}


def zones_for(cloud: str, group_id: str) -> tuple[str, ...]:
    """The private DNS zone names an endpoint of `group_id` must register in."""
    return CLOUDS[cloud].zones_by_group_id[group_id]


def storage_group_ids(batch_endpoints: bool) -> tuple[str, ...]:
    """AML needs blob and file; batch endpoints also use queues and tables."""
    return ("blob", "file", "queue", "table") if batch_endpoints else ("blob", "file")
