"""How retraining starts follows the stack's CI system (agents.kind): Azure DevOps is pushed to by the
action group's webhook; GitHub pulls (.github/workflows/ml-retrain.yml), and the program grants its
reader identity Monitoring Reader on the resource group. Each case has its failing counterpart."""

from __future__ import annotations

from typing import Any

import pytest

from isolated_mlops.components.config import ConfigError, validate
from isolated_mlops.components.roles import MONITORING_READER
from offline.engine import StackRun, stack_values
from tests.variants import RETRAIN_READER as READER, github

ASSIGNMENT = "azure-native:authorization:RoleAssignment"


def readers(run: StackRun) -> list[Any]:
    return [a for a in run.of_type(ASSIGNMENT) if a.input("roleDefinitionId").endswith(MONITORING_READER.id)]


def test_a_github_stack_grants_its_reader_monitoring_reader_on_the_resource_group(prod_extended: StackRun) -> None:
    run = prod_extended  # prod as a GitHub team writes it, among other switches (tests/variants.py)
    assert run.error is None, run.error
    [assignment] = readers(run)
    [group] = run.of_type("azure-native:resources:ResourceGroup")
    assert assignment.input("principalId") == READER and assignment.input("principalType") == "ServicePrincipal"
    assert assignment.property_dependencies["scope"] == [group.urn]
    assert [a for a in run.of_type("azure-native:monitor:ActionGroup") if "retrain" in a.input("actionGroupName")] == []


def test_the_azure_devops_stack_has_no_reader(prod: StackRun) -> None:
    assert readers(prod) == []


def test_a_webhook_on_a_github_stack_is_one_clear_line() -> None:
    values = github(stack_values("prod"))
    values["alerts"]["retrainWebhookUrl"] = "https://dev.azure.com/contoso/_apis/public/distributedtask/webhooks/x"
    with pytest.raises(ConfigError) as error:
        validate(values, "prod")
    [line] = [line for line in str(error.value).splitlines() if "alerts" in line]
    assert "alerts.retrainWebhookUrl: is set but agents.kind is github" in line and "retrainReaderPrincipalId" in line


def test_the_reader_role_is_one_the_deployer_may_assign() -> None:
    from isolated_mlops.components.roles import ASSIGNED_ROLES
    from pathlib import Path

    assert MONITORING_READER in ASSIGNED_ROLES
    assert MONITORING_READER.id in (Path(__file__).resolve().parent.parent / "docs" / "delivery.md").read_text()
