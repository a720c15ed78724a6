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
copies of public pages found with a search tool, from the expected outputs ("golden files") of
Infracost's tests, which record what its price service (a copy of Azure's retail prices) answered for
a given region when the file was last regenerated, and, for VM sizes, from a public repository's
nightly copy of the Retail Prices API's westeurope Virtual Machines prices (RADAR_VM_WESTEUROPE);
`as_of` carries the date the source recorded. Where no West Europe figure was found, the figure of
the region the source states is used and the estimate marks it.
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
STRATOLENS_BASTION = "https://getstratolens.com/footguns/idle-azure-bastion"
LEARN_BASTION_SKUS = "https://learn.microsoft.com/azure/bastion/configuration-settings"
LEARN_ACR_SKUS = "https://learn.microsoft.com/azure/container-registry/container-registry-skus"
LEARN_MONITOR_LOGS_COST = "https://learn.microsoft.com/azure/azure-monitor/logs/cost-logs"
INFRACOST_AML_COMPUTE = "https://github.com/infracost/infracost/pull/2902"
LEARN_AKS_TIERS = "https://learn.microsoft.com/azure/aks/free-standard-pricing-tiers"
AKS_UPTIME_SLA_ANNOUNCEMENT = ("https://techcommunity.microsoft.com/t5/apps-on-azure-blog/aks-introduces-uptime-sla/"
                               "ba-p/1350832")
INFRACOST_COMMIT = "95ba4f49a7abf5567b04f751a115543281a4ab18"
# A nightly copy of the Azure Retail Prices API for Virtual Machines in westeurope, priceType
# Consumption (its scripts/fetch_prices.py: one JSON row per meter with retailPrice, meterName,
# productName, unitOfMeasure). The file last changed on 2026-08-20 and was fetched again, unchanged,
# on 2026-08-22 (data/latest/last-checked.json at this commit): RADAR_AS_OF.
RADAR_COMMIT = "cf741f25c50759745f8eb5dcaf6c3746669c8f31"
RADAR_VM_WESTEUROPE = f"https://github.com/andy-diericks/azure-pricing-radar/blob/{RADAR_COMMIT}/data/latest/vm-eu-west.json"
RADAR_AS_OF = "2026-08-22"


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
    where = f" and armRegionName eq '{region}'" if region not in ("", "any", "unstated") else ""
    verify = (f"{RETAIL_API}?$filter=serviceName eq 'Virtual Machines' and armSkuName eq '{size}'{where} "
              "and priceType eq 'Consumption'")
    if usd is None:
        return unknown("hour", verify, note=f"{size}: not found in the pages read on {READ_ON}")
    return Price(usd, "hour", region, source, verify, note=note, as_of=as_of)


VM_WESTEUROPE: tuple[tuple[str, float, Optional[float], str], ...] = (
    # (size, dedicated USD/hour, low priority USD/hour or None where the copy has no such meter, meterName)
    ("Standard_B2s", 0.048, None, "B2s"),
    ("Standard_B2ms", 0.096, None, "B2ms"),
    ("Standard_B2ats_v2", 0.0108, 0.00216, "B2ats v2"),
    ("Standard_B2ls_v2", 0.048, 0.0096, "B2ls v2"),
    ("Standard_B2s_v2", 0.096, 0.0192, "B2s v2"),
    ("Standard_D2s_v5", 0.115, 0.023, "D2s v5"),
    ("Standard_D4s_v5", 0.23, 0.046, "D4s v5"),
    ("Standard_D8s_v5", 0.46, 0.092, "D8s v5"),
    ("Standard_D4as_v5", 0.208, 0.0416, "D4as v5"),
    ("Standard_DS3_v2", 0.272, 0.054, "DS3 v2"),
    ("Standard_E2s_v5", 0.152, 0.0304, "E2s v5"),
    ("Standard_E4s_v5", 0.304, 0.0608, "E4s v5"),
    ("Standard_F2s_v2", 0.097, 0.0194, "F2s v2"),
    ("Standard_NC4as_T4_v3", 0.658, 0.132, "NC4as T4 v3"),
    ("Standard_NC24ads_A100_v4", 4.775, 0.955, "NC24ads_A100_v4"),
    ("Standard_NC40ads_H100_v5", 9.08, 1.816, "NC40adsH100v5"),
    ("Standard_NV36ads_A10_v5", 4.16, 0.832, "NV36ads A10 v5"),
    ("Standard_NC6s_v3", 3.823, 0.765, "NC6s v3"),
)


