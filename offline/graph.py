"""The dependency graph of one run: what waits for what, the critical path, and a Mermaid diagram.

`pulumi up` creates a resource as soon as everything it depends on exists, so the time a deployment
takes is not the sum of its resources but the longest chain of dependencies, weighted by how long
Azure takes to create each resource. That chain is the critical path: making anything off it faster
changes nothing; making something on it faster (or cutting a dependency) shortens every deployment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Sequence

from isolated_mlops.components.catalogue import (
    AKS, AKS_NAMESPACE, CATALOGUE, COMPUTE, K8S_EXTENSION, KEY_VAULT_SECRET, PRIVATE_ENDPOINT, ROLE_ASSIGNMENT, VM,
    WORKSPACE, ZONE_GROUP, CreateTime,
)
from offline.engine import RegisteredResource, StackRun
from offline.preview import ROOT_TYPE

# How long Azure typically takes to create each type, with the figure's basis and source: one field of
# the package's catalogue (`CreateTime`). Rough by nature (Azure varies run to run and region to
# region); what matters is the order of magnitude, which decides where the critical path runs.
# docs/offline.md prints this table.
Estimate = CreateTime
TYPICAL_CREATE_SECONDS: Mapping[str, Estimate] = {
    token: known.create for token, known in CATALOGUE.items() if known.create is not None}
UNKNOWN_CREATE_SECONDS = 30
"""Counted for a type that has no estimate above (and reported, so the table gets one)."""

# Dependencies the program declares only for order (`depends_on`), not because an input needs an
# output. Each one makes `pulumi up` wait, so each must say why Azure needs it; any other ordering-only
# dependency is a defect (tests/test_offline_cli.py fails on it). Keyed (dependent type, dependency type).
ORDERING_DEPENDENCIES: Mapping[tuple[str, str], str] = {
    (COMPUTE, PRIVATE_ENDPOINT):
        "no-public-IP compute needs the workspace's private endpoint to exist before it is created",
    (COMPUTE, ZONE_GROUP):
        "its nodes find the workspace through the endpoint's DNS records",
    (COMPUTE, ROLE_ASSIGNMENT):
        "a cluster pulls images from the private registry with its identity's AcrPull role: granted first",
    (AKS, ROLE_ASSIGNMENT):
        "a private cluster with a custom API server zone needs its identity's Private DNS Zone Contributor and "
        "Network Contributor before it is created (Microsoft Learn, Create a private AKS cluster)",
    (COMPUTE, K8S_EXTENSION):
        "a Kubernetes compute attaches to a cluster whose Azure ML extension is installed ('extension not "
        "installed' otherwise: Attach a Kubernetes cluster)",
    (COMPUTE, AKS_NAMESPACE):
        "the compute's namespace must exist before the cluster is attached (Attach a Kubernetes cluster)",
    (WORKSPACE, PRIVATE_ENDPOINT):
        "Microsoft's machine-learning-end-to-end-secure template creates the workspace after the storage, "
        "Key Vault and registry private endpoints: what runs in the workspace reaches them only through those",
    (WORKSPACE, ZONE_GROUP):
        "the same template's order: the dependencies' endpoints resolve (their DNS records) before the workspace",
    (VM, KEY_VAULT_SECRET):
        "an agent reads its registration token from Key Vault at first boot: the secret must be there",
    (VM, ROLE_ASSIGNMENT):
        "an agent reads its token at first boot with its identity's Key Vault Secrets User role",
    (VM, PRIVATE_ENDPOINT):
        "an agent reaches Key Vault at first boot through the vault's private endpoint (no public access)",
    (VM, ZONE_GROUP):
        "an agent resolves the vault's name at first boot to the endpoint's private IP (its DNS records)",
}


def ordering_only(run: StackRun) -> list[tuple[RegisteredResource, RegisteredResource]]:
    """(dependent, dependency) pairs the program declares for order alone: a dependency that none of
    the dependent's inputs comes from."""
    by_urn = {r.urn: r for r in run.resources}
    pairs: list[tuple[RegisteredResource, RegisteredResource]] = []
    for r in run.resources:
        if not r.custom:
            continue
        from_inputs = {urn for urns in r.property_dependencies.values() for urn in urns}
        pairs.extend((r, by_urn[urn]) for urn in r.dependencies if urn not in from_inputs and by_urn[urn].custom)
    return pairs


def estimate(type_token: str) -> Optional[Estimate]:
    return TYPICAL_CREATE_SECONDS.get(type_token)


