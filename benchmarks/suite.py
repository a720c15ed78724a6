"""How long `make test` takes once installed: the whole suite CI runs, the type check included, cold and warm.

- cold: what a fresh clone pays on its first `make test` after installation: neither mypy nor
  pytest has a cache (a new, empty MYPY_CACHE_DIR and pytest `cache_dir` for each run), so mypy
  reads the types of the SDK modules the code uses (mypy.ini), and the two test processes take the
  files in collection order, not by their last times (tests/workers.py);
- warm: every later run: the same cache folders, kept from one run to the next (one run first
  to fill them, not counted), so the whole-program runs come from pytest's cache too
  (tests/shared_runs.py: they are kept while no file a run reads has changed);
- warm, program changed: the same, but each run without what the suite keeps of the program (its
  whole-program runs, and Chromium's drawings of its diagrams), as the first run after a change to
  the program's code or stack files finds it at worst (mypy's cache stays, as it would for all but
  the changed module; a change that leaves the diagrams as they were keeps their drawings).

Each run is the command the Makefile's `test` target runs, in a child process, timed by wall clock,
with the CPU time the child and its own children used (user + system: on a shared machine, compare
CPU and ratios, not seconds; the machine's speed is timed before and after, see `host_seconds`). The project's own `.mypy_cache` and `.pytest_cache` are neither read
nor written; Python's
bytecode caches are (PYTHONDONTWRITEBYTECODE is dropped: see `run_once`). Target:
60 s cold and 30 s warm on 2 cores (issue #11). This is a benchmark, not a gate: it exits non-zero
only when a run fails.

    python -m benchmarks.suite [--runs 3] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

PROJECT_DIR = Path(__file__).resolve().parent.parent
TARGETS = {"cold": 60.0, "warm": 30.0}
KEPT_RUNS = Path("pytest") / "d" / "stack-runs"
"""Where, in a case's cache folder, pytest's cache keeps the whole-program runs (tests/conftest.py: `shared_runs`)."""
KEPT_DRAWINGS = Path("pytest") / "d" / "mermaid-drawings"
"""And Chromium's drawings of the program's diagrams (tests/test_offline_topology.py: `rendering`)."""


def make_test_command(makefile: Path = PROJECT_DIR / "Makefile") -> list[str]:
    """The pytest command of the Makefile's `test` target, `$(PY)` as this interpreter: what is
    timed is what `make test` runs, not a copy of it that could drift."""
    lines = makefile.read_text().splitlines()
    start = lines.index(next(line for line in lines if line.startswith("test:")))
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        if "-m pytest" in line:
            return [sys.executable if word == "$(PY)" else word for word in shlex.split(line.strip())]
    raise ValueError(f"{makefile}: no `$(PY) -m pytest` line under `test:`")


@dataclass
class Runs:
    """One case's runs: wall and CPU seconds each, and pytest's own summary of the last."""

    name: str
    target: Optional[float]
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    summary: str = ""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(command: list[str], cache_dir: Path) -> tuple[float, float, str]:
    # Python writes its bytecode caches (the program's modules, pytest's rewritten test modules) as on
    # anyone's machine: with PYTHONDONTWRITEBYTECODE, which some shells and CI images set, every
    # process compiles them again (~1.5 s of CPU per worker and more in the child processes), and
    # "warm" would not be the second `make test` a user sees.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["MYPY_CACHE_DIR"] = str(cache_dir / "mypy")
    command = [*command, "-o", f"cache_dir={cache_dir / 'pytest'}"]
    cpu_before, started = _children_cpu(), time.perf_counter()
    done = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=False)
    wall, cpu = time.perf_counter() - started, _children_cpu() - cpu_before
    if done.returncode != 0:
        raise SystemExit(f"`{' '.join(command)}` failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    summary = next((line for line in reversed(done.stdout.splitlines()) if re.search(r"\d+ passed", line)), "")
    return wall, cpu, summary.strip("= ")


def host_seconds() -> float:
    """CPU seconds of a fixed pure-Python loop (~3 s on a quiet 2-core machine here): shared machines
    drift by 10-30% over minutes, and a table is read with the speed it was measured at."""
    started, total = time.process_time(), 0
    for number in range(30_000_000):
        total += number
    return time.process_time() - started


def measure(runs: int, command: list[str]) -> list[Runs]:
    cold, warm = Runs("cold (no mypy cache)", TARGETS["cold"]), Runs("warm", TARGETS["warm"])
    changed = Runs("warm, program changed (nothing kept)", None)
    with tempfile.TemporaryDirectory(prefix="suite-bench-") as scratch:
        for index in range(runs):
            wall, cpu, cold.summary = run_once(command, Path(scratch) / f"cold-{index}")
            cold.wall.append(wall)
            cold.cpu.append(cpu)
        kept = Path(scratch) / "warm"
        run_once(command, kept)  # fills the cache; not counted
        for _ in range(runs):
            wall, cpu, warm.summary = run_once(command, kept)
            warm.wall.append(wall)
            warm.cpu.append(cpu)
        for _ in range(runs):
            for folder in (KEPT_RUNS, KEPT_DRAWINGS):
                shutil.rmtree(kept / folder, ignore_errors=True)
            wall, cpu, changed.summary = run_once(command, kept)
            changed.wall.append(wall)
            changed.cpu.append(cpu)
    return [cold, warm, changed]


def render(found: list[Runs], markdown: bool) -> str:
    rows = []
    for case in found:
        rows.append((case.name, f"{statistics.median(case.wall):.1f}", f"{min(case.wall):.1f}-{max(case.wall):.1f}",
                     f"{statistics.median(case.cpu):.1f}", "-" if case.target is None else f"{case.target:.0f}",
                     case.summary))
    header = ("case", "median wall s", "min-max s", "median CPU s", "target s", "pytest")
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|---|---:|---:|---:|---:|---|"]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)) for row in [header, *rows])


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.suite", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each case (default 3)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the README)")
    args = parser.parse_args(argv)
    command = make_test_command()
    print(f"{' '.join(command)}  ({os.cpu_count()} cores, {args.runs} runs each)", file=sys.stderr)
    before = host_seconds()
    found = measure(args.runs, command)
    after = host_seconds()
    print(render(found, args.markdown))
    print(f"\nThe machine's speed: a fixed pure-Python loop took {before:.2f} s before and {after:.2f} s after "
          "(benchmarks.suite.host_seconds).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
