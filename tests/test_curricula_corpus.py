"""A whole content folder loaded by the curriculum engine: problems across files, all in one run, and the
modules in an order where prerequisites come first."""

from __future__ import annotations

from pathlib import Path

import pytest

from curricula.corpus import check, load_corpus

REAL = Path(__file__).resolve().parent.parent / "content"
BODY = """Why small tests work.

::: reflection why
Why does it matter to you?
:::

::: check q
Which is a tool?

- [x] A run chart
- [ ] A hunch
:::
"""
DOSING = """levels:
  - {id: awareness, title: Awareness}
  - {id: foundational, title: Foundational}
roles: [patient-family-partner, clinician, unit-leader, quality-staff, departmental-leader, executive, board]
policy:
  clinician: {awareness: 30, foundational: 90}
  board: {awareness: 60}
"""
CURRICULA = """curricula:
  - {id: whole-system-quality, title: Whole System Quality}
  - {id: improvement-science, title: Improvement science}
components:
  - {id: set-direction, title: Set and champion direction}
principles:
  - {id: shared-purpose, title: Build a shared sense of purpose}
sources: [Leadership for Improvement]
"""


def module(
    module_id: str,
    *,
    requires: str = "[]",
    curriculum: str = "improvement-science",
    dose: str = "awareness",
    body: str = BODY,
) -> str:
    """A sound module; `requires` is on line 10, the body starts at line 12."""
    return (
        f"---\nid: {module_id}\ntitle: Module {module_id}\ncurriculum: {curriculum}\ndose: {dose}\n"
        "roles: [clinician]\nminutes: 10\nobjectives: [Use a run chart.]\n"
        f"sources: [Leadership for Improvement]\nrequires: {requires}\n---\n{body}"
    )


@pytest.fixture
def content(tmp_path):
    """content(modules={relative path: text}, dosing=..., curricula=...) -> the folder, written."""

    def write(
        modules: dict[str, str], dosing: str | None = DOSING, curricula: str | None = CURRICULA
    ) -> Path:
        root = tmp_path / "content"
        (root / "modules").mkdir(parents=True)
        if dosing is not None:
            (root / "dosing.yaml").write_text(dosing)
        if curricula is not None:
            (root / "curricula.yaml").write_text(curricula)
        for name, text in modules.items():
            (root / "modules" / name).parent.mkdir(parents=True, exist_ok=True)
            (root / "modules" / name).write_text(text)
        return root

    return write


def shown(root: Path) -> list[str]:
    return [str(p) for p in check(root)]


def test_a_sound_folder_loads_its_modules_vocabularies_and_policy(content):
    corpus = load_corpus(content({"a.md": module("a"), "deep/b.md": module("b", requires="[a]")}))
    assert corpus.problems == ()
    assert [m.id for m in corpus.modules] == ["a", "b"]
    assert corpus.module("b").path == "modules/deep/b.md"
    assert [t.id for t in corpus.curricula] == ["whole-system-quality", "improvement-science"]
    assert [t.id for t in corpus.policy.levels] == ["awareness", "foundational"]
    assert corpus.policy.levels_for("clinician") == {"awareness": 30, "foundational": 90}
    assert corpus.sources == ("Leadership for Improvement",)


def test_prerequisites_come_first_then_curriculum_dose_and_id(content):
    root = content(
        {
            "1.md": module("zeta"),
            "2.md": module("alpha", requires="[zeta, mid]"),
            "3.md": module("mid", dose="foundational"),
            "4.md": module("wsq", curriculum="whole-system-quality", dose="foundational"),
            "5.md": module("beta"),
        }
    )
    assert [m.id for m in load_corpus(root).modules] == ["wsq", "beta", "zeta", "mid", "alpha"]


def test_problems_of_every_file_are_collected_in_one_run(content):
    root = content(
        {
            "a.md": module("a", dose="expert"),
            "b.md": module("b", body="Just words.\n"),
            "c.md": module("c", requires="[nobody]"),
        }
    )
    assert shown(root) == [
        "modules/a.md:5: unknown dose level 'expert'",
        "modules/b.md:1: a module needs at least one check: '::: check KEY'",
        "modules/b.md:1: a module needs at least one reflection: '::: reflection KEY'",
        "modules/c.md:10: requires unknown module 'nobody'",
    ]
    assert [m.id for m in load_corpus(root).modules] == ["b", "c"]


def test_a_duplicate_id_is_reported_in_both_files(content):
    root = content({"a.md": module("same"), "b.md": module("same")})
    assert shown(root) == [
        "modules/a.md:2: duplicate id 'same' (also in modules/b.md:2)",
        "modules/b.md:2: duplicate id 'same' (also in modules/a.md:2)",
    ]


