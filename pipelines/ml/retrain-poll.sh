#!/usr/bin/env bash
# The GitHub retraining trigger's read of Azure (.github/workflows/ml-retrain.yml): the alerts of the
# stack's resource group fired within the last day, every page of them, as one document for
# `python -m ml.retrain`. Read-only: the Alerts Management API's "Alerts - Get All"
# (https://learn.microsoft.com/rest/api/monitor/alertsmanagement/alerts/get-all), called at the
# resource group's scope: `GET /{scope}/providers/Microsoft.AlertsManagement/alerts` with
# api-version 2023-07-12-preview, the version that page documents with `scope` as a path parameter
# (the older 2019-05-05-preview has only the subscription-scope path). The scope must be the resource
# group, not the subscription: the reader holds Monitoring Reader (actions */read:
# https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/monitor#monitoring-reader)
# on the resource group only, and a role applies at its scope and below, never above
# (https://learn.microsoft.com/azure/role-based-access-control/scope-overview), so a subscription-scope
# list would need a role on the subscription.
# Signed in by the workflow (azure/login, OIDC; no credential handled here).
#
#   pipelines/ml/retrain-poll.sh <output file>
#
# Environment: ALERTS_RESOURCE_GROUP (the stack's resource group: `pulumi stack output resourceGroupName`).
set -euo pipefail

out=${1:?usage: retrain-poll.sh <output file>}
: "${ALERTS_RESOURCE_GROUP:?set ALERTS_RESOURCE_GROUP (GitHub variable ML_RETRAIN_RESOURCE_GROUP): the resource group of the stack}"
subscription=$(az account show --query id --output tsv)
# timeRange 1d matches ml.retrain's default lookback (24 h): older alerts never start a run.
url="https://management.azure.com/subscriptions/$subscription/resourceGroups/$ALERTS_RESOURCE_GROUP/providers/Microsoft.AlertsManagement/alerts?api-version=2023-07-12-preview&timeRange=1d"
pages=$(mktemp -d)
trap 'rm -rf "$pages"' EXIT
page=0
while [ -n "$url" ]; do
  page=$((page + 1))
  if [ "$page" -gt 50 ]; then
    echo "more than 50 pages of alerts in one day: not deciding on a partial list" >&2
    exit 1
  fi
  az rest --method get --url "$url" --output json >"$pages/$page.json"
  # Each page names the next one in nextLink until the last.
  url=$(jq -r '.nextLink // empty' "$pages/$page.json")
done
jq -s '{value: (map(.value // []) | add)}' "$pages"/*.json >"$out"
echo "$(jq '.value | length' "$out") alert(s) in $ALERTS_RESOURCE_GROUP within the last day"
