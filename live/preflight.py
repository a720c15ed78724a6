"""Pre-flight: what only the subscription knows, asked read-only before `pulumi up`.

Each check reads ARM and returns problems (one line each, with what to do); a check that cannot
read what it needs reports that as a problem too, naming the permission, so one run shows everything.
The API versions below are the ones each call is documented with on Microsoft Learn's REST reference.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional

from live.arm import ArmClient, ArmError, NotFound
from isolated_mlops.components.providers import SUBSCRIPTION_FEATURES
from live.plan import Plan, SizeUse

# https://learn.microsoft.com/rest/api/resources/providers/get
PROVIDERS_API = "2021-04-01"
# https://learn.microsoft.com/rest/api/resources/features/get
FEATURES_API = "2021-07-01"
# https://learn.microsoft.com/rest/api/compute/resource-skus/list
SKUS_API = "2021-07-01"
# https://learn.microsoft.com/rest/api/compute/usage/list
COMPUTE_USAGES_API = "2024-07-01"
# https://learn.microsoft.com/rest/api/azureml/usages/list
ML_USAGES_API = "2024-04-01"
# https://learn.microsoft.com/rest/api/storagerp/storage-accounts/check-name-availability
STORAGE_API = "2023-05-01"
# https://learn.microsoft.com/rest/api/keyvault/keyvault/vaults/check-name-availability and
# .../vaults/list-deleted: a purge-protected vault holds its name until its scheduled purge date.
KEY_VAULT_API = "2023-07-01"
# https://learn.microsoft.com/rest/api/containerregistry/registries/check-name-availability
REGISTRY_API = "2023-07-01"
# https://learn.microsoft.com/rest/api/virtualnetwork/virtual-networks/list-all
NETWORK_API = "2024-05-01"
# https://learn.microsoft.com/rest/api/authorization/permissions/list-for-resource-group
PERMISSIONS_API = "2022-04-01"

ROLE_ASSIGNMENT_WRITE = "Microsoft.Authorization/roleAssignments/write"
# Encryption at host needs its subscription feature registered first (components/providers.py).
ENCRYPTION_AT_HOST = ("Microsoft.Compute", "EncryptionAtHost")
assert ENCRYPTION_AT_HOST in SUBSCRIPTION_FEATURES


@dataclass(frozen=True)
class Problem:
    check: str
    subject: str
    message: str
    fix: str

    def line(self) -> str:
        return f"{self.check}: {self.subject}: {self.message}. {self.fix}"


@dataclass
class Context:
    client: ArmClient
    subscription: str
    plan: Plan
    name_suffix: Optional[str] = None
    """The stack's random name suffix (from its state) when it has one; None for a new stack."""

    @property
    def sub(self) -> str:
        return f"/subscriptions/{self.subscription}"

    @property
    def resource_group(self) -> Optional[str]:
        return self.plan.suffixed_name("resource_group", self.name_suffix) if self.name_suffix else None


Check = Callable[[Context], Iterator[Problem]]


def _could_not(check: str, subject: str, error: ArmError) -> Problem:
    return Problem(check, subject, f"could not be checked: {error}",
                   "Grant the signed-in identity Reader on the subscription (docs/operations.md)")


# ---- providers and features -----------------------------------------------------------------
def providers(ctx: Context) -> Iterator[Problem]:
    for namespace in sorted(ctx.plan.providers):
        try:
            state = ctx.client.get(f"{ctx.sub}/providers/{namespace}", PROVIDERS_API,
                                   "read resource providers (*/read)").get("registrationState")
        except ArmError as error:
            yield _could_not("provider", namespace, error)
            continue
        if state != "Registered":
            yield Problem("provider", namespace, f"is {state or 'not registered'} in this subscription",
                          f"Run: az provider register --namespace {namespace}")
    if ctx.plan.encryption_at_host:
        namespace, feature = ENCRYPTION_AT_HOST
        try:
            state = ctx.client.get(f"{ctx.sub}/providers/Microsoft.Features/providers/{namespace}/features/{feature}",
                                   FEATURES_API, "read features (Microsoft.Features/features/read)"
                                   ).get("properties", {}).get("state")
        except ArmError as error:
            yield _could_not("feature", f"{namespace}/{feature}", error)
            return
        if state != "Registered":
            yield Problem("feature", f"{namespace}/{feature}",
                          f"is {state or 'not registered'}: VMs with encryption at host cannot be created",
                          f"Run: az feature register --namespace {namespace} --name {feature}, wait for "
                          f"'Registered', then az provider register --namespace {namespace}")


