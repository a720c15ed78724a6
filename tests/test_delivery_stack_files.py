"""Committed stack files hold no secret in plain text: secrets come from `pulumi config set --secret`
(ciphertext under the stack's secrets provider) or from a Pulumi ESC environment."""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any, Iterator

import pytest

from isolated_mlops.components.config import SECRET_KEYS
from tests.helpers import load_yaml

ROOT = Path(__file__).resolve().parent.parent
STACK_FILES = sorted([*ROOT.glob("Pulumi.*.yaml"), *(ROOT / "bootstrap").glob("Pulumi.*.yaml")])
# What leaked credentials look like: private keys, GitHub tokens, JWTs, connection strings, and a
# 52-character Azure DevOps PAT.
LEAK_PATTERNS = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "GitHub token": re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"),
    "JWT": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\."),
    "storage key or SAS": re.compile(r"AccountKey=|SharedAccessSignature=|[?&]sig=[A-Za-z0-9%]{20,}"),
    "Azure DevOps PAT": re.compile(r"^[a-z2-7]{52}$|^[A-Za-z0-9]{84}$"),
}
SECRET_LOOKING_KEY = re.compile(r"token|password|secret|passphrase|private[-_]?key|credential", re.IGNORECASE)
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def leaves(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        if set(node) == {"secure"}:
            yield path, node  # ciphertext: fine to commit
            return
        for key, value in node.items():
            yield from leaves(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from leaves(value, f"{path}[{index}]")
    else:
        yield path, node


def plain_secrets(document: dict[str, Any]) -> list[str]:
    """Every plain-text secret in a stack file document, as `path: why`."""
    found = []
    for path, value in leaves(document.get("config") or {}):
        if isinstance(value, dict):
            continue
        key = path.rsplit(".", 1)[-1].split(":")[-1]
        # A date under a secret-looking name (agents.tokenExpiresOn) is when the secret expires, not the secret.
        is_date = isinstance(value, datetime.date) or (isinstance(value, str) and DATE.fullmatch(value) is not None)
        if (key in SECRET_KEYS or SECRET_LOOKING_KEY.search(key)) and value not in (None, "") and not is_date:
            found.append(f"{path}: a secret-looking key with a plain value")
        for what, pattern in LEAK_PATTERNS.items():
            if isinstance(value, str) and pattern.search(value):
                found.append(f"{path}: looks like a {what}")
    return found


@pytest.mark.parametrize("path", STACK_FILES, ids=[str(p.relative_to(ROOT)) for p in STACK_FILES])
def test_stack_file_holds_no_plain_secret(path: Path) -> None:
    assert plain_secrets(load_yaml(path)) == []


def test_stack_files_are_found() -> None:
    names = {str(p.relative_to(ROOT)) for p in STACK_FILES}
    assert {"Pulumi.dev.yaml", "Pulumi.prod.yaml", "bootstrap/Pulumi.state.yaml"} <= names


@pytest.mark.parametrize("config, why", [
    ({"isolated-mlops:agentRegistrationToken": "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst"}, "secret-looking"),
    ({"isolated-mlops:agents": {"url": "https://dev.azure.com/x", "pat": "a" * 52}}, "Azure DevOps PAT"),
    ({"isolated-mlops:note": "ghp_0123456789abcdefghijABCDEFGHIJ"}, "GitHub token"),
    ({"isolated-mlops:adminSshPublicKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl..."}, "private key"),
    ({"isolated-mlops-state:storageConnection": "DefaultEndpointsProtocol=https;AccountKey=abc"}, "storage key"),
])
def test_the_check_catches_a_committed_secret(config: dict[str, Any], why: str) -> None:
    problems = plain_secrets({"config": config})
    assert any(why in p for p in problems), problems


def test_an_expiry_date_is_not_a_secret_but_a_token_under_it_is() -> None:
    agents = {"isolated-mlops:agents": {"tokenExpiresOn": "2027-03-01"}}
    assert plain_secrets({"config": agents}) == []
    agents["isolated-mlops:agents"]["tokenExpiresOn"] = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst"
    assert any("secret-looking" in p for p in plain_secrets({"config": agents}))


def test_ciphertext_and_esc_imports_are_fine() -> None:
    document = {
        "environment": ["isolated-mlops/prod"],
        "config": {"isolated-mlops:agentRegistrationToken": {"secure": "v1:AAAABBBBCCCC"}},
    }
    assert plain_secrets(document) == []
