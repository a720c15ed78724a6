"""The cross-cutting arguments every resource component takes, and the extension resources they make.

`components.interface` is the public face of this module (it re-exports every name here and adds
`apply_common`, which also creates private endpoints). The types live here, apart, so that the
private endpoint and diagnostic settings components can take `CommonArgs` themselves without an
import circle (interface -> private_endpoint -> interface).

No `from __future__ import annotations`: the Pulumi component provider infers the package's schema
from these annotations (`pulumi.provider.experimental.analyzer`), and string annotations would hide
the types from it. Each field's docstring becomes its description in that schema.
"""

import dataclasses
from dataclasses import dataclass, field
from typing import AbstractSet, Mapping, Optional, Sequence

import pulumi
from pulumi_azure_native import authorization

from isolated_mlops.components.roles import ASSIGNED_ROLES

__all__ = [
    "LOCK_LEVELS", "PRINCIPAL_TYPES", "CommonArgs", "DiagnosticsOptions", "ManagedIdentity",
    "PrivateEndpointOptions", "RoleAssignmentSpec", "check_common", "common_fields", "create_lock",
    "create_role_assignments", "identity_type",
]

# Management lock levels ("Lock your resources to protect your infrastructure":
# https://learn.microsoft.com/azure/azure-resource-manager/management/lock-resources). CanNotDelete
# still lets authorised users change the resource; ReadOnly also refuses the control plane's POST
# operations, listKeys among them ("Apply an Azure Resource Manager lock to a storage account":
# https://learn.microsoft.com/azure/storage/common/lock-account-resource), which breaks services that
# read or write their own resource's settings, so the platform itself uses CanNotDelete.
LOCK_LEVELS = ("CanNotDelete", "ReadOnly")
# Principal types a role assignment may name (REST: Microsoft.Authorization/roleAssignments,
# properties.principalType: https://learn.microsoft.com/rest/api/authorization/role-assignments/create).
PRINCIPAL_TYPES = ("ServicePrincipal", "User", "Group", "ForeignGroup", "Device")


@dataclass(frozen=True)
class PrivateEndpointOptions:
    """Where the component's private endpoints go, and the DNS zones their names resolve in."""

    subnet_id: pulumi.Input[str]
    """The subnet for the endpoints' network interfaces (the stack's own, or a landing zone's existing one)."""
    zone_ids_by_group: Mapping[str, Mapping[str, pulumi.Input[str]]]
    """Private-link group id -> {zone name -> private DNS zone id}: the stack's own zones or a landing zone's existing ones."""
    resource_group_name: Optional[pulumi.Input[str]] = None
    """The resource group the endpoints are created in; the component's own when not given."""
    location: Optional[pulumi.Input[str]] = None
    """The endpoints' region, which must be the subnet's; the component's own when not given."""


@dataclass(frozen=True)
class RoleAssignmentSpec:
    """A role on the component's main resource for a principal."""

    role: str
    """A built-in role by name (components/roles.py) or any role definition's GUID."""
    principal_id: pulumi.Input[str]
    """The object id of the user, group or service principal."""
    principal_type: str = "ServicePrincipal"
    """ServicePrincipal, User, Group, ForeignGroup or Device (ARM checks it against the principal)."""
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
    """The cross-cutting arguments every resource component takes (keyword-only, all optional).

    As Azure Verified Modules give every module the same parameters for these concerns (AVM
    specification RMFR4: https://azure.github.io/Azure-Verified-Modules/spec/RMFR4/). A component
    refuses, by name, an argument that does not apply to its resource type (a managed identity on a
    Key Vault), rather than ignoring it.
    """

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every taggable Azure resource the component creates."""
    protect: bool = False
    """Pulumi refuses to delete the component's stateful resources (set in production)."""
    lock: Optional[str] = None
    """An Azure management lock on the main resource: CanNotDelete or ReadOnly; none by default."""
    private_endpoint: Optional[PrivateEndpointOptions] = None
    """Private endpoints for the resource's private-link group ids; none means the component is reached another way."""
    diagnostics: Optional[DiagnosticsOptions] = None
    """A diagnostic setting on the main resource, to a Log Analytics workspace."""
    role_assignments: Sequence[RoleAssignmentSpec] = ()
    """Roles on the main resource."""
    identity: Optional[ManagedIdentity] = None
    """Managed identities of the main resource, where the resource type has them."""


COMMON_FIELDS = tuple(f.name for f in dataclasses.fields(CommonArgs))


