"""A CI step's one-line `python -m delivery.<module> ARGS` call: run as the runner runs it, or with only
its Python part in this process.

The routing and affected-stacks steps of both CI systems are a single command whose arguments bash
expands from the step's environment (`--base "origin/${TARGET_BRANCH#refs/heads/}"`). A child Python
for it costs ~0.1 s of CPU, and the tests run these steps some twenty times. `in_process` keeps the
shell part real: bash expands the step's exact line, with the interpreter replaced by a function that
hands back the arguments it was given; then the module's `main(argv, environ)` runs here with that
environment, its exit code and output standing for the child's. `as_ci_runs_it` runs the line with a
real child; each step keeps at least one such run (the tests say which).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Iterator

from delivery import affected_stacks, stack_for_ref

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# How the steps call Python: the Azure agent's venv, the runner's python3, setup-python's `python`.
INTERPRETERS = (".venv/bin/python", "python3", "python")
MODULES: dict[str, ModuleType] = {"delivery.stack_for_ref": stack_for_ref, "delivery.affected_stacks": affected_stacks}
# What would make the line more than one command whose arguments bash only expands.
_NOT_ONE_COMMAND = re.compile(r"[;&|`<>\n]|\$\(")


def runner_path() -> str:
    """PATH as the tests' runners have it: this venv's tools (its `python`) first."""
    return f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"


def _interpreter(line: str) -> str:
    found = next((i for i in INTERPRETERS if line.startswith(i + " ")), None)
    assert found is not None, f"not a `python -m` step: {line!r}"
    return found


def as_ci_runs_it(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`bash -e -c COMMAND` with this venv's interpreter where the step names `.venv/bin/python`."""
    return subprocess.run(["bash", "-e", "-c", command.replace(".venv/bin/python", sys.executable)], cwd=cwd, env=env,
                          capture_output=True, text=True)


@contextlib.contextmanager
def _project(root: Path, module: ModuleType) -> Iterator[None]:
    """The module reading `root`'s files, as `python -m` run in `root` reads them. A child there would
    import root's own copy of the module: it must be this one, or the run here would test other code."""
    name = Path(str(module.__file__)).name
    assert (root / "delivery" / name).read_text() == (ROOT / "delivery" / name).read_text(), \
        f"{root}/delivery/{name} differs from the module run in this process"
    saved = (stack_for_ref.BRANCHES_FILE, affected_stacks.PROJECT_DIR)
    stack_for_ref.BRANCHES_FILE = root / "delivery" / "branches.yaml"
    affected_stacks.PROJECT_DIR = root
    try:
        yield
    finally:
        stack_for_ref.BRANCHES_FILE, affected_stacks.PROJECT_DIR = saved


def in_process(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The step's line expanded by bash in `env`, its `python -m delivery.X` run in this process."""
    line = command.strip()
    interpreter = _interpreter(line)
    assert not _NOT_ONE_COMMAND.search(line), f"more than one `python -m` command: {line!r}"
    expanded = subprocess.run(["bash", "-e", "-c", "__argv() { printf '%s\\0' \"$@\"; }\n__argv" + line[len(interpreter):]],
                              cwd=cwd, env=env, capture_output=True, text=True, check=True)
    argv = expanded.stdout.split("\0")[:-1]
    assert argv[:1] == ["-m"] and len(argv) > 1 and argv[1] in MODULES, f"not a delivery module: {line!r}"
    module = MODULES[argv[1]]
    out, err = io.StringIO(), io.StringIO()
    with _project(cwd, module), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = module.main(argv[2:], environ=dict(env))
        except SystemExit as exit_:  # argparse's own refusals
            code = exit_.code if isinstance(exit_.code, int) else 1
    return subprocess.CompletedProcess([interpreter, *argv], code, out.getvalue(), err.getvalue())


# ---- pull requests in a git repository ------------------------------------------------------------------
def pr_repository(directory: Path, changes: dict[str, dict[str, str]]) -> Path:
    """A git repository with this project's delivery code and two stacks, a base branch `main` (also as
    origin/main, as a CI checkout has it) and, for each name in `changes`, a pull request branch of that
    name on top of main that makes its change (path -> new text). `checkout` one before running a step."""
    repository = directory / "repo"
    shutil.copytree(ROOT / "delivery", repository / "delivery", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("Pulumi.dev.yaml", "Pulumi.prod.yaml", "policy/config/prod.json", "network/vnet.py", "docs/delivery.md"):
        (repository / name).parent.mkdir(parents=True, exist_ok=True)
        (repository / name).write_text("x = 1\n")
    git(repository, "init", "-q", "-b", "main")
    git(repository, "add", "-A")
    git(repository, "commit", "-q", "-m", "base")
    git(repository, "update-ref", "refs/remotes/origin/main", "HEAD")
    for branch, change in changes.items():
        git(repository, "checkout", "-q", "-b", branch, "main")
        for name, text in change.items():
            (repository / name).write_text(text)
        git(repository, "commit", "-q", "-am", f"the pull request {branch}")
    return repository


def git(repository: Path, *args: str) -> None:
    identity = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
                "GIT_COMMITTER_EMAIL": "t@example.com", "PATH": "/usr/bin:/bin", "HOME": str(repository)}
    # No automatic maintenance after each commit (a `git maintenance run --auto` process each).
    subprocess.run(["git", "-c", "maintenance.auto=false", "-C", str(repository), *args], check=True,
                   capture_output=True, env=identity)


def checkout(repository: Path, branch: str) -> Path:
    """The pull request `branch` checked out (HEAD and working tree), as the CI checkout has it."""
    git(repository, "checkout", "-q", branch)
    return repository
