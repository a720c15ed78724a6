"""Which stack a git ref deploys: the one place that decides it, for GitHub Actions and Azure Pipelines.

The rule itself is configuration, `delivery/branches.yaml`: routes of branch pattern -> stack, the
first match wins, and a default for every other branch (today: `main` -> prod, anything else -> dev,
the convention of Azure's mlops-v2 template). Adding `release/*` -> staging is an edit of that file,
not of this code. A pull request previews the stack that *merging* it would deploy, so callers pass
the PR's base (target) branch. Tags, pull-request merge refs and anything else that is not a branch
are refused: a deployment that cannot say which branch it comes from must not guess.

Usage (the workflows call this instead of repeating the rule in YAML):

    python -m delivery.stack_for_ref --ref "$GITHUB_REF"                      # prints: prod
    python -m delivery.stack_for_ref --ref "$GITHUB_REF" --format github      # appends stack=... to $GITHUB_OUTPUT
    python -m delivery.stack_for_ref --ref "$(System.PullRequest.TargetBranch)" --format azure-pipelines
    python -m delivery.stack_for_ref --format azure-pipelines --pipeline-stacks '{"prod": "aml-private"}'

`--pipeline-stacks` is the Azure pipeline's `stacks` parameter as JSON: its Deploy stages are generated
at compile time, one per entry, so a chosen stack without an entry would deploy nothing; it fails
instead, naming the line to add.

The ref is read from an argument or the environment, never spliced into a shell line by the CI
system: branch names are chosen by whoever pushes them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import yaml

from delivery import safe_load

PROJECT_DIR = Path(__file__).resolve().parent.parent
BRANCHES_FILE = Path(__file__).resolve().parent / "branches.yaml"
# Pulumi's stack names: letters, digits, '-', '_' and '.'. Also what keeps a stack name from smuggling
# a logging command (`##vso[...]`) or a path into the CI output it is written to.
_STACK_NAME = re.compile(r"[A-Za-z0-9_.-]+")


class BranchConfigError(ValueError):
    """delivery/branches.yaml is not a valid routing table: one line that says what to fix."""


@dataclass(frozen=True)
class Route:
    """One line of the routing table: branches matching `pattern` deploy `stack`."""

    pattern: str
    """A branch glob: `*` within one path segment, `**` across segments, `?` one character."""
    stack: str
    """The stack those branches deploy (Pulumi.<stack>.yaml)."""

    def matches(self, branch: str) -> bool:
        return glob_regex(self.pattern).fullmatch(branch) is not None


@dataclass(frozen=True)
class Routes:
    """delivery/branches.yaml: the routes in order (first match wins) and the default stack."""

    routes: tuple[Route, ...]
    default: str

    def stack_for_branch(self, branch: str) -> str:
        return next((r.stack for r in self.routes if r.matches(branch)), self.default)

    @property
    def stacks(self) -> tuple[str, ...]:
        """Every stack the table can choose, in order of appearance, each once."""
        return tuple(dict.fromkeys([*(r.stack for r in self.routes), self.default]))


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A branch glob as a regular expression (the subset of GitHub's branch filters that routing needs)."""
    parts, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            parts.append(".*")
            i += 2
        elif pattern[i] == "*":
            parts.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            parts.append("[^/]")
            i += 1
        else:
            parts.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(parts))


def _stack_name(value: Any, where: str, source: str) -> str:
    if not isinstance(value, str) or not _STACK_NAME.fullmatch(value):
        raise BranchConfigError(f"{source}: {where}: {value!r} is not a stack name (letters, digits, '-', '_', '.')")
    return value


def parse_routes(document: Any, source: str = "delivery/branches.yaml") -> Routes:
    """`{"routes": [{"branch": "main", "stack": "prod"}], "default": "dev"}` -> Routes; a typo is an error."""
    if not isinstance(document, dict) or set(document) - {"routes", "default"}:
        raise BranchConfigError(f"{source}: must be a mapping with `routes` (a list) and `default` (a stack) only")
    if "default" not in document:
        raise BranchConfigError(f"{source}: `default` is missing: the stack every other branch deploys")
    entries = document.get("routes") or []
    if not isinstance(entries, list):
        raise BranchConfigError(f"{source}: `routes` must be a list of {{branch: PATTERN, stack: STACK}}")
    routes = []
    for index, entry in enumerate(entries):
        where = f"routes[{index}]"
        if not isinstance(entry, dict) or set(entry) != {"branch", "stack"}:
            raise BranchConfigError(f"{source}: {where}: must have exactly `branch` and `stack`, got {entry!r}")
        pattern = entry["branch"]
        if not isinstance(pattern, str) or not pattern.strip() or pattern != pattern.strip():
            raise BranchConfigError(f"{source}: {where}.branch: {pattern!r} is not a branch pattern")
        routes.append(Route(pattern, _stack_name(entry["stack"], f"{where}.stack", source)))
    return Routes(tuple(routes), _stack_name(document["default"], "default", source))


