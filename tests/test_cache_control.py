"""Nothing but static files may be kept by a browser or a proxy: ward PCs are shared, and the next person
must not find the last one's pages (or API answers) in the cache or behind the Back button."""

from __future__ import annotations

import pytest
from flask import Response

from curricula.stakeholders import StakeholderRole
from lms import create_app


@pytest.fixture
def admin(make, tree):
    return make.person(tree, StakeholderRole.UNIT_LEADER, email="admin@alpha.test", org_admin=True)


def assert_not_stored(resp) -> None:
    assert resp.headers.get("Cache-Control") == "no-store", (resp.request.path, resp.headers)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/learning",
        "/modules/model-for-improvement",
        "/o/alpha/admin/people",
        "/o/alpha/admin/units",
        "/o/alpha/admin/dosing",
        "/o/alpha/admin/audit",
    ],
)
def test_signed_in_pages_are_never_stored(lib, admin, login_as, path):
    lib.module("model-for-improvement")
    resp = login_as(admin).get(path)
    assert resp.status_code == 200, path
    assert_not_stored(resp)


def test_api_answers_are_never_stored(client, admin, login_as):
    me = login_as(admin).get("/api/v1/me")
    assert me.status_code == 200
    assert_not_stored(me)

    refused = client.get("/api/v1/me")
    assert refused.status_code == 401
    assert_not_stored(refused)


def test_pages_for_anyone_and_errors_are_not_stored_either(client):
    for path, status in (("/sign-in", 200), ("/reset", 200), ("/", 302), ("/no-such-page", 404)):
        resp = client.get(path)
        assert resp.status_code == status, path
        assert_not_stored(resp)


def test_static_files_may_be_cached(client):
    resp = client.get("/static/css/app.css")
    assert resp.status_code == 200
    assert "no-store" not in resp.headers.get("Cache-Control", "")
    resp.close()


@pytest.fixture
def views_with_their_own_cache_control(tmp_path):
    """A separate app (the shared one has served requests, so it takes no new routes) with two views that
    set Cache-Control themselves."""
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
            "SECRET_KEY": "test-secret",
            "LOG_LEVEL": "WARNING",
        }
    )

    @app.get("/stricter")
    def _stricter():
        return Response("x", headers={"Cache-Control": "no-store, private"})

    @app.get("/looser")
    def _looser():
        return Response("x", headers={"Cache-Control": "public, max-age=3600"})

    yield app.test_client()
    app.extensions["lms.engine"].dispose()


def test_a_view_may_ask_for_more_than_no_store_but_not_for_less(views_with_their_own_cache_control):
    client = views_with_their_own_cache_control
    assert client.get("/stricter").headers["Cache-Control"] == "no-store, private"
    assert_not_stored(client.get("/looser"))
