"""Private serving (compute/serving.py): what prod builds, what dev leaves out, the stack file's checks,
the serving alerts, and the rules that keep it private, each with a case that must fail."""

from __future__ import annotations

import base64
import copy
import dataclasses
from typing import Any, Callable

import pytest

from isolated_mlops.compute.serving import AKS_LOG_CATEGORIES, EXTENSION_TYPE, extension_settings
from isolated_mlops.components.roles import ACR_PULL, NETWORK_CONTRIBUTOR, PRIVATE_DNS_ZONE_CONTRIBUTOR
from isolated_mlops.components.serving_config import SURGE_NODES, ServingConfig
from isolated_mlops.components import catalogue
from isolated_mlops.policy.rules import serving as S
from isolated_mlops.policy.rules import ResourceView, evaluate
from isolated_mlops.workspace.alerts import serving_error_query, serving_latency_query
from offline.engine import SECRET_PLACEHOLDER, StackRun
from tests.helpers import DELETE, changed, run_views, violations
from tests.test_config_validation import TLS_ONLY, _all, _delete, _set, at, check, problems_of

AKS, EXTENSION, NAMESPACE = catalogue.AKS, catalogue.K8S_EXTENSION, catalogue.AKS_NAMESPACE
COMPUTE, ROLE, QUERY_RULE = catalogue.COMPUTE, catalogue.ROLE_ASSIGNMENT, catalogue.SCHEDULED_QUERY_RULE
SERVING_RULES = ("aks-private-api-server", "aks-entra-id-authorization", "azureml-extension-internal-https")


def _only(run: StackRun, type_: str) -> Any:
    [found] = [r for r in run.custom_resources() if r.type == type_]
    return found


# ---- What prod builds ------------------------------------------------------------------------
def test_prod_cluster_is_private_in_the_scoring_subnet(prod: StackRun):
    cluster = _only(prod, AKS)
    access = cluster.input("apiServerAccessProfile")
    assert access["enablePrivateCluster"] is True and access["enablePrivateClusterPublicFQDN"] is False
    assert access["privateDNSZone"].endswith("/privateDnsZones/privatelink.westeurope.azmk8s.io")
    [pool] = cluster.input("agentPoolProfiles")
    assert pool["vnetSubnetID"].endswith("/subnets/snet-scoring")
    assert (pool["minCount"], pool["maxCount"], pool["maxPods"], pool["vmSize"]) == (3, 5, 30, "Standard_D4s_v5")
    assert pool["enableAutoScaling"] is True and pool["enableNodePublicIP"] is False
    # One surge node, the one the subnet capacity check counts; unset, AKS surges 10% of the pool.
    assert pool["upgradeSettings"] == {"maxSurge": str(SURGE_NODES)} and SURGE_NODES == 1
    network = cluster.input("networkProfile")
    assert network["networkPlugin"] == "azure" and network["outboundType"] == "userAssignedNATGateway"
    aad = cluster.input("aadProfile")
    assert aad["managed"] is True and aad["enableAzureRBAC"] is True
    # Azure ML does not support disabling local accounts (how-to-deploy-kubernetes-extension#limitations).
    assert cluster.input("disableLocalAccounts") is False
    assert cluster.input("sku") == {"name": "Base", "tier": "Standard"}


def test_extension_is_inference_only_internal_and_https(prod: StackRun):
    ext = _only(prod, EXTENSION)
    assert ext.input("extensionType") == EXTENSION_TYPE and ext.input("scope") == {"cluster": {"releaseNamespace": "azureml"}}
    settings = ext.input("configurationSettings")
    assert settings["enableInference"] == "true" and settings["enableTraining"] == "false"
    assert settings["internalLoadBalancerProvider"] == "azure"
    assert settings["scoringFe.serviceType.internalLoadBalancer"] == "true"
    assert settings["allowInsecureConnections"] == "false" and settings["sslCname"] == "scoring.ml.contoso.com"
    # The certificate and key travel base64-encoded, as protected settings, and stay Pulumi secrets.
    protected = ext.input("configurationProtectedSettings")
    assert base64.b64decode(protected["scoringFe.sslCert"]).decode() == SECRET_PLACEHOLDER
    [view] = [v for v in run_views(prod) if v.type == EXTENSION]
    assert "configurationProtectedSettings" in view.secret_paths


