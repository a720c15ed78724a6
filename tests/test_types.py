"""The program, its tools and bootstrap/ type-check against the SDK's inline types (mypy.ini).

The azure-native SDK lets a plain string through where it wants one of its enums, the wrong *Args
class and a wrong scalar, and Azure answers only at `pulumi up`; mypy refuses them here. mypy
follows only the SDK modules the code uses (mypy.ini says why): the first run on a fresh machine
takes 14 to 20 s of one core (it reads those modules' types once; following whole services took
30 to 40 s), the next ones under a second from `.mypy_cache` (benchmarks/suite.py measures both).
"""

from __future__ import annotations

import ast
import configparser
import functools
import importlib
import importlib.util
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from benchmarks.preview import AZURE
from offline.engine import PROJECT_DIR

# Started first whatever it took last time: cold, mypy's first read of the SDK is the longest test
# of the suite (tests/workers.py).
pytestmark = pytest.mark.starts_first

MYPY_INI = PROJECT_DIR / "mypy.ini"
# What every service's resource modules import (`from . import outputs`, `from ._inputs import *`,
# `from ._enums import *`): followed with any module of the service, or its types would be Any.
SERVICE_BASE = ("", "._enums", "._inputs", ".outputs")
# The package's own modules, followed whatever the code uses (mypy.ini says why).
PACKAGE_MODULES = {AZURE, f"{AZURE}._utilities", f"{AZURE}.provider", f"{AZURE}.config"}


def mypy(*args: str) -> tuple[int, str]:
    process = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(MYPY_INI), *args],
                             cwd=PROJECT_DIR, capture_output=True, text=True, timeout=600)
    return process.returncode, process.stdout + process.stderr


SNIPPET = "typo.py"


@pytest.fixture(scope="module")
def one_mypy_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str]:
    """One mypy run checks the program (mypy.ini's `files`, named one by one: files given on the command
    line replace that list) and the snippet of mistakes below: one start and one cache load instead
    of two. Each test reads its own files' errors."""
    snippet = tmp_path_factory.mktemp("mypy") / SNIPPET
    snippet.write_text("from pulumi_azure_native import machinelearningservices as ml, network\n"
                       + "".join(f"{line}\n" for line in WRONG))
    files = [entry.strip() for entry in read_mypy_ini()["mypy"]["files"].split(",")]
    return mypy(*files, str(snippet))


def errors_outside_the_snippet(output: str) -> list[str]:
    return [line for line in output.splitlines()
            if ": error: " in line and Path(line.split(":")[0]).name != SNIPPET]


def test_the_program_its_tools_and_bootstrap_type_check(one_mypy_run: tuple[int, str]):
    _, output = one_mypy_run  # 1: the snippet's errors (the test below counts them)
    assert errors_outside_the_snippet(output) == [], output
    # Every file mypy.ini names was checked (and the snippet): nothing left out by the shared run.
    checked = len(checked_files(read_mypy_ini())) + 1
    assert f"checked {checked} source files" in output, (checked, output)


def test_an_error_in_the_program_is_told_from_the_snippets():
    output = ("typo.py:2: error: x  [arg-type]\n/tmp/a/typo.py:3: error: y\n"
              "live/arm.py:9: error: z  [attr-defined]\nFound 3 errors in 2 files (checked 116 source files)\n")
    assert errors_outside_the_snippet(output) == ["live/arm.py:9: error: z  [attr-defined]"]


# What the check is for: each line builds, previews offline, and fails only in Azure (the first
# three), or would go unchecked if mypy read the SDK wrongly (the last three). One mypy run.
WRONG = {
    "ml.SkuArgs(name='Basic', tier='Basic')":
        'Argument "tier" to "SkuArgs" has incompatible type "str"',
    "network.VirtualNetwork('v', resource_group_name='rg', address_space=network.SubnetArgs(name='x'))":
        'No overload variant of "VirtualNetwork" matches argument types "str", "str", "SubnetArgs"',
    "network.VirtualNetwork('v', resource_group_name='rg', flow_timeout_in_minutes='4')":
        'No overload variant of "VirtualNetwork" matches argument types "str", "str", "str"',
    "network.VirtualNetworkk('v', resource_group_name='rg')":
        'Module has no attribute "VirtualNetworkk"',
    # A resource of a followed service whose module mypy.ini skips: an error, never a silent Any.
    "network.AzureFirewall('fw', resource_group_name='rg')":
        'Module has no attribute "AzureFirewall"',
    # The services' outputs modules are followed: a response type's attributes are checked too.
    "network.VirtualNetwork('v').subnets.apply(lambda s: s[0].namee if s else None)":
        '"SubnetResponse" has no attribute "namee"',
}


def test_what_the_sdk_lets_through_is_refused(one_mypy_run: tuple[int, str]):
    assert f"{AZURE}.network.azure_firewall" not in followed_modules(read_mypy_ini())
    returncode, output = one_mypy_run
    errors = [line for line in output.splitlines() if ": error: " in line and f"{SNIPPET}:" in line]
    assert returncode == 1 and len(errors) == len(WRONG), output
    for number, message in enumerate(WRONG.values(), start=2):
        # By file name: mypy replays a module's cached errors when its text has not changed, with
        # the path it had then (another tmp_path).
        assert any(f"typo.py:{number}: error: {message}" in e for e in errors), (number, output)


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


