"""A Linux VM with a private NIC only and SSH-key login only: the jump host and every agent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
from pulumi_azure_native import compute, network

UBUNTU_IMAGE = compute.ImageReferenceArgs(
    publisher="Canonical", offer="ubuntu-24_04-lts", sku="server", version="latest",
)


@dataclass
class LinuxVirtualMachineArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    vm_name: str
    vm_size: str
    subnet_id: pulumi.Input[str]
    admin_username: str
    ssh_public_key: str
    custom_data: Optional[pulumi.Input[str]] = None
    """Base64 cloud-init. Never a secret: custom data is readable from the VM and from ARM."""
    user_assigned_identity_id: Optional[pulumi.Input[str]] = None
    wait_for: Sequence[pulumi.Resource] = ()
    """What must exist before the VM boots (e.g. the role that lets it read its secret)."""
    tags: Mapping[str, str] = field(default_factory=dict)


class LinuxVirtualMachine(pulumi.ComponentResource):
    """`mlops:compute:LinuxVirtualMachine`: NIC without public IP, password login off."""

    nic: network.NetworkInterface
    vm: compute.VirtualMachine

    def __init__(self, name: str, args: LinuxVirtualMachineArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlops:compute:LinuxVirtualMachine", name, None, opts)
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
            opts=pulumi.ResourceOptions(parent=self),
        )
        identity = (
            compute.VirtualMachineIdentityArgs(
                type=compute.ResourceIdentityType.USER_ASSIGNED,
                user_assigned_identities=[args.user_assigned_identity_id],
            )
            if args.user_assigned_identity_id is not None else None
        )
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
                depends_on=list(args.wait_for),
                # Azure refuses to change custom data after creation ("This property cannot be
                # updated after the VM is created": osProfile.customData in
                # https://learn.microsoft.com/rest/api/compute/virtual-machines/create-or-update),
                # and the provider does not mark it: new custom data replaces the VM, deleting
                # the old one first because the new one has the same name.
                replace_on_changes=["osProfile.customData"] if args.custom_data is not None else None,
                delete_before_replace=args.custom_data is not None,
            ),
        )
        self.register_outputs({"vm_id": self.vm.id, "vm_name": self.vm.name, "private_ip_nic_id": self.nic.id})
