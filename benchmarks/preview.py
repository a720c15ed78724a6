"""How long `python -m offline preview --stack prod` takes, against the floor of importing the SDK.

Most of an offline preview is Python importing the azure-native SDK: each submodule the program
touches is large (`network` alone defines ~1,800 names), and it is loaded whole on first use. So the
preview is measured against that import floor, each in a fresh child process so imports are cold
as in a user's run, and over several runs (median, min-max, peak RSS):

- floor: a child that imports pulumi, pulumi_random and exactly the pulumi_azure_native
  submodules the program imports, found by following the program's own imports from `__main__.py`
  (so the floor stays honest when the program changes), and forces the SDK's lazy modules to load;
  it runs with the garbage collector set as `python -m offline` sets it (offline/process.py), so
  floor and preview compare like for like; the floor under Python's default is shown as well;
- preview prod: `python -m offline preview --stack prod`, output discarded;
- scaling: the same preview of prod with N compute clusters and N agents (N = 1, 5, 20), from stack
  files written to a temporary mirror of the project: the project folder is not written to.

Before timing, each preview runs once with `--json` to prove it succeeds and registers the expected
clusters and VMs: timing a failing run would measure nothing. Target: the preview of prod in at
most 1.5x the floor, and time growing far slower than the number of resources. This is a
benchmark, not a gate: it exits non-zero only when a measured run fails.

    python -m benchmarks.preview [--runs 5] [--markdown]
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Sequence

import yaml

from isolated_mlops.components.catalogue import COMPUTE, VM

PROJECT_DIR = Path(__file__).resolve().parent.parent

TARGET_RATIO = 1.5
SCALES = (1, 5, 20)
AZURE = "pulumi_azure_native"
CLUSTER_TYPE = COMPUTE
VM_TYPE = VM

# The floor's child: import each module named on its command line, and load it whole. The SDK's
# submodules are lazy (loaded on the first attribute other than the module's metadata), so an
# import alone would measure nothing; the program pays the whole load on its first resource.
# With "as-cli" it runs under the cycle-collector policy of `python -m offline`
# (offline/process.py), so that floor and preview are compared like for like.
FLOOR_CHILD = """
import contextlib, importlib, sys, types
policy = contextlib.nullcontext()
if sys.argv[1] == "as-cli":
    from offline.process import short_lived
    policy = short_lived()
with policy:
    for name in sys.argv[2:]:
        module = importlib.import_module(name)
        getattr(module, "_load_now", None)
        if type(module) is not types.ModuleType:
            sys.exit(f"{name} is still not loaded")
"""


# ------------------------------------------------------------------------------------------------
# What the program imports
# ------------------------------------------------------------------------------------------------
def program_imports(project_dir: Path = PROJECT_DIR) -> list[str]:
    """The Pulumi packages the program imports, each azure-native submodule by name (sorted):
    found by following the program's imports from `__main__.py` through the project's own modules."""
    found: set[str] = set()
    seen: set[Path] = set()
    pending = [project_dir / "__main__.py"]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in _imported_names(ast.parse(path.read_text(), str(path))):
            local = _local_module(project_dir, module)
            if local is not None:
                pending.append(local)
            elif module.split(".")[0] == AZURE:
                # `pulumi_azure_native.network.outputs` loads `network`: the submodule is the unit.
                found.add(".".join(module.split(".")[:2]))
            elif module.split(".")[0].startswith("pulumi"):
                found.add(module.split(".")[0])
    return sorted(found)


def _imported_names(tree: ast.AST) -> Iterator[str]:
    """Every module an import statement names, including `from package import submodule` (a
    candidate: `_local_module` and the azure-native rule decide what it is)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _local_module(project_dir: Path, module: str) -> Optional[Path]:
    base = project_dir.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


