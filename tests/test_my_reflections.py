"""My reflections: the learner's learning record lists, when they choose, what they wrote in modules'
reflection prompts, by module in curriculum order; nobody else can open their list."""

from __future__ import annotations

from curricula.stakeholders import StakeholderRole
from lms.services import modules

RECORD = "/learning/record"
SHOWN = "/learning/record?reflections=shown"


def write(db, lib, learner) -> None:
    lib.module("pdsa", title="PDSA cycles")
    lib.module(
        "huddles",
        title="Daily huddles",
        reflections=(("first", "What would your first huddle cover?"), ("then", "Who would run it?")),
    )
    modules.save_reflection(db, learner.user, "huddles", "then", "The charge nurse, at 07:45.")
    modules.save_reflection(db, learner.user, "huddles", "first", "Yesterday's falls.\r\n\r\nToday's risks.")
    modules.save_reflection(db, learner.user, "pdsa", "what-matters", "Being <b>heard</b>.")
    db.commit()


def test_the_record_lists_my_reflections_by_module_when_i_choose(db, lib, learner, login_as):
    write(db, lib, learner)
    client = login_as(learner)

    plain = client.get(RECORD).get_data(as_text=True)
    assert "Yesterday" not in plain and "Show my reflections on this record" in plain

    page = client.get(SHOWN).get_data(as_text=True)
    section = page[page.index('id="reflections-heading"') :]
    assert section.index("PDSA cycles") < section.index("Daily huddles"), "curriculum order"
    huddles = section[section.index("Daily huddles") :]
    assert huddles.index("What would your first huddle cover?") < huddles.index("Who would run it?")
    assert "<p>Yesterday&#39;s falls.</p><p>Today&#39;s risks.</p>" in huddles, "paragraphs as typed"
    assert "The charge nurse, at 07:45." in huddles
    assert "Being &lt;b&gt;heard&lt;/b&gt;." in section, "what I typed is text, never markup"
    assert "Hide my reflections" in page


def test_nobody_else_sees_my_reflections_on_their_record(db, make, tree, lib, learner, login_as):
    write(db, lib, learner)
    for permissions in ({"hr": True}, {"coach": True}, {"org_admin": True}, {"faculty": True}):
        other = make.person(tree, StakeholderRole.QUALITY_STAFF, **permissions)
        page = login_as(other).get(SHOWN).get_data(as_text=True)
        assert "charge nurse" not in page and "heard" not in page
        assert "You have not written a reflection yet." in page


def test_a_learner_who_wrote_nothing_is_told_so(db, lib, learner, login_as):
    lib.module("pdsa")
    page = login_as(learner).get(SHOWN).get_data(as_text=True)
    assert "You have not written a reflection yet." in page
