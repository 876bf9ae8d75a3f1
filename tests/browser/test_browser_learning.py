"""A learner completes a module from My learning on a phone, with a wrong answer first."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from conftest import PASSWORD, org_today
from learning_factory import Library
from sqlalchemy import select

from curricula.corpus import load_corpus
from curricula.stakeholders import StakeholderRole
from lms.models import Progress, ProgressStatus, Reflection
from lms.services import content

pytestmark = pytest.mark.browser

CHECKS = [
    (
        "aim",
        "Which question sets the aim of an improvement?",
        [("Who is to blame?", False), ("What are we trying to accomplish?", True)],
        "An aim says what will improve, by how much and by when.",
    ),
    (
        "measures",
        "Which of these are kinds of measure?",
        [("Outcome measures", True), ("Process measures", True), ("Rumours", False)],
        "Outcome, process and balancing measures tell you whether a change is an improvement.",
    ),
]


@pytest.fixture
def learner_page(phone_page, visit, sign_in, db, make, tree):
    """A phone signed in as a clinician with two assigned modules, the first due soonest."""
    learner = make.person(tree, StakeholderRole.CLINICIAN, email="nia@alpha.test", name="Nia Okafor")
    lib = Library(db)
    lib.release()
    mfi = lib.module("model-for-improvement", title="The Model for Improvement", checks=CHECKS, minutes=15)
    runs = lib.module("run-charts", title="Run charts", dose="foundational")
    lib.assign(learner, mfi, due_on=org_today() + timedelta(days=7))
    lib.assign(learner, runs, due_on=org_today() + timedelta(days=60))
    visit(phone_page, "/sign-in")
    sign_in(phone_page, "nia@alpha.test", PASSWORD)
    phone_page.learner = learner
    return phone_page


def test_a_learner_completes_a_module_from_my_learning_with_a_wrong_answer_first(
    main_nav, learner_page, follow, db
):
    page = learner_page
    follow(page, main_nav(page, "My learning"))
    assert page.get_by_role("heading", level=1).inner_text() == "My learning"
    assert "0 of 2 done." in page.get_by_role("main").inner_text()
    next_step = page.get_by_role("region", name="Your next step")
    follow(page, next_step.get_by_role("link", name="The Model for Improvement"))
    assert page.get_by_role("heading", level=1).inner_text() == "The Model for Improvement"

    aim = page.locator("#check-aim")
    aim.get_by_label("Who is to blame?").check()
    follow(page, aim.get_by_role("button", name="Check my answer"))
    assert page.url.endswith("/modules/model-for-improvement#check-aim")
    assert aim.get_by_role("status").inner_text().startswith("Not quite — try again.")
    assert "An aim says what will improve" not in aim.inner_text()

    aim.get_by_label("What are we trying to accomplish?").check()
    follow(page, aim.get_by_role("button", name="Check my answer"))
    feedback = aim.get_by_role("status").inner_text()
    assert feedback.startswith("Correct.") and "An aim says what will improve" in feedback

    reflection = page.locator("#reflection-what-matters")
    reflection.get_by_label("Your reflection").fill("Being heard at the bedside, and not waiting alone.")
    follow(page, reflection.get_by_role("button", name="Save my reflection"))
    assert page.url.endswith("#reflection-what-matters")
    assert reflection.get_by_label("Your reflection").input_value().startswith("Being heard at the bedside")
    assert page.get_by_role("link", name="Continue where you stopped").get_attribute("href") == (
        "#reflection-what-matters"
    )

    measures = page.locator("#check-measures")
    measures.get_by_label("Outcome measures").check()
    measures.get_by_label("Process measures").check()
    follow(page, measures.get_by_role("button", name="Check my answer"))
    assert measures.get_by_role("status").inner_text().startswith("Correct.")
    assert page.get_by_role("heading", name="Module completed").is_visible()

    follow(page, main_nav(page, "My learning"))
    main = page.get_by_role("main").inner_text()
    assert "1 of 2 done." in main
    item = page.get_by_role("listitem").filter(has=page.get_by_role("link", name="The Model for Improvement"))
    assert "Completed" in item.inner_text()
    assert (
        page.get_by_role("region", name="Your next step").get_by_role("link", name="Run charts").is_visible()
    )

    learner = page.learner
    progress = db.scalar(select(Progress).where(Progress.user_id == learner.user_id))
    db.refresh(progress)
    assert progress.status is ProgressStatus.COMPLETED and progress.score == 0.5
    assert db.scalar(select(Reflection.text)).startswith("Being heard at the bedside")


def test_a_refused_answer_is_said_next_to_the_question_and_the_catalogue_and_record_pass(
    main_nav, learner_page, visit, follow
):
    page = learner_page
    visit(page, "/modules/model-for-improvement")
    aim = page.locator("#check-aim")
    follow(page, aim.get_by_role("button", name="Check my answer"))
    assert aim.locator(".error").inner_text() == "Choose an answer."
    assert aim.get_by_role("group").get_attribute("aria-describedby") == "check-aim-error"

    follow(page, main_nav(page, "Catalogue"))
    assert not page.get_by_label("Dose level").is_visible()  # folded away on a phone
    page.get_by_text("Filters", exact=True).click()
    assert page.get_by_label("Dose level").is_visible()
    page.get_by_label("Search the modules' words").fill("run charts")
    follow(page, page.get_by_role("button", name="Show modules"))
    assert page.get_by_role("heading", name="1 module match").is_visible()
    page.get_by_text("Filters", exact=True).click()  # words alone leave the filters folded
    page.get_by_label("Dose level").select_option("foundational")
    follow(page, page.get_by_role("button", name="Show modules"))
    assert page.get_by_text("Filters (1 set)").is_visible()  # a filter set keeps them open

    visit(page, "/learning/record")
    assert "Nia Okafor" in page.get_by_role("main").inner_text()
    visit(page, "/")
    assert page.get_by_role("heading", name="Your learning").is_visible()


def test_every_real_module_page_passes_on_a_phone(phone_page, visit, sign_in, db, make, tree):
    """The published curricula (tables, headings, links) fit 360 px and pass axe."""
    corpus = load_corpus(Path(__file__).parents[2] / "content")
    if corpus.problems:
        pytest.skip(f"content/ has problems: {corpus.problems[0]}")  # tests/test_curricula_corpus.py fails
    content.sync(db, corpus)
    make.person(tree, email="ravi@alpha.test", name="Ravi Shah")
    visit(phone_page, "/sign-in")
    sign_in(phone_page, "ravi@alpha.test", PASSWORD)
    for module in corpus.modules:
        visit(phone_page, f"/modules/{module.id}")
        assert phone_page.get_by_role("heading", level=1).inner_text() == module.title
