"""The pack's verdict on an offline run: what `pulumi preview --policy-pack policy` would report.

`check_run(run, stack)` evaluates the same rules over the offline engine's registrations and applies
the same enforcement levels the pack applies for that stack (`policy/config/<stack>.json`, or the
default for a stack without one: `policy.enforcement`), so a pull request sees the pack's findings
without cloud credentials. A finding that the stack file causes names the key that fixes it.
`python -m offline preview --policy` prints them and fails when any is mandatory.

One difference, in the offline preview's favour: it knows which values are Pulumi secrets, so the
rules that need that (`Rule.needs_secrets`) run here, while CrossGuard reports them not applicable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from isolated_mlops.components.config import PROJECT_NAMESPACE
from isolated_mlops.policy.adapters import views
from isolated_mlops.policy.enforcement import DISABLED, MANDATORY, config_for_stack, fix_for, resolve_levels
from isolated_mlops.policy.rules import RULES, ResourceView, evaluate
from offline.engine import StackRun


@dataclass(frozen=True)
class Finding:
    """One violation with the enforcement level the pack would give it for this stack."""

    rule: str
    urn: str
    message: str
    enforcement: str
    """`mandatory` (blocks `pulumi up`, fails the offline preview) or `advisory` (a warning)."""
    fix: Optional[str] = None
    """The stack-file key (or policy level) that clears it, when the stack file causes it."""

    @property
    def mandatory(self) -> bool:
        return self.enforcement == MANDATORY


def run_config(run: StackRun) -> dict[str, Any]:
    """Our keys (no namespace) as the run's program received them."""
    prefix = f"{PROJECT_NAMESPACE}:"
    return {k[len(prefix):]: v for k, v in run.config.items() if k.startswith(prefix)}


def enforcement_levels(stack: Optional[str], stack_config: Optional[Mapping[str, Any]] = None) -> dict[str, str]:
    """Every rule's level for `stack`: its committed config, or the default for what its stack file
    says (`stack_config`; read from `Pulumi.<stack>.yaml` when not given)."""
    names = [r.name for r in RULES]
    return resolve_levels(config_for_stack(stack, names, stack_config), names)


def check_views(resources: Sequence[ResourceView], levels: Mapping[str, str], stack: Optional[str] = None,
                stack_config: Optional[Mapping[str, Any]] = None) -> list[Finding]:
    """Violations with their levels (and fixes, given the stack); disabled rules are not run, as in the pack."""
    enabled = [name for name, level in levels.items() if level != DISABLED]
    return [Finding(v.rule, v.urn, v.message, levels[v.rule],
                    fix_for(v.rule, stack, stack_config or {}, levels[v.rule]) if stack else None)
            for v in evaluate(resources, only=enabled)]


def check_run(run: StackRun, stack: str) -> list[Finding]:
    """What the pack reports for `stack`, given the offline run of that stack's program (whose config
    is what the stack file said)."""
    config = run_config(run)
    return check_views(views(run), enforcement_levels(stack, config), stack, config)


def has_mandatory(findings: Sequence[Finding]) -> bool:
    return any(f.mandatory for f in findings)
