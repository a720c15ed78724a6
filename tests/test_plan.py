"""The plan (components/plan.py): what each stack builds, computed once from its stack file, and the
program registering exactly that: every planned subnet, private endpoint, VM and cluster, and no other."""

from __future__ import annotations

import copy
import dataclasses
import re
from collections import Counter
from typing import Any

import pytest

from isolated_mlops.components import plan as planning
from isolated_mlops.components.config import ConfigError
from isolated_mlops.components.plan import Plan
from offline.engine import StackRun, stack_values
from offline.mocks import RESOURCE_KINDS
from tests.helpers import stack_plan

VNET = "azure-native:network:VirtualNetwork"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
VM = "azure-native:compute:VirtualMachine"
NIC = "azure-native:network:NetworkInterface"
COMPUTE = "azure-native:machinelearningservices:Compute"
# The resource type each planned name is given to.
NAMED_TYPES = {
    "resource_group": "azure-native:resources:ResourceGroup",
    "storage_account": "azure-native:storage:StorageAccount",
    "key_vault": "azure-native:keyvault:Vault",
    "container_registry": "azure-native:containerregistry:Registry",
    "ml_workspace": "azure-native:machinelearningservices:Workspace",
    "log_analytics": "azure-native:operationalinsights:Workspace",
    "app_insights": "azure-native:applicationinsights:Component",
    "bastion": "azure-native:network:BastionHost",
    "private_link_scope": "azure-native:monitor:PrivateLinkScope",
    "ml_registry": "azure-native:machinelearningservices:Registry",
    "data_collection_endpoint": "azure-native:monitor:DataCollectionEndpoint",
    "drift_rule": "azure-native:monitor:DataCollectionRule",
}
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"


# ---- The plan of each stack, from its stack file alone (no engine) ----------------------------
def test_the_plan_of_dev():
    plan = stack_plan("dev")
    assert [(s.key, s.name, s.address_prefix, s.addresses) for s in plan.subnets] == [
        ("privateEndpoints", "snet-private-endpoints", "10.110.0.0/24", 3 + 1 + 1 + 1 + 2 + 11),
        ("training", "snet-training", "10.110.2.0/23", 2),
        ("scoring", "snet-scoring", "10.110.4.0/24", 0),
        ("bastion", "AzureBastionSubnet", "10.111.0.0/26", 0),
        ("jumpHost", "snet-jump-host", "10.111.1.0/28", 1),
        ("agents", "snet-agents", "10.111.2.0/27", 1),
    ]
    assert plan.endpoint_group_ids() == ("amlworkspace", "blob", "file", "vault", "registry", "azuremonitor")
    assert plan.endpoint_group_ids("storage") == ("blob", "file")
    assert [(vm.name.value, vm.vm_size, vm.subnet) for vm in plan.vms] == [
        ("vm-jump-mlops-dev", "Standard_B2ls_v2", "jumpHost"), ("vm-agent0-mlops-dev", "Standard_B2s_v2", "agents")]
    assert [(c.name.value, c.max_nodes, c.subnet) for c in plan.clusters] == [("cpu-small", 2, "training")]
    assert plan.names.storage_account.with_suffix("abcde") == "stmlopsdevabcde"
    assert plan.names.resource_group.shown == "rg-mlops-dev-?????"
    assert plan.names.ml_registry is None
    assert [v.name.value for v in plan.vnets] == ["vnet-aml-mlops-dev", "vnet-bastion-mlops-dev"]


def test_the_plan_of_prod():
    plan = stack_plan("prod")
    occupants = {s.key: [(o.kind, o.name, o.addresses) for o in s.occupants] for s in plan.subnets}
    assert occupants["training"] == [("compute nodes", "cpu-build", 4), ("compute nodes", "gpu-train", 8)]
    assert occupants["agents"] == [("agent", "vm-agent0-mlops-prod", 1), ("agent", "vm-agent1-mlops-prod", 1)]
    assert occupants["jumpHost"] == [("jump host", "vm-jump-mlops-prod", 1)]
    assert occupants["bastion"] == []
    # The serving cluster: (5 + 1) nodes + (5 + 1) * 30 pods + its load balancer and API server endpoint.
    assert occupants["scoring"] == [("serving cluster", "aks", 188)]
    # Batch endpoints add queue and table; the model registry its own three (blob and registry again).
    assert Counter(plan.endpoint_group_ids()) == Counter(
        {"blob": 2, "registry": 2, "amlworkspace": 1, "file": 1, "queue": 1, "table": 1, "vault": 1,
         "azuremonitor": 1, "amlregistry": 1})
    assert plan.endpoint_group_ids("model_registry") == ("amlregistry", "blob", "registry")
    assert plan.subnet("privateEndpoints").addresses == 26
    assert plan.names.ml_registry is not None and plan.names.ml_registry.shown == "mlr-mlops-prod-?????"
    assert plan.subnet("jumpHost").ssh_from == plan.subnet("agents").ssh_from == ("bastion",)
    assert [s.key for s in plan.subnets if s.endpoint_client] == ["training", "scoring", "jumpHost", "agents"]


def test_the_plan_follows_the_stack_file():
    """Planned from the values, not fixed: fewer agents, no batch endpoints, another prefix."""
    values = copy.deepcopy(stack_values("prod"))
    values["agents"]["count"] = 0
    values["batchEndpoints"] = False
    values["namePrefix"] = "ml2"
    plan = stack_plan("prod", values)
    assert plan.agents == () and plan.subnet("agents").occupants == ()
    assert plan.endpoint_group_ids("storage") == ("blob", "file")
    assert plan.jump_host.name.value == "vm-jump-ml2-prod"


