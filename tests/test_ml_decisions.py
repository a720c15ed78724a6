"""The ML delivery's decisions, each with a case that passes and a case that stops the pipeline:
data validation, drift (PSI, Kolmogorov-Smirnov), the metric gate, the canary's traffic shift."""

from __future__ import annotations

import dataclasses
import math
import random
from pathlib import Path

import pytest
import yaml

from ml.canary import DeploymentStats, colours, p95, shift_decision
from ml.drift import (DRIFT_METRIC, assess_drift, drift_records, ks_p_value, ks_statistic,
                      population_stability_index, psi_level)
from ml.gate import metric_gate
from ml.settings import DEFAULT_THRESHOLDS, ThresholdsError, load_thresholds
from ml.validation import Table, load_schema, read_table, validate
from tests.ml_support import load_yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "ml" / "data"
T = load_thresholds()
SCHEMA = load_schema()


def columns(table: Table) -> dict[str, list[float]]:
    return {f: table.column(f) for f in SCHEMA.feature_names}


@pytest.fixture(scope="module")
def committed() -> Table:
    return read_table(DATA / "breast_cancer.csv")


@pytest.fixture(scope="module")
def reference() -> Table:
    return read_table(DATA / "reference.csv")


def edited(table: Table, line: int, column: str, value: str) -> Table:
    """A copy of `table` with one cell changed (`line` counts the header as line 1)."""
    rows = [dict(r) for r in table.rows]
    rows[line - 2][column] = value
    return Table(header=list(table.header), rows=rows)


# ---- The thresholds file -------------------------------------------------------------------------
def test_thresholds_hold_the_usual_psi_reading_and_a_small_canary() -> None:
    assert (T.psi.moderate, T.psi.significant, T.psi.bins) == (0.10, 0.25, 10)
    assert 0 < T.canary.traffic_percent <= 20, "a canary is a small share of the traffic"
    assert T.gate.min_auc >= 0.5, "an AUC floor at or below chance gates nothing"


@pytest.mark.parametrize("path, value, message", [
    (("gate", "min_auc"), 1.5, "gate.min_auc: 1.5 must be a number from 0.5 to 1.0"),
    (("canary", "traffic_percent"), 10.5, "canary.traffic_percent: 10.5 must be an integer"),
    (("drift", "psi", "significant"), 0.05, "drift.psi: moderate (0.1) must be below significant (0.05)"),
    (("drift", "ks", "p_value"), None, "drift.ks.p_value: missing; add it, as ml/config/thresholds.yaml has it"),
])
def test_a_broken_thresholds_file_names_the_key(tmp_path: Path, path: tuple[str, ...], value: object,
                                                message: str) -> None:
    doc = load_yaml(DEFAULT_THRESHOLDS)
    node = doc
    for part in path[:-1]:
        node = node[part]
    if value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    broken = tmp_path / "thresholds.yaml"
    broken.write_text(yaml.safe_dump(doc))
    with pytest.raises(ThresholdsError) as raised:
        load_thresholds(broken)
    # The file first (a team's ML_THRESHOLDS may name another one), then the key and what is wrong.
    assert str(raised.value).startswith(f"{broken}: {message}"), str(raised.value)


def test_a_thresholds_file_that_is_not_yaml_names_the_line_and_column(tmp_path: Path) -> None:
    broken = tmp_path / "thresholds.yaml"
    broken.write_text("gate:\n  min_auc: [0.8\n")
    with pytest.raises(ThresholdsError) as raised:
        load_thresholds(broken)
    assert str(raised.value).startswith(f"{broken}:3:1: ") and "fix the YAML syntax" in str(raised.value)


# ---- Data validation -----------------------------------------------------------------------------
def test_the_committed_data_and_reference_are_valid(committed: Table, reference: Table) -> None:
    assert validate(committed, SCHEMA) == []
    assert validate(reference, SCHEMA) == []
    assert len(committed.rows) == 569 and len(reference.rows) < len(committed.rows)


@pytest.mark.parametrize("line, column, value, problem", [
    (5, "mean_radius", "", "mean_radius: 1 empty cell(s) (line 5); at most 0% allowed"),
    (7, "mean_texture", "abc", "mean_texture: not a float on line 7"),
    (9, "mean_smoothness", "1.7", "mean_smoothness: outside [0, 1] on line 9"),
    (11, "mean_area", "-3", "mean_area: outside [0, 10000] on line 11"),
    (3, "malignant", "2", "malignant: label not in [0, 1] on line 3"),
    (4, "mean_symmetry", "nan", "mean_symmetry: not a float on line 4"),
])
def test_a_bad_cell_is_reported_with_its_line(committed: Table, line: int, column: str, value: str,
                                              problem: str) -> None:
    assert validate(edited(committed, line, column, value), SCHEMA) == [problem]


