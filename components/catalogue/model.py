"""The shape of one catalogue record: what the platform knows about a resource type, in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping, Optional


@dataclass(frozen=True)
class CreateTime:
    """How long Azure typically takes to create one resource of a type, and where that figure comes from."""

    seconds: int
    basis: str
    """`documented`: Microsoft's own figure; `local`: no cloud call; `estimate`: our order-of-magnitude
    reading of how the resource provider works (a synchronous PUT returns in seconds, a long-running
    operation is polled for a minute or more); `measured`: the per-resource time of a real `pulumi up`.
    Replace an estimate with a measured figure when you have one, and say so in `source`."""
    source: str


# The two ways an ARM PUT completes (Azure Resource Manager, "Track asynchronous operations":
# https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations).
SYNC = "synchronous ARM PUT: returns when the resource exists"
ASYNC = "long-running ARM operation, polled until it succeeds"


@dataclass(frozen=True)
class Setting:
    """One input a reviewer checks on a resource: `path` is dotted, `[]` stands for every item of a list."""

    path: str
    label: str = ""
    """Shown instead of the path's last key where that key alone would be ambiguous."""
    arm_name: bool = False
    """The value is an ARM id: show the name at its end (`.../subnets/snet-pe` -> `snet-pe`)."""
    azure_default: str = ""
    """What Azure does when the program leaves the input out: an unset public-access switch is as
    much a reviewer's business as a set one. Cite where Azure documents it beside the entry."""


def settings(*paths: str) -> tuple[Setting, ...]:
    """Plain settings, shown under their last key."""
    return tuple(Setting(p) for p in paths)


@dataclass(frozen=True)
class ResourceType:
    """One resource type the stacks create, and the Azure facts the tools and rules rely on."""

    token: str
    """The Pulumi type token, e.g. `azure-native:network:VirtualNetwork`."""
    arm_type: str
    """The ARM resource type as it appears in the resource's id. A child type names its parent's
    name input in braces (`Microsoft.Network/virtualNetworks/{virtualNetworkName}/virtualNetworkPeerings`):
    the offline mocks build ids from it, and a change to that input replaces the resource."""
    name_input: Optional[str]
    """The wire (camelCase) input that carries the Azure name; None where the provider autonames."""
    create: Optional[CreateTime] = None
    """Typical create time (the deployment's critical path); None: not known (counted as a default)."""
    replace_on: tuple[str, ...] = ()
    """Inputs beyond the ARM id (name, parent names, resource group, location) whose change Azure
    refuses as an update, so the resource is replaced. Cite the reason beside the entry."""
    stateful: bool = False
    """Holds data that a delete or replacement loses: protected in production, its URN must not change."""
    key_settings: tuple[Setting, ...] = ()
    """What a reviewer checks on it (the offline preview prints these under the resource): public
    exposure first, then size/SKU, then where it sits in the network."""
    outside_azure: bool = False
    """Not an Azure resource (pulumi-random): no ARM id, no Azure facts beyond the token."""
    by_stacks: bool = True
    """The platform's stacks (or bootstrap/) create it. False: catalogued only so that the rules can
    judge it where another program creates it (a standalone subnet, an NSG rule resource)."""
    sources: tuple[str, ...] = field(default=())
    """Where the facts of this record that are not obvious from the token are documented."""

    @property
    def parent_inputs(self) -> tuple[str, ...]:
        """The inputs that name the resource's parents, from `arm_type`'s braces."""
        return tuple(re.findall(r"{(\w+)}", self.arm_type))

    @property
    def azure_defaults(self) -> Mapping[str, str]:
        """Input path -> what Azure does when the input is unset (from the key settings)."""
        return {s.path: s.azure_default for s in self.key_settings if s.azure_default}

    def default_of(self, path: str) -> str:
        """Azure's value for an unset input `path` of this type; KeyError when the catalogue has none."""
        return self.azure_defaults[path]

    def replace_keys(self) -> frozenset[str]:
        """Top-level inputs whose change replaces a resource of this type: the parts of its ARM id
        (name, parents' names, resource group), `location` (Azure cannot move a resource by PUT),
        and `replace_on`."""
        keys = {"location", "resourceGroupName", *self.parent_inputs, *self.replace_on}
        if self.name_input:
            keys.add(self.name_input)
        return frozenset(keys)
