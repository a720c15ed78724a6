"""The GitHub workflows: schema-valid, zizmor-clean, and doing what docs/delivery.md says they do.

The branch -> stack behaviour is tested by *running* each workflow's routing step the way the runner
would (same command, same environment variables), not by reading the YAML and trusting it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from delivery.stack_for_ref import load_routes, stack_for_ref
from tests.ci_step import as_ci_runs_it, checkout, in_process, pr_repository, runner_path
from tests.helpers import check_jsonschema, load_yaml

# One process loads check-jsonschema and its schemas for the three CI-file test files (tests/workers.py).
pytestmark = pytest.mark.same_worker("check-jsonschema")

ROOT = Path(__file__).resolve().parent.parent
GITHUB = ROOT / ".github"
WORKFLOWS = GITHUB / "workflows"
BIN = Path(sys.executable).parent
PULL_REQUEST = WORKFLOWS / "pull-request.yml"
DEPLOY = WORKFLOWS / "deploy.yml"
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
AZURE_SIGN_IN_ACTIONS = ("azure/login", "pulumi/actions")


def load(path: Path) -> dict[str, Any]:
    return load_yaml(path)


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
    assert len(files) == 4  # pull-request, deploy, ml-delivery, ml-retrain
    tool("check-jsonschema")  # installed by requirements.txt, for CI's command line
    result = check_jsonschema("--builtin-schema", "vendor.github-workflows", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dependabot_config_matches_its_schema() -> None:
    result = check_jsonschema("--builtin-schema", "vendor.dependabot", GITHUB / "dependabot.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  build:\n    steps:\n      - run: echo no runs-on\n")
    result = check_jsonschema("--builtin-schema", "vendor.github-workflows", broken)
    assert result.returncode != 0 and "'runs-on' is a required property" in result.stdout, result.stdout


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
def test_pr_workflow_tests_diffs_and_previews_every_affected_stack() -> None:
    jobs = load(PULL_REQUEST)["jobs"]
    assert any("make test" in s.get("run", "") for s in jobs["test"]["steps"])

    stacks = jobs["stacks"]
    assert stacks["outputs"]["stacks"] == "${{ steps.affected.outputs.stacks }}"
    [affected] = [s for s in stacks["steps"] if s.get("id") == "affected"]
    assert "python -m delivery.affected_stacks --base" in affected["run"] and "--format github" in affected["run"]
    checkout = next(s for s in stacks["steps"] if action(s) == "actions/checkout")
    assert checkout["with"]["fetch-depth"] == 0, "the changed paths need the base branch's history"

    diff = jobs["offline-preview"]
    assert diff["needs"] == "stacks"
    assert diff["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.stacks) }}"
    assert diff["strategy"]["fail-fast"] is False, "one stack's failure must not hide the others' reports"
    runs = "\n".join(s.get("run", "") for s in diff["steps"])
    assert 'python -m offline diff --stack "$STACK"' in runs and "--format markdown" in runs
    assert next(s for s in diff["steps"] if "offline diff" in s.get("run", ""))["env"]["STACK"] == "${{ matrix.stack }}"
    checkout = next(s for s in diff["steps"] if action(s) == "actions/checkout")
    assert checkout["with"]["fetch-depth"] == 0, "the diff needs the base branch's history"
    upload = next(s for s in diff["steps"] if action(s) == "actions/upload-artifact")
    assert upload["with"]["name"] == "offline-preview-${{ matrix.stack }}"
    assert "pull-requests" not in diff["permissions"], "the matrix only reports; one job writes the comment"

    comment = jobs["offline-preview-comment"]
    assert set(comment["needs"]) == {"stacks", "offline-preview"}
    assert "always()" in comment["if"], "a failed stack still gets its section (saying so)"
    assert comment["permissions"]["pull-requests"] == "write"
    download = next(s for s in comment["steps"] if action(s) == "actions/download-artifact")
    assert download["with"]["pattern"] == "offline-preview-*" and download["with"]["merge-multiple"] is True
    post = "\n".join(s.get("run", "") for s in comment["steps"])
    assert "python -m delivery.pr_comment --marker offline-preview" in post and "--sections-dir offline-preview" in post
    assert 'python -m delivery.affected_stacks --base "origin/$BASE_REF" --format markdown' in post

    preview = jobs["preview"]
    assert set(preview["needs"]) == {"test", "stacks"}
    assert "vars.ARM_CLIENT_ID != ''" in preview["if"], "the real preview only runs where Azure is configured"
    assert preview["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.stacks) }}"
    pulumi = next(s for s in preview["steps"] if action(s) == "pulumi/actions")
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["comment-on-pr"] is True
    assert pulumi["with"]["policyPacks"] == "policy"
    assert pulumi["with"]["stack-name"] == "${{ matrix.stack }}"
    assert pulumi["with"]["policyPackConfigs"] == "${{ runner.temp }}/policy-levels.json"


def test_deploy_runs_pulumi_up_behind_the_stacks_environment() -> None:
    jobs = load(DEPLOY)["jobs"]
    deploy = jobs["deploy"]
    assert set(deploy["needs"]) == {"test", "route"}
    assert deploy["environment"]["name"] == "${{ needs.route.outputs.stack }}"
    pulumi = next(s for s in deploy["steps"] if action(s) == "pulumi/actions")
    assert pulumi["with"]["command"] == "up"
    assert pulumi["with"]["stack-name"] == "${{ needs.route.outputs.stack }}"
    assert pulumi["with"]["policyPacks"] == "policy"
    assert pulumi["with"]["policyPackConfigs"] == "${{ runner.temp }}/policy-levels.json"
    assert (ROOT / "policy" / "PulumiPolicy.yaml").is_file()


def _levels_steps() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, job_id, step in all_steps():
        if "policy.enforcement" in step.get("run", ""):
            yield f"{name}:{job_id}", step


def test_every_pulumi_run_gets_the_levels_its_stack_resolves_to() -> None:
    """The levels file is written for the same stack pulumi runs, before it runs."""
    for name, workflow in all_workflows():
        for job_id, job in workflow["jobs"].items():
            steps = job.get("steps", [])
            # A pulumi/actions step with no command only installs the CLI (the ML delivery reads outputs).
            pulumi = [i for i, s in enumerate(steps) if action(s) == "pulumi/actions" and s.get("with", {}).get("command")]
            if not pulumi:
                continue
            [levels] = [i for i, s in enumerate(steps) if "policy.enforcement" in s.get("run", "")]
            assert levels < pulumi[0], f"{name}:{job_id}"
            assert steps[levels]["env"]["STACK"] == steps[pulumi[0]]["with"]["stack-name"], f"{name}:{job_id}"
            assert '> "$RUNNER_TEMP/policy-levels.json"' in steps[levels]["run"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_levels_step_writes_a_pack_config_for_each_stack(stack: str, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """prod: the workflow's step, run as the runner runs it; dev: the same CLI's main() in this process
    (a second child would only import pulumi again, ~0.4 s of CPU, for the same command line)."""
    from isolated_mlops.policy.enforcement import config_for_stack, main, resolve_levels
    from isolated_mlops.policy.rules import RULES

    if stack == "prod":
        [(where, step), *_] = list(_levels_steps())
        command = step["run"].replace(".venv/bin/python", sys.executable)
        env = {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}", "RUNNER_TEMP": str(tmp_path),
               "STACK": stack}
        result = subprocess.run(["bash", "-e", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True)
        assert result.returncode == 0, f"{where}: {result.stderr}"
        written = (tmp_path / "policy-levels.json").read_text()
    else:
        capsys.readouterr()
        assert main(["--stack", stack]) == 0
        written = capsys.readouterr().out
    names = [r.name for r in RULES]
    assert json.loads(written) == resolve_levels(config_for_stack(stack, names), names)


def test_every_stack_the_workflows_can_choose_has_a_stack_file_and_levels() -> None:
    from isolated_mlops.policy.enforcement import config_for_stack
    from isolated_mlops.policy.rules import RULES

    for stack in load_routes().stacks:
        assert (ROOT / f"Pulumi.{stack}.yaml").is_file(), stack
        assert config_for_stack(stack, [r.name for r in RULES]), stack


def test_two_runs_never_touch_one_stack_at_once() -> None:
    deploy = load(DEPLOY)["jobs"]["deploy"]
    group = deploy["concurrency"]["group"]
    assert "${{ needs.route.outputs.stack }}" in group, "the lock must be the stack, not the branch"
    assert "github.ref" not in group and "github.sha" not in group
    assert deploy["concurrency"]["cancel-in-progress"] is False, "a running `pulumi up` must never be cancelled"


def signs_in_to_azure(job: dict[str, Any]) -> bool:
    """A job signs in itself, or calls a workflow of this repository with a job that does."""
    called = job.get("uses", "")
    if called.startswith("./.github/workflows/"):
        return any(signs_in_to_azure(j) for j in load(ROOT / called)["jobs"].values())
    return any(action(s) in AZURE_SIGN_IN_ACTIONS for s in job.get("steps", []))


def test_only_jobs_that_sign_in_to_azure_may_mint_an_oidc_token() -> None:
    for name, workflow in all_workflows():
        assert workflow["permissions"] == {}, f"{name}: nothing by default; jobs ask for what they use"
        for job_id, job in workflow["jobs"].items():
            signs_in = signs_in_to_azure(job)
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
def run_route_step(workflow: Path, job_id: str, env: dict[str, str], tmp_path: Path,
                   run: Callable[..., subprocess.CompletedProcess[str]] = in_process) -> tuple[int, str]:
    """Run the job's `route` step's shell line as the runner would (by default its Python part in this
    process: tests/ci_step.py); return (exit code, $GITHUB_OUTPUT)."""
    step = next(s for s in load(workflow)["jobs"][job_id]["steps"] if s.get("id") == "route")
    output = tmp_path / "github_output"
    output.write_text("")
    runner_env = {"PATH": runner_path(), "GITHUB_OUTPUT": str(output), **env}
    result = run(step["run"], ROOT, runner_env)
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


def run_affected_step(repository: Path, base: str, tmp_path: Path,
                      run: Callable[..., subprocess.CompletedProcess[str]] = in_process) -> tuple[int, str]:
    """Run the PR workflow's `affected` step's shell line in `repository`, as the runner would."""
    step = next(s for s in load(PULL_REQUEST)["jobs"]["stacks"]["steps"] if s.get("id") == "affected")
    output = tmp_path / "github_output"
    output.write_text("")
    env = {"PATH": runner_path(), "GITHUB_OUTPUT": str(output), "BASE_REF": base}
    result = run(step["run"], repository, env)
    return result.returncode, output.read_text() + result.stderr


# Pull request branch -> (its change, the stacks it previews).
PULL_REQUESTS: dict[str, tuple[dict[str, str], list[str]]] = {
    "dev-stack-file": ({"Pulumi.dev.yaml": "config: {changed: 1}\n"}, ["dev"]),
    "prod-levels": ({"policy/config/prod.json": "{}\n"}, ["prod"]),
    "shared-code": ({"network/vnet.py": "x = 2\n"}, ["dev", "prod"]),
    "docs": ({"docs/delivery.md": "more\n"}, []),
}


@pytest.fixture(scope="module")
def pull_requests(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One repository, a branch per pull request (tests/ci_step.py)."""
    return pr_repository(tmp_path_factory.mktemp("pull-requests"), {b: c for b, (c, _) in PULL_REQUESTS.items()})


