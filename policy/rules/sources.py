"""Where Microsoft documents what the rules enforce (each rule names its `sources`; see
docs/azure-requirements.md for the paraphrase and what guards it). Checked 2026-12-01."""

from __future__ import annotations


# Microsoft Learn pages the workspace rules rest on (one place, cited by several rules).
SECURE_WORKSPACE_VNET = "https://learn.microsoft.com/azure/machine-learning/how-to-secure-workspace-vnet"
STUDIO_IN_VNET = ("https://learn.microsoft.com/azure/machine-learning/how-to-enable-studio-virtual-network"
                  "#datastore-azure-storage-account")
NETWORK_ISOLATION_V2 = "https://learn.microsoft.com/azure/machine-learning/how-to-configure-network-isolation-with-v2"
SERVERLESS_SETTINGS = ("https://learn.microsoft.com/rest/api/azureml/workspaces/create-or-update"
                       "#serverlesscomputesettings")
STORAGE_RESOURCE_INSTANCES = "https://learn.microsoft.com/azure/storage/common/storage-network-security-resource-instances"
ACR_WITHOUT_ADMIN = ("https://learn.microsoft.com/azure/machine-learning/how-to-identity-based-service-authentication"
                     "#scenario-azure-container-registry-without-admin-user")
# --------------------------------------------------------------------------------------------
# Where Microsoft documents what the rules enforce (each rule names its `sources`; see
# docs/azure-requirements.md for the paraphrase and what guards it). Checked 2026-12-01.
# --------------------------------------------------------------------------------------------
_LEARN = "https://learn.microsoft.com/azure/"
DOC_ML_PRIVATE_LINK = _LEARN + "machine-learning/how-to-configure-private-link"
DOC_ML_V2_ISOLATION = _LEARN + "machine-learning/how-to-configure-network-isolation-with-v2"
DOC_ML_SECURE_WORKSPACE_STORAGE = _LEARN + "machine-learning/how-to-secure-workspace-vnet#secure-azure-storage-accounts"
DOC_ML_SECURE_WORKSPACE_ACR = _LEARN + "machine-learning/how-to-secure-workspace-vnet#enable-azure-container-registry-acr"
DOC_ML_SECURE_TRAINING = _LEARN + "machine-learning/how-to-secure-training-vnet"
# The article has no "#compute-cluster" anchor: its no-public-IP section is this one (checked 2026-12-01).
DOC_ML_NO_PUBLIC_IP = (_LEARN + "machine-learning/how-to-secure-training-vnet"
                       "#compute-instancecluster-or-serverless-compute-with-no-public-ip")
DOC_ML_FIREWALL = _LEARN + "machine-learning/how-to-access-azureml-behind-firewall"
DOC_ML_CUSTOM_DNS = _LEARN + "machine-learning/how-to-custom-dns"
DOC_ML_BATCH_LIMITS = _LEARN + "machine-learning/how-to-secure-batch-endpoint"
DOC_STORAGE_MIN_TLS = _LEARN + "storage/common/transport-layer-security-configure-minimum-version"
DOC_STORAGE_NO_ANONYMOUS = _LEARN + "storage/blobs/anonymous-read-access-prevent"
DOC_STORAGE_NETWORK = _LEARN + "storage/common/storage-network-security"
DOC_KV_RBAC = _LEARN + "key-vault/general/rbac-guide"
DOC_KV_SOFT_DELETE = _LEARN + "key-vault/general/soft-delete-overview"
DOC_KV_NETWORK = _LEARN + "key-vault/general/network-security"
DOC_ACR_PRIVATE_LINK = _LEARN + "container-registry/container-registry-private-link"
DOC_ML_REGISTRY_ISOLATION = _LEARN + "machine-learning/how-to-registry-network-isolation"
DOC_APPI_WORKSPACE_BASED = _LEARN + "azure-monitor/app/create-workspace-resource"
DOC_MONITOR_PRIVATE_LINK = _LEARN + "azure-monitor/logs/private-link-security"
DOC_MONITOR_PRIVATE_LINK_DESIGN = _LEARN + "azure-monitor/logs/private-link-design"
DOC_PE_DNS_ZONES = _LEARN + "private-link/private-endpoint-dns"
DOC_PE_DNS_INTEGRATION = _LEARN + "private-link/private-endpoint-dns-integration"
DOC_PE_NETWORK_POLICIES = _LEARN + "private-link/disable-private-endpoint-network-policy"
DOC_PRIVATE_DNS_LINKS = _LEARN + "dns/private-dns-virtual-network-links"
DOC_NSG_OVERVIEW = _LEARN + "virtual-network/network-security-groups-overview"
DOC_BASTION_NSG = _LEARN + "bastion/bastion-nsg"
DOC_BASTION_SETTINGS = _LEARN + "bastion/configuration-settings"
DOC_BASTION_OVERVIEW = _LEARN + "bastion/bastion-overview"
DOC_VNET_PEERING = _LEARN + "virtual-network/virtual-network-manage-peering"
DOC_VNET_PEERING_REQUIREMENTS = DOC_VNET_PEERING + "#requirements-and-constraints"
DOC_VNET_SUBNETS = _LEARN + "virtual-network/virtual-network-manage-subnet"
DOC_NAT_GATEWAY = _LEARN + "nat-gateway/nat-overview"
DOC_NETWORK_BEST_PRACTICES = _LEARN + "security/fundamentals/network-best-practices"
DOC_VM_SSH_KEYS = _LEARN + "virtual-machines/linux/create-ssh-keys-detailed"
DOC_VM_CUSTOM_DATA = _LEARN + "virtual-machines/custom-data"
DOC_PULUMI_SECRETS = "https://www.pulumi.com/docs/iac/concepts/secrets/"
DOC_PULUMI_PROTECT = "https://www.pulumi.com/docs/iac/concepts/options/protect/"
