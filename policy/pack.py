"""The CrossGuard policy pack, built from `policy.rules.RULES`; importable without starting anything.

`policy/__main__.py` only calls `pack_arguments(...)` and hands the result to `PolicyPack(...)`,
which starts the gRPC server and blocks. Everything that decides something lives here, so tests can
build the very same policies and drive them the way the engine does.

How each rule runs:
- A per-resource rule (`Rule.per_resource`) becomes a `ResourceValidationPolicy`: the engine calls
  it with the resource's inputs *before* creating or updating it, so `pulumi up` stops before the
  bad resource exists.
- A rule that needs neighbours (endpoints and their zone groups, zones and their links, peerings,
  NSGs and subnets, ...) becomes a `StackValidationPolicy`, which sees every resource with its
  dependencies. Stack policies get outputs, not inputs; `InputsSeen` gives them back the inputs
  (see `policy.adapters`).
- Rules that need to know which values are secrets cannot run in CrossGuard (the SDK unwraps
  secrets first); they report "not applicable" there and run in the offline preview.
"""

from __future__ import annotations

import threading
from typing import Any, Mapping, Optional, Sequence

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from isolated_mlops.policy.adapters import from_policy_resource, policy_props
from isolated_mlops.policy.enforcement import (
    DISABLED,
    MANDATORY,
    PACK_DEFAULT,
    STACK_KEYS,
    config_for_stack,
    fix_for,
    resolve_levels,
    stack_file_config,
)
from isolated_mlops.policy.rules import RULES, ResourceView, Rule

__all__ = ["PACK_DESCRIPTION", "PACK_NAME", "SECRETS_NOT_VISIBLE", "InputsSeen", "build_policies",
    "initial_config", "pack_arguments", "resource_policy", "rules_table", "stack_fixes", "stack_policy"]


PACK_NAME = "isolated-mlops-guardrails"
PACK_DESCRIPTION = ("Guardrails for the network-isolated Azure ML platform: private endpoints and DNS, "
                    "no public ingress but Bastion, hardened workspace dependencies, production protections.")
SECRETS_NOT_VISIBLE = ("CrossGuard unwraps secrets before a policy sees them, so this rule cannot tell a "
                       "secret from plain text here; `python -m offline preview --policy` runs it.")


class InputsSeen:
    """The inputs of every resource, as the engine showed them to the resource policies.

    The engine calls Analyze (resource policies) for every resource of the program before it calls
    AnalyzeStack once at the end, in the same pack process; the servicer answers on a thread pool.
    Every resource policy records the props it was handed (the SDK deserializes them anew for each
    policy; the latest wins); they are made plain once, when a stack policy first asks, so a resource
    policy whose types do not include the resource converts nothing.
    """

    def __init__(self) -> None:
        self._props: dict[str, Mapping[str, Any]] = {}
        self._plain: dict[str, Mapping[str, Any]] = {}
        self._lock = threading.Lock()

    def record(self, urn: str, props: Mapping[str, Any]) -> None:
        with self._lock:
            self._props[urn] = props
            self._plain.pop(urn, None)

    def get(self, urn: str) -> Optional[Mapping[str, Any]]:
        with self._lock:
            if urn not in self._plain:
                if urn not in self._props:
                    return None
                self._plain[urn] = policy_props(self._props[urn])[0]
            return self._plain[urn]


def _with_fix(message: str, fix: Optional[str]) -> str:
    return f"{message} (to fix: {fix})" if fix else message


def resource_policy(rule: Rule, seen: InputsSeen, fix: Optional[str] = None) -> ResourceValidationPolicy:
    assert rule.per_resource and rule.check_one is not None, rule.name
    check_one = rule.check_one

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        seen.record(args.urn, args.props)
        if args.resource_type not in rule.resource_types:
            return
        view = from_policy_resource(args)
        if rule.needs_secrets and not view.secrets_known:
            args.not_applicable(SECRETS_NOT_VISIBLE)
        for message in check_one(view):
            report_violation(_with_fix(message, fix), None)

    return ResourceValidationPolicy(name=rule.name, description=rule.description, validate=validate)