# ---- VM sizes: offered, not restricted, and within quota ---------------------------------------
def _skus(ctx: Context) -> dict[str, Mapping[str, Any]]:
    found = ctx.client.list(f"{ctx.sub}/providers/Microsoft.Compute/skus", SKUS_API,
                            "list VM sizes (Microsoft.Compute/skus/read)",
                            **{"$filter": f"location eq '{ctx.plan.location}'"})
    return {s["name"].lower(): s for s in found if s.get("resourceType") == "virtualMachines"}


def _vcpus(sku: Mapping[str, Any]) -> int:
    for capability in sku.get("capabilities", []):
        if capability.get("name") == "vCPUs":
            return int(capability.get("value", 0))
    return 0


def _restriction(sku: Mapping[str, Any], location: str) -> Optional[str]:
    """Why this subscription may not create the size in the region (zone restrictions aside: the
    platform pins no zone)."""
    for r in sku.get("restrictions", []):
        if r.get("type") == "Location" and location.lower() in [v.lower() for v in r.get("values", [])]:
            return r.get("reasonCode", "restricted")
    return None


def _size_subject(use: SizeUse) -> str:
    return f"{'cluster' if use.cluster else 'VM'} {use.owner} ({use.size})"


def vm_sizes(ctx: Context) -> Iterator[Problem]:
    try:
        skus = _skus(ctx)
    except ArmError as error:
        yield _could_not("vm-size", ctx.plan.location, error)
        return
    for use in ctx.plan.sizes:
        sku = skus.get(str(use.size).lower())
        if sku is None:
            yield Problem("vm-size", _size_subject(use), f"is not offered in {ctx.plan.location}",
                          "Choose a size the region offers (az vm list-skus --location "
                          f"{ctx.plan.location} --resource-type virtualMachines) or another location")
            continue
        reason = _restriction(sku, ctx.plan.location)
        if reason:
            # SkuNotAvailable: https://learn.microsoft.com/troubleshoot/azure/azure-resource-manager/error-sku-not-available
            yield Problem("vm-size", _size_subject(use),
                          f"is restricted for this subscription in {ctx.plan.location} ({reason})",
                          "Request access with a support request, or choose another size or region")
    yield from _quota(ctx, skus)


