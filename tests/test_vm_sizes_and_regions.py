"""VM sizes and regions: every size the stacks use is one Azure still creates, a retired size names
its successor, a misspelt size or region gets a suggestion, and the tables themselves hold no typo.

The tables are `components/vm_sizes.py`; the configuration check (`components/config.py`) reports
their verdicts with every other problem, before the first resource is registered.
"""

from __future__ import annotations

import datetime
import re
import sys
from pathlib import Path

import pytest

from isolated_mlops.components import vm_sizes
from isolated_mlops.components.config import validate
from offline.engine import PROJECT_DIR, run_stack, stack_values
from tests.test_config_validation import ROOT_STACK, _set, at, check, problems_of
from tests.test_offline_preview import _project_copy

CHECKED = vm_sizes.LAST_CHECKED
STACKS = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in PROJECT_DIR.glob("Pulumi.*.yaml"))


def _sizes_of(stack: str) -> list[tuple[str, str]]:
    values = stack_values(stack)
    return [*((f"computeClusters[{i}].vmSize", c["vmSize"]) for i, c in enumerate(values["computeClusters"])),
            ("jumpHost.vmSize", values["jumpHost"]["vmSize"]), ("agents.vmSize", values["agents"]["vmSize"])]


# ---- Our own stack files -------------------------------------------------------------------------
@pytest.mark.parametrize("stack", STACKS)
def test_every_size_in_every_stack_file_is_current(stack: str):
    """Not retired, and not announced for retirement either: Microsoft restricts announced series in
    new subscriptions, and a stack file should not need a change the day the date passes."""
    values = stack_values(stack)
    cloud = values.get("cloud", "AzureCloud")
    for path, size in _sizes_of(stack):
        for day in (CHECKED, datetime.date.today()):
            verdict = vm_sizes.check_size(size, values["location"], cloud, today=day)
            assert verdict == vm_sizes.SizeCheck(), f"{stack} {path}: {verdict}"
    # The negative case: the sizes the stacks used before are caught by the same check.
    assert vm_sizes.check_size("Standard_NC6s_v3", "westeurope", today=CHECKED).problem
    assert vm_sizes.check_size("Standard_DS3_v2", "westeurope", today=CHECKED).note
    assert vm_sizes.check_size("Standard_B2s", "westeurope", today=CHECKED).note


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_location_is_a_region_of_its_cloud(stack: str):
    values = stack_values(stack)
    assert vm_sizes.check_region(values["location"], values.get("cloud", "AzureCloud")) == ""
    assert vm_sizes.check_region(values["location"], "AzureChinaCloud"), "the check can fail"


@pytest.mark.parametrize("stack", STACKS)
def test_stack_files_pass_validation_without_a_note(stack: str):
    config, problems = check(stack=stack)
    assert config is not None and not problems, problems
    assert config.notes == ()


# ---- Retired, announced, extended -----------------------------------------------------------------
RETIRED = [s for s in vm_sizes.SERIES if s.retirement and s.retirement.date <= CHECKED]


@pytest.mark.parametrize("series", RETIRED, ids=[s.name for s in RETIRED])
def test_a_retired_size_names_its_date_and_successor(series: vm_sizes.Series):
    assert series.retirement is not None
    size = series.sizes[0]
    problem = vm_sizes.check_size(size, "westeurope", today=CHECKED).problem
    assert problem.startswith(f"{size} is retired ({series.name} series, {series.retirement.date.isoformat()}): use ")
    assert series.retirement.successor in problem and f"e.g. {series.retirement.example}" in problem
    # The successor it names must itself deploy: a suggestion that fails is no help.
    assert vm_sizes.check_size(series.retirement.example, "westeurope", today=CHECKED) == vm_sizes.SizeCheck()


