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

Views = list[ResourceView]


# --------------------------------------------------------------------------------------------
# Small tools
# --------------------------------------------------------------------------------------------
def _one(resources: Sequence[ResourceView], match: Callable[[ResourceView], bool]) -> ResourceView:
    [found] = [r for r in resources if match(r)]
    return found


def _named(type_: str, logical_name: str) -> Callable[[ResourceView], bool]:
    return lambda r: r.type == type_ and r.name == logical_name


def _replace(resources: Sequence[ResourceView], match: Callable[[ResourceView], bool],
             fn: Callable[[ResourceView], ResourceView]) -> Views:
    return changed(resources, match, fn)


def _with_subnets(fn: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[ResourceView], ResourceView]:
    """Change each inline subnet of a VNet view."""
    return lambda r: dataclasses.replace(r, props={**r.props, "subnets": [fn(dict(s)) for s in r.props["subnets"]]})


def _vnet(role: str) -> Callable[[ResourceView], bool]:
    return lambda r: r.type == R.VNET and r.props["virtualNetworkName"].startswith(f"vnet-{role}-")


INTERNET_SSH = {"name": "oops", "priority": 200, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
                "sourceAddressPrefix": "Internet", "sourcePortRange": "*", "destinationAddressPrefix": "*",
                "destinationPortRange": "22"}


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


# --------------------------------------------------------------------------------------------
# Preview: unknown values prove nothing
# --------------------------------------------------------------------------------------------
def first_preview(run: StackRun) -> Views:
    """The prod views as a first `pulumi preview` of a new stack sends them: every id, and every value
    computed from one or from the random name suffix, is unknown."""
    ids = {r.id for r in run.resources if r.id}
    [suffix] = [r.outputs["result"] for r in run.resources if r.type == "random:index/randomString:RandomString"]

    def blank(value: Any) -> Any:
        if isinstance(value, str) and (suffix in value or any(i in value for i in ids)):
            return UNKNOWN
        if isinstance(value, dict):
            return {k: blank(v) for k, v in value.items()}
        if isinstance(value, list):
            return [blank(v) for v in value]
        return value
    return [dataclasses.replace(r, props=blank(dict(r.props)), id="") for r in views(run)]


def test_first_preview_reports_nothing_it_cannot_prove(prod: StackRun):
    preview = first_preview(prod)
    blanked = [r for r in preview if R._has_unknown(r.props)]
    assert len(blanked) > 40, "the simulation must actually hide ids and names"
    assert evaluate(preview) == []


def test_first_preview_still_catches_what_inputs_prove(prod: StackRun):
    preview = first_preview(prod)
    notebooks = _one(preview, lambda r: r.type == R.PRIVATE_ZONE and "notebooks" in r.props["privateZoneName"])
    half = changed(preview, _named(R.ZONE_GROUP, "ml-workspace-workspace-dns"), lambda r: dataclasses.replace(
        r, props={**r.props, "privateDnsZoneConfigs": r.props["privateDnsZoneConfigs"][:1]},
        property_dependencies={**r.property_dependencies, "privateDnsZoneConfigs": tuple(
            u for u in r.property_dependencies["privateDnsZoneConfigs"] if u != notebooks.urn)}))
    [v] = evaluate(half, only=["private-endpoint-dns-complete"])
    assert "notebooks" in v.message
    unlinked = without(preview, _named(R.ZONE_LINK, "private-dns-privatelink.vaultcore.azure.net-bastion"))
    assert evaluate(unlinked, only=["zone-linked-to-every-vnet"])
    small = changed(preview, _vnet("bastion"), _with_subnets(
        lambda s: {**s, "addressPrefix": "10.11.0.0/27"} if s["name"] == "AzureBastionSubnet" else s))
    assert evaluate(small, only=["bastion-subnet"])
    public_logs = changed(preview, lambda r: r.type == R.LOG_ANALYTICS, publicNetworkAccessForIngestion="Enabled")
    assert evaluate(public_logs, only=["monitoring-private"])
    # Scoped resources name their target by an unknown id, but by a known property dependency.
    unscoped = without(preview, _named(R.SCOPED_RESOURCE, "monitoring-logs-scoped"))
    assert [v.urn for v in evaluate(unscoped, only=["monitoring-in-private-link-scope"])] == [
        _one(preview, lambda r: r.type == R.LOG_ANALYTICS).urn]


def _strip_unknown(value: Any) -> Any:
    """The same props with every unknown value left out (unset)."""
    if isinstance(value, dict):
        return {k: _strip_unknown(v) for k, v in value.items() if v is not UNKNOWN}
    if isinstance(value, list):
        return [_strip_unknown(v) for v in value if v is not UNKNOWN]
    return value


