"""Benchmarks: `python -m bench NAME` runs one and prints one JSON object (see bench/README.md).

A benchmark is a module in this package with `run() -> dict` returning its figures, dataset and setup;
the harness adds the machine it ran on and the date, prints the result and keeps it in
bench/results/NAME.json. Benchmarks measure and report: they never pass or fail on a timing.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

# name -> module (in this package) whose run() measures it. Add a benchmark with one line here.
BENCHMARKS: dict[str, str] = {
    "pages": "bench.pages",
    "content": "bench.content",
    "reset": "bench.reset",
    "scheduler": "bench.scheduler",
    "dataset": "bench.staff",
    "coverage": "bench.coverage",
    "dosing": "bench.dosing",
    "roster": "bench.roster",
    "lookup": "bench.lookup",
}


class UnknownBenchmark(LookupError):
    pass


class BenchmarkFailed(RuntimeError):
    """The benchmark could not measure what it promised (a tool missing, a page not served as expected)."""


def progress(message: str) -> None:
    """Progress for people watching; stdout carries only the JSON result."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_versions(*names: str) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_gib": _memory_gib(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        # 1, 5 and 15 minute load before the run: other work takes cores from the server and from wrk.
        "load_average_at_start": _load_average(),
    }


def _load_average() -> list[float] | None:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def _memory_gib() -> float | None:
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return round(pages * size / 2**30, 1)


def result_path(name: str, **options: Any) -> Path:
    """Where a run of NAME with these options is kept: bench/results/NAME.json, unless the benchmark
    names its results by option (`result_name`, e.g. `pages-postgresql`)."""
    module = importlib.import_module(BENCHMARKS[name])
    stem = module.result_name(**options) if options and hasattr(module, "result_name") else name
    return RESULTS / f"{stem}.json"


def run(name: str, **options: Any) -> dict[str, Any]:
    """Run benchmark NAME (with its options, if it takes any), save its result under bench/results/ and
    return it."""
    if name not in BENCHMARKS:
        raise UnknownBenchmark(name)
    started = datetime.now(UTC)
    facts = machine()
    measured = importlib.import_module(BENCHMARKS[name]).run(**options)
    result = {
        "benchmark": name,
        "date": started.isoformat(timespec="seconds"),
        "commit": git_commit(),
        **measured,
        "machine": facts,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    result_path(name, **options).write_text(json.dumps(result, indent=2) + "\n")
    return result
