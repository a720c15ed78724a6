"""Resource logs of the platform's services, sent to the platform's Log Analytics workspace.

Azure keeps no resource logs unless a diagnostic setting routes them somewhere ("Diagnostic settings
in Azure Monitor": https://learn.microsoft.com/azure/azure-monitor/essentials/diagnostic-settings).
One setting per resource, all to the one workspace the stack already has (reached from the VNets
through the Azure Monitor private link scope). `allLogs` is the category group that follows a
service's log categories as Microsoft adds them; where a service documents categories but no
category group, the setting names the categories.
"""

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
from pulumi_azure_native import monitor

from isolated_mlops.components.standalone import as_args, type_token
from isolated_mlops.components.common_args import CommonArgs, check_common

__all__ = ["ALL_LOGS", "NSG_LOG_CATEGORIES", "SETTING_NAME", "DiagnosticSettings", "DiagnosticSettingsArgs",
           "LogTarget", "diagnostic_setting"]

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


def diagnostic_setting(name: str, resource_uri: pulumi.Input[str], workspace_id: pulumi.Input[str],
                       categories: Sequence[str], opts: pulumi.ResourceOptions) -> monitor.DiagnosticSetting:
    """One setting, `SETTING_NAME`, sending the resource's logs (`categories`, or `allLogs`) to the workspace."""
    return monitor.DiagnosticSetting(
        name,
        name=SETTING_NAME,
        resource_uri=resource_uri,
        workspace_id=workspace_id,
        logs=[monitor.DiagnosticsLogSettingsArgs(category=c, enabled=True) for c in categories]
        or [monitor.DiagnosticsLogSettingsArgs(category_group=ALL_LOGS, enabled=True)],
        opts=opts,
    )


@dataclass
class DiagnosticSettingsArgs(CommonArgs):
    """Diagnostic settings for resources the caller made elsewhere (NSGs, or resources of another program).

    Of the common arguments only `tags` and `protect` apply (diagnostic settings carry no tags; protect
    applies to each setting); a component's own `diagnostics=` is the way to log one component's resource.
    """

    log_analytics_workspace_id: pulumi.Input[str]
    """The Log Analytics workspace every setting sends to."""
    targets: Sequence[LogTarget] = field(default_factory=list)
    """The resources whose logs are kept, one setting each."""


class DiagnosticSettings(pulumi.ComponentResource):
    """`mlops:components:DiagnosticSettings`: a diagnostic setting per target, to Log Analytics."""

    setting_ids: pulumi.Output[list[str]]
    """The settings' ARM ids, in the order of the targets."""

    def __init__(self, name: str, args: DiagnosticSettingsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args = as_args(DiagnosticSettingsArgs, args)  # a mapping when the component package serves it
        super().__init__(type_token("mlops:components:DiagnosticSettings"), name, None, opts)
        check_common(type(self).__name__, args, supports=frozenset())
        keys = [t.key for t in args.targets]
        if len(set(keys)) != len(keys):
            raise ValueError(f"DiagnosticSettings: targets repeat a key ({', '.join(sorted(k for k in set(keys) if keys.count(k) > 1))}); "
                             "each key names one setting")
        child = pulumi.ResourceOptions(parent=self, protect=args.protect)
        self.settings: dict[str, monitor.DiagnosticSetting] = {
            target.key: diagnostic_setting(f"{name}-{target.key}", target.resource_id,
                                           args.log_analytics_workspace_id, target.categories, child)
            for target in args.targets
        }
        self.setting_ids = pulumi.Output.all(*[s.id for s in self.settings.values()]).apply(list)
        self.register_outputs({"setting_ids": self.setting_ids})
