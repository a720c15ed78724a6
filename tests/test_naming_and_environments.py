"""Names within Azure's limits, stacks that never collide, and environments that are only stack files."""

from __future__ import annotations

import io
import re
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from isolated_mlops.components import naming
from offline.engine import PROJECT_DIR, StackRun, run_stack
from offline.mocks import RESOURCE_KINDS, PlatformMocks
from isolated_mlops.policy.rules import RULES
import pulumi

KIND_BY_TYPE = {
    "azure-native:resources:ResourceGroup": "resource_group",
    "azure-native:storage:StorageAccount": "storage_account",
    "azure-native:keyvault:Vault": "key_vault",
    "azure-native:containerregistry:Registry": "container_registry",
    "azure-native:machinelearningservices:Workspace": "ml_workspace",
    "azure-native:machinelearningservices:Compute": "aml_compute",
    "azure-native:operationalinsights:Workspace": "log_analytics",
    "azure-native:applicationinsights:Component": "app_insights",
    "azure-native:network:VirtualNetwork": "virtual_network",
    "azure-native:network:BastionHost": "bastion",
    "azure-native:compute:VirtualMachine": "linux_vm",
}


def test_every_physical_name_within_azure_limits(each_stack: StackRun):
    checked = 0
    for r in each_stack.custom_resources():
        kind = KIND_BY_TYPE.get(r.type)
        if kind:
            name_key = RESOURCE_KINDS[r.type][0]
            assert naming.violation(kind, r.input(name_key)) is None
            checked += 1
    assert checked >= 12


def test_globally_unique_names_carry_environment_and_random_suffix(each_stack: StackRun):
    [suffix] = [r.outputs["result"] for r in each_stack.resources if r.type.startswith("random:")]
    assert re.fullmatch(r"[a-z0-9]{%d}" % naming.SUFFIX_LENGTH, suffix)
    for type_ in ("azure-native:storage:StorageAccount", "azure-native:keyvault:Vault",
                  "azure-native:containerregistry:Registry", "azure-native:resources:ResourceGroup"):
        [r] = each_stack.of_type(type_)
        name = r.input(RESOURCE_KINDS[type_][0])
        assert name.endswith(suffix) and each_stack.stack in name, name


def test_two_stacks_never_share_a_global_name(runs):
    def global_names(run):
        return {r.input(RESOURCE_KINDS[r.type][0]) for r in run.custom_resources()
                if r.type in ("azure-native:storage:StorageAccount", "azure-native:keyvault:Vault",
                              "azure-native:containerregistry:Registry")}
    assert not global_names(runs["dev"]) & global_names(runs["prod"])


@pytest.mark.parametrize("kind, name, expected", [
    ("storage_account", "st" + "a" * 23, "25 characters"),
    ("storage_account", "st-mlops", "lowercase letters and digits"),
    ("key_vault", "kv--mlops", "no '--'"),
    ("key_vault", "1kv", "starting with a letter"),
    ("container_registry", "cr-x1", "letters and digits only"),
    ("aml_compute", "gpu", None),
    ("aml_compute", "9gpu", "starting with a letter"),
    # workspaces/computes: 2-16 characters (Azure's resource-name rules), not the 3-32 once assumed here.
    ("aml_compute", "g2", None),
    ("aml_compute", "cpu-build-cluster", "17 characters; Azure allows 2-16"),
    ("aml_compute", "cpu-build-cluste", None),
    ("ml_workspace", "mlw-" + "x" * 30, "34 characters"),
])
def test_name_rules(kind: str, name: str, expected):
    message = naming.violation(kind, name)
    assert (message is None) if expected is None else (expected in message)


def test_name_check_uses_the_worst_case_suffix():
    """prefix + environment + a 5-character suffix must fit before anything is created."""
    import dataclasses

    from isolated_mlops.components import plan as planning
    from isolated_mlops.components.plan_checks import check_names
    from tests.helpers import stack_plan

    prod = stack_plan("prod").config

    def plan(prefix: str, environment: str) -> planning.Plan:
        return planning.build(dataclasses.replace(prod, name_prefix=prefix, environment=environment))

    overflow = check_names(plan("mlopsplt", "production"))
    assert any("storage account" in message and "random suffix" in message for _, message in overflow)
    # 'st' + 'mlopsplt' + 'prod' + 5 = 19 characters: fits.
    assert check_names(plan("mlopsplt", "prod")) == []


