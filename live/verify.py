"""Post-deploy verification, run from inside the platform (the jump host or an agent).

After `pulumi up`, nothing the program declared proves the platform is private and working. These
checks read Azure back (read-only) and resolve names from the VM they run on:
- every private endpoint's connection is Approved, and the stack has every endpoint it declares;
- every A record in the stack's private DNS zones resolves, from this VM, to its endpoint's private
  IP: the public name a client uses CNAMEs into the privatelink zone
  (https://learn.microsoft.com/azure/private-link/private-endpoint-dns);
- public network access on the workspace, storage, Key Vault, registry, Log Analytics and App
  Insights is what the program declares, as Azure reports it (Disabled; for the default storage,
  Enabled with a firewall that denies every network, so that the workspace's resource-instance rule
  and trusted services still reach it);
- the workspace's default datastores exist: creating a workspace registers its storage account's
  blob container and file share as `workspaceblobstore` and `workspacefilestore`
  (https://learn.microsoft.com/azure/machine-learning/how-to-datastore).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional

from isolated_mlops.components.catalogue import (
    APP_INSIGHTS, CATALOGUE, KEY_VAULT, LOG_ANALYTICS, PRIVATE_ENDPOINT, REGISTRY, STORAGE, WORKSPACE,
)
from live.arm import ArmClient, ArmError
from live.preflight import NETWORK_API, Problem, _could_not
from offline.engine import StackRun

# https://learn.microsoft.com/rest/api/dns/privatednszones/record-sets/list-by-type
PRIVATE_DNS_API = "2024-06-01"
# https://learn.microsoft.com/rest/api/resources/resources/list-by-resource-group
RESOURCES_API = "2021-04-01"
# https://learn.microsoft.com/rest/api/azureml/datastores/list
ML_API = "2024-04-01"
DEFAULT_DATASTORES = ("workspaceblobstore", "workspacefilestore")

# What each private resource reports about public access, and the API version to read it with.
# (ARM type, API version, properties read, the azure-native type whose inputs declare them)
# The ARM type comes from the package's catalogue.
def _access(token: str, api: str, props: tuple[str, ...]) -> tuple[str, str, tuple[str, ...], str]:
    return CATALOGUE[token].arm_type, api, props, token


_MONITOR_SWITCHES = ("publicNetworkAccessForIngestion", "publicNetworkAccessForQuery")
PUBLIC_ACCESS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    # https://learn.microsoft.com/rest/api/azureml/workspaces/get
    _access(WORKSPACE, ML_API, ("publicNetworkAccess",)),
    # https://learn.microsoft.com/rest/api/storagerp/storage-accounts/get-properties
    _access(STORAGE, "2023-05-01", ("publicNetworkAccess",)),
    # https://learn.microsoft.com/rest/api/keyvault/keyvault/vaults/get
    _access(KEY_VAULT, "2023-07-01", ("publicNetworkAccess",)),
    # https://learn.microsoft.com/rest/api/containerregistry/registries/get
    _access(REGISTRY, "2023-07-01", ("publicNetworkAccess",)),
    # https://learn.microsoft.com/rest/api/loganalytics/workspaces/get
    _access(LOG_ANALYTICS, "2023-09-01", _MONITOR_SWITCHES),
    # https://learn.microsoft.com/rest/api/application-insights/components/get
    _access(APP_INSIGHTS, "2020-02-02", _MONITOR_SWITCHES),
)

Resolver = Callable[[str], list[str]]


def resolve_ipv4(host: str) -> list[str]:
    """The IPv4 addresses this machine's resolver gives for `host` (empty if it does not resolve)."""
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, 443, socket.AF_INET, socket.SOCK_STREAM)})
    except socket.gaierror:
        return []


@dataclass
class Target:
    client: ArmClient
    subscription: str
    resource_group: str
    run: StackRun
    """The program's registrations for this stack: what Azure should now hold."""
    resolve: Resolver = resolve_ipv4

    @property
    def group(self) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"


def private_endpoints(t: Target) -> Iterator[Problem]:
    try:
        endpoints = list(t.client.list(f"{t.group}/providers/Microsoft.Network/privateEndpoints", NETWORK_API,
                                       "read private endpoints (Microsoft.Network/privateEndpoints/read)"))
    except ArmError as error:
        yield _could_not("private-endpoint", t.resource_group, error)
        return
    declared = len(t.run.of_type(PRIVATE_ENDPOINT))
    if len(endpoints) < declared:
        yield Problem("private-endpoint", t.resource_group,
                      f"{len(endpoints)} private endpoints exist, the stack declares {declared}",
                      "Run pulumi up again and read its errors")
    for endpoint in endpoints:
        props = endpoint.get("properties", {})
        connections = (props.get("privateLinkServiceConnections", [])
                       + props.get("manualPrivateLinkServiceConnections", []))
        for connection in connections:
            state = connection.get("properties", {}).get("privateLinkServiceConnectionState", {})
            if state.get("status") != "Approved":
                yield Problem("private-endpoint", endpoint.get("name", "?"),
                              f"connection {connection.get('name', '?')} is {state.get('status', 'unknown')}"
                              + (f" ({state['description']})" if state.get("description") else ""),
                              "Approve it on the target resource's Networking > Private endpoint connections")


def _public_name(record: str, zone: str) -> str:
    """`st1.privatelink.blob.core.windows.net` is what `st1.blob.core.windows.net` CNAMEs to; clients
    ask for the public name, so that is the one to resolve."""
    public_zone = zone[len("privatelink."):] if zone.startswith("privatelink.") else zone
    return f"{record}.{public_zone}" if record != "@" else public_zone


