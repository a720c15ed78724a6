"""The platform's configuration: read once, validated completely, then frozen.

Everything that differs between environments lives in the stack files (`Pulumi.<stack>.yaml`);
this module only knows the *shape* of that configuration and Azure's rules about it. Every problem
found is collected and reported together in one `pulumi.RunError`, each line naming the key (with
its path) and what is wrong, before the program declares its first resource.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import pulumi

from components import naming
from components.zones import CLOUDS

PROJECT_NAMESPACE = "isolated-mlops"

AGENT_KINDS = ("azure-devops", "github")
STORAGE_SKUS = ("Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS")
# Log Analytics accepts 30..730 days of interactive retention on the PerGB2018 SKU.
LOG_RETENTION_DAYS = (30, 730)
# Azure's smallest subnet is /29; AzureBastionSubnet must be /26 or larger.
SMALLEST_SUBNET_PREFIX = 29
BASTION_SUBNET_MAX_PREFIX = 26
SSH_KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521")
# Linux admin names Azure refuses (compute API "reserved user names").
RESERVED_ADMIN_NAMES = frozenset({
    "administrator", "admin", "user", "user1", "test", "user2", "test1", "user3", "admin1", "1", "123",
    "a", "actuser", "adm", "admin2", "aspnet", "backup", "console", "david", "guest", "john", "owner",
    "root", "server", "sql", "support", "support_388945a0", "sys", "test2", "test3", "user4", "user5",
})


class ConfigError(pulumi.RunError):
    """All problems in a stack's configuration, one per line."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid stack configuration ({len(self.problems)} problem(s)):\n{lines}")


# --------------------------------------------------------------------------------------------
# The typed configuration
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AmlVnetConfig:
    """The AML VNet: private endpoints and compute live here."""

    address_space: str
    private_endpoints_subnet: str
    training_subnet: str
    scoring_subnet: str


@dataclass(frozen=True)
class BastionVnetConfig:
    """The access VNet: Bastion, the jump host and the CI/CD agents live here."""

    address_space: str
    bastion_subnet: str
    jump_host_subnet: str
    agents_subnet: str


@dataclass(frozen=True)
class NetworkConfig:
    aml: AmlVnetConfig
    bastion: BastionVnetConfig
    nat_gateway: bool
    """Give compute, jump host and agent subnets egress through a NAT gateway (else bring a firewall)."""


@dataclass(frozen=True)
class ComputeClusterConfig:
    name: str
    vm_size: str
    min_nodes: int
    max_nodes: int
    idle_seconds_before_scale_down: int
    low_priority: bool


@dataclass(frozen=True)
class JumpHostConfig:
    vm_size: str


@dataclass(frozen=True)
class AgentsConfig:
    kind: str
    """`azure-devops` (an Azure Pipelines agent) or `github` (a GitHub Actions runner)."""
    count: int
    vm_size: str
    url: str
    """Azure DevOps organisation URL, or the GitHub organisation/repository URL."""
    pool: str
    """Azure DevOps agent pool name (ignored for GitHub)."""
    labels: tuple[str, ...]
    """GitHub runner labels (ignored for Azure DevOps)."""


@dataclass(frozen=True)
class PlatformConfig:
    project: str
    environment: str
    location: str
    cloud: str
    name_prefix: str
    tags: Mapping[str, str]
    protect_stateful_resources: bool
    workspace_public_access: bool
    batch_endpoints: bool
    log_retention_days: int
    storage_sku: str
    image_build_cluster: str
    admin_username: str
    admin_ssh_public_key: str
    network: NetworkConfig
    compute_clusters: tuple[ComputeClusterConfig, ...]
    jump_host: JumpHostConfig
    agents: AgentsConfig
    agent_registration_token: Optional[pulumi.Output[str]] = field(default=None, compare=False)
    """A Pulumi secret; only ever written to Key Vault."""


# --------------------------------------------------------------------------------------------
# Reading and validating
# --------------------------------------------------------------------------------------------
_MISSING = object()

