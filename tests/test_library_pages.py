"""The content's figures, glossary and printable templates as pages (lms/web/library.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from curricula.corpus import load_corpus
from lms.services import content

REAL = Path(__file__).resolve().parent.parent / "content"


@pytest.fixture
def published(db):
    corpus = load_corpus(REAL)
    assert corpus.problems == ()
    content.sync(db, corpus)
    return corpus


def test_a_module_page_shows_its_figure_with_alt_text_and_the_figure_is_served(published, learner, login_as):
    client = login_as(learner)
    html = client.get("/modules/is-driver-diagrams").get_data(as_text=True)
    assert '<img src="/figures/driver-diagram.svg" alt="A driver diagram: the aim to halve falls' in html
    resp = client.get("/figures/driver-diagram.svg")
    assert resp.status_code == 200
    assert resp.mimetype == "image/svg+xml"
    svg = resp.get_data(as_text=True)
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg and "<script" not in svg


def test_an_unknown_or_malformed_figure_name_is_404(client):
    for name in ("nowhere", "..%2Fglossary", "Driver-Diagram"):
        assert client.get(f"/figures/{name}.svg").status_code == 404, name


def test_the_glossary_page_lists_every_term_with_an_anchor_a_module_links_to(published, learner, login_as):
    client = login_as(learner)
    html = client.get("/modules/wsq-leader-presence").get_data(as_text=True)
    assert '<a href="/glossary#term-gemba">gemba</a>' in html
    page = client.get("/glossary")
    assert page.status_code == 200
    glossary = page.get_data(as_text=True)
    assert "<h1>Glossary</h1>" in glossary
    for term in ("gemba", "catchball", "a3", "spc", "pdsa", "run", "shift", "trend", "tier"):
        assert f'id="term-{term}"' in glossary and f'href="#term-{term}"' in glossary, term


def test_the_glossary_is_linked_from_the_catalogue_and_every_module_page_footer(published, learner, login_as):
    client = login_as(learner)
    assert 'href="/glossary"' in client.get("/catalogue").get_data(as_text=True)
    footer = client.get("/modules/is-run-charts").get_data(as_text=True).split('class="module-footer"')[1]
    assert 'href="/glossary">Glossary</a>' in footer


def test_the_glossary_needs_a_signed_in_person(client):
    resp = client.get("/glossary")
    assert resp.status_code == 302 and "/sign-in" in resp.headers["Location"]


def test_the_templates_are_listed_and_each_is_a_printable_page_with_room_to_write(
    published, learner, login_as
):
    client = login_as(learner)
    listing = client.get("/templates").get_data(as_text=True)
    for slug in ("pdsa-worksheet", "driver-diagram", "huddle-board", "leader-rounding-card"):
        assert f'href="/templates/{slug}"' in listing, slug
    sheet = client.get("/templates/pdsa-worksheet")
    assert sheet.status_code == 200
    html = sheet.get_data(as_text=True)
    assert '<h1 id="template-title">PDSA worksheet</h1>' in html
    assert "<h2>The aim this test serves</h2>" in html and 'class="fill fill-box"' in html
    assert html.count('<span class="fill-line"></span>') >= 10
    card = client.get("/templates/leader-rounding-card").get_data(as_text=True)
    for question in (
        "What is the team aiming for today?",
        "Where do things stand right now?",
        "What do you plan to do next?",
        "What can I do to help?",
    ):
        assert question in card
    board = client.get("/templates/huddle-board").get_data(as_text=True)
    assert "<h2>Escalation log</h2>" in board and '<td data-label="Date raised"></td>' in board


def test_a_module_links_the_template_it_teaches_and_the_catalogue_links_them_all(
    published, learner, login_as
):
    client = login_as(learner)
    assert 'href="/templates/pdsa-worksheet"' in client.get("/modules/is-pdsa-cycles").get_data(as_text=True)
    assert 'href="/templates"' in client.get("/catalogue").get_data(as_text=True)


def test_an_unknown_template_is_404_and_templates_need_a_signed_in_person(client, learner, login_as):
    assert client.get("/templates/pdsa-worksheet").status_code == 302
    assert login_as(learner).get("/templates/nowhere").status_code == 404
