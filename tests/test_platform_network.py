"""The network rules: VNets, subnets, NSGs, egress, peering, private DNS, Bastion, public IPs."""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest

from isolated_mlops.components.zones import CLOUDS, storage_group_ids
from offline.engine import StackRun, stack_values
from isolated_mlops.policy import rules as R
from tests import variants
from tests.helpers import DELETE, changed, of_type, run_views, violations, without


def _vnet(run: StackRun, role: str):
    [vnet] = [r for r in run.of_type(R.VNET) if r.input("virtualNetworkName").startswith(f"vnet-{role}-")]
    return vnet


def _subnets(vnet) -> dict[str, dict]:
    return {s["name"]: s for s in vnet.input("subnets")}


# ---- VNets and subnets ----------------------------------------------------------------------
def test_two_vnets_with_the_planned_subnets(each_stack: StackRun):
    assert set(_subnets(_vnet(each_stack, "aml"))) == {"snet-private-endpoints", "snet-training", "snet-scoring"}
    assert set(_subnets(_vnet(each_stack, "bastion"))) == {"AzureBastionSubnet", "snet-jump-host", "snet-agents"}


def test_subnets_inside_their_vnet_and_not_overlapping(each_stack: StackRun):
    assert violations(each_stack, "address-spaces") == []
    for role in ("aml", "bastion"):
        vnet = _vnet(each_stack, role)
        [space] = [ipaddress.IPv4Network(p) for p in vnet.input("addressSpace.addressPrefixes")]
        nets = [ipaddress.IPv4Network(s["addressPrefix"]) for s in vnet.input("subnets")]
        assert all(n.subnet_of(space) for n in nets)
        assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])


def test_address_space_check_catches_overlap_and_escape(prod: StackRun):
    base = run_views(prod)
    is_aml = lambda r: r.type == R.VNET and r.props["virtualNetworkName"].startswith("vnet-aml-")  # noqa: E731
    overlapping_vnets = changed(base, is_aml, addressSpace__addressPrefixes=["10.11.0.0/16"])
    assert any("cannot be peered" in v.message for v in violations(overlapping_vnets, "address-spaces"))

    def escape(r):
        subnets = [dict(s) for s in r.props["subnets"]]
        subnets[0]["addressPrefix"] = "192.168.0.0/24"
        subnets[1]["addressPrefix"] = subnets[2]["addressPrefix"]
        return dataclasses.replace(r, props={**r.props, "subnets": subnets})
    messages = [v.message for v in violations(changed(base, is_aml, escape), "address-spaces")]
    assert any("outside" in m for m in messages) and any("overlaps" in m for m in messages)


def test_private_endpoint_subnet_applies_its_nsg_to_the_endpoints(each_stack: StackRun):
    subnet = _subnets(_vnet(each_stack, "aml"))["snet-private-endpoints"]
    assert subnet["privateEndpointNetworkPolicies"] == "NetworkSecurityGroupEnabled"
    assert violations(each_stack, "private-endpoint-subnet-policies") == []


@pytest.mark.parametrize("value", ["Disabled", "RouteTableEnabled", DELETE])
def test_private_endpoint_subnet_check_can_fail(prod: StackRun, value):
    """With NSG policies off the endpoints ignore the subnet's NSG, so every subnet of both VNets reaches them."""
    def set_policies(r):
        subnets = [dict(s) for s in r.props["subnets"]]
        for subnet in subnets:
            subnet.pop("privateEndpointNetworkPolicies", None)
            if value is not DELETE:
                subnet["privateEndpointNetworkPolicies"] = value
        return dataclasses.replace(r, props={**r.props, "subnets": subnets})
    broken = changed(run_views(prod), lambda r: r.type == R.VNET, set_policies)
    [v] = violations(broken, "private-endpoint-subnet-policies")
    assert "snet-private-endpoints" in v.message and "NetworkSecurityGroupEnabled" in v.message


def test_no_subnet_relies_on_default_outbound_access(each_stack: StackRun):
    for vnet in each_stack.of_type(R.VNET):
        assert all(s["defaultOutboundAccess"] is False for s in vnet.input("subnets"))


