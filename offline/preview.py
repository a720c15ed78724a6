"""`python -m offline preview`: what `pulumi preview` would show for a new stack, without Azure.

There is no state offline, so every resource is a create; what the preview answers is *what* the
program declares for a stack file (types, names, nesting, protection, inputs with secrets masked,
stack outputs) and, with `--policy`, which platform rules it breaks.
"""

from __future__ import annotations

import json
import traceback
from typing import Any, Iterator, Mapping, Sequence

import pulumi

from isolated_mlops.components.catalogue import CATALOGUE, Setting
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


# ------------------------------------------------------------------------------------------------
# Key settings: what a reviewer looks for in each resource, printed under it
# ------------------------------------------------------------------------------------------------
# The settings of each type, and Azure's defaults for the ones it leaves unset, are the package
# catalogue's `key_settings` (one entry per type). Types without any show no settings (their Azure
# name says it all: a private DNS zone, an identity).
KEY_SETTINGS: Mapping[str, tuple[Setting, ...]] = {
    token: known.key_settings for token, known in CATALOGUE.items() if known.key_settings}

def _values(value: Any, parts: list[str]) -> list[Any]:
    """Every value at a dotted path whose `[]` parts fan out over lists."""
    if not parts:
        return [] if value is None else [value]
    head, rest = parts[0], parts[1:]
    many = head.endswith("[]")
    key = head[:-2] if many else head
    if key:
        if not isinstance(value, dict) or key not in value:
            return []
        value = value[key]
    if many:
        return [found for item in (value if isinstance(value, list) else []) for found in _values(item, rest)]
    return _values(value, rest)


def _brief(value: Any, arm_name: bool) -> str:
    if isinstance(value, dict) and "name" in value:
        # A subnet or a security rule: its name and what matters about it.
        if "addressPrefix" in value:
            return f"{value['name']}={value['addressPrefix']}"
        if "access" in value:
            return f"{value['name']}({value['access']} {value.get('direction', '')} {value.get('destinationPortRange', '*')})"
        return str(value["name"])
    if arm_name and isinstance(value, str):
        return value.rstrip("/").rsplit("/", 1)[-1]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, str) else json.dumps(value)


def key_settings(resource: RegisteredResource) -> list[tuple[str, str]]:
    """(label, value) for the settings KEY_SETTINGS names for this type, from the masked inputs."""
    shown = []
    for setting in KEY_SETTINGS.get(resource.type, ()):
        values = _values(resource.masked_inputs, setting.path.split("."))
        label = setting.label or setting.path.rsplit(".", 1)[-1].removesuffix("[]")
        if values:
            shown.append((label, ",".join(_brief(v, setting.arm_name) for v in values)))
        elif setting.azure_default:
            shown.append((label, f"{setting.azure_default}(unset: Azure's default)"))
    return shown


# ------------------------------------------------------------------------------------------------
# The preview
# ------------------------------------------------------------------------------------------------
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
        # Settings and details sit under the resource, the tree's guide lines running on beside them.
        guide = prefix[:-3] + ("│  " if prefix.endswith("├─ ") else "   ") if prefix else ""
        pad = " " * 5 + guide + "   "
        settings = key_settings(r)
        if settings and not details:
            lines.append(pad + "  ".join(f"{label}={value}" for label, value in settings))
        if details and r.custom:
            lines.extend(f"{pad}{key}: {show(value)}" for key, value in sorted(flatten(r.masked_inputs).items()))
    if run.exports:
        lines += ["", "Outputs:"]
        lines += [f"    {key}: {show(value)}" for key, value in sorted(run.exports.items())]
    lines += ["", "Resources:", *summary_lines(run)]
    if run.logs:
        lines += ["", "Diagnostics:"] + [f"    {line}" for line in run.logs]
    return "\n".join(lines)


def summary_lines(run: StackRun) -> list[str]:
    """The totals, then one line per resource type: how many, and how many of them are protected."""
    custom = [r for r in run.resources if r.custom]
    protected = sum(1 for r in custom if r.protect)
    lines = [f"    + {len(run.resources)} to create: {len(custom)} in Azure ({protected} protected), "
             f"{len(run.resources) - len(custom)} components and the stack"]
    by_type: dict[str, list[RegisteredResource]] = {}
    for r in custom:
        by_type.setdefault(r.type, []).append(r)
    width = max((len(t) for t in by_type), default=0)
    for type_token, members in sorted(by_type.items(), key=lambda item: (-len(item[1]), item[0])):
        guarded = sum(1 for r in members if r.protect)
        note = f"  ({guarded} protected)" if guarded else ""
        lines.append(f"      {len(members):>3}  {type_token:<{width}}{note}".rstrip())
    return lines


def render_error(run: StackRun) -> str:
    """The run's error as `pulumi preview` shows it: a RunError's message alone, anything else with its traceback."""
    error = run.error
    assert error is not None
    if isinstance(error, pulumi.RunError):
        return f"error: {run.project}/{run.stack}: {error}"
    trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return f"error: {run.project}/{run.stack}: the program failed:\n{trace.rstrip()}"


def finding_lines(run: StackRun, findings: Sequence[Any]) -> list[str]:
    """`offline.policy_check.Finding`s as lines: level, rule, resource, message."""
    names = {r.urn: f"{r.type} {r.name}" for r in run.resources}
    return [f"{f.enforcement:<9}  [{f.rule}] {names.get(f.urn, f.urn)}: {f.message}" for f in findings]


def fix_lines(findings: Sequence[Any]) -> list[str]:
    """One line per rule whose findings the stack file causes: the key (or level) that clears them."""
    fixes: dict[str, str] = {}
    for f in findings:
        if getattr(f, "fix", None):
            fixes.setdefault(f.rule, f.fix)
    return [f"to fix [{rule}]: {fix}" for rule, fix in fixes.items()]


def render_findings(run: StackRun, findings: Sequence[Any], rules_run: int) -> str:
    """The pack's verdict for this stack, with its levels (`policy/config/<stack>.json` or the default)."""
    from isolated_mlops.policy.enforcement import levels_source

    source = f"levels from {levels_source(run.stack)}"
    if not findings:
        return f"Policy ({run.stack}): {rules_run} rules, no violations; {source}."
    mandatory = sum(1 for f in findings if f.mandatory)
    lines = [f"Policy violations ({run.stack}): {len(findings)}, {mandatory} mandatory; {source}"]
    return "\n".join(lines + [f"    {line}" for line in finding_lines(run, findings) + fix_lines(findings)])
