"""A run as a JSON document, and the three places a run can come from.

A diff compares two runs; each side is one of
- `prod`: the stack file `Pulumi.prod.yaml`, run with the working tree's program;
- `main:prod` (any git revision): the program and stack file as committed there, run in a child
  process (a Python process imports a module once, so two versions of `components/` cannot share one);
- `prod.json`: a document written earlier by `python -m offline preview --stack prod --json`.

The document holds only what is safe to print: inputs with secrets masked, and the physical name
(never the mock's raw outputs, which echo secret inputs).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from offline.engine import PROJECT_DIR, RegisteredResource, StackRun, project_name, run_stack

FORMAT = 1


class SourceError(Exception):
    """A side of a diff that cannot be produced (unknown revision, unreadable file, no stack file)."""


def to_document(run: StackRun) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "project": run.project,
        "stack": run.stack,
        "error": None if run.error is None else str(run.error),
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "custom": r.custom,
                "parent": r.parent,
                "protect": r.protect,
                "dependencies": r.dependencies,
                "aliases": r.aliases,
                "azureName": r.outputs.get("name") if r.custom else None,
                "inputs": r.masked_inputs,
                "secretPaths": r.secret_paths,
            }
            for r in run.resources
        ],
        "exports": run.exports,
    }


def from_document(document: dict[str, Any]) -> StackRun:
    """A run for display and comparison only: its inputs are the masked ones."""
    if document.get("format") != FORMAT:
        raise SourceError(f"not an offline preview document (format {document.get('format')!r}, expected {FORMAT})")
    resources = [
        RegisteredResource(
            urn=r["urn"], type=r["type"], name=r["name"], custom=r["custom"], parent=r["parent"],
            dependencies=list(r["dependencies"]), property_dependencies={}, protect=r["protect"],
            inputs=r["inputs"], masked_inputs=r["inputs"], secret_paths=list(r["secretPaths"]),
            outputs={"name": r["azureName"]} if r.get("azureName") else {}, aliases=list(r["aliases"]),
        )
        for r in document["resources"]
    ]
    error = document.get("error")
    return StackRun(stack=document["stack"], project=document["project"], resources=resources,
                    exports=document.get("exports") or {}, error=RuntimeError(error) if error else None)


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
    with tempfile.TemporaryDirectory(prefix="offline-") as checkout:
        try:
            with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
                # The "data" filter (refuse links and paths out of the checkout) exists from Python 3.11.4.
                tar.extractall(checkout, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        except tarfile.TarError as error:
            raise SourceError(f"{revision}: cannot check out its tree ({error})") from error
        child = subprocess.run(
            [sys.executable, "-m", "offline", "preview", "--stack", stack, "--json", "--project-dir", checkout],
            cwd=str(PROJECT_DIR), capture_output=True, text=True, check=False,
        )
    try:
        return from_document(json.loads(child.stdout))
    except (ValueError, KeyError, SourceError):
        raise SourceError(f"{revision}:{stack}: the run failed:\n{child.stderr.strip() or child.stdout.strip()}") from None
