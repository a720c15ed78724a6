"""Small tools for tests: views of a run, copies of them with one thing broken, and check-jsonschema."""

from __future__ import annotations

import copy
import dataclasses
import subprocess
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from isolated_mlops.components.plan import Plan
from isolated_mlops.components.zones import CLOUDS
from offline.engine import StackRun
from tests.yaml_files import load_yaml, parse_yaml  # noqa: F401 - the tests' one YAML reader, re-exported
from isolated_mlops.policy.adapters import views
from isolated_mlops.policy import rules as R
from isolated_mlops.policy.rules import ResourceView, Violation, evaluate


_SHARED: dict[int, tuple[StackRun, dict[Callable[[StackRun], Any], Any]]] = {}  # id(run) -> (run, answers)


def share_views(run: StackRun) -> None:
    """Mark a run that lives all session and that no test changes (the `runs` fixture's dev and prod):
    what `once_per_run` computes of it is then computed once. Any other run, such as `run_with`'s copy
    that a test may change in place, is computed afresh each time."""
    _SHARED[id(run)] = (run, {})


def once_per_run(run: StackRun, compute: Callable[[StackRun], Any]) -> Any:
    """`compute(run)`, once per session for a shared run (`share_views`), else computed now: for a pure
    function of the run whose answer no caller changes (text, a tuple), e.g. its policy views (8 ms for
    prod; the platform tests ask ~170 times) or its topology picture (~25 ms, drawn a dozen times)."""
    shared = _SHARED.get(id(run))
    if shared is None or shared[0] is not run:
        return compute(run)
    answers = shared[1]
    if compute not in answers:
        answers[compute] = compute(run)
    return answers[compute]


def _view_tuple(run: StackRun) -> tuple[ResourceView, ...]:
    return tuple(views(run))


def run_views(run: StackRun) -> list[ResourceView]:
    """`views(run)`, by `once_per_run`: each caller gets its own list of the (shared) views."""
    return list(once_per_run(run, _view_tuple))


def violations(run_or_views: StackRun | Sequence[ResourceView], rule: str) -> list[Violation]:
    resources = run_views(run_or_views) if isinstance(run_or_views, StackRun) else run_or_views
    return evaluate(resources, only=[rule])


def set_prop(props: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        props = props.setdefault(part, {})
    if value is _DELETE:
        props.pop(parts[-1], None)
    else:
        props[parts[-1]] = value


_DELETE = object()
DELETE = _DELETE


def changed(resources: Sequence[ResourceView], match: Callable[[ResourceView], bool],
            change: Callable[[ResourceView], ResourceView] | None = None, **props: Any) -> list[ResourceView]:
    """A copy of `resources` where every matching view is changed (props by dotted path, `__` for dots)."""
    out = []
    hits = 0
    for r in resources:
        if match(r):
            hits += 1
            new_props = copy.deepcopy(dict(r.props))
            for key, value in props.items():
                set_prop(new_props, key.replace("__", "."), value)
            r = dataclasses.replace(r, props=new_props)
            if change is not None:
                r = change(r)
        out.append(r)
    assert hits, "the negative test matched no resource: it would prove nothing"
    return out


def without(resources: Sequence[ResourceView], match: Callable[[ResourceView], bool]) -> list[ResourceView]:
    kept = [r for r in resources if not match(r)]
    assert len(kept) < len(resources), "the negative test removed nothing: it would prove nothing"
    return kept


def of_type(resources: Iterable[ResourceView], type_: str) -> list[ResourceView]:
    return [r for r in resources if r.type == type_]


def stack_plan(stack: str, values: Optional[Mapping[str, Any]] = None) -> Plan:
    """The plan of a stack file (or of `values`, a changed copy of it) as the program computes it: the
    values in `pulumi up`'s wire form, with the engine's placeholder secrets."""
    from isolated_mlops.components.config import PROJECT_NAMESPACE, project_values, validate_plan
    from offline.engine import _wire_config, default_secrets, stack_values

    wire, secret_keys = _wire_config(stack_values(stack) if values is None else values, PROJECT_NAMESPACE,
                                     default_secrets())
    prefix = f"{PROJECT_NAMESPACE}:"
    return validate_plan(project_values(wire), stack, {k[len(prefix):] for k in secret_keys if k.startswith(prefix)})


def check_jsonschema(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """`check-jsonschema ARGS...` in this process: its console script calls this same `main`, and
    importing it is most of a call's CPU (~0.4 s of ~0.5), paid here once per worker instead of once
    per call. A crash raises (so a test expecting a failure cannot pass on one); the exit code and
    output are the command's."""
    from check_jsonschema import main
    from click.testing import CliRunner

    argv = [str(a) for a in args]
    result = CliRunner().invoke(main, argv, prog_name="check-jsonschema")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(["check-jsonschema", *argv], result.exit_code, result.stdout, result.stderr)


# ---- The private endpoints of a run (tests/test_platform_workspace.py, test_platform_monitoring.py) ----
ZONES = CLOUDS["AzureCloud"].zones_by_group_id


def endpoints_by_group(run: StackRun) -> dict[str, list]:
    """group id -> private endpoints of that group id."""
    found: dict[str, list] = {}
    for pe in run.of_type(R.PRIVATE_ENDPOINT):
        [connection] = pe.input("privateLinkServiceConnections")
        [group] = connection["groupIds"]
        found.setdefault(group, []).append(pe)
    return found


def zones_of(run: StackRun, endpoint) -> set[str]:
    [group] = [g for g in run.of_type(R.ZONE_GROUP) if g.property_dependencies["privateEndpointName"] == [endpoint.urn]]
    return {run.by_urn(u).input("privateZoneName") for u in group.property_dependencies["privateDnsZoneConfigs"]}
