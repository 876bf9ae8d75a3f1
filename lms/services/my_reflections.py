"""My reflections: what a learner wrote in modules' reflection prompts, by module, for their own learning
record (/learning/record, when they choose to show it).

DESIGN.md section 6: a reflection is its author's. This reads the signed-in person's own reflections only
(by their user id, whichever organisation they act in): there is no parameter naming another person, so
no coach, HR, faculty or administrator can reach anyone's list through it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.models import Module, Reflection
from lms.services.access import Actor


@dataclass(frozen=True, slots=True)
class Written:
    """One answer: the prompt as the module asks it now (None when the prompt left the module)."""

    prompt_html: str | None
    text: str
    updated_at: datetime
    shared: bool  # shared with their coach (the author chose to)

    @property
    def paragraphs(self) -> list[str]:
        """The text as typed, in paragraphs (a blank line between), shown as plain text."""
        text = self.text.replace("\r\n", "\n").replace("\r", "\n")
        return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


@dataclass(frozen=True, slots=True)
class ModuleReflections:
    title: str
    slug: str
    active: bool  # False: the module has been retired; the words are still the author's
    written: tuple[Written, ...]  # in the module's order of prompts


def mine(db: Session, actor: Actor) -> list[ModuleReflections]:
    """The actor's own reflections, by module in curriculum order, prompts in each module's order."""
    rows = db.execute(
        select(Reflection, Module)
        .join(Module, Module.id == Reflection.module_id)
        .where(Reflection.user_id == actor.user.id)
        .order_by(Module.position, Module.id, Reflection.id)
    ).all()
    by_module: dict[int, tuple[Module, list[Reflection]]] = {}
    for reflection, module in rows:
        by_module.setdefault(module.id, (module, []))[1].append(reflection)
    listed = []
    for module, reflections in by_module.values():
        prompts = {r["key"]: (n, r.get("prompt_html")) for n, r in enumerate(module.reflections or [])}
        ordered = sorted(reflections, key=lambda r: prompts.get(r.prompt_key, (len(prompts), None))[0])
        listed.append(
            ModuleReflections(
                module.title,
                module.slug,
                module.retired_at is None,
                tuple(
                    Written(
                        prompts.get(r.prompt_key, (0, None))[1],
                        r.text,
                        r.updated_at,
                        r.shared_at is not None,
                    )
                    for r in ordered
                ),
            )
        )
    return listed
