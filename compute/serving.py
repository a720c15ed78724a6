"""Private model serving: an AKS private cluster in the scoring subnet, the Azure ML extension with an
internal load balancer, and the cluster attached to the workspace as Kubernetes compute.

Why AKS and not a managed online endpoint (README "Private serving"): a managed online endpoint's
outbound isolation is the workspace *managed* VNet, and the per-deployment method is the legacy one
("We strongly recommend that you use the approach described in Secure outbound access with workspace
managed virtual network instead of this legacy method":
https://learn.microsoft.com/azure/machine-learning/concept-secure-online-endpoint#appendix). This
platform isolates in the customer's VNet, and the route Microsoft documents for it is a Kubernetes
cluster in that VNet with the Azure ML extension ("Secure Azure Kubernetes Service inferencing
environment": https://learn.microsoft.com/azure/machine-learning/how-to-secure-kubernetes-inferencing-environment).
Kubernetes online endpoints take the same blue/green traffic split as managed ones
(https://learn.microsoft.com/azure/machine-learning/how-to-safely-rollout-online-endpoints).

Order of creation, each step waiting for what it needs: identity and its roles -> the API server's
private DNS zone -> cluster -> kubelet AcrPull, extension, managed namespace -> attached compute.
"""



import base64
from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
from pulumi_azure_native import authorization, containerservice, kubernetesconfiguration, managedidentity, privatedns
from pulumi_azure_native import machinelearningservices as ml

from isolated_mlops.components.interface import CommonArgs, apply_common, check_common
from isolated_mlops.components.roles import ACR_PULL, NETWORK_CONTRIBUTOR, PRIVATE_DNS_ZONE_CONTRIBUTOR, role_definition_id
from isolated_mlops.components.serving_config import SURGE_NODES
from isolated_mlops.components.standalone import as_args, depends_on_of, type_token

__all__ = ["AKS_LOG_CATEGORIES", "AKS_PRIVATE_ZONE", "EXTENSION_NAME", "EXTENSION_NAMESPACE", "EXTENSION_TYPE",
    "GLOBAL_LOCATION", "RELEASE_TRAIN", "SYSTEM_POOL", "PrivateServing", "PrivateServingArgs",
    "extension_settings"]


# The Azure ML extension's type, its release namespace (fixed: the CLI refuses another) and its train
# (https://learn.microsoft.com/azure/machine-learning/how-to-deploy-kubernetes-extension).
EXTENSION_TYPE = "Microsoft.AzureML.Kubernetes"
EXTENSION_NAME = "azureml"
EXTENSION_NAMESPACE = "azureml"
RELEASE_TRAIN = "stable"
# Private clusters in Azure's public cloud resolve their API server in privatelink.<region>.azmk8s.io
# ("Configure a private DNS zone": https://learn.microsoft.com/azure/aks/private-clusters).
AKS_PRIVATE_ZONE = "privatelink.{region}.azmk8s.io"
GLOBAL_LOCATION = "global"
SYSTEM_POOL = "system"
# AKS resource log categories kept (https://learn.microsoft.com/azure/aks/monitor-aks-reference#resource-logs):
# the API server, the audit of write/admin calls (kube-audit-admin: kube-audit without the get/list
# reads, which Microsoft suggests for cost), the controller manager, the autoscaler and Entra ID
# authorization (guard).
AKS_LOG_CATEGORIES = ("kube-apiserver", "kube-audit-admin", "kube-controller-manager", "cluster-autoscaler", "guard")


