"""Azure Pipelines deploys whichever stack delivery/branches.yaml routes a push to, each behind its own
environment: one Deploy/AmlJob stage pair per stack, generated at compile time, and only the routed
stack's pair runs. Checked by compiling the pipeline and evaluating its conditions
(tests/azure_pipeline_run.py) with the route step really run, in a copy of the repository with a
staging environment added the way README "Adding an environment" says."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest

from delivery import pipeline_stacks
from tests.azure_pipeline_run import Unsupported, compile_pipeline, named_resources, stage_results
from tests.ci_step import as_ci_runs_it, in_process
from tests.helpers import load_yaml
from tests.test_delivery_azure_pipelines import PIPELINE, check_schema, steps_of

# One process loads check-jsonschema and its schemas for the three CI-file test files (tests/workers.py).
pytestmark = pytest.mark.same_worker("check-jsonschema")

ROOT = Path(__file__).resolve().parent.parent
STAGING_LINE = "staging: aml-private-staging"


def compiled(root: Path = ROOT) -> dict[str, Any]:
    document = load_yaml(root / "pipelines" / "azure-pipelines.yml")
    return compile_pipeline(document, {p["name"]: p.get("default") for p in document["parameters"]})


def run(root: Path, branch: str, reason: str = "IndividualCI", target: str = "",
        step_run: Callable[..., subprocess.CompletedProcess[str]] = in_process,
        ) -> tuple[dict[str, str], dict[str, Any], subprocess.CompletedProcess[str]]:
    """Which stages a build of `branch` runs; the Route stage's step runs in `root` (by default with its
    Python part in this process, tests/ci_step.py; `step_run=as_ci_runs_it` as the agent runs it)."""
    pipeline = compiled(root)
    routed: list[subprocess.CompletedProcess[str]] = []

    def outputs(stage: dict[str, Any]) -> tuple[str, dict[str, str]]:
        if stage["stage"] != "Route":
            return "Succeeded", {}
        [job] = stage["jobs"]
        [step] = [s for s in job["steps"] if s.get("name") == "route"]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "BUILD_SOURCEBRANCH": f"refs/heads/{branch}",
               **{k: str(v) for k, v in step["env"].items()}}
        result = step_run(step["script"], root, env)
        routed.append(result)
        prefix = "##vso[task.setvariable variable="
        found = {}
        for line in result.stdout.splitlines():
            if line.startswith(prefix) and ";isOutput=true]" in line:
                name, value = line[len(prefix):].split(";isOutput=true]", 1)
                found[f"{job['job']}.{step['name']}.{name}"] = value
        return ("Succeeded" if result.returncode == 0 else "Failed"), found

    variables = {"Build.Reason": reason, "Build.SourceBranch": f"refs/heads/{branch}",
                 "System.PullRequest.TargetBranch": target}
    results = stage_results(pipeline, variables, outputs)
    return results, pipeline, (routed[0] if routed else subprocess.CompletedProcess([], 0, "", ""))


def ran(results: dict[str, str]) -> set[str]:
    return {name for name, result in results.items() if result != "Skipped"}


def repository_with_staging(tmp_path: Path) -> Path:
    """A copy of what routing and the pipeline read, plus Pulumi.staging.yaml and `release/*` -> staging."""
    root = tmp_path / "repo"
    for name in ("delivery", "pipelines"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for path in ROOT.glob("Pulumi*.yaml"):
        shutil.copy(path, root / path.name)
    dev = (ROOT / "Pulumi.dev.yaml").read_text()
    assert "pool: aml-private-dev" in dev
    (root / "Pulumi.staging.yaml").write_text(dev.replace("pool: aml-private-dev", "pool: aml-private-staging"))
    branches = root / "delivery" / "branches.yaml"
    text = branches.read_text()
    assert "\ndefault: dev" in text
    branches.write_text(text.replace("\ndefault: dev", "\n  - branch: release/*\n    stack: staging\ndefault: dev"))
    return root


def generated_stages_only(pipeline: str) -> str:
    """The pipeline's text with only its generated stages: everything before `stages:`, then the
    `${{ each }}` block (the last stage entry) as it is. A schema check of that costs a third of the
    whole file's; `stages` items are validated one by one, so the stages left out are covered by the
    check of the committed file (tests/test_delivery_azure_pipelines.py)."""
    stages, each = "\nstages:\n", "  - ${{ each stack in parameters.stacks }}:\n"
    assert pipeline.count(stages) == pipeline.count(each) == 1
    return pipeline[:pipeline.index(stages) + len(stages)] + pipeline[pipeline.index(each):]


def add_pipeline_line(root: Path, line: str) -> None:
    """The one-line fix the check prints, made where it says: under the `stacks` parameter's default."""
    path = root / "pipelines" / "azure-pipelines.yml"
    text = path.read_text()
    anchor = "      dev: aml-private-dev\n"
    assert text.count(anchor) == 1
    path.write_text(text.replace(anchor, anchor + f"      {line}\n"))


