"""Nothing lost: production's stateful resources keep their URNs, and cannot be deleted by accident.

Pulumi identifies a resource by its URN (stack, project, parent type chain, type, logical name).
Rename a resource, move it into or out of a component, or rename its component, and the URN
changes: `pulumi up` then creates a new resource and deletes the old one. For the workspace, its
storage, Key Vault, registry, Log Analytics and the model registry that is data loss. The snapshot below is prod's
stateful URNs; a change that drops one fails here unless it carries an alias to the old URN.
See docs/operations.md, "Refactoring safely".
"""

from __future__ import annotations

import dataclasses
import json
import os
import textwrap
from pathlib import Path
from typing import Iterable, Sequence

import pytest

from offline.engine import RegisteredResource, StackRun, run_stack

SNAPSHOT = Path(__file__).parent / "snapshots" / "prod-stateful-urns.json"
REGENERATE = "UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest -q tests/test_stateful_urns.py"

# Replacing one of these loses data (datasets, models, secrets, images, logs) or, for the resource
# group, everything in it. All of them are protected in production.
PROTECTED_TYPES = (
    "azure-native:resources:ResourceGroup",
    "azure-native:machinelearningservices:Workspace",
    "azure-native:storage:StorageAccount",
    "azure-native:keyvault:Vault",
    "azure-native:containerregistry:Registry",
    "azure-native:operationalinsights:Workspace",
    "azure-native:operationalinsights:Table",  # the drift table's history (workspace/alerts.py)
    "azure-native:machinelearningservices:Registry",  # the model registry: the promoted models
)
# The random name suffix lives only in state: replaced, it renames (and so replaces) every globally
# unique resource above. Its URN is guarded too.
# Not protected (they hold no data), but a refactor must not replace them by accident either: a replaced
# managed identity comes back with a new principal id, so every role assignment and federated
# credential granted to it outside the stack stops working (the agents', the clusters', the serving
# cluster's); a replaced AKS cluster drops every model deployment on it, and its API-server identity
# and private DNS zone cannot be changed once it exists (https://learn.microsoft.com/azure/aks/private-clusters).
GUARDED_TYPES = (
    "azure-native:managedidentity:UserAssignedIdentity",
    "azure-native:containerservice:ManagedCluster",
)
SNAPSHOT_TYPES = (*PROTECTED_TYPES, *GUARDED_TYPES, "random:index/randomString:RandomString")


# ---- The checks --------------------------------------------------------------------------------
def stateful(resources: Iterable[RegisteredResource]) -> list[RegisteredResource]:
    return [r for r in resources if r.type in SNAPSHOT_TYPES]


def lost_urns(snapshot: Iterable[str], resources: Sequence[RegisteredResource]) -> list[str]:
    """Snapshot URNs that no resource has any more, nor claims through an alias: `pulumi up` would
    delete them (and create their successors afresh)."""
    claimed = {r.urn for r in resources} | {alias for r in resources for alias in r.aliases}
    return sorted(urn for urn in snapshot if urn not in claimed)


def unguarded_urns(snapshot: Iterable[str], resources: Sequence[RegisteredResource]) -> list[str]:
    """Stateful resources the snapshot does not know, not even through an alias: new ones, which
    the snapshot must be regenerated to guard from now on."""
    known = set(snapshot)
    return sorted(r.urn for r in stateful(resources) if r.urn not in known and not known & set(r.aliases))


def unprotected(resources: Iterable[RegisteredResource]) -> list[str]:
    return sorted(r.urn for r in resources if r.type in PROTECTED_TYPES and not r.protect)


def _name(urn: str) -> str:
    return urn.split("::", 3)[3]


def _qualified_type(urn: str) -> str:
    return urn.split("::")[2]


