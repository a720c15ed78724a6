"""Rules on the monitoring of the ML lifecycle (workspace/alerts.py): drift ingestion, action groups,
alert rules, diagnostic settings."""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Sequence

from isolated_mlops.components.webhooks import credential_in_url
from isolated_mlops.components.catalogue import AKS
from isolated_mlops.policy.rules.base import (
    ACTION_GROUP, DATA_COLLECTION_ENDPOINT, DIAGNOSTIC_SETTING, KEY_VAULT, METRIC_ALERT, NSG, PRIVATE_LINK_SCOPE,
    REGISTRY, ResourceView, SCHEDULED_QUERY_RULE, SCOPED_RESOURCE, STORAGE, UNKNOWN, WORKSPACE, resource_rule,
    rule,
)
from isolated_mlops.policy.rules.sources import DOC_MONITOR_PRIVATE_LINK_DESIGN, DOC_PULUMI_SECRETS
from isolated_mlops.policy.rules.helpers import (
    _differs, _has_unknown, _list, _mappings, _of_type, _resolve, _same, _unset, physical_name,
)


DOC_DCE = "https://learn.microsoft.com/azure/azure-monitor/essentials/data-collection-endpoint-overview"
DOC_LOGS_INGESTION = "https://learn.microsoft.com/azure/azure-monitor/logs/logs-ingestion-api-overview"
DOC_ACTION_GROUPS = "https://learn.microsoft.com/azure/azure-monitor/alerts/action-groups"
DOC_ADO_WEBHOOK = "https://learn.microsoft.com/azure/devops/pipelines/yaml-schema/resources-webhooks-webhook"
# Where an action group keeps a URL it calls, per receiver list (REST API, Action Groups).
ACTION_GROUP_URLS: Mapping[str, str] = {
    "webhookReceivers": "serviceUri", "logicAppReceivers": "callbackUrl",
    "azureFunctionReceivers": "httpTriggerUrl", "automationRunbookReceivers": "serviceUri",
}
ACTION_GROUP_RECEIVERS = ("emailReceivers", "smsReceivers", "voiceReceivers", "azureAppPushReceivers",
                          "armRoleReceivers", "eventHubReceivers", "itsmReceivers", "incidentReceivers",
                          *ACTION_GROUP_URLS)
@resource_rule("action-group-urls-carry-no-plain-credential", "No URL an action group calls carries a credential "
               "(`sig=`, `code=`, `token=`, `key=`, user:password@) unless it is a Pulumi secret: the action "
               "group keeps the URL readable to anyone who can read the resource.", ACTION_GROUP, needs_secrets=True,
               sources=(DOC_ACTION_GROUPS, DOC_ADO_WEBHOOK, DOC_PULUMI_SECRETS))
def _action_group_urls(r: ResourceView) -> Iterator[str]:
    for receivers, key in ACTION_GROUP_URLS.items():
        for i, receiver in enumerate(_mappings(r.prop(receivers))):
            path = f"{receivers}[{i}].{key}"
            found = credential_in_url(receiver.get(key))
            secret = any(s == path or path.startswith(s + ".") or s == receivers or s == f"{receivers}[{i}]"
                         for s in r.secret_paths)
            if found and not (secret or not r.secrets_known):
                yield (f"{path} carries a credential in plain text ({found}): use a receiver that needs none "
                       "(an Azure DevOps incoming webhook), or pass the URL as a Pulumi secret")


@rule("alerts-reach-a-receiver", "Every action group has a receiver, and every alert rule names an action group: "
      "an alert that tells no one is no alert.", sources=(DOC_ACTION_GROUPS,
      "https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-overview"))
