"""The interface every resource component shares for the concerns that cut across resources.

Azure Verified Modules give every resource module the same parameters for tags, locks, role
assignments, diagnostic settings, private endpoints and managed identities, so that a user who
learned one module knows them all (AVM specification RMFR4, "consistent feature and extension
resources": https://azure.github.io/Azure-Verified-Modules/spec/RMFR4/).
This library does the same: a component's Args inherits `CommonArgs`, and the component hands its
main resource to `apply_common`, which creates the lock, the role assignments, the diagnostic setting
and the private endpoints in one way for all of them. Identity differs by SDK module (each service has
its own identity type), so `ManagedIdentity` is read by the component itself through `identity_type`.

The types are defined in `components.common_args` (so that the private endpoint component can take
them too without an import circle) and re-exported here: import them from this module.
"""

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
from pulumi_azure_native import authorization, monitor

from isolated_mlops.components.common_args import (COMMON_FIELDS, LOCK_LEVELS, PRINCIPAL_TYPES, CommonArgs,
                                                   DiagnosticsOptions, ManagedIdentity, PrivateEndpointOptions,
                                                   RoleAssignmentSpec, check_common, common_fields, create_lock,
                                                   create_role_assignments, identity_type, role_guid)
from isolated_mlops.components.diagnostics import diagnostic_setting
from isolated_mlops.components.private_endpoint import PrivateEndpoint, PrivateEndpointArgs

__all__ = [
    "COMMON_FIELDS", "LOCK_LEVELS", "PRINCIPAL_TYPES", "CommonArgs", "CommonChildren", "DiagnosticsOptions",
    "EndpointGroup", "ManagedIdentity", "PrivateEndpointOptions", "RoleAssignmentSpec", "apply_common",
    "check_common", "common_fields", "identity_type", "role_guid",
]


@dataclass(frozen=True)
class EndpointGroup:
    """One private endpoint a component offers: which sub-resource, and its names (component-internal)."""

    group_id: str
    """The private-link sub-resource (`vault`, `blob`, `amlworkspace`, ...)."""
    logical_name: str
    """The PrivateEndpoint component's Pulumi name: kept stable, or the endpoint is replaced."""
    endpoint_name: pulumi.Input[str]
    """The endpoint's Azure name."""
    target_resource_id: Optional[pulumi.Input[str]] = None
    """The resource the endpoint connects to when it is not the main resource (a registry's managed storage)."""


@dataclass
class CommonChildren:
    """What `apply_common` created, for the component's attributes and outputs."""

    private_endpoints: dict[str, PrivateEndpoint] = field(default_factory=dict)
    """By group id (or by logical name where two endpoints share a group id)."""
    role_assignments: list[authorization.RoleAssignment] = field(default_factory=list)
    lock: Optional[authorization.ManagementLockByScope] = None
    diagnostic_setting: Optional[monitor.DiagnosticSetting] = None

    def endpoint_ids(self) -> pulumi.Output[dict[str, str]]:
        """Endpoint ARM ids by key: an output every component exposes as `private_endpoint_ids`."""
        keys = list(self.private_endpoints)
        return pulumi.Output.all(*[e.endpoint_id for e in self.private_endpoints.values()]).apply(
            lambda ids: dict(zip(keys, ids)))


def apply_common(
    owner: pulumi.ComponentResource,
    name: str,
    args: CommonArgs,
    *,
    resource_id: pulumi.Input[str],
    resource_group_name: Optional[pulumi.Input[str]] = None,
    location: Optional[pulumi.Input[str]] = None,
    endpoint_groups: Sequence[EndpointGroup] = (),
    diagnostics_resource_id: Optional[pulumi.Input[str]] = None,
    supports: Optional[frozenset[str]] = None,
    subscription_id: Optional[pulumi.Input[str]] = None,
) -> CommonChildren:
    """Create the lock, role assignments, diagnostic setting and private endpoints of a component's
    main resource (`resource_id`), all children of `owner`, named after `name`.

    endpoint_groups: the private endpoints the resource offers, created only when
    `args.private_endpoint` is set; each needs that option's zones for its group id.
    resource_group_name, location: the component's own, for endpoints whose options name none.
    diagnostics_resource_id: where the diagnostic setting goes when it is not the resource itself
    (storage logs are per service: `<account id>/blobServices/default`).
    supports: the CommonArgs fields the component honours (all by default); others are refused.
    subscription_id: where role definition ids live; the deployment's subscription when not given.
    """
    owner_name = type(owner).__name__
    check_common(owner_name, args, supports if supports is not None else frozenset(COMMON_FIELDS))
    made = CommonChildren()
    options = args.private_endpoint
    if options is not None:
        if not endpoint_groups:
            raise ValueError(f"{owner_name}: private_endpoint is not supported here: the resource has no private-link group id")
        missing = sorted({g.group_id for g in endpoint_groups} - set(options.zone_ids_by_group))
        if missing:
            raise ValueError(f"{owner_name} {name}: private_endpoint.zone_ids_by_group has no zones for group id(s) "
                             f"{', '.join(missing)}; add them (components/zones.py lists each group's zone names)")
        endpoint_group = options.resource_group_name or resource_group_name
        endpoint_location = options.location or location
        if endpoint_group is None or endpoint_location is None:
            raise ValueError(f"{owner_name} {name}: private_endpoint needs resource_group_name and location")
        for group in endpoint_groups:
            key = group.group_id if group.group_id not in made.private_endpoints else group.logical_name
            made.private_endpoints[key] = PrivateEndpoint(group.logical_name, PrivateEndpointArgs(
                resource_group_name=endpoint_group,
                location=endpoint_location,
                subnet_id=options.subnet_id,
                target_resource_id=group.target_resource_id if group.target_resource_id is not None else resource_id,
                group_id=group.group_id,
                endpoint_name=group.endpoint_name,
                zone_ids=options.zone_ids_by_group[group.group_id],
                tags=args.tags,
            ), opts=pulumi.ResourceOptions(parent=owner))
    made.role_assignments = create_role_assignments(owner, name, args.role_assignments, resource_id, subscription_id)
    if args.diagnostics is not None:
        made.diagnostic_setting = diagnostic_setting(
            f"{name}-diagnostics", diagnostics_resource_id if diagnostics_resource_id is not None else resource_id,
            args.diagnostics.log_analytics_workspace_id, args.diagnostics.categories,
            pulumi.ResourceOptions(parent=owner))
    made.lock = create_lock(owner, name, args.lock, resource_id)
    return made
