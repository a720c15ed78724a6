"""Log Analytics and workspace-based Application Insights (classic App Insights is retired)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import pulumi
from pulumi_azure_native import applicationinsights, operationalinsights


@dataclass
class MonitoringArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    log_analytics_name: str
    app_insights_name: str
    retention_days: int
    protect: bool
    tags: Mapping[str, str] = field(default_factory=dict)


class Monitoring(pulumi.ComponentResource):
    """`mlops:workspace:Monitoring`."""

    log_analytics: operationalinsights.Workspace
    app_insights: applicationinsights.Component

    def __init__(self, name: str, args: MonitoringArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlops:workspace:Monitoring", name, None, opts)
        self.log_analytics = operationalinsights.Workspace(
            f"{name}-logs",
            workspace_name=args.log_analytics_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=operationalinsights.WorkspaceSkuArgs(name=operationalinsights.WorkspaceSkuNameEnum.PER_GB2018),
            retention_in_days=args.retention_days,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.app_insights = applicationinsights.Component(
            f"{name}-appinsights",
            resource_name_=args.app_insights_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="web",
            application_type=applicationinsights.ApplicationType.WEB,
            # Workspace-based: telemetry lands in the Log Analytics workspace above.
            workspace_resource_id=self.log_analytics.id,
            ingestion_mode=applicationinsights.IngestionMode.LOG_ANALYTICS,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({
            "log_analytics_id": self.log_analytics.id,
            "app_insights_id": self.app_insights.id,
        })
