"""An Azure Machine Learning workspace in an application landing zone, built from isolated_mlops.

Landing zones give a workload a subnet in a spoke VNet and keep the private DNS zones central, in the
connectivity subscription, linked to the VNets by the platform team (Cloud Adoption Framework,
"Private Link and DNS integration at scale":
https://learn.microsoft.com/azure/cloud-adoption-framework/ready/azure-best-practices/private-link-and-dns-integration-at-scale).
So this program creates no VNet, subnet, NSG, DNS zone or zone link: it takes the subnet's and the
zones' ids from its stack file and joins every private endpoint to them. Unlike the platform program
(the repository's __main__.py), it sends each resource's logs through the components' own
`diagnostics=` option and locks the workspace against deletion with `lock=`.
"""

import re
from typing import Any

import pulumi
import pulumi_random as random
from pulumi_azure_native import authorization, resources

from isolated_mlops.components.interface import DiagnosticsOptions, PrivateEndpointOptions
from isolated_mlops.components.naming import PREFIX_PATTERN
from isolated_mlops.components.zones import CLOUDS
from isolated_mlops.workspace.container_registry import ContainerRegistry, ContainerRegistryArgs
from isolated_mlops.workspace.key_vault import KeyVault, KeyVaultArgs
from isolated_mlops.workspace.ml_workspace import MlWorkspace, MlWorkspaceArgs
from isolated_mlops.workspace.monitoring import Monitoring, MonitoringArgs
from isolated_mlops.workspace.storage import WorkspaceStorage, WorkspaceStorageArgs

# The endpoints this workload needs, and the zones each resolves in (components/zones.py, Azure's
# public cloud): the landing zone must already have every one of them.
GROUP_IDS = ("amlworkspace", "blob", "file", "vault", "registry", "azuremonitor")
_SUBNET_ID = re.compile(r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/"
                        r"virtualNetworks/[^/]+/subnets/[^/]+", re.IGNORECASE)
_ZONE_ID = re.compile(r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/"
                      r"privateDnsZones/(?P<zone>[^/]+)", re.IGNORECASE)


def load_config() -> dict[str, Any]:
    """Every key checked; all problems reported at once, each naming its key and the fix."""
    config = pulumi.Config()
    project = pulumi.get_project()
    problems: list[str] = []
    prefix = config.require("namePrefix")
    if not re.fullmatch(PREFIX_PATTERN, prefix):
        problems.append(f"{project}:namePrefix: {prefix!r} must be 2-8 lowercase letters/digits, starting with a letter")
    subnets = {key: config.require(key) for key in ("privateEndpointSubnetId", "serverlessSubnetId")}
    for key, value in subnets.items():
        if not _SUBNET_ID.fullmatch(value):
            problems.append(f"{project}:{key}: {value!r} is not a subnet's ARM id "
                            "(/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>)")
    zone_ids: dict[str, str] = config.require_object("privateDnsZoneIds")
    for name, zone_id in zone_ids.items():
        match = _ZONE_ID.fullmatch(str(zone_id))
        if not match or match["zone"].lower() != name.lower():
            problems.append(f"{project}:privateDnsZoneIds.{name}: {zone_id!r} is not the ARM id of the private DNS zone {name}")
    zones_by_group = CLOUDS["AzureCloud"].zones_by_group_id
    for group in GROUP_IDS:
        for zone in zones_by_group[group]:
            if zone not in zone_ids:
                problems.append(f"{project}:privateDnsZoneIds: no id for zone {zone} (the {group} endpoint resolves in it); "
                                "add the landing zone's zone id")
    if problems:
        raise pulumi.RunError(f"invalid configuration ({len(problems)} problem(s)):\n" + "\n".join(f"  - {p}" for p in problems))
    return {"location": config.require("location"), "prefix": prefix, "subnets": subnets,
            "image_build_compute": config.require("imageBuildCompute"),
            "zones": {group: {zone: zone_ids[zone] for zone in zones_by_group[group]} for group in GROUP_IDS}}


def main() -> None:
    cfg = load_config()
    prefix = cfg["prefix"]
    tags = {"workload": prefix, "managed-by": "pulumi"}
    client = authorization.get_client_config_output()
    # Globally unique names (storage, vault, registry) need a suffix; kept in state, so stable.
    suffix = random.RandomString("name-suffix", length=5, special=False, upper=False, numeric=True).result
    group = resources.ResourceGroup("workload", resource_group_name=f"rg-{prefix}-ml", location=cfg["location"], tags=tags)
    at: dict[str, Any] = {"resource_group_name": group.name, "location": cfg["location"]}
    # The landing zone's subnet and zones, for every component's endpoints.
    endpoints = PrivateEndpointOptions(subnet_id=cfg["subnets"]["privateEndpointSubnetId"], zone_ids_by_group=cfg["zones"])

    monitoring = Monitoring("monitoring", MonitoringArgs(
        log_analytics_name=f"log-{prefix}-ml", app_insights_name=f"appi-{prefix}-ml",
        private_link_scope_name=f"ampls-{prefix}-ml", tags=tags, private_endpoint=endpoints, **at))
    logs = DiagnosticsOptions(log_analytics_workspace_id=monitoring.log_analytics_id)
    workspace_name = f"mlw-{prefix}"
    storage = WorkspaceStorage("storage", WorkspaceStorageArgs(
        account_name=pulumi.Output.concat("st", prefix, "ml", suffix),
        trusted_workspace_id=pulumi.Output.concat(
            "/subscriptions/", client.subscription_id, "/resourceGroups/", group.name,
            "/providers/Microsoft.MachineLearningServices/workspaces/", workspace_name),
        tenant_id=client.tenant_id, tags=tags, private_endpoint=endpoints, diagnostics=logs, **at))
    vault = KeyVault("key-vault", KeyVaultArgs(
        vault_name=pulumi.Output.concat("kv-", prefix, "-ml-", suffix), tenant_id=client.tenant_id,
        tags=tags, private_endpoint=endpoints, diagnostics=logs, **at))
    registry = ContainerRegistry("registry", ContainerRegistryArgs(
        registry_name=pulumi.Output.concat("cr", prefix, "ml", suffix), tags=tags, private_endpoint=endpoints,
        diagnostics=logs, **at))
    workspace = MlWorkspace("workspace", MlWorkspaceArgs(
        workspace_name=workspace_name,
        storage_account_id=storage.account_id, key_vault_id=vault.vault_id,
        container_registry_id=registry.registry_id, app_insights_id=monitoring.app_insights_id,
        image_build_compute=cfg["image_build_compute"], serverless_subnet_id=cfg["subnets"]["serverlessSubnetId"],
        storage_endpoint_ids={g: e.endpoint_id for g, e in storage.private_endpoints.items()},
        tags=tags, private_endpoint=endpoints, diagnostics=logs, lock="CanNotDelete", **at),
        # After its dependencies' endpoints, as Microsoft's secure template orders them.
        opts=pulumi.ResourceOptions(depends_on=[*storage.private_endpoints.values(), *vault.private_endpoints.values(),
                                                *registry.private_endpoints.values()]))

    pulumi.export("workspaceName", workspace.workspace_name)
    pulumi.export("workspaceId", workspace.workspace_id)
    pulumi.export("privateEndpointIds", workspace.private_endpoint_ids)


main()
