"""The stack file's schema: the keys the program reads, Azure's limits on their values, and the
typed, frozen configuration they become (components/config.py reads and validates; this module
only states the shape).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi

from isolated_mlops.components.serving_config import TLS_SECRET_KEYS, ServingConfig
from isolated_mlops.components.catalogue import BASTION_SUBNET_MAX_PREFIX, BASTION_SUBNET_NAME  # noqa: F401

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
# Azure's smallest subnet is /29. AzureBastionSubnet's name and its /26 minimum are Azure facts of the
# catalogue (components/catalogue/constants.py, with their source), read here for the stack-file checks.
SMALLEST_SUBNET_PREFIX = 29
# Azure keeps 5 addresses of every subnet: the network address, the default gateway, two for Azure
# DNS, and the broadcast address (Microsoft Learn, "Azure Virtual Network FAQ").
AZURE_RESERVED_ADDRESSES = 5
VM_SIZE_PATTERN = r"Standard_[A-Za-z0-9_-]+"
# Azure tags: names up to 512 characters without < > % & \ ? /, values up to 256 characters.
TAG_NAME_MAX, TAG_VALUE_MAX, TAG_NAME_FORBIDDEN = 512, 256, frozenset('<>%&\\?/')
# A dedicated user for the CI agent and its jobs, without sudo (the VM's admin user has passwordless
# sudo, which would let a job undo the IMDS block). docs/delivery.md, "Who can read the token".
# Stated here, the bottom layer, because the configuration refuses it as the admin's name; the
# agents' cloud-config (compute/cloud_init.py) creates it.
AGENT_USER = "ciagent"
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
    retrain_reader_principal_id: Optional[str] = None
    """GitHub teams: the retraining trigger's reader identity (id-mlops-ml-retrain-<stack>), granted Monitoring
    Reader on the stack's resource group so .github/workflows/ml-retrain.yml can read the fired alerts."""


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

