"""`python -m offline cost --stack prod`: what a stack costs a month, resource by resource.

The estimate is computed from a run of the program (what it registers, with its SKUs and sizes) and
the one price table, `offline/prices.py`. Fixed items (an hour of Bastion, a day of registry) are
priced over a month of 730 hours. Usage items (Log Analytics ingestion, NAT and private endpoint
traffic, storage, cluster node hours) depend on what the platform is used for, so they are priced
under stated assumptions (`DEFAULTS`), which a stack file may override under its own namespace:

    isolated-mlops:costAssumptions:
      logAnalyticsGbPerDay: 0.2
      clusterHoursAtMaxNodes: 10

The program accepts the key and ignores it (components/config.py); this module validates it, and an
unknown key or a bad value stops the estimate with one line per problem, naming the key.

A price the table does not know is shown as unknown and left out of the total, which then says how
many lines it leaves out: an unknown is never counted as zero. A line priced at another region's
list price than the stack's is marked, and so is the total that includes it.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from offline import prices
from offline.engine import RegisteredResource, StackRun
from offline.prices import Price

ASSUMPTIONS_KEY = "costAssumptions"

# Each assumption: its default and what it means (the unit is in the description).
DEFAULTS: Mapping[str, tuple[float, str]] = {
    "clusterHoursAtMaxNodes": (40.0, "hours a month each compute cluster runs at maxNodes (it scales to zero otherwise)"),
    "logAnalyticsGbPerDay": (1.0, "GB a day ingested into Log Analytics (platform logs and App Insights telemetry)"),
    "natGbPerMonth": (20.0, "GB a month through each NAT gateway (packages, images, agent traffic)"),
    "privateEndpointGbPerMonth": (5.0, "GB a month through each private endpoint, each way"),
    "peeringGbPerMonth": (10.0, "GB a month sent across each peering direction"),
    "storageGb": (100.0, "GB stored in the workspace's storage account"),
    "keyVaultOperationsPerMonth": (100_000.0, "Key Vault operations a month"),
    "dnsMillionQueriesPerZone": (0.1, "million DNS queries a month to each private zone"),
}


class AssumptionsError(ValueError):
    """Every problem in a stack file's cost assumptions, one per line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid cost assumptions:\n" + "\n".join(f"  - {p}" for p in problems))


