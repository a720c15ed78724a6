"""Post a report as ONE pull-request comment, updated in place on every push to the PR.

A hidden marker (`<!-- isolated-mlops:<name> -->`) on the comment's first line identifies it, so a
PR gets one offline-preview comment that is edited rather than a new comment per push. Only
comments written by a bot are candidates: anyone can paste the marker into their own comment, and
the workflow's token could not edit it anyway.

A pull request that affects several stacks gets one section per stack in that one comment
(`--sections-dir`: one `<stack>.md` per stack, from the matrix of offline previews), under a header
that says why each stack is there. Every run rewrites the whole comment, so a section is replaced
in place and a stack the pull request no longer affects disappears; each section gets an equal share
of GitHub's size limit, and a stack whose report is missing (its job failed) says so.

Everything comes from the environment GitHub Actions provides (token, repository, event file), not
from `${{ }}` expressions spliced into a shell line: PR titles and branch names are attacker text.

    python -m delivery.pr_comment --marker offline-preview --body-file report.md
    python -m delivery.pr_comment --marker offline-preview --header-file header.md --sections-dir reports \
        --stacks '["dev","prod"]'
"""

from __future__ import annotations

import argparse
import json
import os
import re
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


STACK_NAME = re.compile(r"[A-Za-z0-9_.-]+")
SECTION_CUT_NOTE = "\n_…cut to share the comment with the other stacks: the job summary has the whole report._\n"


def section_marker(stack: str) -> str:
    return f"<!-- isolated-mlops:section:{stack} -->"


def cut_markdown(text: str, limit: int) -> str:
    """`text` cut at a line boundary to at most `limit` characters, open code fences and <details> closed."""
    if len(text) <= limit:
        return text
    room = max(limit - len(SECTION_CUT_NOTE) - 40, 0)
    kept = text[:room].rsplit("\n", 1)[0] if "\n" in text[:room] else ""
    closing = []
    if sum(1 for line in kept.splitlines() if line.lstrip().startswith("```")) % 2:
        closing.append("```")
    closing += ["</details>"] * max(kept.count("<details>") - kept.count("</details>"), 0)
    return "\n".join([kept, *closing]) + SECTION_CUT_NOTE


def compose_sections(header: str, sections: dict[str, Optional[str]], budget: int = MAX_BODY - 200) -> str:
    """The report of a multi-stack comment: the header, then one marked section per stack, in order.

    sections: stack -> its Markdown report, or None when the report is missing (its job failed).
    """
    share = (budget - len(header)) // max(len(sections), 1) - 100
    parts = [header.rstrip("\n")]
    for stack, report in sections.items():
        if report is None:
            report = (f"#### `{stack}`\n\n_No report: the offline preview of `{stack}` failed. "
                      "The workflow run's log says why._\n")
        parts.append(f"{section_marker(stack)}\n{cut_markdown(report.rstrip(), share)}")
    return "\n\n".join(parts) + "\n"


def read_sections(directory: Path, stacks: Optional[Sequence[str]]) -> dict[str, Optional[str]]:
    """`<stack>.md` files in `directory`, for `stacks` (in that order; None where the file is missing), or
    every file there when no list is given."""
    if stacks is None:
        stacks = sorted(p.stem for p in directory.glob("*.md"))
    sections: dict[str, Optional[str]] = {}
    for stack in stacks:
        if not STACK_NAME.fullmatch(stack):
            raise ValueError(f"{stack!r} is not a stack name")
        path = directory / f"{stack}.md"
        sections[stack] = path.read_text(encoding="utf-8") if path.is_file() else None
    return sections


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
    body = parser.add_mutually_exclusive_group(required=True)
    body.add_argument("--body-file", type=Path, help="the Markdown report")
    body.add_argument("--sections-dir", type=Path, help="one <stack>.md report per stack: one section each")
    parser.add_argument("--header-file", type=Path, help="with --sections-dir: the Markdown above the sections")
    parser.add_argument("--stacks", help="with --sections-dir: a JSON list of the stacks expected, in order "
                                         "(a missing report says so); default: every file there")
    args = parser.parse_args(argv)

    try:
        if args.body_file is not None:
            report = args.body_file.read_text(encoding="utf-8")
        else:
            stacks = json.loads(args.stacks) if args.stacks else None
            if stacks is not None and not (isinstance(stacks, list) and all(isinstance(s, str) for s in stacks)):
                raise ValueError("--stacks must be a JSON list of stack names")
            header = args.header_file.read_text(encoding="utf-8") if args.header_file else ""
            report = compose_sections(header, read_sections(args.sections_dir, stacks))
        pr = pull_request_from_environment(environ)
        if transport is None:
            token = environ.get("GITHUB_TOKEN")
            if not token:
                raise RuntimeError("GITHUB_TOKEN is not set")
            transport = github_transport(token)
        action, comment_id = upsert_comment(pr, args.marker, report, transport)
    except (RuntimeError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{action} comment {comment_id} on {pr.repository}#{pr.number}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
