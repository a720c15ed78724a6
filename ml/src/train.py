"""Train the reference classifier: read the CSV, fit, evaluate on held-out rows, write model + metrics.

Runs the same way on a laptop and as the Azure ML command job `ml/aml/train-job.yml`:

    python ml/src/train.py --data ml/data/breast_cancer.csv --output outputs/

writes `outputs/model/model.pkl` (a scikit-learn pipeline, saved with joblib),
`outputs/model/features.json` (the column order the model takes) and `outputs/metrics.json`
({"auc": ..., "accuracy": ..., "rows": ..., ...}). Self-contained on purpose: Azure ML uploads only
this folder (`code: ../src`), so it imports nothing from the `ml` package.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

TARGET = "malignant"
# A fixed split: the same data gives the same held-out rows, so two runs' AUCs compare.
SEED = 20261201
TEST_SHARE = 0.25


def read_csv(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Feature names, the feature matrix and the labels (the file is validated before training)."""
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [row for row in reader if row]
    target = header.index(TARGET)
    features = [name for i, name in enumerate(header) if i != target]
    data = np.array([[float(cell) for cell in row] for row in rows])
    return features, np.delete(data, target, axis=1), data[:, target].astype(int)


def train(data: Path, output: Path, c: float = 1.0) -> dict[str, float | int | str]:
    """Fit standardisation + logistic regression; return (and write) the held-out metrics."""
    features, x, y = read_csv(data)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=TEST_SHARE, stratify=y, random_state=SEED)
    model = Pipeline([("scale", StandardScaler()), ("classify", LogisticRegression(C=c, max_iter=1000))])
    model.fit(x_train, y_train)
    scores = model.predict_proba(x_test)[:, 1]
    metrics: dict[str, float | int | str] = {
        "auc": float(roc_auc_score(y_test, scores)),
        "accuracy": float(accuracy_score(y_test, (scores >= 0.5).astype(int))),
        "rows": int(len(y)),
        "test_rows": int(len(y_test)),
        "positive_share": float(y.mean()),
        "model": "logistic-regression",
    }
    model_dir = output / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, model_dir / "model.pkl")
    (model_dir / "features.json").write_text(json.dumps(features) + "\n")
    (output / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    _log_to_azure_ml(metrics)
    return metrics


def _log_to_azure_ml(metrics: dict[str, float | int | str]) -> None:
    # In an Azure ML job MLflow is set up by the service (MLFLOW_TRACKING_URI points at the
    # workspace), so the run's metrics show in the studio; locally there is nothing to log to.
    if "MLFLOW_TRACKING_URI" not in os.environ:
        return
    import mlflow  # only in the job's environment (the curated sklearn-1.5 environment: ml/aml/train-job.yml)

    mlflow.log_metrics({k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="training CSV (features + `malignant`)")
    parser.add_argument("--output", type=Path, required=True, help="folder for model/ and metrics.json")
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength")
    args = parser.parse_args(argv)
    metrics = train(args.data, args.output, args.c)
    print(json.dumps(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
