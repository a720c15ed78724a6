"""`python -m offline`: preview, diff, diagram and critical path, over the real stack files."""

from __future__ import annotations

import dataclasses
import json

import pytest

from offline import diff, graph, preview, snapshot
from offline.__main__ import _policy as policy_of
from offline.__main__ import main
from offline.engine import PROJECT_DIR, SECRET_PLACEHOLDER, RegisteredResource, StackRun
from tests import variants
from tests.topology_drawing import broken


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
    monkeypatch.setattr(snapshot, "run_stack", cached)
    return main


def _named(run: StackRun, name: str) -> RegisteredResource:
    [found] = [r for r in run.resources if r.name == name]
    return found


def _resource(name: str, type_: str = "azure-native:network:NetworkInterface", deps=(), parent: str = "",
              custom: bool = True) -> RegisteredResource:
    return RegisteredResource(
        urn=f"urn:pulumi:t::p::{type_}::{name}", type=type_, name=name, custom=custom, parent=parent,
        dependencies=list(deps), property_dependencies={}, protect=False, inputs={}, masked_inputs={},
        secret_paths=[])


def _urn(name: str, type_: str = "azure-native:network:NetworkInterface") -> str:
    return f"urn:pulumi:t::p::{type_}::{name}"


# ------------------------------------------------------------------------------------------------
# preview
# ------------------------------------------------------------------------------------------------
def test_preview_lists_every_registration_with_its_azure_name(prod):
    text = preview.render(prod)
    rows = [line for line in text.splitlines() if line.startswith(" +   ")]
    assert len(rows) == len(prod.resources)
    storage = _named(prod, "storage-account")
    [row] = [line for line in rows if f" {storage.name} " in line]
    assert storage.outputs["name"] in row and "[protected]" in row


def test_preview_marks_exactly_the_protected_resources(prod, dev):
    for run in (prod, dev):
        marked = sum("[protected]" in line for line in preview.render(run).splitlines())
        assert marked == sum(r.protect for r in run.resources)
    assert any(r.protect for r in prod.resources), "prod protects its stateful resources: the count above must not be 0 == 0"


def test_preview_details_show_inputs_but_never_a_secret(prod):
    token = _named(prod, "ci-agents-registration-token")
    assert SECRET_PLACEHOLDER in json.dumps(token.inputs), "the run must carry the secret for this test to prove anything"
    text = preview.render(prod, details=True)
    assert SECRET_PLACEHOLDER not in text
    assert 'properties.value: "[secret]"' in text
    assert '  minimumTlsVersion: "TLS1_2"' in text


def test_preview_reports_a_configuration_error_without_a_traceback(run_with):
    broken = run_with("prod", lambda v: v.update(namePrefix="Not_Valid"))
    assert broken.error is not None
    message = preview.render_error(broken)
    assert message.startswith("error: isolated-mlops/prod:") and "namePrefix" in message
    assert "Traceback" not in message


def test_cli_preview_exits_2_for_a_stack_that_does_not_exist(capsys):
    assert main(["preview", "--stack", "no-such-stack"]) == 2
    assert "stacks here: dev, prod" in capsys.readouterr().err


def test_cli_preview_policy_passes_on_both_stack_files(cli, capsys):
    assert cli(["preview", "--stack", "prod", "--policy"]) == 0
    assert "Policy (prod): " in capsys.readouterr().out
    assert cli(["preview", "--stack", "dev", "--policy"]) == 0, "dev's findings are advisory (policy/config/dev.json)"


def test_policy_findings_carry_the_stacks_enforcement_level(run_with, dev_switched):
    # prod's opened workspace is prod_opened, dev's is dev_switched, each among other switches (tests/variants.py).
    for stack, level in (("prod", "mandatory"), ("dev", "advisory")):
        public = variants.prod_opened(run_with) if stack == "prod" else dev_switched
        findings, _ = policy_of(public)
        [finding] = [f for f in findings if f.rule == "aml-workspace-private"]
        assert finding.enforcement == level
        text = preview.render_findings(public, findings, 1)
        assert f"{level:<9}  [aml-workspace-private] azure-native:machinelearningservices:Workspace" in text


def test_cli_preview_policy_fails_only_on_a_mandatory_finding(cli, monkeypatch, capsys):
    from offline import policy_check as policy_offline

    def finding(level):
        return lambda run, stack: [policy_offline.Finding("planted", run.resources[0].urn, "planted", level)]

    monkeypatch.setattr(policy_offline, "check_run", finding("advisory"))
    assert cli(["preview", "--stack", "prod", "--policy"]) == 0
    monkeypatch.setattr(policy_offline, "check_run", finding("mandatory"))
    assert cli(["preview", "--stack", "prod", "--policy"]) == 1
    assert "[planted]" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------------