def test_the_retirements_the_review_found_are_in_the_table():
    """Microsoft Learn's retired-sizes list and the series retirement pages, as of LAST_CHECKED."""
    expected = {"NCv3": "2025-09-30", "NC (v1)": "2023-09-06", "NCv2": "2023-09-06", "ND (v1)": "2023-09-06",
                "NV (v1)": "2023-09-06", "NVv3": "2026-09-30", "NVv4": "2026-09-30", "A (v1) and Basic A": "2024-08-31",
                "Dv2": "2028-05-01", "DSv2": "2028-05-01", "B (v1)": "2028-11-15", "Fsv2": "2028-11-15"}
    dates = {s.name: s.retirement.date.isoformat() for s in vm_sizes.SERIES if s.retirement}
    assert {name: dates.get(name) for name in expected} == expected


def test_an_announced_series_is_accepted_with_a_note_until_its_date():
    before = vm_sizes.check_size("Standard_DS3_v2", "westeurope", today=CHECKED)
    assert not before.problem and "announced for retirement on 2028-05-01" in before.note
    assert "Standard_D4s_v5" in before.note
    after = vm_sizes.check_size("Standard_DS3_v2", "westeurope", today=datetime.date(2028, 5, 1))
    assert after.problem.startswith("Standard_DS3_v2 is retired (DSv2 series, 2028-05-01)")


def test_a_regional_extension_moves_the_date_in_that_region_only():
    """NCv3 runs on in China North 3 and Jio India West until 2027-06-30 (Microsoft's NCv3 page)."""
    assert vm_sizes.check_size("Standard_NC6s_v3", "chinanorth3", "AzureChinaCloud", today=CHECKED).note
    assert vm_sizes.check_size("Standard_NC6s_v3", "chinaeast3", "AzureChinaCloud", today=CHECKED).problem
    assert vm_sizes.check_size("Standard_NC6s_v3", "usgovvirginia", "AzureUSGovernment", today=CHECKED).problem


def test_a_series_a_cloud_does_not_offer_is_refused_there():
    assert "not offered in AzureUSGovernment" in vm_sizes.check_size(
        "Standard_B2s_v2", "usgovvirginia", "AzureUSGovernment", today=CHECKED).problem
    assert vm_sizes.check_size("Standard_D2s_v5", "usgovvirginia", "AzureUSGovernment", today=CHECKED) == \
        vm_sizes.SizeCheck()


def test_a_constrained_vcpu_size_is_judged_as_its_full_size():
    assert vm_sizes.check_size("Standard_E4-2s_v5", "westeurope", today=CHECKED) == vm_sizes.SizeCheck()
    assert vm_sizes.check_size("Standard_DS11-1_v2", "westeurope", today=CHECKED).note
    assert vm_sizes.check_size("Standard_E4-2s_v9", "westeurope", today=CHECKED).problem


# ---- Misspelt and unknown -----------------------------------------------------------------------
@pytest.mark.parametrize("size, meant", [
    ("Standard_DS3v2", "Standard_DS3_v2"),        # the `_` before the version
    ("Standard_D3S_v2", "Standard_DS3_v2"),       # the old DS series' S after the number
    ("Standard_D2S_v5", "Standard_D2s_v5"),       # capital feature letters
    ("standard_d2s_v5", "Standard_D2s_v5"),       # case
    ("Standard_NC24ads_A100v4", "Standard_NC24ads_A100_v4"),
    ("Standard_NC6sv3", "Standard_NC24ads_A100_v4"),  # a slip onto a retired size suggests its successor
    ("Standard_D2s_v55", "Standard_D2s_v5"),      # well formed, no such size
])
def test_a_misspelt_size_is_refused_with_the_size_meant(size: str, meant: str):
    problem = vm_sizes.check_size(size, "westeurope", today=CHECKED).problem
    assert problem.startswith(f"{size} is not ") and "did you mean" in problem, problem
    suggestions = problem.split("did you mean ", 1)[1]
    assert suggestions.startswith(meant), problem


