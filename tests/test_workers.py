"""tests/workers.py, the two-process runner `make test` uses: every test runs once, on one of two
processes, and the session reports all of them as one process would, a crash and `-x` included.

Each case runs pytest in a child process on a few planted test files (pytester), with the runner
as pytest.ini loads it. The units' order, the order under --ff/--nf and what the session process
does when the forked one has died (`_Pair._lost`) are tested directly, on stand-ins."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Optional

import pytest

from tests.workers import WORKER_ENV, _Pair, units

PROJECT_DIR = Path(__file__).resolve().parent.parent

# Each planted test appends "<nodeid> <process>" to $RECORD, so the parent sees who ran what.
RECORDING = """
import os, warnings, pytest

def record(request):
    with open(os.environ["RECORD"], "a") as f:
        f.write(f"{request.node.nodeid} {os.environ['TESTS_WORKER']}\\n")

def mark(name):
    open(os.path.join(os.path.dirname(os.environ["RECORD"]), name), "w").close()

def wait_for(name, seconds=10):
    import time
    deadline = time.monotonic() + seconds
    while not os.path.exists(os.path.join(os.path.dirname(os.environ["RECORD"]), name)):
        if time.monotonic() > deadline:
            return
        time.sleep(0.01)
"""

PLANTED = {
    # Collected first, and the session process waits until it has started (conftest below), so the
    # forked process takes this file: it warns, then dies in the middle of the second test.
    "test_a_crash.py": RECORDING + """
def test_warns(request):
    record(request)
    warnings.warn(UserWarning("planted in the forked process"))
    # Prints while the session process's failing test runs (test_b_plain.py): in its own capture only.
    if os.environ.get("PAIRED_PRINT"):
        wait_for("test_fails has started")
        print("printed in the forked process", flush=True)
        mark("printed")

def test_dies(request):
    record(request)
    assert os.environ["TESTS_WORKER"] == "w1", "planted for the forked process"
    # A process it started outlives it and holds the pipe to the session process open: no end of
    # file tells that process this one has died (the test below reads its pid and stops it).
    child = os.fork()
    if child == 0:
        import time
        time.sleep(30)
        os._exit(0)
    with open(os.path.join(os.path.dirname(os.environ["RECORD"]), "child.pid"), "w") as f:
        f.write(str(child))
    os._exit(3)

def test_after_the_crash(request):
    record(request)
""",
    "test_b_plain.py": RECORDING + """
@pytest.mark.parametrize("n", range(6))
def test_passes(request, n):
    record(request)

def test_fails(request):
    record(request)
    print("printed by test_fails")
    if os.environ["TESTS_WORKER"] == "w0" and os.environ.get("PAIRED_PRINT"):
        mark("test_fails has started")
        wait_for("printed")
    assert 1 == 2, "planted failure"
""",
    "test_c_group.py": RECORDING + """
pytestmark = pytest.mark.same_worker("shared-import")

def test_one(request):
    record(request)
""",
    "test_d_group.py": RECORDING + """
pytestmark = pytest.mark.same_worker("shared-import")

def test_two(request):
    record(request)
""",
    "test_e_more.py": RECORDING + """
@pytest.mark.parametrize("n", range(6))
def test_more(request, n):
    record(request)
""",
    "conftest.py": """
import os, time

def pytest_collection_finish(session):
    # The session process waits until the forked one has started the planted test (at most 30 s).
    wait_for = os.environ.get("HOLD_SESSION_PROCESS_UNTIL")
    if os.environ.get("TESTS_WORKER") == "w0" and wait_for:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if os.path.exists(os.environ["RECORD"]) and wait_for in open(os.environ["RECORD"]).read():
                break
            time.sleep(0.01)
        time.sleep(0.1)
