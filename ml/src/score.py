"""Scoring script for the online deployment: Azure ML calls init() once per container, run() per request.

Request:  {"data": [[<10 feature values in features.json order>], ...]}
          or {"data": [{"mean_radius": ..., ...}, ...]} (named features, any order)
Response: {"probabilities": [<P(malignant)>, ...], "labels": [0 or 1, ...]}

A malformed request gets {"error": "..."} instead of a stack trace (the inference server answers
it with status 200; the smoke test counts it as a failure). `AZUREML_MODEL_DIR` is set by Azure ML
to the registered model's folder
(https://learn.microsoft.com/azure/machine-learning/how-to-deploy-online-endpoints#understand-the-scoring-script).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import joblib
import numpy as np

model: Any = None
features: list[str] = []


def _model_dir() -> Path:
    root = Path(os.environ["AZUREML_MODEL_DIR"])
    # Registered from the job's output folder, the model sits in `model/` under the model dir.
    return root / "model" if (root / "model" / "model.pkl").exists() else root


def init() -> None:
    """Load the model and its feature order once."""
    global model, features
    folder = _model_dir()
    model = joblib.load(folder / "model.pkl")
    features = json.loads((folder / "features.json").read_text())


def _matrix(rows: Any) -> np.ndarray:
    if not isinstance(rows, list) or not rows:
        raise ValueError('"data" must be a non-empty list of rows')
    matrix = []
    for number, row in enumerate(rows):
        if isinstance(row, dict):
            missing = [f for f in features if f not in row]
            if missing:
                raise ValueError(f"row {number}: missing {', '.join(missing)}")
            row = [row[f] for f in features]
        if not isinstance(row, list) or len(row) != len(features):
            raise ValueError(f"row {number}: expected {len(features)} values")
        matrix.append([float(v) for v in row])
    return np.array(matrix)


def run(raw_data: str) -> dict[str, Any]:
    """Score the rows of one request."""
    try:
        x = _matrix(json.loads(raw_data).get("data"))
    except (ValueError, TypeError, AttributeError) as error:
        return {"error": str(error)}
    probabilities = model.predict_proba(x)[:, 1]
    return {"probabilities": [round(float(p), 6) for p in probabilities],
            "labels": [int(p >= 0.5) for p in probabilities]}
