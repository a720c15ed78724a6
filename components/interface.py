"""The interface every resource component shares for the concerns that cut across resources.

Azure Verified Modules give every resource module the same parameters for tags, locks, role
assignments, diagnostic settings, private endpoints and managed identities, so that a user who
learned one module knows them all (AVM specification RMFR4, "consistent feature and extension
resources": https://azure.github.io/Azure-Verified-Modules/spec/RMFR4/).
This library does the same: a component's Args inherits `CommonArgs`, and the component hands its
main resource to `apply_common`, which creates the lock, the role assignments, the diagnostic setting
and the private endpoints in one way for all of them. Identity differs by SDK module (each service has
its own identity type), so `ManagedIdentity` is read by the component itself through `identity_type`.

The dataclasses use plain annotations (no `from __future__ import annotations`): the Pulumi component
provider infers the package's schema from them (`pulumi.provider.experimental.analyzer`), and string
annotations would hide the types from it.
"""

import dataclasses
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
from pulumi_azure_native import authorization, monitor

from isolated_mlops.components.diagnostics import ALL_LOGS, SETTING_NAME
from isolated_mlops.components.private_endpoint import PrivateEndpoint, PrivateEndpointArgs, PrivateEndpointPlacement
from isolated_mlops.components.roles import ASSIGNED_ROLES, role_definition_id

# Management lock levels ("Lock your resources to protect your infrastructure":
# https://learn.microsoft.com/azure/azure-resource-manager/management/lock-resources). CanNotDelete
# still lets authorised users change the resource; ReadOnly also refuses the control plane's POST
# operations, listKeys among them ("Apply an Azure Resource Manager lock to a storage account":
# https://learn.microsoft.com/azure/storage/common/lock-account-resource), which breaks services that
# read or write their own resource's settings, so the platform itself uses CanNotDelete.
LOCK_LEVELS = ("CanNotDelete", "ReadOnly")
# Principal types a role assignment may name (REST: Microsoft.Authorization/roleAssignments, principalType).
PRINCIPAL_TYPES = ("ServicePrincipal", "User", "Group", "ForeignGroup", "Device")


@dataclass(frozen=True)
class PrivateEndpointOptions:
    """Where the component's private endpoints go, and the DNS zones their names resolve in."""

    subnet_id: pulumi.Input[str]
    """The subnet for the endpoints' network interfaces."""
    zone_ids_by_group: Mapping[str, Mapping[str, pulumi.Input[str]]]
    """group id -> {zone name -> private DNS zone id}: the stack's own zones or a landing zone's existing ones."""
    resource_group_name: pulumi.Input[str]
    """The resource group the endpoints are created in."""
    location: pulumi.Input[str]
    """The endpoints' region: the subnet's."""

    def placement(self, tags: Mapping[str, str]) -> PrivateEndpointPlacement:
        return PrivateEndpointPlacement(resource_group_name=self.resource_group_name, location=self.location,
                                        subnet_id=self.subnet_id, zone_ids_by_group=self.zone_ids_by_group,
                                        tags=dict(tags))


@dataclass(frozen=True)
class RoleAssignmentSpec:
    """A role on the component's main resource for a principal."""

    role: str
    """A built-in role by name (components/roles.py) or a role definition's GUID."""
    principal_id: pulumi.Input[str]
    """The object id of the user, group or service principal."""
    principal_type: str = "ServicePrincipal"
    """ServicePrincipal, User, Group, ForeignGroup or Device."""
    condition: Optional[str] = None
    """An ABAC condition (version 2.0), where the role supports one."""


@dataclass(frozen=True)
class DiagnosticsOptions:
    """Where the main resource's logs go."""

    log_analytics_workspace_id: pulumi.Input[str]
    """The Log Analytics workspace the diagnostic setting sends to."""
    categories: Sequence[str] = ()
    """Log categories, for a resource type without the `allLogs` category group; empty means `allLogs`."""


@dataclass(frozen=True)
class ManagedIdentity:
    """The main resource's managed identities."""

    system_assigned: bool = False
    """Give the resource a system-assigned identity."""
    user_assigned_ids: Sequence[pulumi.Input[str]] = ()
    """Resource ids of user-assigned identities to attach."""


@dataclass(kw_only=True)
class CommonArgs:
    """The cross-cutting arguments every resource component takes (keyword-only, all optional)."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every Azure resource the component creates."""
    protect: bool = False
    """Pulumi refuses to delete the component's stateful resources (set in production)."""
    lock: Optional[str] = None
    """An Azure management lock on the main resource: CanNotDelete or ReadOnly; none by default."""
    private_endpoint: Optional[PrivateEndpointOptions] = None
    """Private endpoints for the resource's group ids; none means the component is reached another way."""
    diagnostics: Optional[DiagnosticsOptions] = None
    """A diagnostic setting on the main resource."""
    role_assignments: Sequence[RoleAssignmentSpec] = ()
    """Roles on the main resource."""
    identity: Optional[ManagedIdentity] = None
    """Managed identities of the main resource, where the resource type has them."""


