"""The thresholds of every delivery decision, read once from `ml/config/thresholds.yaml`.

A missing or malformed value, or a file that is not YAML, is reported as one line naming the file,
the key (or line and column), the value and what to do (`ThresholdsError`), never as a traceback
deep inside a decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from isolated_mlops.yaml_text import safe_load

ML_ROOT = Path(__file__).resolve().parent
DEFAULT_THRESHOLDS = ML_ROOT / "config" / "thresholds.yaml"
_COMMITTED = DEFAULT_THRESHOLDS.relative_to(ML_ROOT.parent).as_posix()  # ml/config/thresholds.yaml, as messages name it


class ThresholdsError(ValueError):
    """The thresholds file is missing a key or holds a value out of its range."""


@dataclass(frozen=True)
class PsiThresholds:
    """Population Stability Index: bin count and the two class boundaries."""

    bins: int
    """Number of bins, cut at the reference sample's quantiles."""
    moderate: float
    """PSI at or above this is a moderate shift (a warning)."""
    significant: float
    """PSI above this is a significant shift (the run fails)."""


@dataclass(frozen=True)
class KsThresholds:
    """Two-sample Kolmogorov-Smirnov: both conditions must hold for a feature to drift."""

    p_value: float
    """Drift needs a p-value below this."""
    statistic: float
    """...and a D statistic (largest gap between the two empirical CDFs) above this."""


@dataclass(frozen=True)
class GateThresholds:
    """The metric gate a candidate model passes before registration."""

    min_auc: float
    """Absolute floor of the candidate's held-out ROC AUC."""
    max_auc_drop: float
    """Largest allowed AUC regression against the production model."""


@dataclass(frozen=True)
class CanaryThresholds:
    """The canary's traffic share and what promotes, holds or rolls it back."""

    traffic_percent: int
    """Share of traffic the new deployment receives first (1-99)."""
    min_requests: int
    """Below this many canary requests there is no decision yet."""
    max_error_rate: float
    """Absolute ceiling of the canary's error rate."""
    max_error_rate_increase: float
    """Largest allowed error-rate increase over the stable deployment."""
    max_p95_latency_ms: float
    """Absolute ceiling of the canary's 95th percentile latency."""
    max_latency_ratio: float
    """Largest allowed ratio of the canary's p95 latency to the stable deployment's."""
    latency_slack_ms: float
    """...which only counts when the canary is also this much slower (milliseconds)."""
    max_rounds: int
    """Measure-and-decide rounds before a canary still on hold is rolled back."""


@dataclass(frozen=True)
class Thresholds:
    """Everything in `ml/config/thresholds.yaml`."""

    psi: PsiThresholds
    """Population Stability Index thresholds."""
    ks: KsThresholds
    """Kolmogorov-Smirnov thresholds."""
    gate: GateThresholds
    """Metric gate thresholds."""
    canary: CanaryThresholds
    """Canary rollout thresholds."""


def _number(file: Path, doc: dict[str, Any], path: str, low: float, high: float, *, integer: bool = False) -> Any:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ThresholdsError(f"{file}: {path}: missing; add it, as {_COMMITTED} has it")
        node = node[part]
    kind = int if integer else (int, float)
    if isinstance(node, bool) or not isinstance(node, kind) or not low <= node <= high:
        expected = "an integer" if integer else "a number"
        raise ThresholdsError(f"{file}: {path}: {node!r} must be {expected} from {low} to {high}")
    return node if integer else float(node)


def load_thresholds(path: Path = DEFAULT_THRESHOLDS) -> Thresholds:
    """Read and range-check the thresholds file; raise `ThresholdsError` naming the first bad key."""
    try:
        doc = safe_load(Path(path).read_text())
    except OSError as error:
        raise ThresholdsError(f"{path}: cannot read it ({error.strerror})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise ThresholdsError(f"{where}: {problem}; fix the YAML syntax there") from None
    if not isinstance(doc, dict):
        raise ThresholdsError(f"{path}: must be a mapping with drift, gate and canary")
    psi = PsiThresholds(
        bins=_number(path, doc, "drift.psi.bins", 2, 100, integer=True),
        moderate=_number(path, doc, "drift.psi.moderate", 0.0, 10.0),
        significant=_number(path, doc, "drift.psi.significant", 0.0, 10.0),
    )
    if psi.moderate >= psi.significant:
        raise ThresholdsError(f"{path}: drift.psi: moderate ({psi.moderate}) must be below significant "
                              f"({psi.significant})")
    return Thresholds(
        psi=psi,
        ks=KsThresholds(p_value=_number(path, doc, "drift.ks.p_value", 0.0, 1.0),
                        statistic=_number(path, doc, "drift.ks.statistic", 0.0, 1.0)),
        gate=GateThresholds(min_auc=_number(path, doc, "gate.min_auc", 0.5, 1.0),
                            max_auc_drop=_number(path, doc, "gate.max_auc_drop", 0.0, 0.5)),
        canary=CanaryThresholds(
            traffic_percent=_number(path, doc, "canary.traffic_percent", 1, 99, integer=True),
            min_requests=_number(path, doc, "canary.min_requests", 1, 1_000_000, integer=True),
            max_error_rate=_number(path, doc, "canary.max_error_rate", 0.0, 1.0),
            max_error_rate_increase=_number(path, doc, "canary.max_error_rate_increase", 0.0, 1.0),
            max_p95_latency_ms=_number(path, doc, "canary.max_p95_latency_ms", 1.0, 600_000.0),
            max_latency_ratio=_number(path, doc, "canary.max_latency_ratio", 1.0, 100.0),
            latency_slack_ms=_number(path, doc, "canary.latency_slack_ms", 0.0, 600_000.0),
            max_rounds=_number(path, doc, "canary.max_rounds", 1, 100, integer=True),
        ),
    )
