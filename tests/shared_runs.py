"""Whole-program runs shared by the two test processes of a session (tests/workers.py), and kept for
the next session while nothing a run reads has changed.

A run of a stack costs about half a second of CPU, nearly all of it inside the Pulumi SDK, and both
workers ask for the same few (dev, prod, and the changed configs several files read): with one cache
per worker, about seven of the session's runs were done twice. Here each distinct (stack, config)
runs once: the first worker to ask runs it and writes it, pickled, into a shared folder; the other
waits on the file's lock and reads it (~25 ms instead of ~550 ms).

The folder is named after `program_fingerprint`: every file the program, its stack files and the
offline engine could read (the project minus `tests/`, the Markdown and the caches), the installed
distributions, the Python version and the `PULUMI_*` environment. In `.pytest_cache` (conftest's
`shared_runs`) a later session with the same fingerprint reads the runs instead of running the
program again, as mypy's cache spares it the SDK: a change to any of those files, a package upgrade
or another Python makes another fingerprint, so the program runs again. A fresh clone (CI) and
`--cache-clear` always run it. A run is a function of what the fingerprint covers alone (the mocks
derive every name, id and random value from stable hashes: offline/mocks.py; only the run's own
`seconds` reads the clock), so a kept run is the run this code makes.
Without pytest's cache (`-p no:cacheprovider`) the folder is the session's `basetemp`, shared by its
two processes only; in one process (`--workers 0`) it is that process's memory.
A run that ended in an error (a config check, about 10 ms) is never written: an exception does not
survive pickling intact, and it costs nothing to redo.

Each caller gets its own copy (unpickled again), so no test can change what another one reads.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Mapping, Optional, Sequence

if TYPE_CHECKING:
    from offline.engine import StackRun

try:  # POSIX; elsewhere each worker keeps its own runs, as before
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


# What a run cannot read: the tests (a run's inputs are the config a test passes, part of its key),
# documentation, and what tools and caches write (dot-folders such as .git, .venv and .pytest_cache).
_NOT_READ_TOP_FOLDERS = frozenset({"tests"})
_NOT_READ_FOLDERS = frozenset({"__pycache__", "node_modules"})
_NOT_READ_SUFFIXES = (".md", ".pyc")
_INSTALLED_SUFFIXES = (".dist-info", ".egg-info", ".egg-link", ".pth")
KEPT_FINGERPRINTS = 3
"""Fingerprints whose runs stay in `.pytest_cache` (~8 MB each): a switch back to a recent branch reads its runs."""


def program_fingerprint(project_dir: Path, environ: Optional[Mapping[str, str]] = None,
                        import_path: Optional[Sequence[str]] = None) -> str:
    """What a whole-program run depends on, hashed: each file under `project_dir` a run could read,
    by path and content (all but `tests/`, `*.md`, dot-files and dot-folders, `__pycache__`,
    `node_modules` and `*.egg-info`), the distributions installed on `import_path` (by the names of
    their `.dist-info` folders: each package and its version), the Python version and every
    `PULUMI_*` variable (the SDK reads some). 10-30 ms for this project."""
    digest = hashlib.sha256(sys.version.encode())
    for name, value in sorted((os.environ if environ is None else environ).items()):
        if name.startswith("PULUMI_"):
            digest.update(f"\0env\0{name}={value}".encode())
    for entry in sys.path if import_path is None else import_path:
        with contextlib.suppress(OSError):
            for installed in sorted(os.listdir(entry or ".")):
                if installed.endswith(_INSTALLED_SUFFIXES):
                    digest.update(f"\0installed\0{installed}".encode())
    for folder, subfolders, files in os.walk(project_dir):
        here = Path(folder)
        subfolders[:] = sorted(name for name in subfolders if not (
            name.startswith(".") or name.endswith(".egg-info") or name in _NOT_READ_FOLDERS
            or (here == project_dir and name in _NOT_READ_TOP_FOLDERS)))
        for name in sorted(files):
            if name.startswith(".") or name.endswith(_NOT_READ_SUFFIXES):
                continue
            path = here / name
            digest.update(f"\0file\0{path.relative_to(project_dir).as_posix()}\0".encode())
            try:
                digest.update(path.read_bytes())
            except OSError:  # a dangling link: its target's name is what it holds
                digest.update(os.readlink(path).encode() if path.is_symlink() else b"?")
    return digest.hexdigest()[:24]


def kept_folder(root: Path, fingerprint: str) -> Path:
    """`root/<fingerprint>`, the runs of this code; of the other fingerprints' folders only the
    KEPT_FINGERPRINTS - 1 used last stay (runs of code that has changed since)."""
    folder = root / fingerprint
    folder.mkdir(parents=True, exist_ok=True)
    os.utime(folder)
    others = sorted((p for p in root.iterdir() if p.is_dir() and p.name != fingerprint),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in others[KEPT_FINGERPRINTS - 1:]:
        shutil.rmtree(stale, ignore_errors=True)
    return folder


@contextlib.contextmanager
def kept_runs(root: Path, project_dir: Path) -> Iterator[Path]:
    """A session's folder in `root` for the runs of the code in `project_dir` (kept_folder). Should a
    file the fingerprint covers change while the session runs, the folder is removed at its end: its
    runs may be of either version."""
    fingerprint = program_fingerprint(project_dir)
    folder = kept_folder(root, fingerprint)
    yield folder
    if program_fingerprint(project_dir) != fingerprint:
        shutil.rmtree(folder, ignore_errors=True)


class SharedRuns:
    """Runs keyed by a string naming the stack and its whole config (see `tests/conftest.py`)."""

    def __init__(self, directory: Optional[Path]):
        self.directory = directory if fcntl is not None else None
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
        self._pickled: dict[str, bytes] = {}
        self._failed: dict[str, StackRun] = {}
        self.ran: list[str] = []
        """The keys this process ran itself, in order (the others it read, or had already)."""

    def get(self, key: str, run: Callable[[], StackRun]) -> StackRun:
        """The run for `key`, a fresh copy: from memory, from the other worker, or run now."""
        if key not in self._pickled and key not in self._failed:
            with self._locked(key, wait=True):
                self._load_or_run(key, run)
        return self._copy(key)

    def get_all(self, wanted: Sequence[tuple[str, Callable[[], StackRun]]]) -> list[StackRun]:
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
        return [self._copy(key) for key, _ in wanted]

    # --------------------------------------------------------------------------------------------
    def _file(self, key: str) -> Path:
        assert self.directory is not None
        return self.directory / hashlib.sha256(key.encode()).hexdigest()[:32]

    @contextlib.contextmanager
    def _locked(self, key: str, wait: bool) -> Iterator[bool]:
        if self.directory is None:
            yield True
            return
        # Made again if gone: the other process removes it at its end when a file changed (conftest).
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self._file(key).with_suffix(".lock"), "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _load_or_run(self, key: str, run: Callable[[], StackRun]) -> None:
        """Under the key's lock: read what the other worker or an earlier session wrote, or run it and write it."""
        if key in self._pickled or key in self._failed:
            return
        written = self._file(key) if self.directory is not None else None
        if written is not None and written.exists():
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
            partial.write_bytes(data)
            os.replace(partial, written)
        self._pickled[key] = data

    def _copy(self, key: str) -> StackRun:
        if key in self._pickled:
            return pickle.loads(self._pickled[key])
        import copy
        import dataclasses

        # The error is shared, not copied: a copied ConfigError would be rebuilt from its message.
        failed = self._failed[key]
        result = copy.deepcopy(dataclasses.replace(failed, error=None))
        result.error = failed.error
        return result
