"""The state backend (bootstrap/): locked down, recoverable, protected, and reachable only by role.

The real bootstrap program runs under the same offline engine as the platform, from its own
directory and stack file.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any, Callable

import pytest

from offline.engine import RegisteredResource, StackRun, run_stack, stack_values

BOOTSTRAP = Path(__file__).resolve().parent.parent / "bootstrap"
STACK = "state"
BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"


def run_bootstrap(change: Callable[[dict[str, Any]], Any] = lambda v: None) -> StackRun:
    values = copy.deepcopy(stack_values(STACK, BOOTSTRAP))
    change(values)
    # The bootstrap declares no secret config: no placeholders to hand over.
    return run_stack(STACK, values=values, secrets={}, project_dir=BOOTSTRAP)


@functools.lru_cache(maxsize=None)
def committed_run() -> StackRun:
    """The bootstrap as committed, run once per process: tests/test_delivery_providers.py reads its
    resource types too. Callers only read it."""
    return run_bootstrap()


@pytest.fixture(scope="module")
def state() -> StackRun:
    run = committed_run()
    assert run.error is None, run.error
    return run


def one(run: StackRun, type_token: str) -> RegisteredResource:
    [resource] = run.of_type(type_token)
    return resource


def test_storage_accepts_only_entra_id_over_tls12(state: StackRun) -> None:
    account = one(state, "azure-native:storage:StorageAccount")
    assert account.input("allowSharedKeyAccess") is False, "an account key or SAS must not be able to read state"
    assert account.input("defaultToOAuthAuthentication") is True
    assert account.input("allowBlobPublicAccess") is False
    assert account.input("minimumTlsVersion") == "TLS1_2"
    assert account.input("enableHttpsTrafficOnly") is True
    assert account.input("allowCrossTenantReplication") is False
    assert account.input("kind") == "StorageV2"


def test_every_checkpoint_is_versioned_and_deletes_are_recoverable(state: StackRun) -> None:
    blobs = one(state, "azure-native:storage:BlobServiceProperties")
    assert blobs.input("isVersioningEnabled") is True
    assert blobs.input("deleteRetentionPolicy") == {"enabled": True, "days": 30.0}
    assert blobs.input("containerDeleteRetentionPolicy") == {"enabled": True, "days": 30.0}
    container = one(state, "azure-native:storage:BlobContainer")
    assert container.input("publicAccess") == "None"
    assert container.input("containerName") == "state"


def test_secrets_provider_key_is_rbac_purge_protected_and_encrypt_decrypt_only(state: StackRun) -> None:
    vault = one(state, "azure-native:keyvault:Vault")
    assert vault.input("properties.enableRbacAuthorization") is True
    assert vault.input("properties.enablePurgeProtection") is True
    assert vault.input("properties.enableSoftDelete") is True
    key = one(state, "azure-native:keyvault:Key")
    assert key.input("properties.kty") == "RSA"
    assert key.input("properties.keySize") >= 3072
    assert sorted(key.input("properties.keyOps")) == ["decrypt", "encrypt"]
    assert key.input("properties.rotationPolicy") is None, "a rotated key version cannot decrypt old stacks"


def test_state_and_key_cannot_be_deleted_by_accident(state: StackRun) -> None:
    for type_token in ("azure-native:resources:ResourceGroup", "azure-native:storage:StorageAccount",
                       "azure-native:storage:BlobContainer", "azure-native:keyvault:Vault",
                       "azure-native:keyvault:Key", "random:index/randomString:RandomString"):
        assert all(r.protect for r in state.of_type(type_token)), type_token
    lock = one(state, "azure-native:authorization:ManagementLockByScope")
    assert lock.input("level") == "CanNotDelete"
    assert lock.input("scope") == one(state, "azure-native:storage:StorageAccount").id


def test_access_is_two_roles_at_the_narrowest_scope(state: StackRun) -> None:
    container = one(state, "azure-native:storage:BlobContainer")
    key = one(state, "azure-native:keyvault:Key")
    assignments = state.of_type("azure-native:authorization:RoleAssignment")
    users = stack_values(STACK, BOOTSTRAP)["stateUsers"]
    assert len(assignments) == 2 * (len(users) + 1), "each listed principal and the deployer, two roles each"
    granted: dict[str, set[str]] = {}
    for assignment in assignments:
        role = assignment.input("roleDefinitionId").rsplit("/", 1)[1]
        expected_scope = {BLOB_DATA_CONTRIBUTOR: container.id, CRYPTO_USER: key.id}.get(role)
        assert expected_scope, f"unexpected role {role}"
        assert assignment.input("scope") == expected_scope, "roles on the container and the key, not wider"
        granted.setdefault(assignment.input("principalId"), set()).add(role)
    for user in users:
        assert granted[user["objectId"]] == {BLOB_DATA_CONTRIBUTOR, CRYPTO_USER}
    types = {a.input("principalId"): a.input("principalType") for a in assignments}
    assert all(types[u["objectId"]] == u["type"] for u in users)


def test_outputs_are_the_login_url_and_secrets_provider(state: StackRun) -> None:
    account = one(state, "azure-native:storage:StorageAccount").input("accountName")
    vault = one(state, "azure-native:keyvault:Vault").input("vaultName")
    assert state.exports["backendUrl"] == f"azblob://state?storage_account={account}"
    assert state.exports["secretsProvider"] == f"azurekeyvault://{vault}.vault.azure.net/keys/pulumi-secrets"
    assert len(account) <= 24 and len(vault) <= 24


def test_open_network_by_default_and_deny_all_but_listed_addresses_when_given() -> None:
    def restrict(values: dict[str, Any]) -> None:
        values["allowedIpRanges"] = ["203.0.113.10", "198.51.100.0/24"]

    run = run_bootstrap(restrict)
    assert run.error is None, run.error
    account = one(run, "azure-native:storage:StorageAccount")
    assert account.input("networkRuleSet.defaultAction") == "Deny"
    assert [r["iPAddressOrRange"] for r in account.input("networkRuleSet.ipRules")] == ["203.0.113.10", "198.51.100.0/24"]
    vault = one(run, "azure-native:keyvault:Vault")
    assert vault.input("properties.networkAcls.defaultAction") == "Deny"
    assert [r["value"] for r in vault.input("properties.networkAcls.ipRules")] == ["203.0.113.10", "198.51.100.0/24"]


def test_bad_configuration_is_refused_before_anything_is_created() -> None:
    def break_it(values: dict[str, Any]) -> None:
        values["namePrefix"] = "much-too-long"
        values["stateUsers"] = [{"objectId": "not-a-guid", "type": "ServicePrincipal"}]
        values["allowedIpRanges"] = ["everywhere"]
        values["deployerPrincipalType"] = "Robot"

    run = run_bootstrap(break_it)
    assert run.error is not None
    message = str(run.error)
    for key in ("namePrefix", "stateUsers[0].objectId", "allowedIpRanges[0]", "deployerPrincipalType"):
        assert key in message
    assert not [r for r in run.resources if r.custom], "nothing may be declared from a bad configuration"


def test_the_vault_is_the_librarys_key_vault_and_keeps_its_old_urn(state: StackRun) -> None:
    """bootstrap/ uses the package's KeyVault (no private endpoint: the state exists before any VNet); a
    backend deployed while the vault was a top-level resource keeps it: the vault claims the old URN."""
    vault = one(state, "azure-native:keyvault:Vault")
    assert state.by_urn(vault.parent).type == "mlops:workspace:KeyVault"
    assert f"urn:pulumi:{STACK}::isolated-mlops-state::azure-native:keyvault:Vault::state" in vault.aliases
    assert not state.of_type("azure-native:network:PrivateEndpoint")
    assert vault.input("properties.publicNetworkAccess") == "Enabled"
    assert vault.input("properties.networkAcls.defaultAction") == "Allow", "no addresses listed: open to Entra ID callers"
