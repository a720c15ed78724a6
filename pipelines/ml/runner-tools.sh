#!/usr/bin/env bash
# What the ML delivery needs on a platform runner beyond what its first boot installs
# (compute/cloud_init.py installs only what registration needs): jq, python3-venv and the Azure CLI.
# The GitHub workflow's equivalent of pipelines/templates/agent-tools.yml; idempotent.
set -euo pipefail
missing=()
command -v jq >/dev/null || missing+=(jq)
# Ubuntu's python3 has no ensurepip (so no venv) until python3-venv is installed.
python3 -c "import ensurepip" 2>/dev/null || missing+=(python3-venv)
if ! command -v az >/dev/null; then
  # Microsoft's signed apt repository, as documented for Ubuntu.
  codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release)
  sudo mkdir -p /etc/apt/keyrings
  curl -fsSL https://packages.microsoft.com/keys/microsoft.asc | gpg --dearmor \
    | sudo tee /etc/apt/keyrings/microsoft.gpg >/dev/null
  printf 'Types: deb\nURIs: https://packages.microsoft.com/repos/azure-cli/\nSuites: %s\nComponents: main\nArchitectures: %s\nSigned-by: /etc/apt/keyrings/microsoft.gpg\n' \
    "$codename" "$(dpkg --print-architecture)" | sudo tee /etc/apt/sources.list.d/azure-cli.sources >/dev/null
  missing+=(azure-cli)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  sudo apt-get update -q
  sudo apt-get install -y -q "${missing[@]}"
fi
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
