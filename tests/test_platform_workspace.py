"""The workspace and its dependencies: private endpoints with complete DNS, hardening, wiring."""

from __future__ import annotations

import dataclasses

import pytest

from isolated_mlops.components.roles import AZUREML_REGISTRY_USER, READER
from isolated_mlops.components.zones import CLOUDS
from offline.engine import StackRun
from isolated_mlops.policy import rules as R
from tests.helpers import DELETE, ZONES, changed, run_views, stack_plan, violations, without  # noqa: F401
from tests.helpers import endpoints_by_group as _endpoints, zones_of as _zones_of  # noqa: F401
from tests.variants import DELIVERY_IDENTITIES


@pytest.mark.parametrize("stack, groups", [
    ("dev", {"amlworkspace": 1, "blob": 1, "file": 1, "vault": 1, "registry": 1, "azuremonitor": 1}),
    # Batch endpoints on; the model registry adds its own endpoint and its managed storage's and ACR's.
    ("prod", {"amlworkspace": 1, "blob": 2, "file": 1, "queue": 1, "table": 1, "vault": 1, "registry": 2,
              "azuremonitor": 1, "amlregistry": 1}),
])
def test_every_private_endpoint_and_its_zones(runs, stack: str, groups: dict[str, int]):
    run = runs[stack]
    endpoints = _endpoints(run)
    assert {group: len(pes) for group, pes in endpoints.items()} == groups
    for group, pes in endpoints.items():
        for pe in pes:
            assert _zones_of(run, pe) == set(ZONES[group]), group
            assert pe.input("subnet.id").endswith("/subnets/snet-private-endpoints")
    assert violations(run, "private-endpoint-dns-complete") == []
    assert violations(run, "private-targets-have-endpoints") == []


def test_workspace_endpoint_resolves_api_and_notebooks(prod: StackRun):
    [pe] = _endpoints(prod)["amlworkspace"]
    assert _zones_of(prod, pe) == {"privatelink.api.azureml.ms", "privatelink.notebooks.azure.net"}


def test_endpoint_targets_its_resource(prod: StackRun):
    targets = {"amlworkspace": R.WORKSPACE, "blob": R.STORAGE, "file": R.STORAGE, "queue": R.STORAGE,
               "table": R.STORAGE, "vault": R.KEY_VAULT, "registry": R.REGISTRY, "azuremonitor": R.PRIVATE_LINK_SCOPE,
               "amlregistry": R.ML_REGISTRY}
    for group, pes in _endpoints(prod).items():
        for pe in pes:
            [target_urn] = pe.property_dependencies["privateLinkServiceConnections"]
            target = prod.by_urn(target_urn)
            if target.type == R.ML_REGISTRY and group != "amlregistry":
                continue  # the registry's managed storage/ACR: test_model_registry_reaches_its_managed_accounts
            assert target.type == targets[group]
            assert pe.input("privateLinkServiceConnections")[0]["privateLinkServiceId"] == target.id


def test_incomplete_zone_group_is_caught(prod: StackRun):
    base = run_views(prod)
    notebooks = [r.urn for r in base if r.type == R.PRIVATE_ZONE and "notebooks" in r.name]
    half = changed(base, lambda r: r.type == R.ZONE_GROUP and "workspace" in r.name,
                   lambda r: r.__class__(**{**r.__dict__, "property_dependencies": {
                       **r.property_dependencies,
                       "privateDnsZoneConfigs": tuple(u for u in r.property_dependencies["privateDnsZoneConfigs"] if u not in notebooks)}}))
    [v] = violations(half, "private-endpoint-dns-complete")
    assert "notebooks" in v.message
    no_group = without(base, lambda r: r.type == R.ZONE_GROUP and "vault" in r.name)
    assert any("no private DNS zone group" in v.message for v in violations(no_group, "private-endpoint-dns-complete"))


def test_missing_endpoint_is_caught(prod: StackRun):
    no_file = without(run_views(prod), lambda r: r.type == R.PRIVATE_ENDPOINT and r.name == "storage-file-pe")
    [v] = violations(no_file, "private-targets-have-endpoints")
    assert "'file'" in v.message


