"""Self-hosted CI/CD agents inside the private network, so pipelines can reach the private workspace.

The registration credential is a Pulumi secret that this component writes to Key Vault and nowhere
else. The agents' user-assigned identity holds exactly one role, Key Vault Secrets User on that one
vault, and the VMs are created only after that role exists. On each VM a systemd unit registers the
agent and retries until it is registered (compute/agent_registration.py, installed by the custom
data of compute/cloud_init.py); the agent's jobs run as a user that cannot reach the instance
metadata service, so they cannot use that role (docs/delivery.md, "Who can read the token").
"""

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
from pulumi_azure_native import authorization, keyvault, managedidentity

from isolated_mlops.components.interface import CommonArgs, ManagedIdentity
from isolated_mlops.components.roles import KEY_VAULT_SECRETS_USER, role_definition_id
from isolated_mlops.components.standalone import as_args, depends_on_of, refuse_unsupported, type_token
from isolated_mlops.compute import cloud_init
from isolated_mlops.compute.linux_vm import LinuxVirtualMachine, LinuxVirtualMachineArgs

# Built-in role "Key Vault Secrets User": read secret values, nothing else (components/roles.py).
KEY_VAULT_SECRETS_USER_ROLE_ID = KEY_VAULT_SECRETS_USER.id
REGISTRATION_SECRET_NAME = "agent-registration-token"


@dataclass(kw_only=True)
class CiAgentPoolArgs(CommonArgs):
    """Self-hosted Azure Pipelines agents or GitHub Actions runners on private VMs, registering from Key Vault."""

    kind: str
    """`azure-devops` (an Azure Pipelines agent) or `github` (a GitHub Actions runner)."""
    url: str
    """Azure DevOps organisation URL, or the GitHub organisation/repository URL."""
    vm_size: str
    """The agents' VM size (`Standard_D2s_v5`)."""
    vm_names: Sequence[str]
    """One Azure VM name per agent."""
    identity_name: str
    """The name of the agents' user-assigned identity (Key Vault Secrets User on the vault, nothing else)."""
    resource_group_name: pulumi.Input[str]
    """The resource group of the identity and the VMs."""
    location: pulumi.Input[str]
    """The Azure region (the subnet's)."""
    subnet_id: pulumi.Input[str]
    """The agents' subnet: it must reach the vault's private endpoint and, through NAT, the CI service."""
    subscription_id: pulumi.Input[str]
    """The subscription of the vault: its role definition ids are under it."""
    vault_id: pulumi.Input[str]
    """The Key Vault (RBAC authorization) that keeps the registration credential."""
    vault_name: pulumi.Input[str]
    """That vault's name."""
    registration_token: pulumi.Input[str]
    """A Pulumi secret (Azure DevOps PAT, or a GitHub credential that can mint runner tokens)."""
    admin_username: str
    """The VMs' Linux administrator (SSH key only)."""
    ssh_public_key: str
    """The administrator's OpenSSH public key."""
    pool: str = ""
    """Azure DevOps agent pool name (ignored for GitHub)."""
    labels: Sequence[str] = ()
    """GitHub runner labels (ignored for Azure DevOps)."""
    token_expires_epoch: Optional[int] = None
    """When the credential expires, in seconds since 1970 (UTC): the Key Vault secret's expiry."""
    vault_dns_suffix: str = "vault.azure.net"
    """Key Vault's DNS suffix in the cloud (components/zones.py CLOUDS)."""
    key_vault_resource: str = "https://vault.azure.net"
    """The token audience for Key Vault in the cloud (components/zones.py CLOUDS)."""


class CiAgentPool(pulumi.ComponentResource):
    """`mlops:compute:CiAgentPool`: an identity, the credential in Key Vault, the role to read it, the VMs.
    Common arguments: tags and protect on every resource. The pool's identity is its own (no `identity`),
    and locks, roles and logs belong on the VMs' resource group or the vault. `opts.depends_on` holds the
    VMs back (e.g. until the vault's private endpoint exists: the agents read their secret through it)."""

    identity_id: pulumi.Output[str]
    """The agents' user-assigned identity."""
    identity_client_id: pulumi.Output[str]
    """Its client id (what the agents sign in with)."""
    identity_principal_id: pulumi.Output[str]
    """Its object id."""
    vm_names: list[pulumi.Output[str]]
    """The agents' VM names."""

    def __init__(self, name: str, args: CiAgentPoolArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(type_token("mlops:compute:CiAgentPool"), name, None, opts)
        args = as_args(CiAgentPoolArgs, args)
        refuse_unsupported("CiAgentPool", args, {
            "identity": "the pool creates its agents' identity itself",
            "private_endpoint": "agents are VMs on a private NIC",
            "lock": "set locks on the resource group", "diagnostics": "a pool is not one Azure resource",
            "role_assignments": "a pool is not one Azure resource"})
        if args.kind not in cloud_init.INSTALL_DIRS:
            raise ValueError(f"CiAgentPool: kind={args.kind!r}; use one of {', '.join(cloud_init.INSTALL_DIRS)}")
        child = pulumi.ResourceOptions(parent=self, protect=args.protect or None)
        self.identity: managedidentity.UserAssignedIdentity = managedidentity.UserAssignedIdentity(
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
                attributes=keyvault.SecretAttributesArgs(expires=args.token_expires_epoch),
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
                kind=args.kind,
                vault_host=f"{values[0]}.{args.vault_dns_suffix}",
                key_vault_resource=args.key_vault_resource,
                secret_name=REGISTRATION_SECRET_NAME,
                identity_client_id=values[1],
                url=args.url,
                pool=args.pool,
                labels=args.labels,
            )))
        )
        self.vms = [
            LinuxVirtualMachine(
                f"{name}-{index}",
                LinuxVirtualMachineArgs(
                    resource_group_name=args.resource_group_name,
                    location=args.location,
                    vm_name=vm_name,
                    vm_size=args.vm_size,
                    subnet_id=args.subnet_id,
                    admin_username=args.admin_username,
                    ssh_public_key=args.ssh_public_key,
                    custom_data=custom_data,
                    identity=ManagedIdentity(user_assigned_ids=[self.identity.id]),
                    tags=dict(args.tags),
                    protect=args.protect,
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role_assignment, self.secret,
                                                                     *depends_on_of(opts)]),
            )
            for index, vm_name in enumerate(args.vm_names)
        ]
        self.identity_id = self.identity.id
        self.identity_client_id = self.identity.client_id
        self.identity_principal_id = self.identity.principal_id
        self.vm_names = [vm.vm_name for vm in self.vms]
        self.register_outputs({
            "identity_id": self.identity_id,
            "identity_client_id": self.identity_client_id,
            "identity_principal_id": self.identity_principal_id,
            "vm_names": self.vm_names,
        })
