"""Benchmark `content`: building a corpus against rendering the same Markdown with bare markdown-it-py.

Two corpora: the real content/ folder, and a generated one of 1,000 modules (about 600 words each, with
headings, lists, a table, emphasis, module links, two checks and a reflection). For each, the full
build (`curricula.corpus.load_corpus`: read the files, YAML front matter, parse, check, render, order)
is timed against `MarkdownIt("commonmark").enable("table").render(body)` over the same bodies, already
in memory, with one MarkdownIt instance: the least any Markdown site could do. Both are timed in the
same process, alternately, and the best of ROUNDS runs of each is kept (the median ratio is reported
too). The target: the build takes at
most 1.5 times the bare rendering.

`write_generated_corpus(root)` writes the generated folder; the `sync` figures reuse it: publishing the
1,000 built modules into an empty SQLite database (`lms.services.content.sync`) against re-publishing
them after one file changed (target: under 5% of the full sync). The corpus is built before the clock
starts in both, so the figures are the database work a sync adds to the build measured above: a
re-sync reads the existing (slug, hash) pairs in one query and writes only the changed row.
"""

from __future__ import annotations

import gc
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from sqlalchemy import delete

from bench import BenchmarkFailed, package_versions, progress
from curricula.corpus import load_corpus, module_files
from curricula.parse import FRONT_MATTER

REAL = Path(__file__).resolve().parent.parent / "content"
GENERATED = 1000
# Rounds per corpus: the real one takes a tenth of a second, so it gets more rounds to see past noise.
ROUNDS = {"real": 30, "generated": 7}
TARGET = 1.5
SYNC_ROUNDS = 7
RESYNC_TARGET = 0.05

VOCABULARY = (
    "patient team unit ward huddle measure change test data chart process standard work leader "
    "quality safety flow time family nurse board goal aim plan study act learning system harm "
    "improvement capacity capability escalation visual board spread scale reliable daily demand "
    "variation signal median run shift trend baseline outcome balancing driver idea theory"
)
WORDS = tuple(VOCABULARY.split())
LEVELS = ("awareness", "foundational", "practitioner", "coach", "advisor", "sponsor", "governance")
ROLES = ("clinician", "unit-leader", "quality-staff", "departmental-leader", "executive", "board")


def _receiving() -> dict[str, tuple[str, ...]]:
    """Per dose level, the roles of ROLES the real policy doses to it: a generated module names two of
    them (or the one), so that its roles agree with the policy (curricula.dosing)."""
    policy = load_corpus(REAL).policy.roles
    return {level: tuple(r for r in ROLES if level in policy.get(r, {})) for level in LEVELS}


CURRICULA = ("leadership-framework-for-quality", "whole-system-quality", "improvement-science")
SOURCES = ("Whole System Quality", "Leadership for Improvement")


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random, sentences: int = 4) -> str:
    lines, line = [], []
    for s in (_sentence(rng, rng.randint(8, 16)) for _ in range(sentences)):
        line.append(s)
        if len(line) == 2:
            lines.append(" ".join(line))
            line = []
    return "\n".join([*lines, " ".join(line)] if line else lines)


