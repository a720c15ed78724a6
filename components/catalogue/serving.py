"""Catalogue records: private model serving (compute/serving.py), an AKS cluster, its managed
namespace and the Azure ML cluster extension."""

from __future__ import annotations

from isolated_mlops.components.catalogue.model import ASYNC, CreateTime, ResourceType, Setting

AKS = "azure-native:containerservice:ManagedCluster"
AKS_NAMESPACE = "azure-native:containerservice:ManagedNamespace"
K8S_EXTENSION = "azure-native:kubernetesconfiguration:Extension"

ENTRIES = (
    # A private cluster: control plane, the API server's private endpoint, the node pool's VMs.
    ResourceType(
        AKS, "Microsoft.ContainerService/managedClusters", "resourceName",
        CreateTime(600, "estimate", f"{ASYNC}; a private cluster: control plane, private endpoint, node pool VMs; "
                                    "not measured"),
        key_settings=(Setting("apiServerAccessProfile.enablePrivateCluster", "private cluster"),
                      Setting("apiServerAccessProfile.enablePrivateClusterPublicFQDN", "public FQDN"),
                      Setting("aadProfile.enableAzureRBAC", "Azure RBAC"),
                      Setting("disableLocalAccounts"), Setting("sku.tier", "tier"),
                      Setting("networkProfile.outboundType"),
                      Setting("agentPoolProfiles[].vmSize", "node size"),
                      Setting("agentPoolProfiles[].vnetSubnetID", "subnet", True)),
        sources=("https://learn.microsoft.com/azure/aks/private-clusters",)),
    # A child of the cluster: its parent's name is the `resourceName` input.
    ResourceType(
        AKS_NAMESPACE, "Microsoft.ContainerService/managedClusters/{resourceName}/managedNamespaces",
        "managedNamespaceName", CreateTime(30, "estimate", f"{ASYNC}; not measured"),
        key_settings=(Setting("properties.defaultNetworkPolicy.ingress", "ingress"),),
        sources=("https://learn.microsoft.com/azure/aks/concepts-managed-namespaces",)),
    # An extension resource of the cluster: its ARM id sits under the cluster's
    # (.../managedClusters/<cluster>/providers/Microsoft.KubernetesConfiguration/extensions/<name>), so a
    # change of the cluster it names is a new extension.
    ResourceType(
        K8S_EXTENSION, "Microsoft.KubernetesConfiguration/extensions", "extensionName",
        replace_on=("clusterName", "clusterRp", "clusterResourceName"),
        create=CreateTime(300, "estimate", f"{ASYNC}; installs the Azure ML extension's charts on the nodes; not measured"),
        key_settings=(Setting("extensionType"),
                      Setting("configurationSettings.inferenceRouterServiceType", "router service"),
                      Setting("configurationSettings.internalLoadBalancerProvider", "internal LB"),
                      Setting("configurationSettings.allowInsecureConnections", "plain HTTP")),
        sources=("https://learn.microsoft.com/azure/machine-learning/how-to-deploy-kubernetes-extension",)),
)
