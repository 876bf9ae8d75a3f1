"""Load from a second process with wrk (Debian package `wrk`), bounded in time, and its parsed figures."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench import BenchmarkFailed

THREADS = 2
CONNECTIONS = 8
INSTALL_HINT = "wrk is not installed; install it with `sudo apt-get install wrk` (Debian/Ubuntu)."

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class Figures:
    requests_per_sec: float
    p50_ms: float
    p99_ms: float
    requests: int
    seconds: float
    errors: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests_per_sec": round(self.requests_per_sec, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "requests": self.requests,
            "seconds": self.seconds,
        }


def executable() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise BenchmarkFailed(INSTALL_HINT)
    return path


def version() -> str:
    # `wrk -v` prints its version line then usage, and exits 1.
    out = subprocess.run([executable(), "-v"], capture_output=True, text=True, timeout=10, check=False)
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0] if first else "unknown"


def run(url: str, seconds: float, headers: Mapping[str, str] | None = None, latency: bool = True) -> str:
    """Run wrk against url for `seconds`; return its report."""
    cmd = [executable(), f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds:g}s"]
    if latency:
        cmd.append("--latency")
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=False)
    if out.returncode != 0:
        raise BenchmarkFailed(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout.strip()}")
    return out.stdout


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if match is None:
        raise BenchmarkFailed(f"unexpected latency in wrk output: {value!r}")
    return float(match[1]) * _UNITS_MS[match[2]]


def parse(report: str) -> Figures:
    """Requests/sec, the 50th and 99th latency percentiles, request count and errors from `wrk --latency`."""

    def find(pattern: str) -> re.Match[str]:
        match = re.search(pattern, report, re.MULTILINE)
        if match is None:
            raise BenchmarkFailed(f"wrk output has no {pattern!r}:\n{report}")
        return match

    errors = {"non_2xx_3xx": 0, "connect": 0, "read": 0, "write": 0, "timeout": 0}
    if match := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", report):
        errors["non_2xx_3xx"] = int(match[1])
    if match := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report):
        errors.update(zip(("connect", "read", "write", "timeout"), map(int, match.groups()), strict=True))
    return Figures(
        requests_per_sec=float(find(r"^Requests/sec:\s+([\d.]+)")[1]),
        p50_ms=_ms(find(r"^\s+50%\s+(\S+)")[1]),
        p99_ms=_ms(find(r"^\s+99%\s+(\S+)")[1]),
        requests=int(find(r"^\s+(\d+) requests in")[1]),
        seconds=_ms(find(r"^\s+\d+ requests in ([\d.]+\w+),")[1]) / 1000,
        errors=errors,
    )
