"""One set of private DNS zones per stack, each linked to every VNet whose clients resolve it.

A zone linked only to the AML VNet leaves the jump host and the CI agents (in the peered Bastion
VNet) resolving the services' public addresses, where they are refused: every zone is linked to
every VNet given here. Links never auto-register VM records into these zones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
from pulumi_azure_native import privatedns

from isolated_mlops.components.zones import zones_for

# Private DNS zones and their links are global resources.
GLOBAL_LOCATION = "global"


@dataclass
class PrivateDnsZonesArgs:
    resource_group_name: pulumi.Input[str]
    cloud: str
    group_ids: Sequence[str]
    """Every private-endpoint group id the stack uses; the zones follow from the zone table."""
    vnet_ids: Mapping[str, pulumi.Input[str]]
    """label -> VNet id, for every VNet whose clients resolve these names."""
    fallback_to_internet: bool = False
    """Links resolve a name a privatelink zone lacks publicly (NxDomainRedirect) instead of failing."""
    tags: Mapping[str, str] = field(default_factory=dict)


class PrivateDnsZones(pulumi.ComponentResource):
    """`mlops:network:PrivateDnsZones`: the zones for the given group ids, linked to every VNet."""

    zones: dict[str, privatedns.PrivateZone]
    links: list[privatedns.VirtualNetworkLink]
    zone_ids_by_group: dict[str, dict[str, pulumi.Output[str]]]

    def __init__(self, name: str, args: PrivateDnsZonesArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlops:network:PrivateDnsZones", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        zone_names = sorted({zone for group in args.group_ids for zone in zones_for(args.cloud, group)})
        # NxDomainRedirect: when a privatelink zone has no record for a name (a resource of another
        # tenant or subscription, reached through its own private endpoint or publicly), Azure's
        # resolver retries the public name instead of answering NXDOMAIN. Set per link, API
        # 2024-06-01 or later; only privatelink zones and A/AAAA/CNAME queries. Off by default: a name
        # that should be private then fails loudly instead of resolving to a public address.
        # Microsoft Learn, "Fallback to internet for Azure Private DNS zones":
        # https://learn.microsoft.com/azure/dns/private-dns-fallback
        resolution_policy = (privatedns.ResolutionPolicy.NX_DOMAIN_REDIRECT if args.fallback_to_internet
                             else privatedns.ResolutionPolicy.DEFAULT)

        self.zones = {
            zone: privatedns.PrivateZone(
                f"{name}-{zone}",
                private_zone_name=zone,
                resource_group_name=args.resource_group_name,
                location=GLOBAL_LOCATION,
                tags=dict(args.tags),
                opts=child,
            )
            for zone in zone_names
        }
        self.links = [
            privatedns.VirtualNetworkLink(
                f"{name}-{zone}-{vnet_key}",
                virtual_network_link_name=f"link-{vnet_key}",
                private_zone_name=self.zones[zone].name,
                resource_group_name=args.resource_group_name,
                location=GLOBAL_LOCATION,
                virtual_network=privatedns.SubResourceArgs(id=vnet_id),
                registration_enabled=False,
                resolution_policy=resolution_policy,
                tags=dict(args.tags),
                opts=child,
            )
            for zone in zone_names
            for vnet_key, vnet_id in sorted(args.vnet_ids.items())
        ]
        self.zone_ids_by_group = {
            group: {zone: self.zones[zone].id for zone in zones_for(args.cloud, group)}
            for group in args.group_ids
        }
        self.register_outputs({"zone_ids": {zone: z.id for zone, z in self.zones.items()}})
