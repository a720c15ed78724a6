"""What the program builds, computed once from the configuration before any resource is declared.

The plan is plain, frozen data: every physical name, both VNets with their subnets, what sits in
each subnet and how many addresses it takes, every private endpoint by group id, the VMs and the
compute clusters. The configuration check (components/plan_checks.py) judges the plan (do the names
fit Azure's rules, does each subnet hold what is put in it), and `__main__.py` declares what the plan
lists, so the check and the program cannot drift apart (tests/test_plan.py proves the program
registers exactly the planned subnets, endpoints, VMs and clusters).

It imports no Pulumi resource module: a tool or a test builds the plan of a stack file in
milliseconds, without the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional

from isolated_mlops.components import naming
from isolated_mlops.components.config_schema import BASTION_SUBNET_NAME, PlatformConfig
from isolated_mlops.components.zones import (AZURE_MONITOR_GROUP_ID, MODEL_REGISTRY_GROUP_IDS,
                                             private_endpoint_addresses, storage_group_ids)

# The config keys every prefix-built name comes from.
PREFIX_SOURCES = ("namePrefix", "environment")
# What decides the training subnet's demand: the cluster list, each item, each maxNodes. Listed for
# the whole subnet, not per cluster: a cluster item that is not an object (reported already) has no
# occupant here, yet still hides the true node count.
CLUSTER_SOURCES = ("computeClusters", "computeClusters[*]", "computeClusters[*].maxNodes")

# Occupant kinds: what takes addresses in a subnet.
JUMP_HOST, AGENT, CLUSTER_NODES, PRIVATE_ENDPOINT = "jump host", "agent", "compute nodes", "private endpoint"
SERVING = "serving cluster"
# The subnet (by its stack-file key) each kind of occupant is placed in.
SUBNET_OF = {JUMP_HOST: "jumpHost", AGENT: "agents", CLUSTER_NODES: "training", PRIVATE_ENDPOINT: "privateEndpoints",
             SERVING: "scoring"}
# What decides the serving cluster's demand (components/serving_config.py ServingConfig.subnet_addresses).
SERVING_SOURCES = ("serving", "serving.maxNodes", "serving.maxPodsPerNode")


@dataclass(frozen=True)
class PlannedName:
    """One physical name. With a random suffix (kept in state, known only at deployment) the name is
    `head + suffix + tail`; the suffix has a fixed length and alphabet, so its length is exact now."""

    kind: str
    """The naming rule it must pass (components/naming.py AZURE_NAME_RULES; no rule, no check)."""
    head: str
    tail: str = ""
    suffixed: bool = False
    path: str = "namePrefix"
    """The config key a user changes to fix it."""
    sources: tuple[str, ...] = PREFIX_SOURCES
    """Every config key the name is built from."""

    @property
    def value(self) -> str:
        """The name itself; only for names without the random suffix."""
        if self.suffixed:
            raise ValueError(f"the {self.kind} name takes the random suffix: use with_suffix()")
        return self.head

    def with_suffix(self, suffix: str) -> str:
        return f"{self.head}{suffix}{self.tail}" if self.suffixed else self.head

    @property
    def longest(self) -> str:
        """With a worst-case suffix: what Azure's length limits are checked against."""
        return self.with_suffix("a" * naming.SUFFIX_LENGTH)

    @property
    def shown(self) -> str:
        """As a message shows it: the random suffix as `?????`."""
        return self.with_suffix("?" * naming.SUFFIX_LENGTH)


@dataclass(frozen=True)
class Names:
    """Every name the stack gives its own resources (cluster and VM names are on those)."""

    resource_group: PlannedName
    storage_account: PlannedName
    key_vault: PlannedName
    container_registry: PlannedName
    ml_workspace: PlannedName
    log_analytics: PlannedName
    app_insights: PlannedName
    bastion: PlannedName
    private_link_scope: PlannedName
    data_collection_endpoint: PlannedName
    drift_rule: PlannedName
    notify_action_group: PlannedName
    retrain_action_group: PlannedName
    alert_rule_prefix: PlannedName
    cluster_identity: PlannedName
    agent_identity: PlannedName
    ml_registry: Optional[PlannedName]
    """None when the stack creates no model registry."""
    serving_identity: Optional[PlannedName] = None
    """The serving cluster's control-plane identity; None when the stack serves no models."""


