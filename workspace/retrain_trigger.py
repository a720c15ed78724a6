"""The GitHub retraining trigger's one right in Azure: read the stack's alerts.

GitHub teams retrain by pulling (README "Alerts and the retraining trigger"): the scheduled workflow
`.github/workflows/ml-retrain.yml` signs in with OIDC workload identity federation as a reader
identity (`id-mlops-ml-retrain-<stack>`, no secret) and lists the fired alerts of the stack's
resource group with the Alerts Management API ("Alerts - Get All",
https://learn.microsoft.com/rest/api/monitor/alertsmanagement/alerts/get-all), called at the resource
group's scope (`pipelines/ml/retrain-poll.sh`): a role applies at its scope and below
(https://learn.microsoft.com/azure/role-based-access-control/scope-overview), so this assignment does
not cover a subscription-scope list; `ml/retrain.py` decides. This component grants that identity **Monitoring Reader** on the resource group: it reads
monitoring data (alerts included) and can change nothing
(https://learn.microsoft.com/azure/azure-monitor/roles-permissions-security). The resource group is
the narrowest scope that holds both rules' alerts (their targets are the workspace and the Log
Analytics workspace, both in it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
from pulumi_azure_native import authorization

from isolated_mlops.components.roles import MONITORING_READER, role_definition_id


@dataclass
class RetrainReaderArgs:
    principal_id: str
    """The reader identity's principal (object) id (stack file alerts.retrainReaderPrincipalId)."""
    resource_group_id: pulumi.Input[str]
    """The stack's resource group: the alert rules and their targets live in it."""
    subscription_id: pulumi.Input[str]


class RetrainReader(pulumi.ComponentResource):
    """`mlops:workspace:RetrainReader`: Monitoring Reader for the GitHub retraining trigger's identity."""

    assignment: authorization.RoleAssignment

    def __init__(self, name: str, args: RetrainReaderArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlops:workspace:RetrainReader", name, None, opts)
        self.assignment = authorization.RoleAssignment(
            f"{name}-monitoring-reader",
            scope=args.resource_group_id,
            role_definition_id=role_definition_id(args.subscription_id, MONITORING_READER),
            principal_id=args.principal_id,
            # A managed identity: ServicePrincipal lets ARM skip the directory lookup that fails while a
            # new identity replicates (https://learn.microsoft.com/azure/role-based-access-control/role-assignments-template#new-service-principal).
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"assignment_id": self.assignment.id})
