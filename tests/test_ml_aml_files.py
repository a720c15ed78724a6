"""The Azure ML YAML files (job, environment, model, Kubernetes endpoint and deployment).

Azure ML's published JSON schemas (azuremlschemas.azureedge.net) cannot be fetched here and no copy
of them was found in a public repository, and `azure-ai-ml` (whose loaders `az ml` uses) is not in
the package mirror: so these are our own checks of what Microsoft's YAML reference pages mark
required or allowed, cited per file, plus the links between the files and the code they run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.ml_support import load_yaml, stack_setting

ROOT = Path(__file__).resolve().parent.parent
AML = ROOT / "ml" / "aml"
SCHEMA_URL = "https://azuremlschemas.azureedge.net/latest/{}.schema.json"
REFERENCE = re.compile(r"\$\{\{\s*(inputs|outputs)\.(\w+)\s*\}\}")


def load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = load_yaml(AML / name)
    return doc


# name -> (schema, keys the reference page marks required, the reference page)
FILES = {
    "train-job.yml": ("commandJob", {"command", "environment"}, "reference-yaml-job-command"),
    "build-image-job.yml": ("commandJob", {"command", "environment"}, "reference-yaml-job-command"),
    "environment/score.yml": ("environment", {"name", "image"}, "reference-yaml-environment"),
    "model.yml": ("model", {"name", "path"}, "reference-yaml-model"),
    "endpoint.yml": ("kubernetesOnlineEndpoint", {"name", "compute"}, "reference-yaml-endpoint-online"),
    "deployment.yml": ("kubernetesOnlineDeployment", {"name", "endpoint_name", "environment"},
                       "reference-yaml-deployment-kubernetes-online"),
}


@pytest.mark.parametrize("name", FILES)
def test_each_file_names_its_schema_and_has_the_required_keys(name: str) -> None:
    schema, required, page = FILES[name]
    doc = load(name)
    assert doc["$schema"] == SCHEMA_URL.format(schema)
    assert required <= set(doc), f"{name}: missing {required - set(doc)}"
    assert f"learn.microsoft.com/azure/machine-learning/{page}" in (AML / name).read_text(), \
        f"{name}: cite the YAML reference page it follows"


def test_the_training_job_runs_train_py_with_its_declared_inputs_and_outputs() -> None:
    job = load("train-job.yml")
    assert job["type"] == "command" and (AML / job["code"] / "train.py").is_file()
    used = REFERENCE.findall(job["command"])
    assert set(used) == {("inputs", n) for n in job["inputs"]} | {("outputs", n) for n in job["outputs"]}
    assert (AML / job["inputs"]["training_data"]["path"]).resolve() == ROOT / "ml" / "data" / "breast_cancer.csv"
    assert job["inputs"]["training_data"]["type"] == "uri_file" and job["outputs"]["model_output"]["type"] == "uri_folder"
    train = (ROOT / "ml" / "src" / "train.py").read_text()
    for flag in re.findall(r"(--[\w-]+) \$\{\{", job["command"]):
        assert f'"{flag}"' in train, f"train.py takes no {flag}"


def test_jobs_run_on_the_platforms_first_cluster() -> None:
    # The pipelines override `compute` with the stack's computeClusters output; the file's own value
    # is prod's, so a manual `az ml job create` lands on a cluster that exists.
    prod_first = stack_setting("prod", "computeClusters")[0]["name"]
    for name in ("train-job.yml", "build-image-job.yml"):
        assert load(name)["compute"] == f"azureml:{prod_first}"


def test_serving_pins_the_training_scikit_learn_minor_version() -> None:
    curated = re.fullmatch(r"azureml://registries/azureml/environments/sklearn-(\d+\.\d+)/labels/latest",
                           load("train-job.yml")["environment"])
    assert curated, "the training job uses a curated sklearn-<minor> environment"
    conda = load_yaml(AML / "environment" / load("environment/score.yml")["conda_file"])
    pins = [d for d in conda["dependencies"] if isinstance(d, str) and d.startswith("scikit-learn=")]
    assert pins == [f"scikit-learn={curated.group(1)}"], "a pickled model loads reliably only in the same minor version"
    pip = next(d["pip"] for d in conda["dependencies"] if isinstance(d, dict))
    assert any(p.startswith("azureml-inference-server-http") for p in pip), "score.py needs the inference server"


def test_the_image_build_job_uses_the_serving_environment() -> None:
    job = load("build-image-job.yml")
    env = load("environment/score.yml")["name"]
    assert job["environment"] == f"azureml:{env}@latest"
    assert "azureml_inference_server_http" in job["command"] and "sklearn" in job["command"]


def test_the_model_is_registered_from_the_training_output() -> None:
    model = load("model.yml")
    assert model["type"] == "custom_model"
    assert re.fullmatch(r"azureml://jobs/\w+/outputs/model_output/paths/model/", model["path"])
    assert model["name"] == load("deployment.yml")["model"].split(":")[1].split("@")[0]


def test_the_endpoint_is_a_private_kubernetes_endpoint_with_key_auth() -> None:
    endpoint = load("endpoint.yml")
    assert endpoint["compute"].startswith("azureml:")
    assert endpoint["auth_mode"] in ("key", "aml_token"), "the two modes Kubernetes online endpoints take"
    assert "traffic" not in endpoint, "traffic cannot be set at creation; the pipeline sets it per rollout"
    assert "how-to-attach-kubernetes-anywhere" in (AML / "endpoint.yml").read_text()


def test_the_deployment_serves_score_py_on_kubernetes() -> None:
    deployment = load("deployment.yml")
    assert deployment["type"] == "kubernetes" and deployment["name"] in ("blue", "green")
    assert deployment["endpoint_name"] == load("endpoint.yml")["name"]
    code = AML / deployment["code_configuration"]["code"]
    assert (code / deployment["code_configuration"]["scoring_script"]).is_file()
    assert deployment["environment"] == f"azureml:{load('environment/score.yml')['name']}@latest"
    requests = deployment["resources"]["requests"]
    assert isinstance(requests["cpu"], str) and isinstance(requests["memory"], str), "Kubernetes quantities are strings"
    assert deployment["instance_count"] >= 1
    assert "how-to-safely-rollout-online-endpoints" in (AML / "deployment.yml").read_text()


def test_the_sample_request_fits_the_schema() -> None:
    from ml.validation import load_schema

    schema = load_schema()
    rows = load_yaml(ROOT / "ml" / "data" / "sample-request.json")["data"]
    for row in rows:
        assert list(row) == schema.feature_names
        assert all(spec.min <= row[spec.name] <= spec.max for spec in schema.features)


def test_the_data_licence_is_recorded() -> None:
    readme = (ROOT / "ml" / "data" / "README.md").read_text()
    assert "CC BY 4.0" in readme and "archive.ics.uci.edu" in readme and "scikit-learn" in readme