def test_missing_and_unexpected_columns_and_too_few_rows(committed: Table) -> None:
    rows = [{("radius" if k == "mean_radius" else k): v for k, v in r.items()} for r in committed.rows[:50]]
    header = ["radius" if c == "mean_radius" else c for c in committed.header]
    problems = validate(Table(header=header, rows=rows), SCHEMA)
    assert problems[:3] == ["missing column(s): mean_radius",
                            "unexpected column(s): radius (add them to ml/config/schema.yaml or drop them)",
                            "50 data rows; at least 100 are needed"]


def test_a_broken_column_is_summarised_not_listed_cell_by_cell(committed: Table) -> None:
    rows = [dict(r, mean_texture="x") for r in committed.rows]
    [problem] = validate(Table(header=committed.header, rows=rows), SCHEMA)
    assert problem == "mean_texture: not a float on line 2, 3, 4 and 566 more"


# ---- Drift -------------------------------------------------------------------------------------
def test_identical_samples_have_no_drift() -> None:
    values = [float(i % 37) for i in range(500)]
    assert population_stability_index(values, values) == pytest.approx(0.0, abs=1e-12)
    assert ks_statistic(values, values) == 0.0
    assert ks_p_value(0.0, 500, 500) == 1.0


def test_psi_levels_follow_the_thresholds() -> None:
    assert [psi_level(v, T.psi) for v in (0.05, 0.10, 0.2, 0.25, 0.26)] == \
        ["stable", "moderate", "moderate", "moderate", "significant"]


def test_psi_by_hand() -> None:
    # Reference deciles of 0..99 are [0,10), [10,20), ...; a current sample all in the top decile:
    # nine bins at the floor share 1e-4 against 0.1, one bin at 1.0 against 0.1.
    reference = [float(i) for i in range(100)]
    current = [95.0] * 50
    expected = 9 * (1e-4 - 0.1) * math.log(1e-4 / 0.1) + (1.0 - 0.1) * math.log(1.0 / 0.1)
    assert population_stability_index(reference, current) == pytest.approx(expected, rel=1e-3)


def test_the_committed_data_does_not_drift_from_its_reference(committed: Table, reference: Table) -> None:
    report = assess_drift(columns(reference), columns(committed), T.psi, T.ks)
    assert report.level == "stable", [(f.feature, f.psi, f.ks_statistic) for f in report.features]
    assert len(report.features) == 10 and report.max_psi < T.psi.moderate


def test_a_shifted_feature_is_significant_drift(committed: Table, reference: Table) -> None:
    current = columns(committed)
    current["mean_radius"] = [v * 1.3 for v in current["mean_radius"]]  # e.g. a recalibrated scanner
    report = assess_drift(columns(reference), current, T.psi, T.ks)
    radius = next(f for f in report.features if f.feature == "mean_radius")
    assert radius.psi > T.psi.significant and radius.ks_drift and radius.level == "significant"
    assert report.level == "significant"
    assert all(f.level == "stable" for f in report.features if f.feature != "mean_radius")


def test_ks_alone_flags_a_shift_psi_reads_as_moderate() -> None:
    rng = random.Random(3)
    reference = [rng.gauss(0, 1) for _ in range(2000)]
    current = [rng.gauss(0.45, 1) for _ in range(2000)]
    report = assess_drift({"x": reference}, {"x": current}, T.psi, T.ks)
    [x] = report.features
    assert x.psi_level == "moderate" and x.ks_drift and x.level == "significant"


def test_the_drift_records_have_the_documented_shape(committed: Table, reference: Table) -> None:
    report = assess_drift(columns(reference), columns(committed), T.psi, T.ks)
    records = drift_records(report, model="bc-classifier", stack="prod", run_id="42")
    assert len(records) == 10
    assert set(records[0]) == {"TimeGenerated", "Metric", "Model", "Stack", "RunId", "Feature", "Psi",
                               "KsStatistic", "KsPValue", "Level"}
    assert {r["Metric"] for r in records} == {DRIFT_METRIC} == {"ml_data_drift"}
    assert records[0]["TimeGenerated"].endswith("Z")


# ---- Metric gate ---------------------------------------------------------------------------------
def test_gate_passes_a_good_first_model() -> None:
    decision = metric_gate(0.97, None, T.gate)
    assert decision.passed and "no production model" in decision.reasons[1]


