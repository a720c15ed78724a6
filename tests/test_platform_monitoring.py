"""Monitoring of the workspace: Log Analytics and Application Insights only through the Azure Monitor
Private Link Scope, and resource logs to the stack's Log Analytics (the workspace and its other
dependencies: tests/test_platform_workspace.py)."""

from __future__ import annotations

import dataclasses

import pytest

from isolated_mlops.components.roles import AZUREML_REGISTRY_USER, READER
from isolated_mlops.components.zones import CLOUDS
from offline.engine import StackRun
from isolated_mlops.policy import rules as R
from tests.helpers import DELETE, ZONES, changed, run_views, stack_plan, violations, without  # noqa: F401
from tests.helpers import endpoints_by_group as _endpoints, zones_of as _zones_of  # noqa: F401


# ---- Monitoring: Log Analytics and App Insights only through the Azure Monitor Private Link Scope ---
MONITOR_ZONES = {"privatelink.monitor.azure.com", "privatelink.oms.opinsights.azure.com",
                 "privatelink.ods.opinsights.azure.com", "privatelink.agentsvc.azure-automation.net",
                 "privatelink.blob.core.windows.net"}
MONITORING_RULES = ["monitoring-private", "monitoring-in-private-link-scope", "private-targets-have-endpoints",
                    "private-endpoint-dns-complete", "private-dns-zone-once", "zone-linked-to-every-vnet"]


def test_monitoring_reachable_only_through_its_private_link_scope(each_stack: StackRun):
    [scope] = each_stack.of_type(R.PRIVATE_LINK_SCOPE)
    assert scope.input("location") == "global"
    # Open: AML does not support PrivateOnly (Microsoft Learn, how-to-secure-workspace-vnet#azure-monitor);
    # the scope's resources stay private through their own switches, asserted next.
    assert scope.input("accessModeSettings") == {"ingestionAccessMode": "Open", "queryAccessMode": "Open"}
    monitored = [*each_stack.of_type(R.LOG_ANALYTICS), *each_stack.of_type(R.APP_INSIGHTS)]
    assert len(monitored) == 2
    for resource in monitored:
        assert resource.input("publicNetworkAccessForIngestion") == "Disabled", resource.name
        assert resource.input("publicNetworkAccessForQuery") == "Disabled", resource.name
    # Each monitored resource is scoped, ordered by data (its id and the scope's name), not depends_on.
    # (The drift table's data collection endpoint is scoped too: tests/test_platform_alerts.py.)
    scoped = [s for s in each_stack.of_type(R.SCOPED_RESOURCE)
              if each_stack.by_urn(s.property_dependencies["linkedResourceId"][0]).type != R.DATA_COLLECTION_ENDPOINT]
    assert sorted(s.property_dependencies["linkedResourceId"][0] for s in scoped) == sorted(r.urn for r in monitored)
    for s in scoped:
        assert s.property_dependencies["scopeName"] == [scope.urn]
        assert s.input("scopeName") == scope.input("scopeName")
        assert s.input("linkedResourceId") == each_stack.by_urn(s.property_dependencies["linkedResourceId"][0]).id
    # One azuremonitor endpoint to the scope, in the endpoints' subnet, with all five zones.
    [pe] = _endpoints(each_stack)["azuremonitor"]
    assert pe.property_dependencies["privateLinkServiceConnections"] == [scope.urn]
    assert pe.input("privateLinkServiceConnections")[0]["privateLinkServiceId"] == scope.id
    assert _zones_of(each_stack, pe) == MONITOR_ZONES == set(ZONES["azuremonitor"])
    for name in MONITORING_RULES:
        assert violations(each_stack, name) == [], name


