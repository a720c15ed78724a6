"""Physical names: one module decides every Azure name, and checks it against Azure's limits.

Names are `<abbreviation><prefix><environment><suffix>` (with dashes where Azure allows them). The
suffix is a short random string kept in state (pulumi-random), so two stacks, or two projects with
the same prefix, never collide on the globally unique names (storage, Key Vault, registry). Because
the suffix has a fixed length and alphabet, every full name can be checked *before* anything is
created: the most-reported failure of the reference deployments is a storage name that overflows
24 characters once prefix and environment are joined. Which names a stack has is the plan's
(components/plan.py); this module knows only the templates and Azure's rules, and imports nothing of
the configuration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

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


# One template per name. {p}: prefix, {e}: environment, {s}: random suffix, {r}: role (vnet/vm purpose).
# The suffix, where there is one, ends the name (components/plan.py relies on it).
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
    "managed_identity": "id-{r}-{p}-{e}",
}
