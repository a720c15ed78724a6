"""The library installs as one package, `isolated_mlops`, and everything imports it by that name.

pyproject.toml maps the repository's folders (components/, network/, workspace/, compute/, policy/)
into the package; requirements.txt installs it in editable mode. These tests build the wheel the way
`pip install <repository>` would and look inside it, import the package from an unrelated folder, and
refuse the habits the package replaced (sys.path edits, imports by the folders' bare names).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import unicodedata
import zipfile
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
PACKAGE = "isolated_mlops"
LIBRARY_FOLDERS = ("components", "network", "workspace", "compute", "policy")
PYPROJECT = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())


def _python_files() -> list[Path]:
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    return [PROJECT_DIR / line for line in tracked.stdout.split() if not line.startswith(f"{PACKAGE}/")]


def test_every_library_folder_is_mapped_into_the_package_and_linked_in_the_checkout():
    mapping = PYPROJECT["tool"]["setuptools"]["package-dir"]
    for folder in LIBRARY_FOLDERS:
        assert mapping[f"{PACKAGE}.{folder}"] == folder
        assert f"{PACKAGE}.{folder}" in PYPROJECT["tool"]["setuptools"]["packages"]
        link = PROJECT_DIR / PACKAGE / folder
        assert link.is_symlink() and link.resolve() == (PROJECT_DIR / folder).resolve(), (
            f"{PACKAGE}/{folder} must link to ../{folder}: the checkout resolves the package's names through it")


def test_every_subpackage_is_listed_for_the_wheel():
    """setuptools installs only the packages pyproject.toml lists: a new subfolder (policy/rules/,
    components/catalogue/) missing there would be missing from every installed copy."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {".".join((PACKAGE, *init.parent.relative_to(PROJECT_DIR).parts))
             for folder in LIBRARY_FOLDERS for init in (PROJECT_DIR / folder).rglob("__init__.py")
             if "__pycache__" not in init.parts}
    assert found - listed == set(), f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_the_wheel_holds_the_library_under_one_name(tmp_path: Path):
    """What `pip install <repository>` installs: built by setuptools' PEP 517 hook, as pip calls it, from
    a copy of what the build reads (setuptools writes build/ beside pyproject.toml: not in the checkout)."""
    source = tmp_path / "source"
    for name in ("pyproject.toml", "README.md", PACKAGE, *LIBRARY_FOLDERS):
        origin = PROJECT_DIR / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(origin, source / name)
    out = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-c", "import sys, setuptools.build_meta as b; print(b.build_wheel(sys.argv[1]))", str(out)],
        cwd=source, capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = out / build.stdout.strip().splitlines()[-1]
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("isolated_mlops/__init__.py", "isolated_mlops/py.typed", "isolated_mlops/network/bastion.py",
                     "isolated_mlops/workspace/ml_workspace.py", "isolated_mlops/compute/clusters.py",
                     "isolated_mlops/components/zones.py", "isolated_mlops/policy/rules/__init__.py",
                     "isolated_mlops/policy/rules/network.py", "isolated_mlops/components/catalogue/network.py",
                     "isolated_mlops/policy/PulumiPolicy.yaml"):
        assert expected in names, f"{expected} missing from {wheel.name}"
    tools = {"offline", "live", "delivery", "ml", "tests", "bootstrap", "benchmarks"}
    assert not {n.split("/")[0] for n in names} & tools, "the tools and tests are not part of the library"
    version = next(n for n in names if n.endswith(".dist-info/METADATA"))
    assert f"Version: {__import__(PACKAGE).__version__}" in zipfile.ZipFile(wheel).read(version).decode()


