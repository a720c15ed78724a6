"""The platform's security rules, as plain functions over resources: one implementation, three users.

- the unit tests run them over the offline engine's registrations (and prove each can fail),
- the offline preview runs them (`python -m offline preview --policy`, via `policy.offline.check_run`)
  so a pull request shows violations without cloud credentials,
- the CrossGuard pack (`policy/__main__.py`, built by `policy.pack`) runs them inside
  `pulumi preview/up --policy-pack policy`.

Rules see a `ResourceView`: type, URN, wire-name (camelCase) input props, options, and the URNs each
property depends on. Property dependencies are how rules connect resources: during a real preview
most ids are still unknown, but "this zone group's `privateEndpointName` came from that endpoint"
is always known.

Unknown values: during a preview, an input computed from another resource's output (an id, an
autonamed name) has no value yet. Adapters turn it into `UNKNOWN`, and every rule treats `UNKNOWN`
as "cannot prove anything": a rule reports only what it can prove from known values. Two UNKNOWNs
are never "the same" value (`_same`), and an UNKNOWN never "differs" from what is required
(`_differs`, `_not_exactly`).
"""

from __future__ import annotations

import base64
import ipaddress
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence

from isolated_mlops.components.roles import ACR_PULL, READER
from isolated_mlops.components.webhooks import credential_in_url
from isolated_mlops.components.zones import AZURE_MONITOR_GROUP_ID, CLOUDS, MODEL_REGISTRY_GROUP_IDS

# --------------------------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------------------------
WORKSPACE = "azure-native:machinelearningservices:Workspace"
COMPUTE = "azure-native:machinelearningservices:Compute"
STORAGE = "azure-native:storage:StorageAccount"
KEY_VAULT = "azure-native:keyvault:Vault"
KEY_VAULT_SECRET = "azure-native:keyvault:Secret"
REGISTRY = "azure-native:containerregistry:Registry"
ML_REGISTRY = "azure-native:machinelearningservices:Registry"
LOG_ANALYTICS = "azure-native:operationalinsights:Workspace"
APP_INSIGHTS = "azure-native:applicationinsights:Component"
PRIVATE_LINK_SCOPE = "azure-native:monitor:PrivateLinkScope"
SCOPED_RESOURCE = "azure-native:monitor:PrivateLinkScopedResource"
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
VNET = "azure-native:network:VirtualNetwork"
SUBNET = "azure-native:network:Subnet"
PEERING = "azure-native:network:VirtualNetworkPeering"
NSG = "azure-native:network:NetworkSecurityGroup"
SECURITY_RULE = "azure-native:network:SecurityRule"
PUBLIC_IP = "azure-native:network:PublicIPAddress"
NAT_GATEWAY = "azure-native:network:NatGateway"
BASTION = "azure-native:network:BastionHost"
NIC = "azure-native:network:NetworkInterface"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
PRIVATE_ZONE = "azure-native:privatedns:PrivateZone"
ZONE_LINK = "azure-native:privatedns:VirtualNetworkLink"
VM = "azure-native:compute:VirtualMachine"
VM_EXTENSION = "azure-native:compute:VirtualMachineExtension"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
DATA_COLLECTION_ENDPOINT = "azure-native:monitor:DataCollectionEndpoint"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
SCHEDULED_QUERY_RULE = "azure-native:monitor:ScheduledQueryRule"

# Microsoft Learn pages the workspace rules rest on (one place, cited by several rules).
SECURE_WORKSPACE_VNET = "https://learn.microsoft.com/azure/machine-learning/how-to-secure-workspace-vnet"
STUDIO_IN_VNET = ("https://learn.microsoft.com/azure/machine-learning/how-to-enable-studio-virtual-network"
                  "#datastore-azure-storage-account")
NETWORK_ISOLATION_V2 = "https://learn.microsoft.com/azure/machine-learning/how-to-configure-network-isolation-with-v2"
SERVERLESS_SETTINGS = ("https://learn.microsoft.com/rest/api/azureml/workspaces/create-or-update"
                       "#serverlesscomputesettings")
STORAGE_RESOURCE_INSTANCES = "https://learn.microsoft.com/azure/storage/common/storage-network-security-resource-instances"
ACR_WITHOUT_ADMIN = ("https://learn.microsoft.com/azure/machine-learning/how-to-identity-based-service-authentication"
                     "#scenario-azure-container-registry-without-admin-user")

# What must survive a mistaken `pulumi destroy` or replacement in production.
LOG_TABLE = "azure-native:operationalinsights:Table"
# The drift table (workspace/alerts.py) holds the drift history its alert reads: deleting it deletes that.
# The model registry holds the promoted models.
STATEFUL_TYPES = (RESOURCE_GROUP, WORKSPACE, STORAGE, KEY_VAULT, REGISTRY, LOG_ANALYTICS, LOG_TABLE, ML_REGISTRY)
BASTION_SUBNET_NAME = "AzureBastionSubnet"
BASTION_MAX_PREFIX = 26
# Subnets Azure reserves for its own services. They get no NSG of ours: Bastion's would need
# Bastion's own rule set, and the gateway/firewall/route-server subnets reject or ignore one.
AZURE_MANAGED_SUBNETS = frozenset({BASTION_SUBNET_NAME, "GatewaySubnet", "AzureFirewallSubnet",
                                   "AzureFirewallManagementSubnet", "RouteServerSubnet"})
ADMIN_PORTS = (22, 3389)
INTERNET_SOURCES = frozenset({"*", "internet", "any", "0.0.0.0/0", "::/0"})

# The input that carries a resource's Azure name. Stack policies see outputs, where the name
# comes back as `name` instead (see `physical_name`).
NAME_INPUTS: Mapping[str, str] = {
    VNET: "virtualNetworkName",
    SUBNET: "subnetName",
    NSG: "networkSecurityGroupName",
    PRIVATE_ENDPOINT: "privateEndpointName",
    PRIVATE_ZONE: "privateZoneName",
    COMPUTE: "computeName",
    PRIVATE_LINK_SCOPE: "scopeName",
    WORKSPACE: "workspaceName",
}


# --------------------------------------------------------------------------------------------
# Where Microsoft documents what the rules enforce (each rule names its `sources`; see
# docs/azure-requirements.md for the paraphrase and what guards it). Checked 2026-12-01.
# --------------------------------------------------------------------------------------------
_LEARN = "https://learn.microsoft.com/azure/"
DOC_ML_PRIVATE_LINK = _LEARN + "machine-learning/how-to-configure-private-link"
DOC_ML_V2_ISOLATION = _LEARN + "machine-learning/how-to-configure-network-isolation-with-v2"
DOC_ML_SECURE_WORKSPACE_STORAGE = _LEARN + "machine-learning/how-to-secure-workspace-vnet#secure-azure-storage-accounts"
DOC_ML_SECURE_WORKSPACE_ACR = _LEARN + "machine-learning/how-to-secure-workspace-vnet#enable-azure-container-registry-acr"
DOC_ML_SECURE_TRAINING = _LEARN + "machine-learning/how-to-secure-training-vnet"
# The article has no "#compute-cluster" anchor: its no-public-IP section is this one (checked 2026-12-01).
DOC_ML_NO_PUBLIC_IP = (_LEARN + "machine-learning/how-to-secure-training-vnet"
                       "#compute-instancecluster-or-serverless-compute-with-no-public-ip")
