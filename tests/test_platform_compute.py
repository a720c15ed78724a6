"""Compute and access: private clusters created after the workspace endpoint, jump host, CI agents,
and the agent registration token that must never appear in plain text."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest

from isolated_mlops.components.roles import ACR_PULL, READER
from isolated_mlops.compute.agents import KEY_VAULT_SECRETS_USER_ROLE_ID, REGISTRATION_SECRET_NAME
from isolated_mlops.compute.cloud_init import CONFIG_PATH, PROGRAM_PATH, AgentBootstrap, github_api_registration_endpoint, render_config
from offline.engine import MASK, SECRET_PLACEHOLDER, StackRun
from isolated_mlops.policy import rules as R
from tests import variants
from tests.helpers import DELETE, changed, parse_yaml, run_views, violations
from tests.test_config_validation import TLS_ONLY  # prod serves models: its TLS secrets

TOKEN = variants.AGENT_TOKEN


# ---- Compute clusters ------------------------------------------------------------------------
def test_clusters_from_config_are_private_and_scale_to_zero(prod: StackRun):
    # AmlCompute clusters (the serving cluster's attached Kubernetes compute: tests/test_platform_serving.py).
    clusters = {c.input("computeName"): c for c in prod.of_type(R.COMPUTE)
                if c.input("properties.computeType") == "AmlCompute"}
    assert set(clusters) == {"cpu-build", "gpu-train"}
    [training_subnet] = {s for s in (c.input("properties.properties.subnet.id") for c in clusters.values())}
    assert training_subnet.endswith("/subnets/snet-training")
    for cluster in clusters.values():
        props = cluster.input("properties.properties")
        assert props["enableNodePublicIp"] is False
        assert props["remoteLoginPortPublicAccess"] == "Disabled"
        assert props["scaleSettings"]["minNodeCount"] == 0
        assert props["scaleSettings"]["nodeIdleTimeBeforeScaleDown"].startswith("PT")
        assert cluster.input("identity.type") == "UserAssigned"
    assert violations(prod, "aml-compute-private") == []


def test_clusters_pull_images_with_an_identity_that_holds_acr_pull_first(each_stack: StackRun):
    """The registry is private with its admin user off: nodes pull with the cluster identity, whose
    AcrPull role on that registry exists before any cluster is created."""
    [identity] = [i for i in each_stack.of_type(R.IDENTITY) if i.input("resourceName").startswith("id-clusters-")]
    [registry] = each_stack.of_type(R.REGISTRY)
    [acr_pull] = [a for a in each_stack.of_type(R.ROLE_ASSIGNMENT) if a.input("roleDefinitionId").endswith(ACR_PULL.id)
                  and a.name == "cluster-identity-acr-pull"]
    assert acr_pull.input("scope") == registry.id
    assert acr_pull.input("principalId") == identity.outputs["principalId"]
    assert acr_pull.input("principalType") == "ServicePrincipal"
    for cluster in each_stack.of_type(R.COMPUTE):
        assert cluster.input("identity.userAssignedIdentities") == [identity.id]
        assert acr_pull.urn in cluster.dependencies, "the role must exist before the cluster"
    assert violations(each_stack, "compute-can-pull-images") == []


def test_a_cluster_whose_identity_cannot_pull_is_caught(prod: StackRun):
    base = run_views(prod)
    no_role = [r for r in base if not (r.type == R.ROLE_ASSIGNMENT and r.name == "cluster-identity-acr-pull")]
    assert len(no_role) == len(base) - 1
    assert {v.urn for v in violations(no_role, "compute-can-pull-images")} == {
        c.urn for c in prod.of_type(R.COMPUTE) if c.input("properties.computeType") == "AmlCompute"}
    wrong_role = changed(base, lambda r: r.type == R.ROLE_ASSIGNMENT and r.name == "cluster-identity-acr-pull",
                         roleDefinitionId=f"/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/{READER.id}")
    assert violations(wrong_role, "compute-can-pull-images")


def test_low_priority_option(dev: StackRun):
    [cluster] = dev.of_type(R.COMPUTE)
    assert cluster.input("properties.properties.vmPriority") == "LowPriority"


@pytest.mark.parametrize("props", [
    {"properties__properties__enableNodePublicIp": True},
    {"properties__properties__remoteLoginPortPublicAccess": "Enabled"},
    {"properties__properties__scaleSettings__minNodeCount": 2},
    {"identity": DELETE},
])
def test_cluster_checks_can_fail(prod: StackRun, props: dict):
    assert violations(changed(run_views(prod), lambda r: r.type == R.COMPUTE, **props), "aml-compute-private")


def test_compute_created_after_workspace_private_endpoint(each_stack: StackRun):
    [pe] = [p for p in each_stack.of_type(R.PRIVATE_ENDPOINT) if p.name == "ml-workspace-workspace-pe"]
    [zone_group] = [g for g in each_stack.of_type(R.ZONE_GROUP) if g.name == "ml-workspace-workspace-dns"]
    for cluster in each_stack.of_type(R.COMPUTE):
        assert pe.urn in cluster.dependencies and zone_group.urn in cluster.dependencies
    assert violations(each_stack, "compute-after-workspace-private-endpoint") == []


def test_compute_order_check_can_fail(prod: StackRun):
    broken = changed(run_views(prod), lambda r: r.type == R.COMPUTE,
                     lambda r: dataclasses.replace(r, dependencies=tuple(d for d in r.dependencies if "PrivateEndpoint" not in d)))
    assert len(violations(broken, "compute-after-workspace-private-endpoint")) == 2


# ---- Jump host and agents --------------------------------------------------------------------
def test_vms_ssh_keys_only_and_no_public_ip(each_stack: StackRun):
    vms = each_stack.of_type(R.VM)
    assert len(vms) == 1 + (2 if each_stack.stack == "prod" else 1)
    for vm in vms:
        linux = vm.input("osProfile.linuxConfiguration")
        assert linux["disablePasswordAuthentication"] is True
        assert "adminPassword" not in vm.input("osProfile")
        [key] = linux["ssh"]["publicKeys"]
        assert key["keyData"].startswith("ssh-ed25519 ")
    assert violations(each_stack, "vm-ssh-keys-only") == []


def test_every_vm_encrypts_at_the_host(each_stack: StackRun):
    vms = each_stack.of_type(R.VM)
    assert vms and all(vm.input("securityProfile.encryptionAtHost") is True for vm in vms)
    assert violations(each_stack, "vm-encryption-at-host") == []
    off = changed(run_views(each_stack), lambda r: r.type == R.VM and "agent" in r.name,
                  securityProfile__encryptionAtHost=DELETE)
    assert [v.urn for v in violations(off, "vm-encryption-at-host")] == [vm.urn for vm in vms if "agent" in vm.name]


@pytest.mark.parametrize("props", [
    {"osProfile__linuxConfiguration__disablePasswordAuthentication": False},
    {"osProfile__adminPassword": "Hunter2!Hunter2!"},
])
def test_vm_password_check_can_fail(prod: StackRun, props: dict):
    assert violations(changed(run_views(prod), lambda r: r.type == R.VM, **props), "vm-ssh-keys-only")


def test_jump_host_and_agents_live_in_the_bastion_vnet(prod: StackRun):
    subnets = {nic.input("networkInterfaceName"): nic.input("ipConfigurations")[0]["subnet"]["id"] for nic in prod.of_type(R.NIC)}
    assert subnets["nic-vm-jump-mlops-prod"].endswith("/virtualNetworks/vnet-bastion-mlops-prod/subnets/snet-jump-host")
    agents = [s for name, s in subnets.items() if "agent" in name]
    assert len(agents) == 2 and all(s.endswith("/subnets/snet-agents") for s in agents)


def test_agents_are_replaced_when_their_custom_data_changes(each_stack: StackRun):
    """Azure refuses to update custom data in place: the agents' VMs are replaced instead (the
    registration service re-registers them with --replace)."""
    agents = [vm for vm in each_stack.of_type(R.VM) if "agent" in vm.name]
    assert agents
    for vm in agents:
        assert vm.replace_on_changes == ["osProfile.customData"] and vm.delete_before_replace
        # The NIC (a resource of this program) survives the VM's deletion, for the new VM to attach.
        [nic] = vm.input("networkProfile.networkInterfaces")
        assert nic["deleteOption"] == "Detach"
    [jump_host] = [vm for vm in each_stack.of_type(R.VM) if "agent" not in vm.name]
    assert jump_host.replace_on_changes == [] and not jump_host.delete_before_replace


def test_agent_count_zero_creates_no_agent_resources(prod, run_with):
    # prod with agents.count 0 and no token (its TLS secrets only), among other switches (tests/variants.py).
    assert [r for r in prod.resources if "ci-agents" in r.urn], "prod has agents: their absence below is the switch's"
    run = variants.prod_opened(run_with)
    assert "isolated-mlops:agentRegistrationToken" not in run.config
    assert run.error is None, "no token is needed without agents"
    assert not [r for r in run.resources if "ci-agents" in r.urn]
    assert run.exports["agentPool"]["vmNames"] == []


# ---- The registration token ------------------------------------------------------------------
# Where the token lands is read twice: in dev_china (tests/variants.py), whose token is a value no
# other secret has, so that finding it names the token; and in prod, which serves models and so has
# more resources a token could leak into, whose run the engine gave one placeholder for every secret
# (the token and the TLS certificate and key; run_stack's default): finding it there names a secret,
# if not which one (the Key Vault secret below holds it: the registration token's).
@pytest.fixture
def dev_china(run_with) -> StackRun:
    run = variants.dev_china(run_with)
    assert run.error is None
    return run


def _every_plain_string(run: StackRun):
    """Every string the engine or a reader of the preview would see in plain text."""
    for r in run.resources:
        yield from _strings(r.masked_inputs)
        if r.type != R.KEY_VAULT_SECRET:  # its state is secret because its input is (the mock echoes it)
            yield from _strings(r.outputs)
    yield from _strings(run.exports)
    yield from run.logs


def _strings(value):
    if isinstance(value, str):
        yield value
        if len(value) > 40:
            try:  # custom data is base64: look inside it too
                yield base64.b64decode(value, validate=True).decode(errors="ignore")
            except ValueError:
                pass
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def test_token_lands_only_in_key_vault_as_a_secret(dev_china: StackRun, prod: StackRun):
    for run, token in ((dev_china, TOKEN), (prod, SECRET_PLACEHOLDER)):
        holders = [r for r in run.resources if token in json.dumps(r.inputs)]
        assert [r.type for r in holders] == [R.KEY_VAULT_SECRET], run.stack
        [secret] = holders
        assert secret.secret_paths == ["properties.value"]
        assert secret.masked_inputs["properties"]["value"] == MASK
        assert secret.input("secretName") == REGISTRATION_SECRET_NAME
        assert violations(run, "key-vault-secret-is-secret") == []


def test_the_secret_expires_with_the_token(prod: StackRun, prod_extended: StackRun):
    """agents.tokenExpiresOn (2027-03-01 in the stack file) becomes the secret's `exp`: seconds at 00:00 UTC."""
    [secret] = prod.of_type(R.KEY_VAULT_SECRET)
    assert secret.input("properties.attributes.expires") == 1803859200  # 2027-03-01T00:00:00Z
    assert violations(prod, "key-vault-secret-expires") == []
    later = prod_extended  # agents.tokenExpiresOn: 2027-09-30, among other switches (tests/variants.py)
    [secret] = later.of_type(R.KEY_VAULT_SECRET)
    assert secret.input("properties.attributes.expires") == 1822262400  # 2027-09-30T00:00:00Z
    no_expiry = changed(run_views(prod), lambda r: r.type == R.KEY_VAULT_SECRET, properties__attributes=DELETE)
    assert violations(no_expiry, "key-vault-secret-expires")