def lost_message(lost: Sequence[str], resources: Sequence[RegisteredResource]) -> str:
    """What to do, per lost URN, naming the resource that most likely took its place."""
    lines = ["These stateful prod resources would be DELETED and RE-CREATED by `pulumi up` (their data lost):",
             "their URN changed and no resource claims the old one with an alias.", ""]
    for urn in lost:
        type_ = _qualified_type(urn).rsplit("$", 1)[-1]
        successors = [r for r in stateful(resources) if r.type == type_ and r.urn not in lost]
        lines.append(f"  lost: {urn}")
        old_parent_type = _qualified_type(urn).rsplit("$", 1)[0] if "$" in _qualified_type(urn) else None
        for r in successors:
            hint = [f'name="{_name(urn)}"']
            if old_parent_type is None and "$" in _qualified_type(r.urn):
                hint.append("parent=pulumi.ROOT_STACK_RESOURCE")
            elif old_parent_type is not None and old_parent_type != _qualified_type(r.urn).rsplit("$", 1)[0]:
                # The old parent's URN, if a component of that type still exists; else the user knows it.
                parents = [p.urn for p in resources if _qualified_type(p.urn) == old_parent_type]
                hint.append(f'parent="{parents[0]}"' if len(parents) == 1 else "parent=<the old parent's URN>")
            lines.append(f"    now:  {r.urn}")
            lines.append(f"    fix:  opts=pulumi.ResourceOptions(aliases=[pulumi.Alias({', '.join(hint)})])")
    lines += ["", "Or give the old URN itself: aliases=[\"<lost URN>\"]. If a component was renamed, one alias on",
              "the component (pulumi.Alias(name=\"<old component name>\")) carries all its children.",
              "See docs/operations.md, \"Refactoring safely\".",
              "If the replacement is intended (the environment is being rebuilt), regenerate the snapshot deliberately:",
              f"  {REGENERATE}"]
    return "\n".join(lines)


def load_snapshot() -> list[str]:
    return json.loads(SNAPSHOT.read_text())["urns"]


def write_snapshot(run: StackRun) -> None:
    SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
    SNAPSHOT.write_text(json.dumps({
        "about": "URNs of the prod stack's stateful resources (tests/test_stateful_urns.py). A URN that "
                 "disappears without an alias means pulumi would replace the resource and lose its data. "
                 f"Regenerate only deliberately: {REGENERATE}",
        "stack": run.stack,
        "urns": sorted(r.urn for r in stateful(run.resources)),
    }, indent=2) + "\n")


# ---- The snapshot --------------------------------------------------------------------------------
def test_prod_stateful_urns_unchanged(prod: StackRun):
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        write_snapshot(prod)
        pytest.skip(f"rewrote {SNAPSHOT.name}: review the diff and commit it")
    snapshot = load_snapshot()
    lost = lost_urns(snapshot, prod.resources)
    assert not lost, lost_message(lost, prod.resources)
    new = unguarded_urns(snapshot, prod.resources)
    assert not new, ("New stateful resources the URN snapshot does not guard yet:\n  " + "\n  ".join(new)
                     + f"\nAdd them deliberately: {REGENERATE}")


def test_snapshot_covers_every_stateful_kind():
    """An empty or partial snapshot would guard nothing: every kind is in it, and only prod's."""
    snapshot = load_snapshot()
    for type_ in SNAPSHOT_TYPES:
        assert any(_qualified_type(urn).endswith(type_) for urn in snapshot), type_
    assert all(urn.startswith("urn:pulumi:prod::isolated-mlops::") for urn in snapshot)


# ---- The checks can fail: a renamed stateful resource, with and without an alias ----------------
def _renamed(resources: Sequence[RegisteredResource], type_: str, new_name: str,
             aliases: Sequence[str] = ()) -> tuple[str, list[RegisteredResource]]:
    [old] = [r for r in resources if r.type == type_]
    new_urn = old.urn.rsplit("::", 1)[0] + "::" + new_name
    changed = [dataclasses.replace(r, urn=new_urn, name=new_name, aliases=list(aliases)) if r is old else r
               for r in resources]
    return old.urn, changed


@pytest.mark.parametrize("type_", PROTECTED_TYPES)
def test_renamed_stateful_resource_without_alias_fails(prod: StackRun, type_: str):
    old_urn, resources = _renamed(prod.resources, type_, "renamed")
    assert lost_urns(load_snapshot(), resources) == [old_urn]
    message = lost_message([old_urn], resources)
    assert f'pulumi.Alias(name="{_name(old_urn)}")' in message and "UPDATE_SNAPSHOTS=1" in message


@pytest.mark.parametrize("type_", PROTECTED_TYPES)
def test_renamed_stateful_resource_with_alias_passes(prod: StackRun, type_: str):
    [original] = prod.of_type(type_)
    _, resources = _renamed(prod.resources, type_, "renamed", aliases=[original.urn])
    assert lost_urns(load_snapshot(), resources) == []
    assert unguarded_urns(load_snapshot(), resources) == []


