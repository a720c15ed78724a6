"""Monitoring of the ML lifecycle: the drift table's private ingestion path, action groups, alert
rules, and the retraining trigger.

`DriftIngestion` is where the ML delivery's drift metric lands (`ml/drift.py drift_records`, sent by
`pipelines/ml/deliver.sh record` with the Logs Ingestion API): a custom Log Analytics table, a data
collection endpoint (DCE) added to the stack's Azure Monitor Private Link Scope, and a data
collection rule (DCR) with the stream the rows are posted to. The Logs Ingestion API "sends the data
to an endpoint specified by the DCR, or to a data collection endpoint (DCE) if you're using private
link" (https://learn.microsoft.com/azure/azure-monitor/logs/logs-ingestion-api-overview), and "if
the data source is sending to a destination configured for private link, the DCE configured in the
DCR for that data source must be added to AMPLS"
(https://learn.microsoft.com/azure/azure-monitor/essentials/data-collection-endpoint-overview);
Microsoft's design advice is to add "all Azure Monitor resources like Application Insights
components, Log Analytics workspaces, and data collection endpoints to the AMPLS"
(https://learn.microsoft.com/azure/azure-monitor/logs/private-link-design). The DCE refuses public
ingestion, as the Log Analytics workspace does, so the agents in the VNets are its only clients.

`Alerts` holds the action groups and the rules: failed training runs (a metric alert on the
workspace), data drift (a log search alert over the drift table), both with thresholds from the
stack file. The drift alert also calls the retraining webhook when the stack names one: an Azure
DevOps incoming webhook, which Microsoft documents as "publicly available, no authorization
required" (https://learn.microsoft.com/azure/devops/pipelines/yaml-schema/resources-webhooks-webhook),
so the action group holds no credential at all; README "Alerts and the retraining trigger" says
what that leaves open and why the pipeline does not trust the call.
"""

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
from pulumi_azure_native import authorization, monitor, operationalinsights

from isolated_mlops.components.standalone import as_args, type_token
from isolated_mlops.components.common_args import deployment_subscription
from isolated_mlops.components.interface import CommonArgs, apply_common, check_common
from isolated_mlops.components.roles import MONITORING_METRICS_PUBLISHER, role_definition_id

__all__ = ["DRIFT_COLUMNS", "DRIFT_STREAM", "DRIFT_TABLE", "AlertThresholds", "Alerts", "AlertsArgs",
           "DriftIngestion", "DriftIngestionArgs", "drift_query"]

# The table the drift rows land in. Custom tables' names end in `_CL`
# (https://learn.microsoft.com/azure/azure-monitor/logs/create-custom-table).
DRIFT_TABLE = "MlDataDrift_CL"
# A DCR's incoming custom stream is named `Custom-<name>`; the pipeline posts to it (DRIFT_STREAM).
DRIFT_STREAM = "Custom-MlDataDrift"
LOG_ANALYTICS_DESTINATION = "logs"

# The drift record's columns (ml/drift.py drift_records), with the type each has in the table and in
# the stream. Log Analytics spells the date type `dateTime`, a DCR stream `datetime`.
DRIFT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("TimeGenerated", "datetime"), ("Metric", "string"), ("Model", "string"), ("Stack", "string"),
    ("RunId", "string"), ("Feature", "string"), ("Psi", "real"), ("KsStatistic", "real"),
    ("KsPValue", "real"), ("Level", "string"),
)
_TABLE_TYPES = {"datetime": "dateTime"}

# Action groups and metric alerts are global resources; an action group's short name is at most 12
# characters (REST API, Action Groups - Create Or Update: `groupShortName` maxLength 12:
# https://learn.microsoft.com/rest/api/monitor/action-groups/create-or-update).
GLOBAL_LOCATION = "global"
NOTIFY_SHORT_NAME = "ml-notify"
RETRAIN_SHORT_NAME = "ml-retrain"

# "Failed Runs" (REST name) counts the workspace's failed runs, summed with the Total aggregation
# (https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-machinelearningservices-workspaces-metrics);
# Azure Monitor Baseline Alerts recommends an alert on it for every workspace
# (https://azure.github.io/azure-monitor-baseline-alerts/services/MachineLearningServices/workspaces).
WORKSPACE_METRIC_NAMESPACE = "Microsoft.MachineLearningServices/workspaces"
FAILED_RUNS_METRIC = "Failed Runs"


# What DriftIngestion refuses of the common arguments: its lock and roles go on the data collection rule.
DRIFT_INGESTION_UNSUPPORTED = {
    "private_endpoint": "its endpoint joins the Private Link Scope given in private_link_scope_name instead",
    "diagnostics": "a data collection rule's own logs are not collected here",
    "identity": "a data collection rule takes no managed identity here",
}


