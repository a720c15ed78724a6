"""Rules for private serving (compute/serving.py): the AKS cluster stays private and the Azure ML
extension's router stays internal and HTTPS. Registered into `RULES` on import (its line in
policy/rules/__init__.py), like every other module of rules.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

from isolated_mlops.components.catalogue import AKS, K8S_EXTENSION
from isolated_mlops.policy.rules.base import UNKNOWN, ResourceView, resource_rule, rule
from isolated_mlops.policy.rules.helpers import _is_true, _mappings, _not_exactly, _of_type, _vnet_of_subnet_id

AZUREML_EXTENSION_TYPE = "microsoft.azureml.kubernetes"

_LEARN = "https://learn.microsoft.com/azure/"
DOC_AKS_PRIVATE = _LEARN + "aks/private-clusters"
DOC_AKS_AZURE_RBAC = _LEARN + "aks/manage-azure-rbac"
DOC_ML_SECURE_AKS = _LEARN + "machine-learning/how-to-secure-kubernetes-inferencing-environment"
DOC_ML_EXTENSION = _LEARN + "machine-learning/how-to-deploy-kubernetes-extension"
DOC_ML_K8S_TLS = _LEARN + "machine-learning/how-to-secure-kubernetes-online-endpoint"


def aks_linked_vnets(resources: Sequence[ResourceView], zone: ResourceView) -> set[str]:
    """The VNets AKS links `zone` to by itself: a private cluster with a custom API server zone links it
    to the VNet of its first node pool's subnet, where it puts the API server's private endpoint
    (https://learn.microsoft.com/azure/aks/private-clusters: "AKS still creates a virtual network link
    for the spoke VNet that hosts the cluster"). The program links the zone only to the other VNets, so
    the two links cannot collide; `zone-linked-to-every-vnet` counts these as linked."""
    linked: set[str] = set()
    for cluster in _of_type(resources, AKS):
        if zone.urn not in cluster.refs("apiServerAccessProfile"):
            continue
        for pool in _mappings(cluster.prop("agentPoolProfiles"))[:1]:
            vnet = _vnet_of_subnet_id(resources, cluster, "agentPoolProfiles", pool.get("vnetSubnetID"))
            if vnet is not None:
                linked.add(vnet.urn)
    return linked


def _false_text(value: Any) -> bool:
    """An extension setting is a string; `"false"`/`False` in any case."""
    return str(value).strip().lower() == "false"


def _true_text(value: Any) -> bool:
    return str(value).strip().lower() == "true"


@resource_rule("aks-private-api-server", "AKS: a private cluster (API server on a private endpoint) with no public "
               "FQDN (Azure ML does not support one with a private cluster), a private DNS zone for the API server, "
               "and no node public IPs.", AKS, sources=[DOC_AKS_PRIVATE, f"{DOC_ML_SECURE_AKS}#limitations"])
def _aks_private(r: ResourceView) -> Iterator[str]:
    if _not_exactly(r.prop("apiServerAccessProfile.enablePrivateCluster"), True):
        yield "set apiServerAccessProfile.enablePrivateCluster to true: the API server must have a private address only"
    if _not_exactly(r.prop("apiServerAccessProfile.enablePrivateClusterPublicFQDN"), False):
        yield ("set apiServerAccessProfile.enablePrivateClusterPublicFQDN to false: Azure ML does not support a "
               "public FQDN with a private AKS cluster, and it publishes the API server's name in public DNS")
    zone = r.prop("apiServerAccessProfile.privateDNSZone")
    if isinstance(zone, str) and zone.lower() == "none":
        yield ("apiServerAccessProfile.privateDNSZone is 'none': the nodes would resolve the API server through the "
               "public FQDN; use 'system' or a privatelink.<region>.azmk8s.io zone")
    for pool in _mappings(r.prop("agentPoolProfiles")):
        if _is_true(pool.get("enableNodePublicIP")):
            yield f"node pool {pool.get('name')!r} gives its nodes public IPs; set enableNodePublicIP to false"


@rule("aks-entra-id-authorization", "AKS: Entra ID sign-in with Azure RBAC for Kubernetes authorization; local "
      "accounts stay enabled on a cluster with the Azure ML extension, which does not support disabling them.",
      sources=(DOC_AKS_AZURE_RBAC, f"{DOC_ML_EXTENSION}#limitations"))
def _aks_entra(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    with_azureml = {cluster for ext in _of_type(resources, K8S_EXTENSION) if _is_azureml(ext)
                    for cluster in ext.refs("clusterName")}
    for r in _of_type(resources, AKS):
        if _not_exactly(r.prop("aadProfile.managed"), True) or _not_exactly(r.prop("aadProfile.enableAzureRBAC"), True):
            yield r.urn, ("set aadProfile.managed and aadProfile.enableAzureRBAC to true: users sign in with Entra ID "
                          "and Azure role assignments decide what they may do in the cluster")
        if r.urn in with_azureml and _is_true(r.prop("disableLocalAccounts")):
            yield r.urn, ("disableLocalAccounts is true on a cluster with the Azure ML extension, which Azure ML does "
                          "not support: set it to false (the API server stays private)")


def _is_azureml(ext: ResourceView) -> bool:
    kind = ext.prop("extensionType")
    return isinstance(kind, str) and kind.lower() == AZUREML_EXTENSION_TYPE


@resource_rule("azureml-extension-internal-https", "Azure ML extension: inference router behind an internal load "
               "balancer (or a cluster-only service), HTTPS only (allowInsecureConnections false) with its TLS name "
               "(sslCname).", K8S_EXTENSION, sources=[f"{DOC_ML_EXTENSION}#review-azure-machine-learning-extension-"
                                                      "configuration-settings", DOC_ML_K8S_TLS])
def _azureml_extension(r: ResourceView) -> Iterator[str]:
    if not _is_azureml(r):
        return
    settings = r.prop("configurationSettings") or {}
    if not isinstance(settings, dict) or not _true_text(settings.get("enableInference", "false")):
        return
    service = str(settings.get("inferenceRouterServiceType", "")).lower()
    if service == "loadbalancer":
        internal = str(settings.get("internalLoadBalancerProvider", "")).lower() == "azure" and \
            _true_text(settings.get("scoringFe.serviceType.internalLoadBalancer", "false"))
        if not internal:
            yield ("inferenceRouterServiceType LoadBalancer without internalLoadBalancerProvider=azure and "
                   "scoringFe.serviceType.internalLoadBalancer=true puts the router on a public load balancer; "
                   "set both (the CLI sets the second from the first)")
    elif service not in ("clusterip", "nodeport"):
        yield (f"inferenceRouterServiceType is {settings.get('inferenceRouterServiceType')!r}; use LoadBalancer with "
               "the internal provider (or ClusterIP/NodePort behind your own internal ingress)")
    insecure = settings.get("allowInsecureConnections", "false")
    if not _false_text(insecure):
        yield ("allowInsecureConnections is not false: the router would serve plain HTTP, which Microsoft "
               "recommends only for development or testing; give it a certificate (sslCname and the protected "
               "scoringFe.sslCert/sslKey)")
    elif (cname := settings.get("sslCname")) is not UNKNOWN and (not isinstance(cname, str) or not cname.strip()):
        yield "set sslCname: the host name the router's TLS certificate is issued for"