@dataclass(kw_only=True)
class PrivateServingArgs(CommonArgs):
    """Plain values: names, ids, CIDRs, counts; nothing from the stack file's types. Common arguments:
    tags on everything; diagnostics, lock and role assignments on the cluster."""

    cluster_name: str
    """The AKS cluster's name (also its DNS prefix)."""
    identity_name: str
    """The control-plane identity (user-assigned: a custom private DNS zone requires one)."""
    resource_group_name: pulumi.Input[str]
    """The resource group of the cluster, its identity and its API server's DNS zone."""
    location: str
    """The Azure region (the workspace's: Azure ML attaches a cluster of its own region)."""
    tenant_id: pulumi.Input[str]
    """The Entra ID tenant users sign in from (Azure RBAC for Kubernetes authorization)."""
    subscription_id: pulumi.Input[str]
    """The subscription, for the role definitions' ids."""
    subnet_id: pulumi.Input[str]
    """The scoring subnet: nodes, pods (Azure CNI), the internal load balancer and the API server's endpoint."""
    vnet_id: pulumi.Input[str]
    """The AML VNet: the control-plane identity gets Network Contributor on it (subnet join, internal LB, DNS link)."""
    client_vnet_ids: Mapping[str, pulumi.Input[str]]
    """VNets besides the cluster's whose hosts resolve the API server (the access VNet: jump host, agents)."""
    registry_id: pulumi.Input[str]
    """The workspace's private registry: the kubelet identity gets AcrPull on it."""
    workspace_name: pulumi.Input[str]
    """The Azure ML workspace the cluster is attached to."""
    compute_name: str
    """The attached compute's name in the workspace (`compute: azureml:<name>` in an endpoint's YAML)."""
    namespace: str
    """The Kubernetes namespace the models run in (created as an AKS managed namespace)."""
    compute_identity_id: pulumi.Input[str]
    """The user-assigned identity the attached compute pulls images with (AcrPull granted already)."""
    tier: str
    """AKS control plane tier: Free or Standard (components/serving_config.py TIERS)."""
    vm_size: str
    """The system node pool's VM size (at least 4 vCPUs for production)."""
    min_nodes: int
    """The fewest nodes the autoscaler keeps (3 or more: three inference router replicas)."""
    max_nodes: int
    """The most nodes the autoscaler adds."""
    max_pods: int
    """Pods per node (Azure CNI takes one subnet address for each)."""
    service_cidr: str
    """The Kubernetes service range: overlaps no network the cluster reaches."""
    dns_service_ip: str
    """The cluster DNS service's address, inside service_cidr."""
    tls_cname: str
    """The host name the inference router serves HTTPS for."""
    tls_certificate: pulumi.Input[str]
    """PEM, a Pulumi secret: sent base64-encoded as a protected setting, which ARM never returns."""
    tls_key: pulumi.Input[str]
    """PEM key without passphrase, a Pulumi secret, sent like the certificate."""
    router_ha: bool
    """Three inference router replicas (needs three nodes or more)."""


def extension_settings(cluster_id: pulumi.Input[str], cluster_name: pulumi.Input[str], location: str, cname: str,
                       router_ha: bool) -> dict[str, pulumi.Input[str]]:
    """The extension's configuration settings as the Azure CLI (`az k8s-extension create`), the documented
    way to install it, sends them to ARM for an AKS cluster: the CLI turns `internalLoadBalancerProvider=azure`
    into `scoringFe.serviceType.internalLoadBalancer` and fills in the cluster's identity and region
    (azure-cli-extensions, src/k8s-extension/azext_k8s_extension/partner_extensions/AzureMLKubernetes.py).

    Inference only; the router (`azureml-fe`) behind an internal Azure load balancer; HTTPS
    (`allowInsecureConnections` false, the extension's default) for `sslCname`
    (https://learn.microsoft.com/azure/machine-learning/how-to-deploy-kubernetes-extension
    #review-azure-machine-learning-extension-configuration-settings). Relay and Service Bus are for Arc
    clusters only, so off. Microsoft's own ARM template for the extension sends the same keys, with the
    certificate and key base64 under the protected `scoringFe.sslCert`/`scoringFe.sslKey` and a
    system-assigned identity (Azure/AML-Kubernetes, files/deployextension.json). Learn documents the
    user-facing keys (`enableInference`, `inferenceRouterServiceType`, `internalLoadBalancerProvider`,
    `allowInsecureConnections`, `sslCname`, `inferenceRouterHA`, and `sslCertPemFile`/`sslKeyPemFile`,
    which are file paths the CLI reads); the `scoringFe.*` and cluster keys are the CLI's and the
    template's, not on Learn.
    """
    return {
        "enableTraining": "false",
        "enableInference": "true",
        "inferenceRouterServiceType": "LoadBalancer",
        "internalLoadBalancerProvider": "azure",
        "scoringFe.serviceType.internalLoadBalancer": "true",
        "allowInsecureConnections": "false",
        "sslCname": cname,
        "inferenceRouterHA": "true" if router_ha else "false",
        # What the CLI sends with it: DevTest for a cluster under three nodes, FastProd otherwise (the
        # ARM template above always sends FastProd). Not on Learn; reference-kubernetes sizes the router
        # as one replica "for testing purposes", three "for production purposes".
        "clusterPurpose": "FastProd" if router_ha else "DevTest",
        "cluster_name": cluster_id,
        "clusterId": cluster_id,
        "prometheus.prometheusSpec.externalLabels.cluster_name": cluster_id,
        "cluster_name_friendly": cluster_name,
        "domain": f"{location}.cloudapp.azure.com",
        "location": location,
        "jobSchedulerLocation": location,
        "servicebus.enabled": "false",
        "relayserver.enabled": "false",
        "nginxIngress.enabled": "true",
    }


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("ascii")).decode()


