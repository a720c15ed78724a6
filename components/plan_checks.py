"""The configuration check's judgement of the plan: every name it will create passes Azure's naming
rules, and every subnet holds what the plan puts in it. Runs in the same pass as the key-by-key
checks (components/config.py), so all problems are reported in one run.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Collection, Mapping, Optional

from isolated_mlops.components import naming
from isolated_mlops.components.config_reader import Problems, Reader
from isolated_mlops.components.config_schema import AZURE_RESERVED_ADDRESSES, SECRET_SHOWN_AS, SMALLEST_SUBNET_PREFIX
from isolated_mlops.components.plan import (AGENT, CLUSTER_NODES, JUMP_HOST, PRIVATE_ENDPOINT, SERVING, Occupant, Plan,
                                            PlannedName, PlannedSubnet)


def _usable(subnet: ipaddress.IPv4Network) -> int:
    return subnet.num_addresses - AZURE_RESERVED_ADDRESSES


def _prefix_for(addresses: int) -> int:
    """The smallest subnet (longest prefix, /29 at most) with `addresses` usable addresses."""
    prefix = SMALLEST_SUBNET_PREFIX
    while prefix > 0 and 2 ** (32 - prefix) - AZURE_RESERVED_ADDRESSES < addresses:
        prefix -= 1
    return prefix


def _describe(kind: str, occupants: list[Occupant]) -> tuple[str, str, str]:
    """What the occupants of one kind are, with figures; the same without (for secret values); and
    the other fix than a larger subnet, `{usable}` standing for the subnet's usable addresses."""
    total = sum(o.addresses for o in occupants)
    if kind == JUMP_HOST:
        return "the jump host (one network interface)", "the jump host", ""
    if kind == AGENT:
        return (f"{len(occupants)} agents (agents.count, one network interface each)", "agents.count",
                ", or set agents.count to at most {usable}")
    if kind == CLUSTER_NODES:
        return (f"{total} compute nodes (maxNodes of computeClusters: "
                f"{', '.join(f'{o.name} {o.addresses}' for o in occupants)}; one address per node)",
                "the computeClusters' maxNodes", ", or lower maxNodes to {usable} in all")
    if kind == PRIVATE_ENDPOINT:
        return (f"{len(occupants)} private endpoints taking {total} addresses "
                f"({', '.join(f'{o.name} {o.addresses}' for o in occupants)})", "the private endpoints", "")
    if kind == SERVING:
        return (f"the serving cluster ({total} addresses: serving.maxNodes nodes and one more for upgrades, "
                "serving.maxPodsPerNode pods each, since Azure CNI gives every pod a subnet address, plus the "
                "internal load balancer and the API server's endpoint)", "the serving cluster's maxNodes and "
                "maxPodsPerNode", ", or lower serving.maxNodes or serving.maxPodsPerNode")
    return f"{total} addresses for {kind}", kind, ""


def _demand(subnet: PlannedSubnet) -> tuple[str, str, str]:
    kinds: dict[str, list[Occupant]] = {}
    for occupant in subnet.occupants:
        kinds.setdefault(occupant.kind, []).append(occupant)
    parts = [_describe(kind, occupants) for kind, occupants in kinds.items()]
    return (" and ".join(p[0] for p in parts), " and ".join(p[1] for p in parts),
            parts[0][2] if len(parts) == 1 else "")


def check_capacity(plan: Plan, problems: Problems, root: Reader,
                   prefixes: Mapping[str, Optional[ipaddress.IPv4Network]]) -> None:
    """What the plan puts in each subnet must fit in it, or `pulumi up` fails halfway through (or,
    for compute, a cluster silently never reaches maxNodes). Only subnets and counts that are valid
    themselves are checked: a malformed or too-small subnet, a rejected count, is reported once.
    `prefixes`: every subnet by its config key, None where it is missing or malformed."""
    for subnet in plan.subnets:
        network = prefixes.get(subnet.config_key)
        sources = subnet.demand_sources
        # A source is wrong when it has a problem itself (`computeClusters` not a list), not when a
        # key under it does: only the keys listed decide the demand.
        if not subnet.occupants or network is None or problems.at(subnet.config_key) \
                or any(problems.has(key) for key in sources):
            continue
        usable = _usable(network)
        if subnet.addresses <= usable:
            continue
        what, what_secret, instead = _demand(subnet)
        if any(root.is_secret(key) for key in ("network", *(re.split(r"[.\[]", key)[0] for key in sources))):
            shown = SECRET_SHOWN_AS if root.is_secret("network") else str(network)
            problems.add(subnet.config_key, f"{shown} is too small for {what_secret} (Azure keeps "
                         f"{AZURE_RESERVED_ADDRESSES} addresses of every subnet; figures not shown: they are secret)")
            continue
        problems.add(subnet.config_key, f"{network} is too small for {what}: {usable} usable addresses "
                     f"(Azure keeps {AZURE_RESERVED_ADDRESSES} of its {network.num_addresses}); make it "
                     f"/{_prefix_for(subnet.addresses)} or larger{instead.format(usable=usable)}")


def check_names(plan: Plan, skip: Collection[str] = (), hidden: Collection[str] = ()) -> list[tuple[str, str]]:
    """Every (key path, problem) for planned names Azure would refuse, before anything is created; one
    per key and kind of name (for the agents' VMs, the longest name's).

    skip: config keys already reported invalid; names built from them are not judged again.
    hidden: secret top-level config keys; a name built from one is not shown.
    """
    found: dict[tuple[str, str], tuple[int, str]] = {}
    for name in plan.all_names():
        if set(name.sources) & set(skip) or name.kind not in naming.AZURE_NAME_RULES:
            continue
        problem = _name_problem(plan, name, hidden)
        key = (name.path, name.kind)
        if problem and len(name.longest) > found.get(key, (-1, ""))[0]:
            found[key] = (len(name.longest), problem)
    return [(path, problem) for (path, _), (_, problem) in found.items()]


def _name_problem(plan: Plan, name: PlannedName, hidden: Collection[str]) -> Optional[str]:
    rule = naming.AZURE_NAME_RULES[name.kind]
    kind = name.kind.replace("_", " ")
    secret = any(re.split(r"[.\[]", source)[0] in hidden for source in name.sources)
    shown = "" if secret else f" {name.shown!r}"
    origin = ""
    if "namePrefix" in name.sources:
        config = plan.config
        built = ("namePrefix and environment" if secret
                 else f"namePrefix {config.name_prefix!r} and environment {config.environment!r}")
        suffix = f" with the {naming.SUFFIX_LENGTH}-character random suffix" if name.suffixed else ""
        origin = f" (built from {built}{suffix})"
    text = name.longest
    if not rule.min_length <= len(text) <= rule.max_length:
        fix = "; shorten namePrefix or environment" if name.path == "namePrefix" else ""
        return (f"the {kind} name{shown}{origin} is {len(text)} characters; "
                f"Azure allows {rule.min_length}-{rule.max_length}{fix}")
    if not re.fullmatch(rule.pattern, text):
        return f"the {kind} name{shown}{origin} is not valid: {rule.help}"
    return None

