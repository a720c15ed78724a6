"""The GitHub workflows: schema-valid, zizmor-clean, and doing what docs/delivery.md says they do.

The branch -> stack behaviour is tested by *running* each workflow's routing step the way the runner
would (same command, same environment variables), not by reading the YAML and trusting it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from delivery.stack_for_ref import PRODUCTION_STACK, STACKS

ROOT = Path(__file__).resolve().parent.parent
GITHUB = ROOT / ".github"
WORKFLOWS = GITHUB / "workflows"
BIN = Path(sys.executable).parent
PULL_REQUEST = WORKFLOWS / "pull-request.yml"
DEPLOY = WORKFLOWS / "deploy.yml"
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
AZURE_SIGN_IN_ACTIONS = ("azure/login", "pulumi/actions")


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    on = workflow.get("on", workflow.get(True))
    return {on: None} if isinstance(on, str) else dict(on)


def all_workflows() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(WORKFLOWS.glob("*.y*ml")):
        yield path.name, load(path)


def all_steps() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for name, workflow in all_workflows():
        for job_id, job in workflow["jobs"].items():
            for step in job.get("steps", []):
                yield name, job_id, step


def action(step: dict[str, Any]) -> str:
    return step.get("uses", "").split("@")[0]


def tool(name: str) -> str:
    path = BIN / name
    assert path.exists(), f"{name} is not installed next to {sys.executable}: add it to requirements.txt"
    return str(path)


# ---- The files are valid and lint-clean -----------------------------------------------------------
def test_workflows_match_githubs_schema() -> None:
    files = sorted(str(p) for p in WORKFLOWS.glob("*.y*ml"))
    assert len(files) == 3  # pull-request, deploy, ml-delivery
    result = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dependabot_config_matches_its_schema() -> None:
    result = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.dependabot",
                             str(GITHUB / "dependabot.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  build:\n    steps:\n      - run: echo no runs-on\n")
    result = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(broken)],
                            capture_output=True, text=True)
    assert result.returncode != 0


def zizmor(*inputs: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("zizmor"), "--offline", "--no-progress", *map(str, inputs)],
                          capture_output=True, text=True, cwd=ROOT)


def test_zizmor_finds_nothing() -> None:
    result = zizmor(GITHUB)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_does_flag_the_classic_mistakes(tmp_path: Path) -> None:
    """The lint above can fail: an unpinned action, a persisted token and a template injection."""
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "name: bad\non: pull_request\npermissions: {}\njobs:\n  x:\n    name: x\n    runs-on: ubuntu-latest\n"
        "    permissions:\n      contents: read\n    steps:\n      - uses: actions/checkout@v4\n"
        "      - run: echo \"${{ github.event.pull_request.title }}\"\n")
    result = zizmor(bad)
    assert result.returncode != 0
    for audit in ("unpinned-uses", "artipacked", "template-injection"):
        assert audit in result.stdout, result.stdout


# ---- Triggers ----------------------------------------------------------------------------------
def test_pull_requests_run_the_pr_workflow_without_pull_request_target() -> None:
    assert set(triggers(load(PULL_REQUEST))) == {"pull_request"}
    for name, workflow in all_workflows():
        assert "pull_request_target" not in triggers(workflow), name


def test_every_branch_push_deploys_and_tags_do_not() -> None:
    on = triggers(load(DEPLOY))
    assert set(on) == {"push"}
    assert on["push"]["branches"] == ["**"]
    assert "tags" not in on["push"]


# ---- Jobs --------------------------------------------------------------------------------------
def test_pr_workflow_tests_diffs_and_previews() -> None:
    jobs = load(PULL_REQUEST)["jobs"]
    assert any("make test" in s.get("run", "") for s in jobs["test"]["steps"])
    diff = jobs["offline-preview"]
    runs = "\n".join(s.get("run", "") for s in diff["steps"])
    assert "python -m offline diff" in runs and "--format markdown" in runs
    assert "python -m delivery.pr_comment --marker offline-preview" in runs
    checkout = next(s for s in diff["steps"] if action(s) == "actions/checkout")
    assert checkout["with"]["fetch-depth"] == 0, "the diff needs the base branch's history"

    preview = jobs["preview"]
    assert preview["needs"] == "test"
    assert "vars.ARM_CLIENT_ID != ''" in preview["if"], "the real preview only runs where Azure is configured"
    pulumi = next(s for s in preview["steps"] if action(s) == "pulumi/actions")
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["comment-on-pr"] is True
    assert pulumi["with"]["policyPacks"] == "policy"
    assert pulumi["with"]["stack-name"] == "${{ steps.route.outputs.stack }}"
    assert pulumi["with"]["policyPackConfigs"] == "policy/config/${{ steps.route.outputs.stack }}.json"


def test_deploy_runs_pulumi_up_behind_the_stacks_environment() -> None:
    jobs = load(DEPLOY)["jobs"]
    deploy = jobs["deploy"]
    assert set(deploy["needs"]) == {"test", "route"}
    assert deploy["environment"]["name"] == "${{ needs.route.outputs.stack }}"
    pulumi = next(s for s in deploy["steps"] if action(s) == "pulumi/actions")
    assert pulumi["with"]["command"] == "up"
    assert pulumi["with"]["stack-name"] == "${{ needs.route.outputs.stack }}"
    assert pulumi["with"]["policyPacks"] == "policy"
    assert pulumi["with"]["policyPackConfigs"] == "policy/config/${{ needs.route.outputs.stack }}.json"
    assert (ROOT / "policy" / "PulumiPolicy.yaml").is_file()


def test_every_stack_the_workflows_can_choose_has_policy_levels() -> None:
    for stack in STACKS:
        assert (ROOT / "policy" / "config" / f"{stack}.json").is_file(), stack


def test_two_runs_never_touch_one_stack_at_once() -> None:
    deploy = load(DEPLOY)["jobs"]["deploy"]
    group = deploy["concurrency"]["group"]
    assert "${{ needs.route.outputs.stack }}" in group, "the lock must be the stack, not the branch"
    assert "github.ref" not in group and "github.sha" not in group
    assert deploy["concurrency"]["cancel-in-progress"] is False, "a running `pulumi up` must never be cancelled"


def test_only_jobs_that_sign_in_to_azure_may_mint_an_oidc_token() -> None:
    for name, workflow in all_workflows():
        assert workflow["permissions"] == {}, f"{name}: nothing by default; jobs ask for what they use"
        for job_id, job in workflow["jobs"].items():
            signs_in = any(action(s) in AZURE_SIGN_IN_ACTIONS for s in job.get("steps", []))
            has_token = job.get("permissions", {}).get("id-token") == "write"
            assert has_token == signs_in, f"{name}:{job_id}: id-token: write iff the job signs in to Azure"
            assert job.get("permissions", {}).get("contents") in ("read", None), f"{name}:{job_id}"


def test_azure_sign_in_is_oidc_with_ids_from_variables_and_no_secret_anywhere() -> None:
    for path in WORKFLOWS.glob("*.y*ml"):
        text = path.read_text()
        assert not re.search(r"client[-_]?secret|AZURE_CREDENTIALS|ARM_CLIENT_CERT|password", text, re.IGNORECASE), path
        assert "secrets." not in text, f"{path.name}: these workflows need no repository secret at all"
    for name, job_id, step in all_steps():
        if action(step) == "azure/login":
            assert set(step["with"]) == {"client-id", "tenant-id", "subscription-id"}, f"{name}:{job_id}"
            assert all(v.startswith("${{ vars.") for v in step["with"].values())
    for name, workflow in all_workflows():
        for job_id, job in workflow["jobs"].items():
            if any(action(s) == "pulumi/actions" for s in job.get("steps", [])):
                env = job["env"]
                assert env["ARM_USE_OIDC"] == "true", f"{name}:{job_id}"
                for key in ("ARM_CLIENT_ID", "ARM_TENANT_ID", "ARM_SUBSCRIPTION_ID"):
                    assert env[key] == f"${{{{ vars.{key} }}}}", f"{name}:{job_id}:{key}"


def test_actions_are_pinned_to_commits_and_checkouts_keep_no_token() -> None:
    for name, job_id, step in all_steps():
        if "uses" in step:
            assert SHA_PIN.match(step["uses"]), f"{name}:{job_id}: {step['uses']} is not pinned to a commit"
        if action(step) == "actions/checkout":
            assert step["with"]["persist-credentials"] is False, f"{name}:{job_id}"


def test_no_expression_is_spliced_into_a_shell_line() -> None:
    for name, job_id, step in all_steps():
        assert "${{" not in step.get("run", ""), f"{name}:{job_id}: pass values through env:, not into run:"


# ---- Behaviour: which stack for which branch ------------------------------------------------------
def run_route_step(workflow: Path, job_id: str, env: dict[str, str], tmp_path: Path) -> tuple[int, str]:
    """Run the job's `route` step's shell line as the runner would; return (exit code, $GITHUB_OUTPUT)."""
    step = next(s for s in load(workflow)["jobs"][job_id]["steps"] if s.get("id") == "route")
    output = tmp_path / "github_output"
    output.write_text("")
    runner_env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "GITHUB_OUTPUT": str(output),
        **env,
    }
    command = step["run"].replace(".venv/bin/python", sys.executable)
    result = subprocess.run(["bash", "-e", "-c", command], cwd=ROOT, env=runner_env, capture_output=True, text=True)
    return result.returncode, output.read_text()


@pytest.mark.parametrize("ref, stack", [
    ("refs/heads/main", "prod"),
    ("refs/heads/feature/x", "dev"),
    ("refs/heads/release/2026-11", "dev"),
])
def test_a_push_deploys_the_stack_of_its_branch(ref: str, stack: str, tmp_path: Path) -> None:
    code, output = run_route_step(DEPLOY, "route", {"GITHUB_REF": ref, "GITHUB_BASE_REF": ""}, tmp_path)
    assert (code, output) == (0, f"stack={stack}\n")


def test_a_tag_push_deploys_nothing(tmp_path: Path) -> None:
    code, output = run_route_step(DEPLOY, "route", {"GITHUB_REF": "refs/tags/v1.0.0"}, tmp_path)
    assert code != 0 and output == ""


@pytest.mark.parametrize("base, stack", [("main", "prod"), ("develop", "dev")])
@pytest.mark.parametrize("job_id", ["offline-preview", "preview"])
def test_a_pull_request_previews_what_merging_it_deploys(job_id: str, base: str, stack: str, tmp_path: Path) -> None:
    env = {"GITHUB_REF": "refs/pull/12/merge", "GITHUB_BASE_REF": base}
    code, output = run_route_step(PULL_REQUEST, job_id, env, tmp_path)
    assert (code, output) == (0, f"stack={stack}\n")


def test_main_is_gated_by_the_prod_environment(tmp_path: Path) -> None:
    code, output = run_route_step(DEPLOY, "route", {"GITHUB_REF": "refs/heads/main"}, tmp_path)
    stack = output.strip().split("=", 1)[1]
    environment = load(DEPLOY)["jobs"]["deploy"]["environment"]["name"]
    assert environment.replace("${{ needs.route.outputs.stack }}", stack) == PRODUCTION_STACK == "prod"
    docs = (ROOT / "docs" / "delivery.md").read_text()
    assert "Required reviewers" in docs and "`prod`" in docs, "docs/delivery.md must say how to set the gate up"
