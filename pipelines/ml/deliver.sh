#!/usr/bin/env bash
# The ML delivery's Azure steps, shared by pipelines/ml-delivery.yml (Azure Pipelines) and
# .github/workflows/ml-delivery.yml (GitHub Actions): one script, so both CI systems deliver the
# same way. Each step is one sub-command; the decisions are `python -m ml.decide`, whose exit code
# stops the run. Runs on the platform's private agents, signed in to Azure by the CI system (no
# credential handled here), in the repository root with .venv created from requirements.txt.
#
#   pipelines/ml/deliver.sh train|gate|register|share|image|canary|verify|rollback|record
#
# Promotion through the model registry: the candidate is trained and registered in the workspace of
# SOURCE_STACK, `share` copies that version into the Azure ML registry named by REGISTRY_STACK's
# output modelRegistryName (`az ml model share`), and the canary in STACK's endpoint deploys it as
# azureml://registries/<registry>/models/<name>/versions/<run> ("Share models, components and
# environments across workspaces with registries":
# https://learn.microsoft.com/azure/machine-learning/how-to-share-models-pipelines-across-workspaces-with-registries).
# The production and archived tags then live on the registry's versions. A stack without a registry
# (dev) deploys from its own workspace, as before.
#
# Environment: STACK (prod/dev), RUN_ID (the CI run's number: names the job, the model and
# environment versions), PULUMI_BACKEND_URL (stack outputs: resource group, workspace, cluster),
# SOURCE_STACK (optional, default STACK: whose workspace trains and registers the candidate),
# REGISTRY_STACK (optional, default STACK: whose output modelRegistryName names the registry),
# ENDPOINT_NAME (unique in the region), SERVING_COMPUTE (the Kubernetes compute attached to the
# workspace), and for `record` optionally DRIFT_DCE, DRIFT_DCR_ID, DRIFT_STREAM (the Logs
# Ingestion API target; unset, the stack output driftIngestion gives them; without either the drift
# rows are only printed and kept in ml-out/). ML_THRESHOLDS (optional, default
# ml/config/thresholds.yaml) is the thresholds file every decision reads: drift, the metric gate and
# the canary, so a team can hold one environment to stricter limits than another.
set -euo pipefail

MODEL=bc-classifier
ENVIRONMENT=bc-classifier-score
OUT=${ML_OUT:-ml-out}  # what the steps hand each other (metrics, rollout plan, probe results)
PY=.venv/bin/python
DECIDE=("$PY" -m ml.decide --thresholds "${ML_THRESHOLDS:-ml/config/thresholds.yaml}")
mkdir -p "$OUT"

workspace_of() {  # stack -> WHERE=(resource group, workspace); a failed read stops the script
  local group workspace
  group=$(pulumi stack output resourceGroupName --stack "$1")
  workspace=$(pulumi stack output workspaceName --stack "$1")
  WHERE=("$group" "$workspace")
}

cluster_of() {  # stack -> CLUSTER, the first of its clusters (prod: cpu-build, dev: cpu-small: computeClusters in the stack file)
  # Read by the two steps that run a job (train, image) only: one `pulumi stack output` less for the others.
  CLUSTER=$(pulumi stack output computeClusters --stack "$1" --json | jq -r '.[0]')
}

context() {
  pulumi login --non-interactive "$PULUMI_BACKEND_URL" >/dev/null
  unset_macros SOURCE_STACK REGISTRY_STACK
  SOURCE_STACK=${SOURCE_STACK:-$STACK}
  REGISTRY_STACK=${REGISTRY_STACK:-$STACK}
  workspace_of "$STACK"
  RESOURCE_GROUP=${WHERE[0]} WORKSPACE=${WHERE[1]}
  WS=(--resource-group "$RESOURCE_GROUP" --workspace-name "$WORKSPACE")
  # Where the candidate is trained and registered (SOURCE_STACK): the same workspace unless set.
  if [ "$SOURCE_STACK" = "$STACK" ]; then
    SRC=("${WS[@]}")
  else
    workspace_of "$SOURCE_STACK"
    SRC=(--resource-group "${WHERE[0]}" --workspace-name "${WHERE[1]}")
  fi
  az extension add --name ml --upgrade --yes --only-show-errors
  # The workspace and the registry answer only on their private endpoints: the agent resolves them
  # through the private DNS zones linked to its VNet.
}