def create_seconds(type_token: str) -> int:
    known = TYPICAL_CREATE_SECONDS.get(type_token)
    return known.seconds if known else UNKNOWN_CREATE_SECONDS


def short_type(type_token: str) -> str:
    """`azure-native:network:VirtualNetwork` -> `network:VirtualNetwork`; `random:index/x:X` -> `random:X`."""
    package, module, name = (type_token.split(":") + ["", ""])[:3]
    if package == "azure-native":
        return f"{module}:{name}"
    return f"{package}:{name}"


# ------------------------------------------------------------------------------------------------
# The graph
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DependencyGraph:
    """Custom resources (the things a provider creates) and, for each, the ones it waits for."""

    resources: Mapping[str, RegisteredResource]
    depends_on: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, run: StackRun) -> "DependencyGraph":
        return cls.from_resources(run.resources)

    @classmethod
    def from_resources(cls, resources: Iterable[RegisteredResource]) -> "DependencyGraph":
        every = {r.urn: r for r in resources}
        custom = {urn: r for urn, r in every.items() if r.custom}

        def expand(urn: str) -> set[str]:
            # Waiting for a component means waiting for everything inside it.
            if urn in custom:
                return {urn}
            return {d for child in every.values() if child.parent == urn for d in expand(child.urn)}

        depends_on = {
            urn: tuple(sorted({d for dep in r.dependencies for d in expand(dep)} - {urn}))
            for urn, r in custom.items()
        }
        return cls(resources=custom, depends_on=depends_on)

    def ancestors(self) -> dict[str, frozenset[str]]:
        """For each resource, everything it waits for, directly or not."""
        closure: dict[str, frozenset[str]] = {}

        def walk(urn: str) -> frozenset[str]:
            if urn not in closure:
                closure[urn] = frozenset(self.depends_on[urn]).union(*(walk(d) for d in self.depends_on[urn]))
            return closure[urn]

        for urn in self.depends_on:
            walk(urn)
        return closure

    def reduced_edges(self) -> list[tuple[str, str]]:
        """(dependency, dependent) pairs without the ones another path already implies.

        Everything depends on the resource group; drawn naively that is dozens of arrows saying
        nothing. The transitive reduction keeps exactly the arrows that carry information: every
        "A waits for B" is still readable, through a chain of arrows.
        """
        ancestors = self.ancestors()
        edges: list[tuple[str, str]] = []
        for urn, deps in self.depends_on.items():
            implied = {a for d in deps for a in ancestors[d]}
            edges.extend((dep, urn) for dep in deps if dep not in implied)
        return sorted(edges)


# ------------------------------------------------------------------------------------------------
# Critical path
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    resource: RegisteredResource
    start: int
    seconds: int


@dataclass(frozen=True)
class CriticalPath:
    steps: list[Step]
    total_seconds: int
    """How long `pulumi up` takes at best from an empty stack: the finish time of the last step."""
    serial_seconds: int
    """The same resources created one after another."""
    resource_count: int
    unestimated_types: list[str]


def critical_path(graph: DependencyGraph) -> CriticalPath:
    finish: dict[str, int] = {}
    previous: dict[str, str] = {}

    def finish_of(urn: str) -> int:
        if urn not in finish:
            deps = graph.depends_on.get(urn, ())
            start = 0
            if deps:
                # Ties resolved by URN so the same program always reports the same path.
                latest = max(deps, key=lambda d: (finish_of(d), d))
                start = finish_of(latest)
                previous[urn] = latest
            finish[urn] = start + create_seconds(graph.resources[urn].type)
        return finish[urn]

    if not graph.resources:
        return CriticalPath([], 0, 0, 0, [])
    last = max(graph.resources, key=lambda u: (finish_of(u), u))
    chain = [last]
    while chain[-1] in previous:
        chain.append(previous[chain[-1]])
    chain.reverse()
    steps = []
    for urn in chain:
        seconds = create_seconds(graph.resources[urn].type)
        steps.append(Step(graph.resources[urn], finish[urn] - seconds, seconds))
    types = {r.type for r in graph.resources.values()}
    return CriticalPath(
        steps=steps,
        total_seconds=finish[last],
        serial_seconds=sum(create_seconds(r.type) for r in graph.resources.values()),
        resource_count=len(graph.resources),
        unestimated_types=sorted(t for t in types if t not in TYPICAL_CREATE_SECONDS),
    )


def clock(seconds: int) -> str:
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}:{seconds:02d}"