DOC_ML_FIREWALL = _LEARN + "machine-learning/how-to-access-azureml-behind-firewall"
DOC_ML_CUSTOM_DNS = _LEARN + "machine-learning/how-to-custom-dns"
DOC_ML_BATCH_LIMITS = _LEARN + "machine-learning/how-to-secure-batch-endpoint"
DOC_STORAGE_MIN_TLS = _LEARN + "storage/common/transport-layer-security-configure-minimum-version"
DOC_STORAGE_NO_ANONYMOUS = _LEARN + "storage/blobs/anonymous-read-access-prevent"
DOC_STORAGE_NETWORK = _LEARN + "storage/common/storage-network-security"
DOC_KV_RBAC = _LEARN + "key-vault/general/rbac-guide"
DOC_KV_SOFT_DELETE = _LEARN + "key-vault/general/soft-delete-overview"
DOC_KV_NETWORK = _LEARN + "key-vault/general/network-security"
DOC_ACR_PRIVATE_LINK = _LEARN + "container-registry/container-registry-private-link"
DOC_ML_REGISTRY_ISOLATION = _LEARN + "machine-learning/how-to-registry-network-isolation"
DOC_APPI_WORKSPACE_BASED = _LEARN + "azure-monitor/app/create-workspace-resource"
DOC_MONITOR_PRIVATE_LINK = _LEARN + "azure-monitor/logs/private-link-security"
DOC_MONITOR_PRIVATE_LINK_DESIGN = _LEARN + "azure-monitor/logs/private-link-design"
DOC_PE_DNS_ZONES = _LEARN + "private-link/private-endpoint-dns"
DOC_PE_DNS_INTEGRATION = _LEARN + "private-link/private-endpoint-dns-integration"
DOC_PE_NETWORK_POLICIES = _LEARN + "private-link/disable-private-endpoint-network-policy"
DOC_PRIVATE_DNS_LINKS = _LEARN + "dns/private-dns-virtual-network-links"
DOC_NSG_OVERVIEW = _LEARN + "virtual-network/network-security-groups-overview"
DOC_BASTION_NSG = _LEARN + "bastion/bastion-nsg"
DOC_BASTION_SETTINGS = _LEARN + "bastion/configuration-settings"
DOC_BASTION_OVERVIEW = _LEARN + "bastion/bastion-overview"
DOC_VNET_PEERING = _LEARN + "virtual-network/virtual-network-manage-peering"
DOC_VNET_PEERING_REQUIREMENTS = DOC_VNET_PEERING + "#requirements-and-constraints"
DOC_VNET_SUBNETS = _LEARN + "virtual-network/virtual-network-manage-subnet"
DOC_NAT_GATEWAY = _LEARN + "nat-gateway/nat-overview"
DOC_NETWORK_BEST_PRACTICES = _LEARN + "security/fundamentals/network-best-practices"
DOC_VM_SSH_KEYS = _LEARN + "virtual-machines/linux/create-ssh-keys-detailed"
DOC_VM_CUSTOM_DATA = _LEARN + "virtual-machines/custom-data"
DOC_PULUMI_SECRETS = "https://www.pulumi.com/docs/iac/concepts/secrets/"
DOC_PULUMI_PROTECT = "https://www.pulumi.com/docs/iac/concepts/options/protect/"


class Unknown:
    """A value that is not known yet: during a preview, an input computed from an output."""

    _instance: Optional["Unknown"] = None

    def __new__(cls) -> "Unknown":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown>"

    # One instance only, also through copy.deepcopy (tests copy props to break them).
    def __copy__(self) -> "Unknown":
        return self

    def __deepcopy__(self, memo: dict) -> "Unknown":
        return self


UNKNOWN = Unknown()


def lookup(value: Any, path: str, default: Any = None) -> Any:
    """`lookup(props, "properties.networkAcls.defaultAction")`; UNKNOWN if an enclosing value is."""
    for part in path.split("."):
        if value is UNKNOWN:
            return UNKNOWN
        if not isinstance(value, Mapping) or part not in value:
            return default
        value = value[part]
    return value


@dataclass(frozen=True)
class ResourceView:
    """A resource as a rule sees it, built from an offline registration or a CrossGuard resource."""

    urn: str
    type: str
    name: str
    """The logical (Pulumi) name; the Azure name is `physical_name(view)`."""
    props: Mapping[str, Any]
    protect: bool = False
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    secret_paths: tuple[str, ...] = ()
    """Dotted paths of props whose value is a Pulumi secret (known offline; see `secrets_known`)."""
    id: str = ""
    secrets_known: bool = True
    """False where secrets arrive unwrapped (CrossGuard): `secret_paths` then proves nothing."""

    def prop(self, path: str, default: Any = None) -> Any:
        return lookup(self.props, path, default)

    def refs(self, prop: str) -> tuple[str, ...]:
        return tuple(self.property_dependencies.get(prop, ()))


@dataclass(frozen=True)
class Violation:
    rule: str
    urn: str
    message: str


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    check: Callable[[Sequence[ResourceView]], Iterable[tuple[str, str]]]
    """All resources in, (urn, message) out."""
    resource_types: tuple[str, ...] = ()
    """Set for a rule that judges one resource at a time: the pack runs it as a resource policy,
    before the resource is created. Empty for rules that need the resource's neighbours."""
    check_one: Optional[Callable[[ResourceView], Iterable[str]]] = None
    """For a per-resource rule: one resource in, messages out."""
    needs_secrets: bool = False
    """The rule reads which props are Pulumi secrets (known offline, hidden from CrossGuard)."""
    sources: tuple[str, ...] = ()
    """Where Microsoft (or the provider) documents the fact the rule enforces: Microsoft Learn pages,
    REST API specs. A rule without a source is a guess (docs/azure-requirements.md)."""

    @property
    def per_resource(self) -> bool:
        return bool(self.resource_types)


RULES: list[Rule] = []


def _register(new: Rule) -> None:
    if any(r.name == new.name for r in RULES):
        raise ValueError(f"duplicate rule name {new.name!r}")
    RULES.append(new)


def rule(name: str, description: str, *, needs_secrets: bool = False, sources: Sequence[str] = ()) -> Callable:
    """A rule that looks at the whole stack (it needs a resource's neighbours)."""

    def register(fn: Callable[[Sequence[ResourceView]], Iterable[tuple[str, str]]]):
        _register(Rule(name, description, fn, needs_secrets=needs_secrets, sources=tuple(sources)))
        return fn
    return register


