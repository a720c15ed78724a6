"""Rules on the workspace and its dependencies: storage, Key Vault, registries, monitoring, private
endpoints and their DNS."""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Optional, Sequence

from isolated_mlops.components.zones import AZURE_MONITOR_GROUP_ID, CLOUDS, MODEL_REGISTRY_GROUP_IDS
from isolated_mlops.policy.rules.base import (
    APP_INSIGHTS, KEY_VAULT, LOG_ANALYTICS, ML_REGISTRY, PRIVATE_ENDPOINT, PRIVATE_LINK_SCOPE, PRIVATE_ZONE,
    REGISTRY, ResourceView, SCOPED_RESOURCE, STORAGE, UNKNOWN, VNET, WORKSPACE, ZONE_GROUP, ZONE_LINK,
    resource_rule, rule,
)
from isolated_mlops.policy.rules.sources import (
    DOC_ACR_PRIVATE_LINK, DOC_APPI_WORKSPACE_BASED, DOC_KV_NETWORK, DOC_KV_RBAC, DOC_KV_SOFT_DELETE,
    DOC_ML_BATCH_LIMITS, DOC_ML_CUSTOM_DNS, DOC_ML_PRIVATE_LINK, DOC_ML_REGISTRY_ISOLATION,
    DOC_ML_SECURE_WORKSPACE_ACR, DOC_ML_SECURE_WORKSPACE_STORAGE, DOC_MONITOR_PRIVATE_LINK,
    DOC_MONITOR_PRIVATE_LINK_DESIGN, DOC_PE_DNS_INTEGRATION, DOC_PE_DNS_ZONES, DOC_PRIVATE_DNS_LINKS,
    NETWORK_ISOLATION_V2, SECURE_WORKSPACE_VNET, SERVERLESS_SETTINGS, STORAGE_RESOURCE_INSTANCES,
)
from isolated_mlops.policy.rules.helpers import (
    _by_urn, _differs, _eq, _find_subnet, _group_ids, _has_unknown, _is_true, _list, _mappings, _not_exactly,
    _of_type, _resolve, _same, _unset, _vnet_of_subnet_id, _zone_name, arm_segment, endpoints_targeting,
    physical_name, zone_groups_of,
)


def _no_identity(r: ResourceView) -> bool:
    identity_type = r.prop("identity.type")
    return identity_type is not UNKNOWN and (_unset(identity_type) or _eq(identity_type, "None"))


@resource_rule("aml-workspace-private", "AML workspace: public network access disabled, v1 legacy mode off (it "
               "would disable the v2 API the CLI, SDK and pipelines use), managed identity, imageBuildCompute set, "
               "serverless compute in a subnet without public IP.", WORKSPACE,
               sources=[SECURE_WORKSPACE_VNET, NETWORK_ISOLATION_V2, SERVERLESS_SETTINGS])
def _workspace(r: ResourceView) -> Iterator[str]:
    if _differs(r.prop("publicNetworkAccess"), "Disabled"):
        yield f"publicNetworkAccess is {r.prop('publicNetworkAccess')!r}; set 'Disabled' for an isolated workspace"
    if _not_exactly(r.prop("v1LegacyMode"), False):
        yield ("set v1LegacyMode to false: true disables the workspace's v2 (Azure Resource Manager) API, which "
               "the CLI and SDK v2, managed endpoints and the pipelines' `az ml job create` use")
    if _no_identity(r):
        yield "give the workspace a managed identity"
    if _unset(r.prop("imageBuildCompute")):
        yield "set imageBuildCompute to a compute cluster: the registry is private, so images must build in the VNet"
    if _unset(r.prop("serverlessComputeSettings.serverlessComputeCustomSubnet")):
        yield ("set serverlessComputeSettings.serverlessComputeCustomSubnet to the training subnet: serverless "
               "compute otherwise runs outside the VNet")
    if _not_exactly(r.prop("serverlessComputeSettings.serverlessComputeNoPublicIP"), True):
        yield "set serverlessComputeSettings.serverlessComputeNoPublicIP to true"


