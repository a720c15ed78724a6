"""The cross-cutting interface (components/interface.py) refuses what Azure would refuse, by name."""

import pytest

from isolated_mlops.components.interface import (CommonArgs, ManagedIdentity, RoleAssignmentSpec, check_common,
                                                 identity_type)
from isolated_mlops.components.roles import ACR_PULL


def test_identity_type_follows_the_options():
    assert identity_type(None) is None
    assert identity_type(ManagedIdentity()) is None
    assert identity_type(ManagedIdentity(system_assigned=True)) == "SystemAssigned"
    assert identity_type(ManagedIdentity(user_assigned_ids=["/id"])) == "UserAssigned"
    assert identity_type(ManagedIdentity(True, ["/id"])) == "SystemAssigned,UserAssigned"


@pytest.mark.parametrize("args, message", [
    (CommonArgs(lock="DoNotDelete"), "lock='DoNotDelete' is not a lock level; use one of CanNotDelete, ReadOnly"),
    (CommonArgs(role_assignments=[RoleAssignmentSpec("Owner-ish", "p")]), "role 'Owner-ish' is neither a role"),
    (CommonArgs(role_assignments=[RoleAssignmentSpec(ACR_PULL.name, "p", principal_type="Robot")]),
     "principal_type='Robot'"),
])
def test_bad_common_arguments_are_one_line_naming_the_argument(args, message):
    with pytest.raises(ValueError) as raised:
        check_common("KeyVault", args)
    assert message in str(raised.value) and str(raised.value).startswith("KeyVault: ")
    assert "\n" not in str(raised.value)


def test_good_common_arguments_pass():
    check_common("KeyVault", CommonArgs(lock="CanNotDelete", role_assignments=[
        RoleAssignmentSpec(ACR_PULL.name.upper(), "p"), RoleAssignmentSpec("7f951dda-4ed3-4680-a7ca-43fe172d538d", "p")]))
