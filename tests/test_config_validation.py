"""Bad input: every kind of bad stack configuration is refused before the first resource, with one
message per problem that names the key (with its path), all problems together, secrets never shown.

Each kind is checked cheaply by calling the validation directly, on the config exactly as the CLI
hands it over (strings, JSON objects, secret flags); a few full runs of the program prove end to end
that a refused configuration registers nothing but the root stack.
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


# ---- The stack files themselves are valid: the positive control for every case below -----------
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_files_are_valid(stack: str):
    config, problems = check(stack=stack)
    assert problems == []
    assert config is not None and config.environment == stack


# ---- One case per kind of bad input ------------------------------------------------------------


_ED25519_BODY = ED25519_KEY.split()[1]

# (id, change, key path named, words the message must contain, how many problems in all)
CASES = [
    # CIDRs
    ("malformed-cidr", _set("network.amlVnet.addressSpace", "10.10.0/16"),
     "network.amlVnet.addressSpace", "not a valid IPv4 CIDR block", 1),
    ("cidr-host-bits", _set("network.amlVnet.addressSpace", "10.10.0.1/16"),
     "network.amlVnet.addressSpace", "host bits set", 1),
    ("cidr-not-private", _set("network.amlVnet.addressSpace", "8.8.0.0/16"),
     "network.amlVnet.addressSpace", "not a private (RFC 1918) range", 4),  # and 3 subnets now outside it
    ("overlapping-subnets", _set("network.amlVnet.subnets.training", "10.10.0.0/22"),
     "network.amlVnet.subnets.training", "overlaps network.amlVnet.subnets.privateEndpoints 10.10.0.0/24", 1),
    ("subnet-outside-vnet", _set("network.amlVnet.subnets.scoring", "10.20.8.0/24"),
     "network.amlVnet.subnets.scoring", "is not inside network.amlVnet.addressSpace 10.10.0.0/16", 1),
    ("bastion-subnet-smaller-than-26", _set("network.bastionVnet.subnets.bastion", "10.11.0.0/27"),
     "network.bastionVnet.subnets.bastion", "AzureBastionSubnet must be /26 or larger", 1),
    ("subnet-smaller-than-29", _set("network.bastionVnet.subnets.jumpHost", "10.11.1.0/30"),
     "network.bastionVnet.subnets.jumpHost", "Azure subnets must be /29 or larger", 1),
    ("peered-address-spaces-overlap", _set("network.bastionVnet.addressSpace", "10.0.0.0/8"),
     "network.bastionVnet.addressSpace", "overlaps network.amlVnet.addressSpace 10.10.0.0/16", 1),
    # What the stack puts in a subnet does not fit (Azure keeps 5 addresses of every subnet)
    ("agents-do-not-fit-subnet",
     _all(_set("network.bastionVnet.subnets.agents", "10.11.2.0/28"), _set("agents.count", 12)),
     "network.bastionVnet.subnets.agents", "is too small for 12 agents (agents.count", 1),
    ("cluster-nodes-do-not-fit-subnet", _set("network.amlVnet.subnets.training", "10.10.4.0/28"),
     "network.amlVnet.subnets.training", "is too small for 12 compute nodes", 1),
    ("private-endpoints-do-not-fit-subnet", _set("network.amlVnet.subnets.privateEndpoints", "10.10.0.0/28"),
     "network.amlVnet.subnets.privateEndpoints", "is too small for 11 private endpoints taking 26 addresses", 1),
    # The model registry (modelRegistry)
    ("model-registry-create-not-a-bool", _set("modelRegistry.create", "yes"), "modelRegistry.create",
     "must be true or false, got 'yes'", 1),
    ("model-registry-user-not-a-guid", _set("modelRegistry.userPrincipalIds", ["id-mlops-ml-prod"]),
     "modelRegistry.userPrincipalIds[0]", "must be an object id (a GUID", 1),
    ("model-registry-users-without-registry",
     _set("modelRegistry", {"create": False, "userPrincipalIds": ["0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d"]}),
     "modelRegistry.userPrincipalIds",
     "grants roles on a registry this stack does not create", 1),
    ("model-registry-user-twice", _set("modelRegistry.userPrincipalIds", ["0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d"] * 2),
     "modelRegistry.userPrincipalIds", "lists an object id twice", 1),
    ("model-registry-unknown-key", _set("modelRegistry.crate", True), "modelRegistry.crate",
     "unknown key (did you mean 'create'?)", 1),
    # Names once prefix, environment and the random suffix are joined
    ("storage-name-too-long", _all(_set("namePrefix", "mlopsplt"), _set("environment", "production")),
     "namePrefix", "storage account name 'stmlopspltproduction?????'", 2),  # and the Key Vault name
    ("key-vault-name-too-long", _all(_set("namePrefix", "mlopsplt"), _set("environment", "prodweu1")),
     "namePrefix", "key vault name 'kv-mlopsplt-prodweu1-?????'", 1),
    # Azure's limit for workspaces/computes is 16: a 17-character name fails, as it would in Azure.
    ("cluster-name-too-long", _all(_set("computeClusters.1.name", "gpu-train-cluster")),
     "computeClusters[1].name", "is 17 characters; Azure allows 2-16", 1),
    ("prefix-not-a-name", _set("namePrefix", "ML_Ops"), "namePrefix", "must be 2-8 lowercase letters", 1),
    ("stack-name-not-an-environment", _set("environment", "Prod-EU"), "environment",
     "set `environment` if the stack name is not", 1),
    # Unknown keys, with "did you mean" for typos
    ("unknown-top-level-key", _set("namePrefx", "mlops"), "namePrefx", "unknown key (did you mean 'namePrefix'?)", 1),
    ("unknown-nested-key", _rename("network.amlVnet.subnets.training", "trainng"),
     "network.amlVnet.subnets.trainng", "unknown key (did you mean 'training'?)", 2),  # and training missing
    ("unknown-cluster-key", _set("computeClusters.0.maxNode", 3), "computeClusters[0].maxNode",
     "did you mean 'maxNodes'?", 1),
    ("unknown-key-case", _rename("agents", "Agents"), "Agents", "did you mean 'agents'?", 2),  # and agents missing
    # Wrong types at every level
    ("wrong-type-integer", _set("logRetentionDays", "ninety"), "logRetentionDays", "must be a whole number, got 'ninety'", 1),
    ("wrong-type-boolean", _set("protectStatefulResources", "yes"), "protectStatefulResources",
     "must be true or false, got 'yes'", 1),
    ("wrong-type-object", _set("network", "10.10.0.0/16"), "network", "must be an object", 1),
    ("wrong-type-nested-object", _set("network.bastionVnet", ["10.11.0.0/16"]), "network.bastionVnet",
     "must be an object", 1),
    ("wrong-type-list", _set("computeClusters", {"name": "cpu-build"}), "computeClusters", "must be a list", 1),
    ("wrong-type-list-item", _set("computeClusters.1", "gpu-train"), "computeClusters[1]", "must be an object", 1),
    ("wrong-type-nested-integer", _set("computeClusters.0.maxNodes", "four"), "computeClusters[0].maxNodes",
     "must be a whole number", 1),
    ("wrong-type-float", _set("computeClusters.0.maxNodes", 2.5), "computeClusters[0].maxNodes",
     "must be a whole number, got 2.5", 1),
    ("wrong-type-bool-as-integer", _set("agents.count", True), "agents.count", "must be a whole number, got True", 1),
    ("wrong-type-nested-boolean", _set("network.natGateway", "sometimes"), "network.natGateway",
     "must be true or false", 1),
    ("wrong-type-dns-fallback", _set("network.privateDnsFallbackToInternet", "NxDomainRedirect"),
     "network.privateDnsFallbackToInternet", "must be true or false, got 'NxDomainRedirect'", 1),
    ("dns-fallback-typo", _set("network.privateDnsFallbackToInternt", True), "network.privateDnsFallbackToInternt",
     "did you mean 'privateDnsFallbackToInternet'?", 1),
    ("wrong-type-nested-string", _set("network.amlVnet.addressSpace", 10), "network.amlVnet.addressSpace",
     "must be a non-empty string, got 10", 1),
    ("wrong-type-labels", _set("agents.labels", "gpu"), "agents.labels", "must be a list", 1),
    ("wrong-type-tag-value", _set("tags.costCenter", 42), "tags.costCenter", "tag values must be strings", 1),
    ("tag-name-forbidden-characters", _set("tags.cost/center", "x"), "tags.cost/center", "may not contain", 1),
    # Zero or negative counts
    ("zero-max-nodes", _set("computeClusters.0.maxNodes", 0), "computeClusters[0].maxNodes", "must be at least 1, got 0", 1),
    ("negative-agent-count", _set("agents.count", -1), "agents.count", "must be at least 0, got -1", 1),
    ("negative-min-nodes", _set("computeClusters.0.minNodes", -2), "computeClusters[0].minNodes",
     "must be at least 0, got -2", 1),
    ("too-many-agents", _set("agents.count", 21), "agents.count", "must be at most 20", 1),
    ("retention-out-of-range", _set("logRetentionDays", 7), "logRetentionDays", "must be at least 30", 1),
    # Min nodes above max nodes: one message, with the one fix for both
    ("min-nodes-above-max-nodes", _all(_set("computeClusters.0.minNodes", 5), _set("computeClusters.0.maxNodes", 4)),
     "computeClusters[0].minNodes", "5 is above maxNodes (4); it must be 0", 1),
    ("min-nodes-not-zero", _set("computeClusters.0.minNodes", 1), "computeClusters[0].minNodes", "must be 0", 1),
    # Choices
    ("unknown-agent-kind", _set("agents.kind", "gitlab"), "agents.kind",
     "must be one of azure-devops, github, got 'gitlab'", 1),
    ("agent-kind-typo", _set("agents.kind", "githb"), "agents.kind", "(did you mean 'github'?)", 1),
    ("unknown-cloud", _set("cloud", "AzureCloudd"), "cloud", "did you mean 'AzureCloud'?", 1),
    ("unknown-storage-sku", _set("storageSku", "Premium_LRS"), "storageSku", "must be one of Standard_LRS", 1),
    ("bastion-sku-typo", _set("bastionSku", "Standrad"), "bastionSku",
     "must be one of Basic, Standard, Premium, got 'Standrad' (did you mean 'Standard'?)", 1),
    ("bastion-sku-developer", _set("bastionSku", "Developer"), "bastionSku",
     "cannot reach the VMs in a peered VNet", 1),
    ("image-build-cluster-not-a-cluster", _set("imageBuildCluster", "gpu-trian"), "imageBuildCluster",
     "is not one of the computeClusters (cpu-build, gpu-train)", 1),
    ("image-build-cluster-on-gpu", _set("imageBuildCluster", "gpu-train"), "imageBuildCluster",
     "'gpu-train' runs on Standard_NC24ads_A100_v4, a GPU/FPGA size; Azure Machine Learning builds images only "
     "on a CPU cluster", 1),
    ("duplicate-cluster-names", _set("computeClusters.1.name", "cpu-build"), "computeClusters[1].name",
     "is used by another cluster", 1),
    ("vm-size-not-a-size", _set("jumpHost.vmSize", "B2s"), "jumpHost.vmSize", "must be an Azure VM size", 1),
    ("reserved-admin-name", _set("adminUsername", "admin"), "adminUsername", "reserves for VMs", 1),
    ("admin-is-the-agents-job-user", _set("adminUsername", "ciagent"), "adminUsername", "is the user the agents' jobs run as", 1),
    ("agent-url-not-https", _set("agents.url", "http://dev.azure.com/contoso"), "agents.url", "https:// URL", 1),
    # Missing required keys, reported once (not once more for every field under a missing object)
    ("missing-top-level-key", _delete("location"), "location", "is required but not set", 1),
    ("missing-nested-key", _delete("network.bastionVnet.subnets.bastion"), "network.bastionVnet.subnets.bastion",
     "is required but not set", 1),
    ("missing-object", _delete("agents"), "agents", "is required but not set", 1),
    ("missing-cluster-field", _delete("computeClusters.1.vmSize"), "computeClusters[1].vmSize",
     "is required but not set", 1),
    ("no-clusters", _set("computeClusters", []), "computeClusters", "must list at least one cluster", 1),
    # The agents' credential expiry: required with agents (the Key Vault secret expires with it), a date
    ("missing-token-expiry", _delete("agents.tokenExpiresOn"), "agents.tokenExpiresOn",
     "is required when agents.count > 0", 1),
    ("token-expiry-not-a-date", _set("agents.tokenExpiresOn", "March 2027"), "agents.tokenExpiresOn",
     "'March 2027' is not a date; write the credential's expiry as YYYY-MM-DD", 1),
    ("token-expiry-impossible-date", _set("agents.tokenExpiresOn", "2027-02-30"), "agents.tokenExpiresOn",
     "is not a date", 1),
    ("hbi-not-a-boolean", _set("hbiWorkspace", "confidential"), "hbiWorkspace", "must be true or false", 1),
    # SSH keys: missing, malformed, or not one Azure accepts
    ("missing-ssh-key", _delete("adminSshPublicKey"), "adminSshPublicKey", "is required but not set", 1),
    ("empty-ssh-key", _set("adminSshPublicKey", ""), "adminSshPublicKey", "must be a non-empty string", 1),
    ("ssh-key-not-a-key-line", _set("adminSshPublicKey", "AAAAC3NzaC1lZDI1NTE5"), "adminSshPublicKey",
     "must be an OpenSSH public key line", 1),
    ("ssh-key-bad-base64", _set("adminSshPublicKey", "ssh-ed25519 not*base64 me@host"), "adminSshPublicKey",
     "not a valid base64 ssh-ed25519 key", 1),
    ("ssh-key-truncated", _set("adminSshPublicKey", f"ssh-ed25519 {_ED25519_BODY[:40]}"), "adminSshPublicKey",
     "truncated or mangled", 1),
    ("ssh-key-type-mismatch", _set("adminSshPublicKey", f"ssh-rsa {_ED25519_BODY}"), "adminSshPublicKey",
     "does not encode a ssh-rsa key", 1),
    ("ssh-key-ecdsa", _set("adminSshPublicKey", "ecdsa-sha2-nistp256 " + _ssh_blob(b"ecdsa-sha2-nistp256", b"nistp256", b"\x04" * 65)),
     "adminSshPublicKey", "Azure VMs accept RSA and Ed25519 keys only", 1),
    ("ssh-key-rsa-too-short", _set("adminSshPublicKey", _rsa_key(1024)), "adminSshPublicKey",
     "is a 1024-bit RSA key; Azure requires at least 2048 bits", 1),
    ("ssh-private-key", _set("adminSshPublicKey", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
                             "-----END OPENSSH PRIVATE KEY-----"), "adminSshPublicKey", "looks like a private key", 1),
]


@pytest.mark.parametrize("change, path, words, count", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_naming_the_key(change, path: str, words: str, count: int):
    problems = problems_of(change)
    named = at(problems, path)
    assert named, f"no problem names {path}: {problems}"
    assert any(words in p for p in named), f"{path}: expected {words!r} in {named}"
    # One clear message per problem: no duplicates, no cascade of follow-on complaints.
    assert len(problems) == count, problems


def test_a_valid_rsa_key_passes():
    """The RSA size check's positive control: a 4096-bit key is accepted."""
    _, problems = check(_set("adminSshPublicKey", _rsa_key(4096)))
    assert problems == []


