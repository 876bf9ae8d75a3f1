"""What the seeds teach has a module of its own, written for the roles the dosing policy gives it."""

from __future__ import annotations

from pathlib import Path

import pytest

from curricula.corpus import load_corpus

REAL = Path(__file__).resolve().parent.parent / "content"
NEW = {
    "lfq-why-improvement-fails": "Leading with Quality as Your Business Strategy",
    "lfq-change-anxiety": "Leadership for Improvement",
    "lfq-managing-leading-improving": "Why healthcare leadership should embrace quality improvement",
    "wsq-quality-approaches": "Whole System Quality",
    "wsq-joy-in-work": "Whole System Quality",
    "lfq-leadership-programmes": "A Review of Leadership Teaching and Support, Wave 53",
    "pfp-how-care-improves": "Whole System Quality",
    "pfp-your-voice": "Whole System Quality",
}


@pytest.fixture(scope="module")
def corpus():
    loaded = load_corpus(REAL)
    assert loaded.problems == () and loaded.warnings == ()
    return loaded


@pytest.mark.parametrize("module_id", sorted(NEW))
def test_each_new_module_cites_its_seed_sets_a_scenario_and_asks_for_a_reflection(corpus, module_id):
    module = corpus.module(module_id)
    assert module is not None
    assert NEW[module_id] in module.sources
    assert any(check.scenario for check in module.checks)
    assert len(module.checks) >= 2 and module.reflections


@pytest.mark.parametrize("module_id", sorted(NEW))
def test_each_new_module_is_written_for_roles_that_receive_its_dose_level(corpus, module_id):
    module = corpus.module(module_id)
    receiving = {role for role, levels in corpus.policy.roles.items() if module.dose in levels}
    assert set(module.roles) <= receiving, (module.dose, module.roles)


def test_each_new_module_links_in_its_text_to_the_module_it_builds_on(corpus):
    for module_id in [m for m in NEW if not m.startswith("pfp-")]:
        module = corpus.module(module_id)
        text = "".join(s.value for s in module.segments if s.kind == "html")
        for required in module.requires:
            assert f'href="/modules/{required}"' in text, (module_id, required)
