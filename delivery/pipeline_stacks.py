"""The Azure pipeline's `stacks` list must be the stack files: one Deploy stage per environment.

Azure Pipelines fixes a deployment job's `environment` and a task's service connection when it compiles
the YAML, before any step runs, so `pipelines/azure-pipelines.yml` generates a Deploy and an AmlJob stage
per entry of its `stacks` parameter (`<stack>: <agent pool>`), and the route's output picks the one that
runs. A stack file without its entry could never be deployed there; an entry without a stack file, or
with another pool than the stack's own agents, would fail at run time. Each problem is one line that
names the file and the line to add or change.

    python -m delivery.pipeline_stacks            # exit 1 with one line per problem

The pool matters because the AmlJob stage submits a job through the stack's private workspace, whose
names resolve only on that stack's agents (their VNet is linked to its private DNS zones).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

from delivery import safe_load

PROJECT_DIR = Path(__file__).resolve().parent.parent
PIPELINE = Path("pipelines") / "azure-pipelines.yml"
STACK_FILE = re.compile(r"Pulumi\.(?P<stack>[A-Za-z0-9_.-]+)\.yaml")


def _yaml(path: Path) -> Any:
    return safe_load(path.read_text(encoding="utf-8"))


def pipeline_stacks(root: Path = PROJECT_DIR) -> dict[str, str]:
    """The pipeline's `stacks` parameter default: stack -> the agent pool of its AmlJob stage."""
    parameters = _yaml(root / PIPELINE).get("parameters") or []
    [stacks] = [p for p in parameters if p.get("name") == "stacks"]
    default = stacks.get("default") or {}
    if not isinstance(default, dict):
        raise ValueError(f"{PIPELINE}: parameter `stacks` must map each stack to its agent pool")
    return {str(k): str(v) for k, v in default.items()}


def stack_files(root: Path = PROJECT_DIR) -> dict[str, Path]:
    """Every environment: `Pulumi.<stack>.yaml` beside `Pulumi.yaml`."""
    found = {}
    for path in sorted(root.glob("Pulumi.*.yaml")):
        match = STACK_FILE.fullmatch(path.name)
        if match:
            found[match["stack"]] = path
    return found


def agent_pool(stack_file: Path, project: str) -> Optional[str]:
    """The stack's Azure DevOps agent pool (`agents.pool` when `agents.kind` is azure-devops), else None."""
    config = (_yaml(stack_file) or {}).get("config") or {}
    agents = config.get(f"{project}:agents") or {}
    if isinstance(agents, dict) and agents.get("kind") == "azure-devops" and agents.get("pool"):
        return str(agents["pool"])
    return None


def stage_id(stack: str) -> str:
    """The stage-name suffix the pipeline derives from a stack name (stage names: letters, digits, '_')."""
    return stack.replace("-", "_").replace(".", "_")


def problems(root: Path = PROJECT_DIR) -> list[str]:
    """One line per mismatch between the stack files and the pipeline's `stacks`, each naming its fix."""
    project = str(_yaml(root / "Pulumi.yaml")["name"])
    files, entries = stack_files(root), pipeline_stacks(root)
    found = []
    for stack, path in files.items():
        pool = agent_pool(path, project)
        if stack not in entries:
            line = f"{stack}: {pool or '<an agent pool that reaches its private workspace>'}"
            found.append(f"{PIPELINE}: {path.name} has no Deploy stage: add the line `{line}` under the "
                         f"`stacks` parameter's `default`")
        elif pool is not None and entries[stack] != pool:
            found.append(f"{PIPELINE}: stacks.{stack} is {entries[stack]!r} but {path.name} has agents.pool "
                         f"{pool!r}: change the line to `{stack}: {pool}`")
    for stack in entries:
        if stack not in files:
            found.append(f"{PIPELINE}: stacks.{stack} has no Pulumi.{stack}.yaml: remove its line, or add the stack file")
    ids: dict[str, str] = {}
    for stack in entries:
        other = ids.setdefault(stage_id(stack), stack)
        if other != stack:
            found.append(f"{PIPELINE}: stacks {other!r} and {stack!r} give the same stage name "
                         f"Deploy_{stage_id(stack)}: rename one stack")
    return found


def main(argv: Optional[Sequence[str]] = None) -> int:
    del argv
    found = problems()
    for line in found:
        print(f"error: {line}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