def test_ssh_key_never_echoed():
    private = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\n-----END OPENSSH PRIVATE KEY-----"
    for key in (private, f"ssh-ed25519 {_ED25519_BODY[:40]}"):
        problems = problems_of(_set("adminSshPublicKey", key))
        assert not any(key.split()[1][:20] in p for p in problems), problems


# ---- All problems together, nothing registered: end to end through the real program ------------
EVERY_KIND = _all(
    _set("network.amlVnet.subnets.training", "10.10.0.0/22"),        # overlapping subnets
    _set("network.amlVnet.subnets.scoring", "10.20.8.0/24"),         # subnet outside its VNet
    _set("network.bastionVnet.subnets.bastion", "10.11.0.0/27"),     # Bastion subnet smaller than /26
    _set("network.bastionVnet.addressSpace", "10.0.0.0/8"),          # peered address spaces overlap
    _set("network.bastionVnet.subnets.jumpHost", "10.11.1.0/33"),    # malformed CIDR
    _set("namePrefix", "mlopsplt"), _set("environment", "production"),  # names over Azure's limits
    _set("namePrefx", "x"),                                          # unknown key (typo)
    _set("logRetentionDays", "ninety"),                              # wrong type
    _set("computeClusters.1.maxNodes", 0),                           # zero count
    _set("agents.count", -1),                                        # negative count
    _set("computeClusters.0.minNodes", 5),                           # min nodes above max nodes
    _set("agents.kind", "gitlab"),                                   # unknown agent kind
    _delete("location"),                                             # missing required key
    _set("adminSshPublicKey", "ssh-ed25519 AAAA"),                   # malformed SSH public key
    _set("agentRegistrationToken", TOKEN),                           # a token in plain text
    _set("network.amlVnet.subnets.privateEndpoints", "10.10.0.0/28"),  # private endpoints do not fit
)
EVERY_KIND_PATHS = (
    "network.amlVnet.subnets.training", "network.amlVnet.subnets.scoring",
    "network.bastionVnet.subnets.bastion", "network.bastionVnet.addressSpace",
    "network.bastionVnet.subnets.jumpHost", "namePrefix", "namePrefx", "logRetentionDays",
    "computeClusters[1].maxNodes", "agents.count", "computeClusters[0].minNodes", "agents.kind", "location",
    "adminSshPublicKey", "agentRegistrationToken", "network.amlVnet.subnets.privateEndpoints",
)


