"""Resource providers and subscription features: the one table (components/providers.py) covers every
resource the stacks register, and the script, the README and docs/azure-requirements.md say the same.

azure-native registers no provider; a subscription without one fails `pulumi up` with
MissingSubscriptionRegistration. `bootstrap/register-providers.sh` is run here against a fake `az`
that records its calls, so its order and idempotence are tested, not only its text.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterable

import pytest

from isolated_mlops.components.providers import (MODULE_NAMESPACES, REGISTERED_BY_DEFAULT, RESOURCE_PROVIDERS, SUBSCRIPTION_FEATURES,
                                  namespace_of)
from offline.engine import PROJECT_DIR, StackRun

SCRIPT = PROJECT_DIR / "bootstrap" / "register-providers.sh"
BIN = Path(sys.executable).parent


def unregistered(types: Iterable[str]) -> dict[str, str]:
    """type token -> why its namespace is not covered (absent from the table, or unknown module)."""
    missing = {}
    for type_ in sorted(set(types)):
        try:
            namespace = namespace_of(type_)
        except KeyError as error:
            missing[type_] = str(error)
            continue
        if namespace is not None and namespace not in RESOURCE_PROVIDERS and namespace not in REGISTERED_BY_DEFAULT:
            missing[type_] = f"{namespace} is not in RESOURCE_PROVIDERS"
    return missing


@pytest.fixture(scope="module")
def registered_types(runs: dict[str, StackRun]) -> set[str]:
    """Every resource type the stacks and the state bootstrap register."""
    from tests.test_delivery_bootstrap import BOOTSTRAP, committed_run

    assert BOOTSTRAP == PROJECT_DIR / "bootstrap"
    bootstrap = committed_run()
    assert bootstrap.error is None, bootstrap.error
    return {r.type for run in [*runs.values(), bootstrap] for r in run.resources}


def test_every_resource_type_has_its_provider_in_the_table(registered_types: set[str]):
    assert unregistered(registered_types) == {}
    used = {namespace_of(t) for t in registered_types} - {None}
    # Nothing listed that no stack uses: the table says what the stacks need, not what might be nice.
    assert used == set(RESOURCE_PROVIDERS) | set(REGISTERED_BY_DEFAULT)


def test_a_resource_from_a_new_namespace_fails_the_check(registered_types: set[str]):
    missing = unregistered([*registered_types, "azure-native:cache:Redis", "azure-native:dbforpostgresql:Server"])
    assert set(missing) == {"azure-native:cache:Redis", "azure-native:dbforpostgresql:Server"}
    assert all("RESOURCE_PROVIDERS" in why for why in missing.values())
    assert namespace_of("random:index/randomString:RandomString") is None


def test_modules_named_unlike_their_namespace_map_to_a_listed_one():
    assert set(MODULE_NAMESPACES.values()) <= set(RESOURCE_PROVIDERS)
    assert namespace_of("azure-native:privatedns:PrivateZone") == "Microsoft.Network"
    assert namespace_of("azure-native:machinelearningservices:Workspace") == "Microsoft.MachineLearningServices"


# ---- The script, the README and the docs say what the table says ------------------------------------
def _bash_array(name: str) -> list[str]:
    match = re.search(rf"^{name}=\(\n(.*?)^\)", SCRIPT.read_text(), flags=re.M | re.S)
    assert match, f"{name}=( ... ) not found in {SCRIPT.name}"
    return [line.strip() for line in match.group(1).splitlines() if line.strip() and not line.strip().startswith("#")]


def test_script_registers_exactly_the_table():
    assert _bash_array("PROVIDERS") == list(RESOURCE_PROVIDERS)
    assert _bash_array("FEATURES") == [f"{ns}/{name}" for ns, name in SUBSCRIPTION_FEATURES]


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    level = heading.split(" ")[0]
    following = re.search(rf"^#{{1,{len(level)}}} ", text[start + len(heading):], flags=re.M)
    return text[start:start + len(heading) + (following.start() if following else len(text))]


def test_readme_prerequisites_and_requirements_doc_name_every_provider_and_feature():
    readme = _section((PROJECT_DIR / "README.md").read_text(), "### Prerequisites in the subscription")
    doc = _section((PROJECT_DIR / "docs" / "azure-requirements.md").read_text(),
                   "## Subscription: resource providers and features")
    for namespace in RESOURCE_PROVIDERS:
        assert f"az provider register --namespace {namespace}" in readme, namespace
        assert f"`{namespace}`" in doc, namespace
    for namespace, feature in SUBSCRIPTION_FEATURES:
        assert f"az feature register --namespace {namespace} --name {feature}" in readme
        assert f"`{namespace}/{feature}`" in doc
    assert "bootstrap/register-providers.sh" in readme


# ---- The script, run against a fake Azure CLI ----------------------------------------------------------
# Bash builtins only (no command substitution, no external command): the script calls `az` about
# 27 times a run, and a Python stand-in costs ~38 ms of CPU a call even with `-S`, this one ~4.
# Each call appends its arguments to `calls` (each followed by \x1f, one call a line); the state
# is one file a value in state/: feature.<namespace>.<name>, polls.<namespace>.<name> (how many
# more polls a Registering feature stays Registering) and provider.<namespace>.
FAKE_AZ = r'''#!/usr/bin/env bash
here=${0%/*}
printf '%s\x1f' "$@" >>"$here/calls"
printf '\n' >>"$here/calls"
args=("$@")
value() {  # value OPTION VARIABLE: the argument after OPTION, into VARIABLE
  local i
  for ((i = 0; i < ${#args[@]} - 1; i++)); do
    if [[ ${args[i]} == "$1" ]]; then printf -v "$2" '%s' "${args[i + 1]}"; return; fi
  done
  printf -v "$2" ''
}
state() {  # state NAME: its value, or NotRegistered, into REPLY
  REPLY=NotRegistered
  if [[ -f $here/state/$1 ]]; then read -r REPLY <"$here/state/$1"; fi
}
case "$1 $2" in
  "account show") echo sub-from-login ;;
  "feature show")
    value --namespace namespace; value --name name
    state "feature.$namespace.$name"
    if [[ $REPLY == Registering && -f $here/state/polls.$namespace.$name ]]; then
      read -r polls <"$here/state/polls.$namespace.$name"
      if ((polls <= 0)); then REPLY=Registered; echo Registered >"$here/state/feature.$namespace.$name"; fi
      echo $((polls - 1)) >"$here/state/polls.$namespace.$name"
    fi
    echo "$REPLY" ;;
  "feature register")
    value --namespace namespace; value --name name
    echo Registering >"$here/state/feature.$namespace.$name" ;;
  "provider register")
    value --namespace namespace
    echo Registered >"$here/state/provider.$namespace" ;;
  "provider show")
    value --namespace namespace
    state "provider.$namespace"
    echo "$REPLY" ;;
  *) echo "fake az: unexpected $*" >&2; exit 1 ;;
esac
'''


def run_script(tmp_path: Path, *args: str, polls: int = 2,
               timeout: int = 1800) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    az = fake / "az"
    az.write_text(FAKE_AZ)
    az.chmod(0o755)
    state = fake / "state"
    if not state.exists():
        state.mkdir()
        (state / "polls.Microsoft.Compute.EncryptionAtHost").write_text(f"{polls}\n")
    (fake / "calls").write_text("")
    env = {"PATH": f"{fake}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}", "POLL_SECONDS": "0",
           "FEATURE_TIMEOUT_SECONDS": str(timeout)}
    result = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=60)
    calls = [line.split("\x1f")[:-1] for line in (fake / "calls").read_text().splitlines()]
    return result, calls


def _verb(call: list[str]) -> str:
    return " ".join(call[:2])


def test_script_registers_the_feature_then_every_provider_in_one_subscription_and_is_idempotent(tmp_path: Path):
    result, calls = run_script(tmp_path, "--subscription", "sub-123")
    assert result.returncode == 0, result.stderr
    assert all(c[c.index("--subscription") + 1] == "sub-123" for c in calls), "every call names the subscription"
    verbs = [_verb(c) for c in calls]
    assert verbs.count("feature register") == 1
    registered = [c[c.index("--namespace") + 1] for c in calls if _verb(c) == "provider register"]
    assert registered == list(RESOURCE_PROVIDERS)
    assert all("--wait" in c for c in calls if _verb(c) == "provider register")
    # The feature is Registered before Microsoft.Compute is (re-)registered, which propagates it.
    last_feature_poll = max(i for i, c in enumerate(calls) if _verb(c) == "feature show")
    assert last_feature_poll < verbs.index("provider register")
    assert "feature Microsoft.Compute/EncryptionAtHost: Registered" in result.stdout
    assert "provider Microsoft.ManagedIdentity: Registered" in result.stdout

    # Run again on the same subscription: the registered feature is left alone, the providers re-registered.
    again, calls = run_script(tmp_path, "--subscription", "sub-123")
    assert again.returncode == 0, again.stderr
    assert "feature register" not in [_verb(c) for c in calls], "a registered feature is left alone"
    assert [c[c.index("--namespace") + 1] for c in calls if _verb(c) == "provider register"] == list(RESOURCE_PROVIDERS)


def test_script_defaults_to_the_signed_in_subscription_and_gives_up_on_a_feature_that_never_registers(tmp_path: Path):
    result, calls = run_script(tmp_path, polls=10**6, timeout=0)
    assert result.returncode == 1
    assert "not Registered" in result.stderr and "run this script again" in result.stderr
    assert "provider register" not in [_verb(c) for c in calls]
    # Without --subscription: the signed-in one (`az account show`), named on every later call.
    assert _verb(calls[0]) == "account show"
    assert len(calls) > 1 and all(c[c.index("--subscription") + 1] == "sub-from-login" for c in calls[1:])


@pytest.mark.parametrize("args", [("--subscription",), ("--sub", "x"), ("--subscription", "")])
def test_script_refuses_bad_arguments(tmp_path: Path, args: tuple[str, ...]):
    result, calls = run_script(tmp_path, *args)
    assert result.returncode == 2 and "usage:" in result.stderr and calls == []


def test_script_passes_shellcheck():
    result = subprocess.run([str(BIN / "shellcheck"), "--severity=style", str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
