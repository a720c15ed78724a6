"""`python -m ml.decide`: the exit code of each decision is what gates the pipeline."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ml.decide import ERROR, GO, HOLD, STOP, main
from ml.settings import DEFAULT_THRESHOLDS
from tests.ml_support import load_yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "ml" / "data"


def write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc))
    return path


def test_validate_exit_codes(tmp_path: Path) -> None:
    assert main(["validate", "--data", str(DATA / "breast_cancer.csv")]) == GO
    broken = tmp_path / "broken.csv"
    lines = (DATA / "breast_cancer.csv").read_text().splitlines()
    broken.write_text("\n".join([lines[0], lines[1].replace("17.99", "x"), *lines[2:]]) + "\n")
    assert main(["validate", "--data", str(broken)]) == STOP
    assert main(["validate", "--data", str(tmp_path / "absent.csv")]) == ERROR


def test_drift_exit_codes_and_the_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = tmp_path / "drift.json"
    assert main(["drift", "--reference", str(DATA / "reference.csv"), "--current", str(DATA / "breast_cancer.csv"),
                 "--record", str(record), "--stack", "prod", "--run-id", "7"]) == GO
    rows = json.loads(record.read_text())
    assert len(rows) == 10 and {r["Stack"] for r in rows} == {"prod"} and {r["RunId"] for r in rows} == {"7"}
    assert "drift: stable" in capsys.readouterr().out

    lines = (DATA / "breast_cancer.csv").read_text().splitlines()
    shifted = tmp_path / "shifted.csv"
    # Every radius 30 % larger (still inside the schema's range): significant drift, the run stops.
    out = [lines[0]] + [",".join([f"{float(c.split(',')[0]) * 1.3:g}", *c.split(",")[1:]]) for c in lines[1:]]
    shifted.write_text("\n".join(out) + "\n")
    assert main(["drift", "--reference", str(DATA / "reference.csv"), "--current", str(shifted)]) == STOP
    assert "drift: significant" in capsys.readouterr().out


def test_drift_refuses_data_that_fails_the_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["drift", "--reference", str(DATA / "reference.csv"), "--current", str(bad)]) == ERROR
    assert "fails the schema, run `validate` first" in capsys.readouterr().err


def test_gate_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path / "good.json", {"auc": 0.97, "accuracy": 0.93})
    low = write(tmp_path / "low.json", {"auc": 0.7})
    production = write(tmp_path / "production.json", {"auc": 0.99})
    assert main(["gate", "--metrics", str(good)]) == GO
    assert main(["gate", "--metrics", str(low)]) == STOP
    assert main(["gate", "--metrics", str(good), "--production", str(production)]) == STOP
    assert "gate: FAILED" in capsys.readouterr().out
    assert main(["gate", "--metrics", str(write(tmp_path / "no-auc.json", {"accuracy": 1}))]) == ERROR
    assert 'needs "auc"' in capsys.readouterr().err
    (tmp_path / "garbage.json").write_text("{")
    assert main(["gate", "--metrics", str(tmp_path / "garbage.json")]) == ERROR


def test_shift_exit_codes(tmp_path: Path) -> None:
    healthy = write(tmp_path / "healthy.json", {"requests": 60, "errors": 0, "p95_latency_ms": 30, "smoke_passed": True})
    failing = write(tmp_path / "failing.json", {"requests": 60, "errors": 9, "p95_latency_ms": 30, "smoke_passed": True})
    sparse = write(tmp_path / "sparse.json", {"requests": 5, "errors": 0, "p95_latency_ms": 30, "smoke_passed": True})
    assert main(["shift", "--canary", str(healthy), "--stable", str(healthy)]) == GO
    assert main(["shift", "--canary", str(failing), "--stable", str(healthy)]) == STOP
    assert main(["shift", "--canary", str(sparse)]) == HOLD
    assert main(["shift", "--canary", str(write(tmp_path / "bad.json", {"requests": 1}))]) == ERROR


def test_colours_prints_the_rollout_plan(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["colours", "--traffic", '{"blue": 100, "green": 0}']) == GO
    plan = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    thresholds = load_yaml(DEFAULT_THRESHOLDS)["canary"]
    assert plan == {"live": "blue", "new": "green", "share": str(thresholds["traffic_percent"]),
                    "requests": str(thresholds["min_requests"]), "rounds": str(thresholds["max_rounds"])}
    assert main(["colours", "--traffic", '{"red": 100}']) == ERROR


@pytest.mark.parametrize("text, message", [
    ("gate: {}\n", "drift.psi.bins: missing"),          # a key left out
    ("gate:\n  min_auc: [0.8\n", "3:1: "),               # not YAML: where the parser stopped
])
def test_a_broken_thresholds_file_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         text: str, message: str) -> None:
    broken = tmp_path / "t.yaml"
    broken.write_text(text)
    assert main(["--thresholds", str(broken), "gate", "--metrics", str(write(tmp_path / "m.json", {"auc": 0.9}))]) == ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    # The file the team's ML_THRESHOLDS named comes first, then where and what.
    assert err.startswith(f"error: {broken}:{'' if message[0].isdigit() else ' '}{message}"), err


def test_the_real_command_line_exits_with_the_decision(tmp_path: Path) -> None:
    """What the pipeline runs, in a fresh process: and it never loads scikit-learn or numpy."""
    low = write(tmp_path / "low.json", {"auc": 0.6})
    code = ("import runpy, sys; sys.argv = ['ml.decide', 'gate', '--metrics', sys.argv[1]]\n"
            "try:\n    runpy.run_module('ml.decide', run_name='__main__')\n"
            "except SystemExit as exit:\n"
            "    heavy = sorted(m for m in ('sklearn', 'numpy', 'scipy', 'pandas') if m in sys.modules)\n"
            "    print('heavy:', heavy); raise\n")
    result = subprocess.run([sys.executable, "-c", code, str(low)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == STOP, result.stderr
    assert "heavy: []" in result.stdout


def test_only_the_azure_ml_scripts_import_scientific_packages() -> None:
    """The offline preview, the policy pack and the decision CLI stay at their import floor."""
    heavy = {"sklearn", "numpy", "scipy", "pandas", "joblib"}
    offenders = []
    files = [*ROOT.glob("*.py")]
    for top in ROOT.iterdir():
        if top.is_dir() and not top.name.startswith(".") and top.name != "tests":
            files += top.rglob("*.py")
    for path in files:
        relative = path.relative_to(ROOT)
        text = path.read_text()
        # An import names its module in the text: a file that never spells one is not parsed
        # (parsing every file of the repository was most of this test's half second).
        if relative.parts[:2] == ("ml", "src") or not any(name in text for name in heavy):
            continue
        for node in ast.walk(ast.parse(text)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{relative}: {n}" for n in names if n.split(".")[0] in heavy]
    assert offenders == []
