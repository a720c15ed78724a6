"""Self-hosted CI/CD agents inside the private network, so pipelines can reach the private workspace.

The registration credential is a Pulumi secret that this component writes to Key Vault and nowhere
else. The agents' user-assigned identity holds exactly one role, Key Vault Secrets User on that one
vault, and the VMs are created only after that role exists. On each VM a systemd unit registers the
agent and retries until it is registered (compute/agent_registration.py, installed by the custom
data of compute/cloud_init.py); the agent's jobs run as a user that cannot reach the instance
metadata service, so they cannot use that role (docs/delivery.md, "Who can read the token").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
from pulumi_azure_native import authorization, keyvault, managedidentity

from isolated_mlops.components.config import AgentsConfig
from isolated_mlops.components.roles import KEY_VAULT_SECRETS_USER, role_definition_id
from isolated_mlops.compute import cloud_init
from isolated_mlops.compute.linux_vm import LinuxVirtualMachine, LinuxVirtualMachineArgs

# Built-in role "Key Vault Secrets User": read secret values, nothing else (components/roles.py).
KEY_VAULT_SECRETS_USER_ROLE_ID = KEY_VAULT_SECRETS_USER.id
REGISTRATION_SECRET_NAME = "agent-registration-token"


@dataclass
class CiAgentPoolArgs:
    agents: AgentsConfig
    vm_names: Sequence[str]
    identity_name: str
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    vault_id: pulumi.Input[str]
    vault_name: pulumi.Input[str]
    vault_dns_suffix: str
    key_vault_resource: str
    registration_token: pulumi.Output[str]
    """A Pulumi secret (Azure DevOps PAT, or a GitHub credential that can mint runner tokens)."""
    admin_username: str
    ssh_public_key: str
    wait_for: Sequence[pulumi.Resource] = ()
    """The vault's private endpoint: the agents read their secret through it."""
    tags: Mapping[str, str] = field(default_factory=dict)


class CiAgentPool(pulumi.ComponentResource):
    """`mlops:compute:CiAgentPool`."""

    identity: managedidentity.UserAssignedIdentity
    secret: keyvault.Secret
    role_assignment: authorization.RoleAssignment
    vms: list[LinuxVirtualMachine]

    def __init__(self, name: str, args: CiAgentPoolArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlops:compute:CiAgentPool", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=args.identity_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=dict(args.tags),
            opts=child,
        )
        self.secret = keyvault.Secret(
            f"{name}-registration-token",
            secret_name=REGISTRATION_SECRET_NAME,
            vault_name=args.vault_name,
            resource_group_name=args.resource_group_name,
            properties=keyvault.SecretPropertiesArgs(
                value=pulumi.Output.secret(args.registration_token),
                content_type="text/plain",
                # The secret expires with the credential it holds (agents.tokenExpiresOn), so Key Vault,
                # Defender and Azure Policy ("Key Vault secrets should have an expiration date") show
                # when it must be rotated. `exp` is seconds since 1970 in UTC:
                # https://learn.microsoft.com/azure/key-vault/secrets/about-secrets#secret-attributes
                attributes=keyvault.SecretAttributesArgs(expires=args.agents.token_expires_epoch),
            ),
            opts=child,
        )
        self.role_assignment = authorization.RoleAssignment(
            f"{name}-secrets-user",
            scope=args.vault_id,
            role_definition_id=role_definition_id(args.subscription_id, KEY_VAULT_SECRETS_USER),
            principal_id=self.identity.principal_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            description="CI/CD agents read their registration credential at boot.",
            opts=child,
        )
        custom_data = pulumi.Output.all(args.vault_name, self.identity.client_id).apply(
            lambda values: cloud_init.encode(cloud_init.render(cloud_init.AgentBootstrap(
                kind=args.agents.kind,
                vault_host=f"{values[0]}.{args.vault_dns_suffix}",
                key_vault_resource=args.key_vault_resource,
                secret_name=REGISTRATION_SECRET_NAME,
                identity_client_id=values[1],
                url=args.agents.url,
                pool=args.agents.pool,
                labels=args.agents.labels,
            )))
        )
        self.vms = [
            LinuxVirtualMachine(
                f"{name}-{index}",
                LinuxVirtualMachineArgs(
                    resource_group_name=args.resource_group_name,
                    location=args.location,
                    vm_name=vm_name,
                    vm_size=args.agents.vm_size,
                    subnet_id=args.subnet_id,
                    admin_username=args.admin_username,
                    ssh_public_key=args.ssh_public_key,
                    custom_data=custom_data,
                    user_assigned_identity_id=self.identity.id,
                    wait_for=[self.role_assignment, self.secret, *args.wait_for],
                    tags=dict(args.tags),
                ),
                opts=child,
            )
            for index, vm_name in enumerate(args.vm_names)
        ]
        self.register_outputs({
            "identity_client_id": self.identity.client_id,
            "vm_names": [vm.vm.name for vm in self.vms],
        })