# ---- Hardening of each dependency ------------------------------------------------------------
def test_storage_hardened(each_stack: StackRun):
    [account] = each_stack.of_type(R.STORAGE)
    assert account.input("minimumTlsVersion") == "TLS1_2"
    assert account.input("allowBlobPublicAccess") is False
    # Selected networks with none selected: only the workspace (resource instance) and trusted services
    # pass the firewall; clients use the private endpoints (how-to-secure-workspace-vnet).
    assert account.input("publicNetworkAccess") == "Enabled"
    [ws] = each_stack.of_type(R.WORKSPACE)
    # ...and, where the stack creates the model registry (prod), the registry: `az ml model share`
    # copies a workspace's model out of this account into it (how-to-registry-network-isolation).
    registries = [{"tenantId": "00000000-0000-0000-0000-0000000000aa", "resourceId": r.id}
                  for r in each_stack.of_type("azure-native:machinelearningservices:Registry")]
    assert len(registries) == (1 if each_stack.stack == "prod" else 0)
    assert account.input("networkRuleSet") == {
        "defaultAction": "Deny", "bypass": "AzureServices", "ipRules": [], "virtualNetworkRules": [],
        "resourceAccessRules": [{"tenantId": "00000000-0000-0000-0000-0000000000aa", "resourceId": ws.id},
                                *registries]}
    assert account.input("isHnsEnabled") is False
    assert violations(each_stack, "storage-hardened") == []
    assert violations(each_stack, "storage-admits-its-workspace") == []


@pytest.mark.parametrize("props, text", [
    ({"publicNetworkAccess": "Disabled"}, "turns off resource instance rules"),
    ({"networkRuleSet__resourceAccessRules": [{"tenantId": "t", "resourceId": "/subscriptions/s/resourceGroups/g/"
      "providers/Microsoft.MachineLearningServices/workspaces/someone-else"}]}, "resourceAccessRules"),
])
def test_storage_that_does_not_admit_its_workspace_is_caught(prod: StackRun, props: dict, text: str):
    [v] = violations(changed(run_views(prod), lambda r: r.type == R.STORAGE, **props), "storage-admits-its-workspace")
    assert text in v.message


def test_workspace_identity_reads_every_storage_endpoint(each_stack: StackRun):
    """Studio in a VNet: the workspace's identity is Reader on each storage private endpoint."""
    [ws] = each_stack.of_type(R.WORKSPACE)
    [account] = each_stack.of_type(R.STORAGE)
    storage_endpoints = {pe.id for pe in each_stack.of_type(R.PRIVATE_ENDPOINT)
                         if pe.property_dependencies["privateLinkServiceConnections"] == [account.urn]}
    readers = [a for a in each_stack.of_type(R.ROLE_ASSIGNMENT) if a.input("roleDefinitionId").endswith(READER.id)]
    assert {a.input("scope") for a in readers} == storage_endpoints and len(readers) == len(storage_endpoints)
    for a in readers:
        assert a.input("principalId") == ws.outputs["identity"]["principalId"]
        assert a.property_dependencies["principalId"] == [ws.urn]
    assert violations(each_stack, "workspace-reads-storage-endpoints") == []


def test_workspace_waits_for_its_dependencies_endpoints(each_stack: StackRun):
    """Microsoft's end-to-end secure template creates the workspace after the storage, vault and registry
    endpoints; undoing the depends_on fails here."""
    [ws] = each_stack.of_type(R.WORKSPACE)
    targets = {r.urn for t in (R.STORAGE, R.KEY_VAULT, R.REGISTRY) for r in each_stack.of_type(t)}
    endpoints = [pe for pe in each_stack.of_type(R.PRIVATE_ENDPOINT)
                 if set(pe.property_dependencies["privateLinkServiceConnections"]) & targets]
    # The storage account's, the vault's and the registry's, as planned (tests/test_plan.py).
    plan = stack_plan(each_stack.stack)
    assert len(endpoints) == sum(len(plan.endpoint_group_ids(owner)) for owner in ("storage", "key_vault", "container_registry"))
    for pe in endpoints:
        assert pe.urn in ws.dependencies, pe.name


def test_key_vault_hardened(each_stack: StackRun):
    [vault] = each_stack.of_type(R.KEY_VAULT)
    assert vault.input("properties.enableRbacAuthorization") is True
    assert vault.input("properties.enablePurgeProtection") is True
    assert vault.input("properties.publicNetworkAccess") == "Disabled"
    assert vault.input("properties.networkAcls") == {"defaultAction": "Deny", "bypass": "AzureServices"}
    assert vault.input("properties.tenantId") == "00000000-0000-0000-0000-0000000000aa"  # from getClientConfig
    assert violations(each_stack, "key-vault-hardened") == []


