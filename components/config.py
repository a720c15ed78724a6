"""The platform's configuration: read once, validated completely, then frozen; and its plan.

Everything that differs between environments lives in the stack files (`Pulumi.<stack>.yaml`).
Every problem found is collected and reported together in one `pulumi.RunError`, each line naming
the key (with its path) and what is wrong, before the program declares its first resource.

The parts, each its own module:
- components/config_schema.py: the keys, Azure's limits on them, the typed configuration;
- components/config_reader.py: typed reading of raw values that records every problem;
- components/config_sections.py: each part of the stack file (network, clusters, agents, alerts...);
- components/ssh_keys.py: the admin's SSH public key;
- components/plan.py and plan_checks.py: what the program builds, and its check (names, capacity).
This module puts them in order and is what importers use: the names below are re-exported here.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any, Collection, Mapping, Optional

import pulumi

from isolated_mlops.components import naming, vm_sizes
from isolated_mlops.components import plan as planning
from isolated_mlops.components.config_reader import Problems, Reader, all_project_config, is_secret_key, project_values
from isolated_mlops.components.config_schema import (
    AGENT_KINDS, AGENT_USER, AZURE_RESERVED_ADDRESSES, BASTION_SKUS, BASTION_SUBNET_MAX_PREFIX, BASTION_SUBNET_NAME,
    DEFAULT_IDLE_SECONDS, DEFAULT_LOG_RETENTION_DAYS, LOG_RETENTION_DAYS, PROJECT_NAMESPACE, RESERVED_ADMIN_NAMES,
    SECRET_KEYS, SECRET_SHOWN_AS, SMALLEST_SUBNET_PREFIX, STORAGE_SKUS, TOKEN_KEY, TOP_LEVEL_KEYS, VM_SIZE_PATTERN,
    AgentsConfig, AlertsConfig, AmlVnetConfig, BastionVnetConfig, ComputeClusterConfig, ConfigError, JumpHostConfig,
    ModelRegistryConfig, NetworkConfig, PlatformConfig)
from isolated_mlops.components.config_sections import (
    check_region, check_token, check_vm_sizes, read_agents, read_alerts, read_bastion_sku, read_clusters,
    read_model_registry, read_network, read_tags)
from isolated_mlops.components.plan import Plan
from isolated_mlops.components.plan_checks import check_capacity, check_names
from isolated_mlops.components.serving_config import MIN_VCPUS as MIN_SERVING_VCPUS
from isolated_mlops.components.serving_config import TLS_SECRET_KEYS, ServingConfig, check_tls_secrets, read_serving
from isolated_mlops.components.zones import CLOUDS
from isolated_mlops.components.ssh_keys import public_key_problem

__all__ = [
    "AGENT_KINDS", "AZURE_RESERVED_ADDRESSES", "BASTION_SKUS", "BASTION_SUBNET_MAX_PREFIX", "BASTION_SUBNET_NAME",
    "DEFAULT_IDLE_SECONDS", "DEFAULT_LOG_RETENTION_DAYS", "LOG_RETENTION_DAYS", "PROJECT_NAMESPACE",
    "RESERVED_ADMIN_NAMES", "SECRET_KEYS", "SECRET_SHOWN_AS", "SMALLEST_SUBNET_PREFIX", "STORAGE_SKUS", "TOKEN_KEY",
    "TOP_LEVEL_KEYS", "VM_SIZE_PATTERN", "AgentsConfig", "AlertsConfig", "AmlVnetConfig", "BastionVnetConfig",
    "ComputeClusterConfig", "ConfigError", "JumpHostConfig", "ModelRegistryConfig", "NetworkConfig", "Plan",
    "PlatformConfig", "all_project_config", "load", "load_plan", "project_values", "validate", "validate_plan",
]


def load(stack: Optional[str] = None) -> PlatformConfig:
    """Read and validate the stack's configuration; raise one ConfigError listing every problem."""
    return load_plan(stack).config


