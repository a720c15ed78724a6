"""`python -m offline cost` and the cost lines of `diff`: one price table, every type covered, totals
that add up, unknowns shown as unknown, assumptions a stack file overrides, and the change in cost in
the pull-request comment."""

from __future__ import annotations

import dataclasses
import json
import math
import re

import pytest

from offline import cost, diff, prices, snapshot
from offline.engine import PROJECT_DIR, RegisteredResource, StackRun
from offline.mocks import RESOURCE_KINDS
from tests import variants


def _resource(name: str, type_: str, **inputs) -> RegisteredResource:
    return RegisteredResource(urn=f"urn:pulumi:t::p::{type_}::{name}", type=type_, name=name, custom=True, parent="",
                              dependencies=[], property_dependencies={}, protect=False, inputs=inputs,
                              masked_inputs=inputs, secret_paths=[])


def _run(*resources: RegisteredResource, config=None) -> StackRun:
    rg = _resource("rg", prices.RESOURCE_GROUP, location="westeurope")
    return StackRun("t", "isolated-mlops", [rg, *resources], {}, config=dict(config or {}))


def _with_assumptions(run: StackRun, **values) -> StackRun:
    """`run` as if its stack file set costAssumptions to `values`, without running the program again
    (0.5 s a run): the program ignores the key, the estimate reads it from the run's config. The
    whole-program run in test_assumptions_from_the_stack_file_change_the_usage_lines proves both: no
    resource changes but the resize the same run makes, and this config."""
    return dataclasses.replace(run, config={**run.config, "isolated-mlops:costAssumptions": json.dumps(values)})


def _vm_month(size: str):
    """A size's month at the table's price, or None when the table does not know it (computed from the
    table, not from the estimate, so the tests below check the estimate against it)."""
    price = prices.TABLE[prices.VIRTUAL_MACHINE][size]
    return None if price.usd is None else price.usd * prices.HOURS_PER_MONTH


def _size(run: StackRun, name: str) -> str:
    return run.of_type(prices.VIRTUAL_MACHINE) and next(
        r.input("hardwareProfile.vmSize") for r in run.of_type(prices.VIRTUAL_MACHINE) if r.name == name)


# ------------------------------------------------------------------------------------------------
# The table
# ------------------------------------------------------------------------------------------------
def test_every_resource_type_the_stacks_create_has_a_price_entry(each_stack):
    registered = {r.type for r in each_stack.custom_resources()}
    assert registered - set(prices.TABLE) == set(), "add the new type to offline/prices.py (priced, free or unknown)"
    lines = cost.estimate(each_stack).lines
    assert {line.resource.type for line in lines} == registered
    assert [line.resource.name for line in lines if line.price is None] == [], "an item has no entry under its type"


def test_every_type_the_mocks_know_has_a_price_entry():
    # The mocks list every type the program (and bootstrap/) may register: a type added there without
    # a price fails here, before a stack file uses it.
    assert set(RESOURCE_KINDS) | {prices.RANDOM_STRING} <= set(prices.TABLE)


def test_a_type_without_an_entry_is_shown_as_unknown_not_free():
    est = cost.estimate(_run(_resource("thing", "azure-native:fake:Thing")))
    [line] = [l for l in est.lines if l.resource.name == "thing"]
    assert line.price is None and not line.known and line.monthly is None
    assert "no entry in the price table" in cost.render_text(est)


def test_each_price_says_where_it_was_read_and_when():
    for type_token, entries in prices.TABLE.items():
        for key, price in entries.items():
            where = f"{type_token} {key}"
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", price.read_on), where
            assert price.verify.startswith("https://") or price.verify == "", where
            if price.usd is None:
                assert price.source == "" and price.region == "-", f"{where}: an unknown cites no figure"
            elif price.usd > 0:
                assert price.source.startswith("https://"), f"{where}: a price without its source is a guess"
                assert price.region not in ("-", ""), where
                assert price.verify.startswith("https://"), f"{where}: say where Microsoft publishes it"


