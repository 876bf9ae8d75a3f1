"""The learner's path as services: completing modules by answering checks, reflections, My learning,
the catalogue, the module page and the printable record."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import org_today
from sqlalchemy import event, func, select

from lms.db import utcnow
from lms.models import CheckAttempt, Progress, ProgressStatus, Reflection
from lms.services import Invalid, NotFound, catalogue, modules
from lms.services import learning as svc
from lms.services.access import Actor
from lms.services.learning import LearningStatus

TWO_CHECKS = [
    (
        "aim",
        "Which question sets the aim?",
        [("What are we trying to accomplish?", True), ("Who?", False)],
        "E1.",
    ),
    (
        "measures",
        "Which are kinds of measure? Choose all that apply.",
        [("Outcome", True), ("Process", True), ("Rumour", False)],
        "Outcome, process and balancing measures.",
    ),
]


def actor_of(membership) -> Actor:
    return Actor(membership.user, membership)


def progress_of(db, membership, module) -> Progress | None:
    return db.scalar(
        select(Progress).where(Progress.user_id == membership.user_id, Progress.module_id == module.id)
    )


# --- completing a module --------------------------------------------------------------------------


def test_answering_the_only_check_rightly_completes_the_module(db, lib, learner):
    module = lib.module("pdsa")
    answer = modules.answer_check(db, learner.user, "pdsa", "pdsa-order", {1})
    assert answer.correct and answer.just_completed and answer.module_completed
    assert "Do" in answer.explanation_html
    progress = progress_of(db, learner, module)
    assert progress.status is ProgressStatus.COMPLETED
    assert progress.completed_hash == "v1" and progress.score == 1.0
    assert progress.completed_at is not None and progress.resume_at == "pdsa-order"


def test_a_wrong_answer_then_the_right_one(db, lib, learner):
    module = lib.module("pdsa")
    wrong = modules.answer_check(db, learner.user, "pdsa", "pdsa-order", {0})
    assert not wrong.correct and wrong.explanation_html is None and not wrong.module_completed
    assert progress_of(db, learner, module).status is ProgressStatus.IN_PROGRESS

    right = modules.answer_check(db, learner.user, "pdsa", "pdsa-order", {1})
    assert right.correct and right.just_completed
    assert progress_of(db, learner, module).score == 0.0  # not right at the first attempt
    assert db.scalar(select(func.count()).select_from(CheckAttempt)) == 2


def test_every_check_must_be_right_at_its_latest_attempt(db, lib, learner):
    module = lib.module("model-for-improvement", checks=TWO_CHECKS)
    assert not modules.answer_check(db, learner.user, module.slug, "aim", {0}).module_completed
    assert not modules.answer_check(
        db, learner.user, module.slug, "measures", {0}
    ).module_completed  # half of it
    assert not modules.answer_check(db, learner.user, module.slug, "aim", {1}).module_completed  # now wrong
    assert not modules.answer_check(db, learner.user, module.slug, "measures", {0, 1}).module_completed
    done = modules.answer_check(db, learner.user, module.slug, "aim", {0})
    assert done.just_completed
    assert progress_of(db, learner, module).score == 0.5  # aim right at its first attempt, measures not


def test_a_check_with_several_correct_options_needs_exactly_those(db, lib, learner):
    lib.module("measures", checks=TWO_CHECKS[1:])
    assert not modules.answer_check(db, learner.user, "measures", "measures", {0}).correct
    assert not modules.answer_check(db, learner.user, "measures", "measures", {0, 1, 2}).correct
    assert modules.answer_check(db, learner.user, "measures", "measures", {1, 0}).correct


@pytest.mark.parametrize(
    ("slug", "chosen", "message"),
    [
        ("pdsa", set(), "Choose an answer."),
        ("pdsa", {0, 1}, "Choose one answer."),
        ("pdsa", {3}, "Choose from the options given."),
        ("measures", set(), "Choose an answer."),
        ("measures", {-1}, "Choose from the options given."),
    ],
)
def test_bad_choices_are_refused_and_not_recorded(db, lib, learner, slug, chosen, message):
    lib.module("pdsa")
    lib.module("measures", checks=TWO_CHECKS[1:])
    key = "pdsa-order" if slug == "pdsa" else "measures"
    with pytest.raises(Invalid) as refused:
        modules.answer_check(db, learner.user, slug, key, chosen)
    assert refused.value.errors == {"chosen": [message]}
    assert db.scalar(select(func.count()).select_from(CheckAttempt)) == 0


def test_an_unknown_check_or_module_is_not_found(db, lib, learner):
    lib.module("pdsa")
    with pytest.raises(NotFound):
        modules.answer_check(db, learner.user, "pdsa", "no-such-check", {1})
    with pytest.raises(NotFound):
        modules.answer_check(db, learner.user, "no-such-module", "pdsa-order", {1})


def test_a_completed_module_stays_completed_after_a_wrong_answer(db, lib, learner):
    module = lib.module("pdsa")
    modules.answer_check(db, learner.user, "pdsa", "pdsa-order", {1})
    completed_at = progress_of(db, learner, module).completed_at

    again = modules.answer_check(db, learner.user, "pdsa", "pdsa-order", {2})
    assert not again.correct and again.module_completed and not again.just_completed
    progress = progress_of(db, learner, module)
    assert progress.status is ProgressStatus.COMPLETED and progress.completed_at == completed_at
    assert progress.score == 1.0


def test_a_completed_module_stays_completed_when_its_content_changes(db, lib, learner):
    module = lib.module("pdsa")
    modules.answer_check(db, learner.user, "pdsa", "pdsa-order", {1})
    module.content_hash = "v2"  # an edit is synced
    db.commit()

    view = modules.module_view(db, learner.user, "pdsa")
    assert view.completed and view.completed_earlier_version
    assert view.attempts == {}  # answers to the old version are not shown against the new one
    modules.answer_check(db, learner.user, "pdsa", "pdsa-order", {0})
    progress = progress_of(db, learner, module)
    assert progress.status is ProgressStatus.COMPLETED and progress.completed_hash == "v1"


def test_answers_to_an_earlier_version_do_not_complete_the_current_one(db, lib, learner):
    module = lib.module("model-for-improvement", checks=TWO_CHECKS)
    modules.answer_check(db, learner.user, module.slug, "aim", {0})
    module.content_hash = "v2"
    db.commit()
    assert not modules.answer_check(db, learner.user, module.slug, "measures", {0, 1}).module_completed
    assert modules.answer_check(db, learner.user, module.slug, "aim", {0}).just_completed
    assert progress_of(db, learner, module).completed_hash == "v2"


# --- reflections ----------------------------------------------------------------------------------


def test_a_reflection_is_saved_then_replaced_and_marks_where_to_resume(db, lib, learner):
    module = lib.module("pdsa")
    modules.save_reflection(db, learner.user, "pdsa", "what-matters", "  Being heard.  ")
    modules.save_reflection(db, learner.user, "pdsa", "what-matters", "Being heard, and safe.")
    saved = db.scalars(select(Reflection)).all()
    assert [(r.prompt_key, r.text, r.content_hash) for r in saved] == [
        ("what-matters", "Being heard, and safe.", "v1")
    ]
    progress = progress_of(db, learner, module)
    assert progress.resume_at == "what-matters" and progress.status is ProgressStatus.IN_PROGRESS
    assert modules.module_view(db, learner.user, "pdsa").resume_anchor == "reflection-what-matters"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Write your reflection before saving it."),
        ("   \n ", "Write your reflection before saving it."),
        ("x" * 10_001, "Keep your reflection to 10,000 characters or fewer: it has 10,001."),
    ],
)
def test_a_reflection_must_have_1_to_10000_characters(db, lib, learner, text, message):
    lib.module("pdsa")
    with pytest.raises(Invalid) as refused:
        modules.save_reflection(db, learner.user, "pdsa", "what-matters", text)
    assert refused.value.errors == {"text": [message]}
    assert db.scalar(select(func.count()).select_from(Reflection)) == 0


def test_exactly_10000_characters_are_accepted(db, lib, learner):
    lib.module("pdsa")
    assert len(modules.save_reflection(db, learner.user, "pdsa", "what-matters", "y" * 10_000).text) == 10_000


def test_an_unknown_reflection_prompt_is_not_found(db, lib, learner):
    lib.module("pdsa")
    with pytest.raises(NotFound):
        modules.save_reflection(db, learner.user, "pdsa", "pdsa-order", "text")


def test_one_person_never_sees_another_persons_answers_or_reflections(db, make, tree, lib, learner):
    other = make.person(tree, name="Omar Other")
    lib.module("pdsa")
    modules.answer_check(db, learner.user, "pdsa", "pdsa-order", {1})
    modules.save_reflection(db, learner.user, "pdsa", "what-matters", "Lena's private thought")

    view = modules.module_view(db, other.user, "pdsa")
    assert view.progress is None and view.attempts == {} and view.reflections == {}
    assert view.status is LearningStatus.NOT_STARTED


# --- the module page ------------------------------------------------------------------------------


def test_opening_a_module_starts_it_and_notes_the_visit_at_most_once_a_minute(db, lib, learner):
    module = lib.module("pdsa")
    view = modules.visit_module(db, learner.user, "pdsa")
    assert view.status is LearningStatus.IN_PROGRESS
    first_seen = view.progress.last_seen_at

    modules.open_module(db, learner.user, module)
    assert progress_of(db, learner, module).last_seen_at == first_seen

    view.progress.last_seen_at = first_seen - timedelta(minutes=2)
    db.commit()
    modules.open_module(db, learner.user, module)
    assert progress_of(db, learner, module).last_seen_at > first_seen - timedelta(minutes=1)
    assert db.scalar(select(func.count()).select_from(Progress)) == 1


def test_reading_a_module_again_within_a_minute_writes_nothing(app, db, lib, learner):
    lib.module("pdsa", checks=TWO_CHECKS)
    modules.answer_check(db, learner.user, "pdsa", "aim", {0})
    statements: list[str] = []

    def note(conn, cursor, statement, *args) -> None:
        statements.append(statement.split()[0].upper())

    engine = app.extensions["lms.engine"]
    event.listen(engine, "before_cursor_execute", note)
    try:
        view = modules.visit_module(db, learner.user, "pdsa")
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert view.attempts["aim"].chosen == [0]
    assert set(statements) == {"SELECT"}
    assert len(statements) <= 7  # the module, its content, progress, attempts, reflections, vocabulary


def test_unknown_and_retired_modules_are_not_found_unless_the_person_started_them(db, lib, learner):
    lib.module("old-module", retired=True)
    with pytest.raises(NotFound):
        modules.module_view(db, learner.user, "nothing-here")
    with pytest.raises(NotFound):
        modules.module_view(db, learner.user, "old-module")

    started = lib.module("started-then-retired")
    modules.visit_module(db, learner.user, started.slug)
    started.retired_at = utcnow()
    db.commit()
    assert modules.module_view(db, learner.user, started.slug).module.title == "Started then retired"


def test_the_view_names_prerequisites_not_completed_yet(db, lib, learner):
    lib.module("basics")
    lib.module("more-basics")
    lib.module("advanced", requires=["basics", "more-basics"])
    view = modules.module_view(db, learner.user, "advanced")
    assert [m.slug for m in view.missing_prerequisites] == ["basics", "more-basics"]
    assert not view.prerequisites_complete

    modules.answer_check(db, learner.user, "basics", "pdsa-order", {1})
    assert [m.slug for m in modules.module_view(db, learner.user, "advanced").missing_prerequisites] == [
        "more-basics"
    ]


def test_the_view_holds_the_latest_attempt_per_check(db, lib, learner):
    lib.module("model-for-improvement", checks=TWO_CHECKS)
    modules.answer_check(db, learner.user, "model-for-improvement", "measures", {0})
    modules.answer_check(db, learner.user, "model-for-improvement", "measures", {0, 1})
    view = modules.module_view(db, learner.user, "model-for-improvement")
    assert {k: (a.chosen, a.correct) for k, a in view.attempts.items()} == {"measures": ([0, 1], True)}
    assert view.resume_anchor == "check-measures"
    assert view.check("measures").multiple and not view.check("aim").multiple


def test_an_explanation_shows_once_its_check_is_right_and_every_one_once_the_module_is_completed(
    db, lib, learner
):
    """The one rule the module page and the API follow (`ModuleView.explanation_shown`)."""
    slug = "model-for-improvement"
    lib.module(slug, checks=TWO_CHECKS)

    def shown() -> dict[str, bool]:
        view = modules.module_view(db, learner.user, slug)
        return {key: view.explanation_shown(key) for key in ("aim", "measures")}

    assert shown() == {"aim": False, "measures": False}
    modules.answer_check(db, learner.user, slug, "measures", {0})
    assert shown() == {"aim": False, "measures": False}  # answered, but not right
    modules.answer_check(db, learner.user, slug, "measures", {0, 1})
    assert shown() == {"aim": False, "measures": True}
    modules.answer_check(db, learner.user, slug, "aim", {0})  # completes the module
    modules.answer_check(db, learner.user, slug, "aim", {1})  # wrong now, but the module stays completed
    assert shown() == {"aim": True, "measures": True}


# --- My learning ----------------------------------------------------------------------------------


def test_my_learning_groups_active_assignments_by_dose_level_in_level_order(db, lib, learner):
    today = org_today()
    found = lib.module("foundational-one", dose="foundational")
    aware = lib.module("awareness-one", dose="awareness")
    gone = lib.module("retired-one", retired=True)
    dropped = lib.module("cancelled-one")
    for module in (found, aware, gone):
        lib.assign(learner, module, due_on=today + timedelta(days=10))
    lib.assign(learner, dropped, cancelled=True)

    mine = svc.my_learning(db, actor_of(learner))
    assert [(g.level.title, [i.module.slug for i in g.items]) for g in mine.groups] == [
        ("Awareness", ["awareness-one"]),
        ("Foundational", ["foundational-one"]),
    ]
    assert (mine.total, mine.done, mine.to_do, mine.overdue) == (2, 0, 2, 0)


def test_my_learning_shows_status_per_module(db, lib, learner):
    for slug in ("a-done", "b-started", "c-new"):
        lib.assign(learner, lib.module(slug))
    modules.answer_check(db, learner.user, "a-done", "pdsa-order", {1})
    modules.visit_module(db, learner.user, "b-started")

    mine = svc.my_learning(db, actor_of(learner))
    assert {i.module.slug: i.status for i in mine.items} == {
        "a-done": LearningStatus.COMPLETED,
        "b-started": LearningStatus.IN_PROGRESS,
        "c-new": LearningStatus.NOT_STARTED,
    }
    assert (mine.done, mine.total) == (1, 3)
    assert mine.items[0].completed_at is not None


def test_only_the_persons_own_assignments_and_progress_count(db, make, tree, lib, learner):
    other = make.person(tree, name="Omar Other")
    mine, theirs = lib.module("mine"), lib.module("theirs")
    lib.assign(learner, mine)
    lib.assign(other, theirs)
    lib.assign(other, mine)
    modules.answer_check(db, other.user, "mine", "pdsa-order", {1})
    view = svc.my_learning(db, actor_of(learner))
    assert [(i.module.slug, i.status) for i in view.items] == [("mine", LearningStatus.NOT_STARTED)]


def next_up(db, learner):
    """The next thing to do, which My learning and the home page's summary must agree on."""
    full = svc.my_learning(db, actor_of(learner)).next_up
    brief = svc.learning_summary(db, actor_of(learner)).next_up
    assert full == brief
    return full


