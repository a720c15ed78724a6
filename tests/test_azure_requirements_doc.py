"""docs/azure-requirements.md stays the one table of what Azure requires: every policy rule appears in
its "guarded by" column, every source is a documentation page (no blogs), and every test it names
exists. Each check has a negative case, so a broken document fails."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from isolated_mlops.policy.rules import RULES

PROJECT_DIR = Path(__file__).resolve().parents[1]
DOC = PROJECT_DIR / "docs" / "azure-requirements.md"
HEADER = "| requirement (paraphrased) | source | where the program meets it | guarded by |"

# Where a requirement may be sourced: Microsoft's documentation, the tools' own docs, and the source
# repositories Microsoft and the tool vendors publish (a template, an agent's settings, a tracked issue).
# Blogs, forums and Q&A threads are not sources.
DOC_HOSTS = {"learn.microsoft.com", "www.pulumi.com", "docs.cloud-init.io", "docs.github.com"}
SOURCE_REPOS = {"Azure", "MicrosoftDocs", "microsoft", "actions", "pulumi"}


def rows(text: str) -> list[list[str]]:
    """The body rows of every requirements table, as cells (source, where, guard, ...)."""
    found, in_table = [], False
    for line in text.splitlines():
        if line == HEADER:
            in_table = True
            continue
        if not line.startswith("|"):
            in_table = False
            continue
        if in_table and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            assert len(cells) == 4, f"a row without 4 cells: {line[:80]}"
            found.append(cells)
    return found


def rules_missing_from_guards(text: str, names: list[str]) -> list[str]:
    """The rule names that no row's "guarded by" cell names."""
    guards = "\n".join(r[3] for r in rows(text))
    return [n for n in names if not re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", guards)]


def non_documentation_links(text: str) -> list[str]:
    """The links in the source column that are not https documentation pages or vendor repositories."""
    bad = []
    for _, source, _, _ in rows(text):
        for url in re.findall(r"\]\((\S+?)\)", source):
            u = urlparse(url)
            owner = u.path.strip("/").split("/")[0]
            if u.scheme != "https" or not (u.netloc in DOC_HOSTS or (u.netloc == "github.com" and owner in SOURCE_REPOS)):
                bad.append(url)
    return bad


@functools.lru_cache(maxsize=None)
def _defined_tests() -> dict[str, frozenset[str]]:
    """Each test file's tests, read once per process (both tests below read every test file)."""
    return {f.name: frozenset(re.findall(r"^def (test_\w+)", f.read_text(), re.M))
            for f in (PROJECT_DIR / "tests").glob("test_*.py")}


def unknown_tests(text: str) -> list[str]:
    """Tests named in the "guarded by" column that don't exist (`tests/f.py::t`, `::t` after a file, or `t`)."""
    defined = _defined_tests()
    everywhere = frozenset().union(*defined.values())
    missing, current = [], None
    for *_, guard in rows(text):
        # `::test_x` continues the file named last, in this row or a row above it.
        for file, name, after, bare in re.findall(
                r"tests/(test_\w+\.py)(?:::(test_\w+))?|::(test_\w+)|(?<=`)(test_\w+)(?=`)", guard):
            if file:
                current = file
                if file not in defined:
                    missing.append(file)
                elif name and name not in defined[file]:
                    missing.append(f"{file}::{name}")
            elif after:
                if current is None or after not in defined.get(current, frozenset()):
                    missing.append(f"{current}::{after}")
            elif bare and bare not in everywhere:
                missing.append(bare)
    return missing


def test_every_rule_is_in_the_guarded_by_column():
    assert rules_missing_from_guards(DOC.read_text(), [r.name for r in RULES]) == []


def test_a_rule_the_document_does_not_name_is_caught():
    text = DOC.read_text()
    assert rules_missing_from_guards(text, ["no-such-rule", "bastion"]) == ["no-such-rule", "bastion"]
    # A name in the source or "where" column does not count as guarding.
    prose_only = text + "\n" + HEADER + "\n|---|---|---|---|\n| x | `made-up-rule` | `made-up-rule` | none |\n"
    assert rules_missing_from_guards(prose_only, ["made-up-rule"]) == ["made-up-rule"]


def test_every_source_is_a_documentation_page():
    assert non_documentation_links(DOC.read_text()) == []


@pytest.mark.parametrize("link", [
    "http://learn.microsoft.com/azure/bastion/bastion-nsg",
    "https://techcommunity.microsoft.com/blog/some-post",
    "https://medium.com/@someone/aml-private-link",
    "https://github.com/someone/azure-notes",
])
def test_a_blog_or_plain_http_source_is_caught(link: str):
    row = f"{HEADER}\n|---|---|---|---|\n| x | [a page]({link}) | y | none |\n"
    assert non_documentation_links(row) == [link]


def test_every_test_the_document_names_exists():
    assert unknown_tests(DOC.read_text()) == []


def test_a_misnamed_test_is_caught():
    row = (f"{HEADER}\n|---|---|---|---|\n| x | y | z | `tests/test_platform_network.py::test_zone_linked_to_every_vnet`, "
           "`::test_no_such_thing`; `tests/test_nowhere.py`; `test_nor_this` |\n")
    assert unknown_tests(row) == ["test_platform_network.py::test_no_such_thing", "test_nowhere.py", "test_nor_this"]
