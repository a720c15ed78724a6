"""The ML delivery pipelines (Azure Pipelines and GitHub Actions) and the script they share.

The two CI files must run the same stages in the same order on the platform's own agents; the
shared script (pipelines/ml/deliver.sh) is *run* here against stand-ins for `az` and `pulumi` and
a local server that serves the real score.py, so its promote and rollback paths are exercised,
not just read. Schema, zizmor and shellcheck of these files: test_delivery_workflows.py and
test_delivery_azure_pipelines.py.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from ml.settings import DEFAULT_THRESHOLDS as THRESHOLDS_FILE
from tests.ml_support import load_yaml, stack_setting

# One process imports scikit-learn (~1.7 s) and trains the model for both ML files (tests/workers.py).
pytestmark = pytest.mark.same_worker("scikit-learn")

ROOT = Path(__file__).resolve().parent.parent
ADO = ROOT / "pipelines" / "ml-delivery.yml"
GITHUB = ROOT / ".github" / "workflows" / "ml-delivery.yml"
DELIVER = ROOT / "pipelines" / "ml" / "deliver.sh"
AZURE_STEPS = ["train", "gate", "register", "share", "image", "canary", "verify", "rollback", "record"]


def load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = load_yaml(path)
    return doc


def ado_deliver_steps() -> list[dict[str, Any]]:
    stage = next(s for s in load(ADO)["stages"] if s["stage"] == "Deliver")
    [job] = stage["jobs"]
    steps: list[dict[str, Any]] = job["strategy"]["runOnce"]["deploy"]["steps"]
    return steps


def test_azure_pipelines_stages_in_order_on_the_private_pool() -> None:
    pipeline = load(ADO)
    assert pipeline["pool"] == {"name": stack_setting("prod", "agents")["pool"]}
    assert [s["stage"] for s in pipeline["stages"]] == ["UnitTests", "DataValidation", "Deliver"]
    assert "vmImage" not in ADO.read_text()
    deliver = pipeline["stages"][2]
    assert deliver["dependsOn"] == "DataValidation"
    assert "ne(variables['Build.Reason'], 'PullRequest')" in deliver["condition"]
    assert "eq(variables['Build.SourceBranch'], 'refs/heads/main')" in deliver["condition"]
    assert deliver["jobs"][0]["environment"] == "ml-prod"


def test_azure_pipelines_runs_every_azure_step_through_the_shared_script() -> None:
    tasks = [s for s in ado_deliver_steps() if str(s.get("task", "")).startswith("AzureCLI@")]
    assert [t["inputs"]["inlineScript"] for t in tasks] == [f"pipelines/ml/deliver.sh {s}" for s in AZURE_STEPS]
    assert {t["inputs"]["azureSubscription"] for t in tasks} == {"${{ parameters.mlServiceConnection }}"}
    conditions = {t["inputs"]["inlineScript"].split()[-1]: t.get("condition") for t in tasks}
    assert conditions["rollback"] == "failed()" and conditions["record"] == "succeededOrFailed()"
    assert all(conditions[s] is None for s in AZURE_STEPS[:7])
    for task in tasks:
        assert task["env"]["RUN_ID"] == "$(Build.BuildId)" and task["env"]["STACK"] == "$(route.stack)"


def test_azure_pipelines_validates_the_data_before_anything_runs_in_azure() -> None:
    stage = next(s for s in load(ADO)["stages"] if s["stage"] == "DataValidation")
    scripts = [s["script"] for s in stage["jobs"][0]["steps"] if "script" in s]
    assert scripts == ["python -m ml.decide validate --data ml/data/breast_cancer.csv".join((".venv/bin/", "")),
                       ".venv/bin/python -m ml.decide drift --reference ml/data/reference.csv "
                       "--current ml/data/breast_cancer.csv"]


def test_github_jobs_in_order_on_the_self_hosted_runners() -> None:
    workflow = load(GITHUB)
    jobs = workflow["jobs"]
    assert list(jobs) == ["test", "data", "route", "deliver"]
    assert jobs["data"]["needs"] == "test" and jobs["deliver"]["needs"] == ["data", "route"]
    for job_id, job in jobs.items():
        assert job["runs-on"][:2] == ["self-hosted", "linux"], f"{job_id}: the platform's runners reach the private workspace"
    assert jobs["deliver"]["environment"]["name"] == "ml-${{ needs.route.outputs.stack }}"
    assert jobs["deliver"]["concurrency"]["cancel-in-progress"] is False
    runs = [s.get("run", "") for s in jobs["deliver"]["steps"]]
    assert [r.split()[-1] for r in runs if r.startswith("pipelines/ml/deliver.sh")] == AZURE_STEPS
    conditions = {s["run"].split()[-1]: s.get("if") for s in jobs["deliver"]["steps"] if "deliver.sh" in s.get("run", "")}
    assert conditions["rollback"] == "failure()" and conditions["record"] == "success() || failure()"


def test_both_ci_systems_run_the_same_offline_checks() -> None:
    github = [s.get("run", "") for j in ("test", "data") for s in load(GITHUB)["jobs"][j]["steps"]]
    ado = [s.get("script", "") for st in load(ADO)["stages"][:2] for s in st["jobs"][0]["steps"]]
    def checks(lines: list[str]) -> list[str]:
        return sorted(line.strip().split("\n")[-1] for line in lines if "ml.decide" in line or "pytest" in line)
    assert checks(github) == checks(ado)


# ---- deliver.sh, run against stand-ins -----------------------------------------------------------
def fake_az(args: list[str], fail: str, state_path: Path, log_path: Path) -> tuple[int, str, str]:
    """A stand-in for `az`: records each call, keeps the endpoint's deployments and traffic in a
    file. Returns (exit code, stdout, stderr)."""
    with open(log_path, "a") as log:
        log.write(" ".join(args) + "\n")

    def opt(name: str) -> Any:
        return args[args.index(name) + 1] if name in args else None

    def save() -> None:
        state_path.write_text(json.dumps(state))

    cmd = " ".join(args[:3])
    if fail == cmd:
        return 1, "", "ERROR: (Forbidden) refused by the stand-in\n"
    state = json.loads(state_path.read_text())
    out = ""
    if cmd == "ml online-endpoint show":
        if not state["endpoint"]:
            return 1, "", ""
        query = opt("--query")
        if query == "traffic":
            out = json.dumps(state["traffic"]) + "\n"
        elif query == "scoring_uri":
            out = state["uri"] + "\n"
    elif cmd == "ml online-endpoint get-credentials":
        out = "k-" + "123\n"
    elif cmd == "ml online-endpoint update":
        state["traffic"] = {k: int(v) for k, v in (p.split("=") for p in opt("--traffic").split())}
        save()
    elif cmd == "ml online-deployment show":
        if opt("--name") not in state["deployments"]:
            return 1, "", ""
        if opt("--query") == "model":
            out = state["deployments"][opt("--name")] + "\n"
    elif cmd == "ml model show":
        # Known versions are "name:version@<registry or workspace>" in the state's "models".
        where = opt("--registry-name") or opt("--workspace-name")
        return (0 if "{}:{}@{}".format(opt("--name"), opt("--version"), where) in state.get("models", []) else 1), "", ""
    elif cmd == "ml job download":  # a training job's output: its metrics, as train.py writes them
        metrics = Path(opt("--download-path")) / "named-outputs" / opt("--output-name") / "metrics.json"
        metrics.parent.mkdir(parents=True)
        metrics.write_text('{"auc": 0.97}')
    elif cmd == "ml online-deployment delete":
        state["deployments"].pop(opt("--name"), None)
        state["traffic"].pop(opt("--name"), None)
        save()
    return 0, out, ""


# `az` is a bash function the script's bash imports from the environment (BASH_FUNC_az%%): it hands
# its arguments (and FAKE_FAIL) to fake_az in this process over bash's /dev/tcp and prints what it
# answers. A Python stand-in process per call cost ~25 ms of CPU, and the steps call az dozens of times.
AZ_FUNCTION = r"""() {
  local fd code out err
  exec {fd}<>"/dev/tcp/127.0.0.1/$FAKE_AZ_PORT"
  printf '%s\0' "${FAKE_FAIL:-}" "$#" "$@" >&"$fd"
  IFS= read -r -d '' code <&"$fd"
  IFS= read -r -d '' out <&"$fd"
  IFS= read -r -d '' err <&"$fd"
  exec {fd}>&-
  printf '%s' "$out"
  printf '%s' "$err" >&2
  return "$code"
}"""

# Should the functions not be imported, `az`/`pulumi` on PATH must not be the real tools.
AZ_NOT_THE_FUNCTION = "#!/bin/sh\necho 'fake az: run as a program, not the bash function' >&2\nexit 97\n"


class AzServer:
    """Answers the `az` function's calls with fake_az, one connection per call."""

    def __init__(self, state: Path, log: Path):
        self.state, self.log = state, log
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed
                return
            with conn:
                data = b""
                fields: list[str] = []
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                    fields = data.decode().split("\0")
                    if len(fields) >= 3 and len(fields) >= 3 + int(fields[1]):
                        break
                fail, count = fields[0], int(fields[1])
                try:
                    code, out, err = fake_az(fields[2:2 + count], fail, self.state, self.log)
                except Exception as error:  # shown in the step's stderr, so a broken stand-in is seen
                    code, out, err = 98, "", f"fake az: {error!r}\n"
                conn.sendall(f"{code}\0{out}\0{err}\0".encode())

    def close(self) -> None:
        # shutdown() wakes the thread blocked in accept() (close() alone does not, on Linux).
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(timeout=5)


