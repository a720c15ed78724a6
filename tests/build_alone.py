"""Build one component ALONE under the offline engine's mocks: no stack file, no config, no __main__.

The same provider-like mocks (`offline.mocks.PlatformMocks`: names, ARM ids, computed outputs) and the
same recording monitor (parents, dependencies, aliases, protect) as the platform's runs, so a
component is checked exactly as the platform's tests check it, but with only the arguments given.
Outputs the caller wants to compare are resolved after the run (an unresolved Output checks nothing).
"""

from __future__ import annotations

import time
from typing import Any, Callable, TypeVar

import pulumi
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from offline.engine import _RUN_LOCK, RecordingMonitor, StackRun
from offline.mocks import PlatformMocks

PROJECT = "standalone"
STACK = "test"
T = TypeVar("T")


def build(make: Callable[[], T], preview: bool = False) -> tuple[StackRun, T]:
    """Run `make()` as a whole Pulumi program; return what it registered and what it returned.
    An exception in `make` is raised here, as the Pulumi CLI would end the program with it."""
    made: list[T] = []
    with _RUN_LOCK:
        pulumi_settings.ROOT.set(None)
        set_all_config({}, [])
        mocks = PlatformMocks()
        monitor = RecordingMonitor(mocks)
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=STACK, preview=preview, monitor=monitor)
        started = time.perf_counter()
        _sync_await(run_pulumi_func(lambda: made.append(make())))
        seconds = time.perf_counter() - started
    run = StackRun(stack=STACK, project=PROJECT, resources=sorted(monitor.registrations, key=lambda r: r.urn),
                   exports={}, seconds=seconds)
    return run, made[0]


def resolve(value: Any) -> Any:
    """The value of an Output (after `build`), or the value itself."""
    if isinstance(value, pulumi.Output):
        return _sync_await(value.future())
    return value