def stack_policy(rule: Rule, seen: InputsSeen, fix: Optional[str] = None) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        if rule.needs_secrets:
            args.not_applicable(SECRETS_NOT_VISIBLE)
        resources = [from_policy_resource(r, seen.get(r.urn)) for r in args.resources]
        for urn, message in rule.check(resources):
            report_violation(_with_fix(message, fix), urn)

    return StackValidationPolicy(name=rule.name, description=rule.description, validate=validate)


def build_policies(rules: Sequence[Rule] = RULES, seen: Optional[InputsSeen] = None,
                   fixes: Optional[Mapping[str, Optional[str]]] = None) -> list[Policy]:
    """One CrossGuard policy per rule, same name and description; `fixes`: rule -> the stack-file key
    that clears its violations in this stack (`policy.enforcement.fix_for`)."""
    seen = seen if seen is not None else InputsSeen()
    fixes = fixes or {}
    return [resource_policy(r, seen, fixes.get(r.name)) if r.per_resource else stack_policy(r, seen, fixes.get(r.name))
            for r in rules]


def initial_config(stack: Optional[str], rules: Sequence[Rule] = RULES) -> dict[str, EnforcementLevel]:
    """The stack's enforcement levels (policy/config/<stack>.json, or the default for what its stack
    file says), as the SDK takes them.

    The CLI applies these first and `--policy-pack-config` on top, so an explicit file still wins.
    """
    return {name: EnforcementLevel(level) for name, level in config_for_stack(stack, [r.name for r in rules]).items()}


def stack_fixes(stack: Optional[str], rules: Sequence[Rule] = RULES) -> dict[str, Optional[str]]:
    """Rule -> what in the stack's files clears its violations (read from `Pulumi.<stack>.yaml`)."""
    if not stack:
        return {}
    names = [r.name for r in rules]
    stack_config = stack_file_config(stack)
    levels = resolve_levels(config_for_stack(stack, names, stack_config), names)
    return {name: fix_for(name, stack, stack_config, levels[name]) for name in names}


def pack_arguments(stack: Optional[str]) -> dict[str, Any]:
    """Everything `PolicyPack(...)` is given. `stack`: the stack the CLI runs the pack for, if it says."""
    return {
        "name": PACK_NAME,
        "description": PACK_DESCRIPTION,
        "policies": build_policies(fixes=stack_fixes(stack)),
        "enforcement_level": EnforcementLevel(PACK_DEFAULT),
        "initial_config": initial_config(stack) or None,
    }


def rules_table(stacks: Sequence[str] = ("prod", "dev"), rules: Sequence[Rule] = RULES) -> str:
    """The rules as a Markdown table: how each runs, its level per stack and in a stack without its own
    config (the default), the stack-file key that fixes it where there is one, and where Microsoft
    documents what it enforces (docs/policy.md holds it)."""
    names = [r.name for r in rules]
    levels = {stack: resolve_levels(config_for_stack(stack, names), names) for stack in stacks}
    lines = [f"| rule | runs as | {' | '.join(stacks)} | any other stack | fixed in the stack file by | checks | source |",
             "|---|---|" + "---|" * len(stacks) + "---|---|---|---|"]
    for r in rules:
        kind = "resource policy" if r.per_resource else "stack policy"
        if r.needs_secrets:
            kind += " (secrets: offline preview only)"
        stack_levels = " | ".join(levels[stack][r.name] for stack in stacks)
        key = STACK_KEYS.get(r.name)
        default = (f"{MANDATORY}; {DISABLED} where `{key.key}: {str(not key.passes_with).lower()}`"
                   if key and key.states_intent else MANDATORY)
        fixed_by = f"`{key.key}: {str(key.passes_with).lower()}`" if key else ""
        sources = " ".join(f"[{i}]({url})" for i, url in enumerate(r.sources, 1))
        lines.append(f"| `{r.name}` | {kind} | {stack_levels} | {default} | {fixed_by} | {r.description} | {sources} |")
    return "\n".join(lines)
