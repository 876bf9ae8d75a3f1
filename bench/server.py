"""Serve a WSGI app with gunicorn on 127.0.0.1 as the README's production section does; always stop it."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import BenchmarkFailed, progress

HOST = "127.0.0.1"
# One sync worker per core of the project's 2-core machines. Measured there with SQLite: 4 workers
# (two per core) served the home page ~30% slower than 2, each request costing more CPU as four
# processes and wrk take turns on two cores; the page's work is CPU, not waiting, so more workers
# only add switching. See bench/README.md.
WORKERS = 2
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 10


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    command: list[str]
    workers: int
    pid: int

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) used so far by the gunicorn master and its workers; None off Linux.

        Other work on the machine slows requests down but does not add to this, so CPU per request is
        the steadiest figure a shared machine gives.
        """
        return tree_cpu_seconds(self.pid)

    def rss_mb(self) -> dict[str, Any] | None:
        """Resident memory of the gunicorn master and of each worker, in MB; None off Linux."""
        try:
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
            return {
                "master": _rss_mb(str(self.pid)),
                "workers": sorted(_rss_mb(pid) for pid in children),
            }
        except (OSError, ValueError):
            return None


def tree_cpu_seconds(pid: int, *, reaped: bool = False) -> float | None:
    """CPU time (user + system) of process `pid` and its live children; with `reaped`, also of the
    children it has already waited for (a PostgreSQL backend that ended). None off Linux."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ticks = 0
        for n, child in enumerate([str(pid), *children]):
            # Fields after the command's closing parenthesis: utime, stime, cutime, cstime are the
            # 12th to 15th.
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
            if reaped and n == 0:
                ticks += int(fields[13]) + int(fields[14])
    except (OSError, IndexError, ValueError):
        return None
    return ticks / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise ValueError(f"no VmRSS for process {pid}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def gunicorn_command(app: str, port: int, workers: int = WORKERS) -> list[str]:
    """The production command (`gunicorn --workers N --bind HOST:PORT MODULE:app`), run from this venv."""
    return [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"{HOST}:{port}", app]


def _ready(port: int, path: str) -> bool:
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


@contextmanager
def gunicorn(
    app: str, env: Mapping[str, str], log: Path, ready_path: str = "/healthz", workers: int = WORKERS
) -> Iterator[Server]:
    """Start gunicorn serving `app` with `env` added to this environment; stop it on the way out."""
    port = free_port()
    command = gunicorn_command(app, port, workers)
    progress(f"starting {' '.join(command[2:])} (log: {log})")
    with log.open("w") as log_file:
        proc = subprocess.Popen(
            command,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parent.parent,
            start_new_session=True,  # its own process group, so a stuck worker can be killed with it
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not _ready(port, ready_path):
                if proc.poll() is not None:
                    raise BenchmarkFailed(f"gunicorn exited with {proc.returncode}; see {log}")
                if time.monotonic() > deadline:
                    raise BenchmarkFailed(f"gunicorn did not answer {ready_path} in {START_TIMEOUT_S}s")
                time.sleep(0.2)
            yield Server(HOST, port, command, workers, proc.pid)
        finally:
            _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    progress("stopping gunicorn")
    proc.send_signal(signal.SIGTERM)  # the master stops its workers gracefully
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_TIMEOUT_S)
