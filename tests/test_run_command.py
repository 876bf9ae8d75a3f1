"""`lms run` serves a fresh instance as it is: it creates the database and answers on its port."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager
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
    with lms_run(tmp_path) as running:
        yield running


@contextmanager
def lms_run(tmp_path: Path, **settings: str) -> Iterator[Server]:
    """`lms run` on a free port with an empty instance folder and these LMS_* settings; always stopped."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMS_")}
    env |= {"LMS_INSTANCE_PATH": str(tmp_path / "instance"), "LMS_SCHEDULER": "off", **settings}
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
    assert f"Instance: {server.log.parent / 'instance'} (database sqlite:///" in output
    assert "Stopped." in output


# --- behind a reverse proxy -----------------------------------------------------------------------


def failed_sign_in(
    opener: urllib.request.OpenerDirector, url: str, forwarded_for: str, email: str = "nobody@proxy.test"
) -> int:
    """A wrong password sent through `opener` (its cookie jar holds the CSRF session) as if a proxy had
    forwarded it from `forwarded_for`; returns the status."""
    with opener.open(f"{url}/sign-in", timeout=5) as page:
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.read().decode())
    assert token, "no CSRF token on the sign-in page"
    form = urllib.parse.urlencode(
        {"email": email, "password": "not the password", "csrf_token": token[1]}
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - our own local server
        f"{url}/sign-in", data=form, headers={"X-Forwarded-For": forwarded_for}
    )
    try:
        with opener.open(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def recorded_addresses(tmp_path: Path) -> list[str]:
    with closing(sqlite3.connect(tmp_path / "instance" / "lms.sqlite3")) as database:
        return [ip for (ip,) in database.execute("SELECT ip FROM login_attempt ORDER BY id")]


@pytest.mark.parametrize(
    ("proxies", "expected"),
    [
        ("1", ["203.0.113.7", "198.51.100.23", "203.0.113.7"]),  # the proxy's word for the client
        ("0", ["127.0.0.1"] * 3),  # no proxy configured: the header is anyone's to forge, so ignored
    ],
)
def test_lms_run_takes_the_client_address_from_the_proxy_only_when_told_to_trust_one(
    tmp_path: Path, proxies: str, expected: list[str]
):
    """Sign-in throttling counts failures per address: behind a proxy, without X-Forwarded-For, every
    person would share the proxy's address and 20 failures would lock everyone out."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with lms_run(tmp_path, LMS_TRUSTED_PROXIES=proxies, LMS_PASSWORD_PROFILE="CHEAPEST") as running:
        for address in ("203.0.113.7", "198.51.100.23", "203.0.113.7"):
            assert failed_sign_in(opener, running.url, address) == 400
    assert recorded_addresses(tmp_path) == expected


def test_lms_run_behind_a_proxy_throttles_one_address_not_everyone(tmp_path: Path):
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    settings = {"LMS_TRUSTED_PROXIES": "1", "LMS_PASSWORD_PROFILE": "CHEAPEST", "LMS_LOGIN_MAX_FAILURES": "1"}
    with lms_run(tmp_path, **settings) as running:
        # Each email may fail once, each address four times: the fifth failure from one address is
        # paused, whatever the email...
        statuses = [failed_sign_in(opener, running.url, "203.0.113.7", f"n{i}@proxy.test") for i in range(5)]
        assert statuses == [400, 400, 400, 400, 429]
        # ...but a person at another address is not.
        assert failed_sign_in(opener, running.url, "198.51.100.23", "n9@proxy.test") == 400