@dataclass(frozen=True)
class Occupant:
    """Something that takes addresses in a subnet."""

    kind: str
    """JUMP_HOST, AGENT, CLUSTER_NODES or PRIVATE_ENDPOINT."""
    name: str
    """The VM's or cluster's name, or the endpoint's group id."""
    addresses: int
    sources: tuple[str, ...] = ()
    """The config keys that decide `addresses`: a problem at one of them already says what is wrong."""


@dataclass(frozen=True)
class PlannedSubnet:
    key: str
    """How the program refers to the subnet (`training`, `privateEndpoints`, ...), as in the stack file."""
    name: str
    """The subnet's Azure name."""
    address_prefix: str
    config_key: str
    """The stack-file key that sets the prefix: capacity problems are reported there."""
    nat_egress: bool = False
    """Outbound traffic through the VNet's NAT gateway (network/virtual_network.py says why)."""
    private_endpoints: bool = False
    """Holds the private endpoints."""
    endpoint_client: bool = False
    """Its hosts use the private endpoints: the endpoints' subnet accepts their connections."""
    within_subnet: bool = False
    """Its hosts talk to each other (a cluster's nodes in distributed training)."""
    ssh_from: tuple[str, ...] = ()
    """Keys of the subnets allowed to open SSH into this one (Bastion's)."""
    https_from: tuple[str, ...] = ()
    """Keys of the subnets allowed to open HTTPS into this one (the serving cluster's clients)."""
    occupants: tuple[Occupant, ...] = ()

    @property
    def addresses(self) -> int:
        """The addresses the occupants take (Azure's own 5 not included)."""
        return sum(o.addresses for o in self.occupants)

    @property
    def demand_sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(key for o in self.occupants for key in o.sources))


@dataclass(frozen=True)
class PlannedVnet:
    role: str
    """`aml` or `bastion`: the {r} of its name."""
    name: PlannedName
    address_space: str
    subnets: tuple[PlannedSubnet, ...]


@dataclass(frozen=True)
class PlannedEndpoint:
    owner: str
    """The resource it connects to: workspace, storage, key_vault, container_registry, monitoring, model_registry."""
    group_id: str
    addresses: int
    subnet: str


@dataclass(frozen=True)
class PlannedVm:
    role: str
    """`jump`, `agent0`, `agent1`, ...: the {r} of its name."""
    name: PlannedName
    vm_size: str
    subnet: str


@dataclass(frozen=True)
class PlannedCluster:
    name: PlannedName
    vm_size: str
    max_nodes: int
    subnet: str


@dataclass(frozen=True)
class Plan:
    config: PlatformConfig
    names: Names
    vnets: tuple[PlannedVnet, ...]
    private_endpoints: tuple[PlannedEndpoint, ...]
    jump_host: PlannedVm
    agents: tuple[PlannedVm, ...]
    clusters: tuple[PlannedCluster, ...]

    def vnet(self, role: str) -> PlannedVnet:
        [vnet] = [v for v in self.vnets if v.role == role]
        return vnet

    @property
    def subnets(self) -> tuple[PlannedSubnet, ...]:
        return tuple(s for v in self.vnets for s in v.subnets)

    def subnet(self, key: str) -> PlannedSubnet:
        [subnet] = [s for s in self.subnets if s.key == key]
        return subnet

    def endpoint_group_ids(self, owner: Optional[str] = None) -> tuple[str, ...]:
        """Every endpoint's group id (once per endpoint), or those of one owner."""
        return tuple(e.group_id for e in self.private_endpoints if owner in (None, e.owner))

    @property
    def endpoint_subnet(self) -> str:
        return SUBNET_OF[PRIVATE_ENDPOINT]

    @property
    def cluster_subnet(self) -> str:
        """Every cluster's subnet (and the workspace's serverless compute's)."""
        return SUBNET_OF[CLUSTER_NODES]

    @property
    def agent_subnet(self) -> str:
        return SUBNET_OF[AGENT]

    @property
    def serving_subnet(self) -> str:
        """The serving cluster's nodes, pods, internal load balancer and API server endpoint."""
        return SUBNET_OF[SERVING]

    @property
    def vms(self) -> tuple[PlannedVm, ...]:
        return (self.jump_host, *self.agents)

    def all_names(self) -> Iterator[PlannedName]:
        """Every planned name, in the order the configuration check reports them."""
        n = self.names
        yield from (n.resource_group, n.storage_account, n.key_vault, n.container_registry, n.ml_workspace,
                    n.log_analytics, n.app_insights, n.bastion)
        yield from (v.name for v in self.vnets)
        yield self.jump_host.name
        if n.ml_registry is not None:
            yield n.ml_registry
        yield from (vm.name for vm in self.agents)
        yield from (c.name for c in self.clusters)
        yield from (n.private_link_scope, n.data_collection_endpoint, n.drift_rule, n.notify_action_group,
                    n.retrain_action_group, n.alert_rule_prefix, n.cluster_identity, n.agent_identity)
        if n.serving_identity is not None:
            yield n.serving_identity


