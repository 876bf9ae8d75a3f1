"""`python -m bench coverage`: the coverage page and API, for the whole organisation and for one facility,
at sizes M and XL (or those given), on PostgreSQL: p50 and p99 per endpoint.

Each size is generated on a fresh scratch database (bench/staff.py), then every endpoint is requested
WARMUP times and measured REQUESTS times, one request after another, through the whole Flask stack in
this process (the test client: session, access checks, queries, template), signed in as the
organisation's HR. What is timed is the server's work for the request; there is no network or
load generator in it (bench `pages` measures those on gunicorn with wrk).
"""

from __future__ import annotations

import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.engine import make_url

from bench import BenchmarkFailed, postgres, progress, server
from bench.pages import USER_AGENT, session_cookie
from bench.staff import SLUG, build
from lms import create_app, migrate

WARMUP = 20
REQUESTS = 300
DEFAULT_SIZES = ("M", "XL")


@contextmanager
def fresh_app(database: str, database_url: str | None) -> Iterator[tuple[Flask, dict[str, Any]]]:
    """An app on a fresh, migrated database: SQLite in a temporary folder, or a scratch PostgreSQL
    database on a throwaway server (or on the server `database_url` names). Deleted on the way out."""
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lms-bench-coverage-")))
        where: dict[str, Any] = {"engine": database}
        url = f"sqlite:///{tmp / 'lms.sqlite3'}"
        if database == "postgresql" or database_url:
            if database_url:
                server_url = postgres.normalise_url(database_url)
                where["server"] = "given (--database-url)"
            else:
                pg = stack.enter_context(postgres.throwaway_server())
                server_url = pg.url
                where["server"] = "throwaway, started for this run on 127.0.0.1 (initdb, then deleted)"
            url = stack.enter_context(postgres.scratch_database(server_url))
            where |= postgres.server_facts(url)
            where["url"] = make_url(url).render_as_string(hide_password=True)
        elif database != "sqlite":
            raise BenchmarkFailed(f"unknown database {database!r}: sqlite or postgresql")
        app = create_app(
            {
                "INSTANCE_PATH": str(tmp / "instance"),
                "SECRET_KEY": secrets.token_urlsafe(48),
                "DATABASE_URL": url,
                "LOG_LEVEL": "WARNING",
            }
        )
        migrate.upgrade(app)
        try:
            yield app, where
        finally:
            app.extensions["lms.engine"].dispose()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _measure(app: Flask, cookie: str, path: str) -> dict[str, Any]:
    client = app.test_client()
    name, value = cookie.split("=", 1)
    client.set_cookie(name, value, domain="localhost")  # the client's jar: a Cookie header would be dropped
    headers = {"User-Agent": USER_AGENT}
    environ = {"REMOTE_ADDR": server.HOST}
    times: list[float] = []
    for n in range(WARMUP + REQUESTS):
        started = time.perf_counter()
        answer = client.get(path, headers=headers, environ_base=environ)
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status_code != 200:
            raise BenchmarkFailed(f"{path} answered {answer.status_code}, not 200")
        if n >= WARMUP:
            times.append(elapsed)
    return {
        "path": path,
        "requests": len(times),
        "p50_ms": round(statistics.median(times), 2),
        "p99_ms": round(_percentile(times, 0.99), 2),
        "max_ms": round(max(times), 2),
    }


def endpoints(org_id: int, facility_id: int) -> dict[str, str]:
    return {
        "page_organisation": f"/o/{SLUG}/coverage/",
        "page_facility": f"/o/{SLUG}/coverage/?unit={facility_id}",
        "api_organisation": f"/api/v1/orgs/{SLUG}/coverage",
        "api_facility": f"/api/v1/orgs/{SLUG}/coverage?unit_id={facility_id}",
    }


def measure_size(size: str, database: str, database_url: str | None) -> dict[str, Any]:
    with fresh_app(database, database_url) as (app, where):
        built = build(app, size)
        cookie = session_cookie(app, built.hr_user_id)
        progress(f"{size}: measuring {REQUESTS} requests per endpoint")
        figures = {
            name: _measure(app, cookie, path)
            for name, path in endpoints(built.org_id, built.facility_id).items()
        }
    return {"database": where, "rows": built.counts, "build_seconds": built.seconds, "endpoints": figures}


def run(
    database: str = "postgresql", database_url: str | None = None, sizes: tuple[str, ...] = DEFAULT_SIZES
) -> dict[str, Any]:
    measured = {size: measure_size(size, database, database_url) for size in sizes}
    result: dict[str, Any] = {"sizes": measured, "method": __doc__.split("\n\n")[1].replace("\n", " ")}
    if len(sizes) >= 2:
        small, large = measured[sizes[0]]["endpoints"], measured[sizes[-1]]["endpoints"]
        result["ratios"] = {
            name: {
                "p50": round(large[name]["p50_ms"] / small[name]["p50_ms"], 2),
                "p99": round(large[name]["p99_ms"] / small[name]["p99_ms"], 2),
            }
            for name in small
        }
        result["largest_p99_ms"] = max(x["p99_ms"] for x in large.values())
    return result


def result_name(database: str = "postgresql", database_url: str | None = None, sizes: Any = None) -> str:
    return "coverage" if database == "postgresql" or database_url else "coverage-sqlite"
