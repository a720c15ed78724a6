"""Whole-program runs shared by the two test processes of one pytest session (tests/workers.py).

A run of a stack costs about half a second of CPU, nearly all of it inside the Pulumi SDK, and both
workers ask for the same few (dev, prod, and the changed configs several files read): with one cache
per worker, about seven of the session's runs were done twice. Here each distinct (stack, config)
runs once per session: the first worker to ask runs it and writes it, pickled, into the session's
own temporary folder; the other waits on the file's lock and reads it (~25 ms instead of ~550 ms).

Only within one session: the folder is the session's `basetemp` (a new numbered folder for each
`pytest` run, which both processes share), so a later session runs the program again. In one
process (`--workers 0`) the cache is this process's memory only.
A run that ended in an error (a config check, about 10 ms) is never written: an exception does not
survive pickling intact, and it costs nothing to redo.

Each caller gets its own copy (unpickled again), so no test can change what another one reads.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Optional, Sequence

if TYPE_CHECKING:
    from offline.engine import StackRun

try:  # POSIX; elsewhere each worker keeps its own runs, as before
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


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
        """Under the key's lock: read what the other worker wrote, or run it and write it."""
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