def _name(config: PlatformConfig, kind: str, role: str = "", path: str = "namePrefix",
          sources: tuple[str, ...] = PREFIX_SOURCES) -> PlannedName:
    # The template is split at the suffix before the parts are put in: a part is never parsed as a
    # template (a rejected prefix with a brace in it is still planned, and reported, not raised).
    head, found, tail = naming.TEMPLATES[kind].partition("{s}")
    parts = dict(p=config.name_prefix, e=config.environment, r=role)
    return PlannedName(kind, head.format(**parts), tail.format(**parts), bool(found), path, sources)


def agent_role(index: int) -> str:
    return f"agent{index}"


def _endpoints(config: PlatformConfig) -> tuple[PlannedEndpoint, ...]:
    """Every private endpoint, one per group id, in the private-endpoint subnet; with a model registry
    `blob` and `registry` appear twice (zones.py MODEL_REGISTRY_GROUP_IDS says why)."""
    owners = [("workspace", ("amlworkspace",)), ("storage", storage_group_ids(config.batch_endpoints)),
              ("key_vault", ("vault",)), ("container_registry", ("registry",)),
              ("monitoring", (AZURE_MONITOR_GROUP_ID,))]
    if config.model_registry.create:
        owners.append(("model_registry", MODEL_REGISTRY_GROUP_IDS))
    return tuple(PlannedEndpoint(owner, group, private_endpoint_addresses(group), SUBNET_OF[PRIVATE_ENDPOINT])
                 for owner, groups in owners for group in groups)