def test_router_ha_follows_the_node_count():
    assert ServingConfig(enabled=True, min_nodes=3, max_nodes=5).router_ha is True
    assert ServingConfig(enabled=True, min_nodes=1, max_nodes=5).router_ha is False
    small = extension_settings("id", "n", "westeurope", "a.b.com", False)
    assert (small["inferenceRouterHA"], small["clusterPurpose"]) == ("false", "DevTest")
    large = extension_settings("id", "n", "westeurope", "a.b.com", True)
    assert (large["inferenceRouterHA"], large["clusterPurpose"]) == ("true", "FastProd")


def test_compute_attaches_the_cluster_in_its_own_namespace(prod: StackRun):
    compute = next(r for r in prod.custom_resources() if r.type == COMPUTE and r.input("properties")["computeType"] == "Kubernetes")
    cluster, namespace = _only(prod, AKS), _only(prod, NAMESPACE)
    assert compute.input("computeName") == "aks-scoring"
    assert compute.input("properties")["properties"] == {"namespace": "models"}
    assert namespace.input("managedNamespaceName") == "models"
    # The router (namespace azureml) reaches the model pods: ingress AllowAll, not AllowSameNamespace.
    assert namespace.input("properties")["defaultNetworkPolicy"] == {"ingress": "AllowAll", "egress": "AllowAll"}
    assert compute.input("properties")["resourceId"] == cluster.id
    assert compute.input("identity")["userAssignedIdentities"][0].endswith("/id-clusters-mlops-prod")


def test_roles_the_docs_require(prod: StackRun):
    roles = {(r.input("roleDefinitionId").rsplit("/", 1)[1], r.name) for r in prod.custom_resources() if r.type == ROLE}
    assert (NETWORK_CONTRIBUTOR.id, "serving-network-contributor") in roles
    assert (PRIVATE_DNS_ZONE_CONTRIBUTOR.id, "serving-dns-contributor") in roles
    assert (ACR_PULL.id, "serving-kubelet-acr-pull") in roles
    kubelet = next(r for r in prod.custom_resources() if r.name == "serving-kubelet-acr-pull")
    assert kubelet.input("principalId"), "the kubelet identity's object id must reach the role assignment"


def test_cluster_logs_go_to_log_analytics(prod: StackRun):
    [setting] = [r for r in prod.custom_resources() if r.name == "serving-cluster-diagnostics"]
    assert setting.input("resourceUri") == _only(prod, AKS).id
    assert [log["category"] for log in setting.input("logs")] == list(AKS_LOG_CATEGORIES)


def test_a_cluster_without_its_diagnostic_setting_is_caught(base):
    assert violations(base, "diagnostics-to-log-analytics") == []
    [violation] = violations([r for r in base if r.name != "serving-cluster-diagnostics"], "diagnostics-to-log-analytics")
    assert violation.urn == next(r.urn for r in base if r.type == AKS)


def test_scoring_subnet_admits_https_from_jump_host_and_agents_only(prod: StackRun, dev: StackRun):
    def rules(run: StackRun) -> set[str]:
        nsg = next(r for r in run.custom_resources() if r.type == catalogue.NSG
                   and "scoring" in r.input("networkSecurityGroupName"))
        return {rule["name"] for rule in nsg.input("securityRules") if rule["name"].startswith("AllowHttps")}
    assert rules(prod) == {"AllowHttpsFromJumpHost", "AllowHttpsFromAgents"}
    assert rules(dev) == set(), "dev serves nothing: the scoring subnet stays closed"
    # AKS does not support blocking traffic inside its subnet (nodes, pods, the API server's endpoint),
    # and the internal load balancer's health probes come from AzureLoadBalancer (outbound-rules-control-egress).
    nsg = next(r for r in prod.custom_resources() if r.type == catalogue.NSG
               and "scoring" in r.input("networkSecurityGroupName"))
    by_name = {rule["name"]: rule for rule in nsg.input("securityRules")}
    within = by_name["AllowWithinSubnet"]
    assert within["sourceAddressPrefix"] == within["destinationAddressPrefix"] and within["access"] == "Allow"
    assert by_name["AllowAzureLoadBalancerInbound"]["sourceAddressPrefix"] == "AzureLoadBalancer"
    assert within["priority"] < by_name["DenyVnetInbound"]["priority"]


def test_dev_builds_no_serving(dev: StackRun):
    types = {r.type for r in dev.custom_resources()}
    assert not types & {AKS, EXTENSION, NAMESPACE}
    assert not [r for r in dev.custom_resources() if r.type == QUERY_RULE and "serving" in r.name]


