"""Every rule passes on a compliant stack and fails on a violating one; no rule reports what a preview
cannot know yet.

The compliant stack is the real prod program's registrations (offline engine). Each violating case
changes exactly one thing in a copy of it, the way a pull request could, and names the resource and
message it must produce. Hand-built views cover what the program never declares (standalone subnets
and security rules, zones of a hub, Windows VMs, ...).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

import pytest

from offline.engine import StackRun
from isolated_mlops.policy import rules as R
from isolated_mlops.policy.adapters import views
from isolated_mlops.policy.rules import RULES, UNKNOWN, ResourceView, evaluate, rule_named
from tests.helpers import DELETE, changed, without
from tests.policy_views import INTERNET_SSH, Views, _named, _one, _replace, _vnet, _with_subnets  # noqa: F401


@pytest.fixture(scope="module")
def base(prod: StackRun) -> Views:
    return views(prod)


# --------------------------------------------------------------------------------------------
# One violating case per rule: (broken copy of the prod views, URN that must be reported, text in
# the message). A new rule without a case here fails `test_every_rule_has_a_case`.
# --------------------------------------------------------------------------------------------
def _workspace_public(b: Views):
    ws = _one(b, lambda r: r.type == R.WORKSPACE)
    return changed(b, lambda r: r is ws, publicNetworkAccess="Enabled"), ws.urn, "publicNetworkAccess"


def _storage_no_bypass(b: Views):
    st = _one(b, lambda r: r.type == R.STORAGE)
    return changed(b, lambda r: r is st, networkRuleSet__bypass="None"), st.urn, "AzureServices"


def _vault_access_policies(b: Views):
    kv = _one(b, lambda r: r.type == R.KEY_VAULT)
    return changed(b, lambda r: r is kv, properties__enableRbacAuthorization=False), kv.urn, "enableRbacAuthorization"


def _registry_standard(b: Views):
    acr = _one(b, lambda r: r.type == R.REGISTRY)
    return changed(b, lambda r: r is acr, sku__name="Standard"), acr.urn, "Premium"


def _model_registry_public(b: Views):
    registry = _one(b, lambda r: r.type == R.ML_REGISTRY)
    return changed(b, lambda r: r is registry, publicNetworkAccess="Enabled"), registry.urn, "'Disabled'"


def _classic_app_insights(b: Views):
    appi = _one(b, lambda r: r.type == R.APP_INSIGHTS)
    broken = changed(b, lambda r: r is appi, lambda r: dataclasses.replace(r, property_dependencies={}),
                     workspaceResourceId=DELETE)
    return broken, appi.urn, "workspaceResourceId"


def _log_analytics_public_ingestion(b: Views):
    logs = _one(b, lambda r: r.type == R.LOG_ANALYTICS)
    return changed(b, lambda r: r is logs, publicNetworkAccessForIngestion="Enabled"), logs.urn, "publicNetworkAccessForIngestion"


def _app_insights_not_scoped(b: Views):
    appi = _one(b, lambda r: r.type == R.APP_INSIGHTS)
    return without(b, _named(R.SCOPED_RESOURCE, "monitoring-appinsights-scoped")), appi.urn, "Private Link Scope"


def _blob_zone_declared_twice(b: Views):
    blob = _one(b, lambda r: r.type == R.PRIVATE_ZONE and r.props["privateZoneName"] == "privatelink.blob.core.windows.net")
    again = dataclasses.replace(blob, urn=blob.urn + "-again", name=blob.name + "-again")  # same name, same id
    return [*b, again], again.urn, "privatelink.blob.core.windows.net again"


def _registry_without_endpoint(b: Views):
    acr = _one(b, lambda r: r.type == R.REGISTRY)
    return without(b, _named(R.PRIVATE_ENDPOINT, "registry-registry-pe")), acr.urn, "'registry'"


def _vault_zone_group_wrong_zone(b: Views):
    blob_zone = _one(b, lambda r: r.type == R.PRIVATE_ZONE and r.props["privateZoneName"].startswith("privatelink.blob."))
    pe = _one(b, _named(R.PRIVATE_ENDPOINT, "key-vault-vault-pe"))
    broken = changed(b, _named(R.ZONE_GROUP, "key-vault-vault-dns"), lambda r: dataclasses.replace(
        r, props={**r.props, "privateDnsZoneConfigs": [{"name": "blob", "privateDnsZoneId": blob_zone.id}]},
        property_dependencies={**r.property_dependencies, "privateDnsZoneConfigs": (blob_zone.urn,)}))
    return broken, pe.urn, "privatelink.vaultcore.azure.net"


def _endpoint_subnet_policies_off(b: Views):
    vnet = _one(b, _vnet("aml"))
    broken = changed(b, lambda r: r is vnet, _with_subnets(lambda s: {**s, "privateEndpointNetworkPolicies": "Disabled"}))
    return broken, vnet.urn, "snet-private-endpoints"


def _training_reaches_the_agents(b: Views):
    nsg = _one(b, _named(R.NSG, "access-network-nsg-agents"))
    from_vnet = {"name": "AllowVnet", "priority": 300, "direction": "Inbound", "access": "Allow", "protocol": "*",
                 "sourceAddressPrefix": "VirtualNetwork", "sourcePortRange": "*", "destinationAddressPrefix": "*",
                 "destinationPortRange": "*"}
    broken = changed(b, lambda r: r is nsg, securityRules=[*nsg.props["securityRules"], from_vnet])
    return broken, nsg.urn, "'AllowVnet'"


def _zone_link_regional(b: Views):
    link = _one(b, _named(R.ZONE_LINK, "private-dns-privatelink.azurecr.io-aml"))
    return changed(b, lambda r: r is link, location="westeurope"), link.urn, "global"


def _training_subnet_without_nsg(b: Views):
    vnet = _one(b, _vnet("aml"))
    broken = changed(b, lambda r: r is vnet, _with_subnets(
        lambda s: {k: v for k, v in s.items() if k != "networkSecurityGroup"} if s["name"] == "snet-training" else s))
    return broken, vnet.urn, "snet-training"


def _one_way_peering(b: Views):
    kept = _one(b, _named(R.PEERING, "aml-access-peering-aml-to-bastion"))
    return without(b, _named(R.PEERING, "aml-access-peering-bastion-to-aml")), kept.urn, "opposite direction"


def _overlapping_subnets(b: Views):
    vnet = _one(b, _vnet("aml"))
    broken = changed(b, lambda r: r is vnet, _with_subnets(
        lambda s: {**s, "addressPrefix": "10.10.8.0/24"} if s["name"] == "snet-training" else s))
    return broken, vnet.urn, "overlaps"


def _nic_in_bastion_subnet(b: Views):
    nic = _one(b, _named(R.NIC, "jump-host-nic"))

    def move(r: ResourceView) -> ResourceView:
        configs = [{**c, "subnet": {"id": c["subnet"]["id"].rsplit("/", 1)[0] + "/AzureBastionSubnet"}}
                   for c in r.props["ipConfigurations"]]
        return dataclasses.replace(r, props={**r.props, "ipConfigurations": configs})
    return _replace(b, lambda r: r is nic, move), nic.urn, "nothing else"


def _basic_public_ip(b: Views):
    ip = _one(b, _named(R.PUBLIC_IP, "bastion-ip"))
    return changed(b, lambda r: r is ip, sku__name="Basic"), ip.urn, "Standard"


def _vm_with_public_ip_config(b: Views):
    vm = _one(b, _named(R.VM, "jump-host-vm"))
    nic_config = {"name": "nic", "ipConfigurations": [{"name": "ip", "publicIPAddressConfiguration": {"name": "pip"}}]}
    return changed(b, lambda r: r is vm, networkProfile__networkInterfaceConfigurations=[nic_config]), vm.urn, "public IP"


def _standalone_rule_opens_rdp(b: Views):
    rule = ResourceView(urn="urn:pulumi:prod::isolated-mlops::azure-native:network:SecurityRule::rdp", type=R.SECURITY_RULE,
                        name="rdp", props={**INTERNET_SSH, "name": "rdp", "destinationPortRanges": ["3380-3390"],
                                           "destinationPortRange": None, "sourceAddressPrefix": "*"})
    return [*b, rule], rule.urn, "3389"


def _vm_without_ssh_key(b: Views):
    vm = _one(b, _named(R.VM, "jump-host-vm"))
    return changed(b, lambda r: r is vm, osProfile__linuxConfiguration__ssh=DELETE), vm.urn, "SSH public key"


def _secret_in_user_data(b: Views):
    vm = _one(b, _named(R.VM, "jump-host-vm"))
    broken = changed(b, lambda r: r is vm, lambda r: dataclasses.replace(r, secret_paths=("userData",)), userData="c2VjcmV0")
    return broken, vm.urn, "userData"


def _plain_vault_secret(b: Views):
    secret = _one(b, lambda r: r.type == R.KEY_VAULT_SECRET)
    return changed(b, lambda r: r is secret, lambda r: dataclasses.replace(r, secret_paths=())), secret.urn, "plain text"


def _compute_without_subnet(b: Views):
    c = _one(b, _named(R.COMPUTE, "cluster-gpu-train-compute"))
    return changed(b, lambda r: r is c, properties__properties__subnet=DELETE), c.urn, "subnet"


def _training_nsg_opens_ssh(b: Views):
    nsg = _one(b, _named(R.NSG, "aml-network-nsg-training"))
    cpu = _one(b, _named(R.COMPUTE, "cluster-cpu-build-compute"))
    broken = changed(b, lambda r: r is nsg, securityRules=[*nsg.props["securityRules"], INTERNET_SSH])
    return broken, cpu.urn, "[22]"


def _compute_before_endpoint(b: Views):
    c = _one(b, _named(R.COMPUTE, "cluster-cpu-build-compute"))
    broken = changed(b, lambda r: r is c, lambda r: dataclasses.replace(
        r, dependencies=tuple(d for d in r.dependencies if "PrivateEndpoint" not in d)))
    return broken, c.urn, "depends_on"


def _image_build_on_missing_cluster(b: Views):
    ws = _one(b, lambda r: r.type == R.WORKSPACE)
    return changed(b, lambda r: r is ws, imageBuildCompute="cpu-optional"), ws.urn, "cpu-optional"


def _unprotected_storage(b: Views):
    st = _one(b, lambda r: r.type == R.STORAGE)
    return changed(b, lambda r: r is st, lambda r: dataclasses.replace(r, protect=False)), st.urn, "not protected"


def _storage_without_workspace_rule(b: Views):
    st = _one(b, lambda r: r.type == R.STORAGE)
    return changed(b, lambda r: r is st, networkRuleSet__resourceAccessRules=[]), st.urn, "resourceAccessRules"


def _workspace_not_reader_on_file_endpoint(b: Views):
    [pe] = [r for r in b if r.type == R.PRIVATE_ENDPOINT and r.name == "storage-file-pe"]
    return without(b, lambda r: r.type == R.ROLE_ASSIGNMENT and r.name == "ml-workspace-reader-file"), pe.urn, "Reader"


def _cluster_identity_without_acr_pull(b: Views):
    c = _one(b, _named(R.COMPUTE, "cluster-gpu-train-compute"))
    return without(b, lambda r: r.type == R.ROLE_ASSIGNMENT and r.name == "cluster-identity-acr-pull"), c.urn, "AcrPull"


def _vm_without_encryption_at_host(b: Views):
    vm = _one(b, _named(R.VM, "jump-host-vm"))
    return changed(b, lambda r: r is vm, securityProfile__encryptionAtHost=False), vm.urn, "encryptionAtHost"


def _vault_secret_without_expiry(b: Views):
    secret = _one(b, lambda r: r.type == R.KEY_VAULT_SECRET)
    return changed(b, lambda r: r is secret, properties__attributes=DELETE), secret.urn, "expires"


def _registry_without_diagnostics(b: Views):
    registry = _one(b, lambda r: r.type == R.REGISTRY)
    return without(b, lambda r: r.type == R.DIAGNOSTIC_SETTING and r.name == "diagnostics-registry"), \
        registry.urn, "diagnostic setting"


def _action_group_url_with_sig(b: Views):
    group = _one(b, lambda r: r.type == R.ACTION_GROUP and "retrain" in r.props["actionGroupName"])
    return changed(b, lambda r: r is group, webhookReceivers=[
        {"name": "x", "serviceUri": "https://x.logic.azure.com/workflows/w/invoke?sig=s"}]), group.urn, "sig="


def _action_group_without_receiver(b: Views):
    group = _one(b, lambda r: r.type == R.ACTION_GROUP and "notify" in r.props["actionGroupName"])
    return changed(b, lambda r: r is group, emailReceivers=[]), group.urn, "no receiver"


def _public_collection_endpoint(b: Views):
    dce = _one(b, lambda r: r.type == R.DATA_COLLECTION_ENDPOINT)
    return changed(b, lambda r: r is dce, networkAcls__publicNetworkAccess="Enabled"), dce.urn, "Disabled"


def _aks_public_api_server(b: Views):
    aks = _one(b, lambda r: r.type == R.AKS)
    return (changed(b, lambda r: r is aks, apiServerAccessProfile__enablePrivateClusterPublicFQDN=True), aks.urn,
            "public FQDN")


def _aks_without_azure_rbac(b: Views):
    aks = _one(b, lambda r: r.type == R.AKS)
    return changed(b, lambda r: r is aks, aadProfile__enableAzureRBAC=False), aks.urn, "enableAzureRBAC"


def _azureml_extension_plain_http(b: Views):
    ext = _one(b, lambda r: r.type == R.K8S_EXTENSION)
    return (changed(b, lambda r: r is ext, configurationSettings__allowInsecureConnections="true"), ext.urn,
            "plain HTTP")


CASES: dict[str, Callable[[Views], tuple[Views, str, str]]] = {
    "aml-workspace-private": _workspace_public,
    "storage-hardened": _storage_no_bypass,
    "key-vault-hardened": _vault_access_policies,
    "container-registry-private": _registry_standard,
    "model-registry-private": _model_registry_public,
    "app-insights-workspace-based": _classic_app_insights,
    "monitoring-private": _log_analytics_public_ingestion,
    "monitoring-in-private-link-scope": _app_insights_not_scoped,
    "private-targets-have-endpoints": _registry_without_endpoint,
    "private-endpoint-dns-complete": _vault_zone_group_wrong_zone,
    "private-endpoint-subnet-policies": _endpoint_subnet_policies_off,
    "zone-linked-to-every-vnet": _zone_link_regional,
    "private-dns-zone-once": _blob_zone_declared_twice,
    "subnets-have-nsg": _training_subnet_without_nsg,
    "no-lateral-from-vnet": _training_reaches_the_agents,
    "peering-both-directions": _one_way_peering,
    "address-spaces": _overlapping_subnets,
    "bastion-subnet": _nic_in_bastion_subnet,
    "public-ip-standard-static": _basic_public_ip,
    "only-bastion-inbound-public-ip": _vm_with_public_ip_config,
    "no-internet-admin-ports": _standalone_rule_opens_rdp,
    "vm-ssh-keys-only": _vm_without_ssh_key,
    "no-secret-in-vm-boot-data": _secret_in_user_data,
    "key-vault-secret-is-secret": _plain_vault_secret,
    "aml-compute-private": _compute_without_subnet,
    "compute-subnet-closed": _training_nsg_opens_ssh,
    "compute-after-workspace-private-endpoint": _compute_before_endpoint,
    "image-build-compute-exists": _image_build_on_missing_cluster,
    "stateful-resources-protected": _unprotected_storage,
    "storage-admits-its-workspace": _storage_without_workspace_rule,
    "workspace-reads-storage-endpoints": _workspace_not_reader_on_file_endpoint,
    "compute-can-pull-images": _cluster_identity_without_acr_pull,
    "vm-encryption-at-host": _vm_without_encryption_at_host,
    "key-vault-secret-expires": _vault_secret_without_expiry,
    "diagnostics-to-log-analytics": _registry_without_diagnostics,
    "action-group-urls-carry-no-plain-credential": _action_group_url_with_sig,
    "alerts-reach-a-receiver": _action_group_without_receiver,
    "data-collection-endpoint-private": _public_collection_endpoint,
    # policy/rules/serving.py (more cases in tests/test_platform_serving.py)
    "aks-private-api-server": _aks_public_api_server,
    "aks-entra-id-authorization": _aks_without_azure_rbac,
    "azureml-extension-internal-https": _azureml_extension_plain_http,
}


def test_every_rule_has_a_case():
    assert set(CASES) == {r.name for r in RULES}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_passes_on_the_compliant_prod_stack(base: Views, name: str):
    assert evaluate(base, only=[name]) == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_fails_on_a_violating_stack(base: Views, name: str):
    broken, urn, text = CASES[name](base)
    found = evaluate(broken, only=[name])
    assert found, f"{name} did not catch its violating case"
    assert any(v.urn == urn and text in v.message for v in found), found
    assert all(v.rule == name for v in found)


def test_per_resource_rules_judge_one_resource_alone(base: Views):
    """What the pack runs as a resource policy sees no neighbours: the same verdict from one view."""
    for name in [r.name for r in RULES if r.per_resource]:
        rule = rule_named(name)
        broken, urn, _ = CASES[name](base)
        [resource] = [r for r in broken if r.urn == urn]
        assert rule.check_one is not None and list(rule.check_one(resource)), name


def test_unknown_rule_name_is_an_error(base: Views):
    with pytest.raises(KeyError):
        evaluate(base, only=["no-such-rule"])
