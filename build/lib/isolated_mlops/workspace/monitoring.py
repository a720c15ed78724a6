"""Log Analytics and workspace-based Application Insights (classic App Insights is retired), reachable
only through an Azure Monitor Private Link Scope (AMPLS) and its private endpoint.

Log Analytics and Application Insights take no private endpoint of their own: Azure Monitor's private
link goes through a scope. The workspace and the component are scoped into the AMPLS, the AMPLS gets
one `azuremonitor` endpoint with its five DNS zones, and both resources refuse public ingestion and
queries (their own `publicNetworkAccessForIngestion`/`ForQuery`): that, not the scope's access mode,
is what keeps them private.

The scope's access modes are Open, because Azure Machine Learning requires it: "Azure Monitor supports
using Azure Private Link to connect to a VNet. However, you must use the open Private Link mode in
Azure Monitor" (Microsoft Learn, "Secure an Azure Machine Learning workspace with virtual networks",
Limitations > Azure Monitor:
https://learn.microsoft.com/azure/machine-learning/how-to-secure-workspace-vnet#azure-monitor).
Open lets clients in the linked VNets reach the scope's resources through the endpoint and, besides,
Azure Monitor resources outside the scope that accept public traffic; PrivateOnly would block the
latter (https://learn.microsoft.com/azure/azure-monitor/logs/private-link-design#select-an-access-mode), and
with the zones linked to both VNets it would cut the jump host, the agents and the clusters off from
every Azure Monitor resource outside this scope. The price, stated in the same page: Open does not
prevent exfiltration through telemetry to another tenant's workspace; the egress stance in the
README says what does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
from pulumi_azure_native import applicationinsights, monitor, operationalinsights

from isolated_mlops.components.private_endpoint import PrivateEndpoint, PrivateEndpointArgs, PrivateEndpointPlacement
from isolated_mlops.components.zones import AZURE_MONITOR_GROUP_ID
# An AMPLS is a global resource, like private DNS zones.
GLOBAL_LOCATION = "global"


@dataclass
class MonitoringArgs:
    log_analytics_name: str
    app_insights_name: str
    private_link_scope_name: str
    retention_days: int
    placement: PrivateEndpointPlacement
    """Resource group, region and tags of every resource here, and where the AMPLS endpoint goes."""
    protect: bool
    """Refuse deletion of the Log Analytics workspace (production): its logs go with it."""


class Monitoring(pulumi.ComponentResource):
    """`mlops:workspace:Monitoring`."""

    log_analytics: operationalinsights.Workspace
    app_insights: applicationinsights.Component
    private_link_scope: monitor.PrivateLinkScope
    scoped_resources: dict[str, monitor.PrivateLinkScopedResource]
    private_endpoint: PrivateEndpoint

    def __init__(self, name: str, args: MonitoringArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlops:workspace:Monitoring", name, None, opts)
        placement = args.placement
        self.log_analytics = operationalinsights.Workspace(
            f"{name}-logs",
            workspace_name=args.log_analytics_name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            sku=operationalinsights.WorkspaceSkuArgs(name=operationalinsights.WorkspaceSkuNameEnum.PER_GB2018),
            retention_in_days=args.retention_days,
            # Only through the scope's private endpoint (Azure's default is Enabled for both).
            public_network_access_for_ingestion=operationalinsights.PublicNetworkAccessType.DISABLED,
            public_network_access_for_query=operationalinsights.PublicNetworkAccessType.DISABLED,
            tags=dict(placement.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.app_insights = applicationinsights.Component(
            f"{name}-appinsights",
            resource_name_=args.app_insights_name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            kind="web",
            application_type=applicationinsights.ApplicationType.WEB,
            # Workspace-based: telemetry lands in the Log Analytics workspace above.
            workspace_resource_id=self.log_analytics.id,
            ingestion_mode=applicationinsights.IngestionMode.LOG_ANALYTICS,
            # The SDK would send Enabled for both if left out.
            public_network_access_for_ingestion=applicationinsights.PublicNetworkAccessType.DISABLED,
            public_network_access_for_query=applicationinsights.PublicNetworkAccessType.DISABLED,
            tags=dict(placement.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.private_link_scope = monitor.PrivateLinkScope(
            f"{name}-scope",
            scope_name=args.private_link_scope_name,
            resource_group_name=placement.resource_group_name,
            location=GLOBAL_LOCATION,
            # Open: AML requires it (see the module docstring for the source); the scope's resources
            # stay private through their own public-access switches above.
            access_mode_settings=monitor.AccessModeSettingsArgs(
                ingestion_access_mode=monitor.AccessMode.OPEN,
                query_access_mode=monitor.AccessMode.OPEN,
            ),
            tags=dict(placement.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Both inputs are outputs of the scope and of the monitored resource: Pulumi orders them.
        self.scoped_resources = {
            role: monitor.PrivateLinkScopedResource(
                f"{name}-{role}-scoped",
                name=resource_name,
                scope_name=self.private_link_scope.name,
                resource_group_name=placement.resource_group_name,
                linked_resource_id=resource.id,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for role, resource_name, resource in (
                ("logs", args.log_analytics_name, self.log_analytics),
                ("appinsights", args.app_insights_name, self.app_insights),
            )
        }
        # Since December 2021 the scope's DNS records do not depend on which resources it holds
        # (Azure Monitor's endpoint compression), so the endpoint need not wait for the scoped resources.
        self.private_endpoint = PrivateEndpoint(
            f"{name}-{AZURE_MONITOR_GROUP_ID}",
            PrivateEndpointArgs(
                placement=placement,
                target_resource_id=self.private_link_scope.id,
                group_id=AZURE_MONITOR_GROUP_ID,
                endpoint_name=pulumi.Output.concat("pe-", self.private_link_scope.name),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({
            "log_analytics_id": self.log_analytics.id,
            "app_insights_id": self.app_insights.id,
            "private_link_scope_id": self.private_link_scope.id,
        })