@dataclass
class CommonChildren:
    """What `apply_common` created, for the component's attributes and outputs."""

    private_endpoints: dict[str, PrivateEndpoint] = field(default_factory=dict)
    role_assignments: list[authorization.RoleAssignment] = field(default_factory=list)
    lock: Optional[authorization.ManagementLockByScope] = None
    diagnostic_setting: Optional[monitor.DiagnosticSetting] = None


def check_common(owner: str, args: CommonArgs) -> None:
    """Refuse a value Azure would refuse, naming the argument, before any resource exists."""
    if args.lock is not None and args.lock not in LOCK_LEVELS:
        raise ValueError(f"{owner}: lock={args.lock!r} is not a lock level; use one of {', '.join(LOCK_LEVELS)}")
    for spec in args.role_assignments:
        if spec.principal_type not in PRINCIPAL_TYPES:
            raise ValueError(f"{owner}: role_assignments principal_type={spec.principal_type!r}; "
                             f"use one of {', '.join(PRINCIPAL_TYPES)}")
        _role_id(owner, spec.role)  # raises for an unknown role name


def _role_id(owner: str, role: str) -> Optional[str]:
    """The built-in role's GUID for a name from the roles table, or the GUID given."""
    by_name = {r.name.lower(): r for r in ASSIGNED_ROLES}
    if role.lower() in by_name:
        return by_name[role.lower()].id
    if len(role) == 36 and role.count("-") == 4:
        return role
    raise ValueError(f"{owner}: role {role!r} is neither a role in components/roles.py "
                     f"({', '.join(sorted(r.name for r in ASSIGNED_ROLES))}) nor a role definition GUID")


def identity_type(identity: Optional[ManagedIdentity]) -> Optional[str]:
    """ARM's identity `type` for the options: None, SystemAssigned, UserAssigned or both."""
    if identity is None or (not identity.system_assigned and not identity.user_assigned_ids):
        return None
    if identity.system_assigned and identity.user_assigned_ids:
        return "SystemAssigned,UserAssigned"
    return "SystemAssigned" if identity.system_assigned else "UserAssigned"


def apply_common(
    owner: pulumi.ComponentResource,
    name: str,
    args: CommonArgs,
    *,
    resource_id: pulumi.Input[str],
    subscription_id: Optional[pulumi.Input[str]] = None,
    endpoint_groups: Sequence[str] = (),
    endpoint_name: Optional[pulumi.Input[str]] = None,
    depends_on: Sequence[pulumi.Resource] = (),
) -> CommonChildren:
    """Create the lock, role assignments, diagnostic setting and private endpoints of a component's
    main resource (`resource_id`), all children of `owner`.

    endpoint_groups: the private-link group ids the resource needs (`vault`, `blob`, ...), used only
    when `args.private_endpoint` is set. endpoint_name: the endpoint's Azure name for one group (with
    several, the group id is appended). subscription_id: needed for role assignments by name.
    """
    check_common(type(owner).__name__, args)
    child = pulumi.ResourceOptions(parent=owner, depends_on=list(depends_on) or None)
    made = CommonChildren()
    if args.private_endpoint is not None:
        placement = args.private_endpoint.placement(args.tags)
        for group in endpoint_groups:
            suffix = "" if len(endpoint_groups) == 1 else f"-{group}"
            made.private_endpoints[group] = PrivateEndpoint(
                f"{name}{suffix}", PrivateEndpointArgs(
                    placement=placement, target_resource_id=resource_id, group_id=group,
                    endpoint_name=pulumi.Output.concat(endpoint_name or name, suffix)),
                opts=child)
    for spec in args.role_assignments:
        guid = _role_id(type(owner).__name__, spec.role)
        if subscription_id is None:
            raise ValueError(f"{type(owner).__name__}: role assignments need subscription_id")
        made.role_assignments.append(authorization.RoleAssignment(
            f"{name}-role-{len(made.role_assignments)}",
            scope=resource_id,
            role_definition_id=pulumi.Output.concat("/subscriptions/", subscription_id,
                                                    "/providers/Microsoft.Authorization/roleDefinitions/", guid or ""),
            principal_id=spec.principal_id,
            principal_type=spec.principal_type,
            condition=spec.condition,
            condition_version="2.0" if spec.condition else None,
            opts=child))
    if args.diagnostics is not None:
        logs = [monitor.DiagnosticsLogSettingsArgs(category=c, enabled=True) for c in args.diagnostics.categories] \
            or [monitor.DiagnosticsLogSettingsArgs(category_group=ALL_LOGS, enabled=True)]
        made.diagnostic_setting = monitor.DiagnosticSetting(
            f"{name}-diagnostics", name=SETTING_NAME, resource_uri=resource_id,
            workspace_id=args.diagnostics.log_analytics_workspace_id, logs=logs, opts=child)
    if args.lock is not None:
        made.lock = authorization.ManagementLockByScope(
            f"{name}-lock", scope=resource_id, level=args.lock,
            notes="Set by isolated_mlops: remove the lock deliberately before deleting this resource.",
            opts=child)
    return made


def common_fields(args: CommonArgs) -> dict:
    """The CommonArgs part of an Args instance, to pass on to a nested component's Args."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(CommonArgs)}
