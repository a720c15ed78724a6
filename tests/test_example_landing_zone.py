"""examples/landing_zone_workspace: another program composing the library's components differently.

It runs, unchanged, under the same offline engine as the platform (its own Pulumi.yaml and stack file):
every private endpoint joins the landing zone's EXISTING subnet and resolves in its EXISTING zones,
and the program creates nothing network-level of its own.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import pytest

from offline.engine import StackRun, run_stack, stack_values

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "landing_zone_workspace"
STACK = "lz"
# What a landing zone's platform team owns: the workload must not create any of these.
NETWORK_LEVEL = ("azure-native:network:VirtualNetwork", "azure-native:network:Subnet",
                 "azure-native:network:NetworkSecurityGroup", "azure-native:network:NatGateway",
                 "azure-native:network:PublicIPAddress", "azure-native:network:VirtualNetworkPeering",
                 "azure-native:network:BastionHost", "azure-native:network:RouteTable",
                 "azure-native:privatedns:PrivateZone", "azure-native:privatedns:VirtualNetworkLink")


def run_example(change: Callable[[dict[str, Any]], Any] = lambda v: None) -> StackRun:
    values = copy.deepcopy(stack_values(STACK, EXAMPLE))
    change(values)
    return run_stack(STACK, values=values, secrets={}, project_dir=EXAMPLE)


@pytest.fixture(scope="module")
def example() -> StackRun:
    run = run_example()
    assert run.error is None, run.error
    return run


@pytest.fixture(scope="module")
def given() -> dict[str, Any]:
    return stack_values(STACK, EXAMPLE)


def test_every_endpoint_joins_the_given_subnet(example: StackRun, given: dict[str, Any]) -> None:
    endpoints = example.of_type("azure-native:network:PrivateEndpoint")
    groups = sorted(e.input("privateLinkServiceConnections")[0]["groupIds"][0] for e in endpoints)
    assert groups == ["amlworkspace", "azuremonitor", "blob", "file", "registry", "vault"]
    assert {e.input("subnet.id") for e in endpoints} == {given["privateEndpointSubnetId"]}


def test_every_endpoint_resolves_in_the_given_zones_and_only_those(example: StackRun, given: dict[str, Any]) -> None:
    zone_groups = example.of_type("azure-native:network:PrivateDnsZoneGroup")
    used = {c["privateDnsZoneId"] for g in zone_groups for c in g.input("privateDnsZoneConfigs")}
    assert used == set(given["privateDnsZoneIds"].values()), "every given zone used, no other zone"
    workspace_group = next(g for g in zone_groups if "workspace" in g.name)
    assert len(workspace_group.input("privateDnsZoneConfigs")) == 2, "API and notebooks zones"


def test_nothing_network_level_is_created(example: StackRun, dev: StackRun) -> None:
    created = sorted({r.type for r in example.resources if r.type in NETWORK_LEVEL})
    assert created == []
    # The check sees network resources when there are some: the platform's own program creates them.
    assert {"azure-native:network:VirtualNetwork", "azure-native:privatedns:PrivateZone"} <= {
        r.type for r in dev.resources}


def test_the_workspace_serverless_compute_uses_the_given_subnet_and_logs_go_to_its_workspace(
        example: StackRun, given: dict[str, Any]) -> None:
    [workspace] = example.of_type("azure-native:machinelearningservices:Workspace")
    assert workspace.input("serverlessComputeSettings.serverlessComputeCustomSubnet") == given["serverlessSubnetId"]
    assert workspace.input("publicNetworkAccess") == "Disabled"
    [law] = example.of_type("azure-native:operationalinsights:Workspace")
    settings = example.of_type("azure-native:monitor:DiagnosticSetting")
    assert len(settings) == 4 and {s.input("workspaceId") for s in settings} == {law.id}
    [lock] = example.of_type("azure-native:authorization:ManagementLockByScope")
    assert lock.input("scope") == workspace.id
    assert example.exports["workspaceName"] == "mlw-fraud"


def test_a_missing_zone_or_a_bad_subnet_id_is_refused_by_key_before_anything_is_created() -> None:
    def break_it(values: dict[str, Any]) -> None:
        del values["privateDnsZoneIds"]["privatelink.vaultcore.azure.net"]
        values["privateEndpointSubnetId"] = "snet-private-endpoints"

    run = run_example(break_it)
    assert run.error is not None
    message = str(run.error)
    assert "privateDnsZoneIds: no id for zone privatelink.vaultcore.azure.net (the vault endpoint" in message
    assert "privateEndpointSubnetId: 'snet-private-endpoints' is not a subnet's ARM id" in message
    assert not [r for r in run.resources if r.custom]
