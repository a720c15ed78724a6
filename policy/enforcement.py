"""Enforcement levels per stack, and what fixes a finding. One place decides both.

`policy/config/<stack>.json` holds a stack's levels. The files are Pulumi's own policy-pack config
format, so the same file is what `pulumi preview --policy-pack policy --policy-pack-config ...` (and
`pulumi/actions`' `policyPackConfigs`) hands the pack, what the pack applies by itself when the CLI
tells it the stack (`PULUMI_STACK`), and what the offline preview reads (`offline.policy_check`).

Resolution is the CLI's (`ReconcilePolicyPackConfig`): every policy starts at the pack's default,
an `"all"` entry overrides every policy, then a policy's own entry overrides that.

A stack without its own file (a new environment: `Pulumi.<stack>.yaml` is all it takes) gets the
DEFAULT levels: every rule mandatory, held to production's standard, except a rule whose stack-file
key states what the environment is meant to be (`STACK_KEYS`, `states_intent`): that rule follows
the stack file. Today that is one rule: `stateful-resources-protected` is disabled where the stack
file says `protectStatefulResources: false` (the environment is declared deletable, as dev is) and
mandatory otherwise (then it checks that the program protects what the file asks it to). Keys that
open the platform up (`workspacePublicAccess`) never lower a level: only a committed
`policy/config/<stack>.json` does.

`python -m isolated_mlops.policy.enforcement --stack staging` prints a stack's resolved levels as a pack
config file: CI hands that to `--policy-pack-config`, so a stack without its own file deploys too. It
runs by the package's name: `-m policy.enforcement` would import `policy/` a second time, as `policy`.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

import yaml

from isolated_mlops.components.config import PROJECT_NAMESPACE
from isolated_mlops.yaml_text import safe_load as _safe_load

CONFIG_DIR = Path(__file__).resolve().parent / "config"
PROJECT_DIR = CONFIG_DIR.parent.parent
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


@dataclass(frozen=True)
class StackKey:
    """The stack-file key that decides whether a rule passes, where one does."""

    key: str
    """Without the namespace: `protectStatefulResources`."""
    passes_with: bool
    """The value with which the program satisfies the rule."""
    states_intent: bool = False
    """The key says what the environment is meant to be, not how it is built: without its own
    policy config, a stack's level for the rule follows it (disabled when the key is the other value)."""


# Rule -> the stack-file key that fixes it. Only rules a stack file can break are here: the rest
# (zones, peering, NSGs, ...) come from the code, and config validation refuses the values that would
# break them (a /27 Bastion subnet, minNodes above 0) before any resource exists.
STACK_KEYS: dict[str, StackKey] = {
    "stateful-resources-protected": StackKey("protectStatefulResources", True, states_intent=True),
    "aml-workspace-private": StackKey("workspacePublicAccess", False),
}


def _flag(value: Any) -> Optional[bool]:
    """A boolean as a stack file (true) or the CLI's wire config ("true") spells it; None if neither."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def stack_file_config(stack: str, project_dir: Optional[Path] = None) -> dict[str, Any]:
    """Our keys (no namespace) from `Pulumi.<stack>.yaml`, or {} when there is no such file."""
    path = (project_dir or PROJECT_DIR) / f"Pulumi.{stack_short_name(stack)}.yaml"
    if not path.exists():
        return {}
    try:
        document = _safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise PolicyConfigError(f"{path.name}{where}: not valid YAML ({getattr(error, 'problem', None) or error})") from None
    config = document.get("config") if isinstance(document, Mapping) else None
    prefix = f"{PROJECT_NAMESPACE}:"
    return {k[len(prefix):]: v for k, v in (config or {}).items() if isinstance(k, str) and k.startswith(prefix)}


def default_config(stack_config: Mapping[str, Any]) -> dict[str, str]:
    """DEFAULT: the levels of a stack without `policy/config/<stack>.json` (see the module docstring)."""
    config = {ALL: MANDATORY}
    for rule, key in STACK_KEYS.items():
        if key.states_intent and _flag(stack_config.get(key.key)) == (not key.passes_with):
            config[rule] = DISABLED
    return config


def levels_source(stack: Optional[str]) -> str:
    """Where a stack's levels come from, for a reader: its file, or the default."""
    if stack and config_path(stack).exists():
        return f"policy/config/{stack_short_name(stack)}.json"
    name = stack_short_name(stack) if stack else "<stack>"
    return f"the default of policy/enforcement.py, as there is no policy/config/{name}.json"


def fix_for(rule: str, stack: str, stack_config: Mapping[str, Any], level: str) -> Optional[str]:
    """The config change that clears `rule`'s finding in `stack`, when its stack file causes it."""
    key = STACK_KEYS.get(rule)
    if key is None or _flag(stack_config.get(key.key)) == key.passes_with:
        return None  # the stack file asks for the right thing: the program is at fault, not the config
    short = stack_short_name(stack)
    wanted = "true" if key.passes_with else "false"
    other = "disabled" if key.states_intent else "advisory"
    now = (f"it is {level} there now" if config_path(stack).exists()
           else f"a new file, which replaces the default levels; {level} by default now")
    return (f"set {PROJECT_NAMESPACE}:{key.key}: {wanted} in Pulumi.{short}.yaml, or set "
            f"\"{rule}\": \"{other}\" in policy/config/{short}.json ({now})")


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


def config_for_stack(stack: Optional[str], policy_names: Iterable[str],
                     stack_config: Optional[Mapping[str, Any]] = None) -> dict[str, str]:
    """The stack's committed config; without one, the DEFAULT for what its stack file says.

    stack_config: the stack's keys as the program got them; read from `Pulumi.<stack>.yaml` when not
    given. No stack at all (the CLI did not say): {}, the pack default (mandatory) applies.
    """
    if not stack:
        return {}
    path = config_path(stack)
    if path.exists():
        return load_config(path, policy_names)
    return default_config(stack_file_config(stack) if stack_config is None else stack_config)


def resolve_levels(config: Mapping[str, str], policy_names: Iterable[str],
                   default: str = PACK_DEFAULT) -> dict[str, str]:
    """Each policy's enforcement level, resolved the way the Pulumi CLI resolves pack config."""
    names = list(policy_names)
    levels = {name: config.get(ALL, default) for name in names}
    levels.update({name: level for name, level in config.items() if name != ALL})
    return levels


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Print a stack's resolved levels as a policy-pack config file (every rule named)."""
    from isolated_mlops.policy.rules import RULES

    parser = argparse.ArgumentParser(prog="python -m isolated_mlops.policy.enforcement", description=main.__doc__)
    parser.add_argument("--stack", required=True, help="the stack: Pulumi.<stack>.yaml")
    args = parser.parse_args(argv)
    names = [r.name for r in RULES]
    if not (PROJECT_DIR / f"Pulumi.{stack_short_name(args.stack)}.yaml").exists():
        print(f"error: no stack file Pulumi.{stack_short_name(args.stack)}.yaml", file=sys.stderr)
        return 2
    try:
        levels = resolve_levels(config_for_stack(args.stack, names), names)
    except PolicyConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(levels, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
