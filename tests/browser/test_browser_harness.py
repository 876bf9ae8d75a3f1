"""The browser harness itself: it passes a page that keeps the rules and fails one that breaks them."""

from __future__ import annotations

import pytest

from lms.security import CSP

pytestmark = pytest.mark.browser

BROKEN_PAGE = """<!doctype html>
<html><head><title>Broken</title></head>
<body><main>
  <h1>Broken</h1>
  <img src="/static/nothing.png">
  <p style="color: red">Inline style, refused by the policy.</p>
  <table><tr><td>{cells}</td></tr></table>
</main></body></html>
"""


def test_not_found_page_passes_the_checks_on_a_phone(phone_page, visit):
    visit(phone_page, "/no-such-page", status=404)
    assert phone_page.get_by_role("heading", level=1).inner_text() == "Not found"


def test_a_page_that_breaks_the_rules_fails_with_each_problem_named(phone_page, visit):
    wide = "x" * 400  # one unbreakable word, far wider than 360 px
    phone_page.route(
        "**/broken",
        lambda route: route.fulfill(
            status=200,
            headers={"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": CSP},
            body=BROKEN_PAGE.format(cells=wide),
        ),
    )
    with pytest.raises(pytest.fail.Exception) as failure:
        visit(phone_page, "/broken")
    report = str(failure.value)
    assert "image-alt (critical)" in report
    assert "html-has-lang (serious)" in report
    assert "refused by the Content-Security-Policy" in report
    assert "scrolls sideways at 360 px" in report