@pytest.fixture(scope="module")
def refused_run():
    values = copy.deepcopy(dict(_stack_file("prod")))
    EVERY_KIND(values)
    return run_stack("prod", values=values, secrets={})


def test_every_problem_reported_in_one_run(refused_run):
    error = refused_run.error
    assert isinstance(error, pulumi.RunError) and isinstance(error, ConfigError)
    for path in EVERY_KIND_PATHS:
        assert at(error.problems, path), f"{path} not reported in the same run:\n{error}"
    assert str(error).startswith(f"invalid stack configuration ({len(error.problems)} problem(s)):")


def test_refused_configuration_registers_nothing(refused_run):
    assert [r.type for r in refused_run.resources] == [ROOT_STACK]
    assert refused_run.exports == {}


def test_refused_configuration_never_shows_the_token(refused_run):
    assert TOKEN not in str(refused_run.error)
    assert not any(TOKEN in line for line in refused_run.logs)


def test_one_bad_key_is_enough_to_register_nothing(run_with):
    """A single problem stops the program just the same (here: a missing SSH key)."""
    run = run_with("dev", _delete("adminSshPublicKey"))
    assert isinstance(run.error, pulumi.RunError)
    assert at(run.error.problems, "adminSshPublicKey")
    assert [r.type for r in run.resources] == [ROOT_STACK]