@dataclass
class DriftIngestionArgs(CommonArgs):
    """The drift table, its data collection endpoint (in the stack's AMPLS) and rule.

    `protect` covers the table (its rows are the drift history); `lock` and `role_assignments` apply to
    the data collection rule (the Logs Ingestion API admits callers by role on it); the rest does not apply.
    """

    table_name: str
    """The custom table (DRIFT_TABLE); custom table names end in `_CL`."""
    endpoint_name: str
    """The data collection endpoint's name."""
    rule_name: str
    """The data collection rule's name."""
    resource_group_name: pulumi.Input[str]
    """The resource group of the Log Analytics workspace and of the endpoint and rule."""
    location: str
    """The Log Analytics workspace's region: a DCE's logs ingestion endpoint serves workspaces in its own region (data-collection-endpoint-overview)."""
    log_analytics_name: pulumi.Input[str]
    """The Log Analytics workspace the table is created in (Monitoring's `log_analytics_name`)."""
    log_analytics_id: pulumi.Input[str]
    """The same workspace's ARM id: the rule's destination."""
    private_link_scope_name: pulumi.Input[str]
    """The stack's AMPLS: the DCE joins it, so ingestion goes through the existing azuremonitor endpoint."""
    retention_days: int = 30
    """Kept as long as the workspace keeps its other logs."""
    publisher_principal_id: Optional[str] = None
    """The ML delivery identity's principal id: Monitoring Metrics Publisher on the DCR; None: not assigned here."""