@resource_rule("storage-hardened", "Storage: TLS 1.2+, no public blob access, public network access disabled or "
               "limited to selected networks with none selected (no IP or VNet rule: only resource instances and "
               "trusted services), network default Deny with AzureServices bypass, HTTPS only, no HNS on the "
               "workspace store.", STORAGE,
               sources=[f"{SECURE_WORKSPACE_VNET}#secure-azure-storage-accounts", STORAGE_RESOURCE_INSTANCES])
def _storage(r: ResourceView) -> Iterator[str]:
    if _differs(r.prop("minimumTlsVersion"), "TLS1_2", "TLS1_3"):
        yield f"minimumTlsVersion is {r.prop('minimumTlsVersion')!r}; set TLS1_2 or newer"
    if _not_exactly(r.prop("allowBlobPublicAccess"), False):
        yield "set allowBlobPublicAccess to false"
    # Unset means Enabled: then the network rule set is all that stands between the account and the internet.
    if _differs(r.prop("publicNetworkAccess"), "Disabled", "Enabled") and not _unset(r.prop("publicNetworkAccess")):
        yield f"publicNetworkAccess is {r.prop('publicNetworkAccess')!r}; set 'Enabled' (selected networks) or 'Disabled'"
    if not _eq(r.prop("publicNetworkAccess"), "Disabled"):
        for rules in ("ipRules", "virtualNetworkRules"):
            value = r.prop(f"networkRuleSet.{rules}")
            if value is not UNKNOWN and _list(value):
                yield (f"networkRuleSet.{rules} admits networks through the public endpoint; remove them: clients "
                       "use the private endpoints, and only the workspace and trusted services pass the firewall")
    if _differs(r.prop("networkRuleSet.defaultAction"), "Deny"):
        yield "set networkRuleSet.defaultAction to 'Deny'"
    bypass = r.prop("networkRuleSet.bypass")
    if bypass is not UNKNOWN and "azureservices" not in str(bypass or "").lower().replace(" ", ""):
        yield "add AzureServices to networkRuleSet.bypass (AML's trusted-service access)"
    if r.prop("enableHttpsTrafficOnly") is False:
        yield "enableHttpsTrafficOnly must not be false"
    if _is_true(r.prop("isHnsEnabled")):
        yield "set isHnsEnabled to false: AML's default datastore does not support a hierarchical namespace"


@resource_rule("key-vault-hardened", "Key Vault: RBAC authorization, purge protection, public network access "
               "disabled, network default Deny with AzureServices bypass.", KEY_VAULT,
               sources=(DOC_KV_RBAC, DOC_KV_SOFT_DELETE, DOC_KV_NETWORK))
def _key_vault(r: ResourceView) -> Iterator[str]:
    if _not_exactly(r.prop("properties.enableRbacAuthorization"), True):
        yield "set properties.enableRbacAuthorization to true (no access policies)"
    if _not_exactly(r.prop("properties.enablePurgeProtection"), True):
        yield "set properties.enablePurgeProtection to true"
    if _differs(r.prop("properties.publicNetworkAccess"), "Disabled"):
        yield "set properties.publicNetworkAccess to 'Disabled'"
    if _differs(r.prop("properties.networkAcls.defaultAction"), "Deny"):
        yield "set properties.networkAcls.defaultAction to 'Deny'"
    if _differs(r.prop("properties.networkAcls.bypass"), "AzureServices"):
        yield "set properties.networkAcls.bypass to 'AzureServices'"


@resource_rule("container-registry-private", "Container registry: Premium (private link needs it), admin user off, "
               "public network access disabled, quarantine off (batch endpoints).", REGISTRY,
               sources=(DOC_ACR_PRIVATE_LINK, DOC_ML_SECURE_WORKSPACE_ACR, DOC_ML_BATCH_LIMITS))
def _registry(r: ResourceView) -> Iterator[str]:
    if _differs(r.prop("sku.name"), "Premium"):
        yield f"sku.name is {r.prop('sku.name')!r}; private endpoints require 'Premium'"
    if _not_exactly(r.prop("adminUserEnabled"), False):
        yield "set adminUserEnabled to false"
    if _differs(r.prop("publicNetworkAccess"), "Disabled"):
        yield "set publicNetworkAccess to 'Disabled'"
    if _eq(r.prop("policies.quarantinePolicy.status"), "enabled"):
        yield "disable quarantinePolicy: quarantined images never reach batch endpoints"