# ---- the committed pipeline ---------------------------------------------------------------------------
def test_the_stacks_list_is_the_stack_files_with_their_agent_pools() -> None:
    assert pipeline_stacks.problems() == []
    assert pipeline_stacks.pipeline_stacks() == {"prod": "aml-private", "dev": "aml-private-dev"}


def test_one_deploy_and_one_aml_stage_per_stack_each_behind_its_own_environment() -> None:
    stages = {s["stage"]: s for s in compiled()["stages"]}
    assert [n for n in stages if n.startswith(("Deploy", "AmlJob"))] == [
        "Deploy_prod", "AmlJob_prod", "Deploy_dev", "AmlJob_dev"]
    for stack, pool in pipeline_stacks.pipeline_stacks().items():
        deploy, aml = stages[f"Deploy_{stack}"], stages[f"AmlJob_{stack}"]
        [job] = deploy["jobs"]
        assert job["environment"] == stack, "approvals and the exclusive lock are checks on this environment"
        assert deploy["lockBehavior"] == "sequential"
        assert deploy["dependsOn"] == ["Test", "Route"]
        [up] = [s for s in steps_of(job) if s.get("template") == "templates/pulumi.yml"]
        assert up["parameters"] == {"serviceConnection": f"isolated-mlops-{stack}", "command": "up", "stack": stack}
        assert aml["dependsOn"] == f"Deploy_{stack}" and aml["pool"] == {"name": pool}
        [cli] = [s for s in steps_of(aml) if str(s.get("task", "")).startswith("AzureCLI@")]
        assert cli["inputs"]["azureSubscription"] == f"isolated-mlops-{stack}"
        assert cli["env"]["STACK"] == stack


def setup_section() -> str:
    """docs/delivery.md's Azure Pipelines setup list: what an admin creates before the pipeline runs."""
    text = (ROOT / "docs" / "delivery.md").read_text()
    start = text.index("Setup, in the Azure DevOps project.")
    return text[start:text.index("\n## ", start)]


def unlisted(pipeline: dict[str, Any], setup: str) -> list[str]:
    """Resources the compiled pipeline names that the setup list does not (each as `kind name`)."""
    return sorted(f"{kind} {name}" for kind, names in named_resources(pipeline).items() for name in names
                  if f"`{name}`" not in setup)


def test_every_resource_any_stage_names_is_in_the_setup_list() -> None:
    """A run needs every connection and pool the compiled YAML names, also those of skipped stages."""
    pipeline = compiled()
    assert named_resources(pipeline) == {
        "connections": {"isolated-mlops-preview", "isolated-mlops-prod", "isolated-mlops-dev"},
        "pools": {"aml-private", "aml-private-dev"},
        "environments": {"prod", "dev"},
    }
    # A push to main skips dev's stages, yet dev's connection and pool are still named by the run.
    results, ran_pipeline, _ = run(ROOT, "main")
    assert results["Deploy_dev"] == "Skipped" and "isolated-mlops-dev" in named_resources(ran_pipeline)["connections"]
    assert unlisted(pipeline, setup_section()) == []


def test_a_new_stacks_resources_are_named_until_the_setup_lists_them(tmp_path: Path) -> None:
    root = repository_with_staging(tmp_path)
    add_pipeline_line(root, STAGING_LINE)
    assert unlisted(compiled(root), setup_section()) == [
        "connections isolated-mlops-staging", "environments staging", "pools aml-private-staging"]


@pytest.mark.parametrize("branch, stack", [("main", "prod"), ("feature/x", "dev"), ("release/1.0", "dev")])
def test_a_push_runs_only_the_routed_stacks_stages(branch: str, stack: str) -> None:
    results, _, route = run(ROOT, branch)
    assert route.returncode == 0, route.stderr
    assert ran(results) == {"Test", "Route", f"Deploy_{stack}", f"AmlJob_{stack}"}


def test_a_pull_request_previews_and_deploys_nothing() -> None:
    results, _, _ = run(ROOT, "feature/x", reason="PullRequest", target="refs/heads/main")
    assert ran(results) == {"Test", "Preview"}


def test_a_tag_build_deploys_nothing() -> None:
    pipeline = compiled()
    [step] = [s for s in steps_of(next(s for s in pipeline["stages"] if s["stage"] == "Route")) if s.get("name") == "route"]
    result = in_process(step["script"], ROOT, {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                                               "BUILD_SOURCEBRANCH": "refs/tags/v1",
                                               "PIPELINE_STACKS": step["env"]["PIPELINE_STACKS"]})
    assert result.returncode != 0 and "not a branch ref" in result.stderr