def _normal(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _usage_left(usage: Mapping[str, Any]) -> Optional[int]:
    limit = int(usage.get("limit", 0))
    return None if limit < 0 else limit - int(usage.get("currentValue", 0))


def _quota(ctx: Context, skus: Mapping[str, Mapping[str, Any]]) -> Iterator[Problem]:
    """AmlCompute draws on Azure ML's own quota, per VM family and dedicated/low priority; VMs on the
    subscription's regional vCPU quota. https://learn.microsoft.com/azure/machine-learning/how-to-manage-quotas"""
    cluster_need: dict[tuple[str, bool], int] = defaultdict(int)
    vm_need: dict[str, int] = defaultdict(int)
    family_of: dict[str, str] = {}
    for use in ctx.plan.sizes:
        sku = skus.get(str(use.size).lower())
        if sku is None or _restriction(sku, ctx.plan.location):
            continue
        family = sku.get("family", "")
        family_of[_normal(family)] = family
        if use.cluster:
            cluster_need[(family, use.low_priority)] += use.instances * _vcpus(sku)
        else:
            vm_need[family] += use.instances * _vcpus(sku)

    if cluster_need:
        try:
            usages = list(ctx.client.list(
                f"{ctx.sub}/providers/Microsoft.MachineLearningServices/locations/{ctx.plan.location}/usages",
                ML_USAGES_API, "read Azure ML quota (Microsoft.MachineLearningServices/locations/usages/read)"))
        except ArmError as error:
            yield _could_not("ml-quota", ctx.plan.location, error)
            usages = []
        # The list also carries per-workspace and per-cluster usages under the same names: only the
        # subscription's regional entries are the quota.
        regional = [u for u in usages if "/workspace" not in u.get("type", "").lower()]
        by_name = {_normal(u.get("name", {}).get("value", "")): u for u in regional}
        for priority, total_name in ((False, "Total Cluster Dedicated Regional vCPUs"),
                                     (True, "Total Cluster LowPriority Regional vCPUs")):
            kind = "low-priority" if priority else "dedicated"
            need = sum(n for (_, low), n in cluster_need.items() if low == priority)
            total = by_name.get(_normal(total_name))
            left = _usage_left(total) if total else None
            if usages and need and left is not None and need > left:
                yield Problem("ml-quota", f"{kind} cluster vCPUs in {ctx.plan.location}",
                              f"the clusters may scale to {need} vCPUs, {left} are left of the regional limit",
                              "Request more Azure ML quota (Studio > Quota) or lower maxNodes")
        for (family, low), need in sorted(cluster_need.items()):
            family_key = _normal(family).removesuffix("family")
            usage_name = f"{family_key}familycluster{'lowpriority' if low else 'dedicated'}vcpus"
            usage = by_name.get(usage_name)
            left = _usage_left(usage) if usage else None
            if usages and usage is None and not low:
                yield Problem("ml-quota", family, f"has no Azure ML quota entry in {ctx.plan.location}",
                              "Request Azure ML quota for this VM family")
            elif left is not None and need > left:
                yield Problem("ml-quota", f"{family} ({'low priority' if low else 'dedicated'})",
                              f"the clusters may scale to {need} vCPUs, {left} are left",
                              "Request more Azure ML quota for this family, or lower maxNodes")

    if vm_need:
        try:
            usages = list(ctx.client.list(f"{ctx.sub}/providers/Microsoft.Compute/locations/{ctx.plan.location}/usages",
                                          COMPUTE_USAGES_API, "read VM quota (Microsoft.Compute/locations/usages/read)"))
        except ArmError as error:
            yield _could_not("vm-quota", ctx.plan.location, error)
            return
        by_name = {_normal(u.get("name", {}).get("value", "")): u for u in usages}
        wanted = [("cores", "regional vCPUs", sum(vm_need.values()))]
        wanted += [(_normal(family), family, need) for family, need in sorted(vm_need.items())]
        for key, label, need in wanted:
            usage = by_name.get(key)
            left = _usage_left(usage) if usage else None
            if left is not None and need > left:
                yield Problem("vm-quota", f"{label} in {ctx.plan.location}",
                              f"the VMs need {need} vCPUs, {left} are left",
                              "Request a quota increase (az quota / portal: Quotas), or use smaller sizes")


# ---- globally unique names ------------------------------------------------------------------
_NAME_CHECKS = (
    # kind, provider path, API, ARM type, the action, the GET path of one resource in our group
    ("storage_account", "Microsoft.Storage", STORAGE_API, "Microsoft.Storage/storageAccounts"),
    ("key_vault", "Microsoft.KeyVault", KEY_VAULT_API, "Microsoft.KeyVault/vaults"),
    ("container_registry", "Microsoft.ContainerRegistry", REGISTRY_API, "Microsoft.ContainerRegistry/registries"),
)


def names(ctx: Context) -> Iterator[Problem]:
    deleted: list[Mapping[str, Any]] = []
    try:
        deleted = list(ctx.client.list(f"{ctx.sub}/providers/Microsoft.KeyVault/deletedVaults", KEY_VAULT_API,
                                       "list deleted vaults (Microsoft.KeyVault/deletedVaults/read)"))
    except ArmError as error:
        yield _could_not("name", "deleted Key Vaults", error)
    if ctx.name_suffix is None:
        # A new stack draws a fresh random suffix at `pulumi up`: its names cannot be taken yet.
        return
    for kind, provider, api, arm_type in _NAME_CHECKS:
        name = ctx.plan.suffixed_name(kind, ctx.name_suffix)
        try:
            answer = ctx.client.check_name(f"{ctx.sub}/providers/{provider}/checkNameAvailability", api,
                                           f"check names ({provider}/checkNameAvailability/read)",
                                           {"name": name, "type": arm_type})
        except ArmError as error:
            yield _could_not("name", name, error)
            continue
        if not answer.get("nameAvailable", False) and not _ours(ctx, arm_type, name):
            yield Problem("name", f"{kind.replace('_', ' ')} {name}",
                          f"is taken ({answer.get('reason', 'unavailable')}: {answer.get('message', '')})".rstrip(": )") + ")",
                          "The name suffix is kept in state: a new stack gets a new one; otherwise change namePrefix")
    key_vault = ctx.plan.suffixed_name("key_vault", ctx.name_suffix)
    for vault in deleted:
        if vault.get("name", "").lower() == key_vault.lower():
            props = vault.get("properties", {})
            protected = props.get("purgeProtectionEnabled")
            yield Problem("name", f"key vault {key_vault}",
                          f"is soft-deleted (since {props.get('deletionDate', '?')}, purged {props.get('scheduledPurgeDate', '?')})",
                          "Recover it (az keyvault recover), or wait until the purge date" if protected else
                          "Recover it (az keyvault recover) or purge it (az keyvault purge) before pulumi up")


def _ours(ctx: Context, arm_type: str, name: str) -> bool:
    """A name taken by the stack's own resource (already deployed) is not a conflict."""
    if ctx.resource_group is None:
        return False
    try:
        ctx.client.get(f"{ctx.sub}/resourceGroups/{ctx.resource_group}/providers/{arm_type}/{name}",
                       {"Microsoft.Storage/storageAccounts": STORAGE_API, "Microsoft.KeyVault/vaults": KEY_VAULT_API,
                        "Microsoft.ContainerRegistry/registries": REGISTRY_API}[arm_type], f"read {arm_type}")
        return True
    except ArmError:
        return False


# ---- address spaces -------------------------------------------------------------------------
def address_spaces(ctx: Context) -> Iterator[Problem]:
    try:
        vnets = list(ctx.client.list(f"{ctx.sub}/providers/Microsoft.Network/virtualNetworks", NETWORK_API,
                                     "list virtual networks (Microsoft.Network/virtualNetworks/read)"))
    except ArmError as error:
        yield _could_not("address-space", "virtual networks", error)
        return
    own_group = (ctx.resource_group or "").lower()
    for vnet_name, prefix, key in ctx.plan.address_spaces:
        mine = ipaddress.ip_network(prefix, strict=False)
        for other in vnets:
            group = _segment(other.get("id", ""), "resourceGroups")
            if own_group and group.lower() == own_group and other.get("name", "").lower() == vnet_name.lower():
                continue  # the stack's own VNet, already deployed
            for theirs in other.get("properties", {}).get("addressSpace", {}).get("addressPrefixes", []):
                if mine.overlaps(ipaddress.ip_network(theirs, strict=False)):
                    yield Problem("address-space", f"{key} {prefix}",
                                  f"overlaps {theirs} of VNet {other.get('name')} (resource group {group})",
                                  "Peered or connected networks must not overlap: choose another range in "
                                  f"Pulumi.{ctx.plan.stack}.yaml")


def _segment(resource_id: str, collection: str) -> str:
    parts = resource_id.split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower() == collection.lower():
            return parts[i + 1]
    return ""


# ---- may the deploying identity assign roles? -----------------------------------------------
def _allows(permissions: Iterable[Mapping[str, Any]], action: str) -> bool:
    def matches(patterns: Iterable[str]) -> bool:
        return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)
    return any(matches(p.get("actions", [])) and not matches(p.get("notActions", [])) for p in permissions)


