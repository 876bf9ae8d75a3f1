"""The shared page patterns, measured in a real browser at 360 and 1280 px: the header is one row on a
phone with a menu that opens from the keyboard, a refused form is summarised at the top and focused, the
message after a change is focused where the person looks, and no table (module tables included) is wider
than the screen or breaks a word inside a cell."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import PASSWORD

from curricula.corpus import load_corpus
from curricula.stakeholders import StakeholderRole
from lms.models import UnitKind
from lms.services import content

pytestmark = pytest.mark.browser

HEADER_MAX = 64  # px: the header of a phone page, menu closed

# Every table of the page: its width against the viewport, whether its box scrolls sideways, which cells
# overflow, and which words wrap inside themselves. A word (a run of non-space characters in one text
# node) that spans two lines is looked at letter by letter: a line break between two letters or digits
# is a broken word ("Wh|en"); one after a hyphen or a slash is an ordinary wrap.
MEASURE_TABLES = """() => {
  const viewport = document.documentElement.clientWidth;
  const alnum = /[\\p{L}\\p{N}]/u;
  const tables = [...document.querySelectorAll('main table')].map(table => {
    const box = table.closest('.table-wrap') || table;
    const rect = table.getBoundingClientRect();
    // Cells on screen: on a phone the header row is visually hidden (each cell names its column).
    const shown = (el) => !el || el.getBoundingClientRect().width > 1;
    const cells = [...table.querySelectorAll('th, td')].filter(c => shown(c.closest('thead')));
    const broken = [];
    for (const cell of cells) {
      const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (const m of node.data.matchAll(/\\S+/g)) {
          const word = document.createRange();
          word.setStart(node, m.index);
          word.setEnd(node, m.index + m[0].length);
          const rects = [...word.getClientRects()].filter(r => r.width > 0);
          const tops = new Set(rects.map(r => Math.round(r.top)));
          if (tops.size < 2) continue;
          for (let i = 1; i < m[0].length; i++) {
            const a = document.createRange(), b = document.createRange();
            a.setStart(node, m.index + i - 1); a.setEnd(node, m.index + i);
            b.setStart(node, m.index + i); b.setEnd(node, m.index + i + 1);
            const ra = a.getBoundingClientRect(), rb = b.getBoundingClientRect();
            if (rb.top > ra.top + ra.height / 2 && alnum.test(m[0][i - 1]) && alnum.test(m[0][i])) {
              broken.push(m[0].slice(0, i) + '|' + m[0].slice(i));
            }
          }
        }
      }
    }
    return {
      name: (table.caption || table.querySelector('th'))?.innerText.slice(0, 50),
      width: Math.round(rect.width),
      right: Math.round(rect.right),
      scrolls: box.scrollWidth > box.clientWidth + 1,
      overflowing: cells.filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.innerText.slice(0, 40)),
      broken,
    };
  });
  return {viewport, tables};
}"""

IN_VIEW = """(el) => { const r = el.getBoundingClientRect();
  return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; }"""
FOCUSED = "(el) => document.activeElement === el"


def header_height(page) -> float:
    return page.locator(".site-header").evaluate("el => el.getBoundingClientRect().height")


def check_tables(page) -> dict:
    """Fail if a table of this page is wider than the screen, scrolls, or breaks a word; the measures."""
    measured = page.evaluate(MEASURE_TABLES)
    print(page.url, measured)  # the numbers, for `pytest -s`
    for table in measured["tables"]:
        where = f"{page.url} at {measured['viewport']} px, table {table['name']!r}"
        assert table["right"] <= measured["viewport"], f"{where}: {table['width']} px wide"
        assert not table["scrolls"], f"{where}: scrolls sideways inside its box"
        assert table["overflowing"] == [], f"{where}: cells overflow: {table['overflowing']}"
        assert table["broken"] == [], f"{where}: words broken inside cells: {table['broken']}"
    return measured


@pytest.fixture
def organisation(db, make, tree):
    """The real content published, an HR organisation administrator, and people with long names."""
    corpus = load_corpus(Path(__file__).parents[2] / "content")
    if corpus.problems:
        pytest.skip(f"content/ has problems: {corpus.problems[0]}")  # tests/test_curricula_corpus.py fails
    content.sync(db, corpus)
    make.person(
        tree, StakeholderRole.EXECUTIVE, email="ida@alpha.test", name="Ida Mensah", org_admin=True, hr=True
    )
    make.person(
        tree,
        StakeholderRole.DEPARTMENTAL_LEADER,
        email="bartholomew.featherstonehaugh@alpha-health.example",
        name="Bartholomew Featherstonehaugh-Okonkwo",
        coach=True,
        faculty=True,
    )
    return tree


def signed_in(page, visit, sign_in):
    visit(page, "/sign-in")
    sign_in(page, "ida@alpha.test", PASSWORD)
    return page


@pytest.mark.parametrize("size", ["phone_page", "page"])
def test_no_table_is_wider_than_the_screen_or_breaks_a_word(request, size, visit, sign_in, organisation, db):
    page = signed_in(request.getfixturevalue(size), visit, sign_in)
    slug = organisation.org.slug
    person = f"/o/{slug}/admin/people"
    visit(page, person)
    page.get_by_role("row").filter(has_text="Featherstonehaugh").get_by_role("link").first.click()
    page.wait_for_load_state("load")
    page.locator("input[name=coach]").uncheck()
    with page.expect_navigation():
        page.get_by_role("button", name="permissions").click()  # an event for the audit trail
    for path in (
        person,
        f"/o/{slug}/admin/audit",
        f"/o/{slug}/admin/dosing",
        "/modules/wsq-hallmarks",
        "/modules/wsq-stages",
        "/modules/wsq-stakeholder-roles",
        "/profile",
    ):
        visit(page, path)
        measured = check_tables(page)
        assert measured["tables"], f"{path} has a table"
    if size == "page":  # at 1280 px the last columns are on screen, no sideways scrolling
        visit(page, f"/o/{slug}/admin/dosing")
        policy = page.get_by_role("columnheader", name="Policy")
        assert policy.evaluate("el => el.getBoundingClientRect().right") <= 1280
        visit(page, person)
        status = page.get_by_role("columnheader", name="Status")
        assert status.evaluate("el => el.getBoundingClientRect().right") <= 1280
        assert "None" not in page.get_by_role("table").first.inner_text().split()


def test_the_header_is_one_row_on_a_phone_and_its_menu_opens_from_the_keyboard(
    phone_page, page, visit, sign_in, main_nav, organisation
):
    phone = signed_in(phone_page, visit, sign_in)
    assert header_height(phone) < HEADER_MAX
    summary = phone.locator("details.menu > summary")
    assert summary.is_visible() and phone.get_by_role("navigation", name="Main").is_hidden()
    summary.focus()
    phone.keyboard.press("Enter")
    assert phone.locator("details.menu").get_attribute("open") is not None
    assert summary.evaluate("el => getComputedStyle(el).display") != "none"
    phone.keyboard.press("Tab")  # into the menu: its first link
    assert phone.evaluate("document.activeElement.textContent") == "Home"
    people = main_nav(phone, "People")
    assert people.is_visible() and people.evaluate(IN_VIEW)
    phone.keyboard.press("Shift+Tab")
    phone.keyboard.press("Space")  # the summary closes it again
    assert phone.get_by_role("navigation", name="Main").is_hidden()
    assert header_height(phone) < HEADER_MAX

    desktop = signed_in(page, visit, sign_in)
    assert desktop.locator("details.menu > summary").is_hidden()
    for name in ("Home", "People", "Audit trail", "Dosing"):
        assert main_nav(desktop, name).is_visible()
    assert desktop.get_by_role("button", name="Sign out").is_visible()
    print("header height: phone", header_height(phone), "desktop", header_height(desktop))


@pytest.mark.parametrize("size", ["phone_page", "page"])
def test_a_refused_form_is_summarised_at_the_top_focused_at_the_pages_address(
    request, size, visit, sign_in, follow, organisation
):
    page = signed_in(request.getfixturevalue(size), visit, sign_in)
    dosing = f"/o/{organisation.org.slug}/admin/dosing"
    visit(page, dosing)
    label = "Days to complete Foundational for Clinician (point-of-care staff)"
    page.get_by_label(label).fill("0")
    follow(page, page.get_by_role("button", name="Save the dosing for Clinician (point-of-care staff)"))

    assert page.url.endswith(dosing)  # the page's address, not the form's
    summary = page.locator(".error-summary")
    assert summary.evaluate(IN_VIEW) and summary.evaluate(FOCUSED)
    assert page.get_by_role("alert").filter(has_text="There is a problem").is_visible()
    link = summary.get_by_role("link", name=f"{label}: Enter a whole number of days from 1 to 730.")
    link.click()
    field = page.get_by_label(label)
    assert page.url.endswith("#clinician-days-foundational") and field.evaluate(IN_VIEW)
    assert field.get_attribute("aria-invalid") == "true" and field.input_value() == "0"

    field.fill("45")
    follow(page, page.get_by_role("button", name="Save the dosing for Clinician (point-of-care staff)"))
    message = page.locator(".flash-region")
    assert "The dosing for Clinician (point-of-care staff) was saved." in message.inner_text()
    assert "re-planned" in message.inner_text()
    assert message.evaluate(IN_VIEW) and message.evaluate(FOCUSED)

    units = f"/o/{organisation.org.slug}/admin/units"
    visit(page, units)
    page.get_by_label("Name").fill("")
    follow(page, page.get_by_role("button", name="Add the unit"))
    assert page.url.endswith(units)
    summary = page.locator(".error-summary")
    assert summary.evaluate(IN_VIEW) and summary.evaluate(FOCUSED)
    assert summary.get_by_role("link").count() >= 1


def test_a_long_unit_list_is_a_text_box_that_takes_a_typed_path_on_a_phone(
    phone_page, visit, sign_in, follow, organisation, make, db
):
    tree = organisation
    surgery = make.unit(tree.org, "Surgery", UnitKind.DEPARTMENT, tree.facility)
    for n in range(10):
        make.unit(tree.org, f"Theatre {n}", UnitKind.UNIT, surgery)
    page = signed_in(phone_page, visit, sign_in)
    visit(page, f"/o/{tree.org.slug}/admin/people/new")
    page.get_by_label("Email").fill("tomas@alpha.example")
    page.get_by_label("Name", exact=True).fill("Tomas Berg")
    page.get_by_label("Stakeholder role").select_option("clinician")
    unit = page.get_by_label("Unit", exact=True)
    assert unit.evaluate("el => el.list.options.length") == 15
    unit.fill("Alpha Health > General Hospital > Surgery > Theatre 3")
    follow(page, page.get_by_role("button", name="Add the person"))
    assert page.get_by_role("heading", level=1).inner_text() == "Tomas Berg"
    assert "Alpha Health > General Hospital > Surgery > Theatre 3" in page.get_by_role("main").inner_text()