def load_plan(stack: Optional[str] = None) -> Plan:
    """The plan of the stack's configuration (read, validated and planned once), or one ConfigError."""
    values = all_project_config()
    plan = validate_plan(values, stack or pulumi.get_stack(), {key for key in values if is_secret_key(key)})
    config = plan.config
    token: Optional[pulumi.Output[str]] = None
    if config.agents.count > 0:
        # validate() proved it is set, as a secret; the SDK keeps it a secret Output from here on.
        token = pulumi.Config(PROJECT_NAMESPACE).require_secret(TOKEN_KEY)
    tls = None
    if config.serving.enabled:
        # validate() proved both are set, as secrets.
        cert, key = (pulumi.Config(PROJECT_NAMESPACE).require_secret(k) for k in TLS_SECRET_KEYS)
        tls = (cert, key)
    for note in config.notes:
        pulumi.log.warn(note)
    return dataclasses.replace(plan, config=dataclasses.replace(config, agent_registration_token=token,
                                                                serving_tls=tls))


def validate(values: Mapping[str, Any], stack: str, secret_keys: Collection[str] = ()) -> PlatformConfig:
    """The typed configuration for `values` (our keys, as `project_values` gives them), or one
    ConfigError listing every problem. `secret_keys`: the keys the CLI marked secret."""
    return validate_plan(values, stack, secret_keys).config


def validate_plan(values: Mapping[str, Any], stack: str, secret_keys: Collection[str] = ()) -> Plan:
    """The plan of the typed configuration for `values`, or one ConfigError listing every problem:
    the keys one by one, then the plan they make (its names, what each subnet holds)."""
    problems = Problems()
    root = Reader(problems, "", values, secret_keys=frozenset(secret_keys))
    root.unknown_keys(TOP_LEVEL_KEYS)

    environment = root.string(
        "environment", default=stack, pattern=naming.ENVIRONMENT_PATTERN,
        pattern_help="must be 1-10 lowercase letters or digits, starting with a letter "
                     "(it becomes part of every resource name; set `environment` if the stack name is not)")
    name_prefix = root.string("namePrefix", pattern=naming.PREFIX_PATTERN,
                              pattern_help="must be 2-8 lowercase letters or digits, starting with a letter")
    cloud = root.string("cloud", default="AzureCloud", choices=tuple(CLOUDS))
    location = root.string("location", pattern=r"[a-z][a-z0-9]*",
                           pattern_help="must be an Azure region name such as westeurope (lowercase, no spaces)")
    tags = read_tags(root.mapping("tags", default={}))

    admin_username = root.string("adminUsername", pattern=r"[a-z_][a-z0-9_-]{0,31}",
                                 pattern_help="must be a Linux user name (lowercase, at most 32 characters)")
    if admin_username.lower() in RESERVED_ADMIN_NAMES:
        problems.add("adminUsername", f"{root.show('adminUsername', admin_username)} is a name Azure "
                     "reserves for VMs; choose another")
    elif admin_username == AGENT_USER:
        # The admin has passwordless sudo; the agents' jobs run as AGENT_USER without it, cut off
        # from the VM identity (docs/delivery.md, "Who can read the token"). One user can't be both.
        problems.add("adminUsername", f"{root.show('adminUsername', admin_username)} is the user the agents' "
                     "jobs run as (no sudo); choose another")
    admin_ssh_public_key = root.string("adminSshPublicKey")
    if admin_ssh_public_key and (key_problem := public_key_problem(admin_ssh_public_key)):
        problems.add("adminSshPublicKey", key_problem)

    network, subnets = read_network(root.mapping("network"), problems)
    clusters = read_clusters(root, problems)
    image_build_cluster = root.string("imageBuildCluster")
    if image_build_cluster and clusters and not problems.at("computeClusters") \
            and image_build_cluster not in {c.name for c in clusters}:
        problems.add("imageBuildCluster", f"{root.show('imageBuildCluster', image_build_cluster)} is not one of "
                     f"the computeClusters ({', '.join(c.name for c in clusters)}); the workspace builds "
                     "images on a cluster this stack always creates")
    build = next((c for c in clusters if c.name == image_build_cluster), None)
    if build is not None and not vm_sizes.is_cpu_only(build.vm_size):
        # Microsoft: the image-build compute supports only a CPU SKU (components/vm_sizes.py).
        problems.add("imageBuildCluster", f"{root.show('imageBuildCluster', image_build_cluster)} runs on "
                     f"{build.vm_size}, a GPU/FPGA size; Azure Machine Learning builds images only on a CPU "
                     "cluster: name a CPU cluster (D, E, F, B series)")

    jump_host_reader = root.mapping("jumpHost")
    jump_host_reader.unknown_keys(("vmSize",))
    jump_host = JumpHostConfig(vm_size=jump_host_reader.string(
        "vmSize", pattern=VM_SIZE_PATTERN, pattern_help="must be an Azure VM size such as Standard_B2s_v2"))

    agents = read_agents(root.mapping("agents"), problems)
    check_token(root, problems, agents)
    alerts = read_alerts(root.mapping("alerts"), problems, agents.kind) if "alerts" in values else None
    model_registry = read_model_registry(root.mapping("modelRegistry", default={}), problems)
    serving = read_serving(root.mapping("serving", default={}), problems, _vnet_spaces(network, problems), cloud)
    check_tls_secrets(root, problems, serving)

    check_region(root, problems, location, cloud)
    notes = check_vm_sizes(root, problems, location, cloud, [
        *((f"computeClusters[{i}].vmSize", "computeClusters", c.vm_size) for i, c in enumerate(clusters)),
        ("jumpHost.vmSize", "jumpHost", jump_host.vm_size), ("agents.vmSize", "agents", agents.vm_size),
        *([("serving.vmSize", "serving", serving.vm_size)] if serving.enabled else [])])
    _check_serving_size(problems, serving)

    config = PlatformConfig(
        project=PROJECT_NAMESPACE,
        environment=environment,
        location=location,
        cloud=cloud,
        name_prefix=name_prefix,
        tags=tags,
        protect_stateful_resources=root.boolean("protectStatefulResources"),
        # Defaults: private (the platform's point), no batch endpoints (two fewer private endpoints
        # until they are wanted), and Log Analytics' own default retention.
        workspace_public_access=root.boolean("workspacePublicAccess", default=False),
        hbi_workspace=root.boolean("hbiWorkspace", default=False),
        batch_endpoints=root.boolean("batchEndpoints", default=False),
        bastion_sku=read_bastion_sku(root),
        log_retention_days=root.integer("logRetentionDays", default=DEFAULT_LOG_RETENTION_DAYS,
                                        minimum=LOG_RETENTION_DAYS[0], maximum=LOG_RETENTION_DAYS[1]),
        storage_sku=root.string("storageSku", choices=STORAGE_SKUS),
        image_build_cluster=image_build_cluster,
        admin_username=admin_username,
        admin_ssh_public_key=admin_ssh_public_key,
        network=network,
        compute_clusters=tuple(clusters),
        jump_host=jump_host,
        agents=agents,
        alerts=alerts,
        model_registry=model_registry,
        serving=serving,
        notes=tuple(notes),
    )
    # The plan is judged in the same pass (all problems in one run): what each subnet holds, and the
    # full names, but only those whose parts are themselves valid: a name built from a rejected
    # prefix says nothing new.
    plan = planning.build(config)
    check_capacity(plan, problems, root, subnets)
    sources = {key for name in plan.all_names() for key in name.sources}
    for path, message in check_names(plan, skip={key for key in sources if problems.at(key)},
                                     hidden=set(secret_keys)):
        problems.add(path, message)
    if problems.items:
        raise ConfigError(problems.items)
    return plan


