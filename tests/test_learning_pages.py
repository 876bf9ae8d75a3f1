"""The learner's pages: My learning, the catalogue, a module page answered in place, the record."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from conftest import csrf_token, org_today
from learning_factory import checked_options
from sqlalchemy import func, select

from curricula.corpus import load_corpus
from lms.models import CheckAttempt, Reflection
from lms.services import content

CHECKS = [
    (
        "aim",
        "Which question sets the aim?",
        [("Who is to blame?", False), ("What are we trying to accomplish?", True)],
        "The aim says what and by when.",
    ),
    (
        "measures",
        "Which are kinds of measure?",
        [("Outcome", True), ("Process", True), ("Rumour", False)],
        "Outcome, process and balancing measures.",
    ),
]


@pytest.fixture
def mfi(lib):
    return lib.module("model-for-improvement", title="The Model for Improvement", checks=CHECKS, minutes=15)


def text_of(resp) -> str:
    """The page's visible text, roughly: tags dropped, entities decoded, spaces collapsed."""
    html = resp.get_data(as_text=True)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def answer(client, slug: str, key: str, chosen: list[int], token: str | None = None):
    token = token or csrf_token(client, f"/modules/{slug}")
    return client.post(
        f"/modules/{slug}/checks/{key}", data={"csrf_token": token, "chosen": [str(c) for c in chosen]}
    )


def reflect(client, slug: str, key: str, text: str):
    token = csrf_token(client, f"/modules/{slug}")
    return client.post(f"/modules/{slug}/reflections/{key}", data={"csrf_token": token, "text": text})


# --- My learning ----------------------------------------------------------------------------------


def test_my_learning_shows_the_next_step_levels_progress_and_overdue(lib, learner, login_as):
    late = lib.module("late-one", title="Late one", minutes=5)
    lib.assign(learner, late, due_on=org_today() - timedelta(days=2))
    lib.assign(learner, lib.module("found-one", title="Foundational one", dose="foundational"))
    client = login_as(learner)

    resp = client.get("/learning")
    assert resp.status_code == 200
    page = text_of(resp)
    assert "My learning" in page and "0 of 2 done, 1 overdue." in page
    assert re.search(r"Your next step Late one 5 minutes · Not started · Due .* Overdue", page)
    assert page.index("Awareness 0 of 1 done") < page.index("Foundational 0 of 1 done")
    assert 'href="/modules/late-one"' in resp.get_data(as_text=True)


def test_my_learning_without_assignments_points_to_the_catalogue(learner, login_as):
    resp = login_as(learner).get("/learning")
    assert "Nothing is assigned to you yet." in text_of(resp)
    assert 'href="/catalogue"' in resp.get_data(as_text=True)


def test_every_signed_in_person_has_my_learning_and_the_catalogue_in_the_menu(learner, login_as):
    html = login_as(learner).get("/learning").get_data(as_text=True)
    assert '<a href="/learning" aria-current="page">My learning</a>' in html
    assert '<a href="/catalogue">Catalogue</a>' in html


def test_the_home_page_has_a_your_learning_card(lib, learner, login_as):
    lib.assign(learner, lib.module("late-one", title="Late one"), due_on=org_today() - timedelta(days=1))
    lib.assign(learner, lib.module("later-one", title="Later one"), due_on=org_today() + timedelta(days=9))
    page = text_of(login_as(learner).get("/"))
    assert "Your learning Next: Late one" in page
    assert "2 to do, 1 of them overdue; 0 of 2 done." in page
    assert "Go to My learning" in page