def sdk_names_used(path: Path) -> tuple[set[str], list[str]]:
    """The dotted SDK names a file uses (`pulumi_azure_native.network.VirtualNetwork`, whatever the
    import form and alias), and the lines that use an SDK module other than by attribute (which
    hide what they take from it)."""
    text = path.read_text()
    if AZURE not in text:  # the SDK is used only through an import naming it (found below)
        return set(), []
    tree = ast.parse(text, str(path))
    bound: dict[str, str] = {}  # local name -> dotted SDK name
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == AZURE:
                    used.add(alias.name)
                    bound[alias.asname or AZURE] = alias.name if alias.asname else AZURE
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == AZURE:
            for alias in node.names:
                used.add(f"{node.module}.{alias.name}")
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    opaque: list[str] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Name) and node.id in bound):
            continue
        top: ast.expr
        name, top = bound[node.id], node  # the outermost `a.b.c` around the name
        while isinstance(parent := parents.get(top), ast.Attribute):
            top, name = parent, f"{name}.{parent.attr}"
        used.add(name)
        if top is node and _is_module(name):
            opaque.append(f"{path}:{node.lineno}: {node.id}")
    return used, opaque


@functools.cache
def _sdk_dir() -> Path:
    return Path(importlib.util.find_spec(AZURE).origin).parent  # type: ignore[union-attr,arg-type]


def _is_module(name: str) -> bool:
    """Whether a dotted SDK name is one of its modules (from the installed files: nothing is imported)."""
    base = _sdk_dir().joinpath(*name.split(".")[1:])
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def defining_module(name: str) -> str | None:
    """The SDK module that defines a dotted name: the name itself when it is a module, else the
    module of the class, enum or function its longest module prefix gives (that service is
    imported); None for a name the SDK lacks (mypy reports those)."""
    parts = name.split(".")
    end = next(end for end in range(len(parts), 0, -1) if _is_module(".".join(parts[:end])))
    module = ".".join(parts[:end])
    if end == len(parts):
        return module
    value = getattr(importlib.import_module(module), parts[end], None)
    if isinstance(value, types.ModuleType):
        return value.__name__
    return getattr(value, "__module__", None)


def modules_needed(files: list[Path]) -> tuple[set[str], list[str]]:
    """The SDK modules mypy must follow for these files (each used service's base modules with the
    modules used), and the lines that hide what they use."""
    needed: set[str] = set()
    opaque: list[str] = []
    for path in files:
        used, hidden = sdk_names_used(path)
        opaque += hidden
        for name in used:
            module = defining_module(name)
            if module is None or module in PACKAGE_MODULES or not module.startswith(f"{AZURE}."):
                continue
            service = ".".join(module.split(".")[:2])
            needed |= {module} | {service + suffix for suffix in SERVICE_BASE}
    return needed, opaque


def followed_modules(config: configparser.ConfigParser) -> set[str]:
    """The SDK modules mypy.ini tells mypy to follow (the rest of the SDK is skipped)."""
    followed: set[str] = set()
    for section in config.sections():
        if section.startswith("mypy-") and config[section].get("follow_imports") == "normal":
            followed |= {m.strip() for m in section[len("mypy-"):].split(",") if m.strip().split(".")[0] == AZURE}
    return followed - PACKAGE_MODULES


def read_mypy_ini(text: str | None = None) -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read_string(MYPY_INI.read_text() if text is None else text)
    return config


def test_mypy_follows_every_azure_native_module_the_code_uses():
    """An SDK module the code uses but mypy.ini skips would be Any: every call to it unchecked."""
    config = read_mypy_ini()
    assert config["mypy-pulumi_azure_native.*"]["follow_imports"] == "skip"
    needed, opaque = modules_needed(checked_files(config))
    assert not opaque, f"use the SDK's modules by attribute (`network.VirtualNetwork`), so the check sees what they give: {opaque}"
    assert len({m.split(".")[1] for m in needed}) >= 10, "the program uses a dozen services: the comparison below would prove nothing"
    followed = followed_modules(config)
    assert needed <= followed, f"add to mypy.ini (follow_imports = normal): {sorted(needed - followed)}"
    assert followed <= needed, f"mypy.ini follows modules no code uses: {sorted(followed - needed)}"


def test_a_module_used_but_not_followed_is_caught(tmp_path: Path):
    (tmp_path / "app.py").write_text("from pulumi_azure_native import network, cdn as c\n"
                                     "import pulumi_azure_native.web.outputs\n"
                                     "from pulumi_azure_native.network import bastion_host as b\n"
                                     "network.AzureFirewall, network.VirtualNetwork, network.IPAllocationMethod.STATIC\n"
                                     "f(c)\n")
    config = read_mypy_ini("[mypy]\nfiles = app.py\n[mypy-pulumi_azure_native.network,pulumi_azure_native.network._enums,"
                           "pulumi_azure_native.network._inputs,pulumi_azure_native.network.outputs,"
                           "pulumi_azure_native.network.virtual_network]\nfollow_imports = normal\n")
    needed, opaque = modules_needed(checked_files(config, tmp_path))
    assert opaque == [f"{tmp_path / 'app.py'}:5: c"]
    assert needed - followed_modules(config) == {f"{AZURE}.{m}" for m in (
        "network.azure_firewall", "network.bastion_host", "cdn", "cdn._enums", "cdn._inputs", "cdn.outputs",
        "web", "web._enums", "web._inputs", "web.outputs")}