def test_the_next_thing_to_do_is_the_module_in_progress(db, lib, learner):
    today = org_today()
    soon, later = lib.module("due-soon"), lib.module("due-later")
    lib.assign(learner, soon, due_on=today + timedelta(days=1))
    lib.assign(learner, later, due_on=today + timedelta(days=20))
    assert next_up(db, learner).module.slug == "due-soon"
    modules.visit_module(db, learner.user, "due-later")
    assert next_up(db, learner).module.slug == "due-later"


def test_the_next_thing_to_do_waits_for_prerequisites(db, lib, learner):
    today = org_today()
    basics = lib.module("basics")
    advanced = lib.module("advanced", requires=["basics"])
    lib.assign(learner, advanced, due_on=today + timedelta(days=1))
    lib.assign(learner, basics, due_on=today + timedelta(days=5))
    assert next_up(db, learner).module.slug == "basics"

    modules.answer_check(db, learner.user, "basics", "pdsa-order", {1})
    assert next_up(db, learner).module.slug == "advanced"
    modules.answer_check(db, learner.user, "advanced", "pdsa-order", {1})
    assert next_up(db, learner) is None


def test_with_every_module_waiting_on_a_prerequisite_the_earliest_due_is_next(db, lib, learner):
    lib.module("unassigned-basics")
    lib.assign(learner, lib.module("advanced", requires=["unassigned-basics"]))
    assert next_up(db, learner).module.slug == "advanced"