def _vnet_spaces(network: NetworkConfig, problems: Problems) -> list[Optional[ipaddress.IPv4Network]]:
    """The VNets' address spaces that parsed and have no problem of their own (reported once already)."""
    spaces: list[Optional[ipaddress.IPv4Network]] = []
    for key, text in (("amlVnet", network.aml.address_space), ("bastionVnet", network.bastion.address_space)):
        if problems.at(f"network.{key}.addressSpace"):
            spaces.append(None)
            continue
        try:
            spaces.append(ipaddress.IPv4Network(text))
        except ValueError:
            spaces.append(None)
    return spaces


def _check_serving_size(problems: Problems, serving: ServingConfig) -> None:
    """The serving nodes' size has the vCPUs the Azure ML extension asks for in production (serving_config.MIN_VCPUS)."""
    parsed = vm_sizes.parse(serving.vm_size) if serving.enabled and not problems.at("serving.vmSize") else None
    if parsed is not None and parsed.vcpus < MIN_SERVING_VCPUS:
        problems.add("serving.vmSize", f"{serving.vm_size} has {parsed.vcpus} vCPUs; the Azure ML extension needs at "
                     f"least {MIN_SERVING_VCPUS} vCPUs and 14 GB per node in production "
                     "(how-to-deploy-kubernetes-extension): use e.g. Standard_D4s_v5")
