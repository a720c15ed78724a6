"""Shared fixtures. The SDK is imported once per process, and each stack file and each changed config
runs once, shared by the two test processes (tests/workers.py) and kept for later sessions until a
file a run reads changes (tests/shared_runs.py): the whole program under the offline engine costs
about half a second of CPU per run."""

from __future__ import annotations

import copy
import functools
import gc
import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Optional

import pytest

from tests import variants
from tests.shared_runs import KeptRuns, SharedRuns, end_keeping, start_keeping

pytest_plugins = ("tests.workers", "pytester")

if TYPE_CHECKING:
    # Imported where used: `--collect-only` and a run of one quick file need no SDK.
    from offline.engine import StackRun

STACKS = ("dev", "prod")
PROJECT_DIR = Path(__file__).resolve().parent.parent


KEPT_RUNS = pytest.StashKey[KeptRuns]()


def pytest_configure(config: pytest.Config) -> None:
    # The fingerprint of what a whole-program run reads, taken before collection imports the program
    # and before tests/workers.py forks (pytest's cache plugin has set `config.cache` already).
    cache: Optional[pytest.Cache] = getattr(config, "cache", None)
    if cache is not None:
        kept = start_keeping(cache.mkdir("stack-runs"), PROJECT_DIR)
        if kept is not None:
            config.stash[KEPT_RUNS] = kept
    # The SDK's modules are a few hundred thousand long-lived objects, and with Python's default
    # thresholds every full collection walks them all again: over half the suite's time. Collecting
    # less often took `make test` from 42 s to 22 s on 2 cores, peak memory from 230 to 280 MB.
    # (`python -m offline` goes further and turns collection off: offline/process.py.)
    gc.set_threshold(20_000, 50, 50)


def pytest_collection_finish(session: pytest.Session) -> None:
    # Collecting imported the test modules and most of the SDK, which live as long as the process:
    # frozen, no later collection walks them again (the `runs` fixture freezes the rest of the SDK).
    # No full collection first: it walked ~400k objects for ~0.23 s per process to free ~2,500.
    gc.freeze()
    # Then no automatic collection at all, as `python -m offline` runs (offline/process.py): with the
    # thresholds above, 69-91 collections per test process still cost 1.3-1.7 s of CPU (measured
    # with gc.callbacks), and without them peak memory grew from 360-390 MB to 420-490 MB a process.
    # Reference counting still frees everything that is not in a cycle; `runs` collects once.
    gc.disable()


def pytest_sessionfinish(session: pytest.Session) -> None:
    # In the session process, after the forked one has ended (tests/workers.py), or in the only one.
    kept = session.config.stash.get(KEPT_RUNS, None)
    if kept is not None:
        end_keeping(kept, PROJECT_DIR)


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Any:
    result = yield
    # Every test has run: the garbage of the session's cycles (no automatic collection ran, see
    # above) is left to the process's exit. Collected here, as pytest's own last collection would at
    # unconfigure (to report a failing __del__), it took ~0.8 s of one core after the last test,
    # while the other had nothing to do; the forked process (tests/workers.py) never collected its own.
    gc.freeze()
    return result


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # Where the loop above ended with an exception (-x, Ctrl-C) its freeze did not run: freeze what
    # the process still holds, after pytest's own last collection, or the interpreter's shutdown walks
    # all of it once more, about 1.3 s of CPU for nothing (as `python -m offline` does at exit:
    # offline/process.py).
    gc.freeze()


