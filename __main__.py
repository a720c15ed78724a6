"""The network-isolated MLOps platform on Azure Machine Learning.

Reads like the architecture: configuration -> network -> workspace and its dependencies ->
compute and access -> stack outputs. Every per-environment difference is in Pulumi.<stack>.yaml.
"""

import dataclasses
from typing import Any

import pulumi
import pulumi_random as random
from pulumi_azure_native import authorization, network, resources

from isolated_mlops.components import config as platform_config
from isolated_mlops.components.diagnostics import NSG_LOG_CATEGORIES, DiagnosticSettings, DiagnosticSettingsArgs, LogTarget
from isolated_mlops.components.interface import (CommonArgs, DiagnosticsOptions, ManagedIdentity, PrivateEndpointOptions,
                                                 common_fields)
from isolated_mlops.components.naming import SUFFIX_LENGTH
from isolated_mlops.components.plan import PlannedName, PlannedSubnet
from isolated_mlops.components.tags import platform_tags
from isolated_mlops.components.zones import CLOUDS
from isolated_mlops.compute.agents import CiAgentPool, CiAgentPoolArgs
from isolated_mlops.compute.clusters import ClusterIdentity, ClusterIdentityArgs, ComputeCluster, ComputeClusterArgs
from isolated_mlops.compute.linux_vm import LinuxVirtualMachine, LinuxVirtualMachineArgs
from isolated_mlops.compute.serving import AKS_LOG_CATEGORIES, PrivateServing, PrivateServingArgs
from isolated_mlops.network.bastion import Bastion, BastionArgs
from isolated_mlops.network.peering import BidirectionalPeering, BidirectionalPeeringArgs, PeeredVnet
from isolated_mlops.network.private_dns import PrivateDnsZones, PrivateDnsZonesArgs
from isolated_mlops.network.virtual_network import (InboundAllow, SubnetPlan, VirtualNetwork, VirtualNetworkArgs,
                                                   ssh_from, with_endpoint_clients)
from isolated_mlops.workspace.container_registry import ContainerRegistry, ContainerRegistryArgs
from isolated_mlops.workspace.alerts import DRIFT_STREAM, DRIFT_TABLE, Alerts, AlertsArgs, AlertThresholds, DriftIngestion, DriftIngestionArgs
from isolated_mlops.workspace.retrain_trigger import RetrainReader, RetrainReaderArgs
from isolated_mlops.workspace.key_vault import KeyVault, KeyVaultArgs
from isolated_mlops.workspace.ml_workspace import MlWorkspace, MlWorkspaceArgs
from isolated_mlops.workspace.model_registry import ModelRegistry, ModelRegistryArgs
from isolated_mlops.workspace.monitoring import Monitoring, MonitoringArgs
from isolated_mlops.workspace.storage import WorkspaceStorage, WorkspaceStorageArgs


def _subnets(planned: list[PlannedSubnet]) -> dict[str, SubnetPlan]:
    """The network component's subnet plans for the planned subnets: SSH from the subnets the plan
    names, and the endpoints' subnet open to every subnet whose hosts use the endpoints."""
    plans = {s.key: SubnetPlan(s.key, s.name, s.address_prefix, nat_egress=s.nat_egress,
                               private_endpoints=s.private_endpoints, within_subnet=s.within_subnet,
                               endpoint_client=s.endpoint_client) for s in planned}
    plans = {s.key: dataclasses.replace(plans[s.key], inbound=(*(ssh_from(plans[k]) for k in s.ssh_from),
                                                               *(_https_from(plans[k]) for k in s.https_from)))
             for s in planned}
    return {p.key: p for p in with_endpoint_clients(list(plans.values()), clients=list(plans.values()))}


def _https_from(source: SubnetPlan) -> InboundAllow:
    """HTTPS (443) from `source`: the serving cluster's clients reach its router and its API server."""
    return InboundAllow(name=f"AllowHttpsFrom{source.key[:1].upper()}{source.key[1:]}", source_prefix=source.address_prefix,
                        description=f"{source.name} calls the models (internal load balancer) and the AKS API server.",
                        protocol=network.SecurityRuleProtocol.TCP, port="443")