# ---- Serving alerts --------------------------------------------------------------------------
def test_serving_alerts_read_app_insights_requests_with_the_stack_thresholds(prod: StackRun):
    rules = {r.name: r for r in prod.custom_resources() if r.type == QUERY_RULE and "serving" in r.name}
    assert set(rules) == {"alerts-serving-latency", "alerts-serving-errors"}
    app_insights = next(r for r in prod.custom_resources() if r.type == catalogue.APP_INSIGHTS)
    notify = next(r for r in prod.custom_resources() if r.name == "alerts-notify")
    for rule in rules.values():
        assert rule.input("scopes") == [app_insights.id]
        assert rule.input("actions")["actionGroups"] == [notify.id], "a slow model is for people, not for retraining"
    assert "p95 > 1000" in rules["alerts-serving-latency"].input("criteria")["allOf"][0]["query"]
    assert "> 5.0" in rules["alerts-serving-errors"].input("criteria")["allOf"][0]["query"]


def test_serving_queries_fire_only_above_the_threshold():
    assert serving_latency_query(250).endswith("p95 > 250")
    assert "countif(success == false)" in serving_error_query(2.5) and serving_error_query(2.5).endswith("> 2.5")


@pytest.mark.parametrize("key, value, words", [
    ("servingLatencyMs", 0, "must be at least 1"),
    ("servingErrorRatePercent", 150, "must be a percentage"),
    ("servingErrorRatePercent", "lots", "must be a percentage"),
])
def test_bad_serving_thresholds_are_refused(key: str, value: Any, words: str):
    problems = problems_of(_set(f"alerts.thresholds.{key}", value))
    [problem] = at(problems, f"alerts.thresholds.{key}")
    assert words in problem


# ---- The stack file's checks -----------------------------------------------------------------
SERVING_CASES: list[tuple[str, Callable[[dict[str, Any]], Any], str, str]] = [
    ("small-vm", _set("serving.vmSize", "Standard_D2s_v5"), "serving.vmSize", "at least 4 vCPUs"),
    ("retired-vm", _set("serving.vmSize", "Standard_DS3_v2"), "serving.vmSize", "DS3_v2"),
    ("min-above-max", _set("serving.minNodes", 6), "serving.minNodes", "above maxNodes"),
    ("bad-tier", _set("serving.tier", "Gold"), "serving.tier", "must be one of Free, Standard"),
    ("system-namespace", _set("serving.namespace", "kube-system"), "serving.namespace", "system namespace"),
    ("service-cidr-overlaps", _all(_set("serving.serviceCidr", "10.11.0.0/16"), _set("serving.dnsServiceIp", "10.11.0.10")),
     "serving.serviceCidr", "overlaps the VNet address space 10.11.0.0/16"),
    ("dns-ip-outside", _set("serving.dnsServiceIp", "192.168.0.10"), "serving.dnsServiceIp", "inside serviceCidr"),
    ("no-cname", _delete("serving.tlsCname"), "serving.tlsCname", "is required"),
    ("unknown-key", _set("serving.maxPodPerNode", 30), "serving.maxPodPerNode", "did you mean 'maxPodsPerNode'?"),
    ("subnet-too-small", _set("network.amlVnet.subnets.scoring", "10.10.8.0/26"), "network.amlVnet.subnets.scoring",
     "too small for the serving cluster"),
    ("too-many-pods", _set("serving.maxPodsPerNode", 60), "network.amlVnet.subnets.scoring", "Azure CNI"),
]


@pytest.mark.parametrize("change, path, words", [c[1:] for c in SERVING_CASES], ids=[c[0] for c in SERVING_CASES])
def test_bad_serving_config_is_refused_in_one_line(change, path: str, words: str):
    problems = problems_of(change)
    named = at(problems, path)
    assert named and any(words in p for p in named), problems
    assert len(problems) == 1, problems


def test_serving_needs_its_tls_secrets():
    problems = problems_of(lambda v: None, secrets={"agentRegistrationToken": SECRET_PLACEHOLDER})
    assert [p.split(":")[1] for p in problems] == ["servingTlsCertificate", "servingTlsKey"]
    # Off: nothing to serve, nothing required (the negative control).
    config, problems = check(_set("serving.enabled", False), secrets={"agentRegistrationToken": SECRET_PLACEHOLDER})
    assert problems == [] and config is not None and not config.serving.enabled


