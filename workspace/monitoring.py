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

from dataclasses import dataclass
from typing import Optional

import pulumi
from pulumi_azure_native import applicationinsights, monitor, operationalinsights

from isolated_mlops.components.standalone import as_args, type_token
from isolated_mlops.components.interface import CommonArgs, EndpointGroup, apply_common
from isolated_mlops.components.zones import AZURE_MONITOR_GROUP_ID

__all__ = ["Monitoring", "MonitoringArgs"]

# An AMPLS is a global resource, like private DNS zones.
GLOBAL_LOCATION = "global"


@dataclass
class MonitoringArgs(CommonArgs):
    """Log Analytics, workspace-based Application Insights and the Azure Monitor Private Link Scope they join.

    The common `lock`, `role_assignments` and `diagnostics` apply to the Log Analytics workspace;
    `private_endpoint` is the scope's `azuremonitor` endpoint (five zones); `identity` does not apply.
    """

    log_analytics_name: str
    """The Log Analytics workspace's Azure name."""
    app_insights_name: str
    """The Application Insights component's Azure name."""
    private_link_scope_name: str
    """The Azure Monitor Private Link Scope's name."""
    resource_group_name: pulumi.Input[str]
    """The resource group of every resource here."""
    location: pulumi.Input[str]
    """The region of Log Analytics and Application Insights (the scope is global)."""
    retention_days: int = 30
    """Days Log Analytics keeps data (30-730 on the PerGB2018 tier)."""
    public_network_access: bool = False
    """Accept ingestion and queries from public networks; False: only through the scope's private endpoint."""


class Monitoring(pulumi.ComponentResource):
    """`mlops:workspace:Monitoring`."""

    log_analytics_id: pulumi.Output[str]
    """The Log Analytics workspace's ARM id."""
    log_analytics_name: pulumi.Output[str]
    """The Log Analytics workspace's Azure name."""
    app_insights_id: pulumi.Output[str]
    """The Application Insights component's ARM id."""
    private_link_scope_id: pulumi.Output[str]
    """The Azure Monitor Private Link Scope's ARM id."""
    private_link_scope_name: pulumi.Output[str]
    """The scope's Azure name: a data collection endpoint joins it by name (DriftIngestion)."""
    private_endpoint_ids: pulumi.Output[dict[str, str]]
    """The scope's private endpoint's ARM id by group id; empty without `private_endpoint`."""

    def __init__(self, name: str, args: MonitoringArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args = as_args(MonitoringArgs, args)  # a mapping when the component package serves it
        super().__init__(type_token("mlops:workspace:Monitoring"), name, None, opts)
        if not 30 <= args.retention_days <= 730:
            # PerGB2018 retention: 30-730 days (https://learn.microsoft.com/azure/azure-monitor/logs/data-retention-configure).
            raise ValueError(f"Monitoring {name}: retention_days={args.retention_days}; use 30-730")
        la_access = operationalinsights.PublicNetworkAccessType.ENABLED if args.public_network_access \
            else operationalinsights.PublicNetworkAccessType.DISABLED
        ai_access = applicationinsights.PublicNetworkAccessType.ENABLED if args.public_network_access \
            else applicationinsights.PublicNetworkAccessType.DISABLED
        self.log_analytics: operationalinsights.Workspace = operationalinsights.Workspace(
            f"{name}-logs",
            workspace_name=args.log_analytics_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=operationalinsights.WorkspaceSkuArgs(name=operationalinsights.WorkspaceSkuNameEnum.PER_GB2018),
            retention_in_days=args.retention_days,
            # Only through the scope's private endpoint (Azure's default is Enabled for both).
            public_network_access_for_ingestion=la_access,
            public_network_access_for_query=la_access,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.app_insights: applicationinsights.Component = applicationinsights.Component(
            f"{name}-appinsights",
            resource_name_=args.app_insights_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="web",
            application_type=applicationinsights.ApplicationType.WEB,
            # Workspace-based: telemetry lands in the Log Analytics workspace above.
            workspace_resource_id=self.log_analytics.id,
            ingestion_mode=applicationinsights.IngestionMode.LOG_ANALYTICS,
            # The SDK would send Enabled for both if left out.
            public_network_access_for_ingestion=ai_access,
            public_network_access_for_query=ai_access,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.private_link_scope: monitor.PrivateLinkScope = monitor.PrivateLinkScope(
            f"{name}-scope",
            scope_name=args.private_link_scope_name,
            resource_group_name=args.resource_group_name,
            location=GLOBAL_LOCATION,
            # Open: AML requires it (see the module docstring for the source); the scope's resources
            # stay private through their own public-access switches above.
            access_mode_settings=monitor.AccessModeSettingsArgs(
                ingestion_access_mode=monitor.AccessMode.OPEN,
                query_access_mode=monitor.AccessMode.OPEN,
            ),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Both inputs are outputs of the scope and of the monitored resource: Pulumi orders them.
        self.scoped_resources: dict[str, monitor.PrivateLinkScopedResource] = {
            role: monitor.PrivateLinkScopedResource(
                f"{name}-{role}-scoped",
                name=resource_name,
                scope_name=self.private_link_scope.name,
                resource_group_name=args.resource_group_name,
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
        self.common = apply_common(
            self, name, args, resource_id=self.log_analytics.id, resource_group_name=args.resource_group_name,
            location=args.location, supports=frozenset({"lock", "private_endpoint", "diagnostics", "role_assignments"}),
            endpoint_groups=[EndpointGroup(AZURE_MONITOR_GROUP_ID, f"{name}-{AZURE_MONITOR_GROUP_ID}",
                                           pulumi.Output.concat("pe-", self.private_link_scope.name),
                                           target_resource_id=self.private_link_scope.id)])
        self.private_endpoints = self.common.private_endpoints
        self.private_endpoint = self.private_endpoints.get(AZURE_MONITOR_GROUP_ID)
        self.log_analytics_id = self.log_analytics.id
        self.log_analytics_name = self.log_analytics.name
        self.app_insights_id = self.app_insights.id
        self.private_link_scope_id = self.private_link_scope.id
        self.private_link_scope_name = self.private_link_scope.name
        self.private_endpoint_ids = self.common.endpoint_ids()
        self.register_outputs({
            "log_analytics_id": self.log_analytics_id,
            "log_analytics_name": self.log_analytics_name,
            "app_insights_id": self.app_insights_id,
            "private_link_scope_id": self.private_link_scope_id,
            "private_link_scope_name": self.private_link_scope_name,
            "private_endpoint_ids": self.private_endpoint_ids,
        })