def test_valid_configuration_registers_resources(prod):
    """The control for the two above: the stack file as it is gets past validation and builds."""
    assert prod.error is None and len(prod.custom_resources()) > 50


def test_placeholder_secret_is_what_the_engine_passes():
    """The direct checks above see the config the engine (and so the CLI) hands over."""
    assert default_secrets() == {"agentRegistrationToken": SECRET_PLACEHOLDER, **TLS_ONLY}


def test_capacity_is_reported_with_the_other_mistakes_of_its_keys():
    """Five mistakes, one a capacity problem: all six lines in one run. A mistake elsewhere in a
    cluster (its vmSize, its name) or in the agents (their URL) says nothing about maxNodes or the
    count, so it must not hide the subnets they overflow until the next run."""
    problems = problems_of(_all(
        _set("computeClusters.0.vmSize", "DS3_v2"),                      # not an Azure VM size
        _set("computeClusters.1.name", "Build_Cluster"),                 # not a compute name
        _set("agents.url", "http://dev.azure.com/contoso"),              # not https
        _set("network.amlVnet.subnets.training", "10.10.4.0/29"),        # 3 addresses for 12 nodes
        _set("network.bastionVnet.subnets.agents", "10.11.2.0/29"),      # 3 addresses for the agents
        _set("agents.count", 4),
    ))
    for path in ("computeClusters[0].vmSize", "computeClusters[1].name", "agents.url"):
        assert at(problems, path), problems
    assert any("subnets.training: 10.10.4.0/29 is too small for" in p for p in problems), problems
    assert any("subnets.agents: 10.11.2.0/29 is too small for 4 agents" in p for p in problems), problems


