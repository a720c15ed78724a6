"""The agents' custom data: a cloud-config that installs a registration *service*, not a script.

cloud-init runs user scripts and `runcmd` once per instance (the module's frequency is
"once-per-instance": https://docs.cloud-init.io/en/latest/reference/modules.html#runcmd, source
cloudinit/config/cc_runcmd.py; Azure's own page on it:
https://learn.microsoft.com/azure/virtual-machines/linux/using-cloud-init), so a first-boot script
that fails leaves a VM without an agent and nothing to retry it. The custom data here only writes
files (`write_files`) and enables two systemd units (`runcmd`); the units do the work at every boot
and retry until the agent is registered (compute/agent_registration.py, shipped verbatim).

Custom data holds no secret: it is readable from ARM and from inside the VM, and logged by
cloud-init. It names only *where* the credential is (the vault, the secret, the identity's client
id); the program reads it with the VM's managed identity.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import urlparse

from isolated_mlops.components.config_schema import AGENT_USER  # defined there: the config refuses it as admin

# Pinned so that every agent in a pool runs the same version; bump deliberately.
AZURE_DEVOPS_AGENT_VERSION = "4.261.0"
GITHUB_RUNNER_VERSION = "2.329.0"


PROGRAM_SOURCE = Path(__file__).with_name("agent_registration.py")
PROGRAM_PATH = "/usr/local/lib/agent-registration/agent_registration.py"
CONFIG_PATH = "/etc/agent-registration/config.json"
REGISTRATION_UNIT = "agent-registration.service"
IMDS_BLOCK_UNIT = "agent-imds-block.service"
INSTALL_DIRS = {"azure-devops": "/opt/azp", "github": "/opt/actions-runner"}

# Custom data: "The base-64 encoded string is decoded to a binary array ... The maximum length of
# the binary array is 65535 bytes" (osProfile.customData in the VM REST API:
# https://learn.microsoft.com/rest/api/compute/virtual-machines/create-or-update; what custom data
# is: https://learn.microsoft.com/azure/virtual-machines/custom-data). We hold the *encoded* string
# under it, the stricter reading, so either reading of "64 KB" is met.
CUSTOM_DATA_MAX_BYTES = 65535


@dataclass(frozen=True)
class AgentBootstrap:
    kind: str
    """`azure-devops` or `github`."""
    vault_host: str
    """`<vault>.vault.azure.net` (per cloud); resolves to the private endpoint inside the VNets."""
    key_vault_resource: str
    """The token audience for Key Vault in the stack's cloud (`https://vault.azure.net`)."""
    secret_name: str
    identity_client_id: str
    url: str
    """Azure DevOps organisation URL, or the GitHub organisation/repository URL."""
    pool: str
    labels: Sequence[str]


def github_api_registration_endpoint(url: str) -> str:
    """The REST endpoint that exchanges the stored GitHub credential for a short-lived runner token."""
    parsed = urlparse(url)
    api = "https://api.github.com" if parsed.netloc == "github.com" else f"https://{parsed.netloc}/api/v3"
    parts = [p for p in parsed.path.split("/") if p]
    if len(parts) == 1:
        return f"{api}/orgs/{parts[0]}/actions/runners/registration-token"
    if len(parts) == 2:
        return f"{api}/repos/{parts[0]}/{parts[1]}/actions/runners/registration-token"
    raise ValueError(f"agents.url {url!r} must be a GitHub organisation or repository URL")


def download_url(kind: str) -> str:
    if kind == "azure-devops":
        v = AZURE_DEVOPS_AGENT_VERSION
        return f"https://download.agent.dev.azure.com/agent/{v}/vsts-agent-linux-x64-{v}.tar.gz"
    if kind == "github":
        v = GITHUB_RUNNER_VERSION
        return f"https://github.com/actions/runner/releases/download/v{v}/actions-runner-linux-x64-{v}.tar.gz"
    raise ValueError(f"unknown agent kind {kind!r}")


