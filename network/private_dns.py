"""One set of private DNS zones per stack, each linked to every VNet whose clients resolve it.

A zone linked only to the AML VNet leaves the jump host and the CI agents (in the peered Bastion
VNet) resolving the services' public addresses, where they are refused: every zone is linked to
every VNet given here. Links never auto-register VM records into these zones.

In a landing zone the privatelink zones already exist, owned centrally (in the connectivity
subscription) and linked to the hub there: Cloud Adoption Framework, "Private Link and DNS integration
at scale" (https://learn.microsoft.com/azure/cloud-adoption-framework/ready/azure-best-practices/private-link-and-dns-integration-at-scale).
`existing_zone_ids` names them: this component then creates neither those zones nor links to them, and
hands their ids to the private endpoints like its own. With every zone existing it creates nothing.
"""

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
from pulumi_azure_native import privatedns

from isolated_mlops.components.interface import CommonArgs, apply_common
from isolated_mlops.components.standalone import as_args, refuse_unsupported, subscription_of, type_token
from isolated_mlops.components.zones import CLOUDS, zones_for

# Private DNS zones and their links are global resources.
GLOBAL_LOCATION = "global"


@dataclass(kw_only=True)
class PrivateDnsZonesArgs(CommonArgs):
    """The privatelink zones for a set of private-endpoint group ids, each linked to every given VNet."""

    resource_group_name: pulumi.Input[str]
    """The resource group of the zones this component creates and of their links."""
    cloud: str
    """AzureCloud, AzureUSGovernment or AzureChinaCloud: the zone names differ per cloud."""
    group_ids: Sequence[str]
    """Every private-endpoint group id the stack uses (`amlworkspace`, `vault`, `blob`...); the zones follow from the zone table."""
    vnet_ids: Mapping[str, pulumi.Input[str]]
    """label -> VNet id, for every VNet whose clients resolve these names."""
    fallback_to_internet: bool = False
    """Links resolve a name a privatelink zone lacks publicly (NxDomainRedirect) instead of failing."""
    existing_zone_ids: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """zone name -> id of a zone that already exists (a landing zone's): neither created nor linked here."""


class PrivateDnsZones(pulumi.ComponentResource):
    """`mlops:network:PrivateDnsZones`: the zones for the given group ids, linked to every VNet, or a
    landing zone's existing ones. Common arguments: tags and protect on the zones and links; lock, role
    assignments and diagnostics on each zone this component creates."""

    zone_ids: dict[str, pulumi.Output[str]]
    """zone name -> zone id, for every zone the group ids need (created here or existing)."""
    zone_ids_by_group: dict[str, dict[str, pulumi.Output[str]]]
    """group id -> {zone name -> zone id}: what a private endpoint of that group registers in."""

    def __init__(self, name: str, args: PrivateDnsZonesArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(type_token("mlops:network:PrivateDnsZones"), name, None, opts)
        args = as_args(PrivateDnsZonesArgs, args)
        refuse_unsupported("PrivateDnsZones", args, {
            "private_endpoint": "a private DNS zone is not reached through a private endpoint",
            "identity": "a private DNS zone has no managed identity"})
        if args.cloud not in CLOUDS:
            raise ValueError(f"PrivateDnsZones: cloud={args.cloud!r}; use one of {', '.join(CLOUDS)}")
        unknown_groups = sorted(set(args.group_ids) - set(CLOUDS[args.cloud].zones_by_group_id))
        if unknown_groups:
            raise ValueError(f"PrivateDnsZones: group_ids {', '.join(unknown_groups)} have no zone in components/zones.py; "
                             f"use some of {', '.join(sorted(CLOUDS[args.cloud].zones_by_group_id))}")
        child = pulumi.ResourceOptions(parent=self, protect=args.protect or None)
        needed = sorted({zone for group in args.group_ids for zone in zones_for(args.cloud, group)})
        unknown = sorted(set(args.existing_zone_ids) - set(needed))
        if unknown:
            raise ValueError(f"PrivateDnsZones: existing_zone_ids names {', '.join(unknown)}, which no group id in "
                             f"group_ids needs; the zones needed are {', '.join(needed)}")
        zone_names = [zone for zone in needed if zone not in args.existing_zone_ids]
        # NxDomainRedirect: when a privatelink zone has no record for a name (a resource of another
        # tenant or subscription, reached through its own private endpoint or publicly), Azure's
        # resolver retries the public name instead of answering NXDOMAIN. Set per link, API
        # 2024-06-01 or later; only privatelink zones and A/AAAA/CNAME queries. Off by default: a name
        # that should be private then fails loudly instead of resolving to a public address.
        # Microsoft Learn, "Fallback to internet for Azure Private DNS zones":
        # https://learn.microsoft.com/azure/dns/private-dns-fallback
        resolution_policy = (privatedns.ResolutionPolicy.NX_DOMAIN_REDIRECT if args.fallback_to_internet
                             else privatedns.ResolutionPolicy.DEFAULT)

        self.zones: dict[str, privatedns.PrivateZone] = {
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
        self.links: list[privatedns.VirtualNetworkLink] = [
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
        self.common = {zone: apply_common(self, f"{name}-{zone}", args, resource_id=z.id,
                                          subscription_id=subscription_of(z.id))
                       for zone, z in self.zones.items()}
        self.zone_ids = {zone: (self.zones[zone].id if zone in self.zones
                                else pulumi.Output.from_input(args.existing_zone_ids[zone])) for zone in needed}
        self.zone_ids_by_group = {
            group: {zone: self.zone_ids[zone] for zone in zones_for(args.cloud, group)}
            for group in args.group_ids
        }
        self.register_outputs({"zone_ids": self.zone_ids, "zone_ids_by_group": self.zone_ids_by_group})
