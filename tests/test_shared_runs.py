"""tests/shared_runs.py: the two workers of a session run each config once between them, every caller
still gets a copy of its own, and a later session reads the runs only while nothing a run reads has
changed. Tiny stand-in runs and projects: no program runs here."""

from __future__ import annotations

import dataclasses
import datetime
import fcntl
import importlib
import os
import pickle
import sys
import threading
from pathlib import Path
from typing import Any, Callable

import pytest

from offline.engine import RegisteredResource, StackRun
from tests.conftest import PROJECT_DIR
from tests.shared_runs import (KEPT_FINGERPRINTS, KeptRuns, SharedRuns, end_keeping, program_fingerprint, project_modules_imported,
                               source_key, start_keeping)


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


@dataclasses.dataclass
class _Measured:
    """A test's own result: a run and what it measured along it (as test_offline_engine's full SDK path)."""

    run: StackRun
    count: int
    error: BaseException | None = None


def test_a_tests_own_result_is_shared_like_a_run_and_a_failed_one_is_not_written(tmp_path: Path):
    first, second = SharedRuns(tmp_path), SharedRuns(tmp_path)
    mine = first.get("measured", lambda: _Measured(_run("dev"), 3))
    theirs = second.get("measured", _never)
    assert (theirs.count, theirs.run) == (3, mine.run) and theirs is not mine and second.ran == []
    error = ValueError("no")
    failed = first.get("measured-bad", lambda: _Measured(_run("dev", error), 0, error))
    assert failed.error is error and failed.run.error is error, "the error itself, where the result holds it"
    assert second.get("measured-bad", lambda: _Measured(_run("dev"), 1, error)).count == 1, "ran again: never written"


def test_the_key_of_a_tests_own_code_changes_with_its_text_and_name(tmp_path: Path):
    code = tmp_path / "test_x.py"
    code.write_text("x = 1\n")
    key = source_key(code)
    assert source_key(code) == key
    code.write_text("x = 2\n")
    assert source_key(code) != key
    code.write_text("x = 1\n")
    other = tmp_path / "test_y.py"
    other.write_text("x = 1\n")
    assert source_key(other) != key and source_key(code, other) != key
    assert source_key(tmp_path / "gone.py") != source_key(tmp_path / "gone.py", code), "a missing file is no error"


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
    """A small project in `root/p`: the program, its library (a folder of it linked from `root/linked`),
    stack files, tests, docs and what tools write."""
    project = root / "p"
    files = {
        "__main__.py": "import isolated_mlops\n", "Pulumi.yaml": "name: p\n", "Pulumi.dev.yaml": "config: {}\n",
        "isolated_mlops/network/vnet.py": "IDLE = 10\n", "isolated_mlops/tests/fixture.json": "{}",
        "bootstrap/agent.sh": "echo hi\n", "tests/test_a.py": "def test(): pass\n", "README.md": "# p\n",
        "docs/design.md": "why\n", ".git/HEAD": "ref: refs/heads/main\n", ".gitignore": ".venv\n",
        "isolated_mlops/__pycache__/vnet.cpython-311.pyc": "x", "p.egg-info/PKG-INFO": "x",
        "tools/node_modules/m.js": "x",
    }
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    for target in ("linked", "linked-2"):
        (root / target).mkdir()
        (root / target / "shared.py").write_text("SHARED = 1\n")
    (project / "isolated_mlops" / "shared").symlink_to(root / "linked", target_is_directory=True)
    (project / "isolated_mlops" / "loop").symlink_to(project, target_is_directory=True)  # walked once
    return project


def _change(path: str, text: str = "changed") -> Callable[[Path], None]:
    def write(project: Path) -> None:
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text)
    return write


def _relink(project: Path) -> None:
    (project / "isolated_mlops" / "shared").unlink()
    (project / "isolated_mlops" / "shared").symlink_to(project.parent / "linked-2", target_is_directory=True)


