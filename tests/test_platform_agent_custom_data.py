"""The agents' custom data and units, read without booting anything (the first boot itself, run for
real against loopback fakes: tests/test_platform_agent_registration.py): what the custom data carries,
Azure's size limit, the retry backoff, the IMDS block rule, and the systemd units.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from isolated_mlops.compute import agent_registration as program
from isolated_mlops.compute import cloud_init
from tests.agent_bootstrap import bootstrap, shipped_files
from tests.helpers import parse_yaml


# ---- what the custom data carries -------------------------------------------------------------
@pytest.mark.parametrize("kind", ["azure-devops", "github"])
def test_custom_data_ships_the_tested_program_and_units(kind: str) -> None:
    files = shipped_files(kind)
    assert files[cloud_init.PROGRAM_PATH] == Path(program.__file__).read_text()
    assert files[f"/etc/systemd/system/{cloud_init.REGISTRATION_UNIT}"] == cloud_init.registration_unit()
    assert files[f"/etc/systemd/system/{cloud_init.IMDS_BLOCK_UNIT}"] == cloud_init.imds_block_unit()
    config = json.loads(files[cloud_init.CONFIG_PATH])
    assert config["vault_url"] == "https://kv-mlops-prod.vault.azure.net"
    assert config["agent_user"] == cloud_init.AGENT_USER != "root"
    runcmd = parse_yaml(cloud_init.render(bootstrap(kind)))["runcmd"]
    assert ["systemctl", "enable", cloud_init.IMDS_BLOCK_UNIT, cloud_init.REGISTRATION_UNIT] in runcmd


def test_endpoints_default_to_the_real_ones() -> None:
    """The overrides exist for the tests only: without them the program talks to Azure."""
    config = cloud_init.render_config(bootstrap("github"))
    s = program.Settings(config, environ={})
    assert s.get("imds_url", program.IMDS_TOKEN_URL) == "http://169.254.169.254/metadata/identity/oauth2/token"
    assert s.get("vault_url") == "https://kv-mlops-prod.vault.azure.net"
    assert s.get("download_url").startswith("https://github.com/actions/runner/releases/download/v")
    assert s.get("github_registration_url") == "https://api.github.com/repos/contoso/ml/actions/runners/registration-token"
    assert s.get("microsoft_key_url", program.MICROSOFT_KEY_URL) == "https://packages.microsoft.com/keys/microsoft.asc"
    assert s.path("/var/lib/dpkg/lock-frontend") == Path("/var/lib/dpkg/lock-frontend")
    assert program.CONFIG_PATH == cloud_init.CONFIG_PATH
    assert program.IMDS_BLOCK_UNIT == cloud_init.IMDS_BLOCK_UNIT
    assert "AGENT_REGISTRATION_" not in cloud_init.registration_unit() + cloud_init.imds_block_unit()


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown agent kind"):
        cloud_init.render(bootstrap("gitlab"))


@pytest.mark.parametrize("kind", ["azure-devops", "github"])
def test_custom_data_fits_azures_limit(kind: str) -> None:
    encoded = cloud_init.encode(cloud_init.render(bootstrap(kind)))
    assert len(encoded) <= cloud_init.CUSTOM_DATA_MAX_BYTES


def test_custom_data_limit_is_enforced() -> None:
    with pytest.raises(ValueError, match="65535"):
        cloud_init.encode("#cloud-config\n" + "x" * 60_000)


def test_backoff_doubles_up_to_its_cap() -> None:
    delays: list[float] = []
    failures = iter(range(8))

    def attempt() -> str:
        if next(failures, None) is not None:
            raise program.RetryableError("not yet")
        return "done"

    defaults = program.Settings({}, environ={})
    assert program.retry("step", attempt, defaults, sleep=delays.append) == "done"
    assert delays == [5, 10, 20, 40, 80, 160, 300, 300]


def test_backoff_gives_up_at_the_deadline() -> None:
    s = program.Settings({}, environ={"AGENT_REGISTRATION_STEP_DEADLINE_SECONDS": "12"})

    def attempt() -> None:
        raise program.RetryableError("HTTP 403 from https://kv")

    delays: list[float] = []
    with pytest.raises(program.RegistrationError, match="still failing after 3 tries"):
        program.retry("step", attempt, s, sleep=delays.append)
    assert delays == [5, 10]  # the next wait (20 s) would pass the 12 s deadline


def test_imds_block_rule() -> None:
    check, insert = program.imds_block_rules(1234)
    rule = ["-d", "169.254.169.254/32", "-m", "owner", "--uid-owner", "1234", "-j", "REJECT",
            "--reject-with", "icmp-port-unreachable"]
    assert check == ["iptables", "-w", "-C", "OUTPUT", *rule]
    assert insert == ["iptables", "-w", "-I", "OUTPUT", "1", *rule]


# ---- the units --------------------------------------------------------------------------------
def _unit(text: str) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
        elif "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            current[key] = value
    return sections


def test_registration_retries_for_ever_after_the_imds_block() -> None:
    unit = _unit(cloud_init.registration_unit())
    assert unit["Service"]["Type"] == "oneshot"
    assert unit["Service"]["Restart"] == "on-failure" and int(unit["Service"]["RestartSec"]) > 0
    assert unit["Unit"]["StartLimitIntervalSec"] == "0", "systemd must not stop restarting it"
    assert cloud_init.IMDS_BLOCK_UNIT in unit["Unit"]["Requires"].split()
    assert cloud_init.IMDS_BLOCK_UNIT in unit["Unit"]["After"].split()
    assert unit["Service"]["ExecStart"].endswith(f"{cloud_init.PROGRAM_PATH} register")
    block = _unit(cloud_init.imds_block_unit())
    assert block["Service"]["RemainAfterExit"] == "yes" and block["Install"]["WantedBy"] == "multi-user.target"
    dropin = _unit(program.agent_service_dropin())
    assert dropin["Unit"] == {"Requires": cloud_init.IMDS_BLOCK_UNIT, "After": cloud_init.IMDS_BLOCK_UNIT}


SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    for name, text in cloud_init.units().items():
        (tmp_path / name).write_text(text)
    result = _verify(tmp_path, *cloud_init.units())
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_can_fail(tmp_path: Path) -> None:
    broken = cloud_init.registration_unit().replace("Restart=on-failure", "Restart=always")
    (tmp_path / "broken.service").write_text(broken)
    (tmp_path / cloud_init.IMDS_BLOCK_UNIT).write_text(cloud_init.imds_block_unit())
    assert _verify(tmp_path, "broken.service").returncode != 0


def _verify(directory: Path, *names: str) -> subprocess.CompletedProcess[str]:
    assert SYSTEMD_ANALYZE is not None
    return subprocess.run([SYSTEMD_ANALYZE, "verify", "--man=no", *(str(directory / n) for n in names)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SYSTEMD_UNIT_PATH": f"{directory}:"})
