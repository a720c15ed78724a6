"""Rules on access to machines and secrets: SSH keys only, encryption at host, no secret in boot data,
Key Vault secrets that are Pulumi secrets and expire."""

from __future__ import annotations

import base64
from typing import Iterator, Sequence

from isolated_mlops.policy.rules.base import (
    KEY_VAULT_SECRET, ResourceView, UNKNOWN, VM, VM_EXTENSION, resource_rule, rule,
)
from isolated_mlops.policy.rules.sources import DOC_PULUMI_SECRETS, DOC_VM_CUSTOM_DATA, DOC_VM_SSH_KEYS
from isolated_mlops.policy.rules.helpers import _not_exactly, _unset


@resource_rule("vm-ssh-keys-only", "Linux VMs only: password authentication off, no admin password, SSH keys.", VM,
               sources=(DOC_VM_SSH_KEYS,))
def _vm(r: ResourceView) -> Iterator[str]:
    windows = r.prop("osProfile.windowsConfiguration")
    if windows and windows is not UNKNOWN:
        yield "Windows VMs are not part of this platform (RDP and passwords)"
    if not _unset(r.prop("osProfile.adminPassword")):
        yield "remove adminPassword: SSH keys only"
    if _not_exactly(r.prop("osProfile.linuxConfiguration.disablePasswordAuthentication"), True):
        yield "set osProfile.linuxConfiguration.disablePasswordAuthentication to true"
    if _unset(r.prop("osProfile.linuxConfiguration.ssh.publicKeys")):
        yield "configure an SSH public key (osProfile.linuxConfiguration.ssh.publicKeys)"


@resource_rule("vm-encryption-at-host", "Every VM encrypts at the host (temp disk, caches, data flows to storage).",
               VM, sources=["https://learn.microsoft.com/azure/virtual-machines/disk-encryption"
                            "#encryption-at-host---end-to-end-encryption-for-your-vm-data"])
def _vm_encryption_at_host(r: ResourceView) -> Iterator[str]:
    if _not_exactly(r.prop("securityProfile.encryptionAtHost"), True):
        yield ("set securityProfile.encryptionAtHost to true (the subscription needs the feature "
               "Microsoft.Compute/EncryptionAtHost registered)")


@rule("no-secret-in-vm-boot-data", "No secret flows into VM custom data, user data or public extension settings.",
      needs_secrets=True,
      sources=(DOC_VM_CUSTOM_DATA,))
def _vm_boot_data(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    for r in resources:
        if not r.secrets_known:
            continue
        paths: tuple[str, ...]
        if r.type == VM:
            paths = ("osProfile.customData", "userData")
        elif r.type == VM_EXTENSION:
            paths = ("settings",)
        else:
            continue
        for path in paths:
            if any(s == path or s.startswith(path + ".") or s.startswith(path + "[") for s in r.secret_paths):
                yield r.urn, f"{path} is derived from a secret: it is readable from ARM and the VM; read it from Key Vault at boot"


@resource_rule("key-vault-secret-is-secret", "A Key Vault secret's value is a Pulumi secret (encrypted in state).",
               KEY_VAULT_SECRET, needs_secrets=True,
               sources=(DOC_PULUMI_SECRETS,))
def _kv_secret(r: ResourceView) -> Iterator[str]:
    value = r.prop("properties.value")
    if r.secrets_known and value not in (None, "[secret]") and value is not UNKNOWN \
            and "properties.value" not in r.secret_paths:
        yield "properties.value is plain text in the program and the state: wrap it with pulumi.Output.secret"


@resource_rule("key-vault-secret-expires", "A Key Vault secret carries an expiry (the credential's own), so its "
               "rotation is due visibly.", KEY_VAULT_SECRET,
               sources=["https://learn.microsoft.com/azure/key-vault/secrets/about-secrets#secret-attributes",
                        "https://learn.microsoft.com/azure/key-vault/policy-reference"])
def _kv_secret_expires(r: ResourceView) -> Iterator[str]:
    if _unset(r.prop("properties.attributes.expires")):
        yield "set properties.attributes.expires to the credential's expiry (agents.tokenExpiresOn)"


def decode_custom_data(view: ResourceView) -> str:
    """The VM's custom data as text (for tests and reviewers)."""
    data = view.prop("osProfile.customData")
    if not isinstance(data, str) or data == "[secret]":
        return ""
    return base64.b64decode(data).decode(errors="replace")
