"""Reading each part of the stack file into its typed configuration, recording every problem (the
reader's `Problems`) rather than stopping at the first. components/config.py calls these in order.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from typing import Any, Mapping, Optional, Sequence

from isolated_mlops.components import naming, vm_sizes
from isolated_mlops.components.config_reader import Problems, Reader
from isolated_mlops.components.config_schema import (
    AGENT_KINDS, BASTION_SKUS, BASTION_SUBNET_MAX_PREFIX, DEFAULT_IDLE_SECONDS, PROJECT_NAMESPACE, SECRET_SHOWN_AS,
    SMALLEST_SUBNET_PREFIX, TAG_NAME_FORBIDDEN, TAG_NAME_MAX, TAG_VALUE_MAX, TOKEN_KEY, VM_SIZE_PATTERN,
    AgentsConfig, AlertsConfig, AmlVnetConfig, BastionVnetConfig, ComputeClusterConfig, ModelRegistryConfig,
    NetworkConfig)
from isolated_mlops.components.webhooks import credential_in_url


def read_bastion_sku(root: Reader) -> str:
    if root.values.get("bastionSku") == "Developer":
        root.problems.add("bastionSku", "'Developer' is not supported: it is a shared host without "
                          "AzureBastionSubnet or public IP and cannot reach the VMs in a peered VNet; use Basic, "
                          "Standard or Premium")
        return "Standard"
    return root.string("bastionSku", default="Standard", choices=BASTION_SKUS)



def check_region(root: Reader, problems: Problems, location: str, cloud: str) -> None:
    """`location` must be a region of the stack's cloud (components/vm_sizes.py REGIONS)."""
    if not location or problems.at("location") or problems.at("cloud"):
        return
    problem = vm_sizes.check_region(location, cloud)
    if problem:
        problems.add("location", problem if not root.is_secret("location")
                     else f"{SECRET_SHOWN_AS} is not a region of {cloud} (the value is secret, so no suggestion)")


def check_vm_sizes(root: Reader, problems: Problems, location: str, cloud: str,
                    sizes: Sequence[tuple[str, str, str]]) -> list[str]:
    """Every VM size (path, the top-level key it sits under, size) must be one Azure still creates
    (components/vm_sizes.py); returns the notes for sizes that are only announced for retirement."""
    region = "" if problems.at("location") else location
    cloud = "AzureCloud" if problems.at("cloud") else cloud
    notes: list[str] = []
    for path, key, size in sizes:
        if not size or problems.at(path):
            continue  # missing or malformed: reported once already
        verdict = vm_sizes.check_size(size, region, cloud)
        secret = root.is_secret(key)
        if verdict.problem:
            problems.add(path, verdict.problem if not secret else
                         f"{SECRET_SHOWN_AS} is not a VM size Azure creates today (retired, unknown or misspelt; "
                         "details not shown: the value is secret)")
        elif verdict.note and not secret:
            notes.append(f"{PROJECT_NAMESPACE}:{path}: {verdict.note}")
    return notes


def read_tags(reader: Reader) -> dict[str, str]:
    tags: dict[str, str] = {}
    for key, value in reader.values.items():
        path = f"{reader.path}.{key}"
        name = str(key)
        if len(name) > TAG_NAME_MAX or TAG_NAME_FORBIDDEN & set(name):
            reader.problems.add(path, f"Azure tag names are at most {TAG_NAME_MAX} characters and may not "
                                f"contain {' '.join(sorted(TAG_NAME_FORBIDDEN))}")
        if not isinstance(value, str):
            reader.problems.add(path, f"tag values must be strings, got {reader.show(name, value)}")
        elif len(value) > TAG_VALUE_MAX:
            reader.problems.add(path, f"Azure tag values are at most {TAG_VALUE_MAX} characters, got {len(value)}")
        else:
            tags[name] = value
    return tags