def load_routes(path: Optional[Path] = None) -> Routes:
    """The committed routing table (or the one at `path`)."""
    path = path or BRANCHES_FILE
    try:
        document = safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise BranchConfigError(f"{path}: cannot be read ({error.strerror})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise BranchConfigError(f"{path}{where}: not valid YAML ({getattr(error, 'problem', None) or error})") from None
    return parse_routes(document, str(path))


_BRANCH_PREFIX = "refs/heads/"
# git check-ref-format, the parts that matter here: no spaces, control characters, '..', '~^:?*[\'.
_VALID_BRANCH = re.compile(r"(?!.*\.\.)(?!/)(?!.*//)[^\x00-\x20\x7f~^:?*\[\\]+(?<![/.])")


class NotABranch(ValueError):
    """The ref does not name a branch, so no stack can be chosen for it."""


def branch_of(ref: str) -> str:
    """`refs/heads/feature/x` or `feature/x` -> `feature/x`; other refs (tags, PR merges) raise."""
    ref = ref.strip()
    if ref.startswith("refs/"):
        if not ref.startswith(_BRANCH_PREFIX):
            raise NotABranch(f"{ref!r} is not a branch ref (tags and pull-request refs deploy nothing)")
        ref = ref[len(_BRANCH_PREFIX):]
    if not ref or not _VALID_BRANCH.fullmatch(ref) or ref.endswith(".lock"):
        raise NotABranch(f"{ref!r} is not a valid branch name")
    return ref


def stack_for_ref(ref: str, routes: Optional[Routes] = None) -> str:
    """The stack a push to `ref` deploys (or a pull request into `ref` previews)."""
    return (routes or load_routes()).stack_for_branch(branch_of(ref))


def _ref_from_environment(environ: dict[str, str]) -> Optional[str]:
    # GitHub: the pull request's base branch when there is one, else the pushed ref.
    # Azure Pipelines: the PR's target branch when there is one, else the built branch.
    for name in ("GITHUB_BASE_REF", "GITHUB_REF", "SYSTEM_PULLREQUEST_TARGETBRANCH", "BUILD_SOURCEBRANCH"):
        value = environ.get(name, "").strip()
        if value:
            return value
    return None


PIPELINE_FILE = "pipelines/azure-pipelines.yml"


def _not_in_pipeline(stack: str, pipeline_stacks: str) -> Optional[str]:
    """Why the Azure pipeline cannot deploy `stack` (no Deploy stage generated for it), or None."""
    try:
        stacks = json.loads(pipeline_stacks)
    except json.JSONDecodeError as error:
        return f"--pipeline-stacks is not JSON ({error.msg}): pass ${{{{ convertToJson(parameters.stacks) }}}}"
    if not isinstance(stacks, (dict, list)):
        return "--pipeline-stacks must be the pipeline's `stacks` mapping (stack: agent pool)"
    if stack in stacks:
        return None
    return (f"delivery/branches.yaml routes this branch to stack {stack!r}, but {PIPELINE_FILE} has no Deploy stage "
            f"for it: add `{stack}: <its agents.pool>` under the `stacks` parameter's default")


def main(argv: Optional[Sequence[str]] = None, environ: Optional[dict[str, str]] = None) -> int:
    environ = dict(os.environ if environ is None else environ)
    parser = argparse.ArgumentParser(prog="python -m delivery.stack_for_ref", description=__doc__.splitlines()[0])
    parser.add_argument("--ref", help="branch or ref; defaults to the CI system's (PR base/target branch first)")
    parser.add_argument("--format", choices=("plain", "github", "azure-pipelines"), default="plain",
                        help="plain: print the stack; github: append stack=... to $GITHUB_OUTPUT; "
                             "azure-pipelines: set the output variable `stack`")
    parser.add_argument("--pipeline-stacks", metavar="JSON",
                        help="the stacks the Azure pipeline has Deploy stages for (its `stacks` parameter as JSON): "
                             "routing to any other stack is an error")
    args = parser.parse_args(argv)

    ref = args.ref or _ref_from_environment(environ)
    if not ref:
        print("error: no --ref given and no CI ref in the environment", file=sys.stderr)
        return 2
    try:
        stack = stack_for_ref(ref)
    except (NotABranch, BranchConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    if args.pipeline_stacks is not None:
        problem = _not_in_pipeline(stack, args.pipeline_stacks)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 1

    if args.format == "github":
        output = environ.get("GITHUB_OUTPUT")
        if not output:
            print("error: --format github needs $GITHUB_OUTPUT", file=sys.stderr)
            return 2
        with Path(output).open("a", encoding="utf-8") as handle:
            handle.write(f"stack={stack}\n")
    elif args.format == "azure-pipelines":
        # The value is a validated stack name from delivery/branches.yaml, never the ref itself, so no
        # logging command can be smuggled in.
        print(f"##vso[task.setvariable variable=stack;isOutput=true]{stack}")
    print(stack if args.format == "plain" else f"{ref} -> stack {stack}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