class DriftIngestion(pulumi.ComponentResource):
    """`mlops:workspace:DriftIngestion`: the drift table, its private DCE and the DCR that writes to it."""

    table_name: pulumi.Output[str]
    """The custom table's name."""
    logs_ingestion_endpoint: pulumi.Output[Optional[str]]
    """The DCE's logs ingestion URL: DRIFT_DCE for the pipeline."""
    rule_id: pulumi.Output[str]
    """The data collection rule's ARM id."""
    rule_immutable_id: pulumi.Output[str]
    """The rule's immutable id: DRIFT_DCR_ID for the pipeline."""

    def __init__(self, name: str, args: DriftIngestionArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args = as_args(DriftIngestionArgs, args)  # a mapping when the component package serves it
        super().__init__(type_token("mlops:workspace:DriftIngestion"), name, None, opts)
        check_common(type(self).__name__, args, DRIFT_INGESTION_UNSUPPORTED)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        self.table: operationalinsights.Table = operationalinsights.Table(
            f"{name}-table",
            table_name=args.table_name,
            workspace_name=args.log_analytics_name,
            resource_group_name=args.resource_group_name,
            plan=operationalinsights.TablePlanEnum.ANALYTICS,  # log search alerts query Analytics tables
            retention_in_days=args.retention_days,
            schema=operationalinsights.SchemaArgs(
                name=args.table_name,
                columns=[operationalinsights.ColumnArgs(name=c, type=_TABLE_TYPES.get(t, t)) for c, t in DRIFT_COLUMNS],
            ),
            # Its rows go with it: protected in production like the Log Analytics workspace.
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.endpoint: monitor.DataCollectionEndpoint = monitor.DataCollectionEndpoint(
            f"{name}-endpoint",
            data_collection_endpoint_name=args.endpoint_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            network_acls=monitor.DataCollectionEndpointNetworkAclsArgs(
                public_network_access=monitor.KnownPublicNetworkAccessOptions.DISABLED),
            tags=tags,
            opts=child,
        )
        self.scoped_endpoint: monitor.PrivateLinkScopedResource = monitor.PrivateLinkScopedResource(
            f"{name}-endpoint-scoped",
            name=args.endpoint_name,
            scope_name=args.private_link_scope_name,
            resource_group_name=args.resource_group_name,
            linked_resource_id=self.endpoint.id,
            opts=child,
        )
        self.rule: monitor.DataCollectionRule = monitor.DataCollectionRule(
            f"{name}-rule",
            data_collection_rule_name=args.rule_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            data_collection_endpoint_id=self.endpoint.id,
            stream_declarations={DRIFT_STREAM: monitor.StreamDeclarationArgs(
                columns=[monitor.ColumnDefinitionArgs(name=c, type=t) for c, t in DRIFT_COLUMNS])},
            destinations=monitor.DataCollectionRuleDestinationsArgs(log_analytics=[
                monitor.LogAnalyticsDestinationArgs(name=LOG_ANALYTICS_DESTINATION,
                                                    workspace_resource_id=args.log_analytics_id)]),
            # The output stream names the table: an input from it, so the rule waits for the table.
            data_flows=[monitor.DataFlowArgs(
                streams=[DRIFT_STREAM], destinations=[LOG_ANALYTICS_DESTINATION], transform_kql="source",
                output_stream=self.table.name.apply(lambda table: f"Custom-{table}"))],
            tags=tags,
            opts=child,
        )
        self.publisher: Optional[authorization.RoleAssignment] = None
        if args.publisher_principal_id:
            # The Logs Ingestion API admits a caller with Monitoring Metrics Publisher on the DCR
            # (https://learn.microsoft.com/azure/azure-monitor/logs/logs-ingestion-api-overview).
            self.publisher = authorization.RoleAssignment(
                f"{name}-publisher",
                scope=self.rule.id,
                role_definition_id=role_definition_id(deployment_subscription(self), MONITORING_METRICS_PUBLISHER),
                principal_id=args.publisher_principal_id,
                principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                opts=child,
            )
        self.common = apply_common(self, name, args, resource_id=self.rule.id,
                                   resource_group_name=args.resource_group_name, location=args.location,
                                   unsupported=DRIFT_INGESTION_UNSUPPORTED)
        self.table_name = self.table.name
        self.logs_ingestion_endpoint = self.endpoint.logs_ingestion.apply(lambda li: li.endpoint if li else None)
        self.rule_id = self.rule.id
        self.rule_immutable_id = self.rule.immutable_id
        self.register_outputs({
            "table_name": self.table_name,
            "logs_ingestion_endpoint": self.logs_ingestion_endpoint,
            "rule_id": self.rule_id,
            "rule_immutable_id": self.rule_immutable_id,
        })


@dataclass(frozen=True)
class AlertThresholds:
    """The numbers the alert rules compare against (stack file `alerts.thresholds`)."""

    failed_runs: int
    """Failed runs in the window that fire the failed-training alert."""
    drift_psi: float
    """A feature of the latest run with a PSI above this (or Level `significant`) fires the drift alert."""
    serving_latency_ms: int = 1000
    """95th-percentile request duration (ms) of the served models that fires the latency alert."""
    serving_error_rate_percent: float = 5.0
    """Percentage of failed requests that fires the error-rate alert."""


@dataclass
class AlertsArgs(CommonArgs):
    """Action groups and alert rules. Of the common arguments only `tags` applies (nothing here is stateful)."""

    resource_group_name: pulumi.Input[str]
    """The resource group of the action groups and rules."""
    location: str
    """The log search alert's region (the workspace's); action groups and metric alerts are global."""
    notify_group_name: str
    """The notifying action group's name."""
    retrain_group_name: str
    """The retraining action group's name (created only with a webhook)."""
    workspace_id: pulumi.Input[str]
    """The AML workspace, the failed-runs rule's scope."""
    log_analytics_id: pulumi.Input[str]
    """The drift rule's scope."""
    drift_table: pulumi.Input[str]
    """The drift table's name, from the table itself (so the rule waits for it)."""
    thresholds: AlertThresholds
    """What the rules compare against."""
    rule_prefix: str
    """Alert rule names start with it (`<prefix>-failed-runs`), unique in the resource group."""
    emails: Sequence[str] = ()
    """Email receivers of both action groups."""
    retrain_webhook_url: Optional[str] = None
    """The retraining pipeline's webhook (no credential in it: config checks); None: no trigger."""
    serving_app_insights_id: Optional[pulumi.Input[str]] = None
    """The Application Insights component the serving deployments report to; None (no serving): no serving rules."""


def drift_query(table: str, psi: float) -> str:
    """Rows for each feature of the latest run per model that drifted: Level significant or PSI above `psi`."""
    return (
        f"let latest = {table} | summarize arg_max(TimeGenerated, RunId) by Model;\n"
        f"{table}\n"
        "| join kind=inner (latest | project Model, RunId) on Model, RunId\n"
        f"| where Level == 'significant' or Psi > {psi}\n"
        "| project TimeGenerated, Model, Stack, RunId, Feature, Psi, KsStatistic, KsPValue, Level"
    )


# What the serving path emits: Kubernetes online deployments with `app_insights_enabled: true`
# (ml/aml/deployment.yml) send the inference server's request telemetry to the workspace's
# Application Insights ("Curated environments include integration with Application Insights ... Built-in
# metrics and logs are sent to Application Insights":
# https://learn.microsoft.com/azure/machine-learning/how-to-monitor-online-endpoints#using-application-insights).
# Its `requests` table has `duration` in milliseconds and `success`
# (https://learn.microsoft.com/azure/azure-monitor/app/data-model-complete#request). The workspace's online
# endpoint metrics (RequestLatency and others) are documented for managed endpoints, so the rules read
# the requests themselves. Over 15 minutes, evaluated every 5; at least MIN_REQUESTS requests, so one slow
# smoke request in a quiet hour is not an incident.
SERVING_WINDOW = "PT15M"
SERVING_FREQUENCY = "PT5M"
MIN_REQUESTS = 10


def serving_latency_query(latency_ms: int) -> str:
    """One row when the served requests' 95th-percentile duration is above `latency_ms`."""
    return ("requests\n"
            "| summarize total = count(), p95 = percentile(duration, 95)\n"
            f"| where total >= {MIN_REQUESTS} and p95 > {latency_ms}")


def serving_error_query(rate_percent: float) -> str:
    """One row when the share of failed served requests is above `rate_percent`."""
    return ("requests\n"
            "| summarize total = count(), failed = countif(success == false)\n"
            f"| where total >= {MIN_REQUESTS} and 100.0 * failed / total > {rate_percent}")


class Alerts(pulumi.ComponentResource):
    """`mlops:workspace:Alerts`: who is told (action groups) and when (failed runs, data drift)."""

    notify_group_id: pulumi.Output[str]
    """The notifying action group's ARM id."""
    retrain_group_id: pulumi.Output[Optional[str]]
    """The retraining action group's ARM id; None without a webhook."""
    failed_runs_rule_id: pulumi.Output[str]
    """The failed-runs metric alert's ARM id."""
    drift_rule_id: pulumi.Output[str]
    """The data-drift log search alert's ARM id."""

    def __init__(self, name: str, args: AlertsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args = as_args(AlertsArgs, args)  # a mapping when the component package serves it
        super().__init__(type_token("mlops:workspace:Alerts"), name, None, opts)
        check_common(type(self).__name__, args, {
            "lock": "alerts are several small resources; lock the resource group",
            "private_endpoint": "alert rules and action groups have no private-link group id",
            "diagnostics": "alert rules have no resource logs of their own",
            "role_assignments": "alerts are several resources; assign roles on the resource group",
            "identity": "the alerts carry no managed identity"})
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        emails = [monitor.MicrosoftCommonEmailReceiverArgs(name=f"email-{i}", email_address=address, use_common_alert_schema=True)
                  for i, address in enumerate(args.emails)]
        self.notify: monitor.ActionGroup = monitor.ActionGroup(
            f"{name}-notify",
            action_group_name=args.notify_group_name,
            group_short_name=NOTIFY_SHORT_NAME,
            resource_group_name=args.resource_group_name,
            location=GLOBAL_LOCATION,
            enabled=True,
            email_receivers=emails,
            tags=tags,
            opts=child,
        )
        # The retraining group is separate: a failed training run must not start another one.
        self.retrain: Optional[monitor.ActionGroup] = None
        if args.retrain_webhook_url:
            self.retrain = monitor.ActionGroup(
                f"{name}-retrain",
                action_group_name=args.retrain_group_name,
                group_short_name=RETRAIN_SHORT_NAME,
                resource_group_name=args.resource_group_name,
                location=GLOBAL_LOCATION,
                enabled=True,
                webhook_receivers=[monitor.WebhookReceiverArgs(
                    name="retrain-pipeline", service_uri=args.retrain_webhook_url, use_common_alert_schema=True)],
                tags=tags,
                opts=child,
            )
        self.failed_runs: monitor.MetricAlert = monitor.MetricAlert(
            f"{name}-failed-runs",
            rule_name=f"{args.rule_prefix}-failed-runs",
            resource_group_name=args.resource_group_name,
            location=GLOBAL_LOCATION,
            description="Azure ML training runs failed in the workspace.",
            severity=2,
            enabled=True,
            scopes=[args.workspace_id],
            # Both among the values the metric alerts API accepts (evaluationFrequency PT1M-PT1H,
            # windowSize PT1M-P1D: https://learn.microsoft.com/rest/api/monitor/metric-alerts/create-or-update).
            evaluation_frequency="PT15M",
            window_size="PT1H",
            criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                all_of=[monitor.MetricCriteriaArgs(
                    criterion_type="StaticThresholdCriterion",
                    name="failed-runs",
                    metric_namespace=WORKSPACE_METRIC_NAMESPACE,
                    metric_name=FAILED_RUNS_METRIC,
                    time_aggregation=monitor.AggregationTypeEnum.TOTAL,
                    operator=monitor.Operator.GREATER_THAN_OR_EQUAL,
                    threshold=args.thresholds.failed_runs,
                )],
            ),
            actions=[monitor.MetricAlertActionArgs(action_group_id=self.notify.id)],
            tags=tags,
            opts=child,
        )
        groups = [self.notify.id, *([self.retrain.id] if self.retrain else [])]
        self.drift: monitor.ScheduledQueryRule = monitor.ScheduledQueryRule(
            f"{name}-drift",
            rule_name=f"{args.rule_prefix}-data-drift",
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind=monitor.Kind.LOG_ALERT,
            description="A feature of the latest ML delivery run drifted (ml_data_drift): retrain.",
            severity=2,
            enabled=True,
            scopes=[args.log_analytics_id],
            # Hourly over the last two hours: a delivery run's rows are seen twice, so rows that
            # arrive late (ingestion takes minutes) are not missed between two evaluations.
            evaluation_frequency="PT1H",
            window_size="PT2H",
            # Stateful: notifies (and calls the retraining webhook) once when it fires, not at every
            # evaluation while the condition holds (https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-overview#alerts-and-state).
            auto_mitigate=True,
            criteria=monitor.ScheduledQueryRuleCriteriaArgs(all_of=[monitor.ConditionArgs(
                query=pulumi.Output.from_input(args.drift_table).apply(
                    lambda table: drift_query(table, args.thresholds.drift_psi)),
                time_aggregation=monitor.TimeAggregation.COUNT,
                # The SDK's ConditionOperator enum holds another API's values (`gt`); a log search
                # alert's operator is `GreaterThan` (REST API, Scheduled Query Rules, ConditionOperator:
                # https://learn.microsoft.com/rest/api/monitor/scheduled-query-rules/create-or-update).
                operator="GreaterThan",
                threshold=0,
                failing_periods=monitor.ConditionFailingPeriodsArgs(
                    number_of_evaluation_periods=1, min_failing_periods_to_alert=1),
            )]),
            actions=monitor.ActionsArgs(action_groups=groups),
            tags=tags,
            opts=child,
        )
        self.serving_latency: Optional[monitor.ScheduledQueryRule] = None
        self.serving_errors: Optional[monitor.ScheduledQueryRule] = None
        if args.serving_app_insights_id is not None:
            self.serving_latency = self._serving_rule(
                f"{name}-serving-latency", f"{args.rule_prefix}-serving-latency", args,
                f"Served models: 95th-percentile latency above {args.thresholds.serving_latency_ms} ms over 15 minutes.",
                serving_latency_query(args.thresholds.serving_latency_ms))
            self.serving_errors = self._serving_rule(
                f"{name}-serving-errors", f"{args.rule_prefix}-serving-errors", args,
                f"Served models: more than {args.thresholds.serving_error_rate_percent}% of requests failed over 15 minutes.",
                serving_error_query(args.thresholds.serving_error_rate_percent))
        self.notify_group_id = self.notify.id
        self.retrain_group_id = self.retrain.id.apply(lambda i: i) if self.retrain else pulumi.Output.from_input(None)
        self.failed_runs_rule_id = self.failed_runs.id
        self.drift_rule_id = self.drift.id
        self.register_outputs({
            "notify_group_id": self.notify_group_id,
            "retrain_group_id": self.retrain_group_id,
            "failed_runs_rule_id": self.failed_runs_rule_id,
            "drift_rule_id": self.drift_rule_id,
        })

    def _serving_rule(self, name: str, rule_name: str, args: AlertsArgs, description: str,
                      query: str) -> monitor.ScheduledQueryRule:
        """A log search alert over the served requests, to the notify group only: a slow or failing model
        is for people (roll back: docs/delivery.md), not a reason to retrain."""
        return monitor.ScheduledQueryRule(
            name,
            rule_name=rule_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind=monitor.Kind.LOG_ALERT,
            description=description,
            severity=1,
            enabled=True,
            scopes=[args.serving_app_insights_id],  # type: ignore[list-item]
            evaluation_frequency=SERVING_FREQUENCY,
            window_size=SERVING_WINDOW,
            auto_mitigate=True,
            criteria=monitor.ScheduledQueryRuleCriteriaArgs(all_of=[monitor.ConditionArgs(
                query=query,
                time_aggregation=monitor.TimeAggregation.COUNT,
                operator="GreaterThan",  # the REST value; see the drift rule
                threshold=0,
                failing_periods=monitor.ConditionFailingPeriodsArgs(
                    number_of_evaluation_periods=1, min_failing_periods_to_alert=1),
            )]),
            actions=monitor.ActionsArgs(action_groups=[self.notify.id]),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
