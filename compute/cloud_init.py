"""The agents' first-boot script. It holds no secret: it reads the registration credential from
Key Vault with the VM's managed identity, through the vault's private endpoint.

Custom data is readable by anyone who can read the VM in ARM and from inside the VM (IMDS), and it
is logged by cloud-init; a token placed here is a leaked token. So the script only names *where*
the credential is, and passes it to the agent's configuration through the environment, never on a
command line (visible in `ps`) and never echoed.
"""

from __future__ import annotations

import base64
import shlex
from dataclasses import dataclass
from typing import Sequence
from urllib.parse import quote, urlparse

# Pinned so that every agent in a pool runs the same version; bump deliberately.
AZURE_DEVOPS_AGENT_VERSION = "4.261.0"
GITHUB_RUNNER_VERSION = "2.329.0"


@dataclass(frozen=True)
class AgentBootstrap:
    kind: str
    """`azure-devops` or `github`."""
    agent_user: str
    vault_host: str
    """`<vault>.vault.azure.net` (per cloud); resolves to the private endpoint inside the VNets."""
    key_vault_resource: str
    secret_name: str
    identity_client_id: str
    url: str
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


def render(b: AgentBootstrap) -> str:
    q = shlex.quote
    header = f"""#!/bin/bash
# First boot of a self-hosted {b.kind} agent (rendered by compute/cloud_init.py; contains no secret).
set -euo pipefail
AGENT_USER={q(b.agent_user)}
SECRET_URL={q(f"https://{b.vault_host}/secrets/{b.secret_name}?api-version=7.4")}
TOKEN_URL={q("http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01"
              f"&resource={quote(b.key_vault_resource, safe='')}&client_id={b.identity_client_id}")}

export DEBIAN_FRONTEND=noninteractive
apt-get update -q && apt-get install -y -q curl jq ca-certificates

# The role assignment and the private DNS records can take minutes to propagate: retry, quietly.
CREDENTIAL=""
for attempt in $(seq 1 30); do
  ACCESS_TOKEN=$(curl -fsS -H Metadata:true "$TOKEN_URL" | jq -r .access_token) || true
  if [ -n "${{ACCESS_TOKEN:-}}" ] && CREDENTIAL=$(curl -fsS -H "Authorization: Bearer $ACCESS_TOKEN" "$SECRET_URL" | jq -er .value); then
    break
  fi
  echo "waiting for Key Vault access (attempt $attempt)"
  sleep 20
done
unset ACCESS_TOKEN
[ -n "$CREDENTIAL" ] || {{ echo "could not read the registration credential from Key Vault" >&2; exit 1; }}
"""
    if b.kind == "azure-devops":
        version = AZURE_DEVOPS_AGENT_VERSION
        body = f"""
mkdir -p /opt/azp && cd /opt/azp
curl -fsSL {q(f"https://download.agent.dev.azure.com/agent/{version}/vsts-agent-linux-x64-{version}.tar.gz")} | tar -xz
./bin/installdependencies.sh
chown -R "$AGENT_USER" /opt/azp
sudo -u "$AGENT_USER" env VSTS_AGENT_INPUT_TOKEN="$CREDENTIAL" ./config.sh --unattended \\
  --url {q(b.url)} --auth pat --pool {q(b.pool)} --agent "$(hostname)" --replace --acceptTeeEula
unset CREDENTIAL
./svc.sh install "$AGENT_USER"
./svc.sh start
"""
    elif b.kind == "github":
        version = GITHUB_RUNNER_VERSION
        labels = ",".join(b.labels) or "self-hosted"
        body = f"""
# The stored credential (a PAT or app token) is exchanged for a one-hour runner registration token.
RUNNER_TOKEN=$(curl -fsS -X POST -H "Authorization: Bearer $CREDENTIAL" -H "Accept: application/vnd.github+json" \\
  {q(github_api_registration_endpoint(b.url))} | jq -er .token)
unset CREDENTIAL
mkdir -p /opt/actions-runner && cd /opt/actions-runner
curl -fsSL {q(f"https://github.com/actions/runner/releases/download/v{version}/actions-runner-linux-x64-{version}.tar.gz")} | tar -xz
./bin/installdependencies.sh
chown -R "$AGENT_USER" /opt/actions-runner
sudo -u "$AGENT_USER" env ACTIONS_RUNNER_INPUT_TOKEN="$RUNNER_TOKEN" ./config.sh --unattended \\
  --url {q(b.url)} --name "$(hostname)" --labels {q(labels)} --replace
unset RUNNER_TOKEN
./svc.sh install "$AGENT_USER"
./svc.sh start
"""
    else:
        raise ValueError(f"unknown agent kind {b.kind!r}")
    return header + body


def encode(script: str) -> str:
    """Custom data travels base64-encoded."""
    return base64.b64encode(script.encode()).decode()