def test_an_unknown_series_is_refused_pointing_at_the_table():
    problem = vm_sizes.check_size("Standard_X8s_v9", "westeurope", today=CHECKED).problem
    assert "not a size of any series in components/vm_sizes.py" in problem
    assert vm_sizes.check_size("Standard_D8s_v5", "westeurope", today=CHECKED) == vm_sizes.SizeCheck()


def test_a_suggestion_is_never_a_retired_size():
    for typo in ("Standard_NC6sv3", "Standard_NC12s_v33", "Standard_NV12sv3", "Standard_ND6sv1"):
        problem = vm_sizes.check_size(typo, "westeurope", today=CHECKED).problem
        for suggested in re.findall(r"Standard_\w+", problem.split("did you mean", 1)[-1]):
            assert not vm_sizes.check_size(suggested, "westeurope", today=CHECKED).problem, (typo, suggested)


@pytest.mark.parametrize("region, cloud, words", [
    ("westeruope", "AzureCloud", "westeruope is not an AzureCloud region; did you mean westeurope"),
    ("West Europe", "AzureCloud", "West Europe is not a programmatic region name; did you mean westeurope?"),
    ("west-europe", "AzureCloud", "did you mean westeurope?"),
    ("usgovvirgina", "AzureUSGovernment", "did you mean usgovvirginia"),
    ("westeurope", "AzureChinaCloud", "westeurope is a region of AzureCloud, not of AzureChinaCloud"),
    ("chinanorth3", "AzureCloud", "set cloud: AzureChinaCloud"),
])
def test_a_misspelt_region_is_refused_with_the_region_meant(region: str, cloud: str, words: str):
    assert words in vm_sizes.check_region(region, cloud)
    assert vm_sizes.check_region("westeurope", "AzureCloud") == ""


# ---- Through the configuration check: the key, the value, all at once ------------------------------
def test_a_retired_cluster_size_is_reported_at_its_key():
    problems = problems_of(_set("computeClusters.1.vmSize", "Standard_NC6s_v3"))
    assert problems == [
        "isolated-mlops:computeClusters[1].vmSize: Standard_NC6s_v3 is retired (NCv3 series, 2025-09-30): use an "
        "NCads H100 v5 or NC A100 v4 size (NCasT4_v3 for low-cost inference), e.g. Standard_NC24ads_A100_v4 "
        "(https://learn.microsoft.com/azure/virtual-machines/ncv3-retirement)"]


def test_every_size_and_the_region_are_reported_in_one_pass():
    def change(values):
        values["location"] = "westeruope"
        values["computeClusters"][0]["vmSize"] = "Standard_DS3v2"
        values["jumpHost"]["vmSize"] = "Standard_D3S_v2"
        values["agents"]["vmSize"] = "Standard_NV12s_v3"
    problems = problems_of(change)
    assert len(problems) == 4, problems
    assert "did you mean westeurope" in at(problems, "location")[0]
    assert "did you mean Standard_DS3_v2" in at(problems, "computeClusters[0].vmSize")[0]
    assert "did you mean Standard_DS3_v2" in at(problems, "jumpHost.vmSize")[0]
    assert "is retired (NVv3 series, 2026-09-30)" in at(problems, "agents.vmSize")[0]


def test_a_malformed_size_is_reported_once():
    """The shape check (`must be an Azure VM size`) and the table do not both complain."""
    problems = problems_of(_set("jumpHost.vmSize", "B2s"))
    assert len(at(problems, "jumpHost.vmSize")) == 1


def test_the_wrong_cloud_for_the_region_and_sizes_is_reported():
    problems = problems_of(_set("cloud", "AzureUSGovernment"))
    assert "westeurope is a region of AzureCloud, not of AzureUSGovernment" in at(problems, "location")[0]
    assert "not offered in AzureUSGovernment" in at(problems, "jumpHost.vmSize")[0]