@pytest.mark.parametrize("type_, props, text", [
    (R.LOG_ANALYTICS, {"publicNetworkAccessForIngestion": "Enabled"}, "publicNetworkAccessForIngestion"),
    (R.LOG_ANALYTICS, {"publicNetworkAccessForQuery": "Enabled"}, "publicNetworkAccessForQuery"),
    (R.LOG_ANALYTICS, {"publicNetworkAccessForQuery": DELETE}, "unset means 'Enabled'"),
    (R.APP_INSIGHTS, {"publicNetworkAccessForIngestion": "Enabled"}, "publicNetworkAccessForIngestion"),
    (R.APP_INSIGHTS, {"publicNetworkAccessForQuery": "Enabled"}, "publicNetworkAccessForQuery"),
    (R.PRIVATE_LINK_SCOPE, {"accessModeSettings__ingestionAccessMode": "PrivateOnly"}, "ingestionAccessMode"),
    (R.PRIVATE_LINK_SCOPE, {"accessModeSettings__queryAccessMode": "PrivateOnly"}, "queryAccessMode"),
    (R.PRIVATE_LINK_SCOPE, {"accessModeSettings__exclusions": [
        {"privateEndpointConnectionName": "pe-x", "queryAccessMode": "PrivateOnly"}]}, "exclusion"),
])
def test_opening_monitoring_or_closing_the_scope_is_caught(prod: StackRun, type_: str, props: dict, text: str):
    broken = changed(run_views(prod), lambda r: r.type == type_, **props)
    [v] = violations(broken, "monitoring-private")
    assert text in v.message and prod.by_urn(v.urn).type == type_


def test_scope_without_access_modes_is_open_by_default(prod: StackRun):
    """Azure's default for both modes is Open (the REST spec's AccessModeSettings): unset is accepted."""
    unset = changed(run_views(prod), lambda r: r.type == R.PRIVATE_LINK_SCOPE, accessModeSettings=DELETE)
    assert violations(unset, "monitoring-private") == []


@pytest.mark.parametrize("scoped_name, type_", [("monitoring-logs-scoped", R.LOG_ANALYTICS),
                                                 ("monitoring-appinsights-scoped", R.APP_INSIGHTS)])
def test_monitored_resource_not_scoped_is_caught(prod: StackRun, scoped_name: str, type_: str):
    base = run_views(prod)
    [target] = [r for r in base if r.type == type_]
    unscoped = without(base, lambda r: r.type == R.SCOPED_RESOURCE and r.name == scoped_name)
    assert [v.urn for v in violations(unscoped, "monitoring-in-private-link-scope")] == [target.urn]
    # Scoped, but into a scope that is not this stack's: not this stack's private path either.
    elsewhere = changed(base, lambda r: r.type == R.SCOPED_RESOURCE and r.name == scoped_name,
                        lambda r: dataclasses.replace(r, property_dependencies={
                            **r.property_dependencies, "scopeName": ()}), scopeName="ampls-someone-else")
    assert [v.urn for v in violations(elsewhere, "monitoring-in-private-link-scope")] == [target.urn]


def test_azure_monitor_endpoint_missing_or_missing_a_zone_is_caught(prod: StackRun):
    base = run_views(prod)
    [scope] = [r for r in base if r.type == R.PRIVATE_LINK_SCOPE]
    no_endpoint = without(base, lambda r: r.type == R.PRIVATE_ENDPOINT and r.name == "monitoring-azuremonitor-pe")
    [v] = violations(no_endpoint, "private-targets-have-endpoints")
    assert v.urn == scope.urn and "'azuremonitor'" in v.message
    [pe] = _endpoints(prod)["azuremonitor"]
    for missing in sorted(MONITOR_ZONES):
        [zone] = [r for r in base if r.type == R.PRIVATE_ZONE and r.props["privateZoneName"] == missing]
        four = changed(base, lambda r: r.type == R.ZONE_GROUP and r.name == "monitoring-azuremonitor-dns",
                       lambda r: dataclasses.replace(r, property_dependencies={
                           **r.property_dependencies, "privateDnsZoneConfigs": tuple(
                               u for u in r.property_dependencies["privateDnsZoneConfigs"] if u != zone.urn)}),
                       privateDnsZoneConfigs=[c for c in next(g for g in base if g.name == "monitoring-azuremonitor-dns")
                                              .props["privateDnsZoneConfigs"] if c["privateDnsZoneId"] != zone.id])
        [v] = violations(four, "private-endpoint-dns-complete")
        assert v.urn == pe.urn and missing in v.message, missing


