"""Published modules and assignments made directly in the database, for the learner's path tests.

The real rows come from `lms content sync` and dose assignment; these tests only need rows shaped like
theirs: a content release with the vocabularies, modules with checks and reflections, assignments.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from datetime import date, timedelta

from conftest import org_today
from sqlalchemy.orm import Session

from lms.db import utcnow
from lms.models import Assignment, AssignmentSource, ContentRelease, Membership, Module

LEVELS = ["awareness", "foundational", "practitioner", "coach", "advisor", "sponsor", "governance"]
VOCABULARY = {
    "curricula": [
        {"id": "improvement-science", "title": "Improvement science", "summary": ""},
        {"id": "whole-system-quality", "title": "Whole System Quality", "summary": ""},
    ],
    "levels": [{"id": level, "title": level.capitalize(), "summary": ""} for level in LEVELS],
    "components": [
        {"id": "set-direction", "title": "Set and champion direction", "summary": ""},
        {"id": "build-will", "title": "Build and nurture will", "summary": ""},
    ],
    "principles": [
        {"id": "shared-purpose", "title": "Build a shared sense of purpose", "summary": ""},
        {"id": "systems-thinking", "title": "Practise systems thinking", "summary": ""},
    ],
}

# (key, question, [(option, correct), ...], explanation)
CheckSpec = tuple[str, str, Sequence[tuple[str, bool]], str]

ONE_CHECK: list[CheckSpec] = [
    (
        "pdsa-order",
        "What comes after Plan in a PDSA cycle?",
        [("Study", False), ("Do", True), ("Act", False)],
        "You run the test (Do) before you study what it taught you.",
    )
]

_positions = itertools.count(1)


class Library:
    def __init__(self, db: Session) -> None:
        self.db = db

    def release(self) -> ContentRelease:
        release = ContentRelease(vocabulary=VOCABULARY, policy={})
        self.db.add(release)
        self.db.commit()
        return release

    def module(
        self,
        slug: str,
        *,
        title: str | None = None,
        dose: str = "awareness",
        curriculum: str = "improvement-science",
        component: str | None = None,
        principles: Sequence[str] = (),
        roles: Sequence[str] = ("clinician",),
        minutes: int = 10,
        requires: Sequence[str] = (),
        checks: Sequence[CheckSpec] = ONE_CHECK,
        reflections: Sequence[tuple[str, str]] = (("what-matters", "What matters most to your patients?"),),
        summary: str = "",
        objectives: Sequence[str] = ("Explain the idea.",),
        content_hash: str = "v1",
        retired: bool = False,
    ) -> Module:
        title = title or slug.replace("-", " ").capitalize()
        segments = [{"kind": "html", "value": f"<p>Read about {title}.</p>\n"}]
        for key, _, _, _ in checks:
            segments.append({"kind": "check", "value": key})
        for key, _ in reflections:
            segments.append({"kind": "reflection", "value": key})
        module = Module(
            slug=slug,
            curriculum=curriculum,
            title=title,
            dose=dose,
            component=component,
            principles=list(principles),
            roles=list(roles),
            minutes=minutes,
            requires=list(requires),
            sources=["Whole System Quality"],
            objectives=list(objectives),
            summary=summary,
            segments=segments,
            checks=[
                {
                    "key": key,
                    "question_html": f"<p>{question}</p>\n",
                    "options": [{"text_html": text, "correct": correct} for text, correct in options],
                    "explanation_html": f"<p>{explanation}</p>\n",
                }
                for key, question, options, explanation in checks
            ],
            reflections=[{"key": key, "prompt_html": f"<p>{prompt}</p>\n"} for key, prompt in reflections],
            search_text=" ".join([title, summary, *objectives]).lower(),
            path=f"content/modules/{slug}.md",
            content_hash=content_hash,
            position=next(_positions),
            retired_at=utcnow() if retired else None,
        )
        self.db.add(module)
        self.db.commit()
        return module

    def assign(
        self,
        membership: Membership,
        module: Module,
        *,
        due_on: date | None = None,
        cancelled: bool = False,
    ) -> Assignment:
        assignment = Assignment(
            membership_id=membership.id,
            org_id=membership.org_id,
            user_id=membership.user_id,
            module_id=module.id,
            source=AssignmentSource.DOSE,
            level=module.dose,
            due_on=due_on or org_today() + timedelta(days=30),
            cancelled_at=utcnow() if cancelled else None,
        )
        self.db.add(assignment)
        self.db.commit()
        return assignment


def checked_options(html: str, key: str) -> set[int]:
    """The option numbers a module page shows chosen in check `key` (in whatever order it shows them)."""
    return {
        int(n) for n in re.findall(rf'value="(\d+)" id="check-{re.escape(key)}-option-\d+" checked', html)
    }
