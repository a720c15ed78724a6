"""The CrossGuard pack: built from the rules without starting a server, driven the way the engine
drives it (Analyze per resource, then AnalyzeStack), configured per stack, and started for real.

The in-process tests call pulumi-policy's own analyzer servicer with the same protobuf requests the
engine sends, built from the offline engine's registrations of the real program. One test starts
`python policy/` exactly as Pulumi's Python host does and talks gRPC to it.
"""

from __future__ import annotations

import ast
import copy
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import grpc
import pulumi
import pytest
from google.protobuf import empty_pb2
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY, deserialize_properties, serialize_properties
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from offline.engine import RegisteredResource, StackRun
from isolated_mlops.policy import enforcement as E
from isolated_mlops.policy import rules as R
from isolated_mlops.policy.adapters import from_policy_resource
from isolated_mlops.policy.pack import PACK_NAME, InputsSeen, build_policies, pack_arguments, rules_table
from isolated_mlops.policy.rules import RULES, UNKNOWN
from tests.policy_wire import Wire, analyze_each, analyze_stack, diagnostics, not_applicable, servicer_for

PROJECT_DIR = Path(__file__).resolve().parent.parent
NAMES = [r.name for r in RULES]


# --------------------------------------------------------------------------------------------
# Building the pack
# --------------------------------------------------------------------------------------------
def test_one_policy_per_rule_same_name_and_description():
    policies = build_policies()
    assert [(p.name, p.description) for p in policies] == [(r.name, r.description) for r in RULES]
    for policy, rule in zip(policies, RULES):
        expected = ResourceValidationPolicy if rule.per_resource else StackValidationPolicy
        assert isinstance(policy, expected), rule.name


def test_only_the_entry_point_starts_a_server():
    """`PolicyPack(...)` blocks: only policy/__main__.py may build it; the rest stays importable."""
    def builds_pack(path: Path) -> bool:
        return any(isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "PolicyPack"
                   for node in ast.walk(ast.parse(path.read_text())))
    starters = [p.name for p in sorted((PROJECT_DIR / "policy").glob("*.py")) if builds_pack(p)]
    assert starters == ["__main__.py"]
    assert "PolicyPack(**pack_arguments(" in (PROJECT_DIR / "policy" / "__main__.py").read_text()


def test_policy_project_file_uses_the_project_virtualenv():
    from tests.helpers import load_yaml

    document = load_yaml(PROJECT_DIR / "policy" / "PulumiPolicy.yaml")
    assert document["runtime"]["name"] == "python"
    venv = (PROJECT_DIR / "policy" / document["runtime"]["options"]["virtualenv"]).resolve()
    assert venv == (PROJECT_DIR / ".venv").resolve()
    assert "pulumi-policy" in (PROJECT_DIR / "requirements.txt").read_text()


def test_pack_arguments_per_stack():
    prod, dev, other = pack_arguments("prod"), pack_arguments("dev"), pack_arguments(None)
    assert prod["name"] == dev["name"] == PACK_NAME
    assert prod["enforcement_level"].value == "mandatory"
    assert {k: v.value for k, v in dev["initial_config"].items()} == {
        "all": "advisory", "stateful-resources-protected": "disabled"}
    assert {k: v.value for k, v in prod["initial_config"].items()} == {"all": "mandatory"}
    assert other["initial_config"] is None  # no stack given: the pack default (mandatory) applies


# --------------------------------------------------------------------------------------------
# Enforcement configuration (policy/config/<stack>.json)
# --------------------------------------------------------------------------------------------
def test_prod_is_mandatory_throughout():
    assert set(E.resolve_levels(E.config_for_stack("prod", NAMES), NAMES).values()) == {"mandatory"}


def test_dev_is_advisory_and_does_not_ask_for_protection():
    levels = E.resolve_levels(E.config_for_stack("dev", NAMES), NAMES)
    assert levels.pop("stateful-resources-protected") == "disabled"
    assert set(levels.values()) == {"advisory"}


def test_a_stack_without_a_config_file_is_held_to_production():
    assert set(E.resolve_levels(E.config_for_stack("staging", NAMES, {}), NAMES).values()) == {"mandatory"}
    assert set(E.resolve_levels(E.config_for_stack("staging", NAMES, {"protectStatefulResources": True}),
                                NAMES).values()) == {"mandatory"}
    assert E.config_path("acme/isolated-mlops/dev") == E.CONFIG_DIR / "dev.json"


