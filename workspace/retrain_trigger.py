"""The GitHub retraining trigger's one right in Azure: read the stack's alerts.

GitHub teams retrain by pulling (README "Alerts and the retraining trigger"): the scheduled workflow
`.github/workflows/ml-retrain.yml` signs in with OIDC workload identity federation as a reader
identity (`id-mlops-ml-retrain-<stack>`, no secret) and lists the fired alerts of the stack's
resource group with the Alerts Management API ("Alerts - Get All",
https://learn.microsoft.com/rest/api/monitor/alertsmanagement/alerts/get-all), called at the resource
group's scope (`pipelines/ml/retrain-poll.sh`): a role applies at its scope and below
(https://learn.microsoft.com/azure/role-based-access-control/scope-overview), so this assignment does
not cover a subscription-scope list; `ml/retrain.py` decides. This component grants that identity
**Monitoring Reader** on the resource group: it reads monitoring data (alerts included) and can
change nothing
(https://learn.microsoft.com/azure/azure-monitor/roles-permissions-security). The resource group is
the narrowest scope that holds both rules' alerts (their targets are the workspace and the Log
Analytics workspace, both in it).
"""

from dataclasses import dataclass
from typing import Optional

import pulumi
from pulumi_azure_native import authorization

from isolated_mlops.components.common_args import deployment_subscription
from isolated_mlops.components.interface import CommonArgs, check_common
from isolated_mlops.components.roles import MONITORING_READER, role_definition_id
from isolated_mlops.components.standalone import as_args, type_token

__all__ = ["RetrainReader", "RetrainReaderArgs"]


@dataclass
class RetrainReaderArgs(CommonArgs):
    """Monitoring Reader on the resource group for the retraining trigger's identity. Of the common
    arguments only `tags` and `protect` are accepted (a role assignment has no tags; nothing is stateful)."""

    principal_id: str
    """The reader identity's principal (object) id (stack file alerts.retrainReaderPrincipalId)."""
    resource_group_id: pulumi.Input[str]
    """The stack's resource group: the alert rules and their targets live in it."""


class RetrainReader(pulumi.ComponentResource):
    """`mlops:workspace:RetrainReader`: Monitoring Reader for the GitHub retraining trigger's identity."""

    assignment_id: pulumi.Output[str]
    """The role assignment's ARM id."""

    def __init__(self, name: str, args: RetrainReaderArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args = as_args(RetrainReaderArgs, args)  # a mapping when the component package serves it
        super().__init__(type_token("mlops:workspace:RetrainReader"), name, None, opts)
        check_common(type(self).__name__, args, {
            name: "it is one role assignment, which takes no lock, endpoint, logs, roles or identity"
            for name in ("lock", "private_endpoint", "diagnostics", "role_assignments", "identity")})
        self.assignment: authorization.RoleAssignment = authorization.RoleAssignment(
            f"{name}-monitoring-reader",
            scope=args.resource_group_id,
            role_definition_id=role_definition_id(deployment_subscription(self), MONITORING_READER),
            principal_id=args.principal_id,
            # A managed identity: ServicePrincipal lets ARM skip the directory lookup that fails while a
            # new identity replicates (https://learn.microsoft.com/azure/role-based-access-control/role-assignments-template#new-service-principal).
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.assignment_id = self.assignment.id
        self.register_outputs({"assignment_id": self.assignment_id})
