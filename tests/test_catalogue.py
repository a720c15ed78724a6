"""One catalogue of Azure facts (isolated_mlops.components.catalogue): every type the stacks create has
a record, the facts are written nowhere else, and the tools and rules read them from it."""

from __future__ import annotations

import ast
import dataclasses
import functools
import re
from pathlib import Path

import pytest

from isolated_mlops.components import catalogue
from isolated_mlops.components.catalogue import CATALOGUE
from isolated_mlops.policy import rules
from offline import diff, graph, mocks, preview, topology
from offline.engine import StackRun
from tests.source_facts import Literals, literals, python_files, repository_literals

CATALOGUE_DIR = Path("components/catalogue")
# The sources the rule covers: the package's folders, the program, and the tools that consume it.
# Tests are left out on purpose: they state expected tokens and URNs literally, as an oracle
# independent of the catalogue they check.
SCANNED = ("__main__.py", "components", "network", "workspace", "compute", "policy", "offline", "live",
           "delivery", "ml", "bootstrap", "benchmarks", "examples")


def _sources() -> list[Path]:
    return [p for p in python_files() if p.parts[0] in SCANNED]


def _scan(source: str, filename: str) -> Literals:
    return literals(ast.parse(source, filename))


def _type_tokens(scanned: Literals) -> list[tuple[int, str]]:
    return [(line, s) for line, s in scanned.strings if s.startswith("azure-native:")]


def _shared_facts(scanned: Literals) -> list[tuple[int, str]]:
    return [(line, s) for line, s in scanned.strings if s in (catalogue.BASTION_SUBNET_NAME, "0.0.0.0/0", "::/0")]


