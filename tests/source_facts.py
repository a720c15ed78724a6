"""What the structure tests read of the repository's Python sources, each file parsed once per process.

tests/test_layering.py reads every file's import statements (and whether each sits inside a function);
tests/test_catalogue.py reads the string literals and integer assignments of the program's and the
tools' files. Parsing is most of both tests' CPU (about 0.6 s for the ~190 files), and the catalogue's
files are half the bytes of the layering's: whichever test runs second in a process reuses what the
first parsed. Only these small records are kept, never the trees: all the trees would hold ~60 MB and
~380k objects, which every later full collection of the garbage collector would walk again.
"""

from __future__ import annotations

import ast
import dataclasses
import subprocess
from pathlib import Path
from typing import Union

PROJECT_DIR = Path(__file__).resolve().parent.parent

ImportStatement = Union[ast.Import, ast.ImportFrom]


@dataclasses.dataclass(frozen=True)
class Literals:
    """What tests/test_catalogue.py reads of one source, from one walk of its tree."""
    strings: tuple[tuple[int, str], ...]
    """(line, value) of every string literal."""
    int_assignments: tuple[tuple[int, str], ...]
    """(line, name) of every `NAME = <int>`."""


def import_statements(tree: ast.Module) -> tuple[tuple[ImportStatement, bool], ...]:
    """Every import statement with whether it runs later, inside a function or method (`lazy`). At
    module level: inside `if` (TYPE_CHECKING included), `try`, `with`, `for`, `while` and class bodies."""
    found: list[tuple[ImportStatement, bool]] = []

    def walk(body: list[ast.stmt], lazy: bool) -> None:
        for node in body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.append((node, lazy))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                walk(node.body, lazy=True)
            elif isinstance(node, ast.ClassDef):
                walk(node.body, lazy)
            else:
                for attr in ("body", "orelse", "finalbody"):
                    children = getattr(node, attr, None)
                    if isinstance(children, list):
                        walk([c for c in children if isinstance(c, ast.stmt)], lazy)
                for handler in getattr(node, "handlers", None) or []:
                    walk(handler.body, lazy)

    walk(tree.body, lazy=False)
    return tuple(found)


def literals(tree: ast.Module) -> Literals:
    strings: list[tuple[int, str]] = []
    int_assignments: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            strings.append((node.lineno, node.value))
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, int):
            int_assignments.extend((node.lineno, t.id) for t in node.targets if isinstance(t, ast.Name))
    return Literals(tuple(strings), tuple(int_assignments))


# Per process, by path relative to the project (the sources do not change during a run).
_IMPORTS: dict[Path, tuple[tuple[ImportStatement, bool], ...]] = {}
_LITERALS: dict[Path, Literals] = {}


def _read(relative: Path, with_literals: bool) -> None:
    tree = ast.parse((PROJECT_DIR / relative).read_text(), str(relative))
    _IMPORTS[relative] = import_statements(tree)
    if with_literals:  # a walk of every node: only for the files that need it
        _LITERALS[relative] = literals(tree)


def repository_imports(relative: Path) -> tuple[tuple[ImportStatement, bool], ...]:
    if relative not in _IMPORTS:
        _read(relative, with_literals=False)
    return _IMPORTS[relative]


def repository_literals(relative: Path) -> Literals:
    if relative not in _LITERALS:
        _read(relative, with_literals=True)
    return _LITERALS[relative]


def python_files() -> list[Path]:
    """Every Python file of the checkout, tracked or new (not ignored), relative to the project."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
                            cwd=PROJECT_DIR, capture_output=True, text=True, check=True).stdout.split()
    # git lists isolated_mlops/<folder> as links (not *.py), so each library module is listed once,
    # under its own folder; build/ is setuptools' output when someone built the wheel in place.
    return sorted({Path(p) for p in listed if not p.startswith("build/") and (PROJECT_DIR / p).is_file()})