@pytest.mark.parametrize("type_, props", [
    (R.STORAGE, {"minimumTlsVersion": UNKNOWN, "allowBlobPublicAccess": UNKNOWN, "publicNetworkAccess": UNKNOWN,
                 "networkRuleSet": UNKNOWN, "enableHttpsTrafficOnly": UNKNOWN, "isHnsEnabled": UNKNOWN}),
    (R.KEY_VAULT, {"properties": UNKNOWN}),
    (R.REGISTRY, {"sku": UNKNOWN, "adminUserEnabled": UNKNOWN, "publicNetworkAccess": UNKNOWN, "policies": UNKNOWN}),
    (R.WORKSPACE, {"publicNetworkAccess": UNKNOWN, "v1LegacyMode": UNKNOWN, "identity": UNKNOWN, "imageBuildCompute": UNKNOWN,
                   "serverlessComputeSettings": UNKNOWN}),
    (R.APP_INSIGHTS, {"workspaceResourceId": UNKNOWN, "ingestionMode": UNKNOWN,
                      "publicNetworkAccessForIngestion": UNKNOWN, "publicNetworkAccessForQuery": UNKNOWN}),
    (R.LOG_ANALYTICS, {"publicNetworkAccessForIngestion": UNKNOWN, "publicNetworkAccessForQuery": UNKNOWN}),
    (R.COMPUTE, {"properties": {"computeType": "AmlCompute", "properties": UNKNOWN}, "identity": UNKNOWN}),
    (R.PUBLIC_IP, {"sku": UNKNOWN, "publicIPAllocationMethod": UNKNOWN}),
    (R.VM, {"osProfile": {"linuxConfiguration": UNKNOWN}, "securityProfile": UNKNOWN}),
    (R.KEY_VAULT_SECRET, {"properties": UNKNOWN}),
    (R.VNET, {"subnets": [{"name": "snet-a", "networkSecurityGroup": UNKNOWN}], "addressSpace": UNKNOWN}),
])
def test_unknown_values_are_not_violations(type_: str, props: dict):
    """Each resource rule, alone with the resource as a resource policy sees it, reports nothing unknown."""
    view = ResourceView(urn=f"urn:pulumi:s::p::{type_}::x", type=type_, name="x", props=props, protect=True)
    own_rules = [r.name for r in RULES if type_ in r.resource_types]
    assert own_rules
    assert evaluate([view], only=own_rules) == []
    known_bad = dataclasses.replace(view, props=_strip_unknown(props))
    assert evaluate([known_bad], only=own_rules), "the same resource with those values unset must fail"


def test_nsg_rules_not_known_yet_prove_no_lateral_path(base: Views):
    """A deny whose fields are still unknown may be the one the rule looks for: nothing is reported."""
    nsg = _one(base, _named(R.NSG, "access-network-nsg-agents"))
    blurred = [{**r, "sourceAddressPrefix": UNKNOWN} if r["name"] == "DenyVnetInbound" else r
               for r in nsg.props["securityRules"]]
    assert evaluate(changed(base, lambda r: r is nsg, securityRules=blurred), only=["no-lateral-from-vnet"]) == []
    known = [r for r in nsg.props["securityRules"] if r["name"] != "DenyVnetInbound"]
    assert evaluate(changed(base, lambda r: r is nsg, securityRules=known), only=["no-lateral-from-vnet"])


@pytest.mark.parametrize("settings", [UNKNOWN, {"ingestionAccessMode": UNKNOWN, "queryAccessMode": UNKNOWN},
                                      {"exclusions": UNKNOWN}])
def test_unknown_scope_access_modes_are_not_violations(settings):
    """Unset access modes are Azure's default, Open, which AML needs: only a known PrivateOnly is reported."""
    view = ResourceView(urn=f"urn:pulumi:s::p::{R.PRIVATE_LINK_SCOPE}::x", type=R.PRIVATE_LINK_SCOPE, name="x",
                        props={"accessModeSettings": settings})
    assert evaluate([view], only=["monitoring-private"]) == []
    closed = dataclasses.replace(view, props={"accessModeSettings": {"ingestionAccessMode": "PrivateOnly"}})
    assert evaluate([closed], only=["monitoring-private"]), "a known PrivateOnly mode must fail"