""",
}


def _run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str, hold_until: str = "",
         files: Optional[dict[str, str]] = None, paired_print: bool = False) -> tuple[Any, list[tuple[str, str]]]:
    pytester.makefile(".ini", pytest="[pytest]\ntestpaths = .\naddopts = -p tests.workers -p no:xdist --workers 2\n")
    for name, text in (files or PLANTED).items():
        (pytester.path / name).write_text(text)
    record = pytester.path / "record.txt"
    monkeypatch.delenv(WORKER_ENV, raising=False)  # this test runs inside one of the suite's own processes
    monkeypatch.setenv("PYTHONPATH", str(PROJECT_DIR))
    monkeypatch.setenv("RECORD", str(record))
    monkeypatch.setenv("HOLD_SESSION_PROCESS_UNTIL", hold_until)
    monkeypatch.setenv("PAIRED_PRINT", "1" if paired_print else "")  # test_fails waits for the other's print
    result = pytester.runpytest_subprocess(*args)
    lines = record.read_text().split("\n") if record.exists() else []
    return result, [tuple(line.split(" ")) for line in lines if line]  # type: ignore[misc]


def test_every_test_runs_once_and_a_crash_fails_only_its_own_test(pytester: pytest.Pytester,
                                                                   monkeypatch: pytest.MonkeyPatch):
    started = time.monotonic()
    try:
        result, ran = _run(pytester, monkeypatch, "-ra", hold_until="test_a_crash.py::test_warns", paired_print=True)
    finally:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int((pytester.path / "child.pid").read_text()), signal.SIGKILL)
    # The crash was noticed without waiting for the end of the pipe, which the dead process's child
    # held open for 30 s (the session takes about a second).
    assert time.monotonic() - started < 20
    out = result.stdout.str()
    # One failure planted, one crash; everything else passed, and the exit status says so.
    result.assert_outcomes(passed=16, failed=2, warnings=1)
    assert result.ret == 1
    assert "FAILED test_b_plain.py::test_fails - AssertionError: planted failure" in out
    assert "FAILED test_a_crash.py::test_dies" in out
    assert "the forked test process (w1) ended with exit status 3 while running this test" in out
    # The warning the forked process raised is in the session's summary.
    assert "planted in the forked process" in out
    # Each process captures into files of its own: what the forked process printed while the
    # session process's test ran is not in that test's output (fork shares pytest's capture files).
    failure = out[out.index("___ test_fails ___"):out.index("short test summary")]
    captured = failure[failure.index("Captured stdout call"):] if "Captured stdout call" in failure else ""
    assert "\nprinted by test_fails\n" in captured and "printed in the forked process" not in captured, failure
    # Every test ran exactly once (the one that died, once too), and both processes took a share.
    nodeids = [nodeid for nodeid, _ in ran]
    assert len(nodeids) == len(set(nodeids)) == 18, ran
    by_process = dict(ran)
    assert by_process["test_a_crash.py::test_dies"] == "w1"
    # What the dead process had taken and not run, the session process ran.
    assert by_process["test_a_crash.py::test_after_the_crash"] == "w0"
    assert {"w0", "w1"} <= set(by_process.values())
    # Files marked with one same_worker name ran in one process.
    assert by_process["test_c_group.py::test_one"] == by_process["test_d_group.py::test_two"]
    # A whole run keeps each unit's time for the next run's order (a group is one unit).
    assert set(_times(pytester)) == {"file:test_a_crash.py", "file:test_b_plain.py", "group:shared-import",
                                     "file:test_e_more.py"}


SLOW_IN_THE_FORKED_PROCESS = RECORDING + """
@pytest.fixture
def torn_down(request):
    yield
    mark("the slow test's fixture was torn down")

def test_slow(request, torn_down):
    record(request)
    wait_for("never made", seconds=20)
    mark("the slow test ran to its end")

def test_after_the_slow_one(request):  # so that the process takes no other file before test_slow ends
    record(request)
