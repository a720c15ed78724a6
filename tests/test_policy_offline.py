"""`offline.policy_check.check_run`: the pack's verdict on an offline run, with the pack's levels per stack."""

from __future__ import annotations

from typing import Callable

from offline.engine import StackRun
from isolated_mlops.policy import rules as R
from isolated_mlops.policy.adapters import views
from offline.policy_check import Finding, check_run, check_views, enforcement_levels, has_mandatory
from isolated_mlops.policy.rules import RULES
from tests import variants
from tests.helpers import changed


def test_prod_has_no_findings(prod: StackRun):
    assert check_run(prod, "prod") == []


def test_dev_findings_are_advisory_and_protection_is_not_asked(dev: StackRun):
    findings = check_run(dev, "dev")
    assert all(f.enforcement == "advisory" for f in findings)
    assert not [f for f in findings if f.rule == "stateful-resources-protected"]
    assert not has_mandatory(findings)


# prod's guards let down, three switches in one run (tests/variants.py), each its own rule's findings.
OPENED_RULES = {"aml-workspace-private", "stateful-resources-protected", "bastion-subnet"}


def test_broken_prod_run_has_a_mandatory_finding(run_with: Callable[..., StackRun]):
    run = variants.prod_opened(run_with)
    assert run.error is None
    findings = check_run(run, "prod")
    assert {f.rule for f in findings} == OPENED_RULES, "each switch its own rule's findings, and no other rule's"
    [finding] = [f for f in findings if f.rule == "aml-workspace-private"]
    assert finding == Finding("aml-workspace-private", finding.urn, finding.message, "mandatory", finding.fix)
    assert finding.urn.endswith("::ml-workspace-workspace") and "publicNetworkAccess" in finding.message
    assert has_mandatory(findings)
    # The stack file caused it, so the finding names the key that fixes it.
    assert finding.fix is not None and finding.fix.startswith(
        "set isolated-mlops:workspacePublicAccess: false in Pulumi.prod.yaml, or set "
        '"aml-workspace-private": "advisory" in policy/config/prod.json')


def test_the_same_break_in_dev_is_advisory(dev: StackRun):
    """(The break made on dev's views rather than by a second program run: same rules, faster.)"""
    broken = changed(views(dev), lambda r: r.type == R.WORKSPACE, publicNetworkAccess="Enabled")
    findings = check_views(broken, enforcement_levels("dev"))
    assert [(f.rule, f.enforcement) for f in findings] == [("aml-workspace-private", "advisory")]


def test_the_stack_config_decides_not_the_run(dev: StackRun):
    """dev's registrations judged with prod's levels: every unprotected stateful resource blocks."""
    findings = check_run(dev, "prod")
    assert findings and {(f.rule, f.enforcement) for f in findings} == {("stateful-resources-protected", "mandatory")}


def test_a_stack_without_config_is_mandatory_except_what_its_file_declares_deletable(dev: StackRun):
    """The default (policy/enforcement.py): mandatory throughout; `stateful-resources-protected`
    follows the stack file's `protectStatefulResources`."""
    for declared in ({}, {"protectStatefulResources": True}, {"protectStatefulResources": "true"}):
        assert set(enforcement_levels("staging", declared).values()) == {"mandatory"}, declared
    for deletable in ({"protectStatefulResources": False}, {"protectStatefulResources": "false"}):
        levels = enforcement_levels("staging", deletable)
        assert levels.pop("stateful-resources-protected") == "disabled"
        assert set(levels.values()) == {"mandatory"}
    # A copy of dev as a new stack: its file says deletable, so nothing is asked of it...
    assert check_run(dev, "staging") == []
    # ...but the same registrations from a file that asks for protection fail, with no key to blame:
    # the file asks for the right thing, so the program is at fault.
    asks = {"protectStatefulResources": True}
    findings = check_views(views(dev), enforcement_levels("staging", asks), "staging", asks)
    assert len(findings) == sum(1 for r in dev.resources if r.type in R.STATEFUL_TYPES) >= 6
    assert {(f.rule, f.enforcement, f.fix) for f in findings} == {("stateful-resources-protected", "mandatory", None)}


def test_keys_that_open_the_platform_never_lower_a_level(dev: StackRun):
    opened = {"workspacePublicAccess": True, "protectStatefulResources": False}
    assert enforcement_levels("staging", opened)["aml-workspace-private"] == "mandatory"
    broken = changed(views(dev), lambda r: r.type == R.WORKSPACE, publicNetworkAccess="Enabled")
    [finding] = check_views(broken, enforcement_levels("staging", opened), "staging", opened)
    assert (finding.rule, finding.enforcement) == ("aml-workspace-private", "mandatory")
    assert finding.fix == ('set isolated-mlops:workspacePublicAccess: false in Pulumi.staging.yaml, or set '
                           '"aml-workspace-private": "advisory" in policy/config/staging.json '
                           "(a new file, which replaces the default levels; mandatory by default now)")


def test_unprotected_prod_names_the_key_and_the_file_that_fix_it(run_with: Callable[..., StackRun]):
    run = variants.prod_opened(run_with)  # protectStatefulResources: false, among other switches
    findings = [f for f in check_run(run, "prod") if f.rule == "stateful-resources-protected"]
    assert len(findings) == len(R.STATEFUL_TYPES) and has_mandatory(findings)
    assert {f.fix for f in findings} == {
        "set isolated-mlops:protectStatefulResources: true in Pulumi.prod.yaml, or set "
        '"stateful-resources-protected": "disabled" in policy/config/prod.json (it is mandatory there now)'}


def test_every_stack_key_is_a_rule_and_a_key_of_the_stack_file():
    from isolated_mlops.components.config import TOP_LEVEL_KEYS
    from isolated_mlops.policy.enforcement import STACK_KEYS

    assert set(STACK_KEYS) <= {r.name for r in RULES}
    assert {k.key for k in STACK_KEYS.values()} <= set(TOP_LEVEL_KEYS)


def test_levels_cover_every_rule():
    for stack in ("prod", "dev", "staging"):
        assert set(enforcement_levels(stack)) == {r.name for r in RULES}
