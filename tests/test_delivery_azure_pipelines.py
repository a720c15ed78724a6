"""The Azure Pipelines definition: schema-valid, on the platform's own private agents, preview on PRs,
up of the routed stack behind its own environment (main: `prod`), an AML job through that stack's
private workspace, and shell that passes shellcheck. Which stages run for which branch:
tests/test_delivery_azure_stacks.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from offline.engine import stack_values
from tests.azure_pipeline_run import compile_pipeline
from tests.ci_step import as_ci_runs_it, checkout, in_process, pr_repository, runner_path
from tests.helpers import check_jsonschema, load_yaml

# One process loads check-jsonschema and its schemas for the three CI-file test files (tests/workers.py).
pytestmark = pytest.mark.same_worker("check-jsonschema")

ROOT = Path(__file__).resolve().parent.parent
PIPELINES = ROOT / "pipelines"
PIPELINE = PIPELINES / "azure-pipelines.yml"
# The reference ML delivery (tests/test_ml_pipelines.py checks its stages); its Azure steps are
# one shell script shared with the GitHub workflow.
ML_PIPELINE = PIPELINES / "ml-delivery.yml"
ML_SCRIPTS = sorted((PIPELINES / "ml").glob("*.sh"))
TEMPLATES = PIPELINES / "templates"
BIN = Path(sys.executable).parent
# `$(Build.SourceBranch)`-style macros are expanded by Azure DevOps before bash sees the script:
# untrusted text (branch names) would become shell code. Scripts read env: mappings instead.
ADO_MACRO = re.compile(r"\$\([A-Za-z_]+\.[A-Za-z_.]+\)|\$\[|\$\{\{")


def load(path: Path) -> dict[str, Any]:
    return load_yaml(path)


def files() -> list[Path]:
    return [PIPELINE, ML_PIPELINE, *sorted(TEMPLATES.glob("*.yml"))]


def steps_of(node: Any) -> Iterator[dict[str, Any]]:
    """Every step in a pipeline or template document, however deeply nested (stages, deployment jobs)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "steps" and isinstance(value, list):
                yield from _steps_in(value)
            else:
                yield from steps_of(value)
    elif isinstance(node, list):
        for item in node:
            yield from steps_of(item)


def _steps_in(items: list[Any]) -> Iterator[dict[str, Any]]:
    """A steps list's steps, including those inside `${{ if ... }}:` insertions."""
    for item in items:
        if isinstance(item, dict) and len(item) == 1 and str(next(iter(item))).startswith("${{"):
            yield from _steps_in(next(iter(item.values())) or [])
        elif isinstance(item, dict):
            yield item


def scripts() -> Iterator[tuple[str, str]]:
    for path in files():
        for step in steps_of(load(path)):
            if "script" in step:
                yield f"{path.name}:{step.get('displayName', step['script'][:30])}", step["script"]
            elif str(step.get("task", "")).startswith("AzureCLI@"):
                yield f"{path.name}:{step['displayName']}", step["inputs"]["inlineScript"]


def stage(name: str) -> dict[str, Any]:
    """A stage of the compiled pipeline (`${{ each }}` expanded with the parameters' defaults)."""
    document = load(PIPELINE)
    compiled = compile_pipeline(document, {p["name"]: p.get("default") for p in document["parameters"]})
    return next(s for s in compiled["stages"] if s["stage"] == name)


def check_schema(*paths: Path) -> subprocess.CompletedProcess[str]:
    # `nonunicode`: the vendored schema has patterns the default (unicode) regex engine rejects.
    return check_jsonschema("--builtin-schema", "vendor.azure-pipelines", "--data-transform", "azure-pipelines",
                            "--regex-variant", "nonunicode", *paths)


def test_pipeline_and_templates_match_the_azure_pipelines_schema() -> None:
    result = check_schema(*files())
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_schema_check_rejects_a_misspelt_pipeline(tmp_path: Path) -> None:
    broken = tmp_path / "azure-pipelines.yml"
    broken.write_text("stages:\n  - stage: A\n    jobz:\n      - job: a\n        steps:\n          - script: echo\n")
    result = check_schema(broken)
    assert result.returncode != 0 and "'jobz' was unexpected" in result.stdout, result.stdout


