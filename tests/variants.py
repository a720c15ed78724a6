"""Stack files with several independent switches changed at once: one whole-program run (0.4-0.6 s,
once per test process) serves the test of each switch instead of one run per switch.

Each switch touches resources no other switch here touches, and each test reads only what its own
switch changes (a resource's property, a role assignment of its own role, a log line), so a switch
still fails its test when the program ignores it. A test that reads the whole diff or the whole cost
change (`[change] = ...`) keeps a run of its own change (see `run_with` in conftest.py), or shares one
whose other switches change nothing it reads (prod_opened's cost: each its own resources' lines).
The fixtures are in conftest.py (`dev_switched`, `dev_us_gov`, `prod_extended`); `dev_china` is a
function of `run_with`, as its run also passes a secret, and so is `prod_opened`.
"""

from __future__ import annotations

from typing import Any, Callable

# prod_extended: the identities it names. Distinct ids, so no test can count another switch's grant.
ML_IDENTITY = "11111111-2222-3333-4444-555555555555"
"""alerts.mlIdentityPrincipalId: Monitoring Metrics Publisher on the drift rule (test_platform_alerts)."""
RETRAIN_READER = "22222222-3333-4444-5555-666666666666"
"""alerts.retrainReaderPrincipalId: Monitoring Reader on the group (test_platform_retrain_trigger)."""
DELIVERY_IDENTITIES = ["6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e", "0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d"]
"""modelRegistry.userPrincipalIds: AzureML Registry User (test_platform_workspace)."""
TOKEN_EXPIRES_ON = "2027-09-30"
"""agents.tokenExpiresOn: the registration secret's expiry (test_platform_compute)."""
GITHUB_URL = "https://github.com/contoso"


def github(values: dict[str, Any]) -> dict[str, Any]:
    """prod's file as a GitHub team writes it: GitHub runners, no webhook, the reader identity named."""
    values["agents"] = {**values["agents"], "kind": "github", "url": GITHUB_URL, "labels": ["aml-private"]}
    values["alerts"] = {k: v for k, v in values["alerts"].items() if k != "retrainWebhookUrl"}
    values["alerts"]["retrainReaderPrincipalId"] = RETRAIN_READER
    return values


def prod_extended(values: dict[str, Any]) -> None:
    """prod with what its file leaves out named, and two settings changed; the tests of each:
    - GitHub runners and their reader identity (github above): test_platform_retrain_trigger; the
      agents' new custom data (new URL, new kind): test_offline_cli's replacement of the agents;
    - alerts.mlIdentityPrincipalId: test_platform_alerts;
    - modelRegistry.userPrincipalIds: test_platform_workspace;
    - agents.tokenExpiresOn later: test_platform_compute;
    - serving.tier Free: test_offline_cost's control-plane line."""
    github(values)
    values["alerts"]["mlIdentityPrincipalId"] = ML_IDENTITY
    values["modelRegistry"]["userPrincipalIds"] = list(DELIVERY_IDENTITIES)
    values["agents"]["tokenExpiresOn"] = TOKEN_EXPIRES_ON
    values["serving"]["tier"] = "Free"


def dev_switched(values: dict[str, Any]) -> None:
    """dev with its switches turned; the tests of each:
    - network.natGateway off: test_platform_network (no egress resources);
    - network.privateDnsFallbackToInternet on: test_platform_network (NxDomainRedirect links);
    - workspacePublicAccess and hbiWorkspace on: test_platform_workspace, test_offline_cli (findings);
    - no alerts key: test_platform_alerts (no drift table);
    - agents.vmSize a size with an announced retirement: test_vm_sizes_and_regions (the warning);
    - every compute cluster dedicated: test_offline_cost (the dedicated meter)."""
    values["network"].update(natGateway=False, privateDnsFallbackToInternet=True)
    values.update(workspacePublicAccess=True, hbiWorkspace=True)
    values.pop("alerts")
    values["agents"]["vmSize"] = "Standard_B2ms"
    for cluster in values["computeClusters"]:
        cluster["lowPriority"] = False


