"""Every public component of workspace/ and components/ built ALONE, with minimal plain arguments.

No stack file, no config types, no __main__: what another team's program would write. Each is built
once bare (no private endpoint, lock, role or diagnostic setting may appear) and once with every
common argument it supports (each must appear, on the main resource, in the given subnet and zones),
and the common arguments it does not support are refused by name. Its Args and outputs pass Pulumi's
component schema analyzer, which the component package (any-language consumers) is built from.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable

import pulumi

import pytest
from pulumi.provider.experimental.analyzer import Analyzer
from pulumi.runtime.sync_await import _sync_await

from isolated_mlops.component_package import PackageAnalyzer
from isolated_mlops.components.diagnostics import DiagnosticSettings, DiagnosticSettingsArgs, LogTarget
from isolated_mlops.components.interface import (CommonArgs, DiagnosticsOptions, ManagedIdentity, PrivateEndpointOptions,
                                                 RoleAssignmentSpec)
from isolated_mlops.components.private_endpoint import PrivateEndpoint, PrivateEndpointArgs
from isolated_mlops.components.roles import READER
from isolated_mlops.workspace.alerts import Alerts, AlertsArgs, AlertThresholds, DriftIngestion, DriftIngestionArgs
from isolated_mlops.workspace.container_registry import ContainerRegistry, ContainerRegistryArgs
from isolated_mlops.workspace.key_vault import KeyVault, KeyVaultArgs
from isolated_mlops.workspace.ml_workspace import MlWorkspace, MlWorkspaceArgs
from isolated_mlops.workspace.model_registry import ModelRegistry, ModelRegistryArgs
from isolated_mlops.workspace.monitoring import Monitoring, MonitoringArgs
from isolated_mlops.workspace.retrain_trigger import RetrainReader, RetrainReaderArgs
from isolated_mlops.workspace.storage import WorkspaceStorage, WorkspaceStorageArgs
from offline.engine import RegisteredResource, StackRun
from offline.mocks import SUBSCRIPTION_ID, TENANT_ID
from tests.standalone import PROJECT, STACK, build_alone


def build(make: Callable[[], Any]) -> tuple[StackRun, Any]:
    """`make()` as a program of its own under the offline mocks (tests/standalone.py), as a StackRun."""
    built = build_alone(make)
    return StackRun(stack=STACK, project=PROJECT, resources=built.resources, exports={}), built.value


def resolve(value: Any) -> Any:
    """An output's value after the run (an Output nobody awaits checks nothing)."""
    return _sync_await(pulumi.Output.from_input(value).future())

SUB = f"/subscriptions/{SUBSCRIPTION_ID}"
AT: dict[str, Any] = {"resource_group_name": "rg-alone", "location": "westeurope"}
SUBNET = f"{SUB}/resourceGroups/rg-hub/providers/Microsoft.Network/virtualNetworks/vnet-hub/subnets/snet-pe"
LAW = f"{SUB}/resourceGroups/rg-hub/providers/Microsoft.OperationalInsights/workspaces/law-hub"
PRINCIPAL = "00000000-0000-0000-0000-00000000abcd"
TAGS = {"owner": "team-a"}
GROUPS = ("vault", "blob", "file", "registry", "amlworkspace", "amlregistry", "azuremonitor")
ZONES = {g: {f"privatelink.{g}.example": f"{SUB}/resourceGroups/rg-dns/providers/Microsoft.Network/privateDnsZones/privatelink.{g}.example"}
         for g in GROUPS}
ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
LOCK = "azure-native:authorization:ManagementLockByScope"
ROLE = "azure-native:authorization:RoleAssignment"
DIAGNOSTIC = "azure-native:monitor:DiagnosticSetting"
EXTENSIONS = (ENDPOINT, ZONE_GROUP, LOCK, ROLE, DIAGNOSTIC)


@dataclass(frozen=True)
class Case:
    """One component: how to build it from common arguments, its main resource, what it supports."""

    make: Callable[..., Any]
    main_type: str
    groups: tuple[str, ...] = ()
    """The private endpoints' group ids it creates with `private_endpoint`."""
    supports: frozenset[str] = frozenset({"lock", "role_assignments", "diagnostics", "private_endpoint"})
    owns: tuple[str, ...] = ()
    """Extension types it creates by itself (a private endpoint's zone group), not from the common arguments."""
    diagnostics_suffix: str = ""
    """Where its diagnostic setting goes, relative to the main resource's id."""


