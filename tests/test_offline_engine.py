"""The offline engine's shortcuts (offline/sdk_shortcuts.py) change nothing the program registers."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import pulumi.resource as sdk_resource
import pulumi.runtime.resource as sdk_runtime
import pytest
from pulumi.runtime.proto import source_pb2

from offline import sdk_shortcuts
from offline.engine import StackRun, run_stack
from tests.shared_runs import source_key

# This file's text as it was imported: the code of the kept run below (the fingerprint leaves tests/ out).
THIS_FILE = source_key(Path(__file__))


def _registrations(run: StackRun) -> dict[str, dict]:
    """Everything recorded of each registration but the order it arrived in (not deterministic)."""
    return {r.urn: {k: v for k, v in dataclasses.asdict(r).items() if k != "sequence"} for r in run.resources}


def _urn_parts(urn: str) -> dict[str, object]:
    stack, project, chain, name = urn[len("urn:pulumi:"):].split("::", 3)
    *parents, own = chain.split("$")
    return {"stack": stack, "project": project, "parent": tuple(parents), "type": own, "name": name}


def _what_the_shortcuts_read(run: StackRun) -> set[tuple]:
    """Each registration as the shortcuts see it: all they change is the SDK's path through
    `Resource.__init__` (each alias collapsed to a URN; a child inherits its parent's) and
    `register_resource` (the stack trace), never a type's own code. So: custom or component, its
    parent's kind and whether that parent has aliases, and how each alias differs from its URN (the
    type alone for azure-native's old API versions; a name, a parent, a stack for a program's own)."""
    by_urn = {r.urn: r for r in run.resources}
    shapes = set()
    for r in run.resources:
        parent, own = by_urn.get(r.parent), _urn_parts(r.urn)
        differs = frozenset(frozenset(k for k, v in _urn_parts(a).items() if v != own[k]) for a in r.aliases)
        shapes.add((r.custom, "none" if parent is None else ("custom" if parent.custom else "component"),
                    bool(parent and parent.aliases), differs))
    return shapes


@dataclasses.dataclass
class FullPathRun:
    """dev run with every shortcut off, and what the SDK computed along the way that they skip."""

    run: StackRun
    alias_urns: int
    """How many alias URNs the SDK computed."""
    stack_trace_frames: list[int]
    """The length of each stack trace it took, one per registration."""
    error: Optional[BaseException] = None


def _run_the_full_sdk_path() -> FullPathRun:
    alias_urns, stack_traces = [], []
    original_collapse, original_trace = sdk_runtime.collapse_alias_to_urn, sdk_runtime._get_stack_trace

    def counting_collapse(*args):
        alias_urns.append(args[1])
        return original_collapse(*args)

    def counting_trace():
        trace = original_trace()
        stack_traces.append(len(trace.frames))
        return trace

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sdk_resource, "collapse_alias_to_urn", counting_collapse)
        patch.setattr(sdk_runtime, "_get_stack_trace", counting_trace)
        patch.setattr(sdk_shortcuts, "applied", lambda monitor: contextlib.nullcontext())
        run = run_stack("dev")
    return FullPathRun(run, len(alias_urns), stack_traces, run.error)


def test_the_shortcuts_register_exactly_what_the_full_sdk_path_registers(dev, prod, shared_runs):
    """One run of dev with every shortcut off (the SDK computes each alias URN and each stack trace),
    compared registration by registration with the session's run, which took the shortcuts. dev, not
    prod (a third fewer resources, ~0.6 s less): prod's extra resources take no SDK path dev's do not,
    which the test checks first. That run is kept like the session's (tests/shared_runs.py): under the
    fingerprint of the program, the engine and the SDK, and this file's text, which says how it runs."""
    missing = _what_the_shortcuts_read(prod) - _what_the_shortcuts_read(dev)
    assert not missing, f"prod registers what dev does not (compare prod's full SDK path instead): {missing}"
    full = shared_runs.get(f"dev, the full SDK path, {THIS_FILE}", _run_the_full_sdk_path)
    full_path = full.run
    assert full_path.error is None
    assert full.alias_urns > 1000, "the run without the shortcuts computed the alias URNs they skip"
    assert len(full.stack_trace_frames) >= len(dev.resources) and min(full.stack_trace_frames) > 0, (
        "the run without the shortcuts took a stack trace at every registration")

    registered = _registrations(dev)
    assert _registrations(full_path) == registered
    assert full_path.exports == dev.exports and full_path.logs == dev.logs
    aliases = sum(len(r.aliases) for r in dev.resources)
    assert aliases > 1000, "the comparison covers the aliases the engine resolves from specs"
    assert sdk_shortcuts.ALIAS_URN_NOT_COMPUTED not in json.dumps(registered)


class _Monitor:
    def __init__(self, alias_specs: bool):
        self.alias_specs = alias_specs

    def SupportsFeature(self, request):  # noqa: N802 - gRPC method name
        return SimpleNamespace(hasSupport=self.alias_specs and request.id == "aliasSpecs")


def test_the_shortcuts_are_taken_for_a_run_and_undone_after_it():
    before = (sdk_resource.collapse_alias_to_urn, sdk_runtime._get_stack_trace)
    with sdk_shortcuts.applied(_Monitor(alias_specs=True)):
        assert sdk_resource.collapse_alias_to_urn(None, "n", "t", None) == sdk_shortcuts.ALIAS_URN_NOT_COMPUTED
        assert sdk_runtime._get_stack_trace() == source_pb2.StackTrace()
    assert (sdk_resource.collapse_alias_to_urn, sdk_runtime._get_stack_trace) == before
    # An engine without alias specs reads the URNs: they are computed then.
    with sdk_shortcuts.applied(_Monitor(alias_specs=False)):
        assert sdk_resource.collapse_alias_to_urn is before[0]
        assert sdk_runtime._get_stack_trace is not before[1]
    assert (sdk_resource.collapse_alias_to_urn, sdk_runtime._get_stack_trace) == before


def test_the_shortcuts_are_undone_after_each_run(prod):
    assert sdk_resource.collapse_alias_to_urn is sdk_runtime.collapse_alias_to_urn
    assert sdk_runtime._get_stack_trace is not sdk_shortcuts._no_stack_trace
    assert sdk_runtime._get_stack_trace.__module__ == "pulumi.runtime.resource"
