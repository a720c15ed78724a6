"""Post a report as ONE pull-request comment, updated in place on every push to the PR.

A hidden marker (`<!-- isolated-mlops:<name> -->`) on the comment's first line identifies it, so a
PR gets one offline-preview comment that is edited rather than a new comment per push. Only
comments written by a bot are candidates: anyone can paste the marker into their own comment, and
the workflow's token could not edit it anyway.

Everything comes from the environment GitHub Actions provides (token, repository, event file), not
from `${{ }}` expressions spliced into a shell line: PR titles and branch names are attacker text.

    python -m delivery.pr_comment --marker offline-preview --body-file report.md
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

# GitHub refuses comment bodies over 65,536 characters.
MAX_BODY = 65_536
PAGE_SIZE = 100
TRUNCATION_NOTE = "\n\n_…truncated: GitHub limits a comment to 65,536 characters. The full report is in the job summary._\n"

Transport = Callable[[str, str, Optional[dict[str, Any]]], Any]
"""(method, url, json body or None) -> decoded JSON answer; raises on an HTTP error."""


def marker_line(name: str) -> str:
    return f"<!-- isolated-mlops:{name} -->"


def compose(name: str, report: str) -> str:
    """The comment body: the marker, then the report, cut to GitHub's limit."""
    body = f"{marker_line(name)}\n{report}"
    if len(body) > MAX_BODY:
        body = body[:MAX_BODY - len(TRUNCATION_NOTE)] + TRUNCATION_NOTE
    return body


@dataclass(frozen=True)
class PullRequest:
    api_url: str
    repository: str
    number: int


def pull_request_from_environment(environ: dict[str, str]) -> PullRequest:
    event_path = environ.get("GITHUB_EVENT_PATH")
    repository = environ.get("GITHUB_REPOSITORY")
    if not event_path or not repository:
        raise RuntimeError("GITHUB_EVENT_PATH and GITHUB_REPOSITORY are needed (run inside GitHub Actions)")
    event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    number = (event.get("pull_request") or {}).get("number")
    if not isinstance(number, int):
        raise RuntimeError("this event is not a pull request: there is no PR to comment on")
    return PullRequest(environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"), repository, number)


def upsert_comment(pr: PullRequest, name: str, report: str, transport: Transport) -> tuple[str, int]:
    """Create the marked comment, or edit the existing one. Returns ("created"|"updated", comment id)."""
    body = compose(name, report)
    marker = marker_line(name)
    base = f"{pr.api_url}/repos/{pr.repository}"
    page = 1
    while True:
        comments = transport("GET", f"{base}/issues/{pr.number}/comments?per_page={PAGE_SIZE}&page={page}", None)
        for comment in comments:
            if (comment.get("user") or {}).get("type") == "Bot" and str(comment.get("body", "")).startswith(marker):
                transport("PATCH", f"{base}/issues/comments/{comment['id']}", {"body": body})
                return "updated", int(comment["id"])
        if len(comments) < PAGE_SIZE:
            break
        page += 1
    created = transport("POST", f"{base}/issues/{pr.number}/comments", {"body": body})
    return "created", int(created["id"])


def github_transport(token: str) -> Transport:
    def send(method: str, url: str, payload: Optional[dict[str, Any]]) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "Content-Type": "application/json",
        })
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - https API URL
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            # The answer's message, never the request (its headers carry the token).
            detail = exc.read().decode(errors="replace")[:500]
            raise RuntimeError(f"GitHub answered {exc.code} to {method} {url}: {detail}") from None
    return send


def main(argv: Optional[Sequence[str]] = None, environ: Optional[dict[str, str]] = None,
         transport: Optional[Transport] = None) -> int:
    environ = dict(os.environ if environ is None else environ)
    parser = argparse.ArgumentParser(prog="python -m delivery.pr_comment", description=__doc__.splitlines()[0])
    parser.add_argument("--marker", required=True, help="which report this is, e.g. offline-preview")
    parser.add_argument("--body-file", required=True, type=Path, help="the Markdown report")
    args = parser.parse_args(argv)

    try:
        pr = pull_request_from_environment(environ)
        if transport is None:
            token = environ.get("GITHUB_TOKEN")
            if not token:
                raise RuntimeError("GITHUB_TOKEN is not set")
            transport = github_transport(token)
        action, comment_id = upsert_comment(pr, args.marker, args.body_file.read_text(encoding="utf-8"), transport)
    except (RuntimeError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{action} comment {comment_id} on {pr.repository}#{pr.number}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
