"""Data drift of each feature against a reference sample: PSI and the two-sample Kolmogorov-Smirnov test.

Plain Python, no numpy: a few thousand values per feature take milliseconds, and the pipeline's
decision step stays free of scientific packages. The thresholds are `drift` in
`ml/config/thresholds.yaml`.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal, Sequence

from ml.settings import KsThresholds, PsiThresholds

Level = Literal["stable", "moderate", "significant"]
# A bin that one sample leaves empty would make ln(actual/expected) infinite. Scoring practice
# floors the share at a small constant instead; 1e-4 keeps one empty decile worth ~0.7 of PSI (a
# significant shift, as it should be) without ever dividing by zero.
EMPTY_BIN_SHARE = 1e-4
# The name the drift metric is recorded under (docs: README, "record the drift metric").
DRIFT_METRIC = "ml_data_drift"


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default `linear` method)."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _shares(values: Sequence[float], cuts: Sequence[float]) -> list[float]:
    counts = [0] * (len(cuts) + 1)
    for value in values:
        counts[bisect.bisect_right(cuts, value)] += 1
    return [max(c / len(values), EMPTY_BIN_SHARE) for c in counts]


def population_stability_index(reference: Sequence[float], current: Sequence[float], bins: int = 10) -> float:
    """PSI = sum over bins of (actual - expected) * ln(actual / expected).

    `expected` is each bin's share of the reference sample, `actual` the current sample's share of
    the same bin. Bins are cut at the reference's quantiles (deciles for `bins=10`), so each holds
    about 1/bins of the reference; values beyond the reference's range fall into the outer bins.
    Tied cut points (a feature with many equal values, such as zeros) are merged. This is the
    definition, and the decile binning, that Yurdakul & Naranjo analyse ("Statistical properties of
    the population stability index", Journal of Risk Model Validation, 2020,
    https://ideas.repec.org/a/rsk/journ5/7725371.html). PSI is symmetric in the two samples'
    shares and 0 for identical distributions.
    """
    if not reference or not current:
        raise ValueError("PSI needs two non-empty samples")
    ordered = sorted(reference)
    cuts = sorted({_quantile(ordered, k / bins) for k in range(1, bins)})
    expected = _shares(reference, cuts)
    actual = _shares(current, cuts)
    return sum((a - e) * math.log(a / e) for a, e in zip(actual, expected))


def psi_level(psi: float, thresholds: PsiThresholds) -> Level:
    """Below `moderate`: stable; up to `significant`: moderate; above: significant (Yurdakul & Naranjo's rule of thumb)."""
    if psi > thresholds.significant:
        return "significant"
    return "moderate" if psi >= thresholds.moderate else "stable"


def ks_statistic(first: Sequence[float], second: Sequence[float]) -> float:
    """D = the largest absolute gap between the two samples' empirical distribution functions.

    Walks both sorted samples once; at tied values both functions step before they are compared,
    as the definition requires (the same D as `scipy.stats.ks_2samp`).
    """
    if not first or not second:
        raise ValueError("the KS statistic needs two non-empty samples")
    a, b = sorted(first), sorted(second)
    i = j = 0
    d = 0.0
    while i < len(a) and j < len(b):
        x = min(a[i], b[j])
        while i < len(a) and a[i] == x:
            i += 1
        while j < len(b) and b[j] == x:
            j += 1
        d = max(d, abs(i / len(a) - j / len(b)))
    return d


def ks_p_value(statistic: float, n: int, m: int) -> float:
    """Asymptotic two-sided p-value of the two-sample KS statistic D for sample sizes n and m.

    Uses the Kolmogorov distribution Q(x) = 2 * sum_{k>=1} (-1)^(k-1) exp(-2 k^2 x^2) at
    x = (sqrt(ne) + 0.12 + 0.11 / sqrt(ne)) * D with ne = n*m / (n+m): Stephens' correction that
    makes the asymptotic law usable from ne of about 4 (Press et al., Numerical Recipes, 3rd ed.,
    section 14.3.3). The test suite checks it against `scipy.stats.ks_2samp`.
    """
    ne = n * m / (n + m)
    x = (math.sqrt(ne) + 0.12 + 0.11 / math.sqrt(ne)) * statistic
    if x < 0.2:
        return 1.0  # the series converges slowly there, and Q is 1 to 12 digits
    total = 0.0
    for k in range(1, 101):
        term = 2 * (-1) ** (k - 1) * math.exp(-2 * k * k * x * x)
        total += term
        if abs(term) < 1e-12:
            break
    return min(max(total, 0.0), 1.0)


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's drift figures and verdict."""

    feature: str
    """Column name."""
    psi: float
    """Population Stability Index against the reference."""
    psi_level: Level
    """The PSI's class: stable, moderate or significant."""
    ks_statistic: float
    """Two-sample Kolmogorov-Smirnov D."""
    ks_p_value: float
    """Its asymptotic p-value."""
    ks_drift: bool
    """True when both the p-value and D cross their thresholds."""

    @property
    def level(self) -> Level:
        """The feature's overall verdict: a KS drift counts as significant."""
        return "significant" if self.ks_drift else self.psi_level


@dataclass(frozen=True)
class DriftReport:
    """Every feature's drift and the overall verdict."""

    features: tuple[FeatureDrift, ...]
    """Per feature, in schema order."""

    @property
    def level(self) -> Level:
        """The worst feature's level."""
        order: list[Level] = ["stable", "moderate", "significant"]
        return max((f.level for f in self.features), key=order.index, default="stable")

    @property
    def max_psi(self) -> float:
        """The largest PSI of any feature."""
        return max((f.psi for f in self.features), default=0.0)


def assess_drift(reference: dict[str, Sequence[float]], current: dict[str, Sequence[float]],
                 psi_thresholds: PsiThresholds, ks_thresholds: KsThresholds) -> DriftReport:
    """Compare each feature of `current` with the same feature of `reference` (both: name -> values).

    A feature drifts significantly when its PSI is above `significant`, or when the KS test finds a
    difference that is both statistically significant (p below `ks.p_value`) and large (D above
    `ks.statistic`). The run fails on a significant drift; a moderate PSI is reported, not fatal.
    """
    results = []
    for feature, expected in reference.items():
        actual = current[feature]
        psi = population_stability_index(expected, actual, psi_thresholds.bins)
        d = ks_statistic(expected, actual)
        p = ks_p_value(d, len(expected), len(actual))
        results.append(FeatureDrift(
            feature=feature, psi=psi, psi_level=psi_level(psi, psi_thresholds), ks_statistic=d, ks_p_value=p,
            ks_drift=p < ks_thresholds.p_value and d > ks_thresholds.statistic,
        ))
    return DriftReport(features=tuple(results))


def drift_records(report: DriftReport, *, model: str, stack: str, run_id: str,
                  now: datetime | None = None) -> list[dict[str, Any]]:
    """The drift metric as the rows the future alert reads: one per feature, all with the same run id.

    Shape (columns of the Log Analytics custom table the Logs Ingestion API writes to):
    TimeGenerated (ISO 8601 UTC), Metric (`ml_data_drift`), Model, Stack, RunId, Feature, Psi,
    KsStatistic, KsPValue, Level (stable / moderate / significant).
    """
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        {"TimeGenerated": stamp, "Metric": DRIFT_METRIC, "Model": model, "Stack": stack, "RunId": run_id,
         "Feature": f.feature, "Psi": round(f.psi, 6), "KsStatistic": round(f.ks_statistic, 6),
         "KsPValue": round(f.ks_p_value, 6), "Level": f.level}
        for f in report.features
    ]
