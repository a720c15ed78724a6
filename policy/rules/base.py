"""The rule engine: resource types, `ResourceView`, `Rule`, the registry `RULES`, `evaluate`.

Every rule module registers into `RULES` with `@rule` / `@resource_rule` when imported; the package
`isolated_mlops.policy.rules` imports them in a fixed order (that order is docs/policy.md's table).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence


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
