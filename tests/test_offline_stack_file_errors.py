"""A user's mistake in a stack file ends `python -m offline` with exit 1 and one clear line per
problem naming the file (with line and column where YAML gives them) or the key: never a traceback.

The corpus is tests/data/broken-stacks/*.yaml, each file's first line `# expect: REGEX`, what the
error must contain (`{file}` stands for the stack file's name). Each runs through the CLI's `main()` in this process (a subprocess costs half
a second of SDK imports per file). The real entry point (`python -m offline`, its `__main__` block
around `main()`) runs in a child on a bad stack file in test_offline_preview.py: exit 1, the error and
no traceback.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from offline.__main__ import main
from offline.engine import PROJECT_DIR

CORPUS = PROJECT_DIR / "tests" / "data" / "broken-stacks"
BROKEN = sorted(CORPUS.glob("*.yaml"))


def expected(path: Path) -> str:
    first = path.read_bytes().split(b"\n", 1)[0].decode()
    assert first.startswith("# expect: "), f"{path.name}: the first line must be `# expect: REGEX`"
    return first[len("# expect: "):].replace("{file}", re.escape("Pulumi.broken.yaml"))


def mirror(tmp_path: Path, stack: str, source: Path) -> Path:
    """The project, its stack files replaced by `source`: links to the program, a copy of the file."""
    for entry in PROJECT_DIR.iterdir():
        if not entry.name.startswith((".", "Pulumi.")) and entry.name != "tests":
            (tmp_path / entry.name).symlink_to(entry)
    (tmp_path / "Pulumi.yaml").symlink_to(PROJECT_DIR / "Pulumi.yaml")
    (tmp_path / f"Pulumi.{stack}.yaml").write_bytes(source.read_bytes())
    return tmp_path


def check_reported(code: int, err: str, out: str, pattern: str) -> None:
    assert code == 1, f"exit {code}\n{err}"
    assert "Traceback" not in err + out and 'File "' not in err, err
    assert re.search(pattern, err), f"expected /{pattern}/ in:\n{err}"
    first = err.splitlines()[0]
    assert first.startswith("error: "), err


@pytest.mark.parametrize("source", BROKEN, ids=[p.stem for p in BROKEN])
def test_a_broken_stack_file_is_one_clear_error_and_exit_1(source: Path, tmp_path: Path, capsys, monkeypatch):
    # main() with another project folder drops this one from sys.path: keep the session's intact.
    monkeypatch.setattr(sys, "path", list(sys.path))
    project = mirror(tmp_path, "broken", source)
    code = main(["preview", "--stack", "broken", "--project-dir", str(project)])
    captured = capsys.readouterr()
    check_reported(code, captured.err, captured.out, expected(source))
    if expected(source).startswith(re.escape("Pulumi.broken.yaml")):
        # A problem YAML or the file's shape has, before any key is read: one line, naming the file.
        assert captured.err.startswith("error: Pulumi.broken.yaml:") and len(captured.err.splitlines()) == 1, \
            captured.err
    if "config:" not in source.read_text(errors="replace"):
        return
    # A YAML-level problem is one line; the program's own report is a header and one line per problem.
    lines = captured.err.splitlines()
    assert len(lines) == 1 or all(line.startswith("  - isolated-mlops:") for line in lines[1:]), captured.err


def test_the_corpus_covers_what_users_get_wrong():
    names = {p.stem for p in BROKEN}
    assert {"bad-indentation", "tab-indentation", "duplicate-key", "a-list", "not-utf8", "empty",
            "missing-location", "wrong-types", "bad-cloud"} <= names


def test_the_check_can_fail_a_traceback_is_caught():
    with pytest.raises(AssertionError):
        check_reported(1, 'error: x\nTraceback (most recent call last):\n  File "a.py"', "", "error")
    with pytest.raises(AssertionError):
        check_reported(0, "error: fine", "", "error")


def test_an_unknown_stack_lists_the_stacks_that_exist(capsys):
    assert main(["preview", "--stack", "nope"]) == 2
    err = capsys.readouterr().err
    assert "Pulumi.nope.yaml" in err and "stacks here: dev, prod" in err and "Traceback" not in err


def test_a_broken_stack_file_in_a_diff_is_one_clear_error(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    import offline.snapshot as snapshot
    from offline import engine

    project = mirror(tmp_path, "broken", CORPUS / "duplicate-key.yaml")
    monkeypatch.setattr(snapshot, "run_stack", lambda stack, **kw: engine.run_stack(stack, project_dir=project))
    code = main(["diff", "--stack", "broken", "--against", "broken"])
    captured = capsys.readouterr()
    check_reported(code, captured.err, captured.out, expected(CORPUS / "duplicate-key.yaml"))
