"""Which stacks a pull request affects: the matrix the pull-request pipelines preview and diff.

Every environment is a stack file, `Pulumi.<stack>.yaml`, so the stacks are the stack files in the
working tree, and a changed path affects:
- its own stack only, when it is a stack's file (`Pulumi.dev.yaml`) or that stack's policy levels
  (`policy/config/dev.json`);
- no stack, when it is documentation (`*.md`, anything under `docs/`), or the file of a stack that no
  longer exists (a deleted environment has nothing left to preview);
- every stack, when it is anything else: the program, its components, the policy rules, the offline
  engine, `Pulumi.yaml`, the CI definitions, `requirements.txt`. Shared code changes every
  environment, and guessing which ones it cannot touch is how a change goes unreviewed.

The changed paths come from git (`git diff --name-only --no-renames BASE...HEAD`: what the pull
request changes since it left its base; a rename counts as both of its paths).

    python -m delivery.affected_stacks --base origin/main                          # dev, prod + why
    python -m delivery.affected_stacks --base origin/main --format github          # stacks=["dev","prod"] to $GITHUB_OUTPUT
    python -m delivery.affected_stacks --base origin/main --format azure-pipelines # output variable `matrix`
    python -m delivery.affected_stacks --base origin/main --format markdown        # the PR comment's header
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence

PROJECT_DIR = Path(__file__).resolve().parent.parent
STACK_FILE = re.compile(r"Pulumi\.(?P<stack>[^/]+)\.yaml")
POLICY_LEVELS = re.compile(r"policy/config/(?P<stack>[^/]+)\.json")
# Pulumi's stack names: letters, digits, '-', '_', '.'. A stack file named otherwise is not a stack,
# and its name must not reach a CI logging command (`##vso[...]`) or a matrix.
STACK_NAME = re.compile(r"[A-Za-z0-9_.-]+")
SHOWN_PATHS = 3


def is_documentation(path: str) -> bool:
    """Paths that change no stack: Markdown anywhere, and everything under docs/."""
    return path.endswith(".md") or path.startswith("docs/")


def stacks_in(project_dir: Path = PROJECT_DIR) -> list[str]:
    """The stacks of the working tree: one per `Pulumi.<stack>.yaml` with a valid stack name."""
    found = (STACK_FILE.fullmatch(p.name) for p in project_dir.glob("Pulumi.*.yaml"))
    return sorted(m["stack"] for m in found if m and STACK_NAME.fullmatch(m["stack"]))


@dataclass
class Affected:
    """The stacks to preview, each with the changed paths that make it so, and what changed nothing."""

    reasons: dict[str, list[str]] = field(default_factory=dict)
    """stack -> the changed paths that affect it, in the order given."""
    ignored: list[str] = field(default_factory=list)
    """Changed paths that affect no stack (documentation, a removed stack's files)."""

    @property
    def stacks(self) -> list[str]:
        return sorted(self.reasons)

    def _add(self, stack: str, path: str) -> None:
        self.reasons.setdefault(stack, []).append(path)


def affected_stacks(changed: Iterable[str], stacks: Sequence[str]) -> Affected:
    """Which of `stacks` the changed paths (relative to the project root, '/'-separated) affect."""
    result = Affected()
    for path in (p.strip() for p in changed):
        if not path:
            continue
        own = STACK_FILE.fullmatch(path) or POLICY_LEVELS.fullmatch(path)
        if own:
            if own["stack"] in stacks:
                result._add(own["stack"], path)
            else:
                result.ignored.append(path)  # a stack that no longer exists (or is not a stack name)
        elif is_documentation(path):
            result.ignored.append(path)
        else:
            for stack in stacks:
                result._add(stack, path)
    return result


def changed_paths(base: str, project_dir: Path = PROJECT_DIR) -> list[str]:
    """What HEAD changes since it left `base` (three-dot: the merge base), renames as both paths."""
    result = subprocess.run(["git", "-C", str(project_dir), "diff", "--name-only", "--no-renames", f"{base}...HEAD"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"git diff {base}...HEAD failed: {result.stderr.strip() or result.stdout.strip()}")
    return [line for line in result.stdout.splitlines() if line]


def _why(paths: Sequence[str]) -> str:
    shown = ", ".join("`" + p.replace("`", "'") + "`" for p in paths[:SHOWN_PATHS])
    return shown + (f" and {len(paths) - SHOWN_PATHS} more" if len(paths) > SHOWN_PATHS else "")


def matrix_legs(stacks: Sequence[str]) -> dict[str, str]:
    """Azure Pipelines leg name -> stack. Leg names take only letters, digits and '_' and start with a
    letter (https://learn.microsoft.com/en-us/azure/devops/pipelines/yaml-schema/jobs-job-strategy),
    which a stack name (`eu-west.prod`) need not."""
    legs: dict[str, str] = {}
    for stack in stacks:
        leg = re.sub(r"[^A-Za-z0-9_]", "_", stack)
        leg = leg if leg[:1].isalpha() else f"stack_{leg}"
        base, n = leg, 2
        while leg in legs:
            leg, n = f"{base}_{n}", n + 1
        legs[leg] = stack
    return legs


def render_markdown(affected: Affected) -> str:
    """The PR comment's header: which stacks are previewed below, and why each."""
    if not affected.stacks:
        return ("### Offline preview\n\nThis pull request changes no stack: only documentation or the files of "
                "stacks that no longer exist.\n")
    lines = ["### Offline preview of every stack this pull request affects", ""]
    lines += [f"- `{stack}`: {_why(affected.reasons[stack])}" for stack in affected.stacks]
    return "\n".join(lines) + "\n"


def render_text(affected: Affected) -> str:
    if not affected.stacks:
        return "no stack affected"
    return "\n".join(f"{stack}: {', '.join(affected.reasons[stack])}" for stack in affected.stacks)


def main(argv: Optional[Sequence[str]] = None, environ: Optional[dict[str, str]] = None) -> int:
    environ = dict(os.environ if environ is None else environ)
    parser = argparse.ArgumentParser(prog="python -m delivery.affected_stacks", description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--base", help="the git revision the pull request merges into, e.g. origin/main")
    source.add_argument("--changed", nargs="*", metavar="PATH", help="the changed paths, instead of asking git")
    parser.add_argument("--format", choices=("plain", "github", "azure-pipelines", "markdown"), default="plain",
                        help="github: append stacks=<JSON list> to $GITHUB_OUTPUT; azure-pipelines: set the output "
                             "variable `matrix` (a job matrix) and `count`; markdown: the PR comment's header")
    args = parser.parse_args(argv)

    try:
        changed = changed_paths(args.base, PROJECT_DIR) if args.base else list(args.changed)
    except (RuntimeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    affected = affected_stacks(changed, stacks_in(PROJECT_DIR))

    if args.format == "markdown":
        print(render_markdown(affected), end="")
        return 0
    if args.format == "github":
        output = environ.get("GITHUB_OUTPUT")
        if not output:
            print("error: --format github needs $GITHUB_OUTPUT", file=sys.stderr)
            return 2
        with Path(output).open("a", encoding="utf-8") as handle:
            handle.write(f"stacks={json.dumps(affected.stacks, separators=(',', ':'))}\n")
    elif args.format == "azure-pipelines":
        # A job matrix from an output variable: a JSON object of leg name -> variables
        # (https://learn.microsoft.com/en-us/azure/devops/pipelines/process/phases, "Multi-job configuration").
        matrix = {leg: {"stack": stack} for leg, stack in matrix_legs(affected.stacks).items()}
        print(f"##vso[task.setvariable variable=matrix;isOutput=true]{json.dumps(matrix, separators=(',', ':'))}")
        print(f"##vso[task.setvariable variable=count;isOutput=true]{len(affected.stacks)}")
    # Paths are the pull request author's text: only stack names (validated) go to a CI system's log,
    # where a path could otherwise pose as a logging command.
    print(render_text(affected) if args.format == "plain" else f"stacks: {', '.join(affected.stacks) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
