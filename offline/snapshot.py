"""A run as a JSON document, and the three places a run can come from.

A diff compares two runs; each side is one of
- `prod`: the stack file `Pulumi.prod.yaml`, run with the working tree's program;
- `main:prod` (any git revision): the program and stack file as committed there, run in a child
  process (a Python process imports a module once, so two versions of `components/` cannot share one);
- `prod.json`: a document written earlier by `python -m offline preview --stack prod --json`.

The document is the one `pulumi preview --json` prints (see `to_document`), so tools written for
Pulumi's output read ours. It holds only what is safe to print: inputs with secrets masked, and the
physical name (never the mock's raw outputs, which echo secret inputs).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from offline.engine import MASK, PROJECT_DIR, RegisteredResource, StackRun, project_name, run_stack
from offline.preview import ROOT_TYPE


class SourceError(Exception):
    """A side of a diff that cannot be produced (unknown revision, unreadable file, no stack file)."""


def to_document(run: StackRun) -> dict[str, Any]:
    """The run as `pulumi preview --json` prints a preview (Pulumi's `PreviewDigest`).

    One step per registration, in the order the engine received them, each a `create` (there is no
    state offline) with the `newState` the engine would record: type, inputs (every secret is the
    string "[secret]", as Pulumi prints it), parent, dependencies, propertyDependencies, protect and
    aliases. Nothing is added that the program did not register: no default-provider steps (there
    are no providers offline) and no `provider` fields. Two values stand where Pulumi has none in a
    preview, because a diff needs them and they are what the program asked for: the physical name
    (`outputs.name`) and, on the stack itself, the stack outputs. Ids of resources that do not exist
    yet are the mocks' ARM-shaped ids where a real preview prints an unknown.
    """
    steps = []
    for r in run.in_registration_order():
        state: dict[str, Any] = {
            "urn": r.urn,
            "custom": r.custom,
            "delete": False,
            "type": r.type,
            "inputs": _sorted(r.masked_inputs),
            "parent": r.parent,
            "protect": r.protect,
            "dependencies": r.dependencies,
            "propertyDependencies": _sorted(r.property_dependencies),
        }
        if r.aliases:
            state["aliases"] = r.aliases
        if r.type == ROOT_TYPE:
            state["outputs"] = _sorted(run.exports)
        elif r.custom and r.outputs.get("name"):
            state["outputs"] = {"name": r.outputs["name"]}
        steps.append({"op": "create", "urn": r.urn, "newState": state})
    root = next((r.urn for r in run.resources if r.type == ROOT_TYPE), "")
    diagnostics = []
    for line in run.logs:  # "<level>: <message>", as the engine's log handler wrote it
        severity, _, message = line.partition(": ")
        diagnostics.append({"urn": root, "message": message, "severity": severity})
    if run.error is not None:
        diagnostics.append({"urn": root, "message": str(run.error), "severity": "error"})
    return {
        "config": _sorted(run.config),
        "steps": steps,
        "diagnostics": diagnostics,
        # Go's time.Duration marshals as nanoseconds.
        "duration": int(run.seconds * 1e9),
        "changeSummary": {"create": len(steps)} if steps else {},
    }


def from_document(document: dict[str, Any]) -> StackRun:
    """A run for display and comparison only (its inputs are the masked ones), from a document of
    `preview --json`. The stack and project come from the URNs."""
    if not isinstance(document, dict) or not isinstance(document.get("steps"), list) or "changeSummary" not in document:
        raise SourceError("not a `pulumi preview --json` document (expected `steps` and `changeSummary`)")
    resources: list[RegisteredResource] = []
    exports: dict[str, Any] = {}
    stack = project = ""
    for sequence, step in enumerate(document["steps"]):
        state = step["newState"]
        stack, project, _, name = state["urn"][len("urn:pulumi:"):].split("::", 3)
        inputs = state.get("inputs") or {}
        outputs = state.get("outputs") or {}
        if state["type"] == ROOT_TYPE:
            exports = outputs
        resources.append(RegisteredResource(
            urn=state["urn"], type=state["type"], name=name, custom=state["custom"], parent=state.get("parent", ""),
            dependencies=list(state.get("dependencies") or []),
            property_dependencies=dict(state.get("propertyDependencies") or {}), protect=bool(state.get("protect")),
            inputs=inputs, masked_inputs=inputs, secret_paths=_masked_paths(inputs),
            outputs={"name": outputs["name"]} if state["custom"] and outputs.get("name") else {},
            aliases=list(state.get("aliases") or []), sequence=sequence,
        ))
    errors = [d["message"] for d in document.get("diagnostics") or [] if d.get("severity") == "error"]
    return StackRun(stack=stack, project=project, resources=sorted(resources, key=lambda r: r.urn), exports=exports,
                    error=RuntimeError("\n".join(errors)) if errors else None,
                    config=dict(document.get("config") or {}))


def _sorted(value: Any) -> Any:
    """Maps with their keys sorted at every level, as Go marshals Pulumi's property maps."""
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def _masked_paths(value: Any, path: str = "") -> list[str]:
    """Where a masked document holds a secret: every value printed as "[secret]"."""
    if value == MASK:
        return [path or "<root>"]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _masked_paths(item, f"{path}.{key}" if path else key)]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _masked_paths(item, f"{path}[{index}]")]
    return []