CASES: dict[str, Case] = {
    "KeyVault": Case(lambda **c: KeyVault("kv", KeyVaultArgs(vault_name="kv-alone", tenant_id=TENANT_ID, **AT, **c)),
                     "azure-native:keyvault:Vault", ("vault",)),
    "WorkspaceStorage": Case(lambda **c: WorkspaceStorage("st", WorkspaceStorageArgs(
        account_name="stalone", trusted_workspace_id=f"{SUB}/resourceGroups/rg-alone/providers/"
        "Microsoft.MachineLearningServices/workspaces/mlw-alone", tenant_id=TENANT_ID, **AT, **c)),
        "azure-native:storage:StorageAccount", ("blob", "file"),
        supports=frozenset({"lock", "role_assignments", "diagnostics", "private_endpoint", "identity"}),
        diagnostics_suffix="/blobServices/default"),
    "ContainerRegistry": Case(lambda **c: ContainerRegistry("acr", ContainerRegistryArgs(registry_name="cralone", **AT, **c)),
                              "azure-native:containerregistry:Registry", ("registry",),
                              supports=frozenset({"lock", "role_assignments", "diagnostics", "private_endpoint", "identity"})),
    "Monitoring": Case(lambda **c: Monitoring("mon", MonitoringArgs(
        log_analytics_name="log-alone", app_insights_name="appi-alone", private_link_scope_name="pls-alone", **AT, **c)),
        "azure-native:operationalinsights:Workspace", ("azuremonitor",)),
    "MlWorkspace": Case(lambda **c: MlWorkspace("mlw", MlWorkspaceArgs(
        workspace_name="mlw-alone", storage_account_id=f"{SUB}/st", key_vault_id=f"{SUB}/kv", container_registry_id=f"{SUB}/cr",
        app_insights_id=f"{SUB}/appi", image_build_compute="cpu", serverless_subnet_id=SUBNET, **AT, **c)),
        "azure-native:machinelearningservices:Workspace", ("amlworkspace",),
        supports=frozenset({"lock", "role_assignments", "diagnostics", "private_endpoint", "identity"})),
    "ModelRegistry": Case(lambda **c: ModelRegistry("mlr", ModelRegistryArgs(registry_name="mlr-alone", **AT, **c)),
                          "azure-native:machinelearningservices:Registry", ("amlregistry", "blob", "registry"),
                          supports=frozenset({"lock", "role_assignments", "diagnostics", "private_endpoint", "identity"})),
    "DriftIngestion": Case(lambda **c: DriftIngestion("drift", DriftIngestionArgs(
        table_name="MlDataDrift_CL", endpoint_name="dce-alone", rule_name="dcr-alone", resource_group_name="rg-alone",
        location="westeurope", log_analytics_name="law-hub", log_analytics_id=LAW, private_link_scope_name="pls-hub", **c)),
        "azure-native:monitor:DataCollectionRule", supports=frozenset({"lock", "role_assignments"})),
    "Alerts": Case(lambda **c: Alerts("alerts", AlertsArgs(
        resource_group_name="rg-alone", location="westeurope", notify_group_name="ag-notify", retrain_group_name="ag-retrain",
        workspace_id=f"{SUB}/mlw", log_analytics_id=LAW, drift_table="MlDataDrift_CL",
        thresholds=AlertThresholds(failed_runs=1, drift_psi=0.2), rule_prefix="alert-alone", **c)),
        "azure-native:monitor:MetricAlert", supports=frozenset()),
    "PrivateEndpoint": Case(lambda **c: PrivateEndpoint("pe", PrivateEndpointArgs(
        subnet_id=SUBNET, target_resource_id=f"{SUB}/kv", group_id="vault", endpoint_name="pe-alone",
        zone_ids=ZONES["vault"], **AT, **c)), ENDPOINT, supports=frozenset({"lock", "role_assignments"}), owns=(ZONE_GROUP,)),
    "DiagnosticSettings": Case(lambda **c: DiagnosticSettings("diag", DiagnosticSettingsArgs(
        log_analytics_workspace_id=LAW, targets=[LogTarget("kv", f"{SUB}/kv")], **c)), DIAGNOSTIC, supports=frozenset()),
}
CASES["RetrainReader"] = Case(lambda **c: RetrainReader("reader", RetrainReaderArgs(
    principal_id=PRINCIPAL, resource_group_id=f"{SUB}/resourceGroups/rg-alone", **c)), ROLE, supports=frozenset())
