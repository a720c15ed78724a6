"""Smoke and latency check of one deployment of an online endpoint, as the pipeline runs it.

    ML_ENDPOINT_KEY=... python -m ml.probe --uri "$SCORING_URI" --deployment green \
        --request ml/data/sample-request.json --requests 50 --output canary.json

Sends the sample request up to `--requests` times, within `--budget` seconds, to the endpoint's
scoring URI with the header
`azureml-model-deployment: <deployment>`, which routes a request to that deployment whatever the
traffic split ("Perform safe rollout of new deployments for real-time inference", test the
deployment directly: https://learn.microsoft.com/azure/machine-learning/how-to-safely-rollout-online-endpoints).
Writes what `python -m ml.decide shift` reads: {"requests", "errors", "p95_latency_ms",
"smoke_passed"}. The endpoint key comes from the environment only (never an argument: arguments
show in the process list and the pipeline log). Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ml.canary import p95

KEY_VARIABLE = "ML_ENDPOINT_KEY"


def well_formed(answer: Any, rows: int) -> bool:
    """The scoring script's answer (ml/src/score.py) for a request of `rows` rows: one probability each."""
    if isinstance(answer, str):  # the inference server may return run()'s dict serialised twice
        try:
            answer = json.loads(answer)
        except json.JSONDecodeError:
            return False
    if not isinstance(answer, dict) or "error" in answer:
        return False
    probabilities = answer.get("probabilities")
    return (isinstance(probabilities, list) and len(probabilities) == rows
            and all(isinstance(p, (int, float)) and 0 <= p <= 1 for p in probabilities))


def probe(uri: str, deployment: str, body: bytes, rows: int, count: int, key: str | None,
          timeout: float = 5.0, budget: float = 60.0) -> dict[str, Any]:
    """Send up to `count` requests, stopping when `budget` seconds have passed; return the stats
    `ml.decide shift` reads. A deployment still warming up answers slowly, so fewer requests fit
    in the budget and the decision is to hold and measure again rather than judge it on a few."""
    headers = {"Content-Type": "application/json", "azureml-model-deployment": deployment}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    latencies: list[float] = []
    errors = 0
    answered_well = 0
    answered_badly = 0
    sent = 0
    deadline = time.perf_counter() + budget
    while sent < count and time.perf_counter() < deadline:
        sent += 1
        request = urllib.request.Request(uri, data=body, headers=headers, method="POST")
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                payload = response.read()
            latencies.append((time.perf_counter() - start) * 1000)
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            # HTTPError (any non-2xx status) is a URLError: 4xx means a broken request or key, 5xx
            # and 429 a struggling deployment; all of them count against the canary.
            latencies.append((time.perf_counter() - start) * 1000)
            errors += 1
            continue
        try:
            ok = well_formed(json.loads(payload), rows)
        except json.JSONDecodeError:
            ok = False
        answered_well += ok
        answered_badly += not ok
    return {"deployment": deployment, "requests": sent, "errors": errors,
            "p95_latency_ms": round(p95(latencies), 1),
            "smoke_passed": answered_well > 0 and answered_badly == 0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.probe", description=__doc__.splitlines()[0])
    parser.add_argument("--uri", required=True, help="the endpoint's scoring URI")
    parser.add_argument("--deployment", required=True, help="deployment to route every request to")
    parser.add_argument("--request", type=Path, required=True, help='JSON request body {"data": [...]}')
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per request")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds for all the requests")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    body = args.request.read_bytes()
    rows = len(json.loads(body)["data"])
    stats = probe(args.uri, args.deployment, body, rows, args.requests, os.environ.get(KEY_VARIABLE),
                  args.timeout, args.budget)
    args.output.write_text(json.dumps(stats) + "\n")
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