# ---- NSGs ------------------------------------------------------------------------------------
def test_every_workload_subnet_has_an_nsg(each_stack: StackRun):
    nsg_ids = {r.id for r in each_stack.of_type(R.NSG)}
    for vnet in each_stack.of_type(R.VNET):
        for subnet in vnet.input("subnets"):
            if subnet["name"] == "AzureBastionSubnet":
                continue  # Bastion manages its own subnet's traffic; an NSG there needs Bastion's rule set
            assert subnet.get("networkSecurityGroup", {}).get("id") in nsg_ids, subnet["name"]


def _nsg_of(run: StackRun, vnet_role: str, subnet_name: str):
    subnet = _subnets(_vnet(run, vnet_role))[subnet_name]
    [nsg] = [n for n in run.of_type(R.NSG) if n.id == subnet["networkSecurityGroup"]["id"]]
    return nsg


def _inbound(nsg, access: str) -> list[dict]:
    return [r for r in nsg.input("securityRules") if r["direction"] == "Inbound" and r["access"] == access]


def test_ssh_only_from_bastion_subnet(each_stack: StackRun):
    bastion_prefix = _subnets(_vnet(each_stack, "bastion"))["AzureBastionSubnet"]["addressPrefix"]
    for subnet in ("snet-jump-host", "snet-agents"):
        allows = [r for r in _inbound(_nsg_of(each_stack, "bastion", subnet), "Allow")
                  if r["sourceAddressPrefix"] != "AzureLoadBalancer"]
        assert [(r["sourceAddressPrefix"], r["protocol"], r["destinationPortRange"]) for r in allows] == [
            (bastion_prefix, "Tcp", "22")], subnet
    assert violations(each_stack, "no-internet-admin-ports") == []


# Who may connect to whom, from the stack file's subnets: Bastion's subnet to the VMs on SSH; the subnets
# whose hosts use the private endpoints to the endpoints; a cluster's nodes to each other. Nothing else.
EXPECTED_INBOUND = {
    ("bastion", "snet-jump-host"): [("bastionVnet", "bastion", "22")],
    ("bastion", "snet-agents"): [("bastionVnet", "bastion", "22")],
    ("aml", "snet-private-endpoints"): [("amlVnet", "training", "*"), ("amlVnet", "scoring", "*"),
                                        ("bastionVnet", "jumpHost", "*"), ("bastionVnet", "agents", "*")],
    ("aml", "snet-training"): [("amlVnet", "training", "*")],
    ("aml", "snet-scoring"): [("amlVnet", "scoring", "*")],
}


@pytest.mark.parametrize("vnet_role, subnet", sorted(EXPECTED_INBOUND))
def test_each_subnet_accepts_only_the_subnets_that_must_connect(each_stack: StackRun, vnet_role: str, subnet: str):
    network = stack_values(each_stack.stack)["network"]
    nsg = _nsg_of(each_stack, vnet_role, subnet)
    own_prefix = _subnets(_vnet(each_stack, vnet_role))[subnet]["addressPrefix"]
    allows = [r for r in _inbound(nsg, "Allow") if r["priority"] < 4000]
    inbound = EXPECTED_INBOUND[(vnet_role, subnet)]
    if subnet == "snet-scoring" and stack_values(each_stack.stack).get("serving", {}).get("enabled"):
        # With serving on, the jump host and the agents call the models (HTTPS to the router and the
        # private API server); the SSH rules' numbering comes first (network/virtual_network.py).
        inbound = [("bastionVnet", "jumpHost", "443"), ("bastionVnet", "agents", "443"), *inbound]
    expected = [(network[vnet]["subnets"][key], port) for vnet, key, port in inbound]
    assert [(r["sourceAddressPrefix"], r["destinationPortRange"]) for r in allows] == expected
    assert all(r["destinationAddressPrefix"] == own_prefix for r in allows)
    # The same ending everywhere, ahead of Azure's AllowVnetInBound (65000).
    tail = [(r["name"], r["priority"], r["access"], r["sourceAddressPrefix"], r["destinationPortRange"], r["protocol"])
            for r in nsg.input("securityRules") if r["priority"] >= 4000]
    assert tail == [("AllowAzureLoadBalancerInbound", 4000, "Allow", "AzureLoadBalancer", "*", "*"),
                    ("DenyVnetInbound", 4095, "Deny", "VirtualNetwork", "*", "*"),
                    ("DenyInternetInbound", 4096, "Deny", "Internet", "*", "*")]
    assert violations(each_stack, "no-lateral-from-vnet") == []


