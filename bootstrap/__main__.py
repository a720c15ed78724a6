"""The state backend of isolated-mlops: where every stack's state lives and what encrypts its secrets.

    azblob://state?storage_account=<account>                       (pulumi login)
    azurekeyvault://<vault>.vault.azure.net/keys/pulumi-secrets    (--secrets-provider)

Locked down the way state deserves: it holds every resource id and, encrypted, every stack secret.
- Storage: Entra ID only (shared keys and SAS off, so no account key can leak), TLS 1.2, HTTPS
  only, no anonymous blob access, no cross-tenant replication; blob versioning plus blob and
  container soft delete, so an overwritten or deleted checkpoint can be recovered.
- Key Vault: RBAC only, purge protection, soft delete; one RSA key that can only encrypt/decrypt.
- Access by role, at the narrowest scope: Storage Blob Data Contributor on the one container and
  Key Vault Crypto User on the one key, for the listed principals only.
- Everything is `protect`ed, and the account carries a CanNotDelete lock: deleting the state of a
  running platform orphans it.

Run it once per organisation (docs/delivery.md), with a local backend, then move its own state into
the container it created.
"""

from __future__ import annotations

import re
from typing import Any, Optional

import pulumi
import pulumi_random as random
from pulumi_azure_native import authorization, keyvault, resources, storage

# The platform's Azure name rules and cloud endpoints are the single source of truth for names and
# DNS suffixes: this program imports them from the library (installed by requirements.txt) rather
# than copying them.
from isolated_mlops.components.catalogue import KEY_VAULT
from isolated_mlops.components.naming import PREFIX_PATTERN, violation
from isolated_mlops.components.zones import CLOUDS
# The secrets provider's vault is the library's Key Vault component, public (Entra ID tokens only,
# optionally a list of addresses) and without a private endpoint: the state exists before any VNet.
from isolated_mlops.workspace.key_vault import KeyVault, KeyVaultArgs

CONTAINER_NAME = "state"
KEY_NAME = "pulumi-secrets"
SUFFIX_LENGTH = 5
NAME_TEMPLATES = {"storage_account": "st{p}state{s}", "key_vault": "kv-{p}-state-{s}"}
# Built-in roles (ids are the same in every tenant).
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
KEY_VAULT_CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"
PRINCIPAL_TYPES = ("ServicePrincipal", "Group", "User")
STORAGE_SKUS = ("Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def load_config() -> dict[str, Any]:
    """Read and check every key; report all problems at once, each naming its key."""
    config = pulumi.Config()
    problems: list[str] = []
    prefix = config.require("namePrefix")
    if not re.fullmatch(PREFIX_PATTERN, prefix):
        problems.append(f"namePrefix: {prefix!r} must be 2-8 lowercase letters/digits, starting with a letter")
    else:
        for kind, template in NAME_TEMPLATES.items():
            message = violation(kind, template.format(p=prefix, s="a" * SUFFIX_LENGTH))
            if message:
                problems.append(f"namePrefix: {message}")
    cloud = config.get("cloud") or "AzureCloud"
    if cloud not in CLOUDS:
        problems.append(f"cloud: {cloud!r} is not one of {', '.join(CLOUDS)}")
    sku = config.get("storageSku") or "Standard_ZRS"
    if sku not in STORAGE_SKUS:
        problems.append(f"storageSku: {sku!r} is not one of {', '.join(STORAGE_SKUS)}")
    soft_delete_days = config.get_int("softDeleteDays") or 30
    if not 7 <= soft_delete_days <= 365:
        problems.append(f"softDeleteDays: {soft_delete_days} must be 7-365")
    users = config.get_object("stateUsers") or []
    for index, user in enumerate(users):
        where = f"stateUsers[{index}]"
        if not isinstance(user, dict) or not _GUID.fullmatch(str(user.get("objectId", ""))):
            problems.append(f"{where}.objectId: must be an Entra object id (a GUID)")
        elif user.get("type") not in PRINCIPAL_TYPES:
            problems.append(f"{where}.type: must be one of {', '.join(PRINCIPAL_TYPES)}")
    # ARM checks the declared type against the principal's real one (and the SDK would default to
    # User): a service principal running this must say so.
    deployer_type = config.get("deployerPrincipalType") or "User"
    if deployer_type not in PRINCIPAL_TYPES:
        problems.append(f"deployerPrincipalType: must be one of {', '.join(PRINCIPAL_TYPES)}")
    ip_ranges = config.get_object("allowedIpRanges") or []
    for index, ip_range in enumerate(ip_ranges):
        # Storage firewall rules take public IPv4 addresses or CIDR ranges, not private ones.
        if not re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}(/\d{1,2})?", str(ip_range)):
            problems.append(f"allowedIpRanges[{index}]: {ip_range!r} is not an IPv4 address or CIDR range")
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise pulumi.RunError(f"invalid state backend configuration ({len(problems)} problem(s)):\n{lines}")
    return {
        "location": config.require("location"), "prefix": prefix, "cloud": cloud, "sku": sku,
        "soft_delete_days": soft_delete_days, "users": users, "deployer_type": deployer_type,
        "ip_ranges": [str(r) for r in ip_ranges],
    }


