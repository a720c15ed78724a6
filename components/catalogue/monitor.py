"""Catalogue records: Azure Monitor (Log Analytics and its tables, Application Insights, the private
link scope, diagnostic settings, data collection, action groups and alert rules)."""

from __future__ import annotations

from isolated_mlops.components.catalogue.constants import MONITOR_PUBLIC_ACCESS_DEFAULT, MONITOR_PUBLIC_ACCESS_SOURCE
from isolated_mlops.components.catalogue.model import ASYNC, SYNC, CreateTime, ResourceType, Setting, settings

LOG_ANALYTICS = "azure-native:operationalinsights:Workspace"
LOG_TABLE = "azure-native:operationalinsights:Table"
APP_INSIGHTS = "azure-native:applicationinsights:Component"
PRIVATE_LINK_SCOPE = "azure-native:monitor:PrivateLinkScope"
SCOPED_RESOURCE = "azure-native:monitor:PrivateLinkScopedResource"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
DATA_COLLECTION_ENDPOINT = "azure-native:monitor:DataCollectionEndpoint"
DATA_COLLECTION_RULE = "azure-native:monitor:DataCollectionRule"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
SCHEDULED_QUERY_RULE = "azure-native:monitor:ScheduledQueryRule"

_INSIGHTS = "Microsoft.Insights"
_NOT_MEASURED = "not measured"


def _public_access(path: str) -> Setting:
    """A monitor resource's public-access switch: unset is Enabled (constants.MONITOR_PUBLIC_ACCESS_DEFAULT)."""
    return Setting(path, azure_default=MONITOR_PUBLIC_ACCESS_DEFAULT)


ENTRIES = (
    ResourceType(
        LOG_ANALYTICS, "Microsoft.OperationalInsights/workspaces", "workspaceName", CreateTime(30, "estimate", ASYNC),
        stateful=True,
        key_settings=(_public_access("publicNetworkAccessForIngestion"), _public_access("publicNetworkAccessForQuery"),
                      Setting("sku.name", "sku"), Setting("retentionInDays")),
        sources=(MONITOR_PUBLIC_ACCESS_SOURCE,)),
    # The drift table (workspace/alerts.py) holds the drift history its alert reads: deleting it deletes that.
    ResourceType(
        LOG_TABLE, "Microsoft.OperationalInsights/workspaces/{workspaceName}/tables", "tableName",
        CreateTime(20, "estimate", f"{ASYNC}; a custom table's schema; {_NOT_MEASURED}"), stateful=True),
    # The SDK's argument is `resource_name_`; its wire name is `resourceName`.
    ResourceType(
        APP_INSIGHTS, f"{_INSIGHTS}/components", "resourceName", CreateTime(15, "estimate", SYNC),
        key_settings=(_public_access("publicNetworkAccessForIngestion"), _public_access("publicNetworkAccessForQuery"),
                      Setting("ingestionMode")),
        sources=(MONITOR_PUBLIC_ACCESS_SOURCE,)),
    ResourceType(
        PRIVATE_LINK_SCOPE, f"{_INSIGHTS}/privateLinkScopes", "scopeName",
        CreateTime(15, "estimate", f"ARM PUT of a global resource with nothing to provision in a region; {_NOT_MEASURED}"),
        key_settings=settings("accessModeSettings.ingestionAccessMode", "accessModeSettings.queryAccessMode")),
    ResourceType(
        SCOPED_RESOURCE, f"{_INSIGHTS}/privateLinkScopes/{{scopeName}}/scopedResources", "name",
        CreateTime(30, "estimate", "ARM PUT that connects an existing workspace or component to the scope; "
                                   f"{_NOT_MEASURED}"),
        key_settings=(Setting("linkedResourceId", "linked", True),)),
    # An extension resource: the resource it is attached to (`resourceUri`) is part of its id.
    ResourceType(
        DIAGNOSTIC_SETTING, f"{_INSIGHTS}/diagnosticSettings", "name",
        CreateTime(5, "estimate", f"{SYNC} (Microsoft.Insights/diagnosticSettings, an extension resource)"),
        replace_on=("resourceUri",),
        sources=("https://learn.microsoft.com/azure/azure-monitor/essentials/diagnostic-settings",)),
    ResourceType(DATA_COLLECTION_ENDPOINT, f"{_INSIGHTS}/dataCollectionEndpoints", "dataCollectionEndpointName",
                 CreateTime(10, "estimate", f"{SYNC}; {_NOT_MEASURED}"),
                 key_settings=(Setting("networkAcls.publicNetworkAccess"),)),
    ResourceType(DATA_COLLECTION_RULE, f"{_INSIGHTS}/dataCollectionRules", "dataCollectionRuleName",
                 CreateTime(10, "estimate", f"{SYNC}; {_NOT_MEASURED}")),
    ResourceType(ACTION_GROUP, f"{_INSIGHTS}/actionGroups", "actionGroupName",
                 CreateTime(10, "estimate", f"{SYNC} (a global resource); {_NOT_MEASURED}")),
    ResourceType(METRIC_ALERT, f"{_INSIGHTS}/metricAlerts", "ruleName",
                 CreateTime(15, "estimate", f"{SYNC} (a global resource); {_NOT_MEASURED}")),
    ResourceType(SCHEDULED_QUERY_RULE, f"{_INSIGHTS}/scheduledQueryRules", "ruleName",
                 CreateTime(15, "estimate", f"{SYNC}; Azure validates the query against the table; {_NOT_MEASURED}")),
)
