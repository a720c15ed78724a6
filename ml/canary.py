"""The canary's fate: shift all traffic to the new deployment, hold it where it is, or roll it back.

Blue/green on one online endpoint: the live deployment keeps most of the traffic while the new
one (the canary) gets a small share; the endpoint's traffic split does this for Kubernetes online
endpoints as for managed ones ("Perform safe rollout of new deployments for real-time inference",
https://learn.microsoft.com/azure/machine-learning/how-to-safely-rollout-online-endpoints).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Mapping, Sequence

if TYPE_CHECKING:
    # An annotation only: `python -m ml.probe` (p95) then starts without ml.settings and PyYAML.
    from ml.settings import CanaryThresholds

Action = Literal["promote", "hold", "rollback"]
COLOURS = ("blue", "green")


@dataclass(frozen=True)
class DeploymentStats:
    """What was measured on one deployment (ml/probe.py writes it as JSON)."""

    requests: int
    """Requests sent."""
    errors: int
    """Requests that failed: HTTP 5xx, 429, timeouts, connection errors."""
    p95_latency_ms: float
    """95th percentile of the request latencies, in milliseconds."""
    smoke_passed: bool = True
    """The answers were well-formed predictions for the sample request (ml/probe.py)."""

    @property
    def error_rate(self) -> float:
        """errors / requests (0 for no requests)."""
        return self.errors / self.requests if self.requests else 0.0

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> "DeploymentStats":
        """Read the probe's JSON; a missing or mistyped field raises ValueError naming it."""
        try:
            stats = cls(requests=int(doc["requests"]), errors=int(doc["errors"]),
                        p95_latency_ms=float(doc["p95_latency_ms"]), smoke_passed=bool(doc.get("smoke_passed", True)))
        except KeyError as missing:
            raise ValueError(f"deployment stats: missing {missing}") from None
        except (TypeError, ValueError) as error:
            raise ValueError(f"deployment stats: {error}") from None
        if stats.requests < 0 or not 0 <= stats.errors <= stats.requests or stats.p95_latency_ms < 0:
            raise ValueError(f"deployment stats: inconsistent {dict(doc)}")
        return stats


@dataclass(frozen=True)
class ShiftDecision:
    """What to do with the canary, and why."""

    action: Action
    """promote (100 % to the canary), hold (measure again) or rollback (0 % and delete it)."""
    reasons: tuple[str, ...]
    """The checks that decided it."""


def p95(latencies_ms: Sequence[float]) -> float:
    """95th percentile by the nearest-rank method: the smallest value at or above 95 % of the sample."""
    if not latencies_ms:
        return 0.0
    ordered = sorted(latencies_ms)
    return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)]


def shift_decision(canary: DeploymentStats, stable: DeploymentStats | None,
                   thresholds: CanaryThresholds) -> ShiftDecision:
    """Decide the canary's traffic, in this order (the first that applies wins):

    1. the smoke test failed -> rollback (a wrong answer is never worth more traffic);
    2. fewer than `min_requests` canary requests -> hold (too little data to judge);
    3. canary error rate above `max_error_rate`, or above the stable deployment's by more than
       `max_error_rate_increase` -> rollback;
    4. canary p95 latency above `max_p95_latency_ms`, or above `max_latency_ratio` times the stable
       deployment's while also more than `latency_slack_ms` slower (a ratio of two small latencies
       is mostly jitter) -> rollback;
    5. otherwise -> promote.

    `stable` is None on the first deployment (nothing to compare with): only the absolute limits apply.
    Errors and latency are the service-level signals Azure Monitor keeps for an online endpoint
    (request latency, requests per minute and errors by status code: "Supported metrics for
    Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
    https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-machinelearningservices-workspaces-onlineendpoints-metrics).
    """
    if not canary.smoke_passed:
        return ShiftDecision("rollback", ("smoke test failed: the canary's answers are not valid predictions",))
    if canary.requests < thresholds.min_requests:
        return ShiftDecision("hold", (f"{canary.requests} canary requests < {thresholds.min_requests}: not enough to judge",))
    reasons = []
    rate = canary.error_rate
    if rate > thresholds.max_error_rate:
        reasons.append(f"error rate {rate:.2%} > the limit {thresholds.max_error_rate:.2%}")
    if stable is not None and rate > stable.error_rate + thresholds.max_error_rate_increase:
        reasons.append(f"error rate {rate:.2%} > stable {stable.error_rate:.2%} + {thresholds.max_error_rate_increase:.2%}")
    if canary.p95_latency_ms > thresholds.max_p95_latency_ms:
        reasons.append(f"p95 latency {canary.p95_latency_ms:.0f} ms > the limit {thresholds.max_p95_latency_ms:.0f} ms")
    if stable is not None and canary.p95_latency_ms > thresholds.max_latency_ratio * stable.p95_latency_ms \
            and canary.p95_latency_ms - stable.p95_latency_ms > thresholds.latency_slack_ms:
        reasons.append(f"p95 latency {canary.p95_latency_ms:.0f} ms > {thresholds.max_latency_ratio:g} x stable "
                       f"{stable.p95_latency_ms:.0f} ms")
    if reasons:
        return ShiftDecision("rollback", tuple(reasons))
    compared = " (no stable deployment to compare with)" if stable is None else ""
    return ShiftDecision("promote", (f"{canary.requests} requests, error rate {rate:.2%}, "
                                     f"p95 {canary.p95_latency_ms:.0f} ms: within limits{compared}",))


def colours(traffic: Mapping[str, int]) -> tuple[str | None, str]:
    """(live, new): the deployment serving traffic now, and the colour the next one takes.

    `traffic` is the endpoint's split (`az ml online-endpoint show --query traffic`). No deployment
    with traffic (a new endpoint) -> (None, "blue"). The live one is the colour with the most traffic.
    """
    live = [(share, name) for name, share in traffic.items() if share > 0]
    if not live:
        return None, COLOURS[0]
    _, current = max(live)
    if current not in COLOURS:
        raise ValueError(f"deployment {current!r} is not one of {COLOURS}: rename it or delete it")
    return current, COLOURS[1 - COLOURS.index(current)]
