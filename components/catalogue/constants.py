"""Azure facts shared across resource types, each defined once: the program, the rules, the offline
tools and the live checks all read them from here."""

from __future__ import annotations

from typing import Any, Iterable

# Bastion lives in a subnet of exactly this name, /26 or larger ("The subnet must be named
# AzureBastionSubnet", "subnet size must be /26 or larger"):
# https://learn.microsoft.com/azure/bastion/configuration-settings#subnet
BASTION_SUBNET_NAME = "AzureBastionSubnet"
BASTION_SUBNET_MAX_PREFIX = 26
"""The longest prefix AzureBastionSubnet may have (a /27 is refused)."""

# Subnets Azure reserves for its own services. They get no NSG of ours: Bastion's would need Bastion's
# own rule set (https://learn.microsoft.com/azure/bastion/bastion-nsg), and the gateway, firewall and
# route-server subnets reject or ignore one
# (https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview).
AZURE_MANAGED_SUBNETS = frozenset({BASTION_SUBNET_NAME, "GatewaySubnet", "AzureFirewallSubnet",
                                   "AzureFirewallManagementSubnet", "RouteServerSubnet"})

# What an NSG rule's source prefix means "the internet" by: the `Internet` service tag, `*`/`Any`
# (every address), and the whole IPv4 or IPv6 space. NSG prefixes and tags are case-insensitive,
# so compare lower-cased (`is_internet_source`).
# https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview#security-rules
# https://learn.microsoft.com/azure/virtual-network/service-tags-overview#available-service-tags
INTERNET_SOURCES = frozenset({"*", "internet", "any", "0.0.0.0/0", "::/0"})


def is_internet_source(prefix: Any) -> bool:
    """Does one NSG source prefix (any case) admit the internet?"""
    return isinstance(prefix, str) and prefix.strip().lower() in INTERNET_SOURCES


def any_internet_source(prefixes: Iterable[Any]) -> bool:
    return any(is_internet_source(p) for p in prefixes)


# Azure Monitor resources (Log Analytics, Application Insights) accept ingestion and queries from
# public networks unless told otherwise: each "public network access" switch defaults to Enabled, so
# an unset switch is an open one. (Learn, "Configure access to your resources": the switches are
# turned *off* to require private links.)
MONITOR_PUBLIC_ACCESS_SOURCE = ("https://learn.microsoft.com/azure/azure-monitor/logs/private-link-configure"
                                "#configure-access-to-ampls-resources")
MONITOR_PUBLIC_ACCESS_DEFAULT = "Enabled"
MONITOR_PUBLIC_ACCESS_INPUTS = ("publicNetworkAccessForIngestion", "publicNetworkAccessForQuery")
