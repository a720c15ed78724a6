"""A Linux VM with a private NIC only and SSH-key login only: the jump host and every agent."""

from dataclasses import dataclass
from typing import Optional

import pulumi
from pulumi_azure_native import compute, network

from isolated_mlops.components.interface import CommonArgs, ManagedIdentity, apply_common
from isolated_mlops.components.standalone import as_args, depends_on_of, refuse_unsupported, subscription_of, type_token

UBUNTU_IMAGE = compute.ImageReferenceArgs(
    publisher="Canonical", offer="ubuntu-24_04-lts", sku="server", version="latest",
)


@dataclass(kw_only=True)
class LinuxVirtualMachineArgs(CommonArgs):
    """An Ubuntu 24.04 VM with a private NIC, SSH keys only, encryption at host and Trusted Launch."""

    resource_group_name: pulumi.Input[str]
    """The resource group of the VM and its NIC."""
    location: pulumi.Input[str]
    """The Azure region (the subnet's)."""
    vm_name: str
    """The VM's Azure name and computer name; its NIC is `nic-<name>`."""
    vm_size: str
    """An Azure VM size offered in the region (`Standard_D2s_v5`)."""
    subnet_id: pulumi.Input[str]
    """The subnet of the VM's only NIC (no public IP: Bastion is the way in)."""
    admin_username: str
    """The Linux administrator, who logs in with the SSH key only."""
    ssh_public_key: str
    """The administrator's OpenSSH public key (`ssh-ed25519 ...`)."""
    custom_data: Optional[pulumi.Input[str]] = None
    """Base64 cloud-init. Never a secret: custom data is readable from the VM and from ARM. A change replaces the VM."""


def _vm_identity(identity: Optional[ManagedIdentity]) -> Optional[compute.VirtualMachineIdentityArgs]:
    """The VM's identity block. Compute spells both kinds `SystemAssigned, UserAssigned`, with a space
    (REST: Microsoft.Compute/virtualMachines, identity.type)."""
    if identity is None or (not identity.system_assigned and not identity.user_assigned_ids):
        return None
    kinds = [k for k, on in (("SystemAssigned", identity.system_assigned),
                             ("UserAssigned", bool(identity.user_assigned_ids))) if on]
    return compute.VirtualMachineIdentityArgs(
        type=compute.ResourceIdentityType(", ".join(kinds)),
        user_assigned_identities=list(identity.user_assigned_ids) or None)


class LinuxVirtualMachine(pulumi.ComponentResource):
    """`mlops:compute:LinuxVirtualMachine`: NIC without public IP, password login off. Common arguments:
    tags and protect on the NIC and VM; identity, lock, role assignments and diagnostics on the VM.
    `opts.depends_on` holds the VM (not its NIC) back, e.g. until the role that lets it read its secret exists."""

    vm_id: pulumi.Output[str]
    """The VM's resource id."""
    vm_name: pulumi.Output[str]
    """The VM's name."""
    nic_id: pulumi.Output[str]
    """The id of the VM's only NIC."""

    def __init__(self, name: str, args: LinuxVirtualMachineArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(type_token("mlops:compute:LinuxVirtualMachine"), name, None, opts)
        args = as_args(LinuxVirtualMachineArgs, args)
        refuse_unsupported("LinuxVirtualMachine", args, {
            "private_endpoint": "a VM is reached on its private NIC, not through a private endpoint"})
        self.nic = network.NetworkInterface(
            f"{name}-nic",
            network_interface_name=f"nic-{args.vm_name}",
            resource_group_name=args.resource_group_name,
            location=args.location,
            # No public_ip_address: the only way in is Bastion.
            ip_configurations=[network.NetworkInterfaceIPConfigurationArgs(
                name="ipconfig",
                subnet=network.SubnetArgs(id=args.subnet_id),
                private_ip_allocation_method=network.IPAllocationMethod.DYNAMIC,
                primary=True,
            )],
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect or None),
        )
        identity = _vm_identity(args.identity)
        self.vm = compute.VirtualMachine(
            f"{name}-vm",
            vm_name=args.vm_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            hardware_profile=compute.HardwareProfileArgs(vm_size=args.vm_size),
            identity=identity,
            network_profile=compute.NetworkProfileArgs(network_interfaces=[
                # Detach, not Delete: the NIC is this program's resource. Deleting it with the VM
                # would leave Pulumi's state pointing at a NIC that no longer exists when the VM is
                # replaced (below), and the new VM would fail to attach it.
                compute.NetworkInterfaceReferenceArgs(id=self.nic.id, primary=True, delete_option=compute.DeleteOptions.DETACH),
            ]),
            os_profile=compute.OSProfileArgs(
                computer_name=args.vm_name,
                admin_username=args.admin_username,
                custom_data=args.custom_data,
                linux_configuration=compute.LinuxConfigurationArgs(
                    disable_password_authentication=True,
                    ssh=compute.SshConfigurationArgs(public_keys=[compute.SshPublicKeyArgs(
                        path=f"/home/{args.admin_username}/.ssh/authorized_keys",
                        key_data=args.ssh_public_key,
                    )]),
                    provision_vm_agent=True,
                ),
            ),
            storage_profile=compute.StorageProfileArgs(
                image_reference=UBUNTU_IMAGE,
                os_disk=compute.OSDiskArgs(
                    create_option=compute.DiskCreateOptionTypes.FROM_IMAGE,
                    managed_disk=compute.ManagedDiskParametersArgs(
                        storage_account_type=compute.StorageAccountTypes.STANDARD_SS_D_LRS,
                    ),
                    delete_option=compute.DiskDeleteOptionTypes.DELETE,
                ),
            ),
            security_profile=compute.SecurityProfileArgs(
                # Temp disk, caches and the OS disk's data flows are encrypted on the host, end to end
                # (https://learn.microsoft.com/azure/virtual-machines/disk-encryption#encryption-at-host---end-to-end-encryption-for-your-vm-data).
                # Needs the subscription feature Microsoft.Compute/EncryptionAtHost (README, prerequisites).
                encryption_at_host=True,
                security_type=compute.SecurityTypes.TRUSTED_LAUNCH,
                uefi_settings=compute.UefiSettingsArgs(secure_boot_enabled=True, v_tpm_enabled=True),
            ),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect or None,
                depends_on=depends_on_of(opts),
                # Azure refuses to change custom data after creation ("This property cannot be
                # updated after the VM is created": osProfile.customData in
                # https://learn.microsoft.com/rest/api/compute/virtual-machines/create-or-update),
                # and the provider does not mark it: new custom data replaces the VM, deleting
                # the old one first because the new one has the same name.
                replace_on_changes=["osProfile.customData"] if args.custom_data is not None else None,
                delete_before_replace=args.custom_data is not None,
            ),
        )
        self.common = apply_common(self, name, args, resource_id=self.vm.id, subscription_id=subscription_of(self.vm.id))
        self.vm_id, self.vm_name, self.nic_id = self.vm.id, self.vm.name, self.nic.id
        self.register_outputs({"vm_id": self.vm_id, "vm_name": self.vm_name, "nic_id": self.nic_id})