# `pulumi`, also a bash function (BASH_FUNC_pulumi%%): no bash process to start per call.
PULUMI_FUNCTION = r'''() {
  case "$*" in
    login*) return 0 ;;
    *resourceGroupName*--stack\ dev*) echo rg-mlops-dev-xyz89 ;;
    *workspaceName*--stack\ dev*) echo mlw-mlops-dev-xyz89 ;;
    *computeClusters*--stack\ dev*) echo '["cpu-small"]' ;;
    *resourceGroupName*) echo rg-mlops-prod-abc12 ;;
    *workspaceName*) echo mlw-mlops-prod-abc12 ;;
    *computeClusters*) echo '["cpu-build"]' ;;
    *modelRegistryName*)
      # The registry a stack exports (null without one); FAKE_NO_REGISTRY_OUTPUT: a stack deployed before the output.
      if [ -n "${FAKE_NO_REGISTRY_OUTPUT:-}" ]; then echo "error: current stack does not have output" >&2; return 255; fi
      if [ -n "${FAKE_REGISTRY:-}" ]; then printf '"%s"\n' "$FAKE_REGISTRY"; else echo null; fi ;;
    *driftIngestion*)
      if [ -n "${FAKE_DRIFT_OUTPUT:-}" ]; then echo "$FAKE_DRIFT_OUTPUT"
      else echo '{"dce": null, "dcrImmutableId": null, "stream": null}'; fi ;;
    *) echo "unexpected: $*" >&2; return 1 ;;
  esac
}'''


