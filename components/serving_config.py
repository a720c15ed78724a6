"""Stack file `serving`: private model serving on AKS with the Azure ML extension (compute/serving.py).

Read by components/config.py like the other sections (one line per problem, naming the key), kept in
its own module so the configuration reader stays under 500 lines. README "Private serving" says why
serving is AKS in the scoring subnet and not a managed online endpoint.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Protocol, Sequence


# What this module uses of components/config_reader.py's Problems and Reader, as protocols: the
# config modules import this one (its dataclass is part of PlatformConfig), so it imports none of them.
class _Problems(Protocol):
    def add(self, path: str, message: str) -> None: ...

    def at(self, path: str) -> bool: ...


class _Reader(Protocol):
    path: str
    values: Mapping[str, Any]

    def unknown_keys(self, known: Sequence[str]) -> None: ...

    def is_secret(self, key: str) -> bool: ...

    def boolean(self, key: str, default: Any = ...) -> bool: ...

    def integer(self, key: str, default: Any = ..., minimum: Optional[int] = None,
                maximum: Optional[int] = None) -> int: ...

    def string(self, key: str, default: Any = ..., pattern: Optional[str] = None, pattern_help: str = "",
               choices: Sequence[str] = ()) -> str: ...

    def cidr(self, key: str) -> Optional[ipaddress.IPv4Network]: ...

SERVING_KEYS = ("enabled", "tier", "vmSize", "minNodes", "maxNodes", "maxPodsPerNode", "namespace", "computeName",
                "tlsCname", "serviceCidr", "dnsServiceIp")
# The TLS certificate and key of the inference router: PEM, secrets only (`pulumi config set --secret`).
TLS_CERTIFICATE_KEY = "servingTlsCertificate"
TLS_KEY_KEY = "servingTlsKey"
TLS_SECRET_KEYS = (TLS_CERTIFICATE_KEY, TLS_KEY_KEY)

# AKS control plane tiers: Free (no SLA; Microsoft: "Not recommended for production use cases") and
# Standard (uptime SLA, billed per cluster hour) ("Free, Standard, and Premium pricing tiers for AKS
# cluster management": https://learn.microsoft.com/azure/aks/free-standard-pricing-tiers). Premium adds
# long-term support only, not needed here.
TIERS = ("Free", "Standard")
# Azure CNI (the flat network: pods take VNet addresses from the node subnet) defaults to 30 pods per
# node when no maximum is given, and accepts 10 to 250 (Microsoft Learn, "IP address planning for your
# clusters", Maximum pods per node: https://learn.microsoft.com/azure/aks/concepts-network-ip-address-planning).
# The program always sets it, so the subnet check below counts what the nodes will really reserve.
DEFAULT_MAX_PODS = 30
MAX_PODS_RANGE = (10, 250)
# "For production purposes, the Kubernetes cluster must have a minimum of 4 vCPU cores and 14-GB memory"
# (https://learn.microsoft.com/azure/machine-learning/how-to-deploy-kubernetes-extension#prerequisites);
# the extension's inference router runs three replicas (inferenceRouterHA) on three nodes or more.
MIN_VCPUS = 4
ROUTER_HA_NODES = 3
# AKS's own defaults for the Kubernetes service range and the cluster DNS address; the range must not
# overlap any network the cluster's VNet reaches (same page, Kubernetes service address range).
DEFAULT_SERVICE_CIDR = "10.0.0.0/16"
DEFAULT_DNS_SERVICE_IP = "10.0.0.10"
# Kubernetes namespace names are DNS labels (RFC 1123); AKS refuses system namespaces as managed namespaces.
NAMESPACE_PATTERN = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease", "azureml",
                               "app-routing-system", "istio-system", "gatekeeper-system"})
# What the subnet holds besides nodes and pods: the internal load balancer's frontend address
# (allocated from the cluster subnet: concepts-network-ip-address-planning) and the private endpoint
# of the API server, which AKS puts in the subnet of the first node pool
# (https://learn.microsoft.com/azure/aks/private-clusters).
EXTRA_SUBNET_ADDRESSES = 2
# Nodes AKS adds during an upgrade (the node pool's upgradeSettings.maxSurge, which compute/serving.py
# sets to this number). Microsoft's subnet formula counts them: "(number of nodes + max surge nodes) +
# ((number of nodes + max surge nodes) * maximum pods per node)" (IP address planning). Left unset, the
# surge is a share of the pool ("If not specified, the default is 10%": the azure-native SDK's
# AgentPoolUpgradeSettings.max_surge, from the AKS REST spec), more than one node above 10 nodes, which
# the capacity check would not count.
SURGE_NODES = 1


@dataclass(frozen=True)
class ServingConfig:
    """`serving`: whether the stack builds the private AKS cluster, and its size."""

    enabled: bool = False
    tier: str = "Free"
    vm_size: str = ""
    min_nodes: int = 0
    max_nodes: int = 0
    max_pods: int = DEFAULT_MAX_PODS
    namespace: str = "models"
    """The Kubernetes namespace the Azure ML compute deploys models into (created as an AKS managed namespace)."""
    compute_name: str = "aks-scoring"
    """The attached compute's name in the workspace: `compute: azureml:<name>` in ml/aml/k8s-*.yml."""
    tls_cname: str = ""
    """The host name clients call; the TLS certificate is issued for it (README "Private serving")."""
    service_cidr: str = DEFAULT_SERVICE_CIDR
    dns_service_ip: str = DEFAULT_DNS_SERVICE_IP

    @property
    def subnet_addresses(self) -> int:
        """Addresses the cluster takes in its subnet at maxNodes: one per node and maxPods per node, with
        the upgrade's surge node, `(nodes + 1) + (nodes + 1) * maxPods` (Microsoft Learn, "IP address
        planning for your clusters"; SURGE_NODES), plus the internal load balancer and the API server's endpoint."""
        nodes = self.max_nodes + SURGE_NODES
        return nodes + nodes * self.max_pods + EXTRA_SUBNET_ADDRESSES

    @property
    def router_ha(self) -> bool:
        """Three inference router replicas need three nodes; below that the extension wants inferenceRouterHA false."""
        return self.min_nodes >= ROUTER_HA_NODES


