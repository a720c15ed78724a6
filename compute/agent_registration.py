#!/usr/bin/env python3
"""Registers this VM's self-hosted CI/CD agent, from a systemd unit, until it is registered.

Shipped verbatim in the agents' custom data (compute/cloud_init.py) and run on the VM by
`agent-registration.service` at every boot. It holds no secret: it reads the registration
credential from Key Vault with the VM's managed identity, so the same file is safe to show in ARM.

Why a service and not the first-boot script it replaces: cloud-init runs user scripts once per
instance, so one failure at first boot (Key Vault's role or private DNS not there yet, the apt lock
held by apt-daily/unattended-upgrades) left a VM without an agent while `pulumi up` reported
success. This program instead retries each network step with capped exponential backoff, exits
non-zero when a step's deadline passes (systemd restarts it: `Restart=on-failure`), and is
idempotent: an agent that is already configured (its `.agent`/`.runner` file) is never registered
again; only its service is (re)installed and started. A re-provisioned VM (new disk, same name)
registers with `--replace`, which takes over the pool's entry of the same name.

Why Python and not bash: Ubuntu's cloud images ship python3; in Python the token lives in one
variable and reaches `config.sh` only through the environment of that one process (subprocess with
`env=` and `user=`: no `sudo ... env TOKEN=...`, whose argv is readable in /proc/*/cmdline by every
user and lands in the journal); no `set -x` or curl output can echo it; and the very file shipped
here runs under pytest against loopback fakes of IMDS, Key Vault, the downloads and GitHub
(tests/test_agent_registration.py). It uses the standard library only.

Pull-request jobs run on these agents as the agent user. To keep them from minting the VM
identity's token (IMDS → Key Vault → the registration credential, and any other secret of the
vault), the agent user gets no sudo and an iptables owner-match rule rejects its packets to the
metadata endpoint; `block-imds` applies it at every boot, before the agent's service starts.

Every endpoint and path below defaults to the real one. `AGENT_REGISTRATION_*` environment
variables override them; only the tests set them (the systemd units do not).
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import IO, Any, Callable, Mapping, Optional, Sequence

ENV_PREFIX = "AGENT_REGISTRATION_"
CONFIG_PATH = "/etc/agent-registration/config.json"

# IMDS's managed-identity token endpoint and the api-version Microsoft's examples use:
# https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token#get-a-token-using-http
IMDS_TOKEN_URL = "http://169.254.169.254/metadata/identity/oauth2/token"
IMDS_API_VERSION = "2018-02-01"
IMDS_ADDRESS = "169.254.169.254"
# Key Vault's data-plane REST API, "Get Secret":
# https://learn.microsoft.com/rest/api/keyvault/secrets/get-secret/get-secret
KEY_VAULT_API_VERSION = "7.4"
# GitHub's REST API version header: https://docs.github.com/rest/about-the-rest-api/api-versions
GITHUB_API_VERSION = "2022-11-28"

# apt and dpkg take fcntl record locks on these files (dpkg's frontend interface: first
# lock-frontend, then lock; apt also locks its lists and archives while downloading):
# https://git.dpkg.org/cgit/dpkg/dpkg.git/tree/doc/frontend.txt
APT_LOCKS = (
    "/var/lib/dpkg/lock-frontend",
    "/var/lib/dpkg/lock",
    "/var/lib/apt/lists/lock",
    "/var/cache/apt/archives/lock",
)
# At first boot apt-daily/unattended-upgrades hold these (https://bugs.launchpad.net/cloud-init/+bug/1693361).
# Between our check and apt's own lock they may win the race again: apt then waits for the dpkg
# lock instead of failing (DPkg::Lock::Timeout, added in apt 1.9.11:
# https://salsa.debian.org/apt-team/apt/-/commit/de9762d5443b8a957fae781bbdc4a740cc6c4e6f; Ubuntu
# 24.04 ships apt 2.7). It does not cover `apt-get update`'s lists lock, hence our own wait first
# and a retry around each apt-get.
APT_LOCK_TIMEOUT_SECONDS = 600

# Tools the pipelines need (pipelines/templates/agent-tools.yml checks them): the agent user has
# no sudo, so the first boot installs them. The Azure CLI from Microsoft's apt repository, as
# documented: https://learn.microsoft.com/cli/azure/install-azure-cli-linux?pivots=apt
JOB_PACKAGES = ("make", "jq", "python3-venv", "azure-cli")
MICROSOFT_KEY_URL = "https://packages.microsoft.com/keys/microsoft.asc"
AZURE_CLI_REPOSITORY = "https://packages.microsoft.com/repos/azure-cli/"

# Where the units' drop-ins go, and the unit that must run before the agent's own service.
SYSTEMD_DIR = "/etc/systemd/system"
IMDS_BLOCK_UNIT = "agent-imds-block.service"

# The agent writes these when `config.sh` succeeds (Azure DevOps: `.agent`; GitHub: `.runner`;
# both `.credentials`), and `svc.sh install` writes the name of its systemd unit into `.service`.
REGISTERED_MARKERS = {"azure-devops": (".agent", ".credentials"), "github": (".runner", ".credentials")}
# Both agents read their configuration inputs from the environment and remove them from their own
# environment block at once (CommandSettings.cs in microsoft/azure-pipelines-agent and actions/runner):
TOKEN_VARIABLE = {"azure-devops": "VSTS_AGENT_INPUT_TOKEN", "github": "ACTIONS_RUNNER_INPUT_TOKEN"}


class RegistrationError(Exception):
    """A step failed for good in this run (systemd restarts the unit)."""


def log(message: str) -> None:
    """One line to stdout (the journal). Never called with a credential or a response body."""
    print(f"agent-registration: {message}", flush=True)


# ---- settings ---------------------------------------------------------------------------------
class Settings:
    """The rendered configuration, with the tests' overrides (environment) on top."""

    def __init__(self, config: Mapping[str, Any], environ: Mapping[str, str]):
        self.config = dict(config)
        self.environ = environ

    def get(self, key: str, default: Any = None) -> Any:
        override = self.environ.get(ENV_PREFIX + key.upper())
        if override is not None:
            return override
        return self.config.get(key, default)

    def number(self, key: str, default: float) -> float:
        return float(self.get(key, default))

    def path(self, absolute: str) -> Path:
        """A filesystem path under the root (`/` on the VM; a temporary directory in tests)."""
        return Path(str(self.get("root", "/"))) / absolute.lstrip("/")

    @property
    def kind(self) -> str:
        kind = str(self.config["kind"])
        if kind not in TOKEN_VARIABLE:
            raise RegistrationError(f"unknown agent kind {kind!r}")
        return kind

    @property
    def install_dir(self) -> Path:
        return self.path(str(self.config["install_dir"]))


