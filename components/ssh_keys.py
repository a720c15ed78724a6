"""SSH public keys as Azure VMs take them: an OpenSSH public key line, RSA of 2048 bits or more, or Ed25519.

Azure refuses other keys only when it creates the VM, halfway through `pulumi up`; the checks here
catch the usual pastes (a private key, a truncated line, an ECDSA key) before anything is declared.
"""

from __future__ import annotations

import base64
import binascii
from typing import Optional

# Azure VMs accept RSA (2048 bits or more) and Ed25519 public keys; ECDSA keys are refused at create time.
SSH_KEY_TYPES = ("ssh-ed25519", "ssh-rsa")
RSA_MIN_BITS = 2048


def public_key_problem(key: str) -> Optional[str]:
    """What is wrong with `key` as a VM's SSH public key, or None. The key itself is never echoed."""
    if "PRIVATE KEY" in key:
        return ("looks like a private key; give the public half (the .pub file) only, "
                "and treat this private key as leaked")
    parts = key.split()
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        return (f"must be an OpenSSH public key line starting with {' or '.join(SSH_KEY_TYPES)} "
                "(Azure VMs accept RSA and Ed25519 keys only)")
    try:
        fields = _wire_fields(base64.b64decode(parts[1], validate=True))
    except (binascii.Error, ValueError):
        return f"the key body is not a valid base64 {parts[0]} key (truncated or mangled?)"
    # The blob starts with the key type it encodes; a mismatch means a pasted-wrong or mangled key.
    if not fields or fields[0] != parts[0].encode():
        return f"the key body does not encode a {parts[0]} key (truncated or mangled?)"
    if parts[0] == "ssh-ed25519" and (len(fields) != 2 or len(fields[1]) != 32):
        return "the key body is not a 256-bit Ed25519 key (truncated or mangled?)"
    if parts[0] == "ssh-rsa":
        bits = int.from_bytes(fields[2], "big").bit_length() if len(fields) == 3 else 0
        if bits < RSA_MIN_BITS:
            return f"is a {bits}-bit RSA key; Azure requires at least {RSA_MIN_BITS} bits"
    return None


def _wire_fields(blob: bytes) -> list[bytes]:
    """The length-prefixed fields of an SSH public key blob (RFC 4253 section 6.6)."""
    fields, offset = [], 0
    while offset < len(blob):
        if offset + 4 > len(blob):
            raise ValueError("truncated length")
        length = int.from_bytes(blob[offset:offset + 4], "big")
        offset += 4
        if offset + length > len(blob):
            raise ValueError("truncated field")
        fields.append(blob[offset:offset + length])
        offset += length
    return fields