def read_serving(reader: _Reader, problems: _Problems, vnet_spaces: list[Optional[ipaddress.IPv4Network]],
                 cloud: str) -> ServingConfig:
    """`serving` from the stack file; problems are added, never raised."""
    path = reader.path
    reader.unknown_keys(SERVING_KEYS)
    enabled = reader.boolean("enabled", default=False)
    if not enabled:
        return ServingConfig(enabled=False)
    tier = reader.string("tier", default="Free", choices=TIERS)
    vm_size = reader.string("vmSize", pattern=r"Standard_[A-Za-z0-9_-]+",
                            pattern_help="must be an Azure VM size such as Standard_D4s_v5")
    min_nodes = reader.integer("minNodes", default=ROUTER_HA_NODES, minimum=1)
    max_nodes = reader.integer("maxNodes", minimum=1, maximum=100)
    if not problems.at(f"{path}.minNodes") and not problems.at(f"{path}.maxNodes") and min_nodes > max_nodes:
        problems.add(f"{path}.minNodes", f"{min_nodes} is above maxNodes ({max_nodes}): the autoscaler keeps between "
                     "minNodes and maxNodes nodes; lower minNodes or raise maxNodes")
    max_pods = reader.integer("maxPodsPerNode", default=DEFAULT_MAX_PODS, minimum=MAX_PODS_RANGE[0],
                              maximum=MAX_PODS_RANGE[1])
    namespace = reader.string("namespace", default="models", pattern=NAMESPACE_PATTERN,
                              pattern_help="must be a Kubernetes namespace name (lowercase letters, digits and '-')")
    if namespace in SYSTEM_NAMESPACES:
        problems.add(f"{path}.namespace", f"{namespace!r} is a system namespace; choose one for the models "
                     "alone, such as 'models'")
    compute_name = reader.string("computeName", default="aks-scoring", pattern=r"[A-Za-z][A-Za-z0-9-]{1,15}",
                                 pattern_help="must be 2-16 letters, digits and '-', starting with a letter "
                                              "(an Azure ML compute name)")
    # HTTPS is the extension's default and the only way this program deploys it: with
    # allowInsecureConnections the router serves plain HTTP, which Microsoft recommends "only for
    # development or testing purposes" (how-to-secure-kubernetes-online-endpoint).
    tls_cname = reader.string("tlsCname", pattern=r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
                              pattern_help="must be the lowercase host name clients call (the TLS certificate's "
                                           "name), such as scoring.ml.contoso.com")
    service_cidr = reader.cidr("serviceCidr") if "serviceCidr" in reader.values else \
        ipaddress.IPv4Network(DEFAULT_SERVICE_CIDR)
    dns_ip_text = reader.string("dnsServiceIp", default=DEFAULT_DNS_SERVICE_IP)
    if service_cidr is not None:
        for space in vnet_spaces:
            if space is not None and service_cidr.overlaps(space):
                problems.add(f"{path}.serviceCidr", f"{service_cidr} overlaps the VNet address space {space}: "
                             "Kubernetes service addresses must not be used by any network the cluster reaches; "
                             "choose an unused range such as 172.16.0.0/16")
        try:
            dns_ip = ipaddress.IPv4Address(dns_ip_text)
            if dns_ip not in service_cidr or dns_ip == service_cidr.network_address + 1 or dns_ip == service_cidr.network_address:
                problems.add(f"{path}.dnsServiceIp", f"{dns_ip_text} must be inside serviceCidr {service_cidr} and not "
                             "its first addresses (Kubernetes takes the first for the API service), e.g. the .10 address")
        except ValueError:
            problems.add(f"{path}.dnsServiceIp", f"{dns_ip_text!r} is not an IPv4 address such as 10.0.0.10")
    if cloud != "AzureCloud" and not problems.at("cloud"):
        # The private API server's zone is privatelink.<region>.azmk8s.io in Azure's public cloud; the
        # other clouds use other zones (https://learn.microsoft.com/azure/private-link/private-endpoint-dns),
        # which compute/serving.py does not know yet.
        problems.add(f"{path}.enabled", f"private serving is built for AzureCloud only, not {cloud}; "
                     "set serving.enabled: false")
    return ServingConfig(enabled=True, tier=tier, vm_size=vm_size, min_nodes=min_nodes, max_nodes=max_nodes, max_pods=max_pods,
                         namespace=namespace, compute_name=compute_name, tls_cname=tls_cname,
                         service_cidr=str(service_cidr) if service_cidr else DEFAULT_SERVICE_CIDR,
                         dns_service_ip=dns_ip_text)


