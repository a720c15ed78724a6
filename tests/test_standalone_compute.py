"""Each compute/ component built alone, with the least it needs: no stack file, no config types, no __main__."""

from __future__ import annotations

import base64

import pulumi
import pytest

from isolated_mlops.components.interface import ManagedIdentity, RoleAssignmentSpec
from isolated_mlops.components.roles import ACR_PULL, KEY_VAULT_SECRETS_USER, READER
from isolated_mlops.compute.agents import REGISTRATION_SECRET_NAME, CiAgentPool, CiAgentPoolArgs
from isolated_mlops.compute.clusters import ClusterIdentity, ClusterIdentityArgs, ComputeCluster, ComputeClusterArgs
from isolated_mlops.compute.linux_vm import LinuxVirtualMachine, LinuxVirtualMachineArgs
from tests.standalone import LOCATION, RG, SSH_KEY, SUBNET_ID, SUBSCRIPTION, build_alone

IDENTITY_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-x"
VAULT_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/kv-x"
REGISTRY_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.ContainerRegistry/registries/crx"


def _vm(**more) -> LinuxVirtualMachine:
    return LinuxVirtualMachine("vm", LinuxVirtualMachineArgs(
        resource_group_name=RG, location=LOCATION, vm_name="vm-a", vm_size="Standard_D2s_v5", subnet_id=SUBNET_ID,
        admin_username="azureuser", ssh_public_key=SSH_KEY, **more))


def test_a_vm_alone_has_a_private_nic_and_key_login_only():
    built = build_alone(_vm)
    assert built.types() == ["azure-native:compute:VirtualMachine", "azure-native:network:NetworkInterface"]
    nic, vm = built.one("azure-native:network:NetworkInterface"), built.one("azure-native:compute:VirtualMachine")
    assert "publicIPAddress" not in nic.inputs["ipConfigurations"][0]
    linux = vm.inputs["osProfile"]["linuxConfiguration"]
    assert linux["disablePasswordAuthentication"] is True and linux["ssh"]["publicKeys"][0]["keyData"] == SSH_KEY
    assert "identity" not in vm.inputs and not vm.replace_on_changes  # no identity, no custom data asked for
    assert built.resolve(built.value.vm_name) == "vm-a" and built.resolve(built.value.nic_id) == nic.id


@pytest.mark.parametrize("identity, wire_type", [
    (ManagedIdentity(user_assigned_ids=[IDENTITY_ID]), "UserAssigned"),
    (ManagedIdentity(system_assigned=True, user_assigned_ids=[IDENTITY_ID]), "SystemAssigned, UserAssigned"),
])
def test_a_vms_identity_arrives_through_the_common_argument(identity, wire_type):
    vm = build_alone(lambda: _vm(identity=identity)).one("azure-native:compute:VirtualMachine")
    assert vm.inputs["identity"]["type"] == wire_type
    assert vm.inputs["identity"]["userAssignedIdentities"] == [IDENTITY_ID]


def test_a_vm_waits_for_the_components_dependencies_and_custom_data_replaces_it():
    def build():
        gate = pulumi.CustomResource("azure-native:managedidentity:UserAssignedIdentity", "gate",
                                     {"resourceName": "gate", "resourceGroupName": RG})
        return LinuxVirtualMachine("vm", LinuxVirtualMachineArgs(
            resource_group_name=RG, location=LOCATION, vm_name="vm-a", vm_size="Standard_D2s_v5", subnet_id=SUBNET_ID,
            admin_username="azureuser", ssh_public_key=SSH_KEY, custom_data="I2Nsb3VkLWNvbmZpZwo=", protect=True),
            opts=pulumi.ResourceOptions(depends_on=[gate]))
    built = build_alone(build)
    gate = built.one("azure-native:managedidentity:UserAssignedIdentity")
    vm, nic = built.one("azure-native:compute:VirtualMachine"), built.one("azure-native:network:NetworkInterface")
    assert gate.urn in vm.dependencies and gate.urn not in nic.dependencies
    assert vm.replace_on_changes == ["osProfile.customData"] and vm.delete_before_replace
    assert vm.protect and nic.protect


def test_a_vm_refuses_a_private_endpoint():
    from isolated_mlops.components.interface import PrivateEndpointOptions

    with pytest.raises(ValueError, match="LinuxVirtualMachine: private_endpoint is not supported here"):
        build_alone(lambda: _vm(private_endpoint=PrivateEndpointOptions(SUBNET_ID, {}, RG, LOCATION)))


