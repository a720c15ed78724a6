"""A local test double of Azure Resource Manager (HTTPS, loopback) and of a managed identity's token
endpoint, for the live checks (`live/`).

The double answers the documented shapes of the calls the checks make (the REST reference pages and
API versions named in live/preflight.py and live/verify.py), from a `Subscription` a test fills in,
and records every request. Faults a test can inject: 429 with Retry-After on a path, 403 on a path.

TLS: a self-signed certificate for 127.0.0.1, made per session with `cryptography` and trusted
through REQUESTS_CA_BUNDLE, so the checks' real HTTPS client verifies it. Sign-in: azure-identity's
own ManagedIdentityCredential (the App Service protocol: IDENTITY_ENDPOINT and IDENTITY_HEADER)
asks the token double, so DefaultAzureCredential runs its real code path.
"""

from __future__ import annotations

import datetime
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

ACCESS_TOKEN = "double-arm-access-token-7f3c9d"  # must never appear in any output
IDENTITY_HEADER = "double-identity-header-b81e"


def make_certificate(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "arm-double.pem", directory / "arm-double.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Subscription:
    """What the double's subscription holds. Paths are ARM paths without the query."""

    id: str = "00000000-0000-0000-0000-000000000001"
    providers: dict[str, str] = field(default_factory=dict)
    """namespace -> registrationState; unknown namespaces are Registered."""
    features: dict[str, str] = field(default_factory=dict)
    """"Microsoft.Compute/EncryptionAtHost" -> state; unknown features are Registered."""
    skus: list[dict[str, Any]] = field(default_factory=list)
    ml_usages: list[dict[str, Any]] = field(default_factory=list)
    compute_usages: list[dict[str, Any]] = field(default_factory=list)
    taken_names: dict[str, str] = field(default_factory=dict)
    """name -> reason (AlreadyExists, ...)."""
    deleted_vaults: list[dict[str, Any]] = field(default_factory=list)
    vnets: list[dict[str, Any]] = field(default_factory=list)
    permissions: list[dict[str, Any]] = field(default_factory=lambda: [{"actions": ["*"], "notActions": []}])
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Full ARM id (lower case) -> the resource's JSON; also served to list calls below their parent."""
    lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Path (lower case) -> items, for any other list call (private endpoints, zones, records, datastores)."""
    throttle: dict[str, int] = field(default_factory=dict)
    """Path suffix -> how many 429s to answer before the real answer."""
    retry_after: str = "0"
    forbidden: set[str] = field(default_factory=set)
    """Path suffixes answered 403 AuthorizationFailed."""
    page_size: int = 0
    """When set, list answers are split into pages joined by nextLink."""


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


class ArmDouble:
    def __init__(self, subscription: Subscription, cert: Path, key: Path):
        self.subscription = subscription
        self.requests: list[Request] = []
        self.token_requests: list[Request] = []
        double = self

        class Arm(BaseHTTPRequestHandler):
            # HTTP/1.1 keeps the client's connection open between requests, as ARM does: one TLS
            # handshake per client instead of one per request (every answer carries Content-Length).
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no waiting for an ACK between them

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(self.command, parts.path, parse_qs(parts.query), dict(self.headers),
                                  json.loads(raw) if raw else None)
                double.requests.append(request)
                status, body, headers = double.answer(request)
                data = json.dumps(body).encode()
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        class Token(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                double.token_requests.append(Request("GET", parts.path, parse_qs(parts.query), dict(self.headers), None))
                if self.headers.get("X-IDENTITY-HEADER") != IDENTITY_HEADER:
                    self.send_response(401)
                    self.end_headers()
                    return
                resource = parse_qs(parts.query).get("resource", [""])[0]
                data = json.dumps({"access_token": ACCESS_TOKEN, "expires_on": str(int(time.time()) + 3600),
                                   "resource": resource, "token_type": "Bearer"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.arm = ThreadingHTTPServer(("127.0.0.1", 0), Arm)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.arm.socket = context.wrap_socket(self.arm.socket, server_side=True)
        self.token = ThreadingHTTPServer(("127.0.0.1", 0), Token)
        for server in (self.arm, self.token):
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def reset(self, subscription: Subscription) -> None:
        """Another test's subscription, with nothing recorded yet."""
        self.subscription = subscription
        self.requests.clear()
        self.token_requests.clear()

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.arm.server_address[1]}"

    @property
    def token_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.token.server_address[1]}/msi/token"

    def close(self) -> None:
        for server in (self.arm, self.token):
            server.shutdown()
            server.server_close()

    # ---- answers ---------------------------------------------------------------------------
    def answer(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        s = self.subscription
        path = request.path
        lower = path.lower()
        if request.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            return 401, {"error": {"code": "InvalidAuthenticationToken", "message": "no token"}}, {}
        if not request.query.get("api-version") and "$skiptoken" not in request.query:
            return 400, {"error": {"code": "MissingApiVersionParameter", "message": "api-version"}}, {}
        for suffix, left in list(s.throttle.items()):
            if lower.endswith(suffix.lower()) and left > 0:
                s.throttle[suffix] = left - 1
                return 429, {"error": {"code": "TooManyRequests", "message": "throttled"}}, {"Retry-After": s.retry_after}
        if any(lower.endswith(f.lower()) for f in s.forbidden):
            return 403, {"error": {"code": "AuthorizationFailed", "message": "does not have authorization"}}, {}
        if request.method not in ("GET", "POST"):
            return 405, {"error": {"code": "MethodNotAllowed", "message": request.method}}, {}

        sub = f"/subscriptions/{s.id}".lower()
        if request.method == "POST" and lower.endswith("/checknameavailability"):
            name = request.body["name"]
            if name in s.taken_names:
                return 200, {"nameAvailable": False, "reason": s.taken_names[name],
                             "message": f"The name {name} is already in use."}, {}
            return 200, {"nameAvailable": True}, {}
        if lower.startswith(f"{sub}/providers/microsoft.features/providers/"):
            namespace, feature = path.split("/")[-3], path.split("/")[-1]
            state = s.features.get(f"{namespace}/{feature}", "Registered")
            return 200, {"name": f"{namespace}/{feature}", "properties": {"state": state}}, {}
        if lower == f"{sub}/providers/microsoft.compute/skus":
            return self._page(request, s.skus)
        if lower.startswith(f"{sub}/providers/microsoft.machinelearningservices/locations/") and lower.endswith("/usages"):
            return self._page(request, s.ml_usages)
        if lower.startswith(f"{sub}/providers/microsoft.compute/locations/") and lower.endswith("/usages"):
            return self._page(request, s.compute_usages)
        if lower == f"{sub}/providers/microsoft.keyvault/deletedvaults":
            return self._page(request, s.deleted_vaults)
        if lower == f"{sub}/providers/microsoft.network/virtualnetworks":
            return self._page(request, s.vnets)
        if lower.endswith("/providers/microsoft.authorization/permissions"):
            return self._page(request, s.permissions)
        if lower.startswith(f"{sub}/providers/") and lower.count("/") == 4:
            namespace = path.split("/")[-1]
            return 200, {"namespace": namespace, "registrationState": s.providers.get(namespace, "Registered")}, {}
        if lower in s.resources:
            return 200, s.resources[lower], {}
        if lower.endswith("/resources") and lower.count("/") == 5:
            group = lower[: -len("/resources")]
            return self._page(request, [{"id": v["id"], "name": v["name"], "type": v["type"]}
                                        for k, v in s.resources.items() if k.startswith(group + "/")])
        if lower in s.lists:
            return self._page(request, s.lists[lower])
        return 404, {"error": {"code": "ResourceNotFound", "message": f"{path} not found"}}, {}

    def _page(self, request: Request, items: list[dict[str, Any]]) -> tuple[int, Any, dict[str, str]]:
        size = self.subscription.page_size
        if not size:
            return 200, {"value": items}, {}
        start = int(request.query.get("$skiptoken", ["0"])[0])
        page: dict[str, Any] = {"value": items[start:start + size]}
        if start + size < len(items):
            page["nextLink"] = f"{self.endpoint}{request.path}?$skiptoken={start + size}&api-version=" + \
                request.query.get("api-version", [""])[0]
        return 200, page, {}


# ---- documented shapes --------------------------------------------------------------------------
def vm_sku(name: str, family: str, vcpus: int, location: str, restricted: Optional[str] = None) -> dict[str, Any]:
    """A `Resource Skus - List` item (Microsoft.Compute/skus, 2021-07-01)."""
    sku: dict[str, Any] = {
        "resourceType": "virtualMachines", "name": name, "tier": "Standard", "size": name.split("_", 1)[1],
        "family": family, "locations": [location],
        "locationInfo": [{"location": location, "zones": ["1", "2", "3"]}],
        "capabilities": [{"name": "vCPUs", "value": str(vcpus)}, {"name": "MemoryGB", "value": str(vcpus * 4)}],
        "restrictions": [],
    }
    if restricted:
        sku["restrictions"] = [{"type": "Location", "values": [location],
                                "restrictionInfo": {"locations": [location]}, "reasonCode": restricted}]
    return sku


def ml_usage(family_words: str, kind: str, current: int, limit: int) -> dict[str, Any]:
    """An Azure ML `Usages - List` item (2024-04-01): `family_words` as in "Standard DSv2 Family"."""
    value = f"{family_words} Cluster {kind} vCPUs"
    return {"id": f"/subscriptions/x/usages/{value.replace(' ', '_')}",
            "type": "Microsoft.MachineLearningServices/vmFamily/usages",
            "currentValue": current, "limit": limit, "name": {"value": value, "localizedValue": value}, "unit": "Count"}


def ml_total(kind: str, current: int, limit: int) -> dict[str, Any]:
    value = f"Total Cluster {kind} Regional vCPUs"
    return {"id": "/subscriptions/x/usages", "type": f"Microsoft.MachineLearningServices/{kind.lower()}Cores/usages",
            "currentValue": current, "limit": limit, "name": {"value": value, "localizedValue": value}, "unit": "Count"}


def compute_usage(name: str, current: int, limit: int) -> dict[str, Any]:
    """A Compute `Usage - List` item (2024-07-01)."""
    return {"currentValue": current, "limit": limit, "name": {"value": name, "localizedValue": name}, "unit": "Count"}
