"""One catalogue of the Azure facts the platform relies on: a record per resource type, and the
shared constants (the Bastion subnet, what "the internet" is in an NSG rule, Azure Monitor's
public-access default).

Each record (`ResourceType`) holds the type token, the ARM type, the input that carries the Azure
name, the inputs whose change forces a replacement, the typical create time with its source,
whether it holds state, the key settings a reviewer checks and Azure's defaults for them. Everything
else reads it: the policy rules (names, stateful types), the offline mocks (names and ids), diff
(replacements), graph (create times), preview (key settings), topology and prices (type tokens),
the live checks (tokens, defaults).

Adding a resource type is one entry in the area module it belongs to (`network`, `workspace`,
`monitor`, `access`); `tests/test_catalogue.py` fails while a type the stacks register has none,
and while a type token is spelt out anywhere else.
"""

from __future__ import annotations

from typing import Mapping, Optional

from isolated_mlops.components.catalogue import access, monitor, network, serving, workspace
from isolated_mlops.components.catalogue.access import (  # noqa: F401
    CLIENT_CONFIG_INVOKE, IDENTITY, LOCK, LOCK_BY_SCOPE, RANDOM_STRING, RESOURCE_GROUP, ROLE_ASSIGNMENT, VM, VM_EXTENSION,
)
from isolated_mlops.components.catalogue.constants import (  # noqa: F401
    AZURE_MANAGED_SUBNETS, BASTION_SUBNET_MAX_PREFIX, BASTION_SUBNET_NAME, INTERNET_SOURCES,
    MONITOR_PUBLIC_ACCESS_DEFAULT, MONITOR_PUBLIC_ACCESS_INPUTS, any_internet_source, is_internet_source,
)
from isolated_mlops.components.catalogue.model import ASYNC, SYNC, CreateTime, ResourceType, Setting  # noqa: F401
from isolated_mlops.components.catalogue.monitor import (  # noqa: F401
    ACTION_GROUP, APP_INSIGHTS, DATA_COLLECTION_ENDPOINT, DATA_COLLECTION_RULE, DIAGNOSTIC_SETTING, LOG_ANALYTICS,
    LOG_TABLE, METRIC_ALERT, PRIVATE_LINK_SCOPE, SCHEDULED_QUERY_RULE, SCOPED_RESOURCE,
)
from isolated_mlops.components.catalogue.network import (  # noqa: F401
    BASTION, NAT_GATEWAY, NIC, NSG, PEERING, PRIVATE_ENDPOINT, PRIVATE_ZONE, PUBLIC_IP, SECURITY_RULE, SUBNET, VNET,
    ZONE_GROUP, ZONE_LINK,
)
from isolated_mlops.components.catalogue.serving import AKS, AKS_NAMESPACE, K8S_EXTENSION  # noqa: F401
from isolated_mlops.components.catalogue.workspace import (  # noqa: F401
    BLOB_CONTAINER, BLOB_SERVICE, COMPUTE, KEY_VAULT, KEY_VAULT_KEY, KEY_VAULT_SECRET, ML_REGISTRY, REGISTRY,
    STORAGE, WORKSPACE,
)


def _index(*areas: tuple[ResourceType, ...]) -> dict[str, ResourceType]:
    index: dict[str, ResourceType] = {}
    for entries in areas:
        for entry in entries:
            if entry.token in index:
                raise ValueError(f"catalogue: {entry.token} has two entries")
            index[entry.token] = entry
    return index


CATALOGUE: Mapping[str, ResourceType] = _index(network.ENTRIES, workspace.ENTRIES, monitor.ENTRIES, access.ENTRIES,
                                                serving.ENTRIES)
"""Type token -> its record."""


def entry(token: str) -> Optional[ResourceType]:
    """The record of a type token, or None for a type the catalogue does not know."""
    return CATALOGUE.get(token)


def name_input(token: str) -> Optional[str]:
    """The wire input that carries a resource's Azure name (None: autonamed, or not catalogued)."""
    known = CATALOGUE.get(token)
    return known.name_input if known else None


NAME_INPUTS: Mapping[str, str] = {t: e.name_input for t, e in CATALOGUE.items() if e.name_input}
"""Type token -> the input that carries its Azure name."""

STATEFUL_TYPES: tuple[str, ...] = tuple(t for t, e in CATALOGUE.items() if e.stateful)
"""What must survive a mistaken `pulumi destroy` or replacement in production."""

AZURE_TYPES: tuple[str, ...] = tuple(t for t, e in CATALOGUE.items() if not e.outside_azure)