def test_token_never_in_plain_text(dev_china: StackRun, prod: StackRun):
    for run, token in ((dev_china, TOKEN), (prod, SECRET_PLACEHOLDER)):
        leaks = [s for s in _every_plain_string(run) if token in s]
        assert leaks == [], run.stack


@pytest.mark.parametrize("token", [TOKEN, SECRET_PLACEHOLDER])
def test_plain_text_scan_can_fail(prod: StackRun, token: str):
    """The scan above must see custom data: a token rendered into cloud-init would be found."""
    leaked = dataclasses.replace(prod, resources=[*prod.resources])
    vm = next(r for r in leaked.resources if r.type == R.VM)
    leaked.resources[leaked.resources.index(vm)] = dataclasses.replace(
        vm, masked_inputs={**vm.masked_inputs, "osProfile": {
            "customData": base64.b64encode(f"#!/bin/bash\nTOKEN={token}\n".encode()).decode()}})
    assert any(token in s for s in _every_plain_string(leaked))


def test_custom_data_reads_the_token_from_key_vault(prod: StackRun):
    """Custom data installs the registration service; its configuration names where the secret is."""
    [vault] = prod.of_type(R.KEY_VAULT)
    # The agents' identity (the clusters have their own, for AcrPull).
    [identity] = [r for r in prod.resources
                  if r.type == "azure-native:managedidentity:UserAssignedIdentity" and r.name.startswith("ci-agents")]
    for vm in [v for v in prod.of_type(R.VM) if "agent" in v.name]:
        assert "osProfile.customData" not in vm.secret_paths
        document = base64.b64decode(vm.input("osProfile.customData")).decode()
        assert document.startswith("#cloud-config\n")
        files = {f["path"]: f["content"] for f in parse_yaml(document)["write_files"]}
        config = json.loads(files[CONFIG_PATH])
        assert config["vault_url"] == f"https://{vault.input('vaultName')}.vault.azure.net"
        assert config["secret_name"] == REGISTRATION_SECRET_NAME
        assert config["identity_client_id"] == identity.outputs["clientId"]
        assert config["key_vault_resource"] == "https://vault.azure.net"
        assert "169.254.169.254/metadata/identity/oauth2/token" in files[PROGRAM_PATH]
        assert "--token" not in document, "a token on a command line is visible in ps"
    assert violations(prod, "no-secret-in-vm-boot-data") == []


