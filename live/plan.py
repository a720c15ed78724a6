"""What a stack asks of its subscription, read from the program's own registrations.

The offline engine runs the real `__main__.py` (as `python -m offline preview` does); this module
reads from what it registered the facts only the subscription can judge: the region, the resource
providers behind every resource type, the VM sizes and how many of each, the address spaces, the
globally unique names, and whether the stack assigns roles. Nothing here re-states what the program
builds: a new VM or cluster in the program is checked without a change here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from isolated_mlops.components import plan as planning
from isolated_mlops.components.catalogue import COMPUTE as AML_COMPUTE
from isolated_mlops.components.catalogue import RESOURCE_GROUP, ROLE_ASSIGNMENT
from isolated_mlops.components.catalogue import VM as VIRTUAL_MACHINE
from isolated_mlops.components.catalogue import VNET as VIRTUAL_NETWORK
from isolated_mlops.components.config import PlatformConfig
from isolated_mlops.components.providers import namespace_of
from offline.engine import StackRun


# Which stack-file key sets each VNet's address space, by the VNet's role in its name.
ADDRESS_SPACE_KEYS = {"aml": "network.amlVnet.addressSpace", "bastion": "network.bastionVnet.addressSpace"}


@dataclass(frozen=True)
class SizeUse:
    """One VM or cluster and the size it asks for."""

    owner: str
    """The Azure name of the VM or cluster."""
    size: str
    instances: int
    """1 for a VM; maxNodes for a cluster (the most it will ask for)."""
    cluster: bool
    low_priority: bool = False


@dataclass
class Plan:
    stack: str
    location: str
    cloud: str
    prefix: str
    environment: str
    names: planning.Names
    """The stack's planned names (components/plan.py), the random suffix left open."""
    providers: set[str] = field(default_factory=set)
    encryption_at_host: bool = False
    sizes: list[SizeUse] = field(default_factory=list)
    address_spaces: list[tuple[str, str, str]] = field(default_factory=list)
    """(VNet name, prefix, the stack-file key that sets it)."""
    assigns_roles: bool = False
    unmapped_types: list[str] = field(default_factory=list)
    """Types components/providers.py cannot place (tests/test_delivery_providers.py keeps this empty)."""

    def suffixed_name(self, kind: str, suffix: str) -> str:
        """The planned name of `kind` (a `Names` field: storage_account, key_vault...) with `suffix`."""
        name = getattr(self.names, kind)
        if name is None:
            raise KeyError(f"the stack plans no {kind}")
        return str(name.with_suffix(suffix))


def plan_from(run: StackRun, config: PlatformConfig) -> Plan:
    planned = planning.build(config)
    plan = Plan(stack=run.stack, location=config.location, cloud=config.cloud,
                prefix=config.name_prefix, environment=config.environment, names=planned.names)
    vnet_roles = {v.name.value: v.role for v in planned.vnets}
    for r in run.custom_resources():
        try:
            namespace = namespace_of(r.type)
        except KeyError:
            plan.unmapped_types.append(r.type)
            namespace = None
        if namespace:
            plan.providers.add(namespace)
        if r.type == VIRTUAL_MACHINE:
            plan.sizes.append(SizeUse(r.input("vmName", r.name), r.input("hardwareProfile.vmSize"), 1, cluster=False))
            if r.input("securityProfile.encryptionAtHost") is True:
                plan.encryption_at_host = True
        elif r.type == AML_COMPUTE and r.input("properties.computeType") == "AmlCompute":
            props = r.input("properties.properties", {})
            plan.sizes.append(SizeUse(
                r.input("computeName", r.name), props.get("vmSize"),
                int(props.get("scaleSettings", {}).get("maxNodeCount", 0)), cluster=True,
                low_priority=props.get("vmPriority") == "LowPriority"))
        elif r.type == VIRTUAL_NETWORK:
            name = str(r.input("virtualNetworkName", r.name))
            key = ADDRESS_SPACE_KEYS.get(vnet_roles.get(name, ""), "network")
            for prefix in r.input("addressSpace.addressPrefixes", []):
                plan.address_spaces.append((name, prefix, key))
        elif r.type == ROLE_ASSIGNMENT:
            plan.assigns_roles = True
    return plan
