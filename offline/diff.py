"""`python -m offline diff --stack prod --against-ref main`: what would change if NEW (the working
tree's stack) were deployed over OLD (the same stack at a revision, another stack, or a saved run).

Both sides are whole runs of the program (see `offline/snapshot.py`), so the answer is the one
`pulumi preview --diff` would give against a stack whose state is OLD: creates, deletes, updates
and replacements, property by property. Replacements are decided as the azure-native provider
decides them where that is knowable offline: a change to any input that is part of the resource's
ARM id (its name, its parent's name, the resource group) replaces it, and so does `location`
(Azure cannot move a resource by PUT). Properties that the provider's schema marks "force new"
beyond those are not known offline and show as updates.

Resources are matched by URN without the stack name, so two stacks compare too (`--against dev`),
and through aliases, so a resource renamed or moved with an alias is the same resource.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional

from offline import graph, topology
from offline.topology import resource_key
from offline.engine import RegisteredResource, StackRun
from offline.mocks import RESOURCE_KINDS
from offline.preview import ROOT_TYPE, finding_lines, flatten, show
from policy.rules import STATEFUL_TYPES

MISSING = object()

# Inputs that replace a resource beyond its ARM id, where Azure refuses the update outright.
EXTRA_REPLACE_KEYS: dict[str, tuple[str, ...]] = {
    # "RoleAssignmentUpdateNotPermitted": scope, role and principal of an assignment are immutable.
    "azure-native:authorization:RoleAssignment": ("scope", "roleDefinitionId", "principalId"),
}


def replace_keys(type_token: str) -> Optional[frozenset[str]]:
    """Top-level inputs whose change replaces a resource of this type; None means every input."""
    if type_token.startswith("random:"):
        return None  # pulumi-random: every input forces a new value
    name_key, arm_type = RESOURCE_KINDS.get(type_token, (None, ""))
    keys = {"location", "resourceGroupName", *re.findall(r"{(\w+)}", arm_type), *EXTRA_REPLACE_KEYS.get(type_token, ())}
    if name_key:
        keys.add(name_key)
    return frozenset(keys)


@dataclass(frozen=True)
class PropertyChange:
    path: str
    old: Any
    new: Any
    replaces: bool = False


@dataclass
class Change:
    kind: str
    """create, update, replace or delete."""
    old: Optional[RegisteredResource]
    new: Optional[RegisteredResource]
    properties: list[PropertyChange] = field(default_factory=list)

    @property
    def resource(self) -> RegisteredResource:
        return self.new or self.old  # type: ignore[return-value]

    @property
    def blocked(self) -> bool:
        """`pulumi up` refuses to delete a resource that is protected in its state."""
        return self.kind in ("replace", "delete") and self.old is not None and self.old.protect

    @property
    def loses_data(self) -> bool:
        """A stateful resource (its data is not in this program) is deleted or replaced, protected or not:
        dev's storage account holds no less than prod's until someone says otherwise."""
        return self.kind in ("replace", "delete") and self.old is not None and self.old.type in STATEFUL_TYPES


@dataclass
class StackDiff:
    changes: list[Change]
    unchanged: int
    outputs: list[PropertyChange]

    def count(self, kind: str) -> int:
        return sum(1 for c in self.changes if c.kind == kind)

    @property
    def blocked(self) -> list[Change]:
        return [c for c in self.changes if c.blocked]

    @property
    def data_losses(self) -> list[Change]:
        return [c for c in self.changes if c.loses_data]


def _same_location(old: Any, new: Any) -> bool:
    # The provider compares locations without case or spaces ("West Europe" == "westeurope").
    normal = [v.replace(" ", "").lower() if isinstance(v, str) else v for v in (old, new)]
    return normal[0] == normal[1]


def property_changes(old: RegisteredResource, new: RegisteredResource) -> list[PropertyChange]:
    before, after = flatten(old.masked_inputs), flatten(new.masked_inputs)
    keys = replace_keys(new.type)
    changes = []
    for path in sorted(set(before) | set(after)):
        a, b = before.get(path, MISSING), after.get(path, MISSING)
        if a == b or (path == "location" and _same_location(a, b)):
            continue
        top = re.split(r"[.\[]", path, maxsplit=1)[0]
        changes.append(PropertyChange(path, a, b, replaces=keys is None or top in keys))
    if old.protect != new.protect:
        changes.append(PropertyChange("[protect]", old.protect, new.protect))
    return changes


def compare(old: StackRun, new: StackRun) -> StackDiff:
    before = {resource_key(r.urn): r for r in old.resources if r.type != ROOT_TYPE}
    after = {resource_key(r.urn): r for r in new.resources if r.type != ROOT_TYPE}
    pairs: list[tuple[Optional[RegisteredResource], Optional[RegisteredResource]]] = [
        (before.pop(key), after.pop(key)) for key in sorted(set(before) & set(after))]
    for r in after.values():
        # Renamed or moved with an alias: the old URN is one the new registration claims.
        alias = next((resource_key(a) for a in r.aliases if resource_key(a) in before), None)
        pairs.append((before.pop(alias) if alias else None, r))
    pairs.extend((r, None) for r in before.values())

    changes, unchanged = [], 0
    for a, b in pairs:
        if a is None:
            changes.append(Change("create", None, b))
        elif b is None:
            changes.append(Change("delete", a, None))
        else:
            props = property_changes(a, b)
            if not props:
                unchanged += 1
            else:
                changes.append(Change("replace" if any(p.replaces for p in props) else "update", a, b, props))
    changes.sort(key=lambda c: resource_key(c.resource.urn))

    outputs = [
        PropertyChange(name, old.exports.get(name, MISSING), new.exports.get(name, MISSING))
        for name in sorted(set(old.exports) | set(new.exports))
        if old.exports.get(name, MISSING) != new.exports.get(name, MISSING)
    ]
    return StackDiff(changes, unchanged, outputs)


@dataclass(frozen=True)
class CommonCause:
    """One cause behind most of a diff's changes (a renamed stack or environment: every name and id
    changes, and with the resource group's name every resource is replaced)."""

    old: str
    new: str
    """The substitution, `dev` -> `prod`, that explains the names and ids."""
    also: tuple[tuple[str, Any, Any], ...]
    """Property changes left on most of those resources after it (a tag that differs): path, old, new."""
    explained: frozenset[str]
    """Resource keys whose every change the cause explains: the picture leaves them out."""
    total: int
    replaced: int

    def caption(self) -> str:
        also = "".join(f"; and `{path}` {_value(a)} → {_value(b)}" for path, a, b in self.also[:2])
        also += f"; and {len(self.also) - 2} more property changes on each" if len(self.also) > 2 else ""
        rest = self.total - len(self.explained)
        return (f"{len(self.explained)} of {self.total} changes have one cause: `{self.old}` becomes `{self.new}` in "
                f"names and ids{also} ({self.replaced} of them replacements). The picture leaves them out"
                + (" and draws the rest." if rest else "; nothing else changes."))