def dns(t: Target) -> Iterator[Problem]:
    try:
        zones = list(t.client.list(f"{t.group}/providers/Microsoft.Network/privateDnsZones", PRIVATE_DNS_API,
                                   "read private DNS zones (Microsoft.Network/privateDnsZones/read)"))
    except ArmError as error:
        yield _could_not("dns", t.resource_group, error)
        return
    for zone in zones:
        zone_name = zone.get("name", "")
        try:
            records = list(t.client.list(f"{t.group}/providers/Microsoft.Network/privateDnsZones/{zone_name}/A",
                                         PRIVATE_DNS_API, "read DNS records (Microsoft.Network/privateDnsZones/A/read)"))
        except ArmError as error:
            yield _could_not("dns", zone_name, error)
            continue
        for record in records:
            name = record.get("name", "")
            if "*" in name:
                continue  # wildcard records (online endpoints) have no one name to resolve
            expected = sorted(a.get("ipv4Address", "") for a in record.get("properties", {}).get("aRecords", []))
            host = _public_name(name, zone_name)
            got = t.resolve(host)
            if not got:
                yield Problem("dns", host, "does not resolve from this VM",
                              f"Link {zone_name} to this VM's VNet (the zone-linked-to-every-vnet rule)")
            elif not set(got) & set(expected):
                yield Problem("dns", host, f"resolves to {', '.join(got)}, not to its private endpoint "
                              f"({', '.join(expected)})",
                              f"Link {zone_name} to this VM's VNet, and check the VNet's DNS servers forward to Azure DNS")


def _declared(run: StackRun, type_token: str, prop: str) -> Optional[str]:
    for r in run.of_type(type_token):
        # Key Vault's inputs nest them under `properties`, as its ARM body does.
        value = r.input(prop, r.input(f"properties.{prop}"))
        return str(value) if value is not None else None
    return None


def public_access(t: Target) -> Iterator[Problem]:
    try:
        resources = list(t.client.list(f"{t.group}/resources", RESOURCES_API,
                                       "list the resource group (Microsoft.Resources/subscriptions/resourceGroups/read)"))
    except ArmError as error:
        yield _could_not("public-access", t.resource_group, error)
        return
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    for r in resources:
        by_type.setdefault(r.get("type", "").lower(), []).append(r)
    for arm_type, api, props, token in PUBLIC_ACCESS:
        if not t.run.of_type(token):
            continue
        found = by_type.get(arm_type.lower(), [])
        if not found:
            yield Problem("public-access", arm_type, "is declared by the stack but not in the resource group",
                          "Run pulumi up again and read its errors")
            continue
        for resource in found:
            try:
                actual = t.client.get(resource["id"], api, f"read {arm_type}").get("properties", {})
            except ArmError as error:
                yield _could_not("public-access", resource.get("name", arm_type), error)
                continue
            for prop in props:
                # Azure's default when unset is Enabled for every type here: an absent value is open.
                declared = _declared(t.run, token, prop) or "Disabled"
                value = actual.get(prop) or "Enabled"
                if value != declared:
                    yield Problem("public-access", f"{resource.get('name')} {prop}",
                                  f"is {value} in Azure; the stack declares {declared}",
                                  "Someone changed it outside Pulumi: run pulumi up (or pulumi refresh to see the drift)")
            if arm_type == STORAGE_ACCOUNTS and (actual.get("publicNetworkAccess") or "Enabled") == "Enabled":
                yield from _storage_firewall(str(resource.get("name")), actual.get("networkAcls") or {})


STORAGE_ACCOUNTS = CATALOGUE[STORAGE].arm_type


def _storage_firewall(name: str, acls: Mapping[str, Any]) -> Iterator[Problem]:
    """The default storage stays reachable by the workspace (a resource-instance rule) and trusted
    services only: public network access Enabled, but the firewall denies every network
    (https://learn.microsoft.com/azure/machine-learning/how-to-secure-workspace-vnet#secure-azure-storage-accounts).
    ARM reports the firewall as `networkAcls` (azure-native's `networkRuleSet`)."""
    if acls.get("defaultAction", "Allow") != "Deny":
        yield Problem("public-access", f"{name} networkAcls.defaultAction",
                      f"is {acls.get('defaultAction', 'Allow')} in Azure: every network reaches the account",
                      "Set it back to Deny with pulumi up; someone opened the firewall outside Pulumi")
    for kind in ("ipRules", "virtualNetworkRules"):
        if acls.get(kind):
            yield Problem("public-access", f"{name} networkAcls.{kind}",
                          f"admits {len(acls[kind])} network(s) the stack does not declare",
                          "Remove them (pulumi up restores the declared firewall)")


def datastores(t: Target) -> Iterator[Problem]:
    for workspace in t.run.of_type(WORKSPACE):
        name = workspace.input("workspaceName")
        path = f"{t.group}/providers/Microsoft.MachineLearningServices/workspaces/{name}/datastores"
        try:
            found = {d.get("name") for d in t.client.list(path, ML_API,
                                                          "read datastores (Microsoft.MachineLearningServices/workspaces/datastores/read)")}
        except ArmError as error:
            yield _could_not("datastore", str(name), error)
            continue
        for missing in [d for d in DEFAULT_DATASTORES if d not in found]:
            yield Problem("datastore", f"{name}/{missing}", "does not exist",
                          "The workspace could not reach its storage at creation: check the storage account's "
                          "private endpoints and network rules, then recreate the datastore (az ml datastore create)")


CHECKS: tuple[Callable[[Target], Iterator[Problem]], ...] = (private_endpoints, dns, public_access, datastores)


def run(target: Target, checks: Iterable[Callable[[Target], Iterator[Problem]]] = CHECKS) -> list[Problem]:
    found: list[Problem] = []
    for check in checks:
        found.extend(check(target))
    return found
