"""Rules on Azure ML compute and the workspace's wiring to it: private clusters, closed compute subnets,
image build, storage and registry access, and protection of what holds state."""

from __future__ import annotations

from typing import Iterator, Mapping, Sequence

from isolated_mlops.components.roles import ACR_PULL, READER
from isolated_mlops.policy.rules.base import (
    COMPUTE, IDENTITY, NSG, PRIVATE_ENDPOINT, REGISTRY, ROLE_ASSIGNMENT, ResourceView, STATEFUL_TYPES, STORAGE,
    UNKNOWN, WORKSPACE, resource_rule, rule,
)
from isolated_mlops.policy.rules.sources import (
    ACR_WITHOUT_ADMIN, DOC_ML_FIREWALL, DOC_ML_NO_PUBLIC_IP, DOC_ML_SECURE_TRAINING, DOC_ML_SECURE_WORKSPACE_ACR,
    DOC_PULUMI_PROTECT, SECURE_WORKSPACE_VNET, STORAGE_RESOURCE_INSTANCES, STUDIO_IN_VNET,
)
from isolated_mlops.policy.rules.helpers import (
    _by_urn, _differs, _eq, _find_subnet, _group_ids, _list, _not_exactly, _of_type, _resolve, _same,
    _security_rules, _unset, _vnet_of_subnet_id, arm_segment, endpoints_targeting, open_admin_ports, physical_name,
)
from isolated_mlops.policy.rules.workspace import _no_identity


@resource_rule("aml-compute-private", "AmlCompute: no node public IP, in a subnet, SSH port closed, scales to 0, "
               "managed identity.", COMPUTE,
               sources=(DOC_ML_SECURE_TRAINING, DOC_ML_NO_PUBLIC_IP))
def _compute(r: ResourceView) -> Iterator[str]:
    if not _eq(r.prop("properties.computeType"), "AmlCompute"):
        return
    base = "properties.properties."
    if _not_exactly(r.prop(base + "enableNodePublicIp"), False):
        yield "set enableNodePublicIp to false"
    if _unset(r.prop(base + "subnet.id")):
        yield "set subnet: no-public-IP compute must live in the training subnet"
    if _differs(r.prop(base + "remoteLoginPortPublicAccess"), "Disabled"):
        yield "set remoteLoginPortPublicAccess to 'Disabled'"
    # Azure's default minimum is 0; only an explicit other value keeps idle nodes running.
    min_nodes = r.prop(base + "scaleSettings.minNodeCount")
    if min_nodes is not None and min_nodes is not UNKNOWN and min_nodes not in (0, 0.0):
        yield f"scaleSettings.minNodeCount is {min_nodes!r}; set 0 so idle clusters scale to zero"
    if _no_identity(r):
        yield "give the cluster a managed identity"


@rule("compute-subnet-closed", "No-public-IP compute sits in a subnet declared in this stack, which has a "
      "network security group that opens no admin port to the internet.",
      sources=(DOC_ML_SECURE_TRAINING, DOC_ML_FIREWALL))