COMPONENT_TYPES = {"RetrainReader": RetrainReader, "KeyVault": KeyVault, "WorkspaceStorage": WorkspaceStorage, "ContainerRegistry": ContainerRegistry,
                   "Monitoring": Monitoring, "MlWorkspace": MlWorkspace, "ModelRegistry": ModelRegistry,
                   "DriftIngestion": DriftIngestion, "Alerts": Alerts, "PrivateEndpoint": PrivateEndpoint,
                   "DiagnosticSettings": DiagnosticSettings}
EVERYTHING: dict[str, Any] = {
    "lock": "CanNotDelete",
    "role_assignments": [RoleAssignmentSpec(READER.name, PRINCIPAL, principal_type="Group")],
    "diagnostics": DiagnosticsOptions(LAW),
    "private_endpoint": PrivateEndpointOptions(subnet_id=SUBNET, zone_ids_by_group=ZONES),
    "identity": ManagedIdentity(system_assigned=True),
}


def the(run: StackRun, type_token: str) -> RegisteredResource:
    [resource] = run.of_type(type_token)
    return resource


def extensions(run: StackRun, case: Case) -> dict[str, int]:
    counts = {t: len(run.of_type(t)) for t in EXTENSIONS if t != case.main_type and t not in case.owns}
    return {t: n for t, n in counts.items() if n}


@pytest.mark.parametrize("component", sorted(CASES))
def test_built_alone_with_minimal_arguments_it_creates_its_resources_and_nothing_else(component: str) -> None:
    case = CASES[component]
    run, made = build(lambda: case.make(tags=TAGS))
    assert run.of_type(case.main_type), f"{component} created no {case.main_type}"
    assert extensions(run, case) == {}, f"{component} created extension resources nobody asked for"
    # Everything hangs under the component, and everything taggable carries the caller's tags.
    [stack] = [r for r in run.resources if not r.parent]
    [component_resource] = [r for r in run.resources if r.parent == stack.urn]
    assert component_resource.type.startswith("mlops:") and not component_resource.custom
    taggable = [r for r in run.custom_resources() if "tags" in r.inputs]
    assert all(r.inputs["tags"] == TAGS for r in taggable)
    # Outputs are plain values once resolved, and the private endpoint map is empty.
    if hasattr(made, "private_endpoint_ids"):
        assert resolve(made.private_endpoint_ids) == {}


@pytest.mark.parametrize("component", sorted(c for c in CASES if CASES[c].supports))
def test_with_every_common_argument_each_lands_on_the_main_resource(component: str) -> None:
    case = CASES[component]
    given = {k: v for k, v in EVERYTHING.items() if k in case.supports}
    run, made = build(lambda: case.make(tags=TAGS, **given))
    main = run.of_type(case.main_type)[0]
    if "lock" in given:
        lock = the(run, LOCK)
        assert (lock.input("scope"), lock.input("level")) == (main.id, "CanNotDelete")
    if "role_assignments" in given:
        [role] = [r for r in run.of_type(ROLE) if r.input("principalId") == PRINCIPAL]
        assert role.input("scope") == main.id and role.input("principalType") == "Group"
        assert role.input("roleDefinitionId") == f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{READER.id}"
    if "diagnostics" in given:
        setting = the(run, DIAGNOSTIC)
        assert setting.input("resourceUri") == main.id + case.diagnostics_suffix
        assert setting.input("workspaceId") == LAW
    if "private_endpoint" in given:
        endpoints = run.of_type(ENDPOINT)
        assert sorted(e.input("privateLinkServiceConnections")[0]["groupIds"][0] for e in endpoints) == sorted(case.groups)
        assert all(e.input("subnet.id") == SUBNET for e in endpoints), "every endpoint in the given subnet"
        zone_groups = run.of_type(ZONE_GROUP)
        assert len(zone_groups) == len(endpoints)
        given_zone_ids = {z for zones in ZONES.values() for z in zones.values()}
        assert all(c["privateDnsZoneId"] in given_zone_ids for g in zone_groups for c in g.input("privateDnsZoneConfigs"))
        ids = resolve(made.private_endpoint_ids)
        assert sorted(ids) == sorted(case.groups) and sorted(ids.values()) == sorted(e.id for e in endpoints)
    if "identity" in given:
        assert "SystemAssigned" in main.input("identity.type")


@pytest.mark.parametrize("component, name", sorted((c, k) for c in CASES for k in EVERYTHING if k not in CASES[c].supports))
def test_a_common_argument_the_component_cannot_honour_is_refused_by_name(component: str, name: str) -> None:
    with pytest.raises(ValueError, match=rf"^{component}: {name} is not supported here"):
        build(lambda: CASES[component].make(**{name: EVERYTHING[name]}))