def test_levels_resolve_like_the_cli():
    """Pack default, then "all", then each policy's own entry (ReconcilePolicyPackConfig)."""
    config = E.parse_config({"stateful-resources-protected": {"enforcementLevel": "advisory"}, "all": "disabled"}, NAMES)
    levels = E.resolve_levels(config, NAMES)
    assert levels["stateful-resources-protected"] == "advisory"
    assert {v for k, v in levels.items() if k != "stateful-resources-protected"} == {"disabled"}


@pytest.mark.parametrize("document, problem", [
    ({"stateful-resource-protected": "disabled"}, "not a policy"),
    ({"all": "strict"}, "not one of"),
    ({"all": "remediate"}, "not one of"),
    ({"all": {"enforcementLevel": "advisory", "maxSize": 3}}, "no properties"),
    (["mandatory"], "JSON object"),
])
def test_a_config_typo_is_an_error_not_a_weaker_rule(document: Any, problem: str):
    with pytest.raises(E.PolicyConfigError, match=problem):
        E.parse_config(document, NAMES)


def test_resolved_levels_file_for_ci(monkeypatch, tmp_path, capsys):
    """`python -m isolated_mlops.policy.enforcement --stack S`: the file CI hands to --policy-pack-config, for any stack."""
    import json

    assert E.main(["--stack", "dev"]) == 0
    assert json.loads(capsys.readouterr().out) == E.resolve_levels(E.config_for_stack("dev", NAMES), NAMES)
    _stack_files(monkeypatch, tmp_path, {"staging": (PROJECT_DIR / "Pulumi.dev.yaml").read_text()})
    assert E.main(["--stack", "staging"]) == 0
    levels = json.loads(capsys.readouterr().out)
    assert levels.pop("stateful-resources-protected") == "disabled" and set(levels.values()) == {"mandatory"}
    assert E.main(["--stack", "nosuchstack"]) == 2
    assert "no stack file Pulumi.nosuchstack.yaml" in capsys.readouterr().err
    (tmp_path / "Pulumi.broken.yaml").write_text("config:\n  isolated-mlops:location: [westeurope\n")
    assert E.main(["--stack", "broken"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Pulumi.broken.yaml:3:1: not valid YAML") and "Traceback" not in err


def test_committed_config_files_are_valid():
    files = sorted(E.CONFIG_DIR.glob("*.json"))
    assert [f.stem for f in files] == ["dev", "prod"]
    for f in files:
        E.load_config(f, NAMES)


# --------------------------------------------------------------------------------------------
# The adapter: pulumi-policy's resources -> ResourceView
# --------------------------------------------------------------------------------------------
def _options(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def _policy_props(wire: dict) -> Any:
    """Props exactly as the SDK hands them to a policy: deserialized, behind the unknown-checking proxy."""
    return unknown_checking_proxy(deserialize_properties(wire))


def test_adapter_maps_resource_validation_args():
    wire = {
        "accountName": UNKNOWN_STRING_VALUE,
        "minimumTlsVersion": "TLS1_2",
        "networkRuleSet": {"defaultAction": "Deny", "ipRules": [UNKNOWN_STRING_VALUE]},
        "tags": {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": {"owner": "x"}},
        "sku": {"name": "Standard_ZRS"},
    }
    args = ResourceValidationArgs(R.STORAGE, _policy_props(wire), "urn:pulumi:prod::p::t::st", "st", _options(True), None)
    view = from_policy_resource(args)
    assert (view.type, view.urn, view.name, view.protect) == (R.STORAGE, "urn:pulumi:prod::p::t::st", "st", True)
    assert view.props["accountName"] is UNKNOWN
    assert view.props["networkRuleSet"] == {"defaultAction": "Deny", "ipRules": [UNKNOWN]}
    assert view.props["tags"] == {"owner": "x"}, "the SDK unwraps secrets before a policy sees them"
    assert view.secrets_known is False and view.secret_paths == ()
    assert view.dependencies == () and view.property_dependencies == {}


def test_adapter_maps_policy_resource_with_dependencies_and_seen_inputs():
    vnet = PolicyResource(R.VNET, _policy_props({"name": "vnet-a", "id": "/x/vnet-a"}), "urn:vnet", "vnet", _options(),
                          None, None, [], {})
    link_outputs = {"name": UNKNOWN_STRING_VALUE, "location": "global", "virtualNetwork": {"id": UNKNOWN_STRING_VALUE}}
    link = PolicyResource(R.ZONE_LINK, _policy_props(link_outputs), "urn:link", "link", _options(), None, None,
                          [vnet], {"virtualNetwork": [vnet]})
    seen_inputs = {"privateZoneName": "privatelink.azurecr.io", "registrationEnabled": False,
                   "virtualNetwork": {"id": UNKNOWN}, "location": "global"}
    view = from_policy_resource(link, seen_inputs)
    assert view.dependencies == ("urn:vnet",) and view.refs("virtualNetwork") == ("urn:vnet",)
    # Inputs win; outputs only fill in what the inputs lack (here the unknown `name`).
    assert view.props["privateZoneName"] == "privatelink.azurecr.io" and view.props["name"] is UNKNOWN
    assert R.physical_name(from_policy_resource(vnet)) == "vnet-a"
    # The id: the inputs' if they have one, else the outputs' when known.
    assert (from_policy_resource(vnet).id, view.id) == ("/x/vnet-a", "")
    assert from_policy_resource(vnet, {"id": "/x/seen"}).id == "/x/seen"
    assert from_policy_resource(link, {"id": UNKNOWN}).id == ""


def test_props_are_read_in_one_pass_exactly_as_serialized_then_made_plain(runs):
    """`policy_props` (and a view's props, read lazily) skip the SDK's serialized copy: the same
    values, unknowns and secret paths as `plain(serialize_properties(...))`, on every resource of both stacks as a first preview sees them
    and as a later one does, and on what only the SDK's own path handles (assets, secrets)."""
    from isolated_mlops.policy.adapters import plain, policy_props

    def two_steps(props: Any) -> tuple[Any, list[str]]:
        secrets: list[str] = []
        return plain(serialize_properties(props), "", secrets), secrets

    compared = 0
    for run in runs.values():
        for first_preview in (False, True):
            wire = Wire.of(run, first_preview)
            for r in wire.custom():
                for props in (wire.inputs(r), wire.outputs(r)):
                    proxied = _policy_props(props)
                    expected = two_steps(proxied)
                    assert policy_props(proxied) == expected, r.urn
                    assert expected[1] == [], "the SDK unwraps secrets: a policy finds no secret paths"
                    # A view's props, read lazily, are that same plain mapping.
                    view = from_policy_resource(ResourceValidationArgs(r.type, proxied, r.urn, r.name, _options(), None))
                    assert view.props == expected[0] and dict(view.props) == expected[0], r.urn
                    assert policy_props(props) == two_steps(props), r.urn  # secrets still wrapped
                    compared += 1
    assert compared > 400
    odd = {"a": pulumi.StringAsset("text"), "s": {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": [UNKNOWN_STRING_VALUE]},
           "n": [None, 1, 2.5, True, {"k": UNKNOWN_STRING_VALUE}]}
    assert policy_props(odd) == two_steps(odd)
    assert policy_props(odd)[0]["s"] == [UNKNOWN] and policy_props(odd)[1] == ["s"]


# --------------------------------------------------------------------------------------------
# The servicer, driven like the engine drives it
# --------------------------------------------------------------------------------------------

def test_analyzer_info_lists_every_rule_with_its_kind_and_the_stack_levels():
    info = servicer_for("dev").GetAnalyzerInfo(None, None)
    assert info.name == PACK_NAME and info.supportsConfig
    kinds = {p.name: p.policy_type for p in info.policies}
    assert kinds == {r.name: proto.PolicyType.POLICY_TYPE_RESOURCE if r.per_resource else proto.PolicyType.POLICY_TYPE_STACK
                     for r in RULES}
    assert {p.enforcementLevel for p in info.policies} == {proto.MANDATORY}
    assert info.initialConfig["all"].enforcementLevel == proto.ADVISORY
    assert info.initialConfig["stateful-resources-protected"].enforcementLevel == proto.DISABLED


@pytest.mark.parametrize("first_preview", [False, True])
def test_prod_passes_the_pack(prod: StackRun, first_preview: bool):
    servicer, wire = servicer_for("prod"), Wire.of(prod, first_preview)
    responses = analyze_each(servicer, wire, wire.custom())
    responses.append(analyze_stack(servicer, wire, wire.custom()))
    assert diagnostics(responses) == [], "no violation, and no 'can't run policy during preview' either"
    assert not_applicable(responses) == {"key-vault-secret-is-secret", "no-secret-in-vm-boot-data",
                                          "action-group-urls-carry-no-plain-credential"}


def test_resource_violation_is_mandatory_in_prod_and_advisory_in_dev(prod: StackRun):
    def open_storage(r: RegisteredResource, props: dict) -> None:
        if r.type == R.STORAGE:
            props["allowBlobPublicAccess"] = True
    levels = {}
    for stack in ("prod", "dev"):
        wire = Wire.of(prod, first_preview=True)
        # Resource policies judge each resource alone: the storage accounts are enough here (the whole
        # stack passing is test_prod_passes_the_pack's point; a full pass costs half a second).
        storage = wire.custom(lambda r: r.type != R.STORAGE)
        assert storage
        [d] = diagnostics(analyze_each(servicer_for(stack), wire, storage, open_storage))
        assert d.policyName == "storage-hardened" and "allowBlobPublicAccess" in d.message
        levels[stack] = d.enforcementLevel
    assert levels == {"prod": proto.MANDATORY, "dev": proto.ADVISORY}


@pytest.fixture(scope="module")
def two_stack_violations(prod: StackRun) -> tuple[Wire, list[RegisteredResource], list[Any]]:
    """prod as a first preview sees it, with one zone link left out and one zone group half built: two
    stack violations on different resources, which the two tests below read, each its own; one
    analysis (Analyze for each resource, then AnalyzeStack, as the engine does) for both."""
    wire = Wire.of(prod, first_preview=True)
    notebooks = next(r for r in prod.of_type(R.PRIVATE_ZONE) if "notebooks" in r.input("privateZoneName"))

    def half(r: RegisteredResource) -> RegisteredResource:
        if r.type != R.ZONE_GROUP or r.name != "ml-workspace-workspace-dns":
            return r
        broken = copy.deepcopy(r)
        broken.inputs["privateDnsZoneConfigs"] = broken.inputs["privateDnsZoneConfigs"][:1]
        broken.property_dependencies["privateDnsZoneConfigs"] = [
            u for u in broken.property_dependencies["privateDnsZoneConfigs"] if u != notebooks.urn]
        return broken
    half_built = [half(r) for r in wire.custom()]
    unlinked = [r for r in half_built if not (r.type == R.ZONE_LINK and r.name == UNLINKED)]
    assert len(unlinked) == len(half_built) - 1
    servicer = servicer_for("prod")
    analyze_each(servicer, wire, unlinked)
    found = diagnostics([analyze_stack(servicer, wire, unlinked)])
    assert sorted(d.policyName for d in found) == ["private-endpoint-dns-complete", "zone-linked-to-every-vnet"]
    return wire, half_built, found


UNLINKED = "private-dns-privatelink.vaultcore.azure.net-bastion"


def test_stack_violation_is_reported_on_its_resource(prod: StackRun, two_stack_violations):
    [d] = [d for d in two_stack_violations[2] if d.policyName == "zone-linked-to-every-vnet"]
    zone = next(r for r in prod.of_type(R.PRIVATE_ZONE) if r.input("privateZoneName") == "privatelink.vaultcore.azure.net")
    assert (d.urn, d.enforcementLevel) == (zone.urn, proto.MANDATORY)
    assert "vnet-bastion" in d.message


def test_stack_policies_read_the_inputs_seen_first(two_stack_violations):
    """On a first preview, zone names exist only as inputs: without them the DNS check can prove
    nothing (and says nothing); with them it catches a half-built zone group."""
    wire, half_built, found = two_stack_violations
    only_outputs = servicer_for("prod")
    assert diagnostics([analyze_stack(only_outputs, wire, half_built)]) == []
    [d] = [d for d in found if d.policyName == "private-endpoint-dns-complete"]
    assert "notebooks" in d.message


def test_dev_disables_the_protection_rule(dev: StackRun):
    servicer, wire = servicer_for("dev"), Wire.of(dev, first_preview=False)
    responses = analyze_each(servicer, wire, wire.custom())
    responses.append(analyze_stack(servicer, wire, wire.custom()))
    assert diagnostics(responses) == []
    # The same registrations under prod's config: every unprotected stateful resource is mandatory.
    # Every other rule just ran on them (advisory: a violation would have been a diagnostic above) and
    # a level only labels what a rule reports, so the protection rule alone is what prod's levels add.
    prod_servicer = servicer_for("prod", only={"stateful-resources-protected"})
    analyze_each(prod_servicer, wire, wire.custom())
    found = diagnostics([analyze_stack(prod_servicer, wire, wire.custom())])
    assert len(found) == sum(1 for r in dev.resources if r.type in R.STATEFUL_TYPES)  # dev has no model registry
    assert {(d.policyName, d.enforcementLevel) for d in found} == {("stateful-resources-protected", proto.MANDATORY)}
    # prod's own file asks for protection: the registrations fail, but no key of it is blamed (the
    # test below changes the file and sees the key named).
    assert all("to fix" not in d.message for d in found)


def _stack_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, files: dict[str, str]) -> None:
    """The pack reads `Pulumi.<stack>.yaml` from the project: point it at these files instead."""
    for stack, text in files.items():
        (tmp_path / f"Pulumi.{stack}.yaml").write_text(text)
    monkeypatch.setattr(E, "PROJECT_DIR", tmp_path)


def test_a_stack_without_its_own_config_gets_the_default_in_the_pack(dev: StackRun, monkeypatch, tmp_path):
    """A copy of dev as `staging`: no policy/config/staging.json, so the default levels, and the copy's
    `protectStatefulResources: false` turns the protection rule off; every other rule is mandatory."""
    _stack_files(monkeypatch, tmp_path, {"staging": (PROJECT_DIR / "Pulumi.dev.yaml").read_text()})
    arguments = pack_arguments("staging")
    assert {k: v.value for k, v in arguments["initial_config"].items()} == {
        "all": "mandatory", "stateful-resources-protected": "disabled"}
    # Only the protection rule is in question: every other rule passes dev's registrations (the test
    # above runs them all; a level only labels what a rule reports), and this one now runs at the
    # level staging resolves to: disabled, so dev's unprotected stateful resources pass.
    servicer, wire = servicer_for("staging", only={"stateful-resources-protected"}), Wire.of(dev, first_preview=False)
    responses = analyze_each(servicer, wire, wire.custom())
    responses.append(analyze_stack(servicer, wire, wire.custom()))
    assert diagnostics(responses) == []


def test_a_violation_the_stack_file_causes_names_its_key(dev: StackRun, monkeypatch, tmp_path):
    """prod's file saying `protectStatefulResources: false`: mandatory, and the message says what to change."""
    prod_file = (PROJECT_DIR / "Pulumi.prod.yaml").read_text()
    assert "protectStatefulResources: true" in prod_file
    _stack_files(monkeypatch, tmp_path, {"prod": prod_file.replace("protectStatefulResources: true",
                                                                  "protectStatefulResources: false")})
    # The protection rule alone: that it is the only rule these registrations fail under prod's levels
    # is test_dev_disables_the_protection_rule's point; here what its message says.
    servicer, wire = servicer_for("prod", only={"stateful-resources-protected"}), Wire.of(dev, first_preview=False)
    analyze_each(servicer, wire, wire.custom())
    found = diagnostics([analyze_stack(servicer, wire, wire.custom())])
    assert len(found) == sum(1 for r in dev.resources if r.type in R.STATEFUL_TYPES)  # dev has no model registry
    for d in found:
        assert d.enforcementLevel == proto.MANDATORY
        assert d.message.endswith("(to fix: set isolated-mlops:protectStatefulResources: true in Pulumi.prod.yaml, or "
                                  'set "stateful-resources-protected": "disabled" in policy/config/prod.json '
                                  "(it is mandatory there now))")


# --------------------------------------------------------------------------------------------
# The real entry point, as Pulumi's Python host starts it
# --------------------------------------------------------------------------------------------
def test_entry_point_serves_the_pack_over_grpc(tmp_path: Path):
    """`python policy/` from another directory, with the stack in PULUMI_STACK as the CLI sets it."""
    process = subprocess.Popen([sys.executable, str(PROJECT_DIR / "policy")], cwd=tmp_path,
                               env={"PULUMI_STACK": "dev", "PATH": "/usr/bin:/bin"},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first_line: list[bytes] = []
        reader = threading.Thread(target=lambda: first_line.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout=60)
        assert first_line and first_line[0].strip().isdigit(), process.stderr.read1() if process.poll() is not None else "no port"  # type: ignore[union-attr]
        with grpc.insecure_channel(f"127.0.0.1:{int(first_line[0])}") as channel:
            info = analyzer_pb2_grpc.AnalyzerStub(channel).GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
        assert info.name == PACK_NAME
        assert [p.name for p in info.policies] == NAMES
        assert info.initialConfig["all"].enforcementLevel == proto.ADVISORY
    finally:
        process.terminate()
        process.wait(timeout=10)


# --------------------------------------------------------------------------------------------
# docs/policy.md lists exactly the rules, their kind and their levels
# --------------------------------------------------------------------------------------------
def test_docs_list_every_rule():
    doc = (PROJECT_DIR / "docs" / "policy.md").read_text()
    table = rules_table()
    assert table in doc, "docs/policy.md is out of date; replace its rules table with:\n\n" + table
    assert len(re.findall(r"^\| `", table, flags=re.M)) == len(RULES)
