"""Links are built once per process (lms.urls.App) and are still the links Flask would build."""

from __future__ import annotations

import pytest
from flask import Flask, url_for
from werkzeug.routing import BuildError


def test_a_kept_link_is_the_link_flask_builds_for_each_organisation(app: Flask) -> None:
    with app.test_request_context("/"):
        first = url_for("admin.people", org="st-olaf")
        again = url_for("admin.people", org="st-olaf")
        other = url_for("admin.people", org="riverside")
        assert first == again == Flask.url_for(app, "admin.people", org="st-olaf")
        assert other == "/o/riverside/admin/people" and first != other


def test_an_app_mounted_under_a_prefix_gets_its_own_links(app: Flask) -> None:
    with app.test_request_context("/"):
        at_root = url_for("learning.my_learning")
    with app.test_request_context("/", base_url="http://wards.example/lms"):
        under_prefix = url_for("learning.my_learning")
    assert at_root == "/learning"
    assert under_prefix == "/lms/learning"


def test_external_anchored_and_query_links_are_built_as_flask_builds_them(app: Flask) -> None:
    with app.test_request_context("/", base_url="https://wards.example"):
        assert url_for("learning.my_learning", _external=True) == "https://wards.example/learning"
        assert url_for("learning.my_learning", _anchor="due") == "/learning#due"
        assert url_for("learning.catalogue", q="gemba") == "/catalogue?q=gemba"
        assert url_for("learning.catalogue", q="run chart") == "/catalogue?q=run+chart"


def test_an_unknown_endpoint_still_fails_loudly(app: Flask) -> None:
    with app.test_request_context("/"), pytest.raises(BuildError):
        url_for("no.such.page")
