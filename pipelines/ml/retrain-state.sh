#!/usr/bin/env bash
# The GitHub retraining trigger's memory (.github/workflows/ml-retrain.yml): which drift alerts have
# started a run already. It lives in the workflow's own artifact `ml-retrain-seen` (uploaded by each
# poll that changed it, kept 7 days), so no store outside GitHub and no credential beyond the run's
# own GITHUB_TOKEN (permission `actions: read`), which GitHub creates for the job and revokes when
# it ends. REST API: "List artifacts for a repository" and "Download an artifact"
# (https://docs.github.com/rest/actions/artifacts).
#
#   pipelines/ml/retrain-state.sh <file>
#
# Writes the newest seen list of the default branch's runs to <file>; with none (the first poll, or
# 7 days without a change) it writes nothing and `python -m ml.retrain` starts from an empty list:
# it never starts a run for an alert older than its lookback (24 h), so a lost list costs at most
# one run per alert of the last day, and that run still waits for the ml-<stack> approval.
# Environment: GH_TOKEN (the job's GITHUB_TOKEN), GITHUB_REPOSITORY, GITHUB_API_URL, DEFAULT_BRANCH.
set -euo pipefail

file=${1:?usage: retrain-state.sh <file>}
: "${GH_TOKEN:?set GH_TOKEN to the GITHUB_TOKEN of the job (permission actions: read)}"
: "${GITHUB_REPOSITORY:?set GITHUB_REPOSITORY (owner/name)}"
api=${GITHUB_API_URL:-https://api.github.com}
branch=${DEFAULT_BRANCH:-main}

github() {
  # The token goes to curl on its standard input (-K -), never on a command line that
  # /proc/*/cmdline would show to every process on the runner.
  printf 'header = "Authorization: Bearer %s"\nheader = "Accept: application/vnd.github+json"\n' "$GH_TOKEN" \
    | curl --fail --silent --show-error --location --retry 3 -K - "$@"
}

listing=$(github "$api/repos/$GITHUB_REPOSITORY/actions/artifacts?name=ml-retrain-seen&per_page=100")
# Only the default branch's runs: a run dispatched from another branch must not rewrite the memory.
id=$(jq -r --arg branch "$branch" \
  '[.artifacts[] | select((.expired | not) and .workflow_run.head_branch == $branch)]
   | sort_by(.created_at) | last | .id // empty' <<<"$listing")
if [ -z "$id" ]; then
  echo "no earlier seen list of $branch: starting from an empty one (alerts older than the lookback never start a run)"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
github --output "$tmp/seen.zip" "$api/repos/$GITHUB_REPOSITORY/actions/artifacts/$id/zip"
python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("seen.json"))' \
  "$tmp/seen.zip" >"$file"
echo "seen list: artifact $id"
