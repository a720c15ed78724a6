"""Mocks that answer the way Azure and the providers answer, where the program reads the answer.

A mock that only echoes inputs makes tests pass while checking nothing: autonamed resources come
back with `name = None` and every `resourceGroupName` that depends on them silently vanishes. So
these mocks give every resource its physical name (the name input the provider would use, or an
autoname), an ARM-shaped id, and the computed outputs the program reads (random results, identity
ids, login servers). Any invoke that is not mocked here fails loudly.
"""

from __future__ import annotations

import hashlib
from typing import Any, Optional

import pulumi

from isolated_mlops.components.catalogue import (
    AKS, CATALOGUE, CLIENT_CONFIG_INVOKE, COMPUTE, DATA_COLLECTION_ENDPOINT, DATA_COLLECTION_RULE, DIAGNOSTIC_SETTING, IDENTITY, KEY_VAULT,
    LOCK_BY_SCOPE, ML_REGISTRY, RANDOM_STRING, REGISTRY, RESOURCE_GROUP, ROLE_ASSIGNMENT, WORKSPACE,
)

SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000001"
TENANT_ID = "00000000-0000-0000-0000-0000000000aa"
CLIENT_OBJECT_ID = "00000000-0000-0000-0000-0000000000bb"

# type token -> (wire name of the input that is the resource's physical name, ARM resource type), from
# the package's catalogue (one entry per type: add a new type there). Where the provider would
# autoname, the name input is None.
RESOURCE_KINDS: dict[str, tuple[Optional[str], str]] = {
    token: (known.name_input, known.arm_type) for token, known in CATALOGUE.items()
    if known.by_stacks and not known.outside_azure}


def _stable_hex(*parts: str, length: int = 8) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _stable_guid(*parts: str) -> str:
    h = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _registry_regions(name: str, inputs: dict) -> list[dict]:
    """Azure ML answers a registry's regionDetails with the ids of the storage and ACR it created, in
    its managed resource group `azureml-rg-<registry>_<guid>` (how-to-registry-network-isolation)."""
    group = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/azureml-rg-{name}_{_stable_guid('managed', name)}"
    regions = []
    for region in inputs.get("regionDetails") or []:
        suffix = _stable_hex(name, str(region.get("location")), length=10)
        acrs = [{"systemCreatedAcrAccount": {**(a.get("systemCreatedAcrAccount") or {}), "armResourceId": {
            "resourceId": f"{group}/providers/Microsoft.ContainerRegistry/registries/{suffix}"}}}
            for a in region.get("acrDetails") or []]
        accounts = [{"systemCreatedStorageAccount": {**(a.get("systemCreatedStorageAccount") or {}), "armResourceId": {
            "resourceId": f"{group}/providers/Microsoft.Storage/storageAccounts/{suffix}"}}}
            for a in region.get("storageAccountDetails") or []]
        regions.append({**region, "acrDetails": acrs, "storageAccountDetails": accounts})
    return regions


