"""docs/deploy.md, followed: its nginx site (TLS), its settings file and its web unit's gunicorn command,
taken from the guide's own blocks so that the guide and this test cannot drift apart. Through nginx, the
app is served over HTTPS and sign-in limits count each real client address, which a client cannot forge.

Two client addresses on one machine: Linux answers on all of 127.0.0.0/8, so a client connecting from
127.0.0.2 and one from 127.0.0.3 are two people to nginx, and both differ from nginx's own address as
the app sees it (127.0.0.1).
"""

from __future__ import annotations

import functools
import http.client
import http.cookiejar
import json
import os
import re
import shlex
import shutil
import sqlite3
import ssl
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
from test_run_command import STARTUP_LIMIT, free_port, lms_executable

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "deploy.md"
NGINX = "/usr/sbin/nginx"  # Debian's nginx package
PASSWORD = "proxy-test-password"
CLIENT, OTHER_CLIENT = "127.0.0.2", "127.0.0.3"
FORGED = ("203.0.113.7", "198.51.100.23", "192.0.2.99", "203.0.113.8", "198.51.100.24")


def guide_block(first_line: str) -> str:
    """The guide's fenced block whose first line is `first_line` (the file it is meant to be saved as)."""
    for block in re.findall(r"^```[a-z]*\n(.*?)^```", GUIDE.read_text(encoding="utf-8"), re.M | re.S):
        if block.splitlines()[0] == first_line:
            return block
    pytest.fail(f"docs/deploy.md has no block starting with {first_line!r}")


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"docs/deploy.md's nginx site no longer has {old!r} once: update this test"
    return text.replace(old, new)


def guide_settings() -> dict[str, str]:
    """The LMS_* settings of the guide's /etc/lms/lms.env, read as systemd and `sh` read them."""
    lines = guide_block("# /etc/lms/lms.env (root:lms, mode 0640: it holds the secret key and passwords)")
    settings = dict(shlex.split(line)[0].split("=", 1) for line in lines.splitlines()[1:] if line.strip())
    assert all(name.startswith("LMS_") for name in settings)
    return settings


def guide_gunicorn_command() -> list[str]:
    """The web unit's ExecStart: the guide's gunicorn command, as words."""
    unit = guide_block("# /etc/systemd/system/lms-web.service")
    exec_start = re.search(r"^ExecStart=(.+)$", unit, re.M)
    assert exec_start, "the guide's web unit has no ExecStart"
    return shlex.split(exec_start[1])


