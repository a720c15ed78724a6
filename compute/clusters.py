"""AmlCompute clusters inside the training subnet, with no public IP on any node."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from components.config import ComputeClusterConfig


@dataclass
class ComputeClusterArgs:
    cluster: ComputeClusterConfig
    workspace_name: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    workspace_private_endpoint: pulumi.Resource
    """Azure refuses no-public-IP compute until the workspace's private endpoint exists."""
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
            identity=ml.ManagedServiceIdentityArgs(type=ml.ManagedServiceIdentityType.SYSTEM_ASSIGNED),
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
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.workspace_private_endpoint]),
        )
        self.register_outputs({"compute_id": self.compute.id, "compute_name": cluster.name})


def create_clusters(name: str, clusters: Sequence[ComputeClusterConfig], **common) -> list[ComputeCluster]:
    """One ComputeCluster per configured cluster, logical names derived from the cluster names."""
    return [ComputeCluster(f"{name}-{c.name}", ComputeClusterArgs(cluster=c, **common)) for c in clusters]
