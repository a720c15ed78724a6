"""The program, its tools and bootstrap/ type-check against the SDK's inline types (mypy.ini).

The azure-native SDK lets a plain string through where it wants one of its enums, and Azure answers
only at `pulumi up`; mypy refuses it here. mypy follows only the azure-native services the code
imports (mypy.ini says why): the first run on a fresh machine takes about 30 s of one core (it reads
those services' types once), the next ones under a second from `.mypy_cache`
(benchmarks/suite.py measures both).
"""

from __future__ import annotations

import ast
import configparser
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.preview import AZURE, _imported_names
from offline.engine import PROJECT_DIR

MYPY_INI = PROJECT_DIR / "mypy.ini"


def mypy(*args: str) -> tuple[int, str]:
    process = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(MYPY_INI), *args],
                             cwd=PROJECT_DIR, capture_output=True, text=True, timeout=600)
    return process.returncode, process.stdout + process.stderr


def test_the_program_its_tools_and_bootstrap_type_check():
    returncode, output = mypy()
    assert returncode == 0, output


def test_a_string_where_the_sdk_wants_an_enum_is_refused(tmp_path: Path):
    """What the check is for: this line builds, previews offline, and fails only in Azure."""
    snippet = tmp_path / "typo.py"
    snippet.write_text("from pulumi_azure_native import machinelearningservices as ml\n"
                       "ml.SkuArgs(name='Basic', tier='Basic')\n")
    returncode, output = mypy(str(snippet))
    assert returncode == 1 and 'Argument "tier" to "SkuArgs" has incompatible type "str"' in output, output


def checked_files(config: configparser.ConfigParser, root: Path = PROJECT_DIR) -> list[Path]:
    """The Python files mypy.ini's `files` names (folders walked, through the package's links to the
    library's folders, as mypy walks them)."""
    found: list[Path] = []
    for entry in config["mypy"]["files"].split(","):
        path = root / entry.strip()
        if not path.is_dir():
            found.append(path)
            continue
        for folder, _, names in os.walk(path, followlinks=True):
            found.extend(sorted(Path(folder) / n for n in names if n.endswith(".py")))
    return found


def services_imported(files: list[Path]) -> set[str]:
    """The azure-native services (`network`, `storage`...) these files import, in any import form."""
    services: set[str] = set()
    for path in files:
        for module in _imported_names(ast.parse(path.read_text(), str(path))):
            parts = module.split(".")
            if parts[0] == AZURE and len(parts) > 1 and parts[1][:1].islower() and parts[1] not in ("config",):
                services.add(parts[1])
    return services


def services_followed(config: configparser.ConfigParser) -> set[str]:
    """The services mypy.ini tells mypy to follow (the rest of the SDK is skipped)."""
    followed: set[str] = set()
    for section in config.sections():
        if section.startswith("mypy-") and config[section].get("follow_imports") == "normal":
            for pattern in section[len("mypy-"):].split(","):
                parts = pattern.strip().split(".")
                if parts[0] == AZURE and len(parts) > 1 and parts[1] not in ("*", "_utilities", "provider", "config"):
                    followed.add(parts[1])
    return followed


def read_mypy_ini(text: str | None = None) -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read_string(MYPY_INI.read_text() if text is None else text)
    return config


def test_mypy_follows_every_azure_native_service_the_code_imports():
    """A service the code imports but mypy.ini does not follow would be Any: every call unchecked."""
    config = read_mypy_ini()
    imported = services_imported(checked_files(config))
    assert len(imported) >= 10, "the program uses a dozen services: the comparison below would prove nothing"
    followed = services_followed(config)
    assert imported <= followed, f"add to mypy.ini (follow_imports = normal): {sorted(imported - followed)}"
    assert followed <= imported, f"mypy.ini follows services no code imports: {sorted(followed - imported)}"


def test_a_service_imported_but_not_followed_is_caught(tmp_path: Path):
    (tmp_path / "app.py").write_text("from pulumi_azure_native import network, web\n"
                                     "import pulumi_azure_native.cdn.outputs\n")
    config = read_mypy_ini("[mypy]\nfiles = app.py\n[mypy-pulumi_azure_native.network,pulumi_azure_native.network.*]\n"
                           "follow_imports = normal\n")
    assert services_imported(checked_files(config, tmp_path)) - services_followed(config) == {"web", "cdn"}