registry_context() {  # for the steps that find, deploy or tag production versions (gate, share, canary, verify, rollback)
  # The registry models are promoted through: null (or no such output) in a stack that has none.
  local name
  name=$(pulumi stack output modelRegistryName --stack "$REGISTRY_STACK" --json 2>/dev/null || true)
  REGISTRY=
  if [ -n "$name" ] && [ "$name" != null ]; then  # a JSON string: jq reads it (no jq start for a stack without one)
    REGISTRY=$(jq -r '. // empty' <<<"$name" 2>/dev/null || true)
  fi
  if [ -n "$REGISTRY" ]; then
    CATALOG=(--registry-name "$REGISTRY")  # where production versions are found and tagged
    MODEL_REF="azureml://registries/$REGISTRY/models/$MODEL/versions/$RUN_ID"
  else
    CATALOG=("${WS[@]}")
    MODEL_REF="azureml:$MODEL:$RUN_ID"
  fi
}

job_done() {  # workspace options..., job name -> true when that job exists and completed (a re-run reuses it)
  local name=${*: -1}
  [ "$(az ml job show "${@:1:$#-1}" --name "$name" --query status --output tsv 2>/dev/null)" = Completed ]
}

unset_macros() {
  # Azure Pipelines leaves an undefined variable's macro as text ("$(DRIFT_DCE)"): treat it as unset.
  local name
  for name in "$@"; do
    case "${!name:-}" in \$\(*) printf -v "$name" '%s' "" ;; esac
  done
}

mask() {
  # Keep a credential out of the run's log, whichever CI system runs this.
  if [ "${GITHUB_ACTIONS:-}" = true ]; then echo "::add-mask::$1"; fi
  if [ "${TF_BUILD:-}" = True ]; then echo "##vso[task.setsecret]$1"; fi
}

train() {
  if job_done "${SRC[@]}" "bc-train-$RUN_ID"; then
    echo "bc-train-$RUN_ID completed in an earlier attempt of this run: reusing it"
  else
    cluster_of "$SOURCE_STACK"
    az ml job create "${SRC[@]}" --file ml/aml/train-job.yml --name "bc-train-$RUN_ID" \
      --set compute="azureml:$CLUSTER" --stream
  fi
  rm -rf "$OUT/train"
  az ml job download "${SRC[@]}" --name "bc-train-$RUN_ID" --output-name model_output --download-path "$OUT/train"
  cp "$OUT/train/named-outputs/model_output/metrics.json" "$OUT/metrics.json"
  cat "$OUT/metrics.json"
}

gate() {
  # The production model is the version tagged stage=production (set when a rollout is promoted),
  # in the registry when there is one.
  local production
  production=$(az ml model list "${CATALOG[@]}" --name "$MODEL" \
    --query "[?tags.stage=='production'] | [0].tags.auc" --output tsv)
  if [ -n "$production" ]; then
    jq -n --arg auc "$production" '{auc: ($auc | tonumber)}' >"$OUT/production.json"
    "${DECIDE[@]}" gate --metrics "$OUT/metrics.json" --production "$OUT/production.json"
  else
    "${DECIDE[@]}" gate --metrics "$OUT/metrics.json"
  fi
}

register() {
  local auc
  auc=$(jq -r .auc "$OUT/metrics.json")
  if az ml model show "${SRC[@]}" --name "$MODEL" --version "$RUN_ID" --output none 2>/dev/null; then
    echo "$MODEL:$RUN_ID is registered already (an earlier attempt of this run)"
    return 0
  fi
  az ml model create "${SRC[@]}" --file ml/aml/model.yml --version "$RUN_ID" \
    --set path="azureml://jobs/bc-train-$RUN_ID/outputs/model_output/paths/model/" \
    --set tags.auc="$auc" --set tags.stage=candidate --set tags.run="$RUN_ID"
}

share() {
  # Promote the candidate out of the workspace it was registered in, into the registry the
  # production endpoint deploys from; the registry copies the model's files with it. Same name and
  # version (the run), so the registry's version traces back to the training job.
  if [ -z "$REGISTRY" ]; then
    echo "no model registry (stack $REGISTRY_STACK has no output modelRegistryName): $STACK deploys $MODEL_REF from its workspace"
    return 0
  fi
  if az ml model show --registry-name "$REGISTRY" --name "$MODEL" --version "$RUN_ID" --output none 2>/dev/null; then
    echo "$MODEL:$RUN_ID is in registry $REGISTRY already (an earlier attempt of this run)"
    return 0
  fi
  az ml model share "${SRC[@]}" --name "$MODEL" --version "$RUN_ID" \
    --registry-name "$REGISTRY" --share-with-name "$MODEL" --share-with-version "$RUN_ID"
  echo "shared: $MODEL_REF"
}

image() {
  if ! az ml environment show "${WS[@]}" --name "$ENVIRONMENT" --version "$RUN_ID" --output none 2>/dev/null; then
    az ml environment create "${WS[@]}" --file ml/aml/environment/score.yml --version "$RUN_ID"
  fi
  if ! job_done "${WS[@]}" "bc-image-$RUN_ID"; then
    cluster_of "$STACK"
    az ml job create "${WS[@]}" --file ml/aml/build-image-job.yml --name "bc-image-$RUN_ID" \
      --set environment="azureml:$ENVIRONMENT:$RUN_ID" --set compute="azureml:$CLUSTER" --stream
  fi
}

plan() {
  local traffic='{}'
  if az ml online-endpoint show "${WS[@]}" --name "$ENDPOINT_NAME" --output none 2>/dev/null; then
    traffic=$(az ml online-endpoint show "${WS[@]}" --name "$ENDPOINT_NAME" --query traffic --output json)
  fi
  "${DECIDE[@]}" colours --traffic "$traffic" >"$OUT/rollout.env"
  load_plan
}

load_plan() {
  # ml.decide colours' KEY=value lines: the live colour (empty on a new endpoint), the new one,
  # and the canary settings from ml/config/thresholds.yaml.
  live=$(sed -n 's/^live=//p' "$OUT/rollout.env")
  new=$(sed -n 's/^new=//p' "$OUT/rollout.env")
  share=$(sed -n 's/^share=//p' "$OUT/rollout.env")
  requests=$(sed -n 's/^requests=//p' "$OUT/rollout.env")
  rounds=$(sed -n 's/^rounds=//p' "$OUT/rollout.env")
}

canary() {
  if ! az ml online-endpoint show "${WS[@]}" --name "$ENDPOINT_NAME" --output none 2>/dev/null; then
    az ml online-endpoint create "${WS[@]}" --file ml/aml/endpoint.yml --name "$ENDPOINT_NAME" \
      --set compute="azureml:$SERVING_COMPUTE"
  fi
  plan
  # A deployment of the new colour left over from a failed run carries no traffic: replace it.
  if az ml online-deployment show "${WS[@]}" --endpoint-name "$ENDPOINT_NAME" --name "$new" --output none 2>/dev/null; then
    az ml online-deployment delete "${WS[@]}" --endpoint-name "$ENDPOINT_NAME" --name "$new" --yes
  fi
  az ml online-deployment create "${WS[@]}" --file ml/aml/deployment.yml --name "$new" \
    --endpoint-name "$ENDPOINT_NAME" --set endpoint_name="$ENDPOINT_NAME" \
    --set model="$MODEL_REF" --set environment="azureml:$ENVIRONMENT:$RUN_ID"
  if [ -n "$live" ]; then
    az ml online-endpoint update "${WS[@]}" --name "$ENDPOINT_NAME" --traffic "$live=$((100 - share)) $new=$share"
  fi
  # With nothing live yet the new deployment takes no traffic until `verify` promotes it.
}

probe() {  # deployment, output file
  ML_ENDPOINT_KEY="$key" "$PY" -m ml.probe --uri "$uri" --deployment "$1" \
    --request ml/data/sample-request.json --requests "$requests" --budget 60 --output "$2"
}

verify() {
  load_plan
  uri=$(az ml online-endpoint show "${WS[@]}" --name "$ENDPOINT_NAME" --query scoring_uri --output tsv)
  key=$(az ml online-endpoint get-credentials "${WS[@]}" --name "$ENDPOINT_NAME" --query primaryKey --output tsv)
  mask "$key"
  local round decision stable=()
  for round in $(seq 1 "$rounds"); do
    echo "round $round of $rounds"
    probe "$new" "$OUT/canary.json"
    if [ -n "$live" ]; then
      probe "$live" "$OUT/stable.json"
      stable=(--stable "$OUT/stable.json")
    fi
    decision=0
    "${DECIDE[@]}" shift --canary "$OUT/canary.json" "${stable[@]}" || decision=$?
    case "$decision" in
      0) promote; return 0 ;;
      3) sleep 60 ;;
      *) echo "the canary is rolled back" >&2; rollback; return 1 ;;
    esac
  done
  echo "still no decision after $rounds rounds: the canary is rolled back" >&2
  rollback
  return 1
}