def _edit_rules(name: str, edit):
    def change(r):
        return dataclasses.replace(r, props={**r.props, "securityRules": edit([dict(x) for x in r.props["securityRules"]])})
    return lambda r: r.type == R.NSG and r.name == name, change


def test_an_nsg_without_the_vnet_deny_is_caught(prod: StackRun):
    match, change = _edit_rules("access-network-nsg-jumpHost",
                                lambda rules: [x for x in rules if x["name"] != "DenyVnetInbound"])
    [v] = violations(changed(run_views(prod), match, change), "no-lateral-from-vnet")
    assert "AllowVnetInBound (65000)" in v.message and prod.by_urn(v.urn).name == "access-network-nsg-jumpHost"


@pytest.mark.parametrize("edit, text", [
    # A deny that leaves a protocol or port open, or sits only after Azure's rules would, is no deny.
    (lambda rules: [dict(x, protocol="Tcp") if x["name"] == "DenyVnetInbound" else x for x in rules], "denies no inbound"),
    (lambda rules: [dict(x, destinationPortRange="22") if x["name"] == "DenyVnetInbound" else x for x in rules],
     "denies no inbound"),
    # An allow ahead of the deny from the whole VNet, anywhere, or a range wider than any subnet.
    (lambda rules: [{**rules[0], "name": "oops", "priority": 200, "sourceAddressPrefix": "VirtualNetwork"}, *rules],
     "'virtualnetwork'"),
    (lambda rules: [{**rules[0], "name": "oops", "priority": 200, "sourceAddressPrefix": "*"}, *rules], "'*'"),
    # The whole address space, IPv4 or IPv6 (the catalogue's internet sources, but the Internet tag).
    (lambda rules: [{**rules[0], "name": "oops", "priority": 200, "sourceAddressPrefix": "0.0.0.0/0"}, *rules],
     "'0.0.0.0/0'"),
    (lambda rules: [{**rules[0], "name": "oops", "priority": 200, "sourceAddressPrefix": "::/0"}, *rules], "'::/0'"),
    (lambda rules: [{**rules[0], "name": "oops", "priority": 200, "sourceAddressPrefix": "10.0.0.0/8"}, *rules],
     "not a subnet of this stack"),
    (lambda rules: [{**rules[0], "name": "oops", "priority": 200, "sourceAddressPrefix": None,
                     "sourceAddressPrefixes": ["10.10.4.0/22", "10.10.0.0/16"]}, *rules], "10.10.0.0/16"),
])
def test_lateral_paths_are_caught(prod: StackRun, edit, text: str):
    match, change = _edit_rules("access-network-nsg-agents", edit)
    [v] = violations(changed(run_views(prod), match, change), "no-lateral-from-vnet")
    assert text in v.message


@pytest.mark.parametrize("source, port", [("Internet", "22"), ("*", "3389"), ("0.0.0.0/0", "20-30")])
def test_internet_admin_port_check_can_fail(prod: StackRun, source: str, port: str):
    open_rule = {"name": "oops", "priority": 200, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
                 "sourceAddressPrefix": source, "sourcePortRange": "*", "destinationAddressPrefix": "*",
                 "destinationPortRange": port}
    broken = changed(run_views(prod), lambda r: r.type == R.NSG,
                     lambda r: dataclasses.replace(r, props={**r.props, "securityRules": [*r.props["securityRules"], open_rule]}))
    assert violations(broken, "no-internet-admin-ports")


# ---- Egress ----------------------------------------------------------------------------------
def test_compute_jump_host_and_agent_subnets_have_nat_egress(each_stack: StackRun):
    nat_ids = {r.id for r in each_stack.of_type(R.NAT_GATEWAY)}
    assert len(nat_ids) == 2, "a NAT gateway serves one VNet: one per VNet"
    for role, names in (("aml", {"snet-training", "snet-scoring"}), ("bastion", {"snet-jump-host", "snet-agents"})):
        for name, subnet in _subnets(_vnet(each_stack, role)).items():
            has_nat = subnet.get("natGateway", {}).get("id") in nat_ids
            assert has_nat == (name in names), name


def test_without_nat_gateway_no_egress_resources(dev_switched: StackRun):
    """dev_switched (tests/variants.py): natGateway off among other switches that leave egress alone."""
    run = dev_switched
    assert run.error is None
    assert run.of_type(R.NAT_GATEWAY) == [] and len(run.of_type(R.PUBLIC_IP)) == 1


