"""The benchmark (`benchmarks/preview.py`) measures the right things. Nothing here is timed: timing
is the benchmark's business, never a test's. What is checked, cheaply, is what its figures rest on:
its import floor loads exactly the azure-native modules the program loads, and its scaled stacks
are stacks the program accepts. Each check comes with a case showing it can fail.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any, Mapping

import pytest
from pulumi._utils import _LazyModule

from benchmarks.preview import AZURE, program_imports, scaled_values
from offline.engine import PROJECT_DIR
from isolated_mlops.components.config import PROJECT_NAMESPACE, ConfigError, PlatformConfig, project_values, validate
from offline.engine import _wire_config, default_secrets, run_stack, stack_values


def loaded_services() -> set[str]:
    """The azure-native service packages this process has loaded. The SDK makes each one a lazy
    module on `import`, loaded whole on first use: only a loaded one costs import time."""
    return {name for name, module in list(sys.modules.items())
            if name.startswith(f"{AZURE}.") and name.count(".") == 1
            and hasattr(module, "__path__") and not isinstance(module, _LazyModule)}


def floor_services(imports: list[str]) -> set[str]:
    return {name for name in imports if name.startswith(f"{AZURE}.")}


def test_the_floor_loads_exactly_the_azure_native_modules_the_program_loads():
    # Run here, not the `prod` fixture: that may be a run kept from an earlier session or made by the
    # other test process (tests/shared_runs.py), which loads nothing into this one. Not kept either:
    # what a process has loaded depends on what else it did (the other test files it imported).
    assert run_stack("prod").error is None
    imports = program_imports()  # parses the program's ~50 modules: once
    floor = floor_services(imports)
    loaded = loaded_services()
    assert len(loaded) >= 10, "prod loads a dozen services: the comparison below would prove nothing"
    assert floor == loaded, (
        f"the benchmark's floor imports {sorted(floor - loaded)} that the program never loads, and misses "
        f"{sorted(loaded - floor)} that it loads (or another test loaded an azure-native module itself)")
    assert {"pulumi", "pulumi_random"} <= set(imports)


def test_the_floor_follows_the_program_s_imports_and_nothing_else(tmp_path: Path):
    """Proves the derivation can tell: a service imported by a module the program imports counts,
    in every import form; one imported only by a module the program never imports does not."""
    (tmp_path / "__main__.py").write_text(
        "import pulumi\nfrom pulumi_azure_native import resources\nfrom parts import storage_part\n")
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "__init__.py").write_text("")
    (tmp_path / "parts" / "storage_part.py").write_text(
        "import pulumi_azure_native.storage as storage\nfrom pulumi_azure_native.web import outputs\n"
        "def later():\n    from pulumi_random import RandomString\n")
    (tmp_path / "unused.py").write_text("from pulumi_azure_native import keyvault\n")
    assert program_imports(tmp_path) == [
        "pulumi", AZURE, f"{AZURE}.resources", f"{AZURE}.storage", f"{AZURE}.web", "pulumi_random"]


def _validate(values: Mapping[str, Any], stack: str) -> PlatformConfig:
    """Validate as `pulumi up` hands the config over (strings, JSON, the token as a secret)."""
    wire, secret_keys = _wire_config(values, PROJECT_NAMESPACE, default_secrets())
    prefix = f"{PROJECT_NAMESPACE}:"
    return validate(project_values(wire), stack, {k[len(prefix):] for k in secret_keys if k.startswith(prefix)})


@pytest.mark.parametrize("count", [1, 5, 20])
def test_the_scaled_stacks_are_valid_and_as_large_as_their_name(count: int):
    values = scaled_values(stack_values("prod"), count)
    config = _validate(values, f"bench-{count}")
    assert len(config.compute_clusters) == count and config.agents.count == count
    assert config.image_build_cluster == config.compute_clusters[0].name
    assert config.environment == "prod"  # the same names as prod, so the figures compare


def test_a_scaled_stack_the_program_would_refuse_is_caught():
    """The benchmark checks its stacks (validation here, the --json run in the benchmark) because a
    stack the program refuses would time an error message: 21 agents are more than the config allows."""
    with pytest.raises(ConfigError, match=r"agents\.count: must be at most 20"):
        _validate(scaled_values(stack_values("prod"), 21), "bench-21")
    crowded = copy.deepcopy(scaled_values(stack_values("prod"), 20))
    crowded["network"]["bastionVnet"]["subnets"]["agents"] = "10.11.2.0/28"  # 16 addresses, 11 usable
    with pytest.raises(ConfigError, match=r"subnets\.agents: 10\.11\.2\.0/28 is too small for 20 agents"):
        _validate(crowded, "bench-20")


def test_the_suite_benchmark_times_what_make_test_runs(tmp_path: Path):
    """benchmarks/suite.py reads its command from the Makefile's `test` target, so its figures are
    `make test`'s; a Makefile whose test target runs no pytest is refused, not timed."""
    from benchmarks.suite import make_test_command

    command = make_test_command()
    start = command.index(sys.executable)
    assert command[start:start + 3] == [sys.executable, "-m", "pytest"], command
    # Run with bytecode caches on, whatever the shell says (the Makefile says why).
    assert command[:start] == ["env", "-u", "PYTHONDONTWRITEBYTECODE"], command
    # The two test processes come from pytest.ini's addopts, which every pytest run here reads.
    assert "--workers 2" in (PROJECT_DIR / "pytest.ini").read_text()
    makefile = tmp_path / "Makefile"
    makefile.write_text("test: deps\n\techo no tests here\n\nother:\n\t$(PY) -m pytest -q\n")
    with pytest.raises(ValueError, match="no `\\$\\(PY\\) -m pytest` line"):
        make_test_command(makefile)


def test_the_changed_case_drops_what_the_suite_keeps_of_the_program(request: pytest.FixtureRequest, shared_runs: Any):
    """`warm, program changed` removes KEPT_RUNS and KEPT_DRAWINGS from its pytest cache folder before
    each run: were those not where the suite keeps its runs and Chromium's drawings, the case would
    time a warm run under another name."""
    from benchmarks.suite import KEPT_DRAWINGS, KEPT_RUNS
    from tests.chromium_drawing import CACHE_FOLDER

    if getattr(request.config, "cache", None) is None:
        pytest.skip("pytest's cache is off (-p no:cacheprovider): no runs are kept")
    cache_dir = request.config.rootpath / request.config.getini("cache_dir")
    assert shared_runs.directory.parent == cache_dir / KEPT_RUNS.relative_to("pytest")
    assert request.config.cache.mkdir(CACHE_FOLDER) == cache_dir / KEPT_DRAWINGS.relative_to("pytest")