promote() {
  az ml online-endpoint update "${WS[@]}" --name "$ENDPOINT_NAME" --traffic "$new=100${live:+ $live=0}"
  az ml model update "${CATALOG[@]}" --name "$MODEL" --version "$RUN_ID" --set tags.stage=production
  if [ -n "$live" ]; then
    local previous
    previous=$(az ml online-deployment show "${WS[@]}" --endpoint-name "$ENDPOINT_NAME" --name "$live" \
      --query model --output tsv | sed 's#.*[:/]##')  # azureml:name:version or .../versions/<version>
    # A version deployed before the registry existed is not in it: its tag is not worth failing for.
    [ -z "$previous" ] || az ml model update "${CATALOG[@]}" --name "$MODEL" --version "$previous" --set tags.stage=archived \
      || echo "$MODEL:$previous was not tagged archived (not found where production versions are kept)"
    az ml online-deployment delete "${WS[@]}" --endpoint-name "$ENDPOINT_NAME" --name "$live" --yes --no-wait
  fi
  echo "promoted: $new serves 100 % of $ENDPOINT_NAME"
}

rollback() {
  # Idempotent: `verify` rolls back itself, and the CI systems call this again when any step from
  # `canary` on failed; before `canary` made a plan there is nothing to undo.
  if [ ! -f "$OUT/rollout.env" ]; then
    echo "nothing to roll back: no canary was deployed"
    return 0
  fi
  load_plan
  if ! az ml online-deployment show "${WS[@]}" --endpoint-name "$ENDPOINT_NAME" --name "$new" --output none 2>/dev/null; then
    echo "nothing to roll back: $new is not deployed"
    return 0
  fi
  if [ -n "$live" ]; then
    az ml online-endpoint update "${WS[@]}" --name "$ENDPOINT_NAME" --traffic "$live=100 $new=0"
  fi
  az ml online-deployment delete "${WS[@]}" --endpoint-name "$ENDPOINT_NAME" --name "$new" --yes
  az ml model update "${CATALOG[@]}" --name "$MODEL" --version "$RUN_ID" --set tags.stage=rejected
  echo "rolled back: ${live:-nothing} keeps the traffic of $ENDPOINT_NAME"
}

