"""Promotion through the Azure ML registry: deliver.sh's command lines, run against the stand-ins.

The registry is prod's (`modelRegistry: {create: true}`, stack output modelRegistryName). With it,
`share` copies the run's model version from the workspace it was registered in into the registry
(`az ml model share`), the canary deploys `azureml://registries/<registry>/models/<name>/versions/<run>`
and the production tags live on the registry's versions. Without it (dev, or a stack deployed before
the output existed) nothing changes: the workspace's own version is deployed.
"""

from __future__ import annotations

import json
from typing import Any

from tests.test_ml_pipelines import run_step, stand_ins  # noqa: F401  (the fixture)

REGISTRY = "mlr-mlops-prod-abc12"
PROD_WS = "--resource-group rg-mlops-prod-abc12 --workspace-name mlw-mlops-prod-abc12"
DEV_WS = "--resource-group rg-mlops-dev-xyz89 --workspace-name mlw-mlops-dev-xyz89"
REGISTRY_MODEL = f"azureml://registries/{REGISTRY}/models/bc-classifier/versions/8"


def calls(stand_ins: dict[str, Any]) -> list[str]:
    return stand_ins["log"].read_text().splitlines()


def empty_endpoint(stand_ins: dict[str, Any], models: list[str] | None = None) -> None:
    stand_ins["state"].write_text(json.dumps({"endpoint": False, "traffic": {}, "deployments": {}, "models": models or []}))


def test_share_copies_the_workspace_version_into_the_registry(stand_ins: dict[str, Any]) -> None:  # noqa: F811
    empty_endpoint(stand_ins)
    stand_ins["env"]["FAKE_REGISTRY"] = REGISTRY
    result = run_step(stand_ins, "share")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"ml model share {PROD_WS} --name bc-classifier --version 8 --registry-name {REGISTRY} " \
           "--share-with-name bc-classifier --share-with-version 8" in calls(stand_ins)
    assert f"shared: {REGISTRY_MODEL}" in result.stdout


def test_share_is_skipped_when_the_registry_has_the_version_already(stand_ins: dict[str, Any]) -> None:  # noqa: F811
    empty_endpoint(stand_ins, models=[f"bc-classifier:8@{REGISTRY}"])
    stand_ins["env"]["FAKE_REGISTRY"] = REGISTRY
    result = run_step(stand_ins, "share")
    assert result.returncode == 0 and "in registry mlr-mlops-prod-abc12 already" in result.stdout
    assert not any(c.startswith("ml model share") for c in calls(stand_ins))


def test_a_dev_trained_candidate_is_promoted_to_prod_through_the_registry(stand_ins: dict[str, Any]) -> None:  # noqa: F811
    """SOURCE_STACK=dev: registered in dev's workspace, shared from it, deployed in prod from the registry."""
    empty_endpoint(stand_ins)
    stand_ins["env"].update(FAKE_REGISTRY=REGISTRY, SOURCE_STACK="dev", REGISTRY_STACK="prod")
    (stand_ins["out"] / "metrics.json").write_text('{"auc": 0.97}')
    assert run_step(stand_ins, "register").returncode == 0
    assert run_step(stand_ins, "share").returncode == 0
    canary = run_step(stand_ins, "canary")
    assert canary.returncode == 0, canary.stdout + canary.stderr
    log = calls(stand_ins)
    [create] = [c for c in log if c.startswith("ml model create")]
    assert create.startswith(f"ml model create {DEV_WS} ") and "--version 8" in create
    [share] = [c for c in log if c.startswith("ml model share")]
    assert share.startswith(f"ml model share {DEV_WS} --name bc-classifier --version 8 --registry-name {REGISTRY}")
    [deploy] = [c for c in log if c.startswith("ml online-deployment create")]
    assert deploy.startswith(f"ml online-deployment create {PROD_WS} ") and f"--set model={REGISTRY_MODEL}" in deploy


def test_the_gate_and_the_production_tags_use_the_registry(stand_ins: dict[str, Any]) -> None:  # noqa: F811
    empty_endpoint(stand_ins)
    stand_ins["env"]["FAKE_REGISTRY"] = REGISTRY
    (stand_ins["out"] / "metrics.json").write_text('{"auc": 0.97}')
    assert run_step(stand_ins, "gate").returncode == 0
    [listing] = [c for c in calls(stand_ins) if c.startswith("ml model list")]
    assert listing.startswith(f"ml model list --registry-name {REGISTRY} --name bc-classifier")
    # A failed canary is tagged rejected where production versions are kept: the registry.
    (stand_ins["out"] / "rollout.env").write_text("live=blue\nnew=green\nshare=10\nrequests=50\nrounds=3\n")
    stand_ins["state"].write_text(json.dumps({"endpoint": True, "traffic": {"blue": 90, "green": 10},
                                              "deployments": {"blue": "x", "green": REGISTRY_MODEL}}))
    assert run_step(stand_ins, "rollback").returncode == 0
    assert f"ml model update --registry-name {REGISTRY} --name bc-classifier --version 8 --set tags.stage=rejected" \
        in calls(stand_ins)


def test_without_a_registry_the_workspace_version_is_deployed(stand_ins: dict[str, Any]) -> None:  # noqa: F811
    """dev (modelRegistryName null) and a stack deployed before the output existed: as before the registry."""
    for env in ({}, {"FAKE_NO_REGISTRY_OUTPUT": "1"}):
        stand_ins["log"].write_text("")
        empty_endpoint(stand_ins)
        stand_ins["env"].pop("FAKE_NO_REGISTRY_OUTPUT", None)
        stand_ins["env"].update(env)
        shared = run_step(stand_ins, "share")
        assert shared.returncode == 0 and "no model registry" in shared.stdout
        assert run_step(stand_ins, "canary").returncode == 0
        [deploy] = [c for c in calls(stand_ins) if c.startswith("ml online-deployment create")]
        assert "--set model=azureml:bc-classifier:8 " in deploy
        assert not any(c.startswith("ml model share") for c in calls(stand_ins))


def test_a_failed_share_stops_the_run(stand_ins: dict[str, Any]) -> None:  # noqa: F811
    """The registry refusing the copy (no role, no network path) fails the step: nothing is deployed from it."""
    empty_endpoint(stand_ins)
    stand_ins["env"].update(FAKE_REGISTRY=REGISTRY, FAKE_FAIL="ml model share")
    result = run_step(stand_ins, "share")
    assert result.returncode != 0 and "shared:" not in result.stdout


def test_the_jobs_run_on_the_first_cluster_of_the_stack_that_trains_or_builds(stand_ins: dict[str, Any]) -> None:  # noqa: F811
    """train on SOURCE_STACK's first cluster (dev: cpu-small), the image on STACK's (prod: cpu-build)."""
    empty_endpoint(stand_ins)
    stand_ins["env"]["SOURCE_STACK"] = "dev"
    train = run_step(stand_ins, "train")
    assert train.returncode == 0, train.stdout + train.stderr
    image = run_step(stand_ins, "image")
    assert image.returncode == 0, image.stdout + image.stderr
    jobs = [c for c in calls(stand_ins) if c.startswith("ml job create")]
    assert jobs == [f"ml job create {DEV_WS} --file ml/aml/train-job.yml --name bc-train-8 --set compute=azureml:cpu-small --stream",
                    f"ml job create {PROD_WS} --file ml/aml/build-image-job.yml --name bc-image-8 "
                    "--set environment=azureml:bc-classifier-score:8 --set compute=azureml:cpu-build --stream"]
    assert json.loads((stand_ins["out"] / "metrics.json").read_text()) == {"auc": 0.97}
