"""Bad input, continued (tests/test_config_validation.py has the rest): what the stack puts in a subnet
fits in it, the agents' registration token is a secret or nothing, and secret values never show in a
message.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
from typing import Any, Callable, Mapping, Optional

import pulumi
import pytest

from isolated_mlops.components import zones
from isolated_mlops.components.config import PROJECT_NAMESPACE, ConfigError, PlatformConfig, project_values, validate
from isolated_mlops.components.serving_config import TLS_SECRET_KEYS
from offline.engine import SECRET_PLACEHOLDER, _wire_config, default_secrets, run_stack, stack_values
from tests.config_checks import (  # noqa: F401
    ED25519_KEY, ROOT_STACK, TLS_ONLY, TOKEN, _all, _delete, _rename, _rsa_key, _set, _ssh_blob, _stack_file, at,
    check, problems_of,
)


# ---- Capacity: what the stack puts in a subnet fits in it ---------------------------------------
def test_capacity_message_says_why_and_what_would_fit():
    problems = problems_of(_all(_set("network.bastionVnet.subnets.agents", "10.11.2.0/28"), _set("agents.count", 20)))
    assert problems == [
        f"{PROJECT_NAMESPACE}:network.bastionVnet.subnets.agents: 10.11.2.0/28 is too small for 20 agents "
        "(agents.count, one network interface each): 11 usable addresses (Azure keeps 5 of its 16); "
        "make it /27 or larger, or set agents.count to at most 11"]


def test_private_endpoint_message_lists_every_endpoint():
    [problem] = problems_of(_set("network.amlVnet.subnets.privateEndpoints", "10.10.0.0/28"))
    assert problem.endswith("11 private endpoints taking 26 addresses (amlworkspace 3, blob 1, file 1, queue 1, "
                            "table 1, vault 1, registry 2, azuremonitor 11, amlregistry 2, blob 1, registry 2): "
                            "11 usable addresses "
                            "(Azure keeps 5 of its 16); make it /27 or larger")


@pytest.mark.parametrize("stack, block, addresses", [("dev", "10.110.0.0", 19), ("prod", "10.10.0.0", 26)])
def test_private_endpoint_demand_follows_the_stack(stack: str, block: str, addresses: int):
    """Counted as the program declares them: prod's batchEndpoints add queue and table, its modelRegistry the
    registry's three endpoints (5 addresses). A /27 (27 usable)
    holds either stack's endpoints, a /28 (11) neither."""
    assert check(_set("network.amlVnet.subnets.privateEndpoints", f"{block}/27"), stack=stack)[1] == []
    [problem] = problems_of(_set("network.amlVnet.subnets.privateEndpoints", f"{block}/28"), stack=stack)
    assert f"taking {addresses} addresses" in problem


# Exactly as many addresses as the subnet has left after Azure's 5: accepted.
EXACT_FITS = [
    ("agents", _all(_set("network.bastionVnet.subnets.agents", "10.11.2.0/28"), _set("agents.count", 11))),
    ("cluster-nodes", _all(_set("network.amlVnet.subnets.training", "10.10.4.0/28"),
                           _set("computeClusters.1.maxNodes", 7))),          # 4 + 7 = 11
    ("jump-host", _set("network.bastionVnet.subnets.jumpHost", "10.11.1.0/29")),  # 3 usable, 1 needed
]


@pytest.mark.parametrize("change", [c[1] for c in EXACT_FITS], ids=[c[0] for c in EXACT_FITS])
def test_exact_fit_is_accepted(change):
    _, problems = check(change)
    assert problems == []