# diff
# ------------------------------------------------------------------------------------------------
def test_a_run_compared_with_itself_has_no_changes(prod):
    result = diff.compare(prod, prod)
    assert result.changes == [] and result.outputs == []
    assert result.unchanged == len(prod.resources) - 1  # all but the stack itself


def test_a_changed_setting_is_an_update_of_that_property(prod, run_with):
    # The jump host resized (and cost assumptions, which change no resource): test_offline_cost's and
    # test_offline_topology's run too (tests/variants.py).
    changed = run_with("prod", variants.prod_resized_and_busy)
    [change] = diff.compare(prod, changed).changes
    assert (change.kind, change.resource.name) == ("update", "jump-host-vm")
    old_size = _named(prod, "jump-host-vm").input("hardwareProfile.vmSize")
    assert change.properties == [diff.PropertyChange("hardwareProfile.vmSize", old_size, variants.RESIZED_JUMP_HOST)]
    assert not change.blocked


def test_an_update_of_a_protected_resource_is_not_blocked(prod):
    """Only a replacement or a deletion of a protected resource is refused; storageSku reaching the
    account is test_dev_and_prod_compare_resource_by_resource's (the two stack files differ in it)."""
    storage = _named(prod, "storage-account")
    assert storage.protect, "prod protects its storage account: else `not blocked` proves nothing"

    def to_gzrs(resources):
        [account] = [r for r in resources if r.urn == storage.urn]
        for inputs in (account.inputs, account.masked_inputs):  # what the diff compares, and what it shows
            inputs["sku"]["name"] = "Standard_GZRS"
        return resources

    [change] = diff.compare(prod, broken(prod, to_gzrs)).changes
    assert (change.kind, change.resource.name) == ("update", "storage-account")
    assert change.properties == [diff.PropertyChange("sku.name", "Standard_ZRS", "Standard_GZRS")]
    assert not change.blocked and not change.loses_data


def test_a_changed_name_replaces_and_a_protected_replacement_is_flagged(prod, run_with):
    renamed = run_with("prod", lambda v: v.update(namePrefix="mlp"))
    result = diff.compare(prod, renamed)
    by_name = {c.resource.name: c for c in result.changes}
    storage = by_name["storage-account"]
    assert storage.kind == "replace" and storage.blocked
    assert any(p.path == "accountName" and p.replaces for p in storage.properties)
    jump_nic = by_name["jump-host-nic"]
    assert jump_nic.kind == "replace" and not jump_nic.blocked, "not protected: replaced freely"
    report = diff.Report(result, prod, renamed, "old", "new", findings=[], rules_run=0)
    assert "storage-account" in report.blocked_note()
    assert "> [!CAUTION]" in diff.render_markdown(report, "cmd")


def test_fewer_agents_delete_their_resources_and_more_create_them(prod, run_with):
    one_agent = run_with("prod", lambda v: v["agents"].update(count=1))
    fewer = diff.compare(prod, one_agent)
    assert {c.resource.name for c in fewer.changes if c.kind == "delete"} == {"ci-agents-1", "ci-agents-1-vm", "ci-agents-1-nic"}
    more = diff.compare(one_agent, prod)
    assert {c.resource.name for c in more.changes if c.kind == "create"} == {"ci-agents-1", "ci-agents-1-vm", "ci-agents-1-nic"}


def test_new_custom_data_replaces_the_agents(prod, prod_extended):
    """The program marks customData replace-on-change (Azure refuses to update it in place).
    prod_extended moves the agents to GitHub: a new URL in their custom data (tests/variants.py)."""
    moved = prod_extended
    changes = {c.resource.name: c for c in diff.compare(prod, moved).changes}
    for name in ("ci-agents-0-vm", "ci-agents-1-vm"):
        assert changes[name].kind == "replace"
        assert [p.path for p in changes[name].properties if p.replaces] == ["osProfile.customData"]


def test_a_resource_renamed_with_an_alias_is_the_same_resource():
    old = _resource("nic-old")
    renamed = dataclasses.replace(_resource("nic-new"), aliases=[old.urn])
    without_alias = _resource("nic-new")
    run = lambda *rs: StackRun("t", "p", list(rs), {})  # noqa: E731
    assert diff.compare(run(old), run(renamed)).changes == []
    assert [c.kind for c in diff.compare(run(old), run(without_alias)).changes] == ["create", "delete"]


def test_replacement_keys_come_from_the_arm_id():
    assert {"accountName", "resourceGroupName", "location"} <= diff.replace_keys("azure-native:storage:StorageAccount")
    assert "privateZoneName" in diff.replace_keys("azure-native:privatedns:VirtualNetworkLink")
    assert "sku" not in diff.replace_keys("azure-native:storage:StorageAccount")
    assert diff.replace_keys("random:index/randomString:RandomString") is None