def resource_rule(name: str, description: str, *types: str, needs_secrets: bool = False,
                  sources: Sequence[str] = ()) -> Callable:
    """A rule that looks at one resource of the given types at a time."""

    def register(fn: Callable[[ResourceView], Iterable[str]]):
        def over_stack(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
            for r in resources:
                if r.type in types:
                    for message in fn(r):
                        yield r.urn, message
        _register(Rule(name, description, over_stack, resource_types=tuple(types), check_one=fn,
                       needs_secrets=needs_secrets, sources=tuple(sources)))
        return fn
    return register


def evaluate(resources: Sequence[ResourceView], only: Optional[Iterable[str]] = None) -> list[Violation]:
    selected = set(only) if only is not None else None
    if selected is not None:
        unknown = selected - {r.name for r in RULES}
        if unknown:
            raise KeyError(f"no such rule(s): {', '.join(sorted(unknown))}")
    found: list[Violation] = []
    for r in RULES:
        if selected is not None and r.name not in selected:
            continue
        found.extend(Violation(r.name, urn, message) for urn, message in r.check(resources))
    return sorted(set(found), key=lambda v: (v.rule, v.urn, v.message))


def rule_named(name: str) -> Rule:
    for r in RULES:
        if r.name == name:
            return r
    raise KeyError(name)


# --------------------------------------------------------------------------------------------
# Helpers: every comparison here is unknown-aware
# --------------------------------------------------------------------------------------------
def _of_type(resources: Sequence[ResourceView], *types: str) -> list[ResourceView]:
    return [r for r in resources if r.type in types]


def _by_urn(resources: Sequence[ResourceView]) -> dict[str, ResourceView]:
    return {r.urn: r for r in resources}


def _eq(value: Any, expected: str) -> bool:
    return isinstance(value, str) and value.lower() == expected.lower()


def _differs(value: Any, *allowed: str) -> bool:
    """Provably not one of `allowed` (case-insensitive): unset counts, UNKNOWN does not."""
    return value is not UNKNOWN and not any(_eq(value, a) for a in allowed)


def _not_exactly(value: Any, expected: bool) -> bool:
    """Provably not the boolean `expected`: unset counts, UNKNOWN does not."""
    return value is not UNKNOWN and value is not expected


def _is_true(value: Any) -> bool:
    return value is True or value == "true"


def _unset(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def _same(a: Any, b: Any) -> bool:
    """Two known names or ids are equal (Azure names are case-insensitive). UNKNOWN matches nothing."""
    return isinstance(a, str) and isinstance(b, str) and a.lower() == b.lower()


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _mappings(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in _list(value) if isinstance(v, Mapping)]


def _has_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_unknown(v) for v in value)
    return False


def strings(value: Any) -> Iterator[str]:
    """Every string inside a value (ids hide anywhere in inputs: a subnet id, an endpoint's target)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from strings(v)


def physical_name(r: ResourceView) -> Any:
    """The resource's Azure name: its name input, else the `name` output (str, UNKNOWN or None)."""
    key = NAME_INPUTS.get(r.type)
    value = r.props.get(key) if key else None
    return r.props.get("name") if value is None else value


def arm_segment(resource_id: Any, collection: str) -> Optional[str]:
    """The name after `collection` in a known ARM id: `arm_segment(id, "subnets")` -> "snet-training"."""
    if not isinstance(resource_id, str):
        return None
    parts = [p for p in resource_id.split("/") if p]
    for i, part in enumerate(parts[:-1]):
        if part.lower() == collection.lower():
            return parts[i + 1]
    return None


def _resolve(resources: Sequence[ResourceView], source: ResourceView, prop: str, value: Any, type_: str) -> list[ResourceView]:
    """The resources of `type_` that `source.prop` refers to: by property dependency, else by known id."""
    by_urn = _by_urn(resources)
    found = [by_urn[u] for u in source.refs(prop) if u in by_urn and by_urn[u].type == type_]
    if found:
        return found
    ids = {s.lower() for s in strings(value)}
    return [r for r in resources if r.type == type_ and r.id and r.id.lower() in ids]


def _networks(prefixes: Iterable[Any]) -> list[ipaddress.IPv4Network]:
    nets = []
    for p in prefixes:
        if not isinstance(p, str):
            continue
        try:
            nets.append(ipaddress.IPv4Network(p, strict=False))
        except ValueError:
            continue
    return nets


def _subnets(vnet: ResourceView) -> list[Mapping[str, Any]]:
    return _mappings(vnet.prop("subnets"))


def _subnet_prefixes(subnet: Mapping[str, Any]) -> list[Any]:
    return ([subnet["addressPrefix"]] if subnet.get("addressPrefix") else []) + _list(subnet.get("addressPrefixes"))


def _standalone_subnets(resources: Sequence[ResourceView]) -> list[tuple[ResourceView, Mapping[str, Any]]]:
    """`network.Subnet` resources, shaped like an inline subnet (with its name under `name`)."""
    return [(s, {**s.props, "name": physical_name(s)}) for s in _of_type(resources, SUBNET)]


def _find_subnet(resources: Sequence[ResourceView], vnet: ResourceView, name: str) -> Optional[Mapping[str, Any]]:
    """VNet `vnet`'s subnet `name`, declared inline or as a `network.Subnet` resource."""
    for subnet in _subnets(vnet):
        if _same(subnet.get("name"), name):
            return subnet
    for resource, subnet in _standalone_subnets(resources):
        parent = resource.props.get("virtualNetworkName")
        if (vnet.urn in resource.refs("virtualNetworkName") or _same(parent, physical_name(vnet))) \
                and _same(subnet.get("name"), name):
            return subnet
    return None


def _vnet_of_subnet_id(resources: Sequence[ResourceView], source: ResourceView, prop: str,
                       subnet_id: Any) -> Optional[ResourceView]:
    """The stack's VNet that a known subnet id points into: by its name in the id, else the one VNet
    `source.prop` depends on. None when the VNet is not this stack's (a hub, an existing VNet)."""
    vnet_name = arm_segment(subnet_id, "virtualNetworks")
    named = [v for v in _of_type(resources, VNET) if _same(physical_name(v), vnet_name)]
    if named:
        return named[0]
    referenced = [v for v in _of_type(resources, VNET) if v.urn in source.refs(prop)]
    return referenced[0] if len(referenced) == 1 else None


def _port_ranges(rule_props: Mapping[str, Any]) -> list[tuple[int, int]]:
    ranges = []
    for text in [rule_props.get("destinationPortRange"), *_list(rule_props.get("destinationPortRanges"))]:
        if not isinstance(text, (str, int, float)) or isinstance(text, bool) or text == "":
            continue
        text = str(text).strip()
        try:
            if text == "*":
                ranges.append((0, 65535))
            elif "-" in text:
                low, high = text.split("-", 1)
                ranges.append((int(low), int(high)))
            else:
                ranges.append((int(float(text)), int(float(text))))
        except ValueError:
            continue  # not a port we can read: nothing to prove
    return ranges


def _sources(rule_props: Mapping[str, Any]) -> list[str]:
    values = [rule_props.get("sourceAddressPrefix"), *_list(rule_props.get("sourceAddressPrefixes"))]
    return [v.lower() for v in values if isinstance(v, str)]


def open_admin_ports(rule_props: Mapping[str, Any]) -> list[int]:
    """The admin ports (22, 3389) that one NSG rule opens to the internet."""
    if not (_eq(rule_props.get("direction"), "Inbound") and _eq(rule_props.get("access"), "Allow")):
        return []
    if not INTERNET_SOURCES.intersection(_sources(rule_props)):
        return []
    return [port for port in ADMIN_PORTS if any(low <= port <= high for low, high in _port_ranges(rule_props))]


def _security_rules(resources: Sequence[ResourceView], nsg: ResourceView) -> list[Mapping[str, Any]]:
    """An NSG's rules: inline, and `network.SecurityRule` resources that belong to it."""
    rules = _mappings(nsg.prop("securityRules"))
    for r in _of_type(resources, SECURITY_RULE):
        if nsg.urn in r.refs("networkSecurityGroupName") or _same(r.prop("networkSecurityGroupName"), physical_name(nsg)):
            rules.append(r.props)
    return rules


def _group_ids(endpoint: ResourceView) -> list[Any]:
    groups: list[Any] = []
    for prop in ("privateLinkServiceConnections", "manualPrivateLinkServiceConnections"):
        value = endpoint.prop(prop)
        if value is UNKNOWN:
            groups.append(UNKNOWN)
        for connection in _mappings(value):
            ids = connection.get("groupIds")
            groups.extend(_list(ids) if ids is not UNKNOWN else [UNKNOWN])
    return groups


def endpoints_targeting(resources: Sequence[ResourceView], target: ResourceView) -> list[ResourceView]:
    """Private endpoints whose private-link connection points at `target`."""
    found = []
    for pe in _of_type(resources, PRIVATE_ENDPOINT):
        targets = _resolve(resources, pe, "privateLinkServiceConnections", pe.prop("privateLinkServiceConnections"), target.type)
        if any(t.urn == target.urn for t in targets):
            found.append(pe)
    return found


def zone_groups_of(resources: Sequence[ResourceView], endpoint: ResourceView) -> list[ResourceView]:
    return [g for g in _of_type(resources, ZONE_GROUP)
            if endpoint.urn in g.refs("privateEndpointName")
            or _same(g.prop("privateEndpointName"), physical_name(endpoint))]


def _zone_name(zone: ResourceView) -> Any:
    return physical_name(zone)


def _subnet_id_users(resources: Sequence[ResourceView]) -> Iterator[tuple[ResourceView, Any]]:
    """(resource, subnet id) for everything placed in a subnet: NICs, endpoints, clusters."""
    for nic in _of_type(resources, NIC):
        for config in _mappings(nic.prop("ipConfigurations")):
            yield nic, lookup(config, "subnet.id")
    for pe in _of_type(resources, PRIVATE_ENDPOINT):
        yield pe, pe.prop("subnet.id")
    for compute in _of_type(resources, COMPUTE):
        yield compute, compute.prop("properties.properties.subnet.id")


# --------------------------------------------------------------------------------------------
# Workspace and its dependencies
# --------------------------------------------------------------------------------------------
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
        from isolated_mlops.policy.serving_rules import aks_linked_vnets  # AKS links its API zone itself
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


# --------------------------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------------------------
@resource_rule("subnets-have-nsg", "Every workload subnet has a network security group (Azure's reserved "
               "subnets, such as AzureBastionSubnet, excepted).", VNET, SUBNET,
               sources=(DOC_NSG_OVERVIEW, DOC_BASTION_NSG))
def _subnet_nsgs(r: ResourceView) -> Iterator[str]:
    subnets = _subnets(r) if r.type == VNET else [{**r.props, "name": physical_name(r)}]
    for subnet in subnets:
        name, nsg = subnet.get("name"), subnet.get("networkSecurityGroup")
        if not isinstance(name, str) or name in AZURE_MANAGED_SUBNETS or nsg is UNKNOWN:
            continue
        nsg_id = nsg.get("id") if isinstance(nsg, Mapping) else None
        if _unset(nsg_id):
            yield f"subnet {name!r} has no network security group: attach one that denies inbound internet traffic"


# Sources an allow rule may not name ahead of the VNet deny: they admit the whole VNet (or more).
_WHOLE_VNET_SOURCES = frozenset({"*", "any", "virtualnetwork", "0.0.0.0/0"})


def _priority(rule_props: Mapping[str, Any]) -> Optional[int]:
    value = rule_props.get("priority")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


def _denies_vnet(rule_props: Mapping[str, Any]) -> bool:
    """An inbound Deny of every protocol and port from the VirtualNetwork tag (or anywhere)."""
    return (_eq(rule_props.get("direction"), "Inbound") and _eq(rule_props.get("access"), "Deny")
            and str(rule_props.get("protocol", "")).lower() in ("*", "any")
            and any(s in ("virtualnetwork", "*", "any") for s in _sources(rule_props))
            and (0, 65535) in _port_ranges(rule_props) and _priority(rule_props) is not None)


@rule("no-lateral-from-vnet", "Every NSG of a workload subnet denies inbound from VirtualNetwork on all ports "
      "before Azure's AllowVnetInBound (65000), which covers peered VNets; the allow rules ahead of that deny "
      "name their sources, each a subnet of this stack (Bastion's to the VMs, the endpoints' clients to the "
      "endpoints), never VirtualNetwork, '*' or a wider range.",
      sources=["https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview#default-security-rules",
               "https://learn.microsoft.com/azure/virtual-network/service-tags-overview#available-service-tags",
               "https://learn.microsoft.com/azure/bastion/bastion-nsg",
               "https://learn.microsoft.com/azure/machine-learning/how-to-access-azureml-behind-firewall"])
def _no_lateral(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    subnets = [s for v in _of_type(resources, VNET) for s in _subnets(v)] + [s for _, s in _standalone_subnets(resources)]
    prefixes = _networks(p for s in subnets for p in _subnet_prefixes(s))
    # NSGs that guard only Azure's reserved subnets follow those services' own rule sets.
    guarded: dict[str, set[str]] = {}
    for subnet in subnets:
        nsg_id = lookup(subnet, "networkSecurityGroup.id")
        if isinstance(nsg_id, str) and isinstance(subnet.get("name"), str):
            guarded.setdefault(nsg_id.lower(), set()).add(subnet["name"])
    for nsg in _of_type(resources, NSG):
        names = guarded.get(nsg.id.lower(), set()) if nsg.id else set()
        if names and names <= AZURE_MANAGED_SUBNETS:
            continue
        if nsg.prop("securityRules") is UNKNOWN:
            continue
        rules = _security_rules(resources, nsg)
        denies = [p for p in (_priority(r) for r in rules if _denies_vnet(r)) if p is not None]
        if not denies:
            if any(_has_unknown(r) for r in rules):
                continue  # a rule not known yet may be the deny
            yield nsg.urn, ("denies no inbound traffic from VirtualNetwork: Azure's AllowVnetInBound (65000) lets "
                            "every subnet of this VNet and of the peered one in; add an inbound Deny from "
                            "VirtualNetwork, all protocols and ports, after the named allows (e.g. priority 4095)")
            continue
        deny_at = min(denies)
        for r in rules:
            priority = _priority(r)
            if not (_eq(r.get("direction"), "Inbound") and _eq(r.get("access"), "Allow")) \
                    or priority is None or priority >= deny_at:
                continue
            for source in _sources(r):
                if source in _WHOLE_VNET_SOURCES:
                    yield nsg.urn, (f"rule {r.get('name')!r} allows inbound from {source!r} ahead of the VirtualNetwork "
                                    "deny: name the subnets that must connect instead")
                    continue
                nets = _networks([source])
                if nets and prefixes and not any(nets[0].subnet_of(p) for p in prefixes):
                    yield nsg.urn, (f"rule {r.get('name')!r} allows inbound from {source} ahead of the VirtualNetwork "
                                    "deny, which is not a subnet of this stack: name the subnets that must connect")


@rule("peering-both-directions", "Every VNet peering is declared in both directions.",
      sources=(DOC_VNET_PEERING,))
def _peerings(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    pairs = []
    for p in _of_type(resources, PEERING):
        local = [v.urn for v in _of_type(resources, VNET) if v.urn in p.refs("virtualNetworkName")
                 or _same(physical_name(v), p.prop("virtualNetworkName"))]
        remote = [v.urn for v in _resolve(resources, p, "remoteVirtualNetwork", p.prop("remoteVirtualNetwork"), VNET)]
        if local and remote:
            pairs.append((p, local[0], remote[0]))
    declared = {(a, b) for _, a, b in pairs}
    for p, a, b in pairs:
        if (b, a) not in declared:
            yield p.urn, "has no peering in the opposite direction: one-way peering carries no traffic"


@rule("address-spaces", "Subnets lie inside their VNet and do not overlap; VNets in one stack do not overlap.",
      sources=(DOC_VNET_PEERING_REQUIREMENTS, DOC_VNET_SUBNETS))
def _address_spaces(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    vnets = _of_type(resources, VNET)
    spaces = {v.urn: _networks(_list(v.prop("addressSpace.addressPrefixes"))) for v in vnets}
    for vnet in vnets:
        seen: list[tuple[str, ipaddress.IPv4Network]] = []
        for subnet in _subnets(vnet):
            for net in _networks(_subnet_prefixes(subnet)):
                if spaces[vnet.urn] and not any(net.subnet_of(space) for space in spaces[vnet.urn]):
                    yield vnet.urn, f"subnet {subnet.get('name')} {net} is outside the VNet's address space"
                for other_name, other in seen:
                    if net.overlaps(other):
                        yield vnet.urn, f"subnet {subnet.get('name')} {net} overlaps {other_name} {other}"
                seen.append((str(subnet.get("name")), net))
    for i, a in enumerate(vnets):
        for b in vnets[i + 1:]:
            if any(x.overlaps(y) for x in spaces[a.urn] for y in spaces[b.urn]):
                a_name = physical_name(a)
                yield b.urn, f"address space overlaps VNet {a_name if isinstance(a_name, str) else a.name}: they cannot be peered"


@rule("bastion-subnet", "Bastion is Standard (or Premium) and sits in AzureBastionSubnet, which is /26 or "
      "larger and holds nothing else.",
      sources=(DOC_BASTION_SETTINGS,))
def _bastion(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    bastion_subnets = [(v, s) for v in _of_type(resources, VNET) for s in _subnets(v)]
    bastion_subnets += _standalone_subnets(resources)
    for owner, subnet in bastion_subnets:
        if subnet.get("name") == BASTION_SUBNET_NAME:
            for net in _networks(_subnet_prefixes(subnet)):
                if net.prefixlen > BASTION_MAX_PREFIX:
                    yield owner.urn, f"AzureBastionSubnet {net} is smaller than /{BASTION_MAX_PREFIX}; Azure rejects it"
    for host in _of_type(resources, BASTION):
        if _differs(host.prop("sku.name"), "Standard", "Premium"):
            yield host.urn, f"Bastion SKU is {host.prop('sku.name')!r}; use 'Standard' (native-client tunnelling, scale)"
        for config in _mappings(host.prop("ipConfigurations")):
            subnet_name = arm_segment(lookup(config, "subnet.id"), "subnets")
            if subnet_name is not None and subnet_name != BASTION_SUBNET_NAME:
                yield host.urn, f"Bastion is in subnet {subnet_name!r}; Azure requires {BASTION_SUBNET_NAME}"
    for user, subnet_id in _subnet_id_users(resources):
        if arm_segment(subnet_id, "subnets") == BASTION_SUBNET_NAME:
            yield user.urn, f"is placed in {BASTION_SUBNET_NAME}; that subnet holds Bastion and nothing else"


@resource_rule("public-ip-standard-static", "Public IPs are Standard SKU with static allocation (Bastion and "
               "NAT gateways accept nothing else).", PUBLIC_IP,
               sources=(DOC_BASTION_SETTINGS, DOC_NAT_GATEWAY))
def _public_ip(r: ResourceView) -> Iterator[str]:
    if _differs(r.prop("sku.name"), "Standard"):
        yield f"sku.name is {r.prop('sku.name')!r}; use 'Standard'"
    if _differs(r.prop("publicIPAllocationMethod"), "Static"):
        yield f"publicIPAllocationMethod is {r.prop('publicIPAllocationMethod')!r}; use 'Static'"


@rule("only-bastion-inbound-public-ip", "No public IP but Bastion's accepts inbound traffic: any other public IP "
      "belongs to a NAT gateway (egress only); no NIC or VM has a public IP.",
      sources=(DOC_NAT_GATEWAY, DOC_BASTION_OVERVIEW))
def _public_ips(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    allowed: set[str] = set()
    for owner_type, prop in ((BASTION, "ipConfigurations"), (NAT_GATEWAY, "publicIpAddresses")):
        for owner in _of_type(resources, owner_type):
            allowed.update(owner.refs(prop))
            allowed.update(r.urn for r in _resolve(resources, owner, prop, owner.prop(prop), PUBLIC_IP))
    for ip in _of_type(resources, PUBLIC_IP):
        if ip.urn not in allowed:
            yield ip.urn, "public IP is attached to neither Bastion nor a NAT gateway: remove it; Bastion is the way in"
    for nic in _of_type(resources, NIC):
        for config in _mappings(nic.prop("ipConfigurations")):
            nic_ip = config.get("publicIPAddress")
            if nic_ip and nic_ip is not UNKNOWN:
                yield nic.urn, "network interface has a public IP: remove it; Bastion is the way in"
    for vm in _of_type(resources, VM):
        for nic_config in _mappings(vm.prop("networkProfile.networkInterfaceConfigurations")):
            for ip_config in _mappings(nic_config.get("ipConfigurations")):
                vm_ip = ip_config.get("publicIPAddressConfiguration")
                if vm_ip and vm_ip is not UNKNOWN:
                    yield vm.urn, "VM network interface has a public IP: remove it; Bastion is the way in"


@resource_rule("no-internet-admin-ports", "No NSG rule allows inbound 22 or 3389 from the internet.",
               NSG, SECURITY_RULE,
               sources=(DOC_NETWORK_BEST_PRACTICES,))
def _admin_ports(r: ResourceView) -> Iterator[str]:
    rules = _mappings(r.prop("securityRules")) if r.type == NSG else [r.props]
    for rule_props in rules:
        for port in open_admin_ports(rule_props):
            yield f"rule {rule_props.get('name')!r} allows port {port} from the internet: use Bastion"


# --------------------------------------------------------------------------------------------
# Compute and access
# --------------------------------------------------------------------------------------------
@resource_rule("vm-ssh-keys-only", "Linux VMs only: password authentication off, no admin password, SSH keys.", VM,
               sources=(DOC_VM_SSH_KEYS,))
def _vm(r: ResourceView) -> Iterator[str]:
    windows = r.prop("osProfile.windowsConfiguration")
    if windows and windows is not UNKNOWN:
        yield "Windows VMs are not part of this platform (RDP and passwords)"
    if not _unset(r.prop("osProfile.adminPassword")):
        yield "remove adminPassword: SSH keys only"
    if _not_exactly(r.prop("osProfile.linuxConfiguration.disablePasswordAuthentication"), True):
        yield "set osProfile.linuxConfiguration.disablePasswordAuthentication to true"
    if _unset(r.prop("osProfile.linuxConfiguration.ssh.publicKeys")):
        yield "configure an SSH public key (osProfile.linuxConfiguration.ssh.publicKeys)"


@resource_rule("vm-encryption-at-host", "Every VM encrypts at the host (temp disk, caches, data flows to storage).",
               VM, sources=["https://learn.microsoft.com/azure/virtual-machines/disk-encryption"
                            "#encryption-at-host---end-to-end-encryption-for-your-vm-data"])
def _vm_encryption_at_host(r: ResourceView) -> Iterator[str]:
    if _not_exactly(r.prop("securityProfile.encryptionAtHost"), True):
        yield ("set securityProfile.encryptionAtHost to true (the subscription needs the feature "
               "Microsoft.Compute/EncryptionAtHost registered)")


@rule("no-secret-in-vm-boot-data", "No secret flows into VM custom data, user data or public extension settings.",
      needs_secrets=True,
      sources=(DOC_VM_CUSTOM_DATA,))
def _vm_boot_data(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    for r in resources:
        if not r.secrets_known:
            continue
        paths: tuple[str, ...]
        if r.type == VM:
            paths = ("osProfile.customData", "userData")
        elif r.type == VM_EXTENSION:
            paths = ("settings",)
        else:
            continue
        for path in paths:
            if any(s == path or s.startswith(path + ".") or s.startswith(path + "[") for s in r.secret_paths):
                yield r.urn, f"{path} is derived from a secret: it is readable from ARM and the VM; read it from Key Vault at boot"


@resource_rule("key-vault-secret-is-secret", "A Key Vault secret's value is a Pulumi secret (encrypted in state).",
               KEY_VAULT_SECRET, needs_secrets=True,
               sources=(DOC_PULUMI_SECRETS,))
def _kv_secret(r: ResourceView) -> Iterator[str]:
    value = r.prop("properties.value")
    if r.secrets_known and value not in (None, "[secret]") and value is not UNKNOWN \
            and "properties.value" not in r.secret_paths:
        yield "properties.value is plain text in the program and the state: wrap it with pulumi.Output.secret"


@resource_rule("key-vault-secret-expires", "A Key Vault secret carries an expiry (the credential's own), so its "
               "rotation is due visibly.", KEY_VAULT_SECRET,
               sources=["https://learn.microsoft.com/azure/key-vault/secrets/about-secrets#secret-attributes",
                        "https://learn.microsoft.com/azure/key-vault/policy-reference"])
def _kv_secret_expires(r: ResourceView) -> Iterator[str]:
    if _unset(r.prop("properties.attributes.expires")):
        yield "set properties.attributes.expires to the credential's expiry (agents.tokenExpiresOn)"


# --------------------------------------------------------------------------------------------
# Monitoring of the ML lifecycle: drift ingestion, action groups, alert rules (workspace/alerts.py)
# --------------------------------------------------------------------------------------------
DOC_DCE = "https://learn.microsoft.com/azure/azure-monitor/essentials/data-collection-endpoint-overview"
DOC_LOGS_INGESTION = "https://learn.microsoft.com/azure/azure-monitor/logs/logs-ingestion-api-overview"
DOC_ACTION_GROUPS = "https://learn.microsoft.com/azure/azure-monitor/alerts/action-groups"
DOC_ADO_WEBHOOK = "https://learn.microsoft.com/azure/devops/pipelines/yaml-schema/resources-webhooks-webhook"
# Where an action group keeps a URL it calls, per receiver list (REST API, Action Groups).
ACTION_GROUP_URLS: Mapping[str, str] = {
    "webhookReceivers": "serviceUri", "logicAppReceivers": "callbackUrl",
    "azureFunctionReceivers": "httpTriggerUrl", "automationRunbookReceivers": "serviceUri",
}
ACTION_GROUP_RECEIVERS = ("emailReceivers", "smsReceivers", "voiceReceivers", "azureAppPushReceivers",
                          "armRoleReceivers", "eventHubReceivers", "itsmReceivers", "incidentReceivers",
                          *ACTION_GROUP_URLS)
@resource_rule("action-group-urls-carry-no-plain-credential", "No URL an action group calls carries a credential "
               "(`sig=`, `code=`, `token=`, `key=`, user:password@) unless it is a Pulumi secret: the action "
               "group keeps the URL readable to anyone who can read the resource.", ACTION_GROUP, needs_secrets=True,
               sources=(DOC_ACTION_GROUPS, DOC_ADO_WEBHOOK, DOC_PULUMI_SECRETS))
def _action_group_urls(r: ResourceView) -> Iterator[str]:
    for receivers, key in ACTION_GROUP_URLS.items():
        for i, receiver in enumerate(_mappings(r.prop(receivers))):
            path = f"{receivers}[{i}].{key}"
            found = credential_in_url(receiver.get(key))
            secret = any(s == path or path.startswith(s + ".") or s == receivers or s == f"{receivers}[{i}]"
                         for s in r.secret_paths)
            if found and not (secret or not r.secrets_known):
                yield (f"{path} carries a credential in plain text ({found}): use a receiver that needs none "
                       "(an Azure DevOps incoming webhook), or pass the URL as a Pulumi secret")


@rule("alerts-reach-a-receiver", "Every action group has a receiver, and every alert rule names an action group: "
      "an alert that tells no one is no alert.", sources=(DOC_ACTION_GROUPS,
      "https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-overview"))
def _alerts_reach(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    for group in _of_type(resources, ACTION_GROUP):
        lists = [group.prop(key) for key in ACTION_GROUP_RECEIVERS]
        if not any(_has_unknown(v) or _list(v) for v in lists):
            yield group.urn, "has no receiver: add an email address or a webhook (stack file alerts.email)"
    for alert in _of_type(resources, METRIC_ALERT):
        actions = alert.prop("actions")
        if not _has_unknown(actions) and not any(a.get("actionGroupId") for a in _mappings(actions)):
            yield alert.urn, "names no action group: nobody is told when it fires"
    for alert in _of_type(resources, SCHEDULED_QUERY_RULE):
        groups = alert.prop("actions.actionGroups")
        if not _has_unknown(groups) and not _list(groups):
            yield alert.urn, "names no action group: nobody is told when it fires"


@rule("data-collection-endpoint-private", "Every data collection endpoint refuses public ingestion and is scoped "
      "into an Azure Monitor Private Link Scope of this stack (private ingestion goes through the scope).",
      sources=(DOC_DCE, DOC_LOGS_INGESTION, DOC_MONITOR_PRIVATE_LINK_DESIGN))
def _dce_private(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    scopes = _of_type(resources, PRIVATE_LINK_SCOPE)
    linked: set[str] = set()
    for scoped in _of_type(resources, SCOPED_RESOURCE):
        scope_name = scoped.prop("scopeName")
        in_stack_scope = any(s.urn in scoped.refs("scopeName") or _same(scope_name, physical_name(s)) for s in scopes)
        linked_id = scoped.prop("linkedResourceId")
        targets = _resolve(resources, scoped, "linkedResourceId", linked_id, DATA_COLLECTION_ENDPOINT)
        if (not in_stack_scope and scope_name is UNKNOWN and not scoped.refs("scopeName")) \
                or (not targets and _has_unknown(linked_id) and not scoped.refs("linkedResourceId")):
            return  # a scoped resource whose target is not known yet may be the one that links it
        if in_stack_scope:
            linked.update(t.urn for t in targets)
    for dce in _of_type(resources, DATA_COLLECTION_ENDPOINT):
        if _differs(dce.prop("networkAcls.publicNetworkAccess"), "Disabled"):
            yield dce.urn, "set networkAcls.publicNetworkAccess to Disabled: ingestion only through the private link scope"
        if dce.urn not in linked:
            yield dce.urn, ("is in no Azure Monitor Private Link Scope of this stack: link it with a "
                            "PrivateLinkScopedResource, or the VNets cannot ingest through it privately")


# The serving cluster too: its API server and audit logs (compute/serving.py AKS_LOG_CATEGORIES).
DIAGNOSED_TYPES = (WORKSPACE, KEY_VAULT, REGISTRY, NSG, "azure-native:containerservice:ManagedCluster")


def _within(resource_id: Any, parent_id: str) -> bool:
    """Is the known id `resource_id` the resource `parent_id` or one of its children (ids are case-insensitive)?"""
    if not isinstance(resource_id, str) or not parent_id:
        return False
    child, parent = resource_id.rstrip("/").lower(), parent_id.rstrip("/").lower()
    return child == parent or child.startswith(parent + "/")


@rule("diagnostics-to-log-analytics", "The workspace, Key Vault, registry, every NSG, the AKS cluster and the storage "
      "account's blob service send their resource logs to Log Analytics (a diagnostic setting with a workspace).",
      sources=["https://learn.microsoft.com/azure/azure-monitor/essentials/diagnostic-settings",
               "https://learn.microsoft.com/azure/azure-monitor/reference/supported-logs/"
               "microsoft-network-networksecuritygroups-logs"])
def _diagnostics(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    settings = [d for d in _of_type(resources, DIAGNOSTIC_SETTING)
                if not _unset(d.prop("workspaceId")) and _list(d.prop("logs"))]
    if any(d.prop("resourceUri") is UNKNOWN and not d.refs("resourceUri") for d in settings):
        return  # a setting whose target is not known yet could be the missing one
    for r in _of_type(resources, *DIAGNOSED_TYPES, STORAGE):
        covered = [d for d in settings if r.urn in d.refs("resourceUri") or _within(d.prop("resourceUri"), r.id)]
        if r.type == STORAGE:
            # Storage logs are per service: the setting sits on <account>/blobServices/default.
            covered = [d for d in covered if d.prop("resourceUri") is UNKNOWN
                       or str(d.prop("resourceUri")).rstrip("/").lower().endswith("/blobservices/default")]
            if not covered:
                yield r.urn, "add a diagnostic setting on <account id>/blobServices/default to Log Analytics"
        elif not covered:
            yield r.urn, "add a diagnostic setting that sends its logs to Log Analytics"


@resource_rule("aml-compute-private", "AmlCompute: no node public IP, in a subnet, SSH port closed, scales to 0, "
               "managed identity.", COMPUTE,
               sources=(DOC_ML_SECURE_TRAINING, DOC_ML_NO_PUBLIC_IP))
def _compute(r: ResourceView) -> Iterator[str]:
    if not _eq(r.prop("properties.computeType"), "AmlCompute"):
        return
    base = "properties.properties."
    if _not_exactly(r.prop(base + "enableNodePublicIp"), False):
        yield "set enableNodePublicIp to false"
    if _unset(r.prop(base + "subnet.id")):
        yield "set subnet: no-public-IP compute must live in the training subnet"
    if _differs(r.prop(base + "remoteLoginPortPublicAccess"), "Disabled"):
        yield "set remoteLoginPortPublicAccess to 'Disabled'"
    # Azure's default minimum is 0; only an explicit other value keeps idle nodes running.
    min_nodes = r.prop(base + "scaleSettings.minNodeCount")
    if min_nodes is not None and min_nodes is not UNKNOWN and min_nodes not in (0, 0.0):
        yield f"scaleSettings.minNodeCount is {min_nodes!r}; set 0 so idle clusters scale to zero"
    if _no_identity(r):
        yield "give the cluster a managed identity"


@rule("compute-subnet-closed", "No-public-IP compute sits in a subnet declared in this stack, which has a "
      "network security group that opens no admin port to the internet.",
      sources=(DOC_ML_SECURE_TRAINING, DOC_ML_FIREWALL))
def _compute_subnet(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    for c in _of_type(resources, COMPUTE):
        if c.prop("properties.properties.enableNodePublicIp") is not False:
            continue  # aml-compute-private reports public nodes
        subnet_id = c.prop("properties.properties.subnet.id")
        subnet_name = arm_segment(subnet_id, "subnets")
        vnet = _vnet_of_subnet_id(resources, c, "properties", subnet_id) if subnet_name else None
        if vnet is None or subnet_name is None:
            continue  # not known yet, or a VNet outside this stack: nothing to prove
        vnet_name = physical_name(vnet)
        subnet = _find_subnet(resources, vnet, subnet_name)
        if subnet is None:
            yield c.urn, f"subnet {subnet_name!r} is not declared in VNet {vnet_name!r}: fix the subnet id"
            continue
        nsg_ref = subnet.get("networkSecurityGroup")
        if nsg_ref is UNKNOWN:
            continue
        nsg_id = nsg_ref.get("id") if isinstance(nsg_ref, Mapping) else None
        if _unset(nsg_id):
            yield c.urn, f"its subnet {subnet_name!r} has no network security group: attach one"
            continue
        for nsg in [n for n in _of_type(resources, NSG) if _same(n.id, nsg_id)]:
            ports = sorted({p for rule_props in _security_rules(resources, nsg) for p in open_admin_ports(rule_props)})
            if ports:
                yield c.urn, f"its subnet's NSG opens port(s) {ports} to the internet: close them"


@rule("compute-after-workspace-private-endpoint", "No-public-IP compute is created only after the workspace's "
      "private endpoint exists (Azure refuses it before).",
      sources=(DOC_ML_SECURE_TRAINING,))
def _compute_order(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    workspace_endpoints = {pe.urn for pe in _of_type(resources, PRIVATE_ENDPOINT) if "amlworkspace" in _group_ids(pe)}
    for c in _of_type(resources, COMPUTE):
        if c.prop("properties.properties.enableNodePublicIp") is False and not workspace_endpoints.intersection(c.dependencies):
            yield c.urn, "add depends_on the workspace's private endpoint: Azure rejects no-public-IP compute created first"


@rule("image-build-compute-exists", "The workspace's imageBuildCompute names a cluster this stack creates.",
      sources=(DOC_ML_SECURE_WORKSPACE_ACR,))
def _image_build(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    names = [physical_name(c) for c in _of_type(resources, COMPUTE)]
    if any(not isinstance(n, str) for n in names):
        return  # a cluster name not known yet could be the one
    clusters = {n.lower(): n for n in names}
    for ws in _of_type(resources, WORKSPACE):
        name = ws.prop("imageBuildCompute")
        if isinstance(name, str) and name and name.lower() not in clusters:
            yield ws.urn, f"imageBuildCompute {name!r} is not a cluster of this stack ({', '.join(sorted(clusters.values())) or 'none'})"


def _role_grants(resources: Sequence[ResourceView], role_id: str, holders: set[str], scope_urn: str) -> bool:
    """Is there an assignment of `role_id` to one of `holders` (URNs whose principal id it takes) at
    the resource `scope_urn`? A role id not known yet counts: nothing can be proved about it."""
    for a in _of_type(resources, ROLE_ASSIGNMENT):
        role = a.prop("roleDefinitionId")
        role_matches = role is UNKNOWN or (isinstance(role, str) and role.rstrip("/").lower().endswith(role_id))
        if role_matches and holders.intersection(a.refs("principalId")) and scope_urn in a.refs("scope"):
            return True
    return False


@rule("storage-admits-its-workspace", "The workspace's default storage admits the workspace through its firewall: "
      "public network access from selected networks (not Disabled, which turns every exception off) with a "
      "resource instance rule for the workspace.",
      sources=[f"{SECURE_WORKSPACE_VNET}#secure-azure-storage-accounts", STORAGE_RESOURCE_INSTANCES])
def _storage_admits_workspace(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    for ws in _of_type(resources, WORKSPACE):
        name = physical_name(ws)
        for st in _resolve(resources, ws, "storageAccount", ws.prop("storageAccount"), STORAGE):
            if _eq(st.prop("publicNetworkAccess"), "Disabled"):
                yield st.urn, ("publicNetworkAccess 'Disabled' turns off resource instance rules and trusted services, "
                               "so AML's own access to its default storage is refused; set 'Enabled' with "
                               "networkRuleSet.defaultAction 'Deny' and a resource instance rule for the workspace")
                continue
            rules = st.prop("networkRuleSet.resourceAccessRules")
            ids = [rule.get("resourceId") if isinstance(rule, Mapping) else UNKNOWN for rule in _list(rules)]
            if rules is UNKNOWN or not isinstance(name, str) or any(i is UNKNOWN for i in ids):
                continue  # not known yet: cannot prove it is missing
            suffix = f"/microsoft.machinelearningservices/workspaces/{name}".lower()
            if not any(isinstance(i, str) and i.rstrip("/").lower().endswith(suffix) for i in ids):
                yield st.urn, (f"add a networkRuleSet.resourceAccessRules entry for workspace {name!r}: the firewall "
                               "admits AML's service-side access (studio data preview, profiling) only from it")


@rule("workspace-reads-storage-endpoints", "The workspace's managed identity is Reader on each private endpoint of "
      "its default storage (studio in a virtual network).", sources=[STUDIO_IN_VNET])
def _workspace_reads_endpoints(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    for ws in _of_type(resources, WORKSPACE):
        for st in _resolve(resources, ws, "storageAccount", ws.prop("storageAccount"), STORAGE):
            for pe in endpoints_targeting(resources, st):
                if not _role_grants(resources, READER.id, {ws.urn}, pe.urn):
                    yield pe.urn, (f"grant the workspace's identity Reader ({READER.id}) on this storage endpoint: "
                                   "studio previews data through it with that identity")


@rule("compute-can-pull-images", "Every AmlCompute cluster's identity holds AcrPull on the workspace's registry "
      "(its admin user is off, so images are pulled with the identity).", sources=[ACR_WITHOUT_ADMIN])
def _compute_pulls(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    by_urn = _by_urn(resources)
    for c in _of_type(resources, COMPUTE):
        if not _eq(c.prop("properties.computeType"), "AmlCompute"):
            continue
        workspaces = [by_urn[u] for u in c.refs("workspaceName") if u in by_urn and by_urn[u].type == WORKSPACE]
        identity_type = str(c.prop("identity.type") or "")
        holders = {u for u in c.refs("identity") if u in by_urn and by_urn[u].type == IDENTITY}
        if "systemassigned" in identity_type.lower().replace(" ", "").replace(",", ""):
            holders.add(c.urn)
        for ws in workspaces:
            for registry in _resolve(resources, ws, "containerRegistry", ws.prop("containerRegistry"), REGISTRY):
                if not holders or not _role_grants(resources, ACR_PULL.id, holders, registry.urn):
                    yield c.urn, (f"grant the cluster's identity AcrPull ({ACR_PULL.id}) on the workspace's registry: "
                                  "with the admin user off, nodes pull job images with that identity")


@rule("stateful-resources-protected", "Production: the resource group, workspace, storage, Key Vault, registry, "
      "Log Analytics, its drift table and the Azure ML (model) registry are protected against deletion.",
      sources=(DOC_PULUMI_PROTECT,))
def _protected(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    for r in resources:
        if r.type in STATEFUL_TYPES and not r.protect:
            yield r.urn, "is not protected: `pulumi destroy` or a replacement would delete its data; set protect"


def decode_custom_data(view: ResourceView) -> str:
    """The VM's custom data as text (for tests and reviewers)."""
    data = view.prop("osProfile.customData")
    if not isinstance(data, str) or data == "[secret]":
        return ""
    return base64.b64decode(data).decode(errors="replace")


# Rules kept in their own modules register themselves on import (they import this module's helpers).
from isolated_mlops.policy import serving_rules as _serving_rules  # noqa: E402,F401