def assumptions_of(run: StackRun) -> dict[str, float]:
    """The stack file's cost assumptions over the defaults; AssumptionsError on any unknown key or bad value."""
    key = f"{run.project}:{ASSUMPTIONS_KEY}"
    raw = run.config.get(key)
    values = {name: default for name, (default, _) in DEFAULTS.items()}
    if raw is None:
        return values
    given: Any = raw
    if isinstance(raw, str):
        try:
            given = json.loads(raw)
        except json.JSONDecodeError:
            given = raw
    if not isinstance(given, dict):
        raise AssumptionsError([f"{key}: must be an object (a YAML mapping) of {', '.join(DEFAULTS)}, got {given!r}"])
    problems = []
    for name, value in given.items():
        if name not in DEFAULTS:
            close = difflib.get_close_matches(str(name), list(DEFAULTS), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; known: {', '.join(DEFAULTS)}"
            problems.append(f"{key}.{name}: unknown key{hint}")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            problems.append(f"{key}.{name}: must be a number, 0 or more ({DEFAULTS[name][1]}), got {value!r}")
        else:
            values[name] = float(value)
    if problems:
        raise AssumptionsError(problems)
    return values


@dataclass(frozen=True)
class Line:
    """One priced item of one resource: what it is, how much of it a month, at what price."""

    resource: RegisteredResource
    item: str
    """What is billed: `Bastion Standard`, `data processed`, `os disk StandardSSD_LRS`."""
    quantity: float
    price: Optional[Price]
    """None when the table has no entry at all (a test keeps every registered type covered)."""
    assumption: str = ""
    """The assumption behind a usage quantity, by name; empty for a fixed item."""

    @property
    def known(self) -> bool:
        return self.price is not None and self.price.known

    @property
    def monthly(self) -> Optional[float]:
        """USD a month, or None when the price is unknown."""
        if self.price is None or self.price.usd is None:
            return None
        return self.quantity * self.price.usd

    @property
    def free(self) -> bool:
        return self.known and self.price is not None and self.price.usd == 0.0


@dataclass
class Estimate:
    stack: str
    region: str
    lines: list[Line]
    assumptions: dict[str, float]
    overridden: list[str] = field(default_factory=list)
    """The assumptions the stack file sets."""

    @property
    def total(self) -> float:
        """The sum of the known lines; `unknown_lines` says what it leaves out."""
        return sum(line.monthly or 0.0 for line in self.lines)

    @property
    def unknown_lines(self) -> list[Line]:
        return [line for line in self.lines if not line.known]

    def other_region(self, line: Line) -> bool:
        """Priced at a figure read for another region (or a region the page did not state)."""
        return line.known and line.price is not None and line.price.region not in ("any", self.region)


def _sku(resource: RegisteredResource) -> str:
    return str(resource.input("sku.name") or "")


def _minutes(duration: str) -> Optional[float]:
    """`PT15M` -> 15, `PT1H` -> 60, `P1D` -> 1440 (the ISO 8601 durations alert rules take); None otherwise."""
    match = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?", duration)
    if not match or not any(match.groups()):
        return None
    days, hours, mins = (int(g or 0) for g in match.groups())
    return days * 1440.0 + hours * 60.0 + mins


def _lines(resource: RegisteredResource, a: Mapping[str, float]) -> list[Line]:
    """The priced items of one resource (see offline/prices.py for each figure and its source)."""
    t, hours = resource.type, prices.HOURS_PER_MONTH
    price = prices.lookup

    if t == prices.BASTION:
        sku = _sku(resource) or "Basic"
        return [Line(resource, f"Bastion {sku}", hours, price(t, sku))]
    if t == prices.PUBLIC_IP:
        kind = f"{_sku(resource) or 'Basic'} {str(resource.input('publicIPAllocationMethod') or 'Dynamic').lower()}"
        return [Line(resource, f"public IP {kind}", hours, price(t, kind))]
    if t == prices.NAT:
        return [Line(resource, f"NAT gateway {_sku(resource) or 'Standard'}", hours, price(t, _sku(resource) or "Standard")),
                Line(resource, "data processed", a["natGbPerMonth"], price(t, "data processed GB"), "natGbPerMonth")]
    if t == prices.PRIVATE_ENDPOINT:
        gb = a["privateEndpointGbPerMonth"]
        return [Line(resource, "private endpoint", hours, price(t, "endpoint")),
                Line(resource, "inbound data", gb, price(t, "inbound data GB"), "privateEndpointGbPerMonth"),
                Line(resource, "outbound data", gb, price(t, "outbound data GB"), "privateEndpointGbPerMonth")]
    if t == prices.PEERING:
        gb = a["peeringGbPerMonth"]
        return [Line(resource, "outbound data", gb, price(t, "outbound data GB"), "peeringGbPerMonth"),
                Line(resource, "inbound data (at the peer)", gb, price(t, "inbound data GB"), "peeringGbPerMonth")]
    if t == prices.PRIVATE_ZONE:
        return [Line(resource, "private DNS zone", 1, price(t, "zone")),
                Line(resource, "queries (millions)", a["dnsMillionQueriesPerZone"], price(t, "queries"),
                     "dnsMillionQueriesPerZone")]
    if t == prices.ZONE_LINK:
        return [Line(resource, "virtual network link", 1, price(t, "link"))]
    if t == prices.REGISTRY:
        sku = _sku(resource) or "Basic"
        return [Line(resource, f"registry {sku}", prices.DAYS_PER_MONTH, price(t, sku))]
    if t == prices.KEY_VAULT:
        return [Line(resource, "operations (10,000s)", a["keyVaultOperationsPerMonth"] / 10_000,
                     price(t, "standard operations"), "keyVaultOperationsPerMonth")]
    if t == prices.STORAGE:
        sku = _sku(resource)
        return [Line(resource, f"{sku} capacity (GB)", a["storageGb"], price(t, f"{sku} GB"), "storageGb")]
    if t == prices.LOG_ANALYTICS:
        ingested = a["logAnalyticsGbPerDay"] * prices.DAYS_PER_MONTH
        lines = [Line(resource, "ingestion (GB)", ingested, price(t, f"{_sku(resource) or 'PerGB2018'} ingestion GB"),
                      "logAnalyticsGbPerDay")]
        retention = float(resource.input("retentionInDays") or 30)
        if retention > 31:
            # What is kept beyond the included 31 days: about a month's ingestion per month beyond it.
            kept = ingested * (retention - 31) / prices.DAYS_PER_MONTH
            lines.append(Line(resource, f"retention days 32-{retention:.0f} (GB-month)", kept,
                              price(t, "retention GB-month"), "logAnalyticsGbPerDay"))
        return lines
    if t == prices.VIRTUAL_MACHINE:
        size = str(resource.input("hardwareProfile.vmSize") or "")
        disk = str(resource.input("storageProfile.osDisk.managedDisk.storageAccountType") or "")
        return [Line(resource, f"VM {size}", hours, price(t, size)),
                Line(resource, f"OS disk {disk}", 1, price(t, f"os disk {disk}"))]
    if t == prices.ML_COMPUTE and resource.input("properties.computeType") == "Kubernetes":
        return [Line(resource, "attached Kubernetes compute", 1, price(t, "attached"))]
    if t == prices.ML_COMPUTE:
        props = resource.input("properties.properties") or {}
        size = str(props.get("vmSize") or "")
        nodes = float((props.get("scaleSettings") or {}).get("maxNodeCount") or 0)
        node_hours = nodes * a["clusterHoursAtMaxNodes"]
        if props.get("vmPriority") == "LowPriority":
            return [Line(resource, f"{nodes:.0f} x {size} low priority (node hours)", node_hours,
                         price(prices.VIRTUAL_MACHINE, f"{size} low priority"), "clusterHoursAtMaxNodes")]
        return [Line(resource, f"{nodes:.0f} x {size} (node hours)", node_hours,
                     price(prices.VIRTUAL_MACHINE, size), "clusterHoursAtMaxNodes")]
    if t == prices.AKS:
        # The control plane by tier, and the node pools at their minimum: those nodes run around the
        # clock (the autoscaler adds more under load; those hours are not estimated).
        tier = str(resource.input("sku.tier") or "Free")
        lines = [Line(resource, f"AKS control plane {tier}", hours, price(t, tier))]
        for pool in resource.input("agentPoolProfiles") or []:
            size, nodes = str(pool.get("vmSize") or ""), float(pool.get("minCount") or pool.get("count") or 0)
            lines += [Line(resource, f"{nodes:.0f} x {size} (nodes at minCount)", nodes * hours,
                           price(prices.VIRTUAL_MACHINE, size)),
                      Line(resource, f"{nodes:.0f} node OS disks", nodes, price(t, "node os disk"))]
        return lines
    if t == prices.ML_REGISTRY:
        acrs = [a for region in resource.input("regionDetails") or [] for a in region.get("acrDetails") or []]
        return [Line(resource, "registry", 1, price(t, "registry")),
                Line(resource, "managed storage account", 1, price(t, "managed storage")),
                *(Line(resource, f"managed ACR {sku}", prices.DAYS_PER_MONTH, price(prices.REGISTRY, sku))
                  for sku in (str((a.get("systemCreatedAcrAccount") or {}).get("acrAccountSku") or "Premium")
                              for a in acrs))]
    if t == prices.METRIC_ALERT:
        # A metric alert bills each time series it monitors: scopes x criteria (no dimensions here;
        # each dimension value would add one: Infracost's monitor_metric_alert.go counts the same).
        criteria = resource.input("criteria.allOf") or []
        series = len(resource.input("scopes") or []) * max(len(criteria), 1)
        return [Line(resource, "metric alert (time series)", series, price(t, "time series"))]
    if t == prices.SCHEDULED_QUERY_RULE:
        minutes = _minutes(str(resource.input("evaluationFrequency") or ""))
        band = next((b for b in (15, 10, 5) if minutes is not None and minutes >= b), 1)
        key = f"log alert {band} min"
        return [Line(resource, f"log search alert, every {resource.input('evaluationFrequency')}", 1,
                     price(t, key) if minutes is not None else None)]
    if t == prices.ML_WORKSPACE:
        return [Line(resource, f"workspace {_sku(resource) or 'Basic'}", 1, price(t, _sku(resource) or "Basic"))]
    return [Line(resource, "", 1, price(t, "*"))]


def estimate(run: StackRun) -> Estimate:
    """The monthly estimate of every resource the run registered (AssumptionsError on bad assumptions)."""
    assumptions = assumptions_of(run)
    raw = run.config.get(f"{run.project}:{ASSUMPTIONS_KEY}")
    overridden = sorted(json.loads(raw)) if isinstance(raw, str) and raw.startswith("{") else []
    lines = [line for r in sorted(run.custom_resources(), key=lambda r: r.urn) for line in _lines(r, assumptions)]
    region = str(next((r.input("location") for r in run.resources if r.type == prices.RESOURCE_GROUP), "") or "")
    return Estimate(run.stack, region, lines, assumptions, overridden)


# ------------------------------------------------------------------------------------------------
# Text
# ------------------------------------------------------------------------------------------------
def money(usd: float) -> str:
    return f"${usd:,.2f}"


def _price_text(price: Optional[Price]) -> str:
    if price is None:
        return "no entry in the price table"
    if price.usd is None:
        return f"unknown per {price.unit}"
    return f"${price.usd:g}/{price.unit}"


def render_text(est: Estimate) -> str:
    lines = [f"Monthly cost estimate of {est.stack} ({est.region}): list prices, pay-as-you-go, USD, "
             f"as read on {prices.READ_ON} (offline/prices.py); not a quote.", ""]
    width = max((len(line.resource.name) for line in est.lines), default=10)
    for line in est.lines:
        if line.free:
            what = "free" if not line.item else f"{line.item}: free"
            cost = "$0.00"
        else:
            qty = f"{line.quantity:,.2f}".rstrip("0").rstrip(".")
            what = f"{line.item}: {qty} x {_price_text(line.price)}"
            cost = "unknown" if line.monthly is None else money(line.monthly)
        flags = ""
        if est.other_region(line) and line.price is not None:
            where = line.price.region
            flags = "  [~ the page stated no region]" if where == "unstated" else f"  [~ price read for {where}]"
        flags += f"  [assumes {line.assumption}]" if line.assumption else ""
        lines.append(f"  {line.resource.name:<{width}}  {cost:>11}  {what}{flags}")
    unknown = est.unknown_lines
    lines += ["", f"Total: {money(est.total)}/month"
              + (f" + {len(unknown)} unknown line(s) not counted (prices not in the table)" if unknown else "")]
    approx = [line for line in est.lines if est.other_region(line)]
    if approx:
        lines.append(f"  {len(approx)} line(s) ({money(sum(l.monthly or 0 for l in approx))}) use a price read for another "
                     f"region than {est.region}: an approximation until its {est.region} price is read.")
    dated = sorted({line.price.as_of for line in est.lines if line.price is not None and line.price.as_of})
    if dated:
        lines.append(f"  The sources recorded these prices between {dated[0]} and {dated[-1]} (as_of in offline/prices.py); "
                     "Azure changes prices: check the ones that matter at the verify link.")
    free_count = sum(1 for line in est.lines if line.free)
    lines.append(f"  {free_count} line(s) are free (no meter of their own), each with its source in offline/prices.py.")
    lines += ["", "Assumptions for usage (override under isolated-mlops:costAssumptions in the stack file):"]
    for name, (default, meaning) in DEFAULTS.items():
        mark = "  (set by the stack file)" if name in est.overridden else ""
        lines.append(f"  {name} = {est.assumptions[name]:g}: {meaning}{mark}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# The change in cost between two runs (diff and the pull-request comment)
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CostChange:
    """How one resource's monthly estimate changes from the old side to the new."""

    name: str
    type: str
    old: Optional[float]
    """USD a month on the old side (known lines), None when the resource is not there."""
    new: Optional[float]
    what: str
    """`Bastion Standard -> Basic`, `created: VM Standard_D2s_v5`, `deleted: ...`."""
    unknown: bool
    """An unknown price on either side: the delta is a lower bound of what changes."""

    @property
    def delta(self) -> float:
        return (self.new or 0.0) - (self.old or 0.0)


def _items(lines: list[Line]) -> str:
    return ", ".join(line.item for line in lines if line.item and not line.free) or "free"


def compare(old: Estimate, new: Estimate) -> list[CostChange]:
    """Per resource whose priced items, quantities or prices differ: the change in its monthly estimate."""
    from offline.diff import resource_key

    def group(est: Estimate) -> dict[str, list[Line]]:
        grouped: dict[str, list[Line]] = {}
        for line in est.lines:
            grouped.setdefault(resource_key(line.resource.urn), []).append(line)
        return grouped

    before, after = group(old), group(new)
    changes = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key, []), after.get(key, [])
        shape = lambda ls: [(l.item, round(l.quantity, 6), l.price) for l in ls]  # noqa: E731
        if shape(a) == shape(b):
            continue
        if all(line.free for line in a + b):
            continue  # a free resource created or deleted changes nothing a month
        resource = (b or a)[0].resource
        if not a:
            what = f"created: {_items(b)}"
        elif not b:
            what = f"deleted: {_items(a)}"
        else:
            old_items = [l.item for l in a if l.item not in {x.item for x in b}]
            new_items = [l.item for l in b if l.item not in {x.item for x in a}]
            if old_items and new_items:
                what = f"{', '.join(old_items)} -> {', '.join(new_items)}"
            elif old_items or new_items:
                what = f"drops {', '.join(old_items)}" if old_items else f"adds {', '.join(new_items)}"
            else:
                what = "usage or price changed: " + _items(b)
        old_sum = sum(l.monthly or 0.0 for l in a) if a else None
        new_sum = sum(l.monthly or 0.0 for l in b) if b else None
        changes.append(CostChange(resource.name, resource.type, old_sum, new_sum, what,
                                  unknown=any(not l.known for l in a + b)))
    return changes


def signed(usd: float) -> str:
    return f"{'+' if usd >= 0 else '-'}${abs(usd):,.2f}"


def change_lines(changes: list[CostChange]) -> list[str]:
    """`-$70.08/month: ci-agents-1-vm deleted: VM Standard_D2s_v5`, one per changed resource, biggest first.

    A change with an unknown price on either side gets no signed figure (a lower bound would read as
    the wrong direction: Standard at an unknown price -> Basic at $138.70 is a saving, not +$138.70);
    it says what it knows instead."""
    known = sorted((c for c in changes if not c.unknown), key=lambda c: (-abs(c.delta), c.name))
    unknown = sorted((c for c in changes if c.unknown), key=lambda c: c.name)
    lines = [f"{signed(c.delta)}/month: {c.name} {c.what}" for c in known]
    for c in unknown:
        sides = " -> ".join("none" if v is None else money(v) for v in (c.old, c.new))
        lines.append(f"unknown/month: {c.name} {c.what} (known prices {sides}; the rest is not in the price table)")
    return lines


def markdown_section(old: Estimate, new: Estimate) -> list[str]:
    """The cost part of the pull-request comment: the total's change first, then each changed resource."""
    changes = compare(old, new)
    unknown = len(new.unknown_lines)
    basis = f"list prices read {prices.READ_ON}; {unknown} line(s) with an unknown price not counted"
    if not changes:
        return [f"**Monthly cost: no change** ({money(new.total)}/month at {basis})"]
    # Only changes priced in full add up to a figure; one with an unknown side is counted apart.
    delta = sum(c.delta for c in changes if not c.unknown)
    uncertain = sum(1 for c in changes if c.unknown)
    head = (f"**Monthly cost: {signed(delta)}/month**" if not uncertain else
            f"**Monthly cost: {signed(delta)}/month from the changes priced in full, and {uncertain} change(s) "
            "at an unknown price**")
    return [f"{head} (totals of the known lines: {money(old.total)} -> {money(new.total)}; {basis})", "",
            *(f"- `{line}`" for line in change_lines(changes))]
