"""The network-isolated MLOps platform on Azure Machine Learning.

Reads like the architecture: configuration -> network -> workspace and its dependencies ->
compute and access -> stack outputs. Every per-environment difference is in Pulumi.<stack>.yaml.
"""

import pulumi
import pulumi_random as random
from pulumi_azure_native import authorization, network, resources

from isolated_mlops.components import config as platform_config
from isolated_mlops.components.diagnostics import NSG_LOG_CATEGORIES, DiagnosticSettings, DiagnosticSettingsArgs, LogTarget
from isolated_mlops.components.naming import SUFFIX_LENGTH, ResourceNames, agent_role
from isolated_mlops.components.private_endpoint import PrivateEndpointPlacement
from isolated_mlops.components.tags import platform_tags
from isolated_mlops.components.zones import CLOUDS, private_endpoint_group_ids, storage_group_ids
from isolated_mlops.compute.agents import CiAgentPool, CiAgentPoolArgs
from isolated_mlops.compute.clusters import ClusterIdentity, ClusterIdentityArgs, create_clusters
from isolated_mlops.compute.linux_vm import LinuxVirtualMachine, LinuxVirtualMachineArgs
from isolated_mlops.compute.serving import AKS_LOG_CATEGORIES, PrivateServing, PrivateServingArgs
from isolated_mlops.network.bastion import Bastion, BastionArgs
from isolated_mlops.network.peering import BidirectionalPeering, BidirectionalPeeringArgs, PeeredVnet
from isolated_mlops.network.private_dns import PrivateDnsZones, PrivateDnsZonesArgs
from isolated_mlops.network.virtual_network import (BASTION_SUBNET_NAME, InboundAllow, SubnetPlan, VirtualNetwork,
                                                   VirtualNetworkArgs, ssh_from, with_endpoint_clients)
from isolated_mlops.workspace.container_registry import ContainerRegistry, ContainerRegistryArgs
from isolated_mlops.workspace.alerts import DRIFT_STREAM, DRIFT_TABLE, Alerts, AlertsArgs, AlertThresholds, DriftIngestion, DriftIngestionArgs
from isolated_mlops.workspace.key_vault import KeyVault, KeyVaultArgs
from isolated_mlops.workspace.ml_workspace import MlWorkspace, MlWorkspaceArgs
from isolated_mlops.workspace.model_registry import ModelRegistry, ModelRegistryArgs
from isolated_mlops.workspace.monitoring import Monitoring, MonitoringArgs
from isolated_mlops.workspace.storage import WorkspaceStorage, WorkspaceStorageArgs