CHANGES_A_RUN_READS = {
    "a library module": _change("isolated_mlops/network/vnet.py", "IDLE = 11\n"),
    "the program": _change("__main__.py", "import isolated_mlops  # \n"),
    "a stack file": _change("Pulumi.dev.yaml", "config: {p:minNodes: 1}\n"),
    "a new stack file": _change("Pulumi.staging.yaml", "config: {}\n"),
    "a script the program embeds": _change("bootstrap/agent.sh", "echo bye\n"),
    "a folder named tests below the top": _change("isolated_mlops/tests/fixture.json", "[]"),
    "a renamed module": lambda p: (p / "isolated_mlops/network/vnet.py").rename(p / "isolated_mlops/network/net.py"),
    "a removed file": lambda p: (p / "bootstrap/agent.sh").unlink(),
    "a module in a linked folder": _change("isolated_mlops/shared/shared.py", "SHARED = 2\n"),
    "a linked folder pointed elsewhere": _relink,
}
CHANGES_NO_RUN_READS = {
    "a test": _change("tests/test_a.py", "def test(): assert 1\n"),
    "a new test": _change("tests/test_b.py"),
    "the README": _change("README.md"),
    "a design note": _change("docs/design.md"),
    "a picture in docs/": _change("docs/topology.svg", "<svg/>"),
    "git's own files": _change(".git/HEAD", "ref: refs/heads/other\n"),
    "a dot-file": _change(".gitignore", ".venv\nbuild/\n"),
    "bytecode": _change("isolated_mlops/__pycache__/vnet.cpython-311.pyc", "y"),
    "packaging metadata": _change("p.egg-info/PKG-INFO", "y"),
    "a node module": _change("tools/node_modules/m.js", "y"),
}
DAY = datetime.date(2026, 12, 1)


def _fingerprint(project: Path, **kwargs: Any) -> str:
    return program_fingerprint(project, **{"environ": {}, "import_path": [], "today": DAY, **kwargs})


@pytest.mark.parametrize("change", CHANGES_A_RUN_READS, ids=str)
def test_a_change_to_what_a_run_reads_makes_another_fingerprint(tmp_path: Path, change: str):
    before = _fingerprint(project := _project(tmp_path))
    CHANGES_A_RUN_READS[change](project)
    assert _fingerprint(project) != before


@pytest.mark.parametrize("change", CHANGES_NO_RUN_READS, ids=str)
def test_a_change_no_run_reads_keeps_the_fingerprint(tmp_path: Path, change: str):
    before = _fingerprint(project := _project(tmp_path))
    CHANGES_NO_RUN_READS[change](project)
    assert _fingerprint(project) == before


def test_a_package_a_pulumi_variable_or_the_date_makes_another_fingerprint(tmp_path: Path):
    project, site = _project(tmp_path), tmp_path / "site"
    installed = site / "pulumi_azure_native-3.10.0.dist-info"
    installed.mkdir(parents=True)
    (installed / "RECORD").write_text("pulumi_azure_native/__init__.py,sha256=abc,10\n")
    before = _fingerprint(project, environ={"HOME": "/root"}, import_path=[str(site), str(tmp_path / "gone")])
    assert _fingerprint(project, environ={"HOME": "/home/x"}, import_path=[str(site)]) == before
    assert _fingerprint(project, environ={"HOME": "/root", "PULUMI_CONFIG_PASSPHRASE_FILE": "f"},
                        import_path=[str(site)]) != before
    # The configuration check fails a VM size from its retirement date on: a run is of its day.
    assert _fingerprint(project, environ={"HOME": "/root"}, import_path=[str(site)],
                        today=DAY + datetime.timedelta(days=1)) != before
    # The same version installed again (a rebuilt wheel, a local patch): its RECORD is written anew.
    (installed / "RECORD").write_text("pulumi_azure_native/__init__.py,sha256=abd,11\n")
    again = _fingerprint(project, environ={"HOME": "/root"}, import_path=[str(site)])
    assert again != before
    installed.rename(site / "pulumi_azure_native-3.11.0.dist-info")
    assert _fingerprint(project, environ={"HOME": "/root"}, import_path=[str(site)]) not in (before, again)


def test_a_later_session_reads_the_runs_kept_for_its_fingerprint_only(tmp_path: Path):
    project, root = _project(tmp_path), tmp_path / "stack-runs"
    first = start_keeping(root, project, _fingerprint)
    assert first is not None and first.folder == root / _fingerprint(project)
    ran = SharedRuns(first.folder)
    assert ran.get("prod", lambda: _run("prod")).stack == "prod" and ran.ran == ["prod"]
    assert end_keeping(first, project, _fingerprint)
    later = start_keeping(root, project, _fingerprint)
    assert later == first and SharedRuns(later.folder).get("prod", _never).stack == "prod"
    CHANGES_A_RUN_READS["a library module"](project)
    changed = start_keeping(root, project, _fingerprint)
    assert changed is not None and changed.folder != first.folder
    again = SharedRuns(changed.folder)
    assert again.get("prod", lambda: _run("prod")).stack == "prod" and again.ran == ["prod"]


