"""The platform's security rules, as plain functions over resources: one implementation, three users.

- the unit tests run them over the offline engine's registrations (and prove each can fail),
- the offline preview runs them (`python -m offline preview --policy`, via `offline.policy_check.check_run`)
  so a pull request shows violations without cloud credentials,
- the CrossGuard pack (`policy/__main__.py`, built by `policy.pack`) runs them inside
  `pulumi preview/up --policy-pack policy`.

Rules see a `ResourceView`: type, URN, wire-name (camelCase) input props, options, and the URNs each
property depends on. Property dependencies are how rules connect resources: during a real preview
most ids are still unknown, but "this zone group's `privateEndpointName` came from that endpoint"
is always known.

Unknown values: during a preview, an input computed from another resource's output (an id, an
autonamed name) has no value yet. Adapters turn it into `UNKNOWN`, and every rule treats `UNKNOWN`
as "cannot prove anything": a rule reports only what it can prove from known values. Two UNKNOWNs
are never "the same" value (`_same`), and an UNKNOWN never "differs" from what is required
(`_differs`, `_not_exactly`).

The package, by area:
- `base`: the engine (types, `ResourceView`, `Rule`, `RULES`, `@rule`/`@resource_rule`, `evaluate`);
- `helpers`: unknown-aware comparisons and lookups the rules share; `sources`: Microsoft Learn links;
- one module of rules per area: `workspace` (and its dependencies, endpoints, DNS), `network`,
  `access` (VMs, secrets), `monitoring`, `compute`.

Adding a module of rules: write `policy/rules/<area>.py` (its rules register with `@rule` or
`@resource_rule` from `base`) and add its one import line below, after the others; its rules then follow
the others in `RULES`, in docs/policy.md's table (regenerate it) and in the CrossGuard pack.
"""

from __future__ import annotations

from isolated_mlops.components.catalogue import AKS, K8S_EXTENSION  # noqa: F401
from isolated_mlops.policy.rules.base import (  # noqa: F401
    ACTION_GROUP, ADMIN_PORTS, APP_INSIGHTS, AZURE_MANAGED_SUBNETS, BASTION, BASTION_MAX_PREFIX,
    BASTION_SUBNET_NAME, COMPUTE, DATA_COLLECTION_ENDPOINT, DIAGNOSTIC_SETTING, IDENTITY, INTERNET_SOURCES,
    KEY_VAULT, KEY_VAULT_SECRET, LOG_ANALYTICS, LOG_TABLE, METRIC_ALERT, ML_REGISTRY, NAME_INPUTS, NAT_GATEWAY,
    NIC, NSG, PEERING, PRIVATE_ENDPOINT, PRIVATE_LINK_SCOPE, PRIVATE_ZONE, PUBLIC_IP, REGISTRY, RESOURCE_GROUP,
    ROLE_ASSIGNMENT, RULES, ResourceView, Rule, SCHEDULED_QUERY_RULE, SCOPED_RESOURCE, SECURITY_RULE,
    STATEFUL_TYPES, STORAGE, SUBNET, UNKNOWN, Unknown, VM, VM_EXTENSION, VNET, Violation, WORKSPACE, ZONE_GROUP,
    ZONE_LINK, evaluate, lookup, resource_rule, rule, rule_named,
)
from isolated_mlops.policy.rules.helpers import (  # noqa: F401
    _has_unknown, _same, arm_segment, endpoints_targeting, open_admin_ports, physical_name, strings,
    zone_groups_of,
)

# The rule modules. Importing one registers its rules; the order of these lines is the order of
# RULES, so of docs/policy.md's table. A new module of rules is one more line here.
from isolated_mlops.policy.rules import workspace  # noqa: F401,E402
from isolated_mlops.policy.rules import network  # noqa: F401,E402
from isolated_mlops.policy.rules import access  # noqa: F401,E402
from isolated_mlops.policy.rules import monitoring  # noqa: F401,E402
from isolated_mlops.policy.rules import compute  # noqa: F401,E402
from isolated_mlops.policy.rules import serving  # noqa: F401,E402

# Names the rule modules define that tools and tests read as `rules.X`.
from isolated_mlops.policy.rules.workspace import (  # noqa: F401
    AML_MONITOR_SOURCE, AMPLS_ACCESS_MODES_SOURCE, AMPLS_RESOURCE_ACCESS_SOURCE, ENDPOINT_NSG_POLICIES,
)
from isolated_mlops.policy.rules.access import (  # noqa: F401
    decode_custom_data,
)
from isolated_mlops.policy.rules.monitoring import (  # noqa: F401
    ACTION_GROUP_RECEIVERS, ACTION_GROUP_URLS, DIAGNOSED_TYPES, DOC_ACTION_GROUPS, DOC_ADO_WEBHOOK, DOC_DCE,
    DOC_LOGS_INGESTION,
)
