"""tests/shared_runs.py: the two workers of a session run each config once between them, every caller
still gets a copy of its own, and a later session reads the runs only while nothing a run reads has
changed. Tiny stand-in runs and projects: no program runs here."""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
import threading
from pathlib import Path
from typing import Callable

import pytest

from offline.engine import RegisteredResource, StackRun
from tests.conftest import PROJECT_DIR
from tests.shared_runs import KEPT_FINGERPRINTS, SharedRuns, kept_folder, kept_runs, program_fingerprint


def _run(name: str, error: BaseException | None = None) -> StackRun:
    resource = RegisteredResource(urn=f"urn:{name}", type="t", name=name, custom=True, parent="", dependencies=[],
                                  property_dependencies={}, protect=False, inputs={"a": [1]}, masked_inputs={},
                                  secret_paths=[])
    return StackRun(stack=name, project="p", resources=[resource], exports={}, error=error)


def _never() -> StackRun:
    raise AssertionError("run again although the other worker had run it")


def test_a_run_one_worker_did_is_read_by_the_other_and_each_caller_has_its_own_copy(tmp_path: Path):
    first, second = SharedRuns(tmp_path), SharedRuns(tmp_path)
    mine = first.get("prod", lambda: _run("prod"))
    theirs = second.get("prod", _never)
    assert first.ran == ["prod"] and second.ran == []
    assert theirs == mine and theirs is not mine
    theirs.resources[0].inputs["a"].append(2)
    assert second.get("prod", _never).resources[0].inputs == {"a": [1]} == mine.resources[0].inputs


def test_without_a_folder_a_run_stays_in_memory(tmp_path: Path):
    alone = SharedRuns(None)
    assert alone.get("dev", lambda: _run("dev")).stack == "dev" and alone.get("dev", _never).stack == "dev"
    assert alone.ran == ["dev"]


def test_a_failed_run_is_not_written_and_keeps_its_own_error(tmp_path: Path):
    first, second = SharedRuns(tmp_path), SharedRuns(tmp_path)
    error = ValueError("stack file: bad key")
    assert first.get("bad", lambda: _run("bad", error)).error is error
    assert second.get("bad", lambda: _run("bad", error)).error is error
    assert first.ran == second.ran == ["bad"] and list(tmp_path.glob("*.lock")) and not [
        p for p in tmp_path.iterdir() if p.suffix != ".lock"]