def _vault_keeps_its_urn(args: pulumi.ResourceTransformationArgs) -> Optional[pulumi.ResourceTransformationResult]:
    """The vault was a top-level resource named "state" before it moved into the KeyVault component:
    an alias to that URN keeps a deployed backend's vault (and its key) from being replaced."""
    if args.type_ != KEY_VAULT:
        return None
    old = pulumi.Alias(name="state", parent=pulumi.ROOT_STACK_RESOURCE)
    return pulumi.ResourceTransformationResult(
        props=args.props, opts=pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(aliases=[old])))


def main() -> None:
    cfg = load_config()
    stateful = pulumi.ResourceOptions(protect=True)
    tags = {"purpose": "pulumi-state", "project": "isolated-mlops"}
    restricted = bool(cfg["ip_ranges"])
    client = authorization.get_client_config_output()
    # Protected like the rest: a new suffix would mean a new account and vault, i.e. losing the state.
    suffix = random.RandomString("state-suffix", length=SUFFIX_LENGTH, special=False, upper=False, numeric=True,
                                 opts=stateful)

    group = resources.ResourceGroup(
        "state", resource_group_name=f"rg-{cfg['prefix']}-pulumi-state", location=cfg["location"], tags=tags,
        opts=stateful,
    )

    # ---- State storage ------------------------------------------------------------------------
    account = storage.StorageAccount(
        "state",
        account_name=suffix.result.apply(lambda s: NAME_TEMPLATES["storage_account"].format(p=cfg["prefix"], s=s)),
        resource_group_name=group.name,
        location=cfg["location"],
        kind=storage.Kind.STORAGE_V2,
        sku=storage.SkuArgs(name=cfg["sku"]),
        minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
        enable_https_traffic_only=True,
        allow_blob_public_access=False,
        # Entra ID only: no account key or SAS can reach the state, so none can leak.
        allow_shared_key_access=False,
        default_to_o_auth_authentication=True,
        allow_cross_tenant_replication=False,
        is_hns_enabled=False,  # versioning and soft delete need a flat namespace
        public_network_access=storage.PublicNetworkAccess.ENABLED,
        network_rule_set=storage.NetworkRuleSetArgs(
            default_action=storage.DefaultAction.DENY if restricted else storage.DefaultAction.ALLOW,
            bypass=storage.Bypass.AZURE_SERVICES,
            ip_rules=[storage.IPRuleArgs(i_p_address_or_range=r, action=storage.Action.ALLOW)
                      for r in cfg["ip_ranges"]],
        ),
        tags=tags,
        opts=stateful,
    )
    blob_service = storage.BlobServiceProperties(
        "state",
        account_name=account.name,
        resource_group_name=group.name,
        blob_services_name="default",
        # Every checkpoint write keeps the previous one as a version: a bad `pulumi up` or a
        # hand-edited state can be rolled back.
        is_versioning_enabled=True,
        delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=cfg["soft_delete_days"]),
        container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(
            enabled=True, days=cfg["soft_delete_days"]),
        opts=stateful,
    )
    container = storage.BlobContainer(
        "state",
        account_name=account.name,
        resource_group_name=group.name,
        container_name=CONTAINER_NAME,
        public_access=storage.PublicAccess.NONE,
        opts=pulumi.ResourceOptions(protect=True, depends_on=[blob_service]),
    )
    # A management lock binds the control plane only: blobs (checkpoints) stay writable.
    authorization.ManagementLockByScope(
        "state-no-delete",
        scope=account.id,
        lock_name="pulumi-state-no-delete",
        level=authorization.LockLevel.CAN_NOT_DELETE,
        notes="Holds the Pulumi state of isolated-mlops: deleting it orphans every deployed stack.",
    )

    # ---- Secrets provider ---------------------------------------------------------------------
    key_vault = KeyVault("state", KeyVaultArgs(
        vault_name=suffix.result.apply(lambda s: NAME_TEMPLATES["key_vault"].format(p=cfg["prefix"], s=s)),
        tenant_id=client.tenant_id,
        resource_group_name=group.name,
        location=cfg["location"],
        # Reached from CI runners and laptops: public, and with addresses listed only those. RBAC only,
        # purge protection and soft delete are the component's: a purged key makes every stack's
        # secrets unreadable, forever.
        public_network_access=True,
        allowed_ip_ranges=cfg["ip_ranges"],
        tags=tags,
        protect=True,
    ), opts=pulumi.ResourceOptions(transformations=[_vault_keeps_its_urn]))
    vault = key_vault.vault
    key = keyvault.Key(
        "secrets-provider",
        key_name=KEY_NAME,
        vault_name=vault.name,
        resource_group_name=group.name,
        properties=keyvault.KeyPropertiesArgs(
            kty=keyvault.JsonWebKeyType.RSA,
            key_size=3072,
            # Pulumi encrypts each stack's data key with RSA-OAEP-256: nothing else is allowed.
            key_ops=[keyvault.JsonWebKeyOperation.ENCRYPT, keyvault.JsonWebKeyOperation.DECRYPT],
            # No rotation policy on purpose: the provider URL names the key, not a version, and a
            # new version cannot decrypt what the old one encrypted. Rotate with
            # `pulumi stack change-secrets-provider` (docs/delivery.md).
        ),
        tags=tags,
        opts=stateful,
    )

    # ---- Who may use it -----------------------------------------------------------------------
    container_scope = pulumi.Output.concat(account.id, "/blobServices/default/containers/", container.name)
    key_scope = pulumi.Output.concat(vault.id, "/keys/", key.name)
    principals: list[tuple[str, pulumi.Input[str], str]] = [
        # Whoever runs this: they move this program's own state into the container afterwards.
        ("deployer", client.object_id, cfg["deployer_type"]),
        *((f"user-{i}", u["objectId"], u["type"]) for i, u in enumerate(cfg["users"])),
    ]

    def role_id(role: str) -> pulumi.Output[str]:
        return pulumi.Output.concat("/subscriptions/", client.subscription_id,
                                    "/providers/Microsoft.Authorization/roleDefinitions/", role)

    for label, principal_id, principal_type in principals:
        for role_label, scope, role in (("blob-data", container_scope, STORAGE_BLOB_DATA_CONTRIBUTOR),
                                        ("crypto-user", key_scope, KEY_VAULT_CRYPTO_USER)):
            authorization.RoleAssignment(
                f"{label}-{role_label}",
                scope=scope,
                role_definition_id=role_id(role),
                principal_id=principal_id,
                principal_type=principal_type,
            )

    # ---- What `pulumi login` and `pulumi stack init` need -------------------------------------
    dns_suffix = CLOUDS[cfg["cloud"]].key_vault_dns_suffix
    pulumi.export("backendUrl", pulumi.Output.concat("azblob://", container.name, "?storage_account=", account.name))
    pulumi.export("secretsProvider", pulumi.Output.concat("azurekeyvault://", vault.name, f".{dns_suffix}/keys/", key.name))
    pulumi.export("resourceGroupName", group.name)
    pulumi.export("storageAccountName", account.name)
    pulumi.export("keyVaultName", vault.name)


main()