def test_an_endpoint_without_the_zones_of_its_group_is_refused_naming_the_group() -> None:
    zones = {g: z for g, z in ZONES.items() if g != "file"}
    with pytest.raises(ValueError, match="no zones for group id.*file"):
        build(lambda: CASES["WorkspaceStorage"].make(private_endpoint=PrivateEndpointOptions(SUBNET, zones)))


def test_the_workspace_waits_for_what_its_caller_says_and_reads_through_the_storage_endpoints() -> None:
    def make() -> MlWorkspace:
        vault = KeyVault("kv", KeyVaultArgs(vault_name="kv-alone", tenant_id=TENANT_ID, **AT,
                                            private_endpoint=PrivateEndpointOptions(SUBNET, ZONES)))
        return MlWorkspace("mlw", MlWorkspaceArgs(
            workspace_name="mlw-alone", storage_account_id=f"{SUB}/st", key_vault_id=vault.vault_id,
            container_registry_id=f"{SUB}/cr", app_insights_id=f"{SUB}/appi", image_build_compute="cpu",
            serverless_subnet_id=SUBNET, storage_endpoint_ids={"blob": f"{SUB}/pe-blob"}, **AT),
            opts=pulumi.ResourceOptions(depends_on=list(vault.private_endpoints.values())))

    run, _ = build(make)
    workspace = the(run, "azure-native:machinelearningservices:Workspace")
    endpoint, zone_group = the(run, ENDPOINT), the(run, ZONE_GROUP)
    assert {endpoint.urn, zone_group.urn} <= set(workspace.dependencies)
    [reader] = run.of_type(ROLE)
    assert reader.input("scope") == f"{SUB}/pe-blob"
    assert reader.input("roleDefinitionId").endswith(READER.id)


def test_the_key_vault_is_public_only_when_asked_and_then_admits_only_the_listed_addresses() -> None:
    run, _ = build(lambda: CASES["KeyVault"].make())
    assert the(run, "azure-native:keyvault:Vault").input("properties.publicNetworkAccess") == "Disabled"
    run, _ = build(lambda: CASES["KeyVault"].make(public_network_access=True, allowed_ip_ranges=["203.0.113.7"]))
    acls = the(run, "azure-native:keyvault:Vault").input("properties.networkAcls")
    assert acls["defaultAction"] == "Deny" and [r["value"] for r in acls["ipRules"]] == ["203.0.113.7"]
    with pytest.raises(ValueError, match="allowed_ip_ranges needs public_network_access=True"):
        build(lambda: CASES["KeyVault"].make(allowed_ip_ranges=["203.0.113.7"]))


def test_monitoring_creates_its_private_link_scope_only_for_its_private_endpoint() -> None:
    scope_types = ("azure-native:monitor:PrivateLinkScope", "azure-native:monitor:PrivateLinkScopedResource")
    run, made = build(lambda: CASES["Monitoring"].make())
    assert not [r for t in scope_types for r in run.of_type(t)] and made.private_link_scope_id is None
    run, made = build(lambda: CASES["Monitoring"].make(private_endpoint=EVERYTHING["private_endpoint"]))
    [scope] = run.of_type(scope_types[0])
    assert len(run.of_type(scope_types[1])) == 2
    assert the(run, ENDPOINT).input("privateLinkServiceConnections")[0]["privateLinkServiceId"] == scope.id
    with pytest.raises(ValueError, match="^Monitoring mon: private_endpoint needs private_link_scope_name"):
        build(lambda: Monitoring("mon", MonitoringArgs(log_analytics_name="log-alone", app_insights_name="appi-alone",
                                                       private_endpoint=EVERYTHING["private_endpoint"], **AT)))


