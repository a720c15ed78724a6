"""docs/delivery.md stays true to the code: the roles it tells you to allow, the variables it tells you
to set and the environments it tells you to create are the ones the program and workflows use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from offline.engine import StackRun

ROOT = Path(__file__).resolve().parent.parent
DOCS = (ROOT / "docs" / "delivery.md").read_text()
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def test_the_constrained_rbac_condition_covers_every_role_the_program_assigns(each_stack: StackRun) -> None:
    # If the program starts granting another role, the deploying identity's condition must allow it.
    documented = set(re.findall(r"GuidEquals \{(" + GUID + r")\}", DOCS))
    assert documented, "the condition is missing from docs/delivery.md"
    assigned = {r.input("roleDefinitionId").rsplit("/", 1)[1]
                for r in each_stack.of_type("azure-native:authorization:RoleAssignment")}
    assert assigned, "the stack assigns no role: this test would check nothing"
    assert assigned <= documented, f"roles granted but not allowed by the documented condition: {assigned - documented}"


def test_every_variable_the_workflows_read_is_documented() -> None:
    used = set()
    for path in (ROOT / ".github" / "workflows").glob("*.yml"):
        used |= set(re.findall(r"vars\.([A-Z_]+)", path.read_text()))
    assert {"ARM_CLIENT_ID", "ARM_TENANT_ID", "ARM_SUBSCRIPTION_ID", "PULUMI_BACKEND_URL"} <= used
    for name in used:
        assert f"`{name}`" in DOCS, f"vars.{name} is used by a workflow but not documented"


@pytest.mark.parametrize("name", ["azure-pipelines.yml", "ml-delivery.yml"])
def test_every_pipeline_variable_group_and_environment_is_documented(name: str) -> None:
    pipeline = (ROOT / "pipelines" / name).read_text()
    for group in re.findall(r"- group: (\S+)", pipeline):
        assert f"`{group}`" in DOCS
    for environment in re.findall(r"environment: (\S+)", pipeline):
        assert f"`{environment}`" in DOCS
    for connection in re.findall(r"default: (isolated-mlops-\S+)", pipeline):
        assert f"`{connection}`" in DOCS