def test_model_registry_name_follows_the_rest_api_pattern():
    """`^[a-zA-Z0-9][a-zA-Z0-9\\-_]{2,32}$`: 3-33 characters, no leading '-' or '_'."""
    assert naming.violation("ml_registry", "mlr-mlops-prod-ab1c2") is None
    assert naming.violation("ml_registry", "-mlr") is not None
    assert naming.violation("ml_registry", "ab") is not None and naming.violation("ml_registry", "a" * 34) is not None
    assert naming.violation("ml_registry", "a" * 33) is None
    # The longest prefix and environment still fit: 'mlr-' + 8 + '-' + 10 + '-' + 5 = 29.
    worst = naming.TEMPLATES["ml_registry"].format(p="a" * 8, e="b" * 10, s="c" * naming.SUFFIX_LENGTH)
    assert len(worst) == 29 and naming.violation("ml_registry", worst) is None


# ---- Environments are stack files ------------------------------------------------------------
def _mirror_with(tmp_path: Path, stack_files: dict[str, str]) -> Path:
    """The project (a symlink per entry) with these stack files instead of the committed ones."""
    for entry in PROJECT_DIR.iterdir():
        if entry.name == "Pulumi.yaml" or not entry.name.startswith("Pulumi."):
            (tmp_path / entry.name).symlink_to(entry)
    for stack, text in stack_files.items():
        (tmp_path / f"Pulumi.{stack}.yaml").write_text(text)
    return tmp_path


@dataclass
class Preview:
    code: int
    out: str
    err: str
    runs: list[StackRun] = field(repr=False)
    """The runs the command made (one, unless it refused the stack file before running the program)."""


@pytest.fixture(scope="module")
def staging_preview(tmp_path_factory: pytest.TempPathFactory) -> Preview:
    """README "Adding an environment": `cp Pulumi.dev.yaml Pulumi.staging.yaml`, its address spaces
    moved off dev's (the one edit the README asks of every copy), then `python -m offline preview
    --stack staging --policy` in this process (tests/test_offline_preview.py runs it as a child).
    One whole-program run, read by the two tests below."""
    from offline import __main__ as cli

    dev = (PROJECT_DIR / "Pulumi.dev.yaml").read_text()
    assert dev.count(" 10.110.") == dev.count(" 10.111.") == 4, "dev's two VNets and their subnets"
    staging = dev.replace(" 10.110.", " 10.120.").replace(" 10.111.", " 10.121.")
    project = _mirror_with(tmp_path_factory.mktemp("staging"), {"staging": staging})
    runs: list[StackRun] = []

    def recorded(*args: Any, **kwargs: Any) -> StackRun:
        runs.append(run_stack(*args, **kwargs))
        return runs[-1]

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(out), redirect_stderr(err):
        patch.setattr(sys, "path", list(sys.path))  # --project-dir puts the copy on sys.path
        patch.setattr(cli, "run_stack", recorded)
        code = cli.main(["preview", "--stack", "staging", "--policy", "--project-dir", str(project)])
    return Preview(code, out.getvalue(), err.getvalue(), runs)


def test_new_environment_needs_only_config(staging_preview: Preview):
    """A stack name the code has never seen, with a stack file's worth of config: no code change."""
    [run] = staging_preview.runs
    assert run.error is None and (run.stack, run.project) == ("staging", "isolated-mlops")
    vnets = run.of_type("azure-native:network:VirtualNetwork")
    assert sorted(v.input("addressSpace.addressPrefixes")[0] for v in vnets) == ["10.120.0.0/16", "10.121.0.0/16"], \
        "the staging file's own address spaces"
    assert run.exports["workspaceName"] == "mlw-mlops-staging"
    assert len(run.custom_resources()) > 50