def _alerts_reach(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    for group in _of_type(resources, ACTION_GROUP):
        lists = [group.prop(key) for key in ACTION_GROUP_RECEIVERS]
        if not any(_has_unknown(v) or _list(v) for v in lists):
            yield group.urn, "has no receiver: add an email address or a webhook (stack file alerts.email)"
    for alert in _of_type(resources, METRIC_ALERT):
        actions = alert.prop("actions")
        if not _has_unknown(actions) and not any(a.get("actionGroupId") for a in _mappings(actions)):
            yield alert.urn, "names no action group: nobody is told when it fires"
    for alert in _of_type(resources, SCHEDULED_QUERY_RULE):
        groups = alert.prop("actions.actionGroups")
        if not _has_unknown(groups) and not _list(groups):
            yield alert.urn, "names no action group: nobody is told when it fires"


@rule("data-collection-endpoint-private", "Every data collection endpoint refuses public ingestion and is scoped "
      "into an Azure Monitor Private Link Scope of this stack (private ingestion goes through the scope).",
      sources=(DOC_DCE, DOC_LOGS_INGESTION, DOC_MONITOR_PRIVATE_LINK_DESIGN))
def _dce_private(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    scopes = _of_type(resources, PRIVATE_LINK_SCOPE)
    linked: set[str] = set()
    for scoped in _of_type(resources, SCOPED_RESOURCE):
        scope_name = scoped.prop("scopeName")
        in_stack_scope = any(s.urn in scoped.refs("scopeName") or _same(scope_name, physical_name(s)) for s in scopes)
        linked_id = scoped.prop("linkedResourceId")
        targets = _resolve(resources, scoped, "linkedResourceId", linked_id, DATA_COLLECTION_ENDPOINT)
        if (not in_stack_scope and scope_name is UNKNOWN and not scoped.refs("scopeName")) \
                or (not targets and _has_unknown(linked_id) and not scoped.refs("linkedResourceId")):
            return  # a scoped resource whose target is not known yet may be the one that links it
        if in_stack_scope:
            linked.update(t.urn for t in targets)
    for dce in _of_type(resources, DATA_COLLECTION_ENDPOINT):
        if _differs(dce.prop("networkAcls.publicNetworkAccess"), "Disabled"):
            yield dce.urn, "set networkAcls.publicNetworkAccess to Disabled: ingestion only through the private link scope"
        if dce.urn not in linked:
            yield dce.urn, ("is in no Azure Monitor Private Link Scope of this stack: link it with a "
                            "PrivateLinkScopedResource, or the VNets cannot ingest through it privately")


# The serving cluster too: its API server and audit logs (compute/serving.py AKS_LOG_CATEGORIES).
DIAGNOSED_TYPES = (WORKSPACE, KEY_VAULT, REGISTRY, NSG, AKS)


def _within(resource_id: Any, parent_id: str) -> bool:
    """Is the known id `resource_id` the resource `parent_id` or one of its children (ids are case-insensitive)?"""
    if not isinstance(resource_id, str) or not parent_id:
        return False
    child, parent = resource_id.rstrip("/").lower(), parent_id.rstrip("/").lower()
    return child == parent or child.startswith(parent + "/")


@rule("diagnostics-to-log-analytics", "The workspace, Key Vault, registry, every NSG, the AKS cluster and the storage account's "
      "blob service send their resource logs to Log Analytics (a diagnostic setting with a workspace).",
      sources=["https://learn.microsoft.com/azure/azure-monitor/essentials/diagnostic-settings",
               "https://learn.microsoft.com/azure/azure-monitor/reference/supported-logs/"
               "microsoft-network-networksecuritygroups-logs"])
def _diagnostics(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    settings = [d for d in _of_type(resources, DIAGNOSTIC_SETTING)
                if not _unset(d.prop("workspaceId")) and _list(d.prop("logs"))]
    if any(d.prop("resourceUri") is UNKNOWN and not d.refs("resourceUri") for d in settings):
        return  # a setting whose target is not known yet could be the missing one
    for r in _of_type(resources, *DIAGNOSED_TYPES, STORAGE):
        covered = [d for d in settings if r.urn in d.refs("resourceUri") or _within(d.prop("resourceUri"), r.id)]
        if r.type == STORAGE:
            # Storage logs are per service: the setting sits on <account>/blobServices/default.
            covered = [d for d in covered if d.prop("resourceUri") is UNKNOWN
                       or str(d.prop("resourceUri")).rstrip("/").lower().endswith("/blobservices/default")]
            if not covered:
                yield r.urn, "add a diagnostic setting on <account id>/blobServices/default to Log Analytics"
        elif not covered:
            yield r.urn, "add a diagnostic setting that sends its logs to Log Analytics"
