"""Physical names: one module decides every Azure name, and checks it against Azure's limits.

Names are `<abbreviation><prefix><environment><suffix>` (with dashes where Azure allows them). The
suffix is a short random string kept in state (pulumi-random), so two stacks, or two projects with
the same prefix, never collide on the globally unique names (storage, Key Vault, registry). Because
the suffix has a fixed length and alphabet, every full name can be checked *before* anything is
created: the most-reported failure of the reference deployments is a storage name that overflows
24 characters once prefix and environment are joined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Collection, Iterator, Union

import pulumi

if TYPE_CHECKING:
    from isolated_mlops.components.config import PlatformConfig

SUFFIX_LENGTH = 5
PREFIX_PATTERN = r"[a-z][a-z0-9]{1,7}"
ENVIRONMENT_PATTERN = r"[a-z][a-z0-9]{0,9}"


@dataclass(frozen=True)
class NameRule:
    min_length: int
    max_length: int
    pattern: str
    help: str


# Azure's limits (Microsoft Learn, "Naming rules and restrictions for Azure resources").
AZURE_NAME_RULES: dict[str, NameRule] = {
    "resource_group": NameRule(1, 90, r"[A-Za-z0-9_.()-]*[A-Za-z0-9_()-]", "letters, digits, '_', '.', '(', ')', '-'; not ending in '.'"),
    "storage_account": NameRule(3, 24, r"[a-z0-9]+", "lowercase letters and digits only"),
    "key_vault": NameRule(3, 24, r"[A-Za-z](?!.*--)[A-Za-z0-9-]*[A-Za-z0-9]", "letters, digits and '-', starting with a letter, ending with a letter or digit, no '--'"),
    "container_registry": NameRule(5, 50, r"[A-Za-z0-9]+", "letters and digits only"),
    # Microsoft.MachineLearningServices/registries: the REST API's registryName pattern is
    # `^[a-zA-Z0-9][a-zA-Z0-9\-_]{2,32}$` (Azure REST API specs: specification/machinelearningservices/
    # resource-manager/Microsoft.MachineLearningServices, registries.json, `RegistryNameParameter`;
    # resource reference: https://learn.microsoft.com/azure/templates/microsoft.machinelearningservices/registries).
    "ml_registry": NameRule(3, 33, r"[A-Za-z0-9][A-Za-z0-9_-]*", "letters, digits, '_' and '-', starting with a letter or digit"),
    "ml_workspace": NameRule(3, 33, r"[A-Za-z0-9][A-Za-z0-9_-]*", "letters, digits, '_' and '-', starting with a letter or digit"),
    # Microsoft.MachineLearningServices workspaces/computes: 2-16 alphanumerics and hyphens
    # (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftmachinelearningservices);
    # AML's own compute docs add: starting with a letter.
    "aml_compute": NameRule(2, 16, r"[A-Za-z][A-Za-z0-9-]*", "must be 2-16 letters, digits and '-', starting with a letter"),
    "log_analytics": NameRule(4, 63, r"[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]", "letters, digits and '-', starting and ending alphanumeric"),
    "app_insights": NameRule(1, 255, r"[^%&\\?/]+", "no %, &, \\, ? or /"),
    "virtual_network": NameRule(2, 64, r"[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9_]", "letters, digits, '_', '.', '-'"),
    "bastion": NameRule(1, 80, r"[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9_]", "letters, digits, '_', '.', '-'"),
    # Linux host names derive from the VM name: 64 characters, no dots or underscores.
    "linux_vm": NameRule(1, 64, r"[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]", "letters, digits and '-' (it is also the host name)"),
}


def rule(kind: str) -> NameRule:
    return AZURE_NAME_RULES[kind]


def violation(kind: str, name: str) -> Union[str, None]:
    """Why `name` is not a valid `kind` name in Azure, or None if it is."""
    r = AZURE_NAME_RULES[kind]
    if not r.min_length <= len(name) <= r.max_length:
        return f"{name!r} is {len(name)} characters; Azure allows {r.min_length}-{r.max_length} for a {kind.replace('_', ' ')}"
    if not re.fullmatch(r.pattern, name):
        return f"{name!r} is not a valid {kind.replace('_', ' ')} name: {r.help}"
    return None


class ResourceNames:
    """Every physical name in one stack. `suffix` is the random, state-kept suffix (an Output)."""

    def __init__(self, prefix: str, environment: str, suffix: pulumi.Input[str]):
        self.prefix = prefix
        self.environment = environment
        self.suffix = pulumi.Output.from_input(suffix)

    # Globally unique (or subscription-wide) names carry the random suffix.
    def _suffixed(self, template: str) -> pulumi.Output[str]:
        return self.suffix.apply(lambda s: template.format(p=self.prefix, e=self.environment, s=s))

    @property
    def resource_group(self) -> pulumi.Output[str]:
        return self._suffixed(TEMPLATES["resource_group"])

    @property
    def storage_account(self) -> pulumi.Output[str]:
        return self._suffixed(TEMPLATES["storage_account"])

    @property
    def key_vault(self) -> pulumi.Output[str]:
        return self._suffixed(TEMPLATES["key_vault"])

    @property
    def container_registry(self) -> pulumi.Output[str]:
        return self._suffixed(TEMPLATES["container_registry"])

    @property
    def ml_registry(self) -> pulumi.Output[str]:
        return self._suffixed(TEMPLATES["ml_registry"])

    # Names scoped by the resource group need no suffix.
    def plain(self, kind: str, role: str = "") -> str:
        return TEMPLATES[kind].format(p=self.prefix, e=self.environment, r=role, s="")


# One template per name. {p}: prefix, {e}: environment, {s}: random suffix, {r}: role (vnet/vm purpose).
TEMPLATES: dict[str, str] = {
    "resource_group": "rg-{p}-{e}-{s}",
    "storage_account": "st{p}{e}{s}",
    "key_vault": "kv-{p}-{e}-{s}",
    "container_registry": "cr{p}{e}{s}",
    "ml_workspace": "mlw-{p}-{e}",
    # Suffixed: a registry's name is part of its region-wide discovery URL
    # (`<region>.api.azureml.ms/registrymanagement/v1.0/registries/<name>`), so not only group-scoped.
    "ml_registry": "mlr-{p}-{e}-{s}",
    "log_analytics": "log-{p}-{e}",
    "app_insights": "appi-{p}-{e}",
    "private_link_scope": "ampls-{p}-{e}",
    "data_collection_endpoint": "dce-{p}-{e}",
    "data_collection_rule": "dcr-{r}-{p}-{e}",
    "action_group": "ag-{r}-{p}-{e}",
    "alert_rule": "alert-{p}-{e}",
    "virtual_network": "vnet-{r}-{p}-{e}",
    "bastion": "bas-{p}-{e}",
    "linux_vm": "vm-{r}-{p}-{e}",
}

# Roles that fill {r}; the longest agent index is checked with the configured maximum count.
VNET_ROLES = ("aml", "bastion")


def agent_role(index: int) -> str:
    return f"agent{index}"


@dataclass(frozen=True)
class NameCandidate:
    """One physical name the stack will create, in its longest possible form."""

    path: str
    """The config key a user changes to fix it."""
    sources: tuple[str, ...]
    """Every config key the name is built from."""
    kind: str
    name: str
    """With the worst-case suffix: the suffix has a fixed length, so the length is exact."""
    shown: str
    """The name as a message shows it: the random suffix as `?????`."""


def _candidates(config: "PlatformConfig") -> Iterator[NameCandidate]:
    """Every name the stack will create, with the config keys it comes from."""
    def joined(kind: str, role: str = "") -> tuple[str, str]:
        parts = dict(p=config.name_prefix, e=config.environment, r=role)
        return (TEMPLATES[kind].format(s="a" * SUFFIX_LENGTH, **parts),
                TEMPLATES[kind].format(s="?" * SUFFIX_LENGTH, **parts))

    parts = ("namePrefix", "environment")
    for kind in ("resource_group", "storage_account", "key_vault", "container_registry", "ml_workspace",
                 "log_analytics", "app_insights", "bastion"):
        yield NameCandidate("namePrefix", parts, kind, *joined(kind))
    for role in VNET_ROLES:
        yield NameCandidate("namePrefix", parts, "virtual_network", *joined("virtual_network", role))
    yield NameCandidate("namePrefix", parts, "linux_vm", *joined("linux_vm", "jump"))
    if config.model_registry.create:
        yield NameCandidate("namePrefix", parts, "ml_registry", *joined("ml_registry"))
    if config.agents.count:
        yield NameCandidate("agents.count", (*parts, "agents.count"), "linux_vm",
                            *joined("linux_vm", agent_role(config.agents.count - 1)))
    for index, cluster in enumerate(config.compute_clusters):
        path = f"computeClusters[{index}].name"
        yield NameCandidate(path, (path,), "aml_compute", cluster.name, cluster.name)


def check_names(config: "PlatformConfig", skip: Collection[str] = (),
                hidden: Collection[str] = ()) -> list[tuple[str, str]]:
    """Every (key path, problem) for names that Azure would refuse, before anything is created.

    skip: config keys already reported invalid; names built from them are not checked again.
    hidden: secret config keys; a name built from one is not shown.
    """
    problems = []
    for c in _candidates(config):
        if set(c.sources) & set(skip):
            continue
        r = AZURE_NAME_RULES[c.kind]
        kind = c.kind.replace("_", " ")
        secret = bool(set(c.sources) & set(hidden))
        shown = "" if secret else f" {c.shown!r}"
        origin = ""
        if "namePrefix" in c.sources:
            built = ("namePrefix and environment" if secret
                     else f"namePrefix {config.name_prefix!r} and environment {config.environment!r}")
            suffix = f" with the {SUFFIX_LENGTH}-character random suffix" if "{s}" in TEMPLATES[c.kind] else ""
            origin = f" (built from {built}{suffix})"
        if not r.min_length <= len(c.name) <= r.max_length:
            fix = "; shorten namePrefix or environment" if c.path == "namePrefix" else ""
            problems.append((c.path, f"the {kind} name{shown}{origin} is {len(c.name)} characters; "
                             f"Azure allows {r.min_length}-{r.max_length}{fix}"))
        elif not re.fullmatch(r.pattern, c.name):
            problems.append((c.path, f"the {kind} name{shown}{origin} is not valid: {r.help}"))
    return problems