def test_gate_fails_a_low_auc() -> None:
    assert not metric_gate(T.gate.min_auc - 0.01, None, T.gate).passed


def test_gate_fails_a_regression_against_production() -> None:
    decision = metric_gate(0.95, 0.98, T.gate)
    assert not decision.passed and "production 0.9800" in decision.reasons[1]


def test_gate_tolerates_a_drop_within_the_tolerance() -> None:
    assert metric_gate(0.98 - T.gate.max_auc_drop + 1e-9, 0.98, T.gate).passed
    assert metric_gate(0.99, 0.98, T.gate).passed


def test_gate_needs_both_conditions() -> None:
    # Better than a poor production model, still under the floor: fails.
    assert not metric_gate(0.85, 0.80, T.gate).passed
    with pytest.raises(ValueError):
        metric_gate(1.2, None, T.gate)


# ---- Canary traffic shift ------------------------------------------------------------------------
GOOD = DeploymentStats(requests=100, errors=0, p95_latency_ms=40)


def test_a_healthy_canary_is_promoted() -> None:
    assert shift_decision(GOOD, GOOD, T.canary).action == "promote"
    assert shift_decision(GOOD, None, T.canary).action == "promote"


def test_a_high_error_rate_rolls_back() -> None:
    canary = dataclasses.replace(GOOD, errors=5)
    decision = shift_decision(canary, GOOD, T.canary)
    assert decision.action == "rollback" and "error rate 5.00%" in decision.reasons[0]


def test_more_errors_than_stable_roll_back_even_under_the_absolute_limit() -> None:
    canary = dataclasses.replace(GOOD, errors=2)  # 2 % <= max_error_rate, but stable has none
    assert shift_decision(canary, GOOD, T.canary).action == "rollback"
    assert shift_decision(canary, dataclasses.replace(GOOD, errors=2), T.canary).action == "promote"


def test_slow_canary_rolls_back() -> None:
    assert shift_decision(dataclasses.replace(GOOD, p95_latency_ms=T.canary.max_p95_latency_ms + 1), None,
                          T.canary).action == "rollback"
    stable = dataclasses.replace(GOOD, p95_latency_ms=200)
    slower = dataclasses.replace(GOOD, p95_latency_ms=200 * T.canary.max_latency_ratio + 1)
    assert shift_decision(slower, stable, T.canary).action == "rollback"


def test_jitter_on_small_latencies_is_not_a_regression() -> None:
    # Twice as slow, but only by a few milliseconds: within the slack, promoted.
    canary = dataclasses.replace(GOOD, p95_latency_ms=8)
    assert shift_decision(canary, dataclasses.replace(GOOD, p95_latency_ms=4), T.canary).action == "promote"
    assert T.canary.latency_slack_ms > 4


def test_too_few_requests_hold() -> None:
    decision = shift_decision(dataclasses.replace(GOOD, requests=T.canary.min_requests - 1), GOOD, T.canary)
    assert decision.action == "hold" and "not enough to judge" in decision.reasons[0]


def test_a_failed_smoke_test_rolls_back_before_anything_else() -> None:
    few_and_wrong = DeploymentStats(requests=3, errors=0, p95_latency_ms=10, smoke_passed=False)
    assert shift_decision(few_and_wrong, GOOD, T.canary).action == "rollback"


def test_p95_is_the_nearest_rank() -> None:
    assert p95([float(v) for v in range(1, 101)]) == 95.0
    assert p95([7.0]) == 7.0 and p95([]) == 0.0


def test_stats_reject_inconsistent_input() -> None:
    with pytest.raises(ValueError, match="missing 'errors'"):
        DeploymentStats.from_json({"requests": 3, "p95_latency_ms": 1})
    with pytest.raises(ValueError, match="inconsistent"):
        DeploymentStats.from_json({"requests": 3, "errors": 4, "p95_latency_ms": 1})


@pytest.mark.parametrize("traffic, expected", [
    ({}, (None, "blue")),
    ({"blue": 100}, ("blue", "green")),
    ({"blue": 0, "green": 100}, ("green", "blue")),
    ({"blue": 90, "green": 10}, ("blue", "green")),
])
def test_colours_alternate(traffic: dict[str, int], expected: tuple[str | None, str]) -> None:
    assert colours(traffic) == expected


def test_an_unknown_live_deployment_is_refused() -> None:
    with pytest.raises(ValueError, match="not one of"):
        colours({"red": 100})