def _compute_subnet(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    for c in _of_type(resources, COMPUTE):
        if c.prop("properties.properties.enableNodePublicIp") is not False:
            continue  # aml-compute-private reports public nodes
        subnet_id = c.prop("properties.properties.subnet.id")
        subnet_name = arm_segment(subnet_id, "subnets")
        vnet = _vnet_of_subnet_id(resources, c, "properties", subnet_id) if subnet_name else None
        if vnet is None or subnet_name is None:
            continue  # not known yet, or a VNet outside this stack: nothing to prove
        vnet_name = physical_name(vnet)
        subnet = _find_subnet(resources, vnet, subnet_name)
        if subnet is None:
            yield c.urn, f"subnet {subnet_name!r} is not declared in VNet {vnet_name!r}: fix the subnet id"
            continue
        nsg_ref = subnet.get("networkSecurityGroup")
        if nsg_ref is UNKNOWN:
            continue
        nsg_id = nsg_ref.get("id") if isinstance(nsg_ref, Mapping) else None
        if _unset(nsg_id):
            yield c.urn, f"its subnet {subnet_name!r} has no network security group: attach one"
            continue
        for nsg in [n for n in _of_type(resources, NSG) if _same(n.id, nsg_id)]:
            ports = sorted({p for rule_props in _security_rules(resources, nsg) for p in open_admin_ports(rule_props)})
            if ports:
                yield c.urn, f"its subnet's NSG opens port(s) {ports} to the internet: close them"


@rule("compute-after-workspace-private-endpoint", "No-public-IP compute is created only after the workspace's "
      "private endpoint exists (Azure refuses it before).",
      sources=(DOC_ML_SECURE_TRAINING,))
def _compute_order(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    workspace_endpoints = {pe.urn for pe in _of_type(resources, PRIVATE_ENDPOINT) if "amlworkspace" in _group_ids(pe)}
    for c in _of_type(resources, COMPUTE):
        if c.prop("properties.properties.enableNodePublicIp") is False and not workspace_endpoints.intersection(c.dependencies):
            yield c.urn, "add depends_on the workspace's private endpoint: Azure rejects no-public-IP compute created first"


@rule("image-build-compute-exists", "The workspace's imageBuildCompute names a cluster this stack creates.",
      sources=(DOC_ML_SECURE_WORKSPACE_ACR,))
def _image_build(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    names = [physical_name(c) for c in _of_type(resources, COMPUTE)]
    if any(not isinstance(n, str) for n in names):
        return  # a cluster name not known yet could be the one
    clusters = {n.lower(): n for n in names}
    for ws in _of_type(resources, WORKSPACE):
        name = ws.prop("imageBuildCompute")
        if isinstance(name, str) and name and name.lower() not in clusters:
            yield ws.urn, f"imageBuildCompute {name!r} is not a cluster of this stack ({', '.join(sorted(clusters.values())) or 'none'})"


def _role_grants(resources: Sequence[ResourceView], role_id: str, holders: set[str], scope_urn: str) -> bool:
    """Is there an assignment of `role_id` to one of `holders` (URNs whose principal id it takes) at
    the resource `scope_urn`? A role id not known yet counts: nothing can be proved about it."""
    for a in _of_type(resources, ROLE_ASSIGNMENT):
        role = a.prop("roleDefinitionId")
        role_matches = role is UNKNOWN or (isinstance(role, str) and role.rstrip("/").lower().endswith(role_id))
        if role_matches and holders.intersection(a.refs("principalId")) and scope_urn in a.refs("scope"):
            return True
    return False


@rule("storage-admits-its-workspace", "The workspace's default storage admits the workspace through its firewall: "
      "public network access from selected networks (not Disabled, which turns every exception off) with a "
      "resource instance rule for the workspace.",
      sources=[f"{SECURE_WORKSPACE_VNET}#secure-azure-storage-accounts", STORAGE_RESOURCE_INSTANCES])
def _storage_admits_workspace(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    for ws in _of_type(resources, WORKSPACE):
        name = physical_name(ws)
        for st in _resolve(resources, ws, "storageAccount", ws.prop("storageAccount"), STORAGE):
            if _eq(st.prop("publicNetworkAccess"), "Disabled"):
                yield st.urn, ("publicNetworkAccess 'Disabled' turns off resource instance rules and trusted services, "
                               "so AML's own access to its default storage is refused; set 'Enabled' with "
                               "networkRuleSet.defaultAction 'Deny' and a resource instance rule for the workspace")
                continue
            rules = st.prop("networkRuleSet.resourceAccessRules")
            ids = [rule.get("resourceId") if isinstance(rule, Mapping) else UNKNOWN for rule in _list(rules)]
            if rules is UNKNOWN or not isinstance(name, str) or any(i is UNKNOWN for i in ids):
                continue  # not known yet: cannot prove it is missing
            suffix = f"/microsoft.machinelearningservices/workspaces/{name}".lower()
            if not any(isinstance(i, str) and i.rstrip("/").lower().endswith(suffix) for i in ids):
                yield st.urn, (f"add a networkRuleSet.resourceAccessRules entry for workspace {name!r}: the firewall "
                               "admits AML's service-side access (studio data preview, profiling) only from it")


@rule("workspace-reads-storage-endpoints", "The workspace's managed identity is Reader on each private endpoint of "
      "its default storage (studio in a virtual network).", sources=[STUDIO_IN_VNET])
def _workspace_reads_endpoints(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    for ws in _of_type(resources, WORKSPACE):
        for st in _resolve(resources, ws, "storageAccount", ws.prop("storageAccount"), STORAGE):
            for pe in endpoints_targeting(resources, st):
                if not _role_grants(resources, READER.id, {ws.urn}, pe.urn):
                    yield pe.urn, (f"grant the workspace's identity Reader ({READER.id}) on this storage endpoint: "
                                   "studio previews data through it with that identity")


@rule("compute-can-pull-images", "Every AmlCompute cluster's identity holds AcrPull on the workspace's registry "
      "(its admin user is off, so images are pulled with the identity).", sources=[ACR_WITHOUT_ADMIN])
def _compute_pulls(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    by_urn = _by_urn(resources)
    for c in _of_type(resources, COMPUTE):
        if not _eq(c.prop("properties.computeType"), "AmlCompute"):
            continue
        workspaces = [by_urn[u] for u in c.refs("workspaceName") if u in by_urn and by_urn[u].type == WORKSPACE]
        identity_type = str(c.prop("identity.type") or "")
        holders = {u for u in c.refs("identity") if u in by_urn and by_urn[u].type == IDENTITY}
        if "systemassigned" in identity_type.lower().replace(" ", "").replace(",", ""):
            holders.add(c.urn)
        for ws in workspaces:
            for registry in _resolve(resources, ws, "containerRegistry", ws.prop("containerRegistry"), REGISTRY):
                if not holders or not _role_grants(resources, ACR_PULL.id, holders, registry.urn):
                    yield c.urn, (f"grant the cluster's identity AcrPull ({ACR_PULL.id}) on the workspace's registry: "
                                  "with the admin user off, nodes pull job images with that identity")


@rule("stateful-resources-protected", "Production: the resource group, workspace, storage, Key Vault, registry, "
      "Log Analytics, its drift table and the Azure ML (model) registry are protected against deletion.",
      sources=(DOC_PULUMI_PROTECT,))
def _protected(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    for r in resources:
        if r.type in STATEFUL_TYPES and not r.protect:
            yield r.urn, "is not protected: `pulumi destroy` or a replacement would delete its data; set protect"
