"""Monitoring of the ML lifecycle: the drift table's private ingestion path, action groups, alert rules,
the retraining webhook, and the checks that guard them (each with a case that fails)."""

from __future__ import annotations

import dataclasses

import pytest

from isolated_mlops.components.config import ConfigError, validate
from offline.engine import StackRun, stack_values
from isolated_mlops.policy import rules as R
from tests.helpers import changed, run_views, violations, without
from tests.variants import ML_IDENTITY
from isolated_mlops.workspace.alerts import DRIFT_COLUMNS, DRIFT_STREAM, DRIFT_TABLE, FAILED_RUNS_METRIC, drift_query

TABLE = "azure-native:operationalinsights:Table"
DCR = "azure-native:monitor:DataCollectionRule"


def test_drift_table_has_the_columns_the_pipeline_writes(each_stack: StackRun):
    from datetime import datetime, timezone

    from ml.drift import DriftReport, FeatureDrift, drift_records
    report = DriftReport(features=(FeatureDrift("f", psi=0.3, psi_level="significant", ks_statistic=0.2,
                                                ks_p_value=0.001, ks_drift=True),))
    [row] = drift_records(report, model="m", stack="s", run_id="1", now=datetime(2026, 1, 1, tzinfo=timezone.utc))
    [table] = each_stack.of_type(TABLE)
    assert table.input("tableName") == DRIFT_TABLE
    assert [c["name"] for c in table.input("schema")["columns"]] == list(row) == [c for c, _ in DRIFT_COLUMNS]
    [rule] = each_stack.of_type(DCR)
    assert [c["name"] for c in rule.input("streamDeclarations")[DRIFT_STREAM]["columns"]] == list(row)
    [flow] = rule.input("dataFlows")
    assert flow["streams"] == [DRIFT_STREAM] and flow["outputStream"] == f"Custom-{DRIFT_TABLE}"
    assert table.protect == (each_stack.stack == "prod")


def test_drift_ingestion_is_private_and_exported(each_stack: StackRun):
    [dce] = each_stack.of_type(R.DATA_COLLECTION_ENDPOINT)
    assert dce.input("networkAcls")["publicNetworkAccess"] == "Disabled"
    assert violations(each_stack, "data-collection-endpoint-private") == []
    exported = each_stack.exports["driftIngestion"]
    assert exported["dce"].startswith("https://") and exported["dcrImmutableId"].startswith("dcr-")
    assert exported["stream"] == DRIFT_STREAM


def test_public_or_unscoped_collection_endpoint_is_caught(prod: StackRun):
    base = run_views(prod)
    opened = changed(base, lambda r: r.type == R.DATA_COLLECTION_ENDPOINT, networkAcls__publicNetworkAccess="Enabled")
    assert [v.message for v in violations(opened, "data-collection-endpoint-private")][0].startswith("set networkAcls")
    [dce] = prod.of_type(R.DATA_COLLECTION_ENDPOINT)
    unscoped = without(base, lambda r: r.type == R.SCOPED_RESOURCE and dce.urn in r.property_dependencies.get(
        "linkedResourceId", ()))
    assert [v.urn for v in violations(unscoped, "data-collection-endpoint-private")] == [dce.urn]


def test_prod_alerts_exist_and_reach_receivers(prod: StackRun):
    groups = {g.input("actionGroupName"): g for g in prod.of_type(R.ACTION_GROUP)}
    assert len(groups) == 2
    notify = next(g for n, g in groups.items() if "notify" in n)
    retrain = next(g for n, g in groups.items() if "retrain" in n)
    assert [e["emailAddress"] for e in notify.input("emailReceivers")] == ["ml-platform@example.com"]
    [hook] = retrain.input("webhookReceivers")
    assert "/_apis/public/distributedtask/webhooks/" in hook["serviceUri"]
    [failed] = prod.of_type(R.METRIC_ALERT)
    [criterion] = failed.input("criteria")["allOf"]
    assert criterion["metricName"] == FAILED_RUNS_METRIC and criterion["threshold"] == 1
    # A failed run tells people; it does not start another training run.
    assert len(failed.input("actions")) == 1 and failed.property_dependencies["actions"] == [notify.urn]
    # The drift rule, and the two serving rules (tests/test_platform_serving.py) that tell people only.
    [drift] = [r for r in prod.of_type(R.SCHEDULED_QUERY_RULE) if "serving" not in r.name]
    assert sorted(drift.property_dependencies["actions"]) == sorted([notify.urn, retrain.urn])
    [condition] = drift.input("criteria")["allOf"]
    assert condition["query"] == drift_query(DRIFT_TABLE, 0.25) and condition["operator"] == "GreaterThan"
    assert drift.input("scopes") and drift.property_dependencies["scopes"] == [prod.of_type(R.LOG_ANALYTICS)[0].urn]
    assert violations(prod, "alerts-reach-a-receiver") == []
    assert violations(prod, "action-group-urls-carry-no-plain-credential") == []


def test_dev_switches_alerts_off_but_keeps_the_drift_table(dev: StackRun):
    assert dev.of_type(R.ACTION_GROUP) == [] and dev.of_type(R.METRIC_ALERT) == []
    assert dev.of_type(R.SCHEDULED_QUERY_RULE) == [] and len(dev.of_type(TABLE)) == 1


