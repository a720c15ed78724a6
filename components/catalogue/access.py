"""Catalogue records: resource groups, virtual machines, identities, role assignments, locks, and the
one non-Azure type the stacks register (pulumi-random's string, for name suffixes)."""

from __future__ import annotations

from isolated_mlops.components.catalogue.model import ASYNC, SYNC, CreateTime, ResourceType, Setting, settings

RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
VM = "azure-native:compute:VirtualMachine"
VM_EXTENSION = "azure-native:compute:VirtualMachineExtension"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
LOCK = "azure-native:authorization:ManagementLockAtResourceLevel"
LOCK_BY_SCOPE = "azure-native:authorization:ManagementLockByScope"
RANDOM_STRING = "random:index/randomString:RandomString"
# The invoke `authorization.get_client_config_output()` calls (who is deploying: tenant, object id).
CLIENT_CONFIG_INVOKE = "azure-native:authorization:getClientConfig"

ENTRIES = (
    ResourceType(RESOURCE_GROUP, "Microsoft.Resources/resourceGroups", "resourceGroupName",
                 CreateTime(5, "estimate", SYNC), stateful=True, key_settings=settings("location")),
    ResourceType(
        VM, "Microsoft.Compute/virtualMachines", "vmName",
        CreateTime(120, "estimate", f"{ASYNC}; until provisioned, cloud-init runs after"),
        key_settings=(Setting("hardwareProfile.vmSize"), Setting("storageProfile.imageReference.offer", "image"),
                      Setting("securityProfile.securityType"),
                      Setting("osProfile.linuxConfiguration.disablePasswordAuthentication"),
                      Setting("identity.type", "identity"))),
    # Not created by the stacks; the rules judge extensions' public settings (no secrets in them).
    ResourceType(VM_EXTENSION, "Microsoft.Compute/virtualMachines/{vmName}/extensions", "vmExtensionName",
                 by_stacks=False),
    ResourceType(IDENTITY, "Microsoft.ManagedIdentity/userAssignedIdentities", "resourceName",
                 CreateTime(10, "estimate", SYNC)),
    # Scope, role and principal of an assignment are immutable: Azure refuses the update with
    # RoleAssignmentUpdateNotPermitted ("Tenant ID, application ID, principal ID, and scope are not
    # allowed to be updated"), so a change is a new assignment.
    # https://learn.microsoft.com/azure/role-based-access-control/troubleshooting
    ResourceType(
        ROLE_ASSIGNMENT, "Microsoft.Authorization/roleAssignments", "roleAssignmentName",
        CreateTime(10, "estimate", SYNC), replace_on=("scope", "roleDefinitionId", "principalId"),
        key_settings=(Setting("roleDefinitionId", "role", True), Setting("principalType"),
                      Setting("scope", "scope", True)),
        sources=("https://learn.microsoft.com/azure/role-based-access-control/troubleshooting",)),
    ResourceType(LOCK, "Microsoft.Authorization/locks", "lockName", CreateTime(5, "estimate", SYNC),
                 key_settings=(Setting("level"),)),
    # An extension resource on its `scope` (the state backend's storage account, bootstrap/).
    ResourceType(LOCK_BY_SCOPE, "Microsoft.Authorization/locks", "lockName", key_settings=(Setting("level"),)),
    ResourceType(RANDOM_STRING, "", None, CreateTime(1, "local", "computed by the provider plugin, no cloud call"),
                 outside_azure=True),
)
