"""The agents' first boot, run for real: the program the custom data ships, taken out of the rendered
cloud-config, runs against loopback fakes of IMDS, Key Vault, the agent download, Microsoft's
package key and GitHub's registration-token exchange, with fake `config.sh`/`svc.sh`/
`installdependencies.sh` (from the served archive) and fake `iptables`/`systemctl`/`apt-get`/`gpg`
(on PATH) that record how they were called. Key Vault refuses connections, then answers 403, before
it gives the secret; the apt lock is held for a while.

Checked: the agent registers exactly once and a rerun does not register again; the token never
appears in any process's argv (a thread reads /proc/*/cmdline throughout), in any file, or in the
output; it reaches config.sh only in the variable the agent reads; the IMDS block comes before
anything runs as the agent user; apt waits for the lock.
"""

from __future__ import annotations

import ast
import fcntl
import hashlib
import io
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator, Optional
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from isolated_mlops.compute import agent_registration as program
from isolated_mlops.compute import cloud_init
from isolated_mlops.compute.cloud_init import AgentBootstrap  # noqa: F401
from tests.agent_bootstrap import CLIENT_ID, bootstrap, shipped_files  # noqa: F401
from tests.first_boot_recorders import bash_recorder, recorder

TOKEN = "pat-firstboot-0123456789abcdef-do-not-leak"
ACCESS_TOKEN = "eyJ0eXAi.imds-access-token-0123456789.sig"
RUNNER_TOKEN = "AABBCCDD-runner-registration-token-0123"
SECRETS = (TOKEN, ACCESS_TOKEN, RUNNER_TOKEN)
SERVICE_NAME = "vsts.agent.contoso.aml-private.vm-agent-0.service"
# The apt lock is let go this long after the program has written apt's sources (its last step
# before it waits for the lock), so it finds the lock held; the test checks that it did.
HOLD_APT_LOCK_AFTER_SOURCES_SECONDS = 0.1
# Key Vault starts listening only when IMDS hands out its third token: the first two reads of the
# secret are refused (each read asks IMDS for a fresh token first).
KEY_VAULT_LISTENS_AT_TOKEN = 3


# The VM runs the program with Ubuntu's /usr/bin/python3 (cloud_init.py), which has none of this
# venv's packages: `-S` keeps them out here too, so an import beyond the standard library fails
# here as it would there (and skipping site saves ~40 ms of CPU a run).
FIRST_BOOT_PYTHON = (sys.executable, "-S")


