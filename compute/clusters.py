"""AmlCompute clusters inside the training subnet, with no public IP on any node, and the identity
they pull images with."""

from dataclasses import dataclass
from typing import Optional

import pulumi
from pulumi_azure_native import authorization, managedidentity
from pulumi_azure_native import machinelearningservices as ml

from isolated_mlops.components.interface import CommonArgs, apply_common, identity_type
from isolated_mlops.components.roles import ACR_PULL, role_definition_id
from isolated_mlops.components.standalone import as_args, depends_on_of, refuse_unsupported, subscription_of, type_token


@dataclass(kw_only=True)
class ClusterIdentityArgs(CommonArgs):
    """The user-assigned identity compute clusters pull their job images with."""

    identity_name: str
    """The identity's Azure name."""
    resource_group_name: pulumi.Input[str]
    """The identity's resource group."""
    location: pulumi.Input[str]
    """The Azure region."""
    registry_id: pulumi.Input[str]
    """The workspace's private registry: the identity gets AcrPull on it, nothing else."""
    subscription_id: pulumi.Input[str]
    """The registry's subscription: the role definition id is under it."""


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

    Common arguments: tags and protect on the identity and its role; lock and role assignments on the
    identity. Depend on `acr_pull` (Python) or on the component before creating a cluster.
    """

    identity_id: pulumi.Output[str]
    """The identity's resource id: a cluster's `identity.user_assigned_ids`."""
    principal_id: pulumi.Output[str]
    """The identity's object id."""
    client_id: pulumi.Output[str]
    """The identity's client id."""

    def __init__(self, name: str, args: ClusterIdentityArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(type_token("mlops:compute:ClusterIdentity"), name, None, opts)
        args = as_args(ClusterIdentityArgs, args)
        refuse_unsupported("ClusterIdentity", args, {
            "identity": "an identity has no identity of its own", "private_endpoint": "an identity has no endpoint",
            "diagnostics": "a user-assigned identity has no resource logs to send"})
        child = pulumi.ResourceOptions(parent=self, protect=args.protect or None)
        self.identity: managedidentity.UserAssignedIdentity = managedidentity.UserAssignedIdentity(
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
        self.common = apply_common(self, name, args, resource_id=self.identity.id, subscription_id=args.subscription_id)
        self.identity_id, self.principal_id = self.identity.id, self.identity.principal_id
        self.client_id = self.identity.client_id
        self.register_outputs({"identity_id": self.identity_id, "principal_id": self.principal_id,
                               "client_id": self.client_id})


@dataclass(kw_only=True)
class ComputeClusterArgs(CommonArgs):
    """An AmlCompute cluster in a subnet: no public IP on any node, SSH closed, local auth off.
    Give it `identity` (ManagedIdentity: a ClusterIdentity's id) so it pulls images without the admin user."""

    compute_name: str
    """The cluster's name in the workspace (2-16 characters)."""
    workspace_name: pulumi.Input[str]
    """The Azure ML workspace the cluster belongs to."""
    resource_group_name: pulumi.Input[str]
    """The workspace's resource group."""
    location: pulumi.Input[str]
    """The Azure region (the workspace's)."""
    subnet_id: pulumi.Input[str]
    """The subnet of the nodes (with NAT or firewall egress)."""
    vm_size: str
    """The nodes' VM size (`Standard_D4s_v5`, `Standard_NC24ads_A100_v4`)."""
    max_nodes: int
    """The most nodes the cluster scales to."""
    min_nodes: int = 0
    """The nodes kept when idle: 0 costs nothing when no job runs."""
    idle_seconds_before_scale_down: int = 120
    """Seconds a node stays idle before it is released."""
    low_priority: bool = False
    """Low-priority (preemptible) nodes: cheaper, may be taken back."""


class ComputeCluster(pulumi.ComponentResource):
    """`mlops:compute:ComputeCluster`: 0..N nodes, idle scale-down, SSH closed, managed identity. Common
    arguments: tags, protect and identity on the cluster; lock and role assignments on it. Put the
    workspace's private endpoint and the identity's AcrPull role in `opts.depends_on`: Azure refuses
    no-public-IP compute until the workspace's private endpoint exists."""

    compute_id: pulumi.Output[str]
    """The cluster's resource id."""
    compute_name: pulumi.Output[str]
    """The cluster's name in the workspace."""

    def __init__(self, name: str, args: ComputeClusterArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(type_token("mlops:compute:ComputeCluster"), name, None, opts)
        args = as_args(ComputeClusterArgs, args)
        refuse_unsupported("ComputeCluster", args, {
            "private_endpoint": "a cluster is reached through its workspace's endpoint",
            "diagnostics": "a cluster's logs are its workspace's (set them on the workspace)"})
        if not args.min_nodes <= args.max_nodes:
            raise ValueError(f"ComputeCluster: min_nodes={args.min_nodes} exceeds max_nodes={args.max_nodes}")
        kind = identity_type(args.identity)
        self.compute = ml.Compute(
            f"{name}-compute",
            compute_name=args.compute_name,
            workspace_name=args.workspace_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            # A cluster takes one system-assigned identity or user-assigned ones; the first
            # user-assigned identity is the one AML sets up registry access and mounts with
            # (https://learn.microsoft.com/azure/machine-learning/how-to-identity-based-service-authentication#compute-cluster).
            identity=ml.ManagedServiceIdentityArgs(
                type=ml.ManagedServiceIdentityType(kind),
                user_assigned_identities=list(args.identity.user_assigned_ids) or None,
            ) if kind is not None and args.identity is not None else None,
            properties=ml.AmlComputeArgs(
                compute_type="AmlCompute",
                disable_local_auth=True,
                properties=ml.AmlComputePropertiesArgs(
                    vm_size=args.vm_size,
                    vm_priority=ml.VmPriority.LOW_PRIORITY if args.low_priority else ml.VmPriority.DEDICATED,
                    os_type=ml.OsType.LINUX,
                    scale_settings=ml.ScaleSettingsArgs(
                        min_node_count=args.min_nodes,
                        max_node_count=args.max_nodes,
                        node_idle_time_before_scale_down=f"PT{args.idle_seconds_before_scale_down}S",
                    ),
                    subnet=ml.ResourceIdArgs(id=args.subnet_id),
                    # Nodes get only private IPs; egress goes through the subnet's NAT gateway.
                    enable_node_public_ip=False,
                    remote_login_port_public_access=ml.RemoteLoginPortPublicAccess.DISABLED,
                ),
            ),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect or None, depends_on=depends_on_of(opts)),
        )
        self.common = apply_common(self, name, args, resource_id=self.compute.id,
                                   subscription_id=subscription_of(self.compute.id))
        self.compute_id = self.compute.id
        self.compute_name = self.compute.name
        self.register_outputs({"compute_id": self.compute_id, "compute_name": self.compute_name})
