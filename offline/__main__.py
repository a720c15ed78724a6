"""`python -m offline`: preview, diff, diagram and critical path of the real program, without Azure.

    python -m offline preview --stack prod [--details] [--policy] [--json]
    python -m offline diff --stack prod --against-ref origin/main [--format markdown]
    python -m offline diff --stack prod --against dev       # how prod differs from dev
    python -m offline diagram --stack prod > prod.mmd   # the topology; --view dependencies for the deploy graph
    python -m offline critical-path --stack prod
    python -m offline cost --stack prod     # the monthly estimate per resource, at list prices

Exit status: 0 done; 1 the program failed (a bad stack file: one line per problem, never a traceback),
or `preview --policy` found a mandatory violation; 2 a stack, revision or file that does not exist. A diff that shows trouble (a rule broken, a protected
resource replaced) still exits 0: it is a report, and the tests are the gate.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

from offline import diff as stack_diff
from offline import cost as stack_cost
from offline import graph, preview, snapshot, topology
from offline.config_check import config_error
from offline.engine import PROJECT_DIR, StackFileError, StackRun, project_name, run_stack
from offline.process import short_lived

USAGE_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m offline",
        description="The program under Pulumi mocks: no Azure credentials, no Pulumi CLI, no state.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("preview", help="every resource the stack declares, as `pulumi preview` would list it")
    p.add_argument("--stack", required=True, help="the stack file to run: Pulumi.<stack>.yaml")
    p.add_argument("--details", action="store_true", help="also show each resource's inputs (secrets masked)")
    p.add_argument("--policy", action="store_true",
                   help="also run the policy pack's rules with this stack's levels (policy/config/<stack>.json); "
                        "a mandatory violation fails")
    p.add_argument("--json", action="store_true",
                   help="print the preview as `pulumi preview --json` does (steps[], changeSummary); "
                        "the file is also a side for `diff --against FILE.json`")
    # Where the program lives; used by `diff REV:STACK` to run an older program with this engine.
    p.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)

    d = commands.add_parser(
        "diff", help="what would change if this working tree's STACK were deployed over another version of it",
        description="The new side is STACK as this working tree declares it; the old side is the same stack at "
                    "a git revision (--against-ref, default HEAD), or another stack or a FILE.json from "
                    "`preview --json` (--against). Another stack is a comparison of environments (what is only in one, "
                    "what differs), without the data-loss and refusal verdicts of a change to one stack. Also runs "
                    "the platform rules on the new side.")
    d.add_argument("--stack", required=True, help="the stack file to compare: Pulumi.<stack>.yaml")
    old_side = d.add_mutually_exclusive_group()
    old_side.add_argument("--against-ref", metavar="REVISION", default="HEAD",
                          help="compare with STACK as committed at REVISION, e.g. origin/main (default: HEAD)")
    old_side.add_argument("--against", metavar="SOURCE",
                          help="compare with another stack of this working tree (dev), REVISION:STACK, or FILE.json")
    d.add_argument("--format", choices=("text", "markdown"), default="text",
                   help="markdown: the pull-request comment, with the diagram")

    g = commands.add_parser(
        "diagram", help="a Mermaid flowchart of the topology (or of the deploy dependencies)",
        description="topology: VNets and subnets, what sits in each, peering, private endpoints to their targets "
                    "and zones, who may connect where. dependencies: components as boxes, arrows to what waits, "
                    "the critical path in red.")
    g.add_argument("--stack", required=True)
    g.add_argument("--view", choices=("topology", "dependencies"), default="topology")

    c = commands.add_parser("critical-path", help="the chain of dependencies that decides how long `pulumi up` takes")
    c.add_argument("--stack", required=True)

    m = commands.add_parser(
        "cost", help="the monthly estimate per resource and in total, at list prices (offline/prices.py)",
        description="Fixed items over 730 hours; usage items under the assumptions listed at the end, which "
                    "the stack file may override under isolated-mlops:costAssumptions. Unknown prices are "
                    "listed as unknown and left out of the total.")
    m.add_argument("--stack", required=True)
    return parser


def _run(stack: str, project_dir: Path = PROJECT_DIR) -> Optional[StackRun]:
    """The stack's run, or None after saying why there is none. A stack file the program's own check
    refuses is reported without running the program: what the run would end with, in a fraction of
    its time (offline/config_check.py)."""
    try:
        refused = config_error(stack, project_dir)
        run = (run_stack(stack, project_dir=project_dir) if refused is None else
               StackRun(stack=stack, project=project_name(project_dir), resources=[], exports={}, error=refused))
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    if run.error is not None:
        print(preview.render_error(run), file=sys.stderr)
    return run


def _preview(args: argparse.Namespace) -> int:
    project_dir = args.project_dir.resolve()
    if project_dir != PROJECT_DIR:
        # Another checkout (`diff main:prod` runs one in a child process): its program imports its own
        # library, as `pulumi` run in that folder would. The child finds the revision's `isolated_mlops`
        # first (offline/snapshot.py, `_import_path`); a revision from before the package imports its
        # folders by their bare names, found here. The only sys.path edit outside the tests
        # (tests/test_package.py allows it here and nowhere else).
        sys.path.insert(0, str(project_dir))
    if args.json:
        try:
            run = run_stack(args.stack, project_dir=project_dir)
        except FileNotFoundError as error:
            print(f"error: {error}", file=sys.stderr)
            return USAGE_ERROR
        print(json.dumps(snapshot.to_document(run), indent=4))
        if run.error is not None:
            print(preview.render_error(run), file=sys.stderr)
        return 0 if run.error is None else 1

    found = _run(args.stack, project_dir)
    if found is None:
        return USAGE_ERROR
    run = found
    if run.error is not None:
        return 1
    print(preview.render(run, details=args.details))
    if not args.policy:
        return 0
    findings, rules_run = _policy(run)
    print()
    print(preview.render_findings(run, findings, rules_run))
    return 1 if any(f.mandatory for f in findings) else 0


def _policy(run: StackRun) -> tuple[list, int]:
    """What the policy pack reports for this stack (its levels from policy/config/<stack>.json, or the
    default for a stack without one), and how many rules ran (a disabled one does not)."""
    from offline import policy_check as policy_offline
    from isolated_mlops.policy.enforcement import DISABLED

    levels = policy_offline.enforcement_levels(run.stack, policy_offline.run_config(run))
    return policy_offline.check_run(run, run.stack), sum(1 for level in levels.values() if level != DISABLED)


def _diff(args: argparse.Namespace) -> int:
    old_spec = args.against or f"{args.against_ref}:{args.stack}"
    runs = []
    for spec in (old_spec, args.stack):
        try:
            run = snapshot.load(spec)
        except snapshot.SourceError as error:
            print(f"error: {error}", file=sys.stderr)
            return USAGE_ERROR
        if run.error is not None:
            print(f"error: {spec}: the program failed:\n{run.error}", file=sys.stderr)
            return 1
        runs.append(run)
    old, new = runs
    findings, rules_run = _policy(new)
    report = stack_diff.Report(
        diff=stack_diff.compare(old, new), old=old, new=new,
        old_label=args.against or f"{args.stack} at {args.against_ref}", new_label=f"{args.stack} in the working tree",
        findings=findings, rules_run=rules_run)
    if args.format == "markdown":
        against = f"--against {args.against}" if args.against else f"--against-ref {args.against_ref}"
        print(stack_diff.render_markdown(report, f"python -m offline diff --stack {args.stack} {against}"), end="")
    else:
        print(stack_diff.render_text(report))
    # A finished diff succeeds even when it shows trouble: the report must reach the pull request,
    # and the tests (which run the same rules) are the gate.
    return 0


def _diagram(args: argparse.Namespace) -> int:
    run = _run(args.stack)
    if run is None or run.error is not None:
        return USAGE_ERROR if run is None else 1
    if args.view == "topology":
        sys.stdout.write(topology.mermaid(run))
        return 0
    path = graph.critical_path(graph.DependencyGraph.of(run))
    sys.stdout.write(graph.mermaid(run, highlight=[step.resource.urn for step in path.steps]))
    return 0


def _critical_path(args: argparse.Namespace) -> int:
    run = _run(args.stack)
    if run is None or run.error is not None:
        return USAGE_ERROR if run is None else 1
    print(graph.render_critical_path(run, graph.critical_path(graph.DependencyGraph.of(run))))
    return 0


def _cost(args: argparse.Namespace) -> int:
    run = _run(args.stack)
    if run is None or run.error is not None:
        return USAGE_ERROR if run is None else 1
    try:
        print(stack_cost.render_text(stack_cost.estimate(run)))
    except stack_cost.AssumptionsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


COMMANDS = {"preview": _preview, "diff": _diff, "diagram": _diagram, "critical-path": _critical_path,
            "cost": _cost}


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "preview" and args.json and args.policy:
        _parser().error("--json prints the preview document only; run --policy without it")
    try:
        return COMMANDS[args.command](args)
    except StackFileError as error:
        # A stack file YAML cannot read is the user's to fix: where and what, never a traceback.
        print(f"error: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `python -m offline preview ... | head`: the reader stopped reading, which is not our failure.
        # Point stdout at /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    with short_lived():  # the cycle collector off for this short process: see offline/process.py
        code = main()
    sys.exit(code)