class PrivateServing(pulumi.ComponentResource):
    """`mlops:compute:PrivateServing`: private AKS + Azure ML extension + Kubernetes compute. Put the
    workspace's private endpoint and the compute identity's AcrPull role in `opts.depends_on`: the
    attached compute waits for them."""

    # Outputs (the children are attributes too: identity, dns_zone, cluster, extension, namespace, compute).
    cluster_id: pulumi.Output[str]
    """The AKS cluster's resource id."""

    def __init__(self, name: str, args: PrivateServingArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(type_token("mlops:compute:PrivateServing"), name, None, opts)
        args = as_args(PrivateServingArgs, args)
        check_common("PrivateServing", args, {
            "private_endpoint": "AKS creates the API server's private endpoint itself (enablePrivateCluster)",
            "identity": "the control-plane identity is created here; the compute's is compute_identity_id"})
        if not 1 <= args.min_nodes <= args.max_nodes:
            raise ValueError(f"PrivateServing: min_nodes={args.min_nodes} must be 1 to max_nodes={args.max_nodes}")
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        self.identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity", resource_name_=args.identity_name, resource_group_name=args.resource_group_name,
            location=args.location, tags=tags, opts=child)

        # A custom zone, so the access VNet can resolve the API server too (kubectl from the jump host).
        # AKS links the zone to the cluster's own VNet itself; the control-plane identity needs Private
        # DNS Zone Contributor on the zone and Network Contributor on the VNet
        # (https://learn.microsoft.com/azure/aks/private-clusters#configuration-options-for-private-dns).
        self.dns_zone = privatedns.PrivateZone(
            f"{name}-api-zone", private_zone_name=AKS_PRIVATE_ZONE.format(region=args.location),
            resource_group_name=args.resource_group_name, location=GLOBAL_LOCATION, tags=tags, opts=child)
        self.zone_links = [
            privatedns.VirtualNetworkLink(
                f"{name}-api-zone-{key}", virtual_network_link_name=f"link-{key}",
                private_zone_name=self.dns_zone.name, resource_group_name=args.resource_group_name,
                location=GLOBAL_LOCATION, virtual_network=privatedns.SubResourceArgs(id=vnet_id),
                registration_enabled=False, resolution_policy=privatedns.ResolutionPolicy.DEFAULT, tags=tags,
                opts=child)
            for key, vnet_id in sorted(args.client_vnet_ids.items())
        ]
        self.dns_role = self._grant(f"{name}-dns-contributor", self.dns_zone.id, PRIVATE_DNS_ZONE_CONTRIBUTOR,
                                    self.identity.principal_id, args.subscription_id,
                                    "AKS writes its API server's record into the custom private DNS zone.")
        # Network Contributor on the VNet: join the scoring subnet, place the internal load balancer
        # in it, and link the zone to the VNet (private-clusters; "Use an internal load balancer":
        # https://learn.microsoft.com/azure/aks/internal-lb).
        self.network_role = self._grant(f"{name}-network-contributor", args.vnet_id, NETWORK_CONTRIBUTOR,
                                        self.identity.principal_id, args.subscription_id,
                                        "AKS joins the scoring subnet and puts its internal load balancer there.")

        self.cluster = containerservice.ManagedCluster(
            f"{name}-cluster",
            resource_name_=args.cluster_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            dns_prefix=args.cluster_name,
            # Control plane tier from the stack file (Free in dev, Standard with its SLA in prod; offline/prices.py).
            sku=containerservice.ManagedClusterSKUArgs(name=containerservice.ManagedClusterSKUName.BASE,
                                                       tier=containerservice.ManagedClusterSKUTier(args.tier)),
            # Azure ML does not support a service principal on AKS: a managed identity
            # (how-to-deploy-kubernetes-extension#limitations).
            identity=containerservice.ManagedClusterIdentityArgs(
                type=containerservice.ResourceIdentityType.USER_ASSIGNED,
                user_assigned_identities=[self.identity.id]),
            api_server_access_profile=containerservice.ManagedClusterAPIServerAccessProfileArgs(
                enable_private_cluster=True,
                # "Using a public FQDN with a private AKS cluster is not supported with Azure Machine
                # Learning" (how-to-secure-kubernetes-inferencing-environment#limitations).
                enable_private_cluster_public_fqdn=False,
                private_dns_zone=self.dns_zone.id,
            ),
            # Entra ID sign-in with Azure RBAC for Kubernetes authorization (https://learn.microsoft.com/azure/aks/manage-azure-rbac).
            aad_profile=containerservice.ManagedClusterAADProfileArgs(
                managed=True, enable_azure_rbac=True, tenant_id=args.tenant_id),
            enable_rbac=True,
            # Kept on, deliberately: "Disabling local accounts for AKS is not supported by Azure Machine
            # Learning" (how-to-deploy-kubernetes-extension#limitations). The API server is private, and
            # the local admin credential needs listClusterAdminCredential, which only owners hold here.
            disable_local_accounts=False,
            network_profile=containerservice.ContainerServiceNetworkProfileArgs(
                # Azure CNI in the existing subnet: every pod gets a scoring-subnet address (sized in
                # components/serving_config.py), so NSGs and peering see pods as VNet hosts.
                network_plugin=containerservice.NetworkPlugin.AZURE,
                load_balancer_sku=containerservice.LoadBalancerSku.STANDARD,
                # Egress through the subnet's NAT gateway, as the other compute: no public IP of AKS's own
                # (https://learn.microsoft.com/azure/aks/nat-gateway#create-an-aks-cluster-with-a-user-assigned-nat-gateway).
                outbound_type=containerservice.OutboundType.USER_ASSIGNED_NAT_GATEWAY,
                service_cidr=args.service_cidr,
                dns_service_ip=args.dns_service_ip,
            ),
            agent_pool_profiles=[containerservice.ManagedClusterAgentPoolProfileArgs(
                name=SYSTEM_POOL,
                mode=containerservice.AgentPoolMode.SYSTEM,
                type=containerservice.AgentPoolType.VIRTUAL_MACHINE_SCALE_SETS,
                os_type=containerservice.OSType.LINUX,
                vm_size=args.vm_size,
                count=args.min_nodes,
                enable_auto_scaling=True,
                min_count=args.min_nodes,
                max_count=args.max_nodes,
                max_pods=args.max_pods,
                vnet_subnet_id=args.subnet_id,
                enable_node_public_ip=False,
                # One surge node per upgrade, the one the subnet capacity check counts (SURGE_NODES);
                # unset, AKS surges 10% of the pool, more than one node above ten.
                upgrade_settings=containerservice.AgentPoolUpgradeSettingsArgs(max_surge=str(SURGE_NODES)),
                # As on the platform's VMs (components/providers.py registers the feature).
                enable_encryption_at_host=True,
            )],
            auto_upgrade_profile=containerservice.ManagedClusterAutoUpgradeProfileArgs(
                upgrade_channel=containerservice.UpgradeChannel.PATCH,
                node_os_upgrade_channel=containerservice.NodeOSUpgradeChannel.NODE_IMAGE),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.dns_role, self.network_role]),
        )
        # The kubelet identity (created by AKS) pulls from the private registry
        # ("Authenticate with ACR from AKS": https://learn.microsoft.com/azure/aks/cluster-container-registry-integration).
        kubelet = self.cluster.identity_profile.apply(
            lambda profile: (profile or {}).get("kubeletidentity").object_id  # type: ignore[union-attr]
            if profile and profile.get("kubeletidentity") else None)
        self.kubelet_acr_pull = self._grant(f"{name}-kubelet-acr-pull", args.registry_id, ACR_PULL, kubelet,
                                            args.subscription_id, "AKS nodes pull model images from the private registry.")

        self.extension = kubernetesconfiguration.Extension(
            f"{name}-azureml-extension",
            extension_name=EXTENSION_NAME,
            cluster_rp="Microsoft.ContainerService",
            cluster_resource_name="managedClusters",
            cluster_name=self.cluster.name,
            resource_group_name=args.resource_group_name,
            extension_type=EXTENSION_TYPE,
            release_train=RELEASE_TRAIN,
            auto_upgrade_minor_version=True,
            scope=kubernetesconfiguration.ScopeArgs(
                cluster=kubernetesconfiguration.ScopeClusterArgs(release_namespace=EXTENSION_NAMESPACE)),
            identity=kubernetesconfiguration.IdentityArgs(type=kubernetesconfiguration.ResourceIdentityType.SYSTEM_ASSIGNED),
            # A map of known values with the cluster's id in three of them: a preview (and the policy
            # rules) sees every setting but those.
            configuration_settings=extension_settings(self.cluster.id, self.cluster.name, args.location,
                                                      args.tls_cname, args.router_ha),
            # The certificate and key as the CLI sends them (base64 PEM under scoringFe.sslCert/sslKey);
            # protected settings are write-only in ARM, and stay Pulumi secrets in the state.
            configuration_protected_settings=pulumi.Output.all(
                pulumi.Output.secret(args.tls_certificate), pulumi.Output.secret(args.tls_key)).apply(
                lambda pem: {"scoringFe.sslCert": _b64(pem[0]), "scoringFe.sslKey": _b64(pem[1])}),
            opts=child,
        )
        # "The namespace ... should be previously created in your cluster" before the compute is
        # attached (https://learn.microsoft.com/azure/machine-learning/how-to-attach-kubernetes-to-workspace).
        # An AKS managed namespace creates it through ARM, no kubectl needed
        # (https://learn.microsoft.com/azure/aks/concepts-managed-namespaces; the page still says preview,
        # but the resource is in the stable API 2025-09-01 this SDK uses and `az aks namespace` is GA in
        # the core CLI since Azure/azure-cli#32387, so no ManagedNamespacePreview feature is needed).
        # The router reaches the model pods on port 5001 from `azureml` ("In-cluster communication
        # requirements": how-to-access-azureml-behind-firewall#scenario-use-kubernetes-compute). Ingress AllowAll: the
        # router runs in the `azureml` namespace and must reach the model pods here (the default,
        # AllowSameNamespace, would cut it off); egress AllowAll: the pods reach the registry and
        # storage through the private endpoints. Keep: removing this resource leaves the models running.
        self.namespace = containerservice.ManagedNamespace(
            f"{name}-namespace",
            managed_namespace_name=args.namespace,
            resource_name_=self.cluster.name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            properties=containerservice.NamespacePropertiesArgs(
                adoption_policy=containerservice.AdoptionPolicy.NEVER,
                delete_policy=containerservice.DeletePolicy.KEEP,
                default_network_policy=containerservice.NetworkPoliciesArgs(
                    ingress=containerservice.PolicyRule.ALLOW_ALL, egress=containerservice.PolicyRule.ALLOW_ALL),
            ),
            tags=tags,
            opts=child,
        )
        self.compute = ml.Compute(
            f"{name}-compute",
            compute_name=args.compute_name,
            workspace_name=args.workspace_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            # The compute pulls images and models with this identity (AcrPull granted by ClusterIdentity):
            # "Grant the AcrPull role to the compute Managed Identity" (how-to-attach-kubernetes-to-workspace
            # #assign-azure-roles-to-managed-identity).
            identity=ml.ManagedServiceIdentityArgs(type=ml.ManagedServiceIdentityType.USER_ASSIGNED,
                                                   user_assigned_identities=[args.compute_identity_id]),
            properties=ml.KubernetesArgs(
                compute_type="Kubernetes",
                resource_id=self.cluster.id,
                disable_local_auth=True,
                properties=ml.KubernetesPropertiesArgs(namespace=args.namespace),
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.extension, self.namespace, *depends_on_of(opts)]),
        )
        # The cluster's logs, lock and roles (CommonArgs), on the cluster.
        self.common = apply_common(self, f"{name}-cluster", args, resource_id=self.cluster.id,
                                   subscription_id=args.subscription_id)
        self.cluster_id = self.cluster.id
        self.register_outputs({"cluster_id": self.cluster.id, "compute_name": args.compute_name})

    def _grant(self, name: str, scope: pulumi.Input[str], role, principal: pulumi.Input[Optional[str]],
               subscription_id: pulumi.Input[str], why: str) -> authorization.RoleAssignment:
        return authorization.RoleAssignment(
            name, scope=scope, role_definition_id=role_definition_id(subscription_id, role),
            principal_id=principal,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL, description=why,
            opts=pulumi.ResourceOptions(parent=self))
