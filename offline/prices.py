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
copies of public pages found with a search tool. Most of those pages state US East (`eastus`)
prices; West Europe's differ for most meters.
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

    @property
    def known(self) -> bool:
        return self.usd is not None


def unknown(unit: str, verify: str, note: str = "") -> Price:
    """A price no page read on READ_ON gave: listed, shown as unknown, never counted as zero."""
    return Price(None, unit, "-", "", verify, note=note or "not found in the pages read on " + READ_ON)


def free(source: str, note: str, verify: str = "") -> Price:
    """A resource with no meter of its own (what it costs is billed elsewhere, or nothing)."""
    return Price(0.0, "month", "any", source, verify or source, note=note)


def vm(size: str, usd: Optional[float] = None, region: str = "", source: str = "") -> Price:
    """A VM size's Linux pay-as-you-go price per hour (dedicated; low priority is its own meter)."""
    verify = (f"{RETAIL_API}?$filter=serviceName eq 'Virtual Machines' and armSkuName eq '{size}' "
              "and priceType eq 'Consumption'")
    if usd is None:
        return unknown("hour", verify, note=f"{size}: not found in the pages read on {READ_ON}")
    return Price(usd, "hour", region, source, verify)


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
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
VIRTUAL_MACHINE = "azure-native:compute:VirtualMachine"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
LOCK = "azure-native:authorization:ManagementLockAtResourceLevel"
LOCK_BY_SCOPE = "azure-native:authorization:ManagementLockByScope"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
BLOB_CONTAINER = "azure-native:storage:BlobContainer"
KEY_VAULT_KEY = "azure-native:keyvault:Key"
RANDOM_STRING = "random:index/randomString:RandomString"

NO_METER = ("no meter of its own: Azure bills this resource type nothing; not confirmed against a "
            f"price page on {READ_ON}")

