"""What the ML tests share, without the Pulumi SDK.

`pytest tests/test_ml_*.py` is the ML pipelines' own unit-test stage (pipelines/ml-delivery.yml,
.github/workflows/ml-delivery.yml): tests/helpers.py and offline/engine.py import the SDK (about
0.4 s of CPU before the first test) for the platform's tests, and nothing here needs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.yaml_files import load_yaml

ROOT = Path(__file__).resolve().parent.parent


def stack_setting(stack: str, key: str) -> Any:
    """A key of our project in Pulumi.<stack>.yaml's `config:` (`<project>:<key>`), as the program reads it."""
    project = load_yaml(ROOT / "Pulumi.yaml")["name"]
    return load_yaml(ROOT / f"Pulumi.{stack}.yaml")["config"][f"{project}:{key}"]