# ---- Peering ---------------------------------------------------------------------------------
def test_peering_declared_both_ways(each_stack: StackRun):
    peerings = each_stack.of_type(R.PEERING)
    aml, bastion = _vnet(each_stack, "aml"), _vnet(each_stack, "bastion")
    directions = {(p.property_dependencies["virtualNetworkName"][0], p.property_dependencies["remoteVirtualNetwork"][0])
                  for p in peerings}
    assert directions == {(aml.urn, bastion.urn), (bastion.urn, aml.urn)}
    assert all(p.input("allowVirtualNetworkAccess") is True for p in peerings)
    assert violations(each_stack, "peering-both-directions") == []


def test_one_way_peering_is_caught(prod: StackRun):
    one_way = without(run_views(prod), lambda r: r.type == R.PEERING and r.name.endswith("bastion-to-aml"))
    assert violations(one_way, "peering-both-directions")


# ---- Private DNS -----------------------------------------------------------------------------
def test_one_zone_per_needed_name(each_stack: StackRun, request):
    batch = each_stack.stack == "prod"  # prod enables batch endpoints in its stack file
    groups = ["amlworkspace", *storage_group_ids(batch), "vault", "registry", "azuremonitor"]
    expected = {z for g in groups for z in CLOUDS["AzureCloud"].zones_by_group_id[g]}
    if batch:  # prod also serves models: its private AKS API server's zone (compute/serving.py)
        expected.add("privatelink.westeurope.azmk8s.io")
    zones = [r.input("privateZoneName") for r in each_stack.of_type(R.PRIVATE_ZONE)]
    assert sorted(zones) == sorted(expected), "each zone name once, even one that two group ids share"
    assert all(r.input("location") == "global" for r in each_stack.of_type(R.PRIVATE_ZONE))


def test_zone_linked_to_every_vnet(each_stack: StackRun):
    vnets = {r.urn for r in each_stack.of_type(R.VNET)}
    access = {r.urn for r in each_stack.of_type(R.VNET) if "bastion" in r.input("virtualNetworkName")}
    for zone in each_stack.of_type(R.PRIVATE_ZONE):
        links = [l for l in each_stack.of_type(R.ZONE_LINK) if l.property_dependencies["privateZoneName"] == [zone.urn]]
        # The AKS API server's zone: AKS links the cluster's VNet itself, the program the access VNet.
        linked = access if zone.input("privateZoneName").endswith(".azmk8s.io") else vnets
        assert {l.property_dependencies["virtualNetwork"][0] for l in links} == linked, zone.input("privateZoneName")
        assert all(l.input("registrationEnabled") is False and l.input("location") == "global" for l in links)
    assert violations(each_stack, "zone-linked-to-every-vnet") == []


def test_missing_zone_link_is_caught(prod: StackRun):
    base = run_views(prod)
    unlinked = without(base, lambda r: r.type == R.ZONE_LINK and "vaultcore" in r.name and r.name.endswith("-bastion"))
    [v] = violations(unlinked, "zone-linked-to-every-vnet")
    assert "vaultcore" in v.message and "vnet-bastion" in v.message
    registering = changed(base, lambda r: r.type == R.ZONE_LINK and "azurecr" in r.name, registrationEnabled=True)
    assert violations(registering, "zone-linked-to-every-vnet")


def test_zone_links_fail_closed_by_default(each_stack: StackRun):
    """Without `network.privateDnsFallbackToInternet` a name missing from a privatelink zone answers
    NXDOMAIN rather than a public address (Microsoft Learn, "Fallback to internet for Azure Private
    DNS zones")."""
    assert stack_values(each_stack.stack)["network"].get("privateDnsFallbackToInternet", False) is False
    links = each_stack.of_type(R.ZONE_LINK)
    assert links and all(l.input("resolutionPolicy") == "Default" for l in links)


def test_dns_fallback_to_internet_sets_nxdomain_redirect_on_every_link(dev_switched: StackRun, dev_us_gov: StackRun):
    """dev_switched turns the fallback on; dev_us_gov writes it out as false (tests/variants.py)."""
    run = dev_switched
    assert run.error is None
    links = run.of_type(R.ZONE_LINK)
    assert len(links) == 2 * len(run.of_type(R.PRIVATE_ZONE))
    assert {l.input("resolutionPolicy") for l in links} == {"NxDomainRedirect"}
    off = dev_us_gov
    assert off.error is None and off.of_type(R.ZONE_LINK)
    assert {l.input("resolutionPolicy") for l in off.of_type(R.ZONE_LINK)} == {"Default"}