# Keys under a type: a SKU or size, or the name of a usage meter ("data processed").
TABLE: Mapping[str, Mapping[str, Price]] = {
    BASTION: {
        # A dedicated host billed per hour whether anyone connects or not.
        "Basic": Price(0.19, "hour", "unstated", STRATOLENS_BASTION, BASTION_PAGE,
                       note="'roughly $0.19/hour, about $140/month at list price' (page updated 2026-07-01)"),
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
        # c3x: "a static Standard IP ... about $3.65/month" (eastus), i.e. $0.005/hour.
        "Standard static": Price(0.005, "hour", "eastus", C3X_NAT, IP_PAGE,
                                 note="'about $3.65/month for a static Standard IP'"),
    },
    NAT: {
        "Standard": Price(0.045, "hour", "eastus", C3X_NAT, NAT_PAGE, note="'roughly $0.045/hour'"),
        "data processed GB": Price(0.045, "GB", "eastus", C3X_NAT, NAT_PAGE, note="'roughly $0.045/GB of data processed'"),
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
        "outbound data GB": Price(0.01, "GB", "unstated", C3X_PEERING, VNET_PAGE, note="same region, '~$0.01/GB each direction'"),
        "inbound data GB": Price(0.01, "GB", "unstated", C3X_PEERING, VNET_PAGE, note="same region, '~$0.01/GB each direction'"),
    },
    PRIVATE_ZONE: {
        "zone": unknown("month", DNS_PAGE, f"per hosted private zone: not found in the pages read on {READ_ON}"),
        "queries": unknown("million queries", DNS_PAGE),
    },
    ZONE_LINK: {
        "link": unknown("month", DNS_PAGE, "whether a virtual network link has a meter of its own: not "
                        f"found in the pages read on {READ_ON}"),
    },
    REGISTRY: {
        "Basic": Price(0.167, "day", "eastus", C3X_ACR, ACR_PAGE,
                       note="'$0.167/day ($5.08/month). Includes 10 GB'; Learn's SKU page gives the same example"),
        "Standard": Price(0.667, "day", "eastus", C3X_ACR, ACR_PAGE, note="'$0.667/day ($20.30/month). Includes 100 GB'"),
        "Premium": Price(1.667, "day", "eastus", C3X_ACR, ACR_PAGE,
                         note="'$1.667/day ($50.74/month). Includes 500 GB'; the only tier with private endpoints"),
    },
    KEY_VAULT: {
        "standard operations": unknown("10,000 operations", KEY_VAULT_PAGE),
    },
    STORAGE: {
        # Capacity per GB-month of hot block blobs, by redundancy; transactions are not estimated.
        **{f"{sku} GB": unknown("GB-month", STORAGE_PAGE) for sku in (
            "Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS")},
    },
    LOG_ANALYTICS: {
        "PerGB2018 ingestion GB": unknown("GB", MONITOR_PAGE, "Analytics logs ingestion: set regionally "
                                          f"({LEARN_MONITOR_LOGS_COST}); not found in the pages read on {READ_ON}"),
        "retention GB-month": unknown("GB-month", MONITOR_PAGE, "interactive retention beyond the included "
                                      f"31 days: not found in the pages read on {READ_ON}"),
    },
    VIRTUAL_MACHINE: {
        # East US June 2026 figures from c3x's family comparison; every other size: unknown until read.
        "Standard_D2s_v5": vm("Standard_D2s_v5", 0.096, "eastus", C3X_VM_FAMILIES),
        "Standard_E2s_v5": vm("Standard_E2s_v5", 0.126, "eastus", C3X_VM_FAMILIES),
        "Standard_F2s_v2": vm("Standard_F2s_v2", 0.085, "eastus", C3X_VM_FAMILIES),
        "Standard_B2s_v2": vm("Standard_B2s_v2", 0.0416, "eastus", C3X_VM_FAMILIES),
        **{size: vm(size) for size in (
            "Standard_B2s", "Standard_B2ms", "Standard_B2ats_v2", "Standard_D4s_v5", "Standard_D8s_v5",
            "Standard_D4as_v5", "Standard_DS3_v2", "Standard_E4s_v5", "Standard_NC6s_v3",
            "Standard_NC4as_T4_v3", "Standard_NC24ads_A100_v4", "Standard_NC40ads_H100_v5",
            "Standard_NV36ads_A10_v5")},
        # The OS disk each VM gets (compute/linux_vm.py: StandardSSD_LRS at the image's size, 30 GiB
        # for Ubuntu 24.04, so the E4 tier); billed whether the VM runs or not.
        "os disk StandardSSD_LRS": unknown("month", DISK_PAGE, "Standard SSD E4 (32 GiB): not found in the "
                                           f"pages read on {READ_ON}"),
    },
    ML_COMPUTE: {
        # AmlCompute nodes bill as VMs of their size (the price is VIRTUAL_MACHINE's); low-priority
        # nodes have their own, lower meter, not in this table.
        "nodes": Price(0.0, "hour", "any", INFRACOST_AML_COMPUTE, AML_PAGE,
                       note="no surcharge: nodes are billed at the VM price of their size"),
        "low priority": unknown("hour", AML_PAGE, "low-priority node prices: not found in the pages read "
                                f"on {READ_ON}"),
    },
    ML_WORKSPACE: {
        "Basic": free(INFRACOST_AML_COMPUTE, "the workspace has no meter: what it bills is its compute, storage, "
                      "registry, Key Vault and monitoring, each priced here", verify=AML_PAGE),
    },
    APP_INSIGHTS: {
        "*": free(LEARN_MONITOR_LOGS_COST, "workspace-based: its telemetry is ingested and billed by the Log "
                  "Analytics workspace (the ingestion assumption covers it)", verify=MONITOR_PAGE),
    },
    PRIVATE_LINK_SCOPE: {"*": free("", NO_METER + "; its private endpoint is billed as one", verify=PRIVATE_LINK_PAGE)},
    SCOPED_RESOURCE: {"*": free("", NO_METER + " (a link inside the scope)", verify=PRIVATE_LINK_PAGE)},
    DNS_ZONE_GROUP: {"*": free("", NO_METER + " (the endpoint's DNS registration)", verify=PRIVATE_LINK_PAGE)},
    VNET: {"*": free(C3X_PEERING, "no hourly fee; traffic across a peering is billed on the peering", verify=VNET_PAGE)},
    NSG: {"*": free("", NO_METER, verify=VNET_PAGE)},
    NIC: {"*": free("", NO_METER + " (the VM is billed)", verify=VNET_PAGE)},
    RESOURCE_GROUP: {"*": free("", NO_METER + " (a container)")},
    IDENTITY: {"*": free("", NO_METER + " (a Microsoft Entra feature)")},
    ROLE_ASSIGNMENT: {"*": free("", NO_METER + " (Azure RBAC)")},
    LOCK: {"*": free("", NO_METER)},
    LOCK_BY_SCOPE: {"*": free("", NO_METER)},
    KEY_VAULT_SECRET: {"*": free("", "no meter of its own: reads and writes are Key Vault operations, estimated "
                                     "on the vault", verify=KEY_VAULT_PAGE)},
    KEY_VAULT_KEY: {"*": free("", "no meter of its own for a software key in a Standard vault: its use is Key "
                                  "Vault operations", verify=KEY_VAULT_PAGE)},
    BLOB_SERVICE: {"*": free("", NO_METER + " (settings of the account, which is billed)", verify=STORAGE_PAGE)},
    BLOB_CONTAINER: {"*": free("", NO_METER + " (its data is billed on the account)", verify=STORAGE_PAGE)},
    RANDOM_STRING: {"*": free("https://www.pulumi.com/registry/packages/random/",
                              "not an Azure resource: Pulumi computes it locally")},
}


def lookup(type_token: str, key: str) -> Optional[Price]:
    """The price of `key` (a SKU, size or meter) of a resource type; None when the table has no entry."""
    return TABLE.get(type_token, {}).get(key)
