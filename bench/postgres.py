"""PostgreSQL for a benchmark: a throwaway server of its own, or a scratch database on a given server.

`throwaway_server()` does what .ci/run does: initdb into a temporary folder (owned by the `postgres`
user when run as root), start the server on a free port of 127.0.0.1 with fsync, synchronous commit and
full-page writes off (nothing here needs to survive a crash), and make a login role with CREATEDB for
the benchmark. `scratch_database(url)` then makes an empty database for one run on that server (or on
the server a `--database-url` names) and drops it afterwards. Both always clean up, also on error.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench import BenchmarkFailed, progress
from bench.server import HOST, free_port, tree_cpu_seconds

DATABASES = ("sqlite", "postgresql")
ROLE = "lms_bench"
# As .ci/run starts its throwaway server: durability off, the rest PostgreSQL's defaults.
SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
START_TIMEOUT_S = 60


@dataclass(frozen=True)
class Throwaway:
    url: str  # the benchmark role, database `postgres`
    data_dir: Path
    bin_dir: Path
    settings: dict[str, str]

    def cpu_seconds(self) -> float | None:
        """CPU time used so far by the whole server: the postmaster, its background processes and every
        backend (the gunicorn workers' connections), live or ended. None off Linux."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, IndexError, ValueError):
            return None
        return tree_cpu_seconds(pid, reaped=True)


def normalise_url(url: str) -> str:
    """`postgresql://` and `postgres://` mean psycopg (3), the driver the project installs."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise BenchmarkFailed(f"--database-url must name a PostgreSQL server, not {parsed.drivername!r}")
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def bin_dir() -> Path:
    """The newest /usr/lib/postgresql/N/bin (Debian's layout), else wherever PATH finds initdb."""
    root = Path("/usr/lib/postgresql")
    found = sorted(
        (p for p in root.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1]
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise BenchmarkFailed(
        "no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql or on PATH; install "
        "them with `sudo apt-get install postgresql`, or give a server with --database-url"
    )


def _as_owner(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run as `postgres` then, as .ci/run does."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str], what: str) -> str:
    done = subprocess.run(_as_owner(command), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise BenchmarkFailed(f"{what} failed ({done.returncode}): {(done.stderr or done.stdout)[-800:]}")
    return done.stdout


@contextmanager
def throwaway_server() -> Iterator[Throwaway]:
    """A fresh PostgreSQL server on a free port of 127.0.0.1; stopped and deleted on the way out."""
    binaries = bin_dir()
    tmp = Path(tempfile.mkdtemp(prefix="lms-bench-pg-"))
    data = tmp / "data"
    started = False
    try:
        if os.geteuid() == 0:
            shutil.chown(tmp, "postgres", "postgres")
        port = free_port()
        password = secrets.token_urlsafe(24)
        progress(f"initdb and start a throwaway PostgreSQL ({binaries}) on {HOST}:{port}, data in {data}")
        _run(
            [
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            "initdb",
        )
        options = f"-c listen_addresses={HOST} -p {port} -k {tmp} " + " ".join(
            f"-c {k}={v}" for k, v in SETTINGS.items()
        )
        started = True  # from here on, stop it whatever happens (pg_ctl may fail after the server began)
        _run(
            [
                str(binaries / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(tmp / "server.log"),
                "-w",
                "-t",
                str(START_TIMEOUT_S),
                "start",
                "-o",
                options,
            ],
            "pg_ctl start (log: " + str(tmp / "server.log") + ")",
        )
        _run(
            [
                str(binaries / "psql"),
                "-h",
                str(tmp),
                "-p",
                str(port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
                "-c",
                f"CREATE ROLE {ROLE} LOGIN CREATEDB PASSWORD '{password}'",
            ],
            "creating the benchmark role",
        )
        url = f"postgresql+psycopg://{ROLE}:{password}@{HOST}:{port}/postgres"
        yield Throwaway(url=url, data_dir=data, bin_dir=binaries, settings=dict(SETTINGS))
    finally:
        if started:
            progress("stopping the throwaway PostgreSQL and deleting its data")
            subprocess.run(
                _as_owner([str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                capture_output=True,
                stdin=subprocess.DEVNULL,
            )
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """An empty database `lms_bench_XXXXXXXX` on the server `server_url` names (its role needs CREATEDB),
    for one run; dropped afterwards, its connections closed by force. Yields its URL."""
    url = make_url(normalise_url(server_url))
    name = f"lms_bench_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        raise BenchmarkFailed(f"cannot create a scratch database on {url.render_as_string()}: {exc}") from exc
    progress(f"scratch database {name} on {url.host}:{url.port}")
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()


def server_facts(url: str) -> dict[str, Any]:
    """The server's version and the settings that shape these figures."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            facts: dict[str, Any] = {
                "version": conn.execute(text("SHOW server_version")).scalar_one(),
                "version_string": conn.execute(text("SELECT version()")).scalar_one(),
            }
            facts["settings"] = {
                name: conn.execute(text(f"SHOW {name}")).scalar_one()
                for name in (*SETTINGS, "shared_buffers", "max_connections")
            }
    finally:
        engine.dispose()
    return facts


@dataclass(frozen=True)
class Database:
    """What a benchmark runs on: `url` None for SQLite (the benchmark places its file), else a scratch
    PostgreSQL database; `where` says which, for the result; `server_cpu` reads the server's CPU time
    when the benchmark started the server itself."""

    url: str | None
    where: dict[str, Any]
    server_cpu: Callable[[], float | None] | None = None


def result_name(stem: str, database: str, database_url: str | None) -> str:
    """SQLite keeps `stem`; PostgreSQL writes `stem-postgresql`, so each database keeps its own figures."""
    return stem if database == "sqlite" and not database_url else f"{stem}-postgresql"


def database_for(stack: ExitStack, database: str, database_url: str | None) -> Database:
    """The database of one run of a benchmark taking `--database` and `--database-url`: SQLite, or a
    scratch database on a throwaway server started here or on the server `database_url` names. What it
    starts, `stack` stops and deletes."""
    if database not in DATABASES:
        raise BenchmarkFailed(f"unknown database {database!r}; choose one of {', '.join(DATABASES)}")
    if database_url and database != "postgresql":
        raise BenchmarkFailed("--database-url names a PostgreSQL server: use it with --database postgresql")
    if database == "sqlite":
        return Database(None, {"server": "SQLite (WAL) in a fresh temporary folder"})
    server_cpu = None
    if database_url:
        server_url = normalise_url(database_url)
        where: dict[str, Any] = {"server": "given (--database-url)"}
    else:
        pg = stack.enter_context(throwaway_server())
        server_url, server_cpu = pg.url, pg.cpu_seconds
        where = {
            "server": "throwaway, started for this run on 127.0.0.1 (initdb, then deleted)",
            "binaries": str(pg.bin_dir),
        }
    url = stack.enter_context(scratch_database(server_url))
    where |= server_facts(url)
    where["url"] = make_url(url).render_as_string(hide_password=True)
    return Database(url, where, server_cpu)
