"""Which stack a git ref deploys: the one place that decides it, for GitHub Actions and Azure Pipelines.

The convention is Azure's mlops-v2 template: the production branch deploys `prod`, every other
branch deploys `dev`. A pull request previews the stack that *merging* it would deploy, so callers
pass the PR's base (target) branch. Tags, pull-request merge refs and anything else that is not a
branch are refused: a deployment that cannot say which branch it comes from must not guess.

Usage (the workflows call this instead of repeating the rule in YAML):

    python -m delivery.stack_for_ref --ref "$GITHUB_REF"                      # prints: prod
    python -m delivery.stack_for_ref --ref "$GITHUB_REF" --format github      # appends stack=... to $GITHUB_OUTPUT
    python -m delivery.stack_for_ref --ref "$(System.PullRequest.TargetBranch)" --format azure-pipelines

The ref is read from an argument or the environment, never spliced into a shell line by the CI
system: branch names are chosen by whoever pushes them.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Optional, Sequence

PRODUCTION_BRANCH = "main"
PRODUCTION_STACK = "prod"
DEVELOPMENT_STACK = "dev"
STACKS = (DEVELOPMENT_STACK, PRODUCTION_STACK)

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


def stack_for_ref(ref: str) -> str:
    """The stack a push to `ref` deploys (or a pull request into `ref` previews)."""
    return PRODUCTION_STACK if branch_of(ref) == PRODUCTION_BRANCH else DEVELOPMENT_STACK


def _ref_from_environment(environ: dict[str, str]) -> Optional[str]:
    # GitHub: the pull request's base branch when there is one, else the pushed ref.
    # Azure Pipelines: the PR's target branch when there is one, else the built branch.
    for name in ("GITHUB_BASE_REF", "GITHUB_REF", "SYSTEM_PULLREQUEST_TARGETBRANCH", "BUILD_SOURCEBRANCH"):
        value = environ.get(name, "").strip()
        if value:
            return value
    return None


def main(argv: Optional[Sequence[str]] = None, environ: Optional[dict[str, str]] = None) -> int:
    environ = dict(os.environ if environ is None else environ)
    parser = argparse.ArgumentParser(prog="python -m delivery.stack_for_ref", description=__doc__.splitlines()[0])
    parser.add_argument("--ref", help="branch or ref; defaults to the CI system's (PR base/target branch first)")
    parser.add_argument("--format", choices=("plain", "github", "azure-pipelines"), default="plain",
                        help="plain: print the stack; github: append stack=... to $GITHUB_OUTPUT; "
                             "azure-pipelines: set the output variable `stack`")
    args = parser.parse_args(argv)

    ref = args.ref or _ref_from_environment(environ)
    if not ref:
        print("error: no --ref given and no CI ref in the environment", file=sys.stderr)
        return 2
    try:
        stack = stack_for_ref(ref)
    except NotABranch as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    if args.format == "github":
        output = environ.get("GITHUB_OUTPUT")
        if not output:
            print("error: --format github needs $GITHUB_OUTPUT", file=sys.stderr)
            return 2
        with Path(output).open("a", encoding="utf-8") as handle:
            handle.write(f"stack={stack}\n")
    elif args.format == "azure-pipelines":
        # The value is one of STACKS, never the ref itself, so no logging command can be smuggled in.
        print(f"##vso[task.setvariable variable=stack;isOutput=true]{stack}")
    print(stack if args.format == "plain" else f"{ref} -> stack {stack}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