def test_a_secret_size_is_judged_without_being_shown():
    values = dict(stack_values("prod"))
    values["jumpHost"] = {"vmSize": "Standard_NC6s_v3"}
    with pytest.raises(Exception) as raised:
        validate(values, "prod", secret_keys={"jumpHost"})
    problems = raised.value.problems  # type: ignore[attr-defined]
    assert at(problems, "jumpHost.vmSize") and "NC6s_v3" not in "\n".join(problems)


def test_an_announced_size_deploys_with_a_warning(dev_switched):
    run = dev_switched  # agents.vmSize: Standard_B2ms, among other switches (tests/variants.py)
    assert run.error is None and len(run.custom_resources()) > 50
    warnings = [line for line in run.logs if "agents.vmSize" in line]
    assert warnings and warnings[0].startswith("warning: ") and "2028-11-15" in warnings[0]


def test_a_retired_size_registers_nothing(run_with):
    run = run_with("prod", _set("computeClusters.1.vmSize", "Standard_NC6s_v3"))
    assert at(run.error.problems, "computeClusters[1].vmSize")
    assert [r.type for r in run.resources] == [ROOT_STACK]


def test_make_preview_of_a_bad_stack_file_exits_1_with_key_value_and_suggestion(tmp_path: Path, monkeypatch, capsys):
    # `python -m offline preview` in this process: tests/test_offline_preview.py runs the same path
    # (a config error the program reports) in a child process, as `make preview` does.
    from offline.__main__ import main

    monkeypatch.setattr(sys, "path", list(sys.path))  # --project-dir puts the copy on sys.path
    prod = (PROJECT_DIR / "Pulumi.prod.yaml").read_text()
    broken = (prod.replace("location: westeurope", "location: westeruope")
              .replace("vmSize: Standard_NC24ads_A100_v4", "vmSize: Standard_NC6s_v3")
              .replace("vmSize: Standard_B2ls_v2", "vmSize: Standard_DS3v2"))
    assert broken.count("westeruope") == broken.count("NC6s_v3") == broken.count("DS3v2") == 1
    project = _project_copy(tmp_path, broken)
    code = main(["preview", "--stack", "broken", "--project-dir", str(project)])
    child = capsys.readouterr()
    assert code == 1 and child.out == "", child.out
    lines = child.err.splitlines()
    assert lines[0] == "error: isolated-mlops/broken: invalid stack configuration (3 problem(s)):", lines
    assert any(line.startswith("  - isolated-mlops:location: westeruope is not an AzureCloud region; did you mean "
                               "westeurope") for line in lines), lines
    assert any(line.startswith("  - isolated-mlops:computeClusters[1].vmSize: Standard_NC6s_v3 is retired (NCv3 "
                               "series, 2025-09-30): use an NCads H100 v5 or NC A100 v4 size") for line in lines)
    assert any(line.startswith("  - isolated-mlops:jumpHost.vmSize: Standard_DS3v2 is not an Azure VM size name")
               and "did you mean Standard_DS3_v2" in line for line in lines)
    assert "Traceback" not in child.err


# ---- The tables themselves ------------------------------------------------------------------------
def test_every_size_the_table_lists_parses_and_belongs_to_one_series():
    listed = [size for series in vm_sizes.SERIES for size in series.sizes]
    assert len(listed) == len(set(listed)), "a size listed twice"
    unparsed = [size for size in listed if vm_sizes.parse(size) is None]
    assert not unparsed
    assert vm_sizes.parse("Standard_DS3v2") is None and vm_sizes.parse("Standard_D3S_v2") is None


def test_the_parser_takes_a_size_apart():
    name = vm_sizes.parse("Standard_NC24ads_A100_v4")
    assert name is not None and (name.family, name.vcpus, name.features, name.accelerator, name.version) == \
        ("NC", 24, "ads", "A100", 4)
    name = vm_sizes.parse("Standard_B2ms")
    assert name is not None and (name.family, name.vcpus, name.features, name.version) == ("B", 2, "ms", 1)
    name = vm_sizes.parse("Standard_E4-2s_v5")
    assert name is not None and name.constrained == 2 and name.unconstrained == "Standard_E4s_v5"