def main() -> None:
    # ---- Configuration and plan: validated completely before the first resource is declared. --
    plan = platform_config.load_plan()
    cfg = plan.config
    names = plan.names
    tags = platform_tags(cfg.project, cfg.environment, cfg.tags)
    protect = pulumi.ResourceOptions(protect=cfg.protect_stateful_resources)
    cloud = CLOUDS[cfg.cloud]

    suffix = random.RandomString(
        "name-suffix", length=SUFFIX_LENGTH, special=False, upper=False, numeric=True,
    )

    def suffixed(name: PlannedName) -> pulumi.Output[str]:
        return suffix.result.apply(name.with_suffix)

    client = authorization.get_client_config_output()

    resource_group = resources.ResourceGroup(
        "platform",
        resource_group_name=suffixed(names.resource_group),
        location=cfg.location,
        tags=tags,
        opts=protect,
    )
    rg_name = resource_group.name
    location = cfg.location

    # ---- Network ------------------------------------------------------------------------------
    net = cfg.network
    # Every subnet as the plan has it (components/plan.py): who reaches whom, NAT egress, what it holds.
    subnets = _subnets(list(plan.subnets))
    aml_vnet, access_vnet = plan.vnet("aml"), plan.vnet("bastion")
    aml_network = VirtualNetwork("aml-network", VirtualNetworkArgs(
        resource_group_name=rg_name,
        location=location,
        vnet_name=aml_vnet.name.value,
        address_space=aml_vnet.address_space,
        subnets=[subnets[s.key] for s in aml_vnet.subnets],
        nat_gateway=net.nat_gateway,
        tags=tags,
    ))
    access_network = VirtualNetwork("access-network", VirtualNetworkArgs(
        resource_group_name=rg_name,
        location=location,
        vnet_name=access_vnet.name.value,
        address_space=access_vnet.address_space,
        subnets=[subnets[s.key] for s in access_vnet.subnets],
        nat_gateway=net.nat_gateway,
        tags=tags,
    ))
    BidirectionalPeering("aml-access-peering", BidirectionalPeeringArgs(
        resource_group_name=rg_name,
        first=PeeredVnet("aml", aml_network.vnet_name, aml_network.vnet_id),
        second=PeeredVnet("bastion", access_network.vnet_name, access_network.vnet_id),
    ))
    dns = PrivateDnsZones("private-dns", PrivateDnsZonesArgs(
        resource_group_name=rg_name,
        cloud=cfg.cloud,
        group_ids=list(plan.endpoint_group_ids()),
        vnet_ids={"aml": aml_network.vnet_id, "bastion": access_network.vnet_id},
        fallback_to_internet=net.private_dns_fallback_to_internet,
        tags=tags,
    ))
    bastion = Bastion("bastion", BastionArgs(
        resource_group_name=rg_name,
        location=location,
        bastion_name=names.bastion.value,
        subnet_id=access_network.subnet_ids["bastion"],
        sku=cfg.bastion_sku,
        tags=tags,
    ))

    # ---- Workspace and its dependencies --------------------------------------------------------
    # Every workspace-side component: the stack's tags and protection, and its private endpoints in
    # the AML VNet's endpoint subnet with the stack's zones (components/interface.py).
    common: dict[str, Any] = common_fields(CommonArgs(
        tags=tags, protect=cfg.protect_stateful_resources, private_endpoint=PrivateEndpointOptions(
            subnet_id=aml_network.subnet_ids[plan.endpoint_subnet], zone_ids_by_group=dns.zone_ids_by_group)))
    at: dict[str, Any] = dict(resource_group_name=rg_name, location=location)
    monitoring = Monitoring("monitoring", MonitoringArgs(
        log_analytics_name=names.log_analytics.value, app_insights_name=names.app_insights.value,
        private_link_scope_name=names.private_link_scope.value, retention_days=cfg.log_retention_days,
        **at, **common))
    workspace_name = names.ml_workspace.value
    storage = WorkspaceStorage("storage", WorkspaceStorageArgs(
        account_name=suffixed(names.storage_account), sku=cfg.storage_sku, group_ids=plan.endpoint_group_ids("storage"),
        # The workspace's id from its parts: the account's firewall admits the workspace that the
        # account itself is an input of, without a cycle.
        trusted_workspace_id=pulumi.Output.concat(
            "/subscriptions/", client.subscription_id, "/resourceGroups/", rg_name,
            "/providers/Microsoft.MachineLearningServices/workspaces/", workspace_name),
        tenant_id=client.tenant_id,
        # The model registry this stack creates (below) copies shared models out of this account.
        trusted_registry_ids=[pulumi.Output.concat(
            "/subscriptions/", client.subscription_id, "/resourceGroups/", rg_name,
            "/providers/Microsoft.MachineLearningServices/registries/", suffixed(names.ml_registry),
        )] if names.ml_registry is not None else [],
        **at, **common))
    key_vault = KeyVault("key-vault", KeyVaultArgs(
        vault_name=suffixed(names.key_vault), tenant_id=client.tenant_id, **at, **common))
    registry = ContainerRegistry("registry", ContainerRegistryArgs(
        registry_name=suffixed(names.container_registry), **at, **common))
    # Created after its dependencies' private endpoints and their DNS (Microsoft's secure template's order).
    workspace = MlWorkspace("ml-workspace", MlWorkspaceArgs(
        workspace_name=workspace_name,
        storage_account_id=storage.account_id,
        key_vault_id=key_vault.vault_id,
        container_registry_id=registry.registry_id,
        app_insights_id=monitoring.app_insights_id,
        image_build_compute=cfg.image_build_cluster,
        public_access=cfg.workspace_public_access,
        hbi_workspace=cfg.hbi_workspace,
        serverless_subnet_id=aml_network.subnet_ids[plan.cluster_subnet],
        storage_endpoint_ids={group: pe.endpoint_id for group, pe in storage.private_endpoints.items()},
        **at, **common,
    ), opts=pulumi.ResourceOptions(depends_on=[*storage.private_endpoints.values(), *key_vault.private_endpoints.values(),
                                               *registry.private_endpoints.values()]))
    # The registry models are promoted through (README, "Model registry"): one per organisation, in
    # the stack whose file says `modelRegistry: {create: true}`.
    model_registry = None
    if names.ml_registry is not None:
        model_registry = ModelRegistry("model-registry", ModelRegistryArgs(
            registry_name=suffixed(names.ml_registry), user_principal_ids=cfg.model_registry.user_principal_ids,
            **at, **common))
    DiagnosticSettings("diagnostics", DiagnosticSettingsArgs(
        log_analytics_workspace_id=monitoring.log_analytics.id,
        targets=[
            LogTarget("workspace", workspace.workspace.id),
            LogTarget("key-vault", key_vault.vault.id),
            LogTarget("storage-blob", pulumi.Output.concat(storage.account.id, "/blobServices/default")),
            LogTarget("registry", registry.registry.id),
            *(LogTarget(f"nsg-{vnet}-{key}", nsg_id, NSG_LOG_CATEGORIES)
              for vnet, net in (("aml", aml_network), ("access", access_network)) for key, nsg_id in net.nsg_ids.items()),
        ],
    ))

    # ---- Monitoring of the ML lifecycle: the drift table's private ingestion path, alerts --------
    drift = None
    if cfg.alerts is not None:
        drift = DriftIngestion("drift", DriftIngestionArgs(
            table_name=DRIFT_TABLE,
            endpoint_name=names.data_collection_endpoint.value,
            rule_name=names.drift_rule.value,
            resource_group_name=rg_name,
            location=location,
            log_analytics_name=monitoring.log_analytics.name,
            log_analytics_id=monitoring.log_analytics.id,
            private_link_scope_name=monitoring.private_link_scope.name,
            retention_days=cfg.log_retention_days,
            publisher_principal_id=cfg.alerts.ml_identity_principal_id,
            protect=cfg.protect_stateful_resources,
            tags=tags,
        ))
        if cfg.alerts.enabled:
            Alerts("alerts", AlertsArgs(
                resource_group_name=rg_name,
                location=location,
                notify_group_name=names.notify_action_group.value,
                retrain_group_name=names.retrain_action_group.value,
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
                rule_prefix=names.alert_rule_prefix.value,
                tags=tags,
            ))
            # GitHub teams: the retraining trigger reads these alerts (workspace/retrain_trigger.py).
            if cfg.alerts.retrain_reader_principal_id:
                RetrainReader("retrain-reader", RetrainReaderArgs(
                    principal_id=cfg.alerts.retrain_reader_principal_id,
                    resource_group_id=resource_group.id,
                    tags=tags,
                ))

    # ---- Compute and access --------------------------------------------------------------------
    cluster_identity = ClusterIdentity("cluster-identity", ClusterIdentityArgs(
        identity_name=names.cluster_identity.value,
        resource_group_name=rg_name,
        location=location,
        registry_id=registry.registry.id,
        subscription_id=client.subscription_id,
        tags=tags,
    ))
    # Azure refuses no-public-IP compute until the workspace's private endpoint exists; the AcrPull
    # role exists before any cluster pulls an image.
    clusters = [ComputeCluster(f"cluster-{c.name}", ComputeClusterArgs(
        compute_name=c.name, vm_size=c.vm_size, min_nodes=c.min_nodes, max_nodes=c.max_nodes,
        idle_seconds_before_scale_down=c.idle_seconds_before_scale_down, low_priority=c.low_priority,
        workspace_name=workspace.workspace.name, resource_group_name=rg_name, location=location,
        subnet_id=aml_network.subnet_ids[plan.cluster_subnet],
        identity=ManagedIdentity(user_assigned_ids=[cluster_identity.identity_id]), tags=tags,
    ), opts=pulumi.ResourceOptions(depends_on=[*workspace.private_endpoints.values(), cluster_identity.acr_pull]))
        for c in cfg.compute_clusters]
    # ---- Private serving (README "Private serving"): AKS with the Azure ML extension in the scoring
    # subnet, attached to the workspace as Kubernetes compute; `serving: {enabled: false}` in dev.
    serving = None
    if cfg.serving.enabled and cfg.serving_tls is not None:
        sv = cfg.serving
        serving = PrivateServing("serving", PrivateServingArgs(
            cluster_name=f"aks-{cfg.name_prefix}-{cfg.environment}",
            identity_name=names.serving_identity.value if names.serving_identity else "",
            resource_group_name=rg_name,
            location=location,
            tenant_id=client.tenant_id,
            subscription_id=client.subscription_id,
            subnet_id=aml_network.subnet_ids[plan.serving_subnet],
            vnet_id=aml_network.vnet.id,
            client_vnet_ids={"bastion": access_network.vnet.id},
            registry_id=registry.registry.id,
            workspace_name=workspace.workspace.name,
            compute_name=sv.compute_name,
            namespace=sv.namespace,
            compute_identity_id=cluster_identity.identity_id,
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
            diagnostics=DiagnosticsOptions(monitoring.log_analytics.id, AKS_LOG_CATEGORIES),
            tags=tags,
        ), opts=pulumi.ResourceOptions(depends_on=[*workspace.private_endpoints.values(), cluster_identity.acr_pull]))
    jump_host = LinuxVirtualMachine("jump-host", LinuxVirtualMachineArgs(
        resource_group_name=rg_name,
        location=location,
        vm_name=plan.jump_host.name.value,
        vm_size=plan.jump_host.vm_size,
        subnet_id=access_network.subnet_ids[plan.jump_host.subnet],
        admin_username=cfg.admin_username,
        ssh_public_key=cfg.admin_ssh_public_key,
        tags=tags,
    ))
    agent_pool = None
    if plan.agents and cfg.agent_registration_token is not None:
        agent_pool = CiAgentPool("ci-agents", CiAgentPoolArgs(
            kind=cfg.agents.kind, url=cfg.agents.url, pool=cfg.agents.pool, labels=cfg.agents.labels,
            vm_size=cfg.agents.vm_size, token_expires_epoch=cfg.agents.token_expires_epoch,
            vm_names=[vm.name.value for vm in plan.agents],
            identity_name=names.agent_identity.value,
            resource_group_name=rg_name,
            location=location,
            subnet_id=access_network.subnet_ids[plan.agent_subnet],
            subscription_id=client.subscription_id,
            vault_id=key_vault.vault.id,
            vault_name=key_vault.vault.name,
            vault_dns_suffix=cloud.key_vault_dns_suffix,
            key_vault_resource=cloud.key_vault_resource,
            registration_token=cfg.agent_registration_token,
            admin_username=cfg.admin_username,
            ssh_public_key=cfg.admin_ssh_public_key,
            tags=tags,
        ), opts=pulumi.ResourceOptions(depends_on=list(key_vault.private_endpoints.values())))

    # ---- Stack outputs: what a user needs next; nothing secret. --------------------------------
    pulumi.export("resourceGroupName", rg_name)
    pulumi.export("workspaceName", workspace.workspace.name)
    pulumi.export("workspaceId", workspace.workspace.id)
    pulumi.export("amlVnetId", aml_network.vnet_id)
    pulumi.export("bastionVnetId", access_network.vnet_id)
    pulumi.export("bastionName", bastion.bastion_name)
    pulumi.export("jumpHostName", jump_host.vm_name)
    pulumi.export("storageAccountName", storage.account.name)
    pulumi.export("keyVaultName", key_vault.vault.name)
    pulumi.export("containerRegistryLoginServer", registry.registry.login_server)
    pulumi.export("modelRegistryName", model_registry.registry.name if model_registry else None)
    pulumi.export("computeClusters", [c.compute_name for c in clusters])
    # The Kubernetes compute models deploy to (`compute: azureml:<name>` in ml/aml/endpoint.yml); null without serving.
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
        "vmNames": agent_pool.vm_names if agent_pool else [],
        "identityClientId": agent_pool.identity_client_id if agent_pool else None,
    })


main()