@resource_rule("model-registry-private", "Azure ML registry: public network access disabled, and the storage "
               "account and ACR Azure creates for it private-capable: a Premium ACR (private link needs it) and no "
               "public blob access.", ML_REGISTRY,
               sources=(f"{DOC_ML_REGISTRY_ISOLATION}#how-to-create-a-private-endpoint",
                        f"{DOC_ML_REGISTRY_ISOLATION}#data-exfiltration-protection", DOC_ACR_PRIVATE_LINK))
def _model_registry(r: ResourceView) -> Iterator[str]:
    if _differs(r.prop("publicNetworkAccess"), "Disabled"):
        yield f"publicNetworkAccess is {r.prop('publicNetworkAccess')!r}; set 'Disabled' (private endpoint only)"
    for index, region in enumerate(_mappings(r.prop("regionDetails"))):
        for acr in _mappings(region.get("acrDetails")):
            created = acr.get("systemCreatedAcrAccount")
            if isinstance(created, Mapping) and _differs(created.get("acrAccountSku"), "Premium"):
                yield (f"regionDetails[{index}]: the registry's ACR sku is {created.get('acrAccountSku')!r}; "
                       "set acrAccountSku 'Premium', the only tier with private endpoints")
        for account in _mappings(region.get("storageAccountDetails")):
            created = account.get("systemCreatedStorageAccount")
            if isinstance(created, Mapping) and _not_exactly(created.get("allowBlobPublicAccess"), False):
                yield f"regionDetails[{index}]: set the registry's storage allowBlobPublicAccess to false"


@resource_rule("app-insights-workspace-based", "Application Insights is workspace-based (backed by Log Analytics).",
               APP_INSIGHTS,
               sources=(DOC_APPI_WORKSPACE_BASED,))
def _app_insights(r: ResourceView) -> Iterator[str]:
    if _unset(r.prop("workspaceResourceId")) and not r.refs("workspaceResourceId"):
        yield "set workspaceResourceId to a Log Analytics workspace (classic Application Insights is retired)"
    if _differs(r.prop("ingestionMode"), "LogAnalytics"):
        yield "set ingestionMode to 'LogAnalytics'"


# Microsoft Learn: AML "must use the open Private Link mode in Azure Monitor".
AML_MONITOR_SOURCE = "https://learn.microsoft.com/azure/machine-learning/how-to-secure-workspace-vnet#azure-monitor"
AMPLS_ACCESS_MODES_SOURCE = "https://learn.microsoft.com/azure/azure-monitor/logs/private-link-design#select-an-access-mode"
AMPLS_RESOURCE_ACCESS_SOURCE = ("https://learn.microsoft.com/azure/azure-monitor/logs/private-link-design"
                                "#control-network-access-to-ampls-resources")


@resource_rule("monitoring-private", "Log Analytics and Application Insights refuse public ingestion and queries "
               "(publicNetworkAccessForIngestion and ForQuery 'Disabled'); an Azure Monitor Private Link Scope's "
               "ingestion and query access modes are 'Open' (Azure Machine Learning requires the Open mode), "
               "with no 'PrivateOnly' exclusion.",
               LOG_ANALYTICS, APP_INSIGHTS, PRIVATE_LINK_SCOPE,
               sources=[AML_MONITOR_SOURCE, AMPLS_ACCESS_MODES_SOURCE, AMPLS_RESOURCE_ACCESS_SOURCE])