def test_a_copy_of_dev_previews_with_policy_as_documented(staging_preview: Preview):
    """No policy/config/staging.json: the default levels apply, every rule mandatory except
    stateful-resources-protected, which the copy's `protectStatefulResources: false` (dev's) turns off."""
    assert not (PROJECT_DIR / "policy" / "config" / "staging.json").exists()
    assert "isolated-mlops:protectStatefulResources: false" in (PROJECT_DIR / "Pulumi.dev.yaml").read_text()
    preview = staging_preview
    assert preview.code == 0, preview.out[-2000:] + preview.err[-2000:]
    # Every rule runs but stateful-resources-protected, which dev's copy disables by its own file.
    assert (f"Policy (staging): {len(RULES) - 1} rules, no violations; levels from the default of policy/enforcement.py, "
            "as there is no policy/config/staging.json.") in preview.out


def test_a_copy_of_dev_held_to_protection_names_the_key_that_fixes_it(dev: StackRun):
    """The negative case: the same copy asking for production's levels (as prod's file does) fails, and
    says which key in which file to change."""
    from offline.preview import render_findings
    from offline.policy_check import check_run

    findings = check_run(dev, "prod")  # prod's committed levels: all mandatory
    assert findings and all(f.mandatory for f in findings)
    text = render_findings(dev, findings, 27)
    assert ("to fix [stateful-resources-protected]: set isolated-mlops:protectStatefulResources: true in "
            "Pulumi.prod.yaml, or set \"stateful-resources-protected\": \"disabled\" in policy/config/prod.json") in text


def test_no_environment_names_in_code():
    """Per-environment differences belong in stack files, not in `if stack == "prod"`."""
    offenders = []
    for path in PROJECT_DIR.glob("*.py"):
        offenders += _scan(path)
    for package in ("components", "network", "workspace", "compute"):
        for path in (PROJECT_DIR / package).rglob("*.py"):
            offenders += _scan(path)
    assert offenders == []


def _scan(path: Path) -> list[str]:
    text = path.read_text()
    hits = re.findall(r"get_stack\(\)\s*[=!]=|[=!]=\s*pulumi\.get_stack\(\)|[\"'](?:prod|dev|production)[\"']", text)
    return [f"{path.name}: {h}" for h in hits]


def test_environment_scan_can_fail(tmp_path: Path):
    bad = tmp_path / "bad.py"
    bad.write_text('if pulumi.get_stack() == "prod":\n    pass\n')
    assert len(_scan(bad)) == 2


# ---- Mocks behave like the provider where the program reads outputs --------------------------
def test_unmocked_invoke_fails_loudly():
    with pytest.raises(NotImplementedError, match="not mocked"):
        PlatformMocks().call(pulumi.runtime.MockCallArgs("azure-native:compute:getVirtualMachine", {}, ""))


def test_unknown_resource_type_fails_loudly():
    args = pulumi.runtime.MockResourceArgs("azure-native:sql:Server", "db", {}, custom=True)
    with pytest.raises(NotImplementedError, match="RESOURCE_KINDS"):
        PlatformMocks().new_resource(args)


def test_mock_names_and_ids_like_the_provider():
    mocks = PlatformMocks()
    rid, state = mocks.new_resource(pulumi.runtime.MockResourceArgs(
        "azure-native:network:VirtualNetwork", "aml-network-vnet",
        {"virtualNetworkName": "vnet-aml", "resourceGroupName": "rg-x"}, custom=True))
    assert state["name"] == "vnet-aml"
    assert rid.endswith("/resourceGroups/rg-x/providers/Microsoft.Network/virtualNetworks/vnet-aml")
    _, autonamed = mocks.new_resource(pulumi.runtime.MockResourceArgs(
        "azure-native:authorization:RoleAssignment", "ra", {"scope": "/x"}, custom=True))
    assert re.fullmatch(r"[0-9a-f-]{36}", autonamed["name"]), "role assignments are autonamed with a GUID"
