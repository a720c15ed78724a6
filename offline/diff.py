"""`python -m offline diff --stack prod --against-ref main`: what would change if NEW (the working
tree's stack) were deployed over OLD (the same stack at a revision, another stack, or a saved run).

Both sides are whole runs of the program (see `offline/snapshot.py`), so the answer is the one
`pulumi preview --diff` would give against a stack whose state is OLD: creates, deletes, updates
and replacements, property by property. Replacements are decided as the azure-native provider
decides them where that is knowable offline: a change to any input that is part of the resource's
ARM id (its name, its parent's name, the resource group) replaces it, and so does `location`
(Azure cannot move a resource by PUT); so does a path the program lists in a resource's
`replace_on_changes` (the agents' custom data). Properties that the provider's schema marks
"force new" beyond those are not known offline and show as updates.

Resources are matched by URN without the stack name, so two stacks compare too (`--against dev`),
and through aliases, so a resource renamed or moved with an alias is the same resource.

Two different stacks are a comparison of environments, not a change: deploying one never touches
the other's resources, so there is no data loss and no refused replacement to report, and the
report says "only in dev", "differs" rather than "delete", "update". The verdicts stay for one
stack against itself (a revision, or a saved run of the same stack).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional

from isolated_mlops.components.catalogue import CATALOGUE, STATEFUL_TYPES
from offline import cost, graph, topology
from offline.topology import resource_key
from offline.engine import RegisteredResource, StackRun
from offline.preview import ROOT_TYPE, finding_lines, fix_lines, flatten, show
from isolated_mlops.policy.enforcement import levels_source

MISSING = object()

def replace_keys(type_token: str) -> Optional[frozenset[str]]:
    """Top-level inputs whose change replaces a resource of this type; None means every input.
    The package catalogue knows them per type: the parts of the ARM id, `location`, and the inputs
    Azure refuses to update (`replace_on`, e.g. a role assignment's scope, a workspace's HBI flag)."""
    known = CATALOGUE.get(type_token)
    if type_token.startswith("random:") or (known is not None and known.outside_azure):
        return None  # pulumi-random: every input forces a new value
    if known is None:
        return frozenset({"location", "resourceGroupName"})
    return known.replace_keys()

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
    environments: bool = False
    """The two sides are different stacks: a comparison, in which nothing is deleted or replaced."""

    def count(self, kind: str) -> int:
        return sum(1 for c in self.changes if c.kind == kind)

    def blocks(self, change: Change) -> bool:
        """`pulumi up` would refuse this change (never in a comparison of two stacks)."""
        return change.blocked and not self.environments

    def loses(self, change: Change) -> bool:
        """This change would delete a stateful resource's data (never in a comparison of two stacks)."""
        return change.loses_data and not self.environments

    @property
    def blocked(self) -> list[Change]:
        return [c for c in self.changes if self.blocks(c)]

    @property
    def data_losses(self) -> list[Change]:
        return [c for c in self.changes if self.loses(c)]


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
        # The program's own `replace_on_changes` paths replace too, as the engine would.
        forced = any(path == p or path.startswith((p + ".", p + "[")) for p in new.replace_on_changes)
        changes.append(PropertyChange(path, a, b, replaces=keys is None or top in keys or forced))
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
    # A side whose stack is unknown (an empty saved document) is taken as the same stack: the verdicts stay.
    return StackDiff(changes, unchanged, outputs, environments=bool(old.stack) and old.stack != new.stack)


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
    # Most of the resources both sides have: what one side alone has (prod's serving cluster against
    # dev) is no change a substitution could explain, and must not hide the one that explains the rest.
    if len(explained) < minimum or len(explained) * 2 < len(changed):
        return None
    also = tuple(sorted((k[0], values[k][0], values[k][1]) for k in common))
    replaced = sum(1 for c in changed if c.kind == "replace" and c.new is not None and resource_key(c.new.urn) in explained)
    return CommonCause(old, new, also, explained, len(diff.changes), replaced)


