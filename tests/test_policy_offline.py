"""`policy.offline.check_run`: the pack's verdict on an offline run, with the pack's levels per stack."""

from __future__ import annotations

from typing import Any, Callable

from offline.engine import StackRun
from policy import rules as R
from policy.adapters import views
from policy.offline import Finding, check_run, check_views, enforcement_levels, has_mandatory
from policy.rules import RULES
from tests.helpers import changed


def test_prod_has_no_findings(prod: StackRun):
    assert check_run(prod, "prod") == []


def test_dev_findings_are_advisory_and_protection_is_not_asked(dev: StackRun):
    findings = check_run(dev, "dev")
    assert all(f.enforcement == "advisory" for f in findings)
    assert not [f for f in findings if f.rule == "stateful-resources-protected"]
    assert not has_mandatory(findings)


def _opened_workspace(values: dict[str, Any]) -> None:
    values["workspacePublicAccess"] = True


def test_broken_prod_run_has_a_mandatory_finding(run_with: Callable[..., StackRun]):
    run = run_with("prod", _opened_workspace)
    assert run.error is None
    findings = check_run(run, "prod")
    [finding] = findings
    assert finding == Finding("aml-workspace-private", finding.urn, finding.message, "mandatory")
    assert finding.urn.endswith("::ml-workspace-workspace") and "publicNetworkAccess" in finding.message
    assert has_mandatory(findings)


def test_the_same_break_in_dev_is_advisory(dev: StackRun):
    """(The break made on dev's views rather than by a second program run: same rules, faster.)"""
    broken = changed(views(dev), lambda r: r.type == R.WORKSPACE, publicNetworkAccess="Enabled")
    findings = check_views(broken, enforcement_levels("dev"))
    assert [(f.rule, f.enforcement) for f in findings] == [("aml-workspace-private", "advisory")]


def test_the_stack_config_decides_not_the_run(dev: StackRun):
    """dev's registrations judged with prod's levels: every unprotected stateful resource blocks."""
    findings = check_run(dev, "prod")
    assert findings and {(f.rule, f.enforcement) for f in findings} == {("stateful-resources-protected", "mandatory")}


def test_a_stack_without_config_is_mandatory(dev: StackRun):
    assert set(enforcement_levels("staging").values()) == {"mandatory"}
    assert {f.enforcement for f in check_run(dev, "staging")} == {"mandatory"}


def test_levels_cover_every_rule():
    for stack in ("prod", "dev", "staging"):
        assert set(enforcement_levels(stack)) == {r.name for r in RULES}