def test_every_job_runs_on_the_agent_pool_this_platform_creates() -> None:
    agents = stack_values("prod")["agents"]
    assert agents["kind"] == "azure-devops"
    assert load(PIPELINE)["pool"] == {"name": agents["pool"]}
    assert "vmImage" not in PIPELINE.read_text(), "a Microsoft-hosted agent cannot reach the private workspace"


def test_preview_on_pull_requests_into_main_and_up_of_the_routed_stack_on_every_branch() -> None:
    pipeline = load(PIPELINE)
    assert pipeline["trigger"]["branches"]["include"] == ["*"], "every branch deploys its routed stack"
    assert pipeline["pr"]["branches"]["include"] == ["main"]
    assert "eq(variables['Build.Reason'], 'PullRequest')" in stage("Preview")["condition"]
    deploy = stage("Deploy_prod")
    assert "ne(variables['Build.Reason'], 'PullRequest')" in deploy["condition"]
    assert "eq(dependencies.Route.outputs['route.route.stack'], 'prod')" in deploy["condition"]
    commands = {s["parameters"]["command"] for name in ("Preview", "Deploy_prod") for s in steps_of(stage(name))
                if s.get("template") == "templates/pulumi.yml"}
    assert commands == {"preview", "up"}
    template = (TEMPLATES / "pulumi.yml").read_text()
    assert '.venv/bin/python -m isolated_mlops.policy.enforcement --stack "$STACK" > "$levels"' in template
    assert 'policy=(--policy-pack policy --policy-pack-config "$levels")' in template
    assert 'pulumi preview --stack "$STACK" "${policy[@]}"' in template
    assert 'pulumi up --stack "$STACK" "${policy[@]}"' in template


def test_prod_deploys_behind_the_environment_one_run_at_a_time() -> None:
    deploy = stage("Deploy_prod")
    [job] = deploy["jobs"]
    assert job["environment"] == "prod", "approvals and the exclusive lock are checks on this environment"
    assert deploy["lockBehavior"] == "sequential"


def test_an_aml_job_is_submitted_through_the_private_workspace_after_deploying() -> None:
    aml = stage("AmlJob_prod")
    assert aml["dependsOn"] == "Deploy_prod"
    assert aml["pool"] == {"name": stack_values("prod")["agents"]["pool"]}, "the stack's own agents"
    [cli] = [s for s in steps_of(aml) if str(s.get("task", "")).startswith("AzureCLI@")]
    script = cli["inputs"]["inlineScript"]
    assert "az ml job create --file pipelines/aml/smoke-job.yml" in script
    for output in ("resourceGroupName", "workspaceName", "computeClusters"):
        assert f"pulumi stack output {output}" in script
    job = load(PIPELINES / "aml" / "smoke-job.yml")
    assert job["type"] == "command"
    assert (PIPELINES / "aml" / job["code"] / "smoke.py").is_file()
    clusters = [c["name"] for c in stack_values("prod")["computeClusters"]]
    assert job["compute"] == f"azureml:{clusters[0]}"


def test_smoke_job_writes_its_report(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(PIPELINES / "aml" / "src" / "smoke.py"), "--output", str(tmp_path)],
                            capture_output=True, text=True, check=True)
    assert (tmp_path / "smoke.json").read_text().strip().startswith("{")
    assert '"python"' in result.stdout


def test_azure_sign_in_is_the_service_connection_and_no_secret_is_handled() -> None:
    for path in files():
        text = path.read_text()
        assert not re.search(r"client[-_]?secret|PULUMI_ACCESS_TOKEN|password|\$\(System\.AccessToken\)",
                             text, re.IGNORECASE), path
    for path in files():
        for step in steps_of(load(path)):
            if str(step.get("task", "")).startswith("AzureCLI@"):
                assert step["inputs"]["azureSubscription"].startswith("${{ parameters."), "a service connection"
                assert "addSpnToEnvironment" not in step["inputs"], "no credential material in the environment"
            if "checkout" in step:
                assert step.get("persistCredentials") in (None, False, "false")