def _monitoring(r: ResourceView) -> Iterator[str]:
    if r.type == PRIVATE_LINK_SCOPE:
        # AML supports only the Open mode. What keeps the scope's resources private is their own
        # public-access switches (below), not the mode; Open only lets the linked VNets also reach
        # Azure Monitor resources outside the scope. Unset means Open (Azure's default).
        for mode in ("ingestionAccessMode", "queryAccessMode"):
            value = r.prop(f"accessModeSettings.{mode}")
            if value is not None and _differs(value, "Open"):
                yield (f"accessModeSettings.{mode} is {value!r}; set 'Open': Azure Machine Learning does not "
                       "support the PrivateOnly mode (keep Log Analytics and App Insights private through their "
                       "own public network access settings)")
        for exclusion in _mappings(r.prop("accessModeSettings.exclusions")):
            for mode in ("ingestionAccessMode", "queryAccessMode"):
                if _eq(exclusion.get(mode), "PrivateOnly"):
                    yield (f"exclusion for {exclusion.get('privateEndpointConnectionName')!r} sets {mode} "
                           "'PrivateOnly'; remove it: Azure Machine Learning needs the Open mode")
        return
    for prop in ("publicNetworkAccessForIngestion", "publicNetworkAccessForQuery"):
        value = r.prop(prop)
        if _differs(value, "Disabled"):
            yield (f"{prop} is {value!r} (unset means 'Enabled'); set 'Disabled': "
                   "clients reach it through the Azure Monitor Private Link Scope's endpoint")


@rule("monitoring-in-private-link-scope", "Every Log Analytics workspace and Application Insights component is "
      "scoped into an Azure Monitor Private Link Scope of this stack (with public access off, the only way in).",
      sources=["https://learn.microsoft.com/azure/machine-learning/how-to-secure-workspace-vnet"
               "#secure-azure-monitor-and-application-insights",
               "https://learn.microsoft.com/azure/azure-monitor/logs/private-link-configure",
               AMPLS_RESOURCE_ACCESS_SOURCE])