def test_alert_without_receiver_is_caught(prod: StackRun):
    base = run_views(prod)
    mute = changed(base, lambda r: r.type == R.ACTION_GROUP and "notify" in r.props["actionGroupName"],
                   emailReceivers=[])
    assert len(violations(mute, "alerts-reach-a-receiver")) == 1
    deaf = changed(base, lambda r: r.type == R.METRIC_ALERT, actions=[])
    assert [v.message for v in violations(deaf, "alerts-reach-a-receiver")] == [
        "names no action group: nobody is told when it fires"]


@pytest.mark.parametrize("url, key", [
    ("https://prod-01.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?api-version=2016-10-01&sig=abc", "sig="),
    ("https://fn.azurewebsites.net/api/retrain?code=abc", "code="),
    ("https://api.example.com/hook?token=abc", "token="),
    ("https://user:pw@example.com/hook", "user:password@"),
])
def test_plain_credential_in_a_webhook_is_caught_unless_secret(prod: StackRun, url: str, key: str):
    base = run_views(prod)

    def retrain(r):
        return r.type == R.ACTION_GROUP and "retrain" in r.props["actionGroupName"]

    leaked = changed(base, retrain, webhookReceivers=[{"name": "x", "serviceUri": url}])
    [v] = violations(leaked, "action-group-urls-carry-no-plain-credential")
    assert key in v.message
    hidden = changed(base, retrain, lambda r: dataclasses.replace(r, secret_paths=("webhookReceivers",)),
                     webhookReceivers=[{"name": "x", "serviceUri": url}])
    assert violations(hidden, "action-group-urls-carry-no-plain-credential") == []


def _alerts(**change):
    values = stack_values("prod")
    values["alerts"] = {**values["alerts"], **change}
    return values


@pytest.mark.parametrize("change, expected", [
    ({"retrainWebhookUrl": "https://prod-01.logic.azure.com/workflows/x?sig=abc"},
     "alerts.retrainWebhookUrl: carries a credential (sig=)"),
    ({"retrainWebhookUrl": "http://example.com/hook"}, "alerts.retrainWebhookUrl: 'http://example.com/hook' must be an https:// URL"),
    ({"email": ["not-an-address"]}, "alerts.email[0]: 'not-an-address' is not an email address"),
    ({"email": [], "retrainWebhookUrl": None}, "alerts.email: is empty and no retrainWebhookUrl or retrainReaderPrincipalId is set"),
    ({"retrainReaderPrincipalId": "11111111-2222-3333-4444-555555555555"},
     "alerts.retrainReaderPrincipalId: is set but agents.kind is azure-devops"),
    ({"retrainReaderPrincipalId": "reader"}, "alerts.retrainReaderPrincipalId: 'reader' must be the principal (object) id"),
    ({"mlIdentityPrincipalId": "abc"}, "alerts.mlIdentityPrincipalId: 'abc' must be the ML delivery identity's principal"),
    ({"thresholds": {"driftPsi": 0}}, "alerts.thresholds.driftPsi: must be a number above 0"),
    ({"thresholds": {"failedRuns": 0}}, "alerts.thresholds.failedRuns: must be at least 1, got 0"),
    ({"thersholds": {}}, "alerts.thersholds: unknown key (did you mean 'thresholds'?)"),
])
def test_bad_alert_settings_are_one_clear_line(change: dict, expected: str):
    with pytest.raises(ConfigError) as error:
        validate(_alerts(**change), "prod")
    lines = [line for line in str(error.value).splitlines() if "alerts" in line]
    assert len(lines) == 1 and expected in lines[0], lines


def test_ml_identity_gets_publisher_on_the_rule_only_when_named(prod: StackRun, prod_extended: StackRun):
    publisher = "3913510d-42f4-4e42-8a64-420c390055eb"

    def publishers(run):
        return [a for a in run.of_type("azure-native:authorization:RoleAssignment")
                if a.input("roleDefinitionId").endswith(publisher)]

    assert publishers(prod) == []
    principal = ML_IDENTITY
    run = prod_extended  # alerts.mlIdentityPrincipalId named, among other switches (tests/variants.py)
    assert run.error is None
    [assignment] = publishers(run)
    [rule] = run.of_type(DCR)
    assert assignment.input("principalId") == principal and assignment.property_dependencies["scope"] == [rule.urn]


def test_no_alerts_key_means_no_drift_table(dev_switched: StackRun):
    run = dev_switched  # dev without the alerts key, among other switches (tests/variants.py)
    assert run.error is None and run.of_type(TABLE) == [] and run.exports["driftIngestion"]["dce"] is None


def test_the_retrain_webhook_starts_the_ml_delivery():
    """The action group's URL is the Azure DevOps incoming webhook the ML delivery listens on, whose
    service connection docs/delivery.md tells the team to create."""
    from pathlib import Path

    from tests.helpers import load_yaml

    root = Path(__file__).resolve().parent.parent
    pipeline = load_yaml(root / "pipelines" / "ml-delivery.yml")
    [hook] = pipeline["resources"]["webhooks"]
    assert f"`{hook['connection']}`" in (root / "docs" / "delivery.md").read_text()
    url = stack_values("prod")["alerts"]["retrainWebhookUrl"]
    assert url.startswith("https://dev.azure.com/") and "/_apis/public/distributedtask/webhooks/" in url
