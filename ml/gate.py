"""The metric gate: may a newly trained model be registered and deployed?"""

from __future__ import annotations

from dataclasses import dataclass

from ml.settings import GateThresholds


@dataclass(frozen=True)
class GateDecision:
    """The gate's verdict and every reason behind it."""

    passed: bool
    """True when the candidate may go on to registration."""
    reasons: tuple[str, ...]
    """One line per check, passed or failed."""


def metric_gate(candidate_auc: float, production_auc: float | None, thresholds: GateThresholds) -> GateDecision:
    """Pass when the candidate's AUC reaches `min_auc` AND is at most `max_auc_drop` below production's.

    AUC is the area under the ROC curve of the model's scores on held-out data: the probability
    that a randomly chosen positive case is scored above a randomly chosen negative one (scikit-learn's
    `roc_auc_score`, https://scikit-learn.org/stable/modules/generated/sklearn.metrics.roc_auc_score.html).
    `production_auc` is None when nothing is in production yet: then only the absolute floor applies.
    Both conditions are needed: the floor alone would let a good model be replaced by a slightly
    worse one release after release; the comparison alone would let a poor first model through.
    The production AUC is the one recorded when that model was trained (its `auc` tag), on its own
    held-out rows: with changed data the two are measured on different rows, which is what the
    tolerance absorbs.
    """
    if not 0.0 <= candidate_auc <= 1.0:
        raise ValueError(f"candidate AUC {candidate_auc} is not in [0, 1]")
    reasons = []
    floor_ok = candidate_auc >= thresholds.min_auc
    reasons.append(f"AUC {candidate_auc:.4f} {'>=' if floor_ok else '<'} the floor {thresholds.min_auc:.4f}")
    regression_ok = True
    if production_auc is None:
        reasons.append("no production model: the floor alone decides")
    else:
        allowed = production_auc - thresholds.max_auc_drop
        regression_ok = candidate_auc >= allowed
        reasons.append(f"AUC {candidate_auc:.4f} {'>=' if regression_ok else '<'} production {production_auc:.4f} "
                       f"minus the tolerance {thresholds.max_auc_drop:.4f} ({allowed:.4f})")
    return GateDecision(passed=floor_ok and regression_ok, reasons=tuple(reasons))
