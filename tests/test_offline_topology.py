"""`python -m offline diagram`: the topology is drawn from the registrations, and shows what breaks.

Each test reads the Mermaid text back into boxes, nodes and arrows, and compares it with the run's
own inputs; each "shows" test breaks the run the way a bad change would and checks the picture says so.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from isolated_mlops.components import catalogue
from isolated_mlops.components.zones import CLOUDS
from offline import diff, graph, topology
from offline.engine import PROJECT_DIR, RegisteredResource, StackRun
from isolated_mlops.policy import rules

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
    boxes: set[str] = field(default_factory=set)
    """The ids drawn as subgraphs."""
    legend: set[str] = field(default_factory=set)
    """The classes the legend shows."""

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
            drawing.boxes.add(m[1])
            stack.append(m[1])
        elif line.startswith("direction ") or (line.startswith("legend_") and " ~~~ " in line):
            continue  # layout only
        elif line == "end":
            stack.pop()
        elif m := _EDGE.match(line):
            drawing.edges.append((m[1], m[2], m[3] or "", m[4]))
        elif line.startswith("classDef "):
            continue
        elif line.startswith("class "):
            _, members, name = line.split()
            drawing.classes[name] = {m for m in members.split(",") if not m.startswith("legend_")}
            drawing.legend |= {name for m in members.split(",") if m.startswith("legend_")}
            if not drawing.classes[name]:
                del drawing.classes[name]
        elif line.startswith("style "):
            _, member, style = line.split(maxsplit=2)
            drawing.styled[member] = style
        elif m := _NODE.match(line):
            drawing.labels[m[1]], drawing.inside[m[1]] = m[2], list(stack)
        else:
            raise AssertionError(f"a line the test cannot read: {line!r}")
    assert not stack, "a subgraph is not closed"
    return drawing


def draw(run: StackRun) -> Drawing:
    return read(topology.mermaid(run))


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


def test_every_registered_resource_shows_on_some_node(each_stack):
    picture = topology.build(each_stack)
    unshown = [r.name for r in each_stack.resources if r.custom and not picture.shows(r.urn)
               and r.type not in (topology.RESOURCE_GROUP, "random:index/randomString:RandomString")]
    assert unshown == []


def test_a_resource_without_a_node_shows_on_the_one_its_inputs_name(prod):
    # A diagnostic setting (another change adds them): its id extends nothing we draw, its
    # resourceUri names the storage account, so a change to it colours the storage account.
    storage = next(r for r in prod.resources if r.name == "storage-account")
    setting = dataclasses.replace(
        storage, type="azure-native:monitor:DiagnosticSetting", name="storage-diagnostics", outputs={},
        urn=storage.urn.replace("azure-native:storage:StorageAccount::storage-account",
                                "azure-native:monitor:DiagnosticSetting::storage-diagnostics"),
        id="/providers/microsoft.insights/diagnosticSettings/storage-diagnostics",
        inputs={"resourceUri": storage.id}, masked_inputs={"resourceUri": storage.id})
    run = dataclasses.replace(prod, resources=[*prod.resources, setting])
    picture = topology.build(run)
    assert topology.unshown_types(run) == [] and picture.shows(setting.urn) == picture.shows(storage.urn) != []


def _subnet_title(label: str) -> str:
    return label.split(" · ")[0].split("<br/>")[0]


def test_each_vnet_box_holds_exactly_its_subnets_with_their_prefixes(each_stack):
    drawing = draw(each_stack)
    vnets = _typed(each_stack, topology.VNET)
    assert len(vnets) == 2
    for vnet in vnets:
        space = vnet.inputs["addressSpace"]["addressPrefixes"][0]
        box = drawing.one(f"VNet {_name(vnet)} {space}")
        drawn = sorted(_subnet_title(drawing.labels[i]) for i in drawing.labels
                       if drawing.inside.get(i) == [box] and i.startswith("snet"))
        declared = sorted(f"{s['name']} {s['addressPrefix']}" for s in vnet.inputs["subnets"])
        assert drawn == declared


def test_a_subnet_title_says_whether_an_nsg_guards_it_and_nat_carries_its_egress(prod, dev):
    empty = {_subnet_title(label).split(" ")[0]: label for i, label in draw(dev).labels.items() if i.startswith("snet")}
    assert "NSG nsg-vnet-aml-mlops-dev-scoring" in empty["snet-scoring"], "an empty subnet is a box with details"
    drawing = draw(prod)
    titles = {_subnet_title(label).split(" ")[0]: label for i, label in drawing.labels.items() if i.startswith("snet")}
    assert titles["snet-agents"].endswith(" · NSG · NAT egress")
    assert titles["AzureBastionSubnet"].endswith(" · no NSG"), "Azure-managed: no NSG is by design"
    assert "NSG" in titles["snet-scoring"] and "NAT egress" in titles["snet-scoring"], "the serving cluster's subnet"

    def drop_an_nsg(resources):
        [vnet] = [r for r in resources if r.name == "access-network-vnet"]
        [agents] = [s for s in vnet.inputs["subnets"] if s["name"] == "snet-agents"]
        del agents["networkSecurityGroup"], agents["natGateway"]
        return resources

    drawing = draw(broken(prod, drop_an_nsg))
    [agents] = [label for i, label in drawing.labels.items() if label.startswith("snet-agents ")]
    assert agents.endswith(" · NO NSG")


def test_endpoints_bastion_clusters_and_vms_sit_in_the_subnet_their_inputs_name(each_stack):
    drawing = draw(each_stack)
    nics = {r.id: r for r in _typed(each_stack, topology.NIC)}
    expected: dict[str, str] = {}
    for pe in _typed(each_stack, topology.PRIVATE_ENDPOINT):
        expected[f"PE {_name(pe)}<br/>"] = _last(pe.inputs["subnet"]["id"])
    for bastion in _typed(each_stack, topology.BASTION):
        expected[f"Bastion {_name(bastion)}<br/>"] = _last(bastion.inputs["ipConfigurations"][0]["subnet"]["id"])
    for cluster in _typed(each_stack, topology.COMPUTE):
        if cluster.inputs["properties"]["computeType"] == "AmlCompute":
            expected[f"AmlCompute {_name(cluster)}<br/>"] = _last(cluster.inputs["properties"]["properties"]["subnet"]["id"])
    # The serving cluster sits in the subnet of its node pool, its attached compute beside it.
    for aks in _typed(each_stack, topology.AKS):
        expected[f"AKS {_name(aks)}<br/>"] = _last(aks.inputs["agentPoolProfiles"][0]["vnetSubnetID"])
        expected["Kubernetes compute "] = _last(aks.inputs["agentPoolProfiles"][0]["vnetSubnetID"])
    for vm in _typed(each_stack, topology.VM):
        nic = nics[vm.inputs["networkProfile"]["networkInterfaces"][0]["id"]]
        expected[f"VM {_name(vm)}<br/>"] = _last(nic.inputs["ipConfigurations"][0]["subnet"]["id"])
    assert any(k.startswith("VM vm-jump") for k in expected) and any(k.startswith("AmlCompute") for k in expected)
    for label, subnet in expected.items():
        node = drawing.one(label)
        assert drawing.labels[drawing.box_of(node)].startswith(subnet + " "), f"{label} drawn outside {subnet}"


def test_each_endpoint_points_at_its_target_and_names_exactly_its_groups_zones(each_stack):
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
        else:  # an AML registry's managed storage or ACR: the arrow goes to the registry that reports it
            [owner_urn] = pe.property_dependencies["privateLinkServiceConnections"]
            target = each_stack.by_urn(owner_urn)
            assert target.type == topology.ML_REGISTRY
        [(_, _, _, to)] = [e for e in drawing.arrows(source=node) if e[1] == "-->"]
        assert _name(target) in drawing.labels[to]
        # The zones are lines of the endpoint's own label (no arrow to a zone column).
        assert sorted(drawing.labels[node].split("<br/>")[2:]) == sorted(zones_by_group[connection["groupIds"][0]])
    assert not any(label.startswith("privatelink.") for label in drawing.labels.values())


def test_an_endpoint_without_a_zone_group_says_so(prod):
    def drop_vault_zone_group(resources):
        return [r for r in resources if not (r.type == topology.ZONE_GROUP and r.name.startswith("key-vault"))]

    drawing = draw(broken(prod, drop_vault_zone_group))
    assert drawing.labels[drawing.one("PE pe-kv-")].endswith("NO DNS ZONE: resolves publicly")
    # Its zone is now written by nobody: still drawn, listed once.
    assert "privatelink.vaultcore.azure.net" in drawing.labels[topology.ZONES_NODE]


def test_the_workspace_is_drawn_with_its_dependencies_and_its_clusters(prod):
    drawing = draw(prod)
    workspace = drawing.one("AML workspace ")
    used = sorted(drawing.labels[to].split(" ")[0] for _, arrow, _, to in drawing.arrows(source=workspace))
    assert used == ["Application", "Container", "Key", "Storage"]
    clusters = _typed(prod, topology.COMPUTE)
    assert {e[0] for e in drawing.arrows(target=workspace) if e[1] == "-.->"} == {
        drawing.one(f"{_compute_kind(c)} {_name(c)}<br/>") for c in clusters}


def _compute_kind(compute) -> str:
    return "AmlCompute" if compute.inputs["properties"]["computeType"] == "AmlCompute" else "Kubernetes compute"


def _holders(drawing: Drawing, role_line: str) -> set[str]:
    """The first line of every node whose label holds `role_line`."""
    return {drawing.labels[i].split("<br/>")[0] for i, label in drawing.labels.items() if role_line in label.split("<br/>")}


def test_roles_are_words_on_the_node_of_who_holds_them(prod):
    drawing = draw(prod)
    [vault] = _typed(prod, topology.KEY_VAULT)
    [registry] = _typed(prod, topology.REGISTRY)
    agents = {f"VM {name}" for name in prod.exports["agentPool"]["vmNames"]}
    # The clusters' identity is also the serving compute's (it pulls model images with it).
    clusters = {f"{_compute_kind(c)} {_name(c)}" for c in _typed(prod, topology.COMPUTE)}
    # Two user-assigned identities (the agents', the clusters') and the workspace's own: each role on
    # the node of whatever carries the identity that holds it.
    assert _holders(drawing, f"role Key Vault Secrets User on {_name(vault)}") == agents and agents
    # The serving cluster's kubelet identity (created by AKS, reported in identityProfile) shows on the cluster.
    [aks] = _typed(prod, topology.AKS)
    assert _holders(drawing, f"role AcrPull on {_name(registry)}") == clusters | {f"AKS {_name(aks)}"}
    storage_endpoints = ", ".join(sorted(f"pe-{_name(a)}-{g}" for a in _typed(prod, topology.STORAGE)
                                         for g in ("blob", "file", "queue", "table")))
    assert _holders(drawing, f"role Reader on {storage_endpoints}") == {f"AML workspace {_name(_typed(prod, topology.WORKSPACE)[0])}"}
    assert not [e for e in drawing.edges if e[2] in topology.ROLE_NAMES.values()], "no arrow across the picture for a role"

    def give_the_agents_acr_pull(resources):
        # The clusters' AcrPull assignment, made out to the agents' identity instead.
        [grant] = [r for r in resources if r.type == topology.ROLE_ASSIGNMENT and r.name == "cluster-identity-acr-pull"]
        [agents_identity] = [r for r in resources if r.type == topology.IDENTITY and r.name == "ci-agents-identity"]
        grant.inputs["principalId"] = agents_identity.outputs["principalId"]
        return resources

    run = broken(prod, give_the_agents_acr_pull)
    drawing = draw(run)
    assert _holders(drawing, f"role AcrPull on {_name(registry)}") == agents | {f"AKS {_name(aks)}"}
    assert not any("AcrPull" in drawing.labels[i] for i in drawing.ids("AmlCompute "))
    [grant] = [r for r in run.resources if r.type == topology.ROLE_ASSIGNMENT and r.name == "cluster-identity-acr-pull"]
    assert sorted(topology.build(run).shows(grant.urn)) == sorted(drawing.ids("VM vm-agent"))


# ------------------------------------------------------------------------------------------------
# Shows what breaks
# ------------------------------------------------------------------------------------------------
def _vnet_titles(drawing: Drawing) -> dict[str, str]:
    return {label.split(" ")[1]: label for i, label in drawing.labels.items() if i.startswith("vnet")}


def test_peering_is_said_both_ways_and_a_missing_direction_is_flagged(prod):
    titles = _vnet_titles(draw(prod))
    assert titles["vnet-aml-mlops-prod"].endswith(" · peered both ways with vnet-bastion-mlops-prod")
    assert titles["vnet-bastion-mlops-prod"].endswith(" · peered both ways with vnet-aml-mlops-prod")

    def drop_one_direction(resources):
        return [r for r in resources if not r.name.endswith("bastion-to-aml")]

    titles = _vnet_titles(draw(broken(prod, drop_one_direction)))
    assert titles["vnet-aml-mlops-prod"].endswith(
        " · peered to vnet-bastion-mlops-prod: ONE WAY ONLY, none back")
    assert titles["vnet-bastion-mlops-prod"].endswith(
        " · vnet-aml-mlops-prod peers to it: ONE WAY ONLY, none back")


def test_zone_links_are_counted_per_vnet_and_a_missing_link_is_flagged(prod):
    zones = len(_typed(prod, topology.ZONE))
    titles = _vnet_titles(draw(prod))
    assert all(f" · {zones} of {zones} DNS zones linked · " in title for title in titles.values())

    def unlink_one(resources):
        [link] = [r for r in resources if r.name == "private-dns-privatelink.vaultcore.azure.net-bastion"]
        return [r for r in resources if r is not link]

    titles = _vnet_titles(draw(broken(prod, unlink_one)))
    assert f" · {zones} of {zones} DNS zones linked · " in titles["vnet-aml-mlops-prod"]
    assert f" · {zones - 1} of {zones} DNS zones linked: SOME NAMES RESOLVE PUBLICLY · " in \
        titles["vnet-bastion-mlops-prod"]


def test_only_bastion_is_reachable_from_the_internet(each_stack):
    drawing = draw(each_stack)
    bastion = drawing.one(f"Bastion {_name(_typed(each_stack, topology.BASTION)[0])}")
    assert drawing.labels[bastion].endswith("HTTPS 443 from the internet")
    # Nothing else is: no Internet node at all, no red border.
    assert topology.INTERNET not in drawing.labels and not drawing.arrows(source=topology.INTERNET)
    assert "exposed" not in drawing.classes and not any("#cf222e" in s for s in drawing.styled.values())


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


def test_the_topology_reads_internet_sources_as_the_policy_rules_do():
    # One definition, in the catalogue of Azure facts, for the diagram and the rules.
    assert topology.INTERNET_SOURCES is rules.INTERNET_SOURCES is catalogue.INTERNET_SOURCES
    for source in ("Internet", "internet", "INTERNET", "*", "Any", "0.0.0.0/0", "::/0"):
        rule = {"access": "Allow", "direction": "Inbound", "sourceAddressPrefix": source, "destinationPortRange": "22"}
        assert topology.from_internet(rule) and rules.open_admin_ports(rule) == [22], source
    assert topology.from_internet({"sourceAddressPrefixes": ["10.0.0.0/8", "::/0"]})
    assert not topology.from_internet({"sourceAddressPrefix": "10.11.0.0/26"})


@pytest.mark.parametrize("source", ["Internet", "iNtErNeT", "::/0", "0.0.0.0/0", "ANY"])
def test_nsg_allow_rules_become_arrows_and_an_internet_source_is_flagged(prod, source):
    drawing = draw(prod)
    bastion_subnet = drawing.box_of(drawing.one("Bastion "))
    ssh = {drawing.labels[to].split(" ")[0] for _, _, label, to in drawing.arrows(source=bastion_subnet)
           if label == "Tcp 22 allowed"}
    assert ssh == {"snet-jump-host", "snet-agents"}

    def open_agents_to_the_internet(resources):
        [nsg] = [r for r in resources if r.name == "access-network-nsg-agents"]
        nsg.inputs["securityRules"][0]["sourceAddressPrefix"] = source
        return resources

    drawing = draw(broken(prod, open_agents_to_the_internet))
    [(_, arrow, label, subnet)] = drawing.arrows(source=topology.INTERNET)
    assert (arrow, label) == ("==>", "Tcp 22 allowed") and drawing.labels[subnet].startswith("snet-agents ")
    assert drawing.styled[subnet] == topology.BOX_STYLES["exposed"]


def test_an_nsg_rule_from_a_private_range_is_not_flagged_as_internet(prod):
    def open_agents_to_a_private_range(resources):
        [nsg] = [r for r in resources if r.name == "access-network-nsg-agents"]
        nsg.inputs["securityRules"][0]["sourceAddressPrefix"] = "10.0.0.0/8"
        return resources

    drawing = draw(broken(prod, open_agents_to_a_private_range))
    assert not drawing.arrows(source=topology.INTERNET)


def test_subnet_paths_are_only_the_ones_the_nsgs_allow(prod):
    """Bastion to the VMs as arrows; the endpoints' clients in words on the endpoints' subnet (an arrow
    from each of four subnets made prod's picture 2620 px wide); a cluster's nodes to each other in
    its subnet's title. No path from the training subnet to the jump host or the agents."""
    drawing = draw(prod)

    def titles(drawing: Drawing) -> dict[str, str]:
        return {_subnet_title(label).split(" ")[0]: label for i, label in drawing.labels.items() if i.startswith("snet")}

    def arrows(drawing: Drawing) -> set[tuple[str, str, str]]:
        return {(drawing.labels[a].split(" ")[0], label, drawing.labels[b].split(" ")[0])
                for a, _, label, b in drawing.edges if label.endswith("allowed") and a != topology.INTERNET}

    clients = "all traffic from snet-training, snet-scoring, snet-jump-host, snet-agents"
    assert arrows(drawing) == {("AzureBastionSubnet", "Tcp 22 allowed", "snet-jump-host"),
                               ("AzureBastionSubnet", "Tcp 22 allowed", "snet-agents")}
    assert titles(drawing)["snet-private-endpoints"].endswith(f" · NSG · {clients}")
    for name, title in titles(drawing).items():
        assert ("hosts reach each other" in title) == (name in ("snet-training", "snet-scoring")), name
        assert (" from " in title) == (name in ("snet-private-endpoints", "snet-scoring")), name
    # The serving cluster's clients: HTTPS from the jump host and the agents, and nothing else.
    assert " · Tcp 443 from snet-jump-host, snet-agents · " in titles(drawing)["snet-scoring"]

    def without_clients(*names):
        def drop(resources):
            [nsg] = [r for r in resources if r.name == "aml-network-nsg-privateEndpoints"]
            nsg.inputs["securityRules"] = [rule for rule in nsg.inputs["securityRules"] if rule["name"] not in names]
            return resources
        return drop

    drawing = draw(broken(prod, without_clients("AllowEndpointClientsFromAgents")))
    assert titles(drawing)["snet-private-endpoints"].endswith(
        " · NSG · all traffic from snet-training, snet-scoring, snet-jump-host")
    # One client left: an arrow, as any single path is.
    drawing = draw(broken(prod, without_clients("AllowEndpointClientsFromAgents", "AllowEndpointClientsFromJumpHost",
                                                "AllowEndpointClientsFromScoring")))
    assert ("snet-training", "all traffic allowed", "snet-private-endpoints") in arrows(drawing)
    assert titles(drawing)["snet-private-endpoints"].endswith(" · NSG")


def test_a_service_open_to_the_internet_is_flagged(prod):
    def open_storage(resources):
        [account] = [r for r in resources if r.name == "storage-account"]
        # Public access is Enabled for "selected networks"; a default action of Allow opens it to all.
        account.inputs["networkRuleSet"]["defaultAction"] = "Allow"
        return resources

    drawing = draw(broken(prod, open_storage))
    storage = drawing.one("Storage account ")
    assert "public access Enabled" in drawing.labels[storage] and drawing.classes["exposed"] == {storage}


def test_the_monitor_scopes_open_access_mode_is_not_an_exposure(prod):
    # Prod's scope is Open (AML requires it): shown as a setting, and nothing is red.
    drawing = draw(prod)
    assert "access modes: ingestion Open, query Open" in drawing.labels[drawing.one("Azure Monitor ")]
    assert "exposed" not in drawing.classes

    def private_only(resources):
        [scope] = [r for r in resources if r.type == topology.MONITOR_SCOPE]
        scope.inputs["accessModeSettings"] = {"ingestionAccessMode": "PrivateOnly", "queryAccessMode": "Open"}
        return resources

    # The label is read from the scope's inputs, not assumed.
    drawing = draw(broken(prod, private_only))
    assert "access modes: ingestion PrivateOnly, query Open" in drawing.labels[drawing.one("Azure Monitor ")]


# ------------------------------------------------------------------------------------------------
# The picture of a change
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def more_agents(run_with) -> StackRun:
    """Prod with one agent VM more: a typical one-resource change (run once per session)."""
    return run_with("prod", lambda v: v["agents"].update(count=3))


@pytest.fixture(scope="session")
def fewer_agents(run_with) -> StackRun:
    """Prod with one agent VM less: a typical deletion (the same run as other tests' one agent)."""
    return run_with("prod", lambda v: v["agents"].update(count=1))


def change(old: StackRun, new: StackRun) -> tuple[Drawing, int]:
    """The change's picture as the pull-request comment draws it, read back, and its node count."""
    stack_diff = diff.compare(old, new)
    kinds = {c.new.urn: c.kind for c in stack_diff.changes if c.new is not None}
    deleted = [c.old for c in stack_diff.changes if c.kind == "delete" and c.old is not None]
    text, count = topology.change_picture(old, new, kinds, deleted)
    return read(text), count


def _resource_nodes(drawing: Drawing) -> set[str]:
    return {i for i in drawing.labels if i not in drawing.boxes and not i.startswith("legend")} - {
        topology.INTERNET, topology.ELSEWHERE_NODE}


def test_a_one_resource_change_draws_it_with_its_neighbours_only(prod):
    nsg = next(r for r in prod.resources if r.name == "access-network-nsg-jumpHost")

    def widen_ssh(resources):
        [changed] = [r for r in resources if r.urn == nsg.urn]
        for inputs in (changed.inputs, changed.masked_inputs):  # what the picture reads, and what the diff compares
            inputs["securityRules"][0]["destinationPortRange"] = "22-23"
        return resources

    drawing, count = change(prod, broken(prod, widen_ssh))
    jump = drawing.one("snet-jump-host ")
    assert drawing.styled[jump] == topology.BOX_STYLES["update"], "the NSG's change is on the subnet it guards"
    assert drawing.labels[drawing.one("VM vm-jump")] and drawing.arrows(target=jump)[0][2] == "Tcp 22-23 allowed"
    assert count == len(_resource_nodes(drawing)) <= 15, drawing.text
    assert not drawing.ids("PE ") and not drawing.ids("AML workspace"), "the rest of the platform stays out"


def test_a_resized_vm_is_drawn_alone_in_its_subnet(prod, run_with):
    drawing, count = change(prod, run_with("prod", lambda v: v["jumpHost"].update(vmSize="Standard_B2ms")))
    vm = drawing.one("VM vm-jump-mlops-prod")
    assert drawing.classes["update"] == {vm} and "Standard_B2ms" in drawing.labels[vm]
    assert count == len(_resource_nodes(drawing)) <= 15


def test_a_created_vm_is_drawn_with_its_subnet_and_who_may_reach_it(prod, more_agents):
    drawing, count = change(prod, more_agents)
    created = drawing.one("VM vm-agent2-mlops-prod")
    assert drawing.classes["create"] == {created}
    assert drawing.labels[drawing.box_of(created)].startswith("snet-agents ")
    [(source, _, label, _)] = drawing.arrows(target=drawing.box_of(created))
    assert drawing.labels[source].startswith("AzureBastionSubnet ") and label == "Tcp 22 allowed"
    assert count <= 15 and drawing.legend == set(topology.LEGEND) == set(topology.CLASS_STYLES)


def test_a_deleted_vm_is_a_struck_through_ghost_where_it_was(prod, fewer_agents):
    fewer = fewer_agents
    drawing, count = change(prod, fewer)
    [ghost] = drawing.classes["delete"]
    assert drawing.labels[ghost].startswith("<s>VM vm-agent1-mlops-prod") and drawing.labels[ghost].endswith("</s>")
    assert "ci-agents-1-nic" in drawing.labels[ghost], "what went with it is named"
    assert drawing.labels[drawing.box_of(ghost)].startswith("snet-agents ") and count <= 15


def test_a_deleted_peering_is_a_ghost_in_the_vnet_that_declared_it(prod):
    old_side = [r for r in prod.resources if r.name.endswith("bastion-to-aml")]
    drawing, count = change(prod, broken(prod, lambda rs: [r for r in rs if not r.name.endswith("bastion-to-aml")]))
    [ghost] = drawing.classes["delete"]
    assert drawing.labels[ghost] == f"<s>VirtualNetworkPeering {old_side[0].name}</s>"
    vnet = drawing.box_of(ghost)
    assert drawing.labels[vnet].startswith("VNet vnet-bastion-mlops-prod ") and "ONE WAY ONLY" in drawing.labels[vnet]
    assert drawing.styled[vnet] == topology.BOX_STYLES["update"] and count <= 15


def test_containers_are_filled_only_by_nothing(prod, more_agents):
    for drawing in (draw(prod), change(prod, more_agents)[0]):
        assert drawing.styled and all(style.startswith("fill:none") for style in drawing.styled.values())


def test_a_renamed_environment_is_one_caption_and_the_picture_shows_the_rest(dev, prod):
    stack_diff = diff.compare(dev, prod)
    cause = diff.common_cause(stack_diff)
    assert cause is not None and (cause.old, cause.new) == ("dev", "prod")
    both_sides = [c for c in stack_diff.changes if c.kind in ("update", "replace")]
    assert len(cause.explained) * 2 >= len(both_sides) and "\n" not in cause.caption()
    report = diff.Report(stack_diff, dev, prod, "dev", "prod", findings=[], rules_run=0)
    markdown = diff.render_markdown(report, "cmd")
    assert cause.caption() in markdown.split("<details")[0], "the caption comes before the details"
    [block] = _mermaid_blocks(markdown)
    drawing = read(block)
    # Every deleted resource is drawn (struck through); nothing the rename alone explains is coloured.
    deleted = [c.old for c in stack_diff.changes if c.kind == "delete" and c.old is not None and c.old.custom]
    assert deleted and all(any(_name(r) in drawing.labels[g] for g in drawing.classes["delete"]) for r in deleted)
    links = [c.new for c in stack_diff.changes if c.kind == "replace" and c.new and c.new.type == topology.ZONE_LINK]
    assert links and all(diff.resource_key(r.urn) in cause.explained for r in links)
    # Two stacks: the legend says what the table says, nothing is "deleted" or "created".
    assert (drawing.labels["legend_delete"], drawing.labels["legend_create"]) == ("<s>only in dev</s>", "only in prod")


def test_a_renamed_stack_is_one_caption_and_a_small_picture(prod, run_with):
    renamed = run_with("prod", lambda v: v.update(namePrefix="mlp"))
    stack_diff = diff.compare(prod, renamed)
    cause = diff.common_cause(stack_diff)
    assert cause is not None and (cause.old, cause.new) == ("mlops", "mlp")
    assert cause.caption().startswith(f"{len(cause.explained)} of {len(stack_diff.changes)} changes have one cause: "
                                      "`mlops` becomes `mlp` in names and ids (")
    rest = {c.new.urn: c.kind for c in stack_diff.changes
            if c.new is not None and diff.resource_key(c.new.urn) not in cause.explained}
    text, count = topology.change_picture(prod, renamed, rest)
    # 16: the serving cluster's three role grants change principal with the rename, as the others do.
    assert count <= 16, text


def test_no_common_cause_for_an_ordinary_change(prod, more_agents):
    assert diff.common_cause(diff.compare(prod, more_agents)) is None


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


def _comment_picture(old: StackRun, new: StackRun) -> str:
    report = diff.Report(diff.compare(old, new), old, new, "main", "this branch", findings=[], rules_run=0)
    [block] = _mermaid_blocks(diff.render_markdown(report, "cmd"))
    return block


def test_the_pull_request_comment_draws_the_change_not_the_whole_topology(prod, more_agents):
    drawing = read(_comment_picture(prod, more_agents))
    assert drawing.classes["create"] == {drawing.one("VM vm-agent2-mlops-prod")}
    assert not drawing.ids("PE "), "endpoints are not the change's neighbours"


def test_mermaid_parses_every_diagram_the_cli_draws_and_the_docs_show(runs, prod, tmp_path, more_agents, fewer_agents):
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
    pictures = {"more-agents": (prod, more_agents),
                "fewer-agents": (prod, fewer_agents),
                "peering-deleted": (prod, broken(prod, lambda rs: [r for r in rs if not r.name.endswith("bastion-to-aml")])),
                "dev-to-prod": (runs["dev"], prod)}
    for name, (old, new) in pictures.items():
        files.append(tmp_path / f"pull-request-{name}.mmd")
        files[-1].write_text(_comment_picture(old, new))
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
    assert "](topology.png)" in page.read_text() and (PROJECT_DIR / "docs" / "topology.png").is_file()


# ------------------------------------------------------------------------------------------------
# Drawn in a real browser: Mermaid's own layout in Chromium, as GitHub draws it
# ------------------------------------------------------------------------------------------------
MMDC = MERMAID_DIR / "node_modules" / ".bin" / "mmdc"
PUPPETEER_CONFIG = MERMAID_DIR / "puppeteer-config.json"
# How wide a picture may be at its natural size: GitHub shows a comment or a page about 900 px wide,
# so at 1800 px the text is drawn at half its size, the least that stays readable.
MAX_NATURAL_WIDTH = 1800
MAX_NODES_FOR_ONE_RESOURCE = 15


@dataclass
class Rendered:
    svg: str
    width: float
    height: float

    def node_ids(self) -> list[str]:
        """The ids of the nodes Chromium drew (Mermaid's `g.node` elements), without the legend's."""
        ids = re.findall(r'<g class="node[^"]*" id="my-svg-flowchart-(\w+?)-\d+"', self.svg)
        return [i for i in ids if not i.startswith("legend_")]


def browser() -> str | None:
    """Debian's Chromium, as tests/mermaid/puppeteer-config.json names it (`.ci/run` installs it), or
    else a Chromium or Chrome the machine has (GitHub's Ubuntu runners have Chrome, not Chromium)."""
    named = json.loads(PUPPETEER_CONFIG.read_text())["executablePath"]
    for candidate in (named, shutil.which("chromium"), shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _start_mmdc(markdown: Path, out: Path, *extra: str) -> subprocess.Popen[bytes]:
    """Start one run of mermaid-cli (one Chromium) on every ```mermaid block of a Markdown file."""
    config = out.parent / f"{out.stem}-puppeteer.json"
    config.write_text(json.dumps({**json.loads(PUPPETEER_CONFIG.read_text()), "executablePath": browser()}))
    return subprocess.Popen([str(MMDC), "-p", str(config), "-i", str(markdown), "-o", str(out), "-q", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish_mmdc(process: subprocess.Popen[bytes], out: Path) -> None:
    _, errors = process.communicate(timeout=180)
    (out.parent / f"{out.stem}-puppeteer.json").unlink()
    assert process.returncode == 0, errors.decode()


def mmdc(markdown: Path, out: Path, *extra: str) -> None:
    _finish_mmdc(_start_mmdc(markdown, out, *extra), out)


@dataclass
class Rendering:
    """mermaid-cli at work on the pictures, in the background."""

    process: subprocess.Popen[bytes]
    out: Path
    names: list[str]


@pytest.fixture(scope="session")
def rendering(prod, more_agents, fewer_agents, tmp_path_factory) -> Rendering | None:
    """Prod's topology, a one-resource change and a deletion, handed to mermaid-cli in Debian's
    Chromium once per session (`make test` installs mermaid-cli; CI's `.ci/run` installs Chromium)."""
    if not (MMDC.exists() and browser()):
        return None
    blocks = {"topology": topology.mermaid(prod), "created": _comment_picture(prod, more_agents),
              "deleted": _comment_picture(prod, fewer_agents)}
    folder = tmp_path_factory.mktemp("rendered")
    page = folder / "pictures.md"
    page.write_text("".join(f"```mermaid\n{text}```\n\n" for text in blocks.values()))
    return Rendering(_start_mmdc(page, folder / "out.md", "-e", "svg"), folder / "out.md", list(blocks))


@pytest.fixture(scope="module", autouse=True)
def _draw_while_the_other_tests_run(request):
    # Chromium takes seconds to start and draw: start it with this module, not with its first test.
    if any("chromium" in item.name for item in request.session.items):
        request.getfixturevalue("rendering")


@pytest.fixture(scope="session")
def rendered(rendering) -> dict[str, Rendered]:
    """The pictures as Chromium drew them (SVG), by name."""
    if rendering is None:
        if os.environ.get("CI"):
            pytest.fail("mermaid-cli or /usr/bin/chromium is missing: `.ci/run` and `make test` install them")
        pytest.skip("needs /usr/bin/chromium (apt-get install chromium) and `npm ci --prefix tests/mermaid`")
    _finish_mmdc(rendering.process, rendering.out)
    result = {}
    for index, name in enumerate(rendering.names, start=1):
        svg = (rendering.out.parent / f"out-{index}.svg").read_text()
        box = re.search(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) ([\d.]+)"', svg)
        assert box, f"{name}: no viewBox in the SVG"
        result[name] = Rendered(svg, float(box[1]), float(box[2]))
    return result


def test_prods_topology_drawn_in_chromium_fits_the_width_github_shows(rendered, prod):
    picture = rendered["topology"]
    assert picture.width <= MAX_NATURAL_WIDTH, f"{picture.width:.0f} px wide at its natural size"
    # Every resource node of the text was drawn (Mermaid drops nothing it cannot place).
    assert sorted(picture.node_ids()) == sorted(i for i in read(topology.mermaid(prod)).labels
                                                if not i.startswith(("vnet", "services", "legend"))
                                                and not (i.startswith("snet") and i in read(topology.mermaid(prod)).boxes))


def test_a_one_resource_change_drawn_in_chromium_is_a_few_nodes(rendered):
    for name in ("created", "deleted"):
        picture = rendered[name]
        assert len(picture.node_ids()) <= MAX_NODES_FOR_ONE_RESOURCE, (name, picture.node_ids())
        assert picture.width <= MAX_NATURAL_WIDTH
    assert "vm-agent2-mlops-prod" in rendered["created"].svg
    # The deleted VM is drawn, struck through, in the ghost's grey.
    ghosts = [i for i in rendered["deleted"].node_ids() if i.startswith("ghost")]
    assert ghosts and re.search(r'class="node default delete" id="my-svg-flowchart-ghost0-\d+"', rendered["deleted"].svg)
    assert re.search(r"<s>VM vm-agent1-mlops-prod", rendered["deleted"].svg)


def test_docs_topology_png_is_prods_topology_drawn_in_chromium(rendered, prod, tmp_path):
    png = PROJECT_DIR / "docs" / "topology.png"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        source = tmp_path / "topology.mmd"
        source.write_text(topology.mermaid(prod))
        # At its natural size (the page is wider than the picture), on white.
        mmdc(source, png, "-w", str(MAX_NATURAL_WIDTH + 200), "-b", "white")
        pytest.skip("redrew docs/topology.png: look at it and commit it")
    # PNG bytes vary with fonts and versions, so the test compares the Mermaid source (above) and the
    # size: the PNG is drawn at the picture's natural width.
    width, height = struct.unpack(">II", png.read_bytes()[16:24])
    assert abs(width - rendered["topology"].width) <= 0.05 * rendered["topology"].width + 2, (
        f"docs/topology.png is {width} px wide, the topology {rendered['topology'].width:.0f}: "
        "regenerate it with `UPDATE_SNAPSHOTS=1 make test`")
