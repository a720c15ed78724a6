"""Turn what the offline engine recorded into what the rules read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from policy.rules import ResourceView

if TYPE_CHECKING:
    from offline.engine import RegisteredResource, StackRun


def from_registered(r: "RegisteredResource") -> ResourceView:
    return ResourceView(
        urn=r.urn,
        type=r.type,
        name=r.name,
        props=r.inputs,
        protect=r.protect,
        dependencies=tuple(r.dependencies),
        property_dependencies={k: tuple(v) for k, v in r.property_dependencies.items()},
        secret_paths=tuple(r.secret_paths),
        id=r.id,
    )


def views(run: "StackRun") -> list[ResourceView]:
    return [from_registered(r) for r in run.resources if r.custom]