# ------------------------------------------------------------------------------------------------
# The scaled stacks
# ------------------------------------------------------------------------------------------------
def scaled_values(values: Mapping[str, Any], count: int, environment: str = "prod") -> dict[str, Any]:
    """`values` (a stack's config) with `count` compute clusters and `count` agents. The image build
    cluster is kept first; the others are copies of the stack's other clusters, numbered. The
    environment stays `environment` so names are the stack's own."""
    scaled = copy.deepcopy(dict(values))
    clusters = list(values["computeClusters"])
    build = next(c for c in clusters if c["name"] == values["imageBuildCluster"])
    templates = [c for c in clusters if c is not build] or [build]
    extra = [dict(templates[i % len(templates)], name=f"{templates[i % len(templates)]['name']}-{i + 1}")
             for i in range(count - 1)]
    scaled["computeClusters"] = copy.deepcopy([build, *extra])
    scaled["agents"] = dict(values["agents"], count=count)
    scaled.setdefault("environment", environment)
    return scaled


def write_mirror(values_by_stack: Mapping[str, Mapping[str, Any]], project: str) -> Path:
    """A temporary folder that is the project (a symlink to each of its entries) plus one stack file
    per entry of `values_by_stack`. The caller removes it."""
    mirror = Path(tempfile.mkdtemp(prefix="preview-bench-")).resolve()
    for entry in PROJECT_DIR.iterdir():
        if not entry.name.startswith("Pulumi.") or entry.name == "Pulumi.yaml":
            (mirror / entry.name).symlink_to(entry)
    for stack, values in values_by_stack.items():
        document = {"config": {f"{project}:{key}": value for key, value in values.items()}}
        (mirror / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return mirror


# ------------------------------------------------------------------------------------------------
# Measuring
# ------------------------------------------------------------------------------------------------
@dataclass
class Case:
    label: str
    argv: list[str]
    resources: int = 0
    """Registrations of one run (from the `--json` check run); 0 for the floor."""
    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


class RunFailed(Exception):
    pass


def measure(argv: Sequence[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process, stdout discarded; RunFailed if it fails."""
    with tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(argv, cwd=PROJECT_DIR, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            stderr.seek(0)
            tail = stderr.read().decode(errors="replace")[-2000:]
            raise RunFailed(f"{' '.join(argv)} exited {child.returncode}:\n{tail}")
    return seconds, usage.ru_maxrss / 1024  # Linux reports kilobytes


def check_preview(argv: Sequence[str], clusters: int, vms: int) -> int:
    """Run the preview once with --json; prove it succeeds and registers `clusters` clusters and
    `vms` VMs. Returns how many resources it registered."""
    done = subprocess.run([*argv, "--json"], cwd=PROJECT_DIR, capture_output=True, text=True)
    if done.returncode != 0:
        raise RunFailed(f"{' '.join(argv)} --json exited {done.returncode}:\n{done.stderr[-2000:]}")
    steps = json.loads(done.stdout)["steps"]
    types = Counter(step["newState"]["type"] for step in steps)
    # Compute clusters are the workspace's AmlCompute computes: the attached AKS (computeType
    # Kubernetes, private serving) is a compute of the same type that does not scale with the config.
    types[CLUSTER_TYPE] = sum(1 for step in steps if step["newState"]["type"] == CLUSTER_TYPE
                              and (step["newState"].get("inputs", {}).get("properties") or {}).get("computeType")
                              == "AmlCompute")
    if (types[CLUSTER_TYPE], types[VM_TYPE]) != (clusters, vms):
        raise RunFailed(f"{' '.join(argv)} registered {types[CLUSTER_TYPE]} clusters and {types[VM_TYPE]} VMs, "
                        f"expected {clusters} and {vms}")
    return len(steps)


def cases(mirror: Path, values: Mapping[str, Any]) -> list[Case]:
    """The floor first (the reference), then Python's default floor, prod, and the scaled stacks."""
    python, modules = sys.executable, program_imports()
    preview = [python, "-m", "offline", "preview"]
    prod = Case("preview prod", [*preview, "--stack", "prod"])
    prod.resources = check_preview(prod.argv, len(values["computeClusters"]), values["agents"]["count"] + 1)
    found = [Case("import floor", [python, "-c", FLOOR_CHILD, "as-cli", *modules]),
             Case("import floor, Python's default GC", [python, "-c", FLOOR_CHILD, "default", *modules]),
             prod]
    for n in SCALES:
        case = Case(f"preview, clusters = agents = {n}",
                    [*preview, "--stack", f"bench-{n}", "--project-dir", str(mirror)])
        case.resources = check_preview(case.argv, n, n + 1)
        found.append(case)
    return found


def run_all(found: list[Case], runs: int) -> None:
    # Round-robin, so a slow spell on this shared machine falls on every case alike.
    measure(found[0].argv)  # warm the file cache for the floor as the check runs did for the previews
    for round_ in range(runs):
        for case in found:
            seconds, peak = measure(case.argv)
            case.seconds.append(seconds)
            case.peak_mb.append(peak)
        print(f"  run {round_ + 1}/{runs} done", file=sys.stderr)


# ------------------------------------------------------------------------------------------------
# Reporting
# ------------------------------------------------------------------------------------------------
HEADERS = ("case", "resources", "median s", "min-max s", "x floor", "peak RSS MB")


def rows(found: list[Case]) -> list[tuple[str, ...]]:
    floor = found[0].median
    return [(c.label, str(c.resources or "-"), f"{c.median:.2f}", f"{min(c.seconds):.2f}-{max(c.seconds):.2f}",
             f"{c.median / floor:.2f}", f"{statistics.median(c.peak_mb):.0f}") for c in found]


def render(found: list[Case], markdown: bool) -> str:
    table = [HEADERS, *rows(found)]
    if markdown:
        lines = ["| " + " | ".join(row) + " |" for row in table]
        lines.insert(1, "|" + "|".join("---" if i == 0 else "---:" for i in range(len(HEADERS))) + "|")
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADERS))]
    return "\n".join("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                               enumerate(zip(row, widths))) for row in table)


def summary(found: list[Case], runs: int) -> str:
    floor, default_floor, prod, scaled = found[0], found[1], found[2], found[3:]
    ratio = prod.median / floor.median
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    first, last = scaled[0], scaled[-1]
    added = last.resources - first.resources
    marginal_ms = (last.median - first.median) / added * 1000
    return "\n".join([
        f"{runs} runs each, fresh processes, {os.cpu_count()} cores, Python {sys.version.split()[0]}.",
        f"Floor modules: {', '.join(program_imports())}.",
        f"The floor runs with the cycle collector as `python -m offline` runs it (off, frozen at exit); "
        f"with Python's default it takes {default_floor.median:.2f} s.",
        f"Target (preview of prod <= {TARGET_RATIO}x the import floor): {verdict}, {ratio:.2f}x.",
        f"Scaling: {first.resources} -> {last.resources} resources ({last.resources / first.resources:.1f}x) "
        f"took {first.median:.2f} -> {last.median:.2f} s ({last.median / first.median:.2f}x); "
        f"about {marginal_ms:.1f} ms per added resource, against {floor.median:.2f} s of imports.",
    ])


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.preview", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each case (default 5)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the README)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    from offline.engine import project_name, stack_values

    prod = stack_values("prod")
    scaled = {f"bench-{n}": scaled_values(prod, n) for n in SCALES}
    mirror = write_mirror(scaled, project_name())
    try:
        print(f"checking each preview once, then {args.runs} timed runs of each case...", file=sys.stderr)
        found = cases(mirror, prod)
        run_all(found, args.runs)
    except RunFailed as failure:
        print(f"error: a measured run failed: {failure}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(mirror, ignore_errors=True)
    print(render(found, args.markdown))
    print()
    print(summary(found, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
