"""Whether a URL carries a credential: one definition for the stack-file check and the policy rule.

An action group keeps the URLs it calls (webhook, Logic App, Function, Automation runbook) as plain
properties of the resource, readable by anyone who can read it
(https://learn.microsoft.com/rest/api/monitor/action-groups/create-or-update). The URLs Azure hands
out carry their credential in the query string: a Logic App trigger's or a SAS URL's `sig`, an Azure
Function key's `code`; other services use `token`, `key` and the like.
"""

from __future__ import annotations

import urllib.parse
from typing import Any, Optional

CREDENTIAL_QUERY_KEYS = ("sig", "code", "token", "key", "apikey", "api-key", "access_token", "secret", "password")


def credential_in_url(url: Any) -> Optional[str]:
    """How a known URL carries a credential (`sig=`, `user:password@`, ...), or None (also for a non-string)."""
    if not isinstance(url, str):
        return None
    parsed = urllib.parse.urlsplit(url)
    if parsed.username or parsed.password:
        return "user:password@"
    for key, _ in urllib.parse.parse_qsl(parsed.query, keep_blank_values=True):
        if key.lower() in CREDENTIAL_QUERY_KEYS:
            return f"{key}="
    return None
