"""The component package other Pulumi languages add: the schema the SDK's analyzer infers is complete.

`pulumi package add component-package/` runs the plugin, which serves `isolated_mlops.component_package`
through the SDK's component provider host; the schema it answers with is what TypeScript, Go, C#,
Java and YAML programs are generated from. These tests build that provider (the same analyzer, the
same schema) and check every served component: its inputs with a type and a description, the ones
with a Python default optional, its outputs, no dependency on another package's schema. Negative
cases prove the check fails on a missing description or type. A last test constructs components the
way the host does, from plain camelCase inputs, under the offline mocks.

No `from __future__ import annotations` here: the toy components below are analyzed too.
"""

import dataclasses
import importlib
import inspect
import json
import pkgutil
from pathlib import Path
from typing import Any, Optional

import pulumi
import pytest
from pulumi.provider.experimental import analyzer as sdk_analyzer
from pulumi.provider.experimental import component as sdk_component
from pulumi.provider.experimental import host as sdk_host
from pulumi.provider.experimental.util import camel_case

import isolated_mlops
from isolated_mlops.component_package import COMPONENTS, PackageAnalyzer, provider
from isolated_mlops.components.interface import CommonArgs
from isolated_mlops.components.standalone import PACKAGE_NAME
from tests.helpers import load_yaml
from tests.standalone import LOCATION, RG, SUBNET_ID, build_alone

PROJECT_DIR = Path(__file__).resolve().parent.parent
PLUGIN_DIR = PROJECT_DIR / "component-package"
# Public components whose Args the analyzer cannot read yet: none since the workspace/ components took
# plain Args (iface-ws). A test below fails as soon as one listed here analyzes, so that it moves into
# COMPONENTS instead of staying out of the package unnoticed.
NOT_YET_ANALYZABLE: set[str] = set()


def public_components() -> dict[str, type]:
    """Every ComponentResource defined in network/, compute/ and workspace/."""
    found: dict[str, type] = {}
    for folder in ("network", "compute", "workspace"):
        package = importlib.import_module(f"isolated_mlops.{folder}")
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for name, value in vars(module).items():
                if inspect.isclass(value) and issubclass(value, pulumi.ComponentResource) and value.__module__ == module.__name__:
                    found[name] = value
    return found


def schema_of(components: list) -> dict[str, Any]:
    return json.loads(provider(components).schema or "{}")


@pytest.fixture(scope="module")
def served() -> sdk_component.ComponentProvider:
    """The provider `serve()` runs, built once (its analysis of every component is the slow part):
    the tests below read its schema or call its `construct`, which keeps no state between calls."""
    return provider()


@pytest.fixture(scope="module")
def served_schema(served: sdk_component.ComponentProvider) -> dict[str, Any]:
    return json.loads(served.schema or "{}")


def _property_problems(where: str, name: str, prop: dict[str, Any]) -> list[str]:
    problems = []
    if not (prop.get("description") or "").strip():
        problems.append(f"{where}.{name}: no description")
    typed = prop.get("type") or prop.get("$ref")
    if not typed or typed == "pulumi.json#/Any":
        problems.append(f"{where}.{name}: no type")
    return problems