def test_the_sizes_the_stacks_use_are_in_the_table_known_or_not(runs):
    sizes = {r.input("hardwareProfile.vmSize") for run in runs.values() for r in run.of_type(prices.VIRTUAL_MACHINE)}
    sizes |= {r.input("properties.properties.vmSize") for run in runs.values() for r in run.of_type(prices.ML_COMPUTE)
              if r.input("properties.computeType") == "AmlCompute"}
    sizes |= {pool["vmSize"] for run in runs.values() for r in run.of_type(prices.AKS)
              for pool in r.input("agentPoolProfiles")}
    assert sizes and None not in sizes and sizes <= set(prices.TABLE[prices.VIRTUAL_MACHINE])


# ------------------------------------------------------------------------------------------------
# Totals, unknowns, free
# ------------------------------------------------------------------------------------------------
def test_the_total_is_the_sum_of_the_lines_and_the_text_shows_it(each_stack):
    est = cost.estimate(each_stack)
    assert math.isclose(est.total, sum(line.monthly for line in est.lines if line.monthly is not None))
    assert est.total > 0 and est.unknown_lines, "both kinds of line must be present for this to prove anything"
    text = cost.render_text(est)
    [total] = re.findall(r"^Total: \$([\d,.]+)/month", text, flags=re.M)
    shown = [float(m.replace(",", "")) for m in re.findall(r"^  \S+ +\$([\d,.]+)  ", text, flags=re.M)]
    assert math.isclose(float(total.replace(",", "")), sum(shown), abs_tol=0.01 * len(shown))
    assert f"{len(est.unknown_lines)} unknown line(s) not counted" in text


def test_an_unknown_price_is_shown_as_unknown_and_never_counted_as_zero(prod):
    est = cost.estimate(prod)
    unknown = next(l for l in est.lines if not l.known)
    assert unknown.price is not None and unknown.price.usd is None and unknown.monthly is None
    row = next(line for line in cost.render_text(est).splitlines()
               if f" {unknown.resource.name} " in line and unknown.item in line)
    assert " unknown " in row and "$0.00" not in row
    # Negative: the same line with a known price is counted, so the total moves by exactly its amount.
    priced = dataclasses.replace(unknown, price=dataclasses.replace(unknown.price, usd=2.0, region="eastus",
                                                                     source="https://example.test/"))
    swapped = dataclasses.replace(est, lines=[priced if l is unknown else l for l in est.lines])
    assert math.isclose(swapped.total - est.total, 2.0 * unknown.quantity)
    assert len(swapped.unknown_lines) == len(est.unknown_lines) - 1


def test_free_resources_are_listed_as_free_with_their_source(prod):
    est = cost.estimate(prod)
    free = [l for l in est.lines if l.free]
    assert {l.resource.type for l in free} >= {prices.VNET, prices.NSG, prices.ROLE_ASSIGNMENT, prices.NIC}
    assert all(l.price is not None and l.price.note for l in free)
    rows = [line for line in cost.render_text(est).splitlines() if " access-network-vnet " in line]
    assert rows and rows[0].rstrip().endswith("free")


def test_a_price_read_for_another_region_is_marked_as_such(prod):
    est = cost.estimate(prod)
    assert est.region == "westeurope"
    endpoint = next(l for l in est.lines if l.resource.name == "registry-registry-pe" and l.item == "private endpoint")
    assert endpoint.price.region == "eastus" and est.other_region(endpoint)
    text = cost.render_text(est)
    row = next(line for line in text.splitlines() if " registry-registry-pe " in line and "private endpoint:" in line)
    assert "[~ price read for eastus]" in row
    # Negative: a price read for the stack's own region is not marked.
    nat = next(l for l in est.lines if l.resource.name == "aml-network-nat" and l.item.startswith("NAT gateway"))
    assert nat.price.region == "westeurope" and not est.other_region(nat)
    assert "[~" not in next(line for line in text.splitlines() if " aml-network-nat " in line and "NAT gateway" in line)


