"""The branch -> stack rule: delivery/branches.yaml (main deploys prod, every other branch dev, the
mlops-v2 convention), read by delivery/stack_for_ref.py for both CI systems."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from delivery.stack_for_ref import (
    BRANCHES_FILE,
    BranchConfigError,
    NotABranch,
    Route,
    Routes,
    load_routes,
    main,
    parse_routes,
    stack_for_ref,
)

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
    routes = load_routes()
    assert routes.stacks, "delivery/branches.yaml names no stack"
    for stack in routes.stacks:
        assert (ROOT / f"Pulumi.{stack}.yaml").is_file(), \
            f"delivery/branches.yaml deploys {stack!r} but there is no Pulumi.{stack}.yaml"


def test_the_committed_table_is_main_to_prod_and_everything_else_to_dev() -> None:
    assert load_routes() == Routes((Route("main", "prod"),), "dev")
    assert BRANCHES_FILE == ROOT / "delivery" / "branches.yaml"


# ---- The table: glob patterns, first match wins, unknown -> default --------------------------------
STAGING = parse_routes({
    "routes": [
        {"branch": "main", "stack": "prod"},
        {"branch": "release/*", "stack": "staging"},
        {"branch": "release/**", "stack": "prod"},       # only reached by nested names: release/* took the rest
        {"branch": "hotfix-?", "stack": "staging"},
        {"branch": "team/**/sandbox", "stack": "sandbox"},
    ],
    "default": "dev",
})


@pytest.mark.parametrize("ref, stack", [
    ("main", "prod"),
    ("refs/heads/release/2026-12", "staging"),         # `*` matches within a segment
    ("release/1.2", "staging"),
    ("release/1.2/rc1", "prod"),                       # `*` stops at '/', so the next route takes it
    ("release", "dev"),                                # the pattern matches the whole name, not a prefix
    ("release-2026", "dev"),
    ("xrelease/1", "dev"),
    ("hotfix-1", "staging"),                           # `?`: exactly one character
    ("hotfix-12", "dev"),
    ("team/a/b/sandbox", "sandbox"),                   # `**` crosses segments
    ("team/sandbox", "dev"),                           # ...but the slashes around it stay
    ("Main", "dev"),                                   # case-sensitive, as git is
    ("feature/release/1", "dev"),
])
def test_patterns_route_branches_and_the_first_match_wins(ref: str, stack: str) -> None:
    assert stack_for_ref(ref, STAGING) == stack


def test_order_decides_between_overlapping_patterns() -> None:
    first = parse_routes({"routes": [{"branch": "release/**", "stack": "prod"},
                                     {"branch": "release/*", "stack": "staging"}], "default": "dev"})
    assert stack_for_ref("release/1.2", first) == "prod"
    assert first.stacks == ("prod", "staging", "dev")


def test_a_table_of_routes_only_by_default() -> None:
    assert stack_for_ref("main", parse_routes({"routes": [], "default": "dev"})) == "dev"


@pytest.mark.parametrize("document, problem", [
    ({"routes": [{"branch": "main", "stack": "prod"}]}, "`default` is missing"),
    ({"routes": [{"branch": "main", "stack": "prod"}], "default": "dev", "extra": 1}, "mapping with"),
    ({"routes": {"main": "prod"}, "default": "dev"}, "must be a list"),
    ({"routes": [{"branch": "main"}], "default": "dev"}, r"routes\[0\]: must have exactly"),
    ({"routes": [{"branch": "main", "stack": "prod", "env": "x"}], "default": "dev"}, "must have exactly"),
    ({"routes": [{"branch": "", "stack": "prod"}], "default": "dev"}, r"routes\[0\]\.branch"),
    ({"routes": [{"branch": "main", "stack": "prod;rm"}], "default": "dev"}, r"routes\[0\]\.stack.*not a stack name"),
    ({"routes": [], "default": "##vso[task.setvariable variable=x]y"}, "default.*not a stack name"),
    (["main: prod"], "mapping with"),
])
def test_a_broken_table_is_one_clear_error(document: object, problem: str) -> None:
    with pytest.raises(BranchConfigError, match=problem):
        parse_routes(document)


def test_a_broken_file_fails_the_step_without_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    import delivery.stack_for_ref as module

    broken = tmp_path / "branches.yaml"
    broken.write_text("routes:\n  - branch: main\n   stack: prod\n")
    monkeypatch.setattr(module, "BRANCHES_FILE", broken)
    assert main(["--ref", "main"], environ={}) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {broken}:") and "not valid YAML" in err and "Traceback" not in err


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


@pytest.mark.parametrize("pipeline_stacks, code, message", [
    ('{"prod": "aml-private", "dev": "aml-private-dev"}', 0, ""),
    ('{"prod": "aml-private"}', 1, "has no Deploy stage for it: add `dev: <its agents.pool>` under the `stacks`"),
    ("not json", 1, "--pipeline-stacks is not JSON"),
    ('"dev"', 1, "must be the pipeline's `stacks` mapping"),
])
def test_the_azure_pipeline_refuses_a_stack_it_has_no_stage_for(pipeline_stacks: str, code: int, message: str,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--ref", "feature/x", "--format", "azure-pipelines", "--pipeline-stacks", pipeline_stacks],
                environ={}) == code
    captured = capsys.readouterr()
    assert message in captured.err
    assert ("##vso[task.setvariable variable=stack;isOutput=true]dev" in captured.out) == (code == 0)
