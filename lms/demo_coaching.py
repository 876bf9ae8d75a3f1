"""The demo's coaching: the executive (Helen Okonkwo) is coached by the coach (Tomasz Wrona), made so by
the organisation's administrator; her journal has entries of the past weeks, some private, some shared
with him, and he has commented on one. Written through the same services the pages use, so the audit
trail and the journal read as real ones; called once by lms.demo.seed_demo.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.db import utcnow
from lms.models import Membership, Organization, User
from lms.services import coaching, journal
from lms.services.access import Actor

# (days ago, title, body, tags, shared with the coach)
ENTRIES: tuple[tuple[int, str, str, tuple[str, ...], bool], ...] = (
    (
        26,
        "Why quality, in my own words",
        "The board asked what *quality as the business strategy* means for us. My answer today: "
        "every decision we take at the executive table is checked against what it does for the patient "
        "in the bed on 4 West tonight.",
        ("set-direction", "shared-purpose"),
        True,
    ),
    (
        19,
        "A hard budget meeting",
        "I defended the falls programme but did not say why it matters to me. Next time, start with the "
        "story of the patient family who came to the board.",
        ("set-direction",),
        False,
    ),
    (
        12,
        "Gemba on 5 East",
        "I asked the charge nurse what gets in the way. **Pumps**: three of twelve out of service, and "
        "nobody knows who to call.\n\n- ask biomedical engineering for a same-day swap\n- go back on "
        "Thursday and ask what changed",
        ("systems-thinking",),
        True,
    ),
    (
        5,
        "What I am not saying out loud",
        "I am worried the new director will see improvement work as a project, not the way we work.",
        (),
        False,
    ),
    (
        2,
        "Thursday on 5 East",
        "Two pumps back. The charge nurse said it was the first time anyone came back to tell her.",
        ("systems-thinking", "shared-purpose"),
        True,
    ),
)
COMMENT = (
    "She noticed that you came back. What would it take for every unit leader to close the loop like "
    "that, and how would you know they did?"
)


def _member(db: Session, org: Organization, email: str) -> Membership:
    membership = db.scalar(
        select(Membership).join(User).where(Membership.org_id == org.id, User.email == email)
    )
    assert membership is not None, email
    return membership


def seed_coaching(db: Session, org: Organization, *, domain: str) -> None:
    admin = _member(db, org, f"admin@{domain}")
    executive = _member(db, org, f"executive@{domain}")
    coach = _member(db, org, f"coach@{domain}")
    coaching.create(db, Actor(admin.user, admin), coach_id=coach.id, coachee_id=executive.id)
    author = Actor(executive.user, executive)
    now = utcnow()
    tags = dict(journal.tag_choices(db))
    for days_ago, title, body, wanted, shared in ENTRIES:
        entry = journal.write_entry(db, author, title=title, body=body, tags=[t for t in wanted if t in tags])
        entry.created_at = entry.updated_at = now - timedelta(days=days_ago, hours=3)
        if shared:
            journal.share(db, author, "entry", entry.id)
            entry.shared_at = entry.created_at + timedelta(hours=1)
        if title == "Gemba on 5 East":
            comment = journal.add_comment(db, Actor(coach.user, coach), "entry", entry.id, COMMENT)
            comment.created_at = entry.created_at + timedelta(days=1)
    db.flush()
