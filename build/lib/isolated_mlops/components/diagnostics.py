"""Resource logs of the platform's services, sent to the platform's Log Analytics workspace.

Azure keeps no resource logs unless a diagnostic setting routes them somewhere ("Diagnostic settings
in Azure Monitor": https://learn.microsoft.com/azure/azure-monitor/essentials/diagnostic-settings).
One setting per resource, all to the one workspace the stack already has (reached from the VNets
through the Azure Monitor private link scope). `allLogs` is the category group that follows a
service's log categories as Microsoft adds them; where a service documents categories but no
category group, the setting names the categories.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
from pulumi_azure_native import monitor

SETTING_NAME = "to-log-analytics"
ALL_LOGS = "allLogs"


@dataclass(frozen=True)
class LogTarget:
    """One resource whose logs the stack keeps."""

    key: str
    """Names the setting's Pulumi resource: `workspace`, `nsg-training`, ..."""
    resource_id: pulumi.Input[str]
    """The resource, or for storage the service (`<account id>/blobServices/default`): storage logs are per service."""
    categories: Sequence[str] = ()
    """Log categories, for a resource type without the `allLogs` group; empty means `allLogs`."""


# Network security groups list three log categories and no category group
# (https://learn.microsoft.com/azure/azure-monitor/reference/supported-logs/microsoft-network-networksecuritygroups-logs,
# checked 2026-12-01): event, rule counter, and rule flow event. The third is what NSG flow logs
# write, which Network Watcher produces, not a diagnostic setting; Microsoft stopped new NSG flow logs
# on 2025-06-30 and retires them on 2027-09-30 in favour of virtual network flow logs
# (https://learn.microsoft.com/azure/network-watcher/nsg-flow-logs-migrate). The setting asks for
# the two a diagnostic setting delivers. Not confirmed on Learn: whether a setting may also name the
# third, or use `allLogs` on an NSG.
NSG_LOG_CATEGORIES = ("NetworkSecurityGroupEvent", "NetworkSecurityGroupRuleCounter")


@dataclass
class DiagnosticSettingsArgs:
    log_analytics_workspace_id: pulumi.Input[str]
    targets: Sequence[LogTarget] = field(default_factory=list)


class DiagnosticSettings(pulumi.ComponentResource):
    """`mlops:components:DiagnosticSettings`: a diagnostic setting per target, to Log Analytics."""

    settings: dict[str, monitor.DiagnosticSetting]

    def __init__(self, name: str, args: DiagnosticSettingsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlops:components:DiagnosticSettings", name, None, opts)
        self.settings = {
            target.key: monitor.DiagnosticSetting(
                f"{name}-{target.key}",
                name=SETTING_NAME,
                resource_uri=target.resource_id,
                workspace_id=args.log_analytics_workspace_id,
                logs=[monitor.DiagnosticsLogSettingsArgs(category=c, enabled=True) for c in target.categories]
                or [monitor.DiagnosticsLogSettingsArgs(category_group=ALL_LOGS, enabled=True)],
                opts=pulumi.ResourceOptions(parent=self),
            )
            for target in args.targets
        }
        self.register_outputs({"setting_ids": [s.id for s in self.settings.values()]})
