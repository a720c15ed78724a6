"""Which stacks a pull request previews: its own stack for a stack file or its policy levels, none for
documentation, every stack for shared code (delivery/affected_stacks.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from delivery import affected_stacks as A
from delivery.affected_stacks import affected_stacks, main, stacks_in

ROOT = Path(__file__).resolve().parent.parent
STACKS = ["dev", "prod", "staging"]


@pytest.mark.parametrize("changed, expected", [
    (["Pulumi.dev.yaml"], ["dev"]),                                  # a stack's own file: that stack only
    (["policy/config/prod.json"], ["prod"]),                         # its policy levels: that stack only
    (["Pulumi.dev.yaml", "policy/config/staging.json"], ["dev", "staging"]),
    (["network/vnet.py"], STACKS),                                   # shared code: every stack
    (["Pulumi.dev.yaml", "network/vnet.py"], STACKS),
    (["Pulumi.yaml"], STACKS),                                       # the project file is shared
    (["policy/rules/network.py"], STACKS),
    (["delivery/branches.yaml"], STACKS),
    (["requirements.txt"], STACKS),
    (["README.md"], []),                                             # documentation: none
    (["docs/delivery.md", "network/README.md"], []),
    (["Pulumi.gone.yaml"], []),                                      # a removed stack: nothing left to preview
    (["policy/config/gone.json"], []),
    ([], []),
])
def test_changed_paths_pick_the_stacks(changed: list[str], expected: list[str]) -> None:
    assert affected_stacks(changed, STACKS).stacks == expected


def test_reasons_name_the_paths_and_ignored_paths_are_kept() -> None:
    result = affected_stacks(["README.md", "Pulumi.dev.yaml", "compute/agents.py"], ["dev", "prod"])
    assert result.reasons == {"dev": ["Pulumi.dev.yaml", "compute/agents.py"], "prod": ["compute/agents.py"]}
    assert result.ignored == ["README.md"]
    header = A.render_markdown(result)
    assert "- `dev`: `Pulumi.dev.yaml`, `compute/agents.py`" in header and "- `prod`: `compute/agents.py`" in header
    assert "changes no stack" in A.render_markdown(affected_stacks(["docs/x.md"], ["dev"]))


def test_a_file_in_a_subfolder_named_like_a_stack_file_is_shared_code() -> None:
    assert affected_stacks(["bootstrap/Pulumi.dev.yaml"], STACKS).stacks == STACKS


def test_the_stacks_are_the_stack_files(tmp_path: Path) -> None:
    assert stacks_in(ROOT) == sorted(p.name[len("Pulumi."):-len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))
    assert {"dev", "prod"} <= set(stacks_in(ROOT))
    for name in ("Pulumi.yaml", "Pulumi.a.yaml", "Pulumi.bad name.yaml", "Pulumi.x]##vso[y.yaml"):
        (tmp_path / name).write_text("")
    assert stacks_in(tmp_path) == ["a"], "not a stack name: never reaches a matrix or a logging command"


def test_github_format_writes_the_matrix_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "github_output"
    assert main(["--changed", "Pulumi.dev.yaml", "--format", "github"], environ={"GITHUB_OUTPUT": str(output)}) == 0
    assert output.read_text() == 'stacks=["dev"]\n'
    assert capsys.readouterr().out == "stacks: dev\n"


def test_azure_pipelines_format_sets_a_job_matrix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--changed", "network/vnet.py", "--format", "azure-pipelines"], environ={}) == 0
    lines = capsys.readouterr().out.splitlines()
    prefix = "##vso[task.setvariable variable=matrix;isOutput=true]"
    [matrix] = [line[len(prefix):] for line in lines if line.startswith(prefix)]
    stacks = stacks_in(ROOT)
    assert json.loads(matrix) == {stack: {"stack": stack} for stack in stacks}
    assert f"##vso[task.setvariable variable=count;isOutput=true]{len(stacks)}" in lines
    assert not any("network/vnet.py" in line for line in lines), "paths are the author's text: never logged"


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_base_revision_is_compared_through_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A repository with a base branch and a pull request on top, diffed the way the workflow does."""
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True,
                       env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
                            "GIT_COMMITTER_EMAIL": "t@example.com", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})

    git("init", "-q", "-b", "main")
    for name in ("Pulumi.dev.yaml", "Pulumi.prod.yaml", "Pulumi.old.yaml", "README.md"):
        (tmp_path / name).write_text("config: {}\n")
    (tmp_path / "network").mkdir()
    (tmp_path / "network" / "vnet.py").write_text("x = 1\n")
    git("add", "-A")
    git("commit", "-q", "-m", "base")
    git("update-ref", "refs/remotes/origin/main", "HEAD")
    git("checkout", "-q", "-b", "change")
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {a: 1}\n")
    (tmp_path / "README.md").write_text("more\n")
    git("rm", "-q", "Pulumi.old.yaml")
    git("commit", "-q", "-am", "dev only")
    monkeypatch.setattr(A, "PROJECT_DIR", tmp_path)

    assert A.changed_paths("origin/main", tmp_path) == ["Pulumi.dev.yaml", "Pulumi.old.yaml", "README.md"]
    assert affected_stacks(A.changed_paths("origin/main", tmp_path), stacks_in(tmp_path)).stacks == ["dev"]
    # A change to shared code on top: every stack that still exists.
    (tmp_path / "network" / "vnet.py").write_text("x = 2\n")
    git("commit", "-q", "-am", "network")
    assert affected_stacks(A.changed_paths("origin/main", tmp_path), stacks_in(tmp_path)).stacks == ["dev", "prod"]
    # A renamed folder counts as both its paths (--no-renames).
    git("mv", "network", "net")
    git("commit", "-q", "-m", "rename")
    assert {"network/vnet.py", "net/vnet.py"} <= set(A.changed_paths("origin/main", tmp_path))
    with pytest.raises(RuntimeError, match="git diff no-such-base...HEAD failed"):
        A.changed_paths("no-such-base", tmp_path)


def test_azure_leg_names_are_what_azure_accepts() -> None:
    legs = A.matrix_legs(["dev", "eu-west.prod", "eu_west_prod", "2026"])
    assert legs == {"dev": "dev", "eu_west_prod": "eu-west.prod", "eu_west_prod_2": "eu_west_prod", "stack_2026": "2026"}
    import re
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", leg) for leg in legs)
