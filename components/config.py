"""The platform's configuration: read once, validated completely, then frozen.

Everything that differs between environments lives in the stack files (`Pulumi.<stack>.yaml`);
this module only knows the *shape* of that configuration and Azure's rules about it. Every problem
found is collected and reported together in one `pulumi.RunError`, each line naming the key (with
its path) and what is wrong, before the program declares its first resource.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import difflib
import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any, Collection, Mapping, Optional, Sequence

import pulumi

from isolated_mlops.components import naming, vm_sizes
from isolated_mlops.components.serving_config import MIN_VCPUS as MIN_SERVING_VCPUS
from isolated_mlops.components.serving_config import TLS_SECRET_KEYS, ServingConfig, check_tls_secrets, read_serving
from isolated_mlops.components.webhooks import credential_in_url
from isolated_mlops.components.zones import CLOUDS, private_endpoint_addresses, private_endpoint_group_ids
from isolated_mlops.compute.cloud_init import AGENT_USER

PROJECT_NAMESPACE = "isolated-mlops"

AGENT_KINDS = ("azure-devops", "github")
# Bastion tiers this program deploys: each a dedicated host in AzureBastionSubnet on a Standard public
# IP. Basic has no native-client tunnelling (`az network bastion ssh`), host scaling or file transfer;
# the `bastion-subnet` rule requires Standard or Premium. Developer is not offered: it is a shared host
# with no AzureBastionSubnet and no public IP, and cannot reach VMs in a peered VNet (Microsoft Learn,
# "About Bastion configuration settings", https://learn.microsoft.com/azure/bastion/configuration-settings).
BASTION_SKUS = ("Basic", "Standard", "Premium")
STORAGE_SKUS = ("Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS")
# Log Analytics accepts 30..730 days of interactive retention on the PerGB2018 SKU; a workspace
# keeps 30 days unless told otherwise, the retention included in the ingestion price
# (https://learn.microsoft.com/azure/azure-monitor/logs/data-retention-configure).
LOG_RETENTION_DAYS = (30, 730)
DEFAULT_LOG_RETENTION_DAYS = 30
# Azure ML's idle time before a cluster scales down when none is given
# (https://learn.microsoft.com/azure/machine-learning/reference-yaml-compute-aml).
DEFAULT_IDLE_SECONDS = 120
# Azure's smallest subnet is /29; AzureBastionSubnet must be /26 or larger.
SMALLEST_SUBNET_PREFIX = 29
BASTION_SUBNET_MAX_PREFIX = 26
# Azure keeps 5 addresses of every subnet: the network address, the default gateway, two for Azure
# DNS, and the broadcast address (Microsoft Learn, "Azure Virtual Network FAQ").
AZURE_RESERVED_ADDRESSES = 5
# Azure VMs accept RSA (2048 bits or more) and Ed25519 public keys; ECDSA keys are refused at create time.
SSH_KEY_TYPES = ("ssh-ed25519", "ssh-rsa")
RSA_MIN_BITS = 2048
VM_SIZE_PATTERN = r"Standard_[A-Za-z0-9_-]+"
# Azure tags: names up to 512 characters without < > % & \ ? /, values up to 256 characters.
TAG_NAME_MAX, TAG_VALUE_MAX, TAG_NAME_FORBIDDEN = 512, 256, frozenset('<>%&\\?/')
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
    private_dns_fallback_to_internet: bool = False
    """Zone links resolve a name missing from a privatelink zone publicly (NxDomainRedirect), for hybrid DNS."""


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
    token_expires_on: Optional[datetime.date] = None
    """When the registration credential expires (the PAT's own expiry): the Key Vault secret's expiry."""

    @property
    def token_expires_epoch(self) -> Optional[int]:
        """`token_expires_on` at 00:00 UTC, in seconds since 1970: Key Vault's `exp` attribute."""
        if self.token_expires_on is None:
            return None
        midnight = datetime.datetime.combine(self.token_expires_on, datetime.time(), tzinfo=datetime.timezone.utc)
        return int(midnight.timestamp())


@dataclass(frozen=True)
class AlertsConfig:
    """Stack file `alerts`: the drift table's ingestion path, action groups and alert rules (workspace/alerts.py)."""

    enabled: bool
    """False (dev): no action groups or alert rules; the drift table and its ingestion path stay."""
    emails: tuple[str, ...]
    """Email receivers of the action groups."""
    retrain_webhook_url: Optional[str]
    """The retraining pipeline's webhook (Azure DevOps incoming webhook); never carries a credential."""
    ml_identity_principal_id: Optional[str]
    """The ML delivery identity's principal id: Monitoring Metrics Publisher on the drift DCR."""
    failed_runs: int
    """Failed runs within an hour that fire the failed-training alert."""
    drift_psi: float
    """A feature of the latest delivery run with a PSI above this fires the drift alert (as Level significant does)."""
    serving_latency_ms: int = 1000
    """The served models' 95th-percentile request duration (ms, over 15 minutes) that fires the latency alert."""
    serving_error_rate_percent: float = 5.0
    """The share of failed requests (percent, over 15 minutes) that fires the error-rate alert."""


@dataclass(frozen=True)
class ModelRegistryConfig:
    """`modelRegistry`: whether this stack creates the Azure ML registry models are promoted through."""

    create: bool = False
    """Create the registry (private only) in this stack; off by default (see README, "Model registry")."""
    user_principal_ids: tuple[str, ...] = ()
    """Object ids of the ML delivery's identities (`id-mlops-ml-<stack>`) granted AzureML Registry User."""


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
    hbi_workspace: bool
    """High business impact: less diagnostic data to Microsoft, encrypted local scratch; set at creation only."""
    batch_endpoints: bool
    bastion_sku: str
    """Basic, Standard (the default) or Premium: see BASTION_SKUS for what Basic gives up."""
    log_retention_days: int
    storage_sku: str
    image_build_cluster: str
    admin_username: str
    admin_ssh_public_key: str
    network: NetworkConfig
    compute_clusters: tuple[ComputeClusterConfig, ...]
    jump_host: JumpHostConfig
    agents: AgentsConfig
    model_registry: ModelRegistryConfig = field(default_factory=ModelRegistryConfig)
    agent_registration_token: Optional[pulumi.Output[str]] = field(default=None, compare=False)
    """A Pulumi secret; only ever written to Key Vault."""
    alerts: Optional[AlertsConfig] = None
    """None: the stack file has no `alerts` key, so no drift table, action group or alert rule."""
    serving: ServingConfig = field(default_factory=ServingConfig)
    """`serving`: the private AKS cluster models are served from (components/serving_config.py); off by default."""
    serving_tls: Optional[tuple[pulumi.Output[str], pulumi.Output[str]]] = field(default=None, compare=False)
    """The inference router's PEM certificate and key, Pulumi secrets; only ever sent as protected settings."""
    notes: tuple[str, ...] = ()
    """Accepted, but worth a warning: VM sizes in a series announced for retirement (components/vm_sizes.py)."""


# --------------------------------------------------------------------------------------------
# Reading and validating
# --------------------------------------------------------------------------------------------
_MISSING = object()
SECRET_SHOWN_AS = "[secret]"

# Every key the project reads, and for object keys the fields they accept: unknown keys are typos.
TOP_LEVEL_KEYS = (
    "location", "cloud", "environment", "namePrefix", "tags", "protectStatefulResources",
    "workspacePublicAccess", "hbiWorkspace", "batchEndpoints", "bastionSku", "logRetentionDays", "storageSku",
    "imageBuildCluster",
    "adminUsername", "adminSshPublicKey", "network", "computeClusters", "jumpHost", "agents",
    "agentRegistrationToken", "alerts", "modelRegistry", "serving", *TLS_SECRET_KEYS,
    # Read by the cost estimate (offline/cost.py validates it), not by the program: what a stack is
    # expected to ingest or send is a tool's assumption, not infrastructure.
    "costAssumptions",
)
SECRET_KEYS = ("agentRegistrationToken", *TLS_SECRET_KEYS)
TOKEN_KEY = "agentRegistrationToken"


class _Problems:
    """Every problem found, in reading order, each once; and which key paths have one."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._paths: set[str] = set()

    def add(self, path: str, message: str) -> None:
        line = f"{PROJECT_NAMESPACE}:{path}: {message}"
        if line not in self.items:
            self.items.append(line)
            self._paths.add(path)

    def has(self, path: str) -> bool:
        """Is there a problem at `path` itself (`*` standing for any list index: `computeClusters[*]`)?"""
        pattern = re.compile(re.escape(path).replace(r"\*", r"\d+"))
        return any(pattern.fullmatch(p) for p in self._paths)

    def at(self, path: str) -> bool:
        """Is there a problem at `path` or anywhere under it (`network` covers `network.amlVnet...`)?"""
        return any(p == path or p.startswith((f"{path}.", f"{path}[")) for p in self._paths)


def _did_you_mean(key: str, known: Sequence[str]) -> str:
    # Case-insensitive, so `NamePrefix` and `nameprefix` both find `namePrefix`.
    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(key.lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean '{by_lower[close[0]]}'?)" if close else ""


class _Reader:
    """Typed access to a mapping of raw values that records, instead of raising, every problem.

    `secret`: the values come from a secret config key, so no message may show them; the CLI marks
    a whole top-level key secret when any value under it is (`pulumi config set --secret --path`).
    `absent`: the mapping itself is missing or of the wrong type, which was reported once already;
    its fields are not reported as missing one by one on top of that.
    """

    def __init__(self, problems: _Problems, path: str, values: Mapping[str, Any], *,
                 secret_keys: Collection[str] = (), secret: bool = False, absent: bool = False):
        self.problems = problems
        self.path = path
        self.values = values
        self.secret_keys = secret_keys
        self.secret = secret
        self.absent = absent

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def is_secret(self, key: str) -> bool:
        return self.secret or (not self.path and key in self.secret_keys)

    def show(self, key: str, value: Any) -> str:
        """`value` as a message may show it: never the value of a secret."""
        return SECRET_SHOWN_AS if self.is_secret(key) else repr(value)

    def child(self, key: str, values: Mapping[str, Any], absent: bool = False) -> "_Reader":
        return _Reader(self.problems, self._key(key), values, secret=self.is_secret(key), absent=absent)

    def unknown_keys(self, known: Sequence[str]) -> None:
        for key in self.values:
            if key not in known:
                self.problems.add(self._key(str(key)), f"unknown key{_did_you_mean(str(key), known)}")

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        value = self.values.get(key, _MISSING)
        if value is _MISSING or value is None:
            if default is _MISSING and not self.absent:
                self.problems.add(self._key(key), "is required but not set")
            return None if default is _MISSING else default
        return value

    def string(self, key: str, default: Any = _MISSING, pattern: Optional[str] = None,
               pattern_help: str = "", choices: Sequence[str] = ()) -> str:
        value = self.raw(key, default)
        if value is None:
            return ""
        if not isinstance(value, str) or value == "":
            self.problems.add(self._key(key), f"must be a non-empty string, got {self.show(key, value)}")
            return ""
        if choices and value not in choices:
            hint = "" if self.is_secret(key) else _did_you_mean(value, choices)
            self.problems.add(self._key(key), f"must be one of {', '.join(choices)}, got {self.show(key, value)}{hint}")
        elif pattern and not re.fullmatch(pattern, value):
            self.problems.add(self._key(key), f"{self.show(key, value)} {pattern_help}")
        return value

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        value = self.raw(key, default)
        # The CLI hands top-level values over as strings; nested ones keep their YAML type.
        if isinstance(value, str) and value in ("true", "false"):
            return value == "true"
        if isinstance(value, bool):
            return value
        if value is not None:
            self.problems.add(self._key(key), f"must be true or false, got {self.show(key, value)}")
        return False

    def integer(self, key: str, default: Any = _MISSING, minimum: Optional[int] = None,
                maximum: Optional[int] = None) -> int:
        value = self.raw(key, default)
        if value is None:
            return 0
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            value = int(value)
        # YAML `true` is a bool, and bool is an int in Python: refuse it rather than count it as 1.
        if isinstance(value, bool) or not isinstance(value, int):
            self.problems.add(self._key(key), f"must be a whole number, got {self.show(key, value)}")
            return 0
        shown = SECRET_SHOWN_AS if self.is_secret(key) else str(value)
        if minimum is not None and value < minimum:
            self.problems.add(self._key(key), f"must be at least {minimum}, got {shown}")
        if maximum is not None and value > maximum:
            self.problems.add(self._key(key), f"must be at most {maximum}, got {shown}")
        return value

    def mapping(self, key: str, default: Any = _MISSING) -> "_Reader":
        value = self.raw(key, default)
        if isinstance(value, str):
            value = _parse_json(value)
        if value is None:
            return self.child(key, {}, absent=True)
        if not isinstance(value, dict):
            self.problems.add(self._key(key), f"must be an object (a YAML mapping), got {self.show(key, value)}")
            return self.child(key, {}, absent=True)
        return self.child(key, value, absent=self.absent)

    def sequence(self, key: str, default: Any = _MISSING) -> Optional[list[Any]]:
        """The list, or None when it is missing or not a list (already reported)."""
        value = self.raw(key, default)
        if isinstance(value, str):
            value = _parse_json(value)
        if value is None:
            return None
        if not isinstance(value, list):
            self.problems.add(self._key(key), f"must be a list, got {self.show(key, value)}")
            return None
        return value

    def cidr(self, key: str) -> Optional[ipaddress.IPv4Network]:
        text = self.string(key)
        if not text:
            return None
        try:
            network = ipaddress.IPv4Network(text, strict=True)
        except ValueError as error:
            reason = "" if self.is_secret(key) else f" ({error})"
            self.problems.add(self._key(key), f"{self.show(key, text)} is not a valid IPv4 CIDR block "
                              f"such as 10.0.0.0/16{reason}")
            return None
        if not network.is_private:
            self.problems.add(self._key(key), f"{self.show(key, text)} is not a private (RFC 1918) range")
        return network


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def project_values(wire: Mapping[str, str]) -> dict[str, Any]:
    """Our keys (without the `isolated-mlops:` namespace) from config as the CLI hands it over:
    strings, with objects and lists as JSON. Secret values stay the strings they are."""
    prefix = f"{PROJECT_NAMESPACE}:"
    values: dict[str, Any] = {}
    for full_key, value in wire.items():
        if full_key.startswith(prefix):
            key = full_key[len(prefix):]
            structured = key not in SECRET_KEYS and isinstance(value, str) and value[:1] in "[{"
            values[key] = _parse_json(value) if structured else value
    return values


def all_project_config() -> dict[str, Any]:
    """Every `isolated-mlops:*` key the engine handed to this program, parsed the way the SDK does.

    `pulumi.Config` has no way to list keys, and unknown keys (typos) must be reported, so this reads
    the same two places the SDK reads: values set in-process and the PULUMI_CONFIG environment.
    """
    from pulumi.runtime import config as runtime_config

    merged: dict[str, Any] = dict(runtime_config.get_config_env())
    merged.update(runtime_config.CONFIG.get())
    return project_values(merged)


def load(stack: Optional[str] = None) -> PlatformConfig:
    """Read and validate the stack's configuration; raise one ConfigError listing every problem."""
    values = all_project_config()
    config = validate(values, stack or pulumi.get_stack(), {key for key in values if _is_secret(key)})
    token: Optional[pulumi.Output[str]] = None
    if config.agents.count > 0:
        # validate() proved it is set, as a secret; the SDK keeps it a secret Output from here on.
        token = pulumi.Config(PROJECT_NAMESPACE).require_secret(TOKEN_KEY)
    tls = None
    if config.serving.enabled:
        # validate() proved both are set, as secrets.
        tls = tuple(pulumi.Config(PROJECT_NAMESPACE).require_secret(key) for key in TLS_SECRET_KEYS)
    for note in config.notes:
        pulumi.log.warn(note)
    return dataclasses.replace(config, agent_registration_token=token, serving_tls=tls)  # type: ignore[arg-type]


def validate(values: Mapping[str, Any], stack: str, secret_keys: Collection[str] = ()) -> PlatformConfig:
    """The typed configuration for `values` (our keys, as `project_values` gives them), or one
    ConfigError listing every problem. `secret_keys`: the keys the CLI marked secret."""
    problems = _Problems()
    root = _Reader(problems, "", values, secret_keys=frozenset(secret_keys))
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
    tags = _read_tags(root.mapping("tags", default={}))

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
    if admin_ssh_public_key:
        _check_ssh_public_key(problems, "adminSshPublicKey", admin_ssh_public_key)

    network, subnets = _read_network(root.mapping("network"), problems)
    clusters = _read_clusters(root, problems)
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

    agents = _read_agents(root.mapping("agents"), problems)
    _check_token(root, problems, agents)
    alerts = _read_alerts(root.mapping("alerts"), problems) if "alerts" in values else None
    model_registry = _read_model_registry(root.mapping("modelRegistry", default={}), problems)
    serving = read_serving(root.mapping("serving", default={}), problems, _vnet_spaces(network, problems), cloud)
    check_tls_secrets(root, problems, serving)

    _check_region(root, problems, location, cloud)
    notes = _check_vm_sizes(root, problems, location, cloud, [
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
        bastion_sku=_read_bastion_sku(root),
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
    _check_capacity(problems, root, config, subnets)
    # Full names are checked in the same pass (all problems in one run), but only those whose
    # parts are themselves valid: a name built from a rejected prefix says nothing new.
    sources = ["namePrefix", "environment", "agents.count", *(f"computeClusters[{i}].name" for i in range(len(clusters)))]
    for path, message in naming.check_names(config, skip={key for key in sources if problems.at(key)},
                                            hidden=set(secret_keys)):
        problems.add(path, message)
    if problems.items:
        raise ConfigError(problems.items)
    return config


def _vnet_spaces(network: NetworkConfig, problems: _Problems) -> list[Optional[ipaddress.IPv4Network]]:
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


def _check_serving_size(problems: _Problems, serving: ServingConfig) -> None:
    """The serving nodes' size has the vCPUs the Azure ML extension asks for in production (serving_config.MIN_VCPUS)."""
    parsed = vm_sizes.parse(serving.vm_size) if serving.enabled and not problems.at("serving.vmSize") else None
    if parsed is not None and parsed.vcpus < MIN_SERVING_VCPUS:
        problems.add("serving.vmSize", f"{serving.vm_size} has {parsed.vcpus} vCPUs; the Azure ML extension needs at "
                     f"least {MIN_SERVING_VCPUS} vCPUs and 14 GB per node in production "
                     "(how-to-deploy-kubernetes-extension): use e.g. Standard_D4s_v5")


def _read_bastion_sku(root: _Reader) -> str:
    if root.values.get("bastionSku") == "Developer":
        root.problems.add("bastionSku", "'Developer' is not supported: it is a shared host without "
                          "AzureBastionSubnet or public IP and cannot reach the VMs in a peered VNet; use Basic, "
                          "Standard or Premium")
        return "Standard"
    return root.string("bastionSku", default="Standard", choices=BASTION_SKUS)


def _is_secret(key: str) -> bool:
    from pulumi.runtime import config as runtime_config

    full = f"{PROJECT_NAMESPACE}:{key}"
    return runtime_config.is_config_secret(full) or full in runtime_config.get_config_secret_keys_env()


def _check_region(root: _Reader, problems: _Problems, location: str, cloud: str) -> None:
    """`location` must be a region of the stack's cloud (components/vm_sizes.py REGIONS)."""
    if not location or problems.at("location") or problems.at("cloud"):
        return
    problem = vm_sizes.check_region(location, cloud)
    if problem:
        problems.add("location", problem if not root.is_secret("location")
                     else f"{SECRET_SHOWN_AS} is not a region of {cloud} (the value is secret, so no suggestion)")


def _check_vm_sizes(root: _Reader, problems: _Problems, location: str, cloud: str,
                    sizes: Sequence[tuple[str, str, str]]) -> list[str]:
    """Every VM size (path, the top-level key it sits under, size) must be one Azure still creates
    (components/vm_sizes.py); returns the notes for sizes that are only announced for retirement."""
    region = "" if problems.at("location") else location
    cloud = "AzureCloud" if problems.at("cloud") else cloud
    notes: list[str] = []
    for path, key, size in sizes:
        if not size or problems.at(path):
            continue  # missing or malformed: reported once already
        verdict = vm_sizes.check_size(size, region, cloud)
        secret = root.is_secret(key)
        if verdict.problem:
            problems.add(path, verdict.problem if not secret else
                         f"{SECRET_SHOWN_AS} is not a VM size Azure creates today (retired, unknown or misspelt; "
                         "details not shown: the value is secret)")
        elif verdict.note and not secret:
            notes.append(f"{PROJECT_NAMESPACE}:{path}: {verdict.note}")
    return notes


def _read_tags(reader: _Reader) -> dict[str, str]:
    tags: dict[str, str] = {}
    for key, value in reader.values.items():
        path = f"{reader.path}.{key}"
        name = str(key)
        if len(name) > TAG_NAME_MAX or TAG_NAME_FORBIDDEN & set(name):
            reader.problems.add(path, f"Azure tag names are at most {TAG_NAME_MAX} characters and may not "
                                f"contain {' '.join(sorted(TAG_NAME_FORBIDDEN))}")
        if not isinstance(value, str):
            reader.problems.add(path, f"tag values must be strings, got {reader.show(name, value)}")
        elif len(value) > TAG_VALUE_MAX:
            reader.problems.add(path, f"Azure tag values are at most {TAG_VALUE_MAX} characters, got {len(value)}")
        else:
            tags[name] = value
    return tags


def _check_token(root: _Reader, problems: _Problems, agents: AgentsConfig) -> None:
    """The agent registration token: a secret, or nothing. Its value is never put in a message."""
    how = (f"set it with `pulumi config set --secret {PROJECT_NAMESPACE}:{TOKEN_KEY}` "
           "(or `fn::secret` in a Pulumi ESC environment)")
    value = root.values.get(TOKEN_KEY)
    if value is not None:
        # Whatever the agent count: a plain-text token in a stack file is already leaked to git.
        if not root.is_secret(TOKEN_KEY):
            problems.add(TOKEN_KEY, f"is stored in plain text; remove it, revoke it, and {how} "
                         "so it is encrypted in the stack file")
        elif not isinstance(value, str) or not value.strip():
            problems.add(TOKEN_KEY, f"is empty; {how}")
    elif agents.count > 0 and not problems.at("agents.count"):
        problems.add(TOKEN_KEY, f"is required when agents.count > 0; {how}")


def _check_ssh_public_key(problems: _Problems, path: str, key: str) -> None:
    """Azure takes an OpenSSH public key line; catch the usual pastes (private key, truncated, ECDSA)
    here rather than as an opaque VM-create failure. The key itself is never echoed."""
    if "PRIVATE KEY" in key:
        problems.add(path, "looks like a private key; give the public half (the .pub file) only, "
                     "and treat this private key as leaked")
        return
    parts = key.split()
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        problems.add(path, f"must be an OpenSSH public key line starting with {' or '.join(SSH_KEY_TYPES)} "
                     "(Azure VMs accept RSA and Ed25519 keys only)")
        return
    try:
        fields = _ssh_wire_fields(base64.b64decode(parts[1], validate=True))
    except (binascii.Error, ValueError):
        problems.add(path, f"the key body is not a valid base64 {parts[0]} key (truncated or mangled?)")
        return
    # The blob starts with the key type it encodes; a mismatch means a pasted-wrong or mangled key.
    if not fields or fields[0] != parts[0].encode():
        problems.add(path, f"the key body does not encode a {parts[0]} key (truncated or mangled?)")
    elif parts[0] == "ssh-ed25519" and (len(fields) != 2 or len(fields[1]) != 32):
        problems.add(path, "the key body is not a 256-bit Ed25519 key (truncated or mangled?)")
    elif parts[0] == "ssh-rsa":
        bits = int.from_bytes(fields[2], "big").bit_length() if len(fields) == 3 else 0
        if bits < RSA_MIN_BITS:
            problems.add(path, f"is a {bits}-bit RSA key; Azure requires at least {RSA_MIN_BITS} bits")


def _ssh_wire_fields(blob: bytes) -> list[bytes]:
    """The length-prefixed fields of an SSH public key blob (RFC 4253 section 6.6)."""
    fields, offset = [], 0
    while offset < len(blob):
        if offset + 4 > len(blob):
            raise ValueError("truncated length")
        length = int.from_bytes(blob[offset:offset + 4], "big")
        offset += 4
        if offset + length > len(blob):
            raise ValueError("truncated field")
        fields.append(blob[offset:offset + length])
        offset += length
    return fields


_Subnets = Mapping[str, Optional[ipaddress.IPv4Network]]


def _read_network(reader: _Reader, problems: _Problems) -> tuple[NetworkConfig, _Subnets]:
    """The network, and every subnet by its key path (None where it is missing or malformed)."""
    reader.unknown_keys(("amlVnet", "bastionVnet", "natGateway", "privateDnsFallbackToInternet"))
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

    show = (lambda net: SECRET_SHOWN_AS) if reader.secret else str
    _check_vnet(problems, "network.amlVnet", aml_space, aml_prefixes, show)
    # Azure refuses a Bastion in an AzureBastionSubnet smaller than /26 (several references use /27).
    _check_vnet(problems, "network.bastionVnet", bastion_space, bastion_prefixes, show,
                smallest={"bastion": (BASTION_SUBNET_MAX_PREFIX, "AzureBastionSubnet must be")})
    if aml_space and bastion_space and aml_space.overlaps(bastion_space):
        problems.add("network.bastionVnet.addressSpace",
                     f"{show(bastion_space)} overlaps network.amlVnet.addressSpace {show(aml_space)}; "
                     "peered VNets must not overlap")

    subnets = {**{f"network.amlVnet.subnets.{k}": v for k, v in aml_prefixes.items()},
               **{f"network.bastionVnet.subnets.{k}": v for k, v in bastion_prefixes.items()}}
    return NetworkConfig(
        aml=AmlVnetConfig(str(aml_space), *(str(aml_prefixes[k]) for k in ("privateEndpoints", "training", "scoring"))),
        bastion=BastionVnetConfig(str(bastion_space), *(str(bastion_prefixes[k]) for k in ("bastion", "jumpHost", "agents"))),
        nat_gateway=reader.boolean("natGateway"),
        private_dns_fallback_to_internet=reader.boolean("privateDnsFallbackToInternet", default=False),
    ), subnets


def _check_vnet(problems: _Problems, path: str, space: Optional[ipaddress.IPv4Network],
                subnets: Mapping[str, Optional[ipaddress.IPv4Network]], show: Any,
                smallest: Optional[Mapping[str, tuple[int, str]]] = None) -> None:
    checked: list[tuple[str, ipaddress.IPv4Network]] = []
    for key, subnet in subnets.items():
        if subnet is None:
            continue
        subnet_path = f"{path}.subnets.{key}"
        limit, rule = (smallest or {}).get(key, (SMALLEST_SUBNET_PREFIX, "Azure subnets must be"))
        if subnet.prefixlen > limit:
            problems.add(subnet_path, f"{show(subnet)} is too small: {rule} /{limit} or larger")
        if space is not None and not subnet.subnet_of(space):
            problems.add(subnet_path, f"{show(subnet)} is not inside {path}.addressSpace {show(space)}")
        for other_key, other in checked:
            if subnet.overlaps(other):
                problems.add(subnet_path, f"{show(subnet)} overlaps {path}.subnets.{other_key} {show(other)}")
        checked.append((key, subnet))


@dataclass(frozen=True)
class _SubnetDemand:
    """What the program puts in one subnet, in addresses, and the keys that decide it."""

    subnet: str
    """The subnet's key path: capacity problems are reported there, whatever fills the subnet."""
    sources: tuple[str, ...]
    """The keys the demand is computed from: a problem at any of them already says what is wrong."""
    addresses: int
    what: str
    """What needs the addresses, with its figures: `12 agents (agents.count, one network interface each)`."""
    what_secret: str
    """The same without any figure, for when a value it depends on is secret."""
    instead: str = ""
    """The other fix, `{usable}` standing for the subnet's usable addresses."""


def _usable(subnet: ipaddress.IPv4Network) -> int:
    return subnet.num_addresses - AZURE_RESERVED_ADDRESSES


def _prefix_for(addresses: int) -> int:
    """The smallest subnet (longest prefix, /29 at most) with `addresses` usable addresses."""
    prefix = SMALLEST_SUBNET_PREFIX
    while prefix > 0 and 2 ** (32 - prefix) - AZURE_RESERVED_ADDRESSES < addresses:
        prefix -= 1
    return prefix


def _subnet_demands(config: PlatformConfig) -> list[_SubnetDemand]:
    """Every subnet the program puts something in, and how many addresses that takes (see __main__)."""
    agents, clusters = config.agents.count, config.compute_clusters
    nodes = sum(c.max_nodes for c in clusters)
    # Counted from the list the program builds its endpoints' DNS from, so the two cannot drift.
    endpoints = [(group, private_endpoint_addresses(group))
                 for group in private_endpoint_group_ids(config.batch_endpoints, config.model_registry.create)]
    endpoint_addresses = sum(n for _, n in endpoints)
    return [
        _SubnetDemand("network.bastionVnet.subnets.jumpHost", (), 1,
                      "the jump host (one network interface)", "the jump host"),
        _SubnetDemand("network.bastionVnet.subnets.agents", ("agents.count",), agents,
                      f"{agents} agents (agents.count, one network interface each)", "agents.count",
                      instead=", or set agents.count to at most {usable}"),
        # AmlCompute in a VNet takes one address per node, at most maxNodes of every cluster; with no
        # node public IP (compute/clusters.py) Azure adds no load balancer or public IP of its own.
        # Microsoft Learn, "Secure an Azure Machine Learning training environment with virtual
        # networks": "Each node within a compute cluster ... requires one IP address"; a subnet that
        # runs short leaves the cluster partially allocated.
        # Only the maxNodes decide the demand: a mistake elsewhere in a cluster (its vmSize, its name)
        # must not hide this one until the next run.
        _SubnetDemand("network.amlVnet.subnets.training",
                      ("computeClusters", "computeClusters[*]", "computeClusters[*].maxNodes"), nodes,
                      f"{nodes} compute nodes (maxNodes of computeClusters: "
                      f"{', '.join(f'{c.name} {c.max_nodes}' for c in clusters)}; one address per node)",
                      "the computeClusters' maxNodes", instead=", or lower maxNodes to {usable} in all"),
        *([_SubnetDemand("network.amlVnet.subnets.scoring",
                         ("serving", "serving.maxNodes", "serving.maxPodsPerNode"), config.serving.subnet_addresses,
                         f"the serving cluster ({config.serving.max_nodes} nodes at serving.maxNodes, one more for "
                         f"upgrades, {config.serving.max_pods} pods each at serving.maxPodsPerNode: Azure CNI gives "
                         "every pod a subnet address; plus the internal load balancer and the API server's endpoint: "
                         f"{config.serving.subnet_addresses} addresses)",
                         "the serving cluster's maxNodes and maxPodsPerNode",
                         instead=", or lower serving.maxNodes or serving.maxPodsPerNode")]
          if config.serving.enabled else []),
        _SubnetDemand("network.amlVnet.subnets.privateEndpoints", ("batchEndpoints", "modelRegistry"), endpoint_addresses,
                      f"{len(endpoints)} private endpoints taking {endpoint_addresses} addresses "
                      f"({', '.join(f'{g} {n}' for g, n in endpoints)})",
                      "the private endpoints"),
    ]


def _check_capacity(problems: _Problems, root: _Reader, config: PlatformConfig, subnets: _Subnets) -> None:
    """What the program puts in each subnet must fit in it, or `pulumi up` fails halfway through (or,
    for compute, a cluster silently never reaches maxNodes). Only subnets and counts that are valid
    themselves are checked: a malformed or too-small subnet, a rejected count, is reported once."""
    for demand in _subnet_demands(config):
        subnet = subnets.get(demand.subnet)
        # A source is wrong when it has a problem itself (`computeClusters` not a list), not when a
        # key under it does: only the keys listed decide the demand.
        if subnet is None or problems.at(demand.subnet) or any(problems.has(key) for key in demand.sources):
            continue
        usable = _usable(subnet)
        if demand.addresses <= usable:
            continue
        if any(root.is_secret(key) for key in ("network", *(re.split(r"[.\[]", key)[0] for key in demand.sources))):
            shown = SECRET_SHOWN_AS if root.is_secret("network") else str(subnet)
            problems.add(demand.subnet, f"{shown} is too small for {demand.what_secret} (Azure keeps "
                         f"{AZURE_RESERVED_ADDRESSES} addresses of every subnet; "
                         "figures not shown: they are secret)")
            continue
        problems.add(demand.subnet, f"{subnet} is too small for {demand.what}: {usable} usable addresses "
                     f"(Azure keeps {AZURE_RESERVED_ADDRESSES} of its {subnet.num_addresses}); make it "
                     f"/{_prefix_for(demand.addresses)} or larger{demand.instead.format(usable=usable)}")


_CLUSTER_KEYS = ("name", "vmSize", "minNodes", "maxNodes", "idleSecondsBeforeScaleDown", "lowPriority")


def _read_clusters(root: _Reader, problems: _Problems) -> list[ComputeClusterConfig]:
    items = root.sequence("computeClusters")
    if items is not None and not items:
        problems.add("computeClusters", "must list at least one cluster (the workspace builds images on one)")
    clusters: list[ComputeClusterConfig] = []
    for index, item in enumerate(items or []):
        path = f"computeClusters[{index}]"
        if not isinstance(item, dict):
            problems.add(path, f"must be an object with {', '.join(_CLUSTER_KEYS)}, "
                         f"got {root.show('computeClusters', item)}")
            continue
        reader = _Reader(problems, path, item, secret=root.is_secret("computeClusters"))
        reader.unknown_keys(_CLUSTER_KEYS)
        cluster = ComputeClusterConfig(
            name=reader.string("name", pattern=naming.rule("aml_compute").pattern,
                               pattern_help=naming.rule("aml_compute").help),
            vm_size=reader.string("vmSize", pattern=VM_SIZE_PATTERN,
                                  pattern_help="must be an Azure VM size such as Standard_D4s_v5"),
            # Defaults: what almost every cluster wants. 0 nodes when idle is the only value the check
            # below accepts; Azure ML's own idle time (DEFAULT_IDLE_SECONDS); dedicated nodes.
            min_nodes=reader.integer("minNodes", default=0, minimum=0),
            # Zero would make a cluster that can never run a job (or build an image).
            max_nodes=reader.integer("maxNodes", minimum=1),
            idle_seconds_before_scale_down=reader.integer("idleSecondsBeforeScaleDown", default=DEFAULT_IDLE_SECONDS,
                                                          minimum=60, maximum=86400 * 7),
            low_priority=reader.boolean("lowPriority", default=False),
        )
        if not problems.at(f"{path}.minNodes") and cluster.min_nodes > 0:
            # One message per key: the fix for both problems is the same (0).
            above = (f"{cluster.min_nodes} is above maxNodes ({cluster.max_nodes}); it "
                     if not problems.at(f"{path}.maxNodes") and cluster.min_nodes > cluster.max_nodes else "")
            problems.add(f"{path}.minNodes", f"{above}must be 0: idle clusters scale to zero so nothing "
                         "runs (and bills) unattended")
        if cluster.name and cluster.name in {c.name for c in clusters}:
            problems.add(f"{path}.name", f"{reader.show('name', cluster.name)} is used by another cluster")
        clusters.append(cluster)
    return clusters


_AGENT_KEYS = ("kind", "count", "vmSize", "url", "pool", "labels", "tokenExpiresOn")


_MODEL_REGISTRY_KEYS = ("create", "userPrincipalIds")
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def _read_model_registry(reader: _Reader, problems: _Problems) -> ModelRegistryConfig:
    reader.unknown_keys(_MODEL_REGISTRY_KEYS)
    create = reader.boolean("create", default=False)
    ids = reader.sequence("userPrincipalIds", default=[]) or []
    good: list[str] = []
    for index, value in enumerate(ids):
        if isinstance(value, str) and re.fullmatch(_GUID, value):
            good.append(value.lower())
        else:
            problems.add(f"{reader.path}.userPrincipalIds[{index}]",
                         f"must be an object id (a GUID such as 00000000-0000-0000-0000-000000000000: "
                         f"`az identity show -n id-mlops-ml-<stack> -g <group> --query principalId`), got {value!r}")
    if good and not create and not problems.at(f"{reader.path}.create"):
        problems.add(f"{reader.path}.userPrincipalIds", "grants roles on a registry this stack does not create: "
                     "set modelRegistry.create: true, or remove userPrincipalIds")
    if len(set(good)) != len(good):
        problems.add(f"{reader.path}.userPrincipalIds", "lists an object id twice: list each identity once")
    return ModelRegistryConfig(create=create, user_principal_ids=tuple(dict.fromkeys(good)))


def _read_agents(reader: _Reader, problems: _Problems) -> AgentsConfig:
    reader.unknown_keys(_AGENT_KEYS)
    kind = reader.string("kind", choices=AGENT_KINDS)
    count = reader.integer("count", minimum=0, maximum=20)
    url = reader.string("url", pattern=r"https://[^\s/]+(/[^\s]*)?", pattern_help="must be an https:// URL")
    labels = reader.sequence("labels", default=[]) or []
    if not all(isinstance(label, str) and label for label in labels):
        problems.add(f"{reader.path}.labels", f"must be a list of non-empty strings, got {reader.show('labels', labels)}")
        labels = []
    pool = reader.string("pool", default="") if kind == "github" else reader.string("pool")
    vm_size = reader.string("vmSize", pattern=VM_SIZE_PATTERN,
                            pattern_help="must be an Azure VM size such as Standard_D2s_v5")
    expires = _read_token_expiry(reader, problems, count)
    return AgentsConfig(kind=kind, count=count, vm_size=vm_size, url=url, pool=pool, labels=tuple(labels),
                        token_expires_on=expires)


def _read_token_expiry(reader: _Reader, problems: _Problems, count: int) -> Optional[datetime.date]:
    """agents.tokenExpiresOn: the registration credential's own expiry, a date. Required with agents,
    because the program writes the credential to Key Vault with this expiry and nothing else knows it;
    rotating it is in docs/operations.md."""
    key = "tokenExpiresOn"
    value = reader.values.get(key)
    # YAML reads an unquoted 2027-03-01 as a date; the CLI hands top-level values over as strings.
    if isinstance(value, datetime.date):
        return value
    if value is None:
        if count > 0 and not problems.at(f"{reader.path}.count") and not reader.absent:
            problems.add(f"{reader.path}.{key}", "is required when agents.count > 0: the date the registration "
                         "credential (the PAT) expires, e.g. 2027-03-01; the Key Vault secret expires with it")
        return None
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass  # e.g. 2027-02-30: reported below
    problems.add(f"{reader.path}.{key}", f"{reader.show(key, value)} is not a date; write the credential's "
                 "expiry as YYYY-MM-DD, e.g. 2027-03-01")
    return None


_ALERT_KEYS = ("enabled", "email", "retrainWebhookUrl", "mlIdentityPrincipalId", "thresholds")
_THRESHOLD_KEYS = ("failedRuns", "driftPsi", "servingLatencyMs", "servingErrorRatePercent")
GUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[^@\s]+"


def _read_alerts(reader: _Reader, problems: _Problems) -> Optional[AlertsConfig]:
    reader.unknown_keys(_ALERT_KEYS)
    enabled = reader.boolean("enabled", default=True)
    emails = reader.sequence("email", default=[]) or []
    for i, address in enumerate(emails):
        if not isinstance(address, str) or not re.fullmatch(EMAIL_PATTERN, address):
            problems.add(f"{reader.path}.email[{i}]", f"{reader.show('email', address)} is not an email address "
                         "such as ml-platform@example.com")
    webhook = reader.string("retrainWebhookUrl", default=None, pattern=r"https://[^\s/]+/[^\s]*",
                            pattern_help="must be an https:// URL (the retraining pipeline's webhook)") or None
    if webhook and (found := credential_in_url(webhook)):
        problems.add(f"{reader.path}.retrainWebhookUrl", f"carries a credential ({found}): an action group keeps its "
                     "webhook URL readable in ARM; use a webhook that needs none (Azure DevOps incoming webhook, "
                     "README 'Alerts and the retraining trigger')")
    if enabled and not emails and not webhook and not reader.absent:
        problems.add(f"{reader.path}.email", "is empty and no retrainWebhookUrl is set: an alert with no receiver "
                     "tells no one; list at least one address, or set alerts.enabled: false")
    principal = reader.string("mlIdentityPrincipalId", default=None, pattern=GUID_PATTERN,
                              pattern_help="must be the ML delivery identity's principal (object) id, a GUID") or None
    thresholds = reader.mapping("thresholds", default={})
    thresholds.unknown_keys(_THRESHOLD_KEYS)
    failed_runs = thresholds.integer("failedRuns", default=1, minimum=1)
    psi = thresholds.raw("driftPsi", default=0.25)
    if isinstance(psi, str):
        try:
            psi = float(psi)
        except ValueError:
            pass
    if isinstance(psi, bool) or not isinstance(psi, (int, float)) or not 0 < psi <= 10:
        problems.add(f"{thresholds.path}.driftPsi", f"must be a number above 0 (0.25 is the usual 'significant' "
                     f"PSI, as in ml/config/thresholds.yaml), got {thresholds.show('driftPsi', psi)}")
        psi = 0.25
    latency = thresholds.integer("servingLatencyMs", default=1000, minimum=1, maximum=600000)
    error_rate = thresholds.raw("servingErrorRatePercent", default=5.0)
    if isinstance(error_rate, str):
        try:
            error_rate = float(error_rate)
        except ValueError:
            pass
    if isinstance(error_rate, bool) or not isinstance(error_rate, (int, float)) or not 0 < error_rate <= 100:
        problems.add(f"{thresholds.path}.servingErrorRatePercent", "must be a percentage above 0 and at most 100 "
                     f"(5 fires when one request in twenty fails), got {thresholds.show('servingErrorRatePercent', error_rate)}")
        error_rate = 5.0
    return AlertsConfig(enabled=enabled, emails=tuple(e for e in emails if isinstance(e, str)),
                        retrain_webhook_url=webhook, ml_identity_principal_id=principal,
                        failed_runs=failed_runs, drift_psi=float(psi), serving_latency_ms=latency,
                        serving_error_rate_percent=float(error_rate))
