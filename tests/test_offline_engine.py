"""The offline engine's shortcuts (offline/sdk_shortcuts.py) change nothing the program registers."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from types import SimpleNamespace

import pulumi.resource as sdk_resource
import pulumi.runtime.resource as sdk_runtime
from pulumi.runtime.proto import source_pb2

from offline import sdk_shortcuts
from offline.engine import StackRun, run_stack


def _registrations(run: StackRun) -> dict[str, dict]:
    """Everything recorded of each registration but the order it arrived in (not deterministic)."""
    return {r.urn: {k: v for k, v in dataclasses.asdict(r).items() if k != "sequence"} for r in run.resources}


def test_the_shortcuts_register_exactly_what_the_full_sdk_path_registers(prod, monkeypatch):
    """One run of prod with every shortcut off (the SDK computes each alias URN and each stack trace),
    compared registration by registration with the session's run, which took the shortcuts."""
    alias_urns, stack_traces = [], []
    original_collapse, original_trace = sdk_runtime.collapse_alias_to_urn, sdk_runtime._get_stack_trace

    def counting_collapse(*args):
        alias_urns.append(args[1])
        return original_collapse(*args)

    def counting_trace():
        trace = original_trace()
        stack_traces.append(len(trace.frames))
        return trace

    monkeypatch.setattr(sdk_resource, "collapse_alias_to_urn", counting_collapse)
    monkeypatch.setattr(sdk_runtime, "_get_stack_trace", counting_trace)
    monkeypatch.setattr(sdk_shortcuts, "applied", lambda monitor: contextlib.nullcontext())
    full_path = run_stack("prod")
    assert full_path.error is None
    assert len(alias_urns) > 1000, "the run without the shortcuts computed the alias URNs they skip"
    assert len(stack_traces) >= len(prod.resources) and min(stack_traces) > 0, (
        "the run without the shortcuts took a stack trace at every registration")

    registered = _registrations(prod)
    assert _registrations(full_path) == registered
    assert full_path.exports == prod.exports and full_path.logs == prod.logs
    aliases = sum(len(r.aliases) for r in prod.resources)
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