def test_dev_and_prod_compare_resource_by_resource(dev, prod):
    result = diff.compare(dev, prod)
    created = {c.resource.name for c in result.changes if c.kind == "create"}
    assert {"storage-queue-pe", "storage-table-pe", "cluster-gpu-train-compute"} <= created
    # Each stack file's storageSku reaches its account (dev: Standard_LRS, prod: Standard_ZRS).
    [storage] = [c for c in result.changes if c.resource.name == "storage-account"]
    assert diff.PropertyChange("sku.name", "Standard_LRS", "Standard_ZRS", replaces=False) in storage.properties
    assert all(c.resource.type != preview.ROOT_TYPE for c in result.changes)


def test_two_stacks_are_a_comparison_of_environments_without_data_loss_verdicts(dev, prod):
    result = diff.compare(dev, prod)
    assert result.environments
    storage = next(c for c in result.changes if c.resource.name == "storage-account")
    # The raw change is still a replacement of a stateful resource...
    assert storage.kind == "replace" and storage.loses_data
    # ...but between two stacks nothing is deleted: no verdicts, in either format.
    assert result.data_losses == [] and result.blocked == []
    report = diff.Report(result, dev, prod, "dev", "prod in the working tree", findings=[], rules_run=0)
    text = diff.render_text(report)
    assert text.startswith("Comparison of environments, dev and prod")
    assert "DATA LOSS" not in text and "refuses" not in text and "forces replacement" not in text
    assert "differs in identity" in text and "only in prod" in text and "only in dev" in text
    markdown = diff.render_markdown(report, "cmd")
    assert markdown.startswith("### Offline comparison of environments: `dev` → `prod`")
    assert "data loss**" not in markdown.lower() and "[!CAUTION]" not in markdown and "(protected)" not in markdown
    assert "| difference |" in markdown


def test_within_one_stack_the_verdicts_stay(prod, run_with, tmp_path):
    """The negative case: the same renamed prod against prod (a revision, or a saved run of prod)."""
    renamed = run_with("prod", lambda v: v.update(namePrefix="mlp"))
    path = tmp_path / "prod.json"
    path.write_text(json.dumps(snapshot.to_document(prod)))
    saved = snapshot.load(str(path))
    for old in (prod, saved):
        result = diff.compare(old, renamed)
        assert not result.environments
        assert "storage-account" in {c.resource.name for c in result.data_losses}
        assert "storage-account" in {c.resource.name for c in result.blocked}
        report = diff.Report(result, old, renamed, "prod at HEAD", "prod in the working tree", findings=[], rules_run=0)
        assert "DATA LOSS: stateful" in diff.render_text(report)
        markdown = diff.render_markdown(report, "cmd")
        assert markdown.startswith("### Offline preview of `prod`") and "**Data loss.**" in markdown


