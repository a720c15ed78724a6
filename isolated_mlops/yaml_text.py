"""YAML text read as `yaml.safe_load` reads it, by PyYAML's C parser where there is one.

One helper for the package and the tools (delivery/, ml/): it imports only PyYAML, so the steps that
run on an agent's own python3 from a checkout (`python3 -m delivery.stack_for_ref`, `ml.retrain`)
can use it without the venv.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["safe_load"]

# PyYAML's C parser (libyaml) when PyYAML was built with it, as the PyPI wheels and Debian's python3-yaml
# are: the same documents as `yaml.safe_load` (tests/test_yaml_loading.py compares every YAML file here),
# parsed about ten times faster. A text the C parser refuses (or, being a str libyaml cannot take as
# UTF-8, cannot be handed) is read again by the pure-Python parser, so an error is worded, and placed
# at line:column, exactly as PyYAML words it.
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """`yaml.safe_load(text)`, by the C parser where there is one."""
    try:
        return yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - CSafeLoader or SafeLoader
    except (yaml.YAMLError, ValueError):
        return yaml.safe_load(text)