def check_token(root: Reader, problems: Problems, agents: AgentsConfig) -> None:
    """The agent registration token: a secret, or nothing. Its value is never put in a message."""
    how = (f"set it with `pulumi config set --secret {PROJECT_NAMESPACE}:{TOKEN_KEY}` "
           "(or `fn::secret` in a Pulumi ESC environment)")
    value = root.values.get(TOKEN_KEY)
    if value is not None:
        # Whatever the agent count: a plain-text token in a stack file is already leaked to git.
        if not root.is_secret(TOKEN_KEY):
            problems.add(TOKEN_KEY, f"is stored in plain text; remove it, revoke it, and {how} "
                         "so it is encrypted in the stack file")
        elif not isinstance(value, str) or not value.strip():
            problems.add(TOKEN_KEY, f"is empty; {how}")
    elif agents.count > 0 and not problems.at("agents.count"):
        problems.add(TOKEN_KEY, f"is required when agents.count > 0; {how}")





# Every subnet by its key path (`network.amlVnet.subnets.training`), None where missing or malformed.
Subnets = Mapping[str, Optional[ipaddress.IPv4Network]]


def read_network(reader: Reader, problems: Problems) -> tuple[NetworkConfig, Subnets]:
    """The network, and every subnet by its key path (None where it is missing or malformed)."""
    reader.unknown_keys(("amlVnet", "bastionVnet", "natGateway", "privateDnsFallbackToInternet"))
    aml = reader.mapping("amlVnet")
    aml.unknown_keys(("addressSpace", "subnets"))
    aml_space = aml.cidr("addressSpace")
    aml_subnets = aml.mapping("subnets")
    aml_subnets.unknown_keys(("privateEndpoints", "training", "scoring"))
    aml_prefixes = {k: aml_subnets.cidr(k) for k in ("privateEndpoints", "training", "scoring")}

    bastion = reader.mapping("bastionVnet")
    bastion.unknown_keys(("addressSpace", "subnets"))
    bastion_space = bastion.cidr("addressSpace")
    bastion_subnets = bastion.mapping("subnets")
    bastion_subnets.unknown_keys(("bastion", "jumpHost", "agents"))
    bastion_prefixes = {k: bastion_subnets.cidr(k) for k in ("bastion", "jumpHost", "agents")}

    show = (lambda net: SECRET_SHOWN_AS) if reader.secret else str
    _check_vnet(problems, "network.amlVnet", aml_space, aml_prefixes, show)
    # Azure refuses a Bastion in an AzureBastionSubnet smaller than /26 (several references use /27).
    _check_vnet(problems, "network.bastionVnet", bastion_space, bastion_prefixes, show,
                smallest={"bastion": (BASTION_SUBNET_MAX_PREFIX, "AzureBastionSubnet must be")})
    if aml_space and bastion_space and aml_space.overlaps(bastion_space):
        problems.add("network.bastionVnet.addressSpace",
                     f"{show(bastion_space)} overlaps network.amlVnet.addressSpace {show(aml_space)}; "
                     "peered VNets must not overlap")

    subnets = {**{f"network.amlVnet.subnets.{k}": v for k, v in aml_prefixes.items()},
               **{f"network.bastionVnet.subnets.{k}": v for k, v in bastion_prefixes.items()}}
    return NetworkConfig(
        aml=AmlVnetConfig(str(aml_space), *(str(aml_prefixes[k]) for k in ("privateEndpoints", "training", "scoring"))),
        bastion=BastionVnetConfig(str(bastion_space), *(str(bastion_prefixes[k]) for k in ("bastion", "jumpHost", "agents"))),
        nat_gateway=reader.boolean("natGateway"),
        private_dns_fallback_to_internet=reader.boolean("privateDnsFallbackToInternet", default=False),
    ), subnets