@dataclass
class Deployment:
    https: str  # https://127.0.0.1:PORT, nginx's TLS server
    http_port: int  # nginx's plain-HTTP server, which redirects
    context: ssl.SSLContext  # trusts the throwaway certificate
    database: Path

    def browser(self, source: str) -> urllib.request.OpenerDirector:
        """A client with its own cookies that connects to nginx from the address `source`."""
        context = self.context

        class FromSource(urllib.request.HTTPSHandler):
            def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
                connection = functools.partial(http.client.HTTPSConnection, source_address=(source, 0))
                return self.do_open(connection, req, context=context)

        return urllib.request.build_opener(
            FromSource(), urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def sign_in(
        self, browser: urllib.request.OpenerDirector, email: str, password: str, forged_for: str | None = None
    ) -> tuple[int, str]:
        """Submit the sign-in form through nginx (optionally with a forged X-Forwarded-For); the status and
        the page (after the redirect of a sign-in that worked)."""
        with browser.open(f"{self.https}/sign-in", timeout=10) as page:
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.read().decode())
        assert token, "no CSRF token on the sign-in page"
        form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token[1]})
        headers = {"Referer": f"{self.https}/sign-in"}  # as a browser sends; checked by CSRF over HTTPS
        if forged_for:
            headers["X-Forwarded-For"] = forged_for
        request = urllib.request.Request(f"{self.https}/sign-in", data=form.encode(), headers=headers)  # noqa: S310
        try:
            with browser.open(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def attempts(self) -> list[tuple[str, str]]:
        """The sign-in attempts the app recorded: (email, client address), oldest first."""
        with closing(sqlite3.connect(self.database)) as database:
            return list(database.execute("SELECT email, ip FROM login_attempt ORDER BY id"))

    def session_addresses(self) -> list[str]:
        with closing(sqlite3.connect(self.database)) as database:
            return [ip for (ip,) in database.execute("SELECT ip FROM user_session ORDER BY id")]


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "fullchain.pem", folder / "privkey.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def nginx_conf(tmp: Path, site: str) -> str:
    """A whole nginx.conf around the guide's site, with every path nginx writes under `tmp`, so nginx runs
    as this user without touching /var or /etc. (As root it would hand its workers to `nobody`, who may
    not read `tmp`: run them as root instead.)"""
    temp_paths = "\n".join(
        f"    {kind}_temp_path {tmp / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root root;\n" if os.geteuid() == 0 else ""
    return (
        f"{user}daemon off;\nworker_processes 1;\npid {tmp / 'nginx.pid'};\nerror_log {tmp / 'error.log'};\n"
        f"events {{ worker_connections 64; }}\n"
        f"http {{\n    access_log {tmp / 'access.log'};\n{temp_paths}\n{site}\n}}\n"
    )


def wait_until_up(url: str, context: ssl.SSLContext | None, processes: list[subprocess.Popen], logs: Path):
    deadline = time.monotonic() + STARTUP_LIMIT
    while True:
        for process in processes:
            if process.poll() is not None:
                pytest.fail(f"{process.args[0]} exited with {process.returncode}:\n{read_logs(logs)}")
        try:
            with urllib.request.urlopen(url, timeout=5, context=context) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except (OSError, http.client.HTTPException):
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{url} did not answer within {STARTUP_LIMIT} s:\n{read_logs(logs)}")
        time.sleep(0.2)


def read_logs(folder: Path) -> str:
    return "\n".join(
        f"--- {log.name}\n{log.read_text(errors='replace')}" for log in sorted(folder.glob("*.log"))
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def deployed(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Deployment]:
    missing = request.config.pluginmanager.get_plugin(str(ROOT / "tests" / "conftest.py")).missing
    if not Path(NGINX).exists():
        missing("Debian's nginx is not installed (apt-get install nginx)")
    if shutil.which("openssl") is None:
        missing("openssl is not installed (apt-get install openssl)")
    cert, key = self_signed_certificate(tmp_path)
    app_port, https_port, http_port = free_port(), free_port(), free_port()
    https = f"https://127.0.0.1:{https_port}"

    # The guide's settings, but for a throwaway instance: its own SQLite database, a key of its own, no
    # mail server. What the proxy needs (LMS_TRUSTED_PROXIES) is the guide's.
    database = tmp_path / "instance" / "lms.sqlite3"
    settings = guide_settings() | {
        "LMS_INSTANCE_PATH": str(tmp_path / "instance"),
        "LMS_DATABASE_URL": f"sqlite:///{database}",
        "LMS_SECRET_KEY": "a throwaway key for one test run",
        "LMS_BASE_URL": https,
        "LMS_SMTP_URL": "",
        "LMS_PASSWORD_PROFILE": "CHEAPEST",
        "LMS_LOGIN_MAX_FAILURES": "1",  # so one address is paused after 4 failures (x4 per address)
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMS_")} | settings
    # First run: the schema and someone to sign in as (the demo; a real installation uses `lms org create`).
    subprocess.run(
        [lms_executable(), "demo", "--password", PASSWORD],
        env=env,
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )

    command = guide_gunicorn_command()
    assert Path(command[0]).name == "gunicorn" and "--bind" in command
    command[0] = str(Path(sys.executable).parent / "gunicorn")  # this checkout's, not /srv/lms's
    command[command.index("--bind") + 1] = f"127.0.0.1:{app_port}"

    site = guide_block("# /etc/nginx/sites-available/lms")
    for old, new in (
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
        ("/etc/ssl/lms/fullchain.pem", str(cert)),
        ("/etc/ssl/lms/privkey.pem", str(key)),
        ("proxy_pass http://127.0.0.1:8000;", f"proxy_pass http://127.0.0.1:{app_port};"),
    ):
        site = replace_once(site, old, new)
    (tmp_path / "nginx.conf").write_text(nginx_conf(tmp_path, site))

    logs = tmp_path
    app_log = (logs / "gunicorn.log").open("w")
    app = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=app_log, stderr=subprocess.STDOUT)
    nginx_log = (logs / "nginx-stderr.log").open("w")
    nginx = subprocess.Popen(
        [NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "error.log")],
        stdout=nginx_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        context = ssl.create_default_context(cafile=str(cert))
        wait_until_up(f"{https}/healthz", context, [app, nginx], logs)
        yield Deployment(https, http_port, context, database)
    finally:
        stop(nginx)
        stop(app)
        app_log.close()
        nginx_log.close()


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Deployment]:
    """One deployment for this module's tests (each takes a few seconds to start)."""
    with deployed(tmp_path_factory.mktemp("deploy"), request) as running:
        yield running


def test_the_guides_deployment_serves_the_app_over_https_with_health_checks_and_a_redirect(
    deployment: Deployment,
):
    with urllib.request.urlopen(f"{deployment.https}/healthz", context=deployment.context) as answer:  # noqa: S310
        assert answer.status == 200
        assert json.loads(answer.read()) == {"status": "ok", "database": "ok", "dialect": "sqlite"}

    with urllib.request.urlopen(f"{deployment.https}/sign-in", context=deployment.context) as page:  # noqa: S310
        # The app knows it is served over HTTPS (X-Forwarded-Proto): Secure cookies, and HSTS.
        assert "Secure" in page.headers["Set-Cookie"]
        assert page.headers["Strict-Transport-Security"].startswith("max-age=")
        assert "<h1>Sign in</h1>" in page.read().decode()

    plain = http.client.HTTPConnection("127.0.0.1", deployment.http_port, timeout=5)
    plain.request("GET", "/sign-in?next=%2F")
    redirect = plain.getresponse()
    assert redirect.status == 301
    assert redirect.headers["Location"] == "https://127.0.0.1/sign-in?next=%2F"
    plain.close()


def test_sign_in_limits_count_the_real_client_address_which_a_forged_header_does_not_change(
    deployment: Deployment,
):
    client, other = deployment.browser(CLIENT), deployment.browser(OTHER_CLIENT)

    # One client fails four times (each time as another email, and claiming another address in
    # X-Forwarded-For): with one failure allowed per email, four per address, the fifth is paused...
    statuses = [
        deployment.sign_in(client, f"guess{i}@proxy.test", "wrong", forged_for=FORGED[i])[0] for i in range(5)
    ]
    assert statuses == [400, 400, 400, 400, 429]
    # ...even with the right password for an account no one has failed on.
    assert deployment.sign_in(client, "learner@demo.example", PASSWORD, forged_for="192.0.2.1")[0] == 429

    # Another person, elsewhere, is not paused: their own failure is refused as one, and they sign in.
    assert deployment.sign_in(other, "guess9@proxy.test", "wrong")[0] == 400
    status, home = deployment.sign_in(other, "learner@demo.example", PASSWORD)
    assert status == 200
    assert "Sign out" in home

    # The app recorded each attempt against the address nginx saw: never the proxy's, never a forged one.
    assert deployment.attempts() == [(f"guess{i}@proxy.test", CLIENT) for i in range(4)] + [
        ("guess9@proxy.test", OTHER_CLIENT),
        ("learner@demo.example", OTHER_CLIENT),
    ]
    assert deployment.session_addresses() == [OTHER_CLIENT]  # as the Profile's list of sessions shows it