def load_settings(environ: Mapping[str, str]) -> Settings:
    path = environ.get(ENV_PREFIX + "CONFIG", CONFIG_PATH)
    with open(path, encoding="utf-8") as f:
        return Settings(json.load(f), environ)


# ---- retries ----------------------------------------------------------------------------------
def retry(step: str, attempt: Callable[[], Any], s: Settings, sleep: Callable[[float], None] = time.sleep) -> Any:
    """Call `attempt` until it returns, waiting base·2^n seconds (capped) between tries, until the
    step's deadline; then give up (systemd restarts the unit, which starts the backoff again)."""
    base = s.number("backoff_base_seconds", 5)
    cap = s.number("backoff_cap_seconds", 300)
    deadline = time.monotonic() + s.number("step_deadline_seconds", 1800)
    tries = 0
    while True:
        tries += 1
        try:
            return attempt()
        except RetryableError as e:
            delay = min(cap, base * 2 ** (tries - 1))
            if time.monotonic() + delay > deadline:
                raise RegistrationError(f"{step}: still failing after {tries} tries ({e})") from None
            log(f"{step}: try {tries} failed ({e}); next in {delay:g} s")
            sleep(delay)


class RetryableError(Exception):
    """A failure worth another try (network, throttling, a role not propagated yet)."""