# ------------------------------------------------------------------------------------------------
# Assumptions from the stack file
# ------------------------------------------------------------------------------------------------
def _line(est: cost.Estimate, name: str, item: str) -> cost.Line:
    [found] = [l for l in est.lines if l.resource.name == name and l.item == item]
    return found


def test_assumptions_from_the_stack_file_change_the_usage_lines(prod, run_with):
    assert _line(cost.estimate(prod), "aml-network-nat", "data processed").quantity == \
        cost.DEFAULTS["natGbPerMonth"][0]
    # The same run resizes the jump host (test_a_changed_size_shows_from_and_to_with_its_delta's): the
    # program ignores the assumptions, so its one resource change is the resize (tests/variants.py).
    busy = run_with("prod", variants.prod_resized_and_busy)
    assert variants.BUSY == {"natGbPerMonth": 1000, "clusterHoursAtMaxNodes": 100}
    assert busy.error is None, "the program accepts the key and leaves it to the estimate"
    changes = [(c.resource.name, [p.path for p in c.properties]) for c in diff.compare(prod, busy).changes]
    assert changes == [("jump-host-vm", ["hardwareProfile.vmSize"])], "the program ignores the key: no other change"
    jump_host = "isolated-mlops:jumpHost"
    assert {**busy.config, jump_host: None} == {**_with_assumptions(prod, **variants.BUSY).config, jump_host: None}, \
        "_with_assumptions wires the key as the engine does"
    # The run's resources without the assumptions: the estimate the stack file gave before them.
    default = cost.estimate(dataclasses.replace(busy, config=prod.config))
    est = cost.estimate(busy)
    nat = _line(est, "aml-network-nat", "data processed")
    assert nat.quantity == 1000 and math.isclose(nat.monthly, 1000 * 0.045)
    [build] = [l for l in est.lines if l.resource.name == "cluster-cpu-build-compute"]
    nodes = build.resource.input("properties.properties.scaleSettings.maxNodeCount")
    assert build.assumption == "clusterHoursAtMaxNodes" and build.quantity == nodes * 100
    before = {(l.resource.name, l.item): l for l in default.lines}
    for line in est.lines:
        old = before[(line.resource.name, line.item)]
        if line.assumption not in ("natGbPerMonth", "clusterHoursAtMaxNodes"):
            assert (line.quantity, line.monthly) == (old.quantity, old.monthly), "only the overridden usage moves"
    assert math.isclose(nat.monthly - before[("aml-network-nat", "data processed")].monthly, (1000 - 20) * 0.045)
    text = cost.render_text(est)
    assert "natGbPerMonth = 1000: " in text and "(set by the stack file)" in text
    fixed = [_line(e, "access-network-nat", "NAT gateway Standard") for e in (est, default)]
    assert fixed[0].monthly == fixed[1].monthly and fixed[0].assumption == "", "a fixed item assumes nothing"


def test_bad_assumptions_are_refused_with_the_key_named(dev):
    """Five mistakes in one stack file: each is refused, named, on its own line."""
    mistakes = {
        "natGBPerMonth": (5, "costAssumptions.natGBPerMonth: unknown key (did you mean 'natGbPerMonth'?)"),
        "colour": ("blue", "costAssumptions.colour: unknown key; known: clusterHoursAtMaxNodes"),
        "storageGb": (-1, "costAssumptions.storageGb: must be a number, 0 or more"),
        "natGbPerMonth": ("lots", "costAssumptions.natGbPerMonth: must be a number, 0 or more"),
        "peeringGbPerMonth": (True, "costAssumptions.peeringGbPerMonth: must be a number, 0 or more"),
    }
    run = _with_assumptions(dev, **{key: value for key, (value, _) in mistakes.items()})
    with pytest.raises(cost.AssumptionsError) as raised:
        cost.estimate(run)
    problems = raised.value.problems
    assert len(problems) == len(mistakes), problems
    for key, (value, message) in mistakes.items():
        [problem] = [p for p in problems if f"costAssumptions.{key}:" in p]
        assert message in problem and problem.startswith("isolated-mlops:costAssumptions"), problem
    # Negative: the same keys with good values are accepted.
    good = dataclasses.replace(run, config={**run.config, "isolated-mlops:costAssumptions": json.dumps(
        {"natGbPerMonth": 5, "storageGb": 0, "peeringGbPerMonth": 1.5})})
    assert cost.assumptions_of(good)["peeringGbPerMonth"] == 1.5


