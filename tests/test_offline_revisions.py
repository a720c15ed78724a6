"""`diff --against <revision>:<stack>` runs the revision's program on the revision's library.

The tools import the package too (the catalogue, the policy levels), and a Python process imports a
package once. If the child process that runs the revision found this working tree's `isolated_mlops`
first, the revision's `__main__.py` would run on today's library and a change made in the library
(network/, workspace/, compute/, components/) would never show in a diff: the pull-request preview
would say "No changes" for exactly the changes it exists to show. offline/snapshot.py prevents it.

One child process (a run of the program costs seconds) serves every check here: the revision is this
working tree's tracked files with one library setting changed, committed in a fresh repository; the
working tree's side is the session's in-process run of dev (the smaller stack: a child that runs it
costs 0.4 s less than one of prod; both have the two NAT gateways the setting is on). The revision's
run, about 4 s of CPU, is kept for later sessions like the session's runs (tests/shared_runs.py): a
change to a file the child reads, to this file or to any tracked file outside the tests and the
documentation runs it again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from offline import diff, snapshot
from offline.__main__ import main
from offline.engine import StackRun
from tests.shared_runs import source_key

PROJECT_DIR = Path(__file__).resolve().parent.parent
CHANGED = "network/virtual_network.py"
# This file's text as it was imported: the code of the kept revision run (the fingerprint leaves tests/ out).
THIS_FILE = source_key(Path(__file__))


def _copy_tracked(destination: Path) -> None:
    """This working tree's tracked files (links kept as links), as a fresh repository's first commit."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_DIR, capture_output=True, check=True)
    for name in filter(None, listed.stdout.decode().split("\0")):
        source, target = PROJECT_DIR / name, destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            os.symlink(os.readlink(source), target)
        elif source.is_file():
            shutil.copy2(source, target)


def _tracked_key(project_dir: Path = PROJECT_DIR) -> str:
    """What the revision is made of: each tracked file's name, whether it runs, and its content (a
    link's target), as `_copy_tracked` copies them, `.gitignore` and `.gitattributes` among them; but
    the tests and the documentation, which the child never reads (as the fingerprint leaves them out:
    a test's edit does not run the revision again)."""
    from delivery.affected_stacks import is_documentation

    listed = subprocess.run(["git", "ls-files", "-z"], cwd=project_dir, capture_output=True, check=True).stdout
    digest = hashlib.sha256()
    for name in filter(None, listed.decode().split("\0")):
        if name.startswith("tests/") or is_documentation(name):
            continue
        source = project_dir / name
        digest.update(f"\0{name}\0".encode())
        if source.is_symlink():
            digest.update(f"link {os.readlink(source)}".encode())
        elif source.is_file():
            digest.update(f"{os.stat(source).st_mode & 0o111:o}\0".encode() + source.read_bytes())
    return digest.hexdigest()[:24]


def plain_git(monkeypatch: pytest.MonkeyPatch, empty: Path) -> None:
    """git as it comes, whatever this machine's settings: no global or system config (an excludes file,
    line endings, signing), no attributes file of the user's or the system's (export-ignore, eol),
    and an empty template for `git init`. The revision is then what the tracked files say, as its key."""
    empty.mkdir(exist_ok=True)
    for name, value in {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "GIT_ATTR_NOSYSTEM": "1",
                        "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "core.attributesFile",
                        "GIT_CONFIG_VALUE_0": os.devnull, "GIT_TEMPLATE_DIR": str(empty)}.items():
        monkeypatch.setenv(name, value)


