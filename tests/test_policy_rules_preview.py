"""The policy rules, continued (tests/test_policy_rules.py has each rule's compliant and violating
case): no rule reports what a first preview cannot know yet, hand-built views cover what the program
never declares (standalone subnets and security rules, zones of a hub, Windows VMs, ...), and every
rule names a documented source.
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