def test_learner_pages_need_a_signed_in_person(client, lib, mfi):
    for path in ("/learning", "/catalogue", "/modules/model-for-improvement", "/learning/record"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/sign-in" in resp.headers["Location"], path


# --- the module page ------------------------------------------------------------------------------


def test_the_module_page_shows_the_content_in_order_with_a_form_per_block(mfi, learner, login_as):
    resp = login_as(learner).get("/modules/model-for-improvement")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert '<h1 id="module-title">The Model for Improvement</h1>' in html
    page = text_of(resp)
    assert "Curriculum Improvement science Dose level Awareness Time 15 minutes Status In progress" in page
    assert "What you will be able to do Explain the idea." in page
    order = [
        page.index(s) for s in ("Read about", "Knowledge check 1 of 2", "Knowledge check 2 of 2", "Reflect")
    ]
    assert order == sorted(order)
    aim = html[html.index('id="check-aim"') : html.index('id="check-measures"')]
    assert "<legend>Which question sets the aim?</legend>" in aim
    assert aim.count('type="radio" name="chosen"') == 2 and "Check my answer" in aim
    assert 'action="/modules/model-for-improvement/checks/aim#check-aim"' in aim
    measures = html[html.index('id="check-measures"') : html.index('id="reflection-what-matters"')]
    assert measures.count('type="checkbox" name="chosen"') == 3 and "Choose all that apply." in measures
    assert '<label for="reflection-what-matters-text">Your reflection</label>' in html
    assert "Save my reflection" in html
    assert "Continue where you stopped" not in html


def test_a_wrong_answer_then_the_right_one_answered_in_place(db, mfi, learner, login_as):
    client = login_as(learner)
    wrong = answer(client, "model-for-improvement", "aim", [0])
    assert wrong.status_code == 303
    assert wrong.headers["Location"].endswith("/modules/model-for-improvement#check-aim")
    page = client.get("/modules/model-for-improvement")
    html = page.get_data(as_text=True)
    assert '<div class="feedback feedback-wrong" role="status">' in html
    assert "Not quite — try again." in text_of(page)
    assert "The aim says what and by when." not in html  # the explanation waits for the right answer
    assert checked_options(html, "aim") == {0}  # what they chose is still chosen
    assert '<a class="button secondary" href="#check-aim">Continue where you stopped</a>' in html

    answer(client, "model-for-improvement", "aim", [1])
    page = text_of(client.get("/modules/model-for-improvement"))
    assert "Correct. The aim says what and by when." in page
    assert "Module completed" not in page  # one check still to answer

    answer(client, "model-for-improvement", "measures", [0, 1])
    page = text_of(client.get("/modules/model-for-improvement"))
    assert "Module completed You completed this module on" in page
    assert "2 of 2 knowledge checks answered correctly." in page


def test_choosing_nothing_is_refused_next_to_the_question(db, mfi, learner, login_as):
    resp = answer(login_as(learner), "model-for-improvement", "aim", [])
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    block = html[html.index('id="check-aim"') : html.index('id="check-measures"')]
    assert '<p class="error" id="check-aim-error">Choose an answer.</p>' in block
    assert 'aria-describedby="check-aim-error"' in block
    assert db.scalar(select(func.count()).select_from(CheckAttempt)) == 0


def test_two_answers_to_a_one_answer_question_are_refused_and_kept(db, mfi, learner, login_as):
    resp = answer(login_as(learner), "model-for-improvement", "aim", [0, 1])
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "Choose one answer." in html
    assert checked_options(html, "aim") == {0, 1}


def test_a_reflection_is_saved_and_shown_again(db, mfi, learner, login_as):
    client = login_as(learner)
    resp = reflect(client, "model-for-improvement", "what-matters", "Being heard & safe.")
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith("#reflection-what-matters")
    html = client.get("/modules/model-for-improvement").get_data(as_text=True)
    assert ">Being heard &amp; safe.</textarea>" in html
    assert "Saved on" in html
    assert 'href="#reflection-what-matters">Continue where you stopped' in html


def test_a_too_long_reflection_is_refused_and_the_typed_text_kept(db, mfi, learner, login_as):
    typed = "I learnt " + "a lot " * 2000
    resp = reflect(login_as(learner), "model-for-improvement", "what-matters", typed)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "Keep your reflection to 10,000 characters or fewer: it has 12,008." in html
    assert f">{typed}</textarea>" in html
    assert 'aria-invalid="true"' in html
    assert db.scalar(select(func.count()).select_from(Reflection)) == 0


def test_an_empty_reflection_is_refused(db, mfi, learner, login_as):
    resp = reflect(login_as(learner), "model-for-improvement", "what-matters", "   ")
    assert resp.status_code == 400
    assert "Write your reflection before saving it." in text_of(resp)


def test_unknown_modules_checks_and_prompts_are_404(mfi, learner, login_as):
    client = login_as(learner)
    assert client.get("/modules/no-such-module").status_code == 404
    token = csrf_token(client, "/modules/model-for-improvement")
    assert answer(client, "model-for-improvement", "no-such-check", [0], token).status_code == 404
    assert answer(client, "no-such-module", "aim", [0], token).status_code == 404
    resp = client.post(
        "/modules/model-for-improvement/reflections/nope", data={"csrf_token": token, "text": "Hello"}
    )
    assert resp.status_code == 404


def test_a_retired_module_is_404_for_someone_who_never_started_it(lib, learner, login_as):
    lib.module("old-module", retired=True)
    assert login_as(learner).get("/modules/old-module").status_code == 404


def test_a_post_without_the_csrf_token_changes_nothing(db, mfi, learner, login_as):
    client = login_as(learner)
    resp = client.post("/modules/model-for-improvement/checks/aim", data={"chosen": ["1"]})
    assert resp.status_code == 400
    resp = client.post("/modules/model-for-improvement/reflections/what-matters", data={"text": "Hi"})
    assert resp.status_code == 400
    assert db.scalar(select(func.count()).select_from(CheckAttempt)) == 0
    assert db.scalar(select(func.count()).select_from(Reflection)) == 0


def test_a_person_never_sees_another_persons_answers_or_reflections(make, tree, mfi, learner, login_as):
    lena = login_as(learner)
    answer(lena, "model-for-improvement", "aim", [0])
    answer(lena, "model-for-improvement", "measures", [0, 1])
    reflect(lena, "model-for-improvement", "what-matters", "Lena's private thought")

    omar = login_as(make.person(tree, name="Omar Other"))
    html = omar.get("/modules/model-for-improvement").get_data(as_text=True)
    assert "Lena" not in html
    assert "Not quite" not in html and "Correct." not in html and "Saved on" not in html
    assert " checked" not in html
    assert "0 of 2 knowledge checks answered correctly." in text_of(
        omar.get("/modules/model-for-improvement")
    )


def test_missing_prerequisites_are_a_notice_not_a_lock(lib, learner, login_as):
    lib.module("basics", title="The basics")
    lib.module("advanced", requires=["basics"])
    resp = login_as(learner).get("/modules/advanced")
    assert resp.status_code == 200
    page = text_of(resp)
    assert "Builds on This module builds on a module you have not completed yet." in page
    assert 'href="/modules/basics">The basics</a>' in resp.get_data(as_text=True)
    assert "Check my answer" in page


def test_completing_a_module_updates_my_learning(lib, learner, login_as):
    lib.assign(learner, lib.module("pdsa", title="PDSA cycles"))
    client = login_as(learner)
    answer(client, "pdsa", "pdsa-order", [1])
    page = text_of(client.get("/learning"))
    assert "1 of 1 done." in page and "All done" in page
    assert re.search(r"PDSA cycles 10 minutes · Completed \d+ \w+ \d{4}", page)


# --- the catalogue --------------------------------------------------------------------------------


def test_the_catalogue_filters_by_vocabulary_and_words(lib, learner, login_as):
    lib.module("run-charts", title="Run charts", summary="Plot data over time.", roles=["unit-leader"])
    lib.module("board-oversight", title="Board oversight", dose="governance", component="set-direction")
    client = login_as(learner)

    everything = client.get("/catalogue")
    assert everything.status_code == 200
    page = text_of(everything)
    assert "2 modules" in page and "Run charts" in page and "Board oversight" in page
    html = everything.get_data(as_text=True)
    for label in (
        "Curriculum",
        "Framework component",
        "Whole System Quality principle",
        "Written for",
        "Dose level",
    ):
        assert f">{label}</label>" in html
    assert '<option value="set-direction">Set and champion direction</option>' in html
    assert '<option value="unit-leader">Unit leader</option>' in html

    found = text_of(client.get("/catalogue?q=plot+time"))
    assert "1 module match" in found and "Run charts" in found and "Board oversight" not in found
    found = text_of(client.get("/catalogue?component=set-direction&dose=governance"))
    assert "1 module match" in found and "Board oversight" in found
    assert "No module matches." in text_of(client.get("/catalogue?q=nothing+like+this"))


def test_the_catalogue_shows_where_the_person_stands_on_each_module(lib, learner, login_as):
    lib.module("aim", title="Aims")
    lib.module("measures", title="Measures")
    lib.module("charts", title="Charts")
    client = login_as(learner)
    answer(client, "aim", "pdsa-order", [1])  # completed
    client.get("/modules/measures")  # opened
    page = text_of(client.get("/catalogue"))
    assert "Aims Completed" in page and "Measures In progress" in page
    assert "Charts Not started" not in page and "Charts" in page


def test_an_unknown_catalogue_filter_says_so_next_to_it(lib, learner, login_as):
    resp = login_as(learner).get("/catalogue?role=surgeon&q=charts")
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert '<p class="error" id="role-error">Choose a stakeholder role from the list.</p>' in html
    assert 'value="charts"' in html
    start = html.index('<div class="error-summary"')
    summary = html[start : html.index("</div>", start)]
    assert '<a href="#role">Written for: Choose a stakeholder role from the list.</a>' in summary


# --- the record -----------------------------------------------------------------------------------


def test_the_record_shows_the_person_their_organisation_and_completed_levels(lib, learner, login_as):
    lib.assign(learner, lib.module("aware-one", title="Aware one"))
    lib.assign(learner, lib.module("found-one", title="Found one", dose="foundational"))
    lib.assign(learner, lib.module("found-two", title="Found two", dose="foundational"))
    client = login_as(learner)
    answer(client, "aware-one", "pdsa-order", [1])
    answer(client, "found-one", "pdsa-order", [1])

    resp = client.get("/learning/record")
    assert resp.status_code == 200
    page = text_of(resp)
    assert "Learning record Name Lena Learner Organisation Alpha Health" in page
    assert re.search(r"Completed dose levels Awareness: completed \d+ \w+ \d{4}", page)
    assert "Foundational: completed" not in page
    assert "Foundational 1 of 2 required modules still to complete." in page
    assert re.search(r"Found one \d+ \w+ \d{4}", page) and "Found two" not in page


def test_the_record_shows_what_was_right_at_the_first_try(lib, learner, login_as):
    lib.assign(learner, lib.module("aware-one", title="Aware one"))
    lib.assign(learner, lib.module("aware-two", title="Aware two"))
    client = login_as(learner)
    answer(client, "aware-one", "pdsa-order", [1])  # right at once
    answer(client, "aware-two", "pdsa-order", [0])  # wrong, then right: completed, not at the first try
    answer(client, "aware-two", "pdsa-order", [1])

    page = text_of(client.get("/learning/record"))
    assert "Right at the first try 1 of 2 knowledge checks in the modules completed" in page
    assert re.search(r"Aware one \d+ \w+ \d{4} 1 of 1", page)
    assert re.search(r"Aware two \d+ \w+ \d{4} 0 of 1", page)


# --- the real curricula ---------------------------------------------------------------------------


@pytest.fixture
def published(db):
    """content/ as `lms content sync` publishes it."""
    corpus = load_corpus(Path(__file__).parent.parent / "content")
    if corpus.problems:
        pytest.skip(f"content/ has problems: {corpus.problems[0]}")  # tests/test_curricula_corpus.py fails
    content.sync(db, corpus)
    return corpus


def test_the_catalogue_finds_a_word_of_a_modules_body(published, learner, login_as):
    page = text_of(login_as(learner).get("/catalogue?q=gemba"))
    assert "Leader presence" in page  # the word is in the module's text, not its title or summary


def test_every_real_module_page_renders_each_check_and_reflection(published, learner, login_as):
    client = login_as(learner)
    for module in published.modules:
        resp = client.get(f"/modules/{module.id}")
        assert resp.status_code == 200, module.id
        html = resp.get_data(as_text=True)
        assert html.count(">Check my answer</button>") == len(module.checks), module.id
        assert html.count(">Save my reflection</button>") == len(module.reflections), module.id
        for check in module.checks:
            assert f'id="check-{check.key}"' in html and "<legend><p>" not in html, module.id


def test_a_question_that_already_says_choose_all_that_apply_is_not_told_twice(lib, learner, login_as):
    said = (
        "said",
        "Which help? Choose all that apply.",
        [("One", True), ("Two", True), ("No", False)],
        "Both.",
    )
    lib.module("told-once", checks=[said])
    html = login_as(learner).get("/modules/told-once").get_data(as_text=True)
    assert html.count("Choose all that apply.") == 1
    assert 'aria-describedby="check-said-hint"' not in html