def role_assignments(ctx: Context) -> Iterator[Problem]:
    if not ctx.plan.assigns_roles:
        return
    scopes = [ctx.sub]
    if ctx.resource_group:
        scopes.insert(0, f"{ctx.sub}/resourceGroups/{ctx.resource_group}")
    for scope in scopes:
        try:
            permissions = list(ctx.client.list(f"{scope}/providers/Microsoft.Authorization/permissions",
                                               PERMISSIONS_API, "read its own permissions"))
        except NotFound:
            continue  # the resource group does not exist yet: the subscription scope decides
        except ArmError as error:
            yield _could_not("role-assignment", scope, error)
            return
        if not _allows(permissions, ROLE_ASSIGNMENT_WRITE):
            # Conditions (ABAC) on the permission are not evaluated here: docs/delivery.md's condition
            # limits which roles it may assign, which this check cannot see.
            yield Problem("role-assignment", scope, f"the signed-in identity lacks {ROLE_ASSIGNMENT_WRITE}",
                          "Grant it User Access Administrator (or Role Based Access Control Administrator "
                          "with the condition in docs/delivery.md) on the subscription or resource group")
        return


CHECKS: tuple[Check, ...] = (providers, vm_sizes, names, address_spaces, role_assignments)


def run(ctx: Context, checks: Iterable[Check] = CHECKS) -> list[Problem]:
    found: list[Problem] = []
    for check in checks:
        found.extend(check(ctx))
    return found


def as_json(problems: list[Problem]) -> list[dict[str, str]]:
    return [asdict(p) for p in problems]