@pytest.fixture()
def stand_ins(tmp_path: Path) -> Iterator[dict[str, Any]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "az").write_text(AZ_NOT_THE_FUNCTION)
    (bin_dir / "pulumi").write_text(AZ_NOT_THE_FUNCTION.replace("fake az", "fake pulumi"))
    for tool in ("az", "pulumi"):
        (bin_dir / tool).chmod(0o755)
    state = tmp_path / "state.json"
    log = tmp_path / "az.log"
    log.write_text("")
    out = tmp_path / "ml-out"
    out.mkdir()
    az = AzServer(state, log)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path), "FAKE_AZ_PORT": str(az.port),
           "BASH_FUNC_az%%": AZ_FUNCTION, "BASH_FUNC_pulumi%%": PULUMI_FUNCTION,
           "ML_OUT": str(out), "STACK": "prod", "RUN_ID": "8",
           "PULUMI_BACKEND_URL": "azblob://state", "ENDPOINT_NAME": "bc-prod", "SERVING_COMPUTE": "aks-scoring"}
    yield {"env": env, "state": state, "log": log, "out": out}
    az.close()


def run_step(stand_ins: dict[str, Any], step: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(DELIVER), step], cwd=ROOT, env=stand_ins["env"], capture_output=True, text=True)


def live_endpoint(stand_ins: dict[str, Any], uri: str) -> None:
    """blue is live with model version 7; green (this run's model, version 8) is the canary at 10 %."""
    stand_ins["state"].write_text(json.dumps({
        "endpoint": True, "uri": uri, "traffic": {"blue": 90, "green": 10},
        "deployments": {"blue": "azureml:bc-classifier:7", "green": "azureml:bc-classifier:8"}}))
    (stand_ins["out"] / "rollout.env").write_text("live=blue\nnew=green\nshare=10\nrequests=50\nrounds=3\n")


@pytest.fixture(scope="module")
def scoring_server(ml_trained: Path) -> Iterator[Any]:
    from tests.conftest import load_ml_script
    from tests.test_ml_model import _Server

    score = load_ml_script("score")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AZUREML_MODEL_DIR", str(ml_trained))
        score.init()
    yield lambda status=200: _Server(score, status)


