"""`python -m offline preview`: what `pulumi preview` would show for a new stack, without Azure.

There is no state offline, so every resource is a create; what the preview answers is *what* the
program declares for a stack file (types, names, nesting, protection, inputs with secrets masked,
stack outputs) and, with `--policy`, which platform rules it breaks.
"""

from __future__ import annotations

import json
import traceback
from typing import Any, Iterator, Sequence

import pulumi

from offline.engine import RegisteredResource, StackRun

ROOT_TYPE = "pulumi:pulumi:Stack"


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """Nested inputs as `{"a.b[0].c": leaf}`; empty objects and lists are leaves."""
    if isinstance(value, dict) and value:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(flatten(item, f"{path}.{key}" if path else key))
        return flat
    if isinstance(value, list) and value:
        flat = {}
        for index, item in enumerate(value):
            flat.update(flatten(item, f"{path}[{index}]"))
        return flat
    return {path: value}


def show(value: Any) -> str:
    """A value as the preview prints it; numbers arrive from the SDK as floats (`4.0`)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True)


def tree(run: StackRun) -> Iterator[tuple[str, RegisteredResource]]:
    """(tree prefix, resource), parents before children, siblings by name."""
    children: dict[str, list[RegisteredResource]] = {}
    for r in run.resources:
        children.setdefault(r.parent, []).append(r)
    roots = [r for r in run.resources if r.type == ROOT_TYPE] or [r for r in run.resources if not r.parent]

    def walk(resource: RegisteredResource, lead: str, own: str) -> Iterator[tuple[str, RegisteredResource]]:
        yield lead + own, resource
        kids = sorted(children.get(resource.urn, []), key=lambda r: (r.name, r.type))
        for index, kid in enumerate(kids):
            last = index == len(kids) - 1
            deeper = lead + ("" if not own else "   " if own.startswith("└") else "│  ")
            yield from walk(kid, deeper, "└─ " if last else "├─ ")

    for root in roots:
        yield from walk(root, "", "")


def render(run: StackRun, details: bool = False) -> str:
    rows = list(tree(run))
    type_width = max((len(prefix + r.type) for prefix, r in rows), default=4)
    name_width = max((len(r.name) for _, r in rows), default=4)
    lines = [f"Previewing {run.project}/{run.stack} offline: the program under mocks; no Azure, no Pulumi CLI,",
             "no state, so everything is a create.", "",
             f"     {'Type':<{type_width}}  {'Name':<{name_width}}  Azure name"]
    for prefix, r in rows:
        azure_name = str(r.outputs.get("name") or "") if r.custom else ""
        info = "  [protected]" if r.protect else ""
        lines.append(f" +   {prefix + r.type:<{type_width}}  {r.name:<{name_width}}  {azure_name}{info}".rstrip())
        if details and r.custom:
            pad = " " * (5 + len(prefix) + 3)
            lines.extend(f"{pad}{key}: {show(value)}" for key, value in sorted(flatten(r.masked_inputs).items()))
    if run.exports:
        lines += ["", "Outputs:"]
        lines += [f"    {key}: {show(value)}" for key, value in sorted(run.exports.items())]
    custom = [r for r in run.resources if r.custom]
    protected = sum(1 for r in custom if r.protect)
    lines += ["", "Resources:",
              f"    + {len(run.resources)} to create: {len(custom)} in Azure ({protected} protected), "
              f"{len(run.resources) - len(custom)} components and the stack"]
    if run.logs:
        lines += ["", "Diagnostics:"] + [f"    {line}" for line in run.logs]
    return "\n".join(lines)


def render_error(run: StackRun) -> str:
    """The run's error as `pulumi preview` shows it: a RunError's message alone, anything else with its traceback."""
    error = run.error
    assert error is not None
    if isinstance(error, pulumi.RunError):
        return f"error: {run.project}/{run.stack}: {error}"
    trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return f"error: {run.project}/{run.stack}: the program failed:\n{trace.rstrip()}"


def finding_lines(run: StackRun, findings: Sequence[Any]) -> list[str]:
    """`policy.offline.Finding`s as lines: level, rule, resource, message."""
    names = {r.urn: f"{r.type} {r.name}" for r in run.resources}
    return [f"{f.enforcement:<9}  [{f.rule}] {names.get(f.urn, f.urn)}: {f.message}" for f in findings]


def render_findings(run: StackRun, findings: Sequence[Any], rules_run: int) -> str:
    """The pack's verdict for this stack, with the levels of `policy/config/<stack>.json`."""
    if not findings:
        return f"Policy ({run.stack}): {rules_run} rules, no violations."
    mandatory = sum(1 for f in findings if f.mandatory)
    lines = [f"Policy violations ({run.stack}): {len(findings)}, {mandatory} mandatory"]
    return "\n".join(lines + [f"    {line}" for line in finding_lines(run, findings)])
