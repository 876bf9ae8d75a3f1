"""Browser harness: the app on a live server, Debian's Chromium driven by Playwright, and axe-core.

Every page a test visits is checked with the vendored axe-core (WCAG 2.0/2.1/2.2 A and AA plus best
practice): a serious or critical violation fails the test, naming the rule and the elements. On a phone
page (360 px wide) the page must not scroll sideways either, and on any page the browser must not have
refused something under the Content-Security-Policy (an inline script or style).

Fixtures for tests: `live_server` (base URL), `page` (desktop) and `phone_page` (360 x 780),
`visit(page, path)`, `submit(page, field)` (press Enter), `follow(page, link_or_button)` (click), each
waiting for the next page and checking it, `check_a11y(page)` for the page as it is,
`sign_in(page, email, password)` on the sign-in page, and `menu(page)` / `main_nav(page, name)`: the
header's links, after opening the "Menu" disclosure where the page is narrow enough to have one.
Without Playwright or Chromium these tests skip
locally and fail in CI.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
FAILING_IMPACTS = {"serious", "critical"}
PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 800}
TIMEOUT_MS = 10_000
# Flags for this closed network: without the background-networking ones Chromium keeps dialling out.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _root_conftest(config: pytest.Config) -> ModuleType:
    """tests/conftest.py as pytest loaded it (every conftest.py here is a module named "conftest")."""
    root = (Path(__file__).parent.parent / "conftest.py").resolve()
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, ModuleType) and Path(getattr(plugin, "__file__", "") or ".").resolve() == root:
            return plugin
    raise RuntimeError(f"{root} is not loaded")


# --- the app, served for real ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[str]:
    """The session's app on 127.0.0.1 (a free port) in a daemon thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


# --- the browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser(request: pytest.FixtureRequest) -> Iterator[Any]:
    missing = _root_conftest(request.config).missing
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright is not installed (pip install -e '.[dev]')")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        missing("Debian's Chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _open_page(browser: Any, live_server: str, viewport: dict[str, int]) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server, viewport=viewport, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.csp_violations = []
    page.on(
        "console",
        lambda msg: (
            page.csp_violations.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    """A fresh browser context (no cookies) at desktop size; `page.goto("/path")` goes to the live app."""
    yield from _open_page(browser, live_server, DESKTOP)


@pytest.fixture
def phone_page(browser: Any, live_server: str) -> Iterator[Any]:
    """Like `page`, 360 x 780 px: checks also fail when the page scrolls sideways."""
    yield from _open_page(browser, live_server, PHONE)


# --- checks on every page -------------------------------------------------------------------------


def _describe(violation: dict[str, Any]) -> str:
    lines = [f"- {violation['id']} ({violation['impact']}): {violation['help']} <{violation['helpUrl']}>"]
    for node in violation["nodes"]:
        lines.append(f"    at {' '.join(map(str, node['target']))}: {node['html'][:200]}")
        if node["summary"]:
            lines.extend(f"      {line}" for line in node["summary"].splitlines())
    return "\n".join(lines)


def run_axe(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the current page.

    axe is evaluated through the DevTools protocol, which the page's CSP does not govern (a <script>
    tag added to the page would be refused, as it should be). `preload: false` stops axe copying the
    page's stylesheets into <style> elements of its own, which the CSP refuses (and would report).
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE)
    return page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, {
                runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'], preload: false,
            });
            return results.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target, html: n.html, summary: n.failureSummary})),
            }));
        }""",
        AXE_TAGS,
    )


def check_page(page: Any) -> None:
    """Fail on serious/critical axe violations, CSP refusals, and (at 360 px) sideways scrolling."""
    page.wait_for_load_state("load")
    problems = []
    if page.csp_violations:
        problems.append("refused by the Content-Security-Policy:")
        problems.extend(f"- {text}" for text in page.csp_violations)
    serious = [v for v in run_axe(page) if v["impact"] in FAILING_IMPACTS]
    page.csp_violations.clear()
    if serious:
        problems.append("accessibility violations (axe-core, serious or critical):")
        problems.extend(_describe(v) for v in serious)
    width = page.viewport_size["width"]
    if width <= PHONE["width"]:
        scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
        if scroll_width > width:
            problems.append(f"scrolls sideways at {width} px: the page is {scroll_width} px wide")
    if problems:
        pytest.fail(f"{page.url}:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def check_a11y() -> Callable[[Any], None]:
    """check_a11y(page): the checks above, on the page as it is now."""
    return check_page


@pytest.fixture
def visit() -> Callable[[Any, str], Any]:
    """visit(page, path): open a page of the live app, check it answered and passes the checks."""

    def _visit(page: Any, path: str, status: int = 200) -> Any:
        response = page.goto(path)
        assert response is not None and response.status == status, (
            f"GET {path}: {response.status if response else 'no response'}"
        )
        check_page(page)
        return response

    return _visit


@pytest.fixture
def submit() -> Callable[[Any, Any], None]:
    """submit(page, field): press Enter in a form field, wait for the page that answers, check it."""

    def _submit(page: Any, field: Any) -> None:
        with page.expect_navigation():
            field.press("Enter")
        check_page(page)

    return _submit


@pytest.fixture
def follow() -> Callable[[Any, Any], None]:
    """follow(page, link_or_button): click it, wait for the page that answers, check it."""

    def _follow(page: Any, target: Any) -> None:
        with page.expect_navigation():
            target.click()
        check_page(page)

    return _follow


@pytest.fixture
def sign_in(submit: Callable[[Any, Any], None]) -> Callable[[Any, str, str], None]:
    """sign_in(page, email, password): on the sign-in page, type both and press Enter."""

    def _sign_in(page: Any, email: str, password: str) -> None:
        page.get_by_label("Email", exact=True).fill(email)
        page.get_by_label("Password", exact=True).fill(password)
        submit(page, page.get_by_label("Password", exact=True))

    return _sign_in


def open_menu(page: Any) -> Any:
    """The header's links (Main navigation, Profile, Sign out): on a phone they sit in a closed "Menu"
    disclosure, opened here as a person would, by its summary; on a desktop they show already."""
    menu = page.locator("details.menu")
    summary = menu.locator("summary")
    if summary.is_visible() and menu.get_attribute("open") is None:
        summary.click()
    return menu


@pytest.fixture
def menu() -> Callable[[Any], Any]:
    return open_menu


@pytest.fixture
def main_nav() -> Callable[[Any, str], Any]:
    """main_nav(page, name): the link of that name in the Main navigation, the menu opened if need be."""

    def _main_nav(page: Any, name: str) -> Any:
        nav = open_menu(page).get_by_role("navigation", name="Main")
        return nav.get_by_role("link", name=name, exact=True)

    return _main_nav
