"""YAML files as the tests read them, without the Pulumi SDK (tests/helpers.py re-exports these; the
ML tests, which run on their own as the ML pipelines' unit-test stage, import them from here)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from isolated_mlops.yaml_text import safe_load

# ---- YAML, as yaml.safe_load reads it, parsed once per process ----
# The tests read the same workflows and pipelines again and again (a hundred loads of a dozen files):
# each distinct text is parsed once per process by the package's one reader (isolated_mlops/yaml_text.py:
# libyaml where PyYAML has it, PyYAML's own errors), and every caller is given its own deep copy (about
# a tenth of a parse), so a test that edits what it got changes no other test's.
_YAML_DOCUMENTS: dict[str, Any] = {}


def parse_yaml(text: str) -> Any:
    """`yaml.safe_load(text)`, as a copy of the document parsed the first time this text was seen."""
    if text not in _YAML_DOCUMENTS:
        document = safe_load(text)
        if len(_YAML_DOCUMENTS) >= 256:
            _YAML_DOCUMENTS.clear()
        _YAML_DOCUMENTS[text] = document
    return copy.deepcopy(_YAML_DOCUMENTS[text])


def load_yaml(path: Path) -> Any:
    """`yaml.safe_load(path.read_text())`, by `parse_yaml`."""
    return parse_yaml(path.read_text())
