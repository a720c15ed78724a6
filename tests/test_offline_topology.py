"""`python -m offline diagram`: the topology is drawn from the registrations, and shows what breaks.

Each test reads the Mermaid text back into boxes, nodes and arrows, and compares it with the run's
own inputs; each "shows" test breaks the run the way a bad change would and checks the picture says so.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from components.zones import CLOUDS
from offline import diff, graph, topology
from offline.engine import PROJECT_DIR, RegisteredResource, StackRun

MERMAID_DIR = PROJECT_DIR / "tests" / "mermaid"


@dataclass
class Drawing:
    """A Mermaid flowchart read back: boxes (subgraphs), nodes and arrows, by id."""

    text: str
    labels: dict[str, str] = field(default_factory=dict)
    """Node or box id -> its label."""
    inside: dict[str, list[str]] = field(default_factory=dict)
    """Id -> the chain of boxes it sits in, outermost first."""
    edges: list[tuple[str, str, str, str]] = field(default_factory=list)
    """(from, arrow, label, to)."""
    classes: dict[str, set[str]] = field(default_factory=dict)
    styled: dict[str, str] = field(default_factory=dict)

    def ids(self, label_start: str) -> list[str]:
        return [i for i, label in self.labels.items() if label.startswith(label_start)]

    def one(self, label_start: str) -> str:
        [found] = self.ids(label_start)
        return found

    def box_of(self, node: str) -> str:
        return self.inside[node][-1]

    def arrows(self, source: str = "", target: str = "") -> list[tuple[str, str, str, str]]:
        return [e for e in self.edges if (not source or e[0] == source) and (not target or e[3] == target)]


_BOX = re.compile(r'^subgraph (\S+)\["(.*)"\]$')
_NODE = re.compile(r'^(\w+)(?:\[\("|\(\("|\[")(.*?)(?:"\)\]|"\)\)|"\])(?::::\w+)?$')
_EDGE = re.compile(r'^(\w+) (<-->|-->|==>|-\.->|-\.-)(?:\|"([^"]*)"\|)? (\w+)$')


def read(text: str) -> Drawing:
    drawing, stack = Drawing(text), list[str]()
    for raw in text.splitlines()[2:]:
        line = raw.strip()
        if not line:
            continue
        if m := _BOX.match(line):
            drawing.labels[m[1]], drawing.inside[m[1]] = m[2], list(stack)
            stack.append(m[1])
        elif line == "end":
            stack.pop()
        elif m := _EDGE.match(line):
            drawing.edges.append((m[1], m[2], m[3] or "", m[4]))
        elif line.startswith("classDef "):
            continue
        elif line.startswith("class "):
            _, members, name = line.split()
            drawing.classes[name] = set(members.split(","))
        elif line.startswith("style "):
            _, member, style = line.split(maxsplit=2)
            drawing.styled[member] = style
        elif m := _NODE.match(line):
            drawing.labels[m[1]], drawing.inside[m[1]] = m[2], list(stack)
        else:
            raise AssertionError(f"a line the test cannot read: {line!r}")
    assert not stack, "a subgraph is not closed"
    return drawing


def draw(run: StackRun, **kwargs) -> Drawing:
    return read(topology.mermaid(run, **kwargs))


def _name(r: RegisteredResource) -> str:
    return str(r.outputs["name"])


def _last(resource_id: str) -> str:
    return resource_id.rsplit("/", 1)[-1]


def broken(run: StackRun, change: Callable[[list[RegisteredResource]], list[RegisteredResource]]) -> StackRun:
    """A copy of the run with its resources changed the way a bad change would change them."""
    resources = copy.deepcopy(run.resources)
    changed = change(resources)
    assert changed != run.resources, "the change changed nothing: the test would prove nothing"
    return dataclasses.replace(run, resources=changed)


def _typed(run_or_list, type_: str) -> list[RegisteredResource]:
    resources = run_or_list.resources if isinstance(run_or_list, StackRun) else run_or_list
    return [r for r in resources if r.type == type_]


# ------------------------------------------------------------------------------------------------
# Drawn from the registrations
# ------------------------------------------------------------------------------------------------
def test_every_registered_type_is_drawn_or_shown_on_another_node(each_stack):
    assert topology.unshown_types(each_stack) == []
    newcomer = dataclasses.replace(each_stack.resources[0], type="azure-native:network:ApplicationGateway",
                                   urn="urn:pulumi:x::y::azure-native:network:ApplicationGateway::agw", custom=True)
    run = dataclasses.replace(each_stack, resources=[*each_stack.resources, newcomer])
    assert topology.unshown_types(run) == ["azure-native:network:ApplicationGateway"]


def test_each_vnet_box_holds_exactly_its_subnets_with_their_prefixes(each_stack):
    drawing = draw(each_stack)
    vnets = _typed(each_stack, topology.VNET)
    assert len(vnets) == 2
    for vnet in vnets:
        space = vnet.inputs["addressSpace"]["addressPrefixes"][0]
        box = drawing.one(f"VNet {_name(vnet)} {space}")
        drawn = sorted(drawing.labels[i].split("<br/>")[0] for i in drawing.labels
                       if drawing.inside.get(i) == [box] and i.startswith("snet") and not i.endswith("e"))
        declared = sorted(f"{s['name']} {s['addressPrefix']}" for s in vnet.inputs["subnets"])
        assert drawn == declared


def test_endpoints_bastion_clusters_and_vms_sit_in_the_subnet_their_inputs_name(each_stack):
    drawing = draw(each_stack)
    nics = {r.id: r for r in _typed(each_stack, topology.NIC)}
    expected: dict[str, str] = {}
    for pe in _typed(each_stack, topology.PRIVATE_ENDPOINT):
        expected[f"PE {_name(pe)}<br/>"] = _last(pe.inputs["subnet"]["id"])
    for bastion in _typed(each_stack, topology.BASTION):
        expected[f"Bastion {_name(bastion)}<br/>"] = _last(bastion.inputs["ipConfigurations"][0]["subnet"]["id"])
    for cluster in _typed(each_stack, topology.COMPUTE):
        expected[f"AmlCompute {_name(cluster)}<br/>"] = _last(cluster.inputs["properties"]["properties"]["subnet"]["id"])
    for vm in _typed(each_stack, topology.VM):
        nic = nics[vm.inputs["networkProfile"]["networkInterfaces"][0]["id"]]
        expected[f"VM {_name(vm)}<br/>"] = _last(nic.inputs["ipConfigurations"][0]["subnet"]["id"])
    assert any(k.startswith("VM vm-jump") for k in expected) and any(k.startswith("AmlCompute") for k in expected)
    for label, subnet in expected.items():
        node = drawing.one(label)
        assert drawing.labels[drawing.box_of(node)].startswith(subnet + " "), f"{label} drawn outside {subnet}"


def test_each_endpoint_points_at_its_target_and_exactly_its_groups_zones(each_stack):
    drawing = draw(each_stack)
    zones_by_group = CLOUDS["AzureCloud"].zones_by_group_id
    by_id = {r.id: r for r in each_stack.resources if r.custom}
    endpoints = _typed(each_stack, topology.PRIVATE_ENDPOINT)
    assert len(endpoints) >= 5
    for pe in endpoints:
        node = drawing.one(f"PE {_name(pe)}<br/>")
        [connection] = pe.inputs["privateLinkServiceConnections"]
        if connection["privateLinkServiceId"] in by_id:
            target = by_id[connection["privateLinkServiceId"]]
            [(_, _, _, to)] = [e for e in drawing.arrows(source=node) if e[2] == "private link"]
        else:  # an AML registry's managed storage or ACR: drawn onto the registry that reports it
            [owner_urn] = pe.property_dependencies["privateLinkServiceConnections"]
            target = each_stack.by_urn(owner_urn)
            assert target.type == topology.ML_REGISTRY
            [(_, _, _, to)] = [e for e in drawing.arrows(source=node) if e[2] == "private link, its managed account"]
        assert _name(target) in drawing.labels[to]
        zones = sorted(drawing.labels[e[3]] for e in drawing.arrows(source=node) if e[1] == "-.->")
        assert zones == sorted(zones_by_group[connection["groupIds"][0]])


def test_the_workspace_is_drawn_with_its_dependencies_and_its_clusters(prod):
    drawing = draw(prod)
    workspace = drawing.one("AML workspace ")
    used = {label: drawing.labels[to].split(" ")[0] for _, _, label, to in drawing.arrows(source=workspace)
            if label not in topology.ROLE_NAMES.values()}
    assert set(used) == {"storageAccount", "keyVault", "containerRegistry", "applicationInsights"}
    clusters = _typed(prod, topology.COMPUTE)
    assert {e[0] for e in drawing.arrows(target=workspace) if e[2] == "cluster of"} == {
        drawing.one(f"AmlCompute {_name(c)}<br/>") for c in clusters}


def test_the_workspace_and_cluster_roles_are_drawn_to_what_they_read(prod):
    drawing = draw(prod)
    workspace = drawing.one("AML workspace ")
    read = sorted(drawing.labels[to].split("<br/>")[0] for _, _, label, to in drawing.arrows(source=workspace)
                  if label == "Reader")
    assert read == sorted(f"PE pe-{_name(a)}-{g}" for a in _typed(prod, topology.STORAGE)
                          for g in ("blob", "file", "queue", "table"))
    registry = drawing.one("Container registry ")
    pullers = {drawing.labels[e[0]].split("<br/>")[0] for e in drawing.arrows(target=registry) if e[2] == "AcrPull"}
    assert pullers == {f"AmlCompute {_name(c)}" for c in _typed(prod, topology.COMPUTE)} and pullers


def test_the_agents_identity_role_is_drawn_to_the_vault(prod):
    drawing = draw(prod)
    vault = drawing.one("Key Vault ")
    readers = {drawing.labels[e[0]].split("<br/>")[0] for e in drawing.arrows(target=vault)
               if e[2] == "Key Vault Secrets User"}
    assert readers == {f"VM {name}" for name in prod.exports["agentPool"]["vmNames"]} and readers


# ------------------------------------------------------------------------------------------------
# Shows what breaks
# ------------------------------------------------------------------------------------------------
def test_peering_is_drawn_both_ways_and_a_missing_direction_is_flagged(prod):
    drawing = draw(prod)
    [(a, arrow, label, b)] = [e for e in drawing.edges if e[0].startswith("vnet") and e[3].startswith("vnet")]
    assert (arrow, label) == ("<-->", "peered both ways")

    def drop_one_direction(resources):
        return [r for r in resources if not r.name.endswith("bastion-to-aml")]

    [(_, arrow, label, _)] = [e for e in draw(broken(prod, drop_one_direction)).edges
                              if e[0].startswith("vnet") and e[3].startswith("vnet")]
    assert arrow == "-->" and "ONE WAY ONLY" in label


def test_zone_links_are_counted_per_vnet_and_a_missing_link_is_flagged(prod):
    zones = len(_typed(prod, topology.ZONE))
    links = [e for e in draw(prod).edges if e[0] == topology.ZONES_BOX]
    assert [label for _, _, label, _ in links] == [f"{zones} of {zones} zones linked"] * 2

    def unlink_one(resources):
        [link] = [r for r in resources if r.name == "private-dns-privatelink.vaultcore.azure.net-bastion"]
        return [r for r in resources if r is not link]

    drawing = draw(broken(prod, unlink_one))
    labels = {drawing.labels[to].split(" ")[1]: label for _, _, label, to in drawing.arrows(source=topology.ZONES_BOX)}
    assert labels["vnet-aml-mlops-prod"] == f"{zones} of {zones} zones linked"
    assert labels["vnet-bastion-mlops-prod"] == f"{zones - 1} of {zones} zones linked: SOME NAMES RESOLVE PUBLICLY"


def test_only_bastion_is_reachable_from_the_internet(each_stack):
    drawing = draw(each_stack)
    inbound = drawing.arrows(source=topology.INTERNET)
    assert [(arrow, label, drawing.labels[to].split("<br/>")[0]) for _, arrow, label, to in inbound] == [
        ("-->", "HTTPS 443", f"Bastion {_name(_typed(each_stack, topology.BASTION)[0])}")]
    assert all(drawing.labels[e[0]].startswith("NAT gateway") and e[2] == "outbound only"
               for e in drawing.arrows(target=topology.INTERNET))
    assert "exposed" not in drawing.classes and not drawing.styled


def test_a_public_ip_on_a_vm_is_drawn_as_an_internet_path(prod):
    def give_jump_host_a_public_ip(resources):
        [ip] = [r for r in resources if r.name == "bastion-ip"]
        [nic] = [r for r in resources if r.name == "jump-host-nic"]
        nic.inputs["ipConfigurations"][0]["publicIPAddress"] = {"id": ip.id}
        return resources

    drawing = draw(broken(prod, give_jump_host_a_public_ip))
    vm = drawing.one("VM vm-jump-mlops-prod")
    assert (topology.INTERNET, "==>", "public IP on a VM", vm) in drawing.edges
    assert vm in drawing.classes["exposed"] and "PUBLIC IP" in drawing.labels[vm]


def test_nsg_allow_rules_become_arrows_and_an_internet_source_is_flagged(prod):
    drawing = draw(prod)
    bastion_subnet = drawing.box_of(drawing.one("Bastion "))
    ssh = {drawing.labels[to].split(" ")[0] for _, _, label, to in drawing.arrows(source=bastion_subnet)
           if label == "Tcp 22 allowed"}
    assert ssh == {"snet-jump-host", "snet-agents"}

    def open_agents_to_the_internet(resources):
        [nsg] = [r for r in resources if r.name == "access-network-nsg-agents"]
        nsg.inputs["securityRules"][0]["sourceAddressPrefix"] = "Internet"
        return resources

    drawing = draw(broken(prod, open_agents_to_the_internet))
    [(_, arrow, label, subnet)] = [e for e in drawing.arrows(source=topology.INTERNET) if e[2] != "HTTPS 443"]
    assert (arrow, label) == ("==>", "Tcp 22 allowed") and drawing.labels[subnet].startswith("snet-agents ")
    assert subnet in drawing.styled and "stroke-width:3px" in drawing.styled[subnet]


def test_subnet_paths_are_only_the_ones_the_nsgs_allow(prod):
    """Bastion to the VMs, the endpoints' clients to the endpoints' subnet, a cluster's nodes to each
    other (in the subnet's label): no arrow from the training subnet to the jump host or the agents."""
    drawing = draw(prod)
    subnet = lambda label: next(i for i, text in drawing.labels.items() if text.startswith(label + " "))  # noqa: E731
    paths = {(drawing.labels[a].split(" ")[0], drawing.labels[b].split(" ")[0])
             for a, _, label, b in drawing.edges if label.endswith("allowed") and a != topology.INTERNET}
    assert paths == {("AzureBastionSubnet", "snet-jump-host"), ("AzureBastionSubnet", "snet-agents"),
                     *{(client, "snet-private-endpoints")
                       for client in ("snet-training", "snet-scoring", "snet-jump-host", "snet-agents")}}
    for name in ("snet-training", "snet-scoring"):
        assert "hosts reach each other" in drawing.labels[subnet(name)]
    assert "hosts reach each other" not in drawing.labels[subnet("snet-agents")]


def test_a_service_open_to_the_internet_is_flagged(prod):
    def open_storage(resources):
        # Public access is Enabled for "selected networks"; a default action of Allow opens it to all.
        [account] = [r for r in resources if r.name == "storage-account"]
        account.inputs["networkRuleSet"]["defaultAction"] = "Allow"
        return resources

    drawing = draw(broken(prod, open_storage))
    storage = drawing.one("Storage account ")
    assert "public access Enabled" in drawing.labels[storage] and drawing.classes["exposed"] == {storage}


def test_a_change_colours_the_node_that_shows_it(prod):
    nic = next(r for r in prod.resources if r.name == "jump-host-nic")
    nsg = next(r for r in prod.resources if r.name == "aml-network-nsg-training")
    storage = next(r for r in prod.resources if r.name == "storage-account")
    drawing = draw(prod, changes={nic.urn: "update", nsg.urn: "replace", storage.urn: "create"})
    assert drawing.classes["update"] == {drawing.one("VM vm-jump-mlops-prod")}
    assert drawing.classes["create"] == {drawing.one("Storage account ")}
    training = drawing.box_of(drawing.one("AmlCompute cpu-build"))
    assert drawing.styled == {training: topology.CLASS_STYLES["replace"]}


# ------------------------------------------------------------------------------------------------
# The CLI, the pull-request comment, and Mermaid's own parser
# ------------------------------------------------------------------------------------------------
def test_cli_diagram_draws_the_topology_by_default(prod, runs, monkeypatch, capsys):
    import offline.__main__ as command_line

    monkeypatch.setattr(command_line, "run_stack", lambda stack, project_dir=PROJECT_DIR: runs[stack])
    assert command_line.main(["diagram", "--stack", "prod"]) == 0
    assert capsys.readouterr().out == topology.mermaid(prod)
    assert command_line.main(["diagram", "--stack", "prod", "--view", "dependencies"]) == 0
    path = graph.critical_path(graph.DependencyGraph.of(prod))
    assert capsys.readouterr().out == graph.mermaid(prod, highlight=[s.resource.urn for s in path.steps])


def _mermaid_blocks(markdown: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)```", markdown, flags=re.S)


def test_the_pull_request_comment_carries_the_topology_with_changes_coloured(prod, run_with):
    bigger = run_with("prod", lambda v: v["agents"].update(count=3))
    report = diff.Report(diff.compare(prod, bigger), prod, bigger, "main", "this branch", findings=[], rules_run=0)
    [block] = _mermaid_blocks(diff.render_markdown(report, "cmd"))
    drawing = read(block)
    assert drawing.classes["create"] == {drawing.one("VM vm-agent2-mlops-prod")}


def test_mermaid_parses_every_diagram_the_cli_draws_and_the_docs_show(runs, prod, run_with, tmp_path):
    node = shutil.which("node")
    if node is None or not (MERMAID_DIR / "node_modules" / "mermaid").is_dir():
        if os.environ.get("CI"):
            pytest.fail("node or tests/mermaid/node_modules is missing: `make test` installs them")
        pytest.skip("needs Node.js and `npm ci --prefix tests/mermaid` (make test does it)")
    files = []
    for stack, run in runs.items():
        files.append(tmp_path / f"{stack}-topology.mmd")
        files[-1].write_text(topology.mermaid(run))
        path = graph.critical_path(graph.DependencyGraph.of(run))
        files.append(tmp_path / f"{stack}-dependencies.mmd")
        files[-1].write_text(graph.mermaid(run, highlight=[s.resource.urn for s in path.steps]))
    changed = run_with("prod", lambda v: v["agents"].update(count=3))
    report = diff.Report(diff.compare(prod, changed), prod, changed, "a", "b", findings=[], rules_run=0)
    [block] = _mermaid_blocks(diff.render_markdown(report, "cmd"))
    files.append(tmp_path / "pull-request.mmd")
    files[-1].write_text(block)
    # The diagrams people read in the repository, hand-drawn or generated.
    for page in [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md"))]:
        for index, block in enumerate(_mermaid_blocks(page.read_text())):
            files.append(tmp_path / f"{page.stem}-{index}.mmd")
            files[-1].write_text(block)
    assert any(f.name.startswith("README-") for f in files) and any(f.name.startswith("topology-") for f in files)
    files.append(tmp_path / "broken.mmd")  # proves the parser can say no
    files[-1].write_text("flowchart LR\n  a[x] --> \n")

    result = subprocess.run([node, str(MERMAID_DIR / "parse.mjs"), *map(str, files)], capture_output=True,
                            text=True, cwd=MERMAID_DIR, timeout=120)
    verdicts = dict(line.rsplit(": ", 1) if line.endswith(": OK") else line.split(": ", 1)
                    for line in result.stdout.splitlines())
    assert not verdicts.pop(str(files[-1])) == "OK", "the parser accepted a broken diagram"
    assert verdicts == {str(f): "OK" for f in files[:-1]}, result.stdout + result.stderr


def test_docs_topology_is_prods_diagram_as_drawn_today(prod):
    page = PROJECT_DIR / "docs" / "topology.md"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        page.write_text(topology.document(prod))
        pytest.skip("rewrote docs/topology.md: review the diff and commit it")
    assert page.exists() and page.read_text() == topology.document(prod), (
        "docs/topology.md is out of date: the topology changed. Regenerate it with `UPDATE_SNAPSHOTS=1 make test` "
        "and commit it, so the pull request shows the picture change.")
    moved = broken(prod, lambda rs: [r for r in rs if not r.name.endswith("bastion-to-aml")])
    assert topology.document(moved) != page.read_text(), "a topology change would not show in the page"
