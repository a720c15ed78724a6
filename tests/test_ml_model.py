"""The model itself: train.py on the committed data passes the gate, score.py answers requests the
way Azure ML calls it, and the pipeline's probe measures a deployment that serves it."""

from __future__ import annotations

import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import pytest

from ml.canary import DeploymentStats, shift_decision
from ml.drift import ks_p_value, ks_statistic
from ml.gate import metric_gate
from ml.probe import probe, well_formed
from ml.settings import load_thresholds

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "ml" / "src"
SAMPLE = ROOT / "ml" / "data" / "sample-request.json"
T = load_thresholds()


from tests.conftest import load_ml_script as load

# One process imports scikit-learn (~1.7 s) and trains the model for both ML files (tests/workers.py).
pytestmark = pytest.mark.same_worker("scikit-learn")


@pytest.fixture(scope="module")
def trained(ml_trained: Path) -> Path:
    """train.py's output folder (trained once per session: tests/conftest.py)."""
    return ml_trained


@pytest.fixture(scope="module")
def score(ml_trained: Path) -> Iterator[ModuleType]:
    # Azure ML sets AZUREML_MODEL_DIR to the registered model's folder; the pipeline registers the
    # job output's model/ folder, so the files sit in <dir>/model/.
    module = load("score")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AZUREML_MODEL_DIR", str(ml_trained))
        module.init()
    yield module


def test_training_writes_the_model_and_its_metrics(trained: Path) -> None:
    metrics = json.loads((trained / "metrics.json").read_text())
    assert (trained / "model" / "model.pkl").stat().st_size > 0
    assert json.loads((trained / "model" / "features.json").read_text())[0] == "mean_radius"
    assert metrics["rows"] == 569 and metrics["test_rows"] == 143
    assert metrics["auc"] > T.gate.min_auc, metrics
    assert metric_gate(metrics["auc"], None, T.gate).passed


def test_training_is_reproducible(trained: Path, tmp_path: Path) -> None:
    again = load("train").train(ROOT / "ml" / "data" / "breast_cancer.csv", tmp_path)
    assert again["auc"] == json.loads((trained / "metrics.json").read_text())["auc"]


def test_a_model_that_cannot_separate_the_classes_fails_the_gate(tmp_path: Path) -> None:
    # Labels shuffled: the features no longer say anything, the held-out AUC falls towards 0.5.
    lines = (ROOT / "ml" / "data" / "breast_cancer.csv").read_text().splitlines()
    labels = [line.rsplit(",", 1)[1] for line in lines[1:]]
    import random
    random.Random(1).shuffle(labels)
    shuffled = [lines[0]] + [f"{line.rsplit(',', 1)[0]},{label}" for line, label in zip(lines[1:], labels)]
    data = tmp_path / "shuffled.csv"
    data.write_text("\n".join(shuffled) + "\n")
    metrics = load("train").train(data, tmp_path / "out")
    assert not metric_gate(float(metrics["auc"]), None, T.gate).passed, metrics


# The drift decision's KS p-value (ml/drift.py) against SciPy's: here, beside the tests that load
# scikit-learn, which imports scipy.stats anyway; alone in a worker of its own SciPy costs over a second.
def test_ks_matches_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(7)
    for n, m, shift in ((40, 60, 0.6), (300, 250, 0.15), (569, 284, 0.0), (25, 25, 1.0)):
        a = [rng.gauss(0, 1) for _ in range(n)]
        b = [round(rng.gauss(shift, 1), 1) for _ in range(m)]  # rounding makes ties
        expected = stats.ks_2samp(a, b, method="asymp")
        assert ks_statistic(a, b) == pytest.approx(expected.statistic, abs=1e-12)
        assert ks_p_value(ks_statistic(a, b), n, m) == pytest.approx(expected.pvalue, abs=0.01)