def test_private_endpoints_exact_fit_is_accepted(monkeypatch):
    """No real endpoint set sums to a subnet's usable size (2^n - 5), so move the demand instead: with
    azuremonitor at 12, prod's endpoints take 3 + 4 + 1 + 2 + 12 + (2 + 1 + 2, the model registry's)
    = 27 addresses, all a /27 has."""
    smaller = _set("network.amlVnet.subnets.privateEndpoints", "10.10.0.0/27")
    monkeypatch.setitem(zones.PRIVATE_ENDPOINT_ADDRESSES, "azuremonitor", 12)
    assert check(smaller)[1] == []
    monkeypatch.setitem(zones.PRIVATE_ENDPOINT_ADDRESSES, "azuremonitor", 13)
    [problem] = problems_of(smaller)
    assert "taking 28 addresses" in problem and "27 usable addresses" in problem and "make it /26 or larger" in problem


def test_the_jump_host_fits_every_subnet_azure_accepts():
    """/29, Azure's smallest subnet, leaves 3 addresses: a subnet too small for the jump host is already
    too small for Azure, and is reported once, as that."""
    problems = problems_of(_set("network.bastionVnet.subnets.jumpHost", "10.11.1.0/30"))
    assert problems == [f"{PROJECT_NAMESPACE}:network.bastionVnet.subnets.jumpHost: 10.11.1.0/30 is too small: "
                        "Azure subnets must be /29 or larger"]


# A subnet or a count that is wrong already says what is wrong: no capacity problem on top of it.
NO_CASCADE = [
    ("malformed-subnet", _all(_set("network.bastionVnet.subnets.agents", "10.11.2.0/33"), _set("agents.count", 12)),
     "network.bastionVnet.subnets.agents"),
    ("overlapping-subnet", _all(_set("network.bastionVnet.subnets.agents", "10.11.1.0/28"), _set("agents.count", 12)),
     "network.bastionVnet.subnets.agents"),                          # overlaps jumpHost 10.11.1.0/28
    ("count-out-of-range", _all(_set("network.bastionVnet.subnets.agents", "10.11.2.0/28"), _set("agents.count", 21)),
     "agents.count"),
    ("max-nodes-wrong-type", _all(_set("network.amlVnet.subnets.training", "10.10.4.0/29"),
                                  _set("computeClusters.1.maxNodes", "eight")),  # cpu-build's 4 nodes alone overflow 3
     "computeClusters[1].maxNodes"),
    ("batch-endpoints-wrong-type", _all(_set("network.amlVnet.subnets.privateEndpoints", "10.10.0.0/28"),
                                        _set("batchEndpoints", "maybe")),
     "batchEndpoints"),
    ("model-registry-wrong-type", _all(_set("network.amlVnet.subnets.privateEndpoints", "10.10.0.0/27"),
                                       _set("modelRegistry", {"create": "maybe"})),
     "modelRegistry.create"),
]


@pytest.mark.parametrize("change, path", [c[1:] for c in NO_CASCADE], ids=[c[0] for c in NO_CASCADE])
def test_no_capacity_problem_on_top_of_another(change, path: str):
    problems = problems_of(change)
    assert len(problems) == 1 and at(problems, path), problems
    assert "usable addresses" not in problems[0]


def test_capacity_of_a_secret_network_is_reported_without_its_values():
    network = copy.deepcopy(_stack_file("prod")["network"])
    network["amlVnet"]["subnets"]["privateEndpoints"] = "10.10.0.0/28"
    problems = problems_of(_delete("network"), secrets={**default_secrets(), "network": json.dumps(network)})
    assert problems == [f"{PROJECT_NAMESPACE}:network.amlVnet.subnets.privateEndpoints: [secret] is too small for "
                        "the private endpoints (Azure keeps 5 addresses of every subnet; figures not shown: "
                        "they are secret)"]


def test_capacity_problem_alone_registers_nothing(run_with):
    """What `pulumi up` used to find halfway through is now refused before the first resource."""
    run = run_with("prod", _all(_set("network.bastionVnet.subnets.agents", "10.11.2.0/28"), _set("agents.count", 20)))
    assert isinstance(run.error, ConfigError)
    assert at(run.error.problems, "network.bastionVnet.subnets.agents")
    assert [r.type for r in run.resources] == [ROOT_STACK]


