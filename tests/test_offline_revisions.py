"""`diff --against <revision>:<stack>` runs the revision's program on the revision's library.

The tools import the package too (the catalogue, the policy levels), and a Python process imports a
package once. If the child process that runs the revision found this working tree's `isolated_mlops`
first, the revision's `__main__.py` would run on today's library and a change made in the library
(network/, workspace/, compute/, components/) would never show in a diff: the pull-request preview
would say "No changes" for exactly the changes it exists to show. offline/snapshot.py prevents it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
CHANGED = "network/virtual_network.py"


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
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "base"]):
        subprocess.run(["git", *args], cwd=destination, check=True, capture_output=True)


def test_a_library_change_shows_in_a_diff_against_a_revision(tmp_path: Path):
    repo = tmp_path / "repo"
    _copy_tracked(repo)
    module = repo / CHANGED
    text = module.read_text()
    assert "idle_timeout_in_minutes=10" in text, f"{CHANGED} changed: pick another library setting for this test"
    module.write_text(text.replace("idle_timeout_in_minutes=10", "idle_timeout_in_minutes=11"))

    child = subprocess.run([sys.executable, "-m", "offline", "diff", "--stack", "prod", "--against", "HEAD:prod"],
                           cwd=repo, capture_output=True, text=True, check=False)
    assert child.returncode == 0, child.stderr[-2000:]
    # Both NAT gateways change, and nothing else: the revision ran on its own (unchanged) library.
    assert child.stdout.count("idleTimeoutInMinutes: 10 => 11") == 2, child.stdout[:3000]
    assert "2 to update" in child.stdout, child.stdout[:3000]