def _commit(repo: Path) -> None:
    for args in (["init", "-q", "-b", "main"], ["add", "-A", "--force"],
                 ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "base"]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _dev_at_a_revision_with_the_setting_changed(repo: Path) -> StackRun:
    """The revision: this working tree's tracked files with one library setting changed, committed in
    `repo`; its dev run in a child process by this process (whose `isolated_mlops` is this tree's)."""
    _copy_tracked(repo)
    module = repo / CHANGED
    text = module.read_text()
    assert "idle_timeout_in_minutes=10" in text, f"{CHANGED} changed: pick another library setting for this test"
    module.write_text(text.replace("idle_timeout_in_minutes=10", "idle_timeout_in_minutes=11"))
    _commit(repo)
    return snapshot.load("HEAD:dev", project_dir=repo)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_library_change_shows_in_a_diff_against_a_revision(dev: StackRun, shared_runs, tmp_path: Path, monkeypatch,
                                                             capsys):
    inside = subprocess.run(["git", "-C", str(PROJECT_DIR), "rev-parse", "HEAD"], capture_output=True)
    if inside.returncode != 0:
        pytest.skip("not a git checkout")
    # Shared and kept like the session's runs (tests/shared_runs.py): under the fingerprint of what the
    # child reads, this file's text as imported, and every tracked file of the revision the child can read.
    key = f"dev at a revision, {THIS_FILE}, {_tracked_key()}"
    plain_git(monkeypatch, tmp_path / "git-template")
    at_revision = shared_runs.get(key, lambda: _dev_at_a_revision_with_the_setting_changed(tmp_path / "repo"))
    assert at_revision.error is None and at_revision.stack == "dev"
    assert any(r.type == "azure-native:machinelearningservices:Workspace" for r in at_revision.resources)
    # Both NAT gateways change, and nothing else: the revision ran on its own library, not this tree's.
    changes = diff.compare(at_revision, dev).changes
    assert sorted((c.kind, c.resource.type) for c in changes) == [("update", "azure-native:network:NatGateway")] * 2
    assert {(p.path, p.old, p.new) for c in changes for p in c.properties} == {("idleTimeoutInMinutes", 11, 10)}
    # A stack the revision does not have is new: everything in it is a create (no child process).
    assert snapshot.load("HEAD:no-such-stack").resources == []

    # The workflow's command line on that revision: `--against-ref` names REVISION:STACK, then STACK.
    loaded = []

    def load(spec):
        loaded.append(spec)
        return {"HEAD:dev": at_revision, "dev": dev}[spec]

    monkeypatch.setattr(snapshot, "load", load)
    assert main(["diff", "--stack", "dev", "--against-ref", "HEAD", "--format", "markdown"]) == 0
    assert loaded == ["HEAD:dev", "dev"]
    out = capsys.readouterr().out
    assert out.startswith("### Offline preview of `dev`: dev at HEAD")
    assert "**No changes**" not in out and "idleTimeoutInMinutes" in out and "Policy pack:" in out


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_kept_revision_run_is_keyed_by_every_tracked_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A tracked file's content, mode or link, `.gitignore` among them, makes another key; an untracked
    file does not (the revision never has it), nor a test or a page of documentation."""
    plain_git(monkeypatch, tmp_path / "git-template")
    tmp_path = tmp_path / "project"
    tmp_path.mkdir()
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / ".gitignore").write_text("*.log\n")
    os.symlink("a.py", tmp_path / "link.py")
    _commit(tmp_path)
    key = _tracked_key(tmp_path)
    (tmp_path / "untracked.py").write_text("y = 1\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("z = 1\n")
    (tmp_path / "README.md").write_text("# A\n")
    subprocess.run(["git", "add", "tests", "README.md"], cwd=tmp_path, check=True)
    assert _tracked_key(tmp_path) == key, "the child reads no test and no documentation"
    changes = [lambda: (tmp_path / "a.py").write_text("x = 2\n"),
               lambda: (tmp_path / ".gitignore").write_text("*.log\nnetwork/\n"),
               lambda: (tmp_path / "a.py").chmod(0o755),
               lambda: ((tmp_path / "link.py").unlink(), os.symlink("untracked.py", tmp_path / "link.py"))]
    for change in changes:
        change()
        assert _tracked_key(tmp_path) != key
        key = _tracked_key(tmp_path)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_revision_is_made_by_git_as_it_comes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """This machine's git settings cannot change what the revision holds: a user's attributes file
    that leaves a module out of `git archive`, or an excludes file that leaves it out of `git add`."""
    home = tmp_path / "home"
    (home / ".config" / "git").mkdir(parents=True)
    (home / ".config" / "git" / "attributes").write_text("lib.py export-ignore\n")
    (home / ".gitconfig").write_text("[core]\n\texcludesFile = ~/.ignored\n[commit]\n\tgpgsign = true\n")
    (home / ".ignored").write_text("lib.py\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    plain_git(monkeypatch, tmp_path / "git-template")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "lib.py").write_text("x = 1\n")
    _commit(repo)
    archived = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=repo, capture_output=True, check=True)
    assert b"lib.py" in archived.stdout