def type_token_literals(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """String literals that spell out an azure-native type or invoke token."""
    return _type_tokens(_scan(source, filename))


def shared_fact_literals(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """String literals that restate a shared constant instead of reading it: the Bastion subnet's name,
    the whole address space as an internet source."""
    return _shared_facts(_scan(source, filename))


@functools.lru_cache(maxsize=None)
def _outside_catalogue() -> tuple[tuple[Path, Literals], ...]:
    """Every scanned source but the catalogue's, each parsed and walked once per process for all the
    tests below (tests/source_facts.py: tests/test_layering.py reads the same parse)."""
    return tuple((path, repository_literals(path)) for path in _sources() if path.parts[:2] != CATALOGUE_DIR.parts)


# ------------------------------------------------------------------------------------------------
# Every type the stacks create has a record
# ------------------------------------------------------------------------------------------------
def _bootstrap_run() -> StackRun:
    from tests.test_delivery_bootstrap import run_bootstrap
    return run_bootstrap()


def test_every_type_the_stacks_register_has_an_entry(runs):
    registered = {r.type for run in [*runs.values(), _bootstrap_run()] for r in run.resources if r.custom}
    missing = sorted(registered - set(CATALOGUE))
    assert not missing, f"add a record to isolated_mlops/components/catalogue for: {', '.join(missing)}"
    judged_only = sorted(t for t in registered if not CATALOGUE[t].by_stacks)
    assert not judged_only, f"the stacks create these: set by_stacks=True in their records: {judged_only}"


def test_each_record_is_well_formed():
    parent_inputs = {e.name_input for e in CATALOGUE.values()}
    for token, e in CATALOGUE.items():
        assert e.token == token and token.count(":") == 2, token
        if e.outside_azure:
            assert not e.arm_type and not token.startswith("azure-native:"), token
            continue
        assert re.fullmatch(r"Microsoft\.\w+(/[{}\w]+)+", e.arm_type), (token, e.arm_type)
        assert e.name_input, f"{token}: which input carries its Azure name?"
        for parent in e.parent_inputs:
            assert parent in parent_inputs, f"{token}: {{{parent}}} is no catalogued type's name input"
        if e.create:
            assert e.create.basis in {"documented", "local", "estimate", "measured"} and e.create.source, token
        if e.replace_on or e.azure_defaults:
            # A fact beyond the token's own shape says where Azure documents it.
            assert any(s.startswith("https://learn.microsoft.com/") for s in e.sources), token
        paths = [s.path for s in e.key_settings]
        assert len(paths) == len(set(paths)), f"{token}: a key setting twice"


def test_two_records_for_one_type_are_refused():
    vnet = CATALOGUE[catalogue.VNET]
    with pytest.raises(ValueError, match="two entries"):
        catalogue._index((vnet,), (vnet,))


def test_replacement_follows_the_arm_id_and_what_azure_refuses_to_update():
    peering = CATALOGUE[catalogue.PEERING]
    assert peering.replace_keys() == {"location", "resourceGroupName", "virtualNetworkName", "virtualNetworkPeeringName"}
    assert {"scope", "roleDefinitionId", "principalId"} <= CATALOGUE[catalogue.ROLE_ASSIGNMENT].replace_keys()
    assert "hbiWorkspace" in CATALOGUE[catalogue.WORKSPACE].replace_keys()
    assert "hbiWorkspace" not in CATALOGUE[catalogue.STORAGE].replace_keys()


# ------------------------------------------------------------------------------------------------
# Written once
# ------------------------------------------------------------------------------------------------
def test_no_type_token_is_spelt_out_outside_the_catalogue():
    found = [f"{path}:{line}: {token}" for path, scanned in _outside_catalogue()
             for line, token in _type_tokens(scanned)]
    assert not found, "read these from isolated_mlops.components.catalogue:\n" + "\n".join(found)


def test_the_token_scan_finds_a_token_and_ignores_prose():
    assert type_token_literals('X = "azure-native:network:VirtualNetwork"\n') == [(1, "azure-native:network:VirtualNetwork")]
    assert type_token_literals('# "azure-native:network:VirtualNetwork"\nX = "an azure-native resource"\n') == []
    # Deep in an expression, and the literal part of an f-string.
    assert type_token_literals('def f(kind):\n    return g(x=[f"azure-native:network:{kind}"])\n') == [
        (2, "azure-native:network:")]


def test_shared_constants_are_defined_once():
    found = [f"{path}:{line}: {value!r}" for path, scanned in _outside_catalogue()
             for line, value in _shared_facts(scanned)]
    assert not found, "read these from isolated_mlops.components.catalogue (constants.py):\n" + "\n".join(found)
    assert shared_fact_literals('NAME = "AzureBastionSubnet"\nS = {"::/0"}\n') == [
        (1, "AzureBastionSubnet"), (2, "::/0")]
    # The Bastion subnet's minimum size is assigned in the catalogue only.
    assigned = [f"{path}:{line}" for path, scanned in _outside_catalogue()
                for line, name in scanned.int_assignments if "BASTION" in name]
    assert not assigned, assigned
    assert _scan("X = \"a\"\nBASTION_MAX = 26\n", "<source>").int_assignments == ((2, "BASTION_MAX"),)


def test_internet_sources_compare_in_any_case_and_cover_ipv6():
    for source in ("Internet", "INTERNET", "internet", "*", "Any", "0.0.0.0/0", "::/0", " ::/0 "):
        assert catalogue.is_internet_source(source), source
    for source in ("VirtualNetwork", "10.0.0.0/8", "::1/128", "AzureLoadBalancer", None, 0):
        assert not catalogue.is_internet_source(source), source


# ------------------------------------------------------------------------------------------------
# The consumers read it
# ------------------------------------------------------------------------------------------------
def test_rules_read_names_stateful_types_and_constants_from_the_catalogue():
    assert rules.NAME_INPUTS is catalogue.NAME_INPUTS and rules.STATEFUL_TYPES is catalogue.STATEFUL_TYPES
    assert rules.INTERNET_SOURCES is catalogue.INTERNET_SOURCES
    assert rules.BASTION_SUBNET_NAME is catalogue.BASTION_SUBNET_NAME
    assert rules.BASTION_MAX_PREFIX == catalogue.BASTION_SUBNET_MAX_PREFIX
    assert set(catalogue.STATEFUL_TYPES) == {catalogue.RESOURCE_GROUP, catalogue.WORKSPACE, catalogue.STORAGE,
                                             catalogue.KEY_VAULT, catalogue.REGISTRY, catalogue.LOG_ANALYTICS,
                                             catalogue.LOG_TABLE, catalogue.ML_REGISTRY}


def test_offline_tools_derive_their_tables_from_the_catalogue():
    made = {t: e for t, e in CATALOGUE.items() if e.by_stacks and not e.outside_azure}
    assert mocks.RESOURCE_KINDS == {t: (e.name_input, e.arm_type) for t, e in made.items()}
    assert graph.TYPICAL_CREATE_SECONDS == {t: e.create for t, e in CATALOGUE.items() if e.create}
    assert preview.KEY_SETTINGS == {t: e.key_settings for t, e in CATALOGUE.items() if e.key_settings}
    for token, e in CATALOGUE.items():
        assert diff.replace_keys(token) == (None if e.outside_azure else e.replace_keys()), token
    assert topology.INTERNET_SOURCES is catalogue.INTERNET_SOURCES
    assert topology.SERVICES == {t: e.service_node for t, e in CATALOGUE.items() if e.service_node}
    assert topology.SHOWN_ON_ANOTHER_NODE == {t: e.shown_on for t, e in CATALOGUE.items() if e.shown_on}


def test_each_type_the_stacks_create_has_one_role_in_the_diagram(runs):
    """A new type is one catalogue entry: its record says how the topology shows it (no table in offline/)."""
    registered = {r.type for run in runs.values() for r in run.resources if r.custom}
    without = sorted(t for t in registered if t not in topology.SHAPES
                     and not (CATALOGUE[t].service_node or CATALOGUE[t].shown_on))
    assert not without, f"give these records a service_node or shown_on (components/catalogue/): {without}"
    assert not [t for t in topology.SHAPES if CATALOGUE[t].service_node or CATALOGUE[t].shown_on]
    with pytest.raises(ValueError, match="two roles in the diagram"):
        dataclasses.replace(CATALOGUE[catalogue.KEY_VAULT], shown_on="somewhere else")


def test_an_unset_monitor_switch_reads_as_azures_default(prod):
    """Log Analytics left without its public-access switches is open: the preview and the diagram say
    so from the catalogue's default, and change with it."""
    [logs] = [r for r in prod.resources if r.type == catalogue.LOG_ANALYTICS]
    record = CATALOGUE[catalogue.LOG_ANALYTICS]
    assert record.default_of("publicNetworkAccessForIngestion") == catalogue.MONITOR_PUBLIC_ACCESS_DEFAULT == "Enabled"
    unset = dataclasses.replace(logs, inputs={k: v for k, v in logs.inputs.items()
                                              if k not in catalogue.MONITOR_PUBLIC_ACCESS_INPUTS})
    assert topology._public_access(unset) == "public ingestion Enabled, query Enabled"
    assert topology._public_access(logs) == "public ingestion Disabled, query Disabled"
    with pytest.raises(KeyError):
        record.default_of("retentionInDays")