# The child below: from a folder outside the checkout, with no PYTHONPATH, it finds each module it is given
# as `import` would (the installed package's finder for the root, then each package's __path__, executing
# nothing), and imports the SDK-free ones for real, with all they import of the package.
FIND_EVERY_MODULE = """
import importlib, importlib.util, json, sys
from importlib.machinery import PathFinder
names, imported = json.loads(sys.argv[1]), json.loads(sys.argv[2])
specs = {}
for name in names:
    parent = name.rpartition(".")[0]
    if not parent:
        specs[name] = importlib.util.find_spec(name)
    elif specs[parent] is not None:
        specs[name] = PathFinder.find_spec(name, specs[parent].submodule_search_locations)
    else:
        specs[name] = None
for name in imported:
    importlib.import_module(name)
print(json.dumps({n: s and s.origin for n, s in specs.items()}))
"""
# Imported for real: the SDK is no part of this promise, and importing it costs ~0.8 s of CPU (a
# network module took the whole child to a second). The policy modules, which need it, are run from
# another folder by the pack's own entry point (tests/test_policy_pack.py, `python policy/`).
IMPORTED_FROM_ANYWHERE = (f"{PACKAGE}.components.catalogue", f"{PACKAGE}.components.naming")


def _checkout_modules() -> dict[str, Path]:
    """Every module of the package, by name, and its file in the checkout (parents before children)."""
    files = {PACKAGE: PROJECT_DIR / PACKAGE / "__init__.py"}
    files |= {f"{PACKAGE}.{p.stem}": p for p in (PROJECT_DIR / PACKAGE).glob("*.py") if p.stem != "__init__"}
    for folder in LIBRARY_FOLDERS:
        for path in sorted((PROJECT_DIR / folder).rglob("*.py")):
            parts = path.relative_to(PROJECT_DIR).with_suffix("").parts
            files[".".join((PACKAGE, *(parts[:-1] if parts[-1] == "__init__" else parts)))] = path
    return dict(sorted(files.items(), key=lambda item: item[0].count(".")))


def test_the_installed_package_imports_from_any_folder(tmp_path: Path):
    modules = _checkout_modules()
    assert len(modules) > 60 and f"{PACKAGE}.network.bastion" in modules and f"{PACKAGE}.policy.rules" in modules
    child = subprocess.run([sys.executable, "-c", FIND_EVERY_MODULE, json.dumps(list(modules)),
                            json.dumps(IMPORTED_FROM_ANYWHERE)],
                           cwd=tmp_path, capture_output=True, text=True, check=False, env={**os.environ, "PYTHONPATH": ""})
    assert child.returncode == 0, child.stderr[-1500:]
    found = json.loads(child.stdout)
    # The editable install's checkout: this one, unless several checkouts share one virtualenv.
    checkout = Path(found[PACKAGE]).resolve().parent.parent
    assert 'name = "isolated-mlops"' in (checkout / "pyproject.toml").read_text()
    expected = {n: checkout / path.resolve().relative_to(PROJECT_DIR) for n, path in modules.items()}
    # Another checkout (a shared virtualenv) may lack a module this one adds: judged on what it has.
    wrong = {n: o for n, o in found.items() if (Path(o).resolve() != expected[n] if o else
                                                checkout == PROJECT_DIR or expected[n].exists())}
    assert not wrong, f"not found as the checkout has them, from another folder: {wrong}"


def test_importing_the_package_imports_nothing_else():
    """The offline preview sits at its import floor: the package's root must cost nothing."""
    code = (f"import sys; before = set(sys.modules); import {PACKAGE}; "
            f"print(sorted(m for m in set(sys.modules) - before if m != '{PACKAGE}'))")
    child = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    assert child.stdout.strip() == "[]"


# offline/__main__.py runs another checkout's program (`diff main:prod`, in a child process): that
# program must import its own checkout's package, so that folder goes first there. Nowhere else.
SYS_PATH_EDIT_ALLOWED = {Path("offline/__main__.py")}


# What the parser can turn into an import of a library folder by its bare name: `from`, then only blanks
# and line continuations, then the folder; or `import`, then what may precede a name in its list (blanks,
# continuations, earlier dotted names, `as` aliases, commas), then the folder, not after a dot. Strings,
# comments and longer words (`xfrom`) match too: a superset, so only the files that match are parsed
# (parsing every tracked file was nearly all of this check's second of CPU). Each pattern starts with its
# keyword, which the regex engine looks for first: a tenth of the time of a leading `\b`.
_FOLDER = "(?:" + "|".join(LIBRARY_FOLDERS) + r")\b"
BARE_IMPORT_TEXT = (re.compile(rf"from(?:[ \t\f]|\\\r?\n)+{_FOLDER}"),
                    re.compile(rf"import\b(?:[\w \t\f.,]|\\\r?\n)*?(?<![\w.]){_FOLDER}"))
