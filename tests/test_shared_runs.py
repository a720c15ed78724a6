"""tests/shared_runs.py: the two workers of a session run each config once between them, and every
caller still gets a copy of its own. Tiny stand-in runs: no program runs here."""

from __future__ import annotations

import fcntl
import pickle
import threading
from pathlib import Path

from offline.engine import RegisteredResource, StackRun
from tests.shared_runs import SharedRuns


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
