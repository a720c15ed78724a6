"""The one price table behind `python -m offline cost` and the cost lines of `diff`.

Every price here is a **list price** (pay-as-you-go, USD, Linux for VMs), as it was read on the date
it carries, from the page it names, for the region that page stated. It is not a quote, not a
discount, and not necessarily the price in the stack's region: the estimate marks every line priced
at another region's figure. Where no page read on that date gave a figure, the entry is **unknown**
(`usd is None`): the estimate shows it as unknown, never as zero.

How an entry is read, and how to refresh one: the figure comes from the page in `source`; the page
in `verify` is where Microsoft publishes it (an Azure pricing page, or the Azure Retail Prices API,
https://prices.azure.com/api/retail/prices, documented at
https://learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices, e.g.
`?$filter=serviceName eq 'Virtual Machines' and armRegionName eq 'westeurope' and armSkuName eq
'Standard_D2s_v5' and priceType eq 'Consumption'`). To replace an unknown, read the figure there,
set `usd`, `region`, `source` and `read_on`; `tests/test_offline_cost.py` checks the table's shape.

No live web was reachable when the table was written (2026-12-01): the figures come from stored
copies of public pages found with a search tool, and from the expected outputs ("golden files") of
Infracost's tests, which record what its price service (a copy of Azure's retail prices) answered for
a given region when the file was last regenerated; `as_of` carries that date. Where no West Europe
figure was found, the figure of the region the source states is used and the estimate marks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

READ_ON = "2026-12-01"
HOURS_PER_MONTH = 730.0
"""Azure's pricing pages and calculator convert hourly prices to monthly with 730 hours
(24 x 365 / 12; e.g. the Private Link page's $7.30/month for $0.01/hour, as quoted by c3x below)."""
DAYS_PER_MONTH = HOURS_PER_MONTH / 24

# Where Microsoft publishes each price (the page to check a figure against).
RETAIL_API = "https://prices.azure.com/api/retail/prices"
VM_PAGE = "https://azure.microsoft.com/pricing/details/virtual-machines/linux/"
DISK_PAGE = "https://azure.microsoft.com/pricing/details/managed-disks/"
BASTION_PAGE = "https://azure.microsoft.com/pricing/details/azure-bastion/"
NAT_PAGE = "https://azure.microsoft.com/pricing/details/azure-nat-gateway/"
IP_PAGE = "https://azure.microsoft.com/pricing/details/ip-addresses/"
PRIVATE_LINK_PAGE = "https://azure.microsoft.com/pricing/details/private-link/"
VNET_PAGE = "https://azure.microsoft.com/pricing/details/virtual-network/"
DNS_PAGE = "https://azure.microsoft.com/pricing/details/dns/"
ACR_PAGE = "https://azure.microsoft.com/pricing/details/container-registry/"
MONITOR_PAGE = "https://azure.microsoft.com/pricing/details/monitor/"
STORAGE_PAGE = "https://azure.microsoft.com/pricing/details/storage/blobs/"
KEY_VAULT_PAGE = "https://azure.microsoft.com/pricing/details/key-vault/"
AML_PAGE = "https://azure.microsoft.com/pricing/details/machine-learning/"
AKS_PAGE = "https://azure.microsoft.com/pricing/details/kubernetes-service/"

# The pages the figures were read from (stored copies, found with the search tool on READ_ON).
C3X_NAT = "https://c3x.dev/resources/azure/azurerm_nat_gateway/"
C3X_PRIVATE_ENDPOINT = "https://c3x.dev/resources/azure/azurerm_private_endpoint/"
C3X_ACR = "https://c3x.dev/resources/azure/azurerm_container_registry"
C3X_PEERING = "https://c3x.dev/blog/azure-vnet-peering-cost/"
C3X_VM_FAMILIES = "https://c3x.dev/blog/azure-vm-types-compared"
STRATOLENS_BASTION = "https://getstratolens.com/footguns/idle-azure-bastion"
LEARN_BASTION_SKUS = "https://learn.microsoft.com/azure/bastion/configuration-settings"
LEARN_ACR_SKUS = "https://learn.microsoft.com/azure/container-registry/container-registry-skus"
LEARN_MONITOR_LOGS_COST = "https://learn.microsoft.com/azure/azure-monitor/logs/cost-logs"
INFRACOST_AML_COMPUTE = "https://github.com/infracost/infracost/pull/2902"
LEARN_AKS_TIERS = "https://learn.microsoft.com/azure/aks/free-standard-pricing-tiers"
AKS_UPTIME_SLA_ANNOUNCEMENT = ("https://techcommunity.microsoft.com/t5/apps-on-azure-blog/aks-introduces-uptime-sla/"
                               "ba-p/1350832")
INFRACOST_COMMIT = "95ba4f49a7abf5567b04f751a115543281a4ab18"


def infracost(path: str) -> str:
    """A file of Infracost's Azure provider at the commit read (its tests' golden files carry prices)."""
    return f"https://github.com/infracost/infracost/blob/{INFRACOST_COMMIT}/internal/providers/terraform/azure/{path}"


def golden(test: str) -> str:
    return infracost(f"testdata/{test}_test/{test}_test.golden")


# Infracost's list of Azure resource types with no price of their own ("FreeResources").
INFRACOST_FREE = infracost("registry.go")


@dataclass(frozen=True)
class Price:
    """One list price: USD per unit, as read on a date from a page, for the region that page stated."""

    usd: Optional[float]
    """USD per `unit`; None when no page read on `read_on` gave a figure (unknown, never zero)."""
    unit: str
    """What one unit is: hour, day, month, GB, GB-month, 10,000 operations, million queries."""
    region: str
    """The region the figure was read for (`eastus`), `any` where it does not depend on one, `unstated`
    where the page did not say, or `-` for an unknown."""
    source: str
    """Where the figure (or the fact that there is no meter) was read; empty for an unknown."""
    verify: str
    """Where Microsoft publishes it: the page to check or refresh the figure against."""
    read_on: str = READ_ON
    note: str = ""
    as_of: str = ""
    """When the source recorded the figure, where it says (a golden file's last change, a page's date)."""

    @property
    def known(self) -> bool:
        return self.usd is not None


def unknown(unit: str, verify: str, note: str = "") -> Price:
    """A price no page read on READ_ON gave: listed, shown as unknown, never counted as zero."""
    return Price(None, unit, "-", "", verify, note=note or "not found in the pages read on " + READ_ON)


def free(source: str, note: str, verify: str = "") -> Price:
    """A resource with no meter of its own (what it costs is billed elsewhere, or nothing)."""
    return Price(0.0, "month", "any", source, verify or source, note=note)


def infracost_free(azurerm_type: str, note: str = "", verify: str = "") -> Price:
    """Free as Infracost classifies it: `azurerm_type` is in its FreeResources list (registry.go)."""
    return free(INFRACOST_FREE, f"{azurerm_type} is in Infracost's list of resources with no price of their own"
                + (f"; {note}" if note else ""), verify)


def vm(size: str, usd: Optional[float] = None, region: str = "", source: str = "", as_of: str = "",
       note: str = "") -> Price:
    """A VM size's Linux pay-as-you-go price per hour (dedicated; low priority is its own meter)."""
    verify = (f"{RETAIL_API}?$filter=serviceName eq 'Virtual Machines' and armSkuName eq '{size}' "
              "and priceType eq 'Consumption'")
    if usd is None:
        return unknown("hour", verify, note=f"{size}: not found in the pages read on {READ_ON}")
    return Price(usd, "hour", region, source, verify, note=note, as_of=as_of)


# Resource types, named once (the same tokens the mocks and the policy rules use).
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
VNET = "azure-native:network:VirtualNetwork"
NSG = "azure-native:network:NetworkSecurityGroup"
NAT = "azure-native:network:NatGateway"
PUBLIC_IP = "azure-native:network:PublicIPAddress"
PEERING = "azure-native:network:VirtualNetworkPeering"
BASTION = "azure-native:network:BastionHost"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
DNS_ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
NIC = "azure-native:network:NetworkInterface"
PRIVATE_ZONE = "azure-native:privatedns:PrivateZone"
ZONE_LINK = "azure-native:privatedns:VirtualNetworkLink"
STORAGE = "azure-native:storage:StorageAccount"
KEY_VAULT = "azure-native:keyvault:Vault"
KEY_VAULT_SECRET = "azure-native:keyvault:Secret"
REGISTRY = "azure-native:containerregistry:Registry"
LOG_ANALYTICS = "azure-native:operationalinsights:Workspace"
APP_INSIGHTS = "azure-native:applicationinsights:Component"
PRIVATE_LINK_SCOPE = "azure-native:monitor:PrivateLinkScope"
SCOPED_RESOURCE = "azure-native:monitor:PrivateLinkScopedResource"
ML_WORKSPACE = "azure-native:machinelearningservices:Workspace"
ML_COMPUTE = "azure-native:machinelearningservices:Compute"
ML_REGISTRY = "azure-native:machinelearningservices:Registry"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
VIRTUAL_MACHINE = "azure-native:compute:VirtualMachine"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
LOCK = "azure-native:authorization:ManagementLockAtResourceLevel"
LOCK_BY_SCOPE = "azure-native:authorization:ManagementLockByScope"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
BLOB_CONTAINER = "azure-native:storage:BlobContainer"
KEY_VAULT_KEY = "azure-native:keyvault:Key"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
LOG_TABLE = "azure-native:operationalinsights:Table"
DATA_COLLECTION_ENDPOINT = "azure-native:monitor:DataCollectionEndpoint"
DATA_COLLECTION_RULE = "azure-native:monitor:DataCollectionRule"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
SCHEDULED_QUERY_RULE = "azure-native:monitor:ScheduledQueryRule"
AKS = "azure-native:containerservice:ManagedCluster"
AKS_NAMESPACE = "azure-native:containerservice:ManagedNamespace"
K8S_EXTENSION = "azure-native:kubernetesconfiguration:Extension"
RANDOM_STRING = "random:index/randomString:RandomString"

NO_METER = ("no meter of its own: Azure bills this resource type nothing; not confirmed against a "
            f"price page on {READ_ON}")

# Keys under a type: a SKU or size, or the name of a usage meter ("data processed").
TABLE: Mapping[str, Mapping[str, Price]] = {
    BASTION: {
        # A dedicated host billed per hour whether anyone connects or not.
        "Basic": Price(0.19, "hour", "unstated", STRATOLENS_BASTION, BASTION_PAGE, as_of="2026-07-01",
                       note="'roughly $0.19/hour, about $140/month at list price'; Infracost's golden file has "
                            "the same $138.70 for 730 hours in australiaeast"),
        "Standard": unknown("hour", BASTION_PAGE, "Standard (2 instances included): not found in the pages "
                            f"read on {READ_ON}; it is above Basic's"),
        "Premium": unknown("hour", BASTION_PAGE),
        # Microsoft Learn: "The Bastion Developer SKU is a free, lightweight SKU" (shared pool, no
        # AzureBastionSubnet, no VNet peering, one connection at a time, some regions only).
        "Developer": Price(0.0, "hour", "any", LEARN_BASTION_SKUS, BASTION_PAGE,
                           note="free, shared infrastructure; no VNet peering"),
        "outbound data GB": unknown("GB", BASTION_PAGE),
    },
    PUBLIC_IP: {
        "Standard static": Price(0.005, "hour", "westeurope", golden("nat_gateway"), IP_PAGE, as_of="2024-07-01",
                                 note="'IP address (static, regional) 730 hours $3.65' (West Europe); c3x gives "
                                      "the same for eastus"),
    },
    NAT: {
        "Standard": Price(0.045, "hour", "westeurope", golden("nat_gateway"), NAT_PAGE, as_of="2024-07-01",
                          note="'NAT gateway 730 hours $32.85' (West Europe); c3x gives $0.045/hour for eastus"),
        "data processed GB": Price(0.045, "GB", "westeurope", golden("nat_gateway"), NAT_PAGE, as_of="2024-07-01",
                                   note="'Data processed ... $0.045 per GB' (West Europe)"),
    },
    PRIVATE_ENDPOINT: {
        "endpoint": Price(0.01, "hour", "eastus", C3X_PRIVATE_ENDPOINT, PRIVATE_LINK_PAGE,
                          note="'~$0.01/hour per endpoint (~$7.30/month)'"),
        "inbound data GB": Price(0.01, "GB", "eastus", C3X_PRIVATE_ENDPOINT, PRIVATE_LINK_PAGE,
                                 note="'$0.01/GB each direction'"),
        "outbound data GB": Price(0.01, "GB", "eastus", C3X_PRIVATE_ENDPOINT, PRIVATE_LINK_PAGE,
                                  note="'$0.01/GB each direction'"),
    },
    PEERING: {
        # Same-region peering: no hourly fee; each GB billed outbound at the sender and inbound at the receiver.
        "outbound data GB": Price(0.01, "GB", "westeurope", golden("virtual_network_peering"), VNET_PAGE,
                                  as_of="2024-07-01", note="intra-region 'Outbound data transfer 1,000 GB $10.00' "
                                                           "(West Europe); c3x: '~$0.01/GB each direction'"),
        "inbound data GB": Price(0.01, "GB", "westeurope", golden("virtual_network_peering"), VNET_PAGE,
                                 as_of="2024-07-01", note="intra-region 'Inbound data transfer 1,000 GB $10.00' (West Europe)"),
    },
    PRIVATE_ZONE: {
        "zone": Price(0.50, "month", "westeurope", golden("private_dns_a_record"), DNS_PAGE, as_of="2024-07-01",
                      note="'Hosted zone 1 months $0.50' (West Europe)"),
        "queries": Price(0.40, "million queries", "westeurope", golden("private_dns_a_record"), DNS_PAGE,
                         as_of="2024-07-01", note="'DNS queries (first 1B) 1,000 1M queries $400.00' (West Europe)"),
    },
    ZONE_LINK: {
        # Auto-registration is off on every link here (network/private_dns.py).
        "link": infracost_free("azurerm_private_dns_zone_virtual_network_link", verify=DNS_PAGE),
    },
    REGISTRY: {
        "Basic": Price(5.00 / 30, "day", "westeurope", golden("container_registry"), ACR_PAGE, as_of="2024-07-01",
                       note="'Registry usage (Basic) 30 days $5.00' (West Europe); c3x: '$0.167/day. Includes 10 GB'"),
        "Standard": Price(0.667, "day", "eastus", C3X_ACR, ACR_PAGE, note="'$0.667/day ($20.30/month). Includes 100 GB'"),
        "Premium": Price(50.00 / 30, "day", "westeurope", golden("container_registry"), ACR_PAGE, as_of="2024-07-01",
                         note="'Registry usage (Premium) 30 days $50.00' (West Europe); c3x: '$1.667/day. Includes "
                              "500 GB'; the only tier with private endpoints"),
    },
    KEY_VAULT: {
        "standard operations": Price(0.03, "10,000 operations", "eastus", golden("key_vault_key"), KEY_VAULT_PAGE,
                                     as_of="2024-07-01", note="standard vault: 'Secrets operations 7 10K transactions "
                                                              "$0.21'"),
    },
    STORAGE: {
        # Capacity per GB-month of hot block blobs (StorageV2, first 50 TB), by redundancy; transactions
        # are not estimated. Infracost's golden file, West US: capacity of 51,200 GB.
        "Standard_LRS GB": Price(1064.96 / 51200, "GB-month", "westus", golden("storage_account"), STORAGE_PAGE,
                                 as_of="2024-07-01", note="StorageV2 Standard LRS Hot: '51,200 GB $1,064.96'"),
        "Standard_ZRS GB": Price(1331.20 / 51200, "GB-month", "westus", golden("storage_account"), STORAGE_PAGE,
                                 as_of="2024-07-01", note="StorageV2 Standard ZRS Hot: '51,200 GB $1,331.20'"),
        "Standard_GRS GB": Price(2344.96 / 51200, "GB-month", "westus", golden("storage_account"), STORAGE_PAGE,
                                 as_of="2024-07-01", note="StorageV2 Standard GRS Hot: '51,200 GB $2,344.96'"),
        "Standard_RAGRS GB": Price(2447.36 / 51200, "GB-month", "westus", golden("storage_account"), STORAGE_PAGE,
                                   as_of="2024-07-01", note="StorageV2 Standard RAGRS Hot: '51,200 GB $2,447.36'"),
        "Standard_GZRS GB": unknown("GB-month", STORAGE_PAGE),
        "Standard_RAGZRS GB": unknown("GB-month", STORAGE_PAGE),
    },
    LOG_ANALYTICS: {
        # Pricing for Log Analytics is set regionally (Microsoft Learn, LEARN_MONITOR_LOGS_COST).
        "PerGB2018 ingestion GB": Price(2.99, "GB", "westeurope", golden("log_analytics_workspace"), MONITOR_PAGE,
                                        as_of="2024-08-30", note="PerGB2018 'Log data ingestion ... $2.99 per GB' "
                                                                 "(West Europe)"),
        "retention GB-month": Price(0.13, "GB-month", "westeurope", golden("log_analytics_workspace"), MONITOR_PAGE,
                                    as_of="2024-08-30", note="'Log data retention ... $0.13 per GB' beyond the "
                                                             "included 31 days (West Europe)"),
    },
    VIRTUAL_MACHINE: {
        # East US June 2026 figures from c3x's family comparison; every other size: unknown until read.
        "Standard_D2s_v5": vm("Standard_D2s_v5", 0.096, "eastus", C3X_VM_FAMILIES),
        "Standard_E2s_v5": vm("Standard_E2s_v5", 0.126, "eastus", C3X_VM_FAMILIES),
        "Standard_F2s_v2": vm("Standard_F2s_v2", 0.085, "eastus", C3X_VM_FAMILIES),
        "Standard_B2s_v2": vm("Standard_B2s_v2", 0.0416, "eastus", C3X_VM_FAMILIES),
        # NCv3 retired on 2025-09-30 (a retired size cannot be created); its last list price, for a diff away from it.
        "Standard_NC6s_v3": vm("Standard_NC6s_v3", 2233.80 / 730, "eastus", golden("virtual_machine"), "2025-11-28",
                               "'Instance usage (Linux, pay as you go, Standard_NC6s_v3) 730 hours $2,233.80'"),
        **{size: vm(size) for size in (
            "Standard_B2s", "Standard_B2ms", "Standard_B2ats_v2", "Standard_B2ls_v2", "Standard_D4s_v5", "Standard_D8s_v5",
            "Standard_D4as_v5", "Standard_DS3_v2", "Standard_E4s_v5",
            "Standard_NC4as_T4_v3", "Standard_NC24ads_A100_v4", "Standard_NC40ads_H100_v5",
            "Standard_NV36ads_A10_v5")},
        # The OS disk each VM gets (compute/linux_vm.py: StandardSSD_LRS at the image's size, 30 GiB
        # for Ubuntu 24.04, so the E4 tier, 32 GiB); billed whether the VM runs or not.
        "os disk StandardSSD_LRS": Price(2.40, "month", "eastus", golden("linux_virtual_machine"), DISK_PAGE,
                                         as_of="2024-07-01", note="'os_disk Storage (E4, LRS) 1 months $2.40' (a "
                                                                  "StandardSSD_LRS OS disk at its image's size)"),
    },
    ML_COMPUTE: {
        # AmlCompute nodes bill as VMs of their size (the price is VIRTUAL_MACHINE's); low-priority
        # nodes have their own, lower meter, not in this table.
        "nodes": Price(0.0, "hour", "any", INFRACOST_AML_COMPUTE, AML_PAGE,
                       note="no surcharge: nodes are billed at the VM price of their size"),
        "low priority": unknown("hour", AML_PAGE, "low-priority node prices: not found in the pages read "
                                f"on {READ_ON}"),
        # A Kubernetes compute is a cluster attached to the workspace: the cluster (AKS) is billed.
        "attached": free(INFRACOST_AML_COMPUTE, "an attached Kubernetes compute: its AKS cluster and nodes are "
                         "billed, priced under the cluster", verify=AML_PAGE),
    },
    AKS: {
        # Control plane by tier; the nodes are VMs of the pool's size, priced as VIRTUAL_MACHINE
        # (offline/cost.py counts minCount nodes around the clock).
        "Free": free(LEARN_AKS_TIERS, "Free tier: 'The cluster management is free, but charged for VM, storage, and "
                     "networking usage'", verify=AKS_PAGE),
        "Standard": Price(0.10, "hour", "any", AKS_UPTIME_SLA_ANNOUNCEMENT, AKS_PAGE, as_of="2020-05-13",
                          note="the Uptime SLA, now the Standard tier: 'at a cost of $0.10/hour per cluster' "
                               "(Microsoft's announcement); not re-read on a price page on " + READ_ON),
        "Premium": unknown("hour", AKS_PAGE),
        # AKS gives each node a managed OS disk (128 GiB by default where the size has no cache or
        # temporary disk large enough for an ephemeral one, as Dsv5); its price was not read.
        "node os disk": unknown("month", DISK_PAGE, "a node's managed OS disk: not read on " + READ_ON),
    },
    AKS_NAMESPACE: {"*": free("", NO_METER + " (a namespace of the cluster, whose nodes are billed)", verify=AKS_PAGE)},
    K8S_EXTENSION: {"*": free("", NO_METER + " (the Azure ML extension's pods run on the cluster's nodes)",
                              verify=AML_PAGE)},
    ML_WORKSPACE: {
        "Basic": infracost_free("azurerm_machine_learning_workspace", "what a workspace bills is its compute, storage, "
                                "registry, Key Vault and monitoring, each priced here", verify=AML_PAGE),
    },
    ML_REGISTRY: {
        # Azure creates a storage account and an ACR for every registry region ("az ml registry create":
        # https://learn.microsoft.com/cli/azure/ml/registry#az-ml-registry-create); the ACR is priced as
        # REGISTRY's Premium (the SKU workspace/model_registry.py asks for). A charge of the registry
        # itself, and its storage's size, were not found on a page read on READ_ON: unknown, not zero.
        "registry": unknown("month", AML_PAGE, "a charge of the registry resource itself: not found in the "
                            f"pages read on {READ_ON}"),
        "managed storage": unknown("month", AML_PAGE, "the storage account Azure creates for it: billed by "
                                   "what the models take, not estimated"),
    },
    APP_INSIGHTS: {
        "*": free(LEARN_MONITOR_LOGS_COST, "workspace-based: its telemetry is ingested and billed by the Log "
                  "Analytics workspace (the ingestion assumption covers it)", verify=MONITOR_PAGE),
    },
    PRIVATE_LINK_SCOPE: {"*": infracost_free("azurerm_monitor_private_link_scope", "its private endpoint is billed "
                                             "as one", verify=PRIVATE_LINK_PAGE)},
    SCOPED_RESOURCE: {"*": infracost_free("azurerm_monitor_private_link_scoped_service", verify=PRIVATE_LINK_PAGE)},
    DNS_ZONE_GROUP: {"*": free("", NO_METER + " (the endpoint's DNS registration)", verify=PRIVATE_LINK_PAGE)},
    # A diagnostic setting has no meter: what it sends is billed as Log Analytics ingestion, which the
    # estimate already counts under logAnalyticsGbPerDay.
    DIAGNOSTIC_SETTING: {"*": free("https://learn.microsoft.com/azure/azure-monitor/essentials/diagnostic-settings"
                                   "#controlling-costs", "no meter of its own: the logs it sends are billed as "
                                   "Log Analytics ingestion (logAnalyticsGbPerDay)", verify=MONITOR_PAGE)},
    # The drift table's rows are Log Analytics ingestion (a few rows per delivery run), which
    # logAnalyticsGbPerDay already counts; the endpoint and rule that carry them have no price read here.
    LOG_TABLE: {"*": free(LEARN_MONITOR_LOGS_COST, "a table has no meter of its own: its rows are billed as Log "
                          "Analytics ingestion and retention (logAnalyticsGbPerDay)", verify=MONITOR_PAGE)},
    DATA_COLLECTION_ENDPOINT: {"*": unknown("month", MONITOR_PAGE)},
    DATA_COLLECTION_RULE: {"*": unknown("month", MONITOR_PAGE)},
    # Alerts have list prices (per monitored metric time series, per log search rule by frequency,
    # per notification beyond a free monthly grant): none was read from a page on READ_ON.
    ACTION_GROUP: {"*": unknown("month", MONITOR_PAGE, "emails per month beyond a free grant: not read on " + READ_ON)},
    METRIC_ALERT: {"*": unknown("month", MONITOR_PAGE, "per monitored time series: not read on " + READ_ON)},
    SCHEDULED_QUERY_RULE: {"*": unknown("month", MONITOR_PAGE, "per rule, by evaluation frequency: not read on "
                                        + READ_ON)},
    VNET: {"*": infracost_free("azurerm_virtual_network", "traffic across a peering is billed on the peering",
                               verify=VNET_PAGE)},
    NSG: {"*": infracost_free("azurerm_network_security_group", verify=VNET_PAGE)},
    NIC: {"*": infracost_free("azurerm_network_interface", "the VM is billed", verify=VNET_PAGE)},
    RESOURCE_GROUP: {"*": infracost_free("azurerm_resource_group")},
    IDENTITY: {"*": infracost_free("azurerm_user_assigned_identity")},
    ROLE_ASSIGNMENT: {"*": infracost_free("azurerm_role_assignment")},
    LOCK: {"*": infracost_free("azurerm_management_lock")},
    LOCK_BY_SCOPE: {"*": infracost_free("azurerm_management_lock")},
    KEY_VAULT_SECRET: {"*": infracost_free("azurerm_key_vault_secret", "reads and writes are Key Vault operations, "
                                           "estimated on the vault", verify=KEY_VAULT_PAGE)},
    KEY_VAULT_KEY: {"*": free("", "no meter of its own for a software key in a Standard vault: its use is Key "
                                  "Vault operations", verify=KEY_VAULT_PAGE)},
    BLOB_SERVICE: {"*": free("", NO_METER + " (settings of the account, which is billed)", verify=STORAGE_PAGE)},
    BLOB_CONTAINER: {"*": infracost_free("azurerm_storage_container", "its data is billed on the account",
                                         verify=STORAGE_PAGE)},
    RANDOM_STRING: {"*": free("https://www.pulumi.com/registry/packages/random/",
                              "not an Azure resource: Pulumi computes it locally")},
}


def lookup(type_token: str, key: str) -> Optional[Price]:
    """The price of `key` (a SKU, size or meter) of a resource type; None when the table has no entry."""
    return TABLE.get(type_token, {}).get(key)