# ---- The agent registration token: a secret or nothing ----------------------------------------


@pytest.mark.parametrize("count", [2, 0])
def test_plain_text_token_is_refused_and_not_echoed(count: int):
    """A token in plain text in the stack file is refused even when no agents use it: it is in git."""
    problems = problems_of(_all(_set("agentRegistrationToken", TOKEN), _set("agents.count", count)), secrets={})
    [problem] = at(problems, "agentRegistrationToken")
    assert "stored in plain text" in problem and "pulumi config set --secret" in problem
    assert TOKEN not in "\n".join(problems)


def test_missing_token_is_refused_when_agents_are_wanted():
    problems = problems_of(lambda v: None, secrets={})
    assert at(problems, "agentRegistrationToken") == [
        f"{PROJECT_NAMESPACE}:agentRegistrationToken: is required when agents.count > 0; set it with "
        f"`pulumi config set --secret {PROJECT_NAMESPACE}:agentRegistrationToken` "
        "(or `fn::secret` in a Pulumi ESC environment)"]


def test_no_token_needed_without_agents():
    """The negative control of the two above: no agents, no token, no problem."""
    config, problems = check(_set("agents.count", 0), secrets=TLS_ONLY)
    assert problems == [] and config is not None and config.agents.count == 0


def test_no_token_expiry_needed_without_agents():
    """agents.tokenExpiresOn is required only when agents (and so the secret) exist."""
    config, problems = check(_all(_set("agents.count", 0), _delete("agents.tokenExpiresOn")), secrets=TLS_ONLY)
    assert problems == [] and config is not None and config.agents.token_expires_on is None


def test_token_expiry_is_read_as_a_date():
    import datetime

    config, problems = check(stack="prod")
    assert problems == [] and config is not None
    assert config.agents.token_expires_on == datetime.date(2027, 3, 1)
    assert config.agents.token_expires_epoch == 1803859200  # 2027-03-01T00:00:00Z, Key Vault's `exp`


def test_empty_secret_token_is_refused():
    problems = problems_of(lambda v: None, secrets={"agentRegistrationToken": "  "})
    assert "is empty" in at(problems, "agentRegistrationToken")[0]


def test_secret_token_accepted():
    config, problems = check(secrets={"agentRegistrationToken": "a-real-looking-token", **TLS_ONLY})
    assert problems == [] and config is not None


# ---- Secret values are never shown in a message -----------------------------------------------
def test_secret_value_of_a_plain_key_is_never_echoed():
    """`pulumi config set --secret adminUsername ...`: a wrong value is reported, never shown."""
    secret = "Adm!n-Secret-Value"
    problems = problems_of(_delete("adminUsername"),
                           secrets={**default_secrets(), "adminUsername": secret})
    [problem] = at(problems, "adminUsername")
    assert "[secret]" in problem and secret not in "\n".join(problems)


def test_secret_object_values_are_never_echoed():
    """`pulumi config set --secret --path network.amlVnet.addressSpace ...` makes all of `network` secret."""
    network = copy.deepcopy(_stack_file("prod")["network"])
    network["amlVnet"]["addressSpace"] = "10.10.0.1/16"                 # malformed (host bits)
    network["amlVnet"]["subnets"]["scoring"] = "10.99.8.0/24"          # outside its VNet
    problems = problems_of(_delete("network"),
                           secrets={**default_secrets(), "network": json.dumps(network)})
    assert at(problems, "network.amlVnet.addressSpace") and at(problems, "network.amlVnet.subnets.scoring") == []
    text = "\n".join(problems)
    assert "10.10.0.1" not in text and "[secret]" in text


def test_secret_values_shown_when_not_secret():
    """The control for the two above: the same mistakes in plain config are shown, to help fix them."""
    problems = problems_of(_set("adminUsername", "Adm!n"))
    assert "'Adm!n'" in at(problems, "adminUsername")[0]