def test_the_registry_takes_user_assigned_identities_as_acr_spells_them() -> None:
    uami = f"{SUB}/resourceGroups/rg-alone/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-acr"
    run, _ = build(lambda: CASES["ContainerRegistry"].make(identity=ManagedIdentity(system_assigned=True, user_assigned_ids=[uami])))
    identity = the(run, "azure-native:containerregistry:Registry").input("identity")
    assert identity == {"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {uami: {}}}
    run, _ = build(lambda: CASES["ContainerRegistry"].make())
    assert the(run, "azure-native:containerregistry:Registry").input("identity") is None


def test_one_refusal_for_every_component_and_it_names_only_common_fields() -> None:
    """network/, compute/ and workspace/ refuse through the same check (no second helper), and a
    component that names a field CommonArgs does not have is a programming error, not a silent pass."""
    from isolated_mlops.components import standalone
    from isolated_mlops.components.interface import check_common

    assert not hasattr(standalone, "refuse_unsupported")
    with pytest.raises(TypeError, match="'identities', which is not a CommonArgs field"):
        check_common("X", CommonArgs(), {"identities": "typo"})
    with pytest.raises(ValueError, match="^X: lock is not supported here: why; leave lock unset$"):
        check_common("X", CommonArgs(lock="CanNotDelete"), {"lock": "why"})


def test_the_build_harness_sees_what_a_component_creates() -> None:
    """The negative case: a check on a component that did create an extension resource must fail."""
    run, _ = build(lambda: CASES["KeyVault"].make(lock="CanNotDelete"))
    assert extensions(run, CASES["KeyVault"]) == {LOCK: 1}


# ---- Pulumi's component schema analyzer (what the component package serves to other languages) --------
def _args_type(component: type) -> type:
    return component.__init__.__annotations__["args"]


@functools.cache
def analyzed(analyzer: type[Analyzer]) -> dict[str, Any]:
    """Every component through one analyzer, as the package's provider analyzes them (`analyze`
    runs `analyze_component` on each and raises on the first it cannot read): one run per analyzer
    for the tests below, which read the same definitions."""
    return analyzer("isolated-mlops").analyze(list(COMPONENT_TYPES.values()))


@pytest.mark.parametrize("component", sorted(COMPONENT_TYPES))
def test_the_schema_analyzer_reads_every_input_and_output_with_its_description(component: str) -> None:
    cls = COMPONENT_TYPES[component]
    assert component in analyzed(Analyzer)["component_definitions"]  # the SDK's own analyzer reads it
    # The package's analyzer (isolated_mlops/component_package.py) also finds the inherited common
    # fields' docstrings, which the SDK's looks for in the Args class's own source only.
    definition = analyzed(PackageAnalyzer)["component_definitions"][component]
    args_type = _args_type(cls)
    own = {k for k in args_type.__annotations__}
    assert set(definition.inputs_mapping.values()) == own | {f for f in CommonArgs.__annotations__}
    for schema_name, prop in definition.inputs.items():
        assert prop.description, f"{args_type.__name__}.{definition.inputs_mapping[schema_name]} has no description"
    assert definition.outputs, f"{component} exposes no output"
    for schema_name, prop in definition.outputs.items():
        assert prop.description, f"{component}.{definition.outputs_mapping[schema_name]} has no description"
    assert definition.description


def test_the_analyzer_check_can_fail() -> None:
    """A component whose Args hide their types (string annotations) must not pass the check above."""
    namespace: dict[str, Any] = {}
    exec("from __future__ import annotations\nfrom dataclasses import dataclass\nimport pulumi\n"
         "@dataclass\nclass HiddenArgs:\n    name: pulumi.Input[str]\n"
         "class Hidden(pulumi.ComponentResource):\n"
         "    def __init__(self, name: str, args: HiddenArgs, opts=None):\n        super().__init__('x:y:Hidden', name)\n",
         namespace)
    with pytest.raises(Exception):
        Analyzer("isolated-mlops").analyze([KeyVault, namespace["Hidden"]])


@pytest.mark.parametrize("component", sorted(COMPONENT_TYPES))
def test_each_component_and_its_args_are_the_public_api_of_their_module(component: str) -> None:
    import sys

    cls = COMPONENT_TYPES[component]
    public = getattr(sys.modules[cls.__module__], "__all__", ())
    assert {cls.__name__, _args_type(cls).__name__} <= set(public), f"{cls.__module__}.__all__"


def test_the_components_analyze_together_into_one_schema_of_plain_types() -> None:
    """One package: no type name defined twice, and no output that is another provider's resource (the
    schema would then depend on azure-native's; the components expose ids and names instead)."""
    result = analyzed(Analyzer)
    assert sorted(result["component_definitions"]) == sorted(COMPONENT_TYPES)
    assert {"PrivateEndpointOptions", "RoleAssignmentSpec", "DiagnosticsOptions", "ManagedIdentity"} <= set(
        result["type_definitions"])
    assert result["dependencies"] == set()


@pytest.mark.parametrize("days", [6, 91])
def test_a_soft_delete_retention_key_vault_refuses_is_refused_naming_it(days: int) -> None:
    with pytest.raises(ValueError, match=rf"soft_delete_retention_days={days}; use 7-90"):
        build(lambda: CASES["KeyVault"].make(soft_delete_retention_days=days))