"""


def test_x_stops_the_session_at_the_first_failure(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    files = {"test_a_slow.py": SLOW_IN_THE_FORKED_PROCESS,
             **{name: text for name, text in PLANTED.items() if name != "test_a_crash.py"}}
    # The forked process takes test_a_slow.py first (the session process waits until it has started
    # it), and is still in it when the session process fails in test_b_plain.py and stops, before
    # test_e_more.py: it stops the forked one, which tears down the slow test's fixture. With SIGINT
    # ignored, as a shell starts a command in the background: the stop must not depend on it.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        result, ran = _run(pytester, monkeypatch, "-x", hold_until="test_a_slow.py::test_slow", files=files)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert result.ret == 1
    assert "stopping after 1 failures" in result.stdout.str()
    result.assert_outcomes(failed=1, passed=len(ran) - 2)
    assert ("test_a_slow.py::test_slow", "w1") in ran and ("test_b_plain.py::test_fails", "w0") in ran, ran
    assert "test_e_more.py" not in {nodeid.split("::")[0] for nodeid, _ in ran}, ran
    assert (pytester.path / "the slow test's fixture was torn down").exists()
    assert not (pytester.path / "the slow test ran to its end").exists(), "the forked process was not stopped"
    # A run stopped early keeps no times: a unit cut short would be handed out last next time.
    assert _times(pytester) == {}


def test_pytest_exit_in_the_forked_process_ends_the_session_with_its_status(pytester: pytest.Pytester,
                                                                          monkeypatch: pytest.MonkeyPatch):
    files = {"test_a_exit.py": RECORDING + """
def test_stops(request):
    record(request)
    assert os.environ["TESTS_WORKER"] == "w1", "planted for the forked process"
    pytest.exit("stopped by a planted test", returncode=7)
""", "test_e_more.py": PLANTED["test_e_more.py"], "conftest.py": PLANTED["conftest.py"]}
    result, ran = _run(pytester, monkeypatch, hold_until="test_a_exit.py::test_stops", files=files)
    assert result.ret == 7, result.stdout.str() + result.stderr.str()
    assert "stopped by a planted test" in result.stdout.str() + result.stderr.str()
    assert ("test_a_exit.py::test_stops", "w1") in ran


def test_a_different_collection_in_the_forked_process_stops_the_session(pytester: pytest.Pytester,
                                                                        monkeypatch: pytest.MonkeyPatch):
    # (Files without the planted failure: its wait for the other process is for the first case only.)
    files = {"test_c_group.py": PLANTED["test_c_group.py"], "test_e_more.py": PLANTED["test_e_more.py"],
             "conftest.py": "import os\n\ndef pytest_collection_modifyitems(items):\n"
                            "    if os.environ.get('TESTS_WORKER') == 'w1':\n        del items[0]\n"}
    result, _ = _run(pytester, monkeypatch, files=files)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "the two processes collected different tests" in result.stdout.str() + result.stderr.str()


def _times(pytester: pytest.Pytester) -> dict[str, float]:
    """The units' times the last planted run kept in its .pytest_cache (tests/workers.py)."""
    kept = pytester.path / ".pytest_cache" / "v" / "tests-workers" / "seconds-per-unit"
    return json.loads(kept.read_text()) if kept.exists() else {}


def _item(nodeid: str, same_worker: Optional[str] = None, starts_first: bool = False) -> Any:
    def get_closest_marker(name: str) -> Any:
        if name == "same_worker" and same_worker:
            return SimpleNamespace(args=(same_worker,))
        if name == "starts_first" and starts_first:
            return SimpleNamespace(args=())
        return None
    return SimpleNamespace(nodeid=nodeid, get_closest_marker=get_closest_marker)


def test_units_go_out_first_marked_then_untimed_then_longest_first():
    items = [_item("a.py::t1"), _item("a.py::t2"), _item("b.py::t"), _item("c.py::t", same_worker="g"),
             _item("d.py::t"), _item("e.py::t", same_worker="g"), _item("f.py::t", starts_first=True),
             _item("g.py::t")]
    last = {"file:a.py": 1.0, "file:b.py": 5.0, "group:g": 3.0, "file:f.py": 0.1}
    # f (marked, however short it was), then d and g (never timed, in collection order), then
    # b 5 s, the group 3 s (its two files together), a 1 s.
    assert units(items, last) == [[6], [4], [7], [2], [3, 5], [0, 1]]
    # Without times (a fresh clone): the marked unit, then collection order.
    assert units(items, {}) == [[6], [0, 1], [2], [3, 5], [4], [7]]


