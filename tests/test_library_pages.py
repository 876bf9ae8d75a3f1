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
