"""The program and its tools type-check against the SDK's inline types (mypy.ini).

The azure-native SDK lets a plain string through where it wants one of its enums, and Azure answers
only at `pulumi up`; mypy refuses it here. The first run on a fresh machine takes about 50 s (it reads
the SDK's types once); `.mypy_cache` (bootstrap/ has its own: two `__main__` modules would undo each
other's) makes the next ones take about a second.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from offline.engine import PROJECT_DIR


def start_mypy(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "mypy", "--config-file", str(PROJECT_DIR / "mypy.ini"), *args],
                            cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def mypy(*args: str) -> tuple[int, str]:
    process = start_mypy(*args)
    output, _ = process.communicate(timeout=600)
    return process.returncode, output


def test_the_program_and_its_tools_type_check():
    # bootstrap/ is a Pulumi project of its own, with its own __main__.py: checked on its own, at the
    # same time (two cores; a cold check takes most of a minute).
    checks = [start_mypy(), start_mypy("--cache-dir", ".mypy_cache/bootstrap", "bootstrap/__main__.py")]
    for check in checks:
        output, _ = check.communicate(timeout=600)
        assert check.returncode == 0, output


def test_a_string_where_the_sdk_wants_an_enum_is_refused(tmp_path: Path):
    """What the check is for: this line builds, previews offline, and fails only in Azure."""
    snippet = tmp_path / "typo.py"
    snippet.write_text("from pulumi_azure_native import machinelearningservices as ml\n"
                       "ml.SkuArgs(name='Basic', tier='Basic')\n")
    returncode, output = mypy(str(snippet))
    assert returncode == 1 and 'Argument "tier" to "SkuArgs" has incompatible type "str"' in output, output