def test_new_stateful_resource_must_join_the_snapshot(prod: StackRun):
    [vault] = prod.of_type("azure-native:keyvault:Vault")
    second = dataclasses.replace(vault, urn=vault.urn + "-2", name=vault.name + "-2", aliases=[])
    assert unguarded_urns(load_snapshot(), [*prod.resources, second]) == [second.urn]


# ---- End to end: the SDK's alias specs, resolved by the offline engine as Pulumi's engine does ---
# The refactor docs/operations.md describes, on a two-resource program: a top-level storage account
# moved into a component (and renamed after it), then the component itself renamed.
_PROGRAM = textwrap.dedent('''
    import pulumi
    from pulumi_azure_native import storage

    def account(name, **opts):
        return storage.StorageAccount(name, account_name="stexample", resource_group_name="rg-example",
                                      kind="StorageV2", sku=storage.SkuArgs(name="Standard_LRS"),
                                      opts=pulumi.ResourceOptions(**opts))

    class Data(pulumi.ComponentResource):
        def __init__(self, name, account_aliases, opts=None):
            super().__init__("mlops:workspace:Data", name, None, opts)
            account(f"{name}-account", parent=self, aliases=account_aliases)
            self.register_outputs({})

    variant = pulumi.Config().require("variant")
    was_top_level = [pulumi.Alias(name="storage-account", parent=pulumi.ROOT_STACK_RESOURCE)]
    if variant == "before":
        account("storage-account")
    elif variant == "moved":
        Data("data", was_top_level)
    elif variant == "moved-without-alias":
        Data("data", [])
    elif variant == "component-renamed":
        # Only the component says it was "data": its child inherits "data-account" from it.
        Data("datastore", [], opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name="data")]))
    elif variant == "component-renamed-without-alias":
        Data("datastore", [])
''')


@pytest.fixture(scope="module")
def refactor(tmp_path_factory: pytest.TempPathFactory):
    project = tmp_path_factory.mktemp("refactor")
    (project / "Pulumi.yaml").write_text("name: refactor\nruntime: python\n")
    (project / "__main__.py").write_text(_PROGRAM)

    def run(variant: str) -> StackRun:
        result = run_stack("prod", values={"variant": variant}, secrets={}, project_dir=project)
        assert result.error is None, result.error
        return result
    return run


def _account_urns(run: StackRun) -> list[str]:
    return [r.urn for r in run.of_type("azure-native:storage:StorageAccount")]


def test_moving_into_a_component_keeps_the_urn_with_an_alias(refactor):
    before = _account_urns(refactor("before"))
    assert before == ["urn:pulumi:prod::refactor::azure-native:storage:StorageAccount::storage-account"]
    moved = refactor("moved")
    assert _account_urns(moved) == [
        "urn:pulumi:prod::refactor::mlops:workspace:Data$azure-native:storage:StorageAccount::data-account"]
    assert lost_urns(before, moved.resources) == []
    assert lost_urns(before, refactor("moved-without-alias").resources) == before


def test_renaming_a_component_carries_its_children(refactor):
    moved = _account_urns(refactor("moved"))
    assert lost_urns(moved, refactor("component-renamed").resources) == []
    assert lost_urns(moved, refactor("component-renamed-without-alias").resources) == moved


# ---- Deletion protection -------------------------------------------------------------------------
def test_prod_protects_every_stateful_resource(prod: StackRun):
    for type_ in PROTECTED_TYPES:
        assert prod.of_type(type_), f"prod has no {type_}: the protection test would prove nothing"
    assert unprotected(prod.resources) == []


def test_dev_stays_deletable(dev: StackRun):
    """dev sets protectStatefulResources: false, so `pulumi destroy` works there without ceremony.
    This is also the end-to-end negative case of the test above: the same check, failing."""
    assert sorted(unprotected(dev.resources)) == sorted(r.urn for r in dev.resources if r.type in PROTECTED_TYPES)
    assert len(unprotected(dev.resources)) == len(PROTECTED_TYPES) - 1  # dev creates no model registry


def test_protection_check_catches_one_unprotected_resource(prod: StackRun):
    [account] = prod.of_type("azure-native:storage:StorageAccount")
    resources = [dataclasses.replace(r, protect=False) if r is account else r for r in prod.resources]
    assert unprotected(resources) == [account.urn]
