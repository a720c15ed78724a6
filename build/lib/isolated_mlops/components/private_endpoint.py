"""A private endpoint and the DNS zone group that makes its name resolve to it.

An endpoint without its zone group is the most common half-done private link: the service is
reachable by IP but its name still resolves publicly, and the client is refused. So this component
never creates one without the other, and takes the zones from the one table in `components.zones`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import pulumi
from pulumi_azure_native import network


@dataclass
class PrivateEndpointPlacement:
    """Where a component puts its private endpoints: shared by every private-linked resource."""

    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    """The AML VNet's private-endpoint subnet."""
    zone_ids_by_group: Mapping[str, Mapping[str, pulumi.Input[str]]]
    """group id -> {zone name -> private DNS zone id}, from `network.PrivateDnsZones`."""
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass
class PrivateEndpointArgs:
    placement: PrivateEndpointPlacement
    target_resource_id: pulumi.Input[str]
    """The resource the endpoint connects to (workspace, vault, storage account, registry)."""
    group_id: str
    """The private-link sub-resource, e.g. `blob`, `vault`, `amlworkspace`."""
    endpoint_name: pulumi.Input[str]


class PrivateEndpoint(pulumi.ComponentResource):
    """`mlops:components:PrivateEndpoint`: one endpoint, one group id, its zone group with every zone."""

    endpoint: network.PrivateEndpoint
    zone_group: network.PrivateDnsZoneGroup

    def __init__(self, name: str, args: PrivateEndpointArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlops:components:PrivateEndpoint", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        placement = args.placement
        zones = placement.zone_ids_by_group.get(args.group_id)
        if not zones:
            raise ValueError(f"no private DNS zone is planned for group id {args.group_id!r}")

        self.endpoint = network.PrivateEndpoint(
            f"{name}-pe",
            private_endpoint_name=args.endpoint_name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            subnet=network.SubnetArgs(id=placement.subnet_id),
            private_link_service_connections=[network.PrivateLinkServiceConnectionArgs(
                name=args.group_id,
                private_link_service_id=args.target_resource_id,
                group_ids=[args.group_id],
            )],
            tags=dict(placement.tags),
            opts=child,
        )
        self.zone_group = network.PrivateDnsZoneGroup(
            f"{name}-dns",
            private_dns_zone_group_name="default",
            private_endpoint_name=self.endpoint.name,
            resource_group_name=placement.resource_group_name,
            private_dns_zone_configs=[
                network.PrivateDnsZoneConfigArgs(name=zone_name.replace(".", "-"), private_dns_zone_id=zone_id)
                for zone_name, zone_id in sorted(zones.items())
            ],
            opts=child,
        )
        self.register_outputs({"endpoint_id": self.endpoint.id, "zone_group_id": self.zone_group.id})
