"""`python -m offline preview`: the text a reviewer reads, and the JSON tools written for
`pulumi preview --json` read, both drawn from exactly what the program registered."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from offline import config_check, diff, engine, preview, snapshot
from offline.engine import MASK, PROJECT_DIR, SECRET_PLACEHOLDER, RegisteredResource, StackRun
from tests import variants

PROGRAM = ("__main__.py", "Pulumi.yaml", "Pulumi.prod.yaml", "components", "network", "workspace", "compute")


@pytest.fixture
def cli(runs, monkeypatch):
    """`main`, handed the session's runs of the stack files instead of new ones (a run costs a second)."""
    import offline.__main__ as command_line

    real = command_line.run_stack

    def cached(stack, project_dir=PROJECT_DIR, **kwargs):
        if stack in runs and project_dir == PROJECT_DIR and not kwargs:
            return runs[stack]
        return real(stack, project_dir=project_dir, **kwargs)

    monkeypatch.setattr(command_line, "run_stack", cached)
    return command_line.main


def _json_preview(cli, capsys, stack: str = "prod") -> dict:
    assert cli(["preview", "--stack", stack, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _setting_line(text: str, resource: RegisteredResource) -> str:
    """The key-settings line printed under a resource's row."""
    lines = text.splitlines()
    [index] = [i for i, line in enumerate(lines)
               if line.startswith(" +   ") and f"{resource.type}  " in line and f" {resource.name} " in f"{line} "]
    return lines[index + 1]


# ------------------------------------------------------------------------------------------------
# --json: the shape of `pulumi preview --json`
# ------------------------------------------------------------------------------------------------
def test_json_has_the_shape_of_pulumi_preview_json(cli, capsys):
    document = _json_preview(cli, capsys)
    assert list(document) == ["config", "steps", "diagnostics", "duration", "changeSummary"]
    assert document["changeSummary"] == {"create": len(document["steps"])}
    assert isinstance(document["duration"], int) and document["duration"] > 0, "nanoseconds, as Go marshals a Duration"
    for step in document["steps"]:
        state = step["newState"]
        assert step["op"] == "create" and step["urn"] == state["urn"]
        assert {"type", "inputs", "parent", "dependencies", "propertyDependencies", "protect", "custom"} <= set(state)
        assert isinstance(state["protect"], bool) and isinstance(state["dependencies"], list)
        assert all(isinstance(urns, list) for urns in state["propertyDependencies"].values())
    assert document["config"]["isolated-mlops:location"] == "westeurope"


def test_json_lists_exactly_what_the_program_registered_in_order(prod, cli, capsys):
    steps = _json_preview(cli, capsys)["steps"]
    assert [s["urn"] for s in steps] == [r.urn for r in prod.in_registration_order()]
    assert len({s["urn"] for s in steps}) == len(prod.resources), "nothing dropped, nothing twice"
    by_urn = {s["urn"]: s["newState"] for s in steps}
    for r in prod.resources:
        state = by_urn[r.urn]
        assert (state["type"], state["custom"], state["parent"], state["protect"]) == (r.type, r.custom, r.parent, r.protect)
        assert state["dependencies"] == r.dependencies and state["propertyDependencies"] == r.property_dependencies
        assert state["inputs"] == r.masked_inputs
        assert state.get("aliases", []) == r.aliases


def test_json_steps_refer_only_to_steps_listed_before_them(cli, capsys):
    """What the engine needs to create a resource (its parent, its dependencies) was registered first:
    a step that names a URN no earlier step created means a registration was dropped or invented."""
    seen: set[str] = set()
    for step in _json_preview(cli, capsys)["steps"]:
        state = step["newState"]
        named = {state["parent"], *state["dependencies"], *(u for urns in state["propertyDependencies"].values() for u in urns)}
        assert named - {""} <= seen, f"{step['urn']} refers to {sorted(named - seen - {''})}"
        seen.add(step["urn"])


def test_json_never_holds_a_secret(prod, cli, capsys):
    token = next(r for r in prod.resources if r.name == "ci-agents-registration-token")
    assert token.input("properties.value") == SECRET_PLACEHOLDER, "the run must carry the secret for this to prove anything"
    document = _json_preview(cli, capsys)
    assert SECRET_PLACEHOLDER not in json.dumps(document)
    state = next(s["newState"] for s in document["steps"] if s["urn"] == token.urn)
    assert state["inputs"]["properties"]["value"] == MASK, "masked as Pulumi masks it: the string [secret]"
    assert document["config"]["isolated-mlops:agentRegistrationToken"] == MASK


def test_json_is_a_side_of_a_diff(prod, cli, capsys, tmp_path):
    path = tmp_path / "prod.json"
    path.write_text(json.dumps(_json_preview(cli, capsys)))
    loaded = snapshot.load(str(path))
    assert (loaded.stack, loaded.project) == (prod.stack, prod.project)
    assert diff.compare(prod, loaded).changes == [] and diff.compare(loaded, prod).outputs == []
    assert [(r.urn, r.protect, r.outputs.get("name"), r.aliases) for r in loaded.resources] == [
        (r.urn, r.protect, r.outputs.get("name") if r.custom else None, r.aliases) for r in prod.resources]
    assert "properties.value" in next(r for r in loaded.resources if r.name == "ci-agents-registration-token").secret_paths


def test_json_of_a_failing_program_carries_its_error_and_fails(cli, run_with, monkeypatch, capsys):
    import offline.__main__ as command_line

    broken = run_with("prod", lambda v: v.update(namePrefix="Not_Valid"))
    monkeypatch.setattr(command_line, "run_stack", lambda stack, **_: broken)
    assert cli(["preview", "--stack", "prod", "--json"]) == 1
    out, err = capsys.readouterr()
    [error] = [d for d in json.loads(out)["diagnostics"] if d["severity"] == "error"]
    assert "namePrefix" in error["message"] and "namePrefix" in err
    assert "namePrefix" in str(snapshot.from_document(json.loads(out)).error), "a diff side that failed says so"


# ------------------------------------------------------------------------------------------------
# The text preview: key settings and the summary by type
# ------------------------------------------------------------------------------------------------
def test_private_endpoints_show_their_group_target_and_subnet(prod):
    text = preview.render(prod)
    endpoints = prod.of_type("azure-native:network:PrivateEndpoint")
    # workspace, storage x4 (batch endpoints), vault, registry, Azure Monitor; the model registry and its storage and ACR
    assert len(endpoints) == 11
    for endpoint in endpoints:
        [connection] = endpoint.input("privateLinkServiceConnections")
        line = _setting_line(text, endpoint)
        target = connection["privateLinkServiceId"].rsplit("/", 1)[-1]
        assert f"groupIds={','.join(connection['groupIds'])}" in line and f"target={target}" in line
        assert "subnet=snet-private-endpoints" in line


def test_networks_show_their_address_space_and_every_subnet_prefix(each_stack):
    text = preview.render(each_stack)
    for vnet in each_stack.of_type("azure-native:network:VirtualNetwork"):
        line = _setting_line(text, vnet)
        assert f"addressSpace={','.join(vnet.input('addressSpace.addressPrefixes'))}" in line
        for subnet in vnet.input("subnets"):
            assert f"{subnet['name']}={subnet['addressPrefix']}" in line


def test_public_access_is_shown_as_the_program_sets_it(prod, run_with):
    def access(run: StackRun) -> str:
        [workspace] = run.of_type("azure-native:machinelearningservices:Workspace")
        return _setting_line(preview.render(run), workspace)

    assert "publicNetworkAccess=Disabled" in access(prod)
    # workspacePublicAccess: true, among other switches (tests/variants.py)
    assert "publicNetworkAccess=Enabled" in access(variants.prod_opened(run_with))
    [storage] = prod.of_type("azure-native:storage:StorageAccount")
    storage_line = _setting_line(preview.render(prod), storage)
    assert "publicNetworkAccess=Enabled  defaultAction=Deny" in storage_line and "sku=Standard_ZRS" in storage_line
    # An input the program leaves out shows Azure's default, marked as such.
    assert storage.input("allowSharedKeyAccess") is None, "if the program sets it now, assert its value here"
    assert "allowSharedKeyAccess=true(unset: Azure's default)" in storage_line
    for type_ in ("azure-native:operationalinsights:Workspace", "azure-native:applicationinsights:Component"):
        [monitored] = prod.of_type(type_)
        line = _setting_line(preview.render(prod), monitored)
        assert "publicNetworkAccessForIngestion=Disabled" in line and "publicNetworkAccessForQuery=Disabled" in line, type_
    [scope] = prod.of_type("azure-native:monitor:PrivateLinkScope")
    scope_line = _setting_line(preview.render(prod), scope)
    assert "ingestionAccessMode=Open" in scope_line and "queryAccessMode=Open" in scope_line


def test_every_key_setting_path_exists_in_the_program(runs):
    """A setting whose path the program never sets prints nothing, silently: a typo would hide it."""
    found: set[tuple[str, str]] = set()
    for run in runs.values():
        for r in run.resources:
            for setting in preview.KEY_SETTINGS.get(r.type, ()):
                if preview._values(r.masked_inputs, setting.path.split(".")) or setting.azure_default:
                    found.add((r.type, setting.path))
    # Only one is optional here: a NIC's public IP, which this platform never gives it.
    expected = {(t, s.path) for t, settings in preview.KEY_SETTINGS.items() for s in settings
                if t in {r.type for run in runs.values() for r in run.resources}}
    assert expected - found == {("azure-native:network:NetworkInterface", "ipConfigurations[].publicIPAddress.id")}


def test_summary_counts_each_type(prod):
    text = preview.render(prod)
    summary = text[text.index("\nResources:\n"):]
    counts = Counter(r.type for r in prod.resources if r.custom)
    for type_token, count in counts.items():
        assert f"  {count:>3}  {type_token}" in summary
    listed = [line for line in summary.splitlines() if line.strip() and line.strip().split()[0].isdigit()]
    assert sum(int(line.split()[0]) for line in listed) == len(prod.custom_resources())
    assert "azure-native:storage:StorageAccount" in summary and "(1 protected)" in summary


# ------------------------------------------------------------------------------------------------
# The command itself: a bad stack file, and a reader that stops early
# ------------------------------------------------------------------------------------------------
def _project_copy(tmp_path: Path, stack_file: str) -> Path:
    for name in PROGRAM:
        source = PROJECT_DIR / name
        target = tmp_path / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, target)
    (tmp_path / "Pulumi.broken.yaml").write_text(stack_file)
    return tmp_path


def test_a_bad_stack_file_exits_1_with_the_programs_own_message(tmp_path):
    prod = (PROJECT_DIR / "Pulumi.prod.yaml").read_text()
    broken = prod.replace("namePrefix: mlops", "namePrefix: Not_Valid").replace("storageSku: Standard_ZRS", "storageSkew: x")
    assert broken.count("Not_Valid") == 1 and "storageSkew" in broken
    project = _project_copy(tmp_path, broken)
    child = subprocess.run(
        [sys.executable, "-m", "offline", "preview", "--stack", "broken", "--project-dir", str(project)],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)
    assert child.returncode == 1 and child.stdout == ""
    assert child.stderr.startswith("error: isolated-mlops/broken:")
    assert "namePrefix" in child.stderr and "storageSkew" in child.stderr, "every problem at once"
    assert "Traceback" not in child.stderr
    # The command reports it without running the program (offline/config_check.py): word for word what
    # the program's run ends with.
    refused = config_check.config_error("broken", project)
    run = engine.run_stack("broken", project_dir=project)
    assert refused is not None and run.error is not None and str(refused) == str(run.error)
    assert child.stderr == preview.render_error(run) + "\n"


def test_a_reader_that_stops_early_is_not_an_error(cli, monkeypatch):
    """`python -m offline preview --stack prod | head`: writing to the closed pipe ends the command
    quietly, with stdout pointed at /dev/null so the interpreter's last flush cannot fail either."""

    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self) -> int:
            return 97

    redirected: list[int] = []
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    monkeypatch.setattr(os, "open", lambda path, flags: 98)
    monkeypatch.setattr(os, "dup2", lambda source, target: redirected.append(target))
    assert cli(["preview", "--stack", "prod"]) == 0
    assert redirected == [97]