# The order of a first run, before tests/workers.py has timed the files (a fresh clone, CI): the
# files of the longest tests first (mypy, a revision's program in a child, Chromium, the two
# same_worker groups, the policy pack, the full SDK path against the shortcuts), so that neither
# process is left running one of them alone at the end; the rest in name order. Later runs take the
# files by their last times, longest first, after the type check (marked starts_first).
FIRST = ("test_types.py", "test_offline_topology.py", "test_offline_revisions.py", "test_ml_model.py",
         "test_ml_pipelines.py", "test_delivery_azure_pipelines.py", "test_delivery_azure_stacks.py",
         "test_delivery_workflows.py", "test_policy_pack.py", "test_offline_cli.py", "test_offline_engine.py",
         "test_platform_agent_registration.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Whole files move, in their own order, so that module fixtures are still set up once.
    items.sort(key=lambda item: FIRST.index(item.path.name) if item.path.name in FIRST else len(FIRST))


@pytest.fixture(scope="session")
def shared_runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SharedRuns:
    """Whole-program runs, each distinct config once across both processes (tests/shared_runs.py), kept
    in `.pytest_cache` for later sessions under the fingerprint of everything a run reads."""
    from tests.workers import WORKER_ENV

    kept = request.config.stash.get(KEPT_RUNS, None)
    if kept is not None:
        return SharedRuns(kept.folder)
    if os.environ.get(WORKER_ENV):  # no pytest cache: the session's own folder, which both processes share
        return SharedRuns(tmp_path_factory.getbasetemp() / "stack-runs")
    return SharedRuns(None)  # one process, no pytest cache: its memory only


def run_key(stack: str, values: Any, **kwargs: Any) -> str:
    """What identifies a run: the stack, its whole config and run_stack's other arguments."""
    return json.dumps([stack, values, kwargs], sort_keys=True, default=repr)


@pytest.fixture(scope="session")
def runs(shared_runs: SharedRuns) -> dict[str, StackRun]:
    """Every stack file, run once, unchanged."""
    from offline.engine import run_stack, stack_values
    from tests.helpers import share_views

    wanted = [(run_key(stack, stack_values(stack)), functools.partial(run_stack, stack)) for stack in STACKS]
    results = dict(zip(STACKS, shared_runs.get_all(wanted)))
    for stack, run in results.items():
        assert run.error is None, f"{stack}: {run.error}"
        share_views(run)
    # These two runs and the program's modules live for the whole session: out of the collector's way.
    gc.collect()
    gc.freeze()
    return results


@pytest.fixture(scope="session")
def prod(runs: dict[str, StackRun]) -> StackRun:
    return runs["prod"]


@pytest.fixture(scope="session")
def dev(runs: dict[str, StackRun]) -> StackRun:
    return runs["dev"]


@pytest.fixture(params=STACKS)
def each_stack(request: pytest.FixtureRequest, runs: dict[str, StackRun]) -> StackRun:
    return runs[request.param]


@pytest.fixture(scope="session")
def run_with(shared_runs: SharedRuns) -> Callable[..., StackRun]:
    """Run a stack with its config changed: `run_with("prod", lambda v: v["agents"].update(count=0))`.

    Several tests ask for the same change (`namePrefix=mlp`, one agent, public access...): each
    distinct config runs once, whichever worker asks first, and is kept for later sessions; each caller
    gets its own copy of the run (tests/shared_runs.py), so no test can change what another one reads.
    The config is the key: a test that patches the program's code or environment first must call
    `run_stack` itself."""
    from offline.engine import run_stack, stack_values

    def _run(stack: str, change: Callable[[dict[str, Any]], Any], **kwargs: Any) -> StackRun:
        values = copy.deepcopy(stack_values(stack))
        change(values)
        return shared_runs.get(run_key(stack, values, **kwargs),
                               functools.partial(run_stack, stack, values=values, **kwargs))

    return _run


# Several switches, one run (tests/variants.py says which test reads which switch).
@pytest.fixture
def prod_extended(run_with: Callable[..., StackRun]) -> StackRun:
    return run_with("prod", variants.prod_extended)


@pytest.fixture
def dev_switched(run_with: Callable[..., StackRun]) -> StackRun:
    return run_with("dev", variants.dev_switched)


@pytest.fixture
def dev_us_gov(run_with: Callable[..., StackRun]) -> StackRun:
    return run_with("dev", variants.dev_us_gov)


def load_ml_script(name: str) -> ModuleType:
    """ml/src/<name>.py as Azure ML runs it: a plain script, not part of a package."""
    path = Path(__file__).resolve().parent.parent / "ml" / "src" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"ml_src_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def ml_trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ml/src/train.py run once on the committed data: its output folder (model/, metrics.json)."""
    output = tmp_path_factory.mktemp("ml-train")
    data = Path(__file__).resolve().parent.parent / "ml" / "data" / "breast_cancer.csv"
    assert load_ml_script("train").main(["--data", str(data), "--output", str(output)]) == 0
    return output