def _substitute(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {k: _substitute(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, old, new) for v in value]
    return value


def _token_change(old: str, new: str) -> tuple[str, str]:
    """What differs between two strings, widened to whole words: ("rg-mlops-dev", "rg-mlops-prod")
    gives ("dev", "prod")."""
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    end = 0
    while end < min(len(old), len(new)) - start and old[-1 - end] == new[-1 - end]:
        end += 1
    while start and old[start - 1].isalnum():
        start -= 1
    while end and old[len(old) - end].isalnum():
        end -= 1
    return old[start:len(old) - end], new[start:len(new) - end]


def common_cause(diff: StackDiff, minimum: int = 10) -> Optional[CommonCause]:
    """The one cause behind most of the changes, if there is one: the most frequent text change,
    reduced to the words that differ and applied to every old input. A change the substitution does
    not explain (or a property change that is not on most of them) keeps its resource in the picture."""
    changed = [c for c in diff.changes if c.kind in ("update", "replace") and c.old and c.new and c.new.custom]
    if len(changed) < minimum:
        return None
    texts = Counter((p.old, p.new) for c in changed for p in c.properties
                    if isinstance(p.old, str) and isinstance(p.new, str))
    if not texts:
        return None
    old, new = _token_change(*texts.most_common(1)[0][0])
    if not old:
        return None
    left: dict[str, set[tuple[str, str, str]]] = {}
    values: dict[tuple[str, str, str], tuple[Any, Any]] = {}
    for c in changed:
        assert c.old is not None and c.new is not None
        raw, after = flatten(c.old.masked_inputs), flatten(c.new.masked_inputs)
        before = flatten(_substitute(c.old.masked_inputs, old, new))
        rest = set()
        for path in set(raw) | set(after):
            a, b = raw.get(path, MISSING), after.get(path, MISSING)
            # Explained: unchanged, or changed exactly as the substitution says.
            if a == b or before.get(path, MISSING) == b or (path == "location" and _same_location(a, b)):
                continue
            key = (path, show(a) if a is not MISSING else "", show(b) if b is not MISSING else "")
            rest.add(key)
            values[key] = (a, b)
        if c.old.protect != c.new.protect:
            key = ("[protect]", show(c.old.protect), show(c.new.protect))
            rest.add(key)
            values[key] = (c.old.protect, c.new.protect)
        left[resource_key(c.new.urn)] = rest
    frequent = Counter(k for rest in left.values() for k in rest)
    common = {k for k, n in frequent.items() if n * 2 >= len(changed)}
    explained = frozenset(key for key, rest in left.items() if rest <= common)
    if len(explained) < minimum or len(explained) * 2 < len(diff.changes):
        return None
    also = tuple(sorted((k[0], values[k][0], values[k][1]) for k in common))
    replaced = sum(1 for c in changed if c.kind == "replace" and c.new is not None and resource_key(c.new.urn) in explained)
    return CommonCause(old, new, also, explained, len(diff.changes), replaced)


SYMBOLS = {"create": "+ ", "update": "~ ", "replace": "+-", "delete": "- "}
LONG_VALUE = 120
# Under GitHub's 65,536-character comment limit, with room for the marker `delivery/pr_comment.py` adds.
MARKDOWN_BUDGET = 60_000


def _value(value: Any) -> str:
    if value is MISSING:
        return "(absent)"
    if isinstance(value, str) and len(value) > LONG_VALUE:
        # Encoded blobs (custom data, certificates) say nothing to a reader; `preview --details` has them whole.
        return f"{show(value[:60])[:-1]}...\" ({len(value)} characters)"
    return show(value)


@dataclass
class Report:
    """A diff with what a reviewer reads next to it: the policy pack's findings on the new side (with
    that stack's enforcement levels), and the critical path."""

    diff: StackDiff
    old: StackRun
    new: StackRun
    old_label: str
    new_label: str
    findings: list[Any]
    """`policy.offline.Finding`s for the new side."""
    rules_run: int

    def findings_headline(self) -> str:
        mandatory = sum(1 for f in self.findings if f.mandatory)
        return f"{len(self.findings)} policy violation(s) on {self.new_label}, {mandatory} mandatory"

    def summary(self) -> str:
        counts = [f"{SYMBOLS[k].strip()} {self.diff.count(k)} to {k}" for k in SYMBOLS if self.diff.count(k)]
        return ", ".join(counts + [f"{self.diff.unchanged} unchanged"])

    def blocked_note(self) -> str:
        names = ", ".join(f"{c.resource.name}" for c in self.diff.blocked)
        return (f"{len(self.diff.blocked)} protected resource(s) would be deleted or replaced ({names}): "
                "`pulumi up` refuses until protect is set to false in an update of its own.")

    def data_loss_note(self) -> str:
        names = ", ".join(f"{c.resource.name} ({c.kind})" for c in self.diff.data_losses)
        return (f"{len(self.diff.data_losses)} stateful resource(s) would be deleted or replaced, and their data "
                f"with them: {names}. If that is not the intent, add an alias (docs/operations.md).")

    def timing(self) -> str:
        before, after = (graph.critical_path(graph.DependencyGraph.of(run)).total_seconds for run in (self.old, self.new))
        change = f"{graph.clock(before)} -> {graph.clock(after)}" if before != after else graph.clock(after)
        return f"Estimated `pulumi up` from an empty stack (critical path): {change}."


def _property_lines(change: Change) -> list[str]:
    return [f"~ {p.path}: {_value(p.old)} => {_value(p.new)}{'  (forces replacement)' if p.replaces else ''}"
            for p in change.properties]


def render_text(report: Report) -> str:
    diff = report.diff
    lines = [f"Changes from {report.old_label} to {report.new_label} "
             "(offline: secrets are masked, so a changed secret looks unchanged).", ""]
    if not diff.changes and not diff.outputs:
        lines.append(f"No changes: {diff.unchanged} resources the same.")
    for change in diff.changes:
        r = change.resource
        note = "  [protected: `pulumi up` refuses this until it is unprotected]" if change.blocked else ""
        note += "  [DATA LOSS: stateful]" if change.loses_data else ""
        lines.append(f" {SYMBOLS[change.kind]}  {r.type}  {r.name}  {change.kind}{note}")
        lines.extend(f"        {line}" for line in _property_lines(change))
    if diff.outputs:
        lines += ["", "Outputs:"]
        lines += [f"    ~ {p.path}: {_value(p.old)} => {_value(p.new)}" for p in diff.outputs]
    if diff.changes or diff.outputs:
        lines += ["", "Resources:", f"    {report.summary()}"]
    if diff.data_losses:
        lines += ["", f"WARNING: {report.data_loss_note()}"]
    if diff.blocked:
        lines += ["", report.blocked_note()]
    lines += ["", report.timing()]
    if report.findings:
        lines += ["", f"{report.findings_headline()}:"]
        lines += [f"    {line}" for line in finding_lines(report.new, report.findings)]
    else:
        lines += [f"Policy on {report.new_label}: {report.rules_run} rules, no violations."]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def render_markdown(report: Report, command: str) -> str:
    """The pull-request comment: the verdict first, then details a reviewer opens when needed."""
    diff = report.diff
    head = [f"### Offline preview of `{report.new.stack}`: {report.old_label} → {report.new_label}", ""]
    if not diff.changes and not diff.outputs:
        head.append(f"**No changes** to the {diff.unchanged} resources.")
    else:
        head.append(f"**{report.summary()}**")
    cause = common_cause(diff)
    if cause is not None:
        # One line for a change that touches everything for one reason, so the picture can show the rest.
        head += ["", cause.caption()]
    if diff.data_losses:
        head += ["", "> [!CAUTION]", f"> **Data loss.** {report.data_loss_note()}"]
    if diff.blocked:
        head += ["", "> [!CAUTION]", f"> {report.blocked_note()}"]
    if report.findings:
        mandatory = any(f.mandatory for f in report.findings)
        head += ["", "> [!CAUTION]" if mandatory else "> [!WARNING]",
                 f"> {report.findings_headline()} (levels from `policy/config/{report.new.stack}.json`):"]
        head += [f"> - {line}" for line in finding_lines(report.new, report.findings)]
    else:
        head += ["", f"Policy pack: {report.rules_run} rules checked, no violations."]
    head += ["", report.timing()]
    if diff.changes:
        head += ["", "| | type | name | change |", "|---|---|---|---|"]
        head += [f"| `{SYMBOLS[c.kind].strip()}` | {_cell(c.resource.type)} | {_cell(c.resource.name)} | "
                 f"{c.kind}{' (protected)' if c.blocked else ''}{' **data loss**' if c.loses_data else ''} |"
                 for c in diff.changes]
    tail = [f"<sub>Offline: the program under Pulumi mocks, secrets masked, no Azure state; "
            f"`{command}` reproduces it.</sub>"]

    body = []
    for change in diff.changes:
        if change.properties:
            body += [f"{SYMBOLS[change.kind].strip()} {change.resource.type} {change.resource.name}"]
            body += [f"    {line}" for line in _property_lines(change)]
    body += [f"~ output {p.path}: {_value(p.old)} => {_value(p.new)}" for p in diff.outputs]
    details = ["", "<details><summary>Property changes</summary>", "", "```diff", *body, "```", "", "</details>"] if body else []

    explained = cause.explained if cause is not None else frozenset()
    kinds = {c.new.urn: c.kind for c in diff.changes if c.new is not None and resource_key(c.new.urn) not in explained}
    deleted = [c.old for c in diff.changes if c.kind == "delete" and c.old is not None]
    picture: list[str] = []
    if kinds or deleted:
        drawing, _ = topology.change_picture(report.old, report.new, kinds, deleted)
        picture = ["", f"<details open><summary>What changes in `{report.new.stack}`, drawn: changed resources and their "
                       "direct neighbours, deleted ones struck through (the whole topology: "
                       f"`python -m offline diagram --stack {report.new.stack}`)</summary>", "",
                   "```mermaid", drawing.rstrip(), "```", "", "</details>"]

    def size(*parts: list[str]) -> int:
        return sum(len(line) + 1 for part in parts for line in part)

    if size(head, details, picture, tail) > MARKDOWN_BUDGET:
        picture = ["", f"_The diagram is left out to fit a comment: `python -m offline diagram --stack {report.new.stack}` draws it._"]
    if size(head, details, picture, tail) > MARKDOWN_BUDGET:
        room = MARKDOWN_BUDGET - size(head, picture, tail) - 400
        kept, used = [], 0
        for line in body:
            if used + len(line) + 1 > room:
                break
            kept.append(line)
            used += len(line) + 1
        details = ["", "<details><summary>Property changes (cut to fit a comment)</summary>", "", "```diff", *kept,
                   f"... {len(body) - len(kept)} more lines: run the command below", "```", "", "</details>"]
    return "\n".join(head + details + picture + ["", *tail]) + "\n"