def render_config(b: AgentBootstrap) -> dict[str, Any]:
    """What the program reads from CONFIG_PATH: where things are, never a credential."""
    if b.kind not in INSTALL_DIRS:
        raise ValueError(f"unknown agent kind {b.kind!r}")
    config: dict[str, Any] = {
        "kind": b.kind,
        "agent_user": AGENT_USER,
        "install_dir": INSTALL_DIRS[b.kind],
        "download_url": download_url(b.kind),
        "vault_url": f"https://{b.vault_host}",
        "secret_name": b.secret_name,
        "key_vault_resource": b.key_vault_resource,
        "identity_client_id": b.identity_client_id,
        "url": b.url,
        "pool": b.pool,
        "labels": list(b.labels) or ["self-hosted"],
    }
    if b.kind == "github":
        config["github_registration_url"] = github_api_registration_endpoint(b.url)
    return config


def _exec(command: str) -> str:
    return f"/usr/bin/python3 {PROGRAM_PATH} {command}"


def imds_block_unit() -> str:
    return f"""[Unit]
Description=Block the CI agent user from the instance metadata service (its jobs must not get the VM identity's tokens)
Documentation=https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service
After=local-fs.target
Before={REGISTRATION_UNIT}

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart={_exec("block-imds")}

[Install]
WantedBy=multi-user.target
"""


def registration_unit() -> str:
    # Type=oneshot with Restart=on-failure (systemd >= 236; Ubuntu 24.04 ships 255): a run that
    # gives up (a step's deadline passed) is started again after RestartSec, for ever
    # (StartLimitIntervalSec=0); within a run, each step backs off exponentially up to a cap.
    # https://www.freedesktop.org/software/systemd/man/latest/systemd.service.html#Restart=
    return f"""[Unit]
Description=Register this VM's CI/CD agent (retries until registered; a no-op once it is)
Wants=network-online.target
After=network-online.target {IMDS_BLOCK_UNIT}
Requires={IMDS_BLOCK_UNIT}
StartLimitIntervalSec=0

[Service]
Type=oneshot
ExecStart={_exec("register")}
Restart=on-failure
RestartSec=60
TimeoutStartSec=3h
UMask=0077

[Install]
WantedBy=multi-user.target
"""


def units() -> dict[str, str]:
    return {IMDS_BLOCK_UNIT: imds_block_unit(), REGISTRATION_UNIT: registration_unit()}


def cloud_config(b: AgentBootstrap) -> dict[str, Any]:
    files = [
        {"path": PROGRAM_PATH, "permissions": "0755", "owner": "root:root",
         "content": PROGRAM_SOURCE.read_text(encoding="utf-8")},
        {"path": CONFIG_PATH, "permissions": "0644", "owner": "root:root",
         "content": json.dumps(render_config(b), indent=2) + "\n"},
        *({"path": f"/etc/systemd/system/{name}", "permissions": "0644", "owner": "root:root", "content": text}
          for name, text in units().items()),
    ]
    return {
        "write_files": files,
        # The only once-per-instance step left: enable the units (they then run at every boot) and
        # start registration without making cloud-init wait for it.
        "runcmd": [
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", IMDS_BLOCK_UNIT, REGISTRATION_UNIT],
            ["systemctl", "start", "--no-block", REGISTRATION_UNIT],
        ],
    }


def render(b: AgentBootstrap) -> str:
    """The cloud-config document. JSON is YAML, so cloud-init reads it as is; json.dumps escapes
    the program's text exactly, with no YAML indentation rules to get wrong."""
    return "#cloud-config\n" + json.dumps(cloud_config(b), indent=1) + "\n"


def encode(document: str) -> str:
    """Custom data travels base64-encoded, within Azure's limit (checked here, at preview time)."""
    encoded = base64.b64encode(document.encode()).decode()
    if len(encoded) > CUSTOM_DATA_MAX_BYTES:
        raise ValueError(f"the agents' custom data is {len(encoded)} bytes base64-encoded; Azure accepts "
                         f"at most {CUSTOM_DATA_MAX_BYTES}: shorten compute/agent_registration.py")
    return encoded
