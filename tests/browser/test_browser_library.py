"""The glossary, the printable templates and the figures on a 360 px phone, with axe and the CSP."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import PASSWORD

from curricula.corpus import load_corpus
from curricula.library import load_library
from lms.services import content

pytestmark = pytest.mark.browser
REAL = Path(__file__).parents[2] / "content"


@pytest.fixture
def reader(phone_page, visit, sign_in, db, make, tree):
    content.sync(db, load_corpus(REAL))
    make.person(tree, email="ravi@alpha.test", name="Ravi Shah")
    visit(phone_page, "/sign-in")
    sign_in(phone_page, "ravi@alpha.test", PASSWORD)
    return phone_page


def test_the_glossary_and_every_template_pass_on_a_phone(reader, visit, follow):
    page = reader
    visit(page, "/catalogue")
    follow(page, page.get_by_role("link", name="the glossary"))
    assert page.get_by_role("heading", level=1).inner_text() == "Glossary"
    follow(page, page.get_by_role("navigation", name="Terms A to Z").get_by_role("link", name="Gemba"))
    assert page.url.endswith("/glossary#term-gemba")
    for slug, template in load_library(REAL).templates.items():
        visit(page, f"/templates/{slug}")
        assert page.get_by_role("heading", level=1).inner_text() == template.title


def test_every_figure_is_drawn_with_its_alt_text_on_a_module_page(reader, visit):
    page = reader
    for module_id, figure in (
        ("is-driver-diagrams", "driver-diagram"),
        ("is-process-maps", "process-map"),
        ("lfq-overview", "lfq-framework"),
        ("wsq-standard-work-and-huddles", "huddle-tiers"),
    ):
        visit(page, f"/modules/{module_id}")
        image = page.locator(f'img[src="/figures/{figure}.svg"]')
        assert image.get_attribute("alt")
        drawn = image.evaluate("img => img.complete && img.naturalWidth > 0 && img.clientWidth <= 360")
        assert drawn, figure
