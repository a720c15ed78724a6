"""What the configuration tests share: the stack file with a change applied, validated as `pulumi up`
hands it to the program, and the changes a test makes to it (tests/test_config_validation.py,
tests/test_config_capacity_and_secrets.py)."""

from __future__ import annotations

import base64
import copy
import functools
from typing import Any, Callable, Mapping, Optional

from isolated_mlops.components.config import PROJECT_NAMESPACE, ConfigError, PlatformConfig, project_values, validate
from isolated_mlops.components.serving_config import TLS_SECRET_KEYS
from offline.engine import SECRET_PLACEHOLDER, _wire_config, default_secrets, stack_values

ROOT_STACK = "pulumi:pulumi:Stack"
ED25519_KEY = stack_values("prod")["adminSshPublicKey"]


@functools.lru_cache(maxsize=None)
def _stack_file(stack: str) -> Mapping[str, Any]:
    return stack_values(stack)


def check(change: Callable[[dict[str, Any]], Any] = lambda v: None, stack: str = "prod",
          secrets: Optional[Mapping[str, str]] = None) -> tuple[Optional[PlatformConfig], list[str]]:
    """Validate the stack file with `change` applied, as `pulumi up` would hand it to the program."""
    values = copy.deepcopy(dict(_stack_file(stack)))
    change(values)
    wire, secret_keys = _wire_config(values, PROJECT_NAMESPACE, default_secrets() if secrets is None else secrets)
    prefix = f"{PROJECT_NAMESPACE}:"
    try:
        config = validate(project_values(wire), stack, {k[len(prefix):] for k in secret_keys if k.startswith(prefix)})
    except ConfigError as error:
        return None, error.problems
    return config, []


def problems_of(change: Callable[[dict[str, Any]], Any], **kwargs: Any) -> list[str]:
    config, problems = check(change, **kwargs)
    assert config is None and problems, "the bad input was accepted: this test would prove nothing"
    return problems


def at(problems: list[str], path: str) -> list[str]:
    """The problems reported for exactly `path` (messages read `isolated-mlops:<path>: <what is wrong>`)."""
    return [p for p in problems if p.startswith(f"{PROJECT_NAMESPACE}:{path}: ")]


TOKEN = "ghp-PLAINTEXT-token-0123456789"
# prod serves models over HTTPS: its certificate and key are secrets the tests below hand over too.
TLS_ONLY = {key: SECRET_PLACEHOLDER for key in TLS_SECRET_KEYS}


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change that sets a dotted path (`network.amlVnet.addressSpace`, `computeClusters.0.maxNodes`)."""
    def change(values: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = values
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        target[int(last) if isinstance(target, list) else last] = value
    return change


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def change(values: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = values
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        del target[last]
    return change


def _all(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def change(values: dict[str, Any]) -> None:
        for c in changes:
            c(values)
    return change


def _rename(path: str, new_key: str) -> Callable[[dict[str, Any]], None]:
    def change(values: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = values
        for part in parents:
            target = target[part]
        target[new_key] = target.pop(last)
    return change


def _ssh_blob(*fields: bytes) -> str:
    return base64.b64encode(b"".join(len(f).to_bytes(4, "big") + f for f in fields)).decode()


def _rsa_key(bits: int) -> str:
    modulus = (1 << (bits - 1)) | 1  # the top bit decides the key size
    n = b"\x00" + modulus.to_bytes(bits // 8, "big")  # mpint: a leading zero keeps it positive
    body = _ssh_blob(b"ssh-rsa", (65537).to_bytes(3, "big"), n)
    return f"ssh-rsa {body} someone@example.com"
