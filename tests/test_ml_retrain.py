"""The GitHub retraining trigger: which fired alerts start a run (ml/retrain.py), offline.

Every rule has its passing and its failing case; the CLI is run as the workflow runs it; the two
scripts around it (pipelines/ml/retrain-poll.sh, retrain-state.sh) run against stand-ins for `az`
and `curl`, and the token never reaches a command line.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from ml.retrain import (DRIFT_RULE_SUFFIX, FAILED_RUNS_RULE_SUFFIX, AlertFeedError, decide, main,
                        parse_alerts, parse_seen, seen_document)

ROOT = Path(__file__).resolve().parent.parent
RG = "rg-mlops-prod-abc12"
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.timezone.utc)
RULES = f"/subscriptions/0000/resourceGroups/{RG}/providers/Microsoft.Insights"
DRIFT = f"{RULES}/scheduledQueryRules/alert-mlops-prod-abc12{DRIFT_RULE_SUFFIX}"
FAILED = f"{RULES}/metricAlerts/alert-mlops-prod-abc12{FAILED_RUNS_RULE_SUFFIX}"


def alert(n: int, rule: str = DRIFT, minutes_ago: float = 30, condition: str = "Fired", state: str = "New") -> dict[str, Any]:
    return {"id": f"/subscriptions/0000/providers/Microsoft.AlertsManagement/alerts/{n:08d}-0000-0000-0000-000000000000",
            "properties": {"essentials": {"alertRule": rule, "monitorCondition": condition, "alertState": state,
                                          "startDateTime": (NOW - dt.timedelta(minutes=minutes_ago)).isoformat()
                                          .replace("+00:00", "Z")}}}


def run(*items: dict[str, Any], seen: dict[str, dt.datetime] | None = None, **kwargs: Any) -> Any:
    return decide(parse_alerts({"value": list(items)}), seen or {}, resource_group=RG, now=NOW, **kwargs)


# ---- The rules --------------------------------------------------------------------------------------
def test_a_new_drift_alert_starts_one_run_and_is_remembered() -> None:
    decision = run(alert(1))
    assert decision.start is not None and decision.start.id.endswith("00000001-0000-0000-0000-000000000000")
    assert decision.changed and list(decision.seen) == [decision.start.id]
    assert decision.reason.startswith("retrain: alert-mlops-prod-abc12-data-drift fired at")


def test_the_same_alert_never_starts_a_second_run() -> None:
    first = run(alert(1))
    again = run(alert(1), seen=dict(first.seen))
    assert again.start is None and not again.changed and "no new drift alert" in again.reason


def test_one_run_covers_every_new_drift_alert_of_a_poll() -> None:
    decision = run(alert(2, minutes_ago=10), alert(1, minutes_ago=50))
    assert decision.start is not None and decision.start.id.endswith("00000001-0000-0000-0000-000000000000")
    assert len(decision.seen) == 2 and "and 1 more" in decision.reason


def test_failed_runs_never_start_a_run() -> None:
    decision = run(alert(1, rule=FAILED))
    assert decision.start is None and decision.seen == {}


def test_failing_training_holds_retraining_and_keeps_the_drift_alert_for_later() -> None:
    held = run(alert(1), alert(2, rule=FAILED))
    assert held.start is None and held.reason.startswith("held: alert-mlops-prod-abc12-failed-runs has fired")
    assert held.seen == {} and not held.changed, "a held alert is not marked seen: the next poll takes it"
    resolved = run(alert(1), alert(2, rule=FAILED, condition="Resolved"))
    assert resolved.start is not None, "once the failed-runs alert resolved, the drift alert starts its run"


def test_a_closed_alert_starts_nothing_but_a_resolved_one_does() -> None:
    assert run(alert(1, state="Closed")).start is None
    assert run(alert(1, condition="Resolved")).start is not None


def test_other_resource_groups_and_old_alerts_are_ignored() -> None:
    other = alert(1)
    other["properties"]["essentials"]["alertRule"] = DRIFT.replace(RG, "rg-someone-else")
    assert run(other).start is None
    assert run(alert(1, minutes_ago=25 * 60)).start is None
    assert run(alert(1, minutes_ago=25 * 60), lookback=dt.timedelta(hours=48)).start is not None


def test_the_seen_list_forgets_alerts_older_than_the_lookback() -> None:
    old = {"gone": NOW - dt.timedelta(hours=30), "kept": NOW - dt.timedelta(hours=2)}
    decision = run(seen=old)
    assert decision.start is None and decision.changed and list(decision.seen) == ["kept"]


def test_rule_names_are_the_ones_the_platform_creates() -> None:
    """workspace/alerts.py names its rules <prefix>-data-drift and <prefix>-failed-runs."""
    text = (ROOT / "workspace" / "alerts.py").read_text()
    assert f'rule_name=f"{{args.rule_prefix}}{DRIFT_RULE_SUFFIX}"' in text
    assert f'rule_name=f"{{args.rule_prefix}}{FAILED_RUNS_RULE_SUFFIX}"' in text


# ---- Inputs it cannot trust: one line, nothing decided ----------------------------------------------
@pytest.mark.parametrize("document, message", [
    ([], "an object with a \"value\" list"),
    ({"value": [{"id": "x"}]}, "value[0]: needs \"id\" and \"properties.essentials\""),
    ({"value": [alert(1) | {"id": "a b"}]}, "has white space"),
    ({"value": [{"id": "x", "properties": {"essentials": {"alertRule": DRIFT, "alertState": "New",
                                                          "startDateTime": "2026-12-01T09:00:00Z"}}}]},
     "essentials lacks monitorCondition"),
    ({"value": [{"id": "x", "properties": {"essentials": {"alertRule": DRIFT, "alertState": "New",
                                                          "monitorCondition": "Fired", "startDateTime": "yesterday"}}}]},
     "'yesterday' is not an ISO 8601 time"),
    ({"value": [{"id": "x", "properties": {"essentials": {"alertRule": DRIFT, "alertState": "New",
                                                          "monitorCondition": "Fired",
                                                          "startDateTime": "2026-12-01T09:00:00"}}}]},
     "has no time zone"),
])
def test_a_malformed_alert_document_is_refused(document: Any, message: str) -> None:
    with pytest.raises(AlertFeedError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        parse_alerts(document)


def test_a_malformed_seen_file_is_refused_and_a_good_one_round_trips() -> None:
    with pytest.raises(AlertFeedError, match="delete the cached file"):
        parse_seen({"seen": []})
    seen = {"a": NOW}
    assert parse_seen(seen_document(seen)) == seen
    with pytest.raises(AlertFeedError, match="lookback must be positive"):
        run(alert(1), lookback=dt.timedelta(0))


# ---- The CLI, as the workflow runs it ---------------------------------------------------------------
def cli(tmp_path: Path, alerts: Any, seen: Any = None) -> tuple[int, str, dict[str, str], Path]:
    (tmp_path / "alerts.json").write_text(alerts if isinstance(alerts, str) else json.dumps(alerts))
    seen_file = tmp_path / "seen.json"
    if seen is not None:
        seen_file.write_text(json.dumps(seen))
    output = tmp_path / "github_output"
    output.write_text("")
    # main() in this process with the command line the workflow passes (the step itself, in its own
    # process: test_the_decide_step_runs_as_the_runner_runs_it); a traceback would fail the test.
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        code = main(["--alerts", str(tmp_path / "alerts.json"), "--seen", str(seen_file), "--resource-group", RG,
                     "--now", NOW.isoformat(), "--github-output", str(output)])
    values = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return code, printed.getvalue(), values, seen_file


def test_cli_starts_once_then_not_again(tmp_path: Path) -> None:
    code, out, values, seen_file = cli(tmp_path, {"value": [alert(1)]})
    assert code == 0 and values["retrain"] == "true" and values["changed"] == "true", out
    code, out, values, _ = cli(tmp_path, {"value": [alert(1)]}, seen=json.loads(seen_file.read_text()))
    assert code == 0 and values == {"retrain": "false", "alert": "", "changed": "false"}, out


def test_cli_cannot_decide_on_a_broken_answer_and_marks_nothing(tmp_path: Path) -> None:
    code, out, values, seen_file = cli(tmp_path, "{not json")
    assert code == 2 and out.startswith("retrain: cannot decide:") and "Traceback" not in out
    assert values == {} and not seen_file.exists()
    assert main(["--alerts", str(tmp_path / "missing.json"), "--seen", str(seen_file), "--resource-group", RG]) == 2


# ---- The scripts around it -------------------------------------------------------------------------
# `-S`: a stand-in needs only the standard library; skipping site (the venv's .pth files) makes
# each call ~10 ms of CPU instead of ~40 (scripts call it dozens of times per test).
FAKE_AZ = '''\
#!{python} -S
import json, os, sys
args = sys.argv[1:]
open(os.environ["FAKE_LOG"], "a").write(" ".join(args) + "\\n")
if args[:2] == ["account", "show"]:
    print("0000")
elif args[:1] == ["rest"]:
    url = args[args.index("--url") + 1]
    page = 2 if "page=2" in url else 1
    body = {{"value": [{{"id": "alert-%d" % page}}]}}
    if page == 1:
        body["nextLink"] = url + "&page=2"
    print(json.dumps(body))
'''


def test_poll_reads_every_page_of_the_resource_groups_alerts(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "az").write_text(FAKE_AZ.format(python=sys.executable))
    (bin_dir / "az").chmod(0o755)
    log = tmp_path / "az.log"
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_LOG": str(log), "ALERTS_RESOURCE_GROUP": RG}
    out = tmp_path / "alerts.json"
    result = subprocess.run(["bash", str(ROOT / "pipelines/ml/retrain-poll.sh"), str(out)], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert sorted(a["id"] for a in json.loads(out.read_text())["value"]) == ["alert-1", "alert-2"]
    gets = [line for line in log.read_text().splitlines() if line.startswith("rest")]
    assert len(gets) == 2 and all(line.startswith("rest --method get ") for line in gets)
    # At the resource group's scope, where the reader's Monitoring Reader is: a role assigned on the
    # resource group does not reach a subscription-scope list (README "Alerts and the retraining trigger").
    assert (f"https://management.azure.com/subscriptions/0000/resourceGroups/{RG}/providers/Microsoft.AlertsManagement/"
            "alerts?api-version=2023-07-12-preview&timeRange=1d") in gets[0]
    assert not any("/subscriptions/0000/providers/" in line for line in gets)
    del env["ALERTS_RESOURCE_GROUP"]
    missing = subprocess.run(["bash", str(ROOT / "pipelines/ml/retrain-poll.sh"), str(out)], env=env,
                             capture_output=True, text=True)
    assert missing.returncode != 0 and "set ALERTS_RESOURCE_GROUP" in missing.stderr


FAKE_CURL = '''\
#!{python} -S
"""A stand-in for curl: the artifacts API of one repository; records argv and the config read on stdin."""
import json, os, sys
args = sys.argv[1:]
config = sys.stdin.read() if "-K" in args else ""
open(os.environ["FAKE_LOG"], "a").write(json.dumps({{"argv": args, "config": config}}) + "\\n")
url = args[-1]
if "/actions/artifacts?" in url:
    print(os.environ["FAKE_LISTING"])
elif url.endswith("/zip"):
    open(args[args.index("--output") + 1], "wb").write(open(os.environ["FAKE_ZIP"], "rb").read())
else:
    sys.exit(22)
'''


def test_state_fetches_the_newest_seen_list_of_main_and_keeps_the_token_off_the_command_line(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "curl").write_text(FAKE_CURL.format(python=sys.executable))
    (bin_dir / "curl").chmod(0o755)
    # The script's `python3` (standard library only): this interpreter, not a pyenv shim found on
    # PATH (a shim is a chain of bash scripts, ~150 ms of CPU a call).
    (bin_dir / "python3").symlink_to(sys.executable)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("seen.json", json.dumps(seen_document({"a": NOW})))
    (tmp_path / "seen.zip").write_bytes(archive.getvalue())
    def artifact(n: int, branch: str, created: str, expired: bool = False) -> dict[str, Any]:
        return {"id": n, "expired": expired, "created_at": created, "workflow_run": {"head_branch": branch}}
    listing = {"artifacts": [artifact(1, "main", "2026-12-01T08:00:00Z"), artifact(2, "main", "2026-12-01T09:00:00Z"),
                             artifact(3, "feature/x", "2026-12-01T09:30:00Z"),
                             artifact(4, "main", "2026-12-01T09:45:00Z", expired=True)]}
    log = tmp_path / "curl.log"
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_LOG": str(log), "FAKE_LISTING": json.dumps(listing),
           "FAKE_ZIP": str(tmp_path / "seen.zip"), "GH_TOKEN": "ghs_" + "s3cr3t", "GITHUB_REPOSITORY": "contoso/mlops",
           "GITHUB_API_URL": "https://api.github.com", "DEFAULT_BRANCH": "main"}
    out = tmp_path / "seen.json"
    result = subprocess.run(["bash", str(ROOT / "pipelines/ml/retrain-state.sh"), str(out)], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert parse_seen(json.loads(out.read_text())) == {"a": NOW} and "artifact 2" in result.stdout
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls[-1]["argv"][-1] == "https://api.github.com/repos/contoso/mlops/actions/artifacts/2/zip"
    assert all("ghs_s3cr3t" not in " ".join(c["argv"]) and "Bearer ghs_s3cr3t" in c["config"] for c in calls)
    assert "ghs_s3cr3t" not in result.stdout + result.stderr
    # None of the default branch: no file, and ml.retrain starts from an empty list.
    env["FAKE_LISTING"] = json.dumps({"artifacts": [artifact(3, "feature/x", "2026-12-01T09:30:00Z")]})
    out.unlink()
    empty = subprocess.run(["bash", str(ROOT / "pipelines/ml/retrain-state.sh"), str(out)], env=env,
                           capture_output=True, text=True)
    assert empty.returncode == 0 and not out.exists() and "starting from an empty one" in empty.stdout


# ---- The workflow ----------------------------------------------------------------------------------
def test_the_retrain_workflow_polls_with_a_read_only_oidc_identity_and_calls_the_delivery() -> None:
    from tests.ml_support import load_yaml

    workflow = load_yaml(ROOT / ".github/workflows/ml-retrain.yml")
    on = workflow.get("on", workflow.get(True))
    assert set(on) == {"schedule", "workflow_dispatch"}, "no repository_dispatch: nothing outside GitHub needs a token"
    poll, retrain = workflow["jobs"]["poll"], workflow["jobs"]["retrain"]
    assert poll["runs-on"] == ["self-hosted", "linux", "aml-private"]
    assert poll["environment"]["name"] == "ml-retrain" and "refs/heads/main" in poll["if"]
    assert poll["permissions"] == {"contents": "read", "id-token": "write", "actions": "read"}
    assert poll["concurrency"] == {"group": "ml-retrain-poll", "cancel-in-progress": False}
    [login] = [s for s in poll["steps"] if s.get("uses", "").startswith("azure/login@")]
    assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}
    runs = [s.get("run", "") for s in poll["steps"]]
    order = [next(i for i, r in enumerate(runs) if key in r)
             for key in ("retrain-state.sh", "retrain-poll.sh", "python3 -m ml.retrain")]
    assert order == sorted(order)
    [upload] = [s for s in poll["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert upload["if"] == "steps.decide.outputs.changed == 'true'"
    assert upload["with"]["name"] in (ROOT / "pipelines/ml/retrain-state.sh").read_text()
    assert upload["with"]["retention-days"] * 24 > 24, "the memory must outlive the lookback"
    assert retrain["uses"] == "./.github/workflows/ml-delivery.yml" and retrain["needs"] == "poll"
    assert retrain["if"] == "needs.poll.outputs.retrain == 'true'"
    delivery = load_yaml(ROOT / ".github/workflows/ml-delivery.yml")
    assert "workflow_call" in delivery.get("on", delivery.get(True))
    assert delivery["jobs"]["route"]["if"] == "github.event_name != 'pull_request'", "a called run delivers like a push"


def test_the_decide_step_runs_as_the_runner_runs_it(tmp_path: Path) -> None:
    from tests.ml_support import load_yaml

    poll = load_yaml(ROOT / ".github/workflows/ml-retrain.yml")["jobs"]["poll"]
    [step] = [s for s in poll["steps"] if s.get("id") == "decide"]
    work = tmp_path / "work"
    (work / "ml-out").mkdir(parents=True)
    (work / "ml").symlink_to(ROOT / "ml")
    recent = alert(1, minutes_ago=5)
    recent["properties"]["essentials"]["startDateTime"] = dt.datetime.now(dt.timezone.utc).isoformat()
    (work / "ml-out" / "alerts.json").write_text(json.dumps({"value": [recent]}))
    output = tmp_path / "github_output"
    output.write_text("")
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "GITHUB_OUTPUT": str(output),
           "ALERTS_RESOURCE_GROUP": RG}
    command = step["run"].replace("python3 ", f"{sys.executable} ")
    for expected in ("retrain=true", "retrain=false"):
        output.write_text("")
        result = subprocess.run(["bash", "-e", "-c", command], cwd=work, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert expected in output.read_text().splitlines()