def render_critical_path(run: StackRun, path: CriticalPath) -> str:
    lines = [f"Critical path of {run.project}/{run.stack}: the longest chain of resources that wait for each other.",
             "Estimated create times: the `create` field of each type's record in components/catalogue/ "
             "(docs/offline.md lists each figure's source).", "`pulumi up` creates everything off this chain alongside it.",
             "", f"  {'start':>6}  {'takes':>6}  {'basis':<10}  {'type':<40}  name"]
    for step in path.steps:
        known = estimate(step.resource.type)
        lines.append(f"  {clock(step.start):>6}  {clock(step.seconds):>6}  {known.basis if known else 'unknown':<10}  "
                     f"{short_type(step.resource.type):<40}  {step.resource.name}")
    lines += ["", f"About {clock(path.total_seconds)} to create {path.resource_count} resources from an empty stack "
                  f"(one after another they would take {clock(path.serial_seconds)})."]
    if path.unestimated_types:
        lines.append(f"No estimate for {', '.join(path.unestimated_types)}: counted as {UNKNOWN_CREATE_SECONDS} s each; "
                     "give their records in components/catalogue/ a `create` time.")
    pairs = ordering_only(run)
    if pairs:
        lines += ["", "Waits the program adds for order alone (depends_on), each for a reason Azure imposes:"]
        for dependent, dependency in sorted(pairs, key=lambda p: (p[0].name, p[1].name)):
            reason = ORDERING_DEPENDENCIES.get((dependent.type, dependency.type), "NO REASON RECORDED: a defect")
            lines.append(f"  {dependent.name} waits for {dependency.name}: {reason}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# Diagram
# ------------------------------------------------------------------------------------------------
def _label(text: str) -> str:
    return text.replace('"', "#quot;")


# Fill colours for changed resources (GitHub's diff palette), borders for the critical path.
CLASS_STYLES = {
    "create": "fill:#e6ffec,stroke:#1a7f37",
    "update": "fill:#fff8c5,stroke:#9a6700",
    "replace": "fill:#ffebe9,stroke:#cf222e",
    "critical": "stroke:#d62728,stroke-width:3px",
}


def mermaid(run: StackRun, highlight: Sequence[str] = (), changes: Optional[Mapping[str, str]] = None) -> str:
    """A Mermaid flowchart: components as nested boxes, arrows from a resource to what waits for it.

    `highlight`: URNs to mark (the critical path), drawn with a thick red border.
    `changes`: URN -> create/update/replace, filled in the colour of that change.
    """
    graph = DependencyGraph.of(run)
    ids = {urn: f"r{i}" for i, urn in enumerate(sorted(graph.resources))}
    components = {r.urn: r for r in run.resources if not r.custom}
    box_ids = {urn: f"c{i}" for i, urn in enumerate(sorted(components))}
    children: dict[str, list[RegisteredResource]] = {}
    for r in run.resources:
        if r.type != ROOT_TYPE:
            children.setdefault(r.parent, []).append(r)

    lines = [f"%% {run.project}/{run.stack}: dependencies generated by "
             f"`python -m offline diagram --stack {run.stack} --view dependencies`",
             "flowchart LR"]

    def draws_something(urn: str) -> bool:
        return any(r.custom or draws_something(r.urn) for r in children.get(urn, []))

    def emit(parent: str, depth: int) -> None:
        pad = "  " * depth
        for r in sorted(children.get(parent, []), key=lambda r: (r.custom, r.name)):
            if not r.custom and not draws_something(r.urn):
                continue
            if r.custom:
                lines.append(f'{pad}{ids[r.urn]}["{_label(r.name)}<br/><i>{_label(short_type(r.type))}</i>"]')
            else:
                lines.append(f'{pad}subgraph {box_ids[r.urn]}["{_label(r.name)} ({_label(short_type(r.type))})"]')
                emit(r.urn, depth + 1)
                lines.append(f"{pad}end")

    roots = {r.urn for r in run.resources if r.type == ROOT_TYPE}
    for root in sorted(roots) or [""]:
        emit(root, 1)
    for dep, dependent in graph.reduced_edges():
        lines.append(f"  {ids[dep]} --> {ids[dependent]}")
    members: dict[str, list[str]] = {}
    for urn, kind in sorted((changes or {}).items()):
        if urn in ids:
            members.setdefault(kind, []).append(ids[urn])
    members["critical"] = [ids[u] for u in highlight if u in ids]
    for name, style in CLASS_STYLES.items():
        if members.get(name):
            lines.append(f"  classDef {name} {style}")
            lines.append(f"  class {','.join(members[name])} {name}")
    return "\n".join(lines) + "\n"