def test_a_cycle_of_requires_is_named_once(content):
    root = content(
        {
            "a.md": module("a", requires="[c]"),
            "b.md": module("b", requires="[a]"),
            "c.md": module("c", requires="[b]"),
        }
    )
    assert shown(root) == ["modules/a.md:10: requires forms a cycle: a -> c -> b -> a"]
    assert sorted(m.id for m in load_corpus(root).modules) == ["a", "b", "c"]


def test_a_module_requiring_itself_is_a_cycle(content):
    assert shown(content({"a.md": module("a", requires="[a]")})) == [
        "modules/a.md:10: requires forms a cycle: a -> a"
    ]


def test_a_link_to_a_missing_module(content):
    body = BODY.replace("Why small tests work.", "See [the basics](module:basics) and\n[b](module:b).")
    root = content({"a.md": module("a", body=body), "b.md": module("b")})
    assert shown(root) == ["modules/a.md:12: link to unknown module 'basics'"]


def test_a_module_with_broken_front_matter_still_counts_as_known(content):
    root = content({"a.md": module("a", dose="expert"), "b.md": module("b", requires="[a]")})
    assert shown(root) == ["modules/a.md:5: unknown dose level 'expert'"]


def test_a_file_that_is_not_utf8(content):
    root = content({})
    (root / "modules" / "x.md").write_bytes(b"---\nid: caf\xe9\n---\n")
    assert shown(root) == ["modules/x.md:1: the file is not UTF-8 text: invalid continuation byte"]


# --- dosing.yaml and curricula.yaml -----------------------------------------------------------------


def test_unknown_roles_and_levels_in_the_dosing_policy(content):
    dosing = DOSING.replace(
        "  board: {awareness: 60}", "  trustee: {awareness: 60}\n  board: {awareness: 60, expert: 9}"
    )
    assert shown(content({"a.md": module("a")}, dosing=dosing)) == [
        "dosing.yaml:7: unknown role 'trustee'",
        "dosing.yaml:8: unknown dose level 'expert'",
    ]


def test_days_in_the_policy_must_be_whole_numbers(content):
    dosing = DOSING.replace("board: {awareness: 60}", "board: {awareness: soon}")
    assert shown(content({"a.md": module("a")}, dosing=dosing)) == [
        "dosing.yaml:7: days for 'board' at 'awareness' must be a whole number, 1 or more"
    ]


def test_unknown_and_missing_roles_in_the_role_list(content):
    dosing = DOSING.replace("executive, board]", "executive, trustee]")
    assert shown(content({"a.md": module("a")}, dosing=dosing)) == [
        "dosing.yaml:4: roles must list every stakeholder role; missing: board",
        "dosing.yaml:4: unknown role 'trustee'",
        "dosing.yaml:7: unknown role 'board'",
    ]


def test_bad_yaml_and_missing_keys_in_the_vocabulary_files(content):
    curricula = CURRICULA.replace("sources: [Leadership for Improvement]\n", "")
    dosing = DOSING.replace("policy:\n", "policy:\n bad: [\n")
    assert shown(content({"a.md": module("a")}, dosing=dosing, curricula=curricula)) == [
        "curricula.yaml:1: missing key 'sources'",
        "dosing.yaml:8: bad YAML: did not find expected ',' or ']'",
    ]


def test_a_vocabulary_entry_needs_an_id_and_a_title_and_no_other_key(content):
    curricula = CURRICULA.replace(
        "{id: set-direction, title: Set and champion direction}", "{id: set-direction, name: x}"
    )
    curricula = curricula.replace(
        "title: Improvement science}",
        "title: Improvement science}\n  - {id: whole-system-quality, title: Again}",
    )
    assert shown(content({"a.md": module("a")}, curricula=curricula)) == [
        "curricula.yaml:4: duplicate curriculum 'whole-system-quality' (also at line 2)",
        "curricula.yaml:6: component 'set-direction' needs a title",
        "curricula.yaml:6: unknown key 'name'",
    ]


def test_a_missing_vocabulary_file_does_not_blame_every_module(content):
    assert shown(content({"a.md": module("a", dose="anything")}, dosing=None)) == [
        "dosing.yaml:1: file is missing"
    ]


# --- the real content -------------------------------------------------------------------------------


def test_the_real_content_checks_clean_with_at_least_30_modules():
    corpus = load_corpus(REAL)
    assert [str(p) for p in corpus.problems] == []
    assert len(corpus.modules) >= 30
    position = {m.id: i for i, m in enumerate(corpus.modules)}
    assert all(position[r] < position[m.id] for m in corpus.modules for r in m.requires)
