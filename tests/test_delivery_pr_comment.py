"""One offline-preview comment per pull request, edited in place; only a bot's marked comment is reused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import pytest

from delivery.pr_comment import MAX_BODY, PAGE_SIZE, PullRequest, compose, main, marker_line, upsert_comment

PR = PullRequest("https://api.github.test", "contoso/platform", 7)
BOT = {"login": "github-actions[bot]", "type": "Bot"}
HUMAN = {"login": "mallory", "type": "User"}


class FakeGitHub:
    """Answers the three calls the helper makes, and records them."""

    def __init__(self, comments: list[dict[str, Any]]):
        self.comments = comments
        self.calls: list[tuple[str, str, Optional[dict[str, Any]]]] = []

    def __call__(self, method: str, url: str, payload: Optional[dict[str, Any]]) -> Any:
        self.calls.append((method, url, payload))
        if method == "GET":
            page = int(url.rsplit("page=", 1)[1])
            return self.comments[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        if method == "POST":
            return {"id": 999, **(payload or {})}
        return {"id": int(url.rsplit("/", 1)[1]), **(payload or {})}

    def writes(self) -> list[tuple[str, str, Optional[dict[str, Any]]]]:
        return [c for c in self.calls if c[0] != "GET"]


def test_first_run_creates_the_comment() -> None:
    github = FakeGitHub([{"id": 1, "user": HUMAN, "body": "LGTM"}])
    assert upsert_comment(PR, "offline-preview", "## diff", github) == ("created", 999)
    [(method, url, payload)] = github.writes()
    assert (method, url) == ("POST", "https://api.github.test/repos/contoso/platform/issues/7/comments")
    assert payload == {"body": f"{marker_line('offline-preview')}\n## diff"}


def test_later_runs_edit_the_same_comment() -> None:
    github = FakeGitHub([
        {"id": 1, "user": HUMAN, "body": "LGTM"},
        {"id": 5, "user": BOT, "body": f"{marker_line('offline-preview')}\nold"},
    ])
    assert upsert_comment(PR, "offline-preview", "new", github) == ("updated", 5)
    assert github.writes() == [("PATCH", "https://api.github.test/repos/contoso/platform/issues/comments/5",
                                {"body": f"{marker_line('offline-preview')}\nnew"})]


def test_a_human_comment_carrying_the_marker_is_not_taken_over() -> None:
    github = FakeGitHub([{"id": 3, "user": HUMAN, "body": f"{marker_line('offline-preview')}\nfake"}])
    assert upsert_comment(PR, "offline-preview", "real", github)[0] == "created"


def test_another_reports_comment_is_left_alone() -> None:
    github = FakeGitHub([{"id": 4, "user": BOT, "body": f"{marker_line('pulumi-preview')}\nother"}])
    assert upsert_comment(PR, "offline-preview", "mine", github)[0] == "created"


def test_the_marked_comment_is_found_on_a_later_page() -> None:
    filler = [{"id": i, "user": HUMAN, "body": "+1"} for i in range(PAGE_SIZE)]
    github = FakeGitHub([*filler, {"id": 500, "user": BOT, "body": f"{marker_line('offline-preview')}\nold"}])
    assert upsert_comment(PR, "offline-preview", "new", github) == ("updated", 500)
    assert [c[1].rsplit("page=", 1)[1] for c in github.calls if c[0] == "GET"] == ["1", "2"]


def test_an_oversized_report_is_cut_to_githubs_limit() -> None:
    body = compose("offline-preview", "x" * (MAX_BODY * 2))
    assert len(body) <= MAX_BODY
    assert body.startswith(marker_line("offline-preview"))
    assert "truncated" in body
    assert compose("offline-preview", "short") == f"{marker_line('offline-preview')}\nshort"


def _event(tmp_path: Path, payload: dict[str, Any]) -> Path:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    return path


def test_main_reads_the_pr_from_the_event_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.md"
    report.write_text("## Offline preview\n")
    github = FakeGitHub([])
    env = {"GITHUB_EVENT_PATH": str(_event(tmp_path, {"pull_request": {"number": 12, "title": "$(rm -rf /)"}})),
           "GITHUB_REPOSITORY": "contoso/platform", "GITHUB_API_URL": "https://api.github.test",
           "GITHUB_TOKEN": "ghs_not-a-real-token"}
    assert main(["--marker", "offline-preview", "--body-file", str(report)], environ=env, transport=github) == 0
    assert github.writes()[0][1].endswith("/repos/contoso/platform/issues/12/comments")
    out = capsys.readouterr()
    assert "ghs_not-a-real-token" not in out.out + out.err


def test_main_refuses_a_push_event(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.md"
    report.write_text("x")
    env = {"GITHUB_EVENT_PATH": str(_event(tmp_path, {"ref": "refs/heads/main"})), "GITHUB_REPOSITORY": "o/r"}
    assert main(["--marker", "m", "--body-file", str(report)], environ=env, transport=FakeGitHub([])) == 1
    assert "not a pull request" in capsys.readouterr().err


def test_main_needs_a_token_for_the_real_api(tmp_path: Path) -> None:
    report = tmp_path / "report.md"
    report.write_text("x")
    env = {"GITHUB_EVENT_PATH": str(_event(tmp_path, {"pull_request": {"number": 1}})), "GITHUB_REPOSITORY": "o/r"}
    assert main(["--marker", "m", "--body-file", str(report)], environ=env) == 1


# ---- One comment, one section per stack -------------------------------------------------------------
from delivery.pr_comment import compose_sections, cut_markdown, read_sections, section_marker  # noqa: E402


def _report(stack: str, size: int = 0) -> str:
    diagram = "\n".join(f"  n{i}[node {i}] --> n{i + 1}" for i in range(size // 25))
    return (f"### Offline preview of `{stack}`\n\n**+ 1 to create**\n\n<details><summary>Topology</summary>\n\n"
            f"```mermaid\nflowchart LR\n{diagram}\n```\n\n</details>\n")


def test_each_stack_gets_its_marked_section_in_order() -> None:
    body = compose_sections("### header\n", {"dev": _report("dev"), "prod": _report("prod"), "staging": None})
    assert body.startswith("### header\n\n" + section_marker("dev"))
    assert body.index(section_marker("dev")) < body.index(section_marker("prod")) < body.index(section_marker("staging"))
    assert "_No report: the offline preview of `staging` failed." in body


def test_a_later_run_edits_the_one_comment_and_drops_stacks_no_longer_affected() -> None:
    first = compose_sections("h", {"dev": _report("dev"), "prod": _report("prod")})
    github = FakeGitHub([{"id": 8, "user": BOT, "body": compose("offline-preview", first)}])
    second = compose_sections("h", {"dev": _report("dev").replace("1 to create", "2 to create")})
    assert upsert_comment(PR, "offline-preview", second, github) == ("updated", 8)
    [(method, _, payload)] = github.writes()
    assert method == "PATCH" and payload is not None
    assert "2 to create" in payload["body"] and section_marker("prod") not in payload["body"]


def test_large_sections_share_the_limit_and_stay_valid_markdown() -> None:
    sections = {stack: _report(stack, size=60_000) for stack in ("dev", "prod", "staging")}
    body = compose("offline-preview", compose_sections("### header", sections))
    assert len(body) <= MAX_BODY and "truncated" not in body, "cut per section, not at the end"
    for stack in sections:
        assert section_marker(stack) in body and f"Offline preview of `{stack}`" in body
    assert body.count("cut to share the comment") == 3
    assert sum(1 for line in body.splitlines() if line.startswith("```")) % 2 == 0
    assert body.count("<details>") == body.count("</details>")


def test_cut_markdown_leaves_short_text_alone() -> None:
    assert cut_markdown("short\n", 100) == "short\n"


def test_read_sections_marks_missing_reports_and_refuses_odd_names(tmp_path: Path) -> None:
    (tmp_path / "dev.md").write_text("dev report")
    assert read_sections(tmp_path, ["dev", "prod"]) == {"dev": "dev report", "prod": None}
    assert read_sections(tmp_path, None) == {"dev": "dev report"}
    with pytest.raises(ValueError, match="not a stack name"):
        read_sections(tmp_path, ["../etc/passwd"])


def test_main_posts_the_sections(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "dev.md").write_text(_report("dev"))
    header = tmp_path / "header.md"
    header.write_text("### Offline preview of every stack this pull request affects\n")
    github = FakeGitHub([])
    env = {"GITHUB_EVENT_PATH": str(_event(tmp_path, {"pull_request": {"number": 3}})), "GITHUB_REPOSITORY": "o/r"}
    args = ["--marker", "offline-preview", "--sections-dir", str(reports), "--header-file", str(header),
            "--stacks", '["dev", "prod"]']
    assert main(args, environ=env, transport=github) == 0
    [(_, _, payload)] = github.writes()
    assert payload is not None
    assert payload["body"].startswith(marker_line("offline-preview") + "\n### Offline preview of every stack")
    assert section_marker("dev") in payload["body"] and "offline preview of `prod` failed" in payload["body"]
    assert main([*args[:-1], "not json"], environ=env, transport=github) == 1
