"""Enforcement levels per stack. One place decides: `policy/config/<stack>.json`.

The files are Pulumi's own policy-pack config format, so the same file is what
`pulumi preview --policy-pack policy --policy-pack-config policy/config/prod.json` (and
`pulumi/actions`' `policyPackConfigs`) hands the pack, what the pack applies by itself when the CLI
tells it the stack (`PULUMI_STACK`), and what the offline preview reads (`policy.offline`).

Resolution is the CLI's (`ReconcilePolicyPackConfig`): every policy starts at the pack's default,
an `"all"` entry overrides every policy, then a policy's own entry overrides that. A stack without a
file keeps the default, `mandatory`: a new stack is held to production's standard until someone
decides otherwise in a file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

CONFIG_DIR = Path(__file__).resolve().parent / "config"
ALL = "all"
MANDATORY, ADVISORY, DISABLED = "mandatory", "advisory", "disabled"
# "remediate" is a valid CrossGuard level, but these rules only validate: it would act as mandatory.
LEVELS = (MANDATORY, ADVISORY, DISABLED)
PACK_DEFAULT = MANDATORY


class PolicyConfigError(ValueError):
    """A pack config file names an unknown policy or level: a typo must not silently weaken a rule."""


def stack_short_name(stack: str) -> str:
    """`org/project/prod` (a fully qualified stack) -> `prod`."""
    return stack.rsplit("/", 1)[-1]


def config_path(stack: str) -> Path:
    return CONFIG_DIR / f"{stack_short_name(stack)}.json"


def parse_config(document: Any, policy_names: Iterable[str], source: str = "policy pack config") -> dict[str, str]:
    """`{"all": "advisory", "rule": {"enforcementLevel": "disabled"}}` -> {"all": "advisory", "rule": "disabled"}."""
    if not isinstance(document, Mapping):
        raise PolicyConfigError(f"{source}: must be a JSON object of policy name -> enforcement level")
    known = set(policy_names) | {ALL}
    levels: dict[str, str] = {}
    for key, value in document.items():
        if key not in known:
            raise PolicyConfigError(f"{source}: {key!r} is not a policy of this pack")
        level = value.get("enforcementLevel") if isinstance(value, Mapping) else value
        if isinstance(value, Mapping) and set(value) - {"enforcementLevel"}:
            raise PolicyConfigError(f"{source}: {key!r}: these policies take no properties, only enforcementLevel")
        if level not in LEVELS:
            raise PolicyConfigError(f"{source}: {key!r}: enforcement level {level!r} is not one of {', '.join(LEVELS)}")
        levels[key] = level
    return levels


def load_config(path: Path, policy_names: Iterable[str]) -> dict[str, str]:
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise PolicyConfigError(f"{path}: not valid JSON ({error})") from error
    return parse_config(document, policy_names, str(path))


def config_for_stack(stack: Optional[str], policy_names: Iterable[str]) -> dict[str, str]:
    """The stack's committed config, or {} (the pack default applies) when it has none."""
    if not stack:
        return {}
    path = config_path(stack)
    return load_config(path, policy_names) if path.exists() else {}


def resolve_levels(config: Mapping[str, str], policy_names: Iterable[str],
                   default: str = PACK_DEFAULT) -> dict[str, str]:
    """Each policy's enforcement level, resolved the way the Pulumi CLI resolves pack config."""
    names = list(policy_names)
    levels = {name: config.get(ALL, default) for name in names}
    levels.update({name: level for name, level in config.items() if name != ALL})
    return levels