# ------------------------------------------------------------------------------------------------
# critical-path: where its figures come from, and no wait without a reason
# ------------------------------------------------------------------------------------------------
def test_every_create_time_estimate_says_where_it_comes_from():
    from offline import graph

    docs = (PROJECT_DIR / "docs" / "offline.md").read_text()
    for type_token, known in graph.TYPICAL_CREATE_SECONDS.items():
        assert known.basis in {"documented", "local", "estimate", "measured"} and known.source, type_token
        assert f"| `{type_token}` | {known.seconds} | {known.basis} |" in docs, f"docs/offline.md lacks {type_token}"


def test_every_ordering_only_dependency_has_a_reason(runs):
    """A `depends_on` no input needs makes `pulumi up` wait for nothing unless Azure needs the order."""
    from offline import graph

    used = set()
    for run in runs.values():
        for dependent, dependency in graph.ordering_only(run):
            key = (dependent.type, dependency.type)
            assert key in graph.ORDERING_DEPENDENCIES, f"{dependent.name} waits for {dependency.name} for no recorded reason"
            used.add(key)
    assert used == set(graph.ORDERING_DEPENDENCIES), "a reason for a wait the program no longer has"


def test_an_ordering_dependency_without_a_reason_is_reported(prod):
    from offline import graph

    jump_host = next(r for r in prod.resources if r.name == "jump-host-vm")
    bastion = next(r for r in prod.resources if r.name == "bastion-host")
    waiting = dataclasses.replace(jump_host, dependencies=sorted({*jump_host.dependencies, bastion.urn}))
    run = dataclasses.replace(prod, resources=[waiting if r is jump_host else r for r in prod.resources])
    assert (waiting, bastion) in graph.ordering_only(run)
    text = graph.render_critical_path(run, graph.critical_path(graph.DependencyGraph.of(run)))
    assert "jump-host-vm waits for bastion-host: NO REASON RECORDED" in text