# Every key the project reads, and for object keys the fields they accept: unknown keys are typos.
TOP_LEVEL_KEYS = (
    "location", "cloud", "environment", "namePrefix", "tags", "protectStatefulResources",
    "workspacePublicAccess", "batchEndpoints", "logRetentionDays", "storageSku", "imageBuildCluster",
    "adminUsername", "adminSshPublicKey", "network", "computeClusters", "jumpHost", "agents",
    "agentRegistrationToken",
)
SECRET_KEYS = ("agentRegistrationToken",)


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{PROJECT_NAMESPACE}:{path}: {message}")


def _did_you_mean(key: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _Reader:
    """Typed access to a mapping of raw values that records, instead of raising, every problem."""

    def __init__(self, problems: _Problems, path: str, values: Mapping[str, Any]):
        self.problems = problems
        self.path = path
        self.values = values

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def unknown_keys(self, known: Sequence[str]) -> None:
        for key in self.values:
            if key not in known:
                self.problems.add(self._key(key), f"unknown key{_did_you_mean(key, known)}")

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        value = self.values.get(key, _MISSING)
        if value is _MISSING or value is None:
            if default is _MISSING:
                self.problems.add(self._key(key), "is required but not set")
            return None if default is _MISSING else default
        return value

    def string(self, key: str, default: Any = _MISSING, pattern: Optional[str] = None,
               pattern_help: str = "", choices: Sequence[str] = ()) -> str:
        value = self.raw(key, default)
        if value is None:
            return ""
        if not isinstance(value, str) or value == "":
            self.problems.add(self._key(key), f"must be a non-empty string, got {value!r}")
            return ""
        if choices and value not in choices:
            self.problems.add(self._key(key), f"must be one of {', '.join(choices)}, got {value!r}"
                              f"{_did_you_mean(value, choices)}")
        if pattern and not re.fullmatch(pattern, value):
            self.problems.add(self._key(key), f"{value!r} {pattern_help}")
        return value

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        value = self.raw(key, default)
        # The CLI hands top-level values over as strings; nested ones keep their YAML type.
        if isinstance(value, str) and value in ("true", "false"):
            return value == "true"
        if isinstance(value, bool):
            return value
        if value is not None:
            self.problems.add(self._key(key), f"must be true or false, got {value!r}")
        return False

    def integer(self, key: str, default: Any = _MISSING, minimum: Optional[int] = None,
                maximum: Optional[int] = None) -> int:
        value = self.raw(key, default)
        if value is None:
            return 0
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problems.add(self._key(key), f"must be a whole number, got {value!r}")
            return 0
        if minimum is not None and value < minimum:
            self.problems.add(self._key(key), f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            self.problems.add(self._key(key), f"must be at most {maximum}, got {value}")
        return value

    def mapping(self, key: str, default: Any = _MISSING) -> "_Reader":
        value = self.raw(key, default)
        if isinstance(value, str):
            value = _parse_json(value)
        if value is None:
            value = {}
        if not isinstance(value, dict):
            self.problems.add(self._key(key), f"must be an object (a YAML mapping), got {value!r}")
            value = {}
        return _Reader(self.problems, self._key(key), value)

    def sequence(self, key: str, default: Any = _MISSING) -> list[Any]:
        value = self.raw(key, default)
        if isinstance(value, str):
            value = _parse_json(value)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problems.add(self._key(key), f"must be a list, got {value!r}")
            return []
        return value

    def cidr(self, key: str) -> Optional[ipaddress.IPv4Network]:
        text = self.string(key)
        if not text:
            return None
        try:
            network = ipaddress.IPv4Network(text, strict=True)
        except ValueError as error:
            self.problems.add(self._key(key), f"{text!r} is not a valid IPv4 CIDR block ({error})")
            return None
        if not network.is_private:
            self.problems.add(self._key(key), f"{text} is not a private (RFC 1918) range")
        return network


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def all_project_config() -> dict[str, Any]:
    """Every `isolated-mlops:*` key the engine handed to this program, parsed the way the SDK does.

    `pulumi.Config` has no way to list keys, and unknown keys (typos) must be reported, so this reads
    the same two places the SDK reads: values set in-process and the PULUMI_CONFIG environment.
    """
    from pulumi.runtime import config as runtime_config

    merged: dict[str, Any] = dict(runtime_config.get_config_env())
    merged.update(runtime_config.CONFIG.get())
    prefix = f"{PROJECT_NAMESPACE}:"
    values: dict[str, Any] = {}
    for full_key, value in merged.items():
        if full_key.startswith(prefix):
            key = full_key[len(prefix):]
            values[key] = value if key in SECRET_KEYS else _parse_json(value) if isinstance(value, str) and value[:1] in "[{" else value
    return values


def load(stack: Optional[str] = None) -> PlatformConfig:
    """Read and validate the stack's configuration; raise one ConfigError listing every problem."""
    problems = _Problems()
    values = all_project_config()
    root = _Reader(problems, "", values)
    root.unknown_keys(TOP_LEVEL_KEYS)

    stack = stack or pulumi.get_stack()
    environment = root.string(
        "environment", default=stack, pattern=naming.ENVIRONMENT_PATTERN,
        pattern_help="must be 1-10 lowercase letters or digits, starting with a letter "
                     "(it becomes part of every resource name; set `environment` if the stack name is not)")
    name_prefix = root.string("namePrefix", pattern=naming.PREFIX_PATTERN,
                              pattern_help="must be 2-8 lowercase letters or digits, starting with a letter")
    cloud = root.string("cloud", default="AzureCloud", choices=tuple(CLOUDS))
    location = root.string("location", pattern=r"[a-z0-9]+",
                           pattern_help="must be an Azure region name such as westeurope (lowercase, no spaces)")

    tags_reader = root.mapping("tags", default={})
    tags: dict[str, str] = {}
    for key, value in tags_reader.values.items():
        if not isinstance(value, str):
            problems.add(f"tags.{key}", f"tag values must be strings, got {value!r}")
        else:
            tags[str(key)] = value

    admin_username = root.string("adminUsername", pattern=r"[a-z_][a-z0-9_-]{0,31}",
                                 pattern_help="must be a Linux user name (lowercase, at most 32 characters)")
    if admin_username.lower() in RESERVED_ADMIN_NAMES:
        problems.add("adminUsername", f"{admin_username!r} is a name Azure reserves for VMs; choose another")
    admin_ssh_public_key = root.string("adminSshPublicKey")
    if admin_ssh_public_key:
        _check_ssh_public_key(problems, "adminSshPublicKey", admin_ssh_public_key)

    network = _read_network(root.mapping("network"), problems)
    clusters = _read_clusters(root, problems)
    image_build_cluster = root.string("imageBuildCluster")
    if image_build_cluster and clusters and image_build_cluster not in {c.name for c in clusters}:
        problems.add("imageBuildCluster", f"{image_build_cluster!r} is not one of the computeClusters "
                     f"({', '.join(c.name for c in clusters)}); the workspace builds images on a cluster "
                     "this stack always creates")

    jump_host_reader = root.mapping("jumpHost")
    jump_host_reader.unknown_keys(("vmSize",))
    jump_host = JumpHostConfig(vm_size=jump_host_reader.string("vmSize"))

    agents = _read_agents(root.mapping("agents"), problems)
    token: Optional[pulumi.Output[str]] = None
    if agents.count > 0:
        token = pulumi.Config(PROJECT_NAMESPACE).get_secret("agentRegistrationToken")
        if token is None:
            problems.add("agentRegistrationToken",
                         f"is required when agents.count > 0; set it as a secret: "
                         f"`pulumi config set --secret {PROJECT_NAMESPACE}:agentRegistrationToken` "
                         "(or from a Pulumi ESC environment)")
        elif "agentRegistrationToken" in values and not _is_secret("agentRegistrationToken"):
            problems.add("agentRegistrationToken", "is stored in plain text; set it with "
                         "`pulumi config set --secret` so it is encrypted in the stack file")

    config = PlatformConfig(
        project=PROJECT_NAMESPACE,
        environment=environment,
        location=location,
        cloud=cloud,
        name_prefix=name_prefix,
        tags=tags,
        protect_stateful_resources=root.boolean("protectStatefulResources"),
        workspace_public_access=root.boolean("workspacePublicAccess"),
        batch_endpoints=root.boolean("batchEndpoints"),
        log_retention_days=root.integer("logRetentionDays", minimum=LOG_RETENTION_DAYS[0], maximum=LOG_RETENTION_DAYS[1]),
        storage_sku=root.string("storageSku", choices=STORAGE_SKUS),
        image_build_cluster=image_build_cluster,
        admin_username=admin_username,
        admin_ssh_public_key=admin_ssh_public_key,
        network=network,
        compute_clusters=tuple(clusters),
        jump_host=jump_host,
        agents=agents,
        agent_registration_token=token,
    )
    if not problems.items:
        # Names are only meaningful once their parts are valid.
        for path, message in naming.check_names(config):
            problems.add(path, message)
    if problems.items:
        raise ConfigError(problems.items)
    return config


def _is_secret(key: str) -> bool:
    from pulumi.runtime import config as runtime_config

    full = f"{PROJECT_NAMESPACE}:{key}"
    return runtime_config.is_config_secret(full) or full in runtime_config.get_config_secret_keys_env()


def _check_ssh_public_key(problems: _Problems, path: str, key: str) -> None:
    import base64
    import binascii

    parts = key.split()
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        problems.add(path, f"must be an OpenSSH public key starting with one of {', '.join(SSH_KEY_TYPES)}")
        return
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        problems.add(path, "the key body is not valid base64")
        return
    # The blob starts with the length-prefixed key type; a mismatch means a truncated or pasted-wrong key.
    declared = parts[0].encode()
    if blob[4:4 + len(declared)] != declared:
        problems.add(path, f"the key body does not encode a {parts[0]} key (truncated or mangled?)")
    if "PRIVATE KEY" in key:
        problems.add(path, "looks like a private key; give the public half (.pub) only")


def _read_network(reader: _Reader, problems: _Problems) -> NetworkConfig:
    reader.unknown_keys(("amlVnet", "bastionVnet", "natGateway"))
    aml = reader.mapping("amlVnet")
    aml.unknown_keys(("addressSpace", "subnets"))
    aml_space = aml.cidr("addressSpace")
    aml_subnets = aml.mapping("subnets")
    aml_subnets.unknown_keys(("privateEndpoints", "training", "scoring"))
    aml_prefixes = {k: aml_subnets.cidr(k) for k in ("privateEndpoints", "training", "scoring")}

    bastion = reader.mapping("bastionVnet")
    bastion.unknown_keys(("addressSpace", "subnets"))
    bastion_space = bastion.cidr("addressSpace")
    bastion_subnets = bastion.mapping("subnets")
    bastion_subnets.unknown_keys(("bastion", "jumpHost", "agents"))
    bastion_prefixes = {k: bastion_subnets.cidr(k) for k in ("bastion", "jumpHost", "agents")}

    _check_vnet(problems, "network.amlVnet", aml_space, aml_prefixes)
    _check_vnet(problems, "network.bastionVnet", bastion_space, bastion_prefixes)
    bastion_subnet = bastion_prefixes["bastion"]
    if bastion_subnet is not None and bastion_subnet.prefixlen > BASTION_SUBNET_MAX_PREFIX:
        problems.add("network.bastionVnet.subnets.bastion",
                     f"{bastion_subnet} is too small: AzureBastionSubnet must be /{BASTION_SUBNET_MAX_PREFIX} or larger")
    if aml_space and bastion_space and aml_space.overlaps(bastion_space):
        problems.add("network.bastionVnet.addressSpace",
                     f"{bastion_space} overlaps network.amlVnet.addressSpace {aml_space}; peered VNets must not overlap")

    return NetworkConfig(
        aml=AmlVnetConfig(str(aml_space), *(str(aml_prefixes[k]) for k in ("privateEndpoints", "training", "scoring"))),
        bastion=BastionVnetConfig(str(bastion_space), *(str(bastion_prefixes[k]) for k in ("bastion", "jumpHost", "agents"))),
        nat_gateway=reader.boolean("natGateway"),
    )


def _check_vnet(problems: _Problems, path: str, space: Optional[ipaddress.IPv4Network],
                subnets: Mapping[str, Optional[ipaddress.IPv4Network]]) -> None:
    checked: list[tuple[str, ipaddress.IPv4Network]] = []
    for key, subnet in subnets.items():
        if subnet is None:
            continue
        subnet_path = f"{path}.subnets.{key}"
        if subnet.prefixlen > SMALLEST_SUBNET_PREFIX:
            problems.add(subnet_path, f"{subnet} is smaller than Azure's smallest subnet (/{SMALLEST_SUBNET_PREFIX})")
        if space is not None and not subnet.subnet_of(space):
            problems.add(subnet_path, f"{subnet} is not inside {path}.addressSpace {space}")
        for other_key, other in checked:
            if subnet.overlaps(other):
                problems.add(subnet_path, f"{subnet} overlaps {path}.subnets.{other_key} {other}")
        checked.append((key, subnet))


_CLUSTER_KEYS = ("name", "vmSize", "minNodes", "maxNodes", "idleSecondsBeforeScaleDown", "lowPriority")


def _read_clusters(root: _Reader, problems: _Problems) -> list[ComputeClusterConfig]:
    items = root.sequence("computeClusters")
    if not items and "computeClusters" in root.values:
        problems.add("computeClusters", "must list at least one cluster (the workspace builds images on one)")
    clusters: list[ComputeClusterConfig] = []
    for index, item in enumerate(items):
        path = f"computeClusters[{index}]"
        if not isinstance(item, dict):
            problems.add(path, f"must be an object with {', '.join(_CLUSTER_KEYS)}, got {item!r}")
            continue
        reader = _Reader(problems, path, item)
        reader.unknown_keys(_CLUSTER_KEYS)
        cluster = ComputeClusterConfig(
            name=reader.string("name", pattern=naming.rule("aml_compute").pattern,
                               pattern_help=naming.rule("aml_compute").help),
            vm_size=reader.string("vmSize", pattern=r"Standard_[A-Za-z0-9_]+",
                                  pattern_help="must be an Azure VM size such as Standard_DS3_v2"),
            min_nodes=reader.integer("minNodes", minimum=0),
            max_nodes=reader.integer("maxNodes", minimum=1),
            idle_seconds_before_scale_down=reader.integer("idleSecondsBeforeScaleDown", minimum=60, maximum=86400 * 7),
            low_priority=reader.boolean("lowPriority", default=False),
        )
        if cluster.min_nodes > cluster.max_nodes:
            problems.add(f"{path}.minNodes", f"{cluster.min_nodes} is above maxNodes ({cluster.max_nodes})")
        if cluster.min_nodes > 0:
            problems.add(f"{path}.minNodes", "must be 0: idle clusters scale to zero so nothing runs (and bills) unattended")
        if cluster.name in {c.name for c in clusters}:
            problems.add(f"{path}.name", f"{cluster.name!r} is used by another cluster")
        clusters.append(cluster)
    return clusters


_AGENT_KEYS = ("kind", "count", "vmSize", "url", "pool", "labels")


def _read_agents(reader: _Reader, problems: _Problems) -> AgentsConfig:
    reader.unknown_keys(_AGENT_KEYS)
    kind = reader.string("kind", choices=AGENT_KINDS)
    count = reader.integer("count", minimum=0, maximum=20)
    url = reader.string("url", pattern=r"https://[^\s/]+(/[^\s]*)?", pattern_help="must be an https:// URL")
    labels = reader.sequence("labels", default=[])
    if not all(isinstance(label, str) and label for label in labels):
        problems.add(f"{reader.path}.labels", f"must be a list of non-empty strings, got {labels!r}")
        labels = []
    pool = reader.string("pool", default="") if kind == "github" else reader.string("pool")
    return AgentsConfig(kind=kind, count=count, vm_size=reader.string("vmSize"), url=url, pool=pool,
                        labels=tuple(labels))