def test_shared_blob_zone_declared_twice_is_caught(prod: StackRun):
    """Storage's blob endpoint and Azure Monitor's share one zone: a second declaration of it would be a
    second resource managing the same Azure zone, its links and records."""
    base = run_views(prod)
    [blob] = [r for r in base if r.type == R.PRIVATE_ZONE and r.props["privateZoneName"] == "privatelink.blob.core.windows.net"]
    # Same name, same resource group: the same ARM id, declared by a second resource.
    again = dataclasses.replace(blob, urn=blob.urn.replace("::private-dns-", "::monitoring-"), name="monitoring-blob")

    def use_again(r):
        return dataclasses.replace(r, property_dependencies={**r.property_dependencies, "privateDnsZoneConfigs": tuple(
            again.urn if u == blob.urn else u for u in r.property_dependencies["privateDnsZoneConfigs"])})
    twice = changed([*base, again], lambda r: r.type == R.ZONE_GROUP and r.name == "monitoring-azuremonitor-dns", use_again)
    assert violations(base, "private-dns-zone-once") == []
    [v] = violations(twice, "private-dns-zone-once")
    assert v.urn == again.urn and "privatelink.blob.core.windows.net" in v.message
    # The endpoint's own rule is satisfied by the copy: only the zone-once rule sees the duplicate.
    assert violations(twice, "private-endpoint-dns-complete") == []


# ---- Diagnostic settings: resource logs to the stack's Log Analytics ------------------------------
def test_resource_logs_go_to_log_analytics(each_stack: StackRun):
    [logs] = each_stack.of_type(R.LOG_ANALYTICS)
    settings = {s.input("resourceUri"): s for s in each_stack.of_type(R.DIAGNOSTIC_SETTING)}
    [account] = each_stack.of_type(R.STORAGE)
    expected = {r.id for t in (R.WORKSPACE, R.KEY_VAULT, R.REGISTRY, R.NSG, R.DIAGNOSED_TYPES[-1]) for r in each_stack.of_type(t)}
    expected.add(f"{account.id}/blobServices/default")  # storage logs are per service
    assert set(settings) == expected
    for uri, setting in settings.items():
        assert setting.input("workspaceId") == logs.id
        categories = [(log.get("category"), log.get("categoryGroup"), log["enabled"]) for log in setting.input("logs")]
        if "/managedClusters/" in uri:
            # The serving cluster: the categories compute/serving.py names (tests/test_platform_serving.py).
            assert {c for c, _, _ in categories} == {"kube-apiserver", "kube-audit-admin", "kube-controller-manager",
                                                    "cluster-autoscaler", "guard"}
        elif "/networkSecurityGroups/" in uri:
            # NSGs document two categories and no category group.
            assert categories == [("NetworkSecurityGroupEvent", None, True), ("NetworkSecurityGroupRuleCounter", None, True)]
        else:
            assert categories == [(None, "allLogs", True)]
    assert violations(each_stack, "diagnostics-to-log-analytics") == []


def test_a_resource_without_diagnostics_is_caught(prod: StackRun):
    base = run_views(prod)
    no_blob = without(base, lambda r: r.type == R.DIAGNOSTIC_SETTING and r.name == "diagnostics-storage-blob")
    [account] = prod.of_type(R.STORAGE)
    assert [v.urn for v in violations(no_blob, "diagnostics-to-log-analytics")] == [account.urn]
    # A setting on the account itself does not keep blob logs: it must sit on the blob service.
    on_account = changed(base, lambda r: r.type == R.DIAGNOSTIC_SETTING and r.name == "diagnostics-storage-blob",
                         resourceUri=account.id)
    assert [v.urn for v in violations(on_account, "diagnostics-to-log-analytics")] == [account.urn]