def test_every_series_and_retirement_cites_microsoft():
    for series in vm_sizes.SERIES:
        assert series.source.startswith("https://learn.microsoft.com/"), series.name
        if series.retirement:
            assert series.retirement.source.startswith("https://learn.microsoft.com/"), series.name
            assert series.retirement.example in vm_sizes.SERIES_OF_SIZE, series.name
    assert vm_sizes.LAST_CHECKED == datetime.date(2026, 12, 1)


def test_the_common_aml_series_are_covered():
    for size in ("Standard_D4s_v5", "Standard_D4as_v5", "Standard_D4ds_v5", "Standard_D4ls_v5", "Standard_D4s_v6",
                 "Standard_D4as_v6", "Standard_E8s_v5", "Standard_F8s_v2", "Standard_B2s_v2", "Standard_B2ats_v2",
                 "Standard_NC4as_T4_v3", "Standard_NC24ads_A100_v4", "Standard_NC40ads_H100_v5",
                 "Standard_NV36ads_A10_v5", "Standard_ND96asr_v4", "Standard_ND96isr_H100_v5"):
        assert vm_sizes.series_of(size) is not None, size


def test_every_region_is_a_programmatic_name_in_one_cloud():
    seen: dict[str, str] = {}
    for cloud, regions in vm_sizes.REGIONS.items():
        for region in regions:
            assert re.fullmatch(r"[a-z][a-z0-9]*", region), region
            assert region not in seen, f"{region} in {seen.get(region)} and {cloud}"
            seen[region] = cloud
    from isolated_mlops.components.zones import CLOUDS
    assert set(vm_sizes.REGIONS) == set(CLOUDS), "one region list per cloud the program models"


def test_the_readme_quota_note_matches_the_stack_files():
    """README "Prerequisites: quota": maxNodes (or count) x vCPUs per size, for each stack file's VMs."""
    readme = (PROJECT_DIR / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith(("| prod |", "| dev |"))]

    def row(stack: str, what: str) -> str:
        found = [line for line in rows if line.startswith(f"| {stack} | {what}")]
        assert len(found) == 1, f"README quota table: no single row for {stack} {what}"
        return found[0]

    def vcpus(size: str) -> int:
        name = vm_sizes.parse(size)
        assert name is not None
        return name.vcpus

    for stack in ("dev", "prod"):
        values = stack_values(stack)
        for cluster in values["computeClusters"]:
            line = row(stack, f"cluster `{cluster['name']}`")
            n, v = cluster["maxNodes"], vcpus(cluster["vmSize"])
            assert f"| {cluster['vmSize']} (" in line and f"| {n} × {v} = {n * v} |" in line, line
    for stack in ("dev", "prod"):
        values = stack_values(stack)
        line = row(stack, "jump host")
        assert f"| {values['jumpHost']['vmSize']} (" in line and f"| 1 × {vcpus(values['jumpHost']['vmSize'])} =" in line
        count, v = values["agents"]["count"], vcpus(values["agents"]["vmSize"])
        line = row(stack, "agents")
        assert f"| {values['agents']['vmSize']} (" in line and f"| {count} × {v} = {count * v} |" in line, line


@pytest.mark.parametrize("size,cpu", [
    ("Standard_D4s_v5", True), ("Standard_B2ls_v2", True), ("Standard_E16s_v6", True),
    ("Standard_NC24ads_A100_v4", False), ("Standard_NC4as_T4_v3", False), ("Standard_NV12ads_A10_v5", False),
    ("Standard_ND96asr_v4", False),
])
def test_only_cpu_sizes_can_build_images(size: str, cpu: bool):
    assert vm_sizes.is_cpu_only(size) is cpu
