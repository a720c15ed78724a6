"""The pipeline's decision steps: each prints why, and its exit code gates the pipeline.

    python -m ml.decide validate --data ml/data/breast_cancer.csv
    python -m ml.decide drift --reference ml/data/reference.csv --current ml/data/breast_cancer.csv \
        [--record drift-record.json --model NAME --stack STACK --run-id ID]
    python -m ml.decide gate --metrics metrics.json [--production production.json]
    python -m ml.decide shift --canary canary.json [--stable stable.json]
    python -m ml.decide colours --traffic '{"blue": 100}'

Exit codes: 0 go on (valid, no significant drift, gate passed, promote); 1 stop (invalid data,
significant drift, gate failed, roll back); 2 the step itself could not decide (a missing file, bad
JSON, a broken thresholds file: one line on stderr); 3 hold (the canary needs more data).
`--thresholds` points at another thresholds file (default ml/config/thresholds.yaml).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable

from ml.canary import DeploymentStats, colours, shift_decision
from ml.drift import assess_drift, drift_records
from ml.gate import metric_gate
from ml.settings import DEFAULT_THRESHOLDS, Thresholds, ThresholdsError, load_thresholds
from ml.validation import DEFAULT_SCHEMA, load_schema, read_table, validate

GO, STOP, ERROR, HOLD = 0, 1, 2, 3


class InputError(Exception):
    """An input the step cannot read; reported as one line, exit 2."""


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as error:
        raise InputError(f"{path}: cannot read it ({error.strerror})") from None
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: not JSON ({error.msg} at line {error.lineno})") from None


def _auc(path: Path) -> float:
    doc = _json(path)
    auc = doc.get("auc") if isinstance(doc, dict) else None
    if isinstance(auc, bool) or not isinstance(auc, (int, float)) or not 0 <= auc <= 1:
        raise InputError(f"{path}: needs \"auc\", a number from 0 to 1 (got {auc!r})")
    return float(auc)


def cmd_validate(args: argparse.Namespace, _: Thresholds) -> int:
    schema = load_schema(args.schema)
    problems = validate(_table(args.data), schema)
    for problem in problems:
        print(f"{args.data}: {problem}")
    if not problems:
        print(f"{args.data}: valid ({len(schema.features)} features, target {schema.target})")
    return STOP if problems else GO


def _table(path: Path) -> Any:
    try:
        return read_table(path)
    except OSError as error:
        raise InputError(f"{path}: cannot read it ({error.strerror})") from None


def cmd_drift(args: argparse.Namespace, thresholds: Thresholds) -> int:
    schema = load_schema(args.schema)
    reference, current = _table(args.reference), _table(args.current)
    for path, table in ((args.reference, reference), (args.current, current)):
        problems = validate(table, schema)
        if problems:
            raise InputError(f"{path}: fails the schema, run `validate` first ({problems[0]})")
    report = assess_drift({f: reference.column(f) for f in schema.feature_names},
                          {f: current.column(f) for f in schema.feature_names}, thresholds.psi, thresholds.ks)
    print(f"{'feature':<24} {'PSI':>8} {'KS D':>8} {'KS p':>10}  level")
    for f in report.features:
        print(f"{f.feature:<24} {f.psi:8.4f} {f.ks_statistic:8.4f} {f.ks_p_value:10.4g}  {f.level}")
    print(f"drift: {report.level} (largest PSI {report.max_psi:.4f}; PSI significant above "
          f"{thresholds.psi.significant}, KS drift at p < {thresholds.ks.p_value} and D > {thresholds.ks.statistic})")
    if args.record:
        records = drift_records(report, model=args.model, stack=args.stack, run_id=args.run_id)
        args.record.write_text(json.dumps(records, indent=2) + "\n")
        print(f"drift metric: {len(records)} rows written to {args.record}")
    return STOP if report.level == "significant" else GO


def cmd_gate(args: argparse.Namespace, thresholds: Thresholds) -> int:
    production = _auc(args.production) if args.production else None
    decision = metric_gate(_auc(args.metrics), production, thresholds.gate)
    for reason in decision.reasons:
        print(reason)
    print("gate: passed" if decision.passed else "gate: FAILED, the model is not registered")
    return GO if decision.passed else STOP


def _stats(path: Path) -> DeploymentStats:
    try:
        return DeploymentStats.from_json(_json(path))
    except ValueError as error:
        raise InputError(f"{path}: {error}") from None


def cmd_shift(args: argparse.Namespace, thresholds: Thresholds) -> int:
    stable = _stats(args.stable) if args.stable else None
    decision = shift_decision(_stats(args.canary), stable, thresholds.canary)
    for reason in decision.reasons:
        print(reason)
    print(f"canary: {decision.action}")
    return {"promote": GO, "rollback": STOP, "hold": HOLD}[decision.action]


def cmd_colours(args: argparse.Namespace, thresholds: Thresholds) -> int:
    try:
        traffic = json.loads(args.traffic or "{}")
    except json.JSONDecodeError as error:
        raise InputError(f"--traffic: not JSON ({error.msg})") from None
    if not isinstance(traffic, dict) or not all(isinstance(v, int) for v in traffic.values()):
        raise InputError(f"--traffic: expected {{deployment: percent}}, got {args.traffic!r}")
    try:
        live, new = colours(traffic)
    except ValueError as error:
        raise InputError(f"--traffic: {error}") from None
    # KEY=value lines a shell can `source` (the rollout's plan, with the canary settings it uses).
    print(f"live={live or ''}")
    print(f"new={new}")
    print(f"share={thresholds.canary.traffic_percent}")
    print(f"requests={thresholds.canary.min_requests}")
    print(f"rounds={thresholds.canary.max_rounds}")
    return GO


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m ml.decide", description=__doc__.splitlines()[0])
    root.add_argument("--thresholds", type=Path, default=DEFAULT_THRESHOLDS)
    sub = root.add_subparsers(dest="command", required=True)

    validate_cmd = sub.add_parser("validate", help="schema checks of a training file")
    validate_cmd.add_argument("--data", type=Path, required=True)
    validate_cmd.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA)
    validate_cmd.set_defaults(run=cmd_validate)

    drift = sub.add_parser("drift", help="PSI and KS of every feature against the reference")
    drift.add_argument("--reference", type=Path, required=True)
    drift.add_argument("--current", type=Path, required=True)
    drift.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA)
    drift.add_argument("--record", type=Path, help="write the drift metric rows (JSON array) here")
    drift.add_argument("--model", default="bc-classifier")
    drift.add_argument("--stack", default="local")
    drift.add_argument("--run-id", default="local")
    drift.set_defaults(run=cmd_drift)

    gate = sub.add_parser("gate", help="AUC floor and no regression against production")
    gate.add_argument("--metrics", type=Path, required=True, help="the candidate's metrics.json")
    gate.add_argument("--production", type=Path, help='{"auc": ...} of the production model; omit if none')
    gate.set_defaults(run=cmd_gate)

    shift = sub.add_parser("shift", help="promote, hold or roll back the canary")
    shift.add_argument("--canary", type=Path, required=True, help="ml/probe.py's stats of the canary")
    shift.add_argument("--stable", type=Path, help="...and of the live deployment; omit if none")
    shift.set_defaults(run=cmd_shift)

    colours_cmd = sub.add_parser("colours", help="the rollout plan: live deployment, next colour, canary share")
    colours_cmd.add_argument("--traffic", default="{}", help="the endpoint's traffic split as JSON")
    colours_cmd.set_defaults(run=cmd_colours)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    run: Callable[[argparse.Namespace, Thresholds], int] = args.run
    try:
        return run(args, load_thresholds(args.thresholds))
    except (InputError, ThresholdsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return ERROR


if __name__ == "__main__":
    sys.exit(main())