def test_two_unknown_names_are_not_the_same_name():
    """A zone group whose endpoint name is unknown must not be joined to an endpoint whose name is too."""
    pe = ResourceView(urn="urn:pe", type=R.PRIVATE_ENDPOINT, name="pe", props={
        "privateEndpointName": UNKNOWN,
        "privateLinkServiceConnections": [{"groupIds": ["vault"], "privateLinkServiceId": "/x/vaults/kv"}]})
    group = ResourceView(urn="urn:group", type=R.ZONE_GROUP, name="group", props={"privateEndpointName": UNKNOWN},
                         property_dependencies={"privateEndpointName": ("urn:other-pe",)})
    assert R.zone_groups_of([pe, group], pe) == []
    assert R._same(UNKNOWN, UNKNOWN) is False


# --------------------------------------------------------------------------------------------
# Hand-built cases the program does not declare
# --------------------------------------------------------------------------------------------
def _view(type_: str, name: str, props: dict, **kwargs: Any) -> ResourceView:
    return ResourceView(urn=f"urn:pulumi:s::p::{type_}::{name}", type=type_, name=name, props=props, **kwargs)


def test_standalone_subnet_needs_an_nsg_unless_azure_reserves_it():
    bare = _view(R.SUBNET, "training", {"subnetName": "snet-training", "addressPrefix": "10.0.0.0/24"})
    with_nsg = _view(R.SUBNET, "scoring", {"subnetName": "snet-scoring", "networkSecurityGroup": {"id": "/x/nsg"}})
    bastion = _view(R.SUBNET, "bastion", {"subnetName": "AzureBastionSubnet", "addressPrefix": "10.0.1.0/26"})
    [v] = evaluate([bare, with_nsg, bastion], only=["subnets-have-nsg"])
    assert v.urn == bare.urn and "snet-training" in v.message


def test_bastion_subnet_declared_as_its_own_resource_is_sized():
    small = _view(R.SUBNET, "bastion", {"subnetName": "AzureBastionSubnet", "addressPrefix": "10.0.1.0/27"})
    ok = dataclasses.replace(small, props={**small.props, "addressPrefix": "10.0.1.0/26"})
    assert evaluate([ok], only=["bastion-subnet"]) == []
    [v] = evaluate([small], only=["bastion-subnet"])
    assert "/26" in v.message


def test_bastion_outside_its_subnet_and_basic_sku():
    host = _view(R.BASTION, "bastion", {"sku": {"name": "Standard"}, "ipConfigurations": [
        {"subnet": {"id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v/subnets/AzureBastionSubnet"}}]})
    assert evaluate([host], only=["bastion-subnet"]) == []
    wrong = changed([host], lambda r: True, ipConfigurations=[{"subnet": {"id": "/x/virtualNetworks/v/subnets/snet-jump"}}],
                    sku__name="Basic")
    messages = [v.message for v in evaluate(wrong, only=["bastion-subnet"])]
    assert any("snet-jump" in m for m in messages) and any("'Basic'" in m for m in messages)


def test_zone_of_a_hub_is_named_by_its_id():
    """Zone groups may point at zones another stack owns (a hub): their names come from the ids."""
    hub_zone = "/subscriptions/s/resourceGroups/hub/providers/Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net"
    pe = _view(R.PRIVATE_ENDPOINT, "pe", {"privateEndpointName": "pe-kv", "privateLinkServiceConnections": [
        {"groupIds": ["vault"], "privateLinkServiceId": "/x/vaults/kv"}]})
    good = _view(R.ZONE_GROUP, "dns", {"privateEndpointName": "pe-kv", "privateDnsZoneConfigs": [
        {"name": "kv", "privateDnsZoneId": hub_zone}]})
    assert evaluate([pe, good], only=["private-endpoint-dns-complete"]) == []
    bad = changed([good], lambda r: True, privateDnsZoneConfigs=[{"name": "kv", "privateDnsZoneId": hub_zone.replace("vaultcore", "blob.core")}])
    [v] = evaluate([pe, *bad], only=["private-endpoint-dns-complete"])
    assert "privatelink.blob.core.azure.net" in v.message


def test_scoped_resource_not_known_yet_may_be_the_missing_one():
    """A scoped resource whose target and scope are both unknown could link the workspace: no verdict."""
    logs = _view(R.LOG_ANALYTICS, "logs", {"publicNetworkAccessForIngestion": "Disabled"})
    scoped = _view(R.SCOPED_RESOURCE, "scoped", {"scopeName": UNKNOWN, "linkedResourceId": UNKNOWN})
    assert evaluate([logs, scoped], only=["monitoring-in-private-link-scope"]) == []
    [v] = evaluate([logs], only=["monitoring-in-private-link-scope"])
    assert v.urn == logs.urn