def test_assumptions_that_are_not_a_mapping_are_refused():
    with pytest.raises(cost.AssumptionsError, match="must be an object"):
        cost.estimate(_run(config={"isolated-mlops:costAssumptions": "[1, 2]"}))


def test_the_stack_files_assumptions_are_valid(runs):
    for run in runs.values():
        cost.assumptions_of(run)  # raises on a typo in a stack file


# ------------------------------------------------------------------------------------------------
# The change in cost: diff and the pull-request comment
# ------------------------------------------------------------------------------------------------
def test_the_pull_request_comment_shows_the_change_in_cost(prod, run_with):
    fewer = run_with("prod", lambda v: v["agents"].update(count=1))
    report = diff.Report(diff.compare(prod, fewer), prod, fewer, "old", "new", findings=[], rules_run=0)
    markdown = diff.render_markdown(report, "cmd")
    size = _size(prod, "ci-agents-1-vm")
    vm_month, disk = _vm_month(size), prices.TABLE[prices.VIRTUAL_MACHINE]["os disk StandardSSD_LRS"].usd
    assert disk is not None, "the OS disk's price is in the table"
    assert f"(totals of the known lines: {cost.money(cost.estimate(prod).total)} -> " in markdown
    what = f"ci-agents-1-vm deleted: VM {size}, OS disk StandardSSD_LRS"
    text = diff.render_text(report)
    if vm_month is not None:
        saving = vm_month + disk
        assert f"**Monthly cost: -${saving:,.2f}/month**" in markdown
        assert f"- `-${saving:,.2f}/month: {what}`" in markdown
        assert f"Monthly cost: -${saving:,.2f}/month" in text and "**" not in text
    else:  # the size's price is unknown: no figure for its deletion, only what is known
        assert f"- `unknown/month: {what} (known prices {cost.money(disk)} -> none;" in markdown
        assert "and 1 change(s) at an unknown price" in text and "**" not in text


def test_a_changed_size_shows_from_and_to_with_its_delta(prod, run_with):
    old_size, new_size = _size(prod, "jump-host-vm"), variants.RESIZED_JUMP_HOST
    assert old_size != new_size, "prod's jump host already has this size: resize it to another in tests/variants.py"
    # The run also sets cost assumptions (test_assumptions_from_the_stack_file_change_the_usage_lines's
    # run): estimated under the same assumptions on both sides, the resize is the one cost change.
    bigger = run_with("prod", variants.prod_resized_and_busy)
    [change] = cost.compare(cost.estimate(_with_assumptions(prod, **variants.BUSY)), cost.estimate(bigger))
    assert (change.name, change.what) == ("jump-host-vm", f"VM {old_size} -> VM {new_size}")
    delta = _vm_month(new_size) - (_vm_month(old_size) or 0.0)
    assert math.isclose(change.delta, delta) and change.unknown == (_vm_month(old_size) is None)
    [line] = cost.change_lines([change])
    if change.unknown:
        assert line.startswith(f"unknown/month: jump-host-vm VM {old_size} -> VM {new_size} (known prices ")
    # Negative: with every price known, the line carries the signed figure.
    assert cost.change_lines([dataclasses.replace(change, unknown=False)])[0] == \
        f"{cost.signed(change.delta)}/month: jump-host-vm VM {old_size} -> VM {new_size}"