def test_sovereign_cloud_uses_its_own_zone_names(dev_us_gov: StackRun):
    run = dev_us_gov  # dev in Azure US Government, among other switches (tests/variants.py)
    assert run.error is None
    zones = {r.input("privateZoneName") for r in run.of_type(R.PRIVATE_ZONE)}
    assert "privatelink.api.ml.azure.us" in zones and "privatelink.api.azureml.ms" not in zones
    assert violations(run, "private-endpoint-dns-complete") == []


# ---- Bastion and public IPs ------------------------------------------------------------------
def test_bastion_standard_on_a_26_or_larger_subnet(each_stack: StackRun):
    [host] = each_stack.of_type(R.BASTION)
    assert host.input("sku.name") == "Standard"
    prefix = ipaddress.IPv4Network(_subnets(_vnet(each_stack, "bastion"))["AzureBastionSubnet"]["addressPrefix"])
    assert prefix.prefixlen <= 26
    assert violations(each_stack, "bastion-subnet") == []


def test_small_bastion_subnet_or_basic_sku_is_caught(prod: StackRun):
    base = run_views(prod)

    def shrink(r):
        subnets = [dict(s, addressPrefix="10.11.0.0/27") if s["name"] == "AzureBastionSubnet" else s for s in r.props["subnets"]]
        return dataclasses.replace(r, props={**r.props, "subnets": subnets})
    small = changed(base, lambda r: r.type == R.VNET and "bastion" in r.props["virtualNetworkName"], shrink)
    assert any("/26" in v.message for v in violations(small, "bastion-subnet"))
    basic = changed(base, lambda r: r.type == R.BASTION, sku__name="Basic")
    assert violations(basic, "bastion-subnet")


def test_bastion_sku_switch_defaults_to_standard_and_basic_gives_up_tunnelling(each_stack: StackRun, run_with,
                                                                                 request: pytest.FixtureRequest):
    [host] = each_stack.of_type(R.BASTION)
    assert (host.input("sku.name"), host.input("enableTunneling")) == ("Standard", True)
    # Each carries other switches that leave the bastion alone (tests/variants.py).
    basic = (request.getfixturevalue("dev_us_gov") if each_stack.stack == "dev"
             else variants.prod_opened(run_with))
    assert basic.error is None
    [cheap] = basic.of_type(R.BASTION)
    # Basic has no native client, so tunnelling is not asked of it; the rule still wants Standard.
    assert (cheap.input("sku.name"), cheap.input("enableTunneling")) == ("Basic", False)
    assert [v.message for v in violations(basic, "bastion-subnet")] == [
        "Bastion SKU is 'Basic'; use 'Standard' (native-client tunnelling, scale)"]


def test_no_public_ip_but_bastions_accepts_inbound(each_stack: StackRun):
    ips = each_stack.of_type(R.PUBLIC_IP)
    [bastion] = each_stack.of_type(R.BASTION)
    bastion_ips = [ip for ip in ips if ip.urn in bastion.property_dependencies["ipConfigurations"]]
    assert len(bastion_ips) == 1
    nat_ips = {u for n in each_stack.of_type(R.NAT_GATEWAY) for u in n.property_dependencies["publicIpAddresses"]}
    assert {ip.urn for ip in ips} == {bastion_ips[0].urn} | nat_ips
    assert all(ip.input("sku.name") == "Standard" and ip.input("publicIPAllocationMethod") == "Static" for ip in ips)
    for nic in each_stack.of_type(R.NIC):
        assert all("publicIPAddress" not in c for c in nic.input("ipConfigurations"))
    assert violations(each_stack, "only-bastion-inbound-public-ip") == []
    assert violations(each_stack, "public-ip-standard-static") == []


