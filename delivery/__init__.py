"""How the platform delivers itself: the branch->stack table (branches.yaml, stack_for_ref.py), which
stacks a pull request affects (affected_stacks.py), the one PR comment (pr_comment.py), and the Azure
pipeline's per-stack Deploy stages kept equal to the stack files (pipeline_stacks.py)."""

from __future__ import annotations

from typing import Any

import yaml


# PyYAML's C parser (libyaml) when PyYAML was built with it, as the PyPI wheels and Debian's python3-yaml
# are: the same documents as `yaml.safe_load` (tests/test_yaml_loading.py compares every YAML file here),
# parsed about ten times faster. A text the C parser refuses (or, being a str libyaml cannot take as
# UTF-8, cannot be handed) is read again by the pure-Python parser, so an error is worded, and placed
# at line:column, exactly as PyYAML words it.
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """`yaml.safe_load(text)`, by the C parser where there is one."""
    try:
        return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - CSafeLoader or SafeLoader
    except (yaml.YAMLError, ValueError):
        return yaml.safe_load(text)