SYMBOLS = {"create": "+ ", "update": "~ ", "replace": "+-", "delete": "- "}


def kind_label(kind: str, diff: StackDiff, old_stack: str, new_stack: str) -> str:
    """What a change is called: its operation within one stack; in a comparison of two, where it differs."""
    if not diff.environments:
        return kind
    return {"create": f"only in {new_stack}", "delete": f"only in {old_stack}", "update": "differs",
            "replace": "differs in identity"}[kind]
LONG_VALUE = 120
# Under GitHub's 65,536-character comment limit, with room for the marker `delivery/pr_comment.py` adds.
MARKDOWN_BUDGET = 60_000
# The least room kept for property changes before the picture is left out of a comment.
PROPERTY_ROOM = 4_000


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
    """`offline.policy_check.Finding`s for the new side."""
    rules_run: int

    def findings_headline(self) -> str:
        mandatory = sum(1 for f in self.findings if f.mandatory)
        return f"{len(self.findings)} policy violation(s) on {self.new_label}, {mandatory} mandatory"

    def label(self, kind: str) -> str:
        return kind_label(kind, self.diff, self.old.stack, self.new.stack)

    def summary(self) -> str:
        if self.diff.environments:
            counts = [f"{SYMBOLS[k].strip()} {self.diff.count(k)} {self.label(k).replace('differs', 'differ')}"
                      for k in SYMBOLS if self.diff.count(k)]
            return ", ".join(counts + [f"{self.diff.unchanged} the same"])
        counts = [f"{SYMBOLS[k].strip()} {self.diff.count(k)} to {k}" for k in SYMBOLS if self.diff.count(k)]
        return ", ".join(counts + [f"{self.diff.unchanged} unchanged"])

    def title(self) -> str:
        if self.diff.environments:
            return (f"Comparison of environments, {self.old_label} and {self.new_label}: two stacks, so deploying "
                    "one deletes or replaces nothing of the other (no data-loss verdicts)")
        return f"Changes from {self.old_label} to {self.new_label}"

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

    def cost_lines(self) -> list[str]:
        """The change in the monthly estimate (offline/cost.py), or why there is none."""
        try:
            return cost.markdown_section(cost.estimate(self.old), cost.estimate(self.new))
        except cost.AssumptionsError as error:
            return [f"**Monthly cost: not estimated**: {'; '.join(error.problems)}"]


def _property_lines(change: Change, environments: bool = False) -> list[str]:
    # Between two stacks nothing is replaced: a property of the ARM id only shows the two are different resources.
    mark = "  (part of its identity)" if environments else "  (forces replacement)"
    return [f"~ {p.path}: {_value(p.old)} => {_value(p.new)}{mark if p.replaces else ''}" for p in change.properties]