def thresholds_with(tmp_path: Path, **canary: Any) -> Path:
    """The shipped thresholds file with some canary settings changed, for `ML_THRESHOLDS`."""
    doc = yaml.safe_load(THRESHOLDS_FILE.read_text())
    doc["canary"].update(canary)
    path = tmp_path / "thresholds.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_healthy_canary_is_promoted_and_the_old_colour_retired(stand_ins: dict[str, Any], scoring_server: Any,
                                                                 tmp_path: Path) -> None:
    # Both colours are the same local stand-in, so their latencies differ only by this machine's
    # scheduling: under a loaded CI run that once put the canary's p95 50 ms over the stable one's.
    # The latency rules have their own tests (test_ml_decisions); here the slack and the absolute limit
    # are wide, so the verdict is about the path (probe both, decide, promote), not about the machine's noise.
    stand_ins["env"]["ML_THRESHOLDS"] = str(thresholds_with(tmp_path, latency_slack_ms=5000, max_p95_latency_ms=5000))
    with scoring_server() as server:
        live_endpoint(stand_ins, server.uri)
        result = run_step(stand_ins, "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "canary: promote" in result.stdout and "k-123" not in result.stdout + result.stderr
    state = json.loads(stand_ins["state"].read_text())
    assert state["traffic"] == {"green": 100} and list(state["deployments"]) == ["green"]
    calls = stand_ins["log"].read_text()
    assert "--traffic green=100 blue=0" in calls
    assert "ml model update --resource-group rg-mlops-prod-abc12 --workspace-name mlw-mlops-prod-abc12 " \
           "--name bc-classifier --version 8 --set tags.stage=production" in calls
    assert "--version 7 --set tags.stage=archived" in calls
    assert json.loads((stand_ins["out"] / "canary.json").read_text())["requests"] == 50


def test_a_failing_canary_is_rolled_back_and_the_live_colour_keeps_the_traffic(stand_ins: dict[str, Any],
                                                                               scoring_server: Any) -> None:
    with scoring_server(status=500) as server:
        live_endpoint(stand_ins, server.uri)
        result = run_step(stand_ins, "verify")
    assert result.returncode == 1
    assert "canary: rollback" in result.stdout and "rolled back: blue keeps the traffic" in result.stdout
    state = json.loads(stand_ins["state"].read_text())
    assert state["traffic"] == {"blue": 100} and list(state["deployments"]) == ["blue"]
    assert "--version 8 --set tags.stage=rejected" in stand_ins["log"].read_text()
    # The CI system then runs the rollback step again (condition: failure): nothing left to undo.
    again = run_step(stand_ins, "rollback")
    assert again.returncode == 0 and "nothing to roll back: green is not deployed" in again.stdout


def test_rollback_before_any_canary_does_nothing(stand_ins: dict[str, Any]) -> None:
    stand_ins["state"].write_text(json.dumps({"endpoint": False, "traffic": {}, "deployments": {}}))
    result = run_step(stand_ins, "rollback")
    assert result.returncode == 0 and "no canary was deployed" in result.stdout


def test_record_writes_the_drift_rows_and_says_when_it_cannot_send_them(stand_ins: dict[str, Any]) -> None:
    stand_ins["state"].write_text(json.dumps({"endpoint": False, "traffic": {}, "deployments": {}}))
    stand_ins["env"]["DRIFT_DCE"] = "$(DRIFT_DCE)"  # how Azure Pipelines passes an undefined variable
    result = run_step(stand_ins, "record")
    assert result.returncode == 0, result.stderr
    rows = json.loads((stand_ins["out"] / "drift-record.json").read_text())
    assert {r["Stack"] for r in rows} == {"prod"} and {r["RunId"] for r in rows} == {"8"}
    assert sum(line.startswith("ML_DATA_DRIFT {") for line in result.stdout.splitlines()) == 10
    assert "drift metric not sent" in result.stdout and "az rest" not in stand_ins["log"].read_text()


def test_record_sends_the_rows_to_the_logs_ingestion_api_when_configured(stand_ins: dict[str, Any]) -> None:
    stand_ins["state"].write_text(json.dumps({"endpoint": False, "traffic": {}, "deployments": {}}))
    stand_ins["env"].update(DRIFT_DCE="https://dce-x.westeurope-1.ingest.monitor.azure.com",
                            DRIFT_DCR_ID="dcr-0123", DRIFT_STREAM="Custom-MlDataDrift_CL")
    result = run_step(stand_ins, "record")
    assert result.returncode == 0, result.stderr
    [call] = [c for c in stand_ins["log"].read_text().splitlines() if c.startswith("rest ")]
    assert "--resource https://monitor.azure.com" in call
    assert ("https://dce-x.westeurope-1.ingest.monitor.azure.com/dataCollectionRules/dcr-0123/streams/"
            "Custom-MlDataDrift_CL?api-version=2023-01-01") in call


def test_record_reads_the_ingestion_target_from_the_stack_output_when_ci_sets_none(stand_ins: dict[str, Any]) -> None:
    """workspace/alerts.py exports driftIngestion; an unset (or Azure Pipelines' literal) variable falls back to it."""
    stand_ins["state"].write_text(json.dumps({"endpoint": False, "traffic": {}, "deployments": {}}))
    stand_ins["env"].update(DRIFT_DCE="$(DRIFT_DCE)", FAKE_DRIFT_OUTPUT=json.dumps({
        "dce": "https://dce-mlops-prod-ab12.westeurope-1.ingest.monitor.azure.com",
        "dcrImmutableId": "dcr-0456", "stream": "Custom-MlDataDrift"}))
    result = run_step(stand_ins, "record")
    assert result.returncode == 0, result.stderr
    [call] = [c for c in stand_ins["log"].read_text().splitlines() if c.startswith("rest ")]
    assert ("https://dce-mlops-prod-ab12.westeurope-1.ingest.monitor.azure.com/dataCollectionRules/dcr-0456/streams/"
            "Custom-MlDataDrift?api-version=2023-01-01") in call


def test_the_readme_documents_the_drift_metric_the_alert_reads() -> None:
    from ml.drift import DRIFT_METRIC, DriftReport, FeatureDrift, drift_records

    readme = (ROOT / "README.md").read_text()
    feature = FeatureDrift(feature="x", psi=0.0, psi_level="stable", ks_statistic=0.0, ks_p_value=1.0, ks_drift=False)
    [row] = drift_records(DriftReport(features=(feature,)), model="m", stack="s", run_id="r")
    assert f"`{DRIFT_METRIC}`" in readme
    for column in row:
        assert f"`{column}`" in readme, f"README: the drift metric's column {column} is not documented"


def test_every_decision_reads_the_thresholds_file_ml_thresholds_names(stand_ins: dict[str, Any], tmp_path: Path) -> None:
    broken = thresholds_with(tmp_path, traffic_percent=0)
    stand_ins["env"]["ML_THRESHOLDS"] = str(broken)
    stand_ins["state"].write_text(json.dumps({"endpoint": False, "traffic": {}, "deployments": {}, "models": []}))
    (stand_ins["out"] / "metrics.json").write_text('{"auc": 0.97}')
    result = run_step(stand_ins, "gate")
    assert result.returncode == 2 and "canary.traffic_percent: 0 must be" in result.stderr, (
        result.stdout + result.stderr)


def test_an_unknown_step_or_a_missing_endpoint_name_stops_at_once(stand_ins: dict[str, Any]) -> None:
    assert run_step(stand_ins, "deploy").returncode == 2
    del stand_ins["env"]["ENDPOINT_NAME"]
    result = run_step(stand_ins, "verify")
    assert result.returncode != 0 and "set ENDPOINT_NAME" in result.stderr
    assert stand_ins["log"].read_text() == "", "nothing reached Azure"


def test_the_readme_quotes_the_thresholds_in_force() -> None:
    from ml.settings import load_thresholds

    t = load_thresholds()
    readme = (ROOT / "README.md").read_text()
    quoted = [f"PSI above {t.psi.significant:g}", f"p < {t.ks.p_value:g} and D > {t.ks.statistic:g}",
              f"AUC ≥ {t.gate.min_auc:.2f}", f"at most {t.gate.max_auc_drop:g} below",
              f"gets {t.canary.traffic_percent} % of the traffic", f"error rate above {t.canary.max_error_rate:.0%}",
              f"p95 latency above {t.canary.max_p95_latency_ms:g} ms",
              f"{t.canary.max_latency_ratio:g}× live and {t.canary.latency_slack_ms:g} ms slower",
              f"fewer than {t.canary.min_requests} answered requests", f"{t.canary.max_rounds} rounds at most"]
    quoted = [q.replace("%", " %") if q.startswith("error rate") else q for q in quoted]
    missing = [q for q in quoted if q not in readme]
    assert missing == [], f"README's flow table disagrees with ml/config/thresholds.yaml: {missing}"