def http(url: str, *, method: str = "GET", headers: Optional[Mapping[str, str]] = None,
         data: Optional[bytes] = None, timeout: float = 30, sink: Optional[IO[bytes]] = None) -> bytes:
    """One request (the body returned, or streamed into `sink`); any failure is retryable. The error
    names the status and the URL's host and path, never a header or a body (either may hold a
    credential)."""
    # No proxy: "IMDS is not intended to be used behind a proxy and doing so is unsupported"
    # (https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service#proxies), and
    # the agents' egress is the NAT gateway, not a proxy.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, method=method, headers=dict(headers or {}), data=data)
    where = _where(url)
    try:
        with opener.open(request, timeout=timeout) as response:
            if sink is None:
                return bytes(response.read())
            sink.seek(0)
            sink.truncate()
            shutil.copyfileobj(response, sink)
            return b""
    except urllib.error.HTTPError as e:
        raise RetryableError(f"HTTP {e.code} from {where}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise RetryableError(f"{type(reason).__name__} reaching {where}") from None


def _where(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def json_field(body: bytes, field: str, where: str) -> str:
    try:
        value = json.loads(body)[field]
    except (ValueError, KeyError, TypeError):
        raise RetryableError(f"no {field!r} in the answer from {where}") from None
    if not isinstance(value, str) or not value:
        raise RetryableError(f"empty {field!r} in the answer from {where}")
    return value


# ---- the credential ---------------------------------------------------------------------------
def access_token(s: Settings) -> str:
    """The managed identity's token for Key Vault. IMDS answers 404/410/429/5xx while the identity
    is being attached or when throttled; Microsoft's guidance is to retry with exponential backoff:
    https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token#retry-guidance"""
    query = urllib.parse.urlencode({
        "api-version": IMDS_API_VERSION,
        "resource": s.get("key_vault_resource"),
        "client_id": s.get("identity_client_id"),
    })
    url = f"{s.get('imds_url', IMDS_TOKEN_URL)}?{query}"
    return str(retry("managed identity token (IMDS)",
                     lambda: json_field(http(url, headers={"Metadata": "true"}), "access_token", "IMDS"), s))


def registration_credential(s: Settings) -> str:
    """The secret's value. 403 until the role assignment propagates, connection errors until the
    vault's private endpoint and DNS record exist: both retried. A fresh IMDS token per try, as the
    first may have been minted before the role existed."""
    url = f"{str(s.get('vault_url')).rstrip('/')}/secrets/{s.get('secret_name')}?api-version={KEY_VAULT_API_VERSION}"

    def attempt() -> str:
        token = access_token(s)
        return json_field(http(url, headers={"Authorization": f"Bearer {token}"}), "value", "Key Vault")

    return str(retry("registration credential (Key Vault)", attempt, s))


def github_runner_token(s: Settings, credential: str) -> str:
    """GitHub: the stored credential mints a one-hour runner registration token:
    https://docs.github.com/rest/actions/self-hosted-runners#create-a-registration-token-for-a-repository"""
    url = str(s.get("github_registration_url"))
    headers = {"Authorization": f"Bearer {credential}", "Accept": "application/vnd.github+json",
               "X-GitHub-Api-Version": GITHUB_API_VERSION}
    return str(retry("runner registration token (GitHub)",
                     lambda: json_field(http(url, method="POST", headers=headers, data=b""), "token", "GitHub"), s))


# ---- apt ------------------------------------------------------------------------------------
def apt_locks_free(s: Settings) -> bool:
    """True when no process holds an apt/dpkg lock (we take and drop each one: fcntl record locks,
    as apt and dpkg use them; a lock file that does not exist is not held)."""
    for lock in APT_LOCKS:
        path = s.path(lock)
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            continue
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.lockf(fd, fcntl.LOCK_UN)
        except OSError:
            return False
        finally:
            os.close(fd)
    return True


def wait_for_apt(s: Settings) -> None:
    def attempt() -> None:
        if not apt_locks_free(s):
            raise RetryableError("an apt/dpkg lock is held (apt-daily or unattended-upgrades at first boot)")
    retry("apt lock", attempt, s)


def apt_environment(s: Settings) -> dict[str, str]:
    """apt-get's environment: non-interactive, and waiting for the lock rather than failing.
    APT_CONFIG names a configuration file apt reads before /etc/apt/apt.conf.d, so it reaches the
    apt-get calls inside installdependencies.sh too (apt.conf(5):
    https://manpages.ubuntu.com/manpages/noble/man5/apt.conf.5.html)."""
    conf = s.path("/etc/agent-registration/apt.conf")
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(f'DPkg::Lock::Timeout "{APT_LOCK_TIMEOUT_SECONDS}";\n', encoding="utf-8")
    env = base_environment()
    env.update({"DEBIAN_FRONTEND": "noninteractive", "APT_CONFIG": str(conf)})
    return env


def install_job_packages(s: Settings) -> None:
    """make, jq, python3-venv and the Azure CLI (Microsoft's repository, signed by its key)."""
    done = s.path("/var/lib/agent-registration/packages-installed")
    if done.exists():
        return
    keyring = s.path("/etc/apt/keyrings/microsoft.gpg")
    if not keyring.exists():
        key_url = str(s.get("microsoft_key_url", MICROSOFT_KEY_URL))
        armored = retry("Microsoft's package key", lambda: http(key_url), s)
        keyring.parent.mkdir(parents=True, exist_ok=True)
        dearmored = run(["gpg", "--dearmor"], stdin=armored, capture=True)
        keyring.write_bytes(dearmored)
        keyring.chmod(0o644)
    sources = s.path("/etc/apt/sources.list.d/azure-cli.sources")
    sources.parent.mkdir(parents=True, exist_ok=True)
    sources.write_text(
        "Types: deb\n"
        f"URIs: {AZURE_CLI_REPOSITORY}\n"
        f"Suites: {os_codename(s)}\n"
        "Components: main\n"
        # The agents download the linux-x64 agent and run on x64 sizes.
        "Architectures: amd64\n"
        "Signed-by: /etc/apt/keyrings/microsoft.gpg\n", encoding="utf-8")
    wait_for_apt(s)
    env = apt_environment(s)
    retry("apt-get update", lambda: run_retryable(["apt-get", "-q", "update"], env=env), s)
    retry("apt-get install", lambda: run_retryable(["apt-get", "-q", "-y", "install", *JOB_PACKAGES], env=env), s)
    done.parent.mkdir(parents=True, exist_ok=True)
    done.touch()


def os_codename(s: Settings) -> str:
    for line in s.path("/etc/os-release").read_text(encoding="utf-8").splitlines():
        if line.startswith("VERSION_CODENAME="):
            return line.split("=", 1)[1].strip().strip('"')
    raise RegistrationError("no VERSION_CODENAME in /etc/os-release")


# ---- processes --------------------------------------------------------------------------------
def base_environment() -> dict[str, str]:
    """A clean environment for children: PATH and locale only (nothing of ours leaks into them)."""
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LANG": "C.UTF-8"}
    return env


def run(argv: Sequence[str], *, env: Optional[Mapping[str, str]] = None, cwd: Optional[Path] = None,
        user: Optional[pwd.struct_passwd] = None, stdin: Optional[bytes] = None, capture: bool = False) -> bytes:
    """Run a command; its argv never holds a credential (those travel in `env`). With `user`, the
    child drops to that user's uid and gid with no supplementary groups (not root's)."""
    if env is None:
        env = base_environment()
    as_user: dict[str, Any] = {}
    if user is not None:
        as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    try:
        result = subprocess.run(list(argv), env=dict(env), cwd=cwd, input=stdin,
                                stdout=subprocess.PIPE if capture else None, check=False, **as_user)
    except OSError as e:  # e.g. iptables not installed: fail, and the agent's service stays down
        raise RegistrationError(f"cannot run {Path(argv[0]).name}: {e.strerror}") from None
    if result.returncode != 0:
        raise RegistrationError(f"{Path(argv[0]).name} {' '.join(argv[1:3])} exited with {result.returncode}")
    return result.stdout or b""


def succeeds(argv: Sequence[str]) -> bool:
    """A yes/no question to a command (`iptables -C`, `systemctl is-active`), output discarded."""
    try:
        return subprocess.run(list(argv), env=base_environment(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode == 0
    except OSError as e:
        raise RegistrationError(f"cannot run {Path(argv[0]).name}: {e.strerror}") from None


def run_retryable(argv: Sequence[str], **kwargs: Any) -> bytes:
    try:
        return run(argv, **kwargs)
    except RegistrationError as e:
        raise RetryableError(str(e)) from None


# ---- the agent user and IMDS ------------------------------------------------------------------
def ensure_agent_user(s: Settings) -> pwd.struct_passwd:
    """A dedicated user with no sudo: jobs run as it, so it must not be able to undo the IMDS
    block (the VM's admin user has passwordless sudo)."""
    name = str(s.get("agent_user"))
    try:
        return pwd.getpwnam(name)
    except KeyError:
        run(["useradd", "--system", "--create-home", "--shell", "/bin/bash", name])
        return pwd.getpwnam(name)


def imds_block_rules(uid: int) -> list[list[str]]:
    """The iptables rule that rejects the agent user's packets to IMDS (the owner match applies to
    locally generated packets, in OUTPUT). Root (this program) and the Azure agent keep access."""
    rule = ["OUTPUT", "-d", f"{IMDS_ADDRESS}/32", "-m", "owner", "--uid-owner", str(uid),
            "-j", "REJECT", "--reject-with", "icmp-port-unreachable"]
    return [["iptables", "-w", "-C", *rule], ["iptables", "-w", "-I", *rule[:1], "1", *rule[1:]]]


def block_imds(s: Settings) -> None:
    """Idempotent: insert the rule only when `-C` says it is not there. iptables rules do not
    survive a reboot, so `agent-imds-block.service` runs this at every boot, ordered before the
    agent's service (drop-in below)."""
    user = ensure_agent_user(s)
    if user.pw_uid == 0 and str(s.get("root", "/")) == "/":
        raise RegistrationError("the agent user must not be root")
    check, insert = imds_block_rules(user.pw_uid)
    if not succeeds(check):
        run(insert)
        log(f"IMDS blocked for {user.pw_name} (uid {user.pw_uid})")


# ---- the agent --------------------------------------------------------------------------------
def registered(s: Settings) -> bool:
    return all((s.install_dir / name).exists() for name in REGISTERED_MARKERS[s.kind])


def download_agent(s: Settings) -> None:
    """Download (streamed to a temporary file: the archive is large) and unpack the pinned release,
    unless a previous run already did."""
    target = s.install_dir
    if (target / "config.sh").exists():
        return
    url = str(s.get("download_url"))
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".agent-", dir=target.parent))  # same filesystem: rename is atomic
    try:
        with tempfile.TemporaryFile() as archive:
            retry("agent download", lambda: http(url, timeout=300, sink=archive), s)
            archive.seek(0)
            with tarfile.open(fileobj=archive, mode="r:gz") as tar:
                # "data": no absolute paths, no links out of the folder, no device files.
                tar.extractall(staging, filter="data")
    except (RegistrationError, tarfile.TarError, OSError) as e:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(e, RegistrationError):
            raise
        raise RegistrationError(f"the agent archive from {_where(url)} did not unpack: {e}") from None
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)


def chown_tree(root: Path, user: pwd.struct_passwd) -> None:
    for path in [root, *root.rglob("*")]:
        os.lchown(path, user.pw_uid, user.pw_gid)


def install_agent_dependencies(s: Settings) -> None:
    done = s.install_dir / ".dependencies-installed"
    if done.exists():
        return
    wait_for_apt(s)
    env = apt_environment(s)
    retry("agent dependencies", lambda: run_retryable(["./bin/installdependencies.sh"], env=env, cwd=s.install_dir), s)
    done.touch()


def configure_agent(s: Settings, user: pwd.struct_passwd, token: str) -> None:
    """`config.sh` as the agent user; the token only in that process's environment."""
    kind = s.kind
    name = os.uname().nodename
    if kind == "azure-devops":
        argv = ["./config.sh", "--unattended", "--url", str(s.get("url")), "--auth", "pat",
                "--pool", str(s.get("pool")), "--agent", name, "--replace", "--acceptTeeEula"]
    else:
        argv = ["./config.sh", "--unattended", "--url", str(s.get("url")), "--name", name,
                "--labels", ",".join(s.get("labels") or ["self-hosted"]), "--replace"]
    env = base_environment()
    env.update({"HOME": user.pw_dir, "USER": user.pw_name, "LOGNAME": user.pw_name, TOKEN_VARIABLE[kind]: token})
    run(argv, env=env, cwd=s.install_dir, user=user)


def agent_service_name(s: Settings) -> Optional[str]:
    marker = s.install_dir / ".service"
    return marker.read_text(encoding="utf-8").strip() if marker.exists() else None


def order_after_imds_block(s: Settings, unit: str) -> None:
    """A drop-in that makes the agent's own unit (named by svc.sh) require the IMDS block."""
    dropin = s.path(f"{SYSTEMD_DIR}/{unit}.d/10-imds-block.conf")
    dropin.parent.mkdir(parents=True, exist_ok=True)
    dropin.write_text(agent_service_dropin(), encoding="utf-8")
    run(["systemctl", "daemon-reload"])


def agent_service_dropin() -> str:
    return (
        "# Written by agent-registration: jobs must never start before the agent user is cut off\n"
        "# from the instance metadata service (IMDS). If the block fails, the agent does not start.\n"
        "[Unit]\n"
        f"Requires={IMDS_BLOCK_UNIT}\n"
        f"After={IMDS_BLOCK_UNIT}\n"
    )


def ensure_service(s: Settings, user: pwd.struct_passwd) -> None:
    """Install the agent's service once, keep it ordered after the IMDS block, start it if stopped."""
    if agent_service_name(s) is None:
        run(["./svc.sh", "install", user.pw_name], cwd=s.install_dir)
    unit = agent_service_name(s)
    if unit is None:
        raise RegistrationError("svc.sh install did not name the agent's service (.service)")
    order_after_imds_block(s, unit)
    active = succeeds(["systemctl", "is-active", "--quiet", unit])
    if not active:
        run(["./svc.sh", "start"], cwd=s.install_dir)
    log(f"agent service {unit} is {'running' if active else 'started'}")


def register(s: Settings) -> None:
    kind = s.kind
    user = ensure_agent_user(s)
    block_imds(s)  # before anything runs as the agent user
    if registered(s):
        log("already registered: not registering again")
        ensure_service(s, user)
        return
    install_job_packages(s)
    download_agent(s)
    install_agent_dependencies(s)
    chown_tree(s.install_dir, user)
    credential = registration_credential(s)
    configure_agent(s, user, github_runner_token(s, credential) if kind == "github" else credential)
    if not registered(s):
        raise RegistrationError("config.sh succeeded but the agent wrote no configuration")
    log("registered")
    ensure_service(s, user)


def main(argv: Sequence[str]) -> int:
    command = argv[1] if len(argv) > 1 else "register"
    try:
        s = load_settings(os.environ)
        if command == "block-imds":
            block_imds(s)
        elif command == "register":
            register(s)
        else:
            log(f"usage: {Path(argv[0]).name} [register|block-imds]")
            return 2
    except RegistrationError as e:
        log(f"failed: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