def test_pull_requests_preview_with_the_read_only_connection_and_only_main_deploys() -> None:
    # A PR's pipeline YAML comes from its branch: the deploying connection must not be reachable from
    # it (Branch control check, docs/delivery.md), and the pipeline never hands it to the PR stage.
    def connections(stage_name: str) -> set[str]:
        found = set()
        for step in steps_of(stage(stage_name)):
            if step.get("template") == "templates/pulumi.yml":
                found.add(step["parameters"]["serviceConnection"])
            if str(step.get("task", "")).startswith("AzureCLI@"):
                found.add(step["inputs"]["azureSubscription"])
        return found

    assert connections("Preview") == {"isolated-mlops-preview"}
    for stack in ("prod", "dev"):
        assert connections(f"Deploy_{stack}") == connections(f"AmlJob_{stack}") == {f"isolated-mlops-{stack}"}


@pytest.mark.parametrize("name, script", list(scripts()), ids=[n for n, _ in scripts()])
def test_scripts_take_values_from_env_not_macros(name: str, script: str) -> None:
    assert not ADO_MACRO.search(script), f"{name}: pass pipeline values through env:, not into the script"


def test_scripts_pass_shellcheck(tmp_path: Path) -> None:
    found = list(scripts())
    assert len(found) >= 6
    paths = []
    for index, (name, script) in enumerate(found):
        path = tmp_path / f"script{index}.sh"
        path.write_text(f"#!/usr/bin/env bash\n# {name}\n{script}")
        paths.append(str(path))
    assert len(ML_SCRIPTS) >= 2
    paths += [str(p) for p in ML_SCRIPTS]
    result = subprocess.run([str(BIN / "shellcheck"), "--severity=style", *paths], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_shellcheck_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/usr/bin/env bash\npulumi up --stack $STACK\n")
    assert subprocess.run([str(BIN / "shellcheck"), str(bad)], capture_output=True).returncode != 0


def run_route(template: Path, env: dict[str, str],
              run: Callable[..., subprocess.CompletedProcess[str]] = in_process) -> subprocess.CompletedProcess[str]:
    """The template's `route` step, by default with its Python part in this process (tests/ci_step.py)."""
    [step] = [s for s in steps_of(load(template)) if s.get("name") == "route"]
    return run(step["script"], ROOT, {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env})


@pytest.mark.parametrize("env, stack", [
    ({"BUILD_SOURCEBRANCH": "refs/heads/main"}, "prod"),
    ({"BUILD_SOURCEBRANCH": "refs/pull/3/merge", "SYSTEM_PULLREQUEST_TARGETBRANCH": "refs/heads/main"}, "prod"),
    ({"BUILD_SOURCEBRANCH": "refs/heads/feature/x"}, "dev"),
])
def test_the_route_step_sets_the_stack_variable(env: dict[str, str], stack: str) -> None:
    result = run_route(TEMPLATES / "pulumi.yml", env)
    assert result.returncode == 0, result.stderr
    assert f"##vso[task.setvariable variable=stack;isOutput=true]{stack}" in result.stdout.splitlines()


def test_main_deploys_prod_the_stack_the_environment_is_named_after() -> None:
    # The step as the agent runs it (a child Python); the other cases run its Python in-process.
    result = run_route(TEMPLATES / "pulumi.yml", {"BUILD_SOURCEBRANCH": "refs/heads/main"}, as_ci_runs_it)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].endswith("]" + stage("Deploy_prod")["jobs"][0]["environment"])


def test_a_tag_build_fails_the_route_step() -> None:
    assert run_route(TEMPLATES / "pulumi.yml", {"BUILD_SOURCEBRANCH": "refs/tags/v1"}).returncode != 0


# ---- Pull requests: every affected stack ------------------------------------------------------------
def _preview_job(name: str) -> dict[str, Any]:
    return next(j for j in stage("Preview")["jobs"] if j["job"] == name)