def test_no_change_in_the_stack_is_no_change_in_cost(prod):
    assert cost.compare(cost.estimate(prod), cost.estimate(prod)) == []
    assert cost.markdown_section(cost.estimate(prod), cost.estimate(prod))[0].startswith("**Monthly cost: no change**")


def test_a_usage_assumption_change_alone_is_a_cost_change(prod):
    busy = _with_assumptions(prod, natGbPerMonth=120)
    changes = cost.compare(cost.estimate(prod), cost.estimate(busy))
    assert {c.name for c in changes} == {"aml-network-nat", "access-network-nat"}
    assert all(math.isclose(c.delta, 100 * 0.045) and c.what.startswith("usage or price changed") for c in changes)
    assert diff.compare(prod, busy).changes == [], "no resource changes: only the estimate does"


def test_the_diff_command_carries_the_cost_against_a_saved_preview(cli, prod, run_with, tmp_path, capsys):
    # The old side is a saved `preview --json` of prod with one agent fewer: the document carries the
    # config, so the estimate of a saved side reads the same assumptions as a live one.
    old = _with_assumptions(run_with("prod", lambda v: v["agents"].update(count=1)), natGbPerMonth=120)
    path = tmp_path / "old.json"
    path.write_text(json.dumps(snapshot.to_document(old)))
    assert cost.estimate(snapshot.load(str(path))).assumptions["natGbPerMonth"] == 120
    assert cli(["diff", "--stack", "prod", "--against", str(path), "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    agent = _vm_month(_size(prod, "ci-agents-1-vm")) or 0.0
    size = _size(prod, "ci-agents-1-vm")
    assert f"ci-agents-1-vm created: VM {size}, OS disk StandardSSD_LRS" in out
    assert f"- `-${100 * 0.045:,.2f}/month: aml-network-nat usage or price changed" in out
    if _vm_month(size) is not None:
        agent = _vm_month(size) + prices.TABLE[prices.VIRTUAL_MACHINE]["os disk StandardSSD_LRS"].usd
        assert f"**Monthly cost: {cost.signed(agent - 2 * 100 * 0.045)}/month**" in out


def test_a_diff_with_bad_assumptions_says_so_instead_of_a_figure(prod):
    bad = _with_assumptions(prod, natGBPerMonth=1)
    report = diff.Report(diff.compare(prod, bad), prod, bad, "old", "new", findings=[], rules_run=0)
    assert "**Monthly cost: not estimated**: isolated-mlops:costAssumptions.natGBPerMonth: unknown key" in \
        diff.render_markdown(report, "cmd")


# ------------------------------------------------------------------------------------------------
# The command
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def cli(runs, monkeypatch):
    import offline.__main__ as command_line
    from offline.engine import PROJECT_DIR

    real = command_line.run_stack

    def cached(stack, project_dir=PROJECT_DIR, **kwargs):
        if stack in runs and project_dir == PROJECT_DIR and not kwargs:
            return runs[stack]
        return real(stack, project_dir=project_dir, **kwargs)

    monkeypatch.setattr(command_line, "run_stack", cached)
    monkeypatch.setattr(snapshot, "run_stack", cached)
    return command_line.main


def test_cli_cost_prints_every_resource_and_the_total(cli, prod, capsys):
    assert cli(["cost", "--stack", "prod"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Monthly cost estimate of prod (westeurope): list prices, pay-as-you-go, USD")
    assert all(f"  {r.name} " in out for r in prod.custom_resources())
    assert f"Total: {cost.money(cost.estimate(prod).total)}/month" in out


def test_cli_cost_refuses_bad_assumptions_with_exit_1(cli, dev, monkeypatch, capsys):
    import offline.__main__ as command_line

    monkeypatch.setattr(command_line, "run_stack", lambda stack, **_: _with_assumptions(dev, logAnalyticsGb=1))
    assert cli(["cost", "--stack", "dev"]) == 1
    err = capsys.readouterr().err
    assert "isolated-mlops:costAssumptions.logAnalyticsGb: unknown key (did you mean 'logAnalyticsGbPerDay'?)" in err
    assert "Traceback" not in err


def test_cli_cost_exits_2_for_a_stack_that_does_not_exist(cli, capsys):
    assert cli(["cost", "--stack", "no-such-stack"]) == 2


def test_free_resources_add_no_cost_line_and_an_unknown_change_says_unknown(prod, run_with):
    no_agents = variants.prod_opened(run_with)  # agents.count: 0, among other switches (tests/variants.py)
    agents = {r.name for r in prod.resources if "ci-agents" in r.urn}
    assert {"ci-agents-identity", "ci-agents-0-nic", "ci-agents-registration-token", "ci-agents-secrets-user"} <= agents
    changes = [c for c in cost.compare(cost.estimate(prod), cost.estimate(no_agents)) if c.name in agents]
    assert [c.name for c in changes] == ["ci-agents-0-vm", "ci-agents-1-vm"], \
        "identity, NIC, secret and role assignment are free"
    first = changes[0]
    size = _size(prod, "ci-agents-0-vm")
    assert first.unknown == (_vm_month(size) is None)
    [line] = cost.change_lines([first])
    expected = "unknown/month" if first.unknown else cost.signed(first.delta) + "/month"
    assert line.startswith(f"{expected}: ci-agents-0-vm deleted: VM {size}"), line
    # Negative: a known price turns the same change into a figure.
    assert cost.change_lines([dataclasses.replace(first, old=10.0, unknown=False)])[0].startswith("-$10.00/month")


def test_a_cheaper_bastion_is_not_shown_as_a_rise_when_the_old_price_is_unknown(prod, run_with):
    basic = variants.prod_opened(run_with)  # bastionSku: Basic, among other switches (tests/variants.py)
    [change] = [c for c in cost.compare(cost.estimate(prod), cost.estimate(basic)) if c.name == "bastion-host"]
    assert (change.name, change.what, change.unknown) == ("bastion-host", "Bastion Standard -> Bastion Basic", True)
    [line] = cost.change_lines([change])
    assert line == ("unknown/month: bastion-host Bastion Standard -> Bastion Basic (known prices $0.00 -> $138.70; "
                    "the rest is not in the price table)")
    assert "+$138.70/month" not in "\n".join(cost.markdown_section(cost.estimate(prod), cost.estimate(basic)))


def test_the_readme_shows_the_tools_figures(runs):
    # README's Cost section quotes each stack's total: regenerate it with `python -m offline cost` when
    # a stack file, the program or the price table changes it.
    readme = (PROJECT_DIR / "README.md").read_text()
    for stack, run in runs.items():
        est = cost.estimate(run)
        row = f"| {stack} | **{cost.money(est.total)}/month** |"
        assert row in readme, f"README's Cost table must show {row!r} (the tool's figure for {stack} today)"
        assert f"| {stack} | **{cost.money(est.total + 1)}/month** |" not in readme, "the check matches one figure only"


# ------------------------------------------------------------------------------------------------
# Alert rules: priced by what Azure meters (time series; rules by evaluation frequency)
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("frequency, band", [("PT1M", 1), ("PT5M", 5), ("PT10M", 10), ("PT15M", 15), ("PT1H", 15),
                                             ("P1D", 15), ("PT7M", 5)])
def test_a_log_search_alert_is_priced_at_its_frequency_band(frequency, band):
    rule = _resource("rule", prices.SCHEDULED_QUERY_RULE, evaluationFrequency=frequency)
    [line] = [l for l in cost.estimate(_run(rule)).lines if l.resource.name == "rule"]
    assert line.price is prices.TABLE[prices.SCHEDULED_QUERY_RULE][f"log alert {band} min"]
    assert line.known and line.monthly == line.price.usd


def test_a_log_search_alert_with_an_unreadable_frequency_is_unknown_not_the_cheapest_band():
    rule = _resource("rule", prices.SCHEDULED_QUERY_RULE, evaluationFrequency="hourly")
    [line] = [l for l in cost.estimate(_run(rule)).lines if l.resource.name == "rule"]
    assert line.price is None and line.monthly is None


def test_a_metric_alert_is_priced_per_time_series_it_monitors(prod):
    [line] = [l for l in cost.estimate(prod).lines if l.resource.type == prices.METRIC_ALERT]
    assert line.quantity == 1 and math.isclose(line.monthly, 0.10), "one workspace, one metric: one time series"
    # Negative: two scopes and two criteria are four time series.
    two = _resource("two", prices.METRIC_ALERT, scopes=["a", "b"], criteria={"allOf": [{"name": "x"}, {"name": "y"}]})
    [line] = [l for l in cost.estimate(_run(two)).lines if l.resource.name == "two"]
    assert line.quantity == 4 and math.isclose(line.monthly, 0.40)


# ------------------------------------------------------------------------------------------------
# VM sizes: dedicated and low-priority meters
# ------------------------------------------------------------------------------------------------
def test_a_low_priority_cluster_is_priced_at_its_sizes_low_priority_meter(dev, dev_switched):
    [line] = [l for l in cost.estimate(dev).lines if l.resource.name == "cluster-cpu-small-compute"]
    size = line.resource.input("properties.properties.vmSize")
    assert line.resource.input("properties.properties.vmPriority") == "LowPriority"
    assert line.price is prices.TABLE[prices.VIRTUAL_MACHINE][f"{size} low priority"] and line.known
    # Negative: the same cluster with dedicated nodes is priced at the size's dedicated meter.
    dedicated = dev_switched  # every cluster dedicated, among other switches (tests/variants.py)
    [line] = [l for l in cost.estimate(dedicated).lines if l.resource.name == "cluster-cpu-small-compute"]
    assert line.price is prices.TABLE[prices.VIRTUAL_MACHINE][size]


def test_each_low_priority_price_is_below_its_sizes_dedicated_price():
    # A typo in the copied figures (a dedicated price under a low-priority key) fails here.
    vms = prices.TABLE[prices.VIRTUAL_MACHINE]
    pairs = [(size, vms[f"{size} low priority"].usd, vms[size].usd) for size, *_ in prices.VM_WESTEUROPE]
    known = [(size, low, dedicated) for size, low, dedicated in pairs if low is not None]
    assert known and all(dedicated is not None and 0 < low < dedicated for _, low, dedicated in known), known


def test_the_serving_cluster_is_priced_by_tier_and_nodes(prod, prod_extended):
    """Prod's cluster: the Standard tier's hours and three D4s_v5 nodes around the clock at the size's
    VM price; the node OS disks are unknown (shown as unknown, not zero); on the Free tier the control
    plane line is zero."""
    [aks] = prod.of_type(prices.AKS)
    lines = cost._lines(aks, cost.assumptions_of(prod))
    assert [line.item for line in lines] == ["AKS control plane Standard", "3 x Standard_D4s_v5 (nodes at minCount)",
                                             "3 node OS disks"]
    assert lines[0].monthly == 0.10 * prices.HOURS_PER_MONTH and lines[1].quantity == 3 * prices.HOURS_PER_MONTH
    assert lines[1].price is prices.TABLE[prices.VIRTUAL_MACHINE]["Standard_D4s_v5"] and not lines[2].known
    free = prod_extended  # serving.tier: Free, among other switches (tests/variants.py)
    [aks] = free.of_type(prices.AKS)
    assert cost._lines(aks, cost.assumptions_of(free))[0].monthly == 0