def test_a_cluster_identity_alone_gets_acr_pull_on_the_registry_only():
    built = build_alone(lambda: ClusterIdentity("ci", ClusterIdentityArgs(
        identity_name="id-clusters", resource_group_name=RG, location=LOCATION, registry_id=REGISTRY_ID,
        subscription_id=SUBSCRIPTION)))
    identity = built.one("azure-native:managedidentity:UserAssignedIdentity")
    role = built.one("azure-native:authorization:RoleAssignment")
    assert role.inputs["scope"] == REGISTRY_ID and role.inputs["roleDefinitionId"].endswith(ACR_PULL.id)
    assert role.inputs["principalId"] == identity.outputs["principalId"]
    assert built.resolve(built.value.identity_id) == identity.id


def _cluster(**more) -> ComputeCluster:
    return ComputeCluster("cluster", ComputeClusterArgs(
        compute_name="cpu", workspace_name="mlw-x", resource_group_name=RG, location=LOCATION, subnet_id=SUBNET_ID,
        vm_size="Standard_D4s_v5", max_nodes=2, **more))


def test_a_cluster_alone_scales_to_zero_with_no_public_ip_and_no_ssh():
    built = build_alone(_cluster)
    compute = built.one("azure-native:machinelearningservices:Compute")
    props = compute.inputs["properties"]["properties"]
    assert props["scaleSettings"] == {"minNodeCount": 0, "maxNodeCount": 2, "nodeIdleTimeBeforeScaleDown": "PT120S"}
    assert props["enableNodePublicIp"] is False and props["remoteLoginPortPublicAccess"] == "Disabled"
    assert props["vmPriority"] == "Dedicated" and compute.inputs["properties"]["disableLocalAuth"] is True
    assert "identity" not in compute.inputs
    assert built.resolve(built.value.compute_name) == "cpu"


def test_a_clusters_identity_lock_and_roles_arrive_through_the_common_arguments():
    built = build_alone(lambda: _cluster(
        identity=ManagedIdentity(user_assigned_ids=[IDENTITY_ID]), lock="CanNotDelete",
        role_assignments=[RoleAssignmentSpec(READER.name, "00000000-0000-0000-0000-0000000000dd", principal_type="Group")]))
    compute = built.one("azure-native:machinelearningservices:Compute")
    assert compute.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [IDENTITY_ID]}
    assert built.one("azure-native:authorization:ManagementLockByScope").inputs["scope"] == compute.id
    role = built.one("azure-native:authorization:RoleAssignment")
    assert (role.inputs["scope"], role.inputs["principalType"]) == (compute.id, "Group")


def test_a_cluster_refuses_more_minimum_nodes_than_maximum():
    with pytest.raises(ValueError, match="ComputeCluster: min_nodes=3 exceeds max_nodes=2"):
        build_alone(lambda: _cluster(min_nodes=3))


def _pool(**more) -> CiAgentPool:
    args = dict(kind="github", url="https://github.com/org/repo", vm_size="Standard_D2s_v5", vm_names=["vm-agent-1", "vm-agent-2"],
                identity_name="id-agents", resource_group_name=RG, location=LOCATION, subnet_id=SUBNET_ID,
                subscription_id=SUBSCRIPTION, vault_id=VAULT_ID, vault_name="kv-x",
                registration_token=pulumi.Output.secret("ghp_not_a_real_token"), admin_username="azureuser",
                ssh_public_key=SSH_KEY, labels=["private"])
    return CiAgentPool("agents", CiAgentPoolArgs(**{**args, **more}))


def test_an_agent_pool_alone_keeps_its_credential_in_key_vault_only():
    built = build_alone(lambda: _pool(token_expires_epoch=1_800_000_000))
    secret = built.one("azure-native:keyvault:Secret")
    assert secret.inputs["secretName"] == REGISTRATION_SECRET_NAME and "properties.value" in " ".join(secret.secret_paths)
    assert secret.inputs["properties"]["attributes"]["expires"] == 1_800_000_000
    role = built.one("azure-native:authorization:RoleAssignment")
    assert role.inputs["scope"] == VAULT_ID and role.inputs["roleDefinitionId"].endswith(KEY_VAULT_SECRETS_USER.id)
    vms = built.of_type("azure-native:compute:VirtualMachine")
    assert sorted(vm.inputs["vmName"] for vm in vms) == ["vm-agent-1", "vm-agent-2"]
    for vm in vms:
        assert role.urn in vm.dependencies and secret.urn in vm.dependencies  # the role exists before boot
        assert "ghp_not_a_real_token" not in base64.b64decode(vm.inputs["osProfile"]["customData"]).decode()
    assert sorted(built.resolve(built.value.vm_names)) == ["vm-agent-1", "vm-agent-2"]


def test_an_agent_pool_refuses_an_unknown_kind_and_an_identity_of_the_callers():
    with pytest.raises(ValueError, match="CiAgentPool: kind='gitlab'; use one of azure-devops, github"):
        build_alone(lambda: _pool(kind="gitlab"))
    with pytest.raises(ValueError, match="CiAgentPool: identity is not supported here"):
        build_alone(lambda: _pool(identity=ManagedIdentity(system_assigned=True)))