def build(config: PlatformConfig) -> Plan:
    """The plan of `config`. Total: a configuration with problems still gives a plan (the check
    reports the problems; names and demands built from a rejected key are not judged again)."""
    net = config.network
    jump_host = PlannedVm("jump", _name(config, "linux_vm", "jump"), config.jump_host.vm_size, SUBNET_OF[JUMP_HOST])
    agents = tuple(PlannedVm(agent_role(i), _name(config, "linux_vm", agent_role(i), "agents.count",
                                                   (*PREFIX_SOURCES, "agents.count")),
                             config.agents.vm_size, SUBNET_OF[AGENT]) for i in range(max(config.agents.count, 0)))
    clusters = tuple(
        PlannedCluster(_name_of_cluster(i, c.name), c.vm_size, c.max_nodes, SUBNET_OF[CLUSTER_NODES])
        for i, c in enumerate(config.compute_clusters))
    endpoints = _endpoints(config)

    def occupants(key: str) -> tuple[Occupant, ...]:
        # AmlCompute in a VNet takes one address per node, at most maxNodes of every cluster; with no
        # node public IP (compute/clusters.py) Azure adds no load balancer or public IP of its own.
        # Microsoft Learn, "Secure an Azure Machine Learning training environment with virtual
        # networks": "Each node within a compute cluster ... requires one IP address"; a subnet that
        # runs short leaves the cluster partially allocated. A VM takes one address (one NIC).
        return (*(Occupant(JUMP_HOST if vm is jump_host else AGENT, vm.name.head, 1,
                           () if vm is jump_host else ("agents.count",))
                  for vm in (jump_host, *agents) if vm.subnet == key),
                *(Occupant(CLUSTER_NODES, c.name.head, c.max_nodes, CLUSTER_SOURCES) for c in clusters if c.subnet == key),
                *(Occupant(PRIVATE_ENDPOINT, e.group_id, e.addresses, ("batchEndpoints", "modelRegistry"))
                  for e in endpoints if e.subnet == key),
                # Azure CNI: every node and pod takes an address of the subnet, plus the internal load
                # balancer and the API server's endpoint (ServingConfig.subnet_addresses cites it).
                *((Occupant(SERVING, "aks", config.serving.subnet_addresses, SERVING_SOURCES),)
                  if config.serving.enabled and key == SUBNET_OF[SERVING] else ()))

    def subnet(vnet: str, key: str, name: str, prefix: str, *, nat_egress: bool = False,
               private_endpoints: bool = False, endpoint_client: bool = False, within_subnet: bool = False,
               ssh_from: tuple[str, ...] = (), https_from: tuple[str, ...] = ()) -> PlannedSubnet:
        return PlannedSubnet(key, name, prefix, f"network.{vnet}.subnets.{key}", nat_egress=nat_egress,
                             private_endpoints=private_endpoints, endpoint_client=endpoint_client,
                             within_subnet=within_subnet, ssh_from=ssh_from, https_from=https_from,
                             occupants=occupants(key))

    # Which subnet may connect to which: Bastion's subnet reaches the VMs on SSH, the subnets whose
    # hosts use the private endpoints reach the endpoints' subnet, a cluster's nodes reach each other;
    # every NSG denies the rest of the VNets (network/virtual_network.py says why).
    aml = PlannedVnet("aml", _name(config, "virtual_network", "aml"), net.aml.address_space, (
        subnet("amlVnet", "privateEndpoints", "snet-private-endpoints", net.aml.private_endpoints_subnet,
               private_endpoints=True),
        subnet("amlVnet", "training", "snet-training", net.aml.training_subnet, nat_egress=True,
               endpoint_client=True, within_subnet=True),
        # With serving on, the jump host and the agents (the delivery's smoke and latency checks) call
        # the models through the cluster's internal load balancer and reach its private API server.
        subnet("amlVnet", "scoring", "snet-scoring", net.aml.scoring_subnet, nat_egress=True,
               endpoint_client=True, within_subnet=True,
               https_from=("jumpHost", "agents") if config.serving.enabled else ()),
    ))
    access = PlannedVnet("bastion", _name(config, "virtual_network", "bastion"), net.bastion.address_space, (
        subnet("bastionVnet", "bastion", BASTION_SUBNET_NAME, net.bastion.bastion_subnet),
        subnet("bastionVnet", "jumpHost", "snet-jump-host", net.bastion.jump_host_subnet, nat_egress=True,
               endpoint_client=True, ssh_from=("bastion",)),
        subnet("bastionVnet", "agents", "snet-agents", net.bastion.agents_subnet, nat_egress=True,
               endpoint_client=True, ssh_from=("bastion",)),
    ))
    names = Names(
        resource_group=_name(config, "resource_group"),
        storage_account=_name(config, "storage_account"),
        key_vault=_name(config, "key_vault"),
        container_registry=_name(config, "container_registry"),
        ml_workspace=_name(config, "ml_workspace"),
        log_analytics=_name(config, "log_analytics"),
        app_insights=_name(config, "app_insights"),
        bastion=_name(config, "bastion"),
        private_link_scope=_name(config, "private_link_scope"),
        data_collection_endpoint=_name(config, "data_collection_endpoint"),
        drift_rule=_name(config, "data_collection_rule", "drift"),
        notify_action_group=_name(config, "action_group", "notify"),
        retrain_action_group=_name(config, "action_group", "retrain"),
        alert_rule_prefix=_name(config, "alert_rule"),
        cluster_identity=_name(config, "managed_identity", "clusters"),
        agent_identity=_name(config, "managed_identity", "agents"),
        ml_registry=_name(config, "ml_registry") if config.model_registry.create else None,
        serving_identity=_name(config, "managed_identity", "aks") if config.serving.enabled else None,
    )
    return Plan(config=config, names=names, vnets=(aml, access), private_endpoints=endpoints,
                jump_host=jump_host, agents=agents, clusters=clusters)


def _name_of_cluster(index: int, name: str) -> PlannedName:
    path = f"computeClusters[{index}].name"
    return PlannedName("aml_compute", name, path=path, sources=(path,))