# ---- a new environment: staging from release/* --------------------------------------------------------
def test_a_stack_file_without_its_pipeline_line_fails_with_the_line_to_add(tmp_path: Path) -> None:
    root = repository_with_staging(tmp_path)
    assert pipeline_stacks.problems(root) == [
        f"pipelines/azure-pipelines.yml: Pulumi.staging.yaml has no Deploy stage: add the line `{STAGING_LINE}` "
        "under the `stacks` parameter's `default`"]
    # Until the line is added, a release branch fails its Route stage instead of deploying nothing.
    results, _, route = run(root, "release/1.0")
    assert route.returncode == 1
    assert "has no Deploy stage for it: add `staging: <its agents.pool>`" in route.stderr
    assert results["Route"] == "Failed"
    assert not {n for n in ran(results) if n.startswith(("Deploy", "AmlJob"))}


def test_with_the_line_added_a_release_branch_deploys_staging_and_not_prod(tmp_path: Path) -> None:
    root = repository_with_staging(tmp_path)
    add_pipeline_line(root, STAGING_LINE)
    assert pipeline_stacks.problems(root) == []
    # Schema-valid with the line: the header holding it and the generated stages (the other stages are
    # the committed file's, which the schema test validates).
    changed = tmp_path / "azure-pipelines.yml"
    changed.write_text(generated_stages_only((root / "pipelines" / "azure-pipelines.yml").read_text()))
    assert STAGING_LINE in changed.read_text()
    assert check_schema(changed).returncode == 0

    # The Route step as the agent runs it, in the copy (a child Python); the other builds run it in-process.
    results, pipeline, route = run(root, "release/1.0", step_run=as_ci_runs_it)
    assert route.returncode == 0, route.stderr
    assert "##vso[task.setvariable variable=stack;isOutput=true]staging" in route.stdout.splitlines()
    assert ran(results) == {"Test", "Route", "Deploy_staging", "AmlJob_staging"}
    assert results["Deploy_prod"] == results["Deploy_dev"] == "Skipped"
    staging = next(s for s in pipeline["stages"] if s["stage"] == "Deploy_staging")
    assert staging["jobs"][0]["environment"] == "staging"
    assert next(s for s in pipeline["stages"] if s["stage"] == "AmlJob_staging")["pool"] == {"name": "aml-private-staging"}
    # main still deploys prod, and only prod.
    results, _, _ = run(root, "main")
    assert ran(results) == {"Test", "Route", "Deploy_prod", "AmlJob_prod"}


@pytest.mark.parametrize("replacement, problem", [
    ("", "Pulumi.dev.yaml has no Deploy stage: add the line `dev: aml-private-dev`"),
    ("      dev: aml-private\n", "stacks.dev is 'aml-private' but Pulumi.dev.yaml has agents.pool 'aml-private-dev'"),
])
def test_a_missing_or_wrong_line_is_named(replacement: str, problem: str, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "pipelines", root / "pipelines")
    for path in ROOT.glob("Pulumi*.yaml"):
        shutil.copy(path, root / path.name)
    pipeline = root / "pipelines" / "azure-pipelines.yml"
    text = pipeline.read_text()
    assert text.count("      dev: aml-private-dev\n") == 1
    pipeline.write_text(text.replace("      dev: aml-private-dev\n", replacement))
    [found] = pipeline_stacks.problems(root)
    assert problem in found


def test_an_entry_without_a_stack_file_is_named(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "pipelines", root / "pipelines")
    for path in ROOT.glob("Pulumi*.yaml"):
        shutil.copy(path, root / path.name)
    (root / "Pulumi.dev.yaml").unlink()
    assert pipeline_stacks.problems(root) == [
        "pipelines/azure-pipelines.yml: stacks.dev has no Pulumi.dev.yaml: remove its line, or add the stack file"]


# ---- the simulation can fail ---------------------------------------------------------------------------
def test_a_condition_reading_the_wrong_output_deploys_nothing(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "delivery", root / "delivery", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "pipelines", root / "pipelines")
    pipeline = root / "pipelines" / "azure-pipelines.yml"
    text = pipeline.read_text()
    assert "outputs['route.route.stack']" in text
    pipeline.write_text(text.replace("outputs['route.route.stack']", "outputs['route.stack']"))
    results, _, _ = run(root, "main")
    assert ran(results) == {"Test", "Route"}


def test_unmodelled_expressions_are_refused() -> None:
    with pytest.raises(Unsupported):
        compile_pipeline({"stages": [{"${{ if eq(1, 1) }}": [{"stage": "A"}]}]}, {})
    with pytest.raises(Unsupported):
        stage_results({"stages": [{"stage": "A", "condition": "startsWith(variables['x'], 'a')"}]}, {},
                      lambda s: ("Succeeded", {}))


def test_the_schema_check_sees_inside_the_generated_stages(tmp_path: Path) -> None:
    text = generated_stages_only(PIPELINE.read_text())
    assert text.count("        lockBehavior: sequential\n") == 1
    broken = tmp_path / "azure-pipelines.yml"
    broken.write_text(text.replace("        lockBehavior: sequential\n", "        lockBehaviour: sequential\n"))
    result = check_schema(broken)
    assert result.returncode != 0 and "'lockBehaviour' was unexpected" in result.stdout, result.stdout