def test_a_cluster_that_is_not_an_object_still_hides_the_node_count():
    """Its maxNodes are unknown, so the total is too: the capacity check waits for the fix."""
    problems = problems_of(_all(_set("network.amlVnet.subnets.training", "10.10.4.0/29"),
                                lambda v: v["computeClusters"].append("gpu")))
    assert len(problems) == 1 and at(problems, "computeClusters[2]"), problems


# ---- Defaults: keys almost everyone sets the same way may be left out --------------------------
def _without_cluster_keys(*keys: str) -> Callable[[dict[str, Any]], None]:
    def change(values: dict[str, Any]) -> None:
        for cluster in values["computeClusters"]:
            for key in keys:
                cluster.pop(key, None)
    return change


def test_a_cluster_needs_only_its_name_size_and_max_nodes():
    config, problems = check(_without_cluster_keys("minNodes", "idleSecondsBeforeScaleDown", "lowPriority"))
    assert problems == [] and config is not None
    for cluster in config.compute_clusters:
        assert (cluster.min_nodes, cluster.idle_seconds_before_scale_down, cluster.low_priority) == (0, 120, False)


def test_left_out_top_level_keys_take_their_documented_defaults():
    config, problems = check(_all(_delete("workspacePublicAccess"), _delete("batchEndpoints"),
                                  _delete("logRetentionDays")))
    assert problems == [] and config is not None
    assert (config.workspace_public_access, config.batch_endpoints, config.log_retention_days) == (False, False, 30)


