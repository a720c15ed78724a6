"""The program's own check of a stack file, run without the program: `python -m offline` reports a
stack file the program would refuse in a fraction of a run's time (offline/__main__.py, `_run`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pulumi

from offline.engine import PROJECT_DIR, _wire_config, default_secrets, program_config, project_name, stack_values


def config_error(stack: str, project_dir: Path = PROJECT_DIR) -> Optional[pulumi.RunError]:
    """The error the program in `project_dir` raises first for this stack file, if its configuration is
    wrong: its own check (`validate_plan`, the first thing its `main()` runs) on the config as `run_stack`
    hands it over, without importing the program and the SDK's resource modules (~2 s of a process that
    only reports a bad stack file). None when the check passes, or when the program has no such check
    (an older revision): then only a run can tell. A run checks again, so nothing is skipped."""
    module = program_config(project_dir)
    if not (hasattr(module, "validate_plan") and hasattr(module, "project_values")):
        return None
    wire, secret_keys = _wire_config(stack_values(stack, project_dir), project_name(project_dir),
                                     default_secrets(project_dir))
    values = module.project_values(wire)
    secret = {key for key in values if f"{module.PROJECT_NAMESPACE}:{key}" in secret_keys}
    try:
        module.validate_plan(values, stack, secret)
    except pulumi.RunError as error:
        return error
    except Exception:  # noqa: BLE001 - not a verdict on the stack file: the run shows it, with its traceback
        return None
    return None