def test_a_run_the_other_worker_holds_is_left_for_later(tmp_path: Path):
    """At a session's start both workers want dev and prod: while the other runs dev, this one runs
    prod, then reads dev, instead of waiting first and then running prod alone."""
    this = SharedRuns(tmp_path)
    other_holds_dev, this_ran_prod = threading.Event(), threading.Event()

    def other_worker() -> None:
        with open(this._file("dev").with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            other_holds_dev.set()
            this_ran_prod.wait(timeout=3)
            this._file("dev").write_bytes(pickle.dumps(_run("dev")))
            fcntl.flock(lock, fcntl.LOCK_UN)

    worker = threading.Thread(target=other_worker)
    worker.start()
    assert other_holds_dev.wait(timeout=10)

    dev_was_ready: list[bool] = []

    def run_prod() -> StackRun:
        dev_was_ready.append(this._file("dev").exists())
        this_ran_prod.set()
        return _run("prod")

    got = this.get_all([("dev", _never), ("prod", run_prod)])
    worker.join()
    assert [r.stack for r in got] == ["dev", "prod"] and this.ran == ["prod"]
    assert dev_was_ready == [False], "prod ran while the other worker still held dev"


# ------------------------------------------------------------------------------------------------
# Runs kept for later sessions
# ------------------------------------------------------------------------------------------------
def _project(root: Path) -> Path:
    """A small project: the program, its library, stack files, tests, docs and what tools write."""
    files = {
        "__main__.py": "import isolated_mlops\n", "Pulumi.yaml": "name: p\n", "Pulumi.dev.yaml": "config: {}\n",
        "isolated_mlops/network/vnet.py": "IDLE = 10\n", "isolated_mlops/tests/fixture.json": "{}",
        "bootstrap/agent.sh": "echo hi\n", "tests/test_a.py": "def test(): pass\n", "README.md": "# p\n",
        "docs/design.md": "why\n", ".git/HEAD": "ref: refs/heads/main\n", ".gitignore": ".venv\n",
        "isolated_mlops/__pycache__/vnet.cpython-311.pyc": "x", "p.egg-info/PKG-INFO": "x",
        "tools/node_modules/m.js": "x",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _change(path: str, text: str = "changed") -> Callable[[Path], None]:
    def write(project: Path) -> None:
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text)
    return write


CHANGES_A_RUN_READS = {
    "a library module": _change("isolated_mlops/network/vnet.py", "IDLE = 11\n"),
    "the program": _change("__main__.py", "import isolated_mlops  # \n"),
    "a stack file": _change("Pulumi.dev.yaml", "config: {p:minNodes: 1}\n"),
    "a new stack file": _change("Pulumi.staging.yaml", "config: {}\n"),
    "a script the program embeds": _change("bootstrap/agent.sh", "echo bye\n"),
    "a folder named tests below the top": _change("isolated_mlops/tests/fixture.json", "[]"),
    "a renamed module": lambda p: (p / "isolated_mlops/network/vnet.py").rename(p / "isolated_mlops/network/net.py"),
    "a removed file": lambda p: (p / "bootstrap/agent.sh").unlink(),
}
CHANGES_NO_RUN_READS = {
    "a test": _change("tests/test_a.py", "def test(): assert 1\n"),
    "a new test": _change("tests/test_b.py"),
    "the README": _change("README.md"),
    "a design note": _change("docs/design.md"),
    "git's own files": _change(".git/HEAD", "ref: refs/heads/other\n"),
    "a dot-file": _change(".gitignore", ".venv\nbuild/\n"),
    "bytecode": _change("isolated_mlops/__pycache__/vnet.cpython-311.pyc", "y"),
    "packaging metadata": _change("p.egg-info/PKG-INFO", "y"),
    "a node module": _change("tools/node_modules/m.js", "y"),
}


@pytest.mark.parametrize("change", CHANGES_A_RUN_READS, ids=str)
def test_a_change_to_what_a_run_reads_makes_another_fingerprint(tmp_path: Path, change: str):
    before = program_fingerprint(_project(tmp_path), environ={}, import_path=[])
    CHANGES_A_RUN_READS[change](tmp_path)
    assert program_fingerprint(tmp_path, environ={}, import_path=[]) != before


@pytest.mark.parametrize("change", CHANGES_NO_RUN_READS, ids=str)
def test_a_change_no_run_reads_keeps_the_fingerprint(tmp_path: Path, change: str):
    before = program_fingerprint(_project(tmp_path), environ={}, import_path=[])
    CHANGES_NO_RUN_READS[change](tmp_path)
    assert program_fingerprint(tmp_path, environ={}, import_path=[]) == before


def test_another_package_version_or_pulumi_variable_makes_another_fingerprint(tmp_path: Path):
    project, site = _project(tmp_path / "p"), tmp_path / "site"
    (site / "pulumi_azure_native-3.10.0.dist-info").mkdir(parents=True)
    before = program_fingerprint(project, environ={"HOME": "/root"}, import_path=[str(site), str(tmp_path / "gone")])
    assert program_fingerprint(project, environ={"HOME": "/home/x"}, import_path=[str(site)]) == before
    assert program_fingerprint(project, environ={"HOME": "/root", "PULUMI_CONFIG_PASSPHRASE_FILE": "f"},
                               import_path=[str(site)]) != before
    (site / "pulumi_azure_native-3.10.0.dist-info").rename(site / "pulumi_azure_native-3.11.0.dist-info")
    assert program_fingerprint(project, environ={"HOME": "/root"}, import_path=[str(site)]) != before


def test_a_later_session_reads_the_runs_kept_for_its_fingerprint_only(tmp_path: Path):
    first = SharedRuns(kept_folder(tmp_path, "a1"))
    assert first.get("prod", lambda: _run("prod")).stack == "prod" and first.ran == ["prod"]
    later = SharedRuns(kept_folder(tmp_path, "a1"))
    assert later.get("prod", _never).stack == "prod" and later.ran == []
    changed = SharedRuns(kept_folder(tmp_path, "b2"))
    assert changed.get("prod", lambda: _run("prod")).stack == "prod" and changed.ran == ["prod"]


def test_only_the_fingerprints_used_last_keep_their_runs(tmp_path: Path):
    names = [f"f{i}" for i in range(KEPT_FINGERPRINTS + 2)]
    for when, name in enumerate(names):
        os.utime(kept_folder(tmp_path, name), (1_000_000 + when, 1_000_000 + when))
    assert sorted(p.name for p in tmp_path.iterdir()) == names[-KEPT_FINGERPRINTS:]
    kept_folder(tmp_path, names[-KEPT_FINGERPRINTS])  # used again, so it stays when another comes
    kept_folder(tmp_path, "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["new", names[-KEPT_FINGERPRINTS], names[-1]])


def test_runs_of_a_session_during_which_a_file_changed_are_not_kept(tmp_path: Path):
    project = _project(tmp_path / "p")
    with kept_runs(tmp_path / "runs", project) as unchanged:
        SharedRuns(unchanged).get("dev", lambda: _run("dev"))
    assert list(unchanged.iterdir())
    with kept_runs(tmp_path / "runs", project) as changed_meanwhile:
        assert changed_meanwhile == unchanged
        runs = SharedRuns(changed_meanwhile)
        runs.get("dev", _never)
        CHANGES_A_RUN_READS["a library module"](project)
        shutil.rmtree(changed_meanwhile)  # as the other process's end would: this one still writes
        runs.get("prod", lambda: _run("prod"))
    assert not changed_meanwhile.exists()


def test_the_suite_keeps_its_runs_in_pytests_cache_under_this_codes_fingerprint(request: pytest.FixtureRequest,
                                                                                shared_runs: SharedRuns):
    cache = getattr(request.config, "cache", None)
    if cache is None:
        pytest.skip("pytest's cache is off (-p no:cacheprovider): runs are kept for the session only")
    assert shared_runs.directory == cache.mkdir("stack-runs") / program_fingerprint(PROJECT_DIR)
