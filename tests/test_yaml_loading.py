"""The YAML helpers read every YAML file of the repository exactly as `yaml.safe_load` does.

One reader, `isolated_mlops.yaml_text.safe_load`, parses YAML with libyaml's C parser where PyYAML has
it (about ten times faster than the pure-Python parser `yaml.safe_load` uses) and falls back to the
pure-Python one where it does not or where the C parser refuses a text. The package, the CI tools in
delivery/, the ML decisions and the policy levels call it; the tests call it through
`tests.helpers.parse_yaml`, which also parses each text once per process. The two parsers are different programs, so
this compares what each helper returns with what the pure-Python parser returns, type for type, for
every file; and an error must be PyYAML's own, word for word (libyaml words its errors differently).
"""

from __future__ import annotations

import datetime
import math
import os
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

import delivery
import ml.settings
from isolated_mlops import yaml_text
from isolated_mlops.policy import enforcement
from tests.helpers import parse_yaml

ROOT = Path(__file__).resolve().parent.parent
# Not the repository's own files: tools' caches, the test tools' npm packages, git's metadata.
SKIPPED = {".git", ".venv", "node_modules", ".mypy_cache", ".pytest_cache", "__pycache__"}
# A JSON file a test reads with the YAML parser (tests/test_ml_aml_files.py).
ALSO = [ROOT / "ml" / "data" / "sample-request.json"]


def yaml_files() -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(ROOT):
        # Symlinked folders (isolated_mlops/policy -> policy) would only list the same files again.
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED and not os.path.islink(os.path.join(folder, d)))
        found += [Path(folder) / f for f in sorted(files) if f.endswith((".yml", ".yaml"))]
    return found


FILES = yaml_files() + ALSO
HELPERS: dict[str, Callable[[str], Any]] = {
    "package": yaml_text.safe_load,
    "tests": parse_yaml,
}


def test_the_tools_and_the_package_share_one_reader():
    """delivery/ (the CI tools), ml/ (the decisions) and the policy levels read YAML with the package's
    one helper: a fix to it reaches every reader."""
    assert delivery.safe_load is ml.settings.safe_load is enforcement._safe_load is yaml_text.safe_load


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same type all the way down, keys in the same order (`==` alone takes True
    for 1, 1.0 for 1 and a date for nothing else, but not key order)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return len(a) == len(b) and all(same(ka, kb) and same(va, vb)
                                        for (ka, va), (kb, vb) in zip(a.items(), b.items()))
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def outcome(load: Callable[[str], Any], text: str) -> tuple[str, Any]:
    """What a parser makes of a text: ("document", it) or ("error", its type and every word of it)."""
    try:
        return "document", load(text)
    except yaml.YAMLError as error:
        return "error", (type(error), str(error))


def test_every_yaml_file_of_the_repository_is_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in FILES}
    assert {"Pulumi.prod.yaml", "pipelines/azure-pipelines.yml", ".github/workflows/pull-request.yml",
            "delivery/branches.yaml", "ml/config/thresholds.yaml", "tests/data/broken-stacks/duplicate-key.yaml"} <= names
    assert len(FILES) >= 40


@pytest.mark.parametrize("path", FILES, ids=[p.relative_to(ROOT).as_posix() for p in FILES])
def test_every_helper_reads_the_file_as_the_pure_python_parser_does(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    kind, expected = outcome(lambda t: yaml.load(t, Loader=yaml.SafeLoader), text)  # noqa: S506 - SafeLoader
    for name, load in HELPERS.items():
        got_kind, got = outcome(load, text)
        assert got_kind == kind, f"{name}: {got_kind} where yaml.safe_load gives {kind}"
        assert same(got, expected) if kind == "document" else got == expected, f"{name} differs on {path.name}"


def test_the_c_parser_is_used_where_pyyaml_has_it() -> None:
    expected = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
    assert yaml_text.SAFE_LOADER is expected


@pytest.mark.parametrize("text", ["a: b: c\n", "- a\nb: 1\n", "\tkey: 1\n", 'key: "unclosed\n'])
def test_an_error_is_worded_and_placed_as_pyyaml_words_it(text: str) -> None:
    expected = outcome(yaml.safe_load, text)
    assert expected[0] == "error"
    if yaml.__with_libyaml__:
        # The C parser alone words it otherwise: what makes the helpers' errors equal is their fallback.
        assert outcome(lambda t: yaml.load(t, Loader=yaml.CSafeLoader), text) != expected  # noqa: S506
    for name, load in HELPERS.items():
        assert outcome(load, text) == expected, name


def test_the_comparison_tells_types_and_key_order_apart() -> None:
    assert same({"a": [1, "x", None, 1.5]}, {"a": [1, "x", None, 1.5]})
    assert not same(1, True)
    assert not same({"a": 1}, {"a": 1.0})
    assert not same({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert not same([datetime.date(2024, 1, 1)], ["2024-01-01"])
    assert not same([1, 2], [1, 2, 3])


def test_each_caller_of_parse_yaml_gets_its_own_copy() -> None:
    text = "steps:\n  - name: first\n"
    first = parse_yaml(text)
    first["steps"].append({"name": "added by a test"})
    first["steps"][0]["name"] = "changed"
    assert parse_yaml(text) == {"steps": [{"name": "first"}]}