def render_text(report: Report) -> str:
    diff = report.diff
    lines = [f"{report.title()} (offline: secrets are masked, so a changed secret looks unchanged).", ""]
    if not diff.changes and not diff.outputs:
        lines.append(f"No {'differences' if diff.environments else 'changes'}: {diff.unchanged} resources the same.")
    for change in diff.changes:
        r = change.resource
        note = "  [protected: `pulumi up` refuses this until it is unprotected]" if diff.blocks(change) else ""
        note += "  [DATA LOSS: stateful]" if diff.loses(change) else ""
        lines.append(f" {SYMBOLS[change.kind]}  {r.type}  {r.name}  {report.label(change.kind)}{note}")
        lines.extend(f"        {line}" for line in _property_lines(change, diff.environments))
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
    lines += ["", *(line.replace("**", "").replace("`", "") for line in report.cost_lines())]
    if report.findings:
        lines += ["", f"{report.findings_headline()}:"]
        lines += [f"    {line}" for line in finding_lines(report.new, report.findings) + fix_lines(report.findings)]
    else:
        lines += [f"Policy on {report.new_label}: {report.rules_run} rules, no violations."]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def render_markdown(report: Report, command: str) -> str:
    """The pull-request comment: the verdict first, then details a reviewer opens when needed."""
    diff = report.diff
    if diff.environments:
        head = [f"### Offline comparison of environments: `{report.old.stack}` → `{report.new.stack}`", "",
                f"_{report.old_label} and {report.new_label} are different stacks: deploying either deletes or "
                "replaces nothing of the other, so this lists how they differ, with no data-loss verdicts "
                "(\"differs in identity\": a name, parent or location differs, so they are separate Azure resources). "
                "A change to one stack: `--against-ref`._", ""]
    else:
        head = [f"### Offline preview of `{report.new.stack}`: {report.old_label} → {report.new_label}", ""]
    if not diff.changes and not diff.outputs:
        head.append(f"**No differences** in the {diff.unchanged} resources." if diff.environments
                    else f"**No changes** to the {diff.unchanged} resources.")
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
                 f"> {report.findings_headline()} (levels from {levels_source(report.new.stack)}):"]
        head += [f"> - {line}" for line in finding_lines(report.new, report.findings) + fix_lines(report.findings)]
    else:
        head += ["", f"Policy pack: {report.rules_run} rules checked, no violations."]
    head += ["", report.timing()]
    head += ["", *report.cost_lines()]
    if diff.changes:
        head += ["", f"| | type | name | {'difference' if diff.environments else 'change'} |", "|---|---|---|---|"]
        head += [f"| `{SYMBOLS[c.kind].strip()}` | {_cell(c.resource.type)} | {_cell(c.resource.name)} | "
                 f"{report.label(c.kind)}{' (protected)' if diff.blocks(c) else ''}"
                 f"{' **data loss**' if diff.loses(c) else ''} |"
                 for c in diff.changes]
    tail = [f"<sub>Offline: the program under Pulumi mocks, secrets masked, no Azure state; "
            f"`{command}` reproduces it.</sub>"]

    body = []
    for change in diff.changes:
        if change.properties:
            body += [f"{SYMBOLS[change.kind].strip()} {change.resource.type} {change.resource.name}"]
            body += [f"    {line}" for line in _property_lines(change, diff.environments)]
    body += [f"~ output {p.path}: {_value(p.old)} => {_value(p.new)}" for p in diff.outputs]
    details = ["", "<details><summary>Property changes</summary>", "", "```diff", *body, "```", "", "</details>"] if body else []

    explained = cause.explained if cause is not None else frozenset()
    kinds = {c.new.urn: c.kind for c in diff.changes if c.new is not None and resource_key(c.new.urn) not in explained}
    deleted = [c.old for c in diff.changes if c.kind == "delete" and c.old is not None]
    picture: list[str] = []
    if kinds or deleted:
        # Between two stacks the legend says what the table says ("only in dev", not "deleted").
        names = {k: report.label(k) for k in SYMBOLS} if diff.environments else {}
        if names:
            names["delete"] = f"<s>{names['delete']}</s>"
        drawing, _ = topology.change_picture(report.old, report.new, kinds, deleted, names)
        what = (f"How `{report.new.stack}` differs from `{report.old.stack}`, drawn: what differs and its direct "
                f"neighbours, what is only in `{report.old.stack}` struck through" if diff.environments else
                f"What changes in `{report.new.stack}`, drawn: changed resources and their direct neighbours, "
                "deleted ones struck through")
        picture = ["", f"<details open><summary>{what} (the whole topology: "
                       f"`python -m offline diagram --stack {report.new.stack}`)</summary>", "",
                   "```mermaid", drawing.rstrip(), "```", "", "</details>"]

    def size(*parts: list[str]) -> int:
        return sum(len(line) + 1 for part in parts for line in part)

    # The picture of a change is small by design (the change and its neighbours), the property list is
    # not: cut the list first, and leave the picture out only when it would not fit beside a short one.
    if size(head, picture, tail) + PROPERTY_ROOM > MARKDOWN_BUDGET:
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