def _check_vnet(problems: Problems, path: str, space: Optional[ipaddress.IPv4Network],
                subnets: Mapping[str, Optional[ipaddress.IPv4Network]], show: Any,
                smallest: Optional[Mapping[str, tuple[int, str]]] = None) -> None:
    checked: list[tuple[str, ipaddress.IPv4Network]] = []
    for key, subnet in subnets.items():
        if subnet is None:
            continue
        subnet_path = f"{path}.subnets.{key}"
        limit, rule = (smallest or {}).get(key, (SMALLEST_SUBNET_PREFIX, "Azure subnets must be"))
        if subnet.prefixlen > limit:
            problems.add(subnet_path, f"{show(subnet)} is too small: {rule} /{limit} or larger")
        if space is not None and not subnet.subnet_of(space):
            problems.add(subnet_path, f"{show(subnet)} is not inside {path}.addressSpace {show(space)}")
        for other_key, other in checked:
            if subnet.overlaps(other):
                problems.add(subnet_path, f"{show(subnet)} overlaps {path}.subnets.{other_key} {show(other)}")
        checked.append((key, subnet))



_CLUSTER_KEYS = ("name", "vmSize", "minNodes", "maxNodes", "idleSecondsBeforeScaleDown", "lowPriority")


def read_clusters(root: Reader, problems: Problems) -> list[ComputeClusterConfig]:
    items = root.sequence("computeClusters")
    if items is not None and not items:
        problems.add("computeClusters", "must list at least one cluster (the workspace builds images on one)")
    clusters: list[ComputeClusterConfig] = []
    for index, item in enumerate(items or []):
        path = f"computeClusters[{index}]"
        if not isinstance(item, dict):
            problems.add(path, f"must be an object with {', '.join(_CLUSTER_KEYS)}, "
                         f"got {root.show('computeClusters', item)}")
            continue
        reader = Reader(problems, path, item, secret=root.is_secret("computeClusters"))
        reader.unknown_keys(_CLUSTER_KEYS)
        cluster = ComputeClusterConfig(
            name=reader.string("name", pattern=naming.rule("aml_compute").pattern,
                               pattern_help=naming.rule("aml_compute").help),
            vm_size=reader.string("vmSize", pattern=VM_SIZE_PATTERN,
                                  pattern_help="must be an Azure VM size such as Standard_D4s_v5"),
            # Defaults: what almost every cluster wants. 0 nodes when idle is the only value the check
            # below accepts; Azure ML's own idle time (DEFAULT_IDLE_SECONDS); dedicated nodes.
            min_nodes=reader.integer("minNodes", default=0, minimum=0),
            # Zero would make a cluster that can never run a job (or build an image).
            max_nodes=reader.integer("maxNodes", minimum=1),
            idle_seconds_before_scale_down=reader.integer("idleSecondsBeforeScaleDown", default=DEFAULT_IDLE_SECONDS,
                                                          minimum=60, maximum=86400 * 7),
            low_priority=reader.boolean("lowPriority", default=False),
        )
        if not problems.at(f"{path}.minNodes") and cluster.min_nodes > 0:
            # One message per key: the fix for both problems is the same (0).
            above = (f"{cluster.min_nodes} is above maxNodes ({cluster.max_nodes}); it "
                     if not problems.at(f"{path}.maxNodes") and cluster.min_nodes > cluster.max_nodes else "")
            problems.add(f"{path}.minNodes", f"{above}must be 0: idle clusters scale to zero so nothing "
                         "runs (and bills) unattended")
        if cluster.name and cluster.name in {c.name for c in clusters}:
            problems.add(f"{path}.name", f"{reader.show('name', cluster.name)} is used by another cluster")
        clusters.append(cluster)
    return clusters



_AGENT_KEYS = ("kind", "count", "vmSize", "url", "pool", "labels", "tokenExpiresOn")


_MODEL_REGISTRY_KEYS = ("create", "userPrincipalIds")


