"""A private endpoint and the DNS zone group that makes its name resolve to it.

An endpoint without its zone group is the most common half-done private link: the service is
reachable by IP but its name still resolves publicly, and the client is refused ("Azure Private
Endpoint DNS integration": https://learn.microsoft.com/azure/private-link/private-endpoint-dns-integration).
So this component never creates one without the other, and refuses an endpoint with no zone.
"""

from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
from pulumi_azure_native import network

from isolated_mlops.components.standalone import as_args, type_token
from isolated_mlops.components.common_args import CommonArgs, check_common, create_lock, create_role_assignments

__all__ = ["PrivateEndpoint", "PrivateEndpointArgs"]


@dataclass
class PrivateEndpointArgs(CommonArgs):
    """One private endpoint to one private-link sub-resource, with its DNS zone group.

    Of the common arguments, `tags`, `protect`, `lock` and `role_assignments` apply to the endpoint.
    """

    resource_group_name: pulumi.Input[str]
    """The resource group the endpoint is created in."""
    location: pulumi.Input[str]
    """The endpoint's region: its subnet's."""
    subnet_id: pulumi.Input[str]
    """The subnet for the endpoint's network interface."""
    target_resource_id: pulumi.Input[str]
    """The resource the endpoint connects to (workspace, vault, storage account, registry, private link scope)."""
    group_id: str
    """The private-link sub-resource, e.g. `blob`, `vault`, `amlworkspace`."""
    endpoint_name: pulumi.Input[str]
    """The endpoint's Azure name."""
    zone_ids: Mapping[str, pulumi.Input[str]]
    """Zone name -> private DNS zone id: every zone the group id's names resolve in (components/zones.py lists them)."""


class PrivateEndpoint(pulumi.ComponentResource):
    """`mlops:components:PrivateEndpoint`: one endpoint, one group id, its zone group with every zone."""

    endpoint_id: pulumi.Output[str]
    """The private endpoint's ARM id."""
    zone_group_id: pulumi.Output[str]
    """The DNS zone group's ARM id."""

    def __init__(self, name: str, args: PrivateEndpointArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args = as_args(PrivateEndpointArgs, args)  # a mapping when the component package serves it
        super().__init__(type_token("mlops:components:PrivateEndpoint"), name, None, opts)
        check_common(type(self).__name__, args, supports=frozenset({"lock", "role_assignments"}))
        if not args.zone_ids:
            raise ValueError(f"PrivateEndpoint {name}: no private DNS zone for group id {args.group_id!r}; "
                             "pass its zones in zone_ids (components/zones.py lists them per cloud)")
        child = pulumi.ResourceOptions(parent=self)
        self.endpoint: network.PrivateEndpoint = network.PrivateEndpoint(
            f"{name}-pe",
            private_endpoint_name=args.endpoint_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            subnet=network.SubnetArgs(id=args.subnet_id),
            private_link_service_connections=[network.PrivateLinkServiceConnectionArgs(
                name=args.group_id,
                private_link_service_id=args.target_resource_id,
                group_ids=[args.group_id],
            )],
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.zone_group: network.PrivateDnsZoneGroup = network.PrivateDnsZoneGroup(
            f"{name}-dns",
            private_dns_zone_group_name="default",
            private_endpoint_name=self.endpoint.name,
            resource_group_name=args.resource_group_name,
            private_dns_zone_configs=[
                network.PrivateDnsZoneConfigArgs(name=zone_name.replace(".", "-"), private_dns_zone_id=zone_id)
                for zone_name, zone_id in sorted(args.zone_ids.items())
            ],
            opts=child,
        )
        self.role_assignments = create_role_assignments(self, name, args.role_assignments, self.endpoint.id)
        self.lock = create_lock(self, name, args.lock, self.endpoint.id)
        self.endpoint_id = self.endpoint.id
        self.zone_group_id = self.zone_group.id
        self.register_outputs({"endpoint_id": self.endpoint_id, "zone_group_id": self.zone_group_id})