def check_tls_secrets(reader: _Reader, problems: _Problems, serving: ServingConfig) -> None:
    """The router's certificate and key: secrets, PEM, the key without a passphrase (the extension
    refuses one: how-to-secure-kubernetes-online-endpoint). Values are never shown."""
    for key in TLS_SECRET_KEYS:
        value = reader.values.get(key)
        how = f"set it with `pulumi config set --secret isolated-mlops:{key} < file.pem`"
        if value is None:
            if serving.enabled:
                problems.add(key, f"is required when serving.enabled is true (the inference router serves HTTPS "
                             f"only); {how}")
            continue
        if not reader.is_secret(key):
            problems.add(key, f"is stored in plain text; remove it from the stack file and {how}")
            continue
        text = value if isinstance(value, str) else ""
        if not text.strip():
            problems.add(key, f"is empty; {how}")
        elif key == TLS_CERTIFICATE_KEY and "PRIVATE KEY" in text:
            problems.add(key, "holds a private key; give the certificate (with its chain) here and the key in "
                         f"{TLS_KEY_KEY}")
        elif key == TLS_KEY_KEY and re.search(r"ENCRYPTED|Proc-Type: 4,ENCRYPTED", text):
            problems.add(key, "is protected by a passphrase, which the Azure ML extension does not support; "
                         "give the unencrypted PEM key (it is stored only as a Pulumi secret)")