# ---- fakes ------------------------------------------------------------------------------------
def agent_archive(log: Path, kind: str, state: Path) -> bytes:
    marker = ".agent" if kind == "azure-devops" else ".runner"
    files = {
        "config.sh": recorder(log, "config.sh", f"""
import json
# While a /proc reader runs (it writes reader-running), wait until it has seen this process (it
# writes seen-config.sh): a fixed sleep would be too short on a loaded machine and long otherwise.
if os.path.exists({str(state / "reader-running")!r}):
    deadline = time.monotonic() + 10
    while not os.path.exists({str(state / "seen-config.sh")!r}) and time.monotonic() < deadline:
        time.sleep(0.005)
open(os.path.join(here, {marker!r}), "w").write(json.dumps({{"agentName": "vm-agent-0"}}))
open(os.path.join(here, ".credentials"), "w").write(json.dumps({{"scheme": "OAuth"}}))
"""),
        "svc.sh": bash_recorder(log, "svc.sh", f"""
case $1 in
  install) printf '%s\\n' {SERVICE_NAME!r} >"$here/.service" ;;
  start) : >{str(state / ("active-" + SERVICE_NAME))!r} ;;
esac
"""),
        "bin/installdependencies.sh": bash_recorder(log, "installdependencies.sh"),
        "bin/Agent.Listener": "binary placeholder\n",
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def fake_bin(directory: Path, log: Path, state: Path) -> None:
    fakes = {
        # iptables -C fails until -I has inserted the rule (state file), like the real one.
        "iptables": f"""
rule={str(state / "iptables-rule")!r}
for a in "$@"; do [ "$a" = -C ] && {{ [ -e "$rule" ]; exit; }}; done
for a in "$@"; do [ "$a" = -I ] && printf '%s\\n' "[$argv]" >"$rule"; done
exit 0
""",
        "systemctl": f"""
if [ "$1" = is-active ]; then
  [ -e {str(state)!r}/"active-${{@: -1}}" ] && exit 0 || exit 3
fi
""",
        "apt-get": "",
        "gpg": "IFS= read -r -d '' key || true; printf 'dearmored:%s' \"$key\"",
        "useradd": "exit 1  # the tests' agent user exists: never called",
    }
    directory.mkdir(parents=True)
    for name, body in fakes.items():
        path = directory / name
        path.write_text(bash_recorder(log, name, body))
        path.chmod(0o755)


@dataclass
class Fakes:
    """The HTTP side: IMDS, downloads and GitHub on one server; Key Vault on its own, started late."""
    archive: bytes
    kv_forbidden_first: int = 2
    imds_failures_first: int = 1
    kv_always_forbidden: bool = False
    requests: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    imds_calls: int = 0
    tokens_given: int = 0
    kv_calls: int = 0
    on_token: Callable[[int], None] = lambda n: None

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fakes = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                fakes.route(self, "GET")

            def do_POST(self) -> None:
                fakes.route(self, "POST")

        return Handler

    def route(self, h: Any, method: str) -> None:
        url = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with self.lock:
            self.requests.append((method, url.path))
        if url.path == "/metadata/identity/oauth2/token":
            assert h.headers.get("Metadata") == "true"
            assert query == {"api-version": "2018-02-01", "resource": "https://vault.azure.net", "client_id": CLIENT_ID}
            with self.lock:
                self.imds_calls += 1
                fail = self.imds_calls <= self.imds_failures_first
                if not fail:
                    self.tokens_given += 1
                    self.on_token(self.tokens_given)
            if fail:
                return h._send(500, b'{"error": "identity not ready"}')
            return h._send(200, json.dumps({"access_token": ACCESS_TOKEN, "token_type": "Bearer"}).encode())
        if url.path == "/secrets/agent-registration-token":
            assert query == {"api-version": "7.4"}
            with self.lock:
                self.kv_calls += 1
                forbidden = self.kv_always_forbidden or self.kv_calls <= self.kv_forbidden_first
            if forbidden:  # the role assignment has not propagated yet
                return h._send(403, b'{"error": {"code": "Forbidden"}}')
            if h.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
                return h._send(401, b"{}")
            return h._send(200, json.dumps({"value": TOKEN, "id": "https://kv/secrets/x/1"}).encode())
        if url.path == "/agent.tar.gz":
            return h._send(200, self.archive, "application/gzip")
        if url.path == "/keys/microsoft.asc":
            return h._send(200, b"-----BEGIN PGP PUBLIC KEY BLOCK-----\nfake\n", "text/plain")
        if url.path == "/repos/contoso/ml/actions/runners/registration-token" and method == "POST":
            if h.headers.get("Authorization") != f"Bearer {TOKEN}":
                return h._send(401, b"{}")
            return h._send(201, json.dumps({"token": RUNNER_TOKEN, "expires_at": "2026-12-01T10:00:00Z"}).encode())
        h._send(404, b"{}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ProcReader(threading.Thread):
    """Reads every process's argv from /proc until stopped, keeping those that hold a secret.
    `state` gets reader-running at the start and seen-config.sh once config.sh has been seen: the
    fake config.sh waits for the latter while the former exists."""

    def __init__(self, state: Path) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.leaks: list[str] = []
        self.seen_config_sh = False
        self.state = state
        (state / "reader-running").touch()

    def run(self) -> None:
        # Every 5 ms, so it runs for the whole boot: plain os calls and bytes. Only processes started
        # since the reader began can be the boot's: the older ones (this machine's other work, ~90 on
        # a shared host, 1 ms of CPU a pass to read them all) are skipped while they live. A pid that
        # leaves the listing is forgotten, so the kernel handing it out again makes it new: reading
        # only the new ones costs ~0.05 ms a pass, not ~0.2 s of a first boot.
        secrets = tuple(secret.encode() for secret in SECRETS)
        older = set(os.listdir("/proc"))
        while not self.stop.is_set():
            listed = os.listdir("/proc")
            older.intersection_update(listed)
            for pid in listed:
                if pid in older or not pid.isdigit():
                    continue
                try:
                    with open(f"/proc/{pid}/cmdline", "rb", buffering=0) as file:
                        cmdline = file.read().replace(b"\0", b" ")
                except OSError:
                    continue
                if b"config.sh" in cmdline and not self.seen_config_sh:
                    self.seen_config_sh = True
                    (self.state / "seen-config.sh").touch()
                if any(secret in cmdline for secret in secrets):
                    self.leaks.append(cmdline.decode(errors="replace"))
            time.sleep(0.005)


@dataclass
class Boot:
    root: Path
    program: Path
    env: dict[str, str]
    log: Path

    def run(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*FIRST_BOOT_PYTHON, str(self.program), "register"], env=self.env,
                              capture_output=True, text=True, timeout=60)

    def calls(self, name: Optional[str] = None) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        records = [ast.literal_eval(line) for line in self.log.read_text().splitlines()]
        return [r for r in records if name is None or r["name"] == name]

    def index(self, name: str, predicate: Callable[[dict[str, Any]], bool] = lambda r: True) -> int:
        return next(i for i, r in enumerate(self.calls()) if r["name"] == name and predicate(r))


@pytest.fixture
def first_boot(tmp_path: Path) -> Iterator[Callable[..., tuple[Boot, Fakes]]]:
    servers: list[ThreadingHTTPServer] = []

    def make(kind: str, **fake_options: Any) -> tuple[Boot, Fakes]:
        root = tmp_path / "root"
        log = tmp_path / "calls.log"
        state = tmp_path / "state"
        state.mkdir()
        for path, content in shipped_files(kind).items():
            target = root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        (root / "etc/os-release").write_text('NAME="Ubuntu"\nVERSION_CODENAME=noble\n')
        fakes = Fakes(archive=agent_archive(log, kind, state), **fake_options)
        server = ThreadingHTTPServer(("127.0.0.1", 0), fakes.handler())
        servers.append(server)
        # A short poll interval: shutdown() waits for the next poll (0.5 s by default).
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        port = server.server_address[1]
        # Key Vault is not listening yet (the private endpoint or its DNS record is not there):
        # the first tries get "connection refused".
        kv_port = free_port()

        def start_key_vault(tokens_given: int) -> None:
            if tokens_given == KEY_VAULT_LISTENS_AT_TOKEN:
                kv = ThreadingHTTPServer(("127.0.0.1", kv_port), fakes.handler())
                servers.append(kv)
                threading.Thread(target=kv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

        fakes.on_token = start_key_vault
        fake_bin(tmp_path / "bin", log, state)
        base = f"http://127.0.0.1:{port}"
        env = {
            "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
            "AGENT_REGISTRATION_CONFIG": str(root / "etc/agent-registration/config.json"),
            "AGENT_REGISTRATION_ROOT": str(root),
            "AGENT_REGISTRATION_AGENT_USER": pwd.getpwuid(os.getuid()).pw_name,
            "AGENT_REGISTRATION_IMDS_URL": f"{base}/metadata/identity/oauth2/token",
            "AGENT_REGISTRATION_VAULT_URL": f"http://127.0.0.1:{kv_port}",
            "AGENT_REGISTRATION_DOWNLOAD_URL": f"{base}/agent.tar.gz",
            "AGENT_REGISTRATION_MICROSOFT_KEY_URL": f"{base}/keys/microsoft.asc",
            "AGENT_REGISTRATION_GITHUB_REGISTRATION_URL": f"{base}/repos/contoso/ml/actions/runners/registration-token",
            # The shipped backoff (5 s doubling to 300 s) is checked in test_platform_agent_custom_data.py.
            "AGENT_REGISTRATION_BACKOFF_BASE_SECONDS": "0.005",
            "AGENT_REGISTRATION_BACKOFF_CAP_SECONDS": "0.02",
            "AGENT_REGISTRATION_STEP_DEADLINE_SECONDS": "15",
        }
        program_path = root / cloud_init.PROGRAM_PATH.lstrip("/")
        return Boot(root=root, program=program_path, env=env, log=log), fakes

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


def hold_apt_lock(root: Path, seconds: float) -> tuple[threading.Thread, list[float]]:
    """Hold dpkg's frontend lock (an fcntl lock, as apt-daily holds it) from this process until
    `seconds` after the program has written apt's sources for the Azure CLI (then it waits for apt)."""
    sources = root / "etc/apt/sources.list.d/azure-cli.sources"
    lock = root / "var/lib/dpkg/lock-frontend"
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o640)
    fcntl.lockf(fd, fcntl.LOCK_EX)
    released: list[float] = []

    def release() -> None:
        deadline = time.monotonic() + 30
        while not sources.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(seconds)
        released.append(time.time())
        fcntl.lockf(fd, fcntl.LOCK_UN)
        os.close(fd)

    holder = threading.Thread(target=release, daemon=True)
    holder.start()
    return holder, released


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def files_holding_a_secret(*roots: Path) -> list[str]:
    found = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                found += [f"{path}: {s[:8]}..." for s in SECRETS if s.encode() in data]
    return found


def reruns_do_not_register_again(boot: Boot, fakes: Fakes) -> None:
    """After a first boot: a reboot runs the unit again, and it registers nothing; nor when the agent's
    service has stopped, which it starts again."""
    requests = len(fakes.requests)
    again = boot.run()
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already registered" in again.stdout
    assert len(boot.calls("config.sh")) == 1
    assert len(fakes.requests) == requests, "no IMDS, Key Vault or download when registered"
    assert [c["argv"] for c in boot.calls("svc.sh")] == [["install", os.environ.get("USER") or pwd.getpwuid(os.getuid()).pw_name], ["start"]]
    assert len([c for c in boot.calls("iptables") if "-I" in c["argv"]]) == 1, "the rule is not inserted twice"

    # The agent's service stopped (or was never started): started again, still not re-registered.
    for active in (boot.root.parent / "state").glob("active-*"):
        active.unlink()
    third = boot.run()
    assert third.returncode == 0
    assert len(boot.calls("config.sh")) == 1
    assert [c["argv"] for c in boot.calls("svc.sh")][-1] == ["start"] and len(boot.calls("svc.sh")) == 3


# ---- the first boot, for real -----------------------------------------------------------------
@pytest.mark.parametrize("kind", ["azure-devops", "github"])
def test_first_boot_registers_once_and_never_shows_the_token(first_boot, tmp_path: Path, kind: str) -> None:
    boot, fakes = first_boot(kind)
    holder, released = hold_apt_lock(boot.root, HOLD_APT_LOCK_AFTER_SOURCES_SECONDS)
    reader = ProcReader(tmp_path / "state")
    reader.start()
    try:
        result = boot.run()
    finally:
        reader.stop.set()
        reader.join()
        holder.join()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output

    # Registered exactly once, as the agent user, the token only in the variable the agent reads.
    [config] = boot.calls("config.sh")
    variable = program.TOKEN_VARIABLE[kind]
    assert config["token_sha256"] == {variable: sha256(TOKEN if kind == "azure-devops" else RUNNER_TOKEN)}
    agent = pwd.getpwuid(os.getuid())
    assert (config["uid"], config["gid"], config["groups"]) == (agent.pw_uid, agent.pw_gid, []), "the agent user, no extra groups"
    assert {"--unattended", "--replace", "--url"} <= set(config["argv"])
    assert not [a for a in config["argv"] if any(secret in a for secret in SECRETS)]
    assert not [k for k in config["env"] if k.startswith("AGENT_REGISTRATION_")], "nothing of ours leaks into the agent"
    if kind == "github":
        assert config["argv"][config["argv"].index("--labels") + 1] == "aml,private"
    else:
        assert config["argv"][config["argv"].index("--pool") + 1] == "aml-private"
    assert (boot.root / "opt" / ("azp" if kind == "azure-devops" else "actions-runner") / ".credentials").exists()

    # Key Vault refused connections, then answered 403 twice; every try had a fresh IMDS token.
    assert output.count("ConnectionRefusedError reaching http://127.0.0.1") == KEY_VAULT_LISTENS_AT_TOKEN - 1
    assert output.count("HTTP 403 from") == 2
    assert fakes.kv_calls == 3
    assert fakes.imds_calls == 1 + (KEY_VAULT_LISTENS_AT_TOKEN - 1) + fakes.kv_calls  # one IMDS 500, then a token per try

    # The apt lock: the program found it held and waited; nothing touched apt before the holder
    # let go, and apt itself waits for it too.
    assert "apt lock: try 1 failed" in output
    apt_calls = [c for c in boot.calls() if c["name"] in ("apt-get", "installdependencies.sh")]
    assert apt_calls and min(c["time"] for c in apt_calls) >= released[0]
    for call in apt_calls:
        assert call["env"]["DEBIAN_FRONTEND"] == "noninteractive"
        assert 'DPkg::Lock::Timeout "600";' in Path(call["env"]["APT_CONFIG"]).read_text()
    assert [c["argv"][-4:] for c in boot.calls("apt-get") if "install" in c["argv"]] == [list(program.JOB_PACKAGES)]

    # The IMDS block comes before anything runs as the agent user, and the agent's own service
    # cannot start without it.
    inserted = boot.index("iptables", lambda r: "-I" in r["argv"])
    assert inserted < boot.index("config.sh") < boot.index("svc.sh", lambda r: r["argv"] == ["start"])
    assert boot.calls("iptables")[inserted - boot.index("iptables")]["argv"][-8:] == [
        "-m", "owner", "--uid-owner", str(os.getuid()), "-j", "REJECT", "--reject-with", "icmp-port-unreachable"]
    dropin = boot.root / f"etc/systemd/system/{SERVICE_NAME}.d/10-imds-block.conf"
    assert "Requires=agent-imds-block.service" in dropin.read_text()
    assert boot.index("systemctl", lambda r: r["argv"] == ["daemon-reload"]) < boot.index("svc.sh", lambda r: r["argv"] == ["start"])

    # The token: in no process's arguments, no file, no output.
    assert reader.seen_config_sh, "the /proc reader must have seen config.sh running"
    assert reader.leaks == []
    assert files_holding_a_secret(tmp_path) == []
    assert not [s for s in SECRETS if s in output]

    # Registered once also across reboots: checked after one kind's first boot (a first boot is most of
    # this test's time, and the reruns take the same path for both kinds: the marker file config.sh wrote).
    if kind == "azure-devops":
        reruns_do_not_register_again(boot, fakes)


def test_file_scan_can_fail(tmp_path: Path) -> None:
    (tmp_path / "leak.txt").write_text(f"token={TOKEN}")
    assert files_holding_a_secret(tmp_path)


def test_a_vault_that_keeps_refusing_fails_the_run_so_systemd_restarts_it(first_boot) -> None:
    boot, fakes = first_boot("azure-devops", kv_always_forbidden=True)
    boot.env["AGENT_REGISTRATION_STEP_DEADLINE_SECONDS"] = "0.2"
    result = boot.run()
    assert result.returncode == 1
    assert "registration credential (Key Vault): still failing" in result.stdout
    assert boot.calls("config.sh") == [] and boot.calls("svc.sh") == []
    assert not [s for s in SECRETS if s in result.stdout + result.stderr]


def test_without_iptables_the_block_fails_and_so_does_the_unit(tmp_path: Path) -> None:
    """Fail closed: the agent's unit requires the block, so no block means no agent."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps(cloud_init.render_config(bootstrap("azure-devops"))))
    (tmp_path / "empty").mkdir()
    env = {"PATH": str(tmp_path / "empty"), "AGENT_REGISTRATION_CONFIG": str(config),
           "AGENT_REGISTRATION_ROOT": str(tmp_path), "AGENT_REGISTRATION_AGENT_USER": pwd.getpwuid(os.getuid()).pw_name}
    result = subprocess.run([*FIRST_BOOT_PYTHON, program.__file__, "block-imds"], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "cannot run iptables" in result.stdout and "Traceback" not in result.stderr