def test_ff_and_nf_keep_their_own_order():
    """Under --ff (failures first) or --nf (new files first) pytest has ordered the tests itself: the
    units go out in that order, not by their last times."""
    def times(**option: bool) -> dict[str, float]:
        pair = _Pair(SimpleNamespace(config=SimpleNamespace(option=SimpleNamespace(**option))), None, None, False, 0)  # type: ignore[arg-type]
        pair.last_seconds = {"file:a.py": 3.0}
        return pair._times()

    assert times() == times(failedfirst=False, newfirst=False) == {"file:a.py": 3.0}
    assert times(failedfirst=True) == times(newfirst=True) == {}


class _Hooks:
    def __init__(self) -> None:
        self.reports: list[Any] = []
        self.finished: list[str] = []

    def pytest_runtest_logreport(self, report: Any) -> None:
        self.reports.append(report)

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        self.finished.append(nodeid)


def _after_a_crash(running: Optional[str], phases: set[str], counted: int) -> tuple[_Pair, _Hooks]:
    """The session process's view when the forked one has died (`_Pair._lost`): five units of one
    test each; the session process took unit 0, the forked one announced unit 2 (running `running`,
    its phases so far reported) and unit 3; `counted` units were taken from the shared counter."""
    import multiprocessing

    items = [SimpleNamespace(nodeid=f"t{i}.py::t", location=(f"t{i}.py", 0, "t")) for i in range(5)]
    hooks = _Hooks()
    pair = _Pair(SimpleNamespace(config=SimpleNamespace(hook=hooks), items=items),  # type: ignore[arg-type]
                 multiprocessing.Value("l", counted), None, False, 0)  # type: ignore[arg-type]
    pair.units, pair.took, pair.status = [[0], [1], [2], [3], [4]], {0}, 3 << 8  # exit status 3
    pair.other = {"running": running, "phases": phases, "taken": [2, 3], "units": {2, 3}, "ended": None}
    pair._lost()
    return pair, hooks


def test_a_unit_the_dead_process_took_but_never_announced_is_run_by_the_session_process():
    # Units 0-3 were taken from the counter; the forked process never announced unit 1 (its "took"
    # message was lost with it): the session process runs it, with 2 and 3. Unit 4 stays with the counter.
    pair, hooks = _after_a_crash(running=None, phases=set(), counted=4)
    assert sorted(pair.other["taken"]) == [1, 2, 3] and pair.other["ended"] == "lost"
    assert hooks.reports == []
    assert _after_a_crash(running=None, phases=set(), counted=5)[0].other["taken"] == [2, 3, 1, 4]


@pytest.mark.parametrize("phases, failed", [(set(), "setup"), ({"setup"}, "call"), ({"setup", "call"}, "teardown")])
def test_a_crash_fails_the_running_test_once_in_the_phase_it_died_in(phases: set[str], failed: str):
    pair, hooks = _after_a_crash(running="t2.py::t", phases=phases, counted=4)
    assert [(r.nodeid, r.when, r.outcome) for r in hooks.reports] == [("t2.py::t", failed, "failed")]
    assert "ended with exit status 3 while running this test" in str(hooks.reports[0].longrepr)
    assert hooks.finished == ["t2.py::t"]
    # The test that died is not run again; the rest of what that process had is.
    assert sorted(pair.other["taken"]) == [1, 3]


def test_the_suite_runs_on_two_processes_and_shares_one_session_folder(tmp_path_factory: pytest.TempPathFactory):
    """As `make test` runs it (pytest.ini; test_benchmarks checks the line): this process is one of
    two, and its tmp folders sit in the session's one folder (where tests/shared_runs.py shares runs when pytest's
    cache is off)."""
    if os.environ.get(WORKER_ENV) is None:
        pytest.skip("run with --workers 0")
    assert os.environ[WORKER_ENV] in ("w0", "w1")
    assert tmp_path_factory.getbasetemp().name.startswith("pytest-")