# `sys.path`: between the three tokens only blanks, line breaks (in brackets), continuations, comments.
SYS_PATH_TEXT = re.compile(r"sys(?:\s|\\|#[^\n]*)*\.(?:\s|\\|#[^\n]*)*path\b")


def import_problems(source: str, relative: Path) -> list[str]:
    """Imports by a library folder's bare name and, outside the tests and SYS_PATH_EDIT_ALLOWED, edits of
    sys.path: one line each, naming the file and line."""
    may_edit = relative.parts[0] != "tests" and relative not in SYS_PATH_EDIT_ALLOWED
    # The parser reads identifiers NFKC-normalised (`ｐolicy` is `policy`): so does the filter.
    text = source if source.isascii() else unicodedata.normalize("NFKC", source)
    if not any(p.search(text) for p in BARE_IMPORT_TEXT) and not (may_edit and SYS_PATH_TEXT.search(text)):
        return []  # the text holds neither: nothing the parser could find
    tree = ast.parse(source, str(relative))
    problems: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            modules = []
        problems += [f"{relative}:{node.lineno} imports {module}: import {PACKAGE}.{module} (one name for one module)"
                     for module in modules if module.split(".")[0] in LIBRARY_FOLDERS]
        if may_edit and isinstance(node, ast.Attribute) and node.attr == "path" \
                and isinstance(node.value, ast.Name) and node.value.id == "sys":
            parent_calls = [n for n in ast.walk(tree) if isinstance(n, (ast.Call, ast.Assign, ast.AugAssign))
                            and node in ast.walk(n)]
            for call in parent_calls:
                is_edit = isinstance(call, (ast.Assign, ast.AugAssign)) or (
                    isinstance(call.func, ast.Attribute) and call.func.attr in {"insert", "append", "extend", "remove"}
                    and call.func.value is node)
                if is_edit:
                    problems.append(f"{relative}:{node.lineno} edits sys.path: install the package instead (requirements.txt)")
    return problems


def test_no_bare_folder_imports_and_no_sys_path_edits():
    """Every tracked Python file in one test (one item per file cost more in pytest's bookkeeping than
    the check itself); the message lists every offending line."""
    files = _python_files()
    assert len(files) > 150 and PROJECT_DIR / "offline" / "__main__.py" in files
    problems = [p for path in files for p in import_problems(path.read_text(), path.relative_to(PROJECT_DIR))]
    assert problems == [], "\n".join(problems)


def test_a_bare_folder_import_and_a_sys_path_edit_are_caught():
    source = ("import sys\nfrom components.naming import x\nimport policy.rules as r, json\n"
              "sys.path.insert(0, 'x')\nsys.path = []\nprint(sys.path)\nfrom isolated_mlops.components import naming\n")
    imports = ["{0}:2 imports components.naming: import isolated_mlops.components.naming (one name for one module)",
               "{0}:3 imports policy.rules: import isolated_mlops.policy.rules (one name for one module)"]
    edits = ["{0}:4 edits sys.path: install the package instead (requirements.txt)",
             "{0}:5 edits sys.path: install the package instead (requirements.txt)"]
    assert sorted(import_problems(source, Path("live/x.py"))) == [line.format("live/x.py") for line in imports + edits]
    # The tests and the one allowed file may edit sys.path; nobody imports a library folder by its bare name.
    for relative in ("tests/x.py", "offline/__main__.py"):
        assert import_problems(source, Path(relative)) == [line.format(relative) for line in imports]
    # The text filter lets through every spelling the parser accepts (each alone: the filter decides per
    # file): continued lines, a later name in the list, blanks around dots, a normalised identifier.
    for spelt, module in (("import json, \\\n    network.bastion\n", "network.bastion"),
                          ("x = 1; from\\\n compute import y\n", "compute"),
                          ("import os . path as p,workspace\n", "workspace"), ("import \uff50olicy.rules\n", "policy.rules")):
        assert import_problems(spelt, Path("live/x.py")) == [
            f"live/x.py:1 imports {module}: import isolated_mlops.{module} (one name for one module)"], spelt
    for spelt in ("(sys\n .path).append('x')\n", "(sys  # the list\n  .  \\\n path).append('x')\n"):
        assert import_problems(spelt, Path("live/x.py")) == [
            "live/x.py:1 edits sys.path: install the package instead (requirements.txt)"], spelt
    # And it does skip: text that names neither is not parsed (this is no Python), text that may is.
    prose = "the network folder, imported as isolated_mlops.network; from the sys module"
    assert import_problems(f"{prose} (", Path("live/x.py")) == []
    with pytest.raises(SyntaxError):
        import_problems(f"{prose}: import network (", Path("live/x.py"))