def schema_problems(schema: dict[str, Any], components: list) -> list[str]:
    """What a consumer in another language would miss: every problem, one line each."""
    problems: list[str] = []
    resources, types = schema.get("resources", {}), schema.get("types", {})
    if schema.get("dependencies"):
        problems.append(f"depends on other packages' schemas: {schema['dependencies']}")
    for component in components:
        token = f"{PACKAGE_NAME}:index:{component.__name__}"
        resource = resources.get(token)
        if resource is None:
            problems.append(f"{token}: missing")
            continue
        if not (resource.get("description") or "").strip():
            problems.append(f"{token}: no description")
        args_type = inspect.get_annotations(component.__init__)["args"]
        fields = {camel_case(f.name): f for f in dataclasses.fields(args_type)}
        if set(resource.get("inputProperties", {})) != set(fields):
            problems.append(f"{token}: inputs {sorted(resource.get('inputProperties', {}))} != Args fields {sorted(fields)}")
        required = sorted(n for n, f in fields.items()
                          if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
        if sorted(resource.get("requiredInputs", [])) != required:
            problems.append(f"{token}: required inputs {sorted(resource.get('requiredInputs', []))} != {required}")
        for name, prop in resource.get("inputProperties", {}).items():
            problems += _property_problems(f"{token} input", name, prop)
        outputs = {camel_case(n) for n in inspect.get_annotations(component) if not n.startswith("_")}
        if not outputs or set(resource.get("properties", {})) != outputs:
            problems.append(f"{token}: outputs {sorted(resource.get('properties', {}))} != annotated {sorted(outputs)}")
        for name, prop in resource.get("properties", {}).items():
            problems += _property_problems(f"{token} output", name, prop)
    for token, type_ in types.items():
        if not (type_.get("description") or "").strip():
            problems.append(f"type {token}: no description")
        for name, prop in type_.get("properties", {}).items():
            problems += _property_problems(f"type {token}", name, prop)
    return problems


# ---- The package as served ---------------------------------------------------------------------
def test_every_public_component_is_served_or_named_as_not_yet_analyzable():
    public = public_components()
    served = {c.__name__ for c in COMPONENTS}
    assert served <= set(public), f"served but not public: {sorted(served - set(public))}"
    assert set(public) - served == NOT_YET_ANALYZABLE, (
        "every public component is served (isolated_mlops/component_package.py COMPONENTS) or listed here")


def test_a_component_left_out_still_does_not_analyze():
    """When this fails, a listed component became analyzable: add it to COMPONENTS and drop it from the list."""
    for name in sorted(NOT_YET_ANALYZABLE):
        with pytest.raises(Exception):
            PackageAnalyzer(PACKAGE_NAME).analyze([public_components()[name]])


def test_the_served_schema_is_complete(served_schema: dict[str, Any]):
    schema = served_schema
    assert schema["name"] == PACKAGE_NAME and schema["version"] == isolated_mlops.__version__
    assert sorted(schema["resources"]) == sorted(f"{PACKAGE_NAME}:index:{c.__name__}" for c in COMPONENTS)
    assert schema_problems(schema, COMPONENTS) == []


def test_the_schema_carries_the_common_interface_and_nested_types(served_schema: dict[str, Any]):
    schema = served_schema
    vnet = schema["resources"][f"{PACKAGE_NAME}:index:VirtualNetwork"]
    assert vnet["inputProperties"]["tags"]["additionalProperties"]["type"] == "string"
    assert vnet["inputProperties"]["lock"]["description"].startswith("An Azure management lock")
    assert vnet["inputProperties"]["subnets"]["items"]["$ref"] == f"#/types/{PACKAGE_NAME}:index:SubnetPlan"
    assert sorted(vnet["requiredInputs"]) == ["addressSpace", "location", "natGateway", "resourceGroupName", "subnets", "vnetName"]
    assert vnet["properties"]["subnetIds"]["additionalProperties"]["type"] == "string"
    subnet = schema["types"][f"{PACKAGE_NAME}:index:SubnetPlan"]
    assert sorted(subnet["required"]) == ["addressPrefix", "key", "name"]
    cluster = schema["resources"][f"{PACKAGE_NAME}:index:ComputeCluster"]
    assert cluster["inputProperties"]["maxNodes"]["type"] == "integer"
    assert cluster["inputProperties"]["identity"]["$ref"] == f"#/types/{PACKAGE_NAME}:index:ManagedIdentity"


# ---- The check fails when the schema misses something --------------------------------------------
@dataclasses.dataclass(kw_only=True)
class _UndescribedArgs(CommonArgs):
    """A toy component's arguments."""

    size: int
    """How big."""
    colour: str


class UndescribedInput(pulumi.ComponentResource):
    """A toy component whose `colour` input has no description."""

    out: pulumi.Output[str]
    """Something."""

    def __init__(self, name: str, args: _UndescribedArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("toy:index:UndescribedInput", name, None, opts)


@dataclasses.dataclass
class _UntypedArgs:
    """A toy component's arguments."""

    anything: Any
    """A value of no declared type."""


class UntypedInput(pulumi.ComponentResource):
    """A toy component whose input has no type."""

    out: pulumi.Output[str]
    """Something."""

    def __init__(self, name: str, args: _UntypedArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("toy:index:UntypedInput", name, None, opts)


@dataclasses.dataclass
class _PlainArgs:
    """A toy component's arguments."""

    size: int
    """How big."""


class UndescribedOutput(pulumi.ComponentResource):
    """A toy component whose output has no description."""

    out: pulumi.Output[str]

    def __init__(self, name: str, args: _PlainArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("toy:index:UndescribedOutput", name, None, opts)


@pytest.mark.parametrize("component, problem", [
    (UndescribedInput, f"{PACKAGE_NAME}:index:UndescribedInput input.colour: no description"),
    (UntypedInput, f"{PACKAGE_NAME}:index:UntypedInput input.anything: no type"),
    (UndescribedOutput, f"{PACKAGE_NAME}:index:UndescribedOutput output.out: no description"),
])
def test_the_check_fails_on_a_missing_description_or_type(component, problem):
    assert problem in schema_problems(schema_of([component]), [component])


def test_without_the_package_analyzer_inherited_inputs_lose_descriptions_and_defaults_become_required():
    """Why `PackageAnalyzer` exists, and proof the check sees it: the SDK's own analyzer, unchanged."""
    result = sdk_analyzer.Analyzer(PACKAGE_NAME).analyze([COMPONENTS[0]])
    inputs = result["component_definitions"][COMPONENTS[0].__name__].inputs
    assert inputs["tags"].description is None and inputs["tags"].optional is False


# ---- The plugin folder ---------------------------------------------------------------------------
def test_the_plugin_folder_runs_the_package_on_python_and_installs_this_repository():
    manifest = load_yaml(PLUGIN_DIR / "PulumiPlugin.yaml")
    # Exactly what the SDK's guide prescribes: Python providers run only with pip and a `venv`, and
    # it says to add no other runtime option (pulumi.provider.experimental README).
    assert manifest == {"runtime": "python"}
    entry = (PLUGIN_DIR / "__main__.py").read_text()
    assert "from isolated_mlops.component_package import serve" in entry and "serve()" in entry
    requirements = [line.strip() for line in (PLUGIN_DIR / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
    assert requirements == [".."]
    assert 'name = "isolated-mlops"' in ((PLUGIN_DIR / "..").resolve() / "pyproject.toml").read_text()


# ---- Constructed as the host constructs them -----------------------------------------------------
def test_served_components_construct_from_plain_inputs_with_the_package_type(monkeypatch, served):
    """The host hands `construct` camelCase inputs; `map_inputs` turns them into Python names (nested
    objects as dicts) and the component builds its Args from them (components/standalone.py)."""
    monkeypatch.setattr(sdk_host, "is_hosting", True)
    vnet_inputs = {"resourceGroupName": RG, "location": LOCATION, "vnetName": "vnet-x", "addressSpace": "10.1.0.0/16",
                   "natGateway": False, "tags": {"team": "ml"},
                   "subnets": [{"key": "vms", "name": "snet-vms", "addressPrefix": "10.1.0.0/24",
                                "inbound": [{"name": "AllowSsh", "sourcePrefix": "10.2.0.0/26",
                                             "description": "ssh", "protocol": "Tcp", "port": "22"}]}]}
    bastion_inputs = {"resourceGroupName": RG, "location": LOCATION, "bastionName": "bas-x", "subnetId": SUBNET_ID}

    def build():
        return (served.construct("net", f"{PACKAGE_NAME}:index:VirtualNetwork", vnet_inputs, pulumi.ResourceOptions()),
                served.construct("bas", f"{PACKAGE_NAME}:index:Bastion", bastion_inputs, pulumi.ResourceOptions()))

    built = build_alone(build)
    net, bas = built.value
    assert built.resolve(net.urn).endswith(f"::{PACKAGE_NAME}:index:VirtualNetwork::net")
    assert set(net.state) == {"vnetId", "vnetName", "subnetIds", "nsgIds"}  # no NAT gateway asked for
    assert built.resolve(bas.state["bastionName"]) == "bas-x"
    nsg = built.one("azure-native:network:NetworkSecurityGroup")
    assert nsg.urn.startswith(f"urn:pulumi:test::standalone::{PACKAGE_NAME}:index:VirtualNetwork$")
    allow = next(r for r in nsg.inputs["securityRules"] if r["name"] == "AllowSsh")
    assert (allow["protocol"], allow["destinationPortRange"]) == ("Tcp", "22") and nsg.inputs["tags"] == {"team": "ml"}


def test_a_missing_required_input_is_refused_by_name(monkeypatch, served):
    monkeypatch.setattr(sdk_host, "is_hosting", True)
    with pytest.raises(Exception, match="Missing required input 'bastionName' on 'Bastion'"):
        served.construct("bas", f"{PACKAGE_NAME}:index:Bastion",
                             {"resourceGroupName": RG, "location": LOCATION, "subnetId": SUBNET_ID}, pulumi.ResourceOptions())


def test_plain_inputs_with_an_unknown_name_are_refused_by_name():
    from isolated_mlops.components.standalone import as_args
    from isolated_mlops.network.bastion import BastionArgs

    with pytest.raises(TypeError, match="BastionArgs: unknown argument\\(s\\) bastion_nme"):
        as_args(BastionArgs, {"resource_group_name": RG, "location": LOCATION, "bastion_nme": "b", "subnet_id": SUBNET_ID})
