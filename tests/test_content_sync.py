"""`lms content sync`: a checked corpus published to the database, idempotently, never losing anyone's work.

Most tests build small corpora in memory (curricula/model.py dataclasses); the last ones run the command
on a content folder written to disk.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from curricula.model import Check, Corpus, DosingPolicy, Option, Problem, Reflection, Segment, Term
from curricula.model import Module as CorpusModule
from curricula.stakeholders import StakeholderRole
from lms.cli import main
from lms.db import utcnow
from lms.models import ContentRelease, Module, Progress, ProgressStatus
from lms.services import content as publishing

LEVELS = (Term("awareness", "Awareness"), Term("foundational", "Foundational"), Term("sponsor", "Sponsor"))
POLICY = {"clinician": {"awareness": 30, "foundational": 90}, "executive": {"awareness": 30, "sponsor": 90}}
CONTENT = Path(__file__).resolve().parent.parent / "content"


EVERY_ROLE = tuple(r.value for r in StakeholderRole)


def module(
    slug: str,
    *,
    dose: str = "awareness",
    text: str = "v1",
    title: str | None = None,
    roles: tuple[str, ...] = EVERY_ROLE,
) -> CorpusModule:
    """A module as the engine builds it; `text` stands for the file's text (its hash changes with it).
    It is for every role unless `roles` says otherwise (curricula.dosing)."""
    return CorpusModule(
        id=slug,
        title=title or slug.replace("-", " ").capitalize(),
        curriculum="improvement-science",
        dose=dose,
        roles=roles,
        minutes=10,
        objectives=("Describe the Model for Improvement.",),
        sources=("Whole System Quality",),
        segments=(Segment("html", f"<p>{text}</p>\n"), Segment("check", "q1"), Segment("reflection", "r1")),
        checks=(
            Check("q1", "<p>Which comes first?</p>\n", (Option("Plan", True), Option("Act", False)), "", 3),
        ),
        reflections=(Reflection("r1", "<p>What matters to you?</p>\n", 9),),
        path=f"modules/{slug}.md",
        content_hash=hashlib.sha256(f"{slug}:{text}".encode()).hexdigest(),
        summary=f"About {slug}.",
    )


def corpus(*modules: CorpusModule, problems: tuple[Problem, ...] = (), policy: dict | None = None) -> Corpus:
    return Corpus(
        modules=modules,
        curricula=(Term("improvement-science", "Improvement science"),),
        components=(),
        principles=(),
        sources=("Whole System Quality",),
        policy=DosingPolicy(LEVELS, policy or POLICY),
        problems=problems,
    )


def published(db: Session) -> dict[str, Module]:
    db.expire_all()
    return {m.slug: m for m in db.scalars(select(Module))}


def releases(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(ContentRelease)) or 0


def test_a_first_sync_publishes_every_module_with_all_its_fields_in_corpus_order(db: Session):
    report = publishing.sync(db, corpus(module("model-for-improvement"), module("pdsa", dose="foundational")))

    assert (report.added, report.changed, report.unchanged, report.retired, report.restored) == (
        2,
        0,
        0,
        0,
        0,
    )
    rows = published(db)
    pdsa = rows["pdsa"]
    assert pdsa.dose == "foundational" and pdsa.title == "Pdsa" and pdsa.minutes == 10
    assert pdsa.checks == [
        {
            "key": "q1",
            "question_html": "<p>Which comes first?</p>\n",
            "options": [{"text_html": "Plan", "correct": True}, {"text_html": "Act", "correct": False}],
            "explanation_html": "",
        }
    ]
    assert pdsa.reflections == [{"key": "r1", "prompt_html": "<p>What matters to you?</p>\n"}]
    assert [s["kind"] for s in pdsa.segments] == ["html", "check", "reflection"]
    assert pdsa.search_text == "pdsa about pdsa. describe the model for improvement. v1 what matters to you?"
    assert (rows["model-for-improvement"].position, pdsa.position) == (1, 2)
    release = db.scalar(select(ContentRelease))
    assert release.policy == POLICY
    assert [lv["id"] for lv in release.vocabulary["levels"]] == ["awareness", "foundational", "sponsor"]
    assert release.added == 2


def test_syncing_the_same_content_again_changes_nothing(db: Session):
    content = corpus(module("model-for-improvement"), module("pdsa"))
    publishing.sync(db, content)
    before = {slug: (m.updated_at, m.content_hash) for slug, m in published(db).items()}

    report = publishing.sync(db, content)

    assert (report.added, report.changed, report.unchanged, report.retired, report.restored) == (
        0,
        0,
        2,
        0,
        0,
    )
    assert not report.changed_anything
    assert {slug: (m.updated_at, m.content_hash) for slug, m in published(db).items()} == before
    assert releases(db) == 1, "no new release when nothing changed"


def test_an_edited_module_is_rewritten_and_only_it(db: Session):
    publishing.sync(db, corpus(module("model-for-improvement"), module("pdsa")))
    untouched = published(db)["model-for-improvement"].updated_at

    report = publishing.sync(
        db, corpus(module("model-for-improvement"), module("pdsa", text="v2", title="PDSA"))
    )

    assert (report.changed, report.unchanged) == (1, 1)
    rows = published(db)
    assert rows["pdsa"].title == "PDSA" and "v2" in rows["pdsa"].segments[0]["value"]
    assert rows["model-for-improvement"].updated_at == untouched
    assert releases(db) == 2


def test_a_newer_build_rebuilds_unchanged_modules_keeping_their_hash(db: Session, monkeypatch):
    publishing.sync(db, corpus(module("model-for-improvement"), module("pdsa")))
    hashes = {slug: m.content_hash for slug, m in published(db).items()}
    monkeypatch.setattr(publishing, "BUILD", "a-newer-build")

    report = publishing.sync(db, corpus(module("model-for-improvement"), module("pdsa")))

    assert (report.rebuilt, report.changed, report.unchanged) == (2, 0, 0)
    assert "2 rebuilt" in str(report)
    rows = published(db)
    assert {slug: m.content_hash for slug, m in rows.items()} == hashes  # nobody's completion is "earlier"
    assert {m.built_with for m in rows.values()} == {"a-newer-build"}
    assert releases(db) == 2  # pages kept for the old build are not served again
    assert not publishing.sync(db, corpus(module("model-for-improvement"), module("pdsa"))).changed_anything


def test_the_search_text_holds_the_body_but_not_the_checks():
    built = module("pdsa", text="Walk the gemba with the team")
    text = publishing.search_text(built)
    assert "walk the gemba with the team" in text and "what matters to you?" in text  # body, reflection
    assert "which comes first" not in text and "<p>" not in text


def test_a_changed_default_policy_alone_is_a_new_release(db: Session):
    publishing.sync(db, corpus(module("pdsa")))

    publishing.sync(db, corpus(module("pdsa"), policy={"clinician": {"awareness": 14}}))

    latest = db.scalar(select(ContentRelease).order_by(ContentRelease.id.desc()))
    assert releases(db) == 2 and latest.policy == {"clinician": {"awareness": 14}}


def test_a_module_whose_file_is_gone_is_retired_not_deleted_and_comes_back_when_the_file_does(db: Session):
    publishing.sync(db, corpus(module("model-for-improvement"), module("pdsa")))

    gone = publishing.sync(db, corpus(module("model-for-improvement")))

    assert gone.retired == 1
    pdsa = published(db)["pdsa"]
    assert pdsa.retired_at is not None and not pdsa.active
    assert publishing.sync(db, corpus(module("model-for-improvement"))).retired == 0, "retired once"

    back = publishing.sync(db, corpus(module("model-for-improvement"), module("pdsa")))

    assert (back.restored, back.added, back.retired) == (1, 0, 0)
    restored = published(db)["pdsa"]
    assert restored.active and restored.id == pdsa.id


def test_content_with_problems_publishes_nothing(db: Session):
    publishing.sync(db, corpus(module("pdsa")))
    broken = corpus(
        module("pdsa", text="v2"),
        module("run-charts"),
        problems=(Problem("modules/run-charts.md", 4, "unknown dose level 'expert'"),),
    )

    with pytest.raises(publishing.ContentProblems) as refused:
        publishing.sync(db, broken)

    assert [str(p) for p in refused.value.problems] == [
        "modules/run-charts.md:4: unknown dose level 'expert'"
    ]
    rows = published(db)
    assert set(rows) == {"pdsa"} and "v1" in rows["pdsa"].segments[0]["value"]
    assert releases(db) == 1


def progress(db: Session, user_id: int, module: Module, status: ProgressStatus) -> Progress:
    done = status is ProgressStatus.COMPLETED
    row = Progress(
        user_id=user_id,
        module_id=module.id,
        status=status,
        completed_at=utcnow() if done else None,
        completed_hash=module.content_hash if done else None,
        score=1.0 if done else None,
    )
    db.add(row)
    db.commit()
    return row


def test_an_edit_keeps_a_completion_made_against_the_old_version(db: Session, make, tree):
    person = make.person(tree)
    publishing.sync(db, corpus(module("pdsa")))
    old = published(db)["pdsa"]
    old_hash = old.content_hash
    progress(db, person.user_id, old, ProgressStatus.COMPLETED)

    publishing.sync(db, corpus(module("pdsa", text="v2")))

    db.expire_all()
    row = db.scalar(select(Progress).where(Progress.user_id == person.user_id))
    assert row.status is ProgressStatus.COMPLETED
    assert row.completed_hash == old_hash != published(db)["pdsa"].content_hash


def test_a_sync_does_not_complete_work_in_progress_nor_does_retiring_touch_it(db: Session, make, tree):
    person = make.person(tree)
    publishing.sync(db, corpus(module("pdsa"), module("run-charts")))
    rows = published(db)
    progress(db, person.user_id, rows["pdsa"], ProgressStatus.IN_PROGRESS)
    progress(db, person.user_id, rows["run-charts"], ProgressStatus.IN_PROGRESS)

    publishing.sync(db, corpus(module("pdsa", text="v2")))

    db.expire_all()
    statuses = {
        p.module.slug: (p.status, p.completed_at, p.completed_hash)
        for p in db.scalars(select(Progress).where(Progress.user_id == person.user_id))
    }
    assert statuses == {
        "pdsa": (ProgressStatus.IN_PROGRESS, None, None),
        "run-charts": (ProgressStatus.IN_PROGRESS, None, None),
    }


def test_a_new_module_in_the_middle_moves_the_others_along_without_rewriting_them(db: Session):
    publishing.sync(db, corpus(module("a"), module("c")))
    c_written = published(db)["c"].updated_at

    report = publishing.sync(db, corpus(module("a"), module("b"), module("c")))

    rows = published(db)
    assert (report.added, report.unchanged) == (1, 2)
    assert [rows[s].position for s in "abc"] == [1, 2, 3]
    assert rows["c"].updated_at == c_written


def test_a_new_order_alone_is_a_new_release(db: Session):
    """Lists follow the order, and lists kept rendered are keyed by the release: a reorder is one."""
    publishing.sync(db, corpus(module("a"), module("b")))

    report = publishing.sync(db, corpus(module("b"), module("a")))

    assert (report.changed, report.unchanged) == (0, 2)
    assert report.release_id is not None and releases(db) == 2
    assert [published(db)[s].position for s in "ba"] == [1, 2]


# --- the command ----------------------------------------------------------------------------------


def run(app: Flask, *args: str):
    return app.test_cli_runner().invoke(main, ["content", *args])


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    """A copy of the real content/ folder to edit."""
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    return root


def test_lms_content_sync_publishes_the_real_content_then_a_second_run_changes_nothing(
    app: Flask, db: Session, content_copy: Path
):
    first = run(app, "sync", str(content_copy))
    assert first.exit_code == 0, first.output
    count = len(published(db))
    assert count >= 20 and f"{count} added" in first.output

    again = run(app, "sync", str(content_copy))

    assert again.exit_code == 0, again.output
    assert f"0 added, 0 changed, {count} unchanged, 0 retired, 0 restored" in again.output
    assert releases(db) == 1


def test_lms_content_sync_prints_the_problems_and_publishes_nothing(
    app: Flask, db: Session, content_copy: Path
):
    broken = next((content_copy / "modules").rglob("*.md"))
    broken.write_text(broken.read_text(encoding="utf-8").replace("\ndose: ", "\ndose: expert-", 1), "utf-8")

    result = run(app, "sync", str(content_copy))

    assert result.exit_code == 1
    assert f"{broken.as_posix()}:" in result.output and "Nothing was published." in result.output
    assert published(db) == {} and releases(db) == 0


def test_after_publishing_the_command_replans_each_organisations_dose_assignments(
    app: Flask, db: Session, content_copy: Path, make, tree
):
    from lms.models import Assignment

    nurse = make.person(tree)  # added before any content existed: nothing assigned yet

    result = run(app, "sync", str(content_copy))

    assert result.exit_code == 0, result.output
    db.expire_all()
    held = db.scalars(select(Assignment).where(Assignment.membership_id == nurse.id)).all()
    assert held and {a.level for a in held} == {"awareness", "foundational"}
    assert f"Dose assignments in alpha: {len(held)} created" in result.output
