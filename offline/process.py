"""How a `python -m offline` process treats Python's cycle collector: off, then frozen at exit.

A command lives a second or two and keeps nearly everything it allocates until it exits: the SDK
modules it imports (a few hundred thousand objects) and the run's resources and outputs. With the
collector on, every full collection walks all of that again, and the interpreter walks it once more
at shutdown; measured on prod (`benchmarks/preview.py`), that was over half the preview's wall time.
So a command runs with the collector off and, before exiting, freezes what it holds so that shutdown
does not walk it either. Reference counting still frees all that is not in a cycle; the cycles left
(a few MB on prod) go with the process. Only the command-line entry uses this: the engine, and the
tests that call it in one long process, keep Python's defaults.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def short_lived() -> Iterator[None]:
    """For the whole of a short-lived process: no cycle collection, and none at shutdown."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
