"""Coaching relationships: made by an org admin, or proposed by a coach and accepted by the coachee; one
coach at a time; ended by either side or an admin; every change in the trail, no journal text in it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from journal_factory import actor_of, build_circle
from prompts_factory import schedule
from sqlalchemy import select

from curricula.stakeholders import StakeholderRole
from lms.models import AuditEvent, CoachingRelationship, PromptDelivery
from lms.services import Forbidden, Invalid, NotFound, coaching, journal, prompts
from lms.services.prompt_delivery import deliver_due


@pytest.fixture
def circle(db, make, tree, other_tree, lib):
    return build_circle(db, make, tree, other_tree, lib)


def test_an_org_admin_makes_a_relationship_active_at_once(db, circle):
    rel = coaching.current_coach(db, circle.author)
    assert rel is not None and rel.active and rel.coach_id == circle.coach.id
    assert coaching.my_coaching(db, actor_of(circle.coach)).coachees == [rel]
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "coaching.created"))
    assert event.target_id == circle.author.id and event.changes["coach"] == "Cal Coach"


def test_only_an_org_admin_makes_one_and_only_with_a_coach_of_the_organisation(db, circle, make, tree):
    learner = make.person(tree, name="Lee Learner")
    with pytest.raises(Forbidden):
        coaching.create(db, actor_of(circle.hr), coach_id=circle.coach.id, coachee_id=learner.id)
    with pytest.raises(Invalid) as not_a_coach:
        coaching.create(db, actor_of(circle.admin), coach_id=circle.hr.id, coachee_id=learner.id)
    assert "coach permission" in not_a_coach.value.errors["coach_id"][0]
    with pytest.raises(Invalid) as self_coached:
        coaching.create(db, actor_of(circle.admin), coach_id=circle.coach.id, coachee_id=circle.coach.id)
    assert "own coach" in self_coached.value.errors["coachee_id"][0]
    with pytest.raises(Invalid) as twice:
        coaching.create(db, actor_of(circle.admin), coach_id=circle.coach.id, coachee_id=circle.author.id)
    assert "already coaches" in twice.value.errors["coachee_id"][0]
    with pytest.raises(NotFound):  # another organisation's member
        coaching.create(
            db, actor_of(circle.admin), coach_id=circle.coach.id, coachee_id=circle.other_admin.id
        )


def test_a_coach_proposes_and_the_coachee_accepts(db, circle, make, tree):
    lee = make.person(tree, name="Lee Learner", email="lee@alpha.test")
    rel = coaching.propose(db, actor_of(circle.other_coach), email=" LEE@alpha.test ")
    assert rel.pending and coaching.current_coach(db, lee) is None
    assert coaching.my_coaching(db, actor_of(lee)).proposals == [rel]
    assert coaching.my_coaching(db, actor_of(circle.other_coach)).proposed == [rel]
    with pytest.raises(Invalid) as again:
        coaching.propose(db, actor_of(circle.other_coach), email="lee@alpha.test")
    assert "waits for their answer" in again.value.errors["email"][0]
    with pytest.raises(NotFound):  # only the coachee answers
        coaching.accept(db, actor_of(circle.other_coach), rel.id)
    coaching.accept(db, actor_of(lee), rel.id)
    assert coaching.current_coach(db, lee).id == rel.id
    with pytest.raises(NotFound):  # answered already
        coaching.decline(db, actor_of(lee), rel.id)


def test_a_declined_proposal_ends_and_a_stranger_cannot_be_proposed_to(db, circle, make, tree):
    lee = make.person(tree, name="Lee Learner", email="lee@alpha.test")
    rel = coaching.propose(db, actor_of(circle.other_coach), email="lee@alpha.test")
    coaching.decline(db, actor_of(lee), rel.id)
    assert rel.ended_at is not None and rel.end_reason == "declined"
    assert coaching.current_coach(db, lee) is None
    for email, message in (("bo@beta.test", "No active member"), ("olga@alpha.test", "own coach")):
        with pytest.raises(Invalid) as refused:
            coaching.propose(db, actor_of(circle.other_coach), email=email)
        assert message in refused.value.errors["email"][0]
    with pytest.raises(Forbidden):  # only coaches propose
        coaching.propose(db, actor_of(circle.hr), email="lee@alpha.test")


def test_accepting_a_new_coach_ends_the_old_one_and_hides_what_was_shared_with_it(db, circle):
    entry = journal.write_entry(db, actor_of(circle.author), body="Shared with Cal")
    journal.share(db, actor_of(circle.author), "entry", entry.id)
    rel = coaching.propose(db, actor_of(circle.other_coach), email="erin@alpha.test")
    coaching.accept(db, actor_of(circle.author), rel.id)
    old = db.scalar(select(CoachingRelationship).where(CoachingRelationship.coach_id == circle.coach.id))
    assert old.end_reason == "replaced" and coaching.current_coach(db, circle.author).id == rel.id
    for coach in (circle.coach, circle.other_coach):
        with pytest.raises(NotFound):
            journal.shared_item(db, actor_of(coach), "entry", entry.id)


def test_either_side_or_an_admin_ends_it_and_nobody_else(db, circle, make, tree):
    rel = coaching.current_coach(db, circle.author)
    for outsider in (circle.hr, circle.other_coach, circle.faculty):
        with pytest.raises(NotFound):
            coaching.end(db, actor_of(outsider), rel.id)
    coaching.end(db, actor_of(circle.author), rel.id)
    assert rel.ended_at is not None and coaching.current_coach(db, circle.author) is None
    assert coaching.my_coaching(db, actor_of(circle.coach)).coachees == []
    again = coaching.create(db, actor_of(circle.admin), coach_id=circle.coach.id, coachee_id=circle.author.id)
    coaching.end(db, actor_of(circle.admin), again.id)
    assert again.end_reason == "ended"


def test_a_coach_withdraws_a_proposal(db, circle, make, tree):
    lee = make.person(tree, name="Lee Learner", email="lee@alpha.test")
    rel = coaching.propose(db, actor_of(circle.coach), email="lee@alpha.test")
    coaching.end(db, actor_of(circle.coach), rel.id)
    assert rel.end_reason == "withdrawn" and coaching.my_coaching(db, actor_of(lee)).proposals == []


def test_an_admin_making_a_proposed_pair_activates_the_proposal(db, circle, make, tree):
    lee = make.person(tree, name="Lee Learner", email="lee@alpha.test")
    rel = coaching.propose(db, actor_of(circle.coach), email="lee@alpha.test")
    made = coaching.create(db, actor_of(circle.admin), coach_id=circle.coach.id, coachee_id=lee.id)
    assert made.id == rel.id and made.active


def test_a_coach_sees_coachees_with_what_they_shared_and_nothing_private(db, circle):
    author = actor_of(circle.author)
    journal.write_entry(db, author, title="Private thoughts", body="not for Cal")
    shared = journal.write_entry(db, author, title="Gemba on 4 West", body="for Cal")
    journal.share(db, author, "entry", shared.id)
    reflection = circle.reflect(db, "what matters is trust")
    journal.share(db, author, "reflection", reflection.id)
    [coachee] = coaching.coachees(db, actor_of(circle.coach))
    assert coachee.relationship.coachee_id == circle.author.id
    assert [s.title for s in coachee.shared] == ["Reflection: Leading rounds", "Gemba on 4 West"]
    assert coaching.coachees(db, actor_of(circle.other_coach)) == []
    with pytest.raises(Forbidden):
        coaching.coachees(db, actor_of(circle.hr))


def test_a_deactivated_coachee_is_no_longer_listed(db, circle, make, tree):
    circle.author.active = False
    db.flush()
    assert coaching.coachees(db, actor_of(circle.coach)) == []


def test_an_admin_lists_a_persons_relationships_and_the_organisations_coaches(db, circle, make, tree):
    rels = coaching.relationships_of_person(db, actor_of(circle.admin), circle.author.id)
    assert [r.coach_id for r in rels] == [circle.coach.id]
    assert [m.user.name for m in coaching.coaches_in_org(db, actor_of(circle.admin))] == [
        "Cal Coach",
        "Olga Othercoach",
    ]
    with pytest.raises(Forbidden):
        coaching.relationships_of_person(db, actor_of(circle.coach), circle.author.id)
    with pytest.raises(NotFound):
        coaching.relationships_of_person(db, actor_of(circle.admin), circle.other_admin.id)


def test_a_relationship_of_another_organisation_is_not_found(db, circle, make, other_tree):
    beta_coach = make.person(other_tree, StakeholderRole.EXECUTIVE, coach=True)
    beta_person = make.person(other_tree)
    rel = coaching.create(db, actor_of(circle.other_admin), coach_id=beta_coach.id, coachee_id=beta_person.id)
    with pytest.raises(NotFound):
        coaching.end(db, actor_of(circle.admin), rel.id)


def test_the_organisations_trail_tells_coaching_changes_in_sentences(db, circle, login_as):
    rel = coaching.current_coach(db, circle.author)
    coaching.end(db, actor_of(circle.author), rel.id)
    db.commit()
    trail = login_as(circle.admin).get("/o/alpha/admin/audit").get_data(as_text=True)
    assert "set Cal Coach as coach of" in trail and "ended Cal Coach&#39;s coaching of" in trail


def test_a_coach_who_left_is_no_longer_anyones_coach_nor_reader(db, circle):
    entry = journal.write_entry(db, actor_of(circle.author), body="for Cal")
    journal.share(db, actor_of(circle.author), "entry", entry.id)
    circle.coach.is_coach = False
    db.flush()
    assert coaching.current_coach(db, circle.author) is None
    assert coaching.my_coaching(db, actor_of(circle.author)).coach is None
    with pytest.raises(Invalid):
        journal.share(
            db,
            actor_of(circle.author),
            "entry",
            journal.write_entry(db, actor_of(circle.author), body="x").id,
        )
    with pytest.raises(NotFound):
        journal.shared_item(db, actor_of(circle.coach), "entry", entry.id)
    # A new coach ends the old relationship for good: given the permission back, Cal reads nothing.
    coaching.create(db, actor_of(circle.admin), coach_id=circle.other_coach.id, coachee_id=circle.author.id)
    circle.coach.is_coach = True
    db.flush()
    assert coaching.current_coach(db, circle.author).coach_id == circle.other_coach.id
    with pytest.raises(NotFound):
        journal.shared_item(db, actor_of(circle.coach), "entry", entry.id)


def test_the_coach_sees_how_many_prompts_each_coachee_answered_lately_and_nothing_they_wrote(
    db, circle, login_as
):
    schedule(db, circle.author, now=datetime.now(UTC) - timedelta(days=3, hours=1))  # daily: 3 due
    assert deliver_due(db) == 1  # a schedule that fell behind delivers its latest time only
    delivery = db.scalar(select(PromptDelivery))
    prompts.answer(db, actor_of(circle.author), delivery.id, "SECRET-ANSWER-9e1 about my week")
    db.commit()

    page = login_as(circle.coach).get("/coaching").get_data(as_text=True)
    assert "Reflection prompts: answered 1 of 1 (100%) in the last 8 weeks." in page
    assert "SECRET-ANSWER-9e1" not in page
    assert "none delivered in the last 8 weeks" not in page
