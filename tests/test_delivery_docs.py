"""docs/delivery.md stays true to the code: the roles it tells you to allow, the variables it tells you
to set and the environments it tells you to create are the ones the program and workflows use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from isolated_mlops.components.roles import ASSIGNED_ROLES
from offline.engine import StackRun
from tests.helpers import parse_yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = (ROOT / "docs" / "delivery.md").read_text()
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _condition_roles(docs: str) -> list[set[str]]:
    """The role ids of each `GuidEquals {...}` clause of the documented condition (write, then delete)."""
    return [set(re.findall(GUID, ids)) for ids in re.findall(r"GuidEquals \{([^}]*)\}", docs)]


def test_the_constrained_rbac_condition_covers_every_role_the_program_assigns(each_stack: StackRun) -> None:
    # If the program starts granting another role, the deploying identity's condition must allow it.
    clauses = _condition_roles(DOCS)
    assert len(clauses) == 2, "the condition (write and delete clauses) is missing from docs/delivery.md"
    assigned = {r.input("roleDefinitionId").rsplit("/", 1)[1]
                for r in each_stack.of_type("azure-native:authorization:RoleAssignment")}
    assert assigned, "the stack assigns no role: this test would check nothing"
    for documented in clauses:
        assert assigned <= documented, f"roles granted but not allowed by the documented condition: {assigned - documented}"


def test_the_condition_allows_exactly_the_roles_table() -> None:
    """No more than the program needs either: the condition, the docs' table and components/roles.py agree."""
    table = {role.id for role in ASSIGNED_ROLES}
    assert all(clause == table for clause in _condition_roles(DOCS)), _condition_roles(DOCS)
    for role in ASSIGNED_ROLES:
        assert f"| {role.name} | `{role.id}` |" in DOCS, role.name
    # The check can fail: a condition that forgot AcrPull is caught.
    forgot = DOCS.replace(", 7f951dda-4ed3-4680-a7ca-43fe172d538d", "")
    assert any(clause != table for clause in _condition_roles(forgot))


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
    # `environment: ${{ stack.key }}` and `<prefix>${{ stack.key }}`: one environment and one service
    # connection per entry of the pipeline's `stacks` parameter.
    document = parse_yaml(pipeline)
    stacks = next((p["default"] for p in document.get("parameters", []) if p["name"] == "stacks"), {})
    for environment in re.findall(r"environment: (\S+)", pipeline):
        for name in (stacks if environment.startswith("${{") else [environment]):
            assert f"`{name}`" in DOCS, f"environment {name} is not documented"
    for connection in re.findall(r"default: (isolated-mlops-\S*)", pipeline):
        for name in ([connection + s for s in stacks] if connection.endswith("-") else [connection]):
            assert f"`{name}`" in DOCS, f"service connection {name} is not documented"
