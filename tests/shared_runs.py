"""Whole-program runs shared by the two test processes of a session (tests/workers.py), and kept for
the next session while nothing a run reads has changed.

A run of a stack costs about half a second of CPU, nearly all of it inside the Pulumi SDK, and both
workers ask for the same few (dev, prod, and the changed configs several files read): with one cache
per worker, about seven of the session's runs were done twice. Here each distinct (stack, config)
runs once: the first worker to ask runs it and writes it, pickled, into a shared folder; the other
waits on the file's lock and reads it (~25 ms instead of ~550 ms).

The folder is named after `program_fingerprint`: every file the program, its stack files and the
offline engine could read (the project minus `tests/`, documentation and caches), the installed
distributions, the Python version, the `PULUMI_*` environment and the date. In `.pytest_cache`
(conftest's `shared_runs`) a later session with the same fingerprint reads the runs instead of
running the program again, as mypy's cache spares it the SDK: a change to any of those files, a
package upgrade, another Python or another day makes another fingerprint, so the program runs
again. A fresh clone (CI) and `--cache-clear` always run it. The fingerprint is taken when the
session starts, before its collection imports the program, and again at its end: a session during
which a file changed keeps nothing (conftest: `pytest_configure`, `pytest_sessionfinish`).
A run is a function of what the fingerprint covers: the mocks derive every name, id and random
value from stable hashes (offline/mocks.py), and the configuration check reads the date. Two things
vary from run to run and a kept run keeps one of them: the order in which the SDK's concurrent
registrations arrive (`RegisteredResource.sequence`; tests compare runs by URN) and the run's own
`seconds`.
Without pytest's cache (`-p no:cacheprovider`) the folder is the session's `basetemp`, shared by its
two processes only; in one process (`--workers 0`) it is that process's memory.
A run that ended in an error (a config check, about 10 ms) is never written: an exception does not
survive pickling intact, and it costs nothing to redo.

Each caller gets its own copy (unpickled again), so no test can change what another one reads.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import pickle
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Optional, Protocol, Sequence, TypeVar

if TYPE_CHECKING:
    from offline.engine import StackRun


class _Result(Protocol):
    """What can be shared: a `StackRun`, or a test's own dataclass of one and what it measured along it."""

    error: Optional[BaseException]


R = TypeVar("R", bound=_Result)

try:  # POSIX; elsewhere each worker keeps its own runs, as before
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


# What a run cannot read: the tests (a run's inputs are the config a test passes, part of its key),
# documentation (as the pull-request previews judge it: delivery/affected_stacks.py), and what tools
# and caches write (dot-folders such as .git, .venv and .pytest_cache).
_NOT_READ_TOP_FOLDERS = frozenset({"tests"})
_NOT_READ_FOLDERS = frozenset({"__pycache__", "node_modules"})
_NOT_READ_SUFFIXES = (".pyc",)
_INSTALLED_SUFFIXES = (".dist-info", ".egg-info", ".egg-link", ".pth")
KEPT_FINGERPRINTS = 3
"""Fingerprints whose runs stay in `.pytest_cache` (~8 MB each): a switch back to a recent branch reads its runs."""