record() {
  # The drift of the data this run trained on against the reference, as rows for the alert (name
  # and shape: ml/drift.py drift_records, README). Sent with the Logs Ingestion API through the data
  # collection endpoint in the platform's Azure Monitor private link scope, signed in as the
  # pipeline's identity (Monitoring Metrics Publisher on the rule):
  # https://learn.microsoft.com/azure/azure-monitor/logs/logs-ingestion-api-overview
  unset_macros DRIFT_DCE DRIFT_DCR_ID DRIFT_STREAM
  if [ -z "${DRIFT_DCE:-}${DRIFT_DCR_ID:-}${DRIFT_STREAM:-}" ]; then
    # Unset in CI: the platform's own stack output (workspace/alerts.py; null without an `alerts` key,
    # absent on a stack deployed before it existed).
    local ingestion text fields
    ingestion=$(pulumi stack output driftIngestion --stack "$STACK" --json 2>/dev/null || echo '{}')
    # One jq for the three fields, one a line (an absent one is an empty line, and trailing ones go).
    text=$(jq -r '(.dce // ""), (.dcrImmutableId // ""), (.stream // "")' <<<"$ingestion")
    mapfile -t fields <<<"$text"
    DRIFT_DCE=${fields[0]:-} DRIFT_DCR_ID=${fields[1]:-} DRIFT_STREAM=${fields[2]:-}
  fi
  "${DECIDE[@]}" drift --reference ml/data/reference.csv --current ml/data/breast_cancer.csv \
    --record "$OUT/drift-record.json" --model "$MODEL" --stack "$STACK" --run-id "$RUN_ID" || true
  jq -c '.[]' "$OUT/drift-record.json" | sed 's/^/ML_DATA_DRIFT /'
  if [ -n "${DRIFT_DCE:-}" ] && [ -n "${DRIFT_DCR_ID:-}" ] && [ -n "${DRIFT_STREAM:-}" ]; then
    az rest --method post --resource https://monitor.azure.com \
      --url "$DRIFT_DCE/dataCollectionRules/$DRIFT_DCR_ID/streams/$DRIFT_STREAM?api-version=2023-01-01" \
      --headers Content-Type=application/json --body "@$OUT/drift-record.json"
    echo "drift metric sent to $DRIFT_STREAM"
  else
    echo "drift metric not sent: DRIFT_DCE, DRIFT_DCR_ID and DRIFT_STREAM are not set, nor is the stack output driftIngestion (no alerts key in the stack file)"
  fi
}

step=${1:?usage: deliver.sh train|gate|register|share|image|canary|verify|rollback|record}
case "$step" in
  train | gate | register | share | image | canary | verify | rollback | record) ;;
  *) echo "unknown step: $step" >&2; exit 2 ;;
esac
case "$step" in
  canary | verify | rollback)
    unset_macros ENDPOINT_NAME SERVING_COMPUTE
    : "${ENDPOINT_NAME:?set ENDPOINT_NAME (CI variable): the online endpoint name, unique in the region}"
    ;;
esac
if [ "$step" = canary ]; then
  : "${SERVING_COMPUTE:?set SERVING_COMPUTE (CI variable): the Kubernetes compute attached to the workspace}"
fi
context
case "$step" in
  gate | share | canary | verify | rollback) registry_context ;;
esac
"$step"
