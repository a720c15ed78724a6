"""Catalogue records: the Azure ML workspace, its compute and registry, and its dependencies (storage,
Key Vault, container registry), with the state backend's storage and key types (bootstrap/)."""

from __future__ import annotations

from isolated_mlops.components.catalogue.model import ASYNC, SYNC, CreateTime, ResourceType, Setting, settings

WORKSPACE = "azure-native:machinelearningservices:Workspace"
COMPUTE = "azure-native:machinelearningservices:Compute"
ML_REGISTRY = "azure-native:machinelearningservices:Registry"
STORAGE = "azure-native:storage:StorageAccount"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
BLOB_CONTAINER = "azure-native:storage:BlobContainer"
KEY_VAULT = "azure-native:keyvault:Vault"
KEY_VAULT_SECRET = "azure-native:keyvault:Secret"
KEY_VAULT_KEY = "azure-native:keyvault:Key"
REGISTRY = "azure-native:containerregistry:Registry"

_ML = "Microsoft.MachineLearningServices"
_STORAGE = "Microsoft.Storage/storageAccounts"
_KV = "Microsoft.KeyVault/vaults"

ENTRIES = (
    # HBI can be set only when a workspace is created: changing it means a new workspace
    # (https://learn.microsoft.com/azure/machine-learning/concept-data-encryption#encryption-at-rest).
    ResourceType(
        WORKSPACE, f"{_ML}/workspaces", "workspaceName",
        CreateTime(120, "estimate", f"{ASYNC}; wires up storage, Key Vault, registry and Application Insights"),
        replace_on=("hbiWorkspace",), stateful=True,
        key_settings=(*settings("publicNetworkAccess", "managedNetwork.isolationMode"), Setting("sku.name", "sku"),
                      Setting("imageBuildCompute")),
        sources=("https://learn.microsoft.com/azure/machine-learning/concept-data-encryption#encryption-at-rest",)),
    ResourceType(
        COMPUTE, f"{_ML}/workspaces/{{workspaceName}}/computes", "computeName",
        CreateTime(90, "estimate", f"{ASYNC}; an empty AmlCompute cluster in a VNet (0 nodes)"),
        key_settings=(
            *settings("properties.properties.enableNodePublicIp", "properties.properties.remoteLoginPortPublicAccess",
                      "properties.properties.vmSize", "properties.properties.vmPriority"),
            Setting("properties.properties.scaleSettings.minNodeCount", "minNodes"),
            Setting("properties.properties.scaleSettings.maxNodeCount", "maxNodes"),
            Setting("properties.properties.subnet.id", "subnet", True))),
    # The model registry holds the promoted models.
    ResourceType(
        ML_REGISTRY, f"{_ML}/registries", "registryName",
        CreateTime(300, "estimate", f"{ASYNC}; Azure also creates the registry's storage account and Premium ACR in "
                                    "a managed resource group; not measured"),
        stateful=True),
    # allowSharedKeyAccess unset is treated as true ("The default value is null, which is equivalent to
    # true"): https://learn.microsoft.com/rest/api/storagerp/storage-accounts/create#storageaccountcreateparameters
    ResourceType(
        STORAGE, _STORAGE, "accountName", CreateTime(30, "estimate", ASYNC), stateful=True,
        key_settings=(*settings("publicNetworkAccess", "networkRuleSet.defaultAction", "allowBlobPublicAccess"),
                      Setting("allowSharedKeyAccess", azure_default="true"),
                      Setting("sku.name", "sku"), *settings("kind", "minimumTlsVersion")),
        sources=("https://learn.microsoft.com/rest/api/storagerp/storage-accounts/create#storageaccountcreateparameters",)),
    # The state backend (bootstrap/), run by the same engine.
    ResourceType(BLOB_SERVICE, f"{_STORAGE}/{{accountName}}/blobServices", "blobServicesName"),
    ResourceType(BLOB_CONTAINER, f"{_STORAGE}/{{accountName}}/blobServices/default/containers", "containerName"),
    ResourceType(
        KEY_VAULT, _KV, "vaultName", CreateTime(30, "estimate", ASYNC), stateful=True,
        key_settings=(*settings("properties.publicNetworkAccess", "properties.networkAcls.defaultAction"),
                      Setting("properties.sku.name", "sku"),
                      *settings("properties.enableRbacAuthorization", "properties.enablePurgeProtection"))),
    ResourceType(KEY_VAULT_SECRET, f"{_KV}/{{vaultName}}/secrets", "secretName",
                 CreateTime(5, "estimate", f"{SYNC} (Microsoft.KeyVault/vaults/secrets)")),
    ResourceType(KEY_VAULT_KEY, f"{_KV}/{{vaultName}}/keys", "keyName"),
    ResourceType(
        REGISTRY, "Microsoft.ContainerRegistry/registries", "registryName", CreateTime(45, "estimate", ASYNC),
        stateful=True,
        key_settings=(*settings("publicNetworkAccess", "adminUserEnabled", "anonymousPullEnabled"),
                      Setting("sku.name", "sku"))),
)