def test_endpoint_with_two_group_ids_is_caught():
    pe = _view(R.PRIVATE_ENDPOINT, "pe", {"privateLinkServiceConnections": [{"groupIds": ["blob", "file"]}]})
    [v] = evaluate([pe], only=["private-endpoint-dns-complete"])
    assert "exactly one group id" in v.message


def test_windows_vm_and_password_are_caught():
    vm = _view(R.VM, "vm", {"osProfile": {"windowsConfiguration": {"provisionVMAgent": True}, "adminPassword": UNKNOWN}})
    messages = " ".join(rule_named("vm-ssh-keys-only").check_one(vm))  # type: ignore[misc]
    # A password computed from another resource (e.g. a generated one) is still a password.
    assert "Windows" in messages and "adminPassword" in messages


@pytest.mark.parametrize("port, caught", [("22", True), ("3389", True), ("20-30", True), ("*", True),
                                          ("443", False), ("not-a-port", False), ("8000-9000", False)])
def test_admin_port_ranges(port: str, caught: bool):
    nsg = _view(R.NSG, "nsg", {"securityRules": [{**INTERNET_SSH, "destinationPortRange": port}]})
    assert bool(evaluate([nsg], only=["no-internet-admin-ports"])) is caught


def test_admin_port_from_a_private_range_or_denied_is_fine():
    nsg = _view(R.NSG, "nsg", {"securityRules": [
        {**INTERNET_SSH, "sourceAddressPrefix": "10.11.0.0/26"},
        {**INTERNET_SSH, "access": "Deny"},
        {**INTERNET_SSH, "direction": "Outbound"},
    ]})
    assert evaluate([nsg], only=["no-internet-admin-ports"]) == []


def test_compute_subnet_that_does_not_exist_is_caught(base: Views):
    c = _one(base, _named(R.COMPUTE, "cluster-cpu-build-compute"))
    typo = changed(base, lambda r: r is c, properties__properties__subnet__id=(
        c.props["properties"]["properties"]["subnet"]["id"].replace("snet-training", "snet-trainig")))
    [v] = evaluate(typo, only=["compute-subnet-closed"])
    assert v.urn == c.urn and "snet-trainig" in v.message


def test_compute_in_a_vnet_outside_the_stack_is_not_judged(base: Views):
    outside = "/subscriptions/s/resourceGroups/hub/providers/Microsoft.Network/virtualNetworks/vnet-hub/subnets/snet-x"
    moved = changed(base, lambda r: r.type == R.COMPUTE, lambda r: dataclasses.replace(r, property_dependencies={}),
                    properties__properties__subnet__id=outside)
    assert evaluate(moved, only=["compute-subnet-closed"]) == []


def test_secret_rules_do_not_guess_where_secrets_are_hidden(base: Views):
    """CrossGuard unwraps secrets: with secrets_known False, neither secret rule may pass judgement."""
    hidden = [dataclasses.replace(r, secret_paths=(), secrets_known=False) for r in base]
    assert evaluate(hidden, only=[r.name for r in RULES if r.needs_secrets]) == []
    assert {r.name for r in RULES if r.needs_secrets} == {"no-secret-in-vm-boot-data", "key-vault-secret-is-secret",
                                                          "action-group-urls-carry-no-plain-credential"}


def test_physical_names_from_inputs_or_outputs():
    assert R.physical_name(_view(R.VNET, "v", {"virtualNetworkName": "vnet-a"})) == "vnet-a"
    assert R.physical_name(_view(R.VNET, "v", {"name": "vnet-b"})) == "vnet-b"  # a stack policy's outputs
    assert R.arm_segment("/s/x/providers/Microsoft.Network/virtualNetworks/v1/subnets/s1", "subnets") == "s1"
    assert R.arm_segment(UNKNOWN, "subnets") is None


# --------------------------------------------------------------------------------------------
# A rule without a source is a guess: each names where its Azure fact is documented
# --------------------------------------------------------------------------------------------
DOCUMENTATION_HOSTS = ("https://learn.microsoft.com/", "https://www.pulumi.com/docs/",
                       "https://github.com/Azure/azure-rest-api-specs/")


def undocumented(rules) -> list[str]:
    return [r.name for r in rules
            if not r.sources or not all(url.startswith(DOCUMENTATION_HOSTS) for url in r.sources)]


def test_every_rule_names_a_documented_source():
    assert undocumented(RULES) == []


def test_a_rule_without_a_source_is_caught():
    import dataclasses
    broken = [dataclasses.replace(RULES[0], sources=()),
              dataclasses.replace(RULES[1], sources=("https://example.com/blog",))]
    assert undocumented(broken) == [RULES[0].name, RULES[1].name]