@pytest.mark.parametrize(
    ("time_zone", "overdue"), [("Pacific/Kiritimati", True), ("Pacific/Pago_Pago", False)]
)
def test_overdue_means_past_the_due_date_in_the_organisations_time_zone(db, lib, learner, time_zone, overdue):
    """At noon UTC on 10 March it is already 11 March in Kiritimati (UTC+14), still 10 March in Pago
    Pago (UTC-11): a module due on 10 March is overdue in the first only."""
    learner.organization.time_zone = time_zone
    db.commit()
    lib.assign(learner, lib.module("pdsa"), due_on=date(2026, 3, 10))
    noon = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    mine = svc.my_learning(db, actor_of(learner), now=noon)
    assert mine.items[0].overdue is overdue
    assert mine.overdue == (1 if overdue else 0)


def test_a_completed_module_is_never_overdue(db, lib, learner):
    lib.assign(learner, lib.module("pdsa"), due_on=org_today() - timedelta(days=3))
    assert svc.my_learning(db, actor_of(learner)).overdue == 1
    modules.answer_check(db, learner.user, "pdsa", "pdsa-order", {1})
    assert svc.my_learning(db, actor_of(learner)).overdue == 0


def _statements_for_my_learning(app, db, lib, learner, count: int) -> int:
    today = org_today()
    for n in range(count):
        module = lib.module(
            f"m{count}-{n}", dose=["awareness", "foundational", "practitioner"][n % 3], requires=["m-root"]
        )
        lib.assign(learner, module, due_on=today + timedelta(days=n))
        if n % 3 == 0:
            modules.visit_module(db, learner.user, module.slug)
        elif n % 3 == 1:
            modules.answer_check(db, learner.user, module.slug, "pdsa-order", {1})
    statements: list[str] = []

    def count_statement(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    engine = app.extensions["lms.engine"]
    db.expire_all()
    event.listen(engine, "before_cursor_execute", count_statement)
    try:
        mine = svc.my_learning(db, actor_of(learner))
        assert mine.total == count
        shown = [  # what the page reads of each row
            (i.module.title, i.module.minutes, i.status.label, i.due_on, i.overdue, i.completed_at)
            for i in mine.items
        ]
        assert len(shown) == count
    finally:
        event.remove(engine, "before_cursor_execute", count_statement)
    return len(statements)


def test_my_learning_takes_the_same_number_of_queries_for_6_or_60_assignments(app, db, make, tree, lib):
    lib.module("m-root")
    small = _statements_for_my_learning(app, db, lib, make.person(tree), 6)
    large = _statements_for_my_learning(app, db, lib, make.person(tree), 60)
    print(f"my_learning: {small} statements for 6 assignments, {large} for 60")
    assert small == large
    assert large <= 5


# --- the catalogue --------------------------------------------------------------------------------


@pytest.fixture
def shelf(lib):
    lib.module(
        "run-charts",
        title="Run charts",
        summary="Plot data over time to see whether a change is an improvement.",
        dose="foundational",
        principles=["systems-thinking"],
        roles=["clinician", "unit-leader"],
    )
    lib.module(
        "board-oversight",
        title="Board oversight of quality",
        summary="What a board asks about quality and equity.",
        curriculum="whole-system-quality",
        dose="governance",
        component="set-direction",
        principles=["shared-purpose"],
        roles=["board"],
    )
    lib.module("old-charts", title="Old run charts", retired=True)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["run-charts", "board-oversight"]),
        ({"q": "run"}, ["run-charts"]),
        ({"q": "RUN  Charts"}, ["run-charts"]),
        ({"q": "charts board"}, []),  # every word must match
        ({"q": "equity"}, ["board-oversight"]),
        ({"q": "100%"}, []),
        ({"curriculum": "whole-system-quality"}, ["board-oversight"]),
        ({"component": "set-direction"}, ["board-oversight"]),
        ({"principle": "systems-thinking"}, ["run-charts"]),
        ({"role": "unit-leader"}, ["run-charts"]),
        ({"role": "board", "dose": "governance"}, ["board-oversight"]),
        ({"dose": "awareness"}, []),
    ],
)
def test_the_catalogue_filters_active_modules(db, shelf, learner, filters, expected):
    assert [m.slug for m in catalogue.catalogue(db, learner.user, **filters)] == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [("curriculum", "cooking"), ("component", "x"), ("principle", "y"), ("role", "surgeon"), ("dose", "z")],
)
def test_an_unknown_catalogue_filter_is_invalid_and_named(db, shelf, learner, name, value):
    with pytest.raises(Invalid) as refused:
        catalogue.catalogue(db, learner.user, **{name: value})
    assert list(refused.value.errors) == [name]


