"""Build components alone, without the program or its configuration, under the offline engine's mocks.

`build_alone(lambda: Bastion("b", BastionArgs(...)))` runs the lambda as a Pulumi program of its own
(with offline/mocks.py answering as Azure would: names, ids, identities) and returns every
registration, parents and dependencies included (offline/engine.py RecordingMonitor), plus what the
lambda returned. `Built.resolve` awaits a component's output after the run: an `apply` that nobody
awaits never runs, and a test reading it would check nothing (shared/reference/pulumi-offline.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

import pulumi
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from offline import engine, sdk_shortcuts
from offline.engine import RecordingMonitor, RegisteredResource
from offline.mocks import PlatformMocks

T = TypeVar("T")
PROJECT, STACK = "standalone", "test"
RG = "rg-standalone"
LOCATION = "westeurope"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
SUBNET_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/snet"
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl standalone@test"


@dataclass
class Built(Generic[T]):
    value: T
    """What the build function returned (the component)."""
    resources: list[RegisteredResource]
    """Every registration, sorted by URN."""

    def of_type(self, type_token: str) -> list[RegisteredResource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str) -> RegisteredResource:
        found = self.of_type(type_token)
        assert len(found) == 1, f"{len(found)} registrations of {type_token}: {[r.name for r in found]}"
        return found[0]

    def types(self) -> list[str]:
        """The custom resources' types, sorted, once per resource: what the component created."""
        return sorted(r.type for r in self.resources if r.custom)

    def resolve(self, value: Any) -> Any:
        """A component output's value (Outputs inside lists and dicts too)."""
        return _sync_await(pulumi.Output.from_input(value).future())


def build_alone(build: Callable[[], T], preview: bool = False) -> Built[T]:
    """Run `build` as a program of its own under the offline mocks; raise what it raised."""
    with engine._RUN_LOCK:
        pulumi_settings.ROOT.set(None)  # a second run in one process must not reuse the first's stack
        set_all_config({}, [])
        mocks = PlatformMocks()
        monitor = RecordingMonitor(mocks)
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=STACK, preview=preview, monitor=monitor)
        result: dict[str, Any] = {}

        def program() -> None:
            result["value"] = build()

        # The engine's shortcuts (offline/sdk_shortcuts.py: no alias URNs, no stack traces, a third
        # of a build's time), which test_offline_engine proves change nothing a program registers.
        with sdk_shortcuts.applied(monitor):
            _sync_await(run_pulumi_func(program))
    return Built(result["value"], sorted(monitor.registrations, key=lambda r: r.urn))