# `python -m policy.enforcement` from the repository's root imports policy/ as `policy` and again as
# `isolated_mlops.policy` (its modules would be two copies, under two names): every command the
# workflows, pipelines, scripts and docs run or tell a user to run names the package.
MODULE_COMMAND = re.compile(r"python3? (?:-[A-Za-z]+ )*-m ([A-Za-z_][\w.]*)")


def bare_folder_commands(text: str) -> list[str]:
    return [m for m in MODULE_COMMAND.findall(text) if m.split(".")[0] in LIBRARY_FOLDERS]


def _command_files() -> list[str]:
    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    return [f for f in tracked.stdout.split() if not f.startswith(("tests/", f"{PACKAGE}/"))
            and (f.endswith((".yml", ".yaml", ".md", ".sh", ".py")) or f == "Makefile")]


def test_every_command_runs_the_library_by_the_package_name():
    found = {f: bare_folder_commands((PROJECT_DIR / f).read_text()) for f in _command_files()}
    assert {f: m for f, m in found.items() if m} == {}, "run it as `python -m isolated_mlops.<module>`"
    assert len(found) > 20 and ".github/workflows/deploy.yml" in found


def test_a_command_by_a_bare_folder_name_is_caught():
    assert bare_folder_commands('run: .venv/bin/python -m policy.enforcement --stack "$STACK"') == ["policy.enforcement"]
    assert bare_folder_commands("python3 -u -m compute.cloud_init") == ["compute.cloud_init"]
    assert bare_folder_commands("python -m isolated_mlops.policy.enforcement; python -m offline preview") == []


# ---- Paths the docs and comments name exist ------------------------------------------------------
# Today's restructuring moved and split files (policy/rules.py, policy/offline.py, components/config.py,
# offline/topology.py): a path a reader is sent to must exist. Tests are left out (their fixtures name
# paths that do not exist on purpose), and so is the CHANGELOG (it names what was removed).
NAMED_BUT_ABSENT = {
    # The file a new environment may add (README "Adding an environment", docs/delivery.md).
    "policy/config/staging.json",
    # Named in compute/agent_registration.py's docstring, which ships verbatim in the agents' custom data:
    # correcting it (tests/test_platform_agent_registration.py) replaces every agent VM. Fix it with a
    # change that replaces them anyway.
    "tests/test_agent_registration.py",
}


def _tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True).stdout
    return out.split()


def _repository_path_pattern(tracked: list[str]) -> re.Pattern[str]:
    folders = sorted({f.split("/")[0] for f in tracked if "/" in f})
    return re.compile(r"(?<![\w./-])((?:" + "|".join(map(re.escape, folders)) + r")/[\w./*<>{}-]*[\w*>}])")


def absent_paths(text: str, pattern: re.Pattern[str], base: Path) -> list[str]:
    """Repository paths `text` names that exist neither from the root nor from `base` (its folder);
    patterns (`tests/test_ml_*.py`, `Pulumi.<stack>.yaml`) are not paths."""
    return [p for p in pattern.findall(text) if p not in NAMED_BUT_ABSENT and not set(p) & set("*<>{}")
            and not (PROJECT_DIR / p).exists() and not (base / p).exists()]