def read_model_registry(reader: Reader, problems: Problems) -> ModelRegistryConfig:
    reader.unknown_keys(_MODEL_REGISTRY_KEYS)
    create = reader.boolean("create", default=False)
    ids = reader.sequence("userPrincipalIds", default=[]) or []
    good: list[str] = []
    for index, value in enumerate(ids):
        if isinstance(value, str) and re.fullmatch(GUID_PATTERN, value):
            good.append(value.lower())
        else:
            problems.add(f"{reader.path}.userPrincipalIds[{index}]",
                         f"must be an object id (a GUID such as 00000000-0000-0000-0000-000000000000: "
                         f"`az identity show -n id-mlops-ml-<stack> -g <group> --query principalId`), got {value!r}")
    if good and not create and not problems.at(f"{reader.path}.create"):
        problems.add(f"{reader.path}.userPrincipalIds", "grants roles on a registry this stack does not create: "
                     "set modelRegistry.create: true, or remove userPrincipalIds")
    if len(set(good)) != len(good):
        problems.add(f"{reader.path}.userPrincipalIds", "lists an object id twice: list each identity once")
    return ModelRegistryConfig(create=create, user_principal_ids=tuple(dict.fromkeys(good)))


def read_agents(reader: Reader, problems: Problems) -> AgentsConfig:
    reader.unknown_keys(_AGENT_KEYS)
    kind = reader.string("kind", choices=AGENT_KINDS)
    count = reader.integer("count", minimum=0, maximum=20)
    url = reader.string("url", pattern=r"https://[^\s/]+(/[^\s]*)?", pattern_help="must be an https:// URL")
    labels = reader.sequence("labels", default=[]) or []
    if not all(isinstance(label, str) and label for label in labels):
        problems.add(f"{reader.path}.labels", f"must be a list of non-empty strings, got {reader.show('labels', labels)}")
        labels = []
    pool = reader.string("pool", default="") if kind == "github" else reader.string("pool")
    vm_size = reader.string("vmSize", pattern=VM_SIZE_PATTERN,
                            pattern_help="must be an Azure VM size such as Standard_D2s_v5")
    expires = _read_token_expiry(reader, problems, count)
    return AgentsConfig(kind=kind, count=count, vm_size=vm_size, url=url, pool=pool, labels=tuple(labels),
                        token_expires_on=expires)


def _read_token_expiry(reader: Reader, problems: Problems, count: int) -> Optional[datetime.date]:
    """agents.tokenExpiresOn: the registration credential's own expiry, a date. Required with agents,
    because the program writes the credential to Key Vault with this expiry and nothing else knows it;
    rotating it is in docs/operations.md."""
    key = "tokenExpiresOn"
    value = reader.values.get(key)
    # YAML reads an unquoted 2027-03-01 as a date; the CLI hands top-level values over as strings.
    if isinstance(value, datetime.date):
        return value
    if value is None:
        if count > 0 and not problems.at(f"{reader.path}.count") and not reader.absent:
            problems.add(f"{reader.path}.{key}", "is required when agents.count > 0: the date the registration "
                         "credential (the PAT) expires, e.g. 2027-03-01; the Key Vault secret expires with it")
        return None
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass  # e.g. 2027-02-30: reported below
    problems.add(f"{reader.path}.{key}", f"{reader.show(key, value)} is not a date; write the credential's "
                 "expiry as YYYY-MM-DD, e.g. 2027-03-01")
    return None


_ALERT_KEYS = ("enabled", "email", "retrainWebhookUrl", "retrainReaderPrincipalId", "mlIdentityPrincipalId", "thresholds")
_THRESHOLD_KEYS = ("failedRuns", "driftPsi", "servingLatencyMs", "servingErrorRatePercent")
GUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[^@\s]+"


