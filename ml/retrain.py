"""Whether fired alerts start a retraining run: the GitHub retraining trigger's decision, offline.

GitHub teams cannot let an Azure action group call GitHub: `workflow_dispatch` and
`repository_dispatch` need a GitHub token, which the action group would have to store in plain text
(README "Alerts and the retraining trigger"). So the trigger is pulled instead of pushed:
`.github/workflows/ml-retrain.yml` runs on a schedule on the platform's runners, signs in to Azure
with OIDC workload identity federation (no secret), reads the stack's fired alerts with the Alerts
Management API (read-only: Monitoring Reader on the stack's resource group), and asks this module
whether to start the ML delivery:

    python -m ml.retrain --alerts alerts.json --seen seen.json --resource-group rg-mlops-prod-abc12 \
        [--lookback-hours 24] [--now 2026-12-01T10:00:00Z] [--github-output FILE]

The rules (`decide`):
- only the **data drift** rule (`<prefix>-data-drift`, workspace/alerts.py) starts retraining; the
  **failed runs** rule (`<prefix>-failed-runs`) never does (a failed training run must not start
  another), and while it is *Fired* it **holds** retraining: the drift alert is kept for the next poll
  instead of starting a run that fails the same way;
- an alert a person *Closed* starts nothing (someone decided); Fired and Resolved alerts both count,
  since a drift alert can resolve before the next poll;
- only alerts of the given resource group, fired within the lookback (24 h by default), count;
- **idempotent by alert id**: every drift alert that started (or was covered by) a run is kept in
  the seen file with its firing time and pruned after the lookback, so a poll that runs twice, late
  or after a lost seen file starts at most one run per alert, and never for an alert older than the
  lookback. One run covers every new drift alert of a poll: it retrains on the same data.

Exit codes: 0 decided (retrain or not: the GitHub output `retrain` says which); 2 cannot decide (a
missing or malformed alerts document or seen file: one line on stderr, nothing starts and nothing is
marked seen).

The alert document is what `GET /subscriptions/{id}/resourceGroups/{rg}/providers/Microsoft.AlertsManagement/alerts`
answers (REST API "Alerts - Get All" at the resource group's scope, api-version 2023-07-12-preview:
https://learn.microsoft.com/rest/api/monitor/alertsmanagement/alerts/get-all): `value[]` of alerts,
each with `id` and `properties.essentials` {`alertRule` (the rule's ARM id), `monitorCondition`
(Fired, Resolved), `alertState` (New, Acknowledged, Closed), `startDateTime`}. The pages
`pipelines/ml/retrain-poll.sh` collects are concatenated into one `value` list.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

# The alert rules' names end with these (workspace/alerts.py names them `<prefix>-data-drift` and
# `<prefix>-failed-runs`; tests/test_ml_retrain.py checks the two stay equal).
DRIFT_RULE_SUFFIX = "-data-drift"
FAILED_RUNS_RULE_SUFFIX = "-failed-runs"
DEFAULT_LOOKBACK = dt.timedelta(hours=24)
# Alerts Management's values (alert "essentials": monitorCondition, alertState), compared case-insensitively.
FIRED, CLOSED = "fired", "closed"
SEEN_VERSION = 1
DECIDED, ERROR = 0, 2


class AlertFeedError(Exception):
    """An input the decision cannot trust; reported as one line, exit 2."""


@dataclass(frozen=True)
class FiredAlert:
    id: str
    rule_id: str
    """The alert rule's ARM id (essentials.alertRule)."""
    monitor_condition: str
    alert_state: str
    started: dt.datetime

    @property
    def rule_name(self) -> str:
        return self.rule_id.rstrip("/").rsplit("/", 1)[-1]

    def in_resource_group(self, resource_group: str) -> bool:
        parts = [p.lower() for p in self.rule_id.split("/")]
        return "resourcegroups" in parts and parts[parts.index("resourcegroups") + 1:][:1] == [resource_group.lower()]


@dataclass(frozen=True)
class RetrainDecision:
    start: Optional[FiredAlert]
    """The drift alert the run is started for; None: no run."""
    reason: str
    seen: Mapping[str, dt.datetime]
    """The seen file's new content: alert id -> firing time."""
    changed: bool
    """Whether `seen` differs from the file read (save it only then)."""