def test_registry_premium_private_no_admin_no_quarantine(each_stack: StackRun):
    [registry] = each_stack.of_type(R.REGISTRY)
    assert registry.input("sku.name") == "Premium"
    assert registry.input("adminUserEnabled") is False
    assert registry.input("publicNetworkAccess") == "Disabled"
    assert registry.input("policies.quarantinePolicy.status") == "disabled"
    assert violations(each_stack, "container-registry-private") == []


def test_app_insights_workspace_based(each_stack: StackRun):
    [appi] = each_stack.of_type(R.APP_INSIGHTS)
    [logs] = each_stack.of_type(R.LOG_ANALYTICS)
    assert appi.input("workspaceResourceId") == logs.id
    assert appi.input("ingestionMode") == "LogAnalytics"
    assert violations(each_stack, "app-insights-workspace-based") == []


@pytest.mark.parametrize("type_, props, rule", [
    (R.STORAGE, {"minimumTlsVersion": "TLS1_0"}, "storage-hardened"),
    (R.STORAGE, {"allowBlobPublicAccess": True}, "storage-hardened"),
    (R.STORAGE, {"networkRuleSet__defaultAction": "Allow"}, "storage-hardened"),
    (R.STORAGE, {"publicNetworkAccess": "Enabled", "networkRuleSet__ipRules": [{"value": "203.0.113.0/24"}]},
     "storage-hardened"),
    (R.STORAGE, {"networkRuleSet__virtualNetworkRules": [{"virtualNetworkResourceId": "/subscriptions/s/x"}]},
     "storage-hardened"),
    (R.STORAGE, {"isHnsEnabled": True}, "storage-hardened"),
    (R.KEY_VAULT, {"properties__enablePurgeProtection": False}, "key-vault-hardened"),
    (R.KEY_VAULT, {"properties__enableRbacAuthorization": DELETE}, "key-vault-hardened"),
    (R.KEY_VAULT, {"properties__networkAcls__defaultAction": "Allow"}, "key-vault-hardened"),
    (R.REGISTRY, {"sku__name": "Standard"}, "container-registry-private"),
    (R.REGISTRY, {"adminUserEnabled": True}, "container-registry-private"),
    (R.REGISTRY, {"policies__quarantinePolicy__status": "enabled"}, "container-registry-private"),
    (R.APP_INSIGHTS, {"workspaceResourceId": DELETE, "ingestionMode": "ApplicationInsights"}, "app-insights-workspace-based"),
    (R.WORKSPACE, {"publicNetworkAccess": "Enabled"}, "aml-workspace-private"),
    (R.WORKSPACE, {"v1LegacyMode": True}, "aml-workspace-private"),
    (R.WORKSPACE, {"identity": DELETE}, "aml-workspace-private"),
    (R.WORKSPACE, {"serverlessComputeSettings": DELETE}, "aml-workspace-private"),
    (R.WORKSPACE, {"serverlessComputeSettings__serverlessComputeNoPublicIP": False}, "aml-workspace-private"),
])
def test_hardening_checks_can_fail(prod: StackRun, type_: str, props: dict, rule: str):
    broken = changed(run_views(prod), lambda r: r.type == type_, **props)
    assert violations(broken, rule)


# ---- The workspace ---------------------------------------------------------------------------
def test_workspace_isolated_and_linked_to_its_dependencies(each_stack: StackRun):
    [ws] = each_stack.of_type(R.WORKSPACE)
    assert ws.input("publicNetworkAccess") == "Disabled"
    assert ws.input("v1LegacyMode") is False
    assert ws.input("identity.type") == "SystemAssigned"
    # Serverless compute runs in the training subnet, without public IPs, like the clusters.
    assert ws.input("serverlessComputeSettings.serverlessComputeCustomSubnet").endswith("/subnets/snet-training")
    assert ws.input("serverlessComputeSettings.serverlessComputeNoPublicIP") is True
    for prop, type_ in (("storageAccount", R.STORAGE), ("keyVault", R.KEY_VAULT),
                        ("containerRegistry", R.REGISTRY), ("applicationInsights", R.APP_INSIGHTS)):
        [dependency] = each_stack.of_type(type_)
        assert ws.input(prop) == dependency.id, prop
    assert violations(each_stack, "aml-workspace-private") == []


