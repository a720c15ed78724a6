"""What the policy rule tests share: the views of a run the rules judge, and small tools to find and
change one resource in them (tests/test_policy_rules.py, tests/test_policy_rules_preview.py)."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

from isolated_mlops.policy import rules as R
from isolated_mlops.policy.rules import ResourceView
from tests.helpers import changed

Views = list[ResourceView]


# --------------------------------------------------------------------------------------------
# Small tools
# --------------------------------------------------------------------------------------------
def _one(resources: Sequence[ResourceView], match: Callable[[ResourceView], bool]) -> ResourceView:
    [found] = [r for r in resources if match(r)]
    return found


def _named(type_: str, logical_name: str) -> Callable[[ResourceView], bool]:
    return lambda r: r.type == type_ and r.name == logical_name


def _replace(resources: Sequence[ResourceView], match: Callable[[ResourceView], bool],
             fn: Callable[[ResourceView], ResourceView]) -> Views:
    return changed(resources, match, fn)


def _with_subnets(fn: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[ResourceView], ResourceView]:
    """Change each inline subnet of a VNet view."""
    return lambda r: dataclasses.replace(r, props={**r.props, "subnets": [fn(dict(s)) for s in r.props["subnets"]]})


def _vnet(role: str) -> Callable[[ResourceView], bool]:
    return lambda r: r.type == R.VNET and r.props["virtualNetworkName"].startswith(f"vnet-{role}-")


INTERNET_SSH = {"name": "oops", "priority": 200, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
                "sourceAddressPrefix": "Internet", "sourcePortRange": "*", "destinationAddressPrefix": "*",
                "destinationPortRange": "22"}
