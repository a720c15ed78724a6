"""What a component needs to stand alone: built from a Python program, or served to any Pulumi language.

A component of this library is used two ways. A Python program constructs it with its Args dataclass;
the component package (isolated_mlops/component_package.py) serves it to TypeScript, Go, C#, Java and
YAML programs through the Python SDK's component provider host. The host differs in two ways this
module absorbs, so each component keeps one constructor:

- it passes the inputs as a dict of Python names (nested objects as dicts, absent optional inputs
  left out: `pulumi.provider.experimental.component.ComponentProvider.map_inputs`), not as the Args
  dataclass: `as_args` builds the dataclass, with its defaults, from either;
- the resource type it was asked for is `<package>:index:<ClassName>` (the component provider only
  serves the `index` module: `ComponentProvider.validate_resource_type`), while a Python program keeps
  the type the component always had (`mlops:network:VirtualNetwork`): that type is part of every child's
  URN, and a changed URN would replace the stack's resources. `type_token` gives the right one.

`refuse_unsupported` turns a cross-cutting argument that a component's Azure resource cannot take
(a private endpoint on a VNet, say) into one clear error instead of silently ignoring it.
"""

import dataclasses
import inspect
import typing
from collections import abc
from typing import Any, Mapping, Optional, TypeVar, Union

import pulumi

PACKAGE_NAME = "isolated-mlops"
"""The component package's name: its types are `isolated-mlops:index:<Component>`."""

T = TypeVar("T")


def hosted() -> bool:
    """True in the component provider's process (`component_provider_host` sets the flag it reads)."""
    from pulumi.provider.experimental import host  # only the module's flag; cheap, and absent from old SDKs

    return bool(getattr(host, "is_hosting", False))


def type_token(python_token: str) -> str:
    """The component's resource type: its own in a Python program, `<package>:index:<Name>` when served."""
    if hosted():
        return f"{PACKAGE_NAME}:index:{python_token.rsplit(':', 1)[-1]}"
    return python_token


def as_args(cls: type[T], value: Any) -> T:
    """`value` as the dataclass `cls`: returned as is when it already is one, else built from a mapping
    of field names (recursively for nested dataclasses, in sequences and mappings too)."""
    if isinstance(value, cls):
        return value
    if not isinstance(value, abc.Mapping):
        raise TypeError(f"{cls.__name__}: expected {cls.__name__} or a mapping of its fields, got {type(value).__name__}")
    # The annotations themselves (no string evaluation: pulumi.Input's own forward reference to Output
    # would not resolve here), the base classes' first, as dataclasses order the fields.
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        hints.update(inspect.get_annotations(klass))
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(value) - names)
    if unknown:
        raise TypeError(f"{cls.__name__}: unknown argument(s) {', '.join(unknown)}; expected some of {', '.join(sorted(names))}")
    return cls(**{key: _convert(hints[key], item) for key, item in value.items()})


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin, params = typing.get_origin(hint), typing.get_args(hint)
    if origin is Union:  # Optional[X] (the analyzer refuses other unions), pulumi.Input[X]
        inner = [p for p in params if p is not type(None) and dataclasses.is_dataclass(p)]
        return _convert(inner[0], value) if inner else value
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return as_args(hint, value)
    if origin in (list, tuple, abc.Sequence) and params and isinstance(value, (list, tuple)):
        return tuple(_convert(params[0], item) for item in value)
    if origin in (dict, abc.Mapping) and len(params) == 2 and isinstance(value, abc.Mapping):
        return {key: _convert(params[1], item) for key, item in value.items()}
    return value


def refuse_unsupported(owner: str, args: object, why: Mapping[str, str]) -> None:
    """Raise one line for each cross-cutting argument in `why` that is set: `why` maps the argument's
    name to the reason the component's resources cannot take it."""
    for name, reason in why.items():
        value: Optional[Any] = getattr(args, name, None)
        if value not in (None, (), [], {}, False):
            raise ValueError(f"{owner}: {name} is not supported here: {reason}")


def subscription_of(resource_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """The subscription id in an ARM id (`/subscriptions/<id>/...`): role assignments name their role
    definition under it (`apply_common`)."""
    return pulumi.Output.from_input(resource_id).apply(
        lambda rid: rid.split("/")[2] if isinstance(rid, str) and rid.startswith("/subscriptions/") else "")


def depends_on_of(opts: Optional[pulumi.ResourceOptions]) -> list[Any]:
    """The component's own `depends_on`, for the children that must wait: a child does not inherit its
    component's dependencies (pulumi.ResourceOptions merges parent options but not depends_on), so the
    component passes them on itself."""
    if opts is None or opts.depends_on is None:
        return []
    return list(opts.depends_on) if isinstance(opts.depends_on, (list, tuple)) else [opts.depends_on]