def test_image_build_compute_is_a_cluster_of_the_stack(each_stack: StackRun):
    [ws] = each_stack.of_type(R.WORKSPACE)
    clusters = {c.input("computeName") for c in each_stack.of_type(R.COMPUTE)}
    assert ws.input("imageBuildCompute") in clusters
    assert violations(each_stack, "image-build-compute-exists") == []


def test_image_build_compute_check_can_fail(prod: StackRun):
    broken = changed(run_views(prod), lambda r: r.type == R.WORKSPACE, imageBuildCompute="optional-cluster")
    assert violations(broken, "image-build-compute-exists")


# dev_switched and dev_us_gov: dev with several switches turned in one run (tests/variants.py);
# each test checks only what its own switch changes.
def test_workspace_public_access_switch(dev_switched: StackRun):
    run = dev_switched
    assert run.error is None
    [ws] = run.of_type(R.WORKSPACE)
    assert ws.input("publicNetworkAccess") == "Enabled"
    assert violations(run, "aml-workspace-private"), "opening the workspace must show up as a violation"


def test_hbi_workspace_is_a_stack_setting_on_in_prod(runs, dev_us_gov: StackRun):
    assert [ws.input("hbiWorkspace") for ws in runs["prod"].of_type(R.WORKSPACE)] == [True]
    assert [ws.input("hbiWorkspace") for ws in runs["dev"].of_type(R.WORKSPACE)] == [False]
    run = dev_us_gov  # dev without the hbiWorkspace key
    assert run.error is None and [ws.input("hbiWorkspace") for ws in run.of_type(R.WORKSPACE)] == [False]


def test_turning_hbi_on_replaces_the_workspace_in_the_diff(dev: StackRun, dev_switched: StackRun):
    """Azure takes hbiWorkspace only at creation: the diff must say the workspace is replaced (data loss)."""
    from offline.diff import compare

    changes = compare(dev, dev_switched).changes
    [change] = [c for c in changes if c.new is not None and c.new.type == R.WORKSPACE]
    assert change.kind == "replace" and [p.path for p in change.properties if p.replaces] == ["hbiWorkspace"]
    assert change.loses_data


def test_batch_endpoints_off_means_no_queue_or_table_endpoints(dev: StackRun):
    groups = {pe.input("privateLinkServiceConnections")[0]["groupIds"][0] for pe in dev.of_type(R.PRIVATE_ENDPOINT)}
    assert "queue" not in groups and "table" not in groups


# ---- The model registry (prod's stack file creates it) ---------------------------------------
def test_model_registry_only_where_the_stack_file_creates_it(dev: StackRun, prod: StackRun):
    assert dev.of_type(R.ML_REGISTRY) == []
    [registry] = prod.of_type(R.ML_REGISTRY)
    assert registry.input("publicNetworkAccess") == "Disabled"
    assert registry.input("identity") == {"type": "SystemAssigned"}
    assert registry.protect is True
    [region] = registry.input("regionDetails")
    assert region["location"] == "westeurope"
    assert region["acrDetails"] == [{"systemCreatedAcrAccount": {"acrAccountSku": "Premium"}}]
    assert region["storageAccountDetails"][0]["systemCreatedStorageAccount"]["allowBlobPublicAccess"] is False
    assert registry.input("registryName").startswith("mlr-mlops-prod-")
    assert violations(prod, "model-registry-private") == []


def test_model_registry_reaches_its_managed_accounts(prod: StackRun):
    """Private endpoints to the registry, and to the storage and ACR Azure manages for it."""
    [registry] = prod.of_type(R.ML_REGISTRY)
    [region] = registry.outputs["regionDetails"]
    managed = {"blob": region["storageAccountDetails"][0]["systemCreatedStorageAccount"]["armResourceId"]["resourceId"],
               "registry": region["acrDetails"][0]["systemCreatedAcrAccount"]["armResourceId"]["resourceId"],
               "amlregistry": registry.id}
    mine = [pe for pe in prod.of_type(R.PRIVATE_ENDPOINT)
            if pe.property_dependencies["privateLinkServiceConnections"] == [registry.urn]]
    found = {}
    for pe in mine:
        [connection] = pe.input("privateLinkServiceConnections")
        [group] = connection["groupIds"]
        found[group] = connection["privateLinkServiceId"]
        assert _zones_of(prod, pe) == set(ZONES[group])
    assert found == managed
    assert "/resourceGroups/azureml-rg-" in managed["blob"] and "/resourceGroups/azureml-rg-" in managed["registry"]
    assert violations(prod, "private-targets-have-endpoints") == []
    assert violations(prod, "private-endpoint-dns-complete") == []