def test_a_suffixed_name_has_no_value_without_its_suffix():
    with pytest.raises(ValueError, match="random suffix"):
        stack_plan("dev").names.key_vault.value


def test_a_prefix_that_is_no_template_is_planned_and_reported_not_raised():
    """The plan is total: a rejected prefix with braces in it still plans (the check reports it)."""
    plan = stack_plan("dev")
    odd = planning.build(dataclasses.replace(plan.config, name_prefix="a{p}b"))
    assert odd.names.storage_account.with_suffix("x") == "sta{p}bdevx"
    values = {**stack_values("dev"), "namePrefix": "a{p}b"}
    with pytest.raises(ConfigError, match="namePrefix"):
        stack_plan("dev", values)


# ---- The program registers exactly the plan ----------------------------------------------
def differences(run: StackRun, plan: Plan) -> list[str]:
    """Where the run's subnets, endpoints, VMs, clusters and names differ from the plan's."""
    found: list[str] = []

    def compare(what: str, registered: Any, planned: Any) -> None:
        if registered != planned:
            found.append(f"{what}: registered {registered!r}, planned {planned!r}")

    compare("VNets and their subnets",
            {v.input("virtualNetworkName"): (tuple(v.input("addressSpace.addressPrefixes")),
                                             sorted((s["name"], s["addressPrefix"]) for s in v.input("subnets")))
             for v in run.of_type(VNET)},
            {v.name.value: ((v.address_space,), sorted((s.name, s.address_prefix) for s in v.subnets))
             for v in plan.vnets})
    compare("private endpoints (group id, subnet)",
            Counter((pe.input("privateLinkServiceConnections")[0]["groupIds"][0], pe.input("subnet.id").rsplit("/", 1)[1])
                    for pe in run.of_type(PRIVATE_ENDPOINT)),
            Counter((e.group_id, plan.subnet(e.subnet).name) for e in plan.private_endpoints))
    nic_subnet = {n.input("networkInterfaceName"): n.input("ipConfigurations")[0]["subnet"]["id"].rsplit("/", 1)[1]
                  for n in run.of_type(NIC)}
    compare("VMs (name, size, subnet)",
            sorted((vm.input("vmName"), vm.input("hardwareProfile.vmSize"), nic_subnet.get(f"nic-{vm.input('vmName')}"))
                   for vm in run.of_type(VM)),
            sorted((vm.name.value, vm.vm_size, plan.subnet(vm.subnet).name) for vm in plan.vms))
    compare("clusters (name, size, maxNodes, subnet)",
            sorted((c.input("computeName"), c.input("properties.properties.vmSize"),
                    int(c.input("properties.properties.scaleSettings.maxNodeCount")),
                    c.input("properties.properties.subnet.id", "").rsplit("/", 1)[-1])
                   for c in run.of_type(COMPUTE) if c.input("properties.computeType") == "AmlCompute"),
            sorted((c.name.value, c.vm_size, c.max_nodes, plan.subnet(c.subnet).name) for c in plan.clusters))
    [suffix] = [r.outputs["result"] for r in run.resources if r.type.startswith("random:")]
    for field, type_ in NAMED_TYPES.items():
        planned = getattr(plan.names, field)
        compare(f"{field} names", sorted(r.input(RESOURCE_KINDS[type_][0]) for r in run.of_type(type_)),
                [] if planned is None or (field in ("data_collection_endpoint", "drift_rule") and plan.config.alerts is None)
                else [planned.with_suffix(suffix)])
    compare("identities", sorted(r.input("resourceName") for r in run.of_type(IDENTITY)),
            sorted([plan.names.cluster_identity.value] + ([plan.names.agent_identity.value] if plan.agents else [])
                   + ([plan.names.serving_identity.value] if plan.names.serving_identity else [])))
    return found


def test_the_program_registers_exactly_the_plan(each_stack: StackRun):
    assert differences(each_stack, stack_plan(each_stack.stack)) == []


def test_a_run_that_differs_from_its_plan_is_caught(dev: StackRun):
    """The negative control: dev's run against prod's plan differs in every kind compared."""
    found = differences(dev, stack_plan("prod"))
    for what in ("VNets", "private endpoints", "VMs", "clusters", "storage_account", "ml_registry", "identities"):
        assert any(line.startswith(what) for line in found), (what, found)


def test_every_planned_name_is_one_the_program_gives(each_stack: StackRun):
    """Every name the plan checks is a name the program registers (or, for the alerts', could)."""
    registered = {str(v) for r in each_stack.custom_resources() for k, v in r.inputs.items()
                  if isinstance(v, str) and re.fullmatch(r"[a-z]\w*Name|resourceName|computeName", k)}
    [suffix] = [r.outputs["result"] for r in each_stack.resources if r.type.startswith("random:")]
    plan = stack_plan(each_stack.stack)
    optional = {plan.names.notify_action_group, plan.names.retrain_action_group, plan.names.alert_rule_prefix}
    if plan.config.alerts is None:
        optional |= {plan.names.data_collection_endpoint, plan.names.drift_rule}
    missing = [n.with_suffix(suffix) for n in plan.all_names() if n not in optional and n.with_suffix(suffix) not in registered]
    assert missing == []