def _time(value: Any, where: str) -> dt.datetime:
    if not isinstance(value, str):
        raise AlertFeedError(f"{where}: needs an ISO 8601 time, got {value!r}")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise AlertFeedError(f"{where}: {value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise AlertFeedError(f"{where}: {value!r} has no time zone (the API answers in UTC, with Z)")
    return parsed


def parse_alerts(document: Any, source: str = "alerts") -> list[FiredAlert]:
    """The alerts of an Alerts Management answer (`{"value": [...]}`), or one line saying what is wrong."""
    if not isinstance(document, dict) or not isinstance(document.get("value"), list):
        raise AlertFeedError(f"{source}: expected the Alerts Management answer, an object with a \"value\" list")
    alerts = []
    for i, item in enumerate(document["value"]):
        where = f"{source}: value[{i}]"
        essentials = item.get("properties", {}).get("essentials") if isinstance(item, dict) else None
        if not isinstance(essentials, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            raise AlertFeedError(f"{where}: needs \"id\" and \"properties.essentials\"")
        if any(c.isspace() for c in item["id"]):
            raise AlertFeedError(f"{where}: id {item['id']!r} has white space (an ARM id has none)")
        fields: dict[str, str] = {}
        for key in ("alertRule", "monitorCondition", "alertState"):
            value = essentials.get(key)
            if isinstance(value, str) and value:
                fields[key] = value
        missing = [k for k in ("alertRule", "monitorCondition", "alertState") if k not in fields]
        if missing:
            raise AlertFeedError(f"{where}: essentials lacks {', '.join(missing)}")
        alerts.append(FiredAlert(id=item["id"], rule_id=fields["alertRule"], monitor_condition=fields["monitorCondition"],
                                 alert_state=fields["alertState"],
                                 started=_time(essentials.get("startDateTime"), f"{where}.startDateTime")))
    return alerts


def parse_seen(document: Any, source: str = "seen") -> dict[str, dt.datetime]:
    """The seen file (`{"version": 1, "seen": {id: time}}`); a missing file is the caller's empty dict."""
    if not isinstance(document, dict) or document.get("version") != SEEN_VERSION or not isinstance(document.get("seen"), dict):
        raise AlertFeedError(f"{source}: expected {{\"version\": {SEEN_VERSION}, \"seen\": {{alert id: time}}}}; "
                             "delete the cached file to start afresh (alerts older than the lookback never start a run)")
    return {str(k): _time(v, f"{source}: seen[{k}]") for k, v in document["seen"].items()}


def decide(alerts: Iterable[FiredAlert], seen: Mapping[str, dt.datetime], *, resource_group: str,
           now: dt.datetime, lookback: dt.timedelta = DEFAULT_LOOKBACK) -> RetrainDecision:
    """Start one retraining run for the new drift alerts of `resource_group`, unless training is failing."""
    if lookback <= dt.timedelta(0):
        raise AlertFeedError(f"the lookback must be positive, got {lookback}")
    since = now - lookback
    kept = {k: v for k, v in seen.items() if v >= since}
    recent = [a for a in alerts if a.in_resource_group(resource_group) and a.started >= since]
    failing = [a for a in recent if a.rule_name.endswith(FAILED_RUNS_RULE_SUFFIX)
               and a.monitor_condition.lower() == FIRED and a.alert_state.lower() != CLOSED]
    new = sorted((a for a in recent if a.rule_name.endswith(DRIFT_RULE_SUFFIX) and a.id not in kept
                  and a.alert_state.lower() != CLOSED), key=lambda a: (a.started, a.id))
    pruned = kept != dict(seen)
    if not new:
        return RetrainDecision(None, "no new drift alert since the last retraining run", kept, pruned)
    if failing:
        return RetrainDecision(None, f"held: {failing[0].rule_name} has fired (training runs are failing in the "
                               f"workspace); {len(new)} new drift alert(s) wait for the next poll", kept, pruned)
    for alert in new:
        kept[alert.id] = alert.started
    first = new[0]
    more = f" (and {len(new) - 1} more drift alert(s) it covers)" if len(new) > 1 else ""
    return RetrainDecision(first, f"retrain: {first.rule_name} fired at {first.started.isoformat()}{more}", kept, True)


def seen_document(seen: Mapping[str, dt.datetime]) -> dict[str, Any]:
    return {"version": SEEN_VERSION, "seen": {k: v.isoformat() for k, v in sorted(seen.items())}}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as error:
        raise AlertFeedError(f"{path}: cannot read it ({error.strerror})") from None
    except json.JSONDecodeError as error:
        raise AlertFeedError(f"{path}: not JSON ({error.msg} at line {error.lineno})") from None


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.retrain", description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=Path, required=True, help="the Alerts Management answer ({\"value\": [...]})")
    parser.add_argument("--seen", type=Path, required=True, help="alert ids already acted on; rewritten in place")
    parser.add_argument("--resource-group", required=True, help="the stack's resource group (its alert rules)")
    parser.add_argument("--lookback-hours", type=float, default=DEFAULT_LOOKBACK.total_seconds() / 3600)
    parser.add_argument("--now", help="ISO 8601 time to decide at (default: the clock; for tests)")
    parser.add_argument("--github-output", type=Path, help="append retrain=, alert=, changed= lines (GITHUB_OUTPUT)")
    args = parser.parse_args(argv)
    try:
        now = _time(args.now, "--now") if args.now else dt.datetime.now(dt.timezone.utc)
        alerts = parse_alerts(_read_json(args.alerts), str(args.alerts))
        seen = parse_seen(_read_json(args.seen), str(args.seen)) if args.seen.exists() else {}
        decision = decide(alerts, seen, resource_group=args.resource_group, now=now,
                          lookback=dt.timedelta(hours=args.lookback_hours))
    except AlertFeedError as error:
        print(f"retrain: cannot decide: {error}", file=sys.stderr)
        return ERROR
    print(decision.reason)
    if decision.changed:
        args.seen.write_text(json.dumps(seen_document(decision.seen), indent=1) + "\n")
    if args.github_output:
        with args.github_output.open("a") as out:
            out.write(f"retrain={'true' if decision.start else 'false'}\n")
            out.write(f"alert={decision.start.id if decision.start else ''}\n")
            out.write(f"changed={'true' if decision.changed else 'false'}\n")
    return DECIDED


if __name__ == "__main__":
    sys.exit(main())
