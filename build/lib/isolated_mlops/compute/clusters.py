"""AmlCompute clusters inside the training subnet, with no public IP on any node, and the identity
they pull images with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
from pulumi_azure_native import authorization, managedidentity
from pulumi_azure_native import machinelearningservices as ml

from isolated_mlops.components.config import ComputeClusterConfig
from isolated_mlops.components.roles import ACR_PULL, role_definition_id


@dataclass
class ClusterIdentityArgs:
    identity_name: str
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    registry_id: pulumi.Input[str]
    """The workspace's private registry: the identity gets AcrPull on it, nothing else."""
    subscription_id: pulumi.Input[str]
    tags: Mapping[str, str] = field(default_factory=dict)


class ClusterIdentity(pulumi.ComponentResource):
    """`mlops:compute:ClusterIdentity`: one user-assigned identity for every cluster, AcrPull on the registry.

    The registry's admin user is off, so a cluster pulls its job images with its managed identity
    ("Set up authentication between Azure Machine Learning and other services", Azure Container
    Registry without admin user: https://learn.microsoft.com/azure/machine-learning/how-to-identity-based-service-authentication#scenario-azure-container-registry-without-admin-user).
    AML grants AcrPull to a cluster's system-assigned identity by itself only in some cases (not when
    the cluster exists before the workspace's registry does, the same page says), and public reports
    had to grant it by hand. So the program grants it, to an identity it creates first: the role
    exists before any cluster does, and a grant that AML also makes to a system-assigned identity
    cannot collide with ours (Azure refuses a second identical role assignment).
    """

    identity: managedidentity.UserAssignedIdentity
    acr_pull: authorization.RoleAssignment

    def __init__(self, name: str, args: ClusterIdentityArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlops:compute:ClusterIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=args.identity_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=dict(args.tags),
            opts=child,
        )
        self.acr_pull = authorization.RoleAssignment(
            f"{name}-acr-pull",
            scope=args.registry_id,
            role_definition_id=role_definition_id(args.subscription_id, ACR_PULL),
            principal_id=self.identity.principal_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            description="Compute clusters pull job images from the private registry (admin user off).",
            opts=child,
        )
        self.register_outputs({"identity_id": self.identity.id, "principal_id": self.identity.principal_id})


@dataclass
class ComputeClusterArgs:
    cluster: ComputeClusterConfig
    workspace_name: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    workspace_private_endpoint: pulumi.Resource
    """Azure refuses no-public-IP compute until the workspace's private endpoint exists."""
    identity: ClusterIdentity
    """The identity the nodes pull images with; its AcrPull role exists before the cluster."""
    tags: Mapping[str, str] = field(default_factory=dict)


class ComputeCluster(pulumi.ComponentResource):
    """`mlops:compute:ComputeCluster`: 0..N nodes, idle scale-down, SSH closed, managed identity."""

    compute: ml.Compute

    def __init__(self, name: str, args: ComputeClusterArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlops:compute:ComputeCluster", name, None, opts)
        cluster = args.cluster
        self.compute = ml.Compute(
            f"{name}-compute",
            compute_name=cluster.name,
            workspace_name=args.workspace_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            # A cluster takes one system-assigned identity or user-assigned ones; the first
            # user-assigned identity is the one AML sets up registry access and mounts with
            # (https://learn.microsoft.com/azure/machine-learning/how-to-identity-based-service-authentication#compute-cluster).
            identity=ml.ManagedServiceIdentityArgs(
                type=ml.ManagedServiceIdentityType.USER_ASSIGNED,
                user_assigned_identities=[args.identity.identity.id],
            ),
            properties=ml.AmlComputeArgs(
                compute_type="AmlCompute",
                disable_local_auth=True,
                properties=ml.AmlComputePropertiesArgs(
                    vm_size=cluster.vm_size,
                    vm_priority=ml.VmPriority.LOW_PRIORITY if cluster.low_priority else ml.VmPriority.DEDICATED,
                    os_type=ml.OsType.LINUX,
                    scale_settings=ml.ScaleSettingsArgs(
                        min_node_count=cluster.min_nodes,
                        max_node_count=cluster.max_nodes,
                        node_idle_time_before_scale_down=f"PT{cluster.idle_seconds_before_scale_down}S",
                    ),
                    subnet=ml.ResourceIdArgs(id=args.subnet_id),
                    # Nodes get only private IPs; egress goes through the subnet's NAT gateway.
                    enable_node_public_ip=False,
                    remote_login_port_public_access=ml.RemoteLoginPortPublicAccess.DISABLED,
                ),
            ),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.workspace_private_endpoint,
                                                                 args.identity.acr_pull]),
        )
        self.register_outputs({"compute_id": self.compute.id, "compute_name": cluster.name})


def create_clusters(name: str, clusters: Sequence[ComputeClusterConfig], **common) -> list[ComputeCluster]:
    """One ComputeCluster per configured cluster, logical names derived from the cluster names."""
    return [ComputeCluster(f"{name}-{c.name}", ComputeClusterArgs(cluster=c, **common)) for c in clusters]