def test_cli_diff_against_another_stack_is_labelled_a_comparison(cli, capsys):
    assert cli(["diff", "--stack", "prod", "--against", "dev"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Comparison of environments, dev and prod") and "DATA LOSS" not in out
    assert cli(["diff", "--stack", "prod", "--against", "dev", "--format", "markdown"]) == 0
    assert capsys.readouterr().out.startswith("### Offline comparison of environments")


def test_a_preview_document_round_trips_and_holds_no_secret(prod, tmp_path):
    document = snapshot.to_document(prod)
    text = json.dumps(document)
    assert SECRET_PLACEHOLDER not in text
    path = tmp_path / "prod.json"
    path.write_text(text)
    loaded = snapshot.load(str(path))
    assert diff.compare(prod, loaded).changes == []
    assert diff.compare(loaded, prod).outputs == []


def test_sources_that_do_not_exist_are_reported(tmp_path):
    with pytest.raises(snapshot.SourceError, match="not a git revision"):
        snapshot.load("no-such-revision-xyz:prod")
    with pytest.raises(snapshot.SourceError, match="no stack file"):
        snapshot.load("staging")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(snapshot.SourceError, match="not a `pulumi preview --json` document"):
        snapshot.load(str(tmp_path / "bad.json"))


# `diff --against-ref REVISION` (a child process runs the revision): tests/test_offline_revisions.py.


def test_a_diff_without_changes_says_so_and_draws_nothing(cli, prod, tmp_path, capsys):
    saved = tmp_path / "prod.json"
    saved.write_text(json.dumps(snapshot.to_document(prod)))
    assert cli(["diff", "--stack", "prod", "--against", str(saved), "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "**No changes**" in out and "Policy pack:" in out and "```mermaid" not in out, "nothing to draw"


def test_the_markdown_report_fits_a_pull_request_comment(prod, run_with):
    renamed = run_with("prod", lambda v: v.update(namePrefix="mlp"))
    report = diff.Report(diff.compare(prod, renamed), prod, renamed, "old", "new", findings=[], rules_run=0)
    full = diff.render_markdown(report, "cmd")
    assert len(full) <= diff.MARKDOWN_BUDGET
    assert full.count("<details") == full.count("</details>") and full.count("```") % 2 == 0


# ------------------------------------------------------------------------------------------------
# dependency graph, critical path, diagram
# ------------------------------------------------------------------------------------------------
def test_every_registered_type_has_a_create_time_estimate(each_stack):
    path = graph.critical_path(graph.DependencyGraph.of(each_stack))
    assert path.unestimated_types == []


def test_critical_path_follows_the_slowest_chain_not_the_longest():
    rg = _resource("rg", "azure-native:resources:ResourceGroup")
    endpoint = _resource("pe", "azure-native:network:PrivateEndpoint", deps=[rg.urn])  # 75 s
    nic1 = _resource("nic1", deps=[rg.urn])  # 5 s each
    nic2 = _resource("nic2", deps=[nic1.urn])
    nic3 = _resource("nic3", deps=[nic2.urn])
    vm = _resource("vm", "azure-native:compute:VirtualMachine", deps=[nic3.urn, endpoint.urn])  # waits for both
    path = graph.critical_path(graph.DependencyGraph.from_resources([rg, endpoint, nic1, nic2, nic3, vm]))
    assert [s.resource.name for s in path.steps] == ["rg", "pe", "vm"]
    assert path.steps[-1].start == 5 + 75, "the VM starts when the slower of its dependencies is done"
    assert path.total_seconds == 5 + 75 + 120
    assert path.serial_seconds == 5 + 75 + 3 * 5 + 120


def test_critical_path_of_a_stack_is_a_chain_of_real_dependencies(each_stack):
    g = graph.DependencyGraph.of(each_stack)
    path = graph.critical_path(g)
    first, *rest = path.steps
    assert g.depends_on[first.resource.urn] == ()
    for before, after in zip(path.steps, rest):
        assert before.resource.urn in g.depends_on[after.resource.urn]
        assert after.start == before.start + before.seconds
    assert path.total_seconds == path.steps[-1].start + path.steps[-1].seconds


def test_waiting_for_a_component_means_waiting_for_everything_inside_it():
    component = _resource("box", "mlops:test:Box", custom=False)
    inner = _resource("inner", parent=component.urn)
    nested = _resource("nested-box", "mlops:test:Box", parent=component.urn, custom=False)
    deep = _resource("deep", parent=nested.urn)
    waiter = _resource("waiter", deps=[component.urn])
    g = graph.DependencyGraph.from_resources([component, inner, nested, deep, waiter])
    assert set(g.depends_on[waiter.urn]) == {inner.urn, deep.urn}
    assert component.urn not in g.resources


def test_reduced_edges_drop_only_what_another_path_implies(prod):
    a, b = _resource("a"), _resource("b", deps=[_urn("a")])
    c = _resource("c", deps=[_urn("a"), _urn("b")])
    assert graph.DependencyGraph.from_resources([a, b, c]).reduced_edges() == [(a.urn, b.urn), (b.urn, c.urn)]

    g = graph.DependencyGraph.of(prod)
    edges = g.reduced_edges()
    reduced = graph.DependencyGraph(g.resources, {
        urn: tuple(dep for dep, dependent in edges if dependent == urn) for urn in g.resources})
    assert reduced.ancestors() == g.ancestors()
    assert len(edges) < sum(len(deps) for deps in g.depends_on.values())


def test_diagram_draws_every_resource_and_marks_the_critical_path(prod, cli, capsys):
    assert cli(["diagram", "--stack", "prod", "--view", "dependencies"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("%% isolated-mlops/prod") and "\nflowchart LR\n" in text
    nodes = [line for line in text.splitlines() if '["' in line and not line.strip().startswith("subgraph")]
    assert len(nodes) == len(prod.custom_resources())
    assert text.count(" --> ") == len(graph.DependencyGraph.of(prod).reduced_edges())
    assert text.count("subgraph ") == sum(line.strip() == "end" for line in text.splitlines())
    critical = graph.critical_path(graph.DependencyGraph.of(prod))
    [marked] = [line for line in text.splitlines() if line.strip().startswith("class ") and line.endswith(" critical")]
    assert len(marked.split()[1].split(",")) == len(critical.steps)


def test_cli_critical_path_lists_the_chain_in_order(prod, cli, capsys):
    assert cli(["critical-path", "--stack", "prod"]) == 0
    text = capsys.readouterr().out
    steps = graph.critical_path(graph.DependencyGraph.of(prod)).steps
    positions = [text.index(f"  {s.resource.name}\n") for s in steps]
    assert positions == sorted(positions) and len(steps) > 2