def generated_module(i: int, rng: random.Random, receiving: dict[str, tuple[str, ...]]) -> str:
    """Module number i of the generated corpus; it requires and links to earlier ones."""
    ident = f"gen-{i:04d}"
    roles = receiving[LEVELS[i % 7]]
    earlier = [f"gen-{j:04d}" for j in rng.sample(range(i), min(i, 2))] if i else []
    requires = earlier[:1]
    link = f"[the module before](module:{earlier[-1]})" if earlier else "*the overview*"
    front = (
        f"---\nid: {ident}\ntitle: {_sentence(rng, 4)[:-1]}\ncurriculum: {CURRICULA[i % 3]}\n"
        f"dose: {LEVELS[i % 7]}\nroles: [{', '.join(rng.sample(roles, min(2, len(roles))))}]\n"
        f"minutes: {5 + i % 26}\n"
        f"requires: [{', '.join(requires)}]\nobjectives:\n  - {_sentence(rng, 9)}\n  - {_sentence(rng, 7)}\n"
        f"sources: [{rng.choice(SOURCES)}]\n---\n"
    )
    body = [
        _paragraph(rng),
        f"## {_sentence(rng, 3)[:-1]}",
        _paragraph(rng) + f"\nSee {link} and the *{rng.choice(WORDS)}* **{rng.choice(WORDS)}** notes.",
        "\n".join(f"- {_sentence(rng, 7)}" for _ in range(4)),
        _paragraph(rng, 5),
        f"::: reflection r-{i}\n{_sentence(rng, 14)} Which {rng.choice(WORDS)} would you test first?\n:::",
        f"### {_sentence(rng, 3)[:-1]}",
        "\n".join(f"{n}. {_sentence(rng, 8)}" for n in range(1, 5)),
        "| Measure | Kind | Use |\n| --- | --- | --- |\n"
        + "\n".join(f"| {rng.choice(WORDS)} | {rng.choice(WORDS)} | {_sentence(rng, 5)} |" for _ in range(3)),
        _paragraph(rng, 6),
        _check(rng, "c1", multiple=False),
        f"## {_sentence(rng, 2)[:-1]}",
        _paragraph(rng, 5) + f"\nRead more at [the guide](https://example.org/{ident}).",
        _check(rng, "c2", multiple=True),
        _paragraph(rng, 3),
    ]
    return front + "\n\n".join(body) + "\n"


def _check(rng: random.Random, key: str, multiple: bool) -> str:
    marks = ["[x]", "[x]" if multiple else "[ ]", "[ ]", "[ ]"]
    rng.shuffle(marks)
    options = "\n".join(f"- {m} {_sentence(rng, 6)}" for m in marks)
    return f"::: check {key}\n{_sentence(rng, 10)[:-1]}?\n\n{options}\n\n{_paragraph(rng, 2)}\n:::"


def write_generated_corpus(root: Path, count: int = GENERATED, seed: int = 4) -> Path:
    """Write a content folder of `count` generated modules (the real vocabularies) under `root`."""
    rng = random.Random(seed)
    (root / "modules" / "generated").mkdir(parents=True, exist_ok=True)
    for name in ("dosing.yaml", "curricula.yaml"):
        shutil.copy(REAL / name, root / name)
    receiving = _receiving()
    for i in range(count):
        (root / "modules" / "generated" / f"gen-{i:04d}.md").write_text(
            generated_module(i, rng, receiving), encoding="utf-8"
        )
    return root


def bodies(root: Path) -> list[str]:
    """The Markdown body (after the front matter) of every module in the folder."""
    texts = []
    for file in module_files(root):
        text = file.read_text(encoding="utf-8")
        match = FRONT_MATTER.match(text)
        texts.append(text[match.end() :] if match else text)
    return texts


def _best(fn: Callable[[], Any], timings: list[float]) -> None:
    gc.collect()
    start = time.perf_counter()
    fn()
    timings.append(time.perf_counter() - start)


def compare(root: Path, *, strict: bool, rounds: int) -> dict[str, Any]:
    """Best-of-ROUNDS seconds of the full build and of bare rendering, alternated, and their ratio.

    The real content is measured even while it has problems (their count is reported); the generated
    corpus must have none, or the benchmark would not be building what it claims.
    """
    corpus = load_corpus(root)
    if strict and corpus.problems:
        raise BenchmarkFailed(f"{root} has {len(corpus.problems)} problems, first: {corpus.problems[0]}")
    texts = bodies(root)
    md = MarkdownIt("commonmark").enable("table")
    words = sum(len(t.split()) for t in texts)
    build: list[float] = []
    bare: list[float] = []
    for _ in range(rounds):
        _best(lambda: load_corpus(root), build)
        _best(lambda: [md.render(t) for t in texts], bare)
    best_build, best_bare = min(build), min(bare)
    return {
        "modules": len(corpus.modules),
        "problems": len(corpus.problems),
        "words": words,
        "build_s": round(best_build, 4),
        "bare_markdown_it_s": round(best_bare, 4),
        "ratio": round(best_build / best_bare, 3),
        "median_ratio": round(statistics.median(build) / statistics.median(bare), 3),
        "build_ms_per_module": round(1000 * best_build / len(corpus.modules), 3),
        "rounds_build_s": [round(t, 4) for t in build],
        "rounds_bare_s": [round(t, 4) for t in bare],
        "meets_target": best_build / best_bare <= TARGET,
    }