def test_pull_requests_preview_every_stack_they_affect() -> None:
    stacks = _preview_job("stacks")
    [checkout] = [s for s in stacks["steps"] if "checkout" in s]
    assert checkout["fetchDepth"] == "0", "the changed paths need the target branch's history"
    [affected] = [s for s in stacks["steps"] if s.get("name") == "affected"]
    assert "python3 -m delivery.affected_stacks" in affected["script"] and "--format azure-pipelines" in affected["script"]
    for name in ("offline", "preview"):
        job = _preview_job(name)
        assert job["dependsOn"] == "stacks"
        assert job["strategy"]["matrix"] == "$[ dependencies.stacks.outputs['affected.matrix'] ]"
        assert "ne(dependencies.stacks.outputs['affected.count'], '0')" in job["condition"]
    [offline] = [s for s in _preview_job("offline")["steps"] if "offline diff" in s.get("script", "")]
    assert offline["env"]["STACK"] == "$(stack)" and "##vso[task.uploadsummary]" in offline["script"]
    [pulumi] = [s for s in _preview_job("preview")["steps"] if s.get("template") == "templates/pulumi.yml"]
    assert pulumi["parameters"]["stack"] == "$(stack)"


# Pull request branch -> (its change, the stacks it previews).
PULL_REQUESTS: dict[str, tuple[dict[str, str], list[str]]] = {
    "dev-stack-file": ({"Pulumi.dev.yaml": "config: {changed: 1}\n"}, ["dev"]),
    "shared-code": ({"network/vnet.py": "x = 2\n"}, ["dev", "prod"]),
}


@pytest.fixture(scope="module")
def pull_requests(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One repository, a branch per pull request (tests/ci_step.py)."""
    return pr_repository(tmp_path_factory.mktemp("pull-requests"), {b: c for b, (c, _) in PULL_REQUESTS.items()})


@pytest.mark.parametrize("branch", list(PULL_REQUESTS))
def test_the_stacks_step_sets_the_matrix(branch: str, pull_requests: Path) -> None:
    [step] = [s for s in _preview_job("stacks")["steps"] if s.get("name") == "affected"]
    # The shared-code pull request runs the step as the agent runs it (a child Python); the other in-process.
    run = as_ci_runs_it if branch == "shared-code" else in_process
    result = run(step["script"], checkout(pull_requests, branch), {"PATH": runner_path(), "TARGET_BRANCH": "refs/heads/main"})
    assert result.returncode == 0, result.stderr
    matrix = {stack: {"stack": stack} for stack in PULL_REQUESTS[branch][1]}
    assert ("##vso[task.setvariable variable=matrix;isOutput=true]" + json.dumps(matrix, separators=(",", ":"))
            in result.stdout.splitlines())


def test_a_given_stack_skips_the_route_and_a_missing_one_routes() -> None:
    template = load(TEMPLATES / "pulumi.yml")
    assert template["parameters"][-1] == {"name": "stack", "displayName": template["parameters"][-1]["displayName"],
                                          "type": "string", "default": ""}
    [conditional] = [s for s in template["steps"] if isinstance(s, dict) and len(s) == 1 and "${{ if" in next(iter(s))]
    assert next(iter(conditional)) == "${{ if eq(parameters.stack, '') }}"
    assert [s["name"] for s in next(iter(conditional.values()))] == ["route"]


def test_preflight_runs_before_pulumi_and_verify_after_the_smoke_job() -> None:
    """Before `pulumi preview`/`up`: the read-only preflight, with the stack's name suffix when it has
    state; after the smoke job, from the private agent: verify (README, "Checks against the live
    subscription")."""
    script = load(TEMPLATES / "pulumi.yml")["steps"][-1]["inputs"]["inlineScript"]
    assert script.index("python -m live preflight") < script.index("pulumi up --stack")
    assert script.index("python -m live preflight") < script.index("pulumi preview --stack")
    assert '--name-suffix "${resource_group##*-}"' in script
    [cli] = [s for s in steps_of(stage("AmlJob_prod")) if str(s.get("task", "")).startswith("AzureCLI@")]
    smoke = cli["inputs"]["inlineScript"]
    assert smoke.index("az ml job create") < smoke.index("python -m live verify")
    assert '--resource-group "$resource_group"' in smoke[smoke.index("python -m live verify"):]