def test_every_path_the_docs_and_comments_name_exists():
    tracked = _tracked()
    pattern = _repository_path_pattern(tracked)
    scanned = [f for f in tracked if not f.startswith(("tests/", f"{PACKAGE}/")) and f != "CHANGELOG.md"
               and (f.endswith((".py", ".md", ".yml", ".yaml", ".sh", ".toml", ".ini")) or f == "Makefile")]
    absent = {f: found for f in scanned
              if (found := absent_paths((PROJECT_DIR / f).read_text(), pattern, (PROJECT_DIR / f).parent))}
    assert absent == {}, "a moved or renamed file: name where it is now"
    assert "README.md" in scanned and len(scanned) > 100


def test_a_path_that_does_not_exist_is_caught():
    pattern = _repository_path_pattern(_tracked())
    text = ("rules in `policy/rules.py` (see policy/rules/network.py, https://example.com/policy/x.py, policy/config/, "
            "policy/config/<stack>.json, tests/test_ml_*.py)")
    assert absent_paths(text, pattern, PROJECT_DIR) == ["policy/rules.py"]

# ---- The public API: what each module's `__all__` names ------------------------------------------
# The platform program's own machinery: importable, but not for other teams, and without `__all__`.
# README ("Using the library", Public API) lists the same modules; a test below keeps the two in step.
INTERNAL_MODULES = {
    "isolated_mlops.components.config_reader", "isolated_mlops.components.config_schema",
    "isolated_mlops.components.config_sections", "isolated_mlops.components.plan",
    "isolated_mlops.components.plan_checks", "isolated_mlops.components.ssh_keys",
    "isolated_mlops.components.webhooks", "isolated_mlops.components.serving_config",
    "isolated_mlops.compute.agent_registration",
    "isolated_mlops.compute.cloud_init", "isolated_mlops.policy.adapters", "isolated_mlops.policy.enforcement",
    *(f"isolated_mlops.policy.rules.{m}" for m in
      ("access", "base", "compute", "helpers", "monitoring", "network", "serving", "sources", "workspace")),
}


def _package_modules() -> list[str]:
    import pkgutil

    import isolated_mlops

    # Not the entry points: `policy/__main__.py` starts the CrossGuard pack's server and blocks.
    return ["isolated_mlops", *(info.name for info in pkgutil.walk_packages(isolated_mlops.__path__, "isolated_mlops.")
                                if not info.name.endswith(".__main__"))]


def api_problems(modules: dict[str, object], internal: set[str]) -> list[str]:
    """A module that is neither internal nor states its public names, or names one it lacks."""
    problems = []
    for name, module in sorted(modules.items()):
        public = getattr(module, "__all__", None)
        if name in internal:
            if public is not None:
                problems.append(f"{name}: listed as internal but has __all__")
        elif public is None:
            problems.append(f"{name}: no __all__ (state its public names, or list it as internal in README and here)")
        else:
            problems += [f"{name}.__all__ names {n!r}, which it does not define" for n in public if not hasattr(module, n)]
    return problems


def test_every_module_states_its_public_names_or_is_listed_as_internal():
    import importlib

    modules = {name: importlib.import_module(name) for name in _package_modules()}
    assert len(modules) > 50 and INTERNAL_MODULES <= set(modules), sorted(INTERNAL_MODULES - set(modules))
    assert api_problems(modules, INTERNAL_MODULES) == []
    # The check can fail: a module without __all__, and one naming what it lacks.
    bare, lying = type(sys)("bare"), type(sys)("lying")
    lying.__all__ = ["Missing"]  # type: ignore[attr-defined]
    assert api_problems({"bare": bare, "lying": lying}, set()) == [
        "bare: no __all__ (state its public names, or list it as internal in README and here)",
        "lying.__all__ names 'Missing', which it does not define"]


def test_the_readme_lists_the_internal_modules():
    readme = (PROJECT_DIR / "README.md").read_text()
    section = readme[readme.index("- **Public API**"):readme.index("- **Arguments**")]
    missing = sorted(m for m in INTERNAL_MODULES if f"`{m.removeprefix('isolated_mlops.')}`" not in section)
    assert not missing, f"README's Public API paragraph does not name these internal modules: {missing}"
