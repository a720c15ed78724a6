"""The suite on two processes without pytest-xdist: `pytest --workers 2` (pytest.ini sets it).

Why not pytest-xdist, which ran this suite until December 2026: its controller is a third process
that relays every report over execnet. 1,440 empty tests cost 6.3-6.9 s of CPU under it on 2 cores,
3.4-4.0 s here and 2.8 s in one process; alternating warm runs of this suite, xdist's took 3.3 s
longer on average (README, "The test suite").

How it works:
- When collection starts the session process forks once. Both processes collect (the same files,
  side by side on the two cores), then each takes units of work from a counter they share. A unit
  is one test file, or all the files marked `pytest.mark.same_worker("name")` (files that share an
  expensive import, paid once).
- Longest first, so that the two finish close together: the units marked `starts_first` (the type
  check, whose cost depends on mypy's cache, not on its last run), then the units this checkout has
  not timed yet, in collection order, then the others by the time they took last time, longest
  first (kept in pytest's cache folder, `.pytest_cache`, like `--lf`'s list: it orders the work
  and decides nothing else; only a whole run that was not stopped early writes them, and `--ff` or
  `--nf` keep their own order).
- Each process runs its tests with pytest's own `pytest_runtest_protocol`, knowing the next item it
  will run (it takes its next unit before the last test of the current one), so fixtures are set up
  and torn down exactly as in one process.
- The forked process (`w1`) writes nothing to the terminal: it sends pytest's serialized reports,
  log start/finish and warnings through a pipe. The session process (`w0`) runs its own share and,
  between its tests, replays those messages into its own hooks (as pytest-xdist's controller does);
  so the terminal, the warnings summary, `-ra`, `-x` and the exit status see every test, as in one
  process. A thread empties the pipe meanwhile, so `w1` never waits on a long test of `w0`.
- Both processes must collect the same tests: `w1` sends the list's digest first, and a difference
  stops the session with a message.
- The forked process opens capture files of its own (a fork shares pytest's), so each test's
  captured output is its own.
- If `w1` dies mid-test (a crash, `os._exit`), that test is reported failed with how it ended (an
  error of its teardown if it died there), and `w0` runs the rest of what `w1` had taken. Its end
  is noticed even when a process it forked keeps the pipe open.
- `pytest.exit()` or a KeyboardInterrupt in `w1` stops the session as in one process. When `w0`
  stops first (`-x`, `pytest.exit()`), it stops `w1` with SIGUSR1, which `w1` turns into a
  KeyboardInterrupt, and `w1` tears down its fixtures before it ends (SIGKILL after 5 s). Not
  SIGINT: a shell starts a background command (`make test &`, `nohup`) with SIGINT ignored, and
  Python then leaves it ignored.
- Both use the session's one `basetemp` (numbered folders in it are made safely side by side), and
  the environment variable `TESTS_WORKER` names the process (`w0`, `w1`), so session data can be
  shared through that folder (tests/shared_runs.py).

`--workers 0` (or 1) runs pytest's own one-process loop, as do `--pdb`, `--trace`, `--collect-only`
and any system without `os.fork`.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
import warnings
from multiprocessing.connection import Connection
from typing import Any, Literal, Optional

import pytest

from tests.worker_relay import Relay, own_capture, warning_from

WORKER_ENV = "TESTS_WORKER"
"""Set to `w0` in the session process and `w1` in the forked one; unset in a one-process run."""

_STATE = pytest.StashKey["_Pair"]()
_STOP = signal.SIGUSR1
"""The session process's request to the forked one to stop (see the module's docstring)."""


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
_TIMES = "tests-workers/seconds-per-unit"
"""Where `.pytest_cache` keeps each unit's last time (setup, call and teardown of all its tests)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("workers").addoption(
        "--workers", type=int, default=0, metavar="N",
        help="2: run the tests on two processes, forked when collection starts (tests/workers.py); "
             "0 or 1: one process")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "same_worker(name): the files marked with one name run in one process, one after "
                   "another (they share an expensive import; tests/workers.py)")
    config.addinivalue_line(
        "markers", "starts_first: this file's unit starts before all others, whatever it took last "
                   "time (its cost depends on a cache outside pytest; tests/workers.py)")
    workers = config.option.workers
    if workers not in (0, 1, 2):
        raise pytest.UsageError(f"--workers {workers}: this suite runs on 0, 1 or 2 (tests/workers.py)")