def load(spec: str, project_dir: Path = PROJECT_DIR) -> StackRun:
    """The run a diff side names: `STACK`, `REVISION:STACK` or `FILE.json`."""
    if spec.endswith(".json"):
        try:
            return from_document(json.loads(Path(spec).read_text()))
        except (OSError, ValueError, KeyError) as error:
            raise SourceError(f"{spec}: cannot read an offline preview document ({error})") from error
    if ":" in spec:
        revision, stack = spec.rsplit(":", 1)
        return run_at_revision(revision, stack, project_dir)
    try:
        return run_stack(spec, project_dir=project_dir)
    except FileNotFoundError as error:
        raise SourceError(str(error)) from error


def _git(project_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(project_dir), *args], capture_output=True, check=False)


def _import_path(checkout: Path, links: Path) -> str:
    """The child's PYTHONPATH (it runs with `python -P`, so the current folder is not on it): the
    revision's own `isolated_mlops` first, then this working tree for the tools (`offline`).

    The tools import the package too (the catalogue, the policy levels), and a process imports a
    package once: were this tree's `isolated_mlops` found first, the revision's program would run on
    this tree's library and a diff would never show a change made in the library. So `links` holds
    only a link to the revision's package, ahead of this tree. A revision from before the package
    (its folders imported by their bare names) finds them first on its own: `--project-dir` puts
    the checkout first (offline/__main__.py)."""
    if (checkout / "isolated_mlops").is_dir():
        (links / "isolated_mlops").symlink_to(checkout / "isolated_mlops", target_is_directory=True)
    return os.pathsep.join([str(links), str(PROJECT_DIR)])


def run_at_revision(revision: str, stack: str, project_dir: Path = PROJECT_DIR) -> StackRun:
    """Run the program as committed at `revision`, in a child process, with this engine and these mocks."""
    found = _git(project_dir, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if found.returncode != 0:
        raise SourceError(f"{revision}: not a git revision of {project_dir}")
    prefix = _git(project_dir, "rev-parse", "--show-prefix").stdout.decode().strip()
    if _git(project_dir, "cat-file", "-e", f"{revision}:{prefix}Pulumi.{stack}.yaml").returncode != 0:
        # The stack is new (a pull request that adds an environment): everything in it is a create.
        return StackRun(stack=stack, project=project_name(project_dir), resources=[], exports={})
    tree = f"{revision}:{prefix}" if prefix else revision
    archive = _git(project_dir, "archive", "--format=tar", tree)
    if archive.returncode != 0:
        raise SourceError(f"{revision}: git archive failed: {archive.stderr.decode().strip()}")
    with tempfile.TemporaryDirectory(prefix="offline-") as checkout, \
            tempfile.TemporaryDirectory(prefix="offline-package-") as links:
        try:
            with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
                # The "data" filter (refuse links and paths out of the checkout) exists from Python 3.11.4.
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(checkout, filter="data")
                else:
                    tar.extractall(checkout)
        except tarfile.TarError as error:
            raise SourceError(f"{revision}: cannot check out its tree ({error})") from error
        child = subprocess.run(
            [sys.executable, "-P", "-m", "offline", "preview", "--stack", stack, "--json", "--project-dir", checkout],
            cwd=str(PROJECT_DIR), capture_output=True, text=True, check=False,
            env={**os.environ, "PYTHONPATH": _import_path(Path(checkout), Path(links))},
        )
    try:
        return from_document(json.loads(child.stdout))
    except (ValueError, KeyError, SourceError):
        raise SourceError(f"{revision}:{stack}: the run failed:\n{child.stderr.strip() or child.stdout.strip()}") from None
