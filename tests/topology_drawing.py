"""Reading the topology's Mermaid text back into boxes, nodes and arrows, for the topology tests
(tests/test_offline_topology.py, tests/test_offline_topology_drawn.py), and breaking a run the way a
bad change would."""

from __future__ import annotations

import dataclasses
import pickle
import re
from dataclasses import dataclass, field
from typing import Callable

from offline import topology
from offline.engine import PROJECT_DIR, RegisteredResource, StackRun

__all__ = ["MERMAID_DIR", "Drawing", "broken", "draw", "read", "_last", "_name", "_typed"]

MERMAID_DIR = PROJECT_DIR / "tests" / "mermaid"


@dataclass
class Drawing:
    """A Mermaid flowchart read back: boxes (subgraphs), nodes and arrows, by id."""

    text: str
    labels: dict[str, str] = field(default_factory=dict)
    """Node or box id -> its label."""
    inside: dict[str, list[str]] = field(default_factory=dict)
    """Id -> the chain of boxes it sits in, outermost first."""
    edges: list[tuple[str, str, str, str]] = field(default_factory=list)
    """(from, arrow, label, to)."""
    classes: dict[str, set[str]] = field(default_factory=dict)
    styled: dict[str, str] = field(default_factory=dict)
    boxes: set[str] = field(default_factory=set)
    """The ids drawn as subgraphs."""
    legend: set[str] = field(default_factory=set)
    """The classes the legend shows."""

    def ids(self, label_start: str) -> list[str]:
        return [i for i, label in self.labels.items() if label.startswith(label_start)]

    def one(self, label_start: str) -> str:
        [found] = self.ids(label_start)
        return found

    def box_of(self, node: str) -> str:
        return self.inside[node][-1]

    def arrows(self, source: str = "", target: str = "") -> list[tuple[str, str, str, str]]:
        return [e for e in self.edges if (not source or e[0] == source) and (not target or e[3] == target)]


_BOX = re.compile(r'^subgraph (\S+)\["(.*)"\]$')
_NODE = re.compile(r'^(\w+)(?:\[\("|\(\("|\[")(.*?)(?:"\)\]|"\)\)|"\])(?::::\w+)?$')
_EDGE = re.compile(r'^(\w+) (<-->|-->|==>|-\.->|-\.-)(?:\|"([^"]*)"\|)? (\w+)$')


def read(text: str) -> Drawing:
    drawing, stack = Drawing(text), list[str]()
    for raw in text.splitlines()[2:]:
        line = raw.strip()
        if not line:
            continue
        if m := _BOX.match(line):
            drawing.labels[m[1]], drawing.inside[m[1]] = m[2], list(stack)
            drawing.boxes.add(m[1])
            stack.append(m[1])
        elif line.startswith("direction ") or (line.startswith("legend_") and " ~~~ " in line):
            continue  # layout only
        elif line == "end":
            stack.pop()
        elif m := _EDGE.match(line):
            drawing.edges.append((m[1], m[2], m[3] or "", m[4]))
        elif line.startswith("classDef "):
            continue
        elif line.startswith("class "):
            _, members, name = line.split()
            drawing.classes[name] = {m for m in members.split(",") if not m.startswith("legend_")}
            drawing.legend |= {name for m in members.split(",") if m.startswith("legend_")}
            if not drawing.classes[name]:
                del drawing.classes[name]
        elif line.startswith("style "):
            _, member, style = line.split(maxsplit=2)
            drawing.styled[member] = style
        elif m := _NODE.match(line):
            drawing.labels[m[1]], drawing.inside[m[1]] = m[2], list(stack)
        else:
            raise AssertionError(f"a line the test cannot read: {line!r}")
    assert not stack, "a subgraph is not closed"
    return drawing


def draw(run: StackRun) -> Drawing:
    """The picture read back; drawn once per session for the session's unchanged dev and prod runs
    (tests/helpers.py once_per_run), afresh for any other run (a broken copy, a run_with)."""
    from tests.helpers import once_per_run

    return read(once_per_run(run, topology.mermaid))


def _name(r: RegisteredResource) -> str:
    return str(r.outputs["name"])


def _last(resource_id: str) -> str:
    return resource_id.rsplit("/", 1)[-1]


def broken(run: StackRun, change: Callable[[list[RegisteredResource]], list[RegisteredResource]]) -> StackRun:
    """A copy of the run with its resources changed the way a bad change would change them."""
    # A deep copy through pickle: the same plain data (strings, numbers, lists, dicts in dataclasses)
    # in half the time of copy.deepcopy, for the twenty-odd broken runs the topology tests draw.
    resources = pickle.loads(pickle.dumps(run.resources, protocol=pickle.HIGHEST_PROTOCOL))
    changed = change(resources)
    assert changed != run.resources, "the change changed nothing: the test would prove nothing"
    return dataclasses.replace(run, resources=changed)


def _typed(run_or_list, type_: str) -> list[RegisteredResource]:
    resources = run_or_list.resources if isinstance(run_or_list, StackRun) else run_or_list
    return [r for r in resources if r.type == type_]