def test_stray_public_ip_or_nic_public_ip_is_caught(prod: StackRun):
    base = run_views(prod)
    [bastion_ip] = [r for r in of_type(base, R.PUBLIC_IP) if "bastion" in r.name]
    stray = [*base, dataclasses.replace(bastion_ip, urn=bastion_ip.urn + "-stray", name="stray")]
    assert violations(stray, "only-bastion-inbound-public-ip")

    def add_public_ip(r):
        configs = [dict(c, publicIPAddress={"id": "/subscriptions/x/publicIPAddresses/ip"}) for c in r.props["ipConfigurations"]]
        return dataclasses.replace(r, props={**r.props, "ipConfigurations": configs})
    nic_with_ip = changed(base, lambda r: r.type == R.NIC and "jump" in r.name, add_public_ip)
    assert violations(nic_with_ip, "only-bastion-inbound-public-ip")
    dynamic = changed(base, lambda r: r.type == R.PUBLIC_IP, publicIPAllocationMethod="Dynamic")
    assert violations(dynamic, "public-ip-standard-static")


def test_shared_blob_zone_declared_once_and_linked_to_every_vnet(each_stack: StackRun):
    """Storage's `blob` endpoint and Azure Monitor's `azuremonitor` endpoint (and prod's model registry's
    storage endpoint) all need the blob zone:
    `PrivateDnsZones` declares it once, links it once to each VNet, and both zone groups point at it."""
    [dns] = each_stack.of_type("mlops:network:PrivateDnsZones")
    zones = [z for z in each_stack.of_type(R.PRIVATE_ZONE) if z.input("privateZoneName") == "privatelink.blob.core.windows.net"]
    assert len(zones) == 1 and zones[0].parent == dns.urn
    [blob] = zones
    users = sorted(g.name for g in each_stack.of_type(R.ZONE_GROUP) if blob.urn in g.property_dependencies["privateDnsZoneConfigs"])
    # prod's model registry adds the endpoint to the storage account Azure manages for it.
    registry = ["model-registry-storage-blob-dns"] if each_stack.stack == "prod" else []
    assert users == sorted([*registry, "monitoring-azuremonitor-dns", "storage-blob-dns"])
    links = [l for l in each_stack.of_type(R.ZONE_LINK) if l.property_dependencies["privateZoneName"] == [blob.urn]]
    assert sorted(l.property_dependencies["virtualNetwork"][0] for l in links) == sorted(v.urn for v in each_stack.of_type(R.VNET))
    assert violations(each_stack, "private-dns-zone-once") == []


@pytest.mark.parametrize("cloud", ["AzureUSGovernment", "AzureChinaCloud"])
def test_sovereign_cloud_monitor_zones_share_its_blob_zone(run_with, cloud: str):
    # The runs of dev_us_gov and dev_china (tests/variants.py), whose other switches change nothing of DNS.
    run = run_with("dev", variants.dev_us_gov) if cloud == "AzureUSGovernment" else variants.dev_china(run_with)
    assert run.error is None
    names = [r.input("privateZoneName") for r in run.of_type(R.PRIVATE_ZONE)]
    [storage_blob] = CLOUDS[cloud].zones_by_group_id["blob"]
    assert storage_blob in CLOUDS[cloud].zones_by_group_id["azuremonitor"]
    assert names.count(storage_blob) == 1 and len(names) == len(set(names))
    for rule in ("private-endpoint-dns-complete", "private-dns-zone-once", "zone-linked-to-every-vnet"):
        assert violations(run, rule) == [], rule


def test_azure_monitor_zones_in_every_cloud():
    """The zone table's Azure Monitor rows (Microsoft Learn, "Azure Private Endpoint private DNS zone values")."""
    monitor = {cloud: set(c.zones_by_group_id["azuremonitor"]) for cloud, c in CLOUDS.items()}
    assert monitor["AzureCloud"] == {
        "privatelink.monitor.azure.com", "privatelink.oms.opinsights.azure.com", "privatelink.ods.opinsights.azure.com",
        "privatelink.agentsvc.azure-automation.net", "privatelink.blob.core.windows.net"}
    assert monitor["AzureUSGovernment"] == {
        "privatelink.monitor.azure.us", "privatelink.adx.monitor.azure.us", "privatelink.oms.opinsights.azure.us",
        "privatelink.ods.opinsights.azure.us", "privatelink.agentsvc.azure-automation.us",
        "privatelink.blob.core.usgovcloudapi.net"}
    assert monitor["AzureChinaCloud"] == {
        "privatelink.monitor.azure.cn", "privatelink.oms.opinsights.azure.cn", "privatelink.ods.opinsights.azure.cn",
        "privatelink.agentsvc.azure-automation.cn", "privatelink.blob.core.chinacloudapi.cn"}