def program_fingerprint(project_dir: Path, environ: Optional[Mapping[str, str]] = None,
                        import_path: Optional[Sequence[str]] = None, today: Optional[datetime.date] = None) -> str:
    """What a whole-program run depends on, hashed:
    - each file under `project_dir` a run could read, by path and content: all but `tests/`,
      documentation (`*.md`, `docs/`: `is_documentation`, the rule by which a pull request's change
      previews no stack), dot-files and dot-folders, `__pycache__`, `node_modules` and `*.egg-info`
      (a linked folder by its target too, and what it holds);
    - the distributions installed on `import_path`: each `.dist-info` folder's name (the package
      and its version) and the size and time of its RECORD (a reinstall of the same version);
    - the Python version, every `PULUMI_*` variable (the SDK reads some), and today's date: the
      configuration check fails a VM size from its announced retirement date on
      (isolated_mlops/components/vm_sizes.py), so a run of today's code is tomorrow's only if no date passed.
    10-40 ms for this project."""
    # Imported here, not at the top: conftest calls `start_keeping` before any module of the project
    # is imported, and `delivery` is one.
    from delivery.affected_stacks import is_documentation

    digest = hashlib.sha256(sys.version.encode())
    digest.update(f"\0today\0{(today or datetime.date.today()).isoformat()}".encode())
    for name, value in sorted((os.environ if environ is None else environ).items()):
        if name.startswith("PULUMI_"):
            digest.update(f"\0env\0{name}={value}".encode())
    for entry in sys.path if import_path is None else import_path:
        with contextlib.suppress(OSError):
            for installed in sorted(os.listdir(entry or ".")):
                if installed.endswith(_INSTALLED_SUFFIXES):
                    digest.update(f"\0installed\0{installed}".encode())
                    with contextlib.suppress(OSError):
                        record = os.stat(os.path.join(entry or ".", installed, "RECORD"))
                        digest.update(f"\0{record.st_size}\0{record.st_mtime_ns}".encode())
    seen = {os.path.realpath(project_dir)}
    for folder, subfolders, files in os.walk(project_dir, followlinks=True):
        here = Path(folder)
        kept = []
        for name in sorted(subfolders):
            if name.startswith(".") or name.endswith(".egg-info") or name in _NOT_READ_FOLDERS or (
                    here == project_dir and (name in _NOT_READ_TOP_FOLDERS or is_documentation(f"{name}/"))):
                continue
            real = os.path.realpath(here / name)
            if (here / name).is_symlink():
                digest.update(f"\0link\0{(here / name).relative_to(project_dir).as_posix()}\0{real}".encode())
            if real not in seen:  # a link back up the tree is walked once
                seen.add(real)
                kept.append(name)
        subfolders[:] = kept
        for name in sorted(files):
            path = here / name
            relative = path.relative_to(project_dir).as_posix()
            if name.startswith(".") or name.endswith(_NOT_READ_SUFFIXES) or is_documentation(relative):
                continue
            digest.update(f"\0file\0{relative}\0".encode())
            try:
                digest.update(path.read_bytes())
            except OSError:  # a dangling link: its target's name is what it holds
                digest.update(os.readlink(path).encode() if path.is_symlink() else b"?")
    return digest.hexdigest()[:24]


def project_modules_imported(project_dir: Path) -> list[str]:
    """The modules imported from files `program_fingerprint` covers (the project's, but the tests'
    and those in dot-folders such as `.venv`), by the paths they were imported from (string
    comparisons only: a session has ~3,000 modules, and resolving each path cost ~0.1 s)."""
    prefixes = tuple({str(project_dir.absolute()) + os.sep, os.path.realpath(project_dir) + os.sep})
    found = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not isinstance(file, str) or not file.startswith(prefixes):
            continue
        prefix = next(p for p in prefixes if file.startswith(p))
        parts = file[len(prefix):].split(os.sep)
        if parts[0] not in _NOT_READ_TOP_FOLDERS and not any(part.startswith(".") for part in parts):
            found.append(name)
    return sorted(found)


def source_key(*files: Path) -> str:
    """The content of the files that define a computation the fingerprint does not cover (a test's
    own code, a tool's scripts), hashed, for the key it is kept under: an edit to them is another key."""
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"\0{file.name}\0".encode())
        try:
            digest.update(file.read_bytes())
        except FileNotFoundError:
            digest.update(b"\0missing\0")
    return digest.hexdigest()[:24]


@dataclass(frozen=True)
class KeptRuns:
    """Where a session keeps its runs for the next ones, and the fingerprint it kept them under."""

    folder: Path
    fingerprint: str


def start_keeping(root: Path, project_dir: Path,
                  fingerprint_of: Callable[[Path], str] = program_fingerprint) -> Optional[KeptRuns]:
    """At a session's start, before its collection imports the program (conftest's pytest_configure;
    before tests/workers.py forks, so both processes share it): the folder in `root` for the runs of
    the code in `project_dir`. The folders of other fingerprints but the KEPT_FINGERPRINTS - 1 used
    last are removed (runs of code that has changed since). None when a module of the project has
    been imported already: it may hold older code than its file, and the runs made with it would be
    kept under the file's fingerprint; the session's runs are then for the session only."""
    if project_modules_imported(project_dir):
        return None
    fingerprint = fingerprint_of(project_dir)
    folder = root / fingerprint
    folder.mkdir(parents=True, exist_ok=True)
    os.utime(folder)
    keep_recent(root, folder, KEPT_FINGERPRINTS)
    return KeptRuns(folder, fingerprint)


def keep_recent(root: Path, current: Path, count: int) -> None:
    """Of the folders in `root` but `current`, the `count` - 1 used last stay (by their time: a session
    touches the folder it reads); one left half written by a session that stopped (`*.partial`) goes
    after an hour. Another session may be pruning the same folders."""
    others = []
    for entry in os.scandir(root):
        with contextlib.suppress(FileNotFoundError):  # another session removed it meanwhile
            if not entry.is_dir() or entry.path == str(current):
                continue
            if entry.name.endswith(".partial"):
                if entry.stat().st_mtime < time.time() - 3600:
                    shutil.rmtree(entry.path, ignore_errors=True)
                continue
            others.append((entry.stat().st_mtime, entry.path))
    for _, stale in sorted(others, reverse=True)[count - 1:]:
        shutil.rmtree(stale, ignore_errors=True)