def _parallel(config: pytest.Config) -> bool:
    return (config.option.workers == 2 and hasattr(os, "fork") and not config.option.collectonly
            and not config.option.usepdb and not getattr(config.option, "trace", False)
            and WORKER_ENV not in os.environ)


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    if _parallel(session.config):
        try:
            session.config.stash[_STATE] = _Pair.fork(session)
        except OSError as error:  # no fork, pipe or shared semaphore here (/dev/shm): one process
            warnings.warn(pytest.PytestWarning(f"tests/workers.py: one process ({error})"))


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> Optional[bool]:
    pair = session.config.stash.get(_STATE, None)
    if pair is None:
        return None  # pytest's own loop
    if pair.forked:
        pair.work()  # never returns
    return pair.lead()


def unit_of(item: pytest.Item) -> str:
    """The name of the unit of work an item belongs to: its `same_worker` group, or its file."""
    marker = item.get_closest_marker("same_worker")
    return f"group:{marker.args[0]}" if marker is not None else f"file:{item.nodeid.split('::')[0]}"


def units(items: list[pytest.Item], last_seconds: dict[str, float]) -> list[list[int]]:
    """Item indices grouped into units of work, in the order they are handed out: `starts_first`
    units, then units not timed yet (in collection order), then the rest, longest first."""
    grouped: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        grouped.setdefault(unit_of(item), []).append(index)

    def rank(entry: tuple[int, tuple[str, list[int]]]) -> tuple[int, float, int]:
        position, (name, indices) = entry
        if any(items[i].get_closest_marker("starts_first") for i in indices):
            return (0, 0.0, position)
        if name not in last_seconds:
            return (1, 0.0, position)
        return (2, -last_seconds[name], position)

    return [indices for _, (_, indices) in sorted(enumerate(grouped.items()), key=rank)]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Keep each unit's time for the next session's order (the session process sees every report)."""
    pair = session.config.stash.get(_STATE, None)
    cache = getattr(session.config, "cache", None)
    if pair is None or pair.forked or cache is None or not pair.seconds:
        return
    if (session.config.args_source != pytest.Config.ArgsSource.TESTPATHS or pair.deselected
            or exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
            or session.shouldfail or session.shouldstop):
        return  # a part of a unit's tests took a part of its time: only a whole run's times are kept
    kept = dict(pair.last_seconds)
    kept.update({name: round(seconds, 3) for name, seconds in pair.seconds.items()})
    cache.set(_TIMES, kept)


def _digest(items: list[pytest.Item]) -> str:
    return hashlib.sha256("\n".join(item.nodeid for item in items).encode()).hexdigest()


class _Pair:
    """The two processes of one session: what each knows of the other."""

    def __init__(self, session: pytest.Session, counter: Any, connection: Connection, forked: bool, pid: int):
        self.session = session
        self.config = session.config
        self.counter = counter
        self.connection = connection
        self.forked = forked
        self.pid = pid  # of the forked process, in the session process
        self.units: list[list[int]] = []
        self.status: Optional[int] = None
        """w1's wait status, once it has ended and been waited for (in the session process)."""
        self.took: set[int] = set()
        """The units (by position) this process took."""
        self.last_seconds: dict[str, float] = {}
        self.seconds: dict[str, float] = {}
        self.deselected = False

    @classmethod
    def fork(cls, session: pytest.Session) -> _Pair:
        config = session.config
        config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]  # noqa: SLF001 - the session's folder, before forking: one for both
        cache = getattr(config, "cache", None)
        last_seconds = cache.get(_TIMES, {}) if cache is not None else {}
        if not isinstance(last_seconds, dict):
            last_seconds = {}
        counter = multiprocessing.Value("l", 0)
        receiving, sending = multiprocessing.Pipe(duplex=False)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            receiving.close()
            signal.signal(_STOP, _interrupt)
            os.environ[WORKER_ENV] = "w1"
            own_capture(config)
            reporter = config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:  # the session process reports for both
                config.pluginmanager.unregister(reporter)
            config.pluginmanager.register(Relay(config, sending), "workers-relay")
            pair = cls(session, counter, sending, forked=True, pid=0)
        else:
            sending.close()
            os.environ[WORKER_ENV] = "w0"
            pair = cls(session, counter, receiving, forked=False, pid=pid)
            config.pluginmanager.register(_Timer(pair), "workers-timer")
        pair.last_seconds = {str(k): float(v) for k, v in last_seconds.items() if isinstance(v, (int, float))}
        return pair

    def _times(self) -> dict[str, float]:
        """The last times that order the units; none (collection order) under --ff and --nf, which
        order the tests themselves."""
        option = self.config.option
        if getattr(option, "failedfirst", False) or getattr(option, "newfirst", False):
            return {}
        return self.last_seconds

    def _take(self) -> list[int]:
        """The next unit of work not yet taken by either process, or [] when there is none."""
        with self.counter.get_lock():
            taken = self.counter.value
            self.counter.value = taken + 1
        unit = self.units[taken] if taken < len(self.units) else []
        if unit:
            self.took.add(taken)
            if self.forked:
                self.connection.send(("took", taken, unit))
        return unit

    def _run(self, first: list[int], after_each: Any = None) -> None:
        """Run units, taking the next one before the last test of each, until none is left."""
        items, session = self.session.items, self.session
        unit = first
        while unit:
            following: list[int] = []
            for position, index in enumerate(unit):
                if position + 1 < len(unit):
                    nextitem: Optional[pytest.Item] = items[unit[position + 1]]
                else:
                    following = self._take() if not (session.shouldfail or session.shouldstop) else []
                    nextitem = items[following[0]] if following else None
                self.config.hook.pytest_runtest_protocol(item=items[index], nextitem=nextitem)
                if after_each is not None:
                    after_each()
                if session.shouldfail or session.shouldstop:
                    return
            unit = following

    # -- the forked process ----------------------------------------------------------------------
    def work(self) -> None:
        status = 1
        try:
            self.connection.send(("collected", _digest(self.session.items)))
            if not (self.session.testsfailed and not self.config.option.continue_on_collection_errors):
                self.units = units(self.session.items, self._times())
                self._run(self._take())
            self._tear_down()  # after -x: what pytest's session finish would tear down (a no-op otherwise)
            self.connection.send(("done",))
            status = 0
        except pytest.exit.Exception as stop:  # pytest.exit() in a test: the whole session stops
            self._tear_down()
            self._send(("exit", str(stop.msg), stop.returncode))
            status = 0
        except KeyboardInterrupt:  # Ctrl-C, or the session process stopping this one (-x, pytest.exit)
            self._tear_down()
            self._send(("interrupted",))
            status = 0
        except BaseException:  # noqa: BLE001 - the session process reports this process's end
            import traceback

            traceback.print_exc()
        finally:
            for signum in (signal.SIGINT, _STOP):  # nothing may keep this process from ending here
                signal.signal(signum, signal.SIG_IGN)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)  # no session finish here: the session process has every report

    def _tear_down(self) -> None:
        """Stopped mid-run: the fixtures set up so far are torn down, as at the end of a run."""
        try:
            self.session._setupstate.teardown_exact(None)  # noqa: SLF001 - what pytest's last test does
        except BaseException:  # noqa: BLE001 - a failing teardown must not keep this process alive
            pass

    def _send(self, message: tuple[Any, ...]) -> None:
        try:
            self.connection.send(message)
        except OSError:  # the session process is gone
            pass

    # -- the session process ---------------------------------------------------------------------
    def lead(self) -> Optional[bool]:
        session = self.session
        self.inbox: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self.other: dict[str, Any] = {"running": None, "phases": set(), "taken": [], "units": set(), "ended": None}
        try:
            while self.connection.poll():  # what w1 sent already, read now: its digest, or its failure under -x
                self.inbox.put(self.connection.recv())
        except (EOFError, OSError):
            self.inbox.put(("lost",))
        else:
            threading.Thread(target=self._read, name="workers-pipe", daemon=True).start()
        try:
            if session.testsfailed and not self.config.option.continue_on_collection_errors:
                return None  # pytest's own loop reports the collection errors (after `finally`)
            self.units = units(session.items, self._times())
            self._replay()
            first = self._take() if not (session.shouldfail or session.shouldstop) else []
            self._run(first, after_each=self._replay)
            while self.other["ended"] is None and not (session.shouldfail or session.shouldstop):
                self._replay(block=True)
            left = self.other["taken"]
            if left and not (session.shouldfail or session.shouldstop):
                self._run(list(left), after_each=self._replay)  # what w1 took and did not finish
        finally:
            if self.other["ended"] is None:
                self._stop()
            self._reap(kill=self.other["ended"] is None)
        if session.shouldfail:
            raise session.Failed(session.shouldfail)
        if session.shouldstop:
            raise session.Interrupted(session.shouldstop)
        return True

    def _read(self) -> None:
        while True:
            try:
                self.inbox.put(self.connection.recv())
            except (EOFError, OSError):
                self.inbox.put(("lost",))
                return

    def _replay(self, block: bool = False) -> None:
        """Pass on what w1 sent since the last call (with `block`, wait for at least one message)."""
        hook, other = self.config.hook, self.other
        while True:
            try:
                message = self.inbox.get(block=block, timeout=0.5 if block else None)
            except queue.Empty:
                if not block:
                    return
                # Nothing for half a second: has w1 ended? (A process it forked may hold the pipe
                # open, so its end is not always an end of file here.)
                if self._ended():
                    message = ("lost",)
                else:
                    continue
            block = False
            kind = message[0]
            if kind == "collected":
                if message[1] != _digest(self.session.items):
                    self._reap(kill=True)
                    other["ended"] = "lost"
                    pytest.exit("tests/workers.py: the two processes collected different tests; "
                                "`--workers 0` runs one process", returncode=pytest.ExitCode.USAGE_ERROR)
            elif kind == "took":
                other["units"].add(message[1])
                other["taken"].extend(message[2])
            elif kind == "logstart":
                other["running"], other["phases"] = message[1], set()
                hook.pytest_runtest_logstart(nodeid=message[1], location=message[2])
            elif kind == "report":
                report = hook.pytest_report_from_serializable(config=self.config, data=message[1])
                other["phases"].add(report.when)
                hook.pytest_runtest_logreport(report=report)
            elif kind == "logfinish":
                hook.pytest_runtest_logfinish(nodeid=message[1], location=message[2])
                other["taken"] = [i for i in other["taken"] if self.session.items[i].nodeid != message[1]]
                other["running"] = None
            elif kind == "warning":
                hook.pytest_warning_recorded.call_historic(kwargs=dict(
                    warning_message=warning_from(message[1]), when=message[2], nodeid=message[3],
                    location=message[4]))
            elif kind == "done":
                other["ended"] = "done"
            elif kind == "exit":
                other["ended"] = "done"
                pytest.exit(message[1], returncode=message[2])
            elif kind == "interrupted":
                other["ended"] = "done"
                if not (self.session.shouldfail or self.session.shouldstop):
                    raise KeyboardInterrupt
            elif kind == "lost":
                if other["ended"] is None:
                    self._lost()
                return
            if other["ended"] is not None:
                return

    def _ended(self) -> bool:
        """Whether w1 has ended (waited for without blocking)."""
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid != 0:
                self.status = status
        return self.status is not None

    def _stop(self, grace: float = 5.0) -> None:
        """Ask w1 to stop (_STOP: it tears down its fixtures, as at the end of a run); it is killed
        if it has not ended after `grace` seconds."""
        if self._ended():
            return
        os.kill(self.pid, _STOP)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if self._ended():
                return
            time.sleep(0.02)

    def _reap(self, kill: bool) -> int:
        """Wait for w1's end (killing it first with `kill`); its wait status."""
        if self.status is None:
            if kill:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.status = os.waitpid(self.pid, 0)[1]
        return self.status

    def _lost(self) -> None:
        """w1 ended without saying it was done: its running test failed; w0 runs what it had left."""
        status = self._reap(kill=False)
        self.other["ended"] = "lost"
        how = (f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
               else f"exit status {os.WEXITSTATUS(status)}")
        # A unit w1 took but had no time to announce: counted, and taken by neither as far as w0 knows.
        with self.counter.get_lock():
            counted = min(self.counter.value, len(self.units))
        for position in sorted(set(range(counted)) - self.took - self.other["units"]):
            self.other["taken"].extend(self.units[position])
        nodeid = self.other["running"]
        if nodeid is None:
            return
        item = next(item for item in self.session.items if item.nodeid == nodeid)
        # In its teardown, the test has its call's report already: the crash is an error of the teardown.
        when: Literal["setup", "call", "teardown"] = (
            "teardown" if "call" in self.other["phases"] else "call" if self.other["phases"] else "setup")
        report = pytest.TestReport(nodeid, item.location, keywords={}, outcome="failed", when=when,
                                   longrepr=f"the forked test process (w1) ended with {how} while running this test",
                                   sections=[])
        self.config.hook.pytest_runtest_logreport(report=report)
        self.config.hook.pytest_runtest_logfinish(nodeid=nodeid, location=item.location)
        self.other["taken"] = [i for i in self.other["taken"] if self.session.items[i].nodeid != nodeid]


class _Timer:
    """In the session process: each unit's time, from every report of both processes."""

    def __init__(self, pair: _Pair):
        self.pair = pair
        self.unit_by_nodeid: Optional[dict[str, str]] = None

    @pytest.hookimpl
    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.pair.deselected = self.pair.deselected or bool(items)

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.unit_by_nodeid is None:
            self.unit_by_nodeid = {item.nodeid: unit_of(item) for item in self.pair.session.items}
        unit = self.unit_by_nodeid.get(report.nodeid)
        if unit is not None:
            self.pair.seconds[unit] = self.pair.seconds.get(unit, 0.0) + report.duration
