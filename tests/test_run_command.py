"""`lms run` serves a fresh instance as it is: it creates the database and answers on its port."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

STARTUP_LIMIT = 30  # seconds to wait for the server to answer; a bound, not a performance claim


def lms_executable() -> str:
    beside_python = Path(sys.executable).parent / "lms"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("lms")
    if found is None:
        pytest.fail("the `lms` command is not installed (pip install -e .)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own local server
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> int:
        """SIGTERM, as a service manager or `kill` sends; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail("`lms run` ignored SIGTERM for 10 s")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """`lms run` on a free port with an empty instance folder."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMS_")}
    env |= {"LMS_INSTANCE_PATH": str(tmp_path / "instance"), "LMS_SCHEDULER": "off"}
    log = (tmp_path / "server.log").open("w+")
    process = subprocess.Popen(
        [lms_executable(), "run", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_LIMIT
        while True:
            if process.poll() is not None:
                log.seek(0)
                pytest.fail(f"`lms run` exited with {process.returncode}:\n{log.read()}")
            try:
                if get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"`lms run` did not answer within {STARTUP_LIMIT} s:\n{log.read()}")
            time.sleep(0.2)
        yield Server(base, process, tmp_path / "server.log")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def test_lms_run_serves_a_fresh_instance_with_its_database_ready(server: Server, tmp_path: Path):
    status, body = get(f"{server.url}/healthz")
    assert status == 200
    assert json.loads(body)["database"] == "ok"

    status, page = get(f"{server.url}/sign-in")
    assert status == 200
    assert 'name="password"' in page
    with closing(sqlite3.connect(tmp_path / "instance" / "lms.sqlite3")) as database:
        tables = {name for (name,) in database.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"alembic_version", "user_account", "membership"} <= tables, "the schema was created"


def test_lms_run_says_where_it_serves_and_stops_cleanly_on_sigterm(server: Server):
    assert server.stop() == 0

    output = server.log.read_text()
    assert f"Lead with Quality on {server.url}" in output
    assert "Stopped." in output
