#!/usr/bin/env bash
# Registers, in one Azure subscription, the resource providers and the subscription feature the
# isolated-mlops stacks need. azure-native registers neither (components/providers.py says why).
#
#   bootstrap/register-providers.sh                          # the subscription `az account show` names
#   bootstrap/register-providers.sh --subscription <id>      # another one
#
# Needs the Azure CLI, signed in with rights to register providers (*/register/action: Contributor
# or Owner on the subscription). Idempotent: run it again at any time. The lists below are
# components/providers.py's (tests/test_delivery_providers.py keeps them equal).
set -euo pipefail

PROVIDERS=(
  Microsoft.MachineLearningServices
  Microsoft.Network
  Microsoft.Compute
  Microsoft.ContainerRegistry
  Microsoft.KeyVault
  Microsoft.Storage
  Microsoft.Insights
  Microsoft.OperationalInsights
  Microsoft.ManagedIdentity
  Microsoft.ContainerService
  Microsoft.KubernetesConfiguration
)
# <namespace>/<feature>
FEATURES=(
  Microsoft.Compute/EncryptionAtHost
)
# A feature takes a few minutes (sometimes more) to reach "Registered".
POLL_SECONDS=${POLL_SECONDS:-15}
FEATURE_TIMEOUT_SECONDS=${FEATURE_TIMEOUT_SECONDS:-1800}

usage() {
  echo "usage: $0 [--subscription <subscription id or name>]" >&2
  exit 2
}

if [[ $# -gt 0 ]]; then
  [[ $# -eq 2 && $1 == --subscription && -n $2 ]] || usage
  target=$2
else
  target=$(az account show --query id --output tsv)
fi
# Always explicit: every call below acts on the one subscription named here.
subscription=(--subscription "$target")
echo "subscription $target"

feature_state() {
  az feature show --namespace "$1" --name "$2" --query properties.state --output tsv "${subscription[@]}"
}

# Features first: each takes effect once its provider is registered, which the loop below does.
for feature in "${FEATURES[@]}"; do
  namespace=${feature%%/*}
  name=${feature#*/}
  if [[ $(feature_state "$namespace" "$name") != Registered ]]; then
    echo "registering feature $namespace/$name"
    az feature register --namespace "$namespace" --name "$name" --output none "${subscription[@]}"
    waited=0
    until [[ $(feature_state "$namespace" "$name") == Registered ]]; do
      if (( waited >= FEATURE_TIMEOUT_SECONDS )); then
        echo "feature $namespace/$name is not Registered after ${waited}s; run this script again later" >&2
        exit 1
      fi
      sleep "$POLL_SECONDS"
      waited=$(( waited + POLL_SECONDS ))
    done
  fi
  echo "feature $namespace/$name: Registered"
done

for namespace in "${PROVIDERS[@]}"; do
  # Registering a registered provider is harmless, and propagates the features registered above.
  az provider register --namespace "$namespace" --wait "${subscription[@]}"
  echo "provider $namespace: $(az provider show --namespace "$namespace" --query registrationState --output tsv "${subscription[@]}")"
done