@pytest.mark.parametrize("branch", list(PULL_REQUESTS))
def test_a_pull_request_previews_every_stack_it_affects(branch: str, pull_requests: Path, tmp_path: Path) -> None:
    # The shared-code pull request runs the step as CI runs it (a child Python); the others in-process.
    run = as_ci_runs_it if branch == "shared-code" else in_process
    code, output = run_affected_step(checkout(pull_requests, branch), "main", tmp_path, run)
    stacks = PULL_REQUESTS[branch][1]
    assert (code, output) == (0, f"stacks={json.dumps(stacks, separators=(',', ':'))}\n")


def test_main_is_gated_by_the_prod_environment(tmp_path: Path) -> None:
    # The route step as CI runs it (a child Python); the other pushes above run its Python in-process.
    code, output = run_route_step(DEPLOY, "route", {"GITHUB_REF": "refs/heads/main"}, tmp_path, as_ci_runs_it)
    assert code == 0
    stack = output.strip().split("=", 1)[1]
    environment = load(DEPLOY)["jobs"]["deploy"]["environment"]["name"]
    assert environment.replace("${{ needs.route.outputs.stack }}", stack) == stack_for_ref("main") == "prod"
    docs = (ROOT / "docs" / "delivery.md").read_text()
    assert "Required reviewers" in docs and "`prod`" in docs, "docs/delivery.md must say how to set the gate up"


def test_pr_previews_run_preflight_against_the_subscription_before_pulumi() -> None:
    """`python -m live preflight` (read-only) runs after the Azure sign-in and before `pulumi preview`,
    so a size the region does not offer or a quota short fails the job with one line per problem."""
    steps = load(WORKFLOWS / "pull-request.yml")["jobs"]["preview"]["steps"]
    order = [("login" if action(s) == "azure/login" else "preflight" if "python -m live preflight" in s.get("run", "")
              else "pulumi" if action(s) == "pulumi/actions" else "") for s in steps]
    order = [o for o in order if o]
    assert order == ["login", "preflight", "pulumi"], order
