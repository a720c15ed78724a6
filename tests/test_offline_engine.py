"""The offline engine's one shortcut changes nothing the program registers."""

from __future__ import annotations

import contextlib
import dataclasses
import json

import pulumi.runtime.resource as sdk_runtime

from offline import engine
from offline.engine import StackRun, run_stack


def _registrations(run: StackRun) -> dict[str, dict]:
    """Everything recorded of each registration but the order it arrived in (not deterministic)."""
    return {r.urn: {k: v for k, v in dataclasses.asdict(r).items() if k != "sequence"} for r in run.resources}


def test_skipping_the_sdk_s_alias_urns_registers_exactly_the_same(prod, monkeypatch):
    computed = []
    original = sdk_runtime.collapse_alias_to_urn

    def counting(*args):
        computed.append(args[1])
        return original(*args)

    import pulumi.resource as sdk_resource

    monkeypatch.setattr(sdk_resource, "collapse_alias_to_urn", counting)
    monkeypatch.setattr(engine, "_alias_urns_left_to_the_engine", lambda monitor: contextlib.nullcontext())
    with_sdk_urns = run_stack("prod")
    assert with_sdk_urns.error is None
    assert len(computed) > 1000, "the run without the shortcut computed the alias URNs the shortcut skips"

    assert _registrations(with_sdk_urns) == _registrations(prod)
    aliases = sum(len(r.aliases) for r in prod.resources)
    assert aliases > 1000, "the comparison covers the aliases the engine resolves from specs"
    assert engine.ALIAS_URN_NOT_COMPUTED not in json.dumps(_registrations(prod))


def test_the_shortcut_is_undone_after_each_run(prod):
    import pulumi.resource as sdk_resource

    assert sdk_resource.collapse_alias_to_urn is sdk_runtime.collapse_alias_to_urn