def check_common(owner: str, args: CommonArgs, supports: AbstractSet[str] = frozenset(COMMON_FIELDS)) -> None:
    """Refuse a value Azure would refuse, or an argument the component cannot honour, in one line
    naming the argument, before any resource exists. `supports`: the CommonArgs fields the component
    applies; `tags` and `protect` are always accepted."""
    for name in COMMON_FIELDS:
        if name not in supports and name not in ("tags", "protect") and getattr(args, name):
            raise ValueError(f"{owner}: {name} is not supported here: this component applies only "
                             f"{', '.join(sorted({'tags', 'protect', *supports}))}; leave {name} unset")
    if args.lock is not None and args.lock not in LOCK_LEVELS:
        raise ValueError(f"{owner}: lock={args.lock!r} is not a lock level; use one of {', '.join(LOCK_LEVELS)}")
    for spec in args.role_assignments:
        if spec.principal_type not in PRINCIPAL_TYPES:
            raise ValueError(f"{owner}: role_assignments principal_type={spec.principal_type!r}; "
                             f"use one of {', '.join(PRINCIPAL_TYPES)}")
        role_guid(owner, spec.role)  # raises for an unknown role name


def role_guid(owner: str, role: str) -> str:
    """The built-in role's GUID for a name from the roles table, or the GUID given."""
    by_name = {r.name.lower(): r for r in ASSIGNED_ROLES}
    if role.lower() in by_name:
        return by_name[role.lower()].id
    if len(role) == 36 and role.count("-") == 4:
        return role
    raise ValueError(f"{owner}: role {role!r} is neither a role in components/roles.py "
                     f"({', '.join(sorted(r.name for r in ASSIGNED_ROLES))}) nor a role definition GUID")


def identity_type(identity: Optional[ManagedIdentity], *, system_assigned: bool = False) -> Optional[str]:
    """ARM's identity `type` for the options: None, SystemAssigned, UserAssigned or both.
    `system_assigned`: the component always needs the system-assigned identity (its own role assignments)."""
    system = system_assigned or (identity is not None and identity.system_assigned)
    users = bool(identity is not None and identity.user_assigned_ids)
    if system and users:
        return "SystemAssigned,UserAssigned"
    if system:
        return "SystemAssigned"
    return "UserAssigned" if users else None


def deployment_subscription(owner: pulumi.Resource) -> pulumi.Output[str]:
    """The subscription the provider deploys to (as ARM templates' `subscriptionResourceId` gives a role
    definition's id: https://learn.microsoft.com/azure/role-based-access-control/role-assignments-template#role-definition-id).
    Read with an invoke, so it is known in a first preview, where a resource's id is not (and the
    policy pack can check which role an assignment grants)."""
    return authorization.get_client_config_output(opts=pulumi.InvokeOptions(parent=owner)).subscription_id


def create_role_assignments(owner: pulumi.Resource, name: str, specs: Sequence[RoleAssignmentSpec],
                            scope: pulumi.Input[str],
                            subscription_id: Optional[pulumi.Input[str]] = None) -> list[authorization.RoleAssignment]:
    """One assignment per spec on `scope`, children of `owner`, named `<name>-role-<index>`; role
    definition ids under `subscription_id`, the deployment's subscription when not given."""
    made: list[authorization.RoleAssignment] = []
    if not specs:
        return made
    subscription: pulumi.Input[str] = subscription_id if subscription_id is not None else deployment_subscription(owner)
    for index, spec in enumerate(specs):
        guid = role_guid(type(owner).__name__, spec.role)
        made.append(authorization.RoleAssignment(
            f"{name}-role-{index}",
            scope=scope,
            role_definition_id=pulumi.Output.concat("/subscriptions/", subscription,
                                                    "/providers/Microsoft.Authorization/roleDefinitions/", guid),
            principal_id=spec.principal_id,
            principal_type=spec.principal_type,
            condition=spec.condition,
            condition_version="2.0" if spec.condition else None,
            opts=pulumi.ResourceOptions(parent=owner)))
    return made


def create_lock(owner: pulumi.Resource, name: str, level: Optional[str],
                scope: pulumi.Input[str]) -> Optional[authorization.ManagementLockByScope]:
    """A management lock on `scope` at `level`, a child of `owner`; none for no level."""
    if level is None:
        return None
    return authorization.ManagementLockByScope(
        f"{name}-lock", scope=scope, level=level,
        notes="Set by isolated_mlops: remove the lock deliberately before deleting this resource.",
        opts=pulumi.ResourceOptions(parent=owner))


def common_fields(args: CommonArgs) -> dict:
    """The CommonArgs part of an Args instance, to pass on to a nested component's Args."""
    return {name: getattr(args, name) for name in COMMON_FIELDS}