# Resource types, named once: in the package's catalogue (the same tokens the mocks and the policy rules use).
from isolated_mlops.components.catalogue import (  # noqa: E402
    ACTION_GROUP, APP_INSIGHTS, BASTION, BLOB_CONTAINER, BLOB_SERVICE, DATA_COLLECTION_ENDPOINT, DATA_COLLECTION_RULE,
    DIAGNOSTIC_SETTING, IDENTITY, KEY_VAULT, KEY_VAULT_KEY, KEY_VAULT_SECRET, LOCK, LOCK_BY_SCOPE, LOG_ANALYTICS,
    LOG_TABLE, METRIC_ALERT, ML_REGISTRY, NIC, NSG, PEERING, PRIVATE_ENDPOINT, PRIVATE_LINK_SCOPE, PRIVATE_ZONE,
    PUBLIC_IP, RANDOM_STRING, REGISTRY, RESOURCE_GROUP, ROLE_ASSIGNMENT, SCHEDULED_QUERY_RULE, SCOPED_RESOURCE,
    STORAGE, VNET, ZONE_LINK,
)
from isolated_mlops.components.catalogue import COMPUTE as ML_COMPUTE  # noqa: E402
from isolated_mlops.components.catalogue import NAT_GATEWAY as NAT  # noqa: E402
from isolated_mlops.components.catalogue import VM as VIRTUAL_MACHINE  # noqa: E402
from isolated_mlops.components.catalogue import WORKSPACE as ML_WORKSPACE  # noqa: E402
from isolated_mlops.components.catalogue import ZONE_GROUP as DNS_ZONE_GROUP  # noqa: E402
from isolated_mlops.components.catalogue import AKS, AKS_NAMESPACE, K8S_EXTENSION  # noqa: E402

NO_METER = ("no meter of its own: Azure bills this resource type nothing; not confirmed against a "
            f"price page on {READ_ON}")