def read_alerts(reader: Reader, problems: Problems, agents_kind: Optional[str]) -> Optional[AlertsConfig]:
    reader.unknown_keys(_ALERT_KEYS)
    enabled = reader.boolean("enabled", default=True)
    emails = reader.sequence("email", default=[]) or []
    for i, address in enumerate(emails):
        if not isinstance(address, str) or not re.fullmatch(EMAIL_PATTERN, address):
            problems.add(f"{reader.path}.email[{i}]", f"{reader.show('email', address)} is not an email address "
                         "such as ml-platform@example.com")
    webhook = reader.string("retrainWebhookUrl", default=None, pattern=r"https://[^\s/]+/[^\s]*",
                            pattern_help="must be an https:// URL (the retraining pipeline's webhook)") or None
    if webhook and (found := credential_in_url(webhook)):
        problems.add(f"{reader.path}.retrainWebhookUrl", f"carries a credential ({found}): an action group keeps its "
                     "webhook URL readable in ARM; use a webhook that needs none (Azure DevOps incoming webhook, "
                     "README 'Alerts and the retraining trigger')")
    # How retraining starts follows the CI system the stack's agents serve (README "Alerts and the
    # retraining trigger"): Azure DevOps is pushed to (its incoming webhook needs no credential);
    # GitHub pulls (ml-retrain.yml reads the alerts), because GitHub's dispatch APIs need a token.
    reader_id = reader.string("retrainReaderPrincipalId", default=None, pattern=GUID_PATTERN,
                              pattern_help="must be the principal (object) id, a GUID, of the retraining trigger's "
                              "reader identity id-mlops-ml-retrain-<stack>") or None
    if webhook and agents_kind == "github":
        problems.add(f"{reader.path}.retrainWebhookUrl", "is set but agents.kind is github: a GitHub workflow cannot "
                     "be started by a webhook without a stored token; remove it, and set retrainReaderPrincipalId "
                     "for .github/workflows/ml-retrain.yml (README 'Alerts and the retraining trigger')")
    if reader_id and agents_kind == "azure-devops" and not problems.at(f"{reader.path}.retrainReaderPrincipalId"):
        problems.add(f"{reader.path}.retrainReaderPrincipalId", "is set but agents.kind is azure-devops: Azure DevOps "
                     "retrains through retrainWebhookUrl (its incoming webhook); remove retrainReaderPrincipalId "
                     "(README 'Alerts and the retraining trigger')")
    if enabled and not emails and not webhook and not reader_id and not reader.absent:
        problems.add(f"{reader.path}.email", "is empty and no retrainWebhookUrl or retrainReaderPrincipalId is set: an "
                     "alert with no receiver tells no one; list at least one address, or set alerts.enabled: false")
    principal = reader.string("mlIdentityPrincipalId", default=None, pattern=GUID_PATTERN,
                              pattern_help="must be the ML delivery identity's principal (object) id, a GUID") or None
    thresholds = reader.mapping("thresholds", default={})
    thresholds.unknown_keys(_THRESHOLD_KEYS)
    failed_runs = thresholds.integer("failedRuns", default=1, minimum=1)
    psi = thresholds.raw("driftPsi", default=0.25)
    if isinstance(psi, str):
        try:
            psi = float(psi)
        except ValueError:
            pass
    if isinstance(psi, bool) or not isinstance(psi, (int, float)) or not 0 < psi <= 10:
        problems.add(f"{thresholds.path}.driftPsi", f"must be a number above 0 (0.25 is the usual 'significant' "
                     f"PSI, as in ml/config/thresholds.yaml), got {thresholds.show('driftPsi', psi)}")
        psi = 0.25
    latency = thresholds.integer("servingLatencyMs", default=1000, minimum=1, maximum=600000)
    error_rate = thresholds.raw("servingErrorRatePercent", default=5.0)
    if isinstance(error_rate, str):
        try:
            error_rate = float(error_rate)
        except ValueError:
            pass
    if isinstance(error_rate, bool) or not isinstance(error_rate, (int, float)) or not 0 < error_rate <= 100:
        problems.add(f"{thresholds.path}.servingErrorRatePercent", "must be a percentage above 0 and at most 100 "
                     f"(5 fires when one request in twenty fails), got {thresholds.show('servingErrorRatePercent', error_rate)}")
        error_rate = 5.0
    return AlertsConfig(enabled=enabled, emails=tuple(e for e in emails if isinstance(e, str)),
                        retrain_webhook_url=webhook, ml_identity_principal_id=principal,
                        failed_runs=failed_runs, drift_psi=float(psi), retrain_reader_principal_id=reader_id,
                        serving_latency_ms=latency, serving_error_rate_percent=float(error_rate))
