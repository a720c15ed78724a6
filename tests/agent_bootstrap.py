"""The agents' bootstrap as the tests build it, and the files its custom data ships
(tests/test_platform_agent_registration.py, tests/test_platform_agent_custom_data.py)."""

from __future__ import annotations

from isolated_mlops.compute import cloud_init
from isolated_mlops.compute.cloud_init import AgentBootstrap
from tests.helpers import parse_yaml

CLIENT_ID = "00000000-1111-2222-3333-444444444444"


def bootstrap(kind: str) -> AgentBootstrap:
    url = "https://dev.azure.com/contoso" if kind == "azure-devops" else "https://github.com/contoso/ml"
    return AgentBootstrap(kind=kind, vault_host="kv-mlops-prod.vault.azure.net", key_vault_resource="https://vault.azure.net",
                          secret_name="agent-registration-token", identity_client_id=CLIENT_ID, url=url,
                          pool="aml-private", labels=("aml", "private") if kind == "github" else ())


def shipped_files(kind: str) -> dict[str, str]:
    """The files the VM gets, read back out of the custom data the way cloud-init reads it."""
    document = cloud_init.render(bootstrap(kind))
    assert document.startswith("#cloud-config\n")
    parsed = parse_yaml(document)
    return {f["path"]: f["content"] for f in parsed["write_files"]}
