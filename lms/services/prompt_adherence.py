"""Reflection-prompt adherence: how many of the prompts delivered to a person lately they answered.

Counts only: a coach sees how a coachee keeps their rhythm, never what they wrote (DESIGN.md section 6)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms.db import utcnow
from lms.models import PromptDelivery

WEEKS = 8  # "lately"


@dataclass(frozen=True, slots=True)
class Adherence:
    delivered: int
    answered: int
    weeks: int = WEEKS

    @property
    def percent(self) -> int | None:
        return round(100 * self.answered / self.delivered) if self.delivered else None


def adherence(
    db: Session, user_ids: Iterable[int], *, now: datetime | None = None, weeks: int = WEEKS
) -> dict[int, Adherence]:
    """Per person: prompts due in the last `weeks` weeks, and how many of them are answered (one query)."""
    ids = list(user_ids)
    found = {user_id: Adherence(0, 0, weeks) for user_id in ids}
    if not ids:
        return found
    since = (now or utcnow()) - timedelta(weeks=weeks)
    rows = db.execute(
        select(PromptDelivery.user_id, func.count(), func.count(PromptDelivery.answered_at))
        .where(PromptDelivery.user_id.in_(ids), PromptDelivery.due_at >= since)
        .group_by(PromptDelivery.user_id)
    )
    for user_id, delivered, answered in rows:
        found[user_id] = Adherence(delivered, answered, weeks)
    return found