class PlatformMocks(pulumi.runtime.Mocks):
    """Provider-like answers for every resource type and invoke this platform uses."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[Optional[str], dict]:
        inputs = dict(args.inputs)
        if not args.custom:  # component resources have no provider
            return "", {}
        if args.typ == RANDOM_STRING:
            return self._random_string(args.name, inputs)
        if args.typ not in RESOURCE_KINDS:
            raise NotImplementedError(
                f"offline mocks: no provider behaviour for {args.typ} (RESOURCE_KINDS comes from the catalogue: "
                "add the type to isolated_mlops/components/catalogue)")

        name_key, arm_type = RESOURCE_KINDS[args.typ]
        # Autonaming is provider-side: a logical name plus a random-looking suffix.
        name = inputs.get(name_key) if name_key else None
        if not name:
            name = _stable_guid(args.name) if args.typ == ROLE_ASSIGNMENT else f"{args.name}{_stable_hex(args.name)}"
        state = {**inputs, "name": name}
        identity = inputs.get("identity")
        if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
            # Inputs list identity ids; Azure answers with a map of id -> {principalId, clientId}.
            state["identity"] = {**identity, "userAssignedIdentities": {
                uid: {"principalId": _stable_guid("principal", uid), "clientId": _stable_guid("client", uid)}
                for uid in identity["userAssignedIdentities"]}}
        resource_id = self._arm_id(args.typ, arm_type, name, inputs)
        state.update(self._computed_outputs(args.typ, name, inputs, resource_id))
        return resource_id, state

    @staticmethod
    def _random_string(logical_name: str, inputs: dict) -> tuple[str, dict]:
        length = int(inputs.get("length", 8))
        alphabet = ""
        if inputs.get("lower", True):
            alphabet += "abcdefghijklmnopqrstuvwxyz"
        if inputs.get("numeric", True):
            alphabet += "0123456789"
        if inputs.get("upper", True):
            alphabet += "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        digest = hashlib.sha256(logical_name.encode()).digest()
        result = "".join(alphabet[b % len(alphabet)] for b in digest[:length])
        return f"{logical_name}-id", {**inputs, "result": result}

    @staticmethod
    def _arm_id(typ: str, arm_type: str, name: str, inputs: dict) -> str:
        if typ == RESOURCE_GROUP:
            return f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{name}"
        if typ in (ROLE_ASSIGNMENT, LOCK_BY_SCOPE):
            # Extension resources live under the resource they apply to.
            return f"{inputs.get('scope', '')}/providers/{arm_type}/{name}"
        if typ == DIAGNOSTIC_SETTING:
            return f"{inputs.get('resourceUri', '')}/providers/{arm_type}/{name}"
        # Child resource types embed their parent's name, e.g. .../virtualNetworks/{vnet}/virtualNetworkPeerings.
        path = arm_type.format(**{k: v for k, v in inputs.items() if isinstance(v, str)})
        group = inputs.get("resourceGroupName", "rg-unknown")
        return f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{group}/providers/{path}/{name}"

    @staticmethod
    def _computed_outputs(typ: str, name: str, inputs: dict, resource_id: str) -> dict[str, Any]:
        if typ == IDENTITY:
            return {"principalId": _stable_guid("principal", resource_id),
                    "clientId": _stable_guid("client", resource_id),
                    "tenantId": TENANT_ID}
        if typ == REGISTRY:
            return {"loginServer": f"{name.lower()}.azurecr.io"}
        if typ in (WORKSPACE, COMPUTE):
            identity = inputs.get("identity") or {}
            if "SystemAssigned" in str(identity.get("type", "")):
                return {"identity": {**identity, "principalId": _stable_guid("principal", resource_id),
                                     "tenantId": TENANT_ID}}
        if typ == DATA_COLLECTION_ENDPOINT:
            # Azure answers with the endpoint's ingestion URL (`<name>-<id>.<region>-1.ingest.monitor.azure.com`).
            region = inputs.get("location", "westeurope")
            return {"logsIngestion": {"endpoint": f"https://{name}-{_stable_hex(resource_id, length=4)}.{region}-1.ingest.monitor.azure.com"}}
        if typ == DATA_COLLECTION_RULE:
            return {"immutableId": f"dcr-{_stable_hex(resource_id, length=32)}"}
        if typ == ML_REGISTRY:
            return {"regionDetails": _registry_regions(name, inputs),
                    "identity": {**(inputs.get("identity") or {}), "principalId": _stable_guid("principal", resource_id),
                                 "tenantId": TENANT_ID}}
        if typ == AKS:
            # AKS creates the kubelet identity in the node resource group (MC_<group>_<cluster>_<region>) and
            # answers with it under identityProfile.kubeletidentity; a private cluster reports its private FQDN.
            node_group = f"MC_{inputs.get('resourceGroupName')}_{name}_{inputs.get('location')}"
            kubelet = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{node_group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}-agentpool"
            return {"identityProfile": {"kubeletidentity": {"resourceId": kubelet, "objectId": _stable_guid("principal", kubelet),
                                                            "clientId": _stable_guid("client", kubelet)}},
                    "nodeResourceGroup": node_group,
                    "privateFQDN": f"{inputs.get('dnsPrefix', name)}-{_stable_hex(resource_id)}.privatelink.{inputs.get('location')}.azmk8s.io"}
        if typ == KEY_VAULT:
            return {"properties": {**inputs.get("properties", {}), "vaultUri": f"https://{name}.vault.azure.net/"}}
        return {}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list[tuple[str, str]]]:
        if args.token == CLIENT_CONFIG_INVOKE:
            return {
                "clientId": "00000000-0000-0000-0000-0000000000cc",
                "objectId": CLIENT_OBJECT_ID,
                "subscriptionId": SUBSCRIPTION_ID,
                "tenantId": TENANT_ID,
            }, []
        raise NotImplementedError(f"offline mocks: invoke {args.token} is not mocked; add it to offline/mocks.py")
