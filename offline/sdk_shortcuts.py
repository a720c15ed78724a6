"""Work the Pulumi SDK does for every resource that only a real engine reads, skipped during an
offline run (and only then): what the program registers is unchanged.

`tests/test_offline_engine.py` runs dev (whose registrations take every SDK path prod's take) with
and without these shortcuts and compares every registration, field by field; it also checks that
each shortcut is undone after a run, so nothing outside an offline run (the policy pack, a user's
own program in the same process) ever sees them.
The offline runs are `run_stack` and the tests' component builds (tests/standalone.py).
"""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, Iterator

import pulumi.resource as sdk_resource
import pulumi.runtime.resource as sdk_runtime_resource
from pulumi.runtime.proto import source_pb2

ALIAS_URN_NOT_COMPUTED = "urn:offline:alias-urn-not-computed"
"""Stands in `Resource._aliases` for each alias; no registration may ever carry it."""


@contextmanager
def applied(monitor: Any) -> Iterator[None]:
    """Both shortcuts below, for one run against `monitor` (a RecordingMonitor)."""
    with alias_urns_left_to_the_engine(monitor), stack_traces_left_out():
        yield


@contextmanager
def alias_urns_left_to_the_engine(monitor: Any) -> Iterator[None]:
    """Skip the URNs the SDK computes for every alias, which only an engine without alias specs reads.

    Every azure-native resource carries 20-60 aliases (its type under each old API version), and the
    SDK's `Resource.__init__` turns each into an Output of its URN up front (`Resource._aliases`):
    about 2,100 aliases and 20,000 Outputs and tasks for prod, a third of the preview's time
    (benchmarks/preview.py; pulumi/pulumi#11064). Those URNs are read only by `all_aliases`, the
    path for an engine that does not support alias specs; with specs, the SDK sends the aliases
    themselves from the resource options, and the engine (here `RecordingMonitor._alias_urns`)
    resolves them. So, with a monitor that supports alias specs, and only for the run, the URNs are
    not computed.
    """
    original = getattr(sdk_resource, "collapse_alias_to_urn", None)
    supports_specs = monitor.SupportsFeature(SimpleNamespace(id="aliasSpecs")).hasSupport
    if original is None or not supports_specs:
        yield
        return
    # Typed as returning an Output; nothing reads the value (see above), so a constant string will do.
    sdk_resource.collapse_alias_to_urn = _alias_urn_not_computed  # type: ignore[assignment]
    try:
        yield
    finally:
        sdk_resource.collapse_alias_to_urn = original


def _alias_urn_not_computed(alias: Any, name: str, type_: str, parent: Any) -> str:
    return ALIAS_URN_NOT_COMPUTED


@contextmanager
def stack_traces_left_out() -> Iterator[None]:
    """Skip the Python stack trace the SDK takes at every registration: the engine would keep it as
    where in the program the resource was declared; the offline engine records no such thing.

    The SDK's `register_resource` (and `read_resource`; pulumi 3.272 here) walks the whole
    interpreter stack of the resource's constructor (`traceback.extract_stack`) and turns each frame
    into a file URI (`pathlib.Path.as_uri`) for the `sourcePosition` and `stackTrace` fields of the
    request. `RegisteredResource` records neither, and under pytest the stack is some 80 frames
    deep: about a fifth of each run's time. An empty trace is what the SDK itself sends when it cannot
    find the constructor's frame.
    """
    original = sdk_runtime_resource._get_stack_trace
    sdk_runtime_resource._get_stack_trace = _no_stack_trace
    try:
        yield
    finally:
        sdk_runtime_resource._get_stack_trace = original


def _no_stack_trace() -> source_pb2.StackTrace:
    return source_pb2.StackTrace()