def test_a_type_without_a_create_time_points_to_its_catalogue_record(prod):
    """The figures are the catalogue's `create` fields: the output says where to add one."""
    from offline import graph

    jump_host = next(r for r in prod.resources if r.name == "jump-host-vm")
    novel = dataclasses.replace(jump_host, type="azure-native:novel:Thing")
    run = dataclasses.replace(prod, resources=[novel if r is jump_host else r for r in prod.resources])
    text = graph.render_critical_path(run, graph.critical_path(graph.DependencyGraph.of(run)))
    assert "the `create` field of each type's record in components/catalogue/" in text
    assert ("No estimate for azure-native:novel:Thing: counted as 30 s each; give their records in "
            "components/catalogue/ a `create` time.") in text
    assert "No estimate" not in graph.render_critical_path(prod, graph.critical_path(graph.DependencyGraph.of(prod)))


# ------------------------------------------------------------------------------------------------
# diff: a stateful resource that goes is flagged, protected or not
# ------------------------------------------------------------------------------------------------
def _without(run: StackRun, type_token: str) -> StackRun:
    [gone] = run.of_type(type_token)
    return dataclasses.replace(run, resources=[r for r in run.resources if r.urn != gone.urn])


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_removed_stateful_resource_is_flagged_as_data_loss(runs, stack):
    old = runs[stack]
    new = _without(old, "azure-native:containerregistry:Registry")
    report = diff.Report(diff.compare(old, new), old, new, "old", "new", findings=[], rules_run=0)
    [change] = report.diff.changes
    assert change.kind == "delete" and change.loses_data
    assert change.blocked == (stack == "prod"), "only prod protects it; the data is lost either way"
    text = diff.render_text(report)
    assert "[DATA LOSS: stateful]" in text and "WARNING: 1 stateful resource(s) would be deleted" in text
    markdown = diff.render_markdown(report, "cmd")
    assert "> **Data loss.**" in markdown and "**data loss**" in markdown


def test_a_removed_stateless_resource_is_not_data_loss(prod):
    new = _without(prod, "azure-native:network:BastionHost")
    [change] = diff.compare(prod, new).changes
    assert change.kind == "delete" and not change.loses_data
    report = diff.Report(diff.compare(prod, new), prod, new, "old", "new", findings=[], rules_run=0)
    assert "DATA LOSS" not in diff.render_text(report) and "Data loss" not in diff.render_markdown(report, "cmd")
