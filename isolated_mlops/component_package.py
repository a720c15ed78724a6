"""The library as a Pulumi component package: the public components, served to any Pulumi language.

`component-package/` (beside this repository's program) is the plugin folder a TypeScript, Go, C#,
Java or YAML program adds with `pulumi package add`: its `PulumiPlugin.yaml` says the plugin runs on
Python, its `requirements.txt` installs this library, and its `__main__.py` calls `serve()`. The
Python SDK's component provider host (`pulumi.provider.experimental.component_provider_host`) then
infers the package's schema from the components' type annotations (`...experimental.analyzer`) and
constructs the components on the other program's behalf (README, "Using the library").

The SDK's analyzer reads two things differently from how these dataclasses mean them, and
`PackageAnalyzer` corrects both before the host starts:

- a field's description is the string literal after it, but the analyzer looks for it only in the
  class being analyzed, so the fields every Args inherits from `CommonArgs` (tags, protect, lock...)
  would reach the schema without one: the package's analyzer looks in the class that declares the field;
- a field is optional only when annotated `Optional[...]`, so every field with a default
  (`tags`, `protect`, `sku="Standard"`) would be required from other languages: the package's
  analyzer marks a dataclass field with a default optional, as Python callers see it.

Importing this module imports every public component (the analyzer needs them loaded): the program
(`__main__.py`) never imports it.
"""

import dataclasses
import inspect
from typing import Any, Optional

import pulumi
from pulumi.provider.experimental import analyzer as sdk_analyzer
from pulumi.provider.experimental import component as sdk_component

from isolated_mlops import __version__
from isolated_mlops.components.standalone import PACKAGE_NAME
from isolated_mlops.compute.agents import CiAgentPool
from isolated_mlops.compute.clusters import ClusterIdentity, ComputeCluster
from isolated_mlops.compute.linux_vm import LinuxVirtualMachine
from isolated_mlops.compute.serving import PrivateServing
from isolated_mlops.network.bastion import Bastion
from isolated_mlops.network.peering import BidirectionalPeering
from isolated_mlops.network.private_dns import PrivateDnsZones
from isolated_mlops.network.virtual_network import VirtualNetwork
from isolated_mlops.workspace.alerts import Alerts, DriftIngestion
from isolated_mlops.workspace.container_registry import ContainerRegistry
from isolated_mlops.workspace.key_vault import KeyVault
from isolated_mlops.workspace.ml_workspace import MlWorkspace
from isolated_mlops.workspace.model_registry import ModelRegistry
from isolated_mlops.workspace.monitoring import Monitoring
from isolated_mlops.workspace.retrain_trigger import RetrainReader
from isolated_mlops.workspace.storage import WorkspaceStorage

COMPONENTS: list[type[pulumi.ComponentResource]] = [
    VirtualNetwork, BidirectionalPeering, PrivateDnsZones, Bastion,
    LinuxVirtualMachine, CiAgentPool, ClusterIdentity, ComputeCluster,
    WorkspaceStorage, KeyVault, ContainerRegistry, Monitoring, MlWorkspace, ModelRegistry, DriftIngestion, Alerts,
    RetrainReader, PrivateServing,
]
"""Every component the package serves, as `isolated-mlops:index:<Name>`."""


class PackageAnalyzer(sdk_analyzer.Analyzer):
    """The SDK's analyzer, reading inherited field docstrings and dataclass defaults (module docstring)."""

    def get_docstring(self, typ: type, name: str) -> Optional[str]:
        for cls in getattr(typ, "__mro__", (typ,)):
            if name in inspect.get_annotations(cls):
                return super().get_docstring(cls, name)
        return super().get_docstring(typ, name)

    def analyze_type(self, typ: type, *, is_component_output: bool) -> tuple[dict[str, Any], dict[str, str]]:
        properties, mapping = super().analyze_type(typ, is_component_output=is_component_output)
        if dataclasses.is_dataclass(typ) and not is_component_output:
            defaulted = {f.name for f in dataclasses.fields(typ)
                         if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING}
            for schema_name, python_name in mapping.items():
                if python_name in defaulted:
                    properties[schema_name].optional = True
        return properties, mapping


def provider(components: Optional[list[type[pulumi.ComponentResource]]] = None) -> sdk_component.ComponentProvider:
    """The component provider `serve()` runs, with the package's analyzer: its `.schema` is what
    `pulumi package add` reads (tests/test_component_package.py checks it)."""
    with _package_analyzer():
        return sdk_component.ComponentProvider(components or COMPONENTS, PACKAGE_NAME, None, __version__)


def serve() -> None:
    """Run the component provider (the plugin's entry point, `component-package/__main__.py`)."""
    from pulumi.provider.experimental import component_provider_host

    with _package_analyzer():
        component_provider_host(COMPONENTS, name=PACKAGE_NAME, version=__version__)


class _package_analyzer:
    """The component provider builds its analyzer from `component.Analyzer` when it starts; for that
    moment, that name is the package's analyzer (and the SDK's again afterwards)."""

    def __enter__(self) -> None:
        self._original = sdk_component.Analyzer
        sdk_component.Analyzer = PackageAnalyzer  # type: ignore[misc]

    def __exit__(self, *exc: object) -> None:
        sdk_component.Analyzer = self._original  # type: ignore[misc]
