"""A small, read-only Azure Resource Manager client for the live checks.

Read-only by construction: `get` and the one kind of POST that reads (`checkNameAvailability`), and
nothing else; `ReadOnlyViolation` is raised before any other request could be sent. The checks
never need to write, so they run under the Reader role plus whatever each check names.

- Sign-in: azure-identity's `DefaultAzureCredential` (az login on a laptop, OIDC/workload identity
  in CI, the managed identity on the platform's own agents), asking for a token for
  `<resource manager>/.default`, the audience ARM accepts
  (https://learn.microsoft.com/azure/azure-resource-manager/management/control-plane-and-data-plane).
- Throttling: a 429 is retried after the `Retry-After` seconds ARM sends, a bounded number of times
  (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling).
- Paging: list calls follow `nextLink` (https://learn.microsoft.com/rest/api/azure/#async-operations-throttling-and-paging).
- A 401/403 becomes `PermissionDenied`, naming the action the call needs, so a report can say which
  role to grant instead of printing a stack trace.
- The access token never leaves this module: it is not logged, not part of any error, not returned.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Optional, Protocol
from urllib.parse import urlsplit

import requests

MAX_THROTTLE_RETRIES = 5
"""How often one call waits out a 429 before the check reports the throttling."""
MAX_RETRY_AFTER_SECONDS = 60.0
TIMEOUT_SECONDS = 30.0


class TokenCredential(Protocol):
    def get_token(self, *scopes: str) -> Any: ...


class ArmError(Exception):
    """ARM answered something the check cannot use; the message is safe to print (no token)."""


@dataclass
class PermissionDenied(ArmError):
    action: str
    status: int
    detail: str = ""

    def __str__(self) -> str:
        return (f"the signed-in identity may not {self.action} (HTTP {self.status}"
                + (f": {self.detail}" if self.detail else "") + ")")


@dataclass
class NotFound(ArmError):
    path: str

    def __str__(self) -> str:
        return f"{self.path} does not exist"


class ReadOnlyViolation(AssertionError):
    """A check tried to send a request that could change something: a bug, never sent."""


# The only POSTs the checks send: each answers a question and changes nothing.
READ_ONLY_POST_SUFFIXES = ("/checkNameAvailability",)


@dataclass
class ArmClient:
    endpoint: str
    """`https://management.azure.com` for AzureCloud (components.zones.CLOUDS), or a test double."""
    credential: TokenCredential
    session: requests.Session = field(default_factory=requests.Session)
    sleep: Callable[[float], None] = time.sleep
    requests_sent: list[tuple[str, str]] = field(default_factory=list)
    """(method, path) of every request sent, for the report's --json and for tests."""
    _token: Optional[str] = field(default=None, repr=False)
    _expires_on: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self.endpoint = self.endpoint.rstrip("/")

    # ---- the two verbs -------------------------------------------------------------------------
    def get(self, path: str, api_version: str, action: str, **query: str) -> Any:
        """GET `path` (or a full nextLink URL); `action` names the permission it needs."""
        return self._send("GET", path, api_version, action, query=query)

    def check_name(self, path: str, api_version: str, action: str, body: Mapping[str, Any]) -> Any:
        if not path.endswith(READ_ONLY_POST_SUFFIXES):
            raise ReadOnlyViolation(f"POST {path} is not a read-only call")
        return self._send("POST", path, api_version, action, body=body)

    def list(self, path: str, api_version: str, action: str, **query: str) -> Iterator[Mapping[str, Any]]:
        """Every item of a paged ARM list, following nextLink."""
        page = self.get(path, api_version, action, **query)
        while True:
            yield from page.get("value", [])
            next_link = page.get("nextLink")
            if not next_link:
                return
            page = self._send("GET", next_link, None, action)

    # ---- plumbing ------------------------------------------------------------------------------
    def _authorization(self) -> str:
        if self._token is None or self._expires_on - time.time() < 300:
            token = self.credential.get_token(f"{self.endpoint}/.default")
            self._token, self._expires_on = token.token, float(token.expires_on)
        return f"Bearer {self._token}"

    def _url(self, path: str) -> str:
        if path.startswith("https://"):
            # A nextLink: ARM returns absolute URLs; never follow one to another host with our token.
            if urlsplit(path).netloc != urlsplit(self.endpoint).netloc:
                raise ArmError(f"refusing to follow a link to another host: {urlsplit(path).netloc}")
            return path
        return self.endpoint + path

    def _send(self, method: str, path: str, api_version: Optional[str], action: str,
              query: Optional[Mapping[str, str]] = None, body: Optional[Mapping[str, Any]] = None) -> Any:
        if method not in ("GET", "POST"):
            raise ReadOnlyViolation(f"{method} {path}")
        params = dict(query or {})
        if api_version is not None:
            params["api-version"] = api_version
        url = self._url(path)
        for attempt in range(MAX_THROTTLE_RETRIES + 1):
            self.requests_sent.append((method, urlsplit(url).path))
            try:
                response = self.session.request(
                    method, url, params=params, json=body, timeout=TIMEOUT_SECONDS,
                    headers={"Authorization": self._authorization(), "Accept": "application/json"})
            except requests.RequestException as error:
                raise ArmError(f"{urlsplit(url).netloc} did not answer: {type(error).__name__}") from None
            if response.status_code == 429 and attempt < MAX_THROTTLE_RETRIES:
                self.sleep(_retry_after(response))
                continue
            return _answer(response, method, urlsplit(url).path, action)
        raise AssertionError("unreachable")


def _retry_after(response: requests.Response) -> float:
    try:
        return min(max(float(response.headers.get("Retry-After", "10")), 0.0), MAX_RETRY_AFTER_SECONDS)
    except ValueError:
        return 10.0


def _error_detail(response: requests.Response) -> tuple[str, str]:
    try:
        error = response.json().get("error", {})
        return str(error.get("code", "")), str(error.get("message", ""))[:300]
    except ValueError:
        return "", ""


def _answer(response: requests.Response, method: str, path: str, action: str) -> Any:
    if response.status_code in (401, 403):
        code, message = _error_detail(response)
        raise PermissionDenied(action, response.status_code, code or message)
    if response.status_code == 404:
        raise NotFound(path)
    if response.status_code == 429:
        raise ArmError(f"{method} {path}: still throttled (HTTP 429) after {MAX_THROTTLE_RETRIES} waits")
    if response.status_code >= 400:
        code, message = _error_detail(response)
        raise ArmError(f"{method} {path}: HTTP {response.status_code} {code} {message}".rstrip())
    try:
        return response.json()
    except ValueError:
        raise ArmError(f"{method} {path}: the answer is not JSON") from None