def end_keeping(kept: KeptRuns, project_dir: Path, fingerprint_of: Callable[[Path], str] = program_fingerprint) -> bool:
    """At the session's end, once both processes have run (conftest's pytest_sessionfinish): should a
    file the fingerprint covers have changed while the session ran, its runs may be of either
    version, and the folder is removed. Whether the runs are kept. (A change made and undone within
    one session is not seen.)"""
    if fingerprint_of(project_dir) == kept.fingerprint:
        return True
    shutil.rmtree(kept.folder, ignore_errors=True)
    return False


class SharedRuns:
    """Runs keyed by a string naming the stack and its whole config (see `tests/conftest.py`)."""

    def __init__(self, directory: Optional[Path]):
        self.directory = directory if fcntl is not None else None
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
        self._pickled: dict[str, bytes] = {}
        self._failed: dict[str, _Result] = {}
        self.ran: list[str] = []
        """The keys this process ran itself, in order (the others it read, or had already)."""

    def get(self, key: str, run: Callable[[], R]) -> R:
        """The run for `key`, a fresh copy: from memory, from the other worker, or run now. Any result
        with an `error` can be shared; one computed by a test's own code has that code in its key
        (`source_key`), as the tests are not part of the fingerprint."""
        if key not in self._pickled and key not in self._failed:
            with self._locked(key, wait=True):
                self._load_or_run(key, run)
        return self._copy_or_run(key, run)

    def get_all(self, wanted: Sequence[tuple[str, Callable[[], R]]]) -> list[R]:
        """Several runs, each once: a key the other worker is running now is left for later, so at the
        start of a session the two workers run different stacks side by side instead of one waiting."""
        pending = [(key, run) for key, run in wanted if key not in self._pickled and key not in self._failed]
        while pending:
            progressed = False
            for key, run in list(pending):
                with self._locked(key, wait=False) as held:
                    if held:
                        self._load_or_run(key, run)
                        pending.remove((key, run))
                        progressed = True
            if pending and not progressed:  # every one is being run by the other worker: wait for the first
                key, run = pending.pop(0)
                with self._locked(key, wait=True):
                    self._load_or_run(key, run)
        return [self._copy_or_run(key, run) for key, run in wanted]

    # --------------------------------------------------------------------------------------------
    def _file(self, key: str) -> Path:
        assert self.directory is not None
        return self.directory / hashlib.sha256(key.encode()).hexdigest()[:32]

    @contextlib.contextmanager
    def _locked(self, key: str, wait: bool) -> Iterator[bool]:
        if self.directory is None:
            yield True
            return
        try:
            # Made again if gone: a session removes its folder at its end when a file changed (conftest).
            self.directory.mkdir(parents=True, exist_ok=True)
            lock = open(self._file(key).with_suffix(".lock"), "a")  # noqa: SIM115 - closed below
        except OSError:  # removed again meanwhile: run it unshared rather than fail a test
            yield True
            return
        with lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _load_or_run(self, key: str, run: Callable[[], _Result]) -> None:
        """Under the key's lock: read what the other worker or an earlier session wrote, or run it and write it."""
        if key in self._pickled or key in self._failed:
            return
        written = self._file(key) if self.directory is not None else None
        if written is not None:
            with contextlib.suppress(FileNotFoundError):  # not written yet, or its folder removed
                self._pickled[key] = written.read_bytes()
                return
        result = run()
        self.ran.append(key)
        if result.error is not None:
            self._failed[key] = result
            return
        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        if written is not None:
            partial = written.with_suffix(f".{os.getpid()}.partial")
            try:
                partial.write_bytes(data)
                os.replace(partial, written)
            except OSError:  # the folder removed meanwhile: this process keeps the run in memory
                pass
        self._pickled[key] = data

    def _copy_or_run(self, key: str, run: Callable[[], R]) -> R:
        try:
            return self._copy(key)
        except Exception:  # noqa: BLE001 - a kept file cut short (the machine stopped before it reached the disk)
            if key not in self._pickled or self.directory is None:
                raise
            del self._pickled[key]
            with self._locked(key, wait=True):
                with contextlib.suppress(OSError):
                    self._file(key).unlink()
                self._load_or_run(key, run)
            return self._copy(key)

    def _copy(self, key: str) -> Any:
        if key in self._pickled:
            return pickle.loads(self._pickled[key])
        import copy

        # The error is shared, not copied, wherever the result holds it (a test's own result holds
        # its run, which holds it too): a copied ConfigError would be rebuilt from its message.
        failed = self._failed[key]
        return copy.deepcopy(failed, memo={id(failed.error): failed.error})
