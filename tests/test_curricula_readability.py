"""Plain language for patient and family partners (curricula.readability), and the one case hospital the
modules' examples share (content/case-hospital.md)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from curricula.corpus import load_corpus
from curricula.readability import GRADE, grade, readable_text, syllables

REAL = Path(__file__).resolve().parent.parent / "content"
MODULE = """---
id: {id}
title: Plain words
curriculum: whole-system-quality
dose: awareness
roles: [{roles}]
minutes: 10
objectives: [Read plainly.]
sources: [Whole System Quality]
---
{text}

::: reflection seen
What did you see?
:::

::: check light scenario
A ward is dark at night. What do you try first?

- [x] One lamp on one night
- [ ] New lights for all wards
:::
"""
PLAIN = "We try a small change. We look at what happened. Then we try again. It is quick and safe."
DENSE = (
    "Organisational transformation necessitates institutionalised governance infrastructure, "
    "comprehensive interdisciplinary accountability, sophisticated methodological capability "
    "and continuous organisational learning, articulated systematically across "
    "hierarchical management configurations and operationalised through standardised "
    "performance monitoring mechanisms."
)


def folder(tmp_path: Path, modules: dict[str, tuple[str, str]]) -> Path:
    root = tmp_path / "content"
    (root / "modules").mkdir(parents=True)
    for name in ("dosing.yaml", "curricula.yaml"):
        shutil.copy(REAL / name, root / name)
    for module_id, (roles, text) in modules.items():
        (root / "modules" / f"{module_id}.md").write_text(MODULE.format(id=module_id, roles=roles, text=text))
    return root


def test_syllables_are_counted_by_vowel_groups_with_a_silent_e():
    assert [syllables(w) for w in ("cat", "care", "hospital", "people", "partner's")] == [1, 1, 3, 2, 2]


def test_short_sentences_of_common_words_read_low_and_dense_prose_reads_high():
    assert grade(PLAIN) < 3
    assert grade(DENSE) > 20
    assert grade("") == 0.0


def test_a_dense_module_only_for_partners_gets_a_warning_at_its_first_line(tmp_path):
    root = folder(
        tmp_path,
        {
            "dense-partners": ("patient-family-partner", DENSE),
            "plain-partners": ("patient-family-partner", PLAIN),
            "dense-board": ("board", DENSE),
            "dense-shared": ("patient-family-partner, board", DENSE),
        },
    )
    corpus = load_corpus(root)
    assert corpus.problems == ()
    assert [(w.path, w.line) for w in corpus.warnings] == [("modules/dense-partners.md", 1)]
    message = corpus.warnings[0].message
    assert message.startswith("warning: reads at about grade ") and "aims for grade 8 or below" in message


def test_the_real_modules_for_partners_read_near_grade_8_and_use_the_case_hospital():
    corpus = load_corpus(REAL)
    partners = [m for m in corpus.modules if m.roles == ("patient-family-partner",)]
    assert len(partners) >= 2
    for module in partners:
        assert grade(readable_text(module)) <= GRADE, module.id
        assert module.checks and any(c.scenario for c in module.checks), module.id
    assert not [w for w in corpus.warnings if "grade" in w.message]


def test_examples_share_one_case_hospital_named_as_in_content_case_hospital_md():
    case = (REAL / "case-hospital.md").read_text()
    assert case.startswith("# The case hospital: Northfield General Hospital")
    bodies = {p.stem: p.read_text() for p in (REAL / "modules").rglob("*.md")}
    using = {name for name, text in bodies.items() if "Northfield" in text}
    assert len(using) >= 12
    for name in using:  # each module that uses it names it in full at least once
        assert "Northfield General Hospital" in bodies[name], name
    assert not [n for n, text in bodies.items() if re.search(r"\bfictional (regional|surgical|30-bed)", text)]