def test_only_the_fingerprints_used_last_keep_their_runs(tmp_path: Path):
    project, root = _project(tmp_path), tmp_path / "stack-runs"
    current = root / _fingerprint(project)
    # Five folders of earlier sessions, each used later than the one before; this code's the oldest.
    for when, folder in enumerate([current, *(root / f"f{i}" for i in range(4))]):
        folder.mkdir(parents=True)
        os.utime(folder, (1_000_000 + when, 1_000_000 + when))
    kept = start_keeping(root, project, _fingerprint)
    assert kept is not None and kept.folder == current
    # This code's folder is used now, and the KEPT_FINGERPRINTS - 1 others used last stay.
    assert sorted(p.name for p in root.iterdir()) == sorted([current.name, "f2", "f3"])
    assert KEPT_FINGERPRINTS == 3


def test_runs_of_a_session_during_which_a_file_changed_are_not_kept(tmp_path: Path):
    project, root = _project(tmp_path), tmp_path / "stack-runs"
    unchanged = start_keeping(root, project, _fingerprint)
    assert unchanged is not None
    SharedRuns(unchanged.folder).get("dev", lambda: _run("dev"))
    assert end_keeping(unchanged, project, _fingerprint) and list(unchanged.folder.iterdir())
    changed_meanwhile = start_keeping(root, project, _fingerprint)
    assert changed_meanwhile == unchanged
    runs = SharedRuns(changed_meanwhile.folder)
    runs.get("dev", _never)
    CHANGES_A_RUN_READS["a library module"](project)
    assert not end_keeping(changed_meanwhile, project, _fingerprint)
    assert not changed_meanwhile.folder.exists()
    # The other process, still at work, writes its runs as before (its folder made again, and removed
    # at the session's end by the same check); it never fails a test.
    assert runs.get("prod", lambda: _run("prod")).stack == "prod"


def test_no_runs_are_kept_once_a_module_of_the_project_is_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Imported before the fingerprint is taken, a module may hold older code than its file: the runs
    made with it would be kept under the file's fingerprint, and a later session would trust them."""
    project, root = _project(tmp_path), tmp_path / "stack-runs"
    (project / "tests" / "helper_of_tests.py").write_text("")
    (project / ".venv" / "site").mkdir(parents=True)
    (project / ".venv" / "site" / "installed_package.py").write_text("")
    monkeypatch.syspath_prepend(str(project / ".venv" / "site"))
    monkeypatch.syspath_prepend(str(project / "tests"))
    monkeypatch.syspath_prepend(str(project / "bootstrap"))
    (project / "bootstrap" / "program_part.py").write_text("")
    for name in ("helper_of_tests", "installed_package", "program_part"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    importlib.import_module("helper_of_tests")
    importlib.import_module("installed_package")
    assert project_modules_imported(project) == [] and start_keeping(root, project, _fingerprint) is not None
    importlib.import_module("program_part")
    assert project_modules_imported(project) == ["program_part"]
    assert start_keeping(root, project, _fingerprint) is None


def test_a_kept_file_cut_short_is_run_again(tmp_path: Path):
    SharedRuns(tmp_path).get("prod", lambda: _run("prod"))
    written = SharedRuns(tmp_path)._file("prod")
    written.write_bytes(written.read_bytes()[:100])  # written, but not all of it reached the disk
    later = SharedRuns(tmp_path)
    assert later.get("prod", lambda: _run("prod")).stack == "prod" and later.ran == ["prod"]
    assert SharedRuns(tmp_path).get("prod", _never).stack == "prod"


def test_the_suite_keeps_its_runs_in_pytests_cache_under_this_codes_fingerprint(request: pytest.FixtureRequest,
                                                                                shared_runs: SharedRuns):
    """conftest takes the fingerprint before collection imports the program: taken later,
    `start_keeping` would find the program imported and keep nothing."""
    cache = getattr(request.config, "cache", None)
    if cache is None:
        pytest.skip("pytest's cache is off (-p no:cacheprovider): runs are kept for the session only")
    assert shared_runs.directory == cache.mkdir("stack-runs") / program_fingerprint(PROJECT_DIR)


def test_the_session_s_end_drops_runs_kept_under_a_fingerprint_the_files_no_longer_have(tmp_path: Path):
    """conftest's pytest_sessionfinish (in the session process, after the forked one has ended)
    compares the fingerprint taken at the start with the files' own at the end."""
    from types import SimpleNamespace

    from tests import conftest

    folder = tmp_path / "taken-at-the-start"
    folder.mkdir()
    session = SimpleNamespace(config=SimpleNamespace(stash={conftest.KEPT_RUNS: KeptRuns(folder, "0" * 24)}))
    conftest.pytest_sessionfinish(session)  # type: ignore[arg-type]
    assert not folder.exists()
    folder.mkdir()
    session.config.stash[conftest.KEPT_RUNS] = KeptRuns(folder, program_fingerprint(PROJECT_DIR))
    conftest.pytest_sessionfinish(session)  # type: ignore[arg-type]
    assert folder.exists()
