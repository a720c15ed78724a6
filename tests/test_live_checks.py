"""`python -m live preflight` and `verify` against a local HTTPS double of ARM (tests/arm_double.py).

Every check is shown to find its problem (and to stay quiet on a healthy subscription); the client is
shown to be read-only, to wait out throttling as ARM asks, to name the permission it lacks, and never
to let the access token reach the output or the logs.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from isolated_mlops.components.config import validate
from isolated_mlops.components.zones import CLOUDS
from live import preflight, verify
from live.__main__ import main
from live.arm import ArmClient, ReadOnlyViolation
from live.plan import Plan, plan_from
from offline.engine import StackRun, default_secrets, stack_values
from tests.arm_double import (ACCESS_TOKEN, IDENTITY_HEADER, ArmDouble, Subscription, compute_usage, make_certificate,
                              ml_total, ml_usage, vm_sku)

SUFFIX = "abcde"


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def servers(certificate: tuple[Path, Path]) -> Iterator[ArmDouble]:
    """The double's two servers, started once per session: each test gets them with an empty
    subscription and no requests recorded (`double`)."""
    d = ArmDouble(Subscription(), *certificate)
    yield d
    d.close()


@pytest.fixture
def double(servers: ArmDouble, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[ArmDouble]:
    d = servers
    d.reset(Subscription())
    # azure-identity's own managed identity path (App Service protocol) asks the token double; the
    # checks' HTTPS client trusts the double's certificate. Nothing else may answer for a credential.
    for variable in ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE",
                     "AZURE_USERNAME", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT", "IDENTITY_SERVER_THUMBPRINT",
                     "AZURE_SUBSCRIPTION_ID", "ARM_SUBSCRIPTION_ID"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("IDENTITY_ENDPOINT", d.token_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", IDENTITY_HEADER)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
    yield d
    # Read-only, end to end: whatever a test made the checks do, the double saw reads only.
    for r in d.requests:
        assert r.method == "GET" or (r.method == "POST" and r.path.endswith("/checkNameAvailability")), \
            f"the checks only read, yet sent {r.method} {r.path}"


def config_of(stack: str):
    secrets = default_secrets()
    return validate({**secrets, **stack_values(stack)}, stack, secret_keys=set(secrets))


@pytest.fixture(scope="session")
def prod_plan(prod: StackRun) -> Plan:
    return plan_from(prod, config_of("prod"))


_SIGNED_IN: dict[str, Any] = {}


def client_for(double: ArmDouble, sleeps: list[float] | None = None) -> ArmClient:
    """The checks' client, on one HTTPS session and one credential for the whole session, as one
    `python -m live` run has: a TLS handshake and a sign-in cost ~10 ms, the tests make ~20 clients.
    Signing in through azure-identity is its own test (main builds its credential and session)."""
    from azure.identity import DefaultAzureCredential

    if not _SIGNED_IN:
        _SIGNED_IN.update(credential=DefaultAzureCredential(exclude_interactive_browser_credential=True),
                          session=requests.Session())
    recorded = sleeps if sleeps is not None else []
    return ArmClient(double.endpoint, _SIGNED_IN["credential"], session=_SIGNED_IN["session"],
                     sleep=recorded.append)


def families(plan: Plan) -> dict[str, tuple[str, str]]:
    """size -> (Compute SKU family, the words Azure ML's usage names use), one made-up family each."""
    sizes = sorted({str(u.size) for u in plan.sizes})
    return {size: (f"standardTest{i}Family", f"Standard Test{i} Family") for i, size in enumerate(sizes)}


def healthy(double: ArmDouble, plan: Plan) -> Subscription:
    s = double.subscription
    fam = families(plan)
    s.skus = [vm_sku(size, family, 4, plan.location) for size, (family, _) in fam.items()]
    s.skus.append(vm_sku("Standard_Other_v9", "standardOtherFamily", 2, plan.location))
    s.ml_usages = [ml_total("Dedicated", 0, 1000), ml_total("LowPriority", 0, 1000)]
    s.ml_usages += [ml_usage(words, kind, 0, 500) for _, words in fam.values() for kind in ("Dedicated", "LowPriority")]
    s.compute_usages = [compute_usage("cores", 10, 350)] + [compute_usage(family, 0, 100) for family, _ in fam.values()]
    s.vnets = [{"id": f"/subscriptions/{s.id}/resourceGroups/rg-hub/providers/Microsoft.Network/virtualNetworks/vnet-hub",
                "name": "vnet-hub", "properties": {"addressSpace": {"addressPrefixes": ["192.168.0.0/16"]}}}]
    return s


def run_preflight(double: ArmDouble, plan: Plan, suffix: str | None = SUFFIX, sleeps=None,
                  checks=preflight.CHECKS) -> list[preflight.Problem]:
    """`checks`: a test whose subscription differs from a healthy one only in what one check reads
    runs that check alone (a whole preflight is ~23 requests); the healthy, all-problems, paging and
    CLI tests run them all."""
    return preflight.run(preflight.Context(client_for(double, sleeps), double.subscription.id, plan, suffix),
                         checks)


def checks_of(problems: list[preflight.Problem]) -> list[str]:
    return sorted({p.check for p in problems})


# --------------------------------------------------------------------------------------------
# preflight
# --------------------------------------------------------------------------------------------
def test_a_healthy_subscription_passes_preflight(double: ArmDouble, prod_plan: Plan):
    healthy(double, prod_plan)
    assert run_preflight(double, prod_plan) == []
    # Each check really asked: providers, SKUs, both quotas, names, deleted vaults, VNets, permissions.
    paths = " ".join(r.path.lower() for r in double.requests)
    for fragment in ("/providers/microsoft.machinelearningservices", "/microsoft.compute/skus", "/usages",
                     "checknameavailability", "deletedvaults", "virtualnetworks", "authorization/permissions"):
        assert fragment in paths, fragment


def test_every_problem_is_reported_in_one_run(double: ArmDouble, prod_plan: Plan):
    s = healthy(double, prod_plan)
    fam = families(prod_plan)
    clusters = [u for u in prod_plan.sizes if u.cluster]
    restricted, short = clusters[0], clusters[-1]
    assert restricted.size != short.size, "prod has two cluster sizes"
    s.providers["Microsoft.MachineLearningServices"] = "NotRegistered"
    s.skus = [vm_sku(k, f, 4, prod_plan.location, "NotAvailableForSubscription" if k == restricted.size else None)
              for k, (f, _) in fam.items()]
    s.ml_usages = [u for u in s.ml_usages if fam[str(short.size)][1] not in u["name"]["value"]]
    s.ml_usages.append(ml_usage(fam[str(short.size)][1], "Dedicated", 0, 8))
    # A workspace's own usage of the family, listed under the same name, is not the regional quota.
    s.ml_usages.append({**ml_usage(fam[str(short.size)][1], "Dedicated", 0, 10_000),
                        "type": "Microsoft.MachineLearningServices/workspaces/usages"})
    storage = prod_plan.suffixed_name("storage_account", SUFFIX)
    vault = prod_plan.suffixed_name("key_vault", SUFFIX)
    s.taken_names[storage] = "AlreadyExists"
    s.deleted_vaults = [{"name": vault, "properties": {"deletionDate": "2026-11-20T00:00:00Z",
                                                       "scheduledPurgeDate": "2027-02-18T00:00:00Z",
                                                       "purgeProtectionEnabled": True}}]
    vnet_name, prefix, key = prod_plan.address_spaces[0]
    s.vnets.append({"id": f"/subscriptions/{s.id}/resourceGroups/rg-other/providers/Microsoft.Network/virtualNetworks/v",
                    "name": "vnet-legacy", "properties": {"addressSpace": {"addressPrefixes": [prefix]}}})
    s.permissions = [{"actions": ["*/read", "Microsoft.Resources/*"], "notActions": []}]

    problems = run_preflight(double, prod_plan)
    lines = "\n".join(p.line() for p in problems)
    assert "provider: Microsoft.MachineLearningServices: is NotRegistered" in lines
    assert f"({restricted.size}): is restricted for this subscription" in lines
    assert f"the clusters may scale to {short.instances * 4} vCPUs, 8 are left" in lines
    assert f"storage account {storage}: is taken (AlreadyExists" in lines
    assert f"key vault {vault}: is soft-deleted" in lines and "2027-02-18" in lines
    assert f"address-space: {key} {prefix}: overlaps {prefix} of VNet vnet-legacy" in lines
    assert "role-assignment" in lines and "Microsoft.Authorization/roleAssignments/write" in lines
    assert checks_of(problems) == ["address-space", "ml-quota", "name", "provider", "role-assignment", "vm-size"]


def test_a_size_the_region_does_not_offer_is_named(double: ArmDouble, prod_plan: Plan):
    s = healthy(double, prod_plan)
    missing = next(u for u in prod_plan.sizes if u.cluster)
    uses = [u for u in prod_plan.sizes if u.size == missing.size]
    s.skus = [k for k in s.skus if k["name"] != missing.size]
    problems = run_preflight(double, prod_plan, checks=[preflight.vm_sizes])
    assert [p.subject for p in problems] == [
        f"{'cluster' if u.cluster else 'VM'} {u.owner} ({u.size})" for u in uses]
    assert "is not offered in westeurope" in problems[0].message


def test_regional_vm_quota_short_for_the_vms(double: ArmDouble, prod_plan: Plan):
    s = healthy(double, prod_plan)
    vms = [u for u in prod_plan.sizes if not u.cluster]
    s.compute_usages = [compute_usage("cores", 348, 350)] + s.compute_usages[1:]
    problems = run_preflight(double, prod_plan, checks=[preflight.vm_sizes])
    assert [p.line() for p in problems] == [
        f"vm-quota: regional vCPUs in westeurope: the VMs need {4 * len(vms)} vCPUs, 2 are left. "
        "Request a quota increase (az quota / portal: Quotas), or use smaller sizes"]


def test_a_new_stack_skips_name_checks_but_an_existing_one_owns_its_names(double: ArmDouble, prod_plan: Plan):
    s = healthy(double, prod_plan)
    storage = prod_plan.suffixed_name("storage_account", SUFFIX)
    s.taken_names[storage] = "AlreadyExists"
    assert run_preflight(double, prod_plan, suffix=None, checks=[preflight.names]) == []
    assert not any("checknameavailability" in r.path.lower() for r in double.requests)
    # Taken by the stack's own account (already deployed): not a conflict.
    group = prod_plan.suffixed_name("resource_group", SUFFIX)
    account_id = f"/subscriptions/{s.id}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/{storage}"
    s.resources[account_id.lower()] = {"id": account_id, "name": storage, "type": "Microsoft.Storage/storageAccounts"}
    assert run_preflight(double, prod_plan, checks=[preflight.names]) == []
    assert any("checknameavailability" in r.path.lower() for r in double.requests)


def test_encryption_at_host_needs_its_feature(double: ArmDouble, prod_plan: Plan):
    s = healthy(double, prod_plan)
    s.features["Microsoft.Compute/EncryptionAtHost"] = "NotRegistered"
    with_feature = dataclasses.replace(prod_plan, encryption_at_host=True)
    problems = run_preflight(double, with_feature, checks=[preflight.providers])
    assert [p.subject for p in problems] == ["Microsoft.Compute/EncryptionAtHost"]
    assert "az feature register --namespace Microsoft.Compute --name EncryptionAtHost" in problems[0].fix
    assert run_preflight(double, dataclasses.replace(prod_plan, encryption_at_host=False),
                         checks=[preflight.providers]) == []


def test_throttling_waits_as_long_as_retry_after_says(double: ArmDouble, prod_plan: Plan):
    s = healthy(double, prod_plan)
    s.throttle["/providers/Microsoft.Compute/skus"] = 2
    s.retry_after = "3"
    sleeps: list[float] = []
    assert run_preflight(double, prod_plan, sleeps=sleeps, checks=[preflight.vm_sizes]) == []
    assert sleeps == [3.0, 3.0]
    assert sum(1 for r in double.requests if r.path.endswith("/skus")) == 3


def test_throttling_that_does_not_end_is_a_problem_not_a_hang(double: ArmDouble, prod_plan: Plan):
    s = healthy(double, prod_plan)
    s.throttle["/providers/Microsoft.Compute/skus"] = 99
    problems = run_preflight(double, prod_plan, checks=[preflight.vm_sizes])
    assert [p.check for p in problems] == ["vm-size"]
    assert "still throttled (HTTP 429)" in problems[0].message


def test_permission_denied_names_the_permission(double: ArmDouble, prod_plan: Plan):
    s = healthy(double, prod_plan)
    s.forbidden.add("/providers/Microsoft.Compute/skus")
    problems = run_preflight(double, prod_plan, checks=[preflight.vm_sizes])
    assert len(problems) == 1
    assert "may not list VM sizes (Microsoft.Compute/skus/read) (HTTP 403: AuthorizationFailed)" in problems[0].message
    assert "Reader" in problems[0].fix


def test_paged_lists_are_read_to_the_end(double: ArmDouble, prod_plan: Plan):
    s = healthy(double, prod_plan)
    s.page_size = 2
    _, prefix, key = prod_plan.address_spaces[-1]
    s.vnets = [{"id": f"/subscriptions/{s.id}/resourceGroups/rg-{i}/providers/Microsoft.Network/virtualNetworks/v{i}",
                "name": f"v{i}", "properties": {"addressSpace": {"addressPrefixes": [f"172.16.{i}.0/24"]}}}
               for i in range(5)]
    s.vnets[-1]["properties"]["addressSpace"]["addressPrefixes"] = [prefix]
    problems = run_preflight(double, prod_plan)
    assert [p.subject for p in problems] == [f"{key} {prefix}"]


# --------------------------------------------------------------------------------------------
# read-only, and the token stays inside
# --------------------------------------------------------------------------------------------
# End to end, the `double` fixture asserts after every test that the checks sent only reads.
def test_the_client_refuses_a_write_before_sending_it(double: ArmDouble):
    client = client_for(double)
    for method in ("PUT", "PATCH", "DELETE"):
        with pytest.raises(ReadOnlyViolation):
            client._send(method, "/subscriptions/x/resourceGroups/rg", "2021-04-01", "write")
    with pytest.raises(ReadOnlyViolation):
        client.check_name("/subscriptions/x/providers/Microsoft.KeyVault/vaults/kv/purge", "2023-07-01", "purge", {})
    assert double.requests == []


def test_a_next_link_to_another_host_is_not_followed(double: ArmDouble):
    from live.arm import ArmError

    client = client_for(double)
    with pytest.raises(ArmError, match="another host: example.com"):
        client._send("GET", "https://example.com/steal", None, "read")


def test_sign_in_goes_through_azure_identity_and_the_token_never_shows(
        double: ArmDouble, prod_plan: Plan, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
        prod, monkeypatch):
    # main runs the program as `run_stack("prod")`: the session's `prod` fixture is that very call, made
    # once per session (a run costs half a second), so it stands in for main's own here and below.
    import offline.engine

    asked: list[tuple] = []
    monkeypatch.setattr(offline.engine, "run_stack", lambda *args, **kwargs: asked.append((args, kwargs)) or prod)
    s = healthy(double, prod_plan)
    s.providers["Microsoft.Network"] = "Unregistered"
    s.forbidden.add("/deletedVaults")
    caplog.set_level(logging.DEBUG)
    code = main(["preflight", "--stack", "prod", "--subscription", s.id, "--arm-endpoint", double.endpoint,
                 "--name-suffix", SUFFIX])
    out, err = capsys.readouterr()
    assert code == 1
    assert "provider: Microsoft.Network: is Unregistered" in out and "deleted Key Vaults" in out
    assert out.strip().splitlines()[-1].startswith("preflight of prod in westeurope: 2 problem(s)")
    # azure-identity's managed identity credential asked the token double for ARM's audience.
    assert double.token_requests and double.token_requests[0].query["resource"] == [double.endpoint]
    assert all(r.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}" for r in double.requests)
    for text in (out, err, caplog.text):
        assert ACCESS_TOKEN not in text and IDENTITY_HEADER not in text
    assert asked == [(("prod",), {})], "main runs the stack file as it is, as the session's prod run did"


def test_json_output_for_ci(double: ArmDouble, prod_plan: Plan, capsys: pytest.CaptureFixture[str], prod, monkeypatch):
    # The session's run of prod stands in for main's own (as in the test above).
    import offline.engine

    monkeypatch.setattr(offline.engine, "run_stack", lambda stack: prod if stack == "prod" else pytest.fail(stack))
    s = healthy(double, prod_plan)
    s.providers["Microsoft.KeyVault"] = "Registering"
    code = main(["preflight", "--stack", "prod", "--subscription", s.id, "--arm-endpoint", double.endpoint, "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    assert document["problems"] == [{"check": "provider", "subject": "Microsoft.KeyVault",
                                     "message": "is Registering in this subscription",
                                     "fix": "Run: az provider register --namespace Microsoft.KeyVault"}]


def test_usage_errors_exit_2_with_one_line(double: ArmDouble, capsys: pytest.CaptureFixture[str]):
    assert main(["preflight", "--stack", "prod"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: no subscription: pass --subscription or set AZURE_SUBSCRIPTION_ID or ARM_SUBSCRIPTION_ID")
    assert main(["preflight", "--stack", "nope", "--subscription", "s"]) == 2
    assert "no stack file Pulumi.nope.yaml (stacks here: " in capsys.readouterr().err


def test_every_cloud_names_its_resource_manager():
    assert {name: c.resource_manager for name, c in CLOUDS.items()} == {
        "AzureCloud": "https://management.azure.com",
        "AzureUSGovernment": "https://management.usgovcloudapi.net",
        "AzureChinaCloud": "https://management.chinacloudapi.cn"}


def test_every_resource_type_the_stacks_create_maps_to_a_provider(runs: dict[str, StackRun]):
    for stack, run in runs.items():
        assert plan_from(run, config_of(stack)).unmapped_types == [], stack
    plan = plan_from(runs["prod"], config_of("prod"))
    assert {"Microsoft.MachineLearningServices", "Microsoft.Network", "Microsoft.Compute"} <= plan.providers


def test_each_address_space_names_the_stack_file_key_that_sets_it(prod_plan: Plan):
    """The VNets are told apart by their planned names (components/plan.py), not by re-built templates."""
    assert sorted((name, key) for name, _, key in prod_plan.address_spaces) == [
        ("vnet-aml-mlops-prod", "network.amlVnet.addressSpace"),
        ("vnet-bastion-mlops-prod", "network.bastionVnet.addressSpace")]
    assert prod_plan.suffixed_name("storage_account", "abcde") == "stmlopsprodabcde"


# --------------------------------------------------------------------------------------------
# verify
# --------------------------------------------------------------------------------------------
GROUP = "rg-mlops-prod-abcde"


def healthy_platform(double: ArmDouble, run: StackRun) -> tuple[dict[str, list[str]], str]:
    """The resource group as a successful `pulumi up` leaves it, and what this VM's DNS answers."""
    s = double.subscription
    group = f"/subscriptions/{s.id}/resourceGroups/{GROUP}"
    endpoints = []
    for i, pe in enumerate(run.of_type(verify.PRIVATE_ENDPOINT)):
        endpoints.append({"name": pe.input("privateEndpointName"), "properties": {"privateLinkServiceConnections": [
            {"name": f"conn{i}", "properties": {"privateLinkServiceConnectionState": {"status": "Approved"}}}]}})
    s.lists[f"{group}/providers/microsoft.network/privateendpoints".lower()] = endpoints
    s.lists[f"{group}/providers/microsoft.network/privatednszones".lower()] = [
        {"name": "privatelink.blob.core.windows.net"}, {"name": "privatelink.api.azureml.ms"}]
    s.lists[f"{group}/providers/microsoft.network/privatednszones/privatelink.blob.core.windows.net/a".lower()] = [
        {"name": "stmlopsprodabcde", "properties": {"aRecords": [{"ipv4Address": "10.10.0.4"}]}}]
    s.lists[f"{group}/providers/microsoft.network/privatednszones/privatelink.api.azureml.ms/a".lower()] = [
        {"name": "1234.workspace.westeurope", "properties": {"aRecords": [{"ipv4Address": "10.10.0.5"}]}},
        {"name": "*.1234.inference.westeurope", "properties": {"aRecords": [{"ipv4Address": "10.10.0.6"}]}}]
    dns = {"stmlopsprodabcde.blob.core.windows.net": ["10.10.0.4"],
           "1234.workspace.westeurope.api.azureml.ms": ["10.10.0.5"]}
    for arm_type, _, props, token in verify.PUBLIC_ACCESS:
        name = arm_type.split("/")[-1]
        rid = f"{group}/providers/{arm_type}/{name}"
        # As Azure reports a resource the program created: what it declared.
        declared = run.of_type(token)[0]
        properties: dict = {p: declared.input(p, declared.input(f"properties.{p}")) for p in props}
        assert all(properties.values()), (token, properties)
        if arm_type == verify.STORAGE_ACCOUNTS:
            properties["networkAcls"] = {**declared.input("networkRuleSet"), "ipRules": [], "virtualNetworkRules": []}
        s.resources[rid.lower()] = {"id": rid, "name": name, "type": arm_type, "properties": properties}
    workspace = run.of_type("azure-native:machinelearningservices:Workspace")[0].input("workspaceName")
    s.lists[f"{group}/providers/microsoft.machinelearningservices/workspaces/{workspace}/datastores".lower()] = [
        {"name": n} for n in ("workspaceblobstore", "workspacefilestore", "workspaceartifactstore")]
    return dns, group


def run_verify(double: ArmDouble, run: StackRun, dns: dict[str, list[str]], group: str) -> list[preflight.Problem]:
    return verify.run(verify.Target(client_for(double), double.subscription.id, GROUP, run,
                                    resolve=lambda host: dns.get(host, [])))


def test_a_healthy_platform_verifies(double: ArmDouble, prod: StackRun):
    assert run_verify(double, prod, *healthy_platform(double, prod)) == []


def test_verify_finds_what_is_broken(double: ArmDouble, prod: StackRun):
    dns, group = healthy_platform(double, prod)
    s = double.subscription
    endpoints = s.lists[f"{group}/providers/microsoft.network/privateendpoints".lower()]
    endpoints[0]["properties"]["privateLinkServiceConnections"][0]["properties"][
        "privateLinkServiceConnectionState"] = {"status": "Pending", "description": "awaiting approval"}
    dns["stmlopsprodabcde.blob.core.windows.net"] = ["20.60.1.1"]       # a public IP: zone not linked
    del dns["1234.workspace.westeurope.api.azureml.ms"]
    vault = next(r for k, r in s.resources.items() if "microsoft.keyvault/vaults" in k)
    vault["properties"]["publicNetworkAccess"] = "Enabled"
    storage = next(r for k, r in s.resources.items() if "storageaccounts" in k)
    storage["properties"]["networkAcls"]["defaultAction"] = "Allow"
    storage["properties"]["networkAcls"]["ipRules"] = [{"value": "203.0.113.0/24", "action": "Allow"}]
    workspace = prod.of_type("azure-native:machinelearningservices:Workspace")[0].input("workspaceName")
    s.lists[f"{group}/providers/microsoft.machinelearningservices/workspaces/{workspace}/datastores".lower()] = [
        {"name": "workspaceblobstore"}]
    lines = [p.line() for p in run_verify(double, prod, dns, group)]
    assert len(lines) == 7, lines
    assert any("is Pending (awaiting approval)" in line for line in lines)
    assert any("stmlopsprodabcde.blob.core.windows.net: resolves to 20.60.1.1, not to its private endpoint" in line
               for line in lines)
    assert any("1234.workspace.westeurope.api.azureml.ms: does not resolve from this VM" in line for line in lines)
    assert any("vaults publicNetworkAccess: is Enabled in Azure; the stack declares Disabled" in line for line in lines)
    assert any("storageAccounts networkAcls.defaultAction: is Allow in Azure" in line for line in lines)
    assert any("storageAccounts networkAcls.ipRules: admits 1 network(s)" in line for line in lines)
    assert any(f"datastore: {workspace}/workspacefilestore: does not exist" in line for line in lines)


def test_verify_notices_missing_endpoints(double: ArmDouble, prod: StackRun):
    dns, group = healthy_platform(double, prod)
    double.subscription.lists[f"{group}/providers/microsoft.network/privateendpoints".lower()].pop()
    declared = len(prod.of_type(verify.PRIVATE_ENDPOINT))
    assert [p.message for p in run_verify(double, prod, dns, group)] == [
        f"{declared - 1} private endpoints exist, the stack declares {declared}"]


def test_no_sign_in_is_one_line_not_a_traceback(capsys: pytest.CaptureFixture[str], prod, monkeypatch):
    """Without `az login` (or OIDC, or a managed identity) DefaultAzureCredential raises with ~50 lines."""
    import offline.engine
    from azure.core.exceptions import ClientAuthenticationError

    import live.__main__

    class NoSignIn:
        def get_token(self, *scopes: str, **kwargs: object) -> object:
            raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token from the included "
                                            "credentials.\nAttempted credentials:\n\tEnvironmentCredential: ...")

    monkeypatch.setattr(offline.engine, "run_stack", lambda stack: prod if stack == "prod" else pytest.fail(stack))
    monkeypatch.setattr(live.__main__, "_credential", lambda authority_host: NoSignIn())
    for command in (["preflight"], ["verify", "--resource-group", "rg-mlops-prod-abcde"]):
        assert main([*command, "--stack", "prod", "--subscription", "0000"]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and "Traceback" not in err
        assert err.startswith("error: not signed in to Azure (DefaultAzureCredential failed to retrieve a token")
        assert "run `az login`" in err
    # ...and azure-identity's own warning (the same list of credentials) is not printed above it.
    import logging

    monkeypatch.undo()  # the real _credential
    monkeypatch.setattr(logging.getLogger("azure.identity"), "level", logging.NOTSET)  # restored after the test
    live.__main__._credential(CLOUDS["AzureCloud"].authority_host)
    assert logging.getLogger("azure.identity").getEffectiveLevel() == logging.ERROR
