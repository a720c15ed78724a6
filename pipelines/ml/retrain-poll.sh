#!/usr/bin/env bash
# The GitHub retraining trigger's read of Azure (.github/workflows/ml-retrain.yml): the alerts of the
# stack's resource group fired within the last day, every page of them, as one document for
# `python -m ml.retrain`. Read-only: the Alerts Management API's "Alerts - Get All"
# (https://learn.microsoft.com/rest/api/monitor/alertsmanagement/alerts/get-all), which a caller with
# Monitoring Reader may call (its actions are */read: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/monitor#monitoring-reader;
# https://learn.microsoft.com/azure/azure-monitor/roles-permissions-security).
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
url="https://management.azure.com/subscriptions/$subscription/providers/Microsoft.AlertsManagement/alerts?api-version=2019-05-05-preview&targetResourceGroup=$ALERTS_RESOURCE_GROUP&timeRange=1d"
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