@pytest.mark.parametrize("key, value, words", [
    ("servingTlsKey", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nabc\n", "passphrase"),
    ("servingTlsCertificate", "-----BEGIN PRIVATE KEY-----\nabc\n", "holds a private key"),
])
def test_wrong_tls_material_is_refused_without_showing_it(key: str, value: str, words: str):
    problems = problems_of(lambda v: None, secrets={"agentRegistrationToken": SECRET_PLACEHOLDER, **TLS_ONLY, key: value})
    [problem] = at(problems, key)
    assert words in problem and "abc" not in problem


def test_tls_key_in_plain_text_is_refused():
    problems = problems_of(_set("servingTlsKey", "-----BEGIN PRIVATE KEY-----"),
                           secrets={"agentRegistrationToken": SECRET_PLACEHOLDER, "servingTlsCertificate": "x"})
    assert "plain text" in at(problems, "servingTlsKey")[0]


def test_capacity_counts_every_pod_address():
    config = ServingConfig(enabled=True, min_nodes=3, max_nodes=5, max_pods=30)
    # (5 + 1) nodes + (5 + 1) * 30 pods + the internal load balancer + the API server's endpoint.
    assert config.subnet_addresses == 6 + 180 + 2


# ---- The rules, each able to fail ------------------------------------------------------------
@pytest.fixture(scope="module")
def base(prod: StackRun) -> list[ResourceView]:
    return run_views(prod)


def _is(type_: str) -> Callable[[ResourceView], bool]:
    return lambda r: r.type == type_


@pytest.mark.parametrize("rule", SERVING_RULES)
def test_serving_rules_pass_on_prod(base, rule: str):
    assert violations(base, rule) == []


@pytest.mark.parametrize("rule, type_, props, words", [
    ("aks-private-api-server", AKS, {"apiServerAccessProfile__enablePrivateCluster": False}, "enablePrivateCluster"),
    ("aks-private-api-server", AKS, {"apiServerAccessProfile__enablePrivateClusterPublicFQDN": True}, "public FQDN"),
    ("aks-private-api-server", AKS, {"apiServerAccessProfile__privateDNSZone": "none"}, "'none'"),
    ("aks-private-api-server", AKS, {"apiServerAccessProfile": DELETE}, "enablePrivateCluster"),
    ("aks-entra-id-authorization", AKS, {"aadProfile__enableAzureRBAC": False}, "enableAzureRBAC"),
    ("aks-entra-id-authorization", AKS, {"disableLocalAccounts": True}, "does not support"),
    ("azureml-extension-internal-https", EXTENSION, {"configurationSettings__allowInsecureConnections": "True"}, "plain HTTP"),
    ("azureml-extension-internal-https", EXTENSION, {"configurationSettings__internalLoadBalancerProvider": DELETE}, "public load balancer"),
    ("azureml-extension-internal-https", EXTENSION, {"configurationSettings__inferenceRouterServiceType": "Ingress"}, "Ingress"),
    ("azureml-extension-internal-https", EXTENSION, {"configurationSettings__sslCname": ""}, "sslCname"),
])
def test_serving_rule_catches(base, rule: str, type_: str, props: dict[str, Any], words: str):
    found = violations(changed(base, _is(type_), **props), rule)
    assert found and any(words in v.message for v in found), found
    assert {v.urn for v in found} == {r.urn for r in base if r.type == type_}


def test_node_public_ip_is_caught(base):
    def public_nodes(r: ResourceView) -> ResourceView:
        pools = copy.deepcopy(r.props["agentPoolProfiles"])
        pools[0]["enableNodePublicIP"] = True
        return dataclasses.replace(r, props={**r.props, "agentPoolProfiles": pools})
    [violation] = violations(changed(base, _is(AKS), public_nodes), "aks-private-api-server")
    assert "public IPs" in violation.message


def test_local_accounts_may_be_disabled_without_the_azureml_extension(base):
    """The local-accounts check is about Azure ML's limitation only: no extension, no finding."""
    no_extension = [r for r in base if r.type != EXTENSION]
    assert violations(changed(no_extension, _is(AKS), disableLocalAccounts=True), "aks-entra-id-authorization") == []


def test_aks_api_zone_counts_as_linked_only_through_its_cluster(base):
    """AKS links its API zone to the cluster's VNet itself; without the cluster that link is missing."""
    assert violations(base, "zone-linked-to-every-vnet") == []
    no_cluster = [r for r in base if r.type != AKS]
    [violation] = violations(no_cluster, "zone-linked-to-every-vnet")
    assert "azmk8s.io" in violation.message and "vnet-aml" in violation.message


def test_rules_see_the_extension_settings_in_a_preview(base):
    """The cluster id is unknown in a preview; the other settings, which the rules read, are known."""
    [ext] = [r for r in base if r.type == EXTENSION]
    assert isinstance(ext.prop("configurationSettings"), dict)
    assert S.AZUREML_EXTENSION_TYPE == EXTENSION_TYPE.lower()
    assert evaluate(base, only=list(SERVING_RULES)) == []
