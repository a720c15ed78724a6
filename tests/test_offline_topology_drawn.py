"""`python -m offline diagram`, the picture of one stack: drawn from the registrations, and it shows
what breaks. Each test reads the Mermaid text back into boxes, nodes and arrows (tests/topology_drawing.py)
and compares it with the run's own inputs; each "shows" test breaks the run the way a bad change would
and checks the picture says so. Changes, the CLI and the browser rendering: tests/test_offline_topology.py.
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
from tests.topology_drawing import MERMAID_DIR, Drawing, _last, _name, _typed, broken, draw, read  # noqa: F401


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