def test_score_answers_a_request(score: ModuleType) -> None:
    answer = score.run(SAMPLE.read_text())
    assert well_formed(answer, 3)
    assert answer["labels"] == [1, 0, 1], "the sample rows' known labels (ml/data/sample-request.json)"


def test_score_takes_rows_as_lists_in_feature_order(score: ModuleType) -> None:
    rows = json.loads(SAMPLE.read_text())["data"]
    as_lists = [[row[f] for f in score.features] for row in rows]
    assert score.run(json.dumps({"data": as_lists})) == score.run(SAMPLE.read_text())


@pytest.mark.parametrize("body, error", [
    ('{"data": []}', '"data" must be a non-empty list'),
    ('{"data": [[1, 2]]}', "row 0: expected 10 values"),
    ('{"data": [{"mean_radius": 1}]}', "row 0: missing mean_texture"),
    ('{"rows": [[1]]}', '"data" must be a non-empty list'),
    ("not json", "Expecting value"),
])
def test_score_answers_a_bad_request_with_an_error(score: ModuleType, body: str, error: str) -> None:
    answer = score.run(body)
    assert error in answer["error"] and not well_formed(answer, 1)


class _Server:
    """A local stand-in for a deployment: POST -> score.run, or a fixed failure, optionally slow."""

    def __init__(self, score: ModuleType, status: int = 200, delay: float = 0.0):
        outer = self
        self.headers: list[dict[str, str]] = []
        # score.run is a function of the request body once init() has run: each distinct body is
        # scored once (the probes send the same sample request up to 50 times a round).
        answers: dict[bytes, bytes] = {}

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                outer.headers.append({k.lower(): v for k, v in self.headers.items()})
                time.sleep(delay)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if body not in answers:
                    answers[body] = json.dumps(score.run(body.decode()) if status == 200 else {"detail": "boom"}).encode()
                payload = answers[body]
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.httpd.server_address[1]}/score"

    def __enter__(self) -> "_Server":
        # A short poll interval: shutdown() waits for the next poll (0.5 s by default).
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_the_probe_measures_a_healthy_deployment_and_the_canary_is_promoted(score: ModuleType) -> None:
    with _Server(score) as server:
        stats = probe(server.uri, "green", SAMPLE.read_bytes(), 3, T.canary.min_requests, key="k-123")
    assert stats["requests"] == T.canary.min_requests and stats["errors"] == 0 and stats["smoke_passed"]
    assert server.headers[0]["azureml-model-deployment"] == "green"
    assert server.headers[0]["authorization"] == "Bearer k-123"
    assert shift_decision(DeploymentStats.from_json(stats), None, T.canary).action == "promote"


def test_the_probe_counts_server_errors_and_the_canary_is_rolled_back(score: ModuleType) -> None:
    with _Server(score, status=503) as server:
        stats = probe(server.uri, "green", SAMPLE.read_bytes(), 3, 5, key=None)
    assert stats["errors"] == 5 and not stats["smoke_passed"]
    assert shift_decision(DeploymentStats.from_json(stats), None, T.canary).action == "rollback"


def test_the_probe_fails_the_smoke_test_on_wrong_answers(score: ModuleType) -> None:
    with _Server(score) as server:
        stats = probe(server.uri, "green", b'{"data": [[1, 2]]}', 1, 3, key=None)
    assert stats["errors"] == 0 and not stats["smoke_passed"]


def test_a_deployment_still_warming_up_is_held_not_judged(score: ModuleType) -> None:
    # Each answer takes 20 ms and the budget is 0.08 s: a handful of requests, fewer than the
    # decision needs, so the canary is held and measured again.
    with _Server(score, delay=0.02) as server:
        stats = probe(server.uri, "green", SAMPLE.read_bytes(), 3, T.canary.min_requests, key=None, budget=0.08)
    assert 0 < stats["requests"] < T.canary.min_requests and stats["smoke_passed"]
    assert shift_decision(DeploymentStats.from_json(stats), None, T.canary).action == "hold"