def in_cloud(cloud: str) -> Callable[[dict[str, Any]], None]:
    """dev moved to a sovereign cloud: one of its regions, and VM sizes it offers (Bsv2 is public-cloud
    only; components/vm_sizes.py), or the configuration check refuses the stack before any zone."""
    region = {"AzureUSGovernment": "usgovvirginia", "AzureChinaCloud": "chinanorth3"}[cloud]

    def change(values: dict[str, Any]) -> None:
        values.update(cloud=cloud, location=region)
        values["jumpHost"]["vmSize"] = values["agents"]["vmSize"] = "Standard_D2s_v5"
    return change


AGENT_TOKEN = "pat-0123456789abcdefghij-unit-test-token"
"""dev_china's agentRegistrationToken: a value no other secret has (the engine hands every secret the
same placeholder), so a test can tell where the token, and only the token, lands (test_platform_compute)."""


def dev_china(run_with: Callable[..., Any]) -> Any:
    """dev moved to Azure China (its zone names: test_platform_network), run with its own registration
    token (test_platform_compute: where the token lands). The token goes to the Key Vault secret and
    nowhere else, the cloud to zone names and regions: neither test reads what the other switch changes.
    (Not a conftest fixture: tests in two files share it through `run_with`'s cache.)"""
    return run_with("dev", in_cloud("AzureChinaCloud"), secrets={"agentRegistrationToken": AGENT_TOKEN})


def dev_us_gov(values: dict[str, Any]) -> None:
    """dev moved to Azure US Government (its zone names: test_platform_network), with a Basic bastion
    (test_platform_network), and two keys at their defaults the other way round:
    privateDnsFallbackToInternet written out as false (test_platform_network) and no hbiWorkspace
    key (test_platform_workspace)."""
    in_cloud("AzureUSGovernment")(values)
    values["bastionSku"] = "Basic"
    values["network"]["privateDnsFallbackToInternet"] = False
    values.pop("hbiWorkspace")


def prod_opened(run_with: Callable[..., Any]) -> Any:
    """prod with three of its guards let down and no agents, run without the agents' token (a stack
    without agents needs none): each switch is the finding of its own policy rule or changes resources
    no other touches. The tests of each:
    - workspacePublicAccess on: the workspace's one finding, mandatory, naming the key (test_policy_offline,
      test_offline_cli), publicNetworkAccess shown as set (test_offline_preview);
    - protectStatefulResources off: one protection finding per stateful type, naming the key
      (test_policy_offline);
    - bastionSku Basic: no tunnelling (test_platform_network), its cost change (test_offline_cost);
    - agents.count 0, and so no token: no agent resource and no token asked for (test_platform_compute),
      the cost lines of what goes (test_offline_cost).
    Each test picks its own rule's findings or its own resources' cost lines; test_policy_offline checks
    that these three rules, and no other, find anything. (Not a conftest fixture, as dev_china.)"""
    from tests.config_checks import TLS_ONLY  # prod serves models: its TLS secrets, and no token

    return run_with("prod", _opened, secrets=TLS_ONLY)


def _opened(values: dict[str, Any]) -> None:
    values.update(workspacePublicAccess=True, protectStatefulResources=False, bastionSku="Basic")
    values["agents"]["count"] = 0


# prod_resized_and_busy: the usage its stack file would assume (test_offline_cost).
BUSY = {"natGbPerMonth": 1000, "clusterHoursAtMaxNodes": 100}
"""costAssumptions: estimate-only, so the one resource change of this run is the resize."""
RESIZED_JUMP_HOST = "Standard_F2s_v2"


def prod_resized_and_busy(values: dict[str, Any]) -> None:
    """prod with its jump host resized and cost assumptions set (no fixture: the tests pass this to
    `run_with`). The tests that read the whole diff (`[change] = ...`) still see one change: the
    program ignores costAssumptions (the cost estimate reads them; the costAssumptions test proves it),
    and the cost of the resize is compared under the same assumptions on both sides. The tests of each:
    - jumpHost.vmSize: one in-place update of one property (test_offline_cli), drawn alone in its
      subnet (test_offline_topology), its cost from and to (test_offline_cost);
    - costAssumptions: no resource change but the resize, the usage lines they move (test_offline_cost)."""
    values["jumpHost"]["vmSize"] = RESIZED_JUMP_HOST
    values["costAssumptions"] = dict(BUSY)