def test_model_registry_shares_the_workspace_api_zone(prod: StackRun):
    """amlregistry and amlworkspace both register in privatelink.api.azureml.ms: one zone, declared once."""
    api = [z for z in prod.of_type(R.PRIVATE_ZONE) if z.input("privateZoneName") == "privatelink.api.azureml.ms"]
    assert len(api) == 1
    assert violations(prod, "private-dns-zone-once") == []


@pytest.mark.parametrize("endpoint, group", [
    ("model-registry-registry-pe", "'amlregistry'"), ("model-registry-acr-pe", "'registry'"),
    ("model-registry-storage-blob-pe", "'blob'"),
])
def test_model_registry_without_an_endpoint_is_caught(prod: StackRun, endpoint: str, group: str):
    missing = without(run_views(prod), lambda r: r.type == R.PRIVATE_ENDPOINT and r.name == endpoint)
    [v] = violations(missing, "private-targets-have-endpoints")
    assert v.urn == prod.of_type(R.ML_REGISTRY)[0].urn and group in v.message


@pytest.mark.parametrize("props, text", [
    ({"publicNetworkAccess": "Enabled"}, "publicNetworkAccess"),
    ({"publicNetworkAccess": DELETE}, "publicNetworkAccess"),
    ({"regionDetails": [{"location": "westeurope", "acrDetails": [{"systemCreatedAcrAccount": {"acrAccountSku": "Standard"}}],
                         "storageAccountDetails": []}]}, "Premium"),
    ({"regionDetails": [{"location": "westeurope", "acrDetails": [], "storageAccountDetails": [
        {"systemCreatedStorageAccount": {"allowBlobPublicAccess": True}}]}]}, "allowBlobPublicAccess"),
])
def test_open_model_registry_is_caught(prod: StackRun, props: dict, text: str):
    [v] = violations(changed(run_views(prod), lambda r: r.type == R.ML_REGISTRY, **props), "model-registry-private")
    assert text in v.message


def test_delivery_identities_are_registry_users(prod: StackRun, prod_extended: StackRun):
    """AzureML Registry User on the registry for each object id in modelRegistry.userPrincipalIds, and
    none while the stack file lists none (prod's does not, until the identities exist)."""
    assert not [a for a in prod.of_type(R.ROLE_ASSIGNMENT) if a.input("roleDefinitionId").endswith(AZUREML_REGISTRY_USER.id)]
    run = prod_extended  # modelRegistry.userPrincipalIds = DELIVERY_IDENTITIES (tests/variants.py)
    [registry] = run.of_type(R.ML_REGISTRY)
    users = [a for a in run.of_type(R.ROLE_ASSIGNMENT) if a.input("roleDefinitionId").endswith(AZUREML_REGISTRY_USER.id)]
    assert {a.input("principalId") for a in users} == set(DELIVERY_IDENTITIES)
    for a in users:
        assert a.input("scope") == registry.id and a.property_dependencies["scope"] == [registry.urn]
        assert a.input("principalType") == "ServicePrincipal"


def test_unprotected_model_registry_in_prod_is_caught(prod: StackRun):
    [v] = violations(changed(run_views(prod), lambda r: r.type == R.ML_REGISTRY,
                             lambda r: dataclasses.replace(r, protect=False)), "stateful-resources-protected")
    assert v.urn == prod.of_type(R.ML_REGISTRY)[0].urn


def test_a_registry_without_managed_accounts_stops_with_a_reason():
    """If Azure reported no managed storage/ACR, the endpoints would have no target: say so, by kind."""
    from isolated_mlops.workspace.model_registry import _managed_id

    for kind in ("storage", "acr"):
        with pytest.raises(ValueError, match=f"no {kind} account"):
            _managed_id(None, kind)
        with pytest.raises(ValueError, match=f"no {kind} account"):
            _managed_id([], kind)