def _monitoring_scoped(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    scopes = _of_type(resources, PRIVATE_LINK_SCOPE)
    linked: set[str] = set()
    for scoped in _of_type(resources, SCOPED_RESOURCE):
        scope_name = scoped.prop("scopeName")
        in_stack_scope = any(s.urn in scoped.refs("scopeName") or _same(scope_name, physical_name(s)) for s in scopes)
        linked_id = scoped.prop("linkedResourceId")
        targets = [t for type_ in (LOG_ANALYTICS, APP_INSIGHTS)
                   for t in _resolve(resources, scoped, "linkedResourceId", linked_id, type_)]
        if (not in_stack_scope and scope_name is UNKNOWN and not scoped.refs("scopeName")) \
                or (not targets and _has_unknown(linked_id) and not scoped.refs("linkedResourceId")):
            # A scoped resource whose target is not known yet may be the one that links any of them
            # (one whose target is known by dependency, such as the drift DCE's, is not).
            return
        if in_stack_scope:
            linked.update(t.urn for t in targets)
    for r in _of_type(resources, LOG_ANALYTICS, APP_INSIGHTS):
        if r.urn not in linked:
            yield r.urn, ("is in no Azure Monitor Private Link Scope of this stack: link it with a "
                          "PrivateLinkScopedResource, or no private endpoint reaches it")


@rule("private-targets-have-endpoints", "The workspace, Key Vault, registry and Azure Monitor Private Link Scope "
      "each have a private endpoint with the right group id; the storage account has blob and file endpoints; "
      "an Azure ML registry has endpoints to itself (amlregistry) and to the storage (blob) and ACR (registry) "
      "Azure manages for it.",
      sources=(DOC_ML_PRIVATE_LINK, DOC_ML_SECURE_WORKSPACE_STORAGE, DOC_MONITOR_PRIVATE_LINK,
               DOC_ML_REGISTRY_ISOLATION, f"{DOC_ML_REGISTRY_ISOLATION}#data-exfiltration-protection"))
def _targets_have_endpoints(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    # A registry's managed storage and ACR live in a resource group Azure creates; their endpoints
    # name them by ids the registry reports, so they count as targeting the registry.
    required = {WORKSPACE: ("amlworkspace",), KEY_VAULT: ("vault",), REGISTRY: ("registry",), STORAGE: ("blob", "file"),
                PRIVATE_LINK_SCOPE: (AZURE_MONITOR_GROUP_ID,), ML_REGISTRY: MODEL_REGISTRY_GROUP_IDS}
    target_types = tuple(required)
    # An endpoint whose target we cannot identify yet might be the one we look for: say nothing
    # about its group ids rather than report what we cannot prove.
    unidentified: set[Any] = set()
    for pe in _of_type(resources, PRIVATE_ENDPOINT):
        connections = pe.prop("privateLinkServiceConnections")
        identified = any(_resolve(resources, pe, "privateLinkServiceConnections", connections, t) for t in target_types)
        if not identified and _has_unknown(connections):
            unidentified.update(_group_ids(pe))
    for target_type, groups in required.items():
        for target in _of_type(resources, target_type):
            present = {g for pe in endpoints_targeting(resources, target) for g in _group_ids(pe)}
            if UNKNOWN in present or UNKNOWN in unidentified:
                continue
            for group in groups:
                if group not in present and group not in unidentified:
                    yield target.urn, f"no private endpoint with group id {group!r} targets this resource"


def _zones_held(resources: Sequence[ResourceView], zone_groups: Sequence[ResourceView]) -> Optional[set[str]]:
    """The zone names a set of zone groups write into, or None when that cannot be known yet."""
    zones_in_stack = _of_type(resources, PRIVATE_ZONE)
    stack_zone_ids = {z.id.lower() for z in zones_in_stack if z.id}
    by_urn = _by_urn(resources)
    names: set[str] = set()
    for group in zone_groups:
        configs = group.prop("privateDnsZoneConfigs")
        if configs is UNKNOWN:
            return None
        referenced = [by_urn[u] for u in group.refs("privateDnsZoneConfigs") if u in by_urn and by_urn[u].type == PRIVATE_ZONE]
        for zone in referenced:
            name = _zone_name(zone)
            if not isinstance(name, str):
                return None
            names.add(name)
        unnamed = 0
        for config in _mappings(configs):
            zone_id = config.get("privateDnsZoneId")
            if isinstance(zone_id, str) and zone_id.lower() in stack_zone_ids:
                continue  # a zone of this stack: named through the property dependency above
            outside = arm_segment(zone_id, "privateDnsZones")
            if outside:
                names.add(outside)  # a zone outside this stack (e.g. a hub's), named by its id
            else:
                unnamed += 1
        if unnamed > len(referenced):
            return None  # more configs not named yet than zone dependencies to account for them
    return names


@rule("private-endpoint-dns-complete", "Every private endpoint has one group id and a DNS zone group holding "
      "exactly the zones that group id needs (the workspace: api and notebooks zones; Azure Monitor: five).",
      sources=(DOC_PE_DNS_ZONES, DOC_ML_CUSTOM_DNS))
def _endpoint_dns(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    orphan_groups = [g for g in _of_type(resources, ZONE_GROUP)
                     if not g.refs("privateEndpointName") and not isinstance(g.prop("privateEndpointName"), str)]
    for pe in _of_type(resources, PRIVATE_ENDPOINT):
        groups = _group_ids(pe)
        if UNKNOWN in groups:
            continue
        if len(groups) != 1:
            yield pe.urn, f"connect exactly one group id per endpoint (has {groups}): each needs its own zones"
            continue
        zone_groups = zone_groups_of(resources, pe)
        if not zone_groups:
            if not orphan_groups:  # else one of those may name this endpoint once it is known
                yield pe.urn, f"has no private DNS zone group: its {groups[0]!r} name keeps resolving publicly"
            continue
        zones = _zones_held(resources, zone_groups)
        if zones is None:
            continue
        expected = [set(c.zones_by_group_id.get(groups[0], ())) for c in CLOUDS.values()]
        if not any(expected):
            continue  # a group id this platform has no zone table for
        if zones not in expected:
            wanted = sorted(CLOUDS["AzureCloud"].zones_by_group_id.get(groups[0], ()))
            yield pe.urn, (f"zone group for {groups[0]!r} holds {sorted(zones)}; make it hold exactly {wanted} "
                           "(or the sovereign-cloud equivalent)")


# Private endpoints ignore their subnet's NSG unless network policies for NSGs are on ("Enabled" also
# turns on route-table policies, harmless without user-defined routes).
ENDPOINT_NSG_POLICIES = ("NetworkSecurityGroupEnabled", "Enabled")


@rule("private-endpoint-subnet-policies", "Subnets that hold private endpoints have network policies for NSGs "
      "on (privateEndpointNetworkPolicies 'NetworkSecurityGroupEnabled' or 'Enabled'), so the subnet's NSG, "
      "which admits only the endpoints' client subnets, applies to the endpoints (checked where the endpoint's "
      "subnet id is known).",
      sources=["https://learn.microsoft.com/azure/private-link/disable-private-endpoint-network-policy",
               "https://learn.microsoft.com/azure/private-link/private-endpoint-overview#network-security-of-private-endpoints"])
def _endpoint_subnets(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    reported: set[tuple[str, str]] = set()
    for pe in _of_type(resources, PRIVATE_ENDPOINT):
        subnet_id = pe.prop("subnet.id")
        subnet_name = arm_segment(subnet_id, "subnets")
        vnet = _vnet_of_subnet_id(resources, pe, "subnet", subnet_id) if subnet_name else None
        if vnet is None or subnet_name is None or (vnet.urn, subnet_name.lower()) in reported:
            continue
        subnet = _find_subnet(resources, vnet, subnet_name)
        value = subnet.get("privateEndpointNetworkPolicies") if subnet is not None else UNKNOWN
        if _differs(value, *ENDPOINT_NSG_POLICIES):
            reported.add((vnet.urn, subnet_name.lower()))
            yield vnet.urn, (f"subnet {subnet_name!r} holds private endpoints and its privateEndpointNetworkPolicies "
                             f"is {value!r} (unset means 'Disabled'); set 'NetworkSecurityGroupEnabled', or its "
                             "NSG does not apply to the endpoints and every subnet of both VNets reaches them")


@rule("zone-linked-to-every-vnet", "Every private DNS zone is linked to every VNet in the stack, without "
      "auto-registration; zones and links are global resources.",
      sources=(DOC_PRIVATE_DNS_LINKS, DOC_PE_DNS_INTEGRATION))
def _zone_links(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    vnets = _of_type(resources, VNET)
    links = _of_type(resources, ZONE_LINK)
    for zone in _of_type(resources, PRIVATE_ZONE):
        name = _zone_name(zone)
        label = name if isinstance(name, str) else zone.name
        if _differs(zone.prop("location"), "global"):
            yield zone.urn, "private DNS zones are global: set location to 'global'"
        zone_links = [l for l in links if zone.urn in l.refs("privateZoneName") or _same(l.prop("privateZoneName"), name)]
        from isolated_mlops.policy.rules.serving import aks_linked_vnets  # AKS links its API zone itself
        linked: set[str] = aks_linked_vnets(resources, zone)
        unresolved = False
        for link in zone_links:
            found = _resolve(resources, link, "virtualNetwork", link.prop("virtualNetwork"), VNET)
            linked.update(v.urn for v in found)
            unresolved = unresolved or (not found and _has_unknown(link.prop("virtualNetwork")))
        if not unresolved:
            for vnet in vnets:
                if vnet.urn not in linked:
                    vnet_name = physical_name(vnet)
                    yield zone.urn, (f"zone {label} is not linked to VNet "
                                     f"{vnet_name if isinstance(vnet_name, str) else vnet.name}: its clients resolve public addresses")
        for link in zone_links:
            if _is_true(link.prop("registrationEnabled")):
                yield link.urn, "set registrationEnabled to false: VM records do not belong in a privatelink zone"
            if _differs(link.prop("location"), "global"):
                yield link.urn, "zone links are global: set location to 'global'"


def _same_resource_group(a: ResourceView, b: ResourceView) -> bool:
    """Provably in one resource group: the same known name, or both names from one resource."""
    return _same(a.prop("resourceGroupName"), b.prop("resourceGroupName")) \
        or bool(set(a.refs("resourceGroupName")) & set(b.refs("resourceGroupName")))


@rule("private-dns-zone-once", "Each private DNS zone name is declared once per resource group, also when several "
      "group ids share it (the blob zone serves storage and Azure Monitor); every zone group points at that one zone.",
      sources=(DOC_MONITOR_PRIVATE_LINK_DESIGN, DOC_PE_DNS_INTEGRATION))
def _zone_once(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    zones = _of_type(resources, PRIVATE_ZONE)
    for i, zone in enumerate(zones):
        for first in zones[:i]:
            if _same(_zone_name(zone), _zone_name(first)) and _same_resource_group(zone, first):
                yield zone.urn, (f"declares zone {_zone_name(zone)} again (first as {first.name}): two resources "
                                 "would manage one Azure zone, its links and records; declare it once and share its id")
                break
