"""The branch -> stack rule (mlops-v2 convention): main deploys prod, every other branch deploys dev."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from delivery.stack_for_ref import NotABranch, STACKS, main, stack_for_ref

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("ref, stack", [
    ("main", "prod"),
    ("refs/heads/main", "prod"),
    ("feature/x", "dev"),
    ("refs/heads/feature/x", "dev"),
    ("develop", "dev"),
    # Only the exact production branch is production: look-alikes are not.
    ("main-hotfix", "dev"),
    ("refs/heads/maintenance", "dev"),
    ("feature/main", "dev"),
    ("Main", "dev"),
])
def test_branch_deploys_its_stack(ref: str, stack: str) -> None:
    assert stack_for_ref(ref) == stack


@pytest.mark.parametrize("ref", [
    "refs/tags/v1.0.0",          # a tag is not a branch: it deploys nothing
    "refs/pull/42/merge",        # a PR merge ref: the workflow must pass the base branch instead
    "refs/remotes/origin/main",
    "",
    "   ",
    "feature/../main",
    "bad name",
    "evil;rm -rf /",
    "x[##vso]",
    "refs/heads/",
    "ends-with-slash/",
])
def test_refs_that_are_not_branches_are_refused(ref: str) -> None:
    with pytest.raises(NotABranch):
        stack_for_ref(ref)


def test_every_stack_the_rule_can_choose_has_a_stack_file() -> None:
    for stack in STACKS:
        assert (ROOT / f"Pulumi.{stack}.yaml").is_file(), f"the rule deploys {stack!r} but there is no stack file"


def test_github_format_appends_the_stack_to_github_output(tmp_path: Path) -> None:
    output = tmp_path / "github_output"
    output.write_text("earlier=value\n")
    assert main(["--format", "github"], environ={"GITHUB_REF": "refs/heads/main", "GITHUB_OUTPUT": str(output)}) == 0
    assert output.read_text() == "earlier=value\nstack=prod\n"


def test_pull_request_previews_the_stack_of_its_base_branch(tmp_path: Path) -> None:
    output = tmp_path / "github_output"
    env = {"GITHUB_BASE_REF": "main", "GITHUB_REF": "refs/pull/7/merge", "GITHUB_OUTPUT": str(output)}
    assert main(["--format", "github"], environ=env) == 0
    assert output.read_text() == "stack=prod\n"


def test_azure_pipelines_format_sets_an_output_variable(capsys: pytest.CaptureFixture[str]) -> None:
    env = {"SYSTEM_PULLREQUEST_TARGETBRANCH": "", "BUILD_SOURCEBRANCH": "refs/heads/feature/y"}
    assert main(["--format", "azure-pipelines"], environ=env) == 0
    assert "##vso[task.setvariable variable=stack;isOutput=true]dev" in capsys.readouterr().out.splitlines()


def test_a_tag_push_fails_the_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "github_output"
    assert main(["--format", "github"], environ={"GITHUB_REF": "refs/tags/v2", "GITHUB_OUTPUT": str(output)}) == 1
    assert not output.exists()
    assert "not a branch" in capsys.readouterr().err


def test_no_ref_at_all_is_an_error() -> None:
    assert main([], environ={}) == 2


def test_runs_as_the_workflows_run_it() -> None:
    result = subprocess.run([sys.executable, "-m", "delivery.stack_for_ref", "--ref", "refs/heads/main"],
                            cwd=ROOT, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, check=True)
    assert result.stdout.strip() == "prod"