def compare_sync(root: Path, instance: Path) -> dict[str, Any]:
    """Best-of-SYNC_ROUNDS seconds of a full sync and of a re-sync after one of the files changed."""
    from lms import create_app, migrate
    from lms.models import ContentRelease, Module

    app = create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING"})
    migrate.upgrade(app)
    baseline = load_corpus(root)
    edited_file = module_files(root)[len(baseline.modules) // 2]
    edited_file.write_text(edited_file.read_text(encoding="utf-8") + "\nOne more sentence.\n", "utf-8")
    edited = load_corpus(root)
    if baseline.problems or edited.problems:
        raise BenchmarkFailed("the generated corpus has problems")
    full: list[float] = []
    again: list[float] = []
    with app.app_context():
        from lms.db import get_db

        db = get_db()
        for _ in range(SYNC_ROUNDS):
            db.execute(delete(ContentRelease))
            db.execute(delete(Module))
            db.commit()
            _checkpoint(db)
            _best(lambda: published(db, baseline), full)
            _checkpoint(db)
            _best(lambda: published(db, edited), again)
            report = published(db, baseline)  # back to the baseline for the next round (not timed)
            if report.changed != 1 or report.unchanged != len(baseline.modules) - 1:
                raise BenchmarkFailed(f"a re-sync after one edit should change one module: {report}")
    best_full, best_again = min(full), min(again)
    return {
        "modules": len(baseline.modules),
        "full_sync_s": round(best_full, 4),
        "resync_one_changed_s": round(best_again, 4),
        "resync_share": round(best_again / best_full, 4),
        "rounds_full_s": [round(t, 4) for t in full],
        "rounds_resync_s": [round(t, 4) for t in again],
        "meets_target": best_again / best_full < RESYNC_TARGET,
    }


def published(db: Any, corpus: Any) -> Any:
    """A sync as `lms content sync` makes it: the service flushes, the command's boundary commits (since
    services stopped committing, a sync left uncommitted held the write lock the checkpoint needs)."""
    from lms.services.content import sync

    report = sync(db, corpus)
    db.commit()
    return report


def _checkpoint(db: Any) -> None:
    """Start each timed sync with an empty write-ahead log, so neither pays for copying back the pages
    the one before wrote (SQLite checkpoints on the commit that finds the log over 1,000 pages)."""
    db.connection().exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.commit()


def run() -> dict[str, Any]:
    progress("content: the real corpus")
    real = compare(REAL, strict=False, rounds=ROUNDS["real"])
    with tempfile.TemporaryDirectory(prefix="lms-bench-content-") as tmp:
        progress(f"content: writing {GENERATED} generated modules")
        root = write_generated_corpus(Path(tmp) / "content")
        progress("content: the generated corpus")
        generated = compare(root, strict=True, rounds=ROUNDS["generated"])
        progress("content: full sync against a re-sync after one file changed")
        synced = compare_sync(root, Path(tmp) / "instance")
    return {
        "figures": {
            "real": real,
            "generated": generated,
            "sync": synced,
            "meets": {
                "build_at_most_1_5x_bare": real["meets_target"] and generated["meets_target"],
                "resync_under_5_percent_of_full_sync": synced["meets_target"],
            },
        },
        "method": {
            "build": "curricula.corpus.load_corpus(root): read files, YAML, parse, check, render, order",
            "bare": 'MarkdownIt("commonmark").enable("table").render(body) for each body, in memory',
            "rounds": ROUNDS,
            "kept": "best of the rounds, build and bare alternated; median_ratio from the medians",
            "target_ratio": TARGET,
            "sync": "lms.services.content.sync(db, corpus) and its commit, on SQLite (WAL) with the corpus "
            "already built: full = 1,000 modules into an empty module table; re-sync = the same 1,000 "
            "with one file changed; best of SYNC_ROUNDS each, alternated, each after a WAL checkpoint",
            "target_resync_share": RESYNC_TARGET,
        },
        "dataset": {"real_modules": real["modules"], "generated_modules": generated["modules"]},
        "versions": package_versions("markdown-it-py", "mdit-py-plugins", "PyYAML"),
    }
