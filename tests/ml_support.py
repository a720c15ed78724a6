"""What the ML tests share, without the Pulumi SDK.

`pytest tests/test_ml_*.py` is the ML pipelines' own unit-test stage (pipelines/ml-delivery.yml,
.github/workflows/ml-delivery.yml): tests/helpers.py and offline/engine.py import the SDK (about
0.4 s of CPU before the first test) for the platform's tests, and nothing here needs it.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

from isolated_mlops.yaml_text import safe_load

ROOT = Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=64)
def _parsed(text: str) -> Any:
    return safe_load(text)


def load_yaml(path: Path) -> Any:
    """`yaml.safe_load(path.read_text())` by the package's one reader, each text parsed once per
    process (as tests.helpers.load_yaml); every caller gets its own copy."""
    return copy.deepcopy(_parsed(path.read_text()))


def stack_setting(stack: str, key: str) -> Any:
    """A key of our project in Pulumi.<stack>.yaml's `config:` (`<project>:<key>`), as the program reads it."""
    project = load_yaml(ROOT / "Pulumi.yaml")["name"]
    return load_yaml(ROOT / f"Pulumi.{stack}.yaml")["config"][f"{project}:{key}"]