def main() -> None:
    # ---- Configuration: validated completely before the first resource is declared. ----------
    cfg = platform_config.load()
    tags = platform_tags(cfg.project, cfg.environment, cfg.tags)
    protect = pulumi.ResourceOptions(protect=cfg.protect_stateful_resources)
    cloud = CLOUDS[cfg.cloud]

    suffix = random.RandomString(
        "name-suffix", length=SUFFIX_LENGTH, special=False, upper=False, numeric=True,
    )
    names = ResourceNames(cfg.name_prefix, cfg.environment, suffix.result)
    client = authorization.get_client_config_output()

    resource_group = resources.ResourceGroup(
        "platform",
        resource_group_name=names.resource_group,
        location=cfg.location,
        tags=tags,
        opts=protect,
    )
    rg_name = resource_group.name
    location = cfg.location

    # ---- Network ------------------------------------------------------------------------------
    net = cfg.network
    # Which subnet may connect to which follows from the plan: Bastion's subnet reaches the VMs on
    # SSH, the subnets whose hosts use the private endpoints reach the endpoints' subnet, a cluster's
    # nodes reach each other; every NSG denies the rest of the VNets (virtual_network.py says why).
    bastion_subnet = SubnetPlan("bastion", BASTION_SUBNET_NAME, net.bastion.bastion_subnet)
    access_subnets = [
        bastion_subnet,
        SubnetPlan("jumpHost", "snet-jump-host", net.bastion.jump_host_subnet, nat_egress=True,
                   endpoint_client=True, inbound=(ssh_from(bastion_subnet),)),
        SubnetPlan("agents", "snet-agents", net.bastion.agents_subnet, nat_egress=True,
                   endpoint_client=True, inbound=(ssh_from(bastion_subnet),)),
    ]
    # With serving on, the jump host and the agents (the delivery's smoke and latency checks) call the
    # models over HTTPS through the cluster's internal load balancer, and reach its private API server
    # (kubectl), both in the scoring subnet; nothing else in the VNets does.
    scoring_clients = tuple(
        InboundAllow(name=f"AllowHttpsFrom{plan.key[:1].upper()}{plan.key[1:]}", source_prefix=plan.address_prefix,
                     description=f"{plan.name} calls the models (internal load balancer) and the AKS API server.",
                     protocol=network.SecurityRuleProtocol.TCP, port="443")
        for plan in access_subnets if cfg.serving.enabled and plan.key in ("jumpHost", "agents"))
    aml_subnets = [
        SubnetPlan("privateEndpoints", "snet-private-endpoints", net.aml.private_endpoints_subnet,
                   private_endpoints=True),
        SubnetPlan("training", "snet-training", net.aml.training_subnet, nat_egress=True,
                   endpoint_client=True, within_subnet=True),
        SubnetPlan("scoring", "snet-scoring", net.aml.scoring_subnet, nat_egress=True,
                   endpoint_client=True, within_subnet=True, inbound=scoring_clients),
    ]
    aml_network = VirtualNetwork("aml-network", VirtualNetworkArgs(
        resource_group_name=rg_name,
        location=location,
        vnet_name=names.plain("virtual_network", "aml"),
        address_space=net.aml.address_space,
        subnets=with_endpoint_clients(aml_subnets, clients=[*aml_subnets, *access_subnets]),
        nat_gateway=net.nat_gateway,
        tags=tags,
    ))
    access_network = VirtualNetwork("access-network", VirtualNetworkArgs(
        resource_group_name=rg_name,
        location=location,
        vnet_name=names.plain("virtual_network", "bastion"),
        address_space=net.bastion.address_space,
        subnets=access_subnets,
        nat_gateway=net.nat_gateway,
        tags=tags,
    ))
    BidirectionalPeering("aml-access-peering", BidirectionalPeeringArgs(
        resource_group_name=rg_name,
        first=PeeredVnet("aml", aml_network.vnet.name, aml_network.vnet.id),
        second=PeeredVnet("bastion", access_network.vnet.name, access_network.vnet.id),
    ))
    storage_groups = storage_group_ids(cfg.batch_endpoints)
    dns = PrivateDnsZones("private-dns", PrivateDnsZonesArgs(
        resource_group_name=rg_name,
        cloud=cfg.cloud,
        group_ids=list(private_endpoint_group_ids(cfg.batch_endpoints, cfg.model_registry.create)),
        vnet_ids={"aml": aml_network.vnet.id, "bastion": access_network.vnet.id},
        fallback_to_internet=net.private_dns_fallback_to_internet,
        tags=tags,
    ))
    bastion = Bastion("bastion", BastionArgs(
        resource_group_name=rg_name,
        location=location,
        bastion_name=names.plain("bastion"),
        subnet_id=access_network.subnet_ids["bastion"],
        sku=cfg.bastion_sku,
        tags=tags,
    ))

    # ---- Workspace and its dependencies --------------------------------------------------------
    placement = PrivateEndpointPlacement(
        resource_group_name=rg_name,
        location=location,
        subnet_id=aml_network.subnet_ids["privateEndpoints"],
        zone_ids_by_group=dns.zone_ids_by_group,
        tags=tags,
    )
    monitoring = Monitoring("monitoring", MonitoringArgs(
        log_analytics_name=names.plain("log_analytics"),
        app_insights_name=names.plain("app_insights"),
        private_link_scope_name=names.plain("private_link_scope"),
        retention_days=cfg.log_retention_days,
        placement=placement,
        protect=cfg.protect_stateful_resources,
    ))
    workspace_name = names.plain("ml_workspace")
    storage = WorkspaceStorage("storage", WorkspaceStorageArgs(
        account_name=names.storage_account,
        sku=cfg.storage_sku,
        group_ids=storage_groups,
        # The workspace's id from its parts: the account's firewall admits the workspace that the
        # account itself is an input of, without a cycle.
        trusted_workspace_id=pulumi.Output.concat(
            "/subscriptions/", client.subscription_id, "/resourceGroups/", rg_name,
            "/providers/Microsoft.MachineLearningServices/workspaces/", workspace_name),
        tenant_id=client.tenant_id,
        placement=placement,
        protect=cfg.protect_stateful_resources,
    ))
    key_vault = KeyVault("key-vault", KeyVaultArgs(
        vault_name=names.key_vault,
        tenant_id=client.tenant_id,
        placement=placement,
        protect=cfg.protect_stateful_resources,
    ))
    registry = ContainerRegistry("registry", ContainerRegistryArgs(
        registry_name=names.container_registry,
        placement=placement,
        protect=cfg.protect_stateful_resources,
    ))
    workspace = MlWorkspace("ml-workspace", MlWorkspaceArgs(
        workspace_name=workspace_name,
        storage_account_id=storage.account.id,
        key_vault_id=key_vault.vault.id,
        container_registry_id=registry.registry.id,
        app_insights_id=monitoring.app_insights.id,
        image_build_compute=cfg.image_build_cluster,
        public_access=cfg.workspace_public_access,
        hbi_workspace=cfg.hbi_workspace,
        serverless_subnet_id=aml_network.subnet_ids["training"],
        storage_private_endpoints=storage.private_endpoints,
        dependency_endpoints=[*storage.private_endpoints.values(), key_vault.private_endpoint,
                              registry.private_endpoint],
        subscription_id=client.subscription_id,
        placement=placement,
        protect=cfg.protect_stateful_resources,
    ))
    # The registry models are promoted through (README, "Model registry"): one per organisation, in
    # the stack whose file says `modelRegistry: {create: true}`.
    model_registry = None
    if cfg.model_registry.create:
        model_registry = ModelRegistry("model-registry", ModelRegistryArgs(
            registry_name=names.ml_registry,
            placement=placement,
            user_principal_ids=cfg.model_registry.user_principal_ids,
            subscription_id=client.subscription_id,
            protect=cfg.protect_stateful_resources,
        ))
    DiagnosticSettings("diagnostics", DiagnosticSettingsArgs(
        log_analytics_workspace_id=monitoring.log_analytics.id,
        targets=[
            LogTarget("workspace", workspace.workspace.id),
            LogTarget("key-vault", key_vault.vault.id),
            LogTarget("storage-blob", pulumi.Output.concat(storage.account.id, "/blobServices/default")),
            LogTarget("registry", registry.registry.id),
            *(LogTarget(f"nsg-{vnet}-{key}", nsg.id, NSG_LOG_CATEGORIES)
              for vnet, net in (("aml", aml_network), ("access", access_network)) for key, nsg in net.nsgs.items()),
        ],
    ))

    # ---- Monitoring of the ML lifecycle: the drift table's private ingestion path, alerts --------
    drift = None
    if cfg.alerts is not None:
        drift = DriftIngestion("drift", DriftIngestionArgs(
            table_name=DRIFT_TABLE,
            endpoint_name=names.plain("data_collection_endpoint"),
            rule_name=names.plain("data_collection_rule", "drift"),
            resource_group_name=rg_name,
            location=location,
            log_analytics_name=monitoring.log_analytics.name,
            log_analytics_id=monitoring.log_analytics.id,
            private_link_scope_name=monitoring.private_link_scope.name,
            retention_days=cfg.log_retention_days,
            publisher_principal_id=cfg.alerts.ml_identity_principal_id,
            subscription_id=client.subscription_id,
            protect=cfg.protect_stateful_resources,
            tags=tags,
        ))
        if cfg.alerts.enabled:
            Alerts("alerts", AlertsArgs(
                resource_group_name=rg_name,
                location=location,
                notify_group_name=names.plain("action_group", "notify"),
                retrain_group_name=names.plain("action_group", "retrain"),
                emails=cfg.alerts.emails,
                retrain_webhook_url=cfg.alerts.retrain_webhook_url,
                workspace_id=workspace.workspace.id,
                log_analytics_id=monitoring.log_analytics.id,
                drift_table=drift.table.name,
                thresholds=AlertThresholds(failed_runs=cfg.alerts.failed_runs, drift_psi=cfg.alerts.drift_psi,
                                           serving_latency_ms=cfg.alerts.serving_latency_ms,
                                           serving_error_rate_percent=cfg.alerts.serving_error_rate_percent),
                # The serving rules read the requests the deployments send to Application Insights.
                serving_app_insights_id=monitoring.app_insights.id if cfg.serving.enabled else None,
                rule_prefix=names.plain("alert_rule"),
                tags=tags,
            ))

    # ---- Compute and access --------------------------------------------------------------------
    cluster_identity = ClusterIdentity("cluster-identity", ClusterIdentityArgs(
        identity_name=f"id-clusters-{cfg.name_prefix}-{cfg.environment}",
        resource_group_name=rg_name,
        location=location,
        registry_id=registry.registry.id,
        subscription_id=client.subscription_id,
        tags=tags,
    ))
    clusters = create_clusters(
        "cluster", cfg.compute_clusters,
        workspace_name=workspace.workspace.name,
        resource_group_name=rg_name,
        location=location,
        subnet_id=aml_network.subnet_ids["training"],
        workspace_private_endpoint=workspace.private_endpoint,
        identity=cluster_identity,
        tags=tags,
    )
    # ---- Private serving (README "Private serving"): AKS with the Azure ML extension in the scoring
    # subnet, attached to the workspace as Kubernetes compute; `serving: {enabled: false}` in dev.
    serving = None
    if cfg.serving.enabled and cfg.serving_tls is not None:
        sv = cfg.serving
        serving = PrivateServing("serving", PrivateServingArgs(
            cluster_name=f"aks-{cfg.name_prefix}-{cfg.environment}",
            identity_name=f"id-aks-{cfg.name_prefix}-{cfg.environment}",
            resource_group_name=rg_name,
            location=location,
            tenant_id=client.tenant_id,
            subscription_id=client.subscription_id,
            subnet_id=aml_network.subnet_ids["scoring"],
            vnet_id=aml_network.vnet.id,
            client_vnet_ids={"bastion": access_network.vnet.id},
            registry_id=registry.registry.id,
            workspace_name=workspace.workspace.name,
            compute_name=sv.compute_name,
            namespace=sv.namespace,
            compute_identity_id=cluster_identity.identity.id,
            tier=sv.tier,
            vm_size=sv.vm_size,
            min_nodes=sv.min_nodes,
            max_nodes=sv.max_nodes,
            max_pods=sv.max_pods,
            service_cidr=sv.service_cidr,
            dns_service_ip=sv.dns_service_ip,
            tls_cname=sv.tls_cname,
            tls_certificate=cfg.serving_tls[0],
            tls_key=cfg.serving_tls[1],
            router_ha=sv.router_ha,
            tags=tags,
            wait_for=[workspace.private_endpoint, cluster_identity.acr_pull],
        ))
        DiagnosticSettings("serving-diagnostics", DiagnosticSettingsArgs(
            log_analytics_workspace_id=monitoring.log_analytics.id,
            targets=[LogTarget("aks", serving.cluster.id, AKS_LOG_CATEGORIES)],
        ))
    jump_host = LinuxVirtualMachine("jump-host", LinuxVirtualMachineArgs(
        resource_group_name=rg_name,
        location=location,
        vm_name=names.plain("linux_vm", "jump"),
        vm_size=cfg.jump_host.vm_size,
        subnet_id=access_network.subnet_ids["jumpHost"],
        admin_username=cfg.admin_username,
        ssh_public_key=cfg.admin_ssh_public_key,
        tags=tags,
    ))
    agent_pool = None
    if cfg.agents.count > 0 and cfg.agent_registration_token is not None:
        agent_pool = CiAgentPool("ci-agents", CiAgentPoolArgs(
            agents=cfg.agents,
            vm_names=[names.plain("linux_vm", agent_role(i)) for i in range(cfg.agents.count)],
            identity_name=f"id-agents-{cfg.name_prefix}-{cfg.environment}",
            resource_group_name=rg_name,
            location=location,
            subnet_id=access_network.subnet_ids["agents"],
            subscription_id=client.subscription_id,
            vault_id=key_vault.vault.id,
            vault_name=key_vault.vault.name,
            vault_dns_suffix=cloud.key_vault_dns_suffix,
            key_vault_resource=cloud.key_vault_resource,
            registration_token=cfg.agent_registration_token,
            admin_username=cfg.admin_username,
            ssh_public_key=cfg.admin_ssh_public_key,
            wait_for=[key_vault.private_endpoint],
            tags=tags,
        ))

    # ---- Stack outputs: what a user needs next; nothing secret. --------------------------------
    pulumi.export("resourceGroupName", rg_name)
    pulumi.export("workspaceName", workspace.workspace.name)
    pulumi.export("workspaceId", workspace.workspace.id)
    pulumi.export("amlVnetId", aml_network.vnet.id)
    pulumi.export("bastionVnetId", access_network.vnet.id)
    pulumi.export("bastionName", bastion.host.name)
    pulumi.export("jumpHostName", jump_host.vm.name)
    pulumi.export("storageAccountName", storage.account.name)
    pulumi.export("keyVaultName", key_vault.vault.name)
    pulumi.export("containerRegistryLoginServer", registry.registry.login_server)
    pulumi.export("modelRegistryName", model_registry.registry.name if model_registry else None)
    pulumi.export("computeClusters", [c.compute.name for c in clusters])
    # The Kubernetes compute models deploy to (`compute: azureml:<name>` in ml/aml/k8s-endpoint.yml); null without serving.
    pulumi.export("servingCompute", {
        "computeName": cfg.serving.compute_name if serving else None,
        "clusterName": serving.cluster.name if serving else None,
        "tlsCname": cfg.serving.tls_cname if serving else None,
    })
    # What the ML delivery's `record` step sends the drift rows to (DRIFT_DCE, DRIFT_DCR_ID,
    # DRIFT_STREAM in docs/delivery.md); null without an `alerts` key.
    pulumi.export("driftIngestion", {
        "dce": drift.logs_ingestion_endpoint if drift else None,
        "dcrImmutableId": drift.rule.immutable_id if drift else None,
        "stream": DRIFT_STREAM if drift else None,
    })
    pulumi.export("agentPool", {
        "kind": cfg.agents.kind,
        "url": cfg.agents.url,
        "pool": cfg.agents.pool,
        "labels": list(cfg.agents.labels),
        "vmNames": [vm.vm.name for vm in agent_pool.vms] if agent_pool else [],
        "identityClientId": agent_pool.identity.client_id if agent_pool else None,
    })


main()