def test_secret_in_custom_data_is_caught(prod: StackRun):
    broken = changed(run_views(prod), lambda r: r.type == R.VM and "agent" in r.name,
                     lambda r: dataclasses.replace(r, secret_paths=("osProfile.customData",)))
    assert violations(broken, "no-secret-in-vm-boot-data")
    plain = changed(run_views(prod), lambda r: r.type == R.KEY_VAULT_SECRET,
                    lambda r: dataclasses.replace(r, secret_paths=()))
    assert violations(plain, "key-vault-secret-is-secret")


def test_agent_identity_can_read_secrets_of_that_one_vault_only(prod: StackRun):
    [identity] = [r for r in prod.of_type(R.IDENTITY) if r.input("resourceName").startswith("id-agents-")]
    [vault] = prod.of_type(R.KEY_VAULT)
    assignments = [r for r in prod.of_type(R.ROLE_ASSIGNMENT)
                   if r.property_dependencies.get("principalId") == [identity.urn]]  # the registry users' are literal ids
    assert len(assignments) == 1
    [assignment] = assignments
    assert assignment.input("scope") == vault.id
    assert assignment.input("roleDefinitionId").endswith(f"/roleDefinitions/{KEY_VAULT_SECRETS_USER_ROLE_ID}")
    assert assignment.input("principalId") == identity.outputs["principalId"]
    assert assignment.input("principalType") == "ServicePrincipal"
    for vm in [v for v in prod.of_type(R.VM) if "agent" in v.name]:
        assert vm.input("identity.userAssignedIdentities") == [identity.id]
        assert assignment.urn in vm.dependencies, "the VM must boot after its role exists"


def test_agents_need_the_token(run_with):
    run = run_with("prod", lambda v: None, secrets=TLS_ONLY)
    assert isinstance(run.error, Exception)
    assert "agentRegistrationToken" in str(run.error)


def test_github_runner_flavour():
    config = render_config(AgentBootstrap(kind="github", vault_host="kv.vault.azure.net",
                                          key_vault_resource="https://vault.azure.net", secret_name="s", identity_client_id="c",
                                          url="https://github.com/contoso/ml", pool="", labels=("aml", "private")))
    assert config["github_registration_url"] == "https://api.github.com/repos/contoso/ml/actions/runners/registration-token"
    assert config["labels"] == ["aml", "private"] and config["install_dir"] == "/opt/actions-runner"
    assert github_api_registration_endpoint("https://ghe.contoso.com/platform").startswith("https://ghe.contoso.com/api/v3/orgs/")
    with pytest.raises(ValueError):
        github_api_registration_endpoint("https://github.com/a/b/c")
