"""The pack's verdict on an offline run: what `pulumi preview --policy-pack policy` would report.

`check_run(run, stack)` evaluates the same rules over the offline engine's registrations and applies
the same enforcement levels the pack applies for that stack (`policy/config/<stack>.json`), so a pull
request sees the pack's findings without cloud credentials. `python -m offline preview --policy`
prints them and fails when any is mandatory.

One difference, in the offline preview's favour: it knows which values are Pulumi secrets, so the
rules that need that (`Rule.needs_secrets`) run here, while CrossGuard reports them not applicable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Optional, Sequence

from policy.adapters import views
from policy.enforcement import DISABLED, MANDATORY, config_for_stack, resolve_levels
from policy.rules import RULES, ResourceView, evaluate

if TYPE_CHECKING:
    from offline.engine import StackRun


@dataclass(frozen=True)
class Finding:
    """One violation with the enforcement level the pack would give it for this stack."""

    rule: str
    urn: str
    message: str
    enforcement: str
    """`mandatory` (blocks `pulumi up`, fails the offline preview) or `advisory` (a warning)."""

    @property
    def mandatory(self) -> bool:
        return self.enforcement == MANDATORY


def enforcement_levels(stack: Optional[str]) -> dict[str, str]:
    """Every rule's level for `stack`, from its committed config (pack default without one)."""
    names = [r.name for r in RULES]
    return resolve_levels(config_for_stack(stack, names), names)


def check_views(resources: Sequence[ResourceView], levels: Mapping[str, str]) -> list[Finding]:
    """Violations with their levels; disabled rules are not run at all, as in the pack."""
    enabled = [name for name, level in levels.items() if level != DISABLED]
    return [Finding(v.rule, v.urn, v.message, levels[v.rule]) for v in evaluate(resources, only=enabled)]


def check_run(run: "StackRun", stack: str) -> list[Finding]:
    """What the pack reports for `stack`, given the offline run of that stack's program."""
    return check_views(views(run), enforcement_levels(stack))


def has_mandatory(findings: Sequence[Finding]) -> bool:
    return any(f.mandatory for f in findings)