# Keys under a type: a SKU or size, or the name of a usage meter ("data processed").
TABLE: Mapping[str, Mapping[str, Price]] = {
    BASTION: {
        # A dedicated host billed per hour whether anyone connects or not.
        "Basic": Price(0.19, "hour", "unstated", STRATOLENS_BASTION, BASTION_PAGE, as_of="2026-07-01",
                       note="'roughly $0.19/hour, about $140/month at list price'; Infracost's golden file has "
                            "the same $138.70 for 730 hours in australiaeast"),
        # Third-party figures for Standard disagree ($0.29/hour, ~$278/month, ~$289/month, with no region
        # or date, or none that can be cited): none is recorded until the page is read.
        "Standard": unknown("hour", BASTION_PAGE, "Standard (2 instances included): no citable figure in the "
                            f"pages read on {READ_ON} (third-party figures disagree); it is above Basic's"),
        "Premium": unknown("hour", BASTION_PAGE),
        # Microsoft Learn: "The Bastion Developer SKU is a free, lightweight SKU" (shared pool, no
        # AzureBastionSubnet, no VNet peering, one connection at a time, some regions only).
        "Developer": Price(0.0, "hour", "any", LEARN_BASTION_SKUS, BASTION_PAGE,
                           note="free, shared infrastructure; no VNet peering"),
        # Infracost's golden file prices Basic's meter only ('Basic Data Transfer Out': 'first 10TB
        # 10,000 GB $1,200.00', australiaeast); no figure for Standard's or Premium's meter was read.
        "outbound data GB": unknown("GB", BASTION_PAGE, "Standard's and Premium's outbound data meters: not "
                                    f"found in the pages read on {READ_ON} (Basic's: $0.12/GB, australiaeast)"),
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
        # West Europe, Linux, pay-as-you-go: the Retail Prices API's answer for serviceName 'Virtual
        # Machines', armRegionName 'westeurope', priceType 'Consumption', as a nightly copy of it recorded
        # it (RADAR_VM_WESTEUROPE); productName without 'Windows', meterName '<size>' (dedicated) and
        # '<size> Low Priority' (the low-priority meter, which AmlCompute's LowPriority nodes use:
        # Learn, how-to-use-low-priority-batch: 'offered at a reduced price compared with dedicated').
        # NCv3 retired on 2025-09-30 (a retired size cannot be created); its price, for a diff away from it.
        **{size: vm(size, usd, "westeurope", RADAR_VM_WESTEUROPE, RADAR_AS_OF, f"meter '{meter}': ${usd:g}/hour")
           for size, usd, _, meter in VM_WESTEUROPE},
        **{f"{size} low priority": vm(size, low, "westeurope", RADAR_VM_WESTEUROPE, RADAR_AS_OF,
                                      f"meter '{meter} Low Priority': ${low:g}/hour")
           for size, _, low, meter in VM_WESTEUROPE if low is not None},
        **{f"{size} low priority": unknown("hour", RETAIL_API, f"{size}: the copy read has no Low Priority meter for it")
           for size, _, low, _ in VM_WESTEUROPE if low is None},
        # The OS disk each VM gets (compute/linux_vm.py: StandardSSD_LRS at the image's size, 30 GiB
        # for Ubuntu 24.04, so the E4 tier, 32 GiB); billed whether the VM runs or not.
        "os disk StandardSSD_LRS": Price(2.40, "month", "eastus", golden("linux_virtual_machine"), DISK_PAGE,
                                         as_of="2024-07-01", note="'os_disk Storage (E4, LRS) 1 months $2.40' (a "
                                                                  "StandardSSD_LRS OS disk at its image's size)"),
    },
    ML_COMPUTE: {
        # AmlCompute nodes bill as VMs of their size: dedicated nodes at VIRTUAL_MACHINE's `<size>`,
        # low-priority nodes at its `<size> low priority` (the size's Low Priority meter).
        "nodes": Price(0.0, "hour", "any", INFRACOST_AML_COMPUTE, AML_PAGE,
                       note="no surcharge: nodes are billed at the VM price of their size"),
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
    # logAnalyticsGbPerDay already counts.
    LOG_TABLE: {"*": free(LEARN_MONITOR_LOGS_COST, "a table has no meter of its own: its rows are billed as Log "
                          "Analytics ingestion and retention (logAnalyticsGbPerDay)", verify=MONITOR_PAGE)},
    # A data collection endpoint: no price was found on a page read on READ_ON (Infracost has no
    # entry for azurerm_monitor_data_collection_endpoint, priced or free): unknown, not zero.
    DATA_COLLECTION_ENDPOINT: {"*": unknown("month", MONITOR_PAGE, "the endpoint itself: no price and no "
                                            f"statement that it is free found in the pages read on {READ_ON}")},
    # A data collection rule has no fixed charge: Infracost prices it only by the metric samples it
    # sends to Azure Monitor Metrics ('Baseline cost $0.00'; 'Metrics ingestion ... $0.16 per 10M
    # samples', West Europe). The drift rule sends rows to a Log Analytics table, billed as Log
    # Analytics ingestion (logAnalyticsGbPerDay), and no metrics.
    DATA_COLLECTION_RULE: {"*": Price(0.0, "month", "any", golden("monitor_data_collection_rule"),
                                      MONITOR_PAGE, as_of="2024-07-01",
                                      note="no fixed charge: only metric samples sent to Azure Monitor Metrics are "
                                           "billed ($0.16 per 10M samples), and this rule sends none; its log rows "
                                           "are Log Analytics ingestion")},
    # An action group has no fixed charge: each notification is billed per unit ('Baseline cost
    # $0.00' in Infracost's golden file, East US: 'Email notifications ... $0.00002 per emails', 'Web
    # hooks ... $0.000006 per notifications', priced from the tiers that start at 1,000 emails and
    # 10,000 webhooks a month: internal/resources/azure/monitor_action_group.go). The alerts here
    # notify a few times a month: the per-notification charge is not estimated.
    ACTION_GROUP: {"*": Price(0.0, "month", "any", golden("monitor_action_group"), MONITOR_PAGE,
                              as_of="2024-07-01",
                              note="no fixed charge; per notification: email $0.00002 (tier from 1,000 a month), "
                                   "webhook $0.000006 (tier from 10,000 a month), East US; not estimated")},
    # Metric alert rules: per monitored time series a month ('Metrics monitoring 1 time-series $0.10',
    # East US). Infracost reads the tier that starts at 10 time series (monitor_metric_alert.go): the
    # first ones a subscription monitors may cost nothing; the estimate counts every one.
    METRIC_ALERT: {"time series": Price(0.10, "time series-month", "eastus", golden("monitor_metric_alert"),
                                        MONITOR_PAGE, as_of="2024-07-01",
                                        note="'Metrics monitoring 1 time-series $0.10' (East US)")},
    # Log search alert rules: per rule a month by evaluation frequency, in bands of 1, 5, 10 and 15
    # minutes (15 and over: the 15-minute price; monitor_scheduled_query_rules_alert.go), West Europe.
    SCHEDULED_QUERY_RULE: {
        f"log alert {band} min": Price(usd, "rule-month", "westeurope", golden("monitor_scheduled_query_rules_alert_v2"),
                                       MONITOR_PAGE, as_of="2024-07-01",
                                       note=f"'Log alerts monitoring ({band} minute frequency) 1 rule ${usd:.2f}' "
                                            "(West Europe)")
        for band, usd in ((1, 3.00), (5, 1.50), (10, 1.00), (15, 0.50))},
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