@pytest.mark.parametrize("key", ["location", "namePrefix", "storageSku", "protectStatefulResources", "network",
                                 "computeClusters", "imageBuildCluster", "jumpHost", "agents", "adminUsername",
                                 "adminSshPublicKey"])
def test_what_must_be_chosen_stays_required(key: str):
    assert at(problems_of(_delete(key)), key)


@pytest.mark.parametrize("key", ["name", "vmSize", "maxNodes"])
def test_a_cluster_s_name_size_and_max_nodes_stay_required(key: str):
    assert at(problems_of(_without_cluster_keys(key)), f"computeClusters[0].{key}")


def test_the_readme_states_the_defaults():
    from offline.engine import PROJECT_DIR

    readme = (PROJECT_DIR / "README.md").read_text()
    for text in ("`minNodes` (default 0, ", "`idleSecondsBeforeScaleDown` (default 120, ", "`lowPriority` (default false)",
                 "`workspacePublicAccess` | optional, default `false`", "`batchEndpoints` | optional, default `false`",
                 "default 30"):
        assert text in readme, text



def _keys_not_named(text: str) -> list[str]:
    import re

    from isolated_mlops.components.config import TOP_LEVEL_KEYS

    return [key for key in sorted(TOP_LEVEL_KEYS) if not re.search(rf"\b{key}\b", text)]


def test_pulumi_yaml_names_every_key_the_program_reads():
    """Pulumi.yaml declares the required keys and its comment names the rest: a new key is named there too."""
    from offline.engine import PROJECT_DIR

    text = (PROJECT_DIR / "Pulumi.yaml").read_text()
    assert _keys_not_named(text) == []
    # Whole words: `servingTlsKeys` does not name `servingTlsKey`.
    assert "servingTlsKey" in _keys_not_named(text.replace("servingTlsKey", "servingTlsKeys"))