# --- the record -----------------------------------------------------------------------------------


def test_the_record_lists_completed_modules_by_level_and_complete_levels(db, lib, learner):
    a1, a2 = lib.module("aware-1", dose="awareness"), lib.module("aware-2", dose="awareness")
    f1, f2 = lib.module("found-1", dose="foundational"), lib.module("found-2", dose="foundational")
    for module in (a1, a2, f1, f2):
        lib.assign(learner, module)
    for slug in ("aware-2", "aware-1", "found-1"):
        modules.answer_check(db, learner.user, slug, "pdsa-order", {1})
    lib.module("extra", dose="coach")
    modules.answer_check(db, learner.user, "extra", "pdsa-order", {1})  # taken from the catalogue

    record = svc.record(db, actor_of(learner))
    assert (record.name, record.organization) == ("Lena Learner", "Alpha Health")
    assert [(lv.level.id, [m.module.slug for m in lv.modules], lv.complete) for lv in record.levels] == [
        ("awareness", ["aware-2", "aware-1"], True),
        ("foundational", ["found-1"], False),
        ("coach", ["extra"], False),  # nothing required at this level: not a completed level
    ]
    assert [lv.level.title for lv in record.completed_levels] == ["Awareness"]
    assert record.completed_levels[0].completed_on == record.levels[0].modules[-1].completed_at
